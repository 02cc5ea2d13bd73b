"""advml_runs - read advml's HDF5 run files (docs/run-file-layout.md) with h5py.

Shared by the analysis commands in this directory; import it from your own
scripts with ``sys.path.insert(0, "path/to/advml/analysis")``. Needs only
h5py and numpy (Debian: python3-h5py, python3-numpy).
"""

import json
import os

import h5py
import numpy as np

EPOCH_METRICS = ("epoch", "step", "train_loss", "val_loss", "test_loss",
                 "train_accuracy", "val_accuracy", "test_accuracy",
                 "learning_rate", "epoch_seconds", "images_per_second")


class RunFileError(Exception):
    """A file that is not a readable advml run file (the message names it)."""


class CheckpointFileError(RunFileError):
    """A checkpoint (RUN.ckpt.h5) given where a run file was expected; shell
    globs such as task-*.h5 match both."""


def _attr(f, name, default=None):
    v = f.attrs.get(name, default)
    if isinstance(v, bytes):
        v = v.decode("utf-8", "replace")
    if isinstance(v, np.generic):
        v = v.item()
    return v


class Run:
    """One run file, read whole into memory (run files are small).

    Attributes: path, name (file name without .h5), attrs (dict of the root
    attributes), config (the parsed config_json, {} if absent), epoch (dict
    name -> 1-D numpy array of /metrics/epoch, every name of EPOCH_METRICS
    present; missing ones are NaN), step (dict of /metrics/step, may be empty).
    """

    def __init__(self, path):
        self.path = path
        base = os.path.basename(path)
        self.name = base[:-3] if base.endswith(".h5") else base
        try:
            f = h5py.File(path, "r")
        except OSError as e:
            raise RunFileError(f"{path}: cannot open as HDF5 ({e})") from None
        with f:
            fmt = _attr(f, "format")
            if fmt == "advml-checkpoint":
                raise CheckpointFileError(f"{path}: a checkpoint, not a run file (the run file is "
                                          f"{path[:-len('.ckpt.h5')] + '.h5' if path.endswith('.ckpt.h5') else 'beside it'})")
            if fmt != "advml-run":
                raise RunFileError(f"{path}: not an advml run file (format attribute is {fmt!r}, "
                                   "expected 'advml-run')")
            self.attrs = {k: _attr(f, k) for k in f.attrs}
            if "metrics/epoch" not in f:
                raise RunFileError(f"{path}: no /metrics/epoch group")
            g = f["metrics/epoch"]
            n = len(g["epoch"]) if "epoch" in g else 0
            self.epoch = {}
            for k in g:
                self.epoch[k] = np.asarray(g[k][...])
            for k in EPOCH_METRICS:
                if k not in self.epoch:
                    self.epoch[k] = np.full(n, np.nan)
            self.step = {}
            if "metrics/step" in f:
                for k in f["metrics/step"]:
                    self.step[k] = np.asarray(f["metrics/step"][k][...])
        try:
            self.config = json.loads(self.attrs.get("config_json") or "{}")
        except ValueError:
            self.config = {}

    @property
    def epochs(self):
        """Number of completed epochs in the file."""
        return len(self.epoch["epoch"])

    @property
    def status(self):
        return self.attrs.get("status", "unknown")

    def final(self, metric):
        """The metric at the last completed epoch (NaN when there is none)."""
        v = self.epoch.get(metric)
        if v is None or len(v) == 0:
            return float("nan")
        return float(v[-1])

    def lr(self):
        """The configured learning rate (optimizer.lr of the effective config), or None."""
        opt = self.config.get("optimizer")
        if isinstance(opt, dict) and isinstance(opt.get("lr"), (int, float)):
            return float(opt["lr"])
        return None

    def l2(self):
        """The configured L2 strength (training.l2), or None."""
        tr = self.config.get("training")
        if isinstance(tr, dict) and isinstance(tr.get("l2"), (int, float)):
            return float(tr["l2"])
        return None

    def has(self, metric):
        """True when the metric has at least one finite value."""
        v = self.epoch.get(metric)
        return v is not None and len(v) > 0 and bool(np.isfinite(np.asarray(v, dtype=float)).any())


def atomic_savefig(fig, out):
    """Saves a matplotlib figure to out (format from the extension) through a
    temporary file and a rename, so a reader never sees half a file."""
    ext = os.path.splitext(out)[1].lstrip(".").lower() or "png"
    d = os.path.dirname(os.path.abspath(out))
    os.makedirs(d, exist_ok=True)
    tmp = os.path.join(d, f".{os.path.basename(out)}.{os.getpid()}.tmp")
    try:
        fig.savefig(tmp, format=ext, bbox_inches="tight", dpi=120)
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
        import matplotlib.pyplot as plt
        plt.close(fig)


def check_image_ext(parser, out):
    ext = os.path.splitext(out)[1].lower()
    if ext not in (".png", ".pdf", ".svg"):
        parser.error(f"--out {out}: expected a .png, .pdf or .svg file name")


# ---- checkpoint checksums (docs/run-file-layout.md, "Checksums") ---------------

_CKPT_INTS = ("format_version", "epoch", "step", "cursor", "seed", "nparams")
_CKPT_DOUBLES = ("epoch_loss_sum", "epoch_correct", "epoch_samples", "epoch_seconds")
# added in format_version 3: the learning-rate schedule's and the monitors' state
_CKPT_INTS_3 = ("plateau_wait", "plateau_cooldown", "early_stopping_wait", "early_stopping_best_epoch",
                "best_checkpoint_epoch", "stopped_early_epoch", "restored_epoch")
_CKPT_DOUBLES_3 = ("lr", "plateau_scale", "plateau_best", "early_stopping_best", "best_checkpoint_value")


def _crc(data, crc=0):
    import zlib
    return zlib.crc32(data, crc)


def checkpoint_checksum(f):
    """The root checksum of an open checkpoint (h5py.File), computed exactly as
    advml-train does: crc32 of config_json, the int64 and float64 state
    attributes (those of format 2, then, from format 3, the training
    controls'), the optimizer's kind and t, and every dataset's path and crc32
    attribute in visititems order."""
    crc = _crc(str(_attr(f, "config_json")).encode("utf-8"))
    v3 = int(f.attrs["format_version"]) >= 3
    for k in _CKPT_INTS + (_CKPT_INTS_3 if v3 else ()):
        crc = _crc(np.int64(f.attrs[k]).tobytes(), crc)
    for k in _CKPT_DOUBLES + (_CKPT_DOUBLES_3 if v3 else ()):
        crc = _crc(np.float64(f.attrs[k]).tobytes(), crc)
    crc = _crc(str(_attr(f["optimizer"], "kind")).encode("utf-8"), crc)
    crc = _crc(np.int64(f["optimizer"].attrs["t"]).tobytes(), crc)
    items = []
    f.visititems(lambda name, obj: items.append((name, obj)) if isinstance(obj, h5py.Dataset) else None)
    for name, d in items:
        crc = _crc(name.encode("utf-8"), crc)
        crc = _crc(np.uint32(int(d.attrs["crc32"])).tobytes(), crc)
    return crc


def seal_checkpoint(path):
    """After editing a checkpoint's weights or attributes (h5py, "r+"): recompute
    every dataset's crc32 attribute and the root checksum, so that advml-train
    --resume and advml-predict accept the file again. Without this they refuse
    an altered checkpoint as damaged."""
    with h5py.File(path, "r+") as f:
        def fix(name, obj):
            if isinstance(obj, h5py.Dataset):
                a = np.ascontiguousarray(obj[...].astype("<f4"))
                obj.attrs["crc32"] = np.int64(_crc(a.tobytes()))
        f.visititems(fix)
        f.attrs["checksum"] = np.int64(checkpoint_checksum(f))


def verify_checkpoint(path):
    """Return a list of what does not match in the checkpoint at path (empty
    when every dataset and the root checksum verify)."""
    bad = []
    with h5py.File(path, "r") as f:
        def check(name, obj):
            if isinstance(obj, h5py.Dataset):
                a = np.ascontiguousarray(obj[...].astype("<f4"))
                if "crc32" not in obj.attrs or int(obj.attrs["crc32"]) != _crc(a.tobytes()):
                    bad.append("/" + name)
        f.visititems(check)
        try:
            if int(f.attrs["checksum"]) != checkpoint_checksum(f):
                bad.append("checksum")
        except KeyError as e:
            bad.append("missing %s" % e)
    return bad

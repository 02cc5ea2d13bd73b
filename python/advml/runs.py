"""advml.runs - read advml's HDF5 run files (docs/run-file-layout.md) with h5py.

  r = Run("results/mnist.h5")
  r.status, r.epochs, r.final("test_accuracy"), r.splits, r.units("train_loss")
  r.epochs_frame(), r.steps_frame()          # pandas DataFrames (needs pandas)

Needs only h5py and numpy (Debian: python3-h5py, python3-numpy).
"""

import json
import os

import h5py
import numpy as np

EPOCH_METRICS = ("epoch", "step", "train_loss", "val_loss", "test_loss",
                 "train_accuracy", "val_accuracy", "test_accuracy",
                 "learning_rate", "epoch_seconds", "images_per_second")
SPLITS = ("train", "val", "test")
SPLIT_NAMES = {"train": "train", "val": "validation", "test": "test"}


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


def is_checkpoint_name(path):
    """True for a checkpoint's file name (RUN.ckpt.h5), which a glob such as
    *.h5 also matches."""
    return str(path).endswith(".ckpt.h5")


def run_files(paths):
    """paths without checkpoints (RUN.ckpt.h5) and temporary files (.tmp):
    what a *.h5 glob should have matched."""
    return [p for p in paths if not is_checkpoint_name(p) and not str(p).endswith(".tmp")]


class _Metrics:
    """What Run and GridRun share: epoch/step metrics and their attributes."""

    def _read_metrics(self, g):
        n = len(g["metrics/epoch/epoch"]) if "metrics/epoch/epoch" in g else 0
        self.epoch, self.step, self.meta = {}, {}, {}
        if "metrics/epoch" in g:
            for k, d in g["metrics/epoch"].items():
                self.epoch[k] = np.asarray(d[...])
                self.meta[k] = {a: _attr(d, a) for a in d.attrs}
        for k in EPOCH_METRICS:
            if k not in self.epoch:
                self.epoch[k] = np.full(n, np.nan)
        if "metrics/step" in g:
            for k, d in g["metrics/step"].items():
                self.step[k] = np.asarray(d[...])
                self.meta.setdefault("step/" + k, {a: _attr(d, a) for a in d.attrs})

    @property
    def epochs(self):
        """Number of completed epochs in the file."""
        return len(self.epoch["epoch"])

    def has(self, metric):
        """True when the metric has at least one finite value."""
        v = self.epoch.get(metric)
        return v is not None and len(v) > 0 and bool(np.isfinite(np.asarray(v, dtype=float)).any())

    @property
    def splits(self):
        """The splits ("train", "val", "test") with a finite loss or accuracy
        in some epoch: what the data file had."""
        return [s for s in SPLITS if self.has(f"{s}_loss") or self.has(f"{s}_accuracy")]

    def units(self, metric):
        """The units attribute of /metrics/epoch/METRIC ("step/loss" for a
        per-step one), or None."""
        return self.meta.get(metric, {}).get("units")

    def description(self, metric):
        return self.meta.get(metric, {}).get("description")

    def final(self, metric):
        """The metric at the last completed epoch (NaN when there is none)."""
        v = self.epoch.get(metric)
        if v is None or len(v) == 0:
            return float("nan")
        return float(v[-1])

    def epochs_frame(self):
        """/metrics/epoch as a pandas DataFrame indexed by epoch (needs pandas)."""
        import pandas as pd
        return pd.DataFrame({k: v for k, v in self.epoch.items()}).set_index("epoch")

    def steps_frame(self):
        """/metrics/step as a pandas DataFrame indexed by step (needs pandas)."""
        import pandas as pd
        df = pd.DataFrame({k: v for k, v in self.step.items()})
        return df.set_index("step") if "step" in df else df


class Run(_Metrics):
    """One run file, read whole into memory (run files are small).

    Attributes: path, name (file name without .h5), attrs (dict of the root
    attributes), config (the parsed config_json, {} if absent), epoch (dict
    name -> 1-D numpy array of /metrics/epoch, every name of EPOCH_METRICS
    present; missing ones are NaN), step (dict of /metrics/step, may be empty),
    meta (dict name -> the dataset's attributes: units, description).
    """

    def __init__(self, path):
        self.path = str(path)
        path = self.path
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
                                          f"{path[:-len('.ckpt.h5')] + '.h5' if is_checkpoint_name(path) else 'beside it'})")
            if fmt != "advml-run":
                raise RunFileError(f"{path}: not an advml run file (format attribute is {fmt!r}, "
                                   "expected 'advml-run')")
            self.attrs = {k: _attr(f, k) for k in f.attrs}
            if "metrics/epoch" not in f:
                raise RunFileError(f"{path}: no /metrics/epoch group")
            self._read_metrics(f)
        try:
            self.config = json.loads(self.attrs.get("config_json") or "{}")
        except ValueError:
            self.config = {}

    @property
    def status(self):
        return self.attrs.get("status", "unknown")

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

    @property
    def checkpoint_path(self):
        """The checkpoint beside the run file (its checkpoint attribute)."""
        ck = self.attrs.get("checkpoint")
        return os.path.join(os.path.dirname(self.path), ck) if ck else None


class GridRun(_Metrics):
    """A run copied into a grid file (/runs/etaI_lambdaJ), shaped like Run."""

    def __init__(self, grid_path, group):
        self.name = f"eta={group.attrs['eta']:g} lambda={group.attrs['lambda']:g}"
        self.path = grid_path
        self.attrs = {k: _attr(group, k) for k in group.attrs}
        self._read_metrics(group)


def open_any(path):
    """The runs in a file: [Run] for a run file, every run of a grid file
    (merge_grid.py's grid.h5). A checkpoint raises CheckpointFileError."""
    try:
        with h5py.File(path, "r") as f:
            if _attr(f, "format") == "advml-grid":
                return [GridRun(path, f["runs"][k]) for k in f["runs"]] if "runs" in f else []
    except OSError as e:
        raise RunFileError(f"{path}: cannot open as HDF5 ({e})") from None
    return [Run(path)]


# Kept here for scripts written against analysis/advml_runs.py:
from .checkpoint import checkpoint_checksum, seal_checkpoint, verify_checkpoint  # noqa: E402,F401
from .plotting import atomic_savefig, check_image_ext  # noqa: E402,F401

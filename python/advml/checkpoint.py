"""advml.checkpoint - read, verify, seal and write advml checkpoints
(RUN.ckpt.h5, docs/run-file-layout.md "Checkpoint" and "Checksums").

  ck = Checkpoint("results/mnist.ckpt.h5")      # verifies the checksums
  ck.config, ck.epoch, ck.step, ck.params["layer00_conv2d/kernel"]
  write_checkpoint("init.ckpt.h5", config, params)   # format_version 2, sealed

write_checkpoint writes what advml-train writes: the weights under
/params/layerNN_KIND/VIEW, the optimizer state (zeros and t = 0 for a fresh
start), the counters and a crc32 per dataset plus the root checksum, through a
temporary file and a rename. advml-train --resume and advml-predict take it.
"""

import json
import os
import zlib

import h5py
import numpy as np

from . import __version__
from .model import Model

FORMAT = "advml-checkpoint"
FORMAT_VERSION = 2          # what write_checkpoint writes (advml-train reads 2 and 3)
READ_VERSIONS = (2, 3)      # 3: advml-train's, with the training controls' state
_INTS = ("format_version", "epoch", "step", "cursor", "seed", "nparams")
_DOUBLES = ("epoch_loss_sum", "epoch_correct", "epoch_samples", "epoch_seconds")
# added in format_version 3: the learning-rate schedule's and the monitors' state
_INTS_3 = ("plateau_wait", "plateau_cooldown", "early_stopping_wait", "early_stopping_best_epoch",
           "best_checkpoint_epoch", "stopped_early_epoch", "restored_epoch")
_DOUBLES_3 = ("lr", "plateau_scale", "plateau_best", "early_stopping_best", "best_checkpoint_value")
# advml_optim_defaults (src/optim.c)
OPTIM_DEFAULTS = {"lr": 1e-3, "momentum": 0.9, "beta1": 0.9, "beta2": 0.999, "rho": 0.9, "eps": 1e-8}
OPTIM_KINDS = ("sgd", "momentum", "adagrad", "adagrad_momentum", "rmsprop", "adam")


class CheckpointError(Exception):
    """A file that is not a readable advml checkpoint, or a damaged one (the
    message names the file and what is wrong)."""


def _text(v):
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    if isinstance(v, np.generic):
        return v.item()
    return v


def _crc(data, crc=0):
    return zlib.crc32(data, crc)


def dataset_crc32(values):
    """The crc32 advml stores with a dataset: over its values as little-endian
    float32 bytes in C order."""
    return _crc(np.ascontiguousarray(np.asarray(values).astype("<f4")).tobytes())


def checkpoint_checksum(f):
    """The root checksum of an open checkpoint (h5py.File), computed exactly as
    advml-train does: crc32 of config_json, the int64 and float64 state
    attributes, the optimizer's kind and t, and every dataset's path and crc32
    attribute in visititems order."""
    crc = _crc(str(_text(f.attrs["config_json"])).encode("utf-8"))
    v3 = int(f.attrs["format_version"]) >= 3
    for k in _INTS + (_INTS_3 if v3 else ()):
        crc = _crc(np.int64(f.attrs[k]).astype("<i8").tobytes(), crc)
    for k in _DOUBLES + (_DOUBLES_3 if v3 else ()):
        crc = _crc(np.float64(f.attrs[k]).astype("<f8").tobytes(), crc)
    crc = _crc(str(_text(f["optimizer"].attrs["kind"])).encode("utf-8"), crc)
    crc = _crc(np.int64(f["optimizer"].attrs["t"]).astype("<i8").tobytes(), crc)
    items = []
    f.visititems(lambda name, obj: items.append((name, obj)) if isinstance(obj, h5py.Dataset) else None)
    for name, d in items:
        crc = _crc(name.encode("utf-8"), crc)
        crc = _crc(np.uint32(int(d.attrs["crc32"])).astype("<u4").tobytes(), crc)
    return crc


def seal_checkpoint(path):
    """After editing a checkpoint's weights or attributes (h5py, "r+"): recompute
    every dataset's crc32 attribute and the root checksum, so that advml-train
    --resume and advml-predict accept the file again. Without this they refuse
    an altered checkpoint as damaged."""
    with h5py.File(path, "r+") as f:
        def fix(name, obj):
            if isinstance(obj, h5py.Dataset):
                obj.attrs["crc32"] = np.int64(dataset_crc32(obj[...]))
        f.visititems(fix)
        f.attrs["checksum"] = np.int64(checkpoint_checksum(f))


def verify_checkpoint(path):
    """A list of what does not match in the checkpoint at path (empty when every
    dataset and the root checksum verify)."""
    bad = []
    with h5py.File(path, "r") as f:
        def check(name, obj):
            if isinstance(obj, h5py.Dataset):
                if "crc32" not in obj.attrs or int(obj.attrs["crc32"]) != dataset_crc32(obj[...]):
                    bad.append("/" + name)
        f.visititems(check)
        try:
            if int(f.attrs["checksum"]) != checkpoint_checksum(f):
                bad.append("checksum")
        except KeyError as e:
            bad.append("missing %s" % e)
    return bad


class Checkpoint:
    """One checkpoint, read whole (weights and optimizer state).

    Attributes: path, attrs (root attributes), config (the parsed config_json),
    epoch, step, cursor, seed, nparams, params (dict "layerNN_KIND/VIEW" ->
    float32 array, in the model's buffer order), optimizer (dict: kind, t, the
    hyperparameters, m and v as flat float32 arrays), model (advml.model.Model).
    verify=True (the default) refuses a damaged file as advml-train does.
    """

    def __init__(self, path, verify=True):
        self.path = str(path)
        try:
            f = h5py.File(self.path, "r")
        except OSError as e:
            raise CheckpointError(f"{self.path}: cannot open as HDF5 ({e})") from None
        with f:
            fmt = _text(f.attrs.get("format"))
            if fmt != FORMAT:
                raise CheckpointError(f"{self.path}: not an advml checkpoint (format attribute {fmt!r})")
            ver = _text(f.attrs.get("format_version"))
            if ver not in READ_VERSIONS:
                raise CheckpointError(f"{self.path}: checkpoint format_version {ver}; this reads "
                                      f"{' and '.join(map(str, READ_VERSIONS))}")
            self.attrs = {k: _text(v) for k, v in f.attrs.items()}
            p = f.get("params")
            raw = {}
            if p is not None:
                p.visititems(lambda n, o: raw.__setitem__(n, np.asarray(o[...], dtype=np.float32))
                             if isinstance(o, h5py.Dataset) else None)
            g = f.get("optimizer")
            self.optimizer = {k: _text(v) for k, v in g.attrs.items()} if g is not None else {}
            for k in ("m", "v"):
                if g is not None and k in g:
                    self.optimizer[k] = np.asarray(g[k][...], dtype=np.float32)
        if verify:
            bad = verify_checkpoint(self.path)
            if bad:
                raise CheckpointError(f"{self.path}: damaged checkpoint: {', '.join(bad)} do not match their "
                                      "checksums (after a deliberate edit, advml.checkpoint.seal_checkpoint)")
        self.config = json.loads(self.attrs.get("config_json") or "{}")
        for k in ("epoch", "step", "cursor", "seed", "nparams"):
            setattr(self, k, int(self.attrs.get(k, 0)))
        self.model = Model(self.config)
        order = [p for p, _ in self.model.views]
        missing = [p for p in order if p not in raw]
        if missing:
            raise CheckpointError(f"{self.path}: /params/{missing[0]} is missing (the config has it)")
        self.params = {p: raw[p] for p in order}
        for p, shape in self.model.views:
            if self.params[p].shape != tuple(shape):
                raise CheckpointError(f"{self.path}: /params/{p} has shape {self.params[p].shape}, "
                                      f"the config needs {tuple(shape)}")

    def flat(self):
        """The parameters as one float32 vector in advml's buffer order."""
        return np.concatenate([a.reshape(-1) for a in self.params.values()]) if self.params else \
            np.zeros(0, np.float32)

    def to_torch(self, **kw):
        """A torch.nn.Module with this checkpoint's model and weights (advml.pytorch.to_torch)."""
        from .pytorch import to_torch
        return to_torch(self, **kw)


def _optimizer_settings(config):
    """(kind, {lr, momentum, beta1, beta2, rho, eps, l2}) of a config, with advml's defaults."""
    opt = config.get("optimizer", "adam")
    if isinstance(opt, str):
        opt = {"name": opt}
    kind = opt.get("name", "adam")
    if kind not in OPTIM_KINDS:
        raise ValueError(f"optimizer.name: unknown optimizer {kind!r}; expected one of {', '.join(OPTIM_KINDS)}")
    hp = dict(OPTIM_DEFAULTS)
    hp.update({k: float(v) for k, v in opt.items() if k in OPTIM_DEFAULTS})
    hp["l2"] = float(config.get("training", {}).get("l2", 0.0))
    return kind, hp


def _shortest(x):
    """A float32 value as the shortest decimal that reads back as it (what
    advml writes for the optimizer's attributes)."""
    f = np.float32(x)
    for prec in range(1, 10):
        d = float(f"{float(f):.{prec}g}")
        if np.float32(d) == f:
            return d
    return float(f)


def write_checkpoint(path, config, params, *, epoch=0, step=0, cursor=0, seed=None, optimizer=None,
                     overwrite=False, input_shape=None):
    """Write an advml checkpoint (format_version 2, with checksums) at path.

    config: the model's config (dict, JSON text or a .json/.h5 file name); its
    "input" is filled in from input_shape when absent. params: a dict
    "layerNN_KIND/VIEW" (as Checkpoint.params; a leading "params/" is allowed)
    -> array of exactly the view's shape; every view of the model must be
    given and nothing else. optimizer: None for a fresh start (m, v zero, t 0),
    or a dict with m, v (flat, nparams) and t. epoch, step, cursor: the
    counters (0: a run that has not started). seed: the config's
    training.seed by default (42). Written to PATH.tmp and renamed; an existing
    file is kept unless overwrite=True. Returns path.
    """
    from .model import load_config
    config = dict(load_config(config))
    model = Model(config, input_shape=input_shape)
    config["input"] = list(model.input_shape)
    given = {}
    for k, v in params.items():
        k = k[len("params/"):] if k.startswith("params/") else k.lstrip("/")
        given[k] = v
    want = dict(model.views)
    extra = [k for k in given if k not in want]
    if extra:
        raise ValueError(f"params: {extra[0]} is not a parameter of this model; it has: {', '.join(want)}")
    arrays = []
    for k, shape in model.views:
        if k not in given:
            raise ValueError(f"params: {k} {tuple(shape)} is missing")
        a = np.asarray(given[k], dtype=np.float32)
        if a.shape != tuple(shape):
            raise ValueError(f"params: {k} has shape {a.shape}, the model needs {tuple(shape)}")
        if not np.isfinite(a).all():
            raise ValueError(f"params: {k} holds non-finite values")
        arrays.append((k, np.ascontiguousarray(a)))
    n = model.nparams
    kind, hp = _optimizer_settings(config)
    opt = optimizer or {}
    m = np.asarray(opt.get("m", np.zeros(n, np.float32)), dtype=np.float32).reshape(-1)
    v = np.asarray(opt.get("v", np.zeros(n, np.float32)), dtype=np.float32).reshape(-1)
    if m.size != n or v.size != n:
        raise ValueError(f"optimizer: m and v must hold nparams = {n} values, got {m.size} and {v.size}")
    t = int(opt.get("t", 0))
    if seed is None:
        seed = int(config.get("training", {}).get("seed", 42))
    for name, val in (("epoch", epoch), ("step", step), ("cursor", cursor), ("seed", seed), ("t", t)):
        if int(val) < 0:
            raise ValueError(f"{name} must be >= 0, got {val}")

    path = str(path)
    if os.path.exists(path) and not overwrite:
        raise FileExistsError(f"{path} exists; pass overwrite=True to replace it")
    tmp = path + ".tmp"
    try:
        with h5py.File(tmp, "w") as f:
            f.attrs["format"] = FORMAT
            f.attrs["format_version"] = np.int64(FORMAT_VERSION)
            f.attrs["config_json"] = json.dumps(config, indent=1)
            f.attrs["epoch"] = np.int64(epoch)
            f.attrs["step"] = np.int64(step)
            f.attrs["cursor"] = np.int64(cursor)
            f.attrs["seed"] = np.int64(seed)
            f.attrs["nparams"] = np.int64(n)
            f.attrs["advml_version"] = f"{__version__} (python package)"
            for k in _DOUBLES:
                f.attrs[k] = np.float64(0.0)
            for k, a in arrays:
                d = f.create_dataset("params/" + k, data=a.astype("<f4"))
                d.attrs["crc32"] = np.int64(dataset_crc32(a))
            g = f.create_group("optimizer")
            for name, a in (("m", m), ("v", v)):
                d = g.create_dataset(name, data=a.astype("<f4"))
                d.attrs["crc32"] = np.int64(dataset_crc32(a))
            g.attrs["kind"] = kind
            g.attrs["t"] = np.int64(t)
            for k in ("lr", "momentum", "beta1", "beta2", "rho", "eps", "l2"):
                g.attrs[k] = np.float64(_shortest(hp[k]))
            f.attrs["checksum"] = np.int64(checkpoint_checksum(f))
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path

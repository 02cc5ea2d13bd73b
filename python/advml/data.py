"""advml.data - read advml's dataset files (docs/hdf5-layout.md) with h5py.

  ds = Dataset("data/mnist.h5")
  ds.splits                                   # ["train", "test"]: the splits the file has
  s = ds.split("test")
  x, y = s.arrays()                           # x normalised as advml trains on it, float32
  s.class_names, s.feature_names, s.target_names
  ds.series_frame()                           # time-series files: /series as a DataFrame (pandas)
  s.to_frame()                                # (N, D) features or (N, 1, F) lags as a DataFrame
"""

import h5py
import numpy as np

SPLITS = ("train", "validation", "test")


class DatasetError(Exception):
    """A file that is not a readable advml dataset (the message names it)."""


def _text(v):
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    if isinstance(v, np.ndarray) and v.dtype.kind in "OSU":
        return [_text(x) for x in v.tolist()]
    if isinstance(v, np.generic):
        return v.item()
    return v


class Split:
    """One split (train, validation or test), read on demand.

    Attributes: name, n (samples), input_shape (per sample), layout ("NCHW",
    "NTF", "ND"), scale, mean, std (the normalisation), kind ("class" or
    "value"), num_classes, class_names, feature_names, target_names.
    """

    def __init__(self, path, name, group):
        self.path, self.name = path, name
        x, y = group["inputs"], group["targets"]
        self.n = int(x.shape[0])
        self.input_shape = tuple(int(d) for d in x.shape[1:])
        a = {k: _text(v) for k, v in x.attrs.items()}
        self.layout = a.get("layout")
        self.scale = float(a.get("scale", 1.0))
        self.mean = float(a.get("mean", 0.0))
        self.std = float(a.get("std", 1.0))
        self.feature_names = a.get("feature_names")
        t = {k: _text(v) for k, v in y.attrs.items()}
        self.kind = t.get("kind") or ("class" if y.ndim == 1 else "value")
        self.num_classes = t.get("num_classes")
        self.class_names = t.get("class_names")
        self.target_names = t.get("names")

    def inputs(self, index=slice(None)):
        """The raw inputs as stored (uint8 pixels stay uint8)."""
        with h5py.File(self.path, "r") as f:
            return f[self.name]["inputs"][index]

    def x(self, index=slice(None)):
        """The inputs as advml trains on them: (raw * scale - mean) / std, float32."""
        raw = np.asarray(self.inputs(index), dtype=np.float64)
        return ((raw * self.scale - self.mean) / self.std).astype(np.float32)

    def y(self, index=slice(None)):
        """The targets: (N,) int32 class ids or (N, K) float32 values."""
        with h5py.File(self.path, "r") as f:
            return f[self.name]["targets"][index]

    def arrays(self, index=slice(None)):
        """(x, y): normalised inputs and targets."""
        return self.x(index), self.y(index)

    def to_frame(self, normalised=False):
        """A pandas DataFrame of a feature split ((N, D), or (N, 1, F) lags):
        one column per feature (named from feature_names) and the target
        column(s). Images and multi-step sequences have no flat table; use
        arrays() for them."""
        import pandas as pd
        x = self.x() if normalised else np.asarray(self.inputs())
        if x.ndim == 3 and x.shape[1] == 1:
            x = x[:, 0, :]
        if x.ndim != 2:
            raise DatasetError(f"{self.path}: /{self.name}/inputs has shape {x.shape}; only (N, D) features or "
                               "(N, 1, F) lags make a table (use arrays())")
        names = self.feature_names if self.feature_names and len(self.feature_names) == x.shape[1] else \
            [f"x{i}" for i in range(x.shape[1])]
        df = pd.DataFrame(x, columns=names)
        y = np.asarray(self.y())
        if y.ndim == 1:
            df["target"] = y
            if self.class_names:
                df["target_name"] = pd.Categorical.from_codes(y, self.class_names)
        else:
            tn = self.target_names if self.target_names and len(self.target_names) == y.shape[1] else \
                [f"target{i}" for i in range(y.shape[1])]
            for k, name in enumerate(tn):
                df[name] = y[:, k]
        return df

    def __repr__(self):
        return f"<advml split {self.name}: {self.n} x {self.input_shape} ({self.layout}), {self.kind} targets>"


class Dataset:
    """A dataset file: attrs (root attributes), splits (names present, in the
    order train, validation, test), split(name) -> Split, series (dict of the
    raw time series, {} for other files)."""

    def __init__(self, path):
        self.path = str(path)
        try:
            f = h5py.File(self.path, "r")
        except OSError as e:
            raise DatasetError(f"{self.path}: cannot open as HDF5 ({e})") from None
        with f:
            fmt = _text(f.attrs.get("format"))
            if fmt is not None and fmt != "advml-dataset":
                raise DatasetError(f"{self.path}: a {fmt} file, not a dataset")
            if "train" not in f:
                raise DatasetError(f"{self.path}: no /train group (not an advml dataset)")
            self.attrs = {k: _text(v) for k, v in f.attrs.items()}
            self._splits = {}
            for s in SPLITS:
                if s in f:
                    g = f[s]
                    if "inputs" not in g or "targets" not in g:
                        raise DatasetError(f"{self.path}: /{s} lacks inputs or targets")
                    self._splits[s] = Split(self.path, s, g)
            self.series = {}
            self.series_attrs = {}
            if isinstance(f.get("series"), h5py.Group):
                self.series = {k: np.asarray(v[...]) for k, v in f["series"].items() if isinstance(v, h5py.Dataset)}
                self.series_attrs = {k: _text(v) for k, v in f["series"].attrs.items()}

    @property
    def splits(self):
        return list(self._splits)

    def split(self, name):
        if name == "val":
            name = "validation"
        if name not in self._splits:
            raise DatasetError(f"{self.path}: no {name!r} split (it has {', '.join(self._splits)})")
        return self._splits[name]

    def series_frame(self):
        """The raw series of a time-series file (/series) as a pandas DataFrame."""
        import pandas as pd
        if not self.series:
            raise DatasetError(f"{self.path}: no /series group (not a time-series file)")
        return pd.DataFrame(self.series)

"""advml.predictions - read advml-predict's prediction files
(docs/predict-layout.md) with h5py.

  root attributes  format = "advml-predictions", task, split, class_names (optional)
  /targets         (N,) int class ids or (N, K) values
  /predicted       (N,) int class ids (classification)
  /probabilities   (N, K) float (classification, binary)
  /confusion_matrix (K, K) int, row = true class, column = predicted (computed
                   from predicted and targets when absent)
  /predictions     (N, K) values, one step ahead (regression)
  /forecast/predicted, /forecast/truth  (H, K): the recursive forecast and the
                   true continuation (NaN past the end of the data)

Every name is looked up through NAMES (first match wins), so a renamed dataset
needs a change here only.
"""

import h5py
import numpy as np

# name candidates, first match wins
NAMES = {
    "predicted_class": ("predicted", "predicted_class", "predicted_classes", "classes"),
    "probabilities": ("probabilities", "probs"),
    "targets": ("targets", "labels", "truth"),
    "confusion": ("confusion_matrix", "confusion"),
    "values": ("predictions", "predicted_values", "values"),
    "t": ("t", "time"),
    "forecast_group": ("forecast", "recursive"),
    "forecast_pred": ("predicted", "predictions", "forecast"),
    "forecast_truth": ("truth", "targets", "true"),
}


class PredictionFileError(Exception):
    """A file that is not a readable prediction file (the message names it)."""


def _find(group, key):
    for name in NAMES[key]:
        if name in group and isinstance(group[name], h5py.Dataset):
            return np.asarray(group[name][...])
    return None


def _text(v):
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    if isinstance(v, np.ndarray):
        return [_text(x) for x in v.tolist()]
    return v


class Predictions:
    """Everything of one prediction file that the plots use; missing parts are None."""

    def __init__(self, path):
        self.path = path
        try:
            f = h5py.File(path, "r")
        except OSError as e:
            raise PredictionFileError(f"{path}: cannot open as HDF5 ({e})") from None
        with f:
            fmt = _text(f.attrs.get("format"))
            if fmt in ("advml-run", "advml-grid", "advml-checkpoint", "advml-dataset"):
                raise PredictionFileError(f"{path}: a {fmt} file, not predictions (make them with advml-predict)")
            self.attrs = {k: _text(v) for k, v in f.attrs.items()}
            self.task = self.attrs.get("task")
            self.metrics = {k: _text(v) for k, v in f["metrics"].attrs.items()} \
                if isinstance(f.get("metrics"), h5py.Group) else {}
            for k, v in self.metrics.items():
                if isinstance(v, np.generic):
                    self.metrics[k] = v.item()
            self.targets = _find(f, "targets")
            self.predicted_class = _find(f, "predicted_class")
            self.probabilities = _find(f, "probabilities")
            self.confusion = _find(f, "confusion")
            self.values = _find(f, "values")
            self.t = _find(f, "t")
            if self.predicted_class is None and self.probabilities is not None:
                self.predicted_class = np.argmax(self.probabilities, axis=1)
            names = self.attrs.get("class_names")
            for k in NAMES["confusion"]:
                if names is None and k in f:
                    names = _text(f[k].attrs.get("class_names"))
            self.class_names = list(names) if isinstance(names, (list, tuple)) else (
                names.split(",") if isinstance(names, str) and names else None)
            tn = self.attrs.get("target_names")
            self.target_names = list(tn) if isinstance(tn, (list, tuple)) else None
            self.target_units = self.attrs.get("target_units") or None
            self.forecast = None
            self.forecast_truth = None
            self.forecast_t = None
            for g in NAMES["forecast_group"]:
                if g in f:
                    obj = f[g]
                    if isinstance(obj, h5py.Dataset):
                        self.forecast = np.asarray(obj[...])
                    else:
                        self.forecast = _find(obj, "forecast_pred")
                        self.forecast_truth = _find(obj, "forecast_truth")
                        self.forecast_t = _find(obj, "t")
                    break

    def confusion_matrix(self):
        """(K, K) counts, row = true class, column = predicted; from the file or computed."""
        if self.confusion is not None:
            c = np.asarray(self.confusion)
            if c.ndim != 2 or c.shape[0] != c.shape[1]:
                raise PredictionFileError(f"{self.path}: confusion matrix has shape {c.shape}, expected (K, K)")
            return c
        if self.predicted_class is None or self.targets is None:
            raise PredictionFileError(f"{self.path}: no confusion_matrix, and no predicted classes and targets "
                                      "to compute one (is this a classifier's prediction file?)")
        y = np.asarray(self.targets).reshape(-1).astype(np.int64)
        p = np.asarray(self.predicted_class).reshape(-1).astype(np.int64)
        if y.shape != p.shape:
            raise PredictionFileError(f"{self.path}: {p.size} predictions but {y.size} targets")
        if y.size and (y.min() < 0 or p.min() < 0):
            raise PredictionFileError(f"{self.path}: negative class ids")
        k = int(max(y.max(initial=-1), p.max(initial=-1)) + 1)
        if self.probabilities is not None:
            k = max(k, self.probabilities.shape[1])
        if self.class_names:
            k = max(k, len(self.class_names))
        c = np.zeros((k, k), dtype=np.int64)
        np.add.at(c, (y, p), 1)
        return c

    def to_frame(self):
        """The per-sample arrays as a pandas DataFrame (needs pandas): target and
        predicted class or value columns, and one column per probability."""
        import pandas as pd
        cols = {}

        def add(prefix, a):
            if a is None:
                return
            a = np.asarray(a)
            if a.ndim == 1:
                cols[prefix] = a
                return
            a = a.reshape(a.shape[0], -1)
            names = self.target_names if self.target_names and len(self.target_names) == a.shape[1] else None
            if prefix == "probability" and self.class_names and len(self.class_names) == a.shape[1]:
                names = self.class_names
            for k in range(a.shape[1]):
                cols[f"{prefix}_{names[k] if names else k}" if a.shape[1] > 1 or names else prefix] = a[:, k]
        add("target", self.targets)
        add("predicted", self.predicted_class if self.values is None else self.values)
        add("probability", self.probabilities)
        return pd.DataFrame(cols)

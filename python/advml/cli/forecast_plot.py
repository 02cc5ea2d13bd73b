#!/usr/bin/env python3
"""Forecast plots of a sequence model from an advml-predict output file.

  forecast_plot.py results/sine_rnn-1234/predictions.h5
  forecast_plot.py predictions.h5 --component 0 --out forecast.pdf

Top: the one-step predictions (each from true input windows) against the
targets of the split, with the mean squared error. Bottom: the recursive
forecast, each prediction fed back as the next input, against the true
continuation when the file has it, as the course does for the 200 validation
points of the sine. A panel is left out when the file lacks its data. For
multi-output models --component picks the output (default 0). The value axis
is labelled with the output's name (the file's target_names, e.g. "x(i)") and
units when the files give them. Writes PNG, PDF or SVG (from --out; default
NAME_forecast.png beside the input NAME.h5) and prints where.
The prediction file layout assumed is in analysis/README.md.
"""

import argparse
import os

import numpy as np

from ..plotting import atomic_savefig, check_image_ext, default_out
from ..predictions import Predictions, PredictionFileError


def column(a, k, what, path):
    """Component k of a (N,) or (N, K) array (a (N, K, 1) one is squeezed)."""
    a = np.asarray(a, dtype=float)
    while a.ndim > 2 and a.shape[-1] == 1:
        a = a[..., 0]
    if a.ndim == 1:
        if k != 0:
            raise PredictionFileError(f"{path}: {what} has one output; --component {k} does not exist")
        return a
    if a.ndim != 2:
        raise PredictionFileError(f"{path}: {what} has shape {a.shape}, expected (N,) or (N, K)")
    if not 0 <= k < a.shape[1]:
        raise PredictionFileError(f"{path}: {what} has {a.shape[1]} outputs; --component {k} does not exist")
    return a[:, k]


def variable_label(p, k):
    """The axis label of output k: its name from the file's target_names
    attribute (advml-predict copies the data's target names, e.g. "x(i)"), else
    from the data file it names, with units when either gives them; "output
    k" when neither names it."""
    names, units = p.target_names, p.target_units
    data = p.attrs.get("data")
    if (not names or units is None) and isinstance(data, str) and os.path.isfile(data):
        import h5py
        try:
            with h5py.File(data, "r") as f:
                t = f.get(f"{p.attrs.get('split') or 'train'}/targets")
                if t is not None:
                    v = t.attrs.get("names")
                    if not names and v is not None and len(v) > k:
                        names = [x.decode() if isinstance(x, bytes) else str(x) for x in v]
                    u = t.attrs.get("units")
                    if units is None and u is not None:
                        units = u.decode() if isinstance(u, bytes) else str(u)
        except OSError:
            pass
    name = names[k] if names and len(names) > k else f"output {k}"
    if isinstance(units, (list, tuple)):
        units = units[k] if len(units) > k else None
    return f"{name} ({units})" if units else name


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__.split("\n\n", 1)[1],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("predictions", metavar="PRED.h5", help="output of advml-predict for a sequence model")
    ap.add_argument("--out", help="image file, .png/.pdf/.svg (default: NAME_forecast.png beside the input)")
    ap.add_argument("--component", type=int, default=0, help="which output of a multi-output model (default 0)")
    ap.add_argument("--title", help="figure title")
    a = ap.parse_args()
    out = a.out or default_out([a.predictions], "forecast")
    check_image_ext(ap, out)

    try:
        p = Predictions(a.predictions)
        panels = []
        if p.values is not None and p.targets is not None:
            y = column(p.targets, a.component, "targets", p.path)
            yhat = column(p.values, a.component, "predictions", p.path)
            if y.shape != yhat.shape:
                raise PredictionFileError(f"{p.path}: {yhat.size} predictions but {y.size} targets")
            t = np.asarray(p.t, dtype=float).reshape(-1) if p.t is not None and np.size(p.t) == y.size else np.arange(y.size)
            split = p.attrs.get("split")
            panels.append(("one-step prediction", t, y, yhat,
                           (f"window of the {split} split" if split else "window") if p.t is None else "t"))
        if p.forecast is not None:
            f = column(p.forecast, a.component, "forecast", p.path)
            truth = None
            if p.forecast_truth is not None:
                truth = column(p.forecast_truth, a.component, "forecast truth", p.path)
                if truth.shape != f.shape:
                    raise PredictionFileError(f"{p.path}: forecast has {f.size} points, its truth {truth.size}")
            ft = p.forecast_t
            t = np.asarray(ft, dtype=float).reshape(-1) if ft is not None and np.size(ft) == f.size else np.arange(1, f.size + 1)
            panels.append(("recursive forecast", t, truth, f, "steps ahead" if ft is None else "t"))
        if not panels:
            raise PredictionFileError(f"{p.path}: neither predictions with targets nor a forecast "
                                      "(is this a regression model's prediction file?)")
    except PredictionFileError as e:
        ap.exit(1, f"forecast_plot: error: {e}\n")

    ylabel = variable_label(p, a.component)

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(panels), 1, figsize=(9, 3.6 * len(panels)), squeeze=False)
    summary = []
    for ax, (name, t, truth, pred, xlabel) in zip(axes[:, 0], panels):
        ok = np.isfinite(truth) if truth is not None else None
        if truth is not None and ok.any():
            # truth is NaN where the forecast runs past the end of the data
            ax.plot(t, truth, "-", color="black", lw=1.5, label="truth")
            mse = float(np.mean((pred[ok] - truth[ok]) ** 2))
            what = f"MSE {mse:.4g} over {int(ok.sum())} points with truth" + (
                f" (of {pred.size})" if ok.sum() < pred.size else "")
        else:
            what = f"{pred.size} points, no truth"
        ax.set_title(f"{name}: {what}")
        summary.append(f"{name} {what}")
        ax.plot(t, pred, "--", color="tab:red", lw=1.5, label="prediction" if name.startswith("one") else "forecast")
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    if a.title:
        fig.suptitle(a.title)
    fig.tight_layout()
    atomic_savefig(fig, out)
    print(f"forecast_plot: wrote {out} ({ylabel}: {'; '.join(summary)})")


if __name__ == "__main__":
    main()

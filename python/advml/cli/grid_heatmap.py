#!/usr/bin/env python3
"""Heatmaps of a grid search: accuracy over learning rate (rows) x lambda (columns).

  grid_heatmap.py results/grid_search-1234/grid.h5
  grid_heatmap.py grid.h5 --metrics train_accuracy,val_accuracy,test_accuracy --out grid.pdf

Reads a grid file written by merge_grid.py (a grid directory is accepted too:
its grid.h5 is used) and draws one annotated heatmap per metric side by side,
as the course does for its Keras CNN on the digits (training and test accuracy,
eta down, lambda across, viridis, every cell's value written in it). Cells
without a value are grey and say why: "failed", "missing", "running" (from the
grid's status), or "n/a". Writes PNG, PDF or
SVG (from --out's extension; default NAME_heatmap.png beside the grid file NAME.h5,
so GRID_DIR/grid_heatmap.png) and prints where.
"""

import argparse
import os

import h5py
import numpy as np

from ..plotting import atomic_savefig, check_image_ext, default_out

TITLES = {
    "train_accuracy": "Training accuracy", "val_accuracy": "Validation accuracy",
    "test_accuracy": "Test accuracy", "train_loss": "Training loss",
    "val_loss": "Validation loss", "test_loss": "Test loss", "epochs": "Completed epochs",
}


def fmt_axis(v):
    """1e-05 -> '1e-05', 0.5 -> '0.5': short tick labels."""
    return f"{v:.3g}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__.split("\n\n", 1)[1],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("grid", metavar="GRID.h5", help="grid file from merge_grid.py (or its directory)")
    ap.add_argument("--metrics", default="train_accuracy,test_accuracy",
                    help="comma-separated 2-D datasets of the grid file (default: train_accuracy,test_accuracy)")
    ap.add_argument("--out", help="image file, .png/.pdf/.svg (default: NAME_heatmap.png beside the grid file NAME.h5)")
    ap.add_argument("--fmt", default=".3f", help="format of the cell annotations (default .3f)")
    a = ap.parse_args()

    path = a.grid
    if os.path.isdir(path):
        path = os.path.join(path, "grid.h5")
    out = a.out or default_out([path], "heatmap")
    check_image_ext(ap, out)
    metrics = [m.strip() for m in a.metrics.split(",") if m.strip()]
    if not metrics:
        ap.error("--metrics: give at least one dataset name")
    try:
        format(0.5, a.fmt)
    except ValueError:
        ap.error(f"--fmt {a.fmt}: not a Python format spec")

    try:
        f = h5py.File(path, "r")
    except OSError as e:
        ap.exit(1, f"grid_heatmap: error: {path}: cannot open ({e})\n")
    with f:
        fmt = f.attrs.get("format")
        fmt = fmt.decode() if isinstance(fmt, bytes) else fmt
        if fmt != "advml-grid":
            ap.exit(1, f"grid_heatmap: error: {path}: not an advml grid file (format {fmt!r}); "
                       "make one with analysis/merge_grid.py\n")
        etas = f["eta"][...]
        lambdas = f["lambda"][...]
        data = {}
        for m in metrics:
            if m not in f or f[m].shape != (len(etas), len(lambdas)):
                avail = [k for k in f if isinstance(f[k], h5py.Dataset) and f[k].ndim == 2 and f[k].dtype.kind in "fiu"]
                ap.exit(1, f"grid_heatmap: error: {path}: no {len(etas)}x{len(lambdas)} dataset {m!r}; "
                           f"available: {', '.join(avail)}\n")
            data[m] = np.asarray(f[m][...], dtype=float)
        status = None
        if "status" in f and f["status"].shape == (len(etas), len(lambdas)):
            status = [[v.decode() if isinstance(v, bytes) else str(v) for v in row] for row in f["status"][...]]

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(metrics)
    cell = 0.75
    w = max(4.5, cell * len(lambdas) + 2.2)
    h = max(4.0, cell * len(etas) + 1.5)
    fig, axes = plt.subplots(1, n, figsize=(w * n, h), squeeze=False)
    for ax, m in zip(axes[0], metrics):
        z = data[m]
        finite = z[np.isfinite(z)]
        acc = m.endswith("accuracy")
        vmin, vmax = (0.0, 1.0) if acc else ((finite.min(), finite.max()) if finite.size else (0.0, 1.0))
        cmap = matplotlib.colormaps["viridis"].copy()
        cmap.set_bad("lightgrey")
        im = ax.imshow(np.ma.masked_invalid(z), cmap=cmap, vmin=vmin, vmax=vmax, aspect="auto")
        fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
        for i in range(z.shape[0]):
            for j in range(z.shape[1]):
                v = z[i, j]
                if np.isfinite(v):
                    # dark text on the bright end of viridis, white elsewhere
                    bright = (v - vmin) / (vmax - vmin) > 0.6 if vmax > vmin else False
                    ax.text(j, i, format(v, a.fmt), ha="center", va="center", fontsize=8,
                            color="black" if bright else "white")
                else:
                    # a run that failed or is missing says so; n/a: no value
                    why = status[i][j] if status and status[i][j] in ("failed", "missing", "running",
                                                                         "unreadable") else "n/a"
                    ax.text(j, i, why, ha="center", va="center", fontsize=8, color="dimgrey")
        ax.set_xticks(range(len(lambdas)), [fmt_axis(v) for v in lambdas], rotation=45)
        ax.set_yticks(range(len(etas)), [fmt_axis(v) for v in etas])
        ax.set_xlabel(r"$\lambda$ (L2)")
        ax.set_ylabel(r"$\eta$ (learning rate)")
        ax.set_title(TITLES.get(m, m))
    fig.tight_layout()
    atomic_savefig(fig, out)
    print(f"grid_heatmap: wrote {out}")


if __name__ == "__main__":
    main()

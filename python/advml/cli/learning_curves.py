#!/usr/bin/env python3
"""Learning curves of one or more advml runs: loss and accuracy per epoch.

  learning_curves.py results/digits_cnn-1234/run.h5
  learning_curves.py results/grid_search-1234/task-[0-9].h5 --out curves.pdf
  learning_curves.py results/grid_search-1234/grid.h5 --splits val

Draws, per run, the training and validation loss (left) and accuracy (right)
over the epochs of /metrics/epoch (and the test curves when --splits asks for
them). The accuracy panel is left out when no run has an accuracy (regression,
e.g. the sine RNN), and a log scale is used for the loss when it spans more
than two decades. A grid file from merge_grid.py counts as all its runs. The
image (PNG, PDF or SVG from --out's extension; default learning_curves.png
beside the first input) is written and its path printed. Runs still training
are fine: the run file is always complete.
"""

import argparse
import os
import sys

import h5py
import numpy as np

from ..plotting import atomic_savefig, check_image_ext
from ..runs import CheckpointFileError, Run, RunFileError

SPLIT_NAMES = {"train": "train", "val": "validation", "test": "test"}
SPLIT_STYLE = {"train": "-", "val": "--", "test": ":"}


class GridRun:
    """A run copied into a grid file (/runs/etaI_lambdaJ), shaped like Run."""

    def __init__(self, grid_path, group):
        self.name = f"eta={group.attrs['eta']:g} lambda={group.attrs['lambda']:g}"
        self.path = grid_path
        self.epoch = {k: np.asarray(v[...]) for k, v in group["metrics/epoch"].items()} \
            if "metrics/epoch" in group else {"epoch": np.zeros(0)}

    def has(self, metric):
        v = self.epoch.get(metric)
        return v is not None and len(v) > 0 and bool(np.isfinite(np.asarray(v, dtype=float)).any())


def load(path):
    """Runs in a file: one for a run file, all of them for a grid file."""
    try:
        with h5py.File(path, "r") as f:
            fmt = f.attrs.get("format")
            fmt = fmt.decode() if isinstance(fmt, bytes) else fmt
            if fmt == "advml-grid":
                return [GridRun(path, f["runs"][k]) for k in f["runs"]] if "runs" in f else []
    except OSError as e:
        raise RunFileError(f"{path}: cannot open as HDF5 ({e})") from None
    return [Run(path)]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__.split("\n\n", 1)[1],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("runs", nargs="+", metavar="RUN.h5", help="run files (or grid files from merge_grid.py)")
    ap.add_argument("--out", help="image file, .png/.pdf/.svg (default: learning_curves.png beside the first run)")
    ap.add_argument("--splits", default="train,val", help="comma-separated among train,val,test (default train,val)")
    ap.add_argument("--labels", help="comma-separated legend labels, one per run (default: the file names)")
    ap.add_argument("--title", help="figure title")
    a = ap.parse_args()

    splits = [s.strip() for s in a.splits.split(",") if s.strip()]
    bad = [s for s in splits if s not in SPLIT_NAMES]
    if bad or not splits:
        ap.error(f"--splits {a.splits}: expected a comma-separated subset of train,val,test")
    out = a.out or os.path.join(os.path.dirname(os.path.abspath(a.runs[0])), "learning_curves.png")
    check_image_ext(ap, out)

    runs = []
    for p in a.runs:
        try:
            runs.extend(load(p))
        except CheckpointFileError as e:
            print(f"learning_curves: skipping {e}", file=sys.stderr)  # task-*.h5 also matches task-K.ckpt.h5
        except RunFileError as e:
            ap.exit(1, f"learning_curves: error: {e}\n")
    if not runs:
        ap.exit(1, "learning_curves: error: no run files among " + ", ".join(a.runs) + "\n")
    if a.labels:
        labels = a.labels.split(",")
        if len(labels) != len(runs):
            ap.error(f"--labels: {len(labels)} labels for {len(runs)} runs")
        for r, lab in zip(runs, labels):
            r.name = lab
    if not any(r.has(f"{s}_loss") or r.has(f"{s}_accuracy") for r in runs for s in splits):
        ap.exit(1, "learning_curves: error: no completed epoch with a loss or accuracy in "
                   + ", ".join(a.runs) + "\n")

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    panels = [("loss", "loss per sample")]
    if any(r.has(f"{s}_accuracy") for r in runs for s in splits):
        panels.append(("accuracy", "accuracy"))
    fig, axes = plt.subplots(1, len(panels), figsize=(6.4 * len(panels), 4.6), squeeze=False)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, (kind, ylabel) in zip(axes[0], panels):
        lo, hi = np.inf, -np.inf
        for n, r in enumerate(runs):
            c = colors[n % len(colors)]
            x = r.epoch["epoch"]
            for s in splits:
                key = f"{s}_{kind}"
                if not r.has(key):
                    continue
                y = np.asarray(r.epoch[key], dtype=float)
                lab = f"{r.name} {SPLIT_NAMES[s]}" if len(runs) > 1 else SPLIT_NAMES[s]
                ax.plot(x, y, SPLIT_STYLE[s], color=c, marker="o" if len(x) < 15 else None, ms=3, label=lab)
                fin = y[np.isfinite(y) & (y > 0)]
                if fin.size:
                    lo, hi = min(lo, fin.min()), max(hi, fin.max())
        if kind == "loss" and np.isfinite(lo) and hi / lo > 100:
            ax.set_yscale("log")
        if kind == "accuracy":
            ax.set_ylim(-0.02, 1.02)
        ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
        ax.set_xlabel("epoch")
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8 if len(runs) < 6 else 6, ncol=1 if len(runs) < 8 else 2)
    if a.title:
        fig.suptitle(a.title)
    elif len(runs) == 1:
        fig.suptitle(runs[0].name)
    fig.tight_layout()
    atomic_savefig(fig, out)
    print(f"learning_curves: wrote {out}")


if __name__ == "__main__":
    main()

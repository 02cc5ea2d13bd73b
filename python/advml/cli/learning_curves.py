#!/usr/bin/env python3
"""Learning curves of one or more advml runs: loss and accuracy per epoch (and per step).

  learning_curves.py results/mnist.h5                    # -> results/mnist_learning_curves.png
  learning_curves.py results/grid_search-1234/task-*.h5 --out curves.pdf
  learning_curves.py results/grid_search-1234/grid.h5 --splits val

Draws, per run, the loss (left) and accuracy (right) of every split the run
has (train, validation, test: what its data file held; --splits picks some)
over the epochs of /metrics/epoch. When a run has few completed epochs (fewer
than 5, or none after --max-steps), the training loss of every optimizer step
(/metrics/step) is drawn too, at its fraction of an epoch, so that a 1-epoch
run still shows a curve (--steps on/off forces it). The axis labels name the
loss and the units from the file's attributes. The accuracy panel is left out
when no run has an accuracy (regression, e.g. the sine RNN), and a log scale is
used for the loss when it spans more than two decades. A grid file from
merge_grid.py counts as all its runs; checkpoints (RUN.ckpt.h5, which a *.h5
glob also matches) are skipped with a note. The image (PNG, PDF or SVG from
--out's extension; default NAME_learning_curves.png beside the first input,
NAME its file name without .h5) is written and its path printed. Runs still
training are fine: the run file is always complete.
"""

import argparse
import sys

import numpy as np

from ..plotting import atomic_savefig, check_image_ext, default_out
from ..runs import SPLIT_NAMES, SPLITS, CheckpointFileError, RunFileError, is_checkpoint_name, open_any

SPLIT_STYLE = {"train": "-", "val": "--", "test": ":"}
FEW_EPOCHS = 5


def steps_per_epoch(r):
    """Optimizer steps in one epoch: from the first completed epoch's step
    count, else None (no epoch completed)."""
    st = np.asarray(r.epoch.get("step", []), dtype=float)
    if st.size and np.isfinite(st[0]) and st[0] > 0:
        return float(st[0])
    return None


def loss_name(r):
    cfg = getattr(r, "config", None) or {}
    return cfg.get("loss") if isinstance(cfg.get("loss"), str) else None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__.split("\n\n", 1)[1],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("runs", nargs="+", metavar="RUN.h5", help="run files (or grid files from merge_grid.py)")
    ap.add_argument("--out", help="image file, .png/.pdf/.svg (default: NAME_learning_curves.png beside the "
                                  "first run)")
    ap.add_argument("--splits", default="all",
                    help="comma-separated among train,val,test, or all (default: every split a run has)")
    ap.add_argument("--steps", choices=("auto", "on", "off"), default="auto",
                    help=f"per-step training loss: auto (when a run has fewer than {FEW_EPOCHS} epochs), on, off")
    ap.add_argument("--labels", help="comma-separated legend labels, one per run (default: the file names)")
    ap.add_argument("--title", help="figure title")
    a = ap.parse_args()

    if a.splits == "all":
        splits = list(SPLITS)
    else:
        splits = [s.strip() for s in a.splits.split(",") if s.strip()]
        bad = [s for s in splits if s not in SPLIT_NAMES]
        if bad or not splits:
            ap.error(f"--splits {a.splits}: expected all or a comma-separated subset of train,val,test")
    paths = [p for p in a.runs if not is_checkpoint_name(p)]
    skipped = [p for p in a.runs if is_checkpoint_name(p)]
    if skipped:
        print(f"learning_curves: skipping {len(skipped)} checkpoint(s), not run files: {', '.join(skipped)}",
              file=sys.stderr)
    if not paths:
        ap.exit(1, "learning_curves: error: no run files among " + ", ".join(a.runs) + "\n")
    out = a.out or default_out(paths, "learning_curves")
    check_image_ext(ap, out)

    runs = []
    for p in paths:
        try:
            runs.extend(open_any(p))
        except CheckpointFileError as e:
            print(f"learning_curves: skipping {e}", file=sys.stderr)
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
    steps = {id(r): (a.steps == "on" or (a.steps == "auto" and r.epochs < FEW_EPOCHS)) and len(r.step.get("loss", []))
             for r in runs}
    if not any(r.has(f"{s}_loss") or r.has(f"{s}_accuracy") for r in runs for s in splits) and not any(steps.values()):
        ap.exit(1, "learning_curves: error: no completed epoch with a loss or accuracy, and no step losses, in "
                   + ", ".join(a.runs) + "\n")
    # x axis: epochs, unless a run with steps has no completed epoch to scale them by
    by_step = any(steps[id(r)] and steps_per_epoch(r) is None for r in runs)

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    r0 = runs[0]
    lname = loss_name(r0)
    lunits = r0.units("train_loss") or r0.units("step/loss") or "mean loss per sample"
    panels = [("loss", f"{lname or 'loss'} ({lunits})")]
    if any(r.has(f"{s}_accuracy") for r in runs for s in splits):
        panels.append(("accuracy", f"accuracy ({r0.units('train_accuracy') or 'fraction'})"))
    fig, axes = plt.subplots(1, len(panels), figsize=(6.4 * len(panels), 4.6), squeeze=False)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, (kind, ylabel) in zip(axes[0], panels):
        lo, hi = np.inf, -np.inf
        for n, r in enumerate(runs):
            c = colors[n % len(colors)]
            prefix = f"{r.name} " if len(runs) > 1 else ""
            if kind == "loss" and steps[id(r)]:
                y = np.asarray(r.step["loss"], dtype=float)
                st = np.asarray(r.step.get("step", np.arange(1, y.size + 1)), dtype=float)
                spe = steps_per_epoch(r)
                x = st if by_step or spe is None else st / spe
                ax.plot(x, y, "-", color=c, lw=0.7, alpha=0.45, label=f"{prefix}train, per step")
                fin = y[np.isfinite(y) & (y > 0)]
                if fin.size:
                    lo, hi = min(lo, fin.min()), max(hi, fin.max())
            if by_step and steps_per_epoch(r) is None:
                continue
            x = np.asarray(r.epoch["epoch"], dtype=float)
            if by_step:
                x = x * steps_per_epoch(r)
            for s in splits:
                key = f"{s}_{kind}"
                if not r.has(key):
                    continue
                y = np.asarray(r.epoch[key], dtype=float)
                ax.plot(x, y, SPLIT_STYLE[s], color=c, marker="o" if len(x) < 15 else None, ms=3,
                        label=f"{prefix}{SPLIT_NAMES[s]}")
                fin = y[np.isfinite(y) & (y > 0)]
                if fin.size:
                    lo, hi = min(lo, fin.min()), max(hi, fin.max())
        if kind == "loss" and np.isfinite(lo) and hi / lo > 100:
            ax.set_yscale("log")
        if kind == "accuracy":
            ax.set_ylim(-0.02, 1.02)
        if by_step:
            ax.set_xlabel("optimizer step")
        else:
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
    shown = sorted({SPLIT_NAMES[s] for r in runs for s in splits if r.has(f"{s}_loss") or r.has(f"{s}_accuracy")},
                   key=lambda n: list(SPLIT_NAMES.values()).index(n))
    extra = (", per-step loss" if any(steps.values()) else "")
    print(f"learning_curves: wrote {out} ({', '.join(shown) or 'no epoch'}{extra})")


if __name__ == "__main__":
    main()

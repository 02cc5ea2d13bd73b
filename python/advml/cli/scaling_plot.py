#!/usr/bin/env python3
"""Scaling plots: training throughput (images/s) and parallel efficiency against MPI ranks.

  scaling_plot.py results/mnist_cnn-*/run.h5           # run files of the same model on 1, 2, 4 ranks
  scaling_plot.py bench/results/scaling.csv --out scaling.pdf

Inputs are run files (ranks from their nranks attribute, throughput the median
of /metrics/epoch/images_per_second, leaving out the first epoch when there are
more, since it includes warm-up) or CSV files with a header and the columns
ranks and images_per_second, plus an optional label column that names a series
(e.g. advml and pytorch-ddp; run files are labelled by --label or "advml").
Several measurements of one (label, ranks) pair are reduced to their median.

Left: images/s against ranks with the ideal line N x (images/s at the fewest
ranks). Right: efficiency = (images/s at N / N) / (images/s at N0 / N0) with N0
the fewest ranks of the series (usually 1), or of the --baseline series for all
(e.g. --baseline pytorch to compare DDP and advml with one PyTorch process). Writes PNG, PDF or SVG (from --out;
default NAME_scaling.png beside the first input NAME.h5, NAME_and_N_more_scaling.png
for several), prints the table and where. Checkpoints (RUN.ckpt.h5, which a *.h5
glob also matches) are skipped with a note.
"""

import argparse
import csv
import os
import sys

import numpy as np

from ..plotting import atomic_savefig, check_image_ext, default_out
from ..runs import Run, RunFileError, is_checkpoint_name


class InputError(Exception):
    pass


def from_run(path, label):
    r = Run(path)
    n = r.attrs.get("nranks")
    if not isinstance(n, int) or n < 1:
        raise InputError(f"{path}: no valid nranks attribute ({n!r})")
    ips = np.asarray(r.epoch["images_per_second"], dtype=float)
    ips = ips[np.isfinite(ips) & (ips > 0)]
    if ips.size == 0:
        raise InputError(f"{path}: no completed epoch with images_per_second")
    if ips.size > 1:
        ips = ips[1:]
    return [(label, n, float(np.median(ips)))]


def from_csv(path, label):
    rows = []
    with open(path, newline="") as fh:
        rd = csv.DictReader(fh)
        if not rd.fieldnames or "ranks" not in rd.fieldnames or "images_per_second" not in rd.fieldnames:
            raise InputError(f"{path}: expected a header with the columns ranks and images_per_second "
                             f"(got {rd.fieldnames})")
        for line, row in enumerate(rd, start=2):
            try:
                n = int(row["ranks"])
                v = float(row["images_per_second"])
            except (TypeError, ValueError):
                raise InputError(f"{path}:{line}: ranks must be an integer and images_per_second a number "
                                 f"(got {row.get('ranks')!r}, {row.get('images_per_second')!r})") from None
            if n < 1 or not np.isfinite(v) or v <= 0:
                raise InputError(f"{path}:{line}: expected ranks >= 1 and images_per_second > 0")
            rows.append(((row.get("label") or label).strip(), n, v))
    if not rows:
        raise InputError(f"{path}: no data rows")
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__.split("\n\n", 1)[1],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("inputs", nargs="+", metavar="RUN.h5|RESULTS.csv")
    ap.add_argument("--out", help="image file, .png/.pdf/.svg (default: NAME_scaling.png beside the first input)")
    ap.add_argument("--label", default="advml", help="series name of run files and unlabelled CSV rows")
    ap.add_argument("--baseline", help="series whose per-rank images/s at its fewest ranks is efficiency 1 "
                    "for every series (default: each series against itself)")
    ap.add_argument("--title", help="figure title")
    a = ap.parse_args()
    inputs = [p for p in a.inputs if not is_checkpoint_name(p)]
    if len(inputs) < len(a.inputs):
        print("scaling_plot: skipping checkpoint(s), not run files: "
              + ", ".join(p for p in a.inputs if is_checkpoint_name(p)), file=sys.stderr)
    if not inputs:
        ap.exit(1, "scaling_plot: error: no run files or CSV files among " + ", ".join(a.inputs) + "\n")
    out = a.out or default_out(inputs, "scaling")
    check_image_ext(ap, out)

    points = []
    try:
        for p in inputs:
            if not os.path.isfile(p):
                raise InputError(f"{p}: no such file")
            if p.endswith(".csv"):
                points += from_csv(p, a.label)
            else:
                points += from_run(p, a.label)
    except (InputError, RunFileError, OSError) as e:
        ap.exit(1, f"scaling_plot: error: {e}\n")

    series = {}
    for label, n, v in points:
        series.setdefault(label, {}).setdefault(n, []).append(v)
    if a.baseline is not None and a.baseline not in series:
        ap.exit(1, f"scaling_plot: error: --baseline {a.baseline}: no such series (have: {', '.join(series)})\n")
    table = {}
    for label, byn in series.items():
        ns = sorted(byn)
        ips = np.array([np.median(byn[n]) for n in ns])
        table[label] = (np.array(ns), ips)
    base = dict(table)
    for label, (ns, ips) in base.items():
        bns, bips = base[a.baseline] if a.baseline else (ns, ips)
        table[label] = (ns, ips, (ips / ns) / (bips[0] / bns[0]))

    print(f"{'series':<16} {'ranks':>5} {'images/s':>12} {'speed-up':>9} {'efficiency':>10}")
    for label, (ns, ips, eff) in table.items():
        for n, v, e in zip(ns, ips, eff):
            print(f"{label:<16} {n:>5d} {v:>12.1f} {v / ips[0]:>9.3f} {e:>10.3f}")

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4.4))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    allns = sorted({n for ns, _, _ in table.values() for n in ns})
    for c, (label, (ns, ips, eff)) in zip(colors * 10, table.items()):
        a1.plot(ns, ips, "o-", color=c, label=label)
        a1.plot(ns, ips[0] * ns / ns[0], ":", color=c, alpha=0.7, label=f"{label} ideal")
        a2.plot(ns, eff, "o-", color=c, label=label + (f" vs {a.baseline}" if a.baseline else ""))
    a1.set_xlabel("MPI ranks")
    a1.set_ylabel("training images/s")
    a2.set_xlabel("MPI ranks")
    a2.set_ylabel("parallel efficiency")
    a2.axhline(1.0, color="grey", lw=0.8, ls=":")
    a2.set_ylim(0, max(1.1, max(e.max() for _, _, e in table.values()) * 1.05))
    for ax in (a1, a2):
        ax.set_xticks(allns)
        ax.xaxis.set_major_formatter(matplotlib.ticker.ScalarFormatter())
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    if a.title:
        fig.suptitle(a.title)
    fig.tight_layout()
    atomic_savefig(fig, out)
    print(f"scaling_plot: wrote {out}")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Confusion matrix of a classifier from an advml-predict output file.

  confusion_matrix.py results/mnist_cnn-1234/predictions.h5
  confusion_matrix.py predictions.h5 --normalize --out confusion.pdf

Rows are the true classes, columns the predicted ones; every cell is annotated
with its count (or, with --normalize, the fraction of its true class, i.e.
per-class recall on the diagonal). Uses the file's confusion_matrix, or counts
one from its predicted classes (or probabilities) and targets. Class names come
from the file when it has them. The accuracy is in the title. Writes PNG, PDF
or SVG (from --out; default NAME_confusion_matrix.png beside the input NAME.h5) and prints
where. The prediction file layout assumed is in analysis/README.md.
"""

import argparse
import os

import numpy as np

from ..plotting import atomic_savefig, check_image_ext, default_out
from ..predictions import Predictions, PredictionFileError


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__.split("\n\n", 1)[1],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("predictions", metavar="PRED.h5", help="output of advml-predict for a classifier")
    ap.add_argument("--out", help="image file, .png/.pdf/.svg (default: NAME_confusion_matrix.png beside the input)")
    ap.add_argument("--normalize", action="store_true", help="show each row as fractions of its true class")
    ap.add_argument("--title", help="figure title (default: file name, split and accuracy)")
    a = ap.parse_args()
    out = a.out or default_out([a.predictions], "confusion_matrix")
    check_image_ext(ap, out)
    try:
        p = Predictions(a.predictions)
        c = p.confusion_matrix()
    except PredictionFileError as e:
        ap.exit(1, f"confusion_matrix: error: {e}\n")

    k = c.shape[0]
    total = c.sum()
    acc = np.trace(c) / total if total else float("nan")
    names = p.class_names if p.class_names and len(p.class_names) == k else [str(i) for i in range(k)]
    rows = c.sum(axis=1, keepdims=True)
    z = np.divide(c, rows, out=np.zeros(c.shape, dtype=float), where=rows > 0) if a.normalize else c.astype(float)

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    size = max(4.5, 0.55 * k + 2.5)
    fig, ax = plt.subplots(figsize=(size + 1.0, size))
    im = ax.imshow(z, cmap="Blues", vmin=0, vmax=1 if a.normalize else max(z.max(), 1))
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="fraction of true class" if a.normalize else "count")
    thresh = (1 if a.normalize else max(z.max(), 1)) * 0.55
    fs = 9 if k <= 10 else max(5, 9 - (k - 10) // 3)
    for i in range(k):
        for j in range(k):
            txt = f"{z[i, j]:.2f}" if a.normalize else f"{c[i, j]:d}"
            ax.text(j, i, txt, ha="center", va="center", fontsize=fs,
                    color="white" if z[i, j] > thresh else "black")
    ax.set_xticks(range(k), names, rotation=45 if max(len(n) for n in names) > 2 else 0, ha="right"
                  if max(len(n) for n in names) > 2 else "center")
    ax.set_yticks(range(k), names)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    split = p.attrs.get("split")
    ax.set_title(a.title or f"{os.path.basename(a.predictions)}" + (f" ({split})" if split else "")
                 + f"\naccuracy {acc:.4f} over {int(total)} samples")
    fig.tight_layout()
    atomic_savefig(fig, out)
    print(f"confusion_matrix: wrote {out} (accuracy {acc:.4f})")


if __name__ == "__main__":
    main()

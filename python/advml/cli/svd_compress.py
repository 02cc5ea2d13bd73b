#!/usr/bin/env python3
"""The course's SVD image compression: a grey-scale image approximated by its rank-k SVD.

  svd_compress.py photo.png --ranks 5,10,20,100
  svd_compress.py data/mnist.h5 --split test --index 7 --ranks 1,2,5,10
  svd_compress.py data/digits.h5 --index 0 --ranks 1,2,4 --out digit0.pdf

The image X (m x n, grey scale; colour images become 0.299 R + 0.587 G + 0.114 B,
the course's weights) is split as X = U S V^T, and for each rank k the
approximation X_k = U[:, :k] diag(S[:k]) V^T[:k, :] is kept. Printed for each k:
the stored numbers k (1 + m + n) (k columns of U and of V and k singular
values), the compression ratio k (1 + m + n) / (m n), the mean-square error
MSE = sum (X - X_k)^2 / (m n) and PSNR = 20 log10(MAX / sqrt(MSE)) dB, the
course's formulas. MAX is the peak pixel value: 255 for 8-bit images (PNG files,
which matplotlib reads as 0..1, are put on the 0..255 scale first), 1/scale for
an advml dataset whose inputs carry a scale (the 8x8 digits: 16), else the
image's largest absolute value; --peak sets it. Image files are read with
matplotlib.image.imread (PNG; JPEG and others through Pillow when installed);
advml dataset files (.h5) give sample --index of --split (default train), an
image (1, H, W) or (3, H, W).

Writes the original and the reconstructions side by side as PNG, PDF or SVG
(from --out; default NAME_svd.png beside an image NAME.png, and
NAME_SPLIT_INDEX_svd.png beside a dataset NAME.h5) and prints the table and
where the figure went. The course's code (week notes, "The SVD example") has
two slips fixed here: it slices VT[:, :k, :], an IndexError on the 2-D VT
(VT[:k, :] is meant), and it hard-codes m = 800, n = 1200 instead of the
image's shape.
"""

import argparse
import math
import os

import numpy as np

from ..plotting import atomic_savefig, check_image_ext

GREY = np.array([0.299, 0.587, 0.114])  # the course's RGB -> grey weights


class SvdInputError(Exception):
    """Bad input: the message names the file and what is wrong."""


def grey(a, path):
    """A 2-D grey image from an (H, W), (H, W, 3) or (H, W, 4) array."""
    a = np.asarray(a, dtype=np.float64)
    if a.ndim == 3 and a.shape[2] in (3, 4):
        a = a[:, :, :3] @ GREY
    if a.ndim != 2:
        raise SvdInputError(f"{path}: an image of shape {a.shape}; expected grey (H, W) or colour (H, W, 3|4)")
    return a


def read_image_file(path):
    """(X, peak) from an image file, on the 0..255 scale for 8-bit data."""
    import matplotlib.image as mpimg
    try:
        raw = mpimg.imread(path)
    except FileNotFoundError:
        raise SvdInputError(f"{path}: no such file") from None
    except Exception as e:  # noqa: BLE001 - matplotlib/Pillow raise many kinds
        raise SvdInputError(f"{path}: not a readable image ({e})") from None
    if raw.dtype.kind == "f" and raw.size and float(np.nanmax(raw)) <= 1.0:
        return grey(raw, path) * 255.0, 255.0  # PNG: matplotlib gives 0..1
    if raw.dtype == np.uint8:
        return grey(raw, path), 255.0
    x = grey(raw, path)
    return x, float(np.max(np.abs(x))) or 1.0


def read_dataset_image(path, split, index):
    """(X, peak, label) from sample index of an advml dataset split."""
    from ..data import Dataset, DatasetError
    try:
        ds = Dataset(path)
        s = ds.split(split)
    except DatasetError as e:
        raise SvdInputError(str(e)) from None
    if not 0 <= index < s.n:
        raise SvdInputError(f"{path}: --index {index} is out of range; the {s.name} split has samples 0..{s.n - 1}")
    shape = s.input_shape
    if len(shape) != 3 or shape[0] not in (1, 3):
        raise SvdInputError(f"{path}: the {s.name} inputs have per-sample shape {shape}; an image (1, H, W) or "
                            "(3, H, W) is needed")
    raw = s.inputs(index)
    img = raw[0] if shape[0] == 1 else np.moveaxis(raw, 0, -1)
    x = grey(img, path)
    if raw.dtype == np.uint8 and s.scale in (1.0, 1.0 / 255.0):
        peak = 255.0
    elif s.scale not in (0.0, 1.0):
        peak = 1.0 / s.scale
    else:
        peak = float(np.max(np.abs(x))) or 1.0
    return x, peak, f"{os.path.basename(path)} {s.name}[{index}]"


def parse_ranks(text):
    try:
        ks = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise SvdInputError(f"--ranks {text}: expected a comma list of integers") from None
    if not ks:
        raise SvdInputError("--ranks: at least one rank is needed")
    return ks


def compress(x, ranks, peak):
    """Rows (k, stored, ratio, mse, psnr) and the reconstructions, for an m x n image x."""
    m, n = x.shape
    r = min(m, n)
    for k in ranks:
        if not 1 <= k <= r:
            raise SvdInputError(f"--ranks: k = {k} is out of range; an image of {m} x {n} has ranks 1..{r}")
    u, s, vt = np.linalg.svd(x, full_matrices=False)
    rows, recon = [], []
    for k in ranks:
        xk = u[:, :k] @ np.diag(s[:k]) @ vt[:k, :]  # the course writes VT[:, :k, :] (an IndexError)
        stored = k * (1 + m + n)
        mse = float(np.sum((x - xk) ** 2) / (m * n))
        psnr = math.inf if mse == 0 else 20 * math.log10(peak / math.sqrt(mse))
        rows.append((k, stored, stored / (m * n), mse, psnr))
        recon.append(xk)
    return rows, recon


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__.split("\n\n", 1)[1],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("image", metavar="IMAGE", help="an image file (PNG, ...) or an advml dataset file (.h5)")
    ap.add_argument("--ranks", default="1,2,5,10,20",
                    help="comma list of ranks k (default 1,2,5,10,20; each at most min(m, n))")
    ap.add_argument("--split", default="train", help="dataset files: the split (default train)")
    ap.add_argument("--index", type=int, default=0, help="dataset files: the sample (default 0)")
    ap.add_argument("--peak", type=float, help="the peak pixel value MAX of the PSNR (default: see below)")
    ap.add_argument("--out", help="figure, .png/.pdf/.svg (default: derived from the input, see below)")
    a = ap.parse_args(argv)

    h5 = a.image.lower().endswith((".h5", ".hdf5"))
    if a.out:
        out = a.out
    else:
        d, base = os.path.split(os.path.abspath(a.image))
        stem = os.path.splitext(base)[0]
        out = os.path.join(d, f"{stem}_{a.split}_{a.index}_svd.png" if h5 else f"{stem}_svd.png")
    check_image_ext(ap, out)
    if a.peak is not None and not (a.peak > 0 and math.isfinite(a.peak)):
        ap.exit(2, f"svd_compress: error: --peak {a.peak}: must be positive\n")
    try:
        ks = parse_ranks(a.ranks)
        if h5:
            if not os.path.isfile(a.image):
                raise SvdInputError(f"{a.image}: no such file")
            x, peak, label = read_dataset_image(a.image, a.split, a.index)
        else:
            x, peak = read_image_file(a.image)
            label = os.path.basename(a.image)
        if a.peak is not None:
            peak = a.peak
        rows, recon = compress(x, ks, peak)
    except SvdInputError as e:
        ap.exit(2, f"svd_compress: error: {e}\n")

    m, n = x.shape
    print(f"{label}: {m} x {n} pixels ({m * n} numbers), peak value {peak:g}")
    print(f"{'k':>5} {'stored k(1+m+n)':>16} {'ratio':>10} {'MSE':>12} {'PSNR (dB)':>10}")
    for k, stored, ratio, mse, psnr in rows:
        print(f"{k:>5} {stored:>16} {ratio:>10.6f} {mse:>12.6g} {psnr:>10.4f}")

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cols = len(rows) + 1
    fig, axes = plt.subplots(1, cols, figsize=(2.6 * cols, 2.8 * max(0.6, m / n)), squeeze=False)
    panels = [(x, f"original {m}x{n}")] + [
        (xk, f"k = {k}: {100 * ratio:.1f}%\n{psnr:.1f} dB") for xk, (k, _, ratio, _, psnr) in zip(recon, rows)]
    for ax, (img, title) in zip(axes[0], panels):
        ax.imshow(img, cmap="gray", vmin=float(x.min()), vmax=float(x.max()))
        ax.set_title(title, fontsize=9)
        ax.axis("off")
    fig.suptitle(f"SVD compression of {label} (ratio k(1+m+n)/(mn), PSNR)", fontsize=10)
    atomic_savefig(fig, out)
    print(f"svd_compress: wrote {out}")


if __name__ == "__main__":
    main()

"""advml.plotting - what the plotting commands share: writing a figure
atomically, checking an image name, and default output names derived from the
input."""

import os


def atomic_savefig(fig, out):
    """Saves a matplotlib figure to out (format from the extension) through a
    temporary file and a rename, so a reader never sees half a file."""
    ext = os.path.splitext(out)[1].lstrip(".").lower() or "png"
    d = os.path.dirname(os.path.abspath(out))
    os.makedirs(d, exist_ok=True)
    tmp = os.path.join(d, f".{os.path.basename(out)}.{os.getpid()}.tmp")
    try:
        fig.savefig(tmp, format=ext, bbox_inches="tight", dpi=120)
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
        import matplotlib.pyplot as plt
        plt.close(fig)


def check_image_ext(parser, out):
    ext = os.path.splitext(out)[1].lower()
    if ext not in (".png", ".pdf", ".svg"):
        parser.error(f"--out {out}: expected a .png, .pdf or .svg file name")


def default_out(inputs, suffix, ext=".png"):
    """The default image beside the first input, named after it:
    results/mnist.h5 -> results/mnist_SUFFIX.png; a run in its own directory
    (results/job-12/run.h5) -> results/job-12/run_SUFFIX.png. Several inputs
    add "_and_N_more" so that plots of different sets do not overwrite each
    other."""
    first = str(inputs[0])
    if os.path.isdir(first):
        d, stem = first.rstrip("/"), os.path.basename(first.rstrip("/")) or "grid"
    else:
        d, base = os.path.split(os.path.abspath(first))
        stem = base[:-3] if base.endswith(".h5") else os.path.splitext(base)[0]
    more = f"_and_{len(inputs) - 1}_more" if len(inputs) > 1 else ""
    return os.path.join(d or ".", f"{stem}{more}_{suffix}{ext}")

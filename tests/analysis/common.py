"""Shared pieces of the analysis tests: paths and a runner for the commands."""

import os
import subprocess
import sys

import h5py
import numpy as np

SRC = os.environ.get("ADVML_SRC") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
WORK = os.environ.get("ADVML_ANALYSIS_WORK")
ANALYSIS = os.path.join(SRC, "analysis")
PY = "/usr/bin/python3"

if not WORK or not os.path.isdir(WORK):
    sys.exit("ADVML_ANALYSIS_WORK is not set or missing: run through ctest (fixture analysis_runs)")

GRID_DIR = os.path.join(WORK, "grid")
ETAS = [0.01, 0.1]
LAMBDAS = [1e-4, 1e-2]


def run_inproc(cmd, args):
    """analysis/CMD.py's main() in this process, as `CMD.py args` would run it
    (saves starting Python and matplotlib for every plot)."""
    import contextlib
    import importlib
    import io
    if ANALYSIS not in sys.path:
        sys.path.insert(0, ANALYSIS)
    mod = importlib.import_module(cmd)
    out, err, code = io.StringIO(), io.StringIO(), 0
    argv = sys.argv
    sys.argv = [cmd + ".py", *args]
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            mod.main()
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    finally:
        sys.argv = argv
    return subprocess.CompletedProcess([cmd, *args], code, out.getvalue(), err.getvalue())


def run(cmd, *args, check=None):
    """Runs analysis/CMD.py with args; returns CompletedProcess (text). check=0/1/2
    asserts that exit status. Successful plots (check=0) run in this process,
    everything else (errors, --help) as a real command."""
    if check == 0 and "--help" not in args:
        p = run_inproc(cmd, [str(a) for a in args])
    else:
        p = subprocess.run([PY, os.path.join(ANALYSIS, cmd + ".py"), *map(str, args)],
                           capture_output=True, text=True, timeout=120)
    if check is not None and p.returncode != check:
        raise AssertionError(f"{cmd} {' '.join(map(str, args))}: exit {p.returncode}, expected {check}\n"
                             f"stdout: {p.stdout}\nstderr: {p.stderr}")
    return p


def attr(obj, k):
    v = obj.attrs[k]
    return v.decode() if isinstance(v, bytes) else v


def last(path, metric):
    with h5py.File(path, "r") as f:
        v = f["metrics/epoch/" + metric][:]
    return float(v[-1]) if len(v) else float("nan")


def image_size(path):
    """(width, height) in pixels of a PNG, read back with matplotlib; for a PDF,
    checks its header and trailer and returns None."""
    with open(path, "rb") as fh:
        head = fh.read(8)
    if path.endswith(".pdf"):
        with open(path, "rb") as fh:
            data = fh.read()
        assert data.startswith(b"%PDF-") and b"%%EOF" in data[-1024:], f"{path}: not a complete PDF"
        return None
    assert head == b"\x89PNG\r\n\x1a\n", f"{path}: not a PNG"
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.image
    img = matplotlib.image.imread(path)
    assert img.ndim == 3 and img.shape[2] in (3, 4), img.shape
    # a plot is not one flat colour
    assert float(np.ptp(img[..., :3])) > 0.2, f"{path}: the image is blank"
    return img.shape[1], img.shape[0]

"""Shared helpers of the trainer tests (run by ctest with /usr/bin/python3).

Environment (tests/CMakeLists.txt, ADVML_TEST_ENV): ADVML_BIN is the build
directory, ADVML_SRC the source tree; Open MPI may run as root and
oversubscribe. Every child process runs under a timeout, so no test can hang.
"""
import atexit
import os
import shutil
import subprocess
import sys
import tempfile

import h5py
import numpy as np

BIN = os.environ.get("ADVML_BIN") or sys.exit("ADVML_BIN is not set (run the tests from ctest)")
SRC = os.environ.get("ADVML_SRC") or sys.exit("ADVML_SRC is not set (run the tests from ctest)")
TRAIN = os.path.join(BIN, "advml-train")
DATA_TOOL = os.path.join(BIN, "advml-data")
# Shared, cached inputs of the trainer tests (made once per build directory).
CACHE = os.path.join(BIN, "tests", "trainer-data")
# the sanitizer build (10-50x slower): heavy tests use smaller models there
SANITIZED = os.environ.get("ADVML_TEST_SANITIZED") == "1"


def fail(msg):
    print("FAIL: " + msg, flush=True)
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)
    print("ok: " + msg, flush=True)


_SESSIONS = tempfile.mkdtemp(prefix="advml-ompi-")
atexit.register(shutil.rmtree, _SESSIONS, True)


def mpi_env(extra=None):
    """The environment for one mpirun: its own Open MPI session directory, so
    that mpiruns started at the same moment (ctest -j, the pool in
    failures.py, other users) do not race creating /tmp/ompi.HOST.UID."""
    e = dict(os.environ)
    e["OMPI_MCA_orte_tmpdir_base"] = tempfile.mkdtemp(dir=_SESSIONS)
    if extra:
        e.update(extra)
    return e


def run(args, np_=None, timeout=120, env=None, cwd=None):
    """Run advml-train (under mpirun -np np_ when given) with a timeout.
    Returns (returncode, stdout, stderr); a timeout fails the test."""
    cmd = ([TRAIN] + list(args)) if np_ is None else (["mpirun", "-np", str(np_), TRAIN] + list(args))
    e = mpi_env({"ADVML_PROGRESS": os.environ.get("ADVML_PROGRESS", "line")})
    if env:
        e.update(env)
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=e, cwd=cwd)
    except subprocess.TimeoutExpired as ex:
        fail("timed out after %ss (a rank hung?): %s\n%s\n%s" % (timeout, " ".join(cmd), ex.stdout, ex.stderr))
    return p.returncode, p.stdout, p.stderr


def run_ok(args, np_=None, timeout=120, env=None):
    rc, out, err = run(args, np_, timeout, env)
    if rc != 0:
        fail("exit %d: %s\n--- stdout\n%s\n--- stderr\n%s" % (rc, " ".join(map(str, args)), out, err))
    return out


def _locked_make(path, make):
    """Create path with make(tmp) once; concurrent tests wait on a lock file."""
    import fcntl
    os.makedirs(CACHE, exist_ok=True)
    with open(os.path.join(CACHE, ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not os.path.exists(path):
            tmp = path + ".part.h5"
            if os.path.exists(tmp):
                os.remove(tmp)
            make(tmp)
            os.rename(tmp, path)
    return path


def digits_h5():
    """The course's 8x8 digits (1437 train, 360 test), made with advml-data csv."""
    src = os.path.join(SRC, "data", "digits.csv.gz")
    if not os.path.exists(src):
        fail("%s missing: run scripts/fetch-data.sh" % src)

    def make(tmp):
        subprocess.run([DATA_TOOL, "csv", "--from", src, "--out", tmp, "--image", "1,8,8", "--scale", "0.0625",
                        "--test-fraction", "0.2", "--seed", "1", "--force"], check=True, timeout=120,
                       capture_output=True)
    return _locked_make(os.path.join(CACHE, "digits.h5"), make)


def sine_h5():
    """The course's clean sine (PyTorch RNN example): windows of 20 steps, 780 train, 180 validation."""
    def make(tmp):
        subprocess.run([DATA_TOOL, "sine", "--kind", "clean", "--out", tmp, "--force"], check=True, timeout=120,
                       capture_output=True)
    return _locked_make(os.path.join(CACHE, "sine.h5"), make)


def mnist_subset_h5(ntrain=4000, nval=1000, ntest=2000):
    """A subset of MNIST made with advml-data mnist, then cut with h5py
    (first ntrain training images, the last nval of them as validation, the
    first ntest test images), keeping every attribute."""
    src = os.path.join(SRC, "data", "mnist")
    if not os.path.exists(os.path.join(src, "train-images-idx3-ubyte")) and \
            not os.path.exists(os.path.join(src, "train-images-idx3-ubyte.gz")):
        fail("%s missing: run scripts/fetch-data.sh" % src)

    def make(tmp):
        full = tmp + ".full.h5"
        subprocess.run([DATA_TOOL, "mnist", "--from", src, "--out", full, "--validation", "5000", "--force"],
                       check=True, timeout=300, capture_output=True)
        with h5py.File(full, "r") as f, h5py.File(tmp, "w") as g:
            for k, v in f.attrs.items():
                g.attrs[k] = v
            for split, n in (("train", ntrain), ("validation", nval), ("test", ntest)):
                gs = g.create_group(split)
                for k, v in f[split].attrs.items():
                    gs.attrs[k] = v
                if "num_samples" in gs.attrs:
                    gs.attrs["num_samples"] = n
                for name in ("inputs", "targets"):
                    d = f[split][name]
                    nd = gs.create_dataset(name, data=d[:n], chunks=True)
                    for k, v in d.attrs.items():
                        nd.attrs[k] = v
        os.remove(full)
    return _locked_make(os.path.join(CACHE, "mnist_subset_%d_%d_%d.h5" % (ntrain, nval, ntest)), make)


def params(ckpt):
    """{view path: array} of a checkpoint's /params."""
    out = {}
    with h5py.File(ckpt, "r") as f:
        f["params"].visititems(lambda n, o: out.__setitem__(n, o[()]) if isinstance(o, h5py.Dataset) else None)
    return out


def max_diff(a, b):
    if sorted(a) != sorted(b):
        fail("different parameter sets: %s vs %s" % (sorted(a), sorted(b)))
    return max(float(np.max(np.abs(a[k].astype(np.float64) - b[k].astype(np.float64)))) for k in a)


def write_config(path, text):
    with open(path, "w") as f:
        f.write(text)
    return path


def tmpdir(name):
    d = tempfile.mkdtemp(prefix="advml-%s-" % name)
    return d


def cleanup(d):
    shutil.rmtree(d, ignore_errors=True)

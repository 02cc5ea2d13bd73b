"""Helpers shared by the advml-data Python tests (Debian /usr/bin/python3 + h5py + numpy)."""
import gzip
import os
import struct
import subprocess

import numpy as np


def tool():
    """Path of the advml-data executable (ADVML_BIN is the build directory)."""
    b = os.environ.get("ADVML_BIN")
    if not b:
        raise SystemExit("ADVML_BIN is not set (run through ctest)")
    return os.path.join(b, "advml-data")


def run(*args, check=True):
    """Run advml-data with args; returns the CompletedProcess (text)."""
    p = subprocess.run([tool(), *map(str, args)], capture_output=True, text=True, timeout=300)
    if check and p.returncode != 0:
        raise AssertionError(f"advml-data {' '.join(map(str, args))} failed ({p.returncode}):\n{p.stdout}{p.stderr}")
    return p


def write_idx(path, array, gz=False):
    """Write a uint8 array as an IDX file (magic 0, 0, 0x08, ndim; big-endian dims)."""
    a = np.ascontiguousarray(array, dtype=np.uint8)
    data = bytes([0, 0, 0x08, a.ndim]) + b"".join(struct.pack(">I", d) for d in a.shape) + a.tobytes()
    opener = gzip.open if gz else open
    with opener(path, "wb") as f:
        f.write(data)


def make_mnist_like(d, n_train=30, n_test=10, h=28, w=28, gz=False):
    """Four IDX files of a small MNIST-like set in directory d; returns (images, labels) per part."""
    os.makedirs(d, exist_ok=True)
    rng = np.random.default_rng(0)
    parts = {}
    sfx = ".gz" if gz else ""
    for name, n in (("train", n_train), ("t10k", n_test)):
        x = rng.integers(0, 256, size=(n, h, w), dtype=np.uint8)
        y = (np.arange(n) * 3 % 10).astype(np.uint8)
        write_idx(os.path.join(d, f"{name}-images-idx3-ubyte{sfx}"), x, gz)
        write_idx(os.path.join(d, f"{name}-labels-idx1-ubyte{sfx}"), y, gz)
        parts[name] = (x, y)
    return parts

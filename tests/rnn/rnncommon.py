"""Helpers of the recurrent-network tests (run by ctest with /usr/bin/python3).

Builds on tests/trainer/common.py (advml-train runs under a timeout, checks,
temporary directories) and adds advml-predict runs and hand-made sequence
datasets and checkpoints. The course's sine dataset is common.sine_h5 (made
once per build directory with advml-data).
"""
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "trainer"))
from common import (BIN, DATA_TOOL, check, cleanup, fail, max_diff, params, run, run_ok,  # noqa: E402,F401
                    sine_h5, tmpdir, write_config)
import h5py  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "analysis"))
from advml_runs import seal_checkpoint  # noqa: E402

PREDICT = os.path.join(BIN, "advml-predict")


def run_tool(cmd, np_=None, timeout=120):
    """Run a tool (argv list) under mpirun -np np_ when given, with a timeout.
    Returns (returncode, stdout, stderr)."""
    if np_ is not None:
        cmd = ["mpirun", "-np", str(np_)] + cmd
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as ex:
        fail("timed out after %ss (a rank hung?): %s\n%s\n%s" % (timeout, " ".join(cmd), ex.stdout, ex.stderr))
    return p.returncode, p.stdout, p.stderr


def predict(args, np_=None, timeout=120):
    return run_tool([PREDICT] + list(args), np_, timeout)


def predict_ok(args, np_=None, timeout=120):
    rc, out, err = predict(args, np_, timeout)
    if rc != 0:
        fail("advml-predict exit %d: %s\n--- stdout\n%s\n--- stderr\n%s" % (rc, " ".join(map(str, args)), out, err))
    return out


def expect_error(what, rc, err, code, *phrases):
    """The run failed with exit code `code` and a one-line message holding every phrase."""
    check(rc == code, "%s: exit code %d (got %d)" % (what, code, rc))
    for p in phrases:
        if p not in err:
            fail("%s: the message lacks %r:\n%s" % (what, p, err))
    check(True, "%s: message names %s" % (what, ", ".join(repr(p) for p in phrases)))


def write_sequences(path, x, y, feature_names=None, target_names=None, split="train", mode="w"):
    """A sequence dataset in advml's layout: inputs (N, T, F), value targets (N, K)."""
    with h5py.File(path, mode) as f:
        d = f.create_dataset(split + "/inputs", data=np.asarray(x, dtype=np.float32))
        d.attrs.update(scale=1.0, mean=0.0, std=1.0, layout="NTF")
        if feature_names is not None:
            d.attrs["feature_names"] = feature_names
        t = f.create_dataset(split + "/targets", data=np.asarray(y, dtype=np.float32))
        t.attrs["kind"] = "value"
        if target_names is not None:
            t.attrs["names"] = target_names
    return path


def set_params(ckpt, values):
    """Overwrite the checkpoint's /params/PATH datasets with the given arrays."""
    with h5py.File(ckpt, "r+") as f:
        for k, v in values.items():
            d = f["params"][k]
            v = np.asarray(v, dtype=np.float32).reshape(d.shape)
            d[...] = v
    seal_checkpoint(ckpt)  # a deliberate edit: record the new checksums

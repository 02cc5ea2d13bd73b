"""torch_ddp.py - what bench/torch_mnist_train.py and bench/torch_mnist_tta.py share:
one thread per process, advml's MNIST file as tensors, test accuracy, and the
launcher that starts a script's copies as the ranks of one gloo group.

Import it before torch: it sets OMP_NUM_THREADS=1 and OPENBLAS_NUM_THREADS=1
(MKL_NUM_THREADS unless set) and then imports torch itself."""
import os

# One thread everywhere, before torch is imported.
os.environ["OMP_NUM_THREADS"] = "1"
os.environ["OPENBLAS_NUM_THREADS"] = "1"
os.environ.setdefault("MKL_NUM_THREADS", "1")

import socket  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import h5py  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402


# the running script (bench/torch_mnist_*.py): its name in messages, its path for launch()
PROG = os.path.basename(sys.argv[0])


def die(msg):
    sys.stderr.write("%s: %s\n" % (PROG, msg))
    sys.exit(1)


def load_split(path, split):
    """(inputs (n, 1, 28, 28) float32 tensor, labels (n,) int64 tensor) of /SPLIT in
    advml's dataset file PATH, normalised as advml does: (raw * scale - mean) / std
    in float32 with the inputs' attributes (MNIST: 1/255, 0.1307, 0.3081)."""
    with h5py.File(path, "r") as f:
        if split not in f:
            die("%s: no /%s split" % (path, split))
        d = f[split]["inputs"]
        a = d.attrs
        scale, mean, std = float(a.get("scale", 1.0)), float(a.get("mean", 0.0)), float(a.get("std", 1.0))
        raw = d[:]
        y = f[split]["targets"][:]
    x = (raw.astype(np.float32) * np.float32(scale) - np.float32(mean)) / np.float32(std)
    return torch.from_numpy(np.ascontiguousarray(x)), torch.from_numpy(y.astype(np.int64))


def evaluate(model, x, y, batch=1000):
    """Accuracy of MODEL on (x, y) in eval mode, batches of BATCH, no gradients."""
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(y), batch):
            correct += (model(x[i:i + batch]).argmax(1) == y[i:i + batch]).sum().item()
    model.train()
    return correct / len(y)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch(nproc, timeout):
    """Start NPROC copies of the running script (with its arguments) as the ranks of one
    gloo group (RANK, WORLD_SIZE, MASTER_ADDR=127.0.0.1, MASTER_PORT); wait for all.
    If one fails or TIMEOUT seconds pass, the rest are killed and the script dies."""
    port = free_port()
    procs = []
    for r in range(nproc):
        env = dict(os.environ, RANK=str(r), WORLD_SIZE=str(nproc), LOCAL_RANK=str(r),
                   MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
        procs.append(subprocess.Popen([sys.executable, os.path.abspath(sys.argv[0])] + sys.argv[1:], env=env))
    deadline = time.time() + timeout
    codes = [None] * nproc
    while any(c is None for c in codes):
        for i, p in enumerate(procs):
            if codes[i] is None:
                codes[i] = p.poll()
        if any(c not in (None, 0) for c in codes) or time.time() > deadline:
            for i, p in enumerate(procs):  # one failed (or too slow): stop the rest
                if codes[i] is None:
                    p.kill()
                    codes[i] = p.wait()
            break
        time.sleep(0.1)
    if any(c != 0 for c in codes):
        die("a rank failed or ran past --timeout %d s (exit codes %s)" % (timeout, codes))

"""Faults on one host: a full disk and damaged checkpoints.

- The run directory on a small tmpfs: a checkpoint write that fails for lack
  of space stops every rank with a message naming the file, leaves no
  temporary file behind, and the previous checkpoint stays intact: it verifies
  and --resume continues from it once there is room again.
- A checkpoint altered after it was written is refused by --resume and
  advml-predict with a message naming what is wrong: a weight changed with
  h5py, an attribute (step) changed, one flipped bit in the raw file, a
  truncated file. Negative control: the same edit followed by
  analysis/advml_runs.py's seal_checkpoint is accepted, so the refusals are the
  checksums' doing.
Needs root for mount (CI runs as root); otherwise the tmpfs part is skipped
with a message and the rest still runs.
"""
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
import h5py  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "analysis"))
import advml_runs  # noqa: E402

CONFIG = """{
  "model": [
    {"type": "conv2d", "filters": 16, "kernel": 3, "padding": "same", "activation": "relu"},
    {"type": "maxpool2d", "pool": 2},
    {"type": "flatten"},
    {"type": "dense", "units": 1024, "activation": "relu"},
    {"type": "dense", "units": 10, "activation": "softmax"}
  ],
  "loss": "categorical_crossentropy",
  "optimizer": {"name": "adam", "lr": 2e-3},
  "training": {"epochs": 1, "batch_size": 50, "seed": 2}
}
"""
PREDICT = os.path.join(common.BIN, "advml-predict")


def disk_full(d, base):
    mnt = os.path.join(d, "small")
    os.makedirs(mnt)
    # size it from a real checkpoint: room for one checkpoint and the run file
    # (twice, as it is written beside itself and renamed) but not two checkpoints
    probe = os.path.join(d, "probe.h5")
    common.run_ok(base + ["--out", probe], np_=2)
    ck = os.path.getsize(probe[:-3] + ".ckpt.h5")
    rf = os.path.getsize(probe)
    p = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%d" % (4 * (ck + rf)), "tmpfs", mnt],
                       capture_output=True, text=True)
    if p.returncode != 0:
        print("SKIP (disk-full part): cannot mount a tmpfs here: %s" % p.stderr.strip(), flush=True)
        return
    try:
        run = os.path.join(mnt, "run.h5")
        ckpt = os.path.join(mnt, "run.ckpt.h5")
        common.run_ok(base + ["--out", run], np_=2)
        # then shrink it to what is used plus room for the run file's rewrites
        # (a temporary copy beside it), not for a second checkpoint
        st = os.statvfs(mnt)
        used = (st.f_blocks - st.f_bfree) * st.f_frsize
        size = (used + rf + 256 * 1024 + 4095) // 4096 * 4096
        subprocess.run(["mount", "-o", "remount,size=%d" % size, mnt], check=True)
        common.check(os.path.exists(ckpt), "first checkpoint written; tmpfs shrunk to %d KiB (checkpoint %d KiB)" %
                     (size // 1024, ck // 1024))
        with open(ckpt, "rb") as fh:
            before = fh.read()
        rc, out, err = common.run(["--resume", ckpt, "--epochs", "3"], np_=2)
        common.check(rc == 3 and ckpt in err and "No space left on device" in err,
                     "the next checkpoint does not fit: exit 3, message names the file and the cause\n%s" %
                     err[-800:])
        common.check(err.count("advml-train: error:") == 1, "one message (rank 0)")
        common.check(not [f for f in os.listdir(mnt) if f.endswith(".tmp")], "no temporary file left behind")
        with open(ckpt, "rb") as fh:
            common.check(fh.read() == before, "the previous checkpoint is unchanged, byte for byte")
        common.check(advml_runs.verify_checkpoint(ckpt) == [], "and it verifies")
        with h5py.File(run, "r") as f:
            st = f.attrs["status"]
            st = st.decode() if isinstance(st, bytes) else st
            common.check(st in ("failed", "running", "completed"), "the run file is readable (status %s)" % st)
        subprocess.run(["mount", "-o", "remount,size=%d" % (size * 4), mnt], check=True)
        common.run_ok(["--resume", ckpt, "--epochs", "3"], np_=2)
        with h5py.File(ckpt, "r") as f:
            common.check(int(f.attrs["epoch"]) == 3, "with room again, --resume continues to epoch 3")
    finally:
        subprocess.run(["umount", "-l", mnt])


def refused(ckpt, what, *needles, predict=True):
    rc, out, err = common.run(["--resume", ckpt, "--epochs", "2"], np_=2)
    common.check(rc == 3 and all(n in err for n in needles) and ckpt in err,
                 "--resume refuses %s (exit %d): %s" % (what, rc, err.strip().splitlines()[0] if err else ""))
    if not predict:
        return
    rc, out, err = subprocess.run([PREDICT, "--checkpoint", ckpt, "--data", DATA, "--out", ckpt + ".pred.h5"],
                                  capture_output=True, text=True, timeout=120).returncode, "", ""
    common.check(rc == 3, "advml-predict refuses %s too" % what)


def damaged(d, base):
    good = os.path.join(d, "good.h5")
    common.run_ok(base + ["--out", good], np_=2)
    src = good[:-3] + ".ckpt.h5"
    common.check(advml_runs.verify_checkpoint(src) == [], "an untouched checkpoint verifies")

    def copy(name):
        p = os.path.join(d, name + ".ckpt.h5")
        shutil.copy(src, p)
        return p

    # a weight changed with h5py (what a careless notebook does)
    p = copy("weight")
    with h5py.File(p, "r+") as f:
        k = f["params/layer03_dense/weight"]
        a = k[...]
        a[3, 7] += 1e-3
        k[...] = a
    refused(p, "a changed weight", "/params/layer03_dense/weight", "damaged checkpoint")
    # negative control: the same edit, then sealed -> accepted
    p2 = copy("weight_sealed")
    with h5py.File(p2, "r+") as f:
        k = f["params/layer03_dense/weight"]
        a = k[...]
        a[3, 7] += 1e-3
        k[...] = a
    advml_runs.seal_checkpoint(p2)
    common.run_ok(["--resume", p2, "--epochs", "2"], np_=2)
    common.check(True, "negative control: the same edit re-sealed is accepted")

    # an attribute changed (the step counter)
    p = copy("attr")
    with h5py.File(p, "r+") as f:
        f.attrs["step"] = np.int64(int(f.attrs["step"]) + 1)
    refused(p, "a changed step attribute", "do not match the checksum")

    # one flipped bit in the raw file: in the optimizer's m (which advml-predict
    # does not read), and in a weight
    for name, ds, pred in (("bitflip_m", "optimizer/m", False), ("bitflip_w", "params/layer00_conv2d/kernel", True)):
        p = copy(name)
        with h5py.File(p, "r") as f:
            off = f[ds].id.get_offset()
            n = f[ds].size
        with open(p, "r+b") as fh:
            fh.seek(off + 4 * (n // 2) + 1)
            b = fh.read(1)
            fh.seek(-1, 1)
            fh.write(bytes([b[0] ^ 0x10]))
        refused(p, "one flipped bit in /" + ds, "/" + ds, "damaged checkpoint", predict=pred)

    # a truncated file (a copy cut short)
    p = copy("truncated")
    with open(p, "r+b") as fh:
        fh.truncate(os.path.getsize(src) // 2)
    refused(p, "a truncated file")


DATA = None


def main():
    global DATA
    DATA = common.digits_h5()
    d = common.tmpdir("faults")
    try:
        cfg = common.write_config(os.path.join(d, "cnn.json"), CONFIG)
        base = ["--config", cfg, "--data", DATA]
        damaged(d, base)
        disk_full(d, base)
    finally:
        common.cleanup(d)


if __name__ == "__main__":
    main()

"""Failures stop every rank with one clear message from rank 0 and the
documented exit code, without a hang (every run is bounded by a timeout):
bad flags, bad configs, missing or mismatched data, unwritable or existing
outputs, bad checkpoints, a failure on a rank other than 0, and a non-finite
loss (which keeps the last good checkpoint untouched).

Exit codes (docs/training.md): 2 usage/config, 3 I/O or data, 4 shape, 5 numeric.
"""
import hashlib
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
import h5py  # noqa: E402

GOOD = """{
  "model": [
    {"type": "conv2d", "filters": 4, "kernel": 3, "activation": "relu"},
    {"type": "flatten"},
    {"type": "dense", "units": 10, "activation": "softmax"}
  ],
  "loss": "categorical_crossentropy",
  "optimizer": {"name": "sgd", "lr": 0.1},
  "training": {"epochs": 1, "batch_size": 100, "seed": 1}
}
"""


def expect(name, args, code, needles, np_=2, outputs_absent=(), timeout=90):
    rc, out, err = common.run(args, np_=np_, timeout=timeout)
    text = out + err
    ok = rc == code and all(n in err for n in needles) and err.count("advml-train: error:") == 1
    if not ok:
        common.fail("%s: expected exit %d and one error containing %s; got exit %d\n--- stdout\n%s\n--- stderr\n%s" %
                    (name, code, needles, rc, out[-3000:], err[-3000:]))
    for p in outputs_absent:
        if os.path.exists(p):
            common.fail("%s: %s was created" % (name, p))
    # training never started: no epoch line
    if code != 5 and "epoch  1/" in text:
        common.fail("%s: training started before the failure was detected" % name)
    line = [l for l in err.splitlines() if l.startswith("advml-train: error:")][0]
    print("ok: %s -> exit %d: %s" % (name, rc, line[:200]), flush=True)


def parallel(cases):
    """Run expect(*case) for every case, a few at a time (a failed mpirun
    spends most of its time waiting, not computing)."""
    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor(max_workers=4) as pool:
        for f in [pool.submit(expect, *c) for c in cases]:
            f.result()


def main():
    digits = common.digits_h5()
    d = common.tmpdir("fail")
    try:
        good = common.write_config(os.path.join(d, "good.json"), GOOD)
        out = os.path.join(d, "run.h5")
        base = ["--config", good, "--data", digits]
        cfg = {}
        for name, old, new in (("syntax", '"flatten"},', '"flatten"}'), ("key", '"kernel": 3', '"kernel_size": 3'),
                               ("kernel", '"kernel": 3', '"kernel": "3"'), ("classes", '"units": 10', '"units": 5'),
                               ("arch", '"kernel": 3', '"kernel": 9'), ("other", '"filters": 4', '"filters": 6')):
            cfg[name] = common.write_config(os.path.join(d, name + ".json"), GOOD.replace(old, new))
        # Runs whose files the checkpoint and non-finite cases below start from.
        common.run_ok(base + ["--out", out, "--max-steps", "3"], np_=2)
        common.run_ok(base + ["--out", os.path.join(d, "nan.h5")], np_=2)  # 1 epoch = 15 steps
        digest = {}
        for p in (out, os.path.join(d, "nan.ckpt.h5")):
            with open(p, "rb") as f:
                digest[p] = hashlib.sha256(f.read()).hexdigest()
        ckpt = os.path.join(d, "run.ckpt.h5")

        parallel([
            # command line
            ("unknown flag", base + ["--epoch", "3"], 2, ['unknown argument "--epoch"']),
            ("bad number", base + ["--epochs", "three"], 2, ['--epochs: expected an integer >= 1, got "three"']),
            ("bad lr", base + ["--lr", "-1"], 2, ['--lr: expected a number > 0, got "-1"']),
            ("missing value", base + ["--out"], 2, ["--out needs a value"]),
            ("no config", ["--data", digits], 2, ["--config FILE.json is required"]),
            ("unknown optimizer", base + ["--optimizer", "adamw"], 2, ['--optimizer: unknown optimizer "adamw"']),
            # config
            ("missing config", ["--config", os.path.join(d, "nope.json")], 3,
             ["nope.json: cannot open the config file"]),
            ("JSON syntax", ["--config", cfg["syntax"], "--data", digits], 2,
             ["syntax.json: line 5, column", "invalid JSON"]),
            ("unknown key", ["--config", cfg["key"], "--data", digits], 2,
             ['key.json: model[0].kernel_size: unknown key (did you mean "kernel"?)']),
            ("bad kernel", ["--config", cfg["kernel"], "--data", digits], 2,
             ['kernel.json: model[0].kernel: expected an array of 2 positive integers, got "3"']),
            # data
            ("missing data", ["--config", good, "--data", os.path.join(d, "nope.h5")], 3,
             ["nope.h5: cannot open the dataset file"]),
            ("no data given", ["--config", good], 2, ["no dataset: give --data FILE.h5"]),
            ("data is not HDF5", ["--config", good, "--data", good], 3, ["good.json: not an HDF5 file"]),
            ("input shape", ["--config", os.path.join(common.SRC, "jobs", "mnist_cnn.json"), "--data", digits], 4,
             ["the train inputs are [1, 8, 8] per sample, but", 'mnist_cnn.json has "input": [1, 28, 28]']),
            ("targets", ["--config", cfg["classes"], "--data", digits], 4,
             ["does not fit", "classes.json: layer 2 (dense)"]),
            ("impossible architecture", ["--config", cfg["arch"], "--data", digits], 4,
             ["arch.json: layer 0 (conv2d)"]),
            # outputs
            ("no such directory", base + ["--out", os.path.join(d, "no", "run.h5")], 3,
             ["the directory %s does not exist" % os.path.join(d, "no")], 2, [os.path.join(d, "no")]),
            ("unwritable directory", base + ["--out", "/proc/run.h5"], 3, ["cannot write in the directory /proc"]),
            ("existing run file", base + ["--out", out], 3,
             ["run.h5 exists (from an earlier run)", "--resume " + ckpt]),
            # checkpoints
            ("missing checkpoint", base + ["--resume", os.path.join(d, "nope.ckpt.h5")], 3,
             ["nope.ckpt.h5: cannot read the checkpoint"]),
            ("not a checkpoint", base + ["--resume", digits, "--out", os.path.join(d, "x.h5")], 3,
             ["not an advml checkpoint"], 2, [os.path.join(d, "x.h5")]),
            ("checkpoint of another model", ["--config", cfg["other"], "--data", digits, "--resume", ckpt], 2,
             ["was written for a different model", "model[0]"]),
            ("checkpoint of another optimizer", base + ["--optimizer", "adam", "--resume", ckpt], 2,
             ["holds the state of the optimizer sgd", "--optimizer sgd"]),
            ("mid-epoch resume with another batch size", base + ["--batch-size", "50", "--resume", ckpt], 2,
             ["with batch size 100", "--batch-size 100"]),
            # non-finite: a huge learning rate blows up; on 3 ranks, resumed after a good epoch
            ("non-finite loss", base + ["--epochs", "2", "--lr", "1e30", "--resume", os.path.join(d, "nan.ckpt.h5")],
             5, ["non-finite", "at step 17 (epoch 2, batch 2 of 15)",
                 "the last good checkpoint (after step 15) is kept in", "nan.ckpt.h5"], 3),
            # ... and from scratch: stops at an early step, no hang
            ("non-finite from scratch", base + ["--lr", "1e30", "--out", os.path.join(d, "nan2.h5")], 5,
             ["non-finite", "no checkpoint was written before it"]),
        ])
        for p in digest:
            with open(p, "rb") as f:
                common.check(hashlib.sha256(f.read()).hexdigest() == digest[p], "%s is untouched" % p)
        with h5py.File(os.path.join(d, "nan.h5"), "r") as f:
            common.check(f.attrs["status"] == "failed" and "non-finite" in f.attrs["message"] and
                         f.attrs["end_time"] != "", "the run file says failed, with the message")
            common.check(list(f["metrics/epoch/epoch"][:]) == [1], "the good epoch's metrics are kept")

        # A failure on rank 1 only (MPMD: rank 1 gets a missing config); rank 0 prints it.
        cmd = ["mpirun", "-np", "1", common.TRAIN] + base + [":", "-np", "1", common.TRAIN, "--config",
                                                               os.path.join(d, "nope.json")]
        try:
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=60,
                               env=common.mpi_env({"ADVML_PROGRESS": "line"}))
        except subprocess.TimeoutExpired:
            common.fail("a failure on rank 1 hung the run")
        common.check(p.returncode == 3 and p.stderr.count("advml-train: error: rank 1:") == 1 and
                     "nope.json: cannot open the config file" in p.stderr,
                     "a failure on rank 1 alone stops both ranks; rank 0 prints it once (exit %d)" % p.returncode)
    finally:
        common.cleanup(d)


if __name__ == "__main__":
    main()

"""Reproducible mode (training.reproducible, docs/training.md "Bit for bit").

The course's MNIST CNN with batch normalisation (after the first convolution,
per channel, and after the dense layer, per feature), dropout and augmentation
(shift, flip, noise) all on, for 50 steps - one epoch of batch 80, so the
evaluation at its end is included - on 1, 2, 3 and 4 ranks: every weight,
every optimizer state word, batchnorm's running statistics and every metric in
the run file compared with np.array_equal, not a tolerance. The same for an
LSTM. A run stopped on 2 ranks and resumed on 3 equals the uninterrupted 1-rank
run bit for bit. Two OpenBLAS threads give the same weights as one (the mode
fixes one per rank). Negative control: the comparison catches one flipped bit
in one weight.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
import h5py  # noqa: E402
import numpy as np  # noqa: E402

TIMING = ("epoch_seconds", "images_per_second")


def state(ckpt):
    """Every dataset of a checkpoint (weights, m, v) and its counters."""
    out = {}
    with h5py.File(ckpt, "r") as f:
        f.visititems(lambda n, o: out.__setitem__(n, o[...]) if isinstance(o, h5py.Dataset) else None)
        for k in ("epoch", "step", "cursor", "epoch_loss_sum", "epoch_correct"):
            out["@" + k] = np.array(f.attrs[k])
        out["@t"] = np.array(f["optimizer"].attrs["t"])
    return out


def metrics(run):
    out = {}
    with h5py.File(run, "r") as f:
        for g in ("metrics/epoch", "metrics/step"):
            for k in f[g]:
                if k not in TIMING:
                    out[g + "/" + k] = f[g][k][:]
    return out


def differences(a, b):
    """The names whose arrays are not bitwise equal (NaN equal to NaN)."""
    bad = [k for k in a if k not in b or a[k].dtype != b[k].dtype or a[k].shape != b[k].shape or
           a[k].tobytes() != b[k].tobytes()]
    return bad + [k for k in b if k not in a]


def config(path, base, **training):
    with open(base) as f:
        c = json.load(f)
    c.setdefault("training", {}).update(training)
    with open(path, "w") as f:
        json.dump(c, f)
    return path


def runs(d, name, cfg, data, ns, extra=()):
    out = {}
    for n in ns:
        run = os.path.join(d, "%s_n%d.h5" % (name, n))
        common.run_ok(["--config", cfg, "--data", data, "--out", run] + list(extra), np_=n, timeout=600)
        out[n] = (state(run[:-3] + ".ckpt.h5"), metrics(run), run)
    return out


def with_batchnorm(c):
    """The CNN of config c with batchnorm (relu) after the first conv2d and
    the first dense layer, which then lose their bias and activation."""
    layers = []
    for i, L in enumerate(c["model"]):
        if (i == 0 and L["type"] == "conv2d") or (L["type"] == "dense" and L["units"] > 10):
            L = dict(L, use_bias=False, activation="linear")
            L.pop("bias_initializer", None)
            layers += [L, {"type": "batchnorm", "activation": "relu", "momentum": 0.2}]
        else:
            layers.append(L)
    c["model"] = layers
    return c


def main():
    d = common.tmpdir("bitwise")
    try:
        mnist = common.mnist_subset_h5(ntrain=4000, nval=1000, ntest=2000)
        with open(os.path.join(common.SRC, "jobs", "mnist_cnn.json")) as f:
            c = json.load(f)
        if common.SANITIZED:  # the same layers, smaller: the sanitizer build is 10-50x slower
            c["model"][0]["filters"], c["model"][2]["filters"], c["model"][5]["units"] = 4, 8, 32
        model = os.path.join(d, "bn.json")
        with open(model, "w") as f:
            json.dump(with_batchnorm(c), f)
        cnn = config(os.path.join(d, "cnn.json"), model, reproducible=True, slots=4, epochs=1, batch_size=80,
                     augment={"shift": 2, "horizontal_flip": True, "noise": 0.05})

        # ---- the CNN with batchnorm, dropout and augmentation: 50 steps and the evaluation, N = 1..4
        r = runs(d, "cnn", cnn, mnist, (1, 2, 3, 4))
        ref_s, ref_m, ref_run = r[1]
        common.check(int(ref_s["@step"]) == 50 and len(ref_m["metrics/epoch/val_loss"]) == 1, "50 steps, one epoch")
        stats = sorted(k for k in ref_s if "batchnorm/running_" in k)
        common.check(len(stats) == 4 and all(not np.array_equal(ref_s[k], np.zeros_like(ref_s[k])) and
                                             not np.array_equal(ref_s[k], np.ones_like(ref_s[k])) for k in stats),
                     "two batchnorm layers whose running statistics moved (and are compared): %s" % stats)
        for n in (2, 3, 4):
            s, m, _ = r[n]
            bad = differences(ref_s, s)
            common.check(not bad, "CNN on %d ranks: every weight and optimizer word equals 1 rank's bit for bit%s" %
                         (n, "" if not bad else " (differ: %s)" % bad))
            bad = differences(ref_m, m)
            common.check(not bad, "CNN on %d ranks: step losses and validation/test metrics bitwise equal%s" %
                         (n, "" if not bad else " (differ: %s)" % bad))
        with h5py.File(ref_run, "r") as f:
            common.check(int(f.attrs["reproducible"]) == 1 and json.loads(f.attrs["config_json"])["training"]
                         ["reproducible"] is True, "the run file records the mode")

        # ---- negative control: one flipped bit in one weight is caught
        flipped = {k: v.copy() for k, v in ref_s.items()}
        w = flipped["params/layer06_dense/weight"].view(np.uint32)
        w.flat[w.size // 2] ^= np.uint32(1)
        common.check(differences(ref_s, flipped) == ["params/layer06_dense/weight"],
                     "negative control: a single flipped bit in one weight is detected")

        # ---- resume from a 2-rank checkpoint on 3 ranks = uninterrupted 1-rank run
        part = os.path.join(d, "part.h5")
        common.run_ok(["--config", cnn, "--data", mnist, "--out", part, "--max-steps", "23"], np_=2, timeout=600)
        common.run_ok(["--resume", part[:-3] + ".ckpt.h5"], np_=3, timeout=600)
        bad = differences(ref_s, state(part[:-3] + ".ckpt.h5"))
        common.check(not bad, "stopped at step 23 on 2 ranks, resumed on 3: bitwise the 1-rank run%s" %
                     ("" if not bad else " (differ: %s)" % bad))
        bad = differences(ref_m, metrics(part))
        common.check(not bad, "and the same metrics%s" % ("" if not bad else " (differ: %s)" % bad))

        # ---- OpenBLAS threads: two per rank give the same weights (one is used)
        th = os.path.join(d, "threads.h5")
        common.run_ok(["--config", cnn, "--data", mnist, "--out", th], np_=1, timeout=600,
                      env={"OPENBLAS_NUM_THREADS": "2"})
        bad = differences(ref_s, state(th[:-3] + ".ckpt.h5"))
        with h5py.File(th, "r") as f:
            bt = int(f.attrs["blas_threads"])
        common.check(not bad and bt == 1, "OPENBLAS_NUM_THREADS=2: the mode runs one thread per rank (%d), same "
                     "weights" % bt)

        # ---- an LSTM (sequences), N = 1..4
        sine = common.sine_h5()
        lstm = common.write_config(os.path.join(d, "lstm.json"), """{
  "model": [
    {"type": "lstm", "units": 16},
    {"type": "dropout", "rate": 0.2},
    {"type": "dense", "units": 1}
  ],
  "loss": "mse",
  "optimizer": {"name": "adam", "lr": 1e-2},
  "training": {"epochs": 50, "batch_size": 30, "seed": 3, "reproducible": true, "slots": 4, "max_steps": 50}
}
""")
        r = runs(d, "lstm", lstm, sine, (1, 2, 3, 4))
        for n in (2, 3, 4):
            bad = differences(r[1][0], r[n][0]) + differences(r[1][1], r[n][1])
            common.check(not bad, "LSTM on %d ranks: weights, optimizer state and metrics bitwise equal%s" %
                         (n, "" if not bad else " (differ: %s)" % bad))

        # ---- fewer slots than ranks is refused
        few = config(os.path.join(d, "few.json"), cnn, slots=2)
        rc, out, err = common.run(["--config", few, "--data", mnist], np_=3)
        common.check(rc == 2 and "training.slots is 2" in err and "3 ranks" in err, "slots < ranks refused")
    finally:
        common.cleanup(d)


if __name__ == "__main__":
    main()

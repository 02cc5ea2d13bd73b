"""Training control in advml-train (docs/training.md): learning-rate schedules
(the run file's per-step rate against the formula, resumed runs continuing
it), reduce-on-plateau and early stopping deciding as Keras' rules do on the
recorded validation metrics, the best checkpoint holding the best epoch's
weights, restore_best_weights, validation_split (the same held-out set for
any N), the test split at the end only, class weights, augmentation, all of
them together on 1, 2, 3 and 4 ranks and resumed mid-epoch bit for bit;
--init-from; and every new failure with its message and exit code.
"""
import json
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
import h5py  # noqa: E402
import numpy as np  # noqa: E402

MODEL = """
    {"type": "conv2d", "filters": 8, "kernel": 3, "padding": "same", "activation": "relu"},
    {"type": "maxpool2d", "pool": 2},
    {"type": "flatten"},
    {"type": "dense", "units": 32, "activation": "relu"},
    {"type": "dropout", "rate": 0.2},
    {"type": "dense", "units": 10, "activation": "softmax"}
"""
# batch normalisation after the convolution and after the hidden dense layer (whose
# biases would be useless: batchnorm removes the mean, and their gradients would be
# rounding noise that Adam scales up to full steps)
MODEL_BN = """
    {"type": "conv2d", "filters": 8, "kernel": 3, "padding": "same", "use_bias": false},
    {"type": "batchnorm", "activation": "relu"},
    {"type": "maxpool2d", "pool": 2},
    {"type": "flatten"},
    {"type": "dense", "units": 32, "use_bias": false},
    {"type": "batchnorm", "activation": "relu", "momentum": 0.2},
    {"type": "dropout", "rate": 0.2},
    {"type": "dense", "units": 10, "activation": "softmax"}
"""
TOL_W = 2e-5


def config(d, name, optimizer, training, model=MODEL):
    text = '{"model": [%s], "loss": "categorical_crossentropy", "optimizer": %s, "training": %s}' % (
        model, json.dumps(optimizer), json.dumps(training))
    return common.write_config(os.path.join(d, name + ".json"), text)


def epoch_metrics(path):
    with h5py.File(path, "r") as f:
        return {k: f["metrics/epoch"][k][:] for k in f["metrics/epoch"]}, \
               {k: f["metrics/step"][k][:] for k in f["metrics/step"]}, dict(f.attrs)


def keras_plateau(vals, base, factor, patience, cooldown, min_lr, min_delta):
    """Keras' ReduceLROnPlateau (mode min): the rate after each epoch."""
    best, wait, cd, lr, out = math.inf, 0, 0, base, []
    for v in vals:
        if cd > 0:
            cd -= 1
            wait = 0
        if v < best - min_delta:
            best, wait = v, 0
        elif cd == 0:
            wait += 1
            if wait >= patience and np.float32(lr) > np.float32(min_lr):
                lr = max(lr * factor, min_lr)
                cd, wait = cooldown, 0
        out.append(lr)
    return out


def keras_early_stopping(vals, patience, min_delta, mode="min"):
    """Keras' EarlyStopping: (the epoch it stops after or None, the best epoch)."""
    best = math.inf if mode == "min" else -math.inf
    wait, best_epoch = 0, 0
    for e, v in enumerate(vals, 1):
        wait += 1
        better = v + min_delta < best if mode == "min" else v - min_delta > best
        if better:
            best, best_epoch, wait = v, e, 0
            continue
        if wait >= patience and e > 1:
            return e, best_epoch
    return None, best_epoch


def schedules(d, data):
    """Cosine with warm-up and a step schedule: the rate of every step is the
    formula's at its global step; a run resumed mid-epoch continues it and
    ends with the uninterrupted run's weights, bit for bit."""
    nb, epochs = 12, 4  # 1150 samples trained on (validation_split 0.2 of 1437), batch 100
    cfg = config(d, "cos", {"name": "adam", "lr": 0.004, "schedule": {"name": "cosine", "warmup_steps": 7,
                                                                      "min_lr": 1e-4}},
                 {"epochs": epochs, "batch_size": 100, "seed": 5, "validation_split": 0.2})
    full = os.path.join(d, "cos.h5")
    common.run_ok(["--config", cfg, "--data", data, "--out", full], np_=2)
    e, s, a = epoch_metrics(full)
    total, W = nb * epochs, 7
    D = total - W
    want = [0.004 * (k + 1) / W if k < W else
            1e-4 + (0.004 - 1e-4) * (1 + math.cos(math.pi * min(k - W, D) / D)) / 2 for k in range(total)]
    got = s["learning_rate"]
    common.check(len(got) == total and np.allclose(got, np.float32(want), rtol=2e-7, atol=0),
                 "cosine with warm-up: every step's rate is the formula's (max rel. diff %.2g)" %
                 float(np.max(np.abs(got - want) / np.array(want))))
    common.check(json.loads(a["config_json"])["optimizer"]["schedule"]["decay_steps"] == D,
                 "the decay length (%d steps) is written into the effective config" % D)
    common.check(np.array_equal(e["learning_rate"], got[nb - 1::nb]), "the epoch's rate is its last step's")
    # stop mid-epoch (step 17), resume: the same rates and weights, bit for bit
    part = os.path.join(d, "cos_part.h5")
    common.run_ok(["--config", cfg, "--data", data, "--out", part, "--max-steps", "17"], np_=2)
    common.run_ok(["--resume", os.path.join(d, "cos_part.ckpt.h5")], np_=2)
    _, s2, _ = epoch_metrics(part)
    common.check(np.array_equal(s2["learning_rate"], got), "the resumed run's per-step rates equal the uninterrupted's")
    common.check(common.max_diff(common.params(os.path.join(d, "cos.ckpt.h5")),
                                 common.params(os.path.join(d, "cos_part.ckpt.h5"))) == 0.0,
                 "resumed mid-epoch under a schedule: bit-identical weights")
    # a step schedule in steps, with --epochs raised on resume: the same function of the step
    cfg2 = config(d, "step", {"name": "sgd", "lr": 0.1, "schedule": {"name": "step", "step_size": 5, "gamma": 0.5,
                                                                     "unit": "step"}},
                  {"epochs": 2, "batch_size": 100, "seed": 5, "validation_split": 0.2})
    run2 = os.path.join(d, "step.h5")
    common.run_ok(["--config", cfg2, "--data", data, "--out", run2], np_=1)
    common.run_ok(["--resume", os.path.join(d, "step.ckpt.h5"), "--epochs", "3"], np_=3)
    _, s3, _ = epoch_metrics(run2)
    common.check(np.allclose(s3["learning_rate"], [0.1 * 0.5 ** (k // 5) for k in range(36)], rtol=1e-7, atol=0),
                 "step schedule: 0.1 * 0.5^floor(step / 5) over 36 steps, across a resume with more epochs")


def plateau_early_stopping_best(d, data):
    """Reduce-on-plateau, early stopping and the best checkpoint on a real run:
    each decision is the one Keras' rule makes on the recorded val_loss; the
    best checkpoint holds the weights of its epoch (compared with a run that
    stops there); restore_best_weights leaves those in the last checkpoint."""
    opt = {"name": "adam", "lr": 0.01, "schedule": {"name": "plateau", "monitor": "val_loss", "factor": 0.5,
                                                   "patience": 1, "min_delta": 0.002, "min_lr": 1e-3}}
    tr = {"epochs": 40, "batch_size": 100, "seed": 9, "validation_split": 0.2,
          "early_stopping": {"monitor": "val_loss", "patience": 3, "min_delta": 0.002, "restore_best_weights": True},
          "best_checkpoint": {"monitor": "val_accuracy"}}
    cfg = config(d, "pl", opt, tr)
    run = os.path.join(d, "pl.h5")
    out = common.run_ok(["--config", cfg, "--data", data, "--out", run], np_=2)
    e, s, a = epoch_metrics(run)
    n = len(e["epoch"])
    want_lr = keras_plateau(list(e["val_loss"]), 0.01, 0.5, 1, 0, 1e-3, 0.002)
    got_lr = list(e["learning_rate"][1:]) + [None]  # epoch i+1 runs at the rate decided after epoch i
    common.check(all(abs(g - np.float32(w)) <= 1e-9 for g, w in zip(got_lr[:-1], want_lr[:-1])),
                 "reduce-on-plateau: the rates after each epoch are Keras' on the recorded val_loss: %s" %
                 [round(x, 6) for x in want_lr])
    common.check(len(set(want_lr)) > 1, "the plateau schedule reduced the rate at least once")
    stop, best = keras_early_stopping(list(e["val_loss"]), 3, 0.002)
    common.check(stop is not None and n == stop and a["stopped_early_epoch"] == stop,
                 "early stopping stopped after epoch %d, as Keras' rule on the recorded val_loss says" % n)
    common.check(a["restored_epoch"] == best and "early stopping:" in out and "restored the best weights" in out,
                 "it restored the weights of epoch %d (the best val_loss) and said so" % best)
    acc = e["val_accuracy"]
    best_acc = int(np.argmax(acc)) + 1  # the first maximum: a later equal value is no improvement
    common.check(a["best_epoch"] == best_acc and a["best_monitor"] == "val_accuracy" and
                 a["best_value"] == acc[best_acc - 1] and a["best_checkpoint"] == "pl.best.h5",
                 "best checkpoint: epoch %d, the highest val_accuracy %.4f" % (best_acc, acc[best_acc - 1]))
    with h5py.File(os.path.join(d, "pl.best.h5"), "r") as f:
        common.check(f.attrs["epoch"] == best_acc and f.attrs["cursor"] == 0, "RUN.best.h5 is the checkpoint "
                     "after epoch %d" % best_acc)
    # the same run stopped at those epochs: the weights there
    for ep, what, path in ((best_acc, "RUN.best.h5", "pl.best.h5"), (best, "the restored last checkpoint",
                                                                       "pl.ckpt.h5")):
        ref = os.path.join(d, "pl_e%d.h5" % ep)
        if not os.path.exists(ref):
            common.run_ok(["--config", cfg, "--data", data, "--out", ref, "--epochs", str(ep)], np_=2)
        common.check(common.max_diff(common.params(os.path.join(d, path)),
                                     common.params(ref[:-3] + ".ckpt.h5")) == 0.0,
                     "%s holds exactly the weights after epoch %d" % (what, ep))
    with h5py.File(os.path.join(d, "pl.ckpt.h5"), "r") as f:
        common.check("best_params" in f and f.attrs["stopped_early_epoch"] == n, "the checkpoint keeps the best "
                     "weights (/best_params) and the stop")
    ev = h5py.File(run, "r")
    common.check(ev["evaluation/validation"].attrs["loss"] == e["val_loss"][best - 1],
                 "the final evaluation is of the restored weights (val_loss of epoch %d)" % best)
    ev.close()
    rc, _, err = common.run(["--resume", os.path.join(d, "pl.ckpt.h5")], np_=2)
    common.check(rc == 2 and "early stopping ended this run after epoch %d" % n in err and "--init-from" in err,
                 "resuming an early-stopped run: exit 2, says it is complete")


def test_at_end(d, data):
    """test_every_epoch false: no per-epoch test columns, the test split
    evaluated once at the end; validation_split holds out the same rows
    for any number of ranks."""
    cfg = config(d, "te", {"name": "adam", "lr": 2e-3},
                 {"epochs": 2, "batch_size": 64, "seed": 4, "validation_split": 0.25, "test_every_epoch": False})
    runs = {}
    for n in (1, 3):
        run = os.path.join(d, "te%d.h5" % n)
        out = common.run_ok(["--config", cfg, "--data", data, "--out", run], np_=n)
        runs[n] = epoch_metrics(run)
        common.check("validation_split 0.25 of the file's 1437" in out and "test accuracy:" in out,
                     "N=%d: the split is announced, the final test accuracy printed" % n)
        with h5py.File(run, "r") as f:
            ev = f["evaluation"]
            common.check(ev["test"].attrs["samples"] == 360 and ev["validation"].attrs["samples"] == 359,
                         "N=%d: /evaluation has the 360 test and 359 held-out samples" % n)
    e1, e3 = runs[1][0], runs[3][0]
    common.check(np.isnan(e1["test_loss"]).all() and np.isnan(e1["test_accuracy"]).all(),
                 "no test columns per epoch")
    common.check(np.array_equal(e1["val_accuracy"], e3["val_accuracy"]) and
                 np.allclose(e1["val_loss"], e3["val_loss"], rtol=1e-6, atol=0),
                 "the held-out validation set is the same on 1 and 3 ranks (accuracies equal, losses %.2g apart)" %
                 float(np.max(np.abs(e1["val_loss"] - e3["val_loss"]))))


ALL_ON = {"epochs": 4, "batch_size": 96, "seed": 21, "validation_split": 0.2, "top_k": 3,
          "early_stopping": {"monitor": "val_loss", "patience": 5, "restore_best_weights": True},
          "best_checkpoint": {"monitor": "val_loss"},
          "class_weight": {"3": 2.0, "8": 0.5},
          "augment": {"shift": 1, "horizontal_flip": True, "noise": 0.05}}
ALL_OPT = {"name": "adam", "lr": 0.004, "schedule": {"name": "plateau", "patience": 1, "factor": 0.5,
                                                    "min_delta": 0.8}}


def all_together(d, data):
    """Batch normalisation, the plateau schedule, early stopping, the best
    checkpoint, class weights, augmentation and a held-out validation set
    together: 1, 2, 3 and 4 ranks follow the same trajectory (batchnorm's
    statistics are the global batch's), and a run stopped mid-epoch and
    resumed equals the uninterrupted one bit for bit; advml-predict uses the
    running statistics as the final evaluation does."""
    cfg = config(d, "all", ALL_OPT, ALL_ON, model=MODEL_BN)
    ref = None
    for n in (1, 2, 3, 4):
        run = os.path.join(d, "all%d.h5" % n)
        common.run_ok(["--config", cfg, "--data", data, "--out", run], np_=n)
        w = common.params(run[:-3] + ".ckpt.h5")
        e, s, a = epoch_metrics(run)
        common.check(np.abs(w["layer01_batchnorm/running_mean"]).max() > 0 and
                     not np.allclose(w["layer05_batchnorm/running_var"], 1),
                     "N=%d: the running statistics moved and are in the checkpoint" % n)
        if ref is None:
            ref = (w, e, s)
            common.check(len(set(e["learning_rate"])) > 1 or len(set(s["learning_rate"])) > 1,
                         "the plateau schedule acts in this run (rates %s)" % sorted(set(s["learning_rate"])))
            continue
        diff = common.max_diff(ref[0], w)
        common.check(diff <= TOL_W, "N=%d vs N=1: max |dw| = %.3g with every control on" % (n, diff))
        common.check(np.array_equal(ref[2]["learning_rate"], s["learning_rate"]),
                     "N=%d: the same learning rate at every step (the same plateau decisions)" % n)
        common.check(np.allclose(ref[1]["val_loss"], e["val_loss"], rtol=1e-5, atol=0) and
                     np.allclose(ref[1]["train_loss"], e["train_loss"], rtol=1e-5, atol=0),
                     "N=%d: the same train and validation losses" % n)
    # a rank without samples (batch 3 on 4 ranks) still joins batchnorm's reduces
    small = {}
    for n in (1, 4):
        run = os.path.join(d, "small%d.h5" % n)
        common.run_ok(["--config", cfg, "--data", data, "--out", run, "--batch-size", "3", "--max-steps", "5"], np_=n)
        small[n] = common.params(run[:-3] + ".ckpt.h5")
    diff = common.max_diff(small[1], small[4])
    common.check(diff <= TOL_W, "batch 3 on 4 ranks (one with no samples) vs 1 rank: max |dw| = %.3g" % diff)
    # resume mid-epoch (step 13 of 48) on the same N: bit for bit, the best file included
    part = os.path.join(d, "allp.h5")
    common.run_ok(["--config", cfg, "--data", data, "--out", part, "--max-steps", "13"], np_=2)
    common.run_ok(["--resume", part[:-3] + ".ckpt.h5"], np_=2)
    full = os.path.join(d, "all2.h5")
    common.check(common.max_diff(common.params(full[:-3] + ".ckpt.h5"), common.params(part[:-3] + ".ckpt.h5")) == 0,
                 "resumed mid-epoch with every control on: bit-identical weights")
    common.check(common.max_diff(common.params(full[:-3] + ".best.h5"), common.params(part[:-3] + ".best.h5")) == 0,
                 "and the same best checkpoint")
    ea, sa, aa = epoch_metrics(full)
    eb, sb, ab = epoch_metrics(part)
    for k in ("val_loss", "val_accuracy", "train_loss", "learning_rate", "val_top_k_accuracy"):
        common.check(np.array_equal(ea[k], eb[k]), "resumed: %s equal" % k)
    common.check(np.array_equal(sa["learning_rate"], sb["learning_rate"]) and np.array_equal(sa["loss"], sb["loss"]),
                 "resumed: per-step losses and rates equal")
    with h5py.File(full[:-3] + ".ckpt.h5", "r") as f, h5py.File(part[:-3] + ".ckpt.h5", "r") as g:
        for k in ("plateau_scale", "plateau_best", "plateau_wait", "early_stopping_best", "early_stopping_wait",
                  "best_checkpoint_value", "best_checkpoint_epoch", "lr"):
            common.check(f.attrs[k] == g.attrs[k], "resumed: checkpoint %s equal (%r)" % (k, f.attrs[k]))
    # advml-predict on the test split: the running statistics, as the final evaluation
    pred = os.path.join(d, "pred.h5")
    import subprocess
    p = subprocess.run(["mpirun", "-np", "2", os.path.join(common.BIN, "advml-predict"), "--checkpoint",
                        full[:-3] + ".ckpt.h5", "--data", data, "--out", pred], capture_output=True, text=True,
                       timeout=120, env=common.mpi_env())
    common.check(p.returncode == 0, "advml-predict reads a checkpoint with batchnorm" + ("" if p.returncode == 0
                                                                                        else ": " + p.stderr))
    with h5py.File(pred, "r") as f, h5py.File(full, "r") as g:
        pa, ga = float(f["metrics"].attrs["accuracy"]), float(g["evaluation/test"].attrs["accuracy"])
        common.check(pa == ga, "advml-predict's test accuracy %.4f is the final evaluation's %.4f" % (pa, ga))
    # reproducible mode with every control on: 1 and 3 ranks bit for bit (weights, running statistics,
    # optimizer state, the best checkpoint, every metric and decision)
    cfgr = config(d, "allr", ALL_OPT, dict(ALL_ON, reproducible=True, slots=3), model=MODEL_BN)
    rep = {}
    for n in (1, 3):
        run = os.path.join(d, "allr%d.h5" % n)
        common.run_ok(["--config", cfgr, "--data", data, "--out", run], np_=n)
        files = {}
        for suffix in (".ckpt.h5", ".best.h5"):
            with h5py.File(run[:-3] + suffix, "r") as f:
                f.visititems(lambda k, o: files.__setitem__(suffix + k, o[...]) if isinstance(o, h5py.Dataset)
                             else None)
        e, s, _ = epoch_metrics(run)
        files.update({"epoch/" + k: v for k, v in e.items() if k not in ("epoch_seconds", "images_per_second")})
        files.update({"step/" + k: v for k, v in s.items()})
        rep[n] = files
    bad = sorted(k for k in rep[1] if k not in rep[3] or rep[1][k].tobytes() != rep[3][k].tobytes())
    common.check(not bad and len(rep[1]) == len(rep[3]),
                 "reproducible mode with batchnorm and every control on: 3 ranks equal 1 rank bit for bit%s" %
                 ("" if not bad else " (differ: %s)" % bad))
    # class weights of 1 are no weights at all, bit for bit; others change the trajectory
    ones = dict(ALL_ON, class_weight=[1.0] * 10, augment={}, early_stopping={"monitor": "val_loss", "patience": 9})
    none = dict(ones)
    del none["class_weight"]
    outs = []
    for name, tr in (("w1", ones), ("w0", none), ("w2", dict(ones, class_weight={"3": 3.0}))):
        run = os.path.join(d, name + ".h5")
        common.run_ok(["--config", config(d, name, ALL_OPT, tr), "--data", data, "--out", run], np_=2)
        outs.append(common.params(run[:-3] + ".ckpt.h5"))
    common.check(common.max_diff(outs[0], outs[1]) == 0, "class weights all 1: the unweighted run, bit for bit")
    common.check(common.max_diff(outs[0], outs[2]) > 1e-4, "a class weight of 3 changes the trajectory")


def init_from(d, data):
    """--init-from: the layers that match take the checkpoint's weights (a
    fresh optimizer); a mismatch names the layer and both shapes;
    training.init_layers picks the layers."""
    src_cfg = config(d, "src", {"name": "adam", "lr": 2e-3}, {"epochs": 1, "batch_size": 100, "seed": 1})
    src = os.path.join(d, "src.h5")
    common.run_ok(["--config", src_cfg, "--data", data, "--out", src], np_=2)
    ck = src[:-3] + ".ckpt.h5"
    w0 = common.params(ck)
    # the same model, a rate too small to move a float32: after one step it holds the source's weights
    tiny = {"name": "sgd", "lr": 1e-30}
    cfg = config(d, "same", tiny, {"epochs": 1, "batch_size": 100, "seed": 2})
    run = os.path.join(d, "same.h5")
    out = common.run_ok(["--config", cfg, "--data", data, "--out", run, "--init-from", ck, "--max-steps", "1"],
                        np_=2)
    common.check("init from  %s: layers 0 3 5" % ck in out, "the settings list the layers taken")
    common.check(common.max_diff(w0, common.params(run[:-3] + ".ckpt.h5")) == 0, "every layer took the weights")
    with h5py.File(run[:-3] + ".ckpt.h5", "r") as f:
        common.check(f["optimizer"].attrs["t"] == 1 and f.attrs["step"] == 1, "a fresh optimizer and counters")
    # a wider hidden layer: layer 3 (and so 5) mismatch
    wide = MODEL.replace('"units": 32', '"units": 48')
    cfgw = config(d, "wide", tiny, {"epochs": 1, "batch_size": 100, "seed": 2}, model=wide)
    rc, _, err = common.run(["--config", cfgw, "--data", data, "--init-from", ck], np_=2)
    common.check(rc == 4 and "layer 3 (dense): weight is (48, 128) in the model but (32, 128) in the checkpoint" in err
                 and err.count("error:") == 1, "a mismatch: exit 4, names the layer and both shapes")
    cfgw = config(d, "wide0", tiny, {"epochs": 1, "batch_size": 100, "seed": 2, "init_from": ck,
                                     "init_layers": [0]}, model=wide)
    run = os.path.join(d, "wide0.h5")
    out = common.run_ok(["--config", cfgw, "--data", data, "--out", run, "--max-steps", "1"], np_=2)
    w = common.params(run[:-3] + ".ckpt.h5")
    common.check(np.array_equal(w["layer00_conv2d/kernel"], w0["layer00_conv2d/kernel"]) and
                 not np.array_equal(w["layer05_dense/bias"], w0["layer05_dense/bias"]) and
                 "(2 other layers with weights start fresh)" in out,
                 "training.init_layers [0]: the convolution taken, the dense layers fresh")
    # fine-tuning: take every layer, freeze the convolution ("trainable": false), train an epoch
    frozen = MODEL.replace('"activation": "relu"},', '"activation": "relu", "trainable": false},', 1)
    cfgf = config(d, "frozen", {"name": "adam", "lr": 5e-3}, {"epochs": 1, "batch_size": 100, "seed": 2,
                                                              "init_from": ck}, model=frozen)
    run = os.path.join(d, "frozen.h5")
    out = common.run_ok(["--config", cfgf, "--data", data, "--out", run], np_=2)
    w = common.params(run[:-3] + ".ckpt.h5")
    common.check(np.array_equal(w["layer00_conv2d/kernel"], w0["layer00_conv2d/kernel"]) and
                 np.array_equal(w["layer00_conv2d/bias"], w0["layer00_conv2d/bias"]),
                 "\"trainable\": false: the convolution keeps the checkpoint's weights through an epoch")
    common.check(not np.array_equal(w["layer03_dense/weight"], w0["layer03_dense/weight"]),
                 "the other layers train")
    common.check("Trainable params: 4,458" in out and "Non-trainable params: 80" in out,
                 "the summary counts the 80 frozen parameters as non-trainable")
    cfgw = config(d, "wide3", tiny, {"epochs": 1, "batch_size": 100, "seed": 2, "init_from": ck,
                                     "init_layers": [4]}, model=wide)
    rc, _, err = common.run(["--config", cfgw, "--data", data], np_=1)
    common.check(rc == 2 and "training.init_layers: layer 4 (dropout) has no weights" in err,
                 "init_layers naming a layer without weights: exit 2")
    rc, _, err = common.run(["--config", cfg, "--data", data, "--init-from", os.path.join(d, "nope.ckpt.h5")], np_=2)
    common.check(rc == 3 and "nope.ckpt.h5" in err, "a missing --init-from file: exit 3")


def failures(d, digits, mnist, sine):
    cases = [
        ("monitor without validation data",
         config(d, "f1", {"name": "adam"}, {"early_stopping": {"monitor": "val_accuracy"}}), digits, 2,
         "training.early_stopping.monitor: val_accuracy needs validation data, but %s has no validation split; "
         "add \"validation_split\": 0.1" % digits),
        ("validation_split over a file's validation split",
         config(d, "f2", {"name": "adam"}, {"validation_split": 0.1}), mnist, 2,
         "training.validation_split: %s has a validation split of its own (1000 samples)" % mnist),
        ("validation_split leaving nothing", config(d, "f3", {"name": "adam"}, {"validation_split": 0.0001}),
         digits, 2, "training.validation_split: 0.0001 of the 1437 train samples"),
        ("class_weight for 12 classes", config(d, "f4", {"name": "adam"}, {"class_weight": [1] * 12}), digits, 2,
         "training.class_weight: 12 weights, but the model has 10 classes"),
        ("class_weight naming class 10", config(d, "f5", {"name": "adam"}, {"class_weight": {"10": 2}}), digits, 2,
         "training.class_weight: names class 10, but the model has 10 classes (ids 0 to 9)"),
        ("a shift larger than the image", config(d, "f6", {"name": "adam"}, {"augment": {"shift": 8}}), digits, 2,
         "training.augment.shift: [8, 8] would move a 8 x 8 image out of view"),
    ]
    rnn = common.write_config(os.path.join(d, "f7.json"), """{"model": [{"type": "rnn", "units": 4},
        {"type": "dense", "units": 1}], "loss": "mse", "training": {"augment": {"horizontal_flip": true}}}""")
    cases.append(("a flip of sequences", rnn, sine, 2, "training.augment.horizontal_flip: shifts and flips are for "
                                                        "images [C, H, W]"))
    for what, cfg, data, code, msg in cases:
        rc, out, err = common.run(["--config", cfg, "--data", data], np_=2)
        common.check(rc == code and msg in err and err.count("advml-train: error:") == 1,
                     "%s: exit %d and %r" % (what, code, msg) + ("" if msg in err else " -- got: " + err))
    rc, _, err = common.run(["--resume", "x.ckpt.h5", "--init-from", "y.ckpt.h5"], np_=1)
    common.check(rc == 2 and "--init-from starts a new run" in err, "--init-from with --resume: exit 2")


def bias_note(d, data):
    """A bias right before batchnorm gets a note in the settings (naming both
    layers); MODEL_BN (no such bias) and a bias with an activation get none."""
    biased = MODEL_BN.replace('"padding": "same", "use_bias": false', '"padding": "same"', 1)
    out = common.run_ok(["--config", config(d, "bn_bias", {"name": "adam"}, {"batch_size": 32}, biased),
                         "--data", data, "--max-steps", "1"], np_=1)
    want = 'note       layer 0 (conv2d) has a bias right before batchnorm (layer 1), which removes it: ' \
           'give layer 0 "use_bias": false'
    common.check(want in out and out.count("note       layer") == 1, "bias before batchnorm: one note -- got:\n" + out)
    relu = MODEL_BN.replace('"padding": "same", "use_bias": false', '"padding": "same", "activation": "relu"', 1)
    for name, model in (("bn_nobias", MODEL_BN), ("bn_relu", relu)):
        out = common.run_ok(["--config", config(d, name, {"name": "adam"}, {"batch_size": 32}, model),
                             "--data", data, "--max-steps", "1"], np_=1)
        common.check("note       layer" not in out, "%s: no note" % name)


def main():
    digits = common.digits_h5()
    d = common.tmpdir("control")
    try:
        schedules(d, digits)
        plateau_early_stopping_best(d, digits)
        test_at_end(d, digits)
        all_together(d, digits)
        init_from(d, digits)
        bias_note(d, digits)
        failures(d, digits, common.mnist_subset_h5(), common.sine_h5())
    finally:
        common.cleanup(d)
    print("trainer control: all checks passed")


if __name__ == "__main__":
    main()

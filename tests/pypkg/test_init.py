#!/usr/bin/env python3
"""Initial weights (label python, test pypkg_init).

advml-train --max-steps 0 writes a new run's initial weights (the checkpoint at
step 0, checksums valid) and trains nothing; resuming from it for K steps gives
bit for bit the weights of K steps from scratch; it is refused with --resume
and without --out. Every config in jobs/ whose description says it is a
PyTorch model starts as PyTorch does: each parameter view's initial values,
over a few seeds, against PyTorch's own initialisation of the same model
(advml.pytorch.to_torch, i.e. nn.Conv2d, nn.Linear, nn.RNN, nn.BatchNorm
defaults; rnn/lstm biases as PyTorch's bias_ih + bias_hh): the same bound,
standard deviation within 10% (more for views of few values: four standard
errors) and a two-sample Kolmogorov-Smirnov distance below its 0.1% critical
value; constant starts (batchnorm) equal. Negative control: sine_rnn.json without its "torch"
initialisers (advml's Keras-style defaults) fails that comparison. The
recurrent initialiser keys are checked for bad values."""

import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

import h5py
import numpy as np

SRC = os.environ.get("ADVML_SRC") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.environ.get("ADVML_BIN") or os.path.join(SRC, "build")
sys.path.insert(0, os.path.join(SRC, "python"))

import torch  # noqa: E402

import advml  # noqa: E402
from advml.pytorch import state_dict_to_params, to_torch  # noqa: E402

WORK = tempfile.mkdtemp(prefix="advml-pypkg-init-")
SEEDS = (1, 2, 3)


def train(*args, check=0):
    p = subprocess.run([os.path.join(BIN, "advml-train"), *map(str, args)], capture_output=True, text=True,
                       timeout=300, env=dict(os.environ, ADVML_PROGRESS="none"))
    if check is not None and p.returncode != check:
        raise AssertionError(f"advml-train {' '.join(map(str, args))}: exit {p.returncode}, expected {check}\n"
                             f"{p.stdout}\n{p.stderr}")
    return p


def make_data(path, input_shape, classes=None, n=64):
    rng = np.random.default_rng(0)
    with h5py.File(path, "w") as f:
        x = f.create_dataset("train/inputs", data=rng.standard_normal((n, *input_shape)).astype("f4"))
        x.attrs.update(scale=1.0, mean=0.0, std=1.0)
        if classes:
            y = f.create_dataset("train/targets", data=rng.integers(0, classes, n).astype("i4"))
            y.attrs.update(kind="class", num_classes=classes)
        else:
            f.create_dataset("train/targets", data=rng.standard_normal((n, 1)).astype("f4")).attrs["kind"] = "value"
    return path


def data_for(cfg, name):
    m = advml.Model(cfg)
    return make_data(os.path.join(WORK, name + "-data.h5"), m.input_shape,
                     classes=10 if cfg["loss"] == "categorical_crossentropy" else None)


def advml_init(cfg, name, seed):
    """The initial weights advml-train --max-steps 0 writes, as a dict."""
    path = os.path.join(WORK, f"{name}-{seed}.json")
    with open(path, "w") as fh:
        json.dump(cfg, fh)
    run = os.path.join(WORK, f"{name}-{seed}.h5")
    train("--config", path, "--data", data_for(cfg, name), "--max-steps", 0, "--seed", seed, "--out", run, "--force")
    return advml.Checkpoint(run[:-3] + ".ckpt.h5").params


def ks_distance(a, b):
    a, b = np.sort(a), np.sort(b)
    x = np.concatenate([a, b])
    return float(np.max(np.abs(np.searchsorted(a, x, side="right") / a.size - np.searchsorted(b, x, side="right") / b.size)))


def compare(cfg, name):
    """[problems] of advml's initial weights of cfg against PyTorch's."""
    ours, theirs = {}, {}
    for s in SEEDS:
        for k, v in advml_init(cfg, name, s).items():
            ours.setdefault(k, []).append(v.reshape(-1))
        torch.manual_seed(s)
        for k, v in state_dict_to_params(to_torch(cfg), cfg).items():
            theirs.setdefault(k, []).append(v.reshape(-1))
    problems = []
    for k in ours:
        a, b = np.concatenate(ours[k]).astype(float), np.concatenate(theirs[k]).astype(float)
        if a.size < 20:
            continue
        if b.std() == 0:  # a constant start (batchnorm's gamma 1, beta 0, running statistics 0 and 1)
            if not np.all(a == b[0]):
                problems.append(f"{k}: PyTorch starts it at {b[0]:g}, advml from {a.min():g} to {a.max():g}")
            continue
        bound = np.abs(b).max()
        crit = 1.95 * np.sqrt((a.size + b.size) / (a.size * b.size))  # KS, alpha 0.001
        d = ks_distance(a, b)
        ratio = a.std() / b.std()
        if np.abs(a).max() > bound * 1.1 + 1e-7:  # (the sample maximum of a sum of two uniforms varies)
            problems.append(f"{k}: max |w| {np.abs(a).max():.4g} > PyTorch's bound {bound:.4g}")
        tol = max(0.1, 2.0 / np.sqrt(min(a.size, b.size)))  # four standard errors of the ratio of two sample stds
        if not 1 - tol < ratio < 1 + tol:
            problems.append(f"{k}: std {a.std():.4g} against PyTorch's {b.std():.4g}")
        if d > crit:
            problems.append(f"{k}: KS distance {d:.3f} > {crit:.3f} ({a.size} values)")
    return problems


class MaxStepsZero(unittest.TestCase):
    def test_initial_checkpoint_and_resume(self):
        job = os.path.join(SRC, "jobs", "digits_cnn.json")
        with open(job) as fh:
            data = data_for(json.load(fh), "digits")
        a, b = os.path.join(WORK, "a.h5"), os.path.join(WORK, "b.h5")
        p = train("--config", job, "--data", data, "--max-steps", 0, "--out", a)
        self.assertIn("--max-steps 0: wrote the initial weights (step 0)", p.stdout)
        ck = a[:-3] + ".ckpt.h5"
        self.assertEqual(advml.verify_checkpoint(ck), [])
        c = advml.Checkpoint(ck)
        self.assertEqual((c.epoch, c.step, c.cursor, int(c.optimizer["t"])), (0, 0, 0, 0))
        with h5py.File(a, "r") as f:
            self.assertEqual(f.attrs["status"], "completed")
            self.assertEqual(len(f["metrics/step/loss"]), 0)
        train("--resume", ck, "--max-steps", 3)
        train("--config", job, "--data", data, "--max-steps", 3, "--out", b)
        x, y = advml.Checkpoint(ck), advml.Checkpoint(b[:-3] + ".ckpt.h5")
        self.assertEqual((x.step, y.step), (3, 3))
        for k in x.params:
            np.testing.assert_array_equal(x.params[k], y.params[k], err_msg=k)

    def test_refused(self):
        job = os.path.join(SRC, "jobs", "digits_cnn.json")
        with open(job) as fh:
            data = data_for(json.load(fh), "digits")
        p = train("--config", job, "--data", data, "--max-steps", 0, check=2)
        self.assertIn("--max-steps 0 writes the initial weights to the checkpoint of --out", p.stderr)
        run = os.path.join(WORK, "r.h5")
        train("--config", job, "--data", data, "--max-steps", 2, "--out", run)
        p = train("--resume", run[:-3] + ".ckpt.h5", "--max-steps", 0, check=2)
        self.assertIn("a resumed run has its weights already", p.stderr)
        p = train("--config", job, "--data", data, "--max-steps", -1, "--out", run, check=2)
        self.assertIn("--max-steps", p.stderr)


class StartsAsPyTorch(unittest.TestCase):
    def test_pytorch_jobs(self):
        jobs = []
        for job in sorted(glob.glob(os.path.join(SRC, "jobs", "*.json"))):
            with open(job) as fh:
                cfg = json.load(fh)
            if "PyTorch" in cfg.get("description", ""):
                jobs.append((os.path.basename(job), cfg))
        self.assertGreaterEqual(len(jobs), 2, [j for j, _ in jobs])  # mnist_cnn, sine_rnn
        for name, cfg in jobs:
            with self.subTest(job=name):
                problems = compare(cfg, name[:-5])
                self.assertEqual(problems, [], f"{name} does not start as PyTorch does")

    def test_negative_control(self):
        with open(os.path.join(SRC, "jobs", "sine_rnn.json")) as fh:
            cfg = json.load(fh)
        for layer in cfg["model"]:
            for k in ("kernel_initializer", "recurrent_initializer", "bias_initializer"):
                layer.pop(k, None)
        problems = compare(cfg, "keras_style")
        self.assertTrue(any("layer00_rnn/W" in p for p in problems), problems)

    def test_lstm_and_gru_torch(self):
        for kind in ("lstm", "gru"):
            cfg = {"input": [6, 3], "loss": "mse", "optimizer": "adam",
                   "model": [{"type": kind, "units": 16, "kernel_initializer": "torch",
                              "recurrent_initializer": "torch", "bias_initializer": "torch"},
                             {"type": "dense", "units": 1, "kernel_initializer": "torch",
                              "bias_initializer": "torch"}]}
            with self.subTest(kind=kind):
                self.assertEqual(compare(cfg, kind), [])


class Keys(unittest.TestCase):
    def test_bad_values(self):
        base = {"input": [5, 2], "loss": "mse", "model": [{"type": "gru", "units": 4}, {"type": "dense", "units": 1}]}
        data = make_data(os.path.join(WORK, "k.h5"), (5, 2))
        for key, val, want in (("recurrent_initializer", "bogus", "model[0].recurrent_initializer: expected one of"),
                               ("bias_initializer", "he_normal", "model[0].bias_initializer: expected"),
                               ("recurrent_init", "torch", "did you mean \"recurrent_initializer\"")):
            cfg = json.loads(json.dumps(base))
            cfg["model"][0][key] = val
            path = os.path.join(WORK, "k.json")
            with open(path, "w") as fh:
                json.dump(cfg, fh)
            with self.subTest(key=key):
                p = train("--config", path, "--data", data, "--max-steps", 0, "--out", os.path.join(WORK, "k-run.h5"),
                          "--force", check=2)
                self.assertIn(want, p.stderr)


if __name__ == "__main__":
    try:
        unittest.main(verbosity=2)
    finally:
        shutil.rmtree(WORK, ignore_errors=True)

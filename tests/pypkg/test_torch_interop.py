#!/usr/bin/env python3
"""advml.pytorch round trips (label python, test pypkg_torch_interop).

For every example config in jobs/: advml-train writes a checkpoint (2 steps on
a small synthetic dataset of the config's shapes); to_torch builds the model
with its weights, and its outputs equal advml-predict's to float rounding;
save_checkpoint writes the module back (format_version 2, checksums valid),
the weights come back bit for bit and advml-predict gives identical outputs;
after a training step in PyTorch (which makes every bias nonzero, also
PyTorch's second recurrent bias) the written checkpoint predicts what torch
does, and advml-train --resume continues from it.

The recurrent cells with PyTorch's two-bias convention, by hand-made torch
modules: nn.RNN (tanh, relu), nn.LSTM with num_layers=2 (two advml layers),
nn.GRU, all with random nonzero bias_ih and bias_hh; the course's own
PyTorch MNIST CNN (conv1, conv2, fc1, fc2) onto jobs/mnist_cnn.json; mapping
errors; ONNX export checked with onnx.checker.

Needs ADVML_BIN and ADVML_SRC (ctest sets them) and torch (python3-torch)."""

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
from torch import nn  # noqa: E402

import advml  # noqa: E402
from advml.pytorch import export_onnx, save_checkpoint, state_dict_to_params, to_torch  # noqa: E402

torch.set_num_threads(1)
JOBS = sorted(glob.glob(os.path.join(SRC, "jobs", "*.json")))
WORK = tempfile.mkdtemp(prefix="advml-pypkg-interop-")


def tool(name, *args, check=True):
    p = subprocess.run([os.path.join(BIN, name), *map(str, args)], capture_output=True, text=True, timeout=300)
    if check and p.returncode != 0:
        raise AssertionError(f"{name} {' '.join(map(str, args))}: exit {p.returncode}\n{p.stdout}\n{p.stderr}")
    return p


def make_data(path, input_shape, classes=None, outputs=1, n_train=48, n_test=24, seed=0):
    """A small dataset in advml's layout: standard-normal inputs of the given
    per-sample shape; class ids (classes) or values (outputs)."""
    rng = np.random.default_rng(seed)
    layout = {3: "NCHW", 2: "NTF", 1: "ND"}[len(input_shape)]
    with h5py.File(path, "w") as f:
        f.attrs["format"] = "advml-dataset"
        for split, n in (("train", n_train), ("test", n_test)):
            x = f.create_dataset(f"{split}/inputs", data=rng.standard_normal((n, *input_shape)).astype("f4"))
            x.attrs.update(scale=1.0, mean=0.0, std=1.0, layout=layout)
            if classes:
                y = f.create_dataset(f"{split}/targets", data=rng.integers(0, classes, n).astype("i4"))
                y.attrs.update(kind="class", num_classes=classes)
            else:
                y = f.create_dataset(f"{split}/targets", data=rng.standard_normal((n, outputs)).astype("f4"))
                y.attrs["kind"] = "value"
    return path


def predict(ckpt, data, out):
    tool("advml-predict", "--checkpoint", ckpt, "--data", data, "--out", out, "--force")
    p = advml.Predictions(out)
    return np.asarray(p.probabilities if p.probabilities is not None else p.values, dtype=np.float64)


def torch_out(net, x):
    with torch.no_grad():
        return net.eval()(torch.from_numpy(np.ascontiguousarray(x))).double().numpy()


class Base(unittest.TestCase):
    def assertClose(self, a, b, what, rtol=1e-4, atol=2e-6):
        a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
        self.assertEqual(a.shape, b.shape, what)
        err = np.abs(a - b).max()
        tol = atol + rtol * np.abs(b).max()
        self.assertLessEqual(err, tol, f"{what}: max |difference| {err:.3g} > {tol:.3g}")


class JobsRoundTrip(Base):
    """advml -> torch -> advml for every config in jobs/."""

    def test_every_job(self):
        self.assertGreaterEqual(len(JOBS), 7, JOBS)
        for job in JOBS:
            with self.subTest(job=os.path.basename(job)):
                self.round_trip(job)

    def round_trip(self, job):
        name = os.path.splitext(os.path.basename(job))[0]
        d = os.path.join(WORK, name)
        os.makedirs(d, exist_ok=True)
        with open(job) as fh:
            cfg = json.load(fh)
        model = advml.Model(cfg)
        cls = 10 if cfg["loss"] == "categorical_crossentropy" else None
        data = make_data(os.path.join(d, "data.h5"), model.input_shape, classes=cls,
                         outputs=model.output_shape[-1])
        run = os.path.join(d, "run.h5")
        tool("advml-train", "--config", job, "--data", data, "--max-steps", 2, "--batch-size", 16, "--out", run,
             "--force")
        ck = os.path.join(d, "run.ckpt.h5")
        c = advml.Checkpoint(ck)
        p0 = predict(ck, data, os.path.join(d, "p0.h5"))
        x, _ = advml.Dataset(data).split("test").arrays()

        # advml -> torch: the same outputs
        net = to_torch(ck)
        self.assertClose(torch_out(net, x), p0, f"{name}: torch module against advml-predict")

        # torch -> advml: the same weights bit for bit, identical predictions
        rt = os.path.join(d, "rt.ckpt.h5")
        save_checkpoint(net.state_dict(), c.config, rt)
        self.assertEqual(advml.verify_checkpoint(rt), [])
        back = advml.Checkpoint(rt)
        self.assertEqual(list(back.params), list(c.params))
        for k in c.params:
            np.testing.assert_array_equal(back.params[k], c.params[k], err_msg=f"{name}: {k}")
        np.testing.assert_array_equal(predict(rt, data, os.path.join(d, "p1.h5")), p0)

        # a step in PyTorch (every bias moves, bias_hh too), then back to advml
        net.train()
        opt = torch.optim.SGD(net.parameters(), lr=0.05)
        out = net(torch.from_numpy(x))
        (out.square().mean() + out.sum() * 1e-3).backward()
        opt.step()
        for k, v in net.state_dict().items():
            if "bias" in k:
                self.assertTrue(bool((v != 0).any()), f"{name}: {k} still zero after the step")
        t2 = os.path.join(d, "t2.ckpt.h5")
        save_checkpoint(net, c.config, t2)
        self.assertClose(predict(t2, data, os.path.join(d, "p2.h5")), torch_out(net, x),
                         f"{name}: advml-predict of the torch-trained weights against torch")
        # and advml-train continues from it
        tool("advml-train", "--resume", t2, "--data", data, "--max-steps", 1, "--out", os.path.join(d, "t2run.h5"))
        r = advml.Run(os.path.join(d, "t2run.h5"))
        self.assertEqual(len(r.step["loss"]), 1)


class Recurrent(Base):
    """Hand-made PyTorch recurrent modules with both biases nonzero."""

    class Seq(nn.Module):
        def __init__(self, cell, last):
            super().__init__()
            self.cell, self.head = cell, nn.Linear(cell.hidden_size, 1)
            self.last = last

        def forward(self, x):
            h = self.cell(x)[0]
            return self.head(h[:, -1] if self.last else h.reshape(h.shape[0], -1))

    def check(self, tag, cell, config_layers, T=7, F=3):
        torch.manual_seed(len(tag))
        net = self.Seq(cell, last=True)
        with torch.no_grad():
            for k, v in net.named_parameters():
                if "bias" in k:
                    v.uniform_(-0.5, 0.5)  # PyTorch's both biases, clearly nonzero
        cfg = {"input": [T, F], "model": config_layers + [{"type": "dense", "units": 1}], "loss": "mse",
               "optimizer": {"name": "adam"}, "training": {"batch_size": 8}}
        d = os.path.join(WORK, "rec-" + tag)
        os.makedirs(d, exist_ok=True)
        data = make_data(os.path.join(d, "data.h5"), (T, F), outputs=1)
        ck = save_checkpoint(net, cfg, os.path.join(d, "c.ckpt.h5"))
        x, _ = advml.Dataset(data).split("test").arrays()
        want = torch_out(net, x)
        self.assertClose(predict(ck, data, os.path.join(d, "p.h5")), want, f"{tag}: advml-predict against torch")
        # and back: to_torch of the written checkpoint computes the same
        self.assertClose(torch_out(to_torch(ck), x), want, f"{tag}: to_torch of the written checkpoint")
        return ck

    def test_rnn_tanh_and_relu(self):
        for act in ("tanh", "relu"):
            ck = self.check("rnn-" + act, nn.RNN(3, 16, nonlinearity=act, batch_first=True),
                            [{"type": "rnn", "units": 16, "activation": act}])
            c = advml.Checkpoint(ck)
            self.assertEqual(c.params["layer00_rnn/U"].shape, (16, 3))

    def test_lstm_two_layers(self):
        ck = self.check("lstm2", nn.LSTM(3, 12, num_layers=2, batch_first=True),
                        [{"type": "lstm", "units": 12, "return_sequences": True}, {"type": "lstm", "units": 12}])
        self.assertEqual(set(advml.Checkpoint(ck).params),
                         {"layer00_lstm/weight_ih", "layer00_lstm/weight_hh", "layer00_lstm/bias",
                          "layer01_lstm/weight_ih", "layer01_lstm/weight_hh", "layer01_lstm/bias",
                          "layer02_dense/weight", "layer02_dense/bias"})

    def test_gru_keeps_both_biases(self):
        cell = nn.GRU(3, 10, batch_first=True)
        ck = self.check("gru", cell, [{"type": "gru", "units": 10}])
        c = advml.Checkpoint(ck)
        np.testing.assert_array_equal(c.params["layer00_gru/bias_hh"], cell.bias_hh_l0.detach().numpy())
        np.testing.assert_array_equal(c.params["layer00_gru/bias_ih"], cell.bias_ih_l0.detach().numpy())

    def test_rnn_bias_is_the_sum(self):
        cell = nn.RNN(2, 4, batch_first=True)
        net = self.Seq(cell, last=True)
        with torch.no_grad():
            cell.bias_ih_l0.fill_(0.25)
            cell.bias_hh_l0.fill_(0.5)
        cfg = {"input": [5, 2], "model": [{"type": "rnn", "units": 4}, {"type": "dense", "units": 1}], "loss": "mse"}
        p = state_dict_to_params(net, cfg)
        np.testing.assert_array_equal(p["layer00_rnn/b"], np.full(4, 0.75, np.float32))
        back = to_torch(cfg)
        back.load_state_dict({k.replace("cell", "layer00_rnn").replace("head", "layer01_dense"): v
                              for k, v in net.state_dict().items()})


class CourseCNN(Base):
    """The course's PyTorch MNIST CNN, written by hand, onto jobs/mnist_cnn.json."""

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 32, 3, padding=1)
            self.conv2 = nn.Conv2d(32, 64, 3, padding=1)
            self.fc1 = nn.Linear(64 * 7 * 7, 1024)
            self.fc2 = nn.Linear(1024, 10)
            self.dropout = nn.Dropout(0.5)

        def forward(self, x):
            x = nn.functional.max_pool2d(torch.relu(self.conv1(x)), 2)
            x = nn.functional.max_pool2d(torch.relu(self.conv2(x)), 2)
            x = self.dropout(torch.relu(self.fc1(x.flatten(1))))
            return self.fc2(x)

    def test_course_model(self):
        torch.manual_seed(3)
        net = self.Net()
        d = os.path.join(WORK, "course")
        os.makedirs(d, exist_ok=True)
        data = make_data(os.path.join(d, "data.h5"), (1, 28, 28), classes=10, n_train=16, n_test=16)
        ck = save_checkpoint(net, os.path.join(SRC, "jobs", "mnist_cnn.json"), os.path.join(d, "c.ckpt.h5"))
        x, _ = advml.Dataset(data).split("test").arrays()
        want = torch.softmax(torch.from_numpy(torch_out(net, x)), 1).numpy()
        self.assertClose(predict(ck, data, os.path.join(d, "p.h5")), want, "course CNN: advml-predict against torch")
        # the logits module of the same checkpoint is the course's forward
        self.assertClose(torch_out(to_torch(ck, logits=True), x), torch_out(net, x), "logits=True")

    def test_pytorch_initial_weights(self):
        """to_torch of a config alone: PyTorch's initialisation, written as an
        advml checkpoint that predicts what the module does."""
        torch.manual_seed(5)
        job = os.path.join(SRC, "jobs", "digits_cnn.json")
        net = to_torch(job)
        d = os.path.join(WORK, "init")
        os.makedirs(d, exist_ok=True)
        data = make_data(os.path.join(d, "data.h5"), (1, 8, 8), classes=10)
        ck = save_checkpoint(net, job, os.path.join(d, "c.ckpt.h5"))
        x, _ = advml.Dataset(data).split("test").arrays()
        self.assertClose(predict(ck, data, os.path.join(d, "p.h5")), torch_out(net, x), "initial weights")
        c = advml.Checkpoint(ck)
        self.assertEqual((c.epoch, c.step, c.nparams), (0, 0, 5160))
        self.assertEqual(c.optimizer["kind"], "sgd")
        self.assertAlmostEqual(c.optimizer["lr"], 0.1)
        self.assertAlmostEqual(c.optimizer["l2"], 2e-4)


class Errors(Base):
    CFG = {"input": [1, 8, 8], "loss": "categorical_crossentropy",
           "model": [{"type": "conv2d", "filters": 4, "kernel": [3, 3]}, {"type": "flatten"},
                     {"type": "dense", "units": 10, "activation": "softmax"}]}

    def test_shape_mismatch_names_key_and_layer(self):
        net = nn.Sequential(nn.Conv2d(1, 4, 3), nn.Flatten(), nn.Linear(4 * 6 * 6, 5))
        with self.assertRaisesRegex(ValueError, r"2\.weight has shape \(5, 144\), model\[2\] \(dense\) needs "
                                                r"\(10, 144\)"):
            state_dict_to_params(net, self.CFG)

    def test_left_over_and_missing(self):
        net = nn.Sequential(nn.Conv2d(1, 4, 3), nn.Flatten(), nn.Linear(144, 10), nn.Linear(10, 10))
        with self.assertRaisesRegex(ValueError, r"3\.weight, 3\.bias: left over"):
            state_dict_to_params(net, self.CFG)
        with self.assertRaisesRegex(ValueError, r"no parameters left for model\[2\] \(dense\)"):
            state_dict_to_params(nn.Sequential(nn.Conv2d(1, 4, 3)), self.CFG)
        cfg = dict(self.CFG, model=[dict(self.CFG["model"][0], use_bias=False)] + self.CFG["model"][1:])
        with self.assertRaisesRegex(ValueError, r"0\.bias: model\[0\] \(conv2d\) has \"use_bias\": false"):
            state_dict_to_params(nn.Sequential(nn.Conv2d(1, 4, 3), nn.Flatten(), nn.Linear(144, 10)), cfg)

    def test_bidirectional_refused(self):
        cfg = {"input": [5, 2], "model": [{"type": "lstm", "units": 4}], "loss": "mse"}
        with self.assertRaisesRegex(ValueError, "bidirectional"):
            state_dict_to_params(nn.LSTM(2, 4, bidirectional=True), cfg)

    def test_existing_file_kept(self):
        p = os.path.join(WORK, "exists.ckpt.h5")
        open(p, "w").write("keep")
        with self.assertRaises(FileExistsError):
            save_checkpoint(to_torch(self.CFG), self.CFG, p)
        self.assertEqual(open(p).read(), "keep")

    def test_edited_checkpoint_refused_until_sealed(self):
        p = save_checkpoint(to_torch(self.CFG), self.CFG, os.path.join(WORK, "edit.ckpt.h5"))
        with h5py.File(p, "r+") as f:
            f["params/layer00_conv2d/bias"][0] += 1.0
        with self.assertRaisesRegex(advml.CheckpointError, "layer00_conv2d/bias"):
            advml.Checkpoint(p)
        advml.seal_checkpoint(p)
        self.assertEqual(advml.Checkpoint(p).params["layer00_conv2d/bias"].shape, (4,))


class Onnx(Base):
    def test_export_checked(self):
        try:
            import onnx
        except ImportError:
            self.skipTest("python3-onnx is not installed")
        for cfg in (Errors.CFG, {"input": [6, 2], "loss": "mse",
                                 "model": [{"type": "gru", "units": 5}, {"type": "dense", "units": 1}]}):
            p = os.path.join(WORK, f"m{len(cfg['model'])}.onnx")
            export_onnx(to_torch(cfg), p)
            m = onnx.load(p)
            onnx.checker.check_model(m)
            dims = [d.dim_param or d.dim_value for d in m.graph.input[0].type.tensor_type.shape.dim]
            self.assertEqual(dims, ["batch", *cfg["input"]])


if __name__ == "__main__":
    try:
        unittest.main(verbosity=2)
    finally:
        shutil.rmtree(WORK, ignore_errors=True)

#!/usr/bin/env python3
"""The advml package's readers on real files (label python, test
pypkg_readers): the run files, checkpoint and digits dataset of the fixture
analysis_runs, time series and predictions made here with the tools. Each
reader must return what h5py reads from the file, the pandas helpers the same
numbers, and the package's commands must run as `python3 -m advml ...`."""

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
WORK = os.environ.get("ADVML_ANALYSIS_WORK")
sys.path.insert(0, os.path.join(SRC, "python"))

import advml  # noqa: E402

if not WORK or not os.path.isdir(WORK):
    sys.exit("ADVML_ANALYSIS_WORK is not set or missing: run through ctest (fixture analysis_runs)")
R1 = os.path.join(WORK, "r1.h5")
try:
    import pandas  # noqa: F401
    HAVE_PANDAS = True
except ImportError:
    HAVE_PANDAS = False


def tool(name, *args):
    p = subprocess.run([os.path.join(BIN, name), *map(str, args)], capture_output=True, text=True, timeout=240)
    if p.returncode != 0:
        raise AssertionError(f"{name} {' '.join(map(str, args))}: exit {p.returncode}\n{p.stdout}\n{p.stderr}")
    return p


class Readers(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="advml-pypkg-readers-", dir=WORK)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_run(self):
        r = advml.Run(R1)
        with h5py.File(R1, "r") as f:
            np.testing.assert_array_equal(r.epoch["val_loss"], f["metrics/epoch/val_loss"][:])
            np.testing.assert_array_equal(r.step["loss"], f["metrics/step/loss"][:])
            nsteps = len(f["metrics/step/step"])
        self.assertEqual((r.status, r.epochs), ("completed", 3))
        self.assertEqual(r.splits, ["train", "val", "test"])  # the fixture's digits have all three
        self.assertEqual(r.units("train_loss"), "mean loss per sample")
        self.assertEqual(r.units("step/loss"), "mean loss per sample")
        self.assertEqual(r.units("train_accuracy"), "fraction")
        self.assertEqual(r.checkpoint_path, os.path.join(WORK, "r1.ckpt.h5"))
        self.assertEqual(r.lr(), 0.1)
        if HAVE_PANDAS:
            df = r.epochs_frame()
            self.assertEqual(list(df.index), [1, 2, 3])
            self.assertEqual(float(df["test_accuracy"].iloc[-1]), r.final("test_accuracy"))
            self.assertEqual(len(r.steps_frame()), nsteps)

    def test_grid_and_checkpoint_are_told_apart(self):
        runs = advml.open_any(os.path.join(WORK, "grid", "grid.h5"))
        self.assertEqual(len(runs), 4)
        self.assertTrue(all(x.epochs == 2 for x in runs))
        with self.assertRaises(advml.CheckpointFileError):
            advml.Run(os.path.join(WORK, "r1.ckpt.h5"))

    def test_checkpoint(self):
        c = advml.Checkpoint(os.path.join(WORK, "r1.ckpt.h5"))
        self.assertEqual(c.epoch, 3)
        self.assertEqual(c.flat().size, c.nparams)
        self.assertEqual(c.model.nparams, c.nparams)
        self.assertEqual(c.optimizer["kind"], "sgd")
        self.assertEqual(c.optimizer["m"].size, c.nparams)
        with h5py.File(c.path, "r") as f:
            np.testing.assert_array_equal(c.params["layer03_dense/weight"], f["params/layer03_dense/weight"][...])
        self.assertEqual(list(c.params), [p for p, _ in c.model.views])

    def test_dataset(self):
        path = os.path.join(WORK, "digits.h5")
        ds = advml.Dataset(path)
        self.assertEqual(ds.splits, ["train", "validation", "test"])
        s = ds.split("val")
        with h5py.File(path, "r") as f:
            raw = f["validation/inputs"][...]
            a = f["validation/inputs"].attrs
            want = ((raw * a["scale"] - a["mean"]) / a["std"]).astype(np.float32)
            np.testing.assert_array_equal(s.y(), f["validation/targets"][...])
        np.testing.assert_allclose(s.x(), want, rtol=1e-6)
        self.assertEqual((s.n, s.input_shape, s.layout, s.kind), (raw.shape[0], (1, 8, 8), "NCHW", "class"))
        self.assertEqual(len(s.class_names), 10)
        with self.assertRaisesRegex(advml.DatasetError, "no 'nope' split"):
            ds.split("nope")
        with self.assertRaisesRegex(advml.DatasetError, "a advml-run file, not a dataset"):
            advml.Dataset(R1)

    def test_series_and_lags(self):
        noisy = os.path.join(self.tmp, "noisy.h5")
        osc = os.path.join(self.tmp, "osc.h5")
        tool("advml-data", "sine", "--kind", "noisy", "--out", noisy)
        tool("advml-data", "oscillator", "--out", osc)
        s = advml.Dataset(noisy).split("train")
        self.assertEqual(s.feature_names, ["x(i-4)", "x(i-3)", "x(i-2)", "x(i-1)"])
        o = advml.Dataset(osc)
        self.assertEqual(set(o.series), {"t", "x", "v", "F"})
        if HAVE_PANDAS:
            df = s.to_frame()
            self.assertEqual(list(df.columns), ["x(i-4)", "x(i-3)", "x(i-2)", "x(i-1)", "x(i)"])
            self.assertEqual(len(df), s.n)
            np.testing.assert_array_equal(df["x(i)"].to_numpy(), s.y()[:, 0])
            self.assertEqual(len(o.series_frame()), len(o.series["t"]))
            with self.assertRaisesRegex(advml.DatasetError, "only \\(N, D\\) features"):
                o.split("train").to_frame()

    def test_predictions(self):
        pred = os.path.join(self.tmp, "pred.h5")
        tool("advml-predict", "--checkpoint", os.path.join(WORK, "r1.ckpt.h5"), "--data",
             os.path.join(WORK, "digits.h5"), "--out", pred)
        p = advml.Predictions(pred)
        self.assertEqual(p.task, "classification")
        cm = p.confusion_matrix()
        self.assertAlmostEqual(p.metrics["accuracy"], np.trace(cm) / cm.sum(), places=12)
        if HAVE_PANDAS:
            df = p.to_frame()
            self.assertEqual(len(df), cm.sum())
            self.assertEqual(list(df.columns[:2]), ["target", "predicted"])
            self.assertEqual(df.shape[1], 2 + 10)
            self.assertAlmostEqual(float((df["target"] == df["predicted"]).mean()), p.metrics["accuracy"], places=12)

    def test_module_commands(self):
        env = dict(os.environ, PYTHONPATH=os.path.join(SRC, "python"))
        out = os.path.join(self.tmp, "curves.png")
        p = subprocess.run([sys.executable, "-m", "advml", "learning-curves", R1, "--out", out],
                           capture_output=True, text=True, env=env, timeout=120)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn(f"wrote {out}", p.stdout)
        p = subprocess.run([sys.executable, "-m", "advml", "nope"], capture_output=True, text=True, env=env)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("unknown command 'nope'", p.stderr)
        onnx_out = os.path.join(self.tmp, "r1.onnx")
        p = subprocess.run([sys.executable, "-m", "advml", "export-onnx", os.path.join(WORK, "r1.ckpt.h5"),
                            "--out", onnx_out], capture_output=True, text=True, env=env, timeout=300)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn(f"export_onnx: wrote {onnx_out}", p.stdout)
        self.assertTrue(os.path.getsize(onnx_out) > 5160 * 4)


if __name__ == "__main__":
    unittest.main(verbosity=2)

#!/usr/bin/python3
"""confusion_matrix.py and forecast_plot.py on real advml-predict output: the
digits classifier of the fixture analysis_runs (r1.ckpt.h5, test split), and a
sine RNN trained here for a few epochs, forecast recursively over its
validation split. The numbers the commands print must be the file's own."""

import os
import shutil
import subprocess
import sys
import tempfile
import unittest

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import SRC, WORK, image_size, run  # noqa: E402

BIN = os.environ.get("ADVML_BIN", "")
PREDICT = os.path.join(BIN, "advml-predict")


def tool(name, *args):
    p = subprocess.run([os.path.join(BIN, name), *map(str, args)], capture_output=True, text=True, timeout=240)
    if p.returncode != 0:
        raise AssertionError(f"{name} {' '.join(map(str, args))}: exit {p.returncode}\n{p.stdout}\n{p.stderr}")
    return p


class RealPredictions(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not os.access(PREDICT, os.X_OK):
            raise AssertionError(f"{PREDICT} is not built (it comes with the recurrent-networks work)")
        cls.tmp = tempfile.mkdtemp(prefix="advml-predict-", dir=WORK)
        t = cls.tmp
        cls.cls_pred = os.path.join(t, "digits_pred.h5")
        tool("advml-predict", "--checkpoint", os.path.join(WORK, "r1.ckpt.h5"), "--data",
             os.path.join(WORK, "digits.h5"), "--out", cls.cls_pred)
        sine = os.path.join(t, "sine.h5")
        tool("advml-data", "sine", "--kind", "clean", "--out", sine)
        tool("advml-train", "--config", os.path.join(SRC, "jobs", "sine_rnn.json"), "--data", sine,
             "--epochs", "2", "--out", os.path.join(t, "sine_run.h5"))
        cls.seq_pred = os.path.join(t, "sine_pred.h5")
        tool("advml-predict", "--checkpoint", os.path.join(t, "sine_run.ckpt.h5"), "--data", sine,
             "--split", "validation", "--forecast", "40", "--out", cls.seq_pred)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_confusion_matrix(self):
        with h5py.File(self.cls_pred, "r") as f:
            acc = float(f["metrics"].attrs["accuracy"])
            cm = f["confusion_matrix"][...]
        self.assertEqual(cm.shape, (10, 10))
        self.assertAlmostEqual(np.trace(cm) / cm.sum(), acc, places=9)
        for args, out in (((), "cm.png"), (("--normalize",), "cm.pdf")):
            path = os.path.join(self.tmp, out)
            p = run("confusion_matrix", self.cls_pred, *args, "--out", path, check=0)
            self.assertIn(f"confusion_matrix: wrote {path} (accuracy {acc:.4f})", p.stdout)
            image_size(path)

    def test_forecast(self):
        with h5py.File(self.seq_pred, "r") as f:
            self.assertEqual(f.attrs["task"], "regression")
            mse = float(f["metrics"].attrs["mse"])
            n = int(f.attrs["num_samples"])
            fmse = float(f["forecast"].attrs["mse"])
            pts = int(f["forecast"].attrs["truth_points"])
        path = os.path.join(self.tmp, "forecast.png")
        p = run("forecast_plot", self.seq_pred, "--out", path, check=0)
        self.assertIn(f"(x(i): one-step prediction MSE {mse:.4g} over {n} points with truth", p.stdout)
        with h5py.File(self.seq_pred, "r") as f:
            self.assertEqual(list(f.attrs["target_names"]), ["x(i)"])  # the data's target names, for the axis
        self.assertIn(f"recursive forecast MSE {fmse:.4g} over {pts} points with truth", p.stdout)
        w, h = image_size(path)
        self.assertGreater(h, 0.6 * w)  # the two panels, one above the other

    def test_each_command_refuses_the_other_kind(self):
        p = run("forecast_plot", self.cls_pred, "--out", os.path.join(self.tmp, "x.png"), check=1)
        self.assertIn("neither predictions with targets nor a forecast", p.stderr)
        p = run("confusion_matrix", self.seq_pred, "--out", os.path.join(self.tmp, "x.png"), check=1)
        self.assertIn("no confusion_matrix, and no predicted classes and targets", p.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)

#!/usr/bin/python3
"""Every plotting command of analysis/ on the real run files of the fixture
analysis_runs (1 and 2 ranks, a 2 x 2 grid): each writes its image where it says,
computes what it prints correctly, and rejects bad input with a clear message.
Also runs the h5py snippets of analysis/README.md against those files."""

import csv
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import GRID_DIR, SRC, WORK, image_size, run  # noqa: E402

R1 = os.path.join(WORK, "r1.h5")
R2 = os.path.join(WORK, "r2", "run.h5")
GRID = os.path.join(GRID_DIR, "grid.h5")
COMMANDS = ("merge_grid", "grid_heatmap", "learning_curves", "forecast_plot", "confusion_matrix", "scaling_plot")


class Base(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="advml-plots-", dir=WORK)

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def out(self, name):
        return os.path.join(self.tmp, name)

    def assertWrote(self, p, path, cmd):
        self.assertIn(f"{cmd}: wrote {path}", p.stdout)
        self.assertTrue(os.path.getsize(path) > 1000, path)
        leftovers = [f for f in os.listdir(os.path.dirname(path)) if f.endswith(".tmp")]
        self.assertEqual(leftovers, [])
        return image_size(path)


class Help(Base):
    def test_every_command_has_help(self):
        for cmd in COMMANDS:
            with self.subTest(cmd=cmd):
                p = run(cmd, "--help", check=0)
                self.assertIn("usage:", p.stdout)
                self.assertIn("--out", p.stdout)


class Heatmap(Base):
    def test_default_metrics_and_path(self):
        g = self.out("grid.h5")
        shutil.copy(GRID, g)
        p = run("grid_heatmap", g, check=0)
        w, h = self.assertWrote(p, self.out("grid_heatmap.png"), "grid_heatmap")
        self.assertGreater(w, h)  # train and test side by side

    def test_three_metrics_pdf(self):
        two = self.assertWrote(run("grid_heatmap", GRID, "--out", self.out("a.png"), check=0),
                               self.out("a.png"), "grid_heatmap")
        three = self.assertWrote(run("grid_heatmap", GRID, "--metrics", "train_accuracy,val_accuracy,test_accuracy",
                                     "--out", self.out("b.png"), check=0), self.out("b.png"), "grid_heatmap")
        self.assertGreater(three[0], two[0])
        self.assertWrote(run("grid_heatmap", GRID_DIR, "--metrics", "test_loss", "--out", self.out("c.pdf"), check=0),
                         self.out("c.pdf"), "grid_heatmap")

    def test_bad_input(self):
        p = run("grid_heatmap", R1, "--out", self.out("x.png"), check=1)
        self.assertIn("not an advml grid file", p.stderr)
        p = run("grid_heatmap", GRID, "--metrics", "accuracy", "--out", self.out("x.png"), check=1)
        self.assertIn("no 2x2 dataset 'accuracy'", p.stderr)
        self.assertIn("test_accuracy", p.stderr)
        p = run("grid_heatmap", GRID, "--out", self.out("x.txt"), check=2)
        self.assertIn("expected a .png, .pdf or .svg", p.stderr)
        self.assertFalse(os.path.exists(self.out("x.png")))


class LearningCurves(Base):
    def test_two_runs(self):
        p = run("learning_curves", R1, R2, "--out", self.out("lc.png"), check=0)
        w, h = self.assertWrote(p, self.out("lc.png"), "learning_curves")
        self.assertGreater(w, h)  # loss and accuracy panels

    def test_grid_file_and_test_split(self):
        p = run("learning_curves", GRID, "--splits", "train,val,test", "--out", self.out("lc.pdf"), check=0)
        self.assertWrote(p, self.out("lc.pdf"), "learning_curves")

    def test_default_path(self):
        """Named after the input, so that plots of different runs in one
        directory do not overwrite each other."""
        r, r2 = self.out("one.h5"), self.out("two.h5")
        shutil.copy(R1, r)
        shutil.copy(R1, r2)
        p = run("learning_curves", r, "--labels", "digits", check=0)
        self.assertWrote(p, self.out("one_learning_curves.png"), "learning_curves")
        p = run("learning_curves", r2, check=0)
        self.assertWrote(p, self.out("two_learning_curves.png"), "learning_curves")
        p = run("learning_curves", r, r2, check=0)
        self.assertWrote(p, self.out("one_and_1_more_learning_curves.png"), "learning_curves")
        p = run("scaling_plot", r, check=0)
        self.assertWrote(p, self.out("one_scaling.png"), "scaling_plot")

    def test_every_split_the_file_has(self):
        """By default every split with values: the digits fixture has all three;
        without a validation split (MNIST as converted) train and test."""
        p = run("learning_curves", R1, "--out", self.out("a.png"), "--steps", "off", check=0)
        self.assertIn("(train, validation, test)", p.stdout)
        r = self.out("noval.h5")
        shutil.copy(R1, r)
        with h5py.File(r, "r+") as f:
            for k in ("val_loss", "val_accuracy"):
                f["metrics/epoch/" + k][...] = np.nan
        p = run("learning_curves", r, "--out", self.out("b.png"), "--steps", "off", check=0)
        self.assertIn("(train, test)", p.stdout)
        p = run("learning_curves", r, "--splits", "val", "--steps", "off", "--out", self.out("c.png"), check=1)
        self.assertIn("no completed epoch with a loss or accuracy", p.stderr)

    def test_step_losses_of_short_runs(self):
        """Fewer than 5 epochs: the per-step losses are drawn too; a run
        stopped by --max-steps before its first epoch ends still plots."""
        p = run("learning_curves", R1, "--out", self.out("a.png"), check=0)
        self.assertIn("(train, validation, test, per-step loss)", p.stdout)
        short = self.out("short.h5")
        t = subprocess.run([os.path.join(os.environ["ADVML_BIN"], "advml-train"), "--config",
                            os.path.join(SRC, "jobs", "digits_cnn.json"), "--data", os.path.join(WORK, "digits.h5"),
                            "--max-steps", "4", "--out", short], capture_output=True, text=True, timeout=120)
        self.assertEqual(t.returncode, 0, t.stderr)
        p = run("learning_curves", short, check=0)
        self.assertWrote(p, self.out("short_learning_curves.png"), "learning_curves")
        self.assertIn("(no epoch, per-step loss)", p.stdout)
        p = run("learning_curves", short, "--steps", "off", "--out", self.out("x.png"), check=1)
        self.assertIn("no step losses", p.stderr)

    def test_checkpoints_in_a_glob_are_skipped(self):
        ckpt = os.path.join(GRID_DIR, "task-0.ckpt.h5")
        p = run("learning_curves", os.path.join(GRID_DIR, "task-0.h5"), ckpt, "--out", self.out("g.png"), check=0)
        self.assertIn(f"skipping 1 checkpoint(s), not run files: {ckpt}", p.stderr)
        self.assertWrote(p, self.out("g.png"), "learning_curves")
        p = run("learning_curves", ckpt, "--out", self.out("x.png"), check=1)
        self.assertIn("no run files among", p.stderr)
        p = run("scaling_plot", R1, os.path.join(WORK, "r1.ckpt.h5"), check=0)
        self.assertIn("skipping checkpoint(s), not run files", p.stderr)
        self.assertWrote(p, os.path.join(WORK, "r1_scaling.png"), "scaling_plot")
        os.unlink(os.path.join(WORK, "r1_scaling.png"))
        g = self.out("g.h5")
        p = run("merge_grid", os.path.join(GRID_DIR, "task-0.h5"), ckpt, "--out", g, check=0)
        self.assertIn("skipping 1 checkpoint(s), not run files", p.stderr)
        self.assertIn("1 x 1 grid", p.stdout)

    def test_bad_input(self):
        p = run("learning_curves", os.path.join(WORK, "digits.h5"), "--out", self.out("x.png"), check=1)
        self.assertIn("digits.h5: not an advml run file", p.stderr)
        p = run("learning_curves", R1, "--splits", "train,dev", "--out", self.out("x.png"), check=2)
        self.assertIn("--splits", p.stderr)
        p = run("learning_curves", R1, R2, "--labels", "one", "--out", self.out("x.png"), check=2)
        self.assertIn("1 labels for 2 runs", p.stderr)


class Scaling(Base):
    @staticmethod
    def throughput(path):
        with h5py.File(path, "r") as f:
            ips = f["metrics/epoch/images_per_second"][:]
            n = int(f.attrs["nranks"])
        return n, float(np.median(ips[1:]))

    def test_runs_on_one_and_two_ranks(self):
        (n1, v1), (n2, v2) = self.throughput(R1), self.throughput(R2)
        self.assertEqual((n1, n2), (1, 2))
        p = run("scaling_plot", R2, R1, "--out", self.out("s.png"), check=0)
        self.assertWrote(p, self.out("s.png"), "scaling_plot")
        rows = {int(m.group(1)): (float(m.group(2)), float(m.group(4)))
                for m in re.finditer(r"^advml\s+(\d+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)$", p.stdout, re.M)}
        self.assertEqual(sorted(rows), [1, 2], p.stdout)
        self.assertAlmostEqual(rows[1][0], v1, delta=0.06)
        self.assertAlmostEqual(rows[2][0], v2, delta=0.06)
        self.assertAlmostEqual(rows[1][1], 1.0, places=3)
        self.assertAlmostEqual(rows[2][1], (v2 / 2) / v1, delta=0.0006)

    def test_csv_series_and_baseline(self):
        c = self.out("bench.csv")
        with open(c, "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["label", "ranks", "images_per_second"])
            w.writerows([["advml", 1, 700], ["advml", 2, 1330], ["advml", 2, 1370], ["torch", 1, 800],
                         ["torch-ddp", 2, 780]])
        p = run("scaling_plot", c, "--baseline", "torch", "--out", self.out("s.pdf"), check=0)
        self.assertWrote(p, self.out("s.pdf"), "scaling_plot")
        # the median of the two advml 2-rank rows, against one torch process
        self.assertRegex(p.stdout, r"advml\s+2\s+1350\.0\s+1\.929\s+0\.844")
        self.assertRegex(p.stdout, r"torch-ddp\s+2\s+780\.0\s+1\.000\s+0\.487")

    def test_bad_input(self):
        c = self.out("bad.csv")
        with open(c, "w") as fh:
            fh.write("ranks,images_per_second\n1,700\ntwo,900\n")
        p = run("scaling_plot", c, "--out", self.out("x.png"), check=1)
        self.assertIn("bad.csv:3: ranks must be an integer", p.stderr)
        with open(c, "w") as fh:
            fh.write("nodes,speed\n1,700\n")
        p = run("scaling_plot", c, "--out", self.out("x.png"), check=1)
        self.assertIn("expected a header with the columns ranks and images_per_second", p.stderr)
        p = run("scaling_plot", R1, "--baseline", "pytorch", "--out", self.out("x.png"), check=1)
        self.assertIn("--baseline pytorch: no such series", p.stderr)


class Predictions(Base):
    """Cases real advml-predict output rarely shows (test_predict.py has the real
    files): a file without a stored confusion matrix, a forecast that runs past
    the end of its data. Written in the layout of docs/predict-layout.md."""

    def classifier_file(self, with_matrix):
        rng = np.random.default_rng(7)
        y = rng.integers(0, 10, 400)
        p = np.where(rng.random(400) < 0.9, y, rng.integers(0, 10, 400))
        path = self.out(f"cls{int(with_matrix)}.h5")
        with h5py.File(path, "w") as f:
            f.attrs["format"] = "advml-predictions"
            f.attrs["task"] = "classification"
            f.attrs["split"] = "test"
            f["targets"] = y.astype(np.int32)
            f["predicted"] = p.astype(np.int32)
            if with_matrix:
                c = np.zeros((10, 10), np.int64)
                np.add.at(c, (y, p), 1)
                f["confusion_matrix"] = c
        return path, float(np.mean(y == p))

    def test_confusion_matrix(self):
        for with_matrix in (False, True):
            path, acc = self.classifier_file(with_matrix)
            out = self.out(f"cm{int(with_matrix)}.png")
            p = run("confusion_matrix", path, "--out", out, check=0)
            self.assertWrote(p, out, "confusion_matrix")
            self.assertIn(f"(accuracy {acc:.4f})", p.stdout)
        p = run("confusion_matrix", path, "--normalize", "--out", self.out("cmn.pdf"), check=0)
        self.assertWrote(p, self.out("cmn.pdf"), "confusion_matrix")

    def test_forecast(self):
        t = np.linspace(0, 4 * np.pi, 200)
        path = self.out("seq.h5")
        with h5py.File(path, "w") as f:
            f.attrs["format"] = "advml-predictions"
            f.attrs["task"] = "regression"
            f["t"] = t
            f["targets"] = np.sin(t)[:, None]
            f["predictions"] = (np.sin(t) + 0.01)[:, None]
            g = f.create_group("forecast")
            truth = np.sin(t[:40])
            truth[30:] = np.nan  # the forecast runs past the end of the data
            g["truth"] = truth[:, None]
            g["predicted"] = np.sin(t[:40] * 0.9)[:, None]
        p = run("forecast_plot", path, "--out", self.out("f.png"), check=0)
        w, h = self.assertWrote(p, self.out("f.png"), "forecast_plot")
        self.assertGreater(h, w * 0.6)  # two panels, one above the other
        # the MSE of the 200 one-step predictions, and of the 30 forecast points with truth
        mse = float(np.mean((np.sin(t[:30] * 0.9) - np.sin(t[:30])) ** 2))
        self.assertIn(f"(output 0: one-step prediction MSE 0.0001 over 200 points with truth; "
                      f"recursive forecast MSE {mse:.4g} over 30 points with truth (of 40))", p.stdout)
        p = run("forecast_plot", path, "--component", "1", "--out", self.out("x.png"), check=1)
        self.assertIn("--component 1 does not exist", p.stderr)

    def test_wrong_kind_of_file(self):
        path, _ = self.classifier_file(False)
        p = run("forecast_plot", path, "--out", self.out("x.png"), check=1)
        self.assertIn("neither predictions with targets nor a forecast", p.stderr)
        p = run("confusion_matrix", R1, "--out", self.out("x.png"), check=1)
        self.assertIn("a advml-run file, not predictions", p.stderr)


class ReadmeSnippets(Base):
    """The h5py examples of analysis/README.md run as written, on real files."""

    def test_h5py_snippets(self):
        with open(os.path.join(SRC, "analysis", "README.md")) as fh:
            text = fh.read()
        blocks = re.findall(r"```python\n(.*?)```", text, re.S)
        self.assertTrue(blocks)
        ran = 0
        for code in blocks:
            if "import pandas" in code:
                continue  # pandas is not one of advml's dependencies
            code = (code.replace("results/digits_cnn-1234/run.h5", R1)
                        .replace("results/grid_search-1234/grid.h5", GRID)
                        .replace("results/grid_search-1234", GRID_DIR)
                        .replace('sys.path.insert(0, "python")', f"sys.path.insert(0, {os.path.join(SRC, 'python')!r})"))
            with self.subTest(code=code.splitlines()[0]):
                exec(compile(code, "README.md", "exec"), {"__name__": "readme"})
                ran += 1
        self.assertGreaterEqual(ran, 2)

    def test_pandas_snippet(self):
        try:
            import pandas  # noqa: F401
        except ImportError:
            self.skipTest("pandas is not installed (not a dependency of advml)")
        with open(os.path.join(SRC, "analysis", "README.md")) as fh:
            blocks = [b for b in re.findall(r"```python\n(.*?)```", fh.read(), re.S) if "import pandas" in b]
        for code in blocks:
            exec(compile(code.replace("results/digits_cnn-1234/run.h5", R1), "README.md", "exec"), {})


if __name__ == "__main__":
    unittest.main(verbosity=2)

#!/usr/bin/python3
"""The grid file of a 2 x 2 grid search run by jobs/grid_search.sbatch without
SLURM (fixture analysis_runs), and analysis/merge_grid.py's other modes and errors."""

import json
import os
import shutil
import sys
import tempfile
import unittest

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import ETAS, GRID_DIR, LAMBDAS, WORK, attr, run  # noqa: E402

FINAL = ("train_accuracy", "val_accuracy", "test_accuracy", "train_loss", "val_loss", "test_loss")


def same(a, b):
    return a == b or (np.isnan(a) and np.isnan(b))


class GridFile(unittest.TestCase):
    def test_manifest(self):
        with open(os.path.join(GRID_DIR, "grid.json")) as fh:
            m = json.load(fh)
        self.assertEqual(m["etas"], ETAS)
        self.assertEqual(m["lambdas"], LAMBDAS)
        self.assertEqual(m["task_file"], "task-{task}.h5")

    def test_layout_and_values(self):
        with h5py.File(os.path.join(GRID_DIR, "grid.h5"), "r") as g:
            self.assertEqual(attr(g, "format"), "advml-grid")
            self.assertEqual(int(attr(g, "format_version")), 1)
            self.assertEqual(int(attr(g, "n_completed")), 4)
            np.testing.assert_allclose(g["eta"][:], ETAS)
            np.testing.assert_allclose(g["lambda"][:], LAMBDAS)
            for name in FINAL:
                d = g[name]
                self.assertEqual(d.shape, (2, 2), name)
                self.assertEqual(d.dtype, np.float64, name)
                self.assertTrue(attr(d, "units") is not None and attr(d, "description"), name)
                # eta and lambda are attached as the dimension scales of rows and columns
                self.assertEqual(d.dims[0].label, "eta")
                self.assertEqual(d.dims[1].label, "lambda")
                np.testing.assert_allclose(d.dims[0][0][:], ETAS)
                np.testing.assert_allclose(d.dims[1][0][:], LAMBDAS)
            self.assertEqual(g["epochs"].shape, (2, 2))
            self.assertTrue((g["epochs"][...] == 2).all(), g["epochs"][...])
            status = [s.decode() if isinstance(s, bytes) else s for s in g["status"][...].ravel()]
            self.assertEqual(status, ["completed"] * 4)
            for i in range(2):
                for j in range(2):
                    task = os.path.join(GRID_DIR, f"task-{2 * i + j}.h5")
                    rf = g["run_file"][i, j]
                    rf = rf.decode() if isinstance(rf, bytes) else rf
                    self.assertEqual(rf, f"task-{2 * i + j}.h5")
                    with h5py.File(task, "r") as r:
                        cfg = json.loads(attr(r, "config_json"))
                        self.assertAlmostEqual(cfg["optimizer"]["lr"], ETAS[i], delta=1e-9 * ETAS[i])
                        self.assertAlmostEqual(cfg["training"]["l2"], LAMBDAS[j], delta=1e-9 * LAMBDAS[j])
                        for name in FINAL:
                            self.assertTrue(same(g[name][i, j], r["metrics/epoch/" + name][-1]), (name, i, j))
                        # a copy of the run's curves and attributes
                        cell = g[f"runs/eta{i}_lambda{j}"]
                        self.assertEqual(float(attr(cell, "eta")), ETAS[i])
                        self.assertEqual(attr(cell, "status"), "completed")
                        for k in r["metrics/epoch"]:
                            np.testing.assert_array_equal(cell["metrics/epoch/" + k][:], r["metrics/epoch/" + k][:])
                        np.testing.assert_array_equal(cell["metrics/step/loss"][:], r["metrics/step/loss"][:])
            # the digits file has a validation split: the accuracies are real numbers
            for name in ("train_accuracy", "val_accuracy", "test_accuracy"):
                v = g[name][...]
                self.assertTrue(np.all((v >= 0) & (v <= 1)), (name, v))

    def test_learning_rate_matters(self):
        # 2 epochs at eta 0.1 must train further than at eta 0.01 (same lambda)
        with h5py.File(os.path.join(GRID_DIR, "grid.h5"), "r") as g:
            loss = g["train_loss"][...]
        self.assertLess(loss[1, 0], loss[0, 0], loss)


class MergeCommand(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="advml-merge-", dir=WORK)

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def copy_grid(self):
        d = os.path.join(self.tmp, "grid")
        shutil.copytree(GRID_DIR, d)
        return d

    def test_from_run_files_equals_from_directory(self):
        out = os.path.join(self.tmp, "fromruns.h5")
        # in any order: the axes come from each run's own config
        runs = [os.path.join(GRID_DIR, f"task-{k}.h5") for k in (3, 1, 0, 2)]
        p = run("merge_grid", "--out", out, *runs, check=0)
        self.assertIn("2 x 2 grid", p.stdout)
        with h5py.File(out, "r") as a, h5py.File(os.path.join(GRID_DIR, "grid.h5"), "r") as b:
            np.testing.assert_allclose(a["eta"][:], b["eta"][:])
            np.testing.assert_allclose(a["lambda"][:], b["lambda"][:])
            for name in FINAL:
                np.testing.assert_array_equal(a[name][...], b[name][...])

    def test_missing_run(self):
        d = self.copy_grid()
        os.unlink(os.path.join(d, "task-3.h5"))
        p = run("merge_grid", d, check=0)
        self.assertIn("3 of 4 runs completed, 1 missing", p.stdout)
        self.assertIn("task-3.h5 missing", p.stderr)
        with h5py.File(os.path.join(d, "grid.h5"), "r") as g:
            self.assertTrue(np.isnan(g["test_accuracy"][1, 1]))
            self.assertTrue(np.isfinite(g["test_accuracy"][0, 0]))
            s = g["status"][1, 1]
            self.assertEqual(s.decode() if isinstance(s, bytes) else s, "missing")
            self.assertEqual(int(g["epochs"][1, 1]), 0)
            self.assertNotIn("eta1_lambda1", g["runs"])
        run("merge_grid", d, "--strict", check=1)

    def test_failed_and_missing_runs(self):
        # a grid whose second row is eta 10: its lambda 1e-4 cell diverged
        # (a real failed run), its lambda 1e-2 cell never ran
        d = self.copy_grid()
        with open(os.path.join(d, "grid.json")) as fh:
            m = json.load(fh)
        m["etas"] = [0.01, 10]
        m["lambdas"] = [1e-4, 10]
        with open(os.path.join(d, "grid.json"), "w") as fh:
            json.dump(m, fh)
        for k in (1, 2, 3):
            os.unlink(os.path.join(d, f"task-{k}.h5"))
        shutil.copy(os.path.join(WORK, "failed.h5"), os.path.join(d, "task-3.h5"))
        p = run("merge_grid", d, check=0)
        self.assertIn("1 of 4 runs completed, 2 missing", p.stdout)
        self.assertIn("eta=10, lambda=10 (task 3): " + os.path.join(d, "task-3.h5") + " is failed: non-finite loss",
                      p.stderr)
        with h5py.File(os.path.join(d, "grid.h5"), "r") as g:
            status = [s.decode() if isinstance(s, bytes) else s for s in g["status"][...].ravel()]
            self.assertEqual(status, ["completed", "missing", "missing", "failed"])
            self.assertTrue(np.isnan(g["test_accuracy"][1, 1]))
            self.assertEqual(int(g["epochs"][1, 1]), 0)
            self.assertEqual(attr(g["runs/eta1_lambda1"], "status"), "failed")
        run("merge_grid", d, "--strict", check=1)
        p = run("grid_heatmap", os.path.join(d, "grid.h5"), check=0)
        self.assertIn("grid_heatmap: wrote", p.stdout)

    def test_run_from_another_grid_is_refused_and_old_grid_kept(self):
        d = self.copy_grid()
        with open(os.path.join(d, "grid.json")) as fh:
            m = json.load(fh)
        m["etas"] = [0.01, 0.5]
        with open(os.path.join(d, "grid.json"), "w") as fh:
            json.dump(m, fh)
        with open(os.path.join(d, "grid.h5"), "rb") as fh:
            before = fh.read()
        p = run("merge_grid", d, check=1)
        self.assertIn("task-2.h5: its learning rate is 0.1, but its grid cell is eta=0.5", p.stderr)
        with open(os.path.join(d, "grid.h5"), "rb") as fh:
            self.assertEqual(fh.read(), before)
        self.assertFalse(os.path.exists(os.path.join(d, "grid.h5.tmp")))

    def test_duplicate_cell(self):
        t0 = os.path.join(GRID_DIR, "task-0.h5")
        cp = os.path.join(self.tmp, "copy.h5")
        shutil.copy(t0, cp)
        p = run("merge_grid", "--out", os.path.join(self.tmp, "x.h5"), t0, cp, check=1)
        self.assertIn("are both eta=0.01, lambda=0.0001", p.stderr)

    def test_bad_inputs(self):
        p = run("merge_grid", self.tmp, check=1)
        self.assertIn("no grid.json", p.stderr)
        p = run("merge_grid", os.path.join(GRID_DIR, "task-0.h5"), check=2)
        self.assertIn("--out is required", p.stderr)
        p = run("merge_grid", "--out", os.path.join(self.tmp, "x.h5"), os.path.join(WORK, "digits.h5"), check=1)
        self.assertIn("not an advml run file", p.stderr)
        p = run("merge_grid", "--out", os.path.join(self.tmp, "x.h5"), os.path.join(self.tmp, "nope.h5"), check=2)
        self.assertIn("no such file", p.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)

#!/usr/bin/python3
"""bench/chaos_vpt.py, the valid prediction time of bench/run_chaos.sh: synthetic forecasts
whose normalised error passes the threshold at a known step, in memory and through the
command on files laid out as advml-data and advml-predict write them; and the benchmark's
Python side on a small advml-data lorenz63 file: bench/torch_chaos.py (PyTorch's cells) and
bench/esn_precision.py (the ESN in float32 and float64) run and report what they promise.
Test bench_chaos_vpt."""
import os
import subprocess
import sys
import tempfile
import unittest

import h5py
import numpy as np

SRC = os.environ.get("ADVML_SRC") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(SRC, "bench"))
import chaos_vpt  # noqa: E402


def diverging(truth, k, norm2, threshold, rng):
    """A forecast whose normalised error grows as threshold * exp(0.3 (h - k + 0.5)) over the
    rows h, crossing the threshold between rows k-1 and k: E(k-1) < threshold < E(k)."""
    H, D = truth.shape
    e = threshold * np.exp(0.3 * (np.arange(H) - k + 0.5))  # E(k-1) = 0.86 thr, E(k) = 1.16 thr
    d = rng.normal(size=(H, D))
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    return truth + d * (e * np.sqrt(norm2))[:, None]


class Vpt(unittest.TestCase):
    def test_known_crossing(self):
        rng = np.random.default_rng(1)
        truth = rng.normal(size=(200, 3))
        norm2, thr, dt, le = 3.0, 0.4, 0.02, 0.9
        for k in (1, 17, 150):
            pred = diverging(truth, k, norm2, thr, rng)
            err = chaos_vpt.normalised_error(pred, truth, norm2)
            self.assertLess(err[k - 1], thr)
            self.assertGreater(err[k], thr)
            v, censored = chaos_vpt.vpt(err, thr, dt, le)
            self.assertFalse(censored)
            self.assertAlmostEqual(v, k * dt * le)
        # a crossing at the first row: VPT 0; a forecast that never crosses: censored, its whole length
        self.assertEqual(chaos_vpt.valid_steps(np.array([0.5, 0.1]), 0.4), (0, False))
        self.assertEqual(chaos_vpt.valid_steps(np.array([0.1, 0.2, 0.3]), 0.4), (3, True))
        # a NaN forecast counts as past the threshold; NaN truth rows (past the data) are dropped
        self.assertEqual(chaos_vpt.valid_steps(np.array([0.1, np.nan, 0.1]), 0.4), (1, False))
        t = truth[:4].copy()
        t[3] = np.nan
        self.assertEqual(len(chaos_vpt.normalised_error(truth[:4], t, 1.0)), 3)
        # the error is ||y - y_hat|| / sqrt(<||y||^2>), by hand
        e = chaos_vpt.normalised_error(np.array([[1.0, 2.0]]), np.array([[4.0, 6.0]]), 4.0)
        self.assertAlmostEqual(e[0], 5.0 / 2.0)

    def test_command(self):
        rng = np.random.default_rng(2)
        with tempfile.TemporaryDirectory(prefix="g_chaos_vpt_") as d:
            data = os.path.join(d, "data.h5")
            y = rng.normal(size=(500, 3)) * np.array([1.0, 2.0, 0.5])
            norm2 = float(np.mean(np.sum(y ** 2, axis=1)))
            with h5py.File(data, "w") as f:
                f.create_dataset("train/targets", data=y.astype(np.float32))
                s = f.create_group("series")
                s.attrs["lyapunov_exponent"] = 0.9
                s.attrs["sampling_step"] = 0.02
            preds = []
            # the persistence forecast holds the last state of window start (3, then 7): the
            # truth stays there for kp rows and then jumps 3 norms away, so its VPT is kp rows
            inputs = rng.normal(size=(10, 4, 3))
            for i, (k, kp) in enumerate(((40, 20), (60, 30))):
                start = 3 + 4 * i
                truth = np.tile(inputs[start, -1], (100, 1))
                truth[kp:] += 3.0 * np.sqrt(norm2) / np.sqrt(3.0)
                pred = diverging(truth, k, norm2, 0.4, rng)
                truth[95:] = np.nan  # past the split's end
                p = os.path.join(d, f"p{i}.h5")
                with h5py.File(p, "w") as f:
                    f.create_dataset("forecast/predicted", data=pred.astype(np.float32))
                    f.create_dataset("forecast/truth", data=truth.astype(np.float32))
                    f["forecast"].attrs["start"] = start
                    f["forecast"].attrs["split"] = "validation"
                preds.append(p)
            # without the split's inputs in the data file there is no persistence line
            r = subprocess.run(["/usr/bin/python3", os.path.join(SRC, "bench", "chaos_vpt.py"), data, *preds],
                               capture_output=True, text=True, timeout=120)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertNotIn("persistence", r.stdout)
            with h5py.File(data, "a") as f:
                f.create_dataset("validation/inputs", data=inputs.astype(np.float32))
            r = subprocess.run(["/usr/bin/python3", os.path.join(SRC, "bench", "chaos_vpt.py"), data, *preds],
                               capture_output=True, text=True, timeout=120)
            self.assertEqual(r.returncode, 0, r.stderr)
            res = {ln.split()[1]: float(ln.split()[2]) for ln in r.stdout.splitlines() if ln.startswith("RESULT")}
            self.assertAlmostEqual(res["vpt_mean"], 50 * 0.02 * 0.9, places=3)
            self.assertAlmostEqual(res["vpt_min"], 40 * 0.02 * 0.9, places=3)
            self.assertAlmostEqual(res["vpt_max"], 60 * 0.02 * 0.9, places=3)
            self.assertEqual(res["censored"], 0)
            self.assertAlmostEqual(res["persistence_mean"], 25 * 0.02 * 0.9, places=3)
            self.assertAlmostEqual(res["persistence_min"], 20 * 0.02 * 0.9, places=3)
            self.assertAlmostEqual(res["persistence_max"], 30 * 0.02 * 0.9, places=3)
            r = subprocess.run(["/usr/bin/python3", os.path.join(SRC, "bench", "chaos_vpt.py"), preds[0], preds[1]],
                               capture_output=True, text=True, timeout=120)
            self.assertNotEqual(r.returncode, 0)
            self.assertIn("not an advml-data lorenz63, lorenz96 or ks file", r.stderr)


def results(stdout):
    return {ln.split()[1]: float(ln.split()[2]) for ln in stdout.splitlines() if ln.startswith("RESULT")}


class Scripts(unittest.TestCase):
    """The benchmark's scripts on a small Lorenz-63 file (seconds, not a benchmark)."""

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.TemporaryDirectory(prefix="g_chaos_scripts_")
        cls.data = os.path.join(cls.dir.name, "l63.h5")
        tool = os.path.join(os.environ.get("ADVML_BIN") or os.path.join(SRC, "build"), "advml-data")
        subprocess.run([tool, "lorenz63", "--length", "1200", "--sample-every", "2", "--train-fraction", "0.5",
                        "--window", "6", "--out", cls.data, "--force"], check=True, capture_output=True, timeout=120)

    @classmethod
    def tearDownClass(cls):
        cls.dir.cleanup()

    def run_script(self, name, *args):
        r = subprocess.run(["/usr/bin/python3", os.path.join(SRC, "bench", name), self.data, *map(str, args)],
                           capture_output=True, text=True, timeout=300)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        return r.stdout

    def test_torch_chaos(self):
        try:
            import torch  # noqa: F401
        except ImportError:
            self.skipTest("no torch (python3-torch)")
        _, dt, le = chaos_vpt.read_data(self.data)
        horizon = 40
        res = results(self.run_script("torch_chaos.py", "--model", "gru", "--units", "8", "--stage", "1",
                                      "--stages", "2", "--horizon", horizon, "--starts", "2"))
        for k in (1, 2):
            self.assertEqual(res[f"stage_{k}_epochs"], k)
            self.assertTrue(0 <= res[f"stage_{k}_vpt_mean"] <= horizon * dt * le)
        self.assertGreater(res["stage_2_train_s"], res["stage_1_train_s"])
        self.assertEqual(res["vpt_mean"], round(res["stage_2_vpt_mean"], 4))
        self.assertEqual(res["best_vpt"], max(res["stage_1_vpt_mean"], res["stage_2_vpt_mean"]))
        self.assertTrue(res["vpt_min"] <= res["vpt_mean"] <= res["vpt_max"])
        self.assertEqual(res["all_train_s"], res["stage_2_train_s"])
        # a threshold no forecast reaches: every forecast valid over the whole horizon
        res = results(self.run_script("torch_chaos.py", "--model", "lstm", "--units", "4", "--stage", "1",
                                      "--stages", "1", "--horizon", horizon, "--starts", "2", "--threshold", "1e9"))
        self.assertEqual(res["censored"], 2)
        self.assertAlmostEqual(res["vpt_mean"], horizon * dt * le, places=3)
        # too long a horizon for the held-out split: a clear error
        r = subprocess.run(["/usr/bin/python3", os.path.join(SRC, "bench", "torch_chaos.py"), self.data, "--model",
                            "rnn", "--units", "4", "--stage", "1", "--stages", "1", "--horizon", "5000"],
                           capture_output=True, text=True, timeout=120)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("too short", r.stderr)

    def test_esn_precision(self):
        out = self.run_script("esn_precision.py", "--units", "30", "--horizon", "20")
        lines = [ln for ln in out.splitlines() if "VPT mean" in ln]
        self.assertEqual([ln.split(":")[0] for ln in lines], ["float32", "float64"])
        for ln in lines:  # a 30-unit ESN forecasts Lorenz-63 at least a few points
            self.assertGreater(float(ln.split("VPT mean ")[1].split()[0]), 0.0, ln)


if __name__ == "__main__":
    unittest.main(verbosity=2)

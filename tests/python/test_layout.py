#!/usr/bin/python3
"""Open each kind of file advml-data makes (mnist, csv/digits, sine, oscillator) with h5py and
check the documented layout (docs/hdf5-layout.md); also run the documentation's h5py snippet.

Run by ctest (test data_python_layout) with ADVML_BIN, ADVML_SRC and ADVML_DATA_TEST_DIR set;
the real MNIST / Fashion-MNIST / digits files come from the data_fixture test when
scripts/fetch-data.sh has fetched their sources."""
import os
import re
import sys
import tempfile
import unittest

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from advml_data_common import make_mnist_like, run  # noqa: E402

SRC = os.environ.get("ADVML_SRC", os.path.join(os.path.dirname(__file__), "..", ".."))
FIXTURES = os.environ.get("ADVML_DATA_TEST_DIR", "")
MNIST_TRAIN = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
MNIST_TEST = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
FASHION_NAMES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                 "Ankle boot"]


def check_layout(tc, path, kind):
    """The layout every advml dataset file has; returns the open file (caller closes)."""
    f = h5py.File(path, "r")
    a = f.attrs
    tc.assertEqual(a["format"], "advml-dataset")
    tc.assertEqual(int(a["format_version"]), 1)
    tc.assertEqual(a["kind"], kind)
    for key in ("source", "description", "advml_version", "git_commit", "created", "command_line"):
        tc.assertIsInstance(a[key], str, key)
    tc.assertTrue(a["source"] and a["description"])
    splits = [k for k in f.keys() if isinstance(f[k], h5py.Group) and k != "series"]
    tc.assertIn("train", splits)
    tc.assertTrue(set(splits) <= {"train", "validation", "test"}, splits)
    for s in splits:
        g = f[s]
        x, y = g["inputs"], g["targets"]
        n = x.shape[0]
        tc.assertEqual(int(g.attrs["num_samples"]), n)
        tc.assertIsInstance(g.attrs["description"], str)
        tc.assertEqual(y.shape[0], n)
        # chunked along N only, shuffle + deflate
        for d in (x, y):
            tc.assertIsNotNone(d.chunks, d.name)
            tc.assertLessEqual(d.chunks[0], max(n, 1))
            tc.assertEqual(tuple(d.chunks[1:]), tuple(d.shape[1:]), d.name)
            tc.assertEqual(d.compression, "gzip", d.name)
            tc.assertTrue(d.shuffle, d.name)
        layout = {"images": ("NCHW", 4), "sequences": ("NTF", 3), "features": ("ND", 2)}[kind]
        tc.assertEqual(x.attrs["layout"], layout[0])
        tc.assertEqual(x.ndim, layout[1])
        if kind == "images":
            tc.assertIn(x.dtype, (np.uint8, np.float32))
        else:
            tc.assertEqual(x.dtype, np.float32)
        for k in ("scale", "mean", "std"):
            tc.assertIsInstance(float(x.attrs[k]), float)
        tc.assertGreater(float(x.attrs["std"]), 0)
        if y.attrs["kind"] == "class":
            tc.assertEqual(y.ndim, 1)
            tc.assertEqual(y.dtype, np.int32)
            k = int(y.attrs["num_classes"])
            names = list(y.attrs["class_names"])
            tc.assertEqual(len(names), k)
            tc.assertTrue(all(isinstance(c, str) for c in names))
            v = y[:]
            tc.assertTrue(((v >= 0) & (v < k)).all())
        else:
            tc.assertEqual(y.attrs["kind"], "value")
            tc.assertEqual(y.ndim, 2)
            tc.assertEqual(y.dtype, np.float32)
    return f


def normalised(f, split):
    """Inputs of a split as the docs say readers compute them."""
    x = f[split]["inputs"]
    a = x.attrs
    return (x[:].astype(np.float64) * a["scale"] - a["mean"]) / a["std"]


class Layout(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="advml_layout_")
        cls.d = cls.tmp.name

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_mnist_generated(self):
        parts = make_mnist_like(os.path.join(self.d, "idx"), gz=True)
        out = os.path.join(self.d, "small.h5")
        run("mnist", "--from", os.path.join(self.d, "idx"), "--out", out, "--validation", "5")
        with check_layout(self, out, "images") as f:
            self.assertEqual(f["train/inputs"].shape, (25, 1, 28, 28))
            self.assertEqual(f["validation/inputs"].shape, (5, 1, 28, 28))
            self.assertEqual(f["test/inputs"].shape, (10, 1, 28, 28))
            self.assertEqual(f["train/inputs"].dtype, np.uint8)
            x, y = parts["train"]
            np.testing.assert_array_equal(f["train/inputs"][:, 0], x[:25])
            np.testing.assert_array_equal(f["validation/inputs"][:, 0], x[25:])
            np.testing.assert_array_equal(f["validation/targets"][:], y[25:])
            np.testing.assert_array_equal(f["test/targets"][:], parts["t10k"][1])
            a = f["train/inputs"].attrs
            self.assertAlmostEqual(a["scale"], 1 / 255)
            self.assertEqual((a["mean"], a["std"]), (0.1307, 0.3081))
            self.assertEqual(list(f["train/targets"].attrs["class_names"]), [str(i) for i in range(10)])
            np.testing.assert_allclose(normalised(f, "test")[3, 0], (parts["t10k"][0][3] / 255 - 0.1307) / 0.3081)

    def test_mnist_real(self):
        path = os.path.join(FIXTURES, "mnist.h5")
        if not os.path.exists(os.path.join(SRC, "data", "mnist")):
            self.skipTest("no data/mnist (scripts/fetch-data.sh)")
        with check_layout(self, path, "images") as f:
            self.assertEqual(f["train/inputs"].shape, (60000, 1, 28, 28))
            self.assertEqual(f["test/inputs"].shape, (10000, 1, 28, 28))
            self.assertEqual(list(np.bincount(f["train/targets"][:])), MNIST_TRAIN)
            self.assertEqual(list(np.bincount(f["test/targets"][:])), MNIST_TEST)
            self.assertNotIn("validation", f)

    def test_fashion_real(self):
        path = os.path.join(FIXTURES, "fashion-mnist.h5")
        if not os.path.isdir(os.path.join(SRC, "data", "fashion-mnist")):
            self.skipTest("no data/fashion-mnist (scripts/fetch-data.sh)")
        with check_layout(self, path, "images") as f:
            self.assertEqual(f["train/inputs"].shape, (60000, 1, 28, 28))
            self.assertEqual(list(f["train/targets"].attrs["class_names"]), FASHION_NAMES)
            self.assertEqual(list(np.bincount(f["test/targets"][:])), [1000] * 10)
            # its own mean/std, computed from the training pixels
            # (a histogram of the uint8 pixels keeps this quick and small)
            h = np.bincount(f["train/inputs"][:].ravel(), minlength=256).astype(np.float64)
            a = f["train/inputs"].attrs
            v = np.arange(256) / 255
            mean = (h * v).sum() / h.sum()
            std = np.sqrt((h * (v - mean) ** 2).sum() / h.sum())
            self.assertAlmostEqual(a["mean"], mean, places=10)
            self.assertAlmostEqual(a["std"], std, places=10)
            z = (np.arange(256) * a["scale"] - a["mean"]) / a["std"]  # normalised value of each pixel level
            self.assertAlmostEqual((h * z).sum() / h.sum(), 0, places=6)
            self.assertAlmostEqual((h * z * z).sum() / h.sum(), 1, places=6)

    def test_digits(self):
        path = os.path.join(FIXTURES, "digits.h5")
        if not os.path.exists(os.path.join(SRC, "data", "digits.csv.gz")):
            # the same conversion on a generated stand-in table of the same shape
            rng = np.random.default_rng(1)
            t = np.hstack([rng.integers(0, 17, size=(100, 64)), (np.arange(100) % 10)[:, None]])
            src = os.path.join(self.d, "digits.csv")
            np.savetxt(src, t, fmt="%d", delimiter=",")
            path = os.path.join(self.d, "digits.h5")
            run("csv", "--from", src, "--out", path, "--image", "1,8,8", "--scale", "0.0625", "--test-fraction", "0.2")
            n = 100
        else:
            n = 1797
        with check_layout(self, path, "images") as f:
            ntest = int(np.ceil(0.2 * n))
            self.assertEqual(f["train/inputs"].shape, (n - ntest, 1, 8, 8))
            self.assertEqual(f["test/inputs"].shape, (ntest, 1, 8, 8))
            self.assertEqual(f["train/inputs"].dtype, np.float32)
            self.assertEqual(int(f["train/targets"].attrs["num_classes"]), 10)
            z = np.concatenate([normalised(f, "train"), normalised(f, "test")])
            self.assertEqual((z.min(), z.max()), (0.0, 1.0))

    def test_csv_features(self):
        src = os.path.join(self.d, "table.csv")
        with open(src, "w") as fh:
            fh.write("a,b,y1,y2\n")
            for i in range(40):
                fh.write(f"{i},{i * 0.5},{i * 2},{-i}\n")
        out = os.path.join(self.d, "table.h5")
        run("csv", "--from", src, "--out", out, "--target", "y1,y2", "--validation-fraction", "0.25")
        with check_layout(self, out, "features") as f:
            self.assertEqual(f["train/inputs"].shape, (30, 2))
            self.assertEqual(f["validation/targets"].shape, (10, 2))
            self.assertEqual(list(f["train/inputs"].attrs["feature_names"]), ["a", "b"])
            self.assertEqual(list(f["train/targets"].attrs["names"]), ["y1", "y2"])
            x, y = f["train/inputs"][:], f["train/targets"][:]
            np.testing.assert_array_equal(y[:, 0], 2 * x[:, 0])
            np.testing.assert_array_equal(y[:, 1], -x[:, 0])

    def test_sine(self):
        clean, noisy = os.path.join(self.d, "clean.h5"), os.path.join(self.d, "noisy.h5")
        run("sine", "--kind", "clean", "--out", clean)
        run("sine", "--kind", "noisy", "--out", noisy, "--seed", "7")
        with check_layout(self, clean, "sequences") as f:
            self.assertEqual(f["train/inputs"].shape, (780, 20, 1))
            self.assertEqual(f["validation/inputs"].shape, (180, 20, 1))
            self.assertEqual(f["train/targets"].shape, (780, 1))
            t, x = f["series/t"][:], f["series/x"][:]
            np.testing.assert_allclose(t, np.linspace(0, 4 * np.pi, 1000), atol=1e-12)
            np.testing.assert_allclose(x, np.sin(t), atol=1e-12)
            xi = f["validation/inputs"][:]
            np.testing.assert_allclose(xi[10, :, 0], x[810:830], atol=1e-7)
            np.testing.assert_allclose(f["validation/targets"][10, 0], x[830], atol=1e-7)
        with check_layout(self, noisy, "sequences") as f:
            self.assertEqual(f["train/inputs"].shape, (796, 1, 4))
            self.assertEqual(f["test/inputs"].shape, (196, 1, 4))
            noise = f["series/x"][:] - np.sin(0.02 * np.arange(1000))
            self.assertTrue(((noise >= 0) & (noise < 2)).all())
            self.assertAlmostEqual(noise.mean(), 1.0, delta=0.1)

    def test_oscillator(self):
        out = os.path.join(self.d, "osc.h5")
        run("oscillator", "--out", out, "--euler", "--dt", "0.05", "--steps", "1000", "--window", "10",
            "--target", "x")
        with check_layout(self, out, "sequences") as f:
            s = f["series"]
            for k in ("t", "x", "v", "F"):
                self.assertEqual(s[k].shape, (1001,))
                self.assertEqual(s[k].dtype, np.float64)
            self.assertEqual(s.attrs["method"], "euler")
            t, x, v, F = (s[k][:] for k in ("t", "x", "v", "F"))
            eta, F0, om, dt = (float(s.attrs[k]) for k in ("eta", "F0", "omega", "dt"))
            np.testing.assert_allclose(F, F0 * np.cos(om * t), atol=1e-12)
            # forward Euler as the course: v_{i+1} = v_i + dt (F_i - eta v_i - x_i)
            np.testing.assert_allclose(v[1:], v[:-1] + dt * (F[:-1] - eta * v[:-1] - x[:-1]), atol=1e-12)
            np.testing.assert_allclose(x[1:], x[:-1] + dt * v[:-1], atol=1e-12)
            ntrain = round(0.8 * 1001)
            self.assertEqual(f["train/inputs"].shape, (ntrain - 10, 10, 2))
            self.assertEqual(list(f["train/inputs"].attrs["feature_names"]), ["x", "F"])
            xi, yi = f["train/inputs"][:], f["train/targets"][:]
            np.testing.assert_allclose(xi[5, :, 0], x[5:15], atol=1e-6)
            np.testing.assert_allclose(xi[5, :, 1], F[5:15], atol=1e-6)
            np.testing.assert_allclose(yi[5, 0], x[15], atol=1e-6)

    def test_docs_snippet(self):
        """The h5py snippet of docs/hdf5-layout.md runs on a file made by the tool."""
        with open(os.path.join(SRC, "docs", "hdf5-layout.md")) as fh:
            doc = fh.read()
        blocks = re.findall(r"```python\n(.*?)```", doc, re.S)
        self.assertTrue(blocks, "docs/hdf5-layout.md has no python snippet")
        make_mnist_like(os.path.join(self.d, "docs_idx"))
        cwd = os.getcwd()
        os.chdir(self.d)
        try:
            # the snippets read data/mnist.h5 and data/oscillator.h5, as from the source tree
            os.makedirs("data", exist_ok=True)
            run("mnist", "--from", "docs_idx", "--out", "data/mnist.h5", "--force")
            run("oscillator", "--out", "data/oscillator.h5", "--force")
            for code in blocks:
                if "import pandas" in code:
                    try:
                        import pandas  # noqa: F401
                    except ImportError:
                        continue  # Debian's python3-pandas is not installed here
                ns = {}
                exec(compile(code, "docs/hdf5-layout.md", "exec"), ns)
        finally:
            os.chdir(cwd)


if __name__ == "__main__":
    unittest.main(verbosity=2)

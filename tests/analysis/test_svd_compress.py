#!/usr/bin/python3
"""analysis/svd_compress.py (advml.cli.svd_compress): the compression ratio k(1+m+n)/(mn), the MSE
and the PSNR of the printed table against an independent NumPy computation (the MSE from the
discarded singular values, Eckart-Young: sum_{i>k} s_i^2 / (mn)), for a PNG file and for a sample
of an advml dataset file; the default output names; clear errors for bad input. Test
analysis_svd_compress (label python)."""
import math
import os
import subprocess
import sys
import tempfile
import unittest

import h5py
import numpy as np

SRC = os.environ.get("ADVML_SRC") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
TOOL = os.path.join(SRC, "analysis", "svd_compress.py")


def run(*args):
    return subprocess.run(["/usr/bin/python3", TOOL, *map(str, args)], capture_output=True, text=True, timeout=300)


def table(stdout):
    """{k: (stored, ratio, mse, psnr)} from the printed table."""
    rows = {}
    for line in stdout.splitlines():
        f = line.split()
        if len(f) == 5 and f[0].isdigit():
            rows[int(f[0])] = (int(f[1]), float(f[2]), float(f[3]), float(f[4]))
    return rows


def expected(x, k, peak):
    m, n = x.shape
    s = np.linalg.svd(x, compute_uv=False)
    mse = float(np.sum(s[k:] ** 2) / (m * n))
    return k * (1 + m + n), k * (1 + m + n) / (m * n), mse, 20 * math.log10(peak / math.sqrt(mse))


class SvdCompress(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="g_chaos_svd_")
        self.d = self.tmp.name
        rng = np.random.default_rng(3)
        # a 24 x 40 image: rank 3 plus noise, in 0..255
        a = rng.random((24, 3)) @ rng.random((3, 40))
        self.img = np.clip(255 * (a / a.max()) * 0.8 + rng.integers(0, 30, (24, 40)), 0, 255).astype(np.uint8)

    def tearDown(self):
        self.tmp.cleanup()

    def check(self, r, x, ks, peak):
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        got = table(r.stdout)
        self.assertEqual(sorted(got), sorted(ks))
        for k in ks:
            stored, ratio, mse, psnr = expected(x, k, peak)
            g = got[k]
            self.assertEqual(g[0], stored)
            self.assertAlmostEqual(g[1], ratio, places=6)
            self.assertLess(abs(g[2] - mse) / mse, 1e-5, (k, g, mse))
            self.assertLess(abs(g[3] - psnr), 1e-3, (k, g, psnr))

    def test_png(self):
        import matplotlib.image as mpimg
        path = os.path.join(self.d, "photo.png")
        rgb = np.stack([self.img] * 3, axis=-1)
        mpimg.imsave(path, rgb)
        # what the test reads independently: the file's pixels, grey by the course's weights, 0..255
        px = mpimg.imread(path)[:, :, :3].astype(np.float64) @ np.array([0.299, 0.587, 0.114]) * 255
        np.testing.assert_allclose(px, self.img, atol=1e-3)
        r = run(path, "--ranks", "1,3,10")
        self.check(r, px, [1, 3, 10], 255.0)
        # k = min(m, n) reproduces the image: MSE at rounding level
        r = run(path, "--ranks", "24")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertLess(table(r.stdout)[24][2], 1e-15)
        self.assertTrue(os.path.isfile(os.path.join(self.d, "photo_svd.png")))
        self.assertIn("photo_svd.png", r.stdout)

    def test_dataset(self):
        path = os.path.join(self.d, "imgs.h5")
        with h5py.File(path, "w") as f:
            f.attrs["format"] = "advml-dataset"
            g = f.create_group("train")
            x = g.create_dataset("inputs", data=np.stack([self.img[None], 255 - self.img[None], self.img[None]]))
            x.attrs["scale"], x.attrs["mean"], x.attrs["std"] = 1 / 255, 0.0, 1.0
            g.create_dataset("targets", data=np.array([0, 1, 2], dtype=np.int32))
            h = f.create_group("validation")  # features, not images
            h.create_dataset("inputs", data=np.zeros((2, 5), np.float32))
            h.create_dataset("targets", data=np.zeros(2, np.int32))
        r = run(path, "--index", "1", "--ranks", "2,5")
        self.check(r, (255 - self.img).astype(np.float64), [2, 5], 255.0)
        self.assertTrue(os.path.isfile(os.path.join(self.d, "imgs_train_1_svd.png")))
        out = os.path.join(self.d, "o.pdf")
        r = run(path, "--index", "1", "--ranks", "2", "--peak", "1", "--out", out)
        self.check(r, (255 - self.img).astype(np.float64), [2], 1.0)
        self.assertTrue(os.path.isfile(out))

        def fails(says, *args):
            r = run(*args)
            self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
            for s in says:
                self.assertIn(s, r.stderr)

        fails(["k = 25 is out of range", "24 x 40", "ranks 1..24"], path, "--ranks", "1,25")
        fails(["k = 0 is out of range"], path, "--ranks", "0")
        fails(["--ranks a,b"], path, "--ranks", "a,b")
        fails([path, "no 'test' split"], path, "--split", "test")
        fails([path, "--index 3 is out of range", "0..2"], path, "--index", "3")
        fails([path, "per-sample shape (5,)", "image"], path, "--split", "validation")
        fails(["nowhere.h5: no such file"], os.path.join(self.d, "nowhere.h5"))
        fails(["nowhere.png: no such file"], os.path.join(self.d, "nowhere.png"))
        fails(["x.txt: expected a .png"], path, "--out", os.path.join(self.d, "x.txt"))
        notimg = os.path.join(self.d, "text.png")
        with open(notimg, "w") as f:
            f.write("not an image")
        fails([notimg, "not a readable image"], notimg)


if __name__ == "__main__":
    unittest.main(verbosity=2)

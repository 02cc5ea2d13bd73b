#!/usr/bin/python3
"""advml-data's command line: help, flag errors, bad input files (with the file and problem
named and a non-zero exit), --force, and no partial output left behind. Run by ctest
(test data_python_cli) with ADVML_BIN set."""
import gzip
import os
import sys
import tempfile
import unittest

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from advml_data_common import make_mnist_like, run, write_idx  # noqa: E402

EXIT_USAGE, EXIT_DATA = 2, 3  # advml_exit_code: usage/config 2, I/O or data 3


def read_text(path):
    with open(path) as f:
        return f.read()


class Cli(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="advml_cli_")
        self.d = self.tmp.name

    def tearDown(self):
        self.tmp.cleanup()

    def p(self, *names):
        return os.path.join(self.d, *names)

    def fails(self, code, *args, says=()):
        r = run(*args, check=False)
        self.assertEqual(r.returncode, code, f"{args}: {r.stdout}{r.stderr}")
        for s in says:
            self.assertIn(s, r.stderr, f"{args}")
        return r

    def no_output(self, path):
        self.assertFalse(os.path.exists(path), path)
        self.assertFalse(os.path.exists(path + ".tmp"), path + ".tmp")

    def test_help(self):
        r = run("--help")
        for c in ("mnist", "csv", "sine", "oscillator", "info"):
            self.assertIn(c, r.stdout)
        self.fails(EXIT_USAGE)
        self.fails(EXIT_USAGE, "convert", says=['unknown command "convert"'])
        for c, flag in (("mnist", "--validation"), ("csv", "--image"), ("sine", "--kind"),
                        ("oscillator", "--euler"), ("info", "--help")):
            r = run(c, "--help")
            self.assertIn(f"usage: advml-data {c}", r.stdout)
            self.assertIn(flag, r.stdout)

    def test_flag_errors(self):
        out = self.p("o.h5")
        self.fails(EXIT_USAGE, "sine", "--kind", "clean", says=["--out FILE.h5 is required"])
        self.fails(EXIT_USAGE, "sine", "--out", out, says=["--kind"])
        self.fails(EXIT_USAGE, "sine", "--kind", "wavy", "--out", out, says=["--kind wavy"])
        self.fails(EXIT_USAGE, "sine", "--kind", "clean", "--out", out, "--window", "abc",
                   says=["--window abc: not a valid integer"])
        self.fails(EXIT_USAGE, "sine", "--kind", "clean", "--out", out, "--bogus", says=["unknown option --bogus"])
        self.fails(EXIT_USAGE, "sine", "--kind", "clean", "--out", out, "--window", says=["--window needs a value"])
        self.fails(EXIT_USAGE, "oscillator", "--out", out, "--dt", "-1", says=["dt"])
        self.fails(EXIT_USAGE, "oscillator", "--out", out, "--target", "F", says=["--target F"])
        self.fails(EXIT_USAGE, "mnist", "--out", out, says=["--from DIR is required"])
        self.fails(EXIT_USAGE, "csv", "--from", "x.csv", "--out", out, "--test-fraction", "1.5")
        self.no_output(out)

    def test_mnist_bad_inputs(self):
        out = self.p("m.h5")
        self.fails(EXIT_DATA, "mnist", "--from", self.p("nowhere"), "--out", out,
                   says=[self.p("nowhere"), "no such directory"])
        src = self.p("idx")
        make_mnist_like(src)
        # bad magic
        with open(os.path.join(src, "train-labels-idx1-ubyte"), "r+b") as f:
            f.write(b"BM")  # a bitmap, say
        self.fails(EXIT_DATA, "mnist", "--from", src, "--out", out,
                   says=["train-labels-idx1-ubyte", "not an IDX file"])
        # count mismatch
        write_idx(os.path.join(src, "train-labels-idx1-ubyte"), np.zeros(29, np.uint8))
        self.fails(EXIT_DATA, "mnist", "--from", src, "--out", out, says=["count mismatch", "30 images", "29 labels"])
        # truncated
        write_idx(os.path.join(src, "train-labels-idx1-ubyte"), np.zeros(30, np.uint8))
        with open(os.path.join(src, "t10k-images-idx3-ubyte"), "r+b") as f:
            f.truncate(1000)
        self.fails(EXIT_DATA, "mnist", "--from", src, "--out", out, says=["t10k-images-idx3-ubyte", "truncated"])
        self.no_output(out)
        self.fails(EXIT_USAGE, "mnist", "--from", src, "--out", out, "--kind", "cifar", says=["--kind cifar"])

    def test_force_and_atomic_output(self):
        src = self.p("idx")
        make_mnist_like(src, gz=True)
        out = self.p("m.h5")
        with open(out, "w") as f:
            f.write("precious")
        self.fails(EXIT_DATA, "mnist", "--from", src, "--out", out, says=[out, "exists", "--force"])
        self.assertEqual(read_text(out), "precious")
        self.assertFalse(os.path.exists(out + ".tmp"))
        # a failing conversion with --force leaves the old file alone
        bad = self.p("bad")
        make_mnist_like(bad)
        os.remove(os.path.join(bad, "t10k-labels-idx1-ubyte"))
        self.fails(EXIT_DATA, "mnist", "--from", bad, "--out", out, "--force", says=["t10k-labels-idx1-ubyte"])
        self.assertEqual(read_text(out), "precious")
        r = run("mnist", "--from", src, "--out", out, "--force")
        self.assertIn("train", r.stdout)
        self.assertFalse(os.path.exists(out + ".tmp"))
        # an output directory that does not exist
        out2 = self.p("no", "such", "m.h5")
        self.fails(EXIT_DATA, "mnist", "--from", src, "--out", out2, says=["does not exist"])
        self.no_output(out2)

    def test_csv_errors(self):
        out = self.p("c.h5")
        src = self.p("t.csv.gz")
        with gzip.open(src, "wt") as f:
            f.write("a,b,label\n1,2,0\n3,x4,1\n")
        self.fails(EXIT_DATA, "csv", "--from", src, "--out", out, says=[src, "line 3, column 2", '"x4"'])
        with gzip.open(src, "wt") as f:
            f.write("1,2,0\n3,4\n")
        self.fails(EXIT_DATA, "csv", "--from", src, "--out", out, says=["line 2 has 2 columns, expected 3"])
        self.fails(EXIT_DATA, "csv", "--from", self.p("none.csv"), "--out", out, says=["none.csv", "cannot open"])
        with open(self.p("ok.csv"), "w") as f:
            f.write("1,2,0\n3,4,1\n5,6,1\n")
        self.fails(EXIT_USAGE, "csv", "--from", self.p("ok.csv"), "--out", out, "--target", "label",
                   says=['"label"', "no header"])
        self.fails(4, "csv", "--from", self.p("ok.csv"), "--out", out, "--image", "1,2,2", says=["--image 1,2,2"])
        self.no_output(out)
        r = run("csv", "--from", self.p("ok.csv"), "--out", out, "--delimiter", ",")
        self.assertIn("2 classes", r.stdout)

    def test_info(self):
        out = self.p("s.h5")
        run("sine", "--kind", "noisy", "--out", out)
        r = run("info", out)
        for s in ("/train/inputs", "float32 (796, 1, 4)", "shuffle+deflate", "@format = \"advml-dataset\"",
                  "/series/x"):
            self.assertIn(s, r.stdout)
        src = self.p("idx")
        make_mnist_like(src)
        m = self.p("m.h5")
        run("mnist", "--from", src, "--out", m)
        r = run("info", m)
        self.assertIn("class counts: 0:3 1:3 2:3 3:3 4:3 5:3 6:3 7:3 8:3 9:3", r.stdout)
        self.fails(EXIT_DATA, "info", self.p("missing.h5"), says=["missing.h5", "cannot open"])
        with open(self.p("text.h5"), "w") as f:
            f.write("no")
        self.fails(EXIT_DATA, "info", self.p("text.h5"), says=["not an HDF5 file"])
        self.fails(EXIT_USAGE, "info", says=["FILE.h5 is required"])


if __name__ == "__main__":
    unittest.main(verbosity=2)

"""End to end: the course's PyTorch MNIST CNN (jobs/mnist_cnn.json) trained
for 1 epoch on 2 ranks on an MNIST subset (4000 training images, 1000
validation, 2000 test; made with advml-data mnist and cut with h5py) must
reach at least 85% test accuracy (measured: about 93%).
"""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
import h5py  # noqa: E402

MIN_ACCURACY = 0.85


def main():
    data = common.mnist_subset_h5()
    d = common.tmpdir("e2e")
    try:
        run = os.path.join(d, "mnist_cnn.h5")
        out = common.run_ok(["--config", os.path.join(common.SRC, "jobs", "mnist_cnn.json"), "--data", data,
                             "--epochs", "1", "--out", run], np_=2, timeout=600)
        print(out)
        m = re.search(r"^test accuracy: ([0-9.]+)$", out, re.M)
        common.check(m is not None, "advml-train prints the test accuracy")
        acc = float(m.group(1))
        with h5py.File(run, "r") as f:
            common.check(abs(f["metrics/epoch/test_accuracy"][-1] - acc) < 1e-4, "the run file holds the same number")
            val = f["metrics/epoch/val_accuracy"][-1]
        print("test accuracy %.4f, validation accuracy %.4f (required: %.2f)" % (acc, val, MIN_ACCURACY))
        common.check(acc >= MIN_ACCURACY and val >= MIN_ACCURACY, "1 epoch on 4000 images reaches %.0f%%" %
                     (100 * MIN_ACCURACY))
        common.check("Total params: 3,241,354" in out, "the summary shows the course model's 3,241,354 parameters")
    finally:
        common.cleanup(d)


if __name__ == "__main__":
    main()

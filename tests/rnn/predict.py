"""advml-predict on a classifier: the prediction file's layout and contents.

A small CNN trained 2 epochs on random 8x8 images of 3 named classes; the
test split predicted on 1 and 3 ranks:
- /probabilities (N, 3) float32, rows summing to 1; /predicted (N) int32 their
  argmax; /targets (N) int32 the data's labels;
- /confusion_matrix (3, 3) int64 equals the counts computed here (row = true
  class, column = predicted), with the data's class names;
- /metrics accuracy and loss equal the run file's last test accuracy and
  test loss (the trainer's evaluation of the same weights);
- 3 ranks (uneven blocks) write the same predictions as 1 rank.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rnncommon as c  # noqa: E402
import h5py  # noqa: E402
import numpy as np  # noqa: E402

CONFIG = """{"model": [{"type": "conv2d", "filters": 4, "kernel": [3, 3], "activation": "relu"},
           {"type": "flatten"}, {"type": "dense", "units": 3, "activation": "softmax"}],
 "loss": "categorical_crossentropy", "optimizer": {"name": "adam", "lr": 0.01},
 "training": {"epochs": 2, "batch_size": 8, "seed": 3}}
"""


def main():
    d = c.tmpdir("rnn-predict")
    try:
        rng = np.random.default_rng(1)
        data = os.path.join(d, "img.h5")
        names = ["circle", "square", "triangle"]
        with h5py.File(data, "w") as f:
            for split, n in (("train", 64), ("test", 37)):
                y = rng.integers(0, 3, n).astype(np.int32)
                x = rng.random((n, 1, 8, 8), dtype=np.float32) + y[:, None, None, None] * 0.3
                xi = f.create_dataset(split + "/inputs", data=x)
                xi.attrs.update(scale=1.0, mean=0.0, std=1.0, layout="NCHW")
                yt = f.create_dataset(split + "/targets", data=y)
                yt.attrs.update(kind="class", num_classes=3)
                yt.attrs["class_names"] = names
        cfg = c.write_config(os.path.join(d, "cnn.json"), CONFIG)
        run = os.path.join(d, "run.h5")
        c.run_ok(["--config", cfg, "--data", data, "--out", run])
        with h5py.File(run, "r") as f:
            acc_run = f["metrics/epoch/test_accuracy"][-1]
            loss_run = f["metrics/epoch/test_loss"][-1]
        outs = {}
        for n in (1, 3):
            outs[n] = os.path.join(d, "pred%d.h5" % n)
            c.predict_ok(["--checkpoint", run[:-3] + ".ckpt.h5", "--data", data, "--out", outs[n],
                          "--batch-size", "5"], np_=None if n == 1 else n)
        with h5py.File(outs[1], "r") as f, h5py.File(data, "r") as g:
            c.check(f.attrs["format"] == "advml-predictions" and f.attrs["task"] == "classification" and
                    f.attrs["split"] == "test", "format, task classification, split test (the default)")
            p, k, t = f["probabilities"][:], f["predicted"][:], f["targets"][:]
            c.check(p.shape == (37, 3) and p.dtype == np.float32, "probabilities (37, 3) float32")
            c.check(k.shape == (37,) and k.dtype == np.int32 and t.dtype == np.int32, "predicted, targets (37) int32")
            c.check(np.allclose(p.sum(axis=1), 1.0, atol=1e-5), "probability rows sum to 1")
            c.check(np.array_equal(k, np.argmax(p, axis=1)), "predicted = argmax of the probabilities")
            c.check(np.array_equal(t, g["test/targets"][:]), "targets = the data's labels")
            cm = f["confusion_matrix"][:]
            ref = np.zeros((3, 3), dtype=np.int64)
            np.add.at(ref, (t, k), 1)
            c.check(cm.dtype == np.int64 and np.array_equal(cm, ref), "confusion matrix (rows true, columns predicted)")
            c.check(list(f["confusion_matrix"].attrs["class_names"]) == names and
                    list(f.attrs["class_names"]) == names, "class names copied from the data")
            acc = f["metrics"].attrs["accuracy"]
            c.check(acc == np.mean(k == t), "/metrics accuracy = mean(predicted == targets)")
            c.check(abs(acc - acc_run) < 1e-12, "accuracy %.4f = the run's last test accuracy %.4f" % (acc, acc_run))
            c.check(abs(f["metrics"].attrs["loss"] - loss_run) <= 1e-5 * max(1.0, loss_run),
                    "loss %.6g = the run's last test loss %.6g" % (f["metrics"].attrs["loss"], loss_run))
            c.check(np.isnan(f["metrics"].attrs["mse"]) and "forecast" not in f and "predictions" not in f,
                    "no mse, forecast or value predictions for a classifier")
        with h5py.File(outs[1], "r") as a, h5py.File(outs[3], "r") as b:
            c.check(np.array_equal(a["predicted"][:], b["predicted"][:]) and
                    np.allclose(a["probabilities"][:], b["probabilities"][:], atol=1e-6) and
                    np.array_equal(a["confusion_matrix"][:], b["confusion_matrix"][:]),
                    "3 ranks write 1 rank's predictions")
    finally:
        c.cleanup(d)


if __name__ == "__main__":
    main()

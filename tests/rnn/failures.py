"""Bad input to recurrent training and prediction: a clear message naming the
file, split or layer, a non-zero exit, no hang on any rank, and no output file
damaged or left behind.

- a sequence dataset for an image model (config with and without "input"),
  and an image dataset for a recurrent model; the same mismatches for
  advml-predict (checkpoint vs data), also under mpirun -np 2;
- a window longer than the series (advml-data), and a model window longer
  than the data's windows;
- a checkpoint that does not match the config (--resume with other units or
  another cell), a checkpoint whose weights do not match its own model, a
  file that is not a checkpoint;
- forecasting with a classifier; an existing prediction file without --force.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rnncommon as c  # noqa: E402
import h5py  # noqa: E402
import numpy as np  # noqa: E402

CNN = """{%s"model": [{"type": "conv2d", "filters": 4, "kernel": [3, 3], "activation": "relu"}, {"type": "flatten"},
           {"type": "dense", "units": %s}],
 "loss": "%s", "optimizer": {"name": "adam"}, "training": {"epochs": 1, "batch_size": 8}}
"""
RNN = """{%s"model": [{"type": "%s", "units": %d}, {"type": "dense", "units": %s}],
 "loss": "%s", "optimizer": {"name": "adam"}, "training": {"epochs": 1, "batch_size": 8}}
"""


def images_h5(path):
    rng = np.random.default_rng(0)
    with h5py.File(path, "w") as f:
        for split, n in (("train", 40), ("test", 16)):
            x = f.create_dataset(split + "/inputs", data=rng.random((n, 1, 8, 8), dtype=np.float32))
            x.attrs.update(scale=1.0, mean=0.0, std=1.0, layout="NCHW")
            y = f.create_dataset(split + "/targets", data=rng.integers(0, 3, n).astype(np.int32))
            y.attrs.update(kind="class", num_classes=3)
    return path


def train_err(what, args, code, *phrases, np_=None):
    rc, out, err = c.run(args, np_=np_)
    c.expect_error(what, rc, err, code, *phrases)


def main():
    sine = c.sine_h5()
    d = c.tmpdir("rnn-fail")
    try:
        img = images_h5(os.path.join(d, "img.h5"))
        cfg = lambda name, text: c.write_config(os.path.join(d, name), text)  # noqa: E731

        # ---- training: data of the wrong kind
        cnn_in = cfg("cnn_in.json", CNN % ('"input": [1, 8, 8], ', "1", "mse"))
        cnn_no = cfg("cnn_no.json", CNN % ("", "1", "mse"))
        rnn_no = cfg("rnn_no.json", RNN % ("", "lstm", 8, "3", "categorical_crossentropy"))
        rnn_in = cfg("rnn_in.json", RNN % ('"input": [20, 1], ', "rnn", 8, "1", "mse"))
        train_err("image model, sequence data (input given)", ["--config", cnn_in, "--data", sine], 4,
                  sine, "[20, 1] per sample", '"input": [1, 8, 8]')
        train_err("image model, sequence data (input from the data)", ["--config", cnn_no, "--data", sine], 4,
                  "layer 0 (conv2d)", "(None, 20, 1)", "image input", np_=2)
        train_err("recurrent model, image data (input from the data)", ["--config", rnn_no, "--data", img], 4,
                  "layer 0 (lstm)", "sequence (T, F)", "(None, 1, 8, 8)", np_=2)
        train_err("recurrent model, image data (input given)", ["--config", rnn_in, "--data", img], 4,
                  img, "[1, 8, 8] per sample", '"input": [20, 1]')

        # ---- windows longer than the series / than the data's windows
        for args, phrase in ((["sine", "--kind", "clean", "--window", "900"], "too short for windows of 900"),
                             (["sine", "--kind", "clean", "--window", "200"], "held-out part of 200 points"),
                             (["oscillator", "--window", "5000"], "too short for windows of 5000")):
            out = os.path.join(d, "w.h5")
            rc, so, se = c.run_tool([c.DATA_TOOL] + args + ["--out", out])
            c.expect_error("advml-data %s" % " ".join(args), rc, se, 2, phrase)
            c.check(not os.path.exists(out) and not os.path.exists(out + ".tmp"), "no file left by advml-data")
        rnn50 = cfg("rnn50.json", RNN % ('"input": [50, 1], ', "gru", 8, "1", "mse"))
        train_err("model window 50, data windows 20", ["--config", rnn50, "--data", sine], 4,
                  "[20, 1] per sample", '"input": [50, 1]')

        # ---- a trained sequence model and a trained classifier
        run = os.path.join(d, "seq.h5")
        c.run_ok(["--config", rnn_in, "--data", sine, "--out", run, "--max-steps", "2"])
        ckpt = run[:-3] + ".ckpt.h5"
        crun = os.path.join(d, "cls.h5")
        cnn_cls = cfg("cnn_cls.json", CNN % ("", "3", "categorical_crossentropy"))
        c.run_ok(["--config", cnn_cls, "--data", img, "--out", crun, "--max-steps", "2"])
        cckpt = crun[:-3] + ".ckpt.h5"

        # ---- a checkpoint that does not match the config
        for name, text, phrase in (("units", RNN % ('"input": [20, 1], ', "rnn", 16, "1", "mse"), '"units":16'),
                                   ("cell", RNN % ('"input": [20, 1], ', "gru", 8, "1", "mse"), '"type":"gru"')):
            other = cfg("other_%s.json" % name, text)
            out2 = os.path.join(d, "resumed_%s.h5" % name)
            train_err("--resume with other %s" % name, ["--config", other, "--data", sine, "--resume", ckpt,
                                                         "--out", out2], 2,
                      ckpt, "different model", phrase, np_=2)

        # ---- advml-predict: checkpoint vs data
        out = os.path.join(d, "pred.h5")
        for np_ in (None, 2):
            rc, so, se = c.predict(["--checkpoint", ckpt, "--data", img, "--out", out], np_=np_)
            c.expect_error("predict: sequence model, image data (np %s)" % np_, rc, se, 4,
                           img, "holds images (1, 8, 8)", "layer 0: rnn", "takes sequences (20, 1)")
            rc, so, se = c.predict(["--checkpoint", cckpt, "--data", sine, "--out", out], np_=np_)
            c.expect_error("predict: image model, sequence data (np %s)" % np_, rc, se, 4,
                           sine, "holds sequences (20, 1)", "layer 0: conv2d", "takes images (1, 8, 8)")
            c.check(se.count("error:") == 1, "one message, from rank 0")
        c.check(not os.path.exists(out) and not os.path.exists(out + ".tmp"), "no prediction file left")
        rc, so, se = c.predict(["--checkpoint", sine, "--data", sine, "--out", out])
        c.expect_error("predict: a dataset as checkpoint", rc, se, 3, "not an advml checkpoint", "advml-dataset")
        rc, so, se = c.predict(["--checkpoint", ckpt, "--data", sine, "--split", "test", "--out", out])
        c.expect_error("predict: a split the file lacks", rc, se, 3, 'no "test" split')
        rc, so, se = c.predict(["--checkpoint", cckpt, "--data", img, "--forecast", "5", "--out", out], np_=2)
        c.expect_error("predict: forecasting with a classifier", rc, se, 2, "needs a regression model",
                       "classification")
        bad = os.path.join(d, "bad.ckpt.h5")
        with h5py.File(ckpt, "r") as f, h5py.File(bad, "w") as g:
            for k, v in f.attrs.items():
                g.attrs[k] = v
            f.copy("optimizer", g)
            f.copy("params", g)
            del g["params/layer00_rnn/W"]
            g["params/layer00_rnn/W"] = np.zeros((8, 9), dtype=np.float32)
        rc, so, se = c.predict(["--checkpoint", bad, "--data", sine, "--out", out])
        c.expect_error("predict: weights that do not match the checkpoint's model", rc, se, 3, bad,
                       "layer00_rnn/W")

        # ---- an existing prediction file is kept without --force, replaced with it
        c.predict_ok(["--checkpoint", ckpt, "--data", sine, "--out", out])
        before = open(out, "rb").read()
        rc, so, se = c.predict(["--checkpoint", ckpt, "--data", sine, "--forecast", "3", "--out", out], np_=2)
        c.expect_error("predict: existing output", rc, se, 3, out, "exists", "--force")
        c.check(open(out, "rb").read() == before, "the existing prediction file is unchanged")
        c.predict_ok(["--checkpoint", ckpt, "--data", sine, "--forecast", "3", "--out", out, "--force"])
        with h5py.File(out, "r") as f:
            c.check("forecast" in f, "--force replaces it")
        rc, so, se = c.predict(["--checkpoint", ckpt, "--data", sine])
        c.expect_error("predict: no --out", rc, se, 2, "--out PRED.h5 is required")
    finally:
        c.cleanup(d)


if __name__ == "__main__":
    main()

"""The course's clean-sine RNN through advml-train and advml-predict.

1. jobs/sine_rnn.json (RNN 64 tanh, window 20, dense 1, MSE, Adam 1e-3,
   batch 32) trained for 10 of its 100 epochs reaches a validation MSE below
   1e-3 (measured 9.6e-5), at least 10x below the first epoch's.
2. advml-predict on the validation split: the file's layout and shapes, the
   one-step MSE equals the run file's last validation loss, and 2 ranks give
   the same predictions as 1.
3. The recursive forecast (the course's feedback of each prediction) has shape
   (H, 1) and equals a NumPy re-implementation of the same recursion with the
   checkpoint's weights, h_t = tanh(U x_t + W h_{t-1} + b), y = V h + c;
   its first value is the one-step prediction of the start window; its truth
   is the validation targets; over the first 10 steps it stays within 0.1 of
   the sine (after 10 epochs; the error grows as the forecast goes on).
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rnncommon as c  # noqa: E402
import h5py  # noqa: E402
import numpy as np  # noqa: E402

EPOCHS = 10
BOUND = 1e-3


def rnn_forecast(p, window, horizon):
    """The recursive forecast of the RNN 64 + dense 1 model in NumPy (float64)."""
    U, W, b = p["layer00_rnn/U"], p["layer00_rnn/W"], p["layer00_rnn/b"]
    V, cb = p["layer01_dense/weight"], p["layer01_dense/bias"]
    win = list(window.astype(np.float64).reshape(-1))
    out = []
    for _ in range(horizon):
        h = np.zeros(U.shape[0])
        for x in win:
            h = np.tanh(U[:, 0] * x + W @ h + b)
        y = float(V[0] @ h + cb[0])
        out.append(y)
        win = win[1:] + [y]
    return np.array(out)


def main():
    data = c.sine_h5()
    src = os.environ["ADVML_SRC"]
    d = c.tmpdir("rnn-sine")
    try:
        run = os.path.join(d, "sine.h5")
        ckpt = os.path.join(d, "sine.ckpt.h5")
        c.run_ok(["--config", os.path.join(src, "jobs", "sine_rnn.json"), "--data", data, "--epochs", str(EPOCHS),
                  "--out", run], timeout=120)
        with h5py.File(run, "r") as f:
            val = f["metrics/epoch/val_loss"][:]
            c.check(f.attrs["status"] == "completed" and len(val) == EPOCHS, "%d epochs completed" % EPOCHS)
        print("validation MSE per epoch: %s" % " ".join("%.3g" % v for v in val))
        c.check(val[-1] < BOUND, "validation MSE after %d epochs %.3g < %g" % (EPOCHS, val[-1], BOUND))
        c.check(val[-1] < val[0] / 10, "validation MSE fell by more than 10x from the first epoch")

        # one-step predictions of the validation split
        pred1 = os.path.join(d, "pred1.h5")
        H = 50
        out = c.predict_ok(["--checkpoint", ckpt, "--data", data, "--split", "validation", "--forecast", str(H),
                            "--out", pred1])
        print(out.strip())
        with h5py.File(pred1, "r") as f, h5py.File(data, "r") as g:
            c.check(f.attrs["format"] == "advml-predictions" and f.attrs["task"] == "regression",
                    "prediction file: format advml-predictions, task regression")
            c.check(f["predictions"].shape == (180, 1) and f["targets"].shape == (180, 1),
                    "predictions and targets are (180, 1)")
            c.check(np.array_equal(f["targets"][:], g["validation/targets"][:]), "targets are the data's")
            mse = float(np.mean((f["predictions"][:] - f["targets"][:]) ** 2))
            c.check(abs(f["metrics"].attrs["mse"] - mse) <= 1e-6 * mse + 1e-12, "/metrics mse is the file's MSE")
            c.check(abs(mse - val[-1]) <= 1e-3 * val[-1],
                    "one-step MSE %.6g equals the run's last validation loss %.6g" % (mse, val[-1]))
            c.check(np.isnan(f["metrics"].attrs["accuracy"]), "no accuracy for a regression")
            fp, ft = f["forecast/predicted"][:], f["forecast/truth"][:]
            c.check(fp.shape == (H, 1) and ft.shape == (H, 1), "forecast and its truth are (%d, 1)" % H)
            c.check(f["forecast"].attrs["start"] == 0 and f["forecast"].attrs["horizon"] == H,
                    "forecast attributes start 0, horizon %d" % H)
            c.check(np.array_equal(ft, g["validation/targets"][:H]), "forecast truth = validation targets 0..H-1")
            c.check(abs(fp[0, 0] - f["predictions"][0, 0]) <= 1e-5,
                    "the first forecast value is the one-step prediction of window 0")
            window = g["validation/inputs"][0]
        ref = rnn_forecast(c.params(ckpt), window, H)
        err = float(np.max(np.abs(ref - fp[:, 0])))
        c.check(err <= 1e-4, "forecast = NumPy recursion with the checkpoint's weights (max diff %.2g)" % err)
        err10 = float(np.max(np.abs(fp[:10, 0] - ft[:10, 0])))
        c.check(err10 < 0.1, "the first 10 forecast steps follow the sine (max error %.3g; measured 0.05)" % err10)

        # A later start, and the forecast past the end of the split (truth NaN there).
        pred2 = os.path.join(d, "pred2.h5")
        c.predict_ok(["--checkpoint", ckpt, "--data", data, "--split", "validation", "--forecast", "30",
                      "--start", "170", "--out", pred2])
        with h5py.File(pred2, "r") as f:
            ft = f["forecast/truth"][:]
            c.check(f["forecast"].attrs["truth_points"] == 10 and np.all(np.isfinite(ft[:10])) and
                    np.all(np.isnan(ft[10:])), "from window 170 of 180: truth for 10 steps, NaN after")
            c.check(np.all(np.isfinite(f["forecast/predicted"][:])), "the forecast continues past the data")

        # Two ranks split the samples and give the same file contents.
        pred3 = os.path.join(d, "pred3.h5")
        c.predict_ok(["--checkpoint", ckpt, "--data", data, "--split", "validation", "--forecast", str(H),
                      "--out", pred3, "--batch-size", "7"], np_=2)
        with h5py.File(pred1, "r") as a, h5py.File(pred3, "r") as b:
            dp = float(np.max(np.abs(a["predictions"][:] - b["predictions"][:])))
            df = float(np.max(np.abs(a["forecast/predicted"][:] - b["forecast/predicted"][:])))
            c.check(dp <= 1e-5 and df <= 1e-5 and b.attrs["nranks"] == 2,
                    "2 ranks (batch 7) give 1 rank's predictions (max diff %.2g, forecast %.2g)" % (dp, df))
    finally:
        c.cleanup(d)


if __name__ == "__main__":
    main()

"""Recursive forecasting reproduces known sequences exactly.

Models whose weights make them exact linear recurrences (a ReLU RNN with
U = I, W = 0, b = 0 passes positive inputs through unchanged; the dense layer
then adds them), so the forecast is known in closed form:

- Fibonacci in the steps layout (windows of 2 steps x 1 feature "x", target
  "x(i)"): x_{n+2} = x_n + x_{n+1}; 25 steps from window 0 give F_2 .. F_26
  exactly (integers below 2^24 are exact in float32), the truth is the data's
  10 targets and NaN after.
- The same in the lag layout (1 step of features "x(i-2)", "x(i-1)", as the
  Keras noisy sine), and without any names (a (N, 1, F) file is read as lags of
  one series, oldest first).
- An exogenous input (features "x", "u", target "x(i)"): x_{i+1} = x_i + u_i,
  u_i = i + 1 comes from the data's next window, x from the prediction:
  x_h = h (h + 1) / 2. Past the data's windows the forecast stops with a
  clear message.
- Windows that are not consecutive, and data with no predicted feature to feed
  back, are refused with clear messages.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rnncommon as c  # noqa: E402
import h5py  # noqa: E402
import numpy as np  # noqa: E402

STEPS_CONFIG = """{"input": [2, 1],
 "model": [{"type": "rnn", "units": 1, "activation": "relu", "return_sequences": true},
           {"type": "flatten"}, {"type": "dense", "units": 1}],
 "loss": "mse", "optimizer": {"name": "sgd", "lr": 1e-6},
 "training": {"epochs": 1, "batch_size": 4, "seed": 1}}
"""
LAG_CONFIG = """{"input": [1, 2],
 "model": [{"type": "rnn", "units": 2, "activation": "relu"}, {"type": "dense", "units": 1}],
 "loss": "mse", "optimizer": {"name": "sgd", "lr": 1e-6},
 "training": {"epochs": 1, "batch_size": 4, "seed": 1}}
"""


def fib(n):
    f = [1.0, 1.0]
    while len(f) < n:
        f.append(f[-1] + f[-2])
    return np.array(f)


def checkpoint(d, name, config, data, weights):
    """Train one step (to get a checkpoint of the trainer's format), then set the weights."""
    cfg = c.write_config(os.path.join(d, name + ".json"), config)
    run = os.path.join(d, "run_" + name + ".h5")
    c.run_ok(["--config", cfg, "--data", data, "--out", run, "--max-steps", "1"])
    ckpt = run[:-3] + ".ckpt.h5"
    c.set_params(ckpt, weights)
    return ckpt


def forecast(d, ckpt, data, horizon, start=0, name="pred"):
    out = os.path.join(d, name + ".h5")
    c.predict_ok(["--checkpoint", ckpt, "--data", data, "--split", "train", "--forecast", str(horizon),
                  "--start", str(start), "--out", out, "--force"])
    with h5py.File(out, "r") as f:
        return f["forecast/predicted"][:, 0].astype(np.float64), f["forecast/truth"][:, 0], dict(f["forecast"].attrs)


def main():
    d = c.tmpdir("rnn-forecast")
    try:
        F = fib(40)
        N, H = 10, 25
        # ---- Fibonacci, steps layout
        x = np.stack([F[i:i + 2] for i in range(N)])[:, :, None]      # (N, 2, 1)
        y = F[2:N + 2, None]                                          # (N, 1)
        steps = c.write_sequences(os.path.join(d, "fib_steps.h5"), x, y, ["x"], ["x(i)"])
        ck = checkpoint(d, "steps", STEPS_CONFIG, steps,
                        {"layer00_rnn/U": [[1]], "layer00_rnn/W": [[0]], "layer00_rnn/b": [0],
                         "layer02_dense/weight": [[1, 1]], "layer02_dense/bias": [0]})
        ck_steps = ck
        pred, truth, attrs = forecast(d, ck, steps, H)
        c.check(pred.shape == (H,), "steps layout: forecast of %d steps" % H)
        c.check(np.array_equal(pred, F[2:H + 2]), "steps layout: the forecast is F_2 .. F_%d exactly" % (H + 1))
        c.check(np.array_equal(truth[:N], y[:, 0]) and np.all(np.isnan(truth[N:])) and attrs["truth_points"] == N,
                "steps layout: truth = the %d targets, NaN after" % N)
        c.check(attrs["mse"] == 0.0, "steps layout: forecast MSE 0 over the data")
        pred, _, attrs = forecast(d, ck, steps, 5, start=4)
        c.check(np.array_equal(pred, F[6:11]) and attrs["start"] == 4, "steps layout: from window 4: F_6 .. F_10")

        # ---- Fibonacci, lag layout (one step of two lag features), named and unnamed
        xl = x.reshape(N, 1, 2)
        wl = {"layer00_rnn/U": np.eye(2), "layer00_rnn/W": np.zeros((2, 2)), "layer00_rnn/b": [0, 0],
              "layer01_dense/weight": [[1, 1]], "layer01_dense/bias": [0]}
        lag = c.write_sequences(os.path.join(d, "fib_lag.h5"), xl, y, ["x(i-2)", "x(i-1)"], ["x(i)"])
        ck = checkpoint(d, "lag", LAG_CONFIG, lag, wl)
        pred, _, attrs = forecast(d, ck, lag, H)
        c.check(np.array_equal(pred, F[2:H + 2]), "lag layout: the forecast is F_2 .. F_%d exactly" % (H + 1))
        c.check("x(i) -> feature x(i-1)" in attrs["feedback"], "lag layout: feedback described: " + attrs["feedback"])
        # the lag features in another order: matched by name, not position
        rev = c.write_sequences(os.path.join(d, "fib_rev.h5"), xl[:, :, ::-1], y, ["x(i-1)", "x(i-2)"], ["x(i)"])
        ckr = checkpoint(d, "rev", LAG_CONFIG, rev, wl)
        pred, _, _ = forecast(d, ckr, rev, H)
        c.check(np.array_equal(pred, F[2:H + 2]), "lag layout, features newest first: matched by name")
        bare = c.write_sequences(os.path.join(d, "fib_bare.h5"), xl, y)
        pred, _, attrs = forecast(d, ck, bare, H)
        c.check(np.array_equal(pred, F[2:H + 2]), "lag layout without names: lags oldest first, exact")

        # ---- an exogenous input from the data: x_{i+1} = x_i + u_i, u_i = i + 1
        M = 12
        u = np.arange(1, M + 1, dtype=np.float64)
        xs = np.concatenate([[0.0], np.cumsum(u)])                   # x_0 .. x_M
        xe = np.stack([xs[:M], u], axis=1)[:, None, :]                # (M, 1, 2)
        exo = c.write_sequences(os.path.join(d, "exo.h5"), xe, xs[1:M + 1, None], ["x", "u"], ["x(i)"])
        ck = checkpoint(d, "exo", LAG_CONFIG, exo, wl)
        pred, _, attrs = forecast(d, ck, exo, M)
        h = np.arange(1, M + 1)
        c.check(np.array_equal(pred, h * (h + 1) / 2.0), "exogenous u from the data: x_h = h (h + 1) / 2 exactly")
        c.check("feature u from the data" in attrs["feedback"], "exogenous: described: " + attrs["feedback"])
        rc, out, err = c.predict(["--checkpoint", ck, "--data", exo, "--split", "train", "--forecast", str(M + 1),
                                  "--out", os.path.join(d, "x.h5")])
        c.expect_error("exogenous input past the data", rc, err, 2, "come from the data", "only %d windows" % M,
                       "at most %d" % M)
        c.check(not os.path.exists(os.path.join(d, "x.h5")), "no prediction file after the error")

        # ---- refused: windows not consecutive, nothing to feed back
        shuf = c.write_sequences(os.path.join(d, "shuf.h5"), x[[0, 2, 1, 3]], y[[0, 2, 1, 3]], ["x"], ["x(i)"])
        ck = ck_steps
        rc, out, err = c.predict(["--checkpoint", ck, "--data", shuf, "--split", "train", "--forecast", "3",
                                  "--out", os.path.join(d, "x.h5")])
        c.expect_error("shuffled windows", rc, err, 3, "windows 0 and 1", "not consecutive", shuf)
        other = c.write_sequences(os.path.join(d, "other.h5"), x, y, ["a"], ["b(i)"])
        rc, out, err = c.predict(["--checkpoint", ck, "--data", other, "--split", "train", "--forecast", "3",
                                  "--out", os.path.join(d, "x.h5")])
        c.expect_error("no feature to feed back", rc, err, 3, "nothing to feed back", "features: a", "targets: b(i)")
        rc, out, err = c.predict(["--checkpoint", ck, "--data", steps, "--split", "train", "--forecast", "3",
                                  "--start", "10", "--out", os.path.join(d, "x.h5")])
        c.expect_error("--start past the split", rc, err, 2, "--start 10", "windows 0..9")
    finally:
        c.cleanup(d)


if __name__ == "__main__":
    main()

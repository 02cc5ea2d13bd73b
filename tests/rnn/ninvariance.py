"""N-invariance of recurrent training: the global batch is the invariant, so
RNN, LSTM and GRU models trained on 1 and 2 ranks reach the same weights (up to
float summation order), through the same advml-train path as the CNNs.

The course's clean sine (780 training windows of 20 x 1); batch 50, so each
epoch has 15 full batches and one of 30 (25/25 and 15/15 samples per rank);
2 epochs, so the per-epoch permutation and the optimizer state take part.
Stacked cells (return_sequences into a second cell) and gradient clipping by
global norm (clip_norm, on the allreduced gradient, so identical on every
rank) are part of the configs. A run without clipping must give clearly
different weights (the clipping is really active).

Tolerance: max |w_2 - w_1| <= 2e-5 (as the CNN test); losses to 1e-5.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rnncommon as c  # noqa: E402
import h5py  # noqa: E402
import numpy as np  # noqa: E402

CONFIG = """{
  "input": [20, 1],
  "model": [
    {"type": "%s", "units": 12, "return_sequences": true%s},
    {"type": "%s", "units": 8%s},
    {"type": "dense", "units": 1}
  ],
  "loss": "mse",
  "optimizer": {"name": "%s", "lr": %s},
  "training": {"epochs": 2, "batch_size": 50, "seed": 7, "clip_norm": %s}
}
"""
TOL_W = 2e-5
TOL_LOSS = 1e-5


def main():
    data = c.sine_h5()
    d = c.tmpdir("rnn-ninv")
    try:
        cases = (("rnn", ', "activation": "tanh"', "adam", "3e-3", "0.05"),
                 ("lstm", "", "rmsprop", "1e-3", "0.05"),
                 ("gru", "", "momentum", "0.05", "0.05"))
        for cell, act, opt, lr, clip in cases:
            cfg = c.write_config(os.path.join(d, "%s.json" % cell), CONFIG % (cell, act, cell, act, opt, lr, clip))
            runs = {}
            for n in (1, 2):
                out = os.path.join(d, "%s_n%d.h5" % (cell, n))
                c.run_ok(["--config", cfg, "--data", data, "--out", out], np_=n)
                runs[n] = out
            ref = c.params(runs[1][:-3] + ".ckpt.h5")
            w2 = c.params(runs[2][:-3] + ".ckpt.h5")
            diff = c.max_diff(ref, w2)
            print("%s: N=2 vs N=1: max |dw| = %.3g (tolerance %.0e)" % (cell, diff, TOL_W))
            c.check(diff <= TOL_W, "%s: weights on 2 ranks match 1 rank" % cell)
            with h5py.File(runs[1], "r") as f1, h5py.File(runs[2], "r") as f2:
                c.check(f1["metrics/epoch/step"][-1] == 32, "%s: 32 steps in 2 epochs" % cell)
                for k in ("metrics/epoch/train_loss", "metrics/epoch/val_loss", "metrics/step/loss"):
                    dl = float(np.max(np.abs(f1[k][:] - f2[k][:])))
                    c.check(dl <= TOL_LOSS, "%s: %s on 2 ranks matches 1 rank (max diff %.3g)" % (cell, k, dl))
                c.check(np.all(np.isfinite(f1["metrics/step/loss"][:])), "%s: the loss stays finite" % cell)

            # The clipping is active: without it the weights differ far beyond the tolerance.
            free = os.path.join(d, "%s_noclip.h5" % cell)
            cfg_nc = c.write_config(os.path.join(d, "%s_nc.json" % cell), CONFIG % (cell, act, cell, act, opt, lr, "0"))
            c.run_ok(["--config", cfg_nc, "--data", data, "--out", free], np_=1)
            diff = c.max_diff(ref, c.params(free[:-3] + ".ckpt.h5"))
            print("%s: clip_norm %s vs none: max |dw| = %.3g" % (cell, clip, diff))
            c.check(diff > 100 * TOL_W, "%s: clipping the gradient norm changes the trajectory" % cell)
    finally:
        c.cleanup(d)


if __name__ == "__main__":
    main()

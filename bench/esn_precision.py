#!/usr/bin/python3
"""esn_precision.py - does float32 limit an ESN's valid prediction time? (bench/README.md)

The chaos benchmark's Lorenz-63 ESN re-implemented in NumPy and run twice with the same
reservoir: once in float32 (as advml trains and forecasts) and once in float64. The
reservoir: H units, W with 1% non-zeros U(-1, 1) scaled to spectral radius 0.5, W_in
U(+-0.2), b U(+-0.5), leak 1, every window of the data file run from a zero state; the
readout sees [h_T (the even units squared: square_states), x_T]; ridge with an unpenalised
bias (centred, solved in double from the features of the given precision). The closed-loop
forecast slides the window as advml-predict --forecast does, from the held-out windows
100 + i * horizon (i < 5); the VPT is scored as bench/chaos_vpt.py scores it (threshold 0.4).

Usage: /usr/bin/python3 bench/esn_precision.py DATA.h5 [--units 500] [--ridge-lambda 1e-7]
           [--horizon 700] [--no-square]
DATA.h5: advml-data lorenz63 --sample-every 2 --window 20 (any advml-data chaos file).
Prints one line per precision: the mean VPT, the 5 VPTs and the one-step normalised error.
"""
import argparse
import os
import sys

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import chaos_vpt  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("data")
    ap.add_argument("--units", type=int, default=500)
    ap.add_argument("--ridge-lambda", type=float, default=1e-7)
    ap.add_argument("--horizon", type=int, default=700)
    ap.add_argument("--no-square", action="store_true")
    ap.add_argument("--seed", type=int, default=7)
    a = ap.parse_args()
    try:
        norm2, dt, le = chaos_vpt.read_data(a.data)
        with h5py.File(a.data, "r") as f:
            xtr, ytr = f["train/inputs"][:], f["train/targets"][:].astype(np.float64)
            xva, yva = f["validation/inputs"][:], f["validation/targets"][:].astype(np.float64)
    except (chaos_vpt.VptError, OSError, KeyError) as e:
        sys.exit(f"esn_precision.py: {a.data}: {e}")
    H, F = a.units, xtr.shape[2]
    starts = [100 + i * a.horizon for i in range(5)]
    if starts[-1] + a.horizon > len(yva):
        sys.exit(f"esn_precision.py: {len(yva)} held-out windows are too few for 5 forecasts of {a.horizon}")
    rng = np.random.default_rng(a.seed)
    W = rng.uniform(-1, 1, (H, H)) * (rng.random((H, H)) >= 0.99)
    W *= 0.5 / np.abs(np.linalg.eigvals(W)).max()
    w_in, b = rng.uniform(-0.2, 0.2, (H, F)), rng.uniform(-0.5, 0.5, H)

    for name, dtype in (("float32", np.float32), ("float64", np.float64)):
        Wd, Wi, bd = W.astype(dtype), w_in.astype(dtype), b.astype(dtype)

        def features(x):
            h = np.zeros((x.shape[0], H), dtype)
            for t in range(x.shape[1]):
                h = np.tanh(x[:, t].astype(dtype) @ Wi.T + h @ Wd.T + bd)
            if not a.no_square:
                h[:, 0::2] = h[:, 0::2] ** 2
            return np.concatenate([h, x[:, -1].astype(dtype)], axis=1)

        X = features(xtr).astype(np.float64)
        mx, my = X.mean(0), ytr.mean(0)
        Xc = X - mx
        w_out = np.linalg.solve(Xc.T @ Xc + a.ridge_lambda * np.eye(X.shape[1]), Xc.T @ (ytr - my)).T
        c = my - w_out @ mx
        w_out_d, c_d = w_out.astype(dtype), c.astype(dtype)
        win = np.stack([xva[s] for s in starts]).astype(dtype)  # (5, T, F)
        preds = []
        for _ in range(a.horizon):
            y = features(win) @ w_out_d.T + c_d
            preds.append(y)
            win = np.concatenate([win[:, 1:], y[:, None, :]], axis=1)
        pred = np.stack(preds, 1).astype(np.float64)
        vpts = [chaos_vpt.vpt(chaos_vpt.normalised_error(pred[i], yva[s:s + a.horizon], norm2), 0.4, dt, le)[0]
                for i, s in enumerate(starts)]
        n = min(2000, len(xva))
        one = features(xva[:n]).astype(np.float64) @ w_out.T + c - yva[:n]
        print(f"{name}: {H} units, lambda {a.ridge_lambda:g}, square_states {not a.no_square}: VPT mean "
              f"{np.mean(vpts):.2f} ({', '.join('%.2f' % v for v in vpts)}); one-step error "
              f"{np.sqrt(np.mean(np.sum(one ** 2, 1)) / norm2):.2e}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

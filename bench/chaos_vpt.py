#!/usr/bin/python3
"""chaos_vpt.py - the valid prediction time (VPT) of recursive forecasts of a chaotic system.

  chaos_vpt.py DATA.h5 PRED.h5... [--threshold 0.4]

DATA.h5 is the advml-data lorenz63, lorenz96 or ks file the model was trained on, PRED.h5 the
advml-predict --forecast outputs (one per initial point). For a forecast y_hat(t) of the
truth y(t) (both in the windows' units: standardised per component by default) the
normalised error is

    E(t) = ||y(t) - y_hat(t)|| / sqrt(<||y||^2>)

with <.> the mean over the training targets (Pathak et al.'s normalisation; with standardised
components sqrt(<||y||^2>) is about sqrt(D), so E is the root-mean-square error per component
in units of each component's standard deviation, the NRMSE of Vlachas et al.). Forecast row h
(0-based) is the state h + 1 sampling steps after the window; the VPT is the time before the
first row with E > threshold, in Lyapunov times: h* * sampling_step * lambda (lambda from the
data file's /series attributes). A forecast that never passes the threshold within its truth
gets its whole length, marked censored. Prints one line per file and, last,
"RESULT vpt_mean X", "RESULT vpt_min X", "RESULT vpt_max X", "RESULT censored N".

The persistence forecast y_hat(t) = y(t0), the last state of the forecast's first window
held for the whole horizon, is the floor any model should beat: when DATA.h5 has the
forecast's split (its /forecast "split" attribute, else validation), its VPT is scored the
same way, from the same points, and printed as "RESULT persistence_mean X" (also _min, _max).
"""

import argparse
import sys

import h5py
import numpy as np


def normalised_error(pred, truth, norm2):
    """E per row: ||truth - pred|| / sqrt(norm2) over the rows where truth is finite."""
    pred, truth = np.asarray(pred, dtype=np.float64), np.asarray(truth, dtype=np.float64)
    ok = np.all(np.isfinite(truth), axis=1)
    return np.sqrt(np.sum((truth[ok] - pred[ok]) ** 2, axis=1) / norm2)


def valid_steps(err, threshold):
    """(steps, censored): the number of rows before the first with err > threshold
    (a non-finite error counts as past it); all rows and True when none is."""
    bad = ~(np.asarray(err) <= threshold)
    if not bad.any():
        return len(err), True
    return int(np.argmax(bad)), False


def vpt(err, threshold, dt, le):
    """(VPT in Lyapunov times, censored)."""
    n, censored = valid_steps(err, threshold)
    return n * dt * le, censored


class VptError(Exception):
    pass


def read_data(path):
    """(norm2, sampling_step, lambda) of a chaos dataset file."""
    try:
        with h5py.File(path, "r") as f:
            a = f["series"].attrs
            le, dt = float(a["lyapunov_exponent"]), float(a["sampling_step"])
            y = f["train/targets"][:].astype(np.float64)
    except (OSError, KeyError) as e:
        raise VptError(f"{path}: not an advml-data lorenz63, lorenz96 or ks file ({e})") from None
    return float(np.mean(np.sum(y ** 2, axis=1))), dt, le


def read_forecast(path):
    """(predicted, truth, start, split)."""
    try:
        with h5py.File(path, "r") as f:
            a = f["forecast"].attrs
            split = a["split"] if "split" in a else "validation"
            split = split.decode() if isinstance(split, bytes) else str(split)
            return f["forecast/predicted"][:], f["forecast/truth"][:], int(a["start"]), split
    except (OSError, KeyError) as e:
        raise VptError(f"{path}: not an advml-predict --forecast file ({e})") from None


def persistence(data, split, start, horizon):
    """The persistence forecast (horizon, D): the last state of window start of the split,
    repeated; None when the data file has no inputs for the split."""
    with h5py.File(data, "r") as f:
        key = f"{split}/inputs"
        if key not in f:
            return None
        last = f[key][start, -1, :].astype(np.float64)
    return np.tile(last, (horizon, 1))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__.split("\n\n", 1)[1],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("data")
    ap.add_argument("pred", nargs="+")
    ap.add_argument("--threshold", type=float, default=0.4, help="E threshold (default 0.4)")
    a = ap.parse_args(argv)
    if not a.threshold > 0:
        ap.error(f"--threshold {a.threshold}: must be positive")
    try:
        norm2, dt, le = read_data(a.data)
        vals, cens, pers = [], 0, []
        for p in a.pred:
            pred, truth, start, split = read_forecast(p)
            err = normalised_error(pred, truth, norm2)
            v, c = vpt(err, a.threshold, dt, le)
            vals.append(v)
            cens += c
            line = f"{p}: start {start}: VPT {v:.3f} Lyapunov times{' (censored: the whole forecast)' if c else ''}"
            hold = persistence(a.data, split, start, len(truth))
            if hold is not None:
                pv, pc = vpt(normalised_error(hold, truth, norm2), a.threshold, dt, le)
                pers.append(pv)
                line += f"; persistence {pv:.3f}{' (censored)' if pc else ''}"
            print(line)
    except VptError as e:
        sys.exit(f"chaos_vpt.py: {e}")
    print(f"RESULT vpt_mean {np.mean(vals):.4f}")
    print(f"RESULT vpt_min {np.min(vals):.4f}")
    print(f"RESULT vpt_max {np.max(vals):.4f}")
    print(f"RESULT censored {cens}")
    if len(pers) == len(vals):
        print(f"RESULT persistence_mean {np.mean(pers):.4f}")
        print(f"RESULT persistence_min {np.min(pers):.4f}")
        print(f"RESULT persistence_max {np.max(pers):.4f}")


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""torch_chaos.py - the chaos benchmark's BPTT cells in PyTorch, for bench/run_chaos.sh.

The same model and recipe as run_chaos.sh gives advml: nn.RNN (tanh), nn.LSTM or nn.GRU
(batch_first) over windows of the whole state, nn.Linear on the last step to the next
state, MSELoss, Adam lr 1e-3, batch 32 shuffled, the gradients clipped to global norm 1,
seed 1; trained in stages of E epochs. After every stage the recursive forecast runs from
the same initial points as advml-predict --forecast in run_chaos.sh (window p_i - W of the
held-out split, p_i = 100 + i * horizon): each prediction is appended to the window and
the oldest step dropped. The valid prediction time is scored by chaos_vpt.py's functions
(the same normalisation and threshold). The windows come from the advml-data file advml
trains on, so both see the same data. ONE thread (advml's 1-rank time is its comparison).

Reported as "RESULT key value" lines:
  stage_<k>_epochs, stage_<k>_vpt_mean, stage_<k>_train_s   per stage (k = 1 ..)
  vpt_mean, vpt_min, vpt_max, censored                       after the last stage
  best_vpt, best_epochs, best_train_s, all_train_s           the best stage (by mean VPT)
train_s counts the training part of the epochs only (forward, backward, clipping, step),
as advml's epoch_seconds.

Usage: /usr/bin/python3 bench/torch_chaos.py DATA.h5 --model lstm --units 64 --stage 5 \\
           --stages 6 --horizon 700 [--starts 5] [--threshold 0.4] [--seed 1]
"""
import time

import os

os.environ["OMP_NUM_THREADS"] = "1"
os.environ["OPENBLAS_NUM_THREADS"] = "1"
os.environ.setdefault("MKL_NUM_THREADS", "1")

import argparse  # noqa: E402
import sys  # noqa: E402

import h5py  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import chaos_vpt  # noqa: E402

CELLS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


class Forecaster(nn.Module):
    """cell over the window, then a linear map of the last step's output to the next state."""

    def __init__(self, kind, dim, units):
        super().__init__()
        self.cell = CELLS[kind](dim, units, batch_first=True)
        self.fc = nn.Linear(units, dim)

    def forward(self, x):
        out, _ = self.cell(x)
        return self.fc(out[:, -1, :])


def forecast(model, windows, horizon):
    """(starts, horizon, dim): closed-loop forecasts from each window (starts, W, dim)."""
    seq, preds = windows.clone(), []
    with torch.no_grad():
        for _ in range(horizon):
            p = model(seq)
            preds.append(p)
            seq = torch.cat([seq[:, 1:, :], p.unsqueeze(1)], dim=1)
    return torch.stack(preds, dim=1).numpy()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("data")
    ap.add_argument("--model", choices=sorted(CELLS), required=True)
    ap.add_argument("--units", type=int, required=True)
    ap.add_argument("--stage", type=int, required=True, help="epochs per stage")
    ap.add_argument("--stages", type=int, required=True)
    ap.add_argument("--horizon", type=int, required=True)
    ap.add_argument("--starts", type=int, default=5)
    ap.add_argument("--threshold", type=float, default=0.4)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(a.seed)
    try:
        norm2, dt, le = chaos_vpt.read_data(a.data)
        with h5py.File(a.data, "r") as f:
            xtr = torch.tensor(f["train/inputs"][:], dtype=torch.float32)  # (N, W, D)
            ytr = torch.tensor(f["train/targets"][:], dtype=torch.float32)  # (N, D)
            xva = f["validation/inputs"][:]
            yva = f["validation/targets"][:].astype(np.float64)
    except (chaos_vpt.VptError, OSError, KeyError) as e:
        sys.exit(f"torch_chaos.py: {a.data}: {e}")
    w, dim = xtr.shape[1], xtr.shape[2]
    starts = [100 + i * a.horizon - w for i in range(a.starts)]
    if starts[-1] + a.horizon > len(yva):
        sys.exit(f"torch_chaos.py: the held-out split ({len(yva)} windows) is too short for {a.starts} "
                 f"forecasts of {a.horizon}")
    windows = torch.tensor(np.stack([xva[s] for s in starts]), dtype=torch.float32)
    model = Forecaster(a.model, dim, a.units)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.MSELoss()
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(xtr, ytr), batch_size=32, shuffle=True)
    print(f"PyTorch {torch.__version__}: {a.model}({a.units}) on {a.data}: {len(xtr)} windows of {w} x {dim}; "
          f"{a.stages} stages of {a.stage} epochs; threads {torch.get_num_threads()}", flush=True)
    train_s, best = 0.0, (-1.0, 0, 0.0)
    for k in range(1, a.stages + 1):
        model.train()
        for _ in range(a.stage):
            t0 = time.perf_counter()
            for xb, yb in loader:
                opt.zero_grad()
                loss = loss_fn(model(xb), yb)
                loss.backward()
                nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                opt.step()
            train_s += time.perf_counter() - t0
        model.eval()
        pred = forecast(model, windows, a.horizon)
        vpts, cens = [], 0
        for i, s in enumerate(starts):
            err = chaos_vpt.normalised_error(pred[i], yva[s:s + a.horizon], norm2)
            v, c = chaos_vpt.vpt(err, a.threshold, dt, le)
            vpts.append(v)
            cens += c
        mean = float(np.mean(vpts))
        print(f"stage {k}: {k * a.stage} epochs, train loss {loss.item():.3g}, VPT mean {mean:.2f} "
              f"({', '.join('%.2f' % v for v in vpts)}), {train_s:.2f} s of training", flush=True)
        print(f"RESULT stage_{k}_epochs {k * a.stage}")
        print(f"RESULT stage_{k}_vpt_mean {mean:.4f}")
        print(f"RESULT stage_{k}_train_s {train_s:.3f}")
        if mean > best[0]:
            best = (mean, k * a.stage, train_s)
    print(f"RESULT vpt_mean {mean:.4f}")
    print(f"RESULT vpt_min {min(vpts):.4f}")
    print(f"RESULT vpt_max {max(vpts):.4f}")
    print(f"RESULT censored {cens}")
    print(f"RESULT best_vpt {best[0]:.4f}")
    print(f"RESULT best_epochs {best[1]}")
    print(f"RESULT best_train_s {best[2]:.3f}")
    print(f"RESULT all_train_s {train_s:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
"""torch_rnn.py - the PyTorch twin of bench_rnn.c.

CELL(64) over windows of 20 steps x 1 feature (batch_first, as the course),
the last step's output, nn.Linear(64, 1), nn.MSELoss (mean over the batch),
Adam lr 1e-3, batch 32, ONE thread; CELL = nn.RNN (tanh), nn.LSTM, nn.GRU.
The data are the course's sine windows (sin over linspace(0, 4 pi, 1000),
first 800 points, windows of 20 predicting the next value), cut into the same
24 batches of 32 the C benchmark cycles through. A timed step is
zero_grad + forward + loss + backward + optimizer.step.

PyTorch at its best settings here: OMP_NUM_THREADS=1 and OPENBLAS_NUM_THREADS=1
set before torch is imported, torch.set_num_threads(1), and (from
bench/run_rnn.sh) MALLOC_MMAP_THRESHOLD_ / MALLOC_TRIM_THRESHOLD_ so that glibc
keeps freed memory instead of returning it (and page-faulting it back) every
step. The settings in force are printed.

Usage: /usr/bin/python3 bench/torch_rnn.py [--cells rnn,lstm,gru] [--warmup N] [--steps N]
                                            [--batch B] [--hidden H] [--window T] [--seed S]
Prints a report, then "RESULT CELL_key value" lines.
"""
import os

# One thread everywhere, before torch is imported.
os.environ["OMP_NUM_THREADS"] = "1"
os.environ["OPENBLAS_NUM_THREADS"] = "1"
os.environ.setdefault("MKL_NUM_THREADS", "1")

import argparse  # noqa: E402
import math  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import torch  # noqa: E402
from torch import nn  # noqa: E402


class Model(nn.Module):
    """The course's RNNModel with the cell as a parameter."""

    def __init__(self, cell, hidden):
        super().__init__()
        self.rnn = cell(1, hidden, batch_first=True)
        self.fc = nn.Linear(hidden, 1)

    def forward(self, x):
        out, _ = self.rnn(x)          # (B, T, H)
        return self.fc(out[:, -1, :])  # last time step


def sine_batches(B, T):
    """The first (800 - T) // B batches of the course's training windows, in order."""
    s = [math.sin(4.0 * math.pi * i / 999) for i in range(800)]  # linspace(0, 4 pi, 1000)[:800]
    series = torch.tensor(s, dtype=torch.float32)
    nbatch = (800 - T) // B
    if nbatch < 1:
        sys.exit("torch_rnn.py: window %d and batch %d leave no full batch of the 800 training points" % (T, B))
    out = []
    for k in range(nbatch):
        idx = torch.arange(k * B, (k + 1) * B)
        x = torch.stack([series[i:i + T] for i in idx]).unsqueeze(-1).contiguous()  # (B, T, 1)
        y = series[idx + T].unsqueeze(-1).contiguous()                              # (B, 1)
        out.append((x, y))
    return out


def median(v):
    v = sorted(v)
    n = len(v)
    return v[n // 2] if n % 2 else 0.5 * (v[n // 2 - 1] + v[n // 2])


def bench_cell(name, cell, a, batches):
    torch.manual_seed(a.seed)
    model = Model(cell, a.hidden)
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    lossf = nn.MSELoss()
    nparams = sum(p.numel() for p in model.parameters())

    def step(s):
        x, y = batches[s % len(batches)]
        opt.zero_grad()
        loss = lossf(model(x), y)
        loss.backward()
        opt.step()
        return loss.item()

    first = last = None
    for s in range(a.warmup):
        last = step(s)
        first = last if first is None else first
    times = []
    t0 = time.perf_counter()
    c0 = time.process_time()
    for s in range(a.warmup, a.warmup + a.steps):
        ts = time.perf_counter()
        last = step(s)
        times.append(time.perf_counter() - ts)
        first = last if first is None else first
    mean = (time.perf_counter() - t0) / a.steps
    cpu = (time.process_time() - c0) / a.steps
    dt = median(times)
    sps = a.batch / dt
    print("\n%s: %d parameters; loss (batch mean) first step %.5f, last step %.5f" % (name, nparams, first, last))
    print("  step: median %.4f ms  ->  %.1f sequences/s  (mean %.4f ms, best %.4f ms, CPU time %.4f ms)" % (
        1e3 * dt, sps, 1e3 * mean, 1e3 * min(times), 1e3 * cpu))
    print("RESULT %s_seqs_per_s %.2f" % (name, sps))
    print("RESULT %s_step_ms %.5f" % (name, 1e3 * dt))
    print("RESULT %s_step_cpu_ms %.5f" % (name, 1e3 * cpu))
    print("RESULT %s_loss_last %.6f" % (name, last))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cells", default="rnn,lstm,gru")
    ap.add_argument("--warmup", type=int, default=50)
    ap.add_argument("--steps", type=int, default=500)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--hidden", type=int, default=64)
    ap.add_argument("--window", type=int, default=20)
    ap.add_argument("--seed", type=int, default=42)
    a = ap.parse_args()
    if a.warmup < 0 or a.steps < 1 or a.batch < 1 or a.hidden < 1 or a.window < 1:
        sys.exit("torch_rnn.py: --warmup >= 0 and --steps, --batch, --hidden, --window >= 1 are required")
    cells = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}
    wanted = [c for c in a.cells.split(",") if c]
    bad = [c for c in wanted if c not in cells]
    if bad or not wanted:
        sys.exit("torch_rnn.py: --cells takes a comma-separated list of rnn, lstm, gru; got '%s'" % a.cells)

    torch.set_num_threads(1)
    batches = sine_batches(a.batch, a.window)
    print("PyTorch training step: CELL(%d) over %d steps x 1 feature (batch_first), last step, Linear %d->1, "
          "MSELoss, Adam lr 1e-3, batch %d; %d sine batches cycled; %d warm-up + %d timed steps per cell" % (
              a.hidden, a.window, a.hidden, a.batch, len(batches), a.warmup, a.steps))
    print("settings: torch %s, torch.get_num_threads()=%d, OMP_NUM_THREADS=%s, OPENBLAS_NUM_THREADS=%s, "
          "MKL_NUM_THREADS=%s, OPENBLAS_CORETYPE=%s, MALLOC_MMAP_THRESHOLD_=%s, MALLOC_TRIM_THRESHOLD_=%s, "
          "mkldnn=%s" % (
              torch.__version__, torch.get_num_threads(), os.environ.get("OMP_NUM_THREADS"),
              os.environ.get("OPENBLAS_NUM_THREADS"), os.environ.get("MKL_NUM_THREADS"),
              os.environ.get("OPENBLAS_CORETYPE", "(unset)"),
              os.environ.get("MALLOC_MMAP_THRESHOLD_", "(unset)"),
              os.environ.get("MALLOC_TRIM_THRESHOLD_", "(unset)"),
              torch.backends.mkldnn.is_available()))
    for name in ("rnn", "lstm", "gru"):
        if name in wanted:
            bench_cell(name, cells[name], a, batches)


if __name__ == "__main__":
    main()

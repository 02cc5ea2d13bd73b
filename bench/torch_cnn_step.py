#!/usr/bin/python3
"""torch_cnn_step.py - the PyTorch twin of bench_cnn_step.c.

The course's MNIST CNN (conv 1->32 3x3 pad 1, ReLU, maxpool 2; conv 32->64
3x3 pad 1, ReLU, maxpool 2; flatten; linear 3136->1024, ReLU; dropout 0.5;
linear 1024->10), CrossEntropyLoss (mean over the batch), Adam lr 1e-3,
batch 64 of random 1x28x28 inputs and labels, ONE thread. A timed step is
zero_grad + forward + loss + backward + optimizer.step, as in the C benchmark.

Run it through bench/run_cnn_step.sh, which also sets
MALLOC_MMAP_THRESHOLD_ / MALLOC_TRIM_THRESHOLD_ so that glibc keeps freed
memory (without them PyTorch page-faults thousands of times a step here).

Usage: /usr/bin/python3 bench/torch_cnn_step.py [--warmup N] [--steps N] [--batch B] [--seed S]
Prints a report, then "RESULT key value" lines.
"""
import os

# One thread everywhere, before torch is imported.
os.environ["OMP_NUM_THREADS"] = "1"
os.environ["OPENBLAS_NUM_THREADS"] = "1"
os.environ.setdefault("MKL_NUM_THREADS", "1")

import argparse  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import torch  # noqa: E402
from torch import nn  # noqa: E402


def faults():
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_minflt + ru.ru_majflt


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--seed", type=int, default=42)
    a = ap.parse_args()
    if a.warmup < 0 or a.steps < 1 or a.batch < 1:
        sys.exit("torch_cnn_step.py: --warmup >= 0, --steps >= 1 and --batch >= 1 are required")

    torch.set_num_threads(1)
    torch.manual_seed(a.seed)
    model = nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(64 * 7 * 7, 1024), nn.ReLU(), nn.Dropout(0.5),
        nn.Linear(1024, 10))
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    lossf = nn.CrossEntropyLoss()
    B = a.batch
    x = torch.rand(B, 1, 28, 28) * 3.0 - 0.5
    y = torch.randint(0, 10, (B,))
    nparams = sum(p.numel() for p in model.parameters())

    def step():
        opt.zero_grad()
        loss = lossf(model(x), y)
        loss.backward()
        opt.step()
        return loss.item()

    foreach = opt.defaults.get("foreach")
    print("PyTorch training step: course CNN, batch %d, Adam lr 1e-3, %d parameters" % (B, nparams))
    print("settings: torch %s, torch.get_num_threads()=%d, OMP_NUM_THREADS=%s, OPENBLAS_NUM_THREADS=%s, "
          "MKL_NUM_THREADS=%s, OPENBLAS_CORETYPE=%s, MALLOC_MMAP_THRESHOLD_=%s, MALLOC_TRIM_THRESHOLD_=%s, "
          "mkldnn=%s, Adam foreach=%s, zero_grad() default" % (
              torch.__version__, torch.get_num_threads(), os.environ.get("OMP_NUM_THREADS"),
              os.environ.get("OPENBLAS_NUM_THREADS"), os.environ.get("MKL_NUM_THREADS"),
              os.environ.get("OPENBLAS_CORETYPE", "(unset)"),
              os.environ.get("MALLOC_MMAP_THRESHOLD_", "(unset)"),
              os.environ.get("MALLOC_TRIM_THRESHOLD_", "(unset)"),
              torch.backends.mkldnn.is_available(), foreach))

    first = last = None
    for s in range(a.warmup):
        last = step()
        first = last if first is None else first
    f0 = faults()
    times = []
    t0 = time.perf_counter()
    c0 = time.process_time()
    for s in range(a.steps):
        ts = time.perf_counter()
        last = step()
        times.append(time.perf_counter() - ts)
        first = last if first is None else first
    mean = (time.perf_counter() - t0) / a.steps
    cpu = (time.process_time() - c0) / a.steps
    nf = faults() - f0
    times.sort()
    n = len(times)
    dt = times[n // 2] if n % 2 else 0.5 * (times[n // 2 - 1] + times[n // 2])
    ips = B / dt
    print("loss (mean over batch, the same batch every step): first step %.4f, last step %.4f" % (first, last))
    print("step: median %.3f ms  ->  %.1f images/s  (mean %.3f ms, best %.3f ms, CPU time %.3f ms; "
          "%d warm-up + %d timed steps)" % (1e3 * dt, ips, 1e3 * mean, 1e3 * times[0], 1e3 * cpu, a.warmup, a.steps))
    print("page faults during the timed steps: %d (%.2f per step)" % (nf, nf / a.steps))
    print("RESULT images_per_s %.2f" % ips)
    print("RESULT step_ms %.4f" % (1e3 * dt))
    print("RESULT step_cpu_ms %.4f" % (1e3 * cpu))
    print("RESULT faults_per_step %.3f" % (nf / a.steps))


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""torch_mnist_tta.py - PyTorch's side of bench/run_time_to_accuracy.sh: the recipe of
jobs/mnist_fast.json, trained for one epoch on data/mnist.h5 with
DistributedDataParallel (gloo) on --nproc processes of one thread each (or on one
process), then the test split evaluated once.

The recipe, as advml's config says it:
  conv 1->32 3x3 pad 1 (no bias), BatchNorm2d, ReLU, maxpool 2;
  conv 32->64 3x3 pad 1 (no bias), BatchNorm2d, ReLU, maxpool 2; flatten;
  linear 3136->128 (no bias), BatchNorm1d, ReLU; linear 128->10;
  PyTorch's default initialisation (advml's "torch"); BatchNorm momentum 0.1, eps 1e-5;
  CrossEntropyLoss (mean over the batch); Adam with OneCycleLR (max_lr --lr, the whole
  epoch, pct_start 0.25, div_factor 25, final_div_factor 1e4, cosine annealing,
  cycle_momentum False: advml's onecycle schedule); global batch --batch-size
  (split evenly over the processes), one epoch of a fresh permutation (DistributedSampler).
BatchNorm in DDP normalises over each process's part of the batch (PyTorch's default;
SyncBatchNorm needs a GPU); advml's batchnorm uses the global batch.

The data are advml's dataset file read with h5py and normalised as advml does (MNIST:
(raw / 255 - 0.1307) / 0.3081), held in memory as float32 tensors, batches cut by
indexing. One thread per process: OMP_NUM_THREADS=1 before torch is imported and
torch.set_num_threads(1). --bind pins process r to CPU r.

Timing: train_seconds is the training loop; eval_seconds the test evaluation on rank 0
(model.eval(), no_grad, batches of 1000); run_time_to_accuracy.sh also times the whole
command from launch to exit.

Usage: /usr/bin/python3 bench/torch_mnist_tta.py --data data/mnist.h5 [--nproc P] [--bind]
           [--batch-size B] [--lr LR] [--seed S] [--timeout SEC]
Prints a line per 100 steps, then "RESULT key value" lines (rank 0).
"""
import os

import torch_ddp  # noqa: E402,F401  (first: one thread per process, before torch)
import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import torch  # noqa: E402
import torch.distributed as dist  # noqa: E402
from torch import nn  # noqa: E402

from torch_ddp import die, evaluate, launch, load_split  # noqa: E402


def make_model():
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1, bias=False), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1, bias=False), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(64 * 7 * 7, 128, bias=False), nn.BatchNorm1d(128), nn.ReLU(),
        nn.Linear(128, 10))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--batch-size", type=int, default=128, help="global, split over the processes")
    ap.add_argument("--lr", type=float, default=0.004, help="the one-cycle peak")
    ap.add_argument("--nproc", type=int, default=1)
    ap.add_argument("--bind", action="store_true", help="pin process r to CPU r")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--timeout", type=int, default=3600, help="seconds (launcher of --nproc > 1)")
    a = ap.parse_args()
    if a.nproc < 1 or a.batch_size < a.nproc or a.batch_size % a.nproc or not a.lr > 0:
        die("--nproc >= 1, --batch-size a multiple of it, --lr > 0")
    if not os.path.exists(a.data):
        die("%s: no such file" % a.data)
    if a.nproc > 1 and "RANK" not in os.environ:
        launch(a.nproc, a.timeout)
        return

    ddp = a.nproc > 1
    rank, world = int(os.environ.get("RANK", "0")), a.nproc
    if a.bind:
        os.sched_setaffinity(0, {rank % (os.cpu_count() or 1)})
    torch.set_num_threads(1)
    if ddp:
        dist.init_process_group("gloo", init_method="env://", rank=rank, world_size=world)
    x, y = load_split(a.data, "train")
    xt, yt = load_split(a.data, "test") if rank == 0 else (None, None)
    n, B = len(y), a.batch_size // world
    torch.manual_seed(a.seed)
    model = make_model()
    net = nn.parallel.DistributedDataParallel(model) if ddp else model
    net.train()
    if ddp:
        from torch.utils.data.distributed import DistributedSampler
        sampler = DistributedSampler(range(n), num_replicas=world, rank=rank, shuffle=True, seed=a.seed,
                                     drop_last=False)
        sampler.set_epoch(0)
        idx = torch.tensor(list(iter(sampler)), dtype=torch.int64)
    else:
        gen = torch.Generator()
        gen.manual_seed(a.seed)
        idx = torch.randperm(n, generator=gen)
    steps = (len(idx) + B - 1) // B
    opt = torch.optim.Adam(net.parameters(), lr=a.lr)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=a.lr, total_steps=steps, pct_start=0.25,
                                                anneal_strategy="cos", cycle_momentum=False, div_factor=25.0,
                                                final_div_factor=1e4)
    lossf = nn.CrossEntropyLoss()
    if rank == 0:
        print("PyTorch %s: %d parameters, Adam + OneCycleLR (peak %g), global batch %d (%d per process), %s, "
              "%d thread(s) per process%s" % (
                  torch.__version__, sum(p.numel() for p in model.parameters()), a.lr, a.batch_size, B,
                  ("DistributedDataParallel (gloo, %d processes)" % world) if ddp else "one process",
                  torch.get_num_threads(), ", pinned to CPU r" if a.bind else ""), flush=True)
    t0 = time.perf_counter()
    for k in range(steps):
        ids = idx[k * B:(k + 1) * B]
        opt.zero_grad()
        loss = lossf(net(x[ids]), y[ids])
        loss.backward()
        opt.step()
        sched.step()
        if rank == 0 and k % 100 == 0:
            print("step %d/%d: loss %.4f, %.1f s" % (k + 1, steps, loss.item(), time.perf_counter() - t0), flush=True)
    train_s = time.perf_counter() - t0
    if ddp:
        dist.barrier()
    if rank == 0:
        t1 = time.perf_counter()
        acc = evaluate(model, xt, yt)
        eval_s = time.perf_counter() - t1
        print("RESULT steps %d" % steps)
        print("RESULT train_seconds %.3f" % train_s)
        print("RESULT eval_seconds %.3f" % eval_s)
        print("RESULT test_accuracy %.4f" % acc)
        sys.stdout.flush()
    if ddp:
        dist.destroy_process_group()


if __name__ == "__main__":
    main()

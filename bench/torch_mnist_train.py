#!/usr/bin/python3
"""torch_mnist_train.py - PyTorch's side of bench/run_scaling.sh: the course's MNIST CNN
trained on data/mnist.h5, on one process or with DistributedDataParallel (gloo) on
several processes of one thread each.

The model is the course's PyTorch CNN (conv 1->32 3x3 pad 1, ReLU, maxpool 2;
conv 32->64 3x3 pad 1, ReLU, maxpool 2; flatten; linear 3136->1024, ReLU;
dropout 0.5; linear 1024->10), CrossEntropyLoss (mean over the batch), Adam
lr 1e-3, batch 64 PER PROCESS. The data are advml's dataset file read with
h5py and normalised as advml does, x = (raw * scale - mean) / std with the
file's attributes (MNIST: 1/255, 0.1307, 0.3081). The splits are held in memory
as float32 tensors and batches are cut by indexing them (no DataLoader workers:
they would need cores the two processes use).

One process: every epoch a fresh permutation (torch.randperm, seeded), batches of
B. With --nproc P > 1 the script starts P copies of itself (RANK, WORLD_SIZE,
MASTER_ADDR=127.0.0.1, MASTER_PORT), each joins the gloo process group by
env://, wraps the model in DistributedDataParallel and draws its indices from
a DistributedSampler (shuffle, seed, set_epoch); the global batch is P * B.
--bind pins process r to CPU r (os.sched_setaffinity).

One thread per process: OMP_NUM_THREADS=1, OPENBLAS_NUM_THREADS=1 are set
before torch is imported, and torch.set_num_threads(1). bench/run_scaling.sh
also sets MALLOC_MMAP_THRESHOLD_ / MALLOC_TRIM_THRESHOLD_ (glibc keeps freed
memory; without them PyTorch page-faults thousands of times a step here).

Timing: an epoch's seconds are its training loop only (evaluation excluded);
its images/s are the training images of all processes over those seconds.
The steady state is the time after the first --warmup steps of the first epoch.
After each epoch rank 0 evaluates the whole test split (model.eval(), no_grad).

Usage: /usr/bin/python3 bench/torch_mnist_train.py --data data/mnist.h5
           [--epochs E] [--batch-size B] [--max-steps K] [--nproc P] [--bind]
           [--seed S] [--warmup W] [--timeout SEC]
Prints one line per epoch, then "RESULT key value" lines (rank 0).
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
        nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(64 * 7 * 7, 1024), nn.ReLU(), nn.Dropout(0.5),
        nn.Linear(1024, 10))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--batch-size", type=int, default=64, help="per process")
    ap.add_argument("--max-steps", type=int, default=0, help="stop after K steps in all (0: no limit)")
    ap.add_argument("--nproc", type=int, default=1)
    ap.add_argument("--bind", action="store_true", help="pin process r to CPU r")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--warmup", type=int, default=10, help="steps left out of the steady-state timing")
    ap.add_argument("--timeout", type=int, default=3600, help="seconds (launcher of --nproc > 1)")
    a = ap.parse_args()
    if a.epochs < 1 or a.batch_size < 1 or a.nproc < 1 or a.max_steps < 0 or a.warmup < 0:
        die("--epochs, --batch-size and --nproc must be >= 1, --max-steps and --warmup >= 0")
    if not os.path.exists(a.data):
        die("%s: no such file" % a.data)

    if a.nproc > 1 and "RANK" not in os.environ:
        launch(a.nproc, a.timeout)
        return

    ddp = a.nproc > 1
    rank = int(os.environ.get("RANK", "0"))
    world = a.nproc
    if a.bind:
        ncpu = os.cpu_count() or 1
        os.sched_setaffinity(0, {rank % ncpu})
    torch.set_num_threads(1)
    if ddp:
        dist.init_process_group("gloo", init_method="env://", rank=rank, world_size=world)

    x, y = load_split(a.data, "train")
    xt, yt = load_split(a.data, "test") if rank == 0 else (None, None)
    n = len(y)

    torch.manual_seed(a.seed)
    model = make_model()  # same seed, same initial weights on every rank (DDP also broadcasts rank 0's)
    net = nn.parallel.DistributedDataParallel(model) if ddp else model
    net.train()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    lossf = nn.CrossEntropyLoss()
    B = a.batch_size
    sampler = None
    if ddp:
        from torch.utils.data.distributed import DistributedSampler
        sampler = DistributedSampler(range(n), num_replicas=world, rank=rank, shuffle=True, seed=a.seed,
                                     drop_last=False)
    gen = torch.Generator()
    gen.manual_seed(a.seed)

    if rank == 0:
        print("PyTorch %s: course CNN, %d parameters, Adam lr 1e-3, batch %d per process, %s, %d thread(s) "
              "per process%s; OPENBLAS_CORETYPE=%s MALLOC_MMAP_THRESHOLD_=%s MALLOC_TRIM_THRESHOLD_=%s" % (
                  torch.__version__, sum(p.numel() for p in model.parameters()), B,
                  ("DistributedDataParallel (gloo, env://, %d processes, DistributedSampler)" % world) if ddp
                  else "one process", torch.get_num_threads(), ", pinned to CPU r" if a.bind else "",
                  os.environ.get("OPENBLAS_CORETYPE", "(unset)"), os.environ.get("MALLOC_MMAP_THRESHOLD_", "(unset)"),
                  os.environ.get("MALLOC_TRIM_THRESHOLD_", "(unset)")), flush=True)

    step = 0
    steady_t0 = None
    steady_images = 0
    steady_t1 = None
    epoch_secs, epoch_ips, accs = [], [], []
    stopped = False
    for epoch in range(a.epochs):
        if ddp:
            sampler.set_epoch(epoch)
            idx = torch.tensor(list(iter(sampler)), dtype=torch.int64)
        else:
            idx = torch.randperm(n, generator=gen)
        nb = (len(idx) + B - 1) // B
        last_loss = float("nan")
        images = 0
        t0 = time.perf_counter()
        for k in range(nb):
            if a.max_steps and step >= a.max_steps:
                stopped = True
                break
            if step == a.warmup:
                steady_t0 = time.perf_counter()
            ids = idx[k * B:(k + 1) * B]
            xb, yb = x[ids], y[ids]
            opt.zero_grad()
            loss = lossf(net(xb), yb)
            loss.backward()
            opt.step()
            step += 1
            images += len(ids)
            if steady_t0 is not None and steady_t1 is None:
                steady_images += len(ids) * world
            if k % 50 == 0:
                last_loss = loss.item()  # read back only every 50 steps
        secs = time.perf_counter() - t0
        if epoch == 0:
            steady_t1 = time.perf_counter()
        if stopped and images == 0:
            break
        ips = images * world / secs
        acc = evaluate(model, xt, yt) if rank == 0 else float("nan")
        epoch_secs.append(secs)
        epoch_ips.append(ips)
        accs.append(acc)
        if rank == 0:
            print("epoch %d: %d steps, %.1f s, %.1f images/s, loss %.4f (a recent batch), test accuracy %.4f%s" % (
                epoch + 1, (images + B - 1) // B, secs, ips, last_loss, acc,
                " (stopped at --max-steps)" if stopped else ""), flush=True)
        if ddp:
            dist.barrier()
        if stopped:
            break

    if rank == 0:
        steady = steady_images / (steady_t1 - steady_t0) if steady_t0 is not None and steady_t1 > steady_t0 else \
            float("nan")
        print("RESULT nproc %d" % world)
        print("RESULT steps %d" % step)
        print("RESULT epochs_done %d" % len(epoch_secs))
        for i, (s, ips, acc) in enumerate(zip(epoch_secs, epoch_ips, accs)):
            print("RESULT epoch%d_seconds %.3f" % (i + 1, s))
            print("RESULT epoch%d_images_per_s %.2f" % (i + 1, ips))
            print("RESULT epoch%d_test_accuracy %.4f" % (i + 1, acc))
        print("RESULT images_per_s %.2f" % (sum(ips * s for ips, s in zip(epoch_ips, epoch_secs)) /
                                            sum(epoch_secs) if epoch_secs else float("nan")))
        print("RESULT steady_images_per_s %.2f" % steady)
        sys.stdout.flush()
    if ddp:
        dist.destroy_process_group()


if __name__ == "__main__":
    main()

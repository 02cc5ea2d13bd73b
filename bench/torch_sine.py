#!/usr/bin/python3
"""torch_sine.py - the course's PyTorch sine RNN, 100 epochs, for bench/run_sine.sh.

The course's code (NOTES.md, "PyTorch RNN on a sine"): nn.RNN(1, 64,
batch_first) + nn.Linear(64, 1) on the last step, MSELoss, Adam lr 1e-3,
DataLoader batch 32 shuffled, 100 epochs, the validation loss after every
epoch, then the recursive forecast. The windows are read from the same HDF5
file advml trains on (advml-data sine --kind clean: 780 training and 180
validation windows of 20), so both see the same data. ONE thread.

Reported (as "RESULT key value" lines):
  wall_s          the whole script, from the first line to the end
  train_s         the training part of the epochs (forward, backward, step)
  loop_s          the 100 epochs with their validation passes
  val_mse         the final validation MSE, mean over the 180 samples
                  (the course prints the mean of batch means; this is per sample,
                  as advml's run file)
  forecast_mse    the recursive forecast from validation window 0 over the
                  180 validation targets (as advml-predict --forecast 180)

Usage: /usr/bin/python3 bench/torch_sine.py DATA.h5 [--epochs E] [--seed S]
"""
import time

T_START = time.perf_counter()

import os  # noqa: E402

os.environ["OMP_NUM_THREADS"] = "1"
os.environ["OPENBLAS_NUM_THREADS"] = "1"
os.environ.setdefault("MKL_NUM_THREADS", "1")

import argparse  # noqa: E402
import sys  # noqa: E402

import h5py  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402


class RNNModel(nn.Module):
    def __init__(self, input_size, hidden_size, output_size):
        super().__init__()
        self.rnn = nn.RNN(input_size, hidden_size, batch_first=True)
        self.fc = nn.Linear(hidden_size, output_size)

    def forward(self, x):
        out, _ = self.rnn(x)
        return self.fc(out[:, -1, :])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("data")
    ap.add_argument("--epochs", type=int, default=100)
    ap.add_argument("--seed", type=int, default=42)
    a = ap.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(a.seed)
    with h5py.File(a.data, "r") as f:
        xtr = torch.tensor(f["train/inputs"][:], dtype=torch.float32)       # (780, 20, 1)
        ytr = torch.tensor(f["train/targets"][:], dtype=torch.float32)      # (780, 1)
        xva = torch.tensor(f["validation/inputs"][:], dtype=torch.float32)  # (180, 20, 1)
        yva = torch.tensor(f["validation/targets"][:], dtype=torch.float32)
    train_loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(xtr, ytr), batch_size=32,
                                               shuffle=True)
    val_loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(xva, yva), batch_size=32,
                                             shuffle=False)
    model = RNNModel(1, 64, 1)
    criterion = nn.MSELoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    print("PyTorch %s, course sine RNN: train %d, validation %d windows of %d; %d epochs; threads %d; "
          "MALLOC_MMAP_THRESHOLD_=%s MALLOC_TRIM_THRESHOLD_=%s" % (
              torch.__version__, len(xtr), len(xva), xtr.shape[1], a.epochs, torch.get_num_threads(),
              os.environ.get("MALLOC_MMAP_THRESHOLD_", "(unset)"), os.environ.get("MALLOC_TRIM_THRESHOLD_", "(unset)")))

    train_s = 0.0
    t_loop = time.perf_counter()
    val_mse = float("nan")
    for epoch in range(a.epochs):
        model.train()
        t0 = time.perf_counter()
        train_sum = 0.0
        for xb, yb in train_loader:
            optimizer.zero_grad()
            loss = criterion(model(xb), yb)
            loss.backward()
            optimizer.step()
            train_sum += loss.item() * len(xb)
        train_s += time.perf_counter() - t0
        model.eval()
        se = 0.0
        with torch.no_grad():
            for xb, yb in val_loader:
                se += criterion(model(xb), yb).item() * len(xb)
        val_mse = se / len(xva)
        if epoch == 0 or (epoch + 1) % 20 == 0:
            print("epoch %3d: train loss %.3g, validation MSE %.3g" % (epoch + 1, train_sum / len(xtr), val_mse))
    loop_s = time.perf_counter() - t_loop

    # recursive forecast from validation window 0, as the course's loop
    model.eval()
    seq = xva[0:1].clone()
    preds = []
    with torch.no_grad():
        for _ in range(len(yva)):
            p = model(seq)
            preds.append(p.item())
            seq = torch.cat([seq[:, 1:, :], p.unsqueeze(1)], dim=1)
    forecast_mse = float(np.mean((np.array(preds) - yva[:, 0].numpy()) ** 2))
    wall_s = time.perf_counter() - T_START
    print("RESULT wall_s %.4f" % wall_s)
    print("RESULT loop_s %.4f" % loop_s)
    print("RESULT train_s %.4f" % train_s)
    print("RESULT val_mse %.6g" % val_mse)
    print("RESULT forecast_mse %.6g" % forecast_mse)
    return 0


if __name__ == "__main__":
    sys.exit(main())

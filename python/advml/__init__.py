"""advml - Python side of advml: readers for its HDF5 files, the analysis
commands, and PyTorch interop.

  from advml import Run, Dataset, Predictions, Checkpoint, write_checkpoint
  run = Run("results/mnist.h5"); run.epochs_frame()        # pandas, when installed
  ds = Dataset("data/mnist.h5"); x, y = ds.split("test").arrays()
  ck = Checkpoint("results/mnist.ckpt.h5")
  from advml.pytorch import to_torch, save_checkpoint      # needs torch
  net = to_torch("results/mnist.ckpt.h5")                   # a torch.nn.Module with the weights
  save_checkpoint(net, ck.config, "edited.ckpt.h5")          # back, for --resume or advml-predict

Needs h5py and numpy (Debian: python3-h5py, python3-numpy); matplotlib for the
plots, pandas for the DataFrame helpers, torch for advml.pytorch. The layouts
are documented in docs/hdf5-layout.md, docs/run-file-layout.md and
docs/predict-layout.md of the advml source tree.
"""

__version__ = "0.1.0"

from .checkpoint import (Checkpoint, CheckpointError, checkpoint_checksum, seal_checkpoint,  # noqa: E402,F401
                         verify_checkpoint, write_checkpoint)
from .data import Dataset, DatasetError  # noqa: E402,F401
from .model import ConfigError, Model, load_config  # noqa: E402,F401
from .predictions import PredictionFileError, Predictions  # noqa: E402,F401
from .runs import CheckpointFileError, Run, RunFileError, open_any  # noqa: E402,F401

__all__ = ["Checkpoint", "CheckpointError", "checkpoint_checksum", "seal_checkpoint", "verify_checkpoint",
           "write_checkpoint", "Dataset", "DatasetError", "ConfigError", "Model", "load_config",
           "PredictionFileError", "Predictions", "CheckpointFileError", "Run", "RunFileError", "open_any"]

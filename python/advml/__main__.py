"""python3 -m advml COMMAND [args]: the advml Python package's commands.

  learning-curves RUN.h5...    loss and accuracy per epoch (and per step)
  merge-grid GRID_DIR          a grid search's run files -> grid.h5
  grid-heatmap GRID.h5         eta x lambda heatmaps
  forecast-plot PRED.h5        one-step predictions and recursive forecast
  confusion-matrix PRED.h5     a classifier's confusion matrix
  scaling-plot RUN.h5...       images/s and efficiency against ranks
  export-onnx RUN.ckpt.h5      the checkpoint's model as ONNX (through torch)
  svd-compress IMAGE           the course's SVD image compression (ratio, MSE, PSNR, plots)

Each takes --help. Installed with pip, each is also the command advml-NAME.
"""

import importlib
import sys

COMMANDS = ("learning-curves", "merge-grid", "grid-heatmap", "forecast-plot", "confusion-matrix", "scaling-plot",
            "export-onnx", "svd-compress")


def main():
    if len(sys.argv) < 2 or sys.argv[1] in ("-h", "--help"):
        print(__doc__.strip())
        sys.exit(0 if len(sys.argv) >= 2 else 2)
    cmd = sys.argv[1]
    if cmd not in COMMANDS:
        sys.exit(f"python3 -m advml: unknown command {cmd!r}; one of: {', '.join(COMMANDS)}")
    sys.argv = [f"advml-{cmd}"] + sys.argv[2:]
    importlib.import_module("advml.cli." + cmd.replace("-", "_")).main()


if __name__ == "__main__":
    main()

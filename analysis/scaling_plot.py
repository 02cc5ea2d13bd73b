#!/usr/bin/env python3
"""analysis/scaling_plot.py: the command advml.cli.scaling_plot of the advml Python package
(python/advml/), runnable from the source tree without installing it. Installed
(pip install -e python), the same command is advml-scaling-plot; see --help."""
import _advml_path  # noqa: F401  (python/ on sys.path; a python3 with h5py)
from advml.cli.scaling_plot import main

if __name__ == "__main__":
    main()

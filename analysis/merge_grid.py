#!/usr/bin/env python3
"""analysis/merge_grid.py: the command advml.cli.merge_grid of the advml Python package
(python/advml/), runnable from the source tree without installing it. Installed
(pip install -e python), the same command is advml-merge-grid; see --help."""
import _advml_path  # noqa: F401  (python/ on sys.path; a python3 with h5py)
from advml.cli.merge_grid import main

if __name__ == "__main__":
    main()

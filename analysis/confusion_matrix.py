#!/usr/bin/env python3
"""analysis/confusion_matrix.py: the command advml.cli.confusion_matrix of the advml Python package
(python/advml/), runnable from the source tree without installing it. Installed
(pip install -e python), the same command is advml-confusion-matrix; see --help."""
import _advml_path  # noqa: F401  (python/ on sys.path; a python3 with h5py)
from advml.cli.confusion_matrix import main

if __name__ == "__main__":
    main()

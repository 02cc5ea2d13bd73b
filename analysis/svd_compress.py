#!/usr/bin/env python3
"""analysis/svd_compress.py: the command advml.cli.svd_compress of the advml Python package
(python/advml/), runnable from the source tree without installing it. Installed
(pip install -e python), the same command is advml-svd-compress; see --help."""
import _advml_path  # noqa: F401  (python/ on sys.path; a python3 with h5py)
from advml.cli.svd_compress import main

if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""analysis/svd_compress.py: the command advml.cli.svd_compress of the advml Python package
(python/advml/), runnable from the source tree without installing it. Installed
(pip install -e python), the same command is advml-svd-compress; see --help."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.realpath(__file__)), os.pardir, "python"))
try:
    import h5py  # noqa: F401
except ImportError:  # the python3 on PATH (pyenv, a bare venv) lacks h5py: Debian's has it
    if os.path.realpath(sys.executable) != os.path.realpath("/usr/bin/python3") and os.access("/usr/bin/python3",
                                                                                              os.X_OK):
        os.execv("/usr/bin/python3", ["/usr/bin/python3", *sys.argv])
    sys.exit(f"{sys.argv[0]}: this Python ({sys.executable}) has no h5py; install it (Debian: python3-h5py)")
from advml.cli.svd_compress import main  # noqa: E402

if __name__ == "__main__":
    main()

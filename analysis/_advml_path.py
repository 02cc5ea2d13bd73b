"""_advml_path: imported first by the command wrappers in analysis/ (and by the
kept module names advml_runs, advml_predictions) so that they run from the
source tree without installing anything:

- python/ (the advml package) goes first on sys.path;
- a python3 without h5py (pyenv, a bare venv on PATH) hands over to Debian's
  /usr/bin/python3, which has python3-h5py, python3-numpy and matplotlib, or
  says what to install.

Installed (pip install -e python), the same commands are the advml-* entry
points and do not need this module."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.realpath(__file__)), os.pardir, "python"))
try:
    import h5py  # noqa: F401
except ImportError:
    if os.path.realpath(sys.executable) != os.path.realpath("/usr/bin/python3") and os.access("/usr/bin/python3",
                                                                                              os.X_OK):
        os.execv("/usr/bin/python3", ["/usr/bin/python3", *sys.argv])
    sys.exit(f"{sys.argv[0]}: this Python ({sys.executable}) has no h5py; install it (Debian: python3-h5py)")

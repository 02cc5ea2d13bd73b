#!/usr/bin/env python3
"""analysis/learning_curves.py: the command advml.cli.learning_curves of the advml Python package
(python/advml/), runnable from the source tree without installing it. Installed
(pip install -e python), the same command is advml-learning-curves; see --help."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.realpath(__file__)), os.pardir, "python"))
from advml.cli.learning_curves import main  # noqa: E402

if __name__ == "__main__":
    main()

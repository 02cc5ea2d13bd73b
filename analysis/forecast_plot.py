#!/usr/bin/env python3
"""analysis/forecast_plot.py: the command advml.cli.forecast_plot of the advml Python package
(python/advml/), runnable from the source tree without installing it. Installed
(pip install -e python), the same command is advml-forecast-plot; see --help."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.realpath(__file__)), os.pardir, "python"))
from advml.cli.forecast_plot import main  # noqa: E402

if __name__ == "__main__":
    main()

"""advml_predictions: kept for scripts written against it; the reader is now
the package module advml.predictions (python/advml/predictions.py):
`from advml import Predictions`."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.realpath(__file__)), os.pardir, "python"))
from advml.predictions import NAMES, PredictionFileError, Predictions  # noqa: E402,F401

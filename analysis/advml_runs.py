"""advml_runs: kept for scripts written against it; the readers are now the
package module advml.runs (python/advml/runs.py): `from advml import Run`."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.realpath(__file__)), os.pardir, "python"))
from advml.runs import (EPOCH_METRICS, CheckpointFileError, Run, RunFileError, atomic_savefig,  # noqa: E402,F401
                        check_image_ext, checkpoint_checksum, seal_checkpoint, verify_checkpoint)
from advml.checkpoint import _DOUBLES_3 as _CKPT_DOUBLES_3, _INTS_3 as _CKPT_INTS_3  # noqa: E402,F401

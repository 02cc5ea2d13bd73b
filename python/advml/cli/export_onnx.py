#!/usr/bin/env python3
"""Export an advml checkpoint's model to ONNX, through PyTorch.

  export_onnx RUN.ckpt.h5                       # -> RUN.onnx beside the checkpoint
  export_onnx RUN.ckpt.h5 --out model.onnx --logits

Builds the model with advml.pytorch.to_torch (the checkpoint's weights; the
checksums are verified), exports it with torch.onnx (input "input" of shape
(batch, *input), output "output", the batch dimension dynamic), checks the file
with onnx.checker when the onnx package is installed (Debian: python3-onnx),
and prints where it wrote it. --logits leaves out a final softmax or sigmoid.
Needs torch (Debian: python3-torch).
"""

import argparse
import os


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 epilog=__doc__.split("\n\n", 1)[1],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoint", metavar="RUN.ckpt.h5", help="an advml checkpoint")
    ap.add_argument("--out", help="ONNX file (default: the checkpoint's name with .onnx)")
    ap.add_argument("--logits", action="store_true", help="leave out a final softmax or sigmoid")
    ap.add_argument("--opset", type=int, default=13, help="ONNX opset (default 13)")
    a = ap.parse_args()
    ck = a.checkpoint
    base = ck[:-len(".ckpt.h5")] if ck.endswith(".ckpt.h5") else os.path.splitext(ck)[0]
    out = a.out or base + ".onnx"
    if not out.endswith(".onnx"):
        ap.error(f"--out {out}: expected a .onnx file name")
    from ..checkpoint import Checkpoint, CheckpointError
    try:
        c = Checkpoint(ck)
    except (CheckpointError, OSError) as e:
        ap.exit(1, f"export_onnx: error: {e}\n")
    from ..pytorch import export_onnx, to_torch
    net = to_torch(c, logits=a.logits)
    tmp = out + ".tmp"
    try:
        export_onnx(net, tmp, opset=a.opset)
        checked = ""
        try:
            import onnx
        except ImportError:
            onnx = None
        if onnx is not None:
            onnx.checker.check_model(onnx.load(tmp))
            checked = ", onnx.checker: ok"
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    print(f"export_onnx: wrote {out} (input {tuple(net.advml_config['input'])} per sample{checked})")


if __name__ == "__main__":
    main()

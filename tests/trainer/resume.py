"""Resume equivalence: a run stopped (--max-steps) and resumed from its
checkpoint reaches the same weights as the uninterrupted run: bit for bit on
the same number of ranks, up to float summation order (2e-5, as in the
N-invariance test) on a different one. Both mid-epoch and epoch-boundary
stops, with dropout and Adam; the continued run file's metrics must equal the
uninterrupted run's.
"""
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
import h5py  # noqa: E402
import numpy as np  # noqa: E402

CONFIG = """{
  "model": [
    {"type": "conv2d", "filters": 8, "kernel": 3, "padding": "same", "activation": "relu"},
    {"type": "maxpool2d", "pool": 2},
    {"type": "flatten"},
    {"type": "dense", "units": 32, "activation": "relu"},
    {"type": "dropout", "rate": 0.3},
    {"type": "dense", "units": 10, "activation": "softmax"}
  ],
  "loss": "categorical_crossentropy",
  "optimizer": {"name": "adam", "lr": 2e-3},
  "training": {"epochs": 3, "batch_size": 200, "seed": 11}
}
"""
TOL_W = 2e-5


def metrics(path):
    with h5py.File(path, "r") as f:
        return {k: f["metrics/epoch"][k][:] for k in f["metrics/epoch"] if k not in ("epoch_seconds",
                                                                                    "images_per_second")}, \
               {k: f["metrics/step"][k][:] for k in f["metrics/step"]}, f.attrs["status"]


def main():
    data = common.digits_h5()
    d = common.tmpdir("resume")
    try:
        cfg = common.write_config(os.path.join(d, "cnn.json"), CONFIG)
        # uninterrupted: 3 epochs x 8 steps (1437 / 200) = 24 steps, on 2 ranks
        full = os.path.join(d, "full.h5")
        common.run_ok(["--config", cfg, "--data", data, "--out", full], np_=2)
        ref = common.params(os.path.join(d, "full.ckpt.h5"))
        ref_e, ref_s, _ = metrics(full)
        common.check(len(ref_s["step"]) == 24 and list(ref_e["epoch"]) == [1, 2, 3], "24 steps in 3 epochs")

        for stop, n_resume, exact in ((5, 2, True), (8, 2, True), (13, 3, False), (8, 4, False), (19, 1, False)):
            name = "part%d_n%d" % (stop, n_resume)
            part = os.path.join(d, name + ".h5")
            out = common.run_ok(["--config", cfg, "--data", data, "--max-steps", str(stop), "--out", part], np_=2)
            ckpt = os.path.join(d, name + ".ckpt.h5")
            with h5py.File(ckpt, "r") as f:
                common.check(f.attrs["step"] == stop and f.attrs["cursor"] == stop % 8 and f.attrs["epoch"] == stop // 8,
                             "stop at step %d: checkpoint step %d, epoch %d, cursor %d" %
                             (stop, f.attrs["step"], f.attrs["epoch"], f.attrs["cursor"]))
            if stop % 8:
                common.check("stopped at --max-steps %d" % stop in out, "the stop is reported")
            # resume with the run file found beside the checkpoint (no --out)
            common.run_ok(["--config", cfg, "--data", data, "--resume", ckpt], np_=n_resume)
            diff = common.max_diff(ref, common.params(ckpt))
            print("stopped at step %d on 2 ranks, resumed on %d: max |dw| vs uninterrupted = %.3g" %
                  (stop, n_resume, diff))
            if exact:
                common.check(diff == 0.0, "resume on the same N is bit-identical")
            else:
                common.check(diff <= TOL_W, "resume on %d ranks matches within %.0e" % (n_resume, TOL_W))
            e, s, status = metrics(part)
            common.check(status == "completed", "the continued run file is completed")
            common.check(list(s["step"]) == list(range(1, 25)), "step metrics continue without gap or repeat")
            common.check(list(e["epoch"]) == [1, 2, 3], "epoch metrics continue without gap or repeat")
            for k in ref_e:
                tol = 0 if exact else 1e-5
                dk = float(np.nanmax(np.abs(e[k] - ref_e[k]))) if np.isfinite(ref_e[k]).any() else 0.0
                common.check(np.array_equal(np.isnan(e[k]), np.isnan(ref_e[k])) and dk <= tol,
                             "metric %s matches the uninterrupted run (max diff %.3g)" % (k, dk))

        # Resume again from a finished run: nothing to do is an error, not a silent success.
        rc, out, err = common.run(["--config", cfg, "--data", data, "--resume", os.path.join(d, "full.ckpt.h5")],
                                  np_=2)
        common.check(rc == 2 and "completed 3 epochs already" in err, "resuming a finished run asks for --epochs")
        # ... and --epochs extends it
        shutil.copy(os.path.join(d, "full.ckpt.h5"), os.path.join(d, "more.ckpt.h5"))
        shutil.copy(full, os.path.join(d, "more.h5"))
        common.run_ok(["--config", cfg, "--data", data, "--epochs", "4", "--resume", os.path.join(d, "more.ckpt.h5")],
                      np_=2)
        e, s, status = metrics(os.path.join(d, "more.h5"))
        common.check(list(e["epoch"]) == [1, 2, 3, 4] and len(s["step"]) == 32, "--epochs 4 adds a 4th epoch")
    finally:
        common.cleanup(d)


if __name__ == "__main__":
    main()

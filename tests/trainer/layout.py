"""The run file and the checkpoint, read back with h5py exactly as
docs/run-file-layout.md specifies them; and the run file is readable at any
moment while training runs (it is replaced atomically, never held open).
"""
import json
import os
import re
import subprocess
import sys
import time
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
import h5py  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "analysis"))
import advml_runs  # noqa: E402

CONFIG = """{
  "model": [
    {"type": "conv2d", "filters": 8, "kernel": [3, 3], "padding": "same", "activation": "relu"},
    {"type": "maxpool2d", "pool": [2, 2]},
    {"type": "flatten"},
    {"type": "dense", "units": 16, "activation": "relu"},
    {"type": "dropout", "rate": 0.25},
    {"type": "dense", "units": 10, "activation": "softmax"}
  ],
  "loss": "categorical_crossentropy",
  "optimizer": {"name": "adam", "lr": 1e-3},
  "training": {"epochs": 3, "batch_size": 64, "seed": 3, "l2": 1e-5}
}
"""
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
EPOCH_COLS = {"epoch": np.int32, "step": np.int64, "train_loss": np.float64, "val_loss": np.float64,
              "test_loss": np.float64, "train_accuracy": np.float64, "val_accuracy": np.float64,
              "test_accuracy": np.float64, "learning_rate": np.float64, "epoch_seconds": np.float64,
              "images_per_second": np.float64, "val_top_k_accuracy": np.float64,
              "test_top_k_accuracy": np.float64, "val_mae": np.float64, "test_mae": np.float64,
              "val_r2": np.float64, "test_r2": np.float64}
STEP_COLS = {"step": np.int64, "epoch": np.int32, "loss": np.float64, "learning_rate": np.float64}


def check_columns(g, cols, n, what):
    common.check(set(g.keys()) == set(cols), "%s has exactly %s" % (what, sorted(cols)))
    for k, dt in cols.items():
        d = g[k]
        common.check(d.dtype == dt and d.shape == (n,) and d.maxshape == (None,) and d.chunks is not None,
                     "%s/%s: %s, (%d,), extendible, chunked" % (what, k, np.dtype(dt).name, n))
        common.check(isinstance(d.attrs.get("units"), str) and len(d.attrs.get("description", "")) > 10,
                     "%s/%s carries units (%r) and a description" % (what, k, d.attrs.get("units")))


def main():
    data = common.mnist_subset_h5()  # has train, validation and test splits
    digits = common.digits_h5()      # has no validation split: NaN there
    d = common.tmpdir("layout")
    try:
        cfg = common.write_config(os.path.join(d, "cnn.json"), CONFIG)
        run = os.path.join(d, "run.h5")
        common.run_ok(["--config", cfg, "--data", digits, "--out", run], np_=2)
        steps = 3 * ((1437 + 63) // 64)
        with h5py.File(run, "r") as f:
            a = f.attrs
            common.check(a["format"] == "advml-run" and a["format_version"] == 1, "run file format advml-run v1")
            for k in ("advml_version", "git_commit", "config_json", "command_line", "hostnames", "data",
                      "start_time", "end_time", "status", "message", "checkpoint"):
                common.check(isinstance(a[k], str), "attribute %s is a string" % k)
            for k in ("format_version", "nranks", "seed"):
                common.check(isinstance(a[k], (np.integer, int)), "attribute %s is an integer" % k)
            cfgj = json.loads(a["config_json"])
            common.check(cfgj["input"] == [1, 8, 8] and len(cfgj["model"]) == 6 and cfgj["training"]["epochs"] == 3
                         and cfgj["training"]["data"] == digits, "config_json is the effective config (input from data)")
            common.check(a["nranks"] == 2 and len(a["hostnames"].split(",")) == 2, "nranks 2, two host names")
            common.check(a["seed"] == 3 and a["data"] == digits, "seed and data")
            common.check("advml-train" in a["command_line"] and "--out" in a["command_line"], "command line")
            head = subprocess.run(["git", "-c", "safe.directory=" + os.path.realpath(common.SRC), "-C", common.SRC,
                                   "rev-parse", "--short=12", "HEAD"], capture_output=True, text=True).stdout.strip()
            if head:  # a git checkout: the build records the commit it was built from
                common.check(a["git_commit"] in (head, head + "-dirty"),
                             "git_commit %s is HEAD %s (or HEAD-dirty)" % (a["git_commit"], head))
            common.check(ISO.match(a["start_time"]) and ISO.match(a["end_time"]), "ISO 8601 UTC times")
            common.check(a["status"] == "completed" and a["message"] == "", "status completed, no message")
            common.check(a["best_checkpoint"] == "" and a["best_monitor"] == "" and a["best_epoch"] == 0 and
                         np.isnan(a["best_value"]) and a["stopped_early_epoch"] == 0 and a["restored_epoch"] == 0,
                         "no best checkpoint, no early stop: the control attributes say so")
            common.check(a["checkpoint"] == "run.ckpt.h5", "checkpoint named beside the run file")
            check_columns(f["metrics/epoch"], EPOCH_COLS, 3, "/metrics/epoch")
            check_columns(f["metrics/step"], STEP_COLS, steps, "/metrics/step")
            e = f["metrics/epoch"]
            common.check(list(e["epoch"][:]) == [1, 2, 3] and list(e["step"][:]) == [23, 46, 69], "epochs and steps")
            common.check(np.isnan(e["val_loss"][:]).all() and np.isnan(e["val_accuracy"][:]).all(),
                         "no validation split: NaN")
            common.check(np.isfinite(e["test_accuracy"][:]).all() and (e["test_accuracy"][:] <= 1).all(),
                         "test accuracy is a fraction")
            common.check(np.allclose(e["learning_rate"][:], 1e-3, rtol=0, atol=0), "learning rate 0.001 exactly")
            common.check((f["metrics/step/learning_rate"][:] == 1e-3).all(), "every step's learning rate 0.001")
            common.check(np.isfinite(e["test_top_k_accuracy"][:]).all() and
                         (e["test_top_k_accuracy"][:] >= e["test_accuracy"][:]).all(),
                         "top-5 accuracy at least the accuracy")
            common.check(np.isnan(e["test_mae"][:]).all() and np.isnan(e["val_r2"][:]).all(),
                         "MAE and R^2: NaN for a classifier")
            common.check("validation" not in f["evaluation"] and "test" in f["evaluation"],
                         "/evaluation/test only (no validation split)")
            ev = f["evaluation/test"]
            cm = ev["confusion_matrix"][...]
            common.check(cm.dtype == np.int64 and cm.shape == (10, 10) and cm.sum() == 360 and
                         ev.attrs["samples"] == 360, "confusion matrix (10, 10) int64 over the 360 test samples")
            common.check(abs(np.trace(cm) / 360 - ev.attrs["accuracy"]) < 1e-12 and
                         ev.attrs["accuracy"] == e["test_accuracy"][-1], "its trace is the final test accuracy")
            prec = np.where(cm.sum(0) > 0, np.diag(cm) / np.maximum(cm.sum(0), 1), 0)
            rec = np.where(cm.sum(1) > 0, np.diag(cm) / np.maximum(cm.sum(1), 1), 0)
            common.check(np.allclose(ev["precision"][:], prec, rtol=0, atol=1e-15) and
                         np.allclose(ev["recall"][:], rec, rtol=0, atol=1e-15), "precision and recall from the matrix")
            f1 = np.where(prec + rec > 0, 2 * prec * rec / np.maximum(prec + rec, 1e-300), 0)
            common.check(np.allclose(ev["f1"][:], f1, atol=1e-15) and abs(ev.attrs["macro_f1"] - f1.mean()) < 1e-12,
                         "F1 per class and macro F1")
            common.check(ev.attrs["top_k"] == 5 and ev.attrs["epoch"] == 3 and ev.attrs["step"] == steps,
                         "evaluation attributes")
            common.check((e["images_per_second"][:] > 0).all() and (e["epoch_seconds"][:] > 0).all(), "timings")
            s = f["metrics/step"]
            common.check(list(s["step"][:]) == list(range(1, steps + 1)) and s["epoch"][0] == 1 and
                         s["epoch"][-1] == 3, "one step entry per optimizer step")
            m = f["model"].attrs
            common.check("Total params" in m["summary"] and m["nparams"] > 0, "/model summary and nparams")
            nparams = int(m["nparams"])

        with h5py.File(os.path.join(d, "run.ckpt.h5"), "r") as c:
            a = c.attrs
            common.check(a["format"] == "advml-checkpoint" and a["format_version"] == 3, "checkpoint format v3")
            for k in ("plateau_wait", "plateau_cooldown", "early_stopping_wait", "early_stopping_best_epoch",
                      "best_checkpoint_epoch", "stopped_early_epoch", "restored_epoch"):  # docs/run-file-layout.md
                common.check(isinstance(a[k], np.integer) and a[k] == 0, "control attribute %s int64 0" % k)
            common.check(a["lr"] == 1e-3 and a["plateau_scale"] == 1.0 and a["plateau_best"] == np.inf and
                         a["early_stopping_best"] == np.inf and a["best_checkpoint_value"] == np.inf,
                         "control float64 attributes: lr, plateau scale 1, monitors not started")
            common.check("best_params" not in c, "no /best_params without restore_best_weights")
            # checksums recomputed here from the documented definition (zlib.crc32 of
            # the raw little-endian bytes; the root over attributes and dataset crcs)
            common.check(advml_runs.verify_checkpoint(os.path.join(d, "run.ckpt.h5")) == [],
                         "checkpoint checksums verify with analysis/advml_runs.py")
            k = c["params/layer00_conv2d/kernel"]
            common.check(int(k.attrs["crc32"]) == zlib.crc32(k[...].astype("<f4").tobytes()), "kernel crc32")
            common.check(a["epoch"] == 3 and a["step"] == steps and a["cursor"] == 0 and a["seed"] == 3 and
                         a["nparams"] == nparams, "checkpoint counters")
            common.check(json.loads(a["config_json"])["model"] == cfgj["model"], "checkpoint config_json")
            common.check(isinstance(a["advml_version"], str), "checkpoint advml_version")
            groups = sorted(c["params"].keys())
            common.check(groups == ["layer00_conv2d", "layer03_dense", "layer05_dense"], "params groups %s" % groups)
            k = c["params/layer00_conv2d/kernel"]
            common.check(k.dtype == np.float32 and k.shape == (8, 1, 3, 3), "conv kernel (OC, C, KH, KW) float32")
            common.check(c["params/layer00_conv2d/bias"].shape == (8,), "conv bias (OC)")
            sizes = []
            c["params"].visititems(lambda n, o: sizes.append(o.size) if isinstance(o, h5py.Dataset) else None)
            total = sum(sizes)
            common.check(total == nparams, "the views cover all %d parameters" % nparams)
            for k in ("m", "v"):
                common.check(c["optimizer"][k].dtype == np.float32 and c["optimizer"][k].shape == (nparams,),
                             "/optimizer/%s float32 (nparams)" % k)
            o = c["optimizer"].attrs
            common.check(o["kind"] == "adam" and o["t"] == steps and o["lr"] == 1e-3 and o["beta1"] == 0.9 and
                         o["beta2"] == 0.999 and o["l2"] == 1e-5 and "momentum" in o and "rho" in o and
                         "eps" in o, "optimizer attributes")
            common.check(np.abs(c["optimizer/v"][:]).max() > 0, "Adam's second moments are saved")
        common.check(not [p for p in os.listdir(d) if p.endswith(".tmp")], "no temporary files are left")

        # Readable while training: poll the run file as fast as h5py opens it.
        live = os.path.join(d, "live.h5")
        env = common.mpi_env({"ADVML_PROGRESS": "none"})
        proc = subprocess.Popen(["mpirun", "-np", "2", common.TRAIN, "--config", cfg, "--data", data, "--epochs", "4",
                                 "--out", live], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
        seen, opened, t_end = set(), 0, time.time() + 240
        while proc.poll() is None:
            if time.time() > t_end:
                proc.kill()
                common.fail("the training run did not finish in time")
            if os.path.exists(live):
                try:
                    with h5py.File(live, "r") as f:
                        st = f.attrs["status"]
                        n = len(f["metrics/epoch/epoch"])
                        lens = {len(f["metrics/epoch"][k]) for k in EPOCH_COLS}
                        if lens != {n}:
                            common.fail("inconsistent metrics lengths while running: %s" % lens)
                        seen.add((st, n))
                        opened += 1
                except OSError as ex:
                    common.fail("the run file could not be read while training: %s" % ex)
            time.sleep(0.02)
        common.check(proc.returncode == 0, "the live run completed (%s)" % proc.stderr.read().decode()[-300:])
        print("polled the run file %d times, saw %s" % (opened, sorted(seen)))
        common.check(any(st == "running" for st, _ in seen) and any(st == "running" and n > 0 for st, n in seen),
                     "readers saw the run file while training, with completed epochs in it")
    finally:
        common.cleanup(d)


if __name__ == "__main__":
    main()

"""Signals (issue "survive the cluster", docs/training.md "Signals and faults").

A run stopped by a signal at a random moment checkpoints the step it stopped
after, exits 75, and its resume reaches the uninterrupted run's weights bit
for bit on the same number of ranks (and to the N-invariance tolerance on
another). Also: every catchable stop signal, sent to the ranks or (USR1) to
mpirun; a signal before the first step leaves nothing behind; a second Ctrl-C
ends the process at once and keeps the last checkpoint whole; --resume takes
the run's own settings (flags override, recorded); --force; messages never
suggest --resume of a file that does not exist.
"""
import os
import random
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
import h5py  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "analysis"))
import advml_runs  # noqa: E402

CONFIG = """{
  "model": [
    {"type": "conv2d", "filters": 32, "kernel": 3, "padding": "same", "activation": "relu"},
    {"type": "maxpool2d", "pool": 2},
    {"type": "flatten"},
    {"type": "dense", "units": 128, "activation": "relu"},
    {"type": "dropout", "rate": 0.3},
    {"type": "dense", "units": 10, "activation": "softmax"}
  ],
  "loss": "categorical_crossentropy",
  "optimizer": {"name": "adam", "lr": 2e-3},
  "training": {"epochs": 8, "batch_size": 50, "seed": 5}
}
"""
INTERRUPTED = 75
TOL_W = 2e-5


def attr(f, k):
    v = f.attrs[k]
    return v.decode() if isinstance(v, bytes) else v


def launch(args, np_):
    cmd = ["mpirun", "-np", str(np_), common.TRAIN] + list(args)
    e = common.mpi_env({"ADVML_PROGRESS": "line"})
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=e,
                            start_new_session=True)


def rank_pids(p):
    """The advml-train processes started by the mpirun p (its grandchildren)."""
    out = subprocess.run(["pgrep", "-f", "^" + common.TRAIN], capture_output=True, text=True).stdout.split()
    mine = []
    for pid in out:
        try:
            with open("/proc/%s/stat" % pid) as fh:
                sid = int(fh.read().rsplit(")", 1)[1].split()[3])  # session id
        except OSError:
            continue
        if sid == p.pid:
            mine.append(int(pid))
    return mine


def catches(pid, sig):
    """Whether process pid has installed a handler for sig (its SigCgt mask in
    /proc); False once it is gone."""
    try:
        with open("/proc/%d/status" % pid) as fh:
            for line in fh:
                if line.startswith("SigCgt:"):
                    return (int(line.split()[1], 16) >> (sig - 1)) & 1 == 1
    except OSError:
        pass
    return False


def wait(p, timeout=600):
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        out, err = p.communicate()
        common.fail("timed out after %d s (a rank hung?)\n%s\n%s" % (timeout, out, err))
    return p.returncode, out, err


def stop_at_random(args, run, np_, sig, to_mpirun, rng, lo=0.3, hi=2.5):
    """Start a run, send sig at a random moment of its training (to every
    rank, or to mpirun); return (rc, stdout, stderr, seconds from the signal to
    mpirun's exit)."""
    p = launch(args, np_)
    deadline = time.time() + 300
    # the run file appears when setup is done, just before the first step
    while not os.path.exists(run) and p.poll() is None and time.time() < deadline:
        time.sleep(0.02)
    time.sleep(rng.uniform(lo, hi))
    t0 = time.time()
    if to_mpirun:
        os.kill(p.pid, sig)
    else:
        for pid in rank_pids(p):
            os.kill(pid, sig)
    rc, out, err = wait(p)
    return rc, out, err, time.time() - t0


def small(text):
    """The sanitizer build's version of a config: a smaller model, fewer epochs."""
    return text.replace('"filters": 32,', '"filters": 8,').replace('"units": 128,', '"units": 32,')


def main():
    # MNIST images: steps take long enough against the end-of-epoch evaluation
    # and checkpoint that signals land inside epochs as well as at their ends
    data = common.mnist_subset_h5(ntrain=4000, nval=1000, ntest=2000)
    d = common.tmpdir("signals")
    rng = random.Random(int(os.environ.get("ADVML_TEST_SEED", time.time())))
    try:
        cfg = common.write_config(os.path.join(d, "cnn.json"), small(CONFIG) if common.SANITIZED else CONFIG)
        base = ["--config", cfg, "--data", data]
        full = os.path.join(d, "full.h5")
        t0 = time.time()
        common.run_ok(base + ["--out", full], np_=2, timeout=1200)
        wall = time.time() - t0  # bounds the random moments below: the run must still be training
        ref = common.params(os.path.join(d, "full.ckpt.h5"))
        with h5py.File(os.path.join(d, "full.ckpt.h5"), "r") as f:
            ref_m, ref_v = f["optimizer/m"][:], f["optimizer/v"][:]
            total = int(f.attrs["step"])

        # ---- a signal at a random moment: checkpoint at that step, exit 75,
        # resume equal bit for bit (same N) or to tolerance (other N)
        cases = ((signal.SIGUSR1, True, 2), (signal.SIGTERM, False, 2), (signal.SIGINT, False, 2),
                 (signal.SIGUSR2, False, 3))
        if common.SANITIZED:  # slow steps: two cases (both resume kinds), later signals
            cases = cases[:1] + cases[3:]
        for i, (sig, to_mpirun, n_resume) in enumerate(cases):
            name = signal.Signals(sig).name
            run = os.path.join(d, "part%d.h5" % i)
            ckpt = os.path.join(d, "part%d.ckpt.h5" % i)
            lo, hi = (1.0, 8.0) if common.SANITIZED else (0.3, 2.5)
            lo, hi = min(lo, 0.15 * wall), min(hi, 0.6 * wall)  # a fast host trains in a few seconds
            rc, out, err, secs = stop_at_random(base + ["--out", run], run, 2, sig, to_mpirun, rng, lo, hi)
            common.check(rc == INTERRUPTED, "%s%s: exit %d (expected %d)\n%s\n%s" %
                         (name, " to mpirun" if to_mpirun else "", rc, INTERRUPTED, out[-2000:], err[-2000:]))
            common.check("interrupted by %s after step" % name in out and "--resume " + ckpt in out,
                         "%s: one line says how to continue" % name)
            with h5py.File(run, "r") as f:
                stop_step = int(f.attrs["stop_step"])
                common.check(attr(f, "status") == "interrupted" and attr(f, "stop_signal") == name,
                             "%s: run file status interrupted, stop_signal %s" % (name, name))
            with h5py.File(ckpt, "r") as f:
                common.check(int(f.attrs["step"]) == stop_step and 0 < stop_step < total,
                             "%s: checkpoint at the step it stopped after (%d of %d), %.2f s from signal to exit" %
                             (name, stop_step, total, secs))
            common.check(advml_runs.verify_checkpoint(ckpt) == [], "%s: checkpoint checksums verify" % name)
            if n_resume != 2:
                # another N follows the same trajectory up to summation order, which
                # chaos amplifies over thousands of steps: compare 20 steps on
                short_ref = os.path.join(d, "ref%d.h5" % i)
                common.run_ok(base + ["--max-steps", str(stop_step + 20), "--out", short_ref], np_=2, timeout=1200)
                out = common.run_ok(["--resume", ckpt, "--max-steps", str(stop_step + 20)], np_=n_resume,
                                    timeout=1200)
                diff = common.max_diff(common.params(short_ref[:-3] + ".ckpt.h5"), common.params(ckpt))
                common.check(diff < TOL_W, "%s: resumed on %d ranks, 20 steps on: max |dw| %.2e < %.0e" %
                             (name, n_resume, diff, TOL_W))
                continue
            out = common.run_ok(["--resume", ckpt], np_=n_resume, timeout=1200)
            got = common.params(ckpt)
            if n_resume == 2:
                same = all(np.array_equal(ref[k], got[k]) for k in ref)
                with h5py.File(ckpt, "r") as f:
                    same = same and np.array_equal(ref_m, f["optimizer/m"][:]) and \
                        np.array_equal(ref_v, f["optimizer/v"][:])
                common.check(same, "%s: resumed on 2 ranks = uninterrupted run, bit for bit (weights, m, v)" % name)
            else:
                diff = common.max_diff(ref, got)
                common.check(diff < TOL_W, "%s: resumed on %d ranks: max |dw| %.2e < %.0e" %
                             (name, n_resume, diff, TOL_W))
            with h5py.File(run, "r") as f:
                inv = f["invocations"]
                common.check(attr(f, "status") == "completed" and len(inv["command_line"]) == 2 and
                             inv["status"][0] == b"interrupted" and inv["status"][1] == b"completed" and
                             int(inv["start_step"][1]) == stop_step and int(inv["nranks"][1]) == n_resume,
                             "%s: run file completed, /invocations keeps both launches" % name)
                ep = f["metrics/epoch/epoch"][:]
                common.check(list(ep) == list(range(1, 9)), "%s: every epoch once in the metrics" % name)

        # ---- --resume takes the run's own settings; flags override and are recorded
        short = os.path.join(d, "short.h5")
        common.run_ok(base + ["--epochs", "2", "--max-steps", "100", "--out", short], np_=2)
        sck = os.path.join(d, "short.ckpt.h5")
        out = common.run_ok(["--resume", sck], np_=2)
        with h5py.File(sck, "r") as f:
            common.check(int(f.attrs["epoch"]) == 2, "--resume of an --epochs 2 run trains to epoch 2, not the "
                         "config's 8")
        rc, out, err = common.run(["--resume", sck], np_=2)
        common.check(rc == 2 and "pass --epochs N" in err, "a completed run asks for --epochs to go further")
        out = common.run_ok(["--resume", sck, "--epochs", "3", "--lr", "0.001"], np_=1)
        with h5py.File(short, "r") as f:
            ov = [x.decode() for x in f["invocations/overrides"][:]]
            common.check(len(ov) == 3 and ov[2] == "epochs 2 -> 3; lr 0.002 -> 0.001" and ov[1] == "",
                         "overrides recorded per invocation: %s" % ov)
        other = os.path.join(d, "other.json")
        common.write_config(other, CONFIG.replace('"units": 128', '"units": 64'))
        rc, out, err = common.run(["--resume", sck, "--config", other, "--epochs", "4"], np_=1)
        common.check(rc == 2 and "different model" in err and other in err, "--config of another model refused")

        # ---- messages never suggest --resume of a missing checkpoint; --force replaces
        lone = os.path.join(d, "lone.h5")
        with h5py.File(lone, "w") as f:
            f.attrs["format"] = "advml-run"
        rc, out, err = common.run(base + ["--out", lone], np_=1)
        common.check(rc == 3 and "--force" in err and "--resume" not in err,
                     "a run file without checkpoint: --force suggested, not --resume")
        rc, out, err = common.run(base + ["--out", short], np_=1)
        common.check(rc == 3 and "--resume " + sck in err and "--force" in err, "an existing run: both choices")
        common.run_ok(base + ["--out", short, "--force", "--epochs", "1"], np_=2)
        with h5py.File(short, "r") as f:
            common.check(len(f["invocations/command_line"]) == 1 and attr(f, "status") == "completed",
                         "--force replaced the run (one invocation)")
        rc, out, err = common.run(["--resume", sck, "--force"], np_=1)
        common.check(rc == 2 and "--force" in err, "--force with --resume refused")
        rc, out, err = common.run(["--resume", os.path.join(d, "nothing.ckpt.h5")], np_=1)
        common.check(rc == 3 and "nothing.ckpt.h5" in err, "--resume of a missing file names it")

        # ---- a signal before the first step: nothing written, a rerun is not blocked
        mnist = common.mnist_subset_h5(ntrain=20000, nval=1000, ntest=1000)
        early = os.path.join(d, "early.h5")
        args = ["--config", os.path.join(common.SRC, "jobs", "mnist_cnn.json"), "--data", mnist, "--epochs", "1",
                "--max-steps", "3", "--out", early]
        p = launch(args, 2)
        # Each rank catches the stop signals from the first line of main(); a
        # SIGTERM before that (the dynamic loader, the sanitizers' start-up)
        # would kill it the default way. So the signal goes to each rank once
        # its handler is in place (SigCgt), while it is still in MPI_Init or
        # reading the data (>1 s here), and before the run file exists.
        deadline = time.time() + 60
        pids = []
        while time.time() < deadline and p.poll() is None:
            pids = rank_pids(p)
            if len(pids) == 2 and all(catches(pid, signal.SIGTERM) for pid in pids):
                break
            time.sleep(0.002)
        common.check(len(pids) == 2 and not os.path.exists(early),
                     "both ranks catch SIGTERM before the run file is written")
        for pid in pids:
            os.kill(pid, signal.SIGTERM)
        rc, out, err = wait(p)
        common.check(rc == INTERRUPTED and "before the first step: nothing was written" in out,
                     "SIGTERM during setup: exit 75, says nothing was written (exit %d)\n%s\n%s" %
                     (rc, out[-1500:], err[-1500:]))
        common.check(not os.path.exists(early) and not os.path.exists(early[:-3] + ".ckpt.h5"),
                     "no run file or checkpoint left to block a rerun")
        common.run_ok(args, np_=2, timeout=300)

        # ---- Ctrl-C twice: the process ends at once, the last checkpoint stays whole.
        # The second SIGINT must land while the first one's orderly stop (the
        # step, the run file, the checkpoint) is under way: 20 ms later (two
        # signals sent before the first is delivered merge into one). Should the
        # orderly stop have finished first (exit 75), the try is made again.
        e = common.mpi_env({"ADVML_PROGRESS": "line"})
        for attempt in range(3):
            twice = os.path.join(d, "twice%d.h5" % attempt)
            tck = twice[:-3] + ".ckpt.h5"
            p = subprocess.Popen([common.TRAIN] + base + ["--epochs", "400", "--out", twice], stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True, env=e)
            deadline = time.time() + 60
            while not os.path.exists(tck) and time.time() < deadline:
                time.sleep(0.01)
            time.sleep(0.3)
            t0 = time.time()
            p.send_signal(signal.SIGINT)
            time.sleep(0.02)
            p.send_signal(signal.SIGINT)
            rc, out, err = wait(p)
            secs = time.time() - t0
            if rc != INTERRUPTED:
                break
            print("note: the orderly stop finished within 20 ms of the first SIGINT (exit 75); again")
        common.check(rc == 130 and "second interrupt" in err, "second SIGINT: exit 130 at once (%.3f s after the first)\n%s" % (secs, err[-500:]))
        common.check(advml_runs.verify_checkpoint(tck) == [], "the last checkpoint verifies")
        with h5py.File(tck, "r") as f:
            was = int(f.attrs["step"])
        common.run_ok(["--resume", tck, "--max-steps", str(was + 5)], np_=1)
        with h5py.File(tck, "r") as f:
            common.check(int(f.attrs["step"]) == was + 5, "and --resume continues from it")
    finally:
        common.cleanup(d)


if __name__ == "__main__":
    main()

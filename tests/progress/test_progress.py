#!/usr/bin/env python3
"""advml-train's progress display (label trainer, test progress_display).

Under a pseudo-terminal of 80, 200 and 40 columns (TIOCSWINSZ), run directly
and under mpirun -np 2: every redraw of the bar fits in the terminal (at most
columns - 1 characters, so it never wraps), shows step/total and ms/step, says
"evaluating validation" and "evaluating test" after the last step, and at 200
columns shows everything (accuracy, img/s, a 30-character bar). In a log (a
pipe): time-stamped lines within an epoch every ADVML_PROGRESS_SECONDS (0:
after every step but the last), none at the default 60 s in a short run, and
time-stamped epoch lines."""

import fcntl
import os
import pty
import re
import select
import shutil
import struct
import subprocess
import sys
import tempfile
import termios

import h5py

SRC = os.environ.get("ADVML_SRC") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.environ.get("ADVML_BIN") or os.path.join(SRC, "build")
TRAIN = os.path.join(BIN, "advml-train")
FAILS = []


def check(ok, what):
    print(("ok: " if ok else "FAIL: ") + what)
    if not ok:
        FAILS.append(what)


def env_base():
    e = {k: v for k, v in os.environ.items() if k not in ("ADVML_PROGRESS", "ADVML_PROGRESS_SECONDS", "COLUMNS")}
    e.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1", OMPI_MCA_rmaps_base_oversubscribe="1",
             OPENBLAS_NUM_THREADS="1")
    return e


def run_pty(cmd, cols, timeout=240):
    """cmd with stdout and stderr on a pseudo-terminal of cols columns; (rc, text)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, cols, 0, 0))
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=slave, stderr=slave, env=env_base(), close_fds=True)
    os.close(slave)
    out = b""
    while True:
        r, _, _ = select.select([master], [], [], timeout)
        if not r:
            p.kill()
            break
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the other side closed
            break
        if not chunk:
            break
        out += chunk
    os.close(master)
    return p.wait(), out.decode("utf-8", "replace")


def bars(text):
    """The bar redraws: the pieces between carriage returns and newlines that
    start with "epoch" and have a bar or a step count."""
    segs = re.split(r"[\r\n]", text)
    return [s.rstrip(" ") for s in segs if s.startswith("epoch") and re.search(r"\d+/\d+ ", s) and ":" not in s[:12]]


def main():
    work = tempfile.mkdtemp(prefix="advml-progress-")
    try:
        data = os.path.join(work, "digits.h5")
        subprocess.run([os.path.join(BIN, "advml-data"), "csv", "--from", os.path.join(SRC, "data", "digits.csv.gz"),
                        "--out", data, "--image", "1,8,8", "--scale", "0.0625", "--test-fraction", "0.2",
                        "--validation-fraction", "0.1", "--seed", "1"], check=True, capture_output=True)
        job = os.path.join(SRC, "jobs", "digits_cnn.json")
        args = ["--config", job, "--data", data, "--epochs", "2", "--batch-size", "4"]
        for cols in (80, 200, 40):
            for launcher in ([], ["mpirun", "-np", "2"]):
                if cols == 40 and launcher:
                    continue
                out = os.path.join(work, f"r{cols}{len(launcher)}.h5")
                # through a shell, as from a terminal: advml-train asks whether its
                # parent (the shell, or mpirun) writes to a terminal
                cmd = " ".join(launcher + [TRAIN] + args + ["--out", out])
                rc, text = run_pty(["bash", "-c", cmd + "; rc=$?; exit $rc"], cols)
                name = f"{cols} columns{' under mpirun -np 2' if launcher else ''}"
                b = bars(text)
                check(rc == 0 and len(b) >= 4, f"{name}: exit {rc}, {len(b)} redraws of the bar")
                longest = max((len(s) for s in b), default=0)
                check(longest <= cols - 1, f"{name}: every redraw fits ({longest} <= {cols - 1} characters)")
                wide = [s for s in b if "evaluating" not in s]
                check(all(re.search(r" \d+/\d+ ", s) for s in b), f"{name}: step/total in every redraw")
                if cols >= 80:
                    check(all("ms/step" in s and "ETA" in s for s in wide), f"{name}: ms/step and ETA")
                    check(any("evaluating validation" in s for s in b) and any("evaluating test" in s for s in b),
                          f"{name}: says when it evaluates the validation and the test split")
                    check("epoch  2/2: train loss" in text, f"{name}: the epoch line after the bar")
                if cols == 200:
                    check(all("img/s" in s and "acc " in s for s in wide)
                          and all(re.search(r"\[[=>-]{30}\]", s) for s in b),
                          f"{name}: accuracy, img/s and a 30-character bar (longest {longest})")
                if cols == 80:
                    check(longest >= 70, f"{name}: the bar uses the width ({longest} characters)")
        # a log: time-stamped lines
        for secs, want in (("0", None), (None, 0)):
            env = env_base()
            if secs is not None:
                env["ADVML_PROGRESS_SECONDS"] = secs
            out = os.path.join(work, f"log{secs}.h5")
            p = subprocess.run([TRAIN] + args + ["--out", out], env=env, capture_output=True, text=True, timeout=240)
            with h5py.File(out, "r") as f:
                nb = int(f["metrics/epoch/step"][0])
            ts = r"^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ\] "
            within = re.findall(ts + r"epoch  1/2 \[[=>-]+\] +[\d.]+% +\d+/\d+ +[\d.]+ ms/step ETA", p.stdout, re.M)
            n_want = nb - 1 if want is None else want
            check(p.returncode == 0 and "\r" not in p.stdout and len(within) == n_want,
                  f"log, ADVML_PROGRESS_SECONDS={secs}: {len(within)} time-stamped lines in epoch 1, "
                  f"expected {n_want}")
            check(len(re.findall(ts + r"epoch  [12]/2: train loss", p.stdout, re.M)) == 2,
                  f"log, ADVML_PROGRESS_SECONDS={secs}: the two epoch lines are time-stamped")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"{'FAILED' if FAILS else 'passed'}: {len(FAILS)} failures")
    sys.exit(1 if FAILS else 0)


if __name__ == "__main__":
    main()

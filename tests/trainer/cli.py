"""The command line's --help and --version, and the progress display: a bar
on a terminal (also under mpirun, whose ranks always get a pseudo-terminal:
the test is made on mpirun's own stdout), one plain line per epoch in logs.
"""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402


def sh(cmd, env, timeout=120):
    """Run cmd; stdout decoded WITHOUT newline translation (so a \r stays a \r)."""
    try:
        p = subprocess.run(cmd, capture_output=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        common.fail("timed out: %s" % cmd)
    return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")


def main():
    rc, out, err = common.run(["--help"], np_=2)
    common.check(rc == 0 and out.count("usage: advml-train --config FILE.json") == 1 and "Exit codes" in out,
                 "--help prints the usage once (rank 0) and exits 0")
    rc, out, err = common.run(["--version"])
    common.check(rc == 0 and out.startswith("advml-train ") and "git" in out, "--version: " + out.strip())

    data = common.digits_h5()
    job = os.path.join(common.SRC, "jobs", "digits_cnn.json")
    args = ["--config", job, "--data", data, "--epochs", "2"]
    env = {k: v for k, v in common.mpi_env().items() if k != "ADVML_PROGRESS"}

    # Logs (a pipe): one plain line per epoch, no carriage returns.
    rc, out, err = sh(["mpirun", "-np", "2", common.TRAIN] + args, env)
    common.check(rc == 0 and "\r" not in out and out.count("epoch  1/2: train loss") == 1 and
                 out.count("epoch  2/2: train loss") == 1, "piped output: one plain line per epoch")
    common.check("test accuracy: " in out and "Model: " in out and "  optimizer  sgd lr 0.1" in out,
                 "rank 0 prints the settings, the model summary and the test accuracy")

    # A terminal: script(1) gives mpirun a pseudo-terminal; the bar is drawn with \r.
    cmd = "mpirun -np 2 %s %s" % (common.TRAIN, " ".join(args))
    rc, out, err = sh(["script", "-qec", cmd, "/dev/null"], env)
    common.check(rc == 0 and "\repoch  1/2 [" in out and "ETA" in out and "ms/step" in out and
                 "epoch  2/2: train loss" in out, "on a terminal: a progress bar (ETA, ms/step), then epoch lines")
    # mpirun on a terminal but its output sent to a file (a SLURM log): plain lines.
    d = common.tmpdir("cli")
    try:
        log = os.path.join(d, "log.txt")
        rc, out, err = sh(["script", "-qec", cmd + " > " + log, "/dev/null"], env)
        with open(log, "rb") as f:
            text = f.read().decode()
        common.check(rc == 0 and "\r" not in text and "epoch  2/2: train loss" in text,
                     "output redirected to a file: plain lines even though ranks get a pseudo-terminal")
    finally:
        common.cleanup(d)
    # ADVML_PROGRESS forces the mode.
    rc, out, err = sh(["mpirun", "-np", "2", common.TRAIN] + args, dict(env, ADVML_PROGRESS="bar"))
    common.check(rc == 0 and "\repoch  1/2 [" in out and "ETA" in out, "ADVML_PROGRESS=bar forces the bar")


if __name__ == "__main__":
    main()

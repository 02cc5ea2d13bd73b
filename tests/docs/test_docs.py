#!/usr/bin/env python3
"""Docs that run: every shell and Python block of README.md, docs/*.md,
analysis/README.md and python/README.md, run as written, in order, in a scratch
copy of the source tree (test docs_examples, label docs).

  test_docs.py [FILE.md...]        (ctest sets ADVML_SRC and ADVML_BIN)

Which blocks run:
  ```sh / ```bash    run by bash -e -o pipefail in the scratch copy's top directory
  ```python          run by /usr/bin/python3 there, with the package importable
                     (PYTHONPATH=python, as after `pip install -e python`)
  ```text, ```json, ```c, ```matlab, ...   not run
A block preceded by the line `<!-- docs-test: skip REASON -->` is not run (it is
only illustrative: SLURM, placeholders such as job ids, the set-up itself); the
reason is printed. An unlabelled fenced block or an indented code block whose
first line looks like a command or Python (advml-..., mpirun, scripts/, import,
...) is an error: label it sh/python to run it, text if it is a synopsis.

The scratch copy: the tracked files of the tree; build/ holds the built tools
(ADVML_BIN), advml-train through a wrapper that adds --max-steps
$ADVML_DOCS_MAX_STEPS (default 20; on --resume, that many more than the
checkpoint's steps) unless the command gives --max-steps, so every documented
training run stops after a few steps; build/ is first on PATH.
For README.md, data/ holds only what scripts/test.sh fetches (the MNIST IDX
files, Fashion-MNIST, the digits CSV), as in a fresh clone, and its own first
session makes the rest. For the other files, data/ is as after README's first
session (`scripts/fetch-data.sh build`, run once here). Blocks of one file
share its scratch copy, so a block may use what an earlier one wrote. Prints
one line per block and a closing `N passed, N failed`; exit 1 on any failure.
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

SRC = os.environ.get("ADVML_SRC") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.environ.get("ADVML_BIN") or os.path.join(SRC, "build")
MAX_STEPS = os.environ.get("ADVML_DOCS_MAX_STEPS", "20")
BLOCK_TIMEOUT = int(os.environ.get("ADVML_DOCS_BLOCK_TIMEOUT", "600"))
TOOLS = ("advml-train", "advml-data", "advml-predict")
RUNNABLE = {"sh": "sh", "bash": "sh", "shell": "sh", "python": "python", "py": "python"}
LOOKS_RUNNABLE = re.compile(r"^\s*(\$ )?(advml-(train|data|predict)(\s|$)|mpirun\b|srun\b|sbatch\b|scripts/|analysis/|"
                            r"bench/|jobs/|tests/|python3?\b|/usr/bin/python3|bash\b|cmake\b|pip3?\b|"
                            r"import \w|from \w+ import)")
SKIP = re.compile(r"^<!--\s*docs-test:\s*skip\b\s*(.*?)\s*-->\s*$")


def doc_files(args):
    if args:
        return [os.path.abspath(a) for a in args]
    names = ["README.md"] + sorted(os.path.join("docs", f) for f in os.listdir(os.path.join(SRC, "docs"))
                                   if f.endswith(".md")) + ["analysis/README.md", "python/README.md"]
    return [os.path.join(SRC, n) for n in names if os.path.exists(os.path.join(SRC, n))]


def blocks(path):
    """([(line, kind, text, skip_reason)], [error]) of a markdown file; kind
    "sh", "python" or None (not run); an error for each unlabelled block that
    looks runnable."""
    lines = open(path).read().split("\n")
    out, errors = [], []
    i, prev_blank = 0, True
    rel = os.path.relpath(path, SRC)
    while i < len(lines):
        ln = lines[i]
        m = re.match(r"^(\s*)```(\S*)\s*$", ln)
        if m:
            indent, lang = m.group(1), m.group(2)
            j = i + 1
            while j < len(lines) and not re.match(r"^\s*```\s*$", lines[j]):
                j += 1
            text = "\n".join(x[len(indent):] if x.startswith(indent) else x for x in lines[i + 1:j])
            skip = None
            k = i - 1
            if k >= 0 and SKIP.match(lines[k].strip()):
                skip = SKIP.match(lines[k].strip()).group(1) or "illustrative"
            first = next((x for x in text.split("\n") if x.strip() and not x.strip().startswith("#")), "")
            if not lang and LOOKS_RUNNABLE.match(first):
                errors.append(f"{rel}:{i + 1}: an unlabelled block that looks runnable ({first.strip()[:60]!r}): "
                              "label it ```sh or ```python (it runs) or ```text (a synopsis)")
            out.append((i + 1, RUNNABLE.get(lang), text, skip))
            i, prev_blank = j + 1, False
            continue
        if prev_blank and re.match(r"^    \S", ln):  # an indented code block
            if LOOKS_RUNNABLE.match(ln):
                errors.append(f"{rel}:{i + 1}: an indented code block that looks runnable ({ln.strip()[:60]!r}): "
                              "fence it as ```sh or ```python (it runs) or ```text")
            while i < len(lines) and (lines[i].startswith("    ") or not lines[i].strip()):
                i += 1
            prev_blank = True
            continue
        prev_blank = not ln.strip()
        i += 1
    return out, errors


def tracked_files():
    try:
        p = subprocess.run(["git", "-C", SRC, "ls-files", "-z"], capture_output=True, check=True)
        return [f for f in p.stdout.decode().split("\0") if f]
    except (OSError, subprocess.CalledProcessError):
        files = []
        for root, dirs, names in os.walk(SRC):
            dirs[:] = [d for d in dirs if not d.startswith((".", "build", "data", "results"))]
            files += [os.path.relpath(os.path.join(root, n), SRC) for n in names]
        return files


def make_scratch(work, name, data_from):
    """A copy of the tracked tree in work/name with build/ (the tools) and data/
    (symlinks to the entries of data_from that exist)."""
    top = os.path.join(work, name)
    for f in tracked_files():
        src = os.path.join(SRC, f)
        if not os.path.isfile(src):
            continue
        dst = os.path.join(top, f)
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        shutil.copy2(src, dst)
    b = os.path.join(top, "build")
    os.makedirs(b, exist_ok=True)
    for t in TOOLS:
        real = os.path.join(BIN, t)
        if t == "advml-train":
            with open(os.path.join(b, t), "w") as fh:
                fh.write(f"""#!/usr/bin/python3
# docs test: a documented training run stops after $ADVML_DOCS_MAX_STEPS more steps
import os, sys
args = sys.argv[1:]
if not any(a.split("=")[0] in ("--max-steps", "--help", "--version") for a in args):
    n = int(os.environ.get("ADVML_DOCS_MAX_STEPS", "{MAX_STEPS}"))
    if "--resume" in args[:-1]:
        import h5py
        with h5py.File(args[args.index("--resume") + 1], "r") as f:
            n += int(f.attrs["step"])
    args += ["--max-steps", str(n)]
os.execv({real!r}, [{real!r}] + args)
""")
            os.chmod(os.path.join(b, t), 0o755)
        else:
            os.symlink(real, os.path.join(b, t))
    d = os.path.join(top, "data")
    os.makedirs(d, exist_ok=True)
    for entry in sorted(os.listdir(data_from)) if os.path.isdir(data_from) else []:
        if entry.endswith(".tmp"):
            continue
        os.symlink(os.path.realpath(os.path.join(data_from, entry)), os.path.join(d, entry))
    return top


def run_block(top, kind, text, env):
    if kind == "sh":
        cmd = ["bash", "-e", "-o", "pipefail", "-c", text]
    else:
        script = os.path.join(top, ".docs-test-block.py")
        with open(script, "w") as fh:
            fh.write(text)
        cmd = ["/usr/bin/python3", script]
    t0 = time.time()
    try:
        p = subprocess.run(cmd, cwd=top, env=env, capture_output=True, text=True, timeout=BLOCK_TIMEOUT,
                           stdin=subprocess.DEVNULL)
        rc, out = p.returncode, p.stdout + p.stderr
    except subprocess.TimeoutExpired as e:
        rc, out = 124, f"timed out after {BLOCK_TIMEOUT} s\n{e.stdout or ''}{e.stderr or ''}"
    return rc, out, time.time() - t0


def main():
    for t in TOOLS:
        if not os.access(os.path.join(BIN, t), os.X_OK):
            sys.exit(f"test_docs: {os.path.join(BIN, t)} is not built")
    files = doc_files(sys.argv[1:])
    parsed, bad = {}, []
    for f in files:
        parsed[f], errors = blocks(f)
        bad += errors
    work = tempfile.mkdtemp(prefix="advml-docs-test-")
    passed = failed = skipped = 0
    try:
        # data/ as scripts/test.sh leaves it (the raw sources only) ...
        raw = os.path.join(work, "raw-data")
        os.makedirs(raw)
        for e in ("mnist", "fashion-mnist", "digits.csv.gz"):
            if os.path.exists(os.path.join(SRC, "data", e)):
                os.symlink(os.path.realpath(os.path.join(SRC, "data", e)), os.path.join(raw, e))
        # ... and as after README's first session (scripts/fetch-data.sh build)
        base = make_scratch(work, "base", raw)
        env = dict(os.environ, PATH=os.path.join(base, "build") + os.pathsep + os.environ.get("PATH", ""))
        p = subprocess.run(["bash", "scripts/fetch-data.sh", "build"], cwd=base, env=env, capture_output=True,
                           text=True, timeout=900)
        if p.returncode != 0:
            sys.exit(f"test_docs: scripts/fetch-data.sh build failed in the scratch copy:\n{p.stdout}{p.stderr}")
        for f in files:
            rel = os.path.relpath(f, SRC)
            runnable = [b for b in parsed.get(f, []) if b[1]]
            if not runnable:
                continue
            top = make_scratch(work, rel.replace("/", "_"),
                               raw if rel == "README.md" else os.path.join(base, "data"))
            env = dict(os.environ, PATH=os.path.join(top, "build") + os.pathsep + os.environ.get("PATH", ""),
                       PYTHONPATH=os.path.join(top, "python"), MPLBACKEND="Agg")
            for line, kind, text, skip in runnable:
                where = f"{rel}:{line}"
                if skip is not None:
                    print(f"skip {where} ({kind}): {skip}")
                    skipped += 1
                    continue
                rc, out, secs = run_block(top, kind, text, env)
                if rc == 0:
                    print(f"ok   {where} ({kind}, {secs:.1f} s)")
                    passed += 1
                else:
                    failed += 1
                    tail = "\n".join(out.rstrip().split("\n")[-25:])
                    print(f"FAIL {where} ({kind}, exit {rc}, {secs:.1f} s):\n"
                          + "\n".join("     | " + x for x in text.split("\n"))
                          + "\n     output:\n" + "\n".join("     > " + x for x in tail.split("\n")))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    for b in bad:
        print("FAIL " + b)
        failed += 1
    print(f"docs: {passed} passed, {failed} failed, {skipped} skipped")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()

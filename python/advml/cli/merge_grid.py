#!/usr/bin/env python3
"""Merge the run files of a learning-rate x lambda grid search into one grid file.

  merge_grid.py results/grid_search-1234            # a grid directory (grid.json + task-K.h5)
  merge_grid.py --out grid.h5 runs/*.h5              # any run files; axes from their configs

A grid directory is what jobs/grid_search.sbatch writes: grid.json (the eta and
lambda values; task K is eta[K // n_lambda], lambda[K % n_lambda]) and one run
file task-K.h5 per task. The grid file goes to GRID_DIR/grid.h5 unless --out
says otherwise. Given run files instead, the axes are the sorted distinct
values of optimizer.lr and training.l2 in their configs.

The grid file (docs/grid-file-layout.md) holds eta (n_eta) and lambda
(n_lambda), the final train/val/test accuracy and loss as (n_eta, n_lambda)
datasets (NaN where a run is missing), each run's status and epoch count, and a
copy of each run's /metrics under /runs/. Missing or failed runs are reported
and leave NaN; with --strict they make the exit status 1. It is written to a
temporary file and renamed, so an existing grid file is never left half-written.
"""

import argparse
import datetime
import json
import math
import os
import sys

import h5py
import numpy as np

from ..runs import Run, RunFileError, is_checkpoint_name

FINAL = (
    ("train_accuracy", "fraction in [0, 1]", "training-set accuracy at the run's last completed epoch"),
    ("val_accuracy", "fraction in [0, 1]", "validation accuracy at the run's last completed epoch"),
    ("test_accuracy", "fraction in [0, 1]", "test accuracy at the run's last completed epoch"),
    ("train_loss", "mean loss per sample", "training loss (data term) at the run's last completed epoch"),
    ("val_loss", "mean loss per sample", "validation loss (data term) at the run's last completed epoch"),
    ("test_loss", "mean loss per sample", "test loss (data term) at the run's last completed epoch"),
)
REL_TOL = 1e-6


def fail(msg):
    print(f"merge_grid: error: {msg}", file=sys.stderr)
    sys.exit(1)


def close(a, b):
    return math.isclose(a, b, rel_tol=REL_TOL, abs_tol=0.0)


def read_manifest(grid_dir):
    """Returns (etas, lambdas, cells): cells[(i, j)] = (task, path)."""
    path = os.path.join(grid_dir, "grid.json")
    try:
        with open(path) as fh:
            m = json.load(fh)
    except FileNotFoundError:
        fail(f"{grid_dir}: no grid.json (not a directory written by jobs/grid_search.sbatch; "
             "give run files and --out instead)")
    except ValueError as e:
        fail(f"{path}: not valid JSON ({e})")
    try:
        etas = [float(x) for x in m["etas"]]
        lambdas = [float(x) for x in m["lambdas"]]
        pattern = m.get("task_file", "task-{task}.h5")
    except (KeyError, TypeError, ValueError) as e:
        fail(f"{path}: expected \"etas\" and \"lambdas\" as lists of numbers ({e})")
    if not etas or not lambdas:
        fail(f"{path}: empty etas or lambdas")
    cells = {}
    for i in range(len(etas)):
        for j in range(len(lambdas)):
            task = i * len(lambdas) + j
            cells[(i, j)] = (task, os.path.join(grid_dir, pattern.format(task=task)))
    return etas, lambdas, cells


def from_run_files(paths):
    """Axes from the runs' own configs. Returns (etas, lambdas, cells, runs)."""
    runs = {}
    for p in paths:
        try:
            r = Run(p)
        except RunFileError as e:
            fail(str(e))
        if r.lr() is None or r.l2() is None:
            fail(f"{p}: its config_json has no optimizer.lr or training.l2")
        runs[p] = r

    def axis(values):
        out = []
        for v in sorted(values):
            if not out or not close(out[-1], v):
                out.append(v)
        return out

    etas = axis(r.lr() for r in runs.values())
    lambdas = axis(r.l2() for r in runs.values())
    cells = {}
    for p, r in runs.items():
        i = next(k for k, v in enumerate(etas) if close(v, r.lr()))
        j = next(k for k, v in enumerate(lambdas) if close(v, r.l2()))
        if (i, j) in cells:
            fail(f"{cells[(i, j)][1]} and {p} are both eta={etas[i]:g}, lambda={lambdas[j]:g}")
        cells[(i, j)] = (None, p)
    return etas, lambdas, cells, runs


def merge(etas, lambdas, cells, runs, out, source):
    ne, nl = len(etas), len(lambdas)
    final = {name: np.full((ne, nl), np.nan) for name, _, _ in FINAL}
    epochs = np.zeros((ne, nl), dtype=np.int32)
    status = np.full((ne, nl), "missing", dtype=object)
    run_file = np.full((ne, nl), "", dtype=object)
    problems = []
    config_json = ""
    out_dir = os.path.dirname(os.path.abspath(out))

    for (i, j), (task, path) in sorted(cells.items()):
        run_file[i, j] = os.path.relpath(os.path.abspath(path), out_dir)
        where = f"eta={etas[i]:g}, lambda={lambdas[j]:g}" + (f" (task {task})" if task is not None else "")
        r = runs.get(path)
        if r is None:
            if not os.path.exists(path):
                problems.append(f"{where}: {path} missing")
                continue
            try:
                r = Run(path)
            except RunFileError as e:
                problems.append(f"{where}: {e}")
                status[i, j] = "unreadable"
                continue
            runs[path] = r
        if r.lr() is not None and not close(r.lr(), etas[i]):
            fail(f"{path}: its learning rate is {r.lr():g}, but its grid cell is eta={etas[i]:g}")
        if r.l2() is not None and not close(r.l2(), lambdas[j]):
            fail(f"{path}: its l2 is {r.l2():g}, but its grid cell is lambda={lambdas[j]:g}")
        status[i, j] = r.status
        epochs[i, j] = r.epochs
        for name, _, _ in FINAL:
            final[name][i, j] = r.final(name)
        if r.status != "completed":
            problems.append(f"{where}: {path} is {r.status}"
                            + (f": {r.attrs.get('message')}" if r.attrs.get("message") else ""))
        if not config_json:
            config_json = r.attrs.get("config_json", "")

    tmp = f"{out}.tmp"
    str_t = h5py.string_dtype()
    with h5py.File(tmp, "w") as f:
        f.attrs["format"] = "advml-grid"
        f.attrs["format_version"] = np.int32(1)
        f.attrs["created"] = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        f.attrs["source"] = source
        f.attrs["config_json"] = config_json
        f.attrs["n_runs"] = np.int64(sum(1 for s in status.flat if s not in ("missing", "unreadable")))
        f.attrs["n_completed"] = np.int64(sum(1 for s in status.flat if s == "completed"))
        e = f.create_dataset("eta", data=np.asarray(etas, dtype=np.float64))
        e.attrs["units"] = "learning rate"
        e.attrs["description"] = "learning rates of the grid (rows), optimizer.lr / --lr"
        lam = f.create_dataset("lambda", data=np.asarray(lambdas, dtype=np.float64))
        lam.attrs["units"] = "L2 strength"
        lam.attrs["description"] = ("L2 strengths of the grid (columns), training.l2 / --l2 "
                                    "(the penalty is l2/2 * sum w^2, so Keras' l2(x) is l2 = 2x)")
        e.make_scale("eta")
        lam.make_scale("lambda")

        def grid_ds(name, data, units, desc, **kw):
            d = f.create_dataset(name, data=data, **kw)
            d.attrs["units"] = units
            d.attrs["description"] = desc
            d.dims[0].attach_scale(e)
            d.dims[1].attach_scale(lam)
            d.dims[0].label = "eta"
            d.dims[1].label = "lambda"
            return d

        for name, units, desc in FINAL:
            grid_ds(name, final[name], units, desc + "; NaN where the run is missing or the value does not apply")
        grid_ds("epochs", epochs, "epochs", "completed epochs of each run (0 when missing)")
        grid_ds("status", status.astype(str).astype(object), "",
                "run status: completed, running, failed, missing or unreadable", dtype=str_t)
        grid_ds("run_file", run_file.astype(str).astype(object), "",
                "each run file's path relative to this grid file", dtype=str_t)

        runs_g = f.create_group("runs")
        runs_g.attrs["description"] = ("one group per run, named eta<I>_lambda<J> after its cell; a copy of the "
                                       "run file's /metrics and its root attributes")
        for (i, j), (task, path) in sorted(cells.items()):
            r = runs.get(path)
            if r is None:
                continue
            g = runs_g.create_group(f"eta{i}_lambda{j}")
            g.attrs["eta"] = np.float64(etas[i])
            g.attrs["lambda"] = np.float64(lambdas[j])
            g.attrs["run_file"] = run_file[i, j]
            if task is not None:
                g.attrs["task"] = np.int64(task)
            with h5py.File(path, "r") as src:
                for k, v in src.attrs.items():
                    g.attrs[k] = v
                if "metrics" in src:
                    src.copy(src["metrics"], g, name="metrics")
    os.replace(tmp, out)
    return status, final, problems


def main():
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="Example: analysis/merge_grid.py results/grid_search-1234 && "
               "analysis/grid_heatmap.py results/grid_search-1234/grid.h5",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("inputs", nargs="+", metavar="GRID_DIR | RUN.h5",
                    help="one grid directory (with grid.json), or run files")
    ap.add_argument("--out", help="grid file to write (default GRID_DIR/grid.h5; required with run files)")
    ap.add_argument("--strict", action="store_true", help="exit 1 when a run is missing or did not complete")
    a = ap.parse_args()

    if len(a.inputs) == 1 and os.path.isdir(a.inputs[0]):
        grid_dir = a.inputs[0]
        etas, lambdas, cells = read_manifest(grid_dir)
        runs = {}
        out = a.out or os.path.join(grid_dir, "grid.h5")
        source = os.path.abspath(grid_dir)
    else:
        ckpts = [p for p in a.inputs if is_checkpoint_name(p)]
        if ckpts:  # a glob such as task-*.h5 matches the checkpoints too
            print(f"merge_grid: skipping {len(ckpts)} checkpoint(s), not run files: {', '.join(ckpts)}",
                  file=sys.stderr)
            a.inputs = [p for p in a.inputs if not is_checkpoint_name(p)]
            if not a.inputs:
                ap.error("no run files left after skipping the checkpoints")
        for p in a.inputs:
            if os.path.isdir(p):
                ap.error(f"{p} is a directory; give either one grid directory or run files")
            if not os.path.exists(p):
                ap.error(f"{p}: no such file")
        if not a.out:
            ap.error("--out is required when merging run files")
        etas, lambdas, cells, runs = from_run_files(a.inputs)
        out = a.out
        source = " ".join(os.path.abspath(p) for p in a.inputs)
    if not out.endswith(".h5"):
        ap.error(f"--out {out}: expected a .h5 file name")
    out_dir = os.path.dirname(os.path.abspath(out))
    if not os.path.isdir(out_dir):
        fail(f"{out}: directory {out_dir} does not exist")

    status, final, problems = merge(etas, lambdas, cells, runs, out, source)
    n = status.size
    done = int(np.sum(status == "completed"))
    missing = int(np.sum(status == "missing"))
    print(f"merge_grid: wrote {out}: {len(etas)} x {len(lambdas)} grid (eta x lambda), "
          f"{done} of {n} runs completed, {missing} missing")
    for p in problems:
        print(f"merge_grid: warning: {p}", file=sys.stderr)
    acc = final["test_accuracy"]
    if np.isfinite(acc).any():
        i, j = np.unravel_index(np.nanargmax(acc), acc.shape)
        print(f"merge_grid: best test accuracy {acc[i, j]:.4f} at eta={etas[i]:g}, lambda={lambdas[j]:g}")
    if a.strict and problems:
        sys.exit(1)


if __name__ == "__main__":
    main()

#!/usr/bin/env bash
# test_install.sh - the advml Python package installs with pip (editable, into
# a virtual environment over Debian's packages, no network) and its commands
# then run from anywhere: advml-learning-curves & co. as console scripts, and
# `import advml` resolves to the source tree.
set -euo pipefail
: "${ADVML_SRC:?}"
venv=$(mktemp -d /tmp/advml-pypkg-venv-XXXXXX)
trap 'rm -rf "$venv"' EXIT
/usr/bin/python3 -m venv --system-site-packages "$venv"
"$venv/bin/pip" install --quiet --no-build-isolation --no-deps --no-index -e "$ADVML_SRC/python"
cd "$venv"
where=$("$venv/bin/python" -c 'import advml, os; print(os.path.dirname(advml.__file__))')
[ "$where" = "$ADVML_SRC/python/advml" ] || { echo "import advml found $where, not the tree's" >&2; exit 1; }
for c in learning-curves merge-grid grid-heatmap forecast-plot confusion-matrix scaling-plot export-onnx; do
  help=$("$venv/bin/advml-$c" --help)   # (not piped into grep -q: SIGPIPE under pipefail)
  [[ $help == "usage: advml-$c"* ]] || { echo "advml-$c --help failed: $help" >&2; exit 1; }
done
help=$("$venv/bin/python" -m advml --help)
[[ $help == *learning-curves* ]] || { echo "python -m advml --help: $help" >&2; exit 1; }
# a command on a real file: a run file written here by advml-train, if built
if [ -n "${ADVML_BIN:-}" ] && [ -x "$ADVML_BIN/advml-train" ]; then
  "$ADVML_BIN/advml-data" sine --kind clean --out "$venv/sine.h5" >/dev/null
  "$ADVML_BIN/advml-train" --config "$ADVML_SRC/jobs/sine_rnn.json" --data "$venv/sine.h5" --max-steps 3 \
    --out "$venv/run.h5" >/dev/null
  out=$("$venv/bin/advml-learning-curves" "$venv/run.h5")
  [[ $out == *wrote* ]] || { echo "advml-learning-curves: $out" >&2; exit 1; }
fi
echo "test_install: pip install -e python and the console scripts work"

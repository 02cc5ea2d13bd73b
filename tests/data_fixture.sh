#!/usr/bin/env bash
# data_fixture.sh TOOL SRC_DATA OUT_DIR - convert the real datasets that
# scripts/fetch-data.sh put under SRC_DATA once per test run, into OUT_DIR:
#   mnist.h5 (from SRC_DATA/mnist), fashion-mnist.h5 (SRC_DATA/fashion-mnist),
#   digits.h5 (SRC_DATA/digits.csv.gz, 80/20 split as the course).
# A source that is absent is skipped; exits 77 (ctest: skipped) when all are.
set -euo pipefail
tool=$1 src=$2 out=$3
mkdir -p "$out"
done_any=0
if [ -e "$src/mnist/train-images-idx3-ubyte" ] || [ -e "$src/mnist/train-images-idx3-ubyte.gz" ]; then
  "$tool" mnist --from "$src/mnist" --out "$out/mnist.h5" --force
  done_any=1
fi
if [ -d "$src/fashion-mnist" ]; then
  "$tool" mnist --from "$src/fashion-mnist" --out "$out/fashion-mnist.h5" --force
  done_any=1
fi
if [ -e "$src/digits.csv.gz" ]; then
  "$tool" csv --from "$src/digits.csv.gz" --out "$out/digits.h5" --image 1,8,8 --scale 0.0625 \
    --test-fraction 0.2 --seed 1 --force
  done_any=1
fi
[ "$done_any" = 1 ] || { echo "data_fixture: nothing under $src (run scripts/fetch-data.sh)"; exit 77; }

#!/usr/bin/env bash
# test_portable.sh - the build a user makes on a cluster (docs/slurm.md,
# "Several nodes"): -DADVML_NATIVE=OFF (no -march=native: compute nodes may
# have other CPUs than the login node) and -DADVML_BUILD_TESTS=OFF, in a
# temporary build directory, with CUnit hidden from pkg-config (PKG_CONFIG_LIBDIR
# holds every .pc file of this machine but cunit.pc), as on a cluster that has
# no CUnit. It must configure and build, compile nothing with -march=native,
# and its advml-train must train. Negative control: the same configuration
# with the tests on must fail for want of CUnit (so CUnit really is hidden).
set -uo pipefail
: "${ADVML_SRC:?ADVML_SRC must be set (ctest sets it)}"
fail() { echo "FAIL: $*" >&2; exit 1; }

dir=$(mktemp -d "${TMPDIR:-/tmp}/advml-portable.XXXXXX") || fail "mktemp failed"
trap 'rm -rf "$dir"' EXIT
trap 'exit 143' TERM INT HUP

# every .pc file pkg-config would find, but cunit.pc
mkdir -p "$dir/pc"
IFS=: read -r -a pcdirs <<<"$(pkg-config --variable pc_path pkg-config)"
for d in "${pcdirs[@]}"; do
  for f in "$d"/*.pc; do
    [ -e "$f" ] || continue
    [ "$(basename "$f")" = cunit.pc ] && continue
    [ -e "$dir/pc/$(basename "$f")" ] || ln -s "$f" "$dir/pc/"
  done
done
export PKG_CONFIG_LIBDIR=$dir/pc PKG_CONFIG_PATH=
pkg-config --exists cunit && fail "cunit.pc is still visible to pkg-config"

opts=(-DCMAKE_BUILD_TYPE=Release -DADVML_NATIVE=OFF -DADVML_BUILD_BENCH=OFF -DCMAKE_EXPORT_COMPILE_COMMANDS=ON)
if cmake -S "$ADVML_SRC" -B "$dir/with-tests" "${opts[@]}" -DADVML_BUILD_TESTS=ON > "$dir/with-tests.log" 2>&1; then
  fail "configuring with the tests on succeeded although CUnit is hidden"
fi
grep -q cunit "$dir/with-tests.log" || { cat "$dir/with-tests.log"; fail "configuring with the tests on failed, but not for CUnit"; }
echo "ok: with the tests on, configuring fails for want of CUnit"

cmake -S "$ADVML_SRC" -B "$dir/build" "${opts[@]}" -DADVML_BUILD_TESTS=OFF > "$dir/configure.log" 2>&1 ||
  { cat "$dir/configure.log"; fail "configuring -DADVML_NATIVE=OFF -DADVML_BUILD_TESTS=OFF failed without CUnit"; }
echo "ok: configured without CUnit"
nice -n 5 cmake --build "$dir/build" -j "${ADVML_BUILD_JOBS:-2}" > "$dir/build.log" 2>&1 ||
  { tail -40 "$dir/build.log"; fail "the portable build failed"; }
echo "ok: built"
grep -q '"command"' "$dir/build/compile_commands.json" || fail "no compile commands recorded"
if grep -q -- '-march=native' "$dir/build/compile_commands.json"; then
  fail "-DADVML_NATIVE=OFF still compiles with -march=native"
fi
echo "ok: nothing compiled with -march=native"
for t in advml-train advml-data advml-predict; do
  [ -x "$dir/build/$t" ] || fail "$t was not built"
done
[ -e "$dir/build/tests" ] && fail "tests were configured although ADVML_BUILD_TESTS=OFF"

# the portable advml-train trains (2 epochs of the digits CNN on 2 ranks)
[ -s "$ADVML_SRC/data/digits.csv.gz" ] || fail "$ADVML_SRC/data/digits.csv.gz missing (run scripts/fetch-data.sh)"
"$dir/build/advml-data" csv --from "$ADVML_SRC/data/digits.csv.gz" --out "$dir/digits.h5" --image 1,8,8 \
  --scale 0.0625 --test-fraction 0.2 --seed 1 >/dev/null || fail "the portable advml-data failed"
timeout -k 5 120 mpirun -np 2 "$dir/build/advml-train" --config "$ADVML_SRC/jobs/digits_cnn.json" \
  --data "$dir/digits.h5" --epochs 2 --out "$dir/run.h5" > "$dir/train.log" 2>&1 ||
  { cat "$dir/train.log"; fail "the portable advml-train failed"; }
grep -q "test accuracy" "$dir/train.log" || { cat "$dir/train.log"; fail "no test accuracy printed"; }
echo "ok: the portable advml-train trained: $(grep 'test accuracy' "$dir/train.log")"
echo PASS

#!/usr/bin/env bash
# test_install.sh - cmake --install of the build under test into a temporary
# prefix, then a C program outside the tree (tests/install/consumer/) built
# against the installed libadvml twice: with pkg-config (cc $(pkg-config
# --cflags --libs advml)) and with CMake's find_package(advml). Both must
# train a CNN on the digits (made by the installed advml-data), one on 2 MPI
# ranks, and reach a test accuracy above 0.8. Nothing of the source tree is on
# their include or library paths.
set -uo pipefail
: "${ADVML_SRC:?}" "${ADVML_BIN:?}"
fail() { echo "FAIL: $*" >&2; exit 1; }
dir=$(mktemp -d "${TMPDIR:-/tmp}/advml-install.XXXXXX") || fail "mktemp failed"
trap 'rm -rf "$dir"' EXIT
trap 'exit 143' TERM INT HUP
prefix=$dir/prefix

cmake --install "$ADVML_BIN" --prefix "$prefix" > "$dir/install.log" 2>&1 || { cat "$dir/install.log"; fail "cmake --install failed"; }
for f in bin/advml-train bin/advml-data bin/advml-predict include/advml/model.h include/advml/train.h \
         include/advml/version.h; do
  [ -e "$prefix/$f" ] || fail "$f was not installed"
done
lib=$(find "$prefix" -name libadvml.a | head -1)
pc=$(find "$prefix" -name advml.pc | head -1)
cfg=$(find "$prefix" -name advmlConfig.cmake | head -1)
[ -n "$lib" ] && [ -n "$pc" ] && [ -n "$cfg" ] || fail "libadvml.a, advml.pc or advmlConfig.cmake missing: $(find "$prefix" -type f | sed "s|$prefix/||" | tr '\n' ' ')"
echo "ok: installed ${lib#$prefix/}, ${pc#$prefix/}, ${cfg#$prefix/}, the headers and the tools"

cp -r "$ADVML_SRC/tests/install/consumer" "$dir/src"
# pkg-config
export PKG_CONFIG_PATH=$(dirname "$pc")
flags=$(pkg-config --cflags --libs advml) || fail "pkg-config --cflags --libs advml failed"
case " $flags " in *"$ADVML_SRC"*|*"$ADVML_BIN"*) fail "pkg-config flags point into the tree: $flags";; esac
cc -std=c11 -O2 -o "$dir/train_pc" "$dir/src/train_digits.c" $flags > "$dir/cc.log" 2>&1 ||
  { cat "$dir/cc.log"; fail "building with pkg-config failed: cc ... $flags"; }
echo "ok: built with pkg-config: $flags"
# find_package(advml)
cmake -S "$dir/src" -B "$dir/build" -DCMAKE_PREFIX_PATH="$prefix" > "$dir/cmake.log" 2>&1 ||
  { cat "$dir/cmake.log"; fail "configuring with find_package(advml) failed"; }
cmake --build "$dir/build" > "$dir/cmake-build.log" 2>&1 || { cat "$dir/cmake-build.log"; fail "building with find_package(advml) failed"; }
grep -q -- "$ADVML_SRC/include" "$dir/build/CMakeFiles/train_digits.dir/flags.make" &&
  fail "find_package(advml) put the source tree's include/ on the include path"
echo "ok: built with find_package(advml)"

"$prefix/bin/advml-data" csv --from "$ADVML_SRC/data/digits.csv.gz" --out "$dir/digits.h5" --image 1,8,8 \
  --scale 0.0625 --test-fraction 0.2 --seed 1 > /dev/null || fail "the installed advml-data failed"
for run in "train_pc" "mpirun -np 2 $dir/build/train_digits"; do
  case $run in train_pc) cmd=("$dir/train_pc");; *) cmd=(mpirun -np 2 "$dir/build/train_digits");; esac
  out=$(timeout -k 5 120 "${cmd[@]}" "$dir/digits.h5" 2>&1) || { echo "$out"; fail "$run failed"; }
  acc=$(sed -n 's/.*test accuracy \([0-9.]*\)$/\1/p' <<<"$out")
  [ -n "$acc" ] || { echo "$out"; fail "$run printed no test accuracy"; }
  awk -v a="$acc" 'BEGIN { exit !(a > 0.8) }' || fail "$run: test accuracy $acc is not above 0.8"
  echo "ok: $out"
done
echo PASS

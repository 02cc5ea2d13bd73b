# lib.sh - what the bench/run_*.sh scripts share; sourced, not run.
# The sourcing script defines die() first.

# bench_build SRC BUILD JOBS TARGET...: configure BUILD as a Release build without
# sanitizers when it has no CMakeCache.txt (refuse any other kind of build there),
# then build TARGETs incrementally. Exits through die() on failure.
bench_build() {
    local src=$1 build=$2 jobs=$3
    shift 3
    if [[ -f $build/CMakeCache.txt ]]; then
        grep -q '^CMAKE_BUILD_TYPE:STRING=Release$' "$build/CMakeCache.txt" ||
            die "$build is not a Release build; point BUILD_DIR at a Release build or remove it"
        if grep -q '^ADVML_SANITIZE:BOOL=ON$' "$build/CMakeCache.txt"; then
            die "$build is a sanitizer build; point BUILD_DIR elsewhere"
        fi
    else
        cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=Release -DADVML_SANITIZE=OFF >/dev/null ||
            die "cmake configure failed in $build"
    fi
    cmake --build "$build" --target "$@" -j "$jobs" >/dev/null ||
        die "building $* failed (run: cmake --build $build --target $*)"
}

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
        # the benchmarks measure this host: -march=native (ADVML_NATIVE=OFF for the portable build)
        cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=Release -DADVML_SANITIZE=OFF \
            -DADVML_NATIVE="${ADVML_NATIVE:-ON}" >/dev/null ||
            die "cmake configure failed in $build"
    fi
    cmake --build "$build" --target "$@" -j "$jobs" >/dev/null ||
        die "building $* failed (run: cmake --build $build --target $*)"
}

# bench_one_thread_env: one thread per process on both sides (set before torch is
# imported), and glibc told to keep freed memory, PyTorch's best setting here
# (without it PyTorch page-faults its buffers back every step).
bench_one_thread_env() {
    export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1
    export MALLOC_MMAP_THRESHOLD_=4294967296 MALLOC_TRIM_THRESHOLD_=4294967296
}

# result FILE KEY: the value of the last "RESULT KEY value" line in FILE (empty if none).
result() { awk -v k="$2" '$1 == "RESULT" && $2 == k { v = $3 } END { if (v != "") print v }' "$1"; }

# med X...: the median of the arguments (empty when none).
med() { printf '%s\n' "$@" | sort -g | awk 'NF { v[n++] = $1 } END { if (n) print (n % 2 ? v[int(n / 2)] : 0.5 * (v[n / 2 - 1] + v[n / 2])) }'; }

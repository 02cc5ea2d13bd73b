# Build tests (label "build"): builds of advml other than the one under test.
#   build_portable_no_tests   -DADVML_NATIVE=OFF -DADVML_BUILD_TESTS=OFF in a
#                             temporary directory with CUnit hidden from
#                             pkg-config, as on a cluster (docs/slurm.md):
#                             configures, builds without -march=native, trains
# It compiles advml once more (about 1-2 minutes on 2 cores).
add_test(NAME build_portable_no_tests COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/build/test_portable.sh)
set_tests_properties(build_portable_no_tests PROPERTIES
  ENVIRONMENT "${ADVML_TEST_ENV}" LABELS build TIMEOUT 900)

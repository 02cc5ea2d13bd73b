# The progress display of advml-train (label trainer): the bar under
# pseudo-terminals of 80, 200 and 40 columns, directly and under mpirun, and
# the time-stamped lines of a log (tests/progress/test_progress.py).
add_test(NAME progress_display COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/progress/test_progress.py)
set_tests_properties(progress_display PROPERTIES ENVIRONMENT "${ADVML_TEST_ENV}" LABELS "trainer" TIMEOUT 600)

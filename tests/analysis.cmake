# Tests of the analysis commands (label "python"), on real run files:
# analysis_runs (a fixture) makes the digits dataset with advml-data, trains
# with advml-train on 1 rank and, through jobs/digits_cnn.sbatch run without
# SLURM, on 2 ranks, and runs a 2 x 2 grid with jobs/grid_search.sbatch without
# SLURM (its loop and merge); the other tests check the grid file and every
# plotting command on them.
set(ADVML_ANALYSIS_WORK ${CMAKE_BINARY_DIR}/analysis-test)
add_test(NAME analysis_runs
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/analysis/make_runs.sh ${ADVML_ANALYSIS_WORK})
set_tests_properties(analysis_runs PROPERTIES FIXTURES_SETUP advml_analysis_runs
  ENVIRONMENT "${ADVML_TEST_ENV}" LABELS python TIMEOUT 300)

# analysis_predict needs advml-predict (from the recurrent-networks work)
foreach(t grid plots predict)
  add_test(NAME analysis_${t}
    COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/analysis/test_${t}.py)
  set_tests_properties(analysis_${t} PROPERTIES FIXTURES_REQUIRED advml_analysis_runs
    ENVIRONMENT "${ADVML_TEST_ENV};ADVML_ANALYSIS_WORK=${ADVML_ANALYSIS_WORK}" LABELS python TIMEOUT 300)
endforeach()

# the job scripts without SLURM (resume, completed runs, bad grid settings)
add_test(NAME jobs_local
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/analysis/test_jobs_local.sh ${ADVML_ANALYSIS_WORK})
set_tests_properties(jobs_local PROPERTIES FIXTURES_REQUIRED advml_analysis_runs
  ENVIRONMENT "${ADVML_TEST_ENV}" LABELS python TIMEOUT 300)

# analysis/svd_compress.py (the course's SVD image compression) on its own images
add_test(NAME analysis_svd_compress
  COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/analysis/test_svd_compress.py)
set_tests_properties(analysis_svd_compress PROPERTIES
  ENVIRONMENT "${ADVML_TEST_ENV}" LABELS python TIMEOUT 300)

# Tests of the advml Python package (python/advml/, label python):
#   pypkg_torch_interop  advml -> torch -> advml round trips for every jobs/*.json,
#                        PyTorch's recurrent cells and the course CNN, ONNX export
#   pypkg_readers        Run, Checkpoint, Dataset, Predictions (and pandas) on the
#                        real files of the analysis_runs fixture; python3 -m advml
#   pypkg_install        pip install -e python into a venv; the console scripts
add_test(NAME pypkg_torch_interop
  COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/pypkg/test_torch_interop.py)
set_tests_properties(pypkg_torch_interop PROPERTIES ENVIRONMENT "${ADVML_TEST_ENV}" LABELS python TIMEOUT 900)
add_test(NAME pypkg_readers
  COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/pypkg/test_readers.py)
set_tests_properties(pypkg_readers PROPERTIES FIXTURES_REQUIRED advml_analysis_runs
  ENVIRONMENT "${ADVML_TEST_ENV};ADVML_ANALYSIS_WORK=${ADVML_ANALYSIS_WORK}" LABELS python TIMEOUT 600)
add_test(NAME pypkg_install COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/pypkg/test_install.sh)
set_tests_properties(pypkg_install PROPERTIES ENVIRONMENT "${ADVML_TEST_ENV}" LABELS python TIMEOUT 300)

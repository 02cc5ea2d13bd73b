# Tests of the data module (advml-data, src/{idx,mnist,csvdata,timeseries,dataset}.c).
# Included by tests/CMakeLists.txt.
#
# data_fixture converts the real datasets fetched by scripts/fetch-data.sh
# (data/mnist, data/fashion-mnist, data/digits.csv.gz) once per test run into
# ${ADVML_DATA_TEST_DIR}; test_dataset and the Python layout test use them and
# skip those checks when the sources are absent.
set(ADVML_DATA_TEST_DIR ${CMAKE_BINARY_DIR}/data-test)

add_test(NAME data_fixture
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/data_fixture.sh $<TARGET_FILE:advml-data>
          ${CMAKE_SOURCE_DIR}/data ${ADVML_DATA_TEST_DIR})
set_tests_properties(data_fixture PROPERTIES FIXTURES_SETUP advml_data_files SKIP_RETURN_CODE 77
  ENVIRONMENT "${ADVML_TEST_ENV}" LABELS data TIMEOUT 600)

foreach(t test_dataset test_csvdata)
  if(TARGET ${t})
    target_compile_definitions(${t} PRIVATE ADVML_TEST_SRC_DATA="${CMAKE_SOURCE_DIR}/data"
      ADVML_TEST_DATA_DIR="${ADVML_DATA_TEST_DIR}")
    set_tests_properties(${t} PROPERTIES FIXTURES_REQUIRED advml_data_files)
  endif()
endforeach()

if(Python3_Interpreter_FOUND OR EXISTS /usr/bin/python3)
  add_test(NAME data_python_layout
    COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/python/test_layout.py)
  set_tests_properties(data_python_layout PROPERTIES FIXTURES_REQUIRED advml_data_files
    ENVIRONMENT "${ADVML_TEST_ENV};ADVML_DATA_TEST_DIR=${ADVML_DATA_TEST_DIR}" LABELS python TIMEOUT 600)
  add_test(NAME data_python_cli
    COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/python/test_data_cli.py)
  set_tests_properties(data_python_cli PROPERTIES
    ENVIRONMENT "${ADVML_TEST_ENV}" LABELS python TIMEOUT 300)
  # advml-data lorenz63 / lorenz96 (src/chaos.c)
  add_test(NAME data_python_chaos
    COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/python/test_chaos_data.py)
  set_tests_properties(data_python_chaos PROPERTIES
    ENVIRONMENT "${ADVML_TEST_ENV}" LABELS python TIMEOUT 300)
  # the valid prediction time of bench/run_chaos.sh (bench/chaos_vpt.py), and its
  # torch_chaos.py and esn_precision.py on a small Lorenz-63 file
  add_test(NAME bench_chaos_vpt
    COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/python/test_chaos_vpt.py)
  set_tests_properties(bench_chaos_vpt PROPERTIES
    ENVIRONMENT "${ADVML_TEST_ENV}" LABELS python TIMEOUT 300)
endif()

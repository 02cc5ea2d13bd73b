# Recurrent-network tests (advml-train and advml-predict, under mpirun):
# included by tests/CMakeLists.txt. Each is a /usr/bin/python3 script under
# tests/rnn/ that bounds every child process with a timeout (they reuse
# tests/trainer/common.py); ctest's TIMEOUT is the outer bound. The course's
# sine dataset is made once per build directory with advml-data.
set(ADVML_RNN_TESTS
  ninvariance  # rnn/lstm/gru training on 1 and 2 ranks reaches the same weights; clip_norm active
  sine         # the course's sine RNN: validation MSE bound; predictions and recursive forecast checked
  forecast     # forecasts of exact linear recurrences (Fibonacci, exogenous input) in closed form
  predict      # classifier predictions: probabilities, classes, confusion matrix, accuracy; 1 vs 3 ranks
  failures     # bad input to training and prediction: messages, exit codes, no hang, no damage
  esn)         # echo state network: reservoir radius, ridge readout vs NumPy, 1/2/3 ranks, forecast, resume, errors
foreach(t ${ADVML_RNN_TESTS})
  add_test(NAME rnn_${t}
    COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/rnn/${t}.py
    WORKING_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR})
  set_tests_properties(rnn_${t} PROPERTIES
    ENVIRONMENT "${ADVML_TEST_ENV}" LABELS "mpi;rnn" TIMEOUT 300)
endforeach()

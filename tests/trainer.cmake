# Trainer tests (advml-train under mpirun): included by tests/CMakeLists.txt.
# Each is a /usr/bin/python3 script under tests/trainer/ that bounds every
# child process with a timeout; ctest's TIMEOUT is the outer bound. They need
# scripts/fetch-data.sh to have run (data/digits.csv.gz, data/mnist/), and
# share converted datasets in <build>/tests/trainer-data/ (made once, locked).
set(ADVML_TRAINER_TESTS
  ninvariance  # 1, 2, 3, 4 ranks reach the same weights (and a rank with no samples)
  resume       # resumed runs reach the uninterrupted run's weights, same and different N
  layout       # run file and checkpoint read back with h5py; readable while training
  failures     # every failure: message, exit code, no hang
  faults       # a full disk (tmpfs) keeps the last checkpoint; damaged checkpoints are refused
  bitwise      # reproducible mode: N = 1..4 bitwise equal (CNN with dropout, LSTM), resume 2 -> 3 ranks, threads
  signals      # SIGINT/TERM/USR1/USR2 at a random step: checkpoint, exit 75, bitwise resume; --force
  cli          # --help, --version, progress bar vs plain lines
  control      # schedules, plateau, early stopping, best checkpoint, validation_split, class weights,
               # augmentation: Keras' decisions, N-invariance with all on, bitwise resume; --init-from
  e2e)         # the course's MNIST CNN, 1 epoch on 4000 images, >= 85% test accuracy
foreach(t ${ADVML_TRAINER_TESTS})
  add_test(NAME trainer_${t}
    COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/trainer/${t}.py
    WORKING_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR})
  set_tests_properties(trainer_${t} PROPERTIES
    ENVIRONMENT "${ADVML_TEST_ENV}" LABELS "mpi;trainer" TIMEOUT 900)
endforeach()

# SLURM job tests (label "slurm"): each test starts its own single-node SLURM
# cluster on localhost in a temporary directory (tests/slurm/cluster.sh run,
# which installs Debian's slurmctld, slurmd, slurm-client and munge when they
# are missing and always stops the daemons again), submits the jobs/ scripts
# with small settings and checks their run files. Skip them locally with
# `ctest -LE slurm`; CI runs them. They need advml-train, advml-data and
# data/digits.csv.gz (scripts/fetch-data.sh).
#
# Each test gives its command 240 s (ADVML_SLURM_TIMEOUT) so that the cluster
# is stopped before ctest's own timeout would kill the script. The tests share
# the two cores of the machine: RESOURCE_LOCK runs them one at a time.
foreach(t jobs requeue grid)
  add_test(NAME slurm_${t}
    COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/slurm/cluster.sh run --
            bash ${CMAKE_CURRENT_SOURCE_DIR}/slurm/test_${t}.sh)
  set_tests_properties(slurm_${t} PROPERTIES
    ENVIRONMENT "${ADVML_TEST_ENV};ADVML_SLURM_TIMEOUT=240"
    LABELS slurm TIMEOUT 300 RESOURCE_LOCK advml_slurm_cluster)
endforeach()

# the example scripts with their defaults, a few steps each: the CNNs on MNIST,
# and the recurrent networks (these need the RNN configs in jobs/)
foreach(pair "cnn;mnist_cnn course_cnn" "rnn;sine_rnn noisy_sine oscillator")
  list(GET pair 0 t)
  list(GET pair 1 cases)
  separate_arguments(cases)
  add_test(NAME slurm_examples_${t}
    COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/slurm/cluster.sh run --
            bash ${CMAKE_CURRENT_SOURCE_DIR}/slurm/test_examples.sh ${cases})
  set_tests_properties(slurm_examples_${t} PROPERTIES
    ENVIRONMENT "${ADVML_TEST_ENV};ADVML_SLURM_TIMEOUT=240"
    LABELS slurm TIMEOUT 300 RESOURCE_LOCK advml_slurm_cluster)
endforeach()

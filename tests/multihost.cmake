# Multi-host tests (label "multihost"): advml-train on two hosts over TCP, the
# hosts being two network namespaces on this machine joined by a veth pair
# (tests/multihost/netns.sh; Open MPI reaches the second through an rsh agent
# that enters its namespace), and a real two-node SLURM cluster across them.
# They need root; they install iproute2 (and iptables, SLURM and munge for the
# tests that use them) when missing, and exit 77 (skipped, with the reason)
# only where this machine cannot create a network namespace or a veth pair.
# Each removes every namespace, process, daemon and file it made, also when it
# fails; tests/multihost/run.sh bounds each one (ADVML_MH_TIMEOUT, below
# ctest's TIMEOUT) and cleans up after one it had to stop. They run one at a
# time (RESOURCE_LOCK: their time bounds are measured, so they do not share
# the cores with each other or with the slurm label's clusters); the SLURM
# time-limit test alone takes about 3 minutes, and the label took 14 minutes on
# a 2-core machine busy with other work (load about 10). Skip them with
# `ctest -LE multihost`.
#
#   multihost_ninvariance     1 rank vs 2 and 4 ranks on two hosts: the weights of tests/trainer/ninvariance.py
#   multihost_mnist           the MNIST CNN (13 MB allreduce) on one host vs two hosts: step time, same weights
#   multihost_fault_rank      kill -9 of the rank on host 2: mpirun ends in bounded time, --resume continues
#   multihost_fault_host      kill -9 of every process on host 2: the same
#   multihost_fault_link      host 2's interface down: the same (Open MPI's TCP keepalive, jobs/common.sh)
#   multihost_fault_drop      host 2 drops every packet (iptables): the same
set(ADVML_MH_RUN ${CMAKE_CURRENT_SOURCE_DIR}/multihost/run.sh)
foreach(t ninvariance mnist)
  add_test(NAME multihost_${t} COMMAND bash ${ADVML_MH_RUN} ${CMAKE_CURRENT_SOURCE_DIR}/multihost/test_${t}.sh)
endforeach()
foreach(k rank host link drop)
  add_test(NAME multihost_fault_${k}
    COMMAND bash ${ADVML_MH_RUN} ${CMAKE_CURRENT_SOURCE_DIR}/multihost/test_faults.sh ${k})
endforeach()
foreach(t ninvariance mnist fault_rank fault_host fault_link fault_drop)
  set_tests_properties(multihost_${t} PROPERTIES
    ENVIRONMENT "${ADVML_TEST_ENV};ADVML_MH_TIMEOUT=200"
    LABELS multihost TIMEOUT 260 SKIP_RETURN_CODE 77 RESOURCE_LOCK "advml_multihost;advml_slurm_cluster")
endforeach()

# On a real two-node SLURM cluster across the two hosts (tests/multihost/slurm2.sh):
#   multihost_slurm_timelimit  a job longer than its time limit is warned, checkpoints, requeues
#                              and resumes by itself until done: the uninterrupted weights bit for bit
#   multihost_slurm_nodefail_srun    node 2 dies mid-job (srun): SLURM requeues the job, it resumes
#                                    from the newest checkpoint
#   multihost_slurm_nodefail_mpirun  the same with mpirun, node 2 losing power (no connection closed)
add_test(NAME multihost_slurm_timelimit
  COMMAND bash ${ADVML_MH_RUN} ${CMAKE_CURRENT_SOURCE_DIR}/multihost/test_slurm_timelimit.sh)
foreach(l srun mpirun)
  add_test(NAME multihost_slurm_nodefail_${l}
    COMMAND bash ${ADVML_MH_RUN} ${CMAKE_CURRENT_SOURCE_DIR}/multihost/test_slurm_nodefail.sh ${l})
endforeach()
foreach(t timelimit nodefail_srun nodefail_mpirun)
  set_tests_properties(multihost_slurm_${t} PROPERTIES
    ENVIRONMENT "${ADVML_TEST_ENV};ADVML_MH_TIMEOUT=420"
    LABELS multihost TIMEOUT 480 SKIP_RETURN_CODE 77 RESOURCE_LOCK "advml_multihost;advml_slurm_cluster")
endforeach()

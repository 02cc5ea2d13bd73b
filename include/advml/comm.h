/* comm.h - the communication layer. src/comm_mpi.c is the ONLY file that
 * calls MPI; src/comm_serial.c implements the same API for one process (unit
 * tests, tools run without mpirun). Every function is collective over all
 * ranks unless marked local. Every function returns a status; none aborts.
 */
#ifndef ADVML_COMM_H
#define ADVML_COMM_H

#include <stddef.h>
#include <stdint.h>
#include "advml/status.h"

typedef struct advml_comm advml_comm;

/* Initialise (MPI_Init for the MPI build). *c is owned by the caller and
 * released by advml_comm_finalize. */
advml_status advml_comm_init(int *argc, char ***argv, advml_comm **c, advml_error *err);
advml_status advml_comm_finalize(advml_comm *c);

int advml_comm_rank(const advml_comm *c);     /* local */
int advml_comm_size(const advml_comm *c);     /* local */
double advml_comm_wtime(void);                /* local: seconds, monotonic */

/* In-place element-wise sums over all ranks. */
advml_status advml_comm_allreduce_sum_f32(advml_comm *c, float *buf, size_t n, advml_error *err);
advml_status advml_comm_allreduce_sum_f64(advml_comm *c, double *buf, size_t n, advml_error *err);
/* The sum of every rank's parts in one fixed order, the same for any number
 * of ranks: out = (((p_0 + p_1) + p_2) + ...) element-wise, where the parts
 * are rank 0's in the order given, then rank 1's, and so on. So the float
 * result depends only on the sequence of parts, not on how the sequence is
 * split over ranks (reproducible mode, docs/training.md "Bit for bit"). Every
 * rank passes nparts >= 1 parts of n floats; out (n floats, on every rank)
 * may be the same memory as parts[nparts - 1]. Each rank owns a contiguous
 * share of the n elements, receives every other rank's parts of it, adds all
 * parts in the global order and the shares are then gathered on every rank
 * (a reduce-scatter in part order, then MPI_Allgatherv): all ranks add at
 * once, and every element is the same fold as on one process. */
advml_status advml_comm_ordered_sum_f32(advml_comm *c, float *const *parts, int nparts, float *out, size_t n,
                                        advml_error *err);
/* The same sum in double (the ridge readout's normal equations,
 * include/advml/ridge.h), by a pipeline along the ranks: rank r adds its parts
 * to the running sum from rank r - 1 and passes it on; the last rank
 * broadcasts. */
advml_status advml_comm_ordered_sum_f64(advml_comm *c, double *const *parts, int nparts, double *out, size_t n,
                                        advml_error *err);
/* In-place element-wise max over all ranks (used to agree on error flags). */
advml_status advml_comm_allreduce_max_i32(advml_comm *c, int32_t *buf, size_t n, advml_error *err);
/* Broadcast n bytes from root. */
advml_status advml_comm_bcast(advml_comm *c, void *buf, size_t n, int root, advml_error *err);
advml_status advml_comm_barrier(advml_comm *c, advml_error *err);

/* Every rank's host name, joined with "," in rank order, into a malloc'ed
 * string the caller frees (on every rank). */
advml_status advml_comm_hostnames(advml_comm *c, char **names, advml_error *err);

/* Agree on a status: every rank passes its own; all return the largest code
 * (one failure stops everyone). When the failing rank is not 0, its message
 * is sent to rank 0 so that rank 0 can print it. err is updated in place. */
advml_status advml_comm_agree(advml_comm *c, advml_status local, advml_error *err);

#endif

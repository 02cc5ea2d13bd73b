/* comm_serial.c - the single-process twin of comm_mpi.c: the same API for
 * one rank, used by the unit tests. Reductions over one rank are identities. */
#include "advml/comm.h"
#include "comm_ordered.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct advml_comm { int dummy; };

advml_status advml_comm_init(int *argc, char ***argv, advml_comm **c, advml_error *err)
{
    (void)argc;
    (void)argv;
    *c = calloc(1, sizeof **c);
    if (!*c)
        return advml_error_set(err, ADVML_ERR_NOMEM, "comm: out of memory");
    return ADVML_OK;
}

advml_status advml_comm_finalize(advml_comm *c)
{
    free(c);
    return ADVML_OK;
}

int advml_comm_rank(const advml_comm *c) { (void)c; return 0; }
int advml_comm_size(const advml_comm *c) { (void)c; return 1; }

double advml_comm_wtime(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

advml_status advml_comm_allreduce_sum_f32(advml_comm *c, float *buf, size_t n, advml_error *err)
{
    (void)c; (void)buf; (void)n; (void)err;
    return ADVML_OK;
}

advml_status advml_comm_ordered_sum_f32(advml_comm *c, float *const *parts, int nparts, float *out, size_t n,
                                        advml_error *err)
{
    (void)c;
    (void)err;
    /* in place, chunk by chunk, as comm_mpi.c does for its share */
    enum { CH = ADVML_ORDERED_CHUNK };
    float acc[CH];
    for (size_t off = 0; off < n; off += CH) {
        size_t len = n - off < CH ? n - off : CH;
        advml_ordered_fold(acc, (const float *const *)parts, nparts, off, len);
        memcpy(out + off, acc, len * sizeof *acc);
    }
    return ADVML_OK;
}

advml_status advml_comm_ordered_sum_f64(advml_comm *c, double *const *parts, int nparts, double *out, size_t n,
                                        advml_error *err)
{
    (void)c;
    (void)err;
    enum { CH = 1 << 13 };
    double acc[CH];
    for (size_t off = 0; off < n; off += CH) {
        size_t len = n - off < CH ? n - off : CH;
        advml_ordered_add_f64(acc, NULL, parts, nparts, off, len);
        memcpy(out + off, acc, len * sizeof *acc);
    }
    return ADVML_OK;
}

advml_status advml_comm_allreduce_sum_f64(advml_comm *c, double *buf, size_t n, advml_error *err)
{
    (void)c; (void)buf; (void)n; (void)err;
    return ADVML_OK;
}

advml_status advml_comm_allreduce_max_i32(advml_comm *c, int32_t *buf, size_t n, advml_error *err)
{
    (void)c; (void)buf; (void)n; (void)err;
    return ADVML_OK;
}

advml_status advml_comm_bcast(advml_comm *c, void *buf, size_t n, int root, advml_error *err)
{
    (void)c; (void)buf; (void)n; (void)root; (void)err;
    return ADVML_OK;
}

advml_status advml_comm_barrier(advml_comm *c, advml_error *err)
{
    (void)c; (void)err;
    return ADVML_OK;
}

advml_status advml_comm_hostnames(advml_comm *c, char **names, advml_error *err)
{
    (void)c;
    char host[256] = "";
    if (gethostname(host, sizeof host - 1) != 0)
        strcpy(host, "unknown");
    *names = strdup(host);
    if (!*names)
        return advml_error_set(err, ADVML_ERR_NOMEM, "comm: out of memory");
    return ADVML_OK;
}

advml_status advml_comm_agree(advml_comm *c, advml_status local, advml_error *err)
{
    (void)c;
    (void)err;
    return local;
}

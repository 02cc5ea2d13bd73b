/* comm_mpi.c - the one file of advml that calls MPI (see include/advml/comm.h).
 * comm_serial.c is its single-process twin. Every MPI error is returned as
 * ADVML_ERR_COMM with MPI's own error string; nothing here aborts. */
#include "advml/comm.h"
#include "comm_ordered.h"

#include <mpi.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

struct advml_comm {
    MPI_Comm comm;
    int rank, size;
    int we_initialised;   /* 1 when advml_comm_init called MPI_Init */
    float *ordered_buf;   /* (ordered_cap) the ordered sum's receive buffer, kept between calls */
    size_t ordered_cap;
};

static advml_status mpi_fail(advml_error *err, int rc, const char *what)
{
    char s[MPI_MAX_ERROR_STRING];
    int len = 0;
    if (MPI_Error_string(rc, s, &len) != MPI_SUCCESS)
        strcpy(s, "unknown MPI error");
    return advml_error_set(err, ADVML_ERR_COMM, "MPI: %s failed: %s", what, s);
}

#define MPI_CHECK(call, what)                       \
    do {                                            \
        int rc_ = (call);                           \
        if (rc_ != MPI_SUCCESS)                     \
            return mpi_fail(err, rc_, what);        \
    } while (0)

advml_status advml_comm_init(int *argc, char ***argv, advml_comm **c, advml_error *err)
{
    int inited = 0;
    MPI_Initialized(&inited);
    *c = calloc(1, sizeof **c);
    if (!*c)
        return advml_error_set(err, ADVML_ERR_NOMEM, "comm: out of memory");
    if (!inited) {
        /* A rank that waits for the others (in the gradient sum, in a batchnorm
         * layer's sums) yields its core instead of spinning on it: Open MPI spins
         * unless it sees more ranks than cores, and on a machine shared with other
         * work the spinning rank takes CPU from the rank it waits for (an MNIST
         * step ran about 35% faster at load 8 on 2 cores). When nothing else wants
         * the core, sched_yield returns at once. A value the user set wins
         * (OMPI_MCA_mpi_yield_when_idle=0 spins; docs/slurm.md). */
        setenv("OMPI_MCA_mpi_yield_when_idle", "1", 0);
        MPI_CHECK(MPI_Init(argc, argv), "MPI_Init");
        (*c)->we_initialised = 1;
    }
    /* Errors come back as codes so that every rank can report and stop cleanly. */
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    (*c)->comm = MPI_COMM_WORLD;
    MPI_CHECK(MPI_Comm_rank(MPI_COMM_WORLD, &(*c)->rank), "MPI_Comm_rank");
    MPI_CHECK(MPI_Comm_size(MPI_COMM_WORLD, &(*c)->size), "MPI_Comm_size");
    return ADVML_OK;
}

advml_status advml_comm_finalize(advml_comm *c)
{
    if (!c)
        return ADVML_OK;
    if (c->we_initialised)
        MPI_Finalize();
    free(c->ordered_buf);
    free(c);
    return ADVML_OK;
}

int advml_comm_rank(const advml_comm *c) { return c->rank; }
int advml_comm_size(const advml_comm *c) { return c->size; }
double advml_comm_wtime(void) { return MPI_Wtime(); }

/* MPI counts are int: large buffers go in pieces of at most 2^30 elements. */
#define CHUNK ((size_t)1 << 30)

advml_status advml_comm_allreduce_sum_f32(advml_comm *c, float *buf, size_t n, advml_error *err)
{
    for (size_t off = 0; off < n; off += CHUNK) {
        int cnt = (int)(n - off < CHUNK ? n - off : CHUNK);
        MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, buf + off, cnt, MPI_FLOAT, MPI_SUM, c->comm), "MPI_Allreduce");
    }
    return ADVML_OK;
}

/* Element range [*lo, *hi) of n that rank q of N sums in the ordered sum:
 * contiguous shares, cut at multiples of 16 floats (64 bytes). */
static void ordered_share(size_t n, int q, int N, size_t *lo, size_t *hi)
{
    size_t blocks = (n + 15) / 16;
    *lo = blocks * (size_t)q / (size_t)N * 16;
    *hi = blocks * (size_t)(q + 1) / (size_t)N * 16;
    if (*lo > n)
        *lo = n;
    if (*hi > n)
        *hi = n;
}

advml_status advml_comm_ordered_sum_f32(advml_comm *c, float *const *parts, int nparts, float *out, size_t n,
                                        advml_error *err)
{
    /* A reduce-scatter in part order, then an allgather: rank q owns the
     * elements [lo_q, hi_q) (ordered_share) and receives every other rank's
     * parts of them (one message per part); it adds all parts of its share
     * in the global part order, chunk by chunk, into out; MPI_Allgatherv
     * then gives every rank every share. All ranks add at once, and the sum
     * is the same fold as comm_serial.c's for any N. */
    const int r = c->rank, N = c->size;
    int *counts = malloc((size_t)N * 4 * sizeof *counts); /* parts per rank, then Allgatherv's counts, displs */
    if (!counts)
        return advml_error_set(err, ADVML_ERR_NOMEM, "comm: out of memory");
    int *lens = counts + N, *displs = counts + 2 * N;
    MPI_Request *rq = NULL;
    const float **src = NULL;
    int rc = MPI_Allgather(&nparts, 1, MPI_INT, counts, 1, MPI_INT, c->comm), nrq = 0;
    if (rc != MPI_SUCCESS) {
        free(counts);
        return mpi_fail(err, rc, "the ordered sum's MPI_Allgather");
    }
    int P = 0, first = 0;
    for (int q = 0; q < N; q++) {
        size_t lo, hi;
        ordered_share(n, q, N, &lo, &hi);
        if (hi - lo > (size_t)1 << 30) {
            free(counts);
            return advml_error_set(err, ADVML_ERR_COMM, "comm: the ordered sum of %zu floats over %d ranks: a "
                                   "rank's share is over 2^30 floats (one MPI message)", n, N);
        }
        lens[q] = (int)(hi - lo);
        displs[q] = (int)lo; /* lo <= n fits: checked by the caller's sizes below */
        if (q == r)
            first = P;
        P += counts[q];
    }
    size_t lo, hi;
    ordered_share(n, r, N, &lo, &hi);
    const size_t len = hi - lo, need = (size_t)(P - nparts) * len;
    if (n > (size_t)1 << 31) /* displacements are int */
        rc = -1;
    if (rc == MPI_SUCCESS && need > c->ordered_cap) {
        free(c->ordered_buf);
        c->ordered_buf = malloc(need * sizeof *c->ordered_buf);
        c->ordered_cap = c->ordered_buf ? need : 0;
    }
    rq = malloc((size_t)(2 * P) * sizeof *rq);
    src = malloc((size_t)P * sizeof *src);
    if (rc != MPI_SUCCESS || !rq || !src || (need && !c->ordered_buf)) {
        free(counts);
        free(rq);
        free(src);
        if (rc != MPI_SUCCESS)
            return advml_error_set(err, ADVML_ERR_COMM, "comm: the ordered sum of %zu floats: over 2^31", n);
        return advml_error_set(err, ADVML_ERR_NOMEM, "comm: out of memory for the ordered sum (%zu floats)", need);
    }
    /* part g of the global order: this rank's own, or a row of the buffer */
    for (int g = 0, q = 0, gq = 0; g < P; g++) {
        while (g >= gq + counts[q])
            gq += counts[q++];
        if (q == r) {
            src[g] = parts[g - first] + lo;
            continue;
        }
        float *row = c->ordered_buf + (size_t)(g < first ? g : g - nparts) * len;
        src[g] = row;
        if (len && (rc = MPI_Irecv(row, (int)len, MPI_FLOAT, q, g - gq, c->comm, &rq[nrq++])) != MPI_SUCCESS)
            break;
    }
    for (int q = 0; q < N && rc == MPI_SUCCESS; q++)
        for (int p = 0; p < nparts && q != r && lens[q] > 0 && rc == MPI_SUCCESS; p++)
            rc = MPI_Isend(parts[p] + displs[q], lens[q], MPI_FLOAT, q, p, c->comm, &rq[nrq++]);
    if (rc == MPI_SUCCESS)
        rc = MPI_Waitall(nrq, rq, MPI_STATUSES_IGNORE);
    if (rc == MPI_SUCCESS) { /* chunk k of out is written after every source's chunk k is read: out may be a part */
        float acc[ADVML_ORDERED_CHUNK];
        for (size_t off = 0; off < len; off += ADVML_ORDERED_CHUNK) {
            size_t cl = len - off < ADVML_ORDERED_CHUNK ? len - off : ADVML_ORDERED_CHUNK;
            advml_ordered_fold(acc, src, P, off, cl);
            memcpy(out + lo + off, acc, cl * sizeof *acc);
        }
        if (N > 1)
            rc = MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, out, lens, displs, MPI_FLOAT, c->comm);
    }
    free(counts);
    free(rq);
    free(src);
    if (rc != MPI_SUCCESS)
        return mpi_fail(err, rc, "the ordered sum's MPI_Isend/MPI_Irecv/MPI_Allgatherv");
    return ADVML_OK;
}

advml_status advml_comm_ordered_sum_f64(advml_comm *c, double *const *parts, int nparts, double *out, size_t n,
                                        advml_error *err)
{
    /* A pipeline along the ranks, in chunks of 128 Ki doubles: rank r adds its
     * parts to the running sum it receives from r - 1 and sends it on; the
     * last rank broadcasts the total (the small normal equations of the ridge
     * readout; advml_comm_ordered_sum_f32 splits the work instead). */
    enum { CH = 1 << 17 };
    const int r = c->rank, N = c->size;
    double *acc = malloc(2 * CH * sizeof *acc);
    if (!acc)
        return advml_error_set(err, ADVML_ERR_NOMEM, "comm: out of memory");
    double *prev = acc + CH;
    MPI_Request rq = MPI_REQUEST_NULL;
    int rc = MPI_SUCCESS;
    if (r > 0 && n > 0)
        rc = MPI_Irecv(prev, (int)(n < CH ? n : CH), MPI_DOUBLE, r - 1, 8, c->comm, &rq);
    for (size_t off = 0; off < n && rc == MPI_SUCCESS; off += CH) {
        size_t len = n - off < CH ? n - off : CH;
        if (r > 0 && (rc = MPI_Wait(&rq, MPI_STATUS_IGNORE)) != MPI_SUCCESS)
            break;
        advml_ordered_add_f64(acc, r > 0 ? prev : NULL, parts, nparts, off, len);
        if (r > 0 && off + len < n) {
            size_t nl = n - off - len < CH ? n - off - len : CH;
            if ((rc = MPI_Irecv(prev, (int)nl, MPI_DOUBLE, r - 1, 8, c->comm, &rq)) != MPI_SUCCESS)
                break;
        }
        if (r < N - 1 && (rc = MPI_Send(acc, (int)len, MPI_DOUBLE, r + 1, 8, c->comm)) != MPI_SUCCESS)
            break;
        memcpy(out + off, acc, len * sizeof *acc);
    }
    free(acc);
    if (rc != MPI_SUCCESS)
        return mpi_fail(err, rc, "the ordered sum's MPI_Send/MPI_Recv");
    for (size_t off = 0; off < n && N > 1; off += CHUNK) {
        int cnt = (int)(n - off < CHUNK ? n - off : CHUNK);
        MPI_CHECK(MPI_Bcast(out + off, cnt, MPI_DOUBLE, N - 1, c->comm), "MPI_Bcast");
    }
    return ADVML_OK;
}

advml_status advml_comm_allreduce_sum_f64(advml_comm *c, double *buf, size_t n, advml_error *err)
{
    for (size_t off = 0; off < n; off += CHUNK) {
        int cnt = (int)(n - off < CHUNK ? n - off : CHUNK);
        MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, buf + off, cnt, MPI_DOUBLE, MPI_SUM, c->comm), "MPI_Allreduce");
    }
    return ADVML_OK;
}

advml_status advml_comm_allreduce_max_i32(advml_comm *c, int32_t *buf, size_t n, advml_error *err)
{
    for (size_t off = 0; off < n; off += CHUNK) {
        int cnt = (int)(n - off < CHUNK ? n - off : CHUNK);
        MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, buf + off, cnt, MPI_INT32_T, MPI_MAX, c->comm), "MPI_Allreduce");
    }
    return ADVML_OK;
}

advml_status advml_comm_bcast(advml_comm *c, void *buf, size_t n, int root, advml_error *err)
{
    for (size_t off = 0; off < n; off += CHUNK) {
        int cnt = (int)(n - off < CHUNK ? n - off : CHUNK);
        MPI_CHECK(MPI_Bcast((char *)buf + off, cnt, MPI_BYTE, root, c->comm), "MPI_Bcast");
    }
    return ADVML_OK;
}

advml_status advml_comm_barrier(advml_comm *c, advml_error *err)
{
    MPI_CHECK(MPI_Barrier(c->comm), "MPI_Barrier");
    return ADVML_OK;
}

advml_status advml_comm_hostnames(advml_comm *c, char **names, advml_error *err)
{
    char host[MPI_MAX_PROCESSOR_NAME];
    int len = 0;
    memset(host, 0, sizeof host);
    MPI_CHECK(MPI_Get_processor_name(host, &len), "MPI_Get_processor_name");
    char *all = calloc((size_t)c->size, MPI_MAX_PROCESSOR_NAME);
    *names = malloc((size_t)c->size * (MPI_MAX_PROCESSOR_NAME + 1) + 1);
    if (!all || !*names) {
        free(all);
        free(*names);
        *names = NULL;
        return advml_error_set(err, ADVML_ERR_NOMEM, "comm: out of memory");
    }
    int rc = MPI_Allgather(host, MPI_MAX_PROCESSOR_NAME, MPI_CHAR, all, MPI_MAX_PROCESSOR_NAME, MPI_CHAR, c->comm);
    if (rc != MPI_SUCCESS) {
        free(all);
        free(*names);
        *names = NULL;
        return mpi_fail(err, rc, "MPI_Allgather");
    }
    (*names)[0] = '\0';
    for (int r = 0; r < c->size; r++) {
        if (r)
            strcat(*names, ",");
        strncat(*names, all + (size_t)r * MPI_MAX_PROCESSOR_NAME, MPI_MAX_PROCESSOR_NAME - 1);
    }
    free(all);
    return ADVML_OK;
}

advml_status advml_comm_agree(advml_comm *c, advml_status local, advml_error *err)
{
    /* Agree on the largest code and on the lowest rank that holds it; that
     * rank's message reaches rank 0 by broadcast from it. */
    int32_t code = (int32_t)local;
    MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, &code, 1, MPI_INT32_T, MPI_MAX, c->comm), "MPI_Allreduce");
    if (code == ADVML_OK)
        return ADVML_OK;
    int32_t who = (local == (advml_status)code) ? c->rank : c->size;
    MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, &who, 1, MPI_INT32_T, MPI_MIN, c->comm), "MPI_Allreduce");
    char msg[ADVML_ERROR_MSG_LEN];
    if (c->rank == who)
        snprintf(msg, sizeof msg, "%s", err ? err->msg : "");
    MPI_CHECK(MPI_Bcast(msg, sizeof msg, MPI_CHAR, who, c->comm), "MPI_Bcast");
    msg[sizeof msg - 1] = '\0';
    if (err) {
        err->code = (advml_status)code;
        if (c->rank != who || who != 0)
            snprintf(err->msg, sizeof err->msg, "rank %d: %.1000s", (int)who, msg);
    }
    return (advml_status)code;
}

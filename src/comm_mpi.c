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

advml_status advml_comm_ordered_sum_f32(advml_comm *c, float *const *parts, int nparts, float *out, size_t n,
                                        advml_error *err)
{
    /* A pipeline along the ranks: rank r receives chunk k of the running sum
     * from r - 1, adds its parts, sends it on to r + 1; the last rank then
     * holds the total and broadcasts it. Chunks of 256 Ki floats keep every
     * link busy while the next chunk is summed. */
    enum { CH = 1 << 18 };
    const int r = c->rank, N = c->size;
    float *acc = malloc(2 * CH * sizeof *acc);
    if (!acc)
        return advml_error_set(err, ADVML_ERR_NOMEM, "comm: out of memory");
    float *prev = acc + CH;
    MPI_Request rq = MPI_REQUEST_NULL;
    int rc = MPI_SUCCESS;
    if (r > 0 && n > 0)
        rc = MPI_Irecv(prev, (int)(n < CH ? n : CH), MPI_FLOAT, r - 1, 7, c->comm, &rq);
    for (size_t off = 0; off < n && rc == MPI_SUCCESS; off += CH) {
        size_t len = n - off < CH ? n - off : CH;
        if (r > 0 && (rc = MPI_Wait(&rq, MPI_STATUS_IGNORE)) != MPI_SUCCESS)
            break;
        advml_ordered_add(acc, r > 0 ? prev : NULL, parts, nparts, off, len);
        if (r > 0 && off + len < n) { /* the next chunk arrives while this one is sent */
            size_t nl = n - off - len < CH ? n - off - len : CH;
            if ((rc = MPI_Irecv(prev, (int)nl, MPI_FLOAT, r - 1, 7, c->comm, &rq)) != MPI_SUCCESS)
                break;
        }
        if (r < N - 1 && (rc = MPI_Send(acc, (int)len, MPI_FLOAT, r + 1, 7, c->comm)) != MPI_SUCCESS)
            break;
        memcpy(out + off, acc, len * sizeof *acc);
    }
    free(acc);
    if (rc != MPI_SUCCESS)
        return mpi_fail(err, rc, "the ordered sum's MPI_Send/MPI_Recv");
    for (size_t off = 0; off < n && N > 1; off += CHUNK) {
        int cnt = (int)(n - off < CHUNK ? n - off : CHUNK);
        MPI_CHECK(MPI_Bcast(out + off, cnt, MPI_FLOAT, N - 1, c->comm), "MPI_Bcast");
    }
    return ADVML_OK;
}

advml_status advml_comm_ordered_sum_f64(advml_comm *c, double *const *parts, int nparts, double *out, size_t n,
                                        advml_error *err)
{
    /* the pipeline of advml_comm_ordered_sum_f32, in chunks of 128 Ki doubles */
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

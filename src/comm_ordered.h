/* comm_ordered.h - the summation kernels of advml_comm_ordered_sum_f32 and _f64,
 * shared by its MPI implementation (comm_mpi.c) and its serial twin
 * (comm_serial.c), so that both add in exactly the same order. Internal to
 * those two files. */
#ifndef ADVML_COMM_ORDERED_H
#define ADVML_COMM_ORDERED_H

#include <stddef.h>
#include <string.h>

/* acc[0..len) = src[0][off..off+len), then acc += src[i][off..off+len) for
 * i = 1, ..., nsrc - 1 in order: the one summation order of the ordered sum,
 * (((p_0 + p_1) + p_2) + ...), element by element. */
static inline void advml_ordered_fold(float *acc, const float *const *src, int nsrc, size_t off, size_t len)
{
    memcpy(acc, src[0] + off, len * sizeof *acc);
    for (int i = 1; i < nsrc; i++) {
        const float *p = src[i] + off;
        for (size_t k = 0; k < len; k++)
            acc[k] += p[k];
    }
}

/* The same for doubles (advml_comm_ordered_sum_f64). */
static inline void advml_ordered_add_f64(double *acc, const double *prev, double *const *parts, int nparts,
                                         size_t off, size_t len)
{
    int i0 = 0;
    if (prev)
        memcpy(acc, prev, len * sizeof *acc);
    else {
        memcpy(acc, parts[0] + off, len * sizeof *acc);
        i0 = 1;
    }
    for (int i = i0; i < nparts; i++) {
        const double *p = parts[i] + off;
        for (size_t k = 0; k < len; k++)
            acc[k] += p[k];
    }
}

/* Elements per chunk of the fold: the accumulator stays in the L2 cache. */
enum { ADVML_ORDERED_CHUNK = 1 << 14 };

#endif

/* comm_ordered.h - the summation kernels of advml_comm_ordered_sum_f32 and _f64,
 * shared by its MPI implementation (comm_mpi.c) and its serial twin
 * (comm_serial.c), so that both add in exactly the same order. Internal to
 * those two files. */
#ifndef ADVML_COMM_ORDERED_H
#define ADVML_COMM_ORDERED_H

#include <stddef.h>
#include <string.h>

/* acc[0..len) = the running sum prev (or parts[0] when there is none
 * before), then acc += parts[i][off..off+len) for the parts in order: the one
 * summation order of the ordered sum. */
static inline void advml_ordered_add(float *acc, const float *prev, float *const *parts, int nparts, size_t off,
                                     size_t len)
{
    int i0 = 0;
    if (prev)
        memcpy(acc, prev, len * sizeof *acc);
    else {
        memcpy(acc, parts[0] + off, len * sizeof *acc);
        i0 = 1;
    }
    for (int i = i0; i < nparts; i++) {
        const float *p = parts[i] + off;
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

#endif

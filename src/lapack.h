/* lapack.h - the few LAPACK routines advml calls, declared here because
 * Debian's libopenblas-dev ships LAPACK inside libopenblas but no lapacke.h.
 * Fortran calling convention: every argument by pointer, matrices
 * column-major, and one hidden length per character argument at the end
 * (gfortran passes them as size_t). Internal to src/ (esn.c, ridge.c). */
#ifndef ADVML_LAPACK_H
#define ADVML_LAPACK_H

#include <stddef.h>

/* Eigenvalues (wr + i wi) of the general n x n matrix a (overwritten). */
void dgeev_(const char *jobvl, const char *jobvr, const int *n, double *a, const int *lda, double *wr,
            double *wi, double *vl, const int *ldvl, double *vr, const int *ldvr, double *work,
            const int *lwork, int *info, size_t len_jobvl, size_t len_jobvr);

/* Solve a x = b for a symmetric positive definite a (Cholesky): a is
 * overwritten by its factor, b (n, nrhs) by x. info > 0: not positive definite. */
void dposv_(const char *uplo, const int *n, const int *nrhs, double *a, const int *lda, double *b,
            const int *ldb, int *info, size_t len_uplo);

#endif

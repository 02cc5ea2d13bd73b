/* ridge.c - the closed-form ridge readout: sums of the normal equations and
 * their Cholesky solve (see include/advml/ridge.h). */
#include "advml/ridge.h"
#include "lapack.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

advml_ridge advml_ridge_dims(int P, int K, int bias)
{
    advml_ridge r;
    r.P = P;
    r.K = K;
    r.bias = bias ? 1 : 0;
    r.Dx = P + r.bias;
    r.size = (size_t)r.Dx * r.Dx + (size_t)r.Dx * K + (size_t)K + 1;
    return r;
}

size_t advml_ridge_work_doubles(const advml_ridge *r, int n)
{
    return (size_t)n * ((size_t)r->Dx + (size_t)r->K); /* xd (n, Dx), yd (n, K) */
}

void advml_ridge_accumulate(const advml_ridge *r, double *acc, const float *x, const float *y, int n,
                            double *work)
{
    if (n <= 0)
        return;
    const int P = r->P, K = r->K, Dx = r->Dx;
    double *A = acc;                       /* (Dx, Dx) upper triangle */
    double *C = A + (size_t)Dx * Dx;       /* (Dx, K) */
    double *yy = C + (size_t)Dx * K;       /* (K) */
    double *rows = yy + K;                 /* (1) */
    double *xd = work;                     /* (n, Dx) [x_i, 1] in double */
    double *yd = xd + (size_t)n * Dx;      /* (n, K) */
    for (int i = 0; i < n; i++) {
        double *o = xd + (size_t)i * Dx;
        const float *xi = x + (size_t)i * P;
        for (int j = 0; j < P; j++)
            o[j] = xi[j];
        if (r->bias)
            o[P] = 1.0;
        for (int k = 0; k < K; k++) {
            const double v = y[(size_t)i * K + k];
            yd[(size_t)i * K + k] = v;
            yy[k] += v * v;
        }
    }
    /* A += xd^T xd (the upper triangle); C += xd^T yd */
    cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, Dx, n, 1.0, xd, Dx, 1.0, A, Dx);
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Dx, K, n, 1.0, xd, Dx, yd, K, 1.0, C, K);
    *rows += n;
}

advml_status advml_ridge_solve(const advml_ridge *r, const double *acc, double lambda, float *weight, float *bias,
                               double *sse, advml_error *err)
{
    const int P = r->P, K = r->K, Dx = r->Dx;
    const double *A = acc, *C = A + (size_t)Dx * Dx, *yy = C + (size_t)Dx * K, rows = yy[K];
    if (!(rows > 0))
        return advml_error_set(err, ADVML_ERR_ARG, "ridge readout: no training samples to fit");
    const size_t DD = (size_t)Dx * Dx;
    double *M = malloc((2 * DD + (size_t)Dx * K) * sizeof *M);
    if (!M)
        return advml_error_set(err, ADVML_ERR_NOMEM, "ridge readout: out of memory for a %d x %d system (%.1f MB)",
                               Dx, Dx, (double)(2 * DD + (size_t)Dx * K) * 8e-6);
    double *S = M + DD;       /* (Dx, Dx) A made symmetric, unpenalised (for the residual) */
    double *X = S + DD;       /* (K, Dx) row-major = (Dx, K) column-major: C^T, then the solution */
    for (int i = 0; i < Dx; i++)
        for (int j = i; j < Dx; j++)
            S[(size_t)i * Dx + j] = S[(size_t)j * Dx + i] = A[(size_t)i * Dx + j];
    memcpy(M, S, DD * sizeof *M);
    for (int i = 0; i < P; i++) /* lambda on the weights, not on the bias */
        M[(size_t)i * Dx + i] += lambda;
    for (int i = 0; i < Dx; i++)
        for (int k = 0; k < K; k++)
            X[(size_t)k * Dx + i] = C[(size_t)i * K + k];
    int n = Dx, nrhs = K, info = 0;
    dposv_("L", &n, &nrhs, M, &n, X, &n, &info, 1); /* M symmetric: either triangle */
    if (info != 0) {
        free(M);
        if (info > 0)
            return advml_error_set(err, ADVML_ERR_NUMERIC,
                                   "ridge readout: X^T X + lambda I (%d x %d, lambda %g) is not positive definite "
                                   "(leading minor %d): features are linearly dependent; raise "
                                   "training.ridge_lambda",
                                   Dx, Dx, lambda, info);
        return advml_error_set(err, ADVML_ERR_ARG, "ridge readout: LAPACK dposv argument %d is invalid", -info);
    }
    if (sse) { /* sum_k yy_k - 2 w_k . C_k + w_k^T S w_k */
        double total = 0.0;
        for (int k = 0; k < K; k++) {
            const double *w = X + (size_t)k * Dx;
            double lin = 0.0, quad = 0.0;
            for (int i = 0; i < Dx; i++) {
                lin += w[i] * C[(size_t)i * K + k];
                double sw = 0.0;
                const double *si = S + (size_t)i * Dx;
                for (int j = 0; j < Dx; j++)
                    sw += si[j] * w[j];
                quad += w[i] * sw;
            }
            total += yy[k] - 2.0 * lin + quad;
        }
        *sse = total > 0.0 ? total : 0.0;
    }
    for (int k = 0; k < K; k++) {
        for (int i = 0; i < P; i++)
            weight[(size_t)k * P + i] = (float)X[(size_t)k * Dx + i];
        if (r->bias && bias)
            bias[k] = (float)X[(size_t)k * Dx + P];
    }
    free(M);
    return ADVML_OK;
}

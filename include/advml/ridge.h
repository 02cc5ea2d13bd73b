/* ridge.h - the closed-form (ridge regression) readout: a linear layer
 * y = W x + c fitted to all training samples at once by solving the normal
 * equations (training.readout "ridge", docs/recurrent.md "Ridge readout").
 *
 * With the readout's inputs as rows x_i (P features, plus a constant 1 when
 * the layer has a bias) and targets y_i (K), every rank sums over its
 * samples
 *     A = sum_i x_i x_i^T  (Dx, Dx),   C = sum_i x_i y_i^T  (Dx, K),
 *     yy_k = sum_i y_ik^2,   rows = number of samples
 * in double, the ranks add these sums in one reduction, and every rank then
 * solves (A + lambda I') [W | c]^T = C by Cholesky (LAPACK dposv), where I'
 * is the identity without the bias entry (the bias is not penalised, as
 * scikit-learn's Ridge leaves its intercept alone). All the sums of one rank
 * live in one flat accumulator, so the reduction is one call.
 */
#ifndef ADVML_RIDGE_H
#define ADVML_RIDGE_H

#include <stddef.h>
#include "advml/status.h"

typedef struct advml_ridge {
    int P;       /* the readout's input features */
    int K;       /* its outputs */
    int bias;    /* 1: a constant 1 feature (the readout's bias) */
    int Dx;      /* P + bias */
    size_t size; /* doubles of one accumulator: A (Dx*Dx, upper triangle filled), C (Dx*K), yy (K), rows (1) */
} advml_ridge;

/* The sizes for a readout of P inputs and K outputs, with or without bias. */
advml_ridge advml_ridge_dims(int P, int K, int bias);

/* Doubles of work advml_ridge_accumulate needs for n rows. */
size_t advml_ridge_work_doubles(const advml_ridge *r, int n);

/* acc (r->size) += the sums of the n rows x (n, P) and y (n, K) (float32,
 * row-major); work holds advml_ridge_work_doubles(r, n) doubles. The same
 * rows in the same blocks give the same bits (dsyrk and dgemm on fixed
 * shapes). */
void advml_ridge_accumulate(const advml_ridge *r, double *acc, const float *x, const float *y, int n,
                            double *work);

/* Solve the summed acc with penalty lambda >= 0: weight (K, P) and bias (K,
 * when r->bias) as float32 (the dense layer's views); *sse = the residual
 * sum of squares sum_i ||y_i - W x_i - c||^2 of the double solution,
 * computed from the sums (may be NULL). Errors: no rows, or A + lambda I'
 * not positive definite (then lambda must grow). Allocates its matrices
 * (Dx (Dx + K) doubles) and frees them. */
advml_status advml_ridge_solve(const advml_ridge *r, const double *acc, double lambda, float *weight, float *bias,
                               double *sse, advml_error *err);

#endif

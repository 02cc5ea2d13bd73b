/* esn.h - the echo state network layer (reservoir computing): a recurrent
 * layer whose weights are drawn once and never trained; only the readout
 * after it (a dense layer) learns, by gradient descent or in closed form
 * (ridge regression, include/advml/ridge.h). docs/recurrent.md, "Echo state
 * networks".
 *
 * For t = 0 .. T-1, from h_{-1} = 0:
 *     h_t = (1 - a) h_{t-1} + a tanh(W_in x_t + W h_{t-1} + b)
 * with the leak rate a in (0, 1]. Output step t is h_t, or [h_t, x_t] with
 * concat_input; the layer outputs every step from washout on (return_sequences)
 * or the last one. With square_states the output carries h_j^2 in place of
 * h_j for the even units j = 0, 2, 4, ... (the readout of Pathak et al., PRL
 * 120, 024102 (2018): it breaks the reservoir's odd symmetry h(-x) = -h(x)
 * without a bias, and gives the linear readout quadratic terms).
 *
 * The reservoir lives in the layer's slice of the parameter buffer as three
 * buffer views (never trained, no gradient, saved in checkpoints like
 * batchnorm's running statistics):
 *     "W_in" (H, F)  U(+-input_scaling)
 *     "W"    (H, H)  each entry non-zero with probability 1 - sparsity, then
 *                    U(-1, 1), the whole matrix scaled so that its largest
 *                    |eigenvalue| is spectral_radius (LAPACK dgeev in double)
 *     "b"    (H)     U(+-bias_scaling), only when bias_scaling > 0
 */
#ifndef ADVML_ESN_H
#define ADVML_ESN_H

#include <stddef.h>
#include "advml/layer.h"
#include "advml/status.h"

/* The "esn" layer kind (class EchoState): input (T, F), output
 * (T - washout, D) with return_sequences else (D), D = units (+ F with
 * concat_input). */
extern const advml_layer_kind advml_esn_kind;

/* The largest |eigenvalue| of the (n, n) row-major matrix w, computed in
 * double by LAPACK dgeev (eigenvalues only). Allocates its workspace
 * (about n^2 + 5n doubles) and frees it. */
advml_status advml_esn_spectral_radius(const float *w, int n, double *rho, advml_error *err);

/* Bytes a reservoir of H units over F features takes while training with
 * windows of T steps and batches of max_batch: its weights four times
 * (parameters, gradients, two optimizer moments), the double copy dgeev
 * factors, and the per-sample state. What setup checks against the
 * machine's memory. */
double advml_esn_bytes(int H, int F, int T, int max_batch);

#endif

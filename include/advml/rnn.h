/* rnn.h - simple (Elman) recurrent layer with backpropagation through time,
 * plus the helpers the recurrent kinds share (rnn, lstm, gru).
 *
 * Course notation, for t = 0 .. T-1:
 *     a_t = U x_t + W h_{t-1} + b,   h_t = act(a_t)   (act: tanh or relu)
 * with h_{-1} = h0 (zeros when not given).
 *
 * Parameter views (PyTorch nn.RNN: U = weight_ih_l0, W = weight_hh_l0,
 * b = bias_ih_l0 + bias_hh_l0; Keras SimpleRNN: U = kernel^T,
 * W = recurrent_kernel^T, b = bias):
 *     "U" (H, F)  input weights      decay 1, Glorot-uniform (fan_in F, fan_out H)
 *     "W" (H, H)  recurrent weights  decay 1, orthogonal (gain 1)
 *     "b" (H)     bias               decay 0, zeros
 * in this order in the layer's slice of the flat parameter buffer.
 *
 * Data layout: inputs x (N, T, F) and sequence outputs (N, T, H) are
 * batch-major, row-major float32 as everywhere in advml. Internally the
 * recurrent kernels work time-major: the saved state and the scratch hold
 * (T, N, .) arrays, so that the input projection of all steps is ONE GEMM
 * ((T*N, F) @ U^T), each step's recurrent product is one contiguous
 * (N, H) @ W^T GEMM, and backward's dW, dU and dx are one GEMM each over all
 * steps. x is transposed to time-major in the scratch (F floats per row,
 * cheap next to the GEMMs).
 *
 * Forward/backward allocate nothing: the caller passes the state (kept from
 * forward to backward) and the scratch (free between calls), sized by the
 * *_state_floats and *_scratch_floats functions. Backward accumulates (+=)
 * into every gradient and leaves the state intact (it may be called again).
 */
#ifndef ADVML_RNN_H
#define ADVML_RNN_H

#include <stddef.h>
#include <stdint.h>
#include "advml/activation.h"
#include "advml/layer.h"
#include "advml/rng.h"
#include "advml/status.h"

/* Sizes of one call of a recurrent op. */
typedef struct advml_seq_dims {
    int N;                /* sequences in the batch (0: the call is a no-op) */
    int T;                /* time steps */
    int F;                /* input features per step */
    int H;                /* hidden units */
    int return_sequences; /* 1: out is (N, T, H) = every h_t; 0: out is (N, H) = h_{T-1} */
} advml_seq_dims;

/* ---- simple RNN ops ------------------------------------------------------- */

/* Floats of saved state: the hidden states h_t, (T, N, H) time-major. */
size_t advml_rnn_state_floats(const advml_seq_dims *d);
/* Floats of scratch forward and backward need (the larger of the two). */
size_t advml_rnn_scratch_floats(const advml_seq_dims *d);

/* out ((N, T, H) or (N, H), see return_sequences) = the RNN over
 * x (N, T, F) from h0 (N, H) (NULL: zeros). U (H, F), W (H, H), b (H).
 * act must be ADVML_ACT_TANH or ADVML_ACT_RELU. Writes state
 * (advml_rnn_state_floats) for backward; scratch is clobbered. */
void advml_rnn_forward(float *out, float *state, float *scratch, const float *x, const float *h0,
                       const float *U, const float *W, const float *b, advml_act act,
                       const advml_seq_dims *d);

/* Backpropagation through time of the forward that wrote state, given
 * dout (same shape as out). Accumulates dU (H, F), dW (H, H), db (H) and,
 * when non-NULL, dx (N, T, F) and dh0 (N, H). x, h0, U, W, act and d must be
 * those of the forward. scratch is clobbered; state is only read. */
void advml_rnn_backward(float *dx, float *dh0, float *dU, float *dW, float *db, float *scratch,
                        const float *dout, const float *state, const float *x, const float *h0,
                        const float *U, const float *W, advml_act act, const advml_seq_dims *d);

/* The "rnn" layer kind (class SimpleRNN): input (T, F), output (T, H) with
 * return_sequences else (H); spec.act is the cell activation (tanh or relu);
 * post_act 0; the initial state is zeros. */
extern const advml_layer_kind advml_rnn_kind;

/* ---- helpers shared by the recurrent kinds -------------------------------- */

/* The config keys of lstm and gru (units, return_sequences, in_features) and
 * their defaults hook (the cell's activation is a fixed tanh). */
extern const advml_layer_key advml_rnn_gated_keys[];
void advml_rnn_gated_defaults(advml_layer_spec *s);

/* Branch-free float exp, sigmoid and tanh for the gate loops. libm's expf
 * and tanhf are scalar calls that keep a loop over H units from being
 * vectorised (and cost most of an LSTM step); these inline forms vectorise
 * (AVX2/AVX-512 with -O3 -march=native). Cephes polynomials; no libm
 * call, so the same results wherever the build flags are the same.
 * test_rnn checks them against libm in double: relative error below 4e-7
 * (measured 1.5e-7) for exp, sigmoid and tanh. exp's argument is clamped to
 * [-87.3, 88] (2^n stays a normal float), so sigmoid and tanh saturate
 * cleanly; NaN propagates. */
static inline float advml_rnn_expf(float x)
{
    union { float f; uint32_t u; } t, s;
    x = x < -87.3f ? -87.3f : x;                          /* keep 2^n a normal float; */
    x = x > 88.0f ? 88.0f : x;                            /* NaN passes through */
    t.f = x * 1.44269504088896341f + 12582912.0f;         /* 1.5*2^23: n = round(x / ln2) in the low bits */
    float n = t.f - 12582912.0f;
    float r = x - n * 0.693359375f + n * 2.12194440e-4f;  /* x - n ln2, ln2 split in two */
    float p = 1.9875691500e-4f;                           /* e^r on [-ln2/2, ln2/2] (Cephes expf) */
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    s.u = (t.u - 0x4b400000u + 127u) << 23;               /* 2^n */
    return p * s.f;
}

static inline float advml_rnn_sigmoidf(float x) { return 1.0f / (1.0f + advml_rnn_expf(-x)); }

static inline float advml_rnn_tanhf(float x)
{
    float ax = x < 0.0f ? -x : x;
    float z = x * x;                                      /* |x| < 0.625: odd polynomial (Cephes tanhf) */
    float small = ((((-5.70498872745e-3f * z + 2.06390887954e-2f) * z - 5.37397155531e-2f) * z +
                    1.33314422036e-1f) * z - 3.33332819422e-1f) * z * x + x;
    float big = 1.0f - 2.0f / (advml_rnn_expf(2.0f * ax) + 1.0f); /* tanh|x| = 1 - 2 / (e^{2|x|} + 1) */
    big = x < 0.0f ? -big : big;
    return ax < 0.625f ? small : big;
}

/* dst (T, N, F) = src (N, T, F) (swap the first two axes). */
void advml_rnn_to_time_major(float *dst, const float *src, int N, int T, int F);
/* dst (N, T, F) += src (T, N, F). */
void advml_rnn_add_from_time_major(float *dst, const float *src, int N, int T, int F);
/* out = the layer output from hs (T, N, H): (N, T, H) when
 * d->return_sequences, else the last step (N, H). */
void advml_rnn_write_output(float *out, const float *hs, const advml_seq_dims *d);
/* dh (N, H) += the part of dout (see advml_rnn_write_output) that belongs
 * to step t. */
void advml_rnn_add_output_grad(float *dh, const float *dout, int t, const advml_seq_dims *d);

/* db (cols) += the column sums of m (rows, cols). */
void advml_rnn_add_col_sums(float *db, const float *m, size_t rows, int cols);

/* Setup shared by rnn/lstm/gru. Checks that in_shape is (T, F), units > 0,
 * in_channels (if given) == F and the activation (tanh; relu too when
 * allow_relu), then fills L->out_shape, nviews/views (in the given order,
 * packed), nparams and *d (N = max_batch). The kind then sets
 * state_per_sample and scratch_floats. Messages name the layer and kind:
 * "layer 2 (lstm): ...". */
typedef enum advml_rnn_view_kind {
    ADVML_RNN_VIEW_INPUT,     /* (gates*H, F) weights, decay 1 */
    ADVML_RNN_VIEW_RECURRENT, /* (gates*H, H) weights, decay 1 */
    ADVML_RNN_VIEW_BIAS       /* (gates*H) bias, decay 0 */
} advml_rnn_view_kind;
typedef struct advml_rnn_view_spec {
    const char *name;
    int gates;                /* rows = gates * H */
    advml_rnn_view_kind kind;
} advml_rnn_view_spec;
advml_status advml_rnn_setup_common(advml_layer *L, const char *kind_name, advml_shape in_shape,
                                    int max_batch,
                                    int allow_relu, const advml_rnn_view_spec *views, int nviews,
                                    advml_seq_dims *d, advml_error *err);

#endif

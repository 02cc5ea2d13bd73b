/* gru.h - gated recurrent unit layer with backpropagation through time, in
 * PyTorch nn.GRU's conventions (one layer, batch_first inputs; the reset
 * gate acts on the recurrent product after it is computed, Keras'
 * reset_after=True).
 *
 * For t = 0 .. T-1, with h_{-1} = h0 (zeros when not given), input part
 * A = W_ih x_t + b_ih and recurrent part R = W_hh h_{t-1} + b_hh, each split
 * as [r | z | n] (H each):
 *     r_t = sigmoid(A_r + R_r)              reset gate
 *     z_t = sigmoid(A_z + R_z)              update gate
 *     n_t = tanh(A_n + r_t * R_n)           candidate
 *     h_t = (1 - z_t) * n_t + z_t * h_{t-1}
 *
 * Parameter views, in this order in the layer's slice:
 *     "weight_ih" (3H, F)  rows [W_ir; W_iz; W_in]  decay 1, Glorot-uniform
 *                          (fan_in F, fan_out 3H)
 *     "weight_hh" (3H, H)  rows [W_hr; W_hz; W_hn]  decay 1, each (H, H) gate block
 *                          orthogonal
 *     "bias_ih"   (3H)     [b_ir; b_iz; b_in]       decay 0, zeros
 *     "bias_hh"   (3H)     [b_hr; b_hz; b_hn]       decay 0, zeros
 * Both biases are kept (b_hn sits inside r * (.) and cannot be folded into
 * b_in); all four views are PyTorch's weight_ih_l0, weight_hh_l0,
 * bias_ih_l0, bias_hh_l0 as they are. (Keras orders its gates z, r, h.)
 *
 * Layout and conventions as in rnn.h. The state (advml_gru_state_floats)
 * holds h_t (T, N, H) and per step [r z n R_n] (T, N, 4H).
 */
#ifndef ADVML_GRU_H
#define ADVML_GRU_H

#include "advml/rnn.h"

size_t advml_gru_state_floats(const advml_seq_dims *d);
size_t advml_gru_scratch_floats(const advml_seq_dims *d);

/* out ((N, T, H) or (N, H)) = the GRU over x (N, T, F) from h0 (N, H)
 * (NULL: zeros). w_ih (3H, F), w_hh (3H, H), b_ih (3H), b_hh (3H). Writes
 * state for backward; scratch is clobbered. */
void advml_gru_forward(float *out, float *state, float *scratch, const float *x, const float *h0,
                       const float *w_ih, const float *w_hh, const float *b_ih,
                       const float *b_hh, const advml_seq_dims *d);

/* Backpropagation through time given dout (shape of out). Accumulates
 * dw_ih (3H, F), dw_hh (3H, H), db_ih (3H), db_hh (3H) and, when non-NULL,
 * dx (N, T, F) and dh0 (N, H). Arguments as in the forward that wrote state
 * (only read); scratch is clobbered. */
void advml_gru_backward(float *dx, float *dh0, float *dw_ih, float *dw_hh, float *db_ih,
                        float *db_hh, float *scratch, const float *dout, const float *state,
                        const float *x, const float *h0, const float *w_ih, const float *w_hh,
                        const advml_seq_dims *d);

/* The "gru" layer kind (class GRU): input (T, F), output (T, H) with
 * return_sequences else (H); spec.act must be tanh; post_act 0; zero
 * initial state. */
extern const advml_layer_kind advml_gru_kind;

#endif

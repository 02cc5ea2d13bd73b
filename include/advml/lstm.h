/* lstm.h - long short-term memory layer with backpropagation through time,
 * in PyTorch nn.LSTM's conventions (one layer, batch_first inputs).
 *
 * For t = 0 .. T-1, with h_{-1} = h0 and c_{-1} = c0 (zeros when not given),
 * gate pre-activations G_t = W_ih x_t + W_hh h_{t-1} + bias, split as
 * [i | f | g | o] (H each):
 *     i_t = sigmoid(G_i)            input gate
 *     f_t = sigmoid(G_f)            forget gate
 *     g_t = tanh(G_g)               cell candidate
 *     o_t = sigmoid(G_o)            output gate
 *     c_t = f_t * c_{t-1} + i_t * g_t
 *     h_t = o_t * tanh(c_t)
 *
 * Parameter views, in this order in the layer's slice:
 *     "weight_ih" (4H, F)  rows [W_ii; W_if; W_ig; W_io]  decay 1, Glorot-uniform
 *                          (fan_in F, fan_out 4H, as Keras' kernel)
 *     "weight_hh" (4H, H)  rows [W_hi; W_hf; W_hg; W_ho]  decay 1, each (H, H) gate
 *                          block orthogonal
 *     "bias"      (4H)     [b_i; b_f; b_g; b_o]           decay 0, zeros except the
 *                          forget gate's b_f = 1 (Keras' unit_forget_bias)
 * Same gate order and shapes as PyTorch's weight_ih_l0 / weight_hh_l0, so
 * weights copy over directly; PyTorch's two biases enter as their sum:
 * bias = bias_ih_l0 + bias_hh_l0 (and a PyTorch model gets bias_ih = bias,
 * bias_hh = 0). Keras' LSTM has the same gate order (i, f, c, o) with
 * kernel = weight_ih^T, recurrent_kernel = weight_hh^T.
 *
 * Layout and conventions as in rnn.h (batch-major x/out, time-major state).
 * The state (advml_lstm_state_floats) holds h_t, c_t, tanh(c_t) (T, N, H)
 * each and the gate activations [i f g o] (T, N, 4H).
 */
#ifndef ADVML_LSTM_H
#define ADVML_LSTM_H

#include "advml/rnn.h"

size_t advml_lstm_state_floats(const advml_seq_dims *d);
size_t advml_lstm_scratch_floats(const advml_seq_dims *d);

/* out ((N, T, H) or (N, H)) = the LSTM over x (N, T, F) from h0, c0 (N, H)
 * each (NULL: zeros). w_ih (4H, F), w_hh (4H, H), bias (4H). Writes state for
 * backward; scratch is clobbered. */
void advml_lstm_forward(float *out, float *state, float *scratch, const float *x, const float *h0,
                        const float *c0, const float *w_ih, const float *w_hh, const float *bias,
                        const advml_seq_dims *d);

/* Backpropagation through time given dout (shape of out). Accumulates
 * dw_ih (4H, F), dw_hh (4H, H), dbias (4H) and, when non-NULL, dx (N, T, F),
 * dh0 (N, H), dc0 (N, H). Arguments as in the forward that wrote state
 * (only read); scratch is clobbered. */
void advml_lstm_backward(float *dx, float *dh0, float *dc0, float *dw_ih, float *dw_hh,
                         float *dbias, float *scratch, const float *dout, const float *state,
                         const float *x, const float *h0, const float *c0, const float *w_ih,
                         const float *w_hh, const advml_seq_dims *d);

/* The "lstm" layer kind (class LSTM): input (T, F), output (T, H) with
 * return_sequences else (H); spec.act must be tanh; post_act 0; zero
 * initial states. */
extern const advml_layer_kind advml_lstm_kind;

#endif

/* activation.h - element-wise activations and softmax, forward and backward.
 *
 * Data are (rows, cols) float arrays: rows = batch size, cols = floats per
 * sample. Softmax normalises over the cols of each row; all others are
 * element-wise. Backward accumulates: dinp += dout * f'(.).
 */
#ifndef ADVML_ACTIVATION_H
#define ADVML_ACTIVATION_H

#include <stddef.h>

typedef enum advml_act {
    ADVML_ACT_IDENTITY = 0,
    ADVML_ACT_SIGMOID,
    ADVML_ACT_TANH,
    ADVML_ACT_RELU,
    ADVML_ACT_LEAKY_RELU,  /* f(x) = x > 0 ? x : alpha * x */
    ADVML_ACT_SOFTMAX
} advml_act;

#define ADVML_LEAKY_ALPHA_DEFAULT 1e-3f /* the course code's slope */

/* out (rows, cols) = f(in (rows, cols)); out may equal in. */
void advml_act_forward(float *out, const float *in, size_t rows, size_t cols,
                       advml_act act, float alpha);

/* dinp (rows, cols) += dout * df/din, given the forward's in and out. */
void advml_act_backward(float *dinp, const float *dout, const float *in, const float *out,
                        size_t rows, size_t cols, advml_act act, float alpha);

/* dinp (rows, cols) = dout * df/din: like advml_act_backward but WRITES dinp
 * (its old contents are never read, so it needs no zeroing). For a caller
 * that owns dinp and is its only contributor, e.g. the model's gradient
 * w.r.t. a layer's pre-activation output. dinp must not overlap the others. */
void advml_act_backward_write(float *dinp, const float *dout, const float *in, const float *out,
                              size_t rows, size_t cols, advml_act act, float alpha);

/* "relu", "leaky_relu", ... Static string. */
const char *advml_act_name(advml_act act);

/* Parse a name ("linear" and "identity" both give IDENTITY). Returns 0 on
 * success, -1 for an unknown name. */
int advml_act_from_name(const char *name, advml_act *act);

/* 1 for the ReLU family (He initialisation), 0 otherwise (Glorot). */
int advml_act_is_relu_family(advml_act act);

#endif

/* loss.h - losses. Each forward returns the SUM over the B samples of the
 * per-sample loss (so ranks can add their sums); the trainer divides by the
 * global batch size. Each backward accumulates scale * d(sum)/d(input).
 *
 *  MSE: per-sample mean over the K outputs of (pred - target)^2 (the course's OLS cost).
 *  BCE: per-sample mean over K of -[t log p + (1-t) log(1-p)]; from logits
 *       (sigmoid fused, stable) or from probabilities (clamped to [1e-7, 1-1e-7]).
 *  CCE: softmax fused with categorical cross-entropy on logits (B, K) and
 *       integer labels stored as floats (B): -log softmax(z)_label.
 */
#ifndef ADVML_LOSS_H
#define ADVML_LOSS_H

typedef enum advml_loss_kind {
    ADVML_LOSS_MSE = 0,
    ADVML_LOSS_BCE,
    ADVML_LOSS_CCE
} advml_loss_kind;

/* "mse", "binary_crossentropy", "categorical_crossentropy" (also accepts
 * "sparse_categorical_crossentropy", "cross_entropy"). 0 ok, -1 unknown. */
int advml_loss_from_name(const char *name, advml_loss_kind *kind);
const char *advml_loss_name(advml_loss_kind kind);

double advml_mse_forward(const float *pred, const float *target, int B, int K);
void advml_mse_backward(float *dpred, const float *pred, const float *target, int B, int K, float scale);

double advml_bce_forward(const float *x, const float *target, int B, int K, int from_logits);
void advml_bce_backward(float *dx, const float *x, const float *target, int B, int K, int from_logits,
                        float scale);

/* prob (B, K) receives softmax(logits) when non-NULL. */
double advml_softmax_xent_forward(float *prob, const float *logits, const float *labels, int B, int K);
void advml_softmax_xent_backward(float *dlogits, const float *logits, const float *labels, int B, int K,
                                 float scale);

/* Class-weighted variants (training.class_weight; w NULL: unweighted, the
 * functions above). CCE: sample b's loss and gradient times w[label_b] (K
 * weights). BCE: each element's times w[0] (1 - t) + w[1] t (2 weights). The
 * sum is not renormalised: the trainer still divides by the batch size, as
 * Keras' class_weight does (PyTorch's weighted mean divides by the weights'
 * sum instead). */
double advml_softmax_xent_forward_w(float *prob, const float *logits, const float *labels, int B, int K,
                                    const float *w);
void advml_softmax_xent_backward_w(float *dlogits, const float *logits, const float *labels, int B, int K,
                                   float scale, const float *w);
double advml_bce_forward_w(const float *x, const float *target, int B, int K, int from_logits, const float *w);
void advml_bce_backward_w(float *dx, const float *x, const float *target, int B, int K, int from_logits,
                          float scale, const float *w);

#endif

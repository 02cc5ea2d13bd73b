/* model.h - a model is an array of layers over ONE flat parameter buffer and
 * ONE flat gradient buffer of the same layout (llm.c style): the optimizer is
 * one loop, the gradient sync one allreduce, a checkpoint a few datasets.
 */
#ifndef ADVML_MODEL_H
#define ADVML_MODEL_H

#include <stdio.h>
#include "advml/status.h"
#include "advml/layer.h"
#include "advml/loss.h"

#define ADVML_MAX_LAYERS 64
/* Extra float slots after the gradients, reduced in the same allreduce by the
 * trainer (non-finite flag, loss sum, correct count, sample count). */
#define ADVML_GRAD_EXTRA 8

typedef struct advml_model_spec {
    advml_shape input;                          /* per-sample input shape */
    int nlayers;
    advml_layer_spec layers[ADVML_MAX_LAYERS];
    advml_loss_kind loss;
} advml_model_spec;

typedef struct advml_model {
    advml_model_spec spec;
    int nlayers;
    advml_layer *layers;          /* (nlayers) */
    advml_shape out_shape;        /* per-sample output shape */
    int fused;                    /* 1: last layer's softmax (CCE) or sigmoid (BCE) is
                                     folded into the loss, which reads logits (z) */
    int max_batch;
    size_t nparams;
    float *params;                /* (nparams) every trainable parameter */
    float *grads;                 /* (nparams + ADVML_GRAD_EXTRA) same layout */
    int nviews;
    advml_param_view *views;      /* (nviews) all named views, absolute offsets */
    float *scratch;               /* (scratch_floats) shared workspace */
    size_t scratch_floats;
    void *arena;                  /* one allocation holding every activation buffer */
    int collective;               /* 1: a layer's training passes call ctx->reduce (batchnorm) */
    const float *class_weight;    /* not owned; NULL: unweighted. Weights of the classes (CCE: K)
                                     or of targets 0 and 1 (BCE: 2) in advml_model_loss and
                                     advml_model_backward (training.class_weight) */
} advml_model;

/* Validate spec and allocate every buffer for batches of up to max_batch
 * samples (nothing is allocated later). On error nothing is left allocated and
 * err names the layer (index and kind) and the offending sizes. The model owns
 * all its buffers; release with advml_model_free. */
advml_status advml_model_build(advml_model *m, const advml_model_spec *spec, int max_batch,
                               advml_error *err);
void advml_model_free(advml_model *m);

/* Seeded initialisation of every layer: same seed, same parameters. */
void advml_model_init_params(advml_model *m, uint64_t seed);

/* Forward pass over in (B, input) with B = ctx->B <= max_batch. Afterwards
 * advml_model_output gives (B, out) predictions (probabilities when the last
 * layer is softmax/sigmoid). */
void advml_model_forward(advml_model *m, const float *in, const advml_ctx *ctx);
/* With B = 0 both passes do nothing, except that in training the collective
 * layers (m->collective) still run, so that their ctx->reduce calls match the
 * other ranks'. */
const float *advml_model_output(const advml_model *m);

/* Sum over the batch of the per-sample loss for the last forward (targets:
 * labels (B) for CCE, (B, K) otherwise). */
double advml_model_loss(const advml_model *m, const float *targets, int B);

/* The same over samples [lo, lo + B) of the last forward (a part, in
 * reproducible mode: the sum starts from zero at sample lo; targets as
 * there, for the whole batch). */
double advml_model_loss_part(const advml_model *m, const float *targets, int lo, int B);

/* The loss of sample b of the last forward (one term of advml_model_loss's
 * sum, without class weights; targets as there, for the whole batch). */
double advml_model_sample_loss(const advml_model *m, const float *targets, int b);

/* Correct predictions in the last forward: argmax == label (CCE), or
 * (p > 0.5) == target over all outputs divided by K (BCE, fractional);
 * 0 for MSE. */
double advml_model_correct(const advml_model *m, const float *targets, int B);
/* The same over samples [lo, lo + B) (targets for the whole batch). */
double advml_model_correct_part(const advml_model *m, const float *targets, int lo, int B);

/* Backpropagate the loss sum of the last forward (ctx must match it) and
 * accumulate into m->grads (callers zero them with advml_model_zero_grads),
 * or with ctx->nparts each part's into its ctx->part_grads[p]. */
void advml_model_backward(advml_model *m, const float *in, const float *targets, const advml_ctx *ctx);
void advml_model_zero_grads(advml_model *m);

/* (1/2) * sum of squares of the decayed (weight) parameters. */
double advml_model_l2_half_sq(const advml_model *m);

/* Number of floats in one sample's targets: 1 (label) for CCE, K otherwise. */
int advml_model_target_size(const advml_model *m);

/* Check that the model's output fits the dataset's targets: num_classes
 * classes (CCE, labels) or target_dim values (MSE/BCE). Message names the
 * last layer and both sizes. */
advml_status advml_model_check_targets(const advml_model *m, int num_classes, int target_dim,
                                       advml_error *err);

/* Keras-style summary: layer (type), output shape, param #, totals. */
void advml_model_summary(const advml_model *m, FILE *f);

#endif

/* flatten.c - the "flatten" layer kind: (C, H, W) or (T, F) -> (C*H*W) or
 * (T*F). The data layout does not change, so forward and backward copy, or
 * do nothing when the output buffers are the input's (z == in, dz == dinp:
 * the model runs flatten in place). */
#include "advml/layer.h"

#include <limits.h>
#include <string.h>

static advml_status flatten_setup(advml_layer *L, advml_shape in_shape, int max_batch,
                                  advml_error *err)
{
    char buf[64];
    (void)max_batch;
    size_t n = advml_shape_size(&in_shape);
    if (in_shape.rank < 1 || n == 0 || n > INT_MAX)
        return advml_error_set(err, ADVML_ERR_SHAPE,
                               "layer %d (flatten): cannot flatten an input of shape %s", L->index,
                               advml_shape_str(&in_shape, buf, sizeof buf));
    L->in_shape = in_shape;
    L->out_shape = advml_shape1((int)n);
    L->nparams = 0;
    L->nviews = 0;
    L->state_per_sample = 0;
    L->scratch_floats = 0;
    return ADVML_OK;
}

static void flatten_init(advml_layer *L, float *params, advml_rng *rng)
{
    (void)L, (void)params, (void)rng;
}

static void flatten_forward(advml_layer *L, float *z, const float *in, const float *params,
                            const advml_ctx *ctx)
{
    (void)params;
    size_t n = (size_t)ctx->B * advml_shape_size(&L->out_shape);
    if (z != in && n)
        memcpy(z, in, n * sizeof *z);
}

static void flatten_backward(advml_layer *L, float *dinp, float *dparams, const float *dz,
                             const float *in, const float *params, const advml_ctx *ctx)
{
    (void)dparams, (void)in, (void)params;
    if (!dinp || dinp == dz) /* in place (the model's layout): nothing to add */
        return;
    size_t n = (size_t)ctx->B * advml_shape_size(&L->out_shape);
    for (size_t i = 0; i < n; i++) /* dinp += dz */
        dinp[i] += dz[i];
}

static const advml_layer_key flatten_keys[] = {{.name = NULL}}; /* takes only "type" */

const advml_layer_kind advml_flatten_kind = {
    .name = "flatten",
    .class_name = "Flatten",
    .post_act = 0,
    .setup = flatten_setup,
    .init = flatten_init,
    .forward = flatten_forward,
    .backward = flatten_backward,
    .keys = flatten_keys,
    .aliases = ADVML_NAMES("Flatten"),
};

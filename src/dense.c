/* dense.c - fully connected kernels (cblas_sgemm) and the "dense" layer kind
 * (see include/advml/dense.h and layer.h). */
#include "advml/dense.h"
#include "advml/layer.h"

#include <cblas.h>
#include <limits.h>
#include <string.h>

void advml_dense_forward(float *out, const float *in, const float *weight, const float *bias,
                         int B, int IN, int OUT)
{
    if (B <= 0 || OUT <= 0)
        return;
    float beta = 0.0f;
    if (bias) { /* out starts as the bias rows, the GEMM adds in @ weight^T */
        for (int b = 0; b < B; b++)
            memcpy(out + (size_t)b * OUT, bias, (size_t)OUT * sizeof *out);
        beta = 1.0f;
    }
    /* out (B, OUT) = in (B, IN) @ weight^T (IN, OUT) [+ out] */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, OUT, IN, 1.0f, in, IN, weight, IN,
                beta, out, OUT);
}

void advml_dense_backward(float *dinp, float *dweight, float *dbias, const float *dout,
                          const float *in, const float *weight, int B, int IN, int OUT)
{
    if (B <= 0 || OUT <= 0 || IN <= 0)
        return;
    /* dweight (OUT, IN) += dout^T (OUT, B) @ in (B, IN) */
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, OUT, IN, B, 1.0f, dout, OUT, in, IN, 1.0f,
                dweight, IN);
    if (dbias)
        for (int b = 0; b < B; b++) {
            const float *restrict g = dout + (size_t)b * OUT;
            float *restrict db = dbias;
            for (int o = 0; o < OUT; o++)
                db[o] += g[o];
        }
    /* dinp (B, IN) += dout (B, OUT) @ weight (OUT, IN) */
    if (dinp)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, IN, OUT, 1.0f, dout, OUT, weight,
                    IN, 1.0f, dinp, IN);
}

/* ---- the "dense" layer kind -----------------------------------------------------
 * Parameters: "weight" (OUT, IN), then "bias" (OUT) when use_bias. */

static advml_status dense_setup(advml_layer *L, advml_shape in_shape, int max_batch,
                                advml_error *err)
{
    const advml_layer_spec *s = &L->spec;
    const int li = L->index;
    char buf[64];
    (void)max_batch;
    if (in_shape.rank != 1)
        return advml_error_set(err, ADVML_ERR_SHAPE,
                               "layer %d (dense): input has shape %s; dense needs a flat input: "
                               "add a flatten layer before it",
                               li, advml_shape_str(&in_shape, buf, sizeof buf));
    const int IN = in_shape.d[0];
    if (IN <= 0)
        return advml_error_set(err, ADVML_ERR_SHAPE,
                               "layer %d (dense): input has shape %s; its size must be positive",
                               li, advml_shape_str(&in_shape, buf, sizeof buf));
    if (s->units <= 0)
        return advml_error_set(err, ADVML_ERR_SHAPE,
                               "layer %d (dense): units must be positive, got %d", li, s->units);
    if ((unsigned)s->act > (unsigned)ADVML_ACT_SOFTMAX)
        return advml_error_set(err, ADVML_ERR_SHAPE, "layer %d (dense): unknown activation %d",
                               li, (int)s->act);
    if (s->in_channels != 0 && s->in_channels != IN)
        return advml_error_set(err, ADVML_ERR_SHAPE,
                               "layer %d (dense): expects %d input features (in_channels) but the "
                               "previous layer gives %d",
                               li, s->in_channels, IN);
    if ((size_t)IN * s->units > INT_MAX)
        return advml_error_set(err, ADVML_ERR_SHAPE,
                               "layer %d (dense): %d units over %d inputs is too large", li,
                               s->units, IN);
    L->in_shape = in_shape;
    L->out_shape = advml_shape1(s->units);
    L->nviews = 0;
    L->nparams = 0;
    advml_layer_add_view(L, "weight", 1, 2, (const int[]){s->units, IN}); // (OUT, IN), as PyTorch's nn.Linear
    if (s->use_bias)
        advml_layer_add_view(L, "bias", 0, 1, (const int[]){s->units}); // (OUT)
    L->state_per_sample = 0;
    L->scratch_floats = 0;
    return ADVML_OK;
}

static void dense_init(advml_layer *L, float *params, advml_rng *rng)
{
    const int IN = L->in_shape.d[0], OUT = L->out_shape.d[0];
    advml_init_fill(params, (size_t)OUT * IN, L->spec.kernel_init, IN, OUT, L->spec.act, rng);
    if (L->spec.use_bias)
        advml_init_bias(params + (size_t)OUT * IN, (size_t)OUT, L->spec.bias_init, IN, OUT, rng);
}

static void dense_forward(advml_layer *L, float *z, const float *in, const float *params,
                          const advml_ctx *ctx)
{
    const int IN = L->in_shape.d[0], OUT = L->out_shape.d[0];
    advml_dense_forward(z, in, params, L->spec.use_bias ? params + (size_t)OUT * IN : NULL, ctx->B,
                        IN, OUT);
}

static void dense_backward(advml_layer *L, float *dinp, float *dparams, const float *dz,
                           const float *in, const float *params, const advml_ctx *ctx)
{
    const int IN = L->in_shape.d[0], OUT = L->out_shape.d[0];
    advml_dense_backward(dinp, dparams, L->spec.use_bias ? dparams + (size_t)OUT * IN : NULL, dz,
                         in, params, ctx->B, IN, OUT);
}

static const advml_layer_key dense_keys[] = {
    ADVML_KEY_ROW_UNITS("units", "out_features", "hidden_size"),
    ADVML_KEY_ROW_ACTIVATION(0, ADVML_ACT_IDENTITY),
    ADVML_KEY_ROW_ALPHA,
    ADVML_KEY_ROW_USE_BIAS,
    ADVML_KEY_ROW_IN("in_features"),
    ADVML_KEY_ROWS_INITIALIZERS,
    ADVML_KEY_ROW_TRAINABLE,
    {.name = NULL}};

static const advml_key_note dense_notes[] = {{"filters", "dense counts its outputs in \"units\""}, {NULL, NULL}};

const advml_layer_kind advml_dense_kind = {
    .name = "dense",
    .class_name = "Dense",
    .post_act = 1,
    .setup = dense_setup,
    .init = dense_init,
    .forward = dense_forward,
    .backward = dense_backward,
    .keys = dense_keys,
    .aliases = ADVML_NAMES("linear", "Dense", "fc"),
    .notes = dense_notes,
};

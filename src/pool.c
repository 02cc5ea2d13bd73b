/* pool.c - max and average pooling kernels and their layer kinds
 * "maxpool2d" and "avgpool2d" (see include/advml/pool.h and layer.h).
 *
 * Windows are "valid" (never padded). The common 2x2 window at stride 2 has
 * its own branch-free loop; every other shape takes the general one.
 */
#include "advml/pool.h"
#include "advml/layer.h"

#include <limits.h>
#include <string.h>

/* One (H, W) plane of a 2x2, stride 2 max pool. */
static void maxpool_plane_2x2(float *restrict y, int32_t *restrict am, const float *restrict x,
                              int W, int OH, int OW)
{
    for (int oh = 0; oh < OH; oh++) {
        const float *r0 = x + (size_t)(2 * oh) * W, *r1 = r0 + W;
        const int32_t base = 2 * oh * W;
        for (int ow = 0; ow < OW; ow++) {
            float m = r0[2 * ow];
            int32_t i = base + 2 * ow;
            const float b = r0[2 * ow + 1], c = r1[2 * ow], e = r1[2 * ow + 1];
            i = b > m ? base + 2 * ow + 1 : i;
            m = b > m ? b : m;
            i = c > m ? base + W + 2 * ow : i;
            m = c > m ? c : m;
            i = e > m ? base + W + 2 * ow + 1 : i;
            m = e > m ? e : m;
            y[(size_t)oh * OW + ow] = m;
            am[(size_t)oh * OW + ow] = i;
        }
    }
}

void advml_maxpool2d_forward(float *out, int32_t *argmax, const float *in, const advml_pool2d_dims *d)
{
    const int H = d->H, W = d->W, KH = d->KH, KW = d->KW, SH = d->SH, SW = d->SW;
    const int OH = d->OH, OW = d->OW;
    const size_t planes = (size_t)d->B * d->C, in_plane = (size_t)H * W, out_plane = (size_t)OH * OW;
    const int fast = KH == 2 && KW == 2 && SH == 2 && SW == 2;
    for (size_t p = 0; p < planes; p++) {
        const float *restrict x = in + p * in_plane;
        float *restrict y = out + p * out_plane;
        int32_t *restrict am = argmax + p * out_plane;
        if (fast) {
            maxpool_plane_2x2(y, am, x, W, OH, OW);
            continue;
        }
        for (int oh = 0; oh < OH; oh++)
            for (int ow = 0; ow < OW; ow++) {
                int32_t best = oh * SH * W + ow * SW;
                float m = x[best];
                for (int kh = 0; kh < KH; kh++) {
                    const int32_t r = (oh * SH + kh) * W + ow * SW;
                    for (int kw = 0; kw < KW; kw++)
                        if (x[r + kw] > m) { /* strict: the first maximum wins ties */
                            m = x[r + kw];
                            best = r + kw;
                        }
                }
                y[(size_t)oh * OW + ow] = m;
                am[(size_t)oh * OW + ow] = best;
            }
    }
}

void advml_maxpool2d_backward(float *dinp, const float *dout, const int32_t *argmax,
                              const advml_pool2d_dims *d)
{
    const size_t planes = (size_t)d->B * d->C, in_plane = (size_t)d->H * d->W;
    const size_t out_plane = (size_t)d->OH * d->OW;
    for (size_t p = 0; p < planes; p++) {
        float *restrict dx = dinp + p * in_plane;
        const float *restrict dy = dout + p * out_plane;
        const int32_t *restrict am = argmax + p * out_plane;
        for (size_t o = 0; o < out_plane; o++)
            dx[am[o]] += dy[o];
    }
}

void advml_avgpool2d_forward(float *out, const float *in, const advml_pool2d_dims *d)
{
    const int W = d->W, KH = d->KH, KW = d->KW, SH = d->SH, SW = d->SW, OH = d->OH, OW = d->OW;
    const size_t planes = (size_t)d->B * d->C, in_plane = (size_t)d->H * W;
    const size_t out_plane = (size_t)OH * OW;
    const float inv = 1.0f / (float)(KH * KW);
    for (size_t p = 0; p < planes; p++) {
        const float *restrict x = in + p * in_plane;
        float *restrict y = out + p * out_plane;
        for (int oh = 0; oh < OH; oh++)
            for (int ow = 0; ow < OW; ow++) {
                float s = 0.0f;
                for (int kh = 0; kh < KH; kh++) {
                    const float *r = x + (size_t)(oh * SH + kh) * W + (size_t)ow * SW;
                    for (int kw = 0; kw < KW; kw++)
                        s += r[kw];
                }
                y[(size_t)oh * OW + ow] = s * inv; /* mean over the window */
            }
    }
}

void advml_avgpool2d_backward(float *dinp, const float *dout, const advml_pool2d_dims *d)
{
    const int W = d->W, KH = d->KH, KW = d->KW, SH = d->SH, SW = d->SW, OH = d->OH, OW = d->OW;
    const size_t planes = (size_t)d->B * d->C, in_plane = (size_t)d->H * W;
    const size_t out_plane = (size_t)OH * OW;
    const float inv = 1.0f / (float)(KH * KW);
    for (size_t p = 0; p < planes; p++) {
        float *restrict dx = dinp + p * in_plane;
        const float *restrict dy = dout + p * out_plane;
        for (int oh = 0; oh < OH; oh++)
            for (int ow = 0; ow < OW; ow++) {
                const float g = dy[(size_t)oh * OW + ow] * inv;
                for (int kh = 0; kh < KH; kh++) {
                    float *r = dx + (size_t)(oh * SH + kh) * W + (size_t)ow * SW;
                    for (int kw = 0; kw < KW; kw++)
                        r[kw] += g;
                }
            }
    }
}

/* ---- the "maxpool2d" and "avgpool2d" layer kinds ------------------------------
 * No parameters. The stride defaults to the window when spec.stride is {0, 0}. */

static void pool_strides(const advml_layer_spec *s, int *sh, int *sw)
{
    if (s->stride[0] == 0 && s->stride[1] == 0) {
        *sh = s->kernel[0];
        *sw = s->kernel[1];
    } else {
        *sh = s->stride[0];
        *sw = s->stride[1];
    }
}

static void pool_layer_dims(const advml_layer *L, int B, advml_pool2d_dims *d)
{
    d->B = B;
    d->C = L->in_shape.d[0];
    d->H = L->in_shape.d[1];
    d->W = L->in_shape.d[2];
    d->KH = L->spec.kernel[0];
    d->KW = L->spec.kernel[1];
    pool_strides(&L->spec, &d->SH, &d->SW);
    d->OH = L->out_shape.d[1];
    d->OW = L->out_shape.d[2];
}

static advml_status pool_setup(advml_layer *L, advml_shape in_shape, const char *kind,
                               size_t state_bytes_per_output, advml_error *err)
{
    const advml_layer_spec *s = &L->spec;
    const int li = L->index;
    char buf[64];
    if (in_shape.rank != 3)
        return advml_error_set(err, ADVML_ERR_SHAPE,
                               "layer %d (%s): input has shape %s; %s needs an image input "
                               "(channels, height, width)",
                               li, kind, advml_shape_str(&in_shape, buf, sizeof buf), kind);
    const int C = in_shape.d[0], H = in_shape.d[1], W = in_shape.d[2];
    if (C <= 0 || H <= 0 || W <= 0)
        return advml_error_set(err, ADVML_ERR_SHAPE,
                               "layer %d (%s): input has shape %s; every size must be positive",
                               li, kind, advml_shape_str(&in_shape, buf, sizeof buf));
    if (s->kernel[0] <= 0 || s->kernel[1] <= 0)
        return advml_error_set(err, ADVML_ERR_SHAPE,
                               "layer %d (%s): pool window %dx%d must have a positive height and "
                               "width",
                               li, kind, s->kernel[0], s->kernel[1]);
    int SH, SW;
    pool_strides(s, &SH, &SW);
    if (SH <= 0 || SW <= 0)
        return advml_error_set(err, ADVML_ERR_SHAPE,
                               "layer %d (%s): stride %dx%d must be positive (or 0x0 for the "
                               "window size)",
                               li, kind, s->stride[0], s->stride[1]);
    if (s->kernel[0] > H || s->kernel[1] > W)
        return advml_error_set(err, ADVML_ERR_SHAPE,
                               "layer %d (%s): pool window %dx%d is larger than the input %dx%d",
                               li, kind, s->kernel[0], s->kernel[1], H, W);
    const int OH = (H - s->kernel[0]) / SH + 1, OW = (W - s->kernel[1]) / SW + 1;
    if ((size_t)H * W > INT32_MAX || (size_t)C * H * W > INT_MAX)
        return advml_error_set(err, ADVML_ERR_SHAPE, "layer %d (%s): input %s is too large", li,
                               kind, advml_shape_str(&in_shape, buf, sizeof buf));
    L->in_shape = in_shape;
    L->out_shape = advml_shape3(C, OH, OW);
    L->nparams = 0;
    L->nviews = 0;
    L->state_per_sample = state_bytes_per_output * (size_t)C * OH * OW;
    L->scratch_floats = 0;
    return ADVML_OK;
}

static advml_status maxpool_setup(advml_layer *L, advml_shape in_shape, int max_batch,
                                  advml_error *err)
{
    (void)max_batch;
    return pool_setup(L, in_shape, "maxpool2d", sizeof(int32_t), err);
}

static advml_status avgpool_setup(advml_layer *L, advml_shape in_shape, int max_batch,
                                  advml_error *err)
{
    (void)max_batch;
    return pool_setup(L, in_shape, "avgpool2d", 0, err);
}

static void pool_init(advml_layer *L, float *params, advml_rng *rng)
{
    (void)L, (void)params, (void)rng;
}

static void maxpool_forward(advml_layer *L, float *z, const float *in, const float *params,
                            const advml_ctx *ctx)
{
    (void)params;
    advml_pool2d_dims d;
    pool_layer_dims(L, ctx->B, &d);
    advml_maxpool2d_forward(z, (int32_t *)L->state, in, &d);
}

static void maxpool_backward(advml_layer *L, float *dinp, float *dparams, const float *dz,
                             const float *in, const float *params, const advml_ctx *ctx)
{
    (void)dparams, (void)in, (void)params;
    if (!dinp)
        return;
    advml_pool2d_dims d;
    pool_layer_dims(L, ctx->B, &d);
    advml_maxpool2d_backward(dinp, dz, (const int32_t *)L->state, &d);
}

static void avgpool_forward(advml_layer *L, float *z, const float *in, const float *params,
                            const advml_ctx *ctx)
{
    (void)params;
    advml_pool2d_dims d;
    pool_layer_dims(L, ctx->B, &d);
    advml_avgpool2d_forward(z, in, &d);
}

static void avgpool_backward(advml_layer *L, float *dinp, float *dparams, const float *dz,
                             const float *in, const float *params, const advml_ctx *ctx)
{
    (void)dparams, (void)in, (void)params;
    if (!dinp)
        return;
    advml_pool2d_dims d;
    pool_layer_dims(L, ctx->B, &d);
    advml_avgpool2d_backward(dinp, dz, &d);
}

const advml_layer_kind advml_maxpool2d_kind = {
    .name = "maxpool2d",
    .class_name = "MaxPooling2D",
    .post_act = 0,
    .setup = maxpool_setup,
    .init = pool_init,
    .forward = maxpool_forward,
    .backward = maxpool_backward,
};

const advml_layer_kind advml_avgpool2d_kind = {
    .name = "avgpool2d",
    .class_name = "AveragePooling2D",
    .post_act = 0,
    .setup = avgpool_setup,
    .init = pool_init,
    .forward = avgpool_forward,
    .backward = avgpool_backward,
};

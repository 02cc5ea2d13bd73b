/* pool.c - max and average pooling kernels and their layer kinds
 * "maxpool2d" and "avgpool2d" (see include/advml/pool.h and layer.h).
 *
 * Windows are "valid" (never padded). The common 2x2 window at stride 2 has
 * its own vectorisable two-pass loop; every other shape takes the general one.
 */
#include "advml/pool.h"
#include "advml/layer.h"

#include <limits.h>
#include <string.h>

/* Floats of vertical maxima a 2x2, stride 2 pool handles per chunk (whole
 * output rows); the chunk's two buffers live on the stack (16 KiB). */
#define POOL_CHUNK 2048

/* 2x2 window, stride 2, in two flat passes per chunk of output rows so that
 * both loops are long and vectorise even when OW is small (7 or 14):
 *  1. vertical: v[w] = max(top[w], bottom[w]) (top on ties), vi[w] = the
 *     plane offset of the chosen element;
 *  2. horizontal: out = max(v[2q], v[2q+1]); on a tie the right column wins
 *     only when its element is in the top row and the left one's is not, so
 *     the first maximum in row-major order is recorded, as the general loop. */
static void maxpool_2x2(float *restrict out, int32_t *restrict argmax, const float *restrict in,
                        const advml_pool2d_dims *d)
{
    const int H = d->H, W = d->W, OH = d->OH, OW = d->OW, W2 = 2 * OW;
    const size_t rows = (size_t)d->B * d->C * OH;
    const size_t per_chunk = (size_t)(POOL_CHUNK / W2);
    float v[POOL_CHUNK];
    int32_t vi[POOL_CHUNK];
    size_t p = 0; /* plane and row within it of output row r1 */
    int r = 0;
    for (size_t r0 = 0; r0 < rows; r0 += per_chunk) {
        const size_t r1 = r0 + per_chunk < rows ? r0 + per_chunk : rows;
        for (size_t R = r0; R < r1; R++) {
            const float *restrict top = in + (p * H + 2 * (size_t)r) * W;
            const float *restrict bot = top + W;
            float *restrict vr = v + (R - r0) * W2;
            int32_t *restrict ir = vi + (R - r0) * W2;
            const int32_t t0 = 2 * r * W;
            for (int w = 0; w < W2; w++) {
                const int s = bot[w] > top[w];
                vr[w] = s ? bot[w] : top[w];
                ir[w] = t0 + w + (s ? W : 0);
            }
            if (++r == OH)
                r = 0, p++;
        }
        const size_t n = (r1 - r0) * OW;
        float *restrict y = out + r0 * OW;
        int32_t *restrict am = argmax + r0 * OW;
        for (size_t q = 0; q < n; q++) {
            const float l = v[2 * q], rt = v[2 * q + 1];
            const int32_t il = vi[2 * q], ir = vi[2 * q + 1];
            const int pick = (rt > l) | ((rt == l) & (ir < il));
            y[q] = pick ? rt : l;
            am[q] = pick ? ir : il;
        }
    }
}

void advml_maxpool2d_forward(float *out, int32_t *argmax, const float *in, const advml_pool2d_dims *d)
{
    const int H = d->H, W = d->W, KH = d->KH, KW = d->KW, SH = d->SH, SW = d->SW;
    const int OH = d->OH, OW = d->OW;
    const size_t planes = (size_t)d->B * d->C, in_plane = (size_t)H * W, out_plane = (size_t)OH * OW;
    if (KH == 2 && KW == 2 && SH == 2 && SW == 2 && 2 * OW <= POOL_CHUNK) {
        maxpool_2x2(out, argmax, in, d);
        return;
    }
    for (size_t p = 0; p < planes; p++) {
        const float *restrict x = in + p * in_plane;
        float *restrict y = out + p * out_plane;
        int32_t *restrict am = argmax + p * out_plane;
        for (int oh = 0; oh < OH; oh++)
            for (int ow = 0; ow < OW; ow++) {
                int32_t best = oh * SH * W + ow * SW;
                float m = x[best];
                for (int kh = 0; kh < KH; kh++) {
                    const int32_t r = (oh * SH + kh) * W + ow * SW;
                    for (int kw = 0; kw < KW; kw++) {
                        const float e = x[r + kw];
                        best = e > m ? r + kw : best; /* strict: the first maximum wins ties */
                        m = e > m ? e : m;
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

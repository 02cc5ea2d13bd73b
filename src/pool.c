/* pool.c - max and average pooling kernels and their layer kinds
 * "maxpool2d" and "avgpool2d" (see include/advml/pool.h and layer.h).
 *
 * Windows are "valid" (never padded). The common 2x2 window at stride 2 has
 * its own vectorisable two-pass loop; every other shape takes the general one.
 * The max pool also comes fused with a ReLU before it (the model uses it for
 * a ReLU layer followed by a max pool): relu(max) forward, and a backward that
 * writes the ReLU layer's gradient in one pass.
 */
#include "advml/pool.h"
#include "advml/layer.h"

#include <limits.h>
#include <string.h>

#if defined(__GNUC__)
#define ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define ALWAYS_INLINE inline
#endif

/* Floats of vertical maxima a 2x2, stride 2 pool handles per chunk (whole
 * output rows); the chunk's two buffers live on the stack (16 KiB). */
#define POOL_CHUNK 2048

/* The vertical pass over one row pair: vr (W2) = max(top, bot) (top on
 * ties), ir (W2) = the plane offset t0 + w (+ W for bot) of the chosen
 * element. Rows are short (28 or 14 floats in the course's CNN), so a
 * vector loop would spend as long in its scalar remainder as in the rest:
 * with GCC's vector extensions the row is done in blocks of 8, the last one
 * ending at W2 and overlapping the one before (rewriting the same values). */
#if defined(__GNUC__)
typedef float f32x8 __attribute__((vector_size(32)));
typedef int32_t i32x8 __attribute__((vector_size(32)));

static ALWAYS_INLINE void vertical_block8(float *vr, int32_t *ir, const float *top,
                                          const float *bot, int w, int W, int32_t t0)
{
    const i32x8 iota = {0, 1, 2, 3, 4, 5, 6, 7};
    f32x8 t, b;
    memcpy(&t, top + w, sizeof t);
    memcpy(&b, bot + w, sizeof b);
    const i32x8 s = b > t;                            /* -1 where bot wins */
    const i32x8 m = ((i32x8)b & s) | ((i32x8)t & ~s); /* s ? bot : top, as bits */
    const i32x8 idx = (t0 + w) + iota + (W & s);
    memcpy(vr + w, &m, sizeof m);
    memcpy(ir + w, &idx, sizeof idx);
}
#endif

static ALWAYS_INLINE void vertical_row(float *restrict vr, int32_t *restrict ir,
                                       const float *restrict top, const float *restrict bot,
                                       int W2, int W, int32_t t0)
{
#if defined(__GNUC__)
    if (W2 >= 8) {
        int w = 0;
        for (; w + 8 <= W2; w += 8)
            vertical_block8(vr, ir, top, bot, w, W, t0);
        if (w < W2)
            vertical_block8(vr, ir, top, bot, W2 - 8, W, t0);
        return;
    }
#endif
    for (int w = 0; w < W2; w++) {
        const int s = bot[w] > top[w];
        vr[w] = s ? bot[w] : top[w];
        ir[w] = t0 + w + (W & -s); /* no branch */
    }
}

/* 2x2 window, stride 2, in two flat passes per chunk of output rows so that
 * both loops are long and vectorise even when OW is small (7 or 14):
 *  1. vertical: v[w] = max(top[w], bottom[w]) (top on ties), vi[w] = the
 *     plane offset of the chosen element;
 *  2. horizontal: out = max(v[2q], v[2q+1]); on a tie the right column wins
 *     only when its element is in the top row and the left one's is not, so
 *     the first maximum in row-major order is recorded, as the general loop;
 *     with relu set, out = max(out, 0) (advml_maxpool2d_relu_forward). */
static ALWAYS_INLINE void maxpool_2x2(float *restrict out, int32_t *restrict argmax,
                                      const float *restrict in, const advml_pool2d_dims *d,
                                      const int relu)
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
            vertical_row(vr, ir, top, bot, W2, W, t0);
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
            const float mx = pick ? rt : l;
            y[q] = relu ? (mx > 0.0f ? mx : 0.0f) : mx; /* relu: max(mx, 0) */
            am[q] = il + ((ir - il) & -pick);
        }
    }
}

/* The max pool of in, and with relu set of relu(in) as relu(max): the
 * argmax is in's either way (the gradient is 0 where the two could differ). */
static ALWAYS_INLINE void maxpool_kernel(float *out, int32_t *argmax, const float *in,
                                         const advml_pool2d_dims *d, const int relu)
{
    const int H = d->H, W = d->W, KH = d->KH, KW = d->KW, SH = d->SH, SW = d->SW;
    const int OH = d->OH, OW = d->OW;
    const size_t planes = (size_t)d->B * d->C, in_plane = (size_t)H * W, out_plane = (size_t)OH * OW;
    if (KH == 2 && KW == 2 && SH == 2 && SW == 2 && 2 * OW <= POOL_CHUNK) {
        maxpool_2x2(out, argmax, in, d, relu);
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
                y[(size_t)oh * OW + ow] = relu ? (m > 0.0f ? m : 0.0f) : m;
                am[(size_t)oh * OW + ow] = best;
            }
    }
}

void advml_maxpool2d_forward(float *out, int32_t *argmax, const float *in, const advml_pool2d_dims *d)
{
    maxpool_kernel(out, argmax, in, d, 0);
}

void advml_maxpool2d_relu_forward(float *out, int32_t *argmax, const float *in,
                                  const advml_pool2d_dims *d)
{
    maxpool_kernel(out, argmax, in, d, 1);
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

/* The 2x2, stride 2 case writes dinp directly, no clearing pass and no
 * scattered adds: the windows tile the input (a last odd row or column
 * belongs to none and gets 0), so each input element is g or 0 by which of
 * its window's four the argmax names. One output row at a time, in blocks
 * of 8 windows (the last one overlapping the one before) with GCC's vector
 * extensions: a = argmax - (offset of the window's top-left element) is 0, 1
 * (top row) or W, W + 1 (bottom row); the top and bottom rows of 16 floats
 * are the two selections interleaved. */
#if defined(__GNUC__) && !defined(__clang__)
#define HAVE_SHUFFLE 1
static ALWAYS_INLINE void backward_block8(float *top, float *bot, const float *dy, const float *y,
                                          const int32_t *am, int q, int W, int32_t t0)
{
    const i32x8 iota = {0, 1, 2, 3, 4, 5, 6, 7};
    const i32x8 lo = {0, 8, 1, 9, 2, 10, 3, 11}, hi = {4, 12, 5, 13, 6, 14, 7, 15};
    f32x8 g, yy;
    i32x8 a;
    memcpy(&g, dy + q, sizeof g);
    memcpy(&yy, y + q, sizeof yy);
    memcpy(&a, am + q, sizeof a);
    const i32x8 gb = (i32x8)g & (yy > 0.0f); /* relu' of the maximum: g or +0 */
    a -= t0 + 2 * (q + iota);              /* 0, 1, W or W + 1 */
    const i32x8 t_even = gb & (a == 0), t_odd = gb & (a == 1);
    const i32x8 b_even = gb & (a == W), b_odd = gb & (a == W + 1);
    const i32x8 t_lo = __builtin_shuffle(t_even, t_odd, lo), t_hi = __builtin_shuffle(t_even, t_odd, hi);
    const i32x8 b_lo = __builtin_shuffle(b_even, b_odd, lo), b_hi = __builtin_shuffle(b_even, b_odd, hi);
    memcpy(top + 2 * q, &t_lo, sizeof t_lo);
    memcpy(top + 2 * q + 8, &t_hi, sizeof t_hi);
    memcpy(bot + 2 * q, &b_lo, sizeof b_lo);
    memcpy(bot + 2 * q + 8, &b_hi, sizeof b_hi);
}

/* The same for 4 windows (rows of 4 to 7 windows: 14x14 inputs). */
typedef float f32x4 __attribute__((vector_size(16)));
typedef int32_t i32x4 __attribute__((vector_size(16)));

static ALWAYS_INLINE void backward_block4(float *top, float *bot, const float *dy, const float *y,
                                          const int32_t *am, int q, int W, int32_t t0)
{
    const i32x4 iota = {0, 1, 2, 3};
    const i32x4 lo = {0, 4, 1, 5}, hi = {2, 6, 3, 7};
    f32x4 g, yy;
    i32x4 a;
    memcpy(&g, dy + q, sizeof g);
    memcpy(&yy, y + q, sizeof yy);
    memcpy(&a, am + q, sizeof a);
    const i32x4 gb = (i32x4)g & (yy > 0.0f);
    a -= t0 + 2 * (q + iota);
    const i32x4 t_even = gb & (a == 0), t_odd = gb & (a == 1);
    const i32x4 b_even = gb & (a == W), b_odd = gb & (a == W + 1);
    const i32x4 t_lo = __builtin_shuffle(t_even, t_odd, lo), t_hi = __builtin_shuffle(t_even, t_odd, hi);
    const i32x4 b_lo = __builtin_shuffle(b_even, b_odd, lo), b_hi = __builtin_shuffle(b_even, b_odd, hi);
    memcpy(top + 2 * q, &t_lo, sizeof t_lo);
    memcpy(top + 2 * q + 4, &t_hi, sizeof t_hi);
    memcpy(bot + 2 * q, &b_lo, sizeof b_lo);
    memcpy(bot + 2 * q + 4, &b_hi, sizeof b_hi);
}

static void maxpool_2x2_relu_backward_write(float *dinp, const float *dout, const float *out,
                                            const int32_t *argmax, const advml_pool2d_dims *d)
{
    const int H = d->H, W = d->W, OH = d->OH, OW = d->OW;
    const size_t planes = (size_t)d->B * d->C;
    for (size_t p = 0; p < planes; p++) {
        float *dx = dinp + p * H * W;
        const size_t o0 = p * OH * OW;
        for (int oh = 0; oh < OH; oh++) {
            float *top = dx + (size_t)2 * oh * W, *bot = top + W;
            const size_t r = o0 + (size_t)oh * OW;
            const int32_t t0 = 2 * oh * W;
            int q = 0;
            if (OW >= 8) {
                for (; q + 8 <= OW; q += 8)
                    backward_block8(top, bot, dout + r, out + r, argmax + r, q, W, t0);
                if (q < OW)
                    backward_block8(top, bot, dout + r, out + r, argmax + r, OW - 8, W, t0);
            } else {
                for (; q + 4 <= OW; q += 4)
                    backward_block4(top, bot, dout + r, out + r, argmax + r, q, W, t0);
                if (q < OW)
                    backward_block4(top, bot, dout + r, out + r, argmax + r, OW - 4, W, t0);
            }
            for (int w = 2 * OW; w < W; w++) /* an odd last column */
                top[w] = bot[w] = 0.0f;
        }
        for (size_t i = (size_t)2 * OH * W; i < (size_t)H * W; i++) /* an odd last row */
            dx[i] = 0.0f;
    }
}
#endif

void advml_maxpool2d_relu_backward_write(float *dinp, const float *dout, const float *out,
                                         const int32_t *argmax, const advml_pool2d_dims *d)
{
#ifdef HAVE_SHUFFLE
    if (d->KH == 2 && d->KW == 2 && d->SH == 2 && d->SW == 2 && d->OW >= 4) {
        maxpool_2x2_relu_backward_write(dinp, dout, out, argmax, d);
        return;
    }
#endif
    enum { G = 256 }; /* outputs per block: first their gradients, then the routing */
    const size_t planes = (size_t)d->B * d->C, in_plane = (size_t)d->H * d->W;
    const size_t out_plane = (size_t)d->OH * d->OW;
    float g[G];
    memset(dinp, 0, planes * in_plane * sizeof *dinp); /* (one call: faster than per plane) */
    for (size_t p = 0; p < planes; p++) {
        float *restrict dx = dinp + p * in_plane;
        const float *restrict dy = dout + p * out_plane, *restrict y = out + p * out_plane;
        const int32_t *restrict am = argmax + p * out_plane;
        for (size_t o0 = 0; o0 < out_plane; o0 += G) {
            const size_t n = out_plane - o0 < G ? out_plane - o0 : G;
            for (size_t k = 0; k < n; k++) /* relu' of the maximum (a vector blend, no branch) */
                g[k] = y[o0 + k] > 0.0f ? dy[o0 + k] : 0.0f;
            for (size_t k = 0; k < n; k++) /* at the maximum (+=: windows may overlap) */
                dx[am[o0 + k]] += g[k];
        }
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

void advml_maxpool2d_layer_relu_forward(advml_layer *L, float *z, const float *in,
                                        const advml_ctx *ctx)
{
    advml_pool2d_dims d;
    pool_layer_dims(L, ctx->B, &d);
    advml_maxpool2d_relu_forward(z, (int32_t *)L->state, in, &d);
}

void advml_maxpool2d_layer_relu_backward_write(advml_layer *L, float *dinp, const float *dz,
                                               const advml_ctx *ctx)
{
    advml_pool2d_dims d;
    pool_layer_dims(L, ctx->B, &d);
    advml_maxpool2d_relu_backward_write(dinp, dz, L->z, (const int32_t *)L->state, &d);
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

/* Windows are always valid (no "padding"); without "stride" they do not
 * overlap (the stride is the window, as Keras). In code, stride {0, 0} means
 * the window too. */
static const advml_layer_key pool_keys[] = {
    {.name = "pool", .type = ADVML_KEY_PAIR, .offset = offsetof(advml_layer_spec, kernel),
     .flags = ADVML_KEY_REQUIRED, .dflt = 2, .aliases = ADVML_NAMES("pool_size")},
    {.name = "stride", .type = ADVML_KEY_PAIR, .offset = offsetof(advml_layer_spec, stride), .dflt = 0,
     .dflt_key = "pool", .aliases = ADVML_NAMES("strides")},
    {.name = NULL}};

static const advml_key_note pool_notes[] = {{"kernel", "pooling windows are given by \"pool\""}, {NULL, NULL}};

const advml_layer_kind advml_maxpool2d_kind = {
    .name = "maxpool2d",
    .class_name = "MaxPooling2D",
    .post_act = 0,
    .setup = maxpool_setup,
    .init = pool_init,
    .forward = maxpool_forward,
    .backward = maxpool_backward,
    .keys = pool_keys,
    .aliases = ADVML_NAMES("maxpool", "max_pooling2d", "MaxPooling2D"),
    .notes = pool_notes,
};

const advml_layer_kind advml_avgpool2d_kind = {
    .name = "avgpool2d",
    .class_name = "AveragePooling2D",
    .post_act = 0,
    .setup = avgpool_setup,
    .init = pool_init,
    .forward = avgpool_forward,
    .backward = avgpool_backward,
    .keys = pool_keys,
    .aliases = ADVML_NAMES("avgpool", "average_pooling2d"),
    .notes = pool_notes,
};

/* conv2d.c - 2-D convolution kernels (im2col + cblas_sgemm) and the "conv2d"
 * layer kind (see include/advml/conv2d.h and layer.h).
 *
 * Per sample n, with col = im2col(in_n) of shape (C*KH*KW, OH*OW):
 *   forward   out_n (OC, OH*OW)  = kernel (OC, C*KH*KW) @ col + bias
 *   backward  dkernel          += dout_n @ col^T
 *             dcol              = kernel^T @ dout_n,  dinp_n += col2im(dcol)
 *             dbias            += row sums of dout_n
 * A 1x1 kernel at stride 1 needs no im2col: col is the input itself.
 * im2col reads a zero-padded copy of the sample (no bounds tests per row).
 * Nothing here allocates; the col scratch comes from the caller.
 */
#include "advml/conv2d.h"
#include "advml/layer.h"

#include <cblas.h>
#include <limits.h>
#include <string.h>

advml_status advml_conv_out_size(int n, int k, int s, advml_padding pad, int *out, int *pad_before)
{
    *out = 0;
    if (pad_before)
        *pad_before = 0;
    if (n <= 0 || k <= 0 || s <= 0)
        return ADVML_ERR_SHAPE;
    if (pad == ADVML_PAD_SAME) {
        int o = (int)(((long)n + s - 1) / s);               /* ceil(n / s) */
        long total = (long)(o - 1) * s + k - n;             /* zeros added in all */
        if (total < 0)
            total = 0;
        *out = o;
        if (pad_before)
            *pad_before = (int)(total / 2);
        return ADVML_OK;
    }
    if (pad == ADVML_PAD_VALID) {
        if (k > n)
            return ADVML_ERR_SHAPE;
        *out = (n - k) / s + 1;
        return ADVML_OK;
    }
    return ADVML_ERR_SHAPE;
}

/* im2col copies rows in whole blocks of COPY_BLOCK floats (fixed-size copies
 * the compiler inlines as vector moves, instead of one memcpy call per short
 * row); a block may run up to COPY_BLOCK - 1 floats past a row, so both
 * scratch arrays end with that much slack. */
#define COPY_BLOCK 16

/* Extent of the zero-padded sample im2col reads: exactly the rows and
 * columns the output positions touch. */
static void padded_extent(const advml_conv2d_dims *d, int *hp, int *wp)
{
    *hp = (d->OH - 1) * d->SH + d->KH;
    *wp = (d->OW - 1) * d->SW + d->KW;
}

/* Scratch layout: col (C*KH*KW, OH*OW) + slack, then the padded sample
 * (C, HP, WP) + slack. */
static size_t col_floats(const advml_conv2d_dims *d)
{
    return (size_t)d->C * d->KH * d->KW * d->OH * d->OW + COPY_BLOCK;
}

size_t advml_conv2d_col_size(const advml_conv2d_dims *d)
{
    if (d->algo == ADVML_CONV_WINOGRAD)
        return advml_conv2d_winograd_scratch(d);
    int hp, wp;
    padded_extent(d, &hp, &wp);
    return col_floats(d) + (size_t)d->C * hp * wp + COPY_BLOCK;
}

/* 1 when col would equal the input (1x1 kernel, stride 1, no padding). */
static int conv_is_pointwise(const advml_conv2d_dims *d)
{
    return d->KH == 1 && d->KW == 1 && d->SH == 1 && d->SW == 1 && d->PT == 0 && d->PL == 0 &&
           d->OH == d->H && d->OW == d->W;
}

advml_conv_algo advml_conv2d_pick_algo(const advml_conv2d_dims *d)
{
    return advml_conv2d_winograd_applies(d) && d->C >= 8 && d->OC >= 8 ? ADVML_CONV_WINOGRAD
                                                                        : ADVML_CONV_IM2COL;
}

/* Range [lo, hi) of output positions o whose input index o*s - p + k lies in
 * [0, n): the in-bounds part of one kernel offset's row. */
static void valid_range(int n, int out, int s, int p, int k, int *lo, int *hi)
{
    int first = p - k; /* o*s >= first */
    int l = first <= 0 ? 0 : (first + s - 1) / s;
    int last = n + p - k; /* o*s < last */
    int h = last <= 0 ? 0 : (last + s - 1) / s;
    if (h > out)
        h = out;
    if (l > h)
        l = h;
    *lo = l;
    *hi = h;
}

/* pad (C, HP, WP) = img (C, H, W) shifted by (PT, PL) into zeros, cropped to
 * the extent the output reads. */
static void pad_sample(float *restrict pad, const float *restrict img, const advml_conv2d_dims *d,
                       int hp, int wp)
{
    const int H = d->H, W = d->W;
    memset(pad, 0, (size_t)d->C * hp * wp * sizeof *pad);
    const int y0 = d->PT, x0 = d->PL;
    const int rows = H < hp - y0 ? H : hp - y0, cols = W < wp - x0 ? W : wp - x0;
    if (rows <= 0 || cols <= 0)
        return;
    for (int c = 0; c < d->C; c++)
        for (int y = 0; y < rows; y++)
            memcpy(pad + ((size_t)c * hp + y0 + y) * wp + x0, img + ((size_t)c * H + y) * W,
                   (size_t)cols * sizeof *pad);
}

/* GCC would turn the loop of fixed-size block copies back into one memcpy
 * call per row, the overhead this loop exists to avoid. */
#if defined(__GNUC__) && !defined(__clang__)
#define NO_MEMCPY_IDIOM __attribute__((optimize("no-tree-loop-distribute-patterns")))
#else
#define NO_MEMCPY_IDIOM
#endif

/* col (C*KH*KW, OH*OW) = the receptive fields of img (C, H, W); pad is the
 * scratch for the padded sample. Rows of col are written in increasing order,
 * so a block copy's overrun into the next row is overwritten later. */
NO_MEMCPY_IDIOM static void im2col(float *restrict col, float *restrict pad, const float *restrict img,
                   const advml_conv2d_dims *d)
{
    const int KH = d->KH, KW = d->KW, SH = d->SH, SW = d->SW, OH = d->OH, OW = d->OW;
    const size_t OHW = (size_t)OH * OW;
    int hp, wp;
    padded_extent(d, &hp, &wp);
    pad_sample(pad, img, d, hp, wp);
    for (int c = 0; c < d->C; c++)
        for (int kh = 0; kh < KH; kh++)
            for (int kw = 0; kw < KW; kw++) {
                float *restrict row = col + ((size_t)(c * KH + kh) * KW + kw) * OHW;
                const float *restrict src0 = pad + ((size_t)c * hp + kh) * wp + kw;
                for (int oh = 0; oh < OH; oh++) {
                    float *restrict dst = row + (size_t)oh * OW;
                    const float *restrict src = src0 + (size_t)oh * SH * wp;
                    if (SW == 1)
                        for (int j = 0; j < OW; j += COPY_BLOCK)
                            memcpy(dst + j, src + j, COPY_BLOCK * sizeof *dst);
                    else
                        for (int j = 0; j < OW; j++)
                            dst[j] = src[(size_t)j * SW];
                }
            }
}

/* img (C, H, W) += the scatter of col (C*KH*KW, OH*OW) back onto the image
 * (the adjoint of im2col); padding positions are dropped. col is scratch and
 * may be modified.
 *
 * Fast path for stride 1 with OW == W ("same" padding): then output position
 * i = oh*OW + ow of a kernel offset (kh, kw) lands on image position
 * i + (kh - PT)*W + (kw - PL), so each row of col is ONE contiguous add, once
 * the entries whose column falls outside the image (they would wrap into the
 * neighbouring image row) are set to zero in col. */
static void col2im_add(float *restrict img, float *restrict col, const advml_conv2d_dims *d)
{
    const int H = d->H, W = d->W, KH = d->KH, KW = d->KW, SH = d->SH, SW = d->SW;
    const int OH = d->OH, OW = d->OW;
    const size_t OHW = (size_t)OH * OW;
    const int contiguous = SH == 1 && SW == 1 && OW == W;
    for (int c = 0; c < d->C; c++) {
        float *plane = img + (size_t)c * H * W;
        for (int kh = 0; kh < KH; kh++) {
            int oh_lo, oh_hi;
            valid_range(H, OH, SH, d->PT, kh, &oh_lo, &oh_hi);
            for (int kw = 0; kw < KW; kw++) {
                float *row = col + ((size_t)(c * KH + kh) * KW + kw) * OHW;
                int lo, hi;
                valid_range(W, OW, SW, d->PL, kw, &lo, &hi);
                const int n = hi - lo;
                if (n <= 0 || oh_hi <= oh_lo)
                    continue;
                if (contiguous) {
                    for (int oh = oh_lo; oh < oh_hi; oh++) { /* the wrapping columns */
                        for (int ow = 0; ow < lo; ow++)
                            row[(size_t)oh * OW + ow] = 0.0f;
                        for (int ow = hi; ow < OW; ow++)
                            row[(size_t)oh * OW + ow] = 0.0f;
                    }
                    const size_t i0 = (size_t)oh_lo * OW + lo, i1 = (size_t)(oh_hi - 1) * OW + hi;
                    const float *restrict src = row + i0;
                    float *restrict dst = plane + (size_t)(oh_lo - d->PT + kh) * W + (lo - d->PL + kw);
                    for (size_t j = 0; j < i1 - i0; j++)
                        dst[j] += src[j];
                    continue;
                }
                for (int oh = oh_lo; oh < oh_hi; oh++) {
                    const float *restrict src = row + (size_t)oh * OW + lo;
                    float *restrict dst = plane + (size_t)(oh * SH - d->PT + kh) * W +
                                          (lo * SW - d->PL + kw);
                    if (SW == 1)
                        for (int j = 0; j < n; j++)
                            dst[j] += src[j];
                    else
                        for (int j = 0; j < n; j++)
                            dst[(size_t)j * SW] += src[j];
                }
            }
        }
    }
}

/* Sum of x[0..n) with 16 independent partial sums (vectorisable without
 * reassociation flags). */
static float sum_floats(const float *restrict x, size_t n)
{
    float acc[16] = {0};
    size_t i = 0;
    for (; i + 16 <= n; i += 16)
        for (int j = 0; j < 16; j++)
            acc[j] += x[i + j];
    float s = 0.0f;
    for (; i < n; i++)
        s += x[i];
    for (int j = 0; j < 16; j++)
        s += acc[j];
    return s;
}

void advml_conv2d_forward(float *out, float *col, const float *in, const float *kernel,
                          const float *bias, const advml_conv2d_dims *d)
{
    const int OC = d->OC, CKK = d->C * d->KH * d->KW;
    const int OHW = d->OH * d->OW;
    const size_t in_size = (size_t)d->C * d->H * d->W, out_size = (size_t)OC * OHW;
    const int pointwise = conv_is_pointwise(d);
    if (d->algo == ADVML_CONV_WINOGRAD) {
        advml_conv2d_winograd_forward(out, col, in, kernel, bias, d);
        return;
    }
    for (int b = 0; b < d->B; b++) {
        const float *x = in + b * in_size;
        float *restrict y = out + b * out_size;
        const float *cols = x;
        if (!pointwise) {
            im2col(col, col + col_floats(d), x, d);
            cols = col;
        }
        float beta = 0.0f;
        if (bias) { /* y starts as the bias, the GEMM adds the convolution */
            for (int oc = 0; oc < OC; oc++) {
                float *yr = y + (size_t)oc * OHW;
                const float bv = bias[oc];
                for (int i = 0; i < OHW; i++)
                    yr[i] = bv;
            }
            beta = 1.0f;
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, OC, OHW, CKK, 1.0f, kernel, CKK,
                    cols, OHW, beta, y, OHW);
    }
}

void advml_conv2d_backward(float *dinp, float *dkernel, float *dbias, float *col,
                           const float *dout, const float *in, const float *kernel,
                           const advml_conv2d_dims *d)
{
    const int OC = d->OC, CKK = d->C * d->KH * d->KW;
    const int OHW = d->OH * d->OW;
    const size_t in_size = (size_t)d->C * d->H * d->W, out_size = (size_t)OC * OHW;
    const int pointwise = conv_is_pointwise(d);
    if (d->algo == ADVML_CONV_WINOGRAD) {
        advml_conv2d_winograd_backward(dinp, dkernel, col, dout, in, kernel, d);
        if (dbias)
            for (int b = 0; b < d->B; b++)
                for (int oc = 0; oc < OC; oc++)
                    dbias[oc] += sum_floats(dout + b * out_size + (size_t)oc * OHW, (size_t)OHW);
        return;
    }
    for (int b = 0; b < d->B; b++) {
        const float *x = in + b * in_size;
        const float *g = dout + b * out_size;
        const float *cols = x;
        if (!pointwise) {
            im2col(col, col + col_floats(d), x, d);
            cols = col;
        }
        /* dkernel (OC, CKK) += g (OC, OHW) @ cols^T (OHW, CKK) */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, OC, CKK, OHW, 1.0f, g, OHW, cols,
                    OHW, 1.0f, dkernel, CKK);
        if (dbias)
            for (int oc = 0; oc < OC; oc++)
                dbias[oc] += sum_floats(g + (size_t)oc * OHW, (size_t)OHW);
        if (!dinp)
            continue;
        float *dx = dinp + b * in_size;
        if (pointwise) { /* dx (C, HW) += kernel^T (C, OC) @ g (OC, HW) */
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, CKK, OHW, OC, 1.0f, kernel, CKK,
                        g, OHW, 1.0f, dx, OHW);
        } else { /* dcol (CKK, OHW) = kernel^T @ g; dx += col2im(dcol) */
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, CKK, OHW, OC, 1.0f, kernel, CKK,
                        g, OHW, 0.0f, col, OHW);
            col2im_add(dx, col, d);
        }
    }
}

/* ---- the "conv2d" layer kind -------------------------------------------------
 * Parameters: "kernel" (OC, C, KH, KW), then "bias" (OC) when use_bias. */

void advml_conv2d_layer_dims(const advml_layer *L, int B, advml_conv2d_dims *d)
{
    d->B = B;
    d->C = L->in_shape.d[0];
    d->H = L->in_shape.d[1];
    d->W = L->in_shape.d[2];
    d->OC = L->out_shape.d[0];
    d->OH = L->out_shape.d[1];
    d->OW = L->out_shape.d[2];
    d->KH = L->spec.kernel[0];
    d->KW = L->spec.kernel[1];
    d->SH = L->spec.stride[0];
    d->SW = L->spec.stride[1];
    d->PT = L->pad[0];
    d->PL = L->pad[1];
    d->algo = L->conv_algo;
}

static advml_status conv2d_setup(advml_layer *L, advml_shape in_shape, int max_batch,
                                 advml_error *err)
{
    const advml_layer_spec *s = &L->spec;
    const int li = L->index;
    char buf[64];
    (void)max_batch;
    if (in_shape.rank != 3)
        return advml_error_set(err, ADVML_ERR_SHAPE,
                               "layer %d (conv2d): input has shape %s; conv2d needs an image "
                               "input (channels, height, width)",
                               li, advml_shape_str(&in_shape, buf, sizeof buf));
    const int C = in_shape.d[0], H = in_shape.d[1], W = in_shape.d[2];
    if (C <= 0 || H <= 0 || W <= 0)
        return advml_error_set(err, ADVML_ERR_SHAPE, "layer %d (conv2d): input has shape %s; "
                               "every size must be positive",
                               li, advml_shape_str(&in_shape, buf, sizeof buf));
    if (s->units <= 0)
        return advml_error_set(err, ADVML_ERR_SHAPE,
                               "layer %d (conv2d): filters (units) must be positive, got %d", li,
                               s->units);
    if (s->kernel[0] <= 0 || s->kernel[1] <= 0)
        return advml_error_set(err, ADVML_ERR_SHAPE,
                               "layer %d (conv2d): kernel %dx%d must have a positive height and "
                               "width",
                               li, s->kernel[0], s->kernel[1]);
    if (s->stride[0] <= 0 || s->stride[1] <= 0)
        return advml_error_set(err, ADVML_ERR_SHAPE,
                               "layer %d (conv2d): stride %dx%d must be positive", li,
                               s->stride[0], s->stride[1]);
    if (s->padding != ADVML_PAD_VALID && s->padding != ADVML_PAD_SAME)
        return advml_error_set(err, ADVML_ERR_SHAPE,
                               "layer %d (conv2d): unknown padding %d (valid or same)", li,
                               (int)s->padding);
    if ((unsigned)s->act > (unsigned)ADVML_ACT_SOFTMAX)
        return advml_error_set(err, ADVML_ERR_SHAPE, "layer %d (conv2d): unknown activation %d",
                               li, (int)s->act);
    if (s->in_channels != 0 && s->in_channels != C)
        return advml_error_set(err, ADVML_ERR_SHAPE,
                               "layer %d (conv2d): expects %d input channels (in_channels) but "
                               "the previous layer gives %d",
                               li, s->in_channels, C);
    int OH, OW, PT, PL;
    advml_status sh = advml_conv_out_size(H, s->kernel[0], s->stride[0], s->padding, &OH, &PT);
    advml_status sw = advml_conv_out_size(W, s->kernel[1], s->stride[1], s->padding, &OW, &PL);
    if (sh != ADVML_OK || sw != ADVML_OK)
        /* only "valid" can fail, and it pads nothing */
        return advml_error_set(err, ADVML_ERR_SHAPE,
                               "layer %d (conv2d): kernel %dx%d is larger than the padded input "
                               "%dx%d",
                               li, s->kernel[0], s->kernel[1], H, W);
    const size_t ckk = (size_t)C * s->kernel[0] * s->kernel[1];
    const size_t out_size = (size_t)s->units * OH * OW;
    if (ckk * OH * OW > INT_MAX || out_size > INT_MAX || ckk * s->units > INT_MAX)
        return advml_error_set(err, ADVML_ERR_SHAPE,
                               "layer %d (conv2d): %d filters of %dx%d over %dx%dx%d is too large",
                               li, s->units, s->kernel[0], s->kernel[1], C, H, W);

    L->in_shape = in_shape;
    L->out_shape = advml_shape3(s->units, OH, OW);
    L->pad[0] = PT;
    L->pad[1] = PL;
    L->nviews = 0;
    L->nparams = 0;
    advml_layer_add_view(L, "kernel", 1, 4, (const int[]){s->units, C, s->kernel[0], s->kernel[1]}); // (OC, C, KH, KW)
    if (s->use_bias)
        advml_layer_add_view(L, "bias", 0, 1, (const int[]){s->units}); // (OC)
    L->state_per_sample = 0;
    advml_conv2d_dims d;
    L->conv_algo = ADVML_CONV_IM2COL;
    advml_conv2d_layer_dims(L, 1, &d);
    if (s->algorithm == ADVML_CONV_WINOGRAD && !advml_conv2d_winograd_applies(&d))
        return advml_error_set(err, ADVML_ERR_SHAPE,
                               "layer %d (conv2d): algorithm \"winograd\" needs a 3x3 kernel at "
                               "stride 1, not kernel %dx%d stride %dx%d (use \"auto\" or \"im2col\")",
                               li, s->kernel[0], s->kernel[1], s->stride[0], s->stride[1]);
    if (s->algorithm != ADVML_CONV_AUTO && s->algorithm != ADVML_CONV_IM2COL &&
        s->algorithm != ADVML_CONV_WINOGRAD)
        return advml_error_set(err, ADVML_ERR_SHAPE, "layer %d (conv2d): unknown algorithm %d", li,
                               (int)s->algorithm);
    L->conv_algo = s->algorithm == ADVML_CONV_AUTO ? advml_conv2d_pick_algo(&d) : s->algorithm;
    d.algo = L->conv_algo;
    L->scratch_floats = conv_is_pointwise(&d) && d.algo == ADVML_CONV_IM2COL ? 0 : advml_conv2d_col_size(&d);
    return ADVML_OK;
}

static void conv2d_init(advml_layer *L, float *params, advml_rng *rng)
{
    const int OC = L->out_shape.d[0], C = L->in_shape.d[0];
    const int KK = L->spec.kernel[0] * L->spec.kernel[1];
    const size_t nk = (size_t)OC * C * KK;
    advml_init_fill(params, nk, L->spec.kernel_init, C * KK, OC * KK, L->spec.act, rng);
    if (L->spec.use_bias)
        advml_init_bias(params + nk, (size_t)OC, L->spec.bias_init, C * KK, OC * KK, rng);
}

static void conv2d_forward(advml_layer *L, float *z, const float *in, const float *params,
                           const advml_ctx *ctx)
{
    advml_conv2d_dims d;
    advml_conv2d_layer_dims(L, ctx->B, &d);
    const size_t nk = (size_t)d.OC * d.C * d.KH * d.KW;
    advml_conv2d_forward(z, ctx->scratch, in, params, L->spec.use_bias ? params + nk : NULL, &d);
}

static void conv2d_backward(advml_layer *L, float *dinp, float *dparams, const float *dz,
                            const float *in, const float *params, const advml_ctx *ctx)
{
    advml_conv2d_dims d;
    advml_conv2d_layer_dims(L, ctx->B, &d);
    const size_t nk = (size_t)d.OC * d.C * d.KH * d.KW;
    advml_conv2d_backward(dinp, dparams, L->spec.use_bias ? dparams + nk : NULL, ctx->scratch, dz,
                          in, params, &d);
}

static const advml_key_choice padding_choices[] = {
    {"same", ADVML_PAD_SAME}, {"valid", ADVML_PAD_VALID}, {NULL, 0}};
static const advml_key_choice algo_choices[] = {
    {"auto", ADVML_CONV_AUTO}, {"im2col", ADVML_CONV_IM2COL}, {"winograd", ADVML_CONV_WINOGRAD}, {NULL, 0}};

static const advml_layer_key conv2d_keys[] = {
    ADVML_KEY_ROW_UNITS("filters", "out_channels"),
    {.name = "kernel", .type = ADVML_KEY_PAIR, .offset = offsetof(advml_layer_spec, kernel),
     .flags = ADVML_KEY_REQUIRED, .aliases = ADVML_NAMES("kernel_size")},
    {.name = "stride", .type = ADVML_KEY_PAIR, .offset = offsetof(advml_layer_spec, stride), .dflt = 1,
     .aliases = ADVML_NAMES("strides")},
    {.name = "padding", .type = ADVML_KEY_CHOICE, .offset = offsetof(advml_layer_spec, padding),
     .dflt = ADVML_PAD_VALID, .choices = padding_choices},
    ADVML_KEY_ROW_ACTIVATION(0, ADVML_ACT_IDENTITY),
    ADVML_KEY_ROW_ALPHA,
    ADVML_KEY_ROW_USE_BIAS,
    ADVML_KEY_ROW_IN("in_channels"),
    ADVML_KEY_ROWS_INITIALIZERS,
    ADVML_KEY_ROW_TRAINABLE,
    {.name = "algorithm", .type = ADVML_KEY_CHOICE, .offset = offsetof(advml_layer_spec, algorithm),
     .flags = ADVML_KEY_OMIT_DEFAULT | ADVML_KEY_NOT_MODEL, .dflt = ADVML_CONV_AUTO, .choices = algo_choices},
    {.name = NULL}};

static const advml_key_note conv2d_notes[] = {
    {"units", "conv2d counts its output maps in \"filters\""}, {NULL, NULL}};

const advml_layer_kind advml_conv2d_kind = {
    .name = "conv2d",
    .class_name = "Conv2D",
    .post_act = 1,
    .setup = conv2d_setup,
    .init = conv2d_init,
    .forward = conv2d_forward,
    .backward = conv2d_backward,
    .keys = conv2d_keys,
    .aliases = ADVML_NAMES("conv", "conv2D", "Conv2D"),
    .notes = conv2d_notes,
};

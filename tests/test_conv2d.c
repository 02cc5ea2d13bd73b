/* test_conv2d.c - conv2d kernels and the conv2d kind: the course's worked
 * example, output sizes and parameter counts, a naive direct convolution as
 * reference, and central finite-difference gradient checks.
 *
 * Gradient checks: the objective is f = sum(out * R) for a fixed random R,
 * accumulated in double, so d f / d out = R and the analytic gradients come
 * from one backward call with dout = R. Convolution is linear in the input,
 * the kernel and the bias, so a central difference has no truncation error
 * for any step: only float32 rounding of the outputs a perturbed entry
 * touches remains (the others are bit-identical in f+ and f-). That error is
 * about (#touched outputs, <= ~30) * |out| (~2) * 6e-8 / (2h); a large step
 * h = 0.5 keeps it near 1e-5 (measured worst 2e-5 relative, with a floor of
 * 0.05 for entries whose gradient is tiny). The tolerance 2e-4 leaves a 10x
 * margin and still catches a gradient that is off by 0.1%.
 *
 * Every check on 3x3 stride-1 shapes runs twice: with im2col and with
 * Winograd F(2x2, 3x3) (d.algo), which is linear too, so the same bounds hold.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "advml/conv2d.h"
#include "advml/layer.h"
#include "testutil.h"

#define GC_H 0.5
#define GC_FLOOR 5e-2
#define GC_TOL 2e-4

/* Fill d from (B, C, H, W, OC, KH, KW, SH, SW, padding); returns 0 if the
 * configuration is impossible. */
static int make_dims(advml_conv2d_dims *d, int B, int C, int H, int W, int OC, int KH, int KW,
                     int SH, int SW, advml_padding pad)
{
    memset(d, 0, sizeof *d);
    d->B = B, d->C = C, d->H = H, d->W = W, d->OC = OC, d->KH = KH, d->KW = KW, d->SH = SH,
    d->SW = SW;
    if (advml_conv_out_size(H, KH, SH, pad, &d->OH, &d->PT) != ADVML_OK)
        return 0;
    if (advml_conv_out_size(W, KW, SW, pad, &d->OW, &d->PL) != ADVML_OK)
        return 0;
    return 1;
}

/* The definition: out[b][oc][oh][ow] = bias[oc] + sum_{c,kh,kw}
 * in[b][c][oh*SH - PT + kh][ow*SW - PL + kw] * k[oc][c][kh][kw], zero outside. */
static void naive_conv(float *out, const float *in, const float *k, const float *bias,
                       const advml_conv2d_dims *d)
{
    for (int b = 0; b < d->B; b++)
        for (int oc = 0; oc < d->OC; oc++)
            for (int oh = 0; oh < d->OH; oh++)
                for (int ow = 0; ow < d->OW; ow++) {
                    double s = bias ? bias[oc] : 0.0;
                    for (int c = 0; c < d->C; c++)
                        for (int kh = 0; kh < d->KH; kh++)
                            for (int kw = 0; kw < d->KW; kw++) {
                                int ih = oh * d->SH - d->PT + kh, iw = ow * d->SW - d->PL + kw;
                                if (ih < 0 || ih >= d->H || iw < 0 || iw >= d->W)
                                    continue;
                                s += (double)in[((b * d->C + c) * d->H + ih) * d->W + iw] *
                                     k[((oc * d->C + c) * d->KH + kh) * d->KW + kw];
                            }
                    out[((b * d->OC + oc) * d->OH + oh) * d->OW + ow] = (float)s;
                }
}

/* A conv problem with every buffer it needs. */
typedef struct conv_case {
    advml_conv2d_dims d;
    size_t nin, nk, nout;
    float *in, *k, *bias, *out, *col, *R;
    float *din, *dk, *dbias;
} conv_case;

static void case_alloc(conv_case *t, const advml_conv2d_dims *d, int with_bias, uint64_t seed)
{
    advml_rng rng;
    advml_rng_seed(&rng, seed);
    t->d = *d;
    t->nin = (size_t)d->B * d->C * d->H * d->W;
    t->nk = (size_t)d->OC * d->C * d->KH * d->KW;
    t->nout = (size_t)d->B * d->OC * d->OH * d->OW;
    t->in = malloc(t->nin * sizeof(float));
    t->k = malloc(t->nk * sizeof(float));
    t->bias = with_bias ? malloc((size_t)d->OC * sizeof(float)) : NULL;
    t->out = malloc(t->nout * sizeof(float));
    t->col = malloc(advml_conv2d_col_size(d) * sizeof(float));
    t->R = malloc(t->nout * sizeof(float));
    t->din = calloc(t->nin, sizeof(float));
    t->dk = calloc(t->nk, sizeof(float));
    t->dbias = calloc((size_t)d->OC, sizeof(float));
    advml_test_fill_uniform(t->in, t->nin, -1.0f, 1.0f, &rng);
    advml_test_fill_uniform(t->k, t->nk, -1.0f, 1.0f, &rng);
    if (t->bias)
        advml_test_fill_uniform(t->bias, (size_t)d->OC, -1.0f, 1.0f, &rng);
    advml_test_fill_uniform(t->R, t->nout, -1.0f, 1.0f, &rng);
}

static void case_free(conv_case *t)
{
    free(t->in), free(t->k), free(t->bias), free(t->out), free(t->col), free(t->R);
    free(t->din), free(t->dk), free(t->dbias);
}

static double conv_objective(void *ctx)
{
    conv_case *t = ctx;
    advml_conv2d_forward(t->out, t->col, t->in, t->k, t->bias, &t->d);
    double f = 0.0;
    for (size_t i = 0; i < t->nout; i++)
        f += (double)t->out[i] * t->R[i];
    return f;
}

/* ---- the course's worked example ------------------------------------------ */

static const float course_f[36] = {4, 1, 2, 9, 8, 6, 9, 5, 9, 5, 8, 5, 1, 5, 9, 7, 6, 4,
                                   2, 9, 8, 3, 7, 1, 8, 1, 6, 4, 2, 2, 1, 0, 5, 7, 8, 2};

static void t_course_valid(void)
{
    static const float expect[16] = {5, 5.78f, 7, 6.44f, 6.33f, 6.67f, 6.89f, 5.11f,
                                     5.44f, 5.78f, 5.78f, 4, 4.44f, 4.78f, 5.56f, 4};
    advml_conv2d_dims d;
    CU_ASSERT_FATAL(make_dims(&d, 1, 1, 6, 6, 1, 3, 3, 1, 1, ADVML_PAD_VALID));
    CU_ASSERT(d.OH == 4 && d.OW == 4);
    float k[9], out[16];
    for (int i = 0; i < 9; i++)
        k[i] = 1.0f / 9.0f;
    CU_ASSERT(advml_conv2d_col_size(&d) >= 9 * 16); /* at least the (9, 16) col matrix */
    float *col = malloc(advml_conv2d_col_size(&d) * sizeof(float));
    advml_conv2d_forward(out, col, course_f, k, NULL, &d);
    for (int i = 0; i < 16; i++)
        ADVML_CHECK_CLOSE(out[i], expect[i], 0.005); /* the text rounds to 2 decimals */
    free(col);
}

static void t_course_same(void)
{
    static const float row0[6] = {2.111f, 3.333f, 3.444f, 4.556f, 4.556f, 3.000f};
    advml_conv2d_dims d;
    CU_ASSERT_FATAL(make_dims(&d, 1, 1, 6, 6, 1, 3, 3, 1, 1, ADVML_PAD_SAME));
    CU_ASSERT(d.OH == 6 && d.OW == 6 && d.PT == 1 && d.PL == 1); /* kernel//2 zeros */
    float k[9], out[36], ref[36];
    for (int i = 0; i < 9; i++)
        k[i] = 1.0f / 9.0f;
    float *col = malloc(advml_conv2d_col_size(&d) * sizeof(float));
    advml_conv2d_forward(out, col, course_f, k, NULL, &d);
    free(col);
    for (int i = 0; i < 6; i++)
        ADVML_CHECK_CLOSE(out[i], row0[i], 0.0005);
    /* the inner 4x4 is the valid result; all of it matches the definition */
    naive_conv(ref, course_f, k, NULL, &d);
    CU_ASSERT(advml_max_abs_diff(out, ref, 36) < 1e-5);
    ADVML_CHECK_CLOSE(out[1 * 6 + 1], 5.0, 1e-5);
    ADVML_CHECK_CLOSE(out[4 * 6 + 4], 4.0, 1e-5);
}

/* ---- output sizes ---------------------------------------------------------- */

static void t_out_size(void)
{
    int o, p;
    /* valid: (W - F)/S + 1 */
    CU_ASSERT(advml_conv_out_size(32, 5, 1, ADVML_PAD_VALID, &o, &p) == ADVML_OK && o == 28 && p == 0);
    CU_ASSERT(advml_conv_out_size(7, 3, 2, ADVML_PAD_VALID, &o, &p) == ADVML_OK && o == 3);
    CU_ASSERT(advml_conv_out_size(8, 3, 2, ADVML_PAD_VALID, &o, &p) == ADVML_OK && o == 3);
    CU_ASSERT(advml_conv_out_size(3, 5, 1, ADVML_PAD_VALID, &o, &p) == ADVML_ERR_SHAPE && o == 0);
    /* same (TensorFlow): ceil(n/s), total max((o-1)s + k - n, 0), top = total/2 */
    CU_ASSERT(advml_conv_out_size(28, 3, 1, ADVML_PAD_SAME, &o, &p) == ADVML_OK && o == 28 && p == 1);
    CU_ASSERT(advml_conv_out_size(28, 5, 1, ADVML_PAD_SAME, &o, &p) == ADVML_OK && o == 28 && p == 2);
    CU_ASSERT(advml_conv_out_size(6, 4, 1, ADVML_PAD_SAME, &o, &p) == ADVML_OK && o == 6 && p == 1);
    CU_ASSERT(advml_conv_out_size(7, 3, 2, ADVML_PAD_SAME, &o, &p) == ADVML_OK && o == 4 && p == 1);
    CU_ASSERT(advml_conv_out_size(8, 3, 2, ADVML_PAD_SAME, &o, &p) == ADVML_OK && o == 4 && p == 0);
    CU_ASSERT(advml_conv_out_size(10, 1, 3, ADVML_PAD_SAME, &o, &p) == ADVML_OK && o == 4 && p == 0);
    CU_ASSERT(advml_conv_out_size(3, 5, 1, ADVML_PAD_SAME, &o, &p) == ADVML_OK && o == 3 && p == 2);
    CU_ASSERT(advml_conv_out_size(5, 3, 0, ADVML_PAD_SAME, &o, &p) == ADVML_ERR_SHAPE);
    CU_ASSERT(advml_conv_out_size(0, 3, 1, ADVML_PAD_VALID, &o, &p) == ADVML_ERR_SHAPE);
}

static advml_status conv_setup(advml_layer *L, int index, advml_shape in, int filters, int kh,
                               int kw, int sh, int sw, advml_padding pad, advml_error *err)
{
    memset(L, 0, sizeof *L);
    L->spec = advml_layer_spec_default(ADVML_LAYER_CONV2D);
    L->spec.units = filters;
    L->spec.kernel[0] = kh, L->spec.kernel[1] = kw;
    L->spec.stride[0] = sh, L->spec.stride[1] = sw;
    L->spec.padding = pad;
    L->index = index;
    L->kind = &advml_conv2d_kind;
    advml_error_clear(err);
    return advml_conv2d_kind.setup(L, in, 8, err);
}

static void t_param_count(void)
{
    advml_layer L;
    advml_error err;
    /* 32x32x3 input, ten 5x5 filters, S = 1, P = 0: 28x28 maps, 76 per filter */
    CU_ASSERT_FATAL(conv_setup(&L, 0, advml_shape3(3, 32, 32), 10, 5, 5, 1, 1, ADVML_PAD_VALID,
                               &err) == ADVML_OK);
    CU_ASSERT(L.out_shape.rank == 3 && L.out_shape.d[0] == 10 && L.out_shape.d[1] == 28 &&
              L.out_shape.d[2] == 28);
    CU_ASSERT(L.nparams == 760);
    CU_ASSERT(L.nviews == 2);
    CU_ASSERT(strcmp(L.views[0].name, "kernel") == 0 && L.views[0].size == 750 &&
              L.views[0].rank == 4 && L.views[0].dims[0] == 10 && L.views[0].dims[1] == 3 &&
              L.views[0].dims[2] == 5 && L.views[0].dims[3] == 5 && L.views[0].decay == 1 &&
              L.views[0].offset == 0);
    CU_ASSERT(strcmp(L.views[1].name, "bias") == 0 && L.views[1].size == 10 &&
              L.views[1].rank == 1 && L.views[1].decay == 0 && L.views[1].offset == 750);
    CU_ASSERT(L.scratch_floats >= (size_t)75 * 28 * 28); /* col (75, 784) and the padded sample */
    /* the exercise: 3x3 filters, 32 maps -> 30x30, 32 * (27 + 1) = 896 */
    CU_ASSERT_FATAL(conv_setup(&L, 0, advml_shape3(3, 32, 32), 32, 3, 3, 1, 1, ADVML_PAD_VALID,
                               &err) == ADVML_OK);
    CU_ASSERT(L.out_shape.d[0] == 32 && L.out_shape.d[1] == 30 && L.out_shape.d[2] == 30);
    CU_ASSERT(L.nparams == 896);
    /* no bias: kernel only */
    memset(&L, 0, sizeof L);
    L.spec = advml_layer_spec_default(ADVML_LAYER_CONV2D);
    L.spec.units = 32, L.spec.kernel[0] = L.spec.kernel[1] = 3, L.spec.use_bias = 0;
    CU_ASSERT(advml_conv2d_kind.setup(&L, advml_shape3(3, 32, 32), 4, &err) == ADVML_OK);
    CU_ASSERT(L.nparams == 864 && L.nviews == 1);
    /* same padding with stride 2: ceil(32/2) = 16 */
    CU_ASSERT_FATAL(conv_setup(&L, 0, advml_shape3(3, 32, 32), 8, 3, 3, 2, 2, ADVML_PAD_SAME,
                               &err) == ADVML_OK);
    CU_ASSERT(L.out_shape.d[1] == 16 && L.out_shape.d[2] == 16 && L.pad[0] == 0 && L.pad[1] == 0);
    /* the course's untraditional 7x1 kernel, stride (2, 3), on 28x28 */
    CU_ASSERT_FATAL(conv_setup(&L, 0, advml_shape3(1, 28, 28), 4, 7, 1, 2, 3, ADVML_PAD_VALID,
                               &err) == ADVML_OK);
    CU_ASSERT(L.out_shape.d[1] == 11 && L.out_shape.d[2] == 10);
    CU_ASSERT(L.nparams == 4 * 7 + 4);
}

/* ---- forward against the definition ----------------------------------------- */

static int check_forward(const advml_conv2d_dims *d, int with_bias, uint64_t seed)
{
    conv_case t;
    case_alloc(&t, d, with_bias, seed);
    float *ref = malloc(t.nout * sizeof(float));
    naive_conv(ref, t.in, t.k, t.bias, d);
    advml_conv2d_forward(t.out, t.col, t.in, t.k, t.bias, d);
    double err = advml_max_abs_diff(t.out, ref, t.nout);
    int ok = err < 1e-5 * (d->C * d->KH * d->KW + 1);
    if (!ok)
        fprintf(stderr, "  forward mismatch %g: B%d C%d %dx%d OC%d k%dx%d s%dx%d pad %d,%d\n", err,
                d->B, d->C, d->H, d->W, d->OC, d->KH, d->KW, d->SH, d->SW, d->PT, d->PL);
    free(ref);
    case_free(&t);
    return ok;
}

static void t_forward_vs_naive(void)
{
    static const struct { int B, C, H, W, OC, KH, KW, SH, SW; advml_padding pad; } cases[] = {
        {2, 3, 9, 8, 4, 3, 3, 1, 1, ADVML_PAD_VALID},
        {2, 3, 9, 8, 4, 3, 3, 1, 1, ADVML_PAD_SAME},
        {2, 2, 13, 11, 3, 7, 1, 2, 3, ADVML_PAD_VALID}, /* the course's 7x1, stride (2, 3) */
        {2, 2, 13, 11, 3, 7, 1, 2, 3, ADVML_PAD_SAME},
        {1, 2, 6, 7, 3, 4, 2, 1, 1, ADVML_PAD_SAME},    /* even kernels: uneven padding */
        {1, 2, 8, 8, 2, 2, 2, 1, 1, ADVML_PAD_SAME},
        {2, 2, 7, 8, 3, 3, 3, 2, 2, ADVML_PAD_SAME},    /* stride with same padding */
        {2, 1, 9, 10, 2, 5, 3, 2, 1, ADVML_PAD_SAME},
        {2, 3, 5, 6, 4, 1, 1, 1, 1, ADVML_PAD_VALID},   /* 1x1: the pointwise path */
        {2, 3, 5, 6, 4, 1, 1, 2, 2, ADVML_PAD_SAME},
        {1, 2, 3, 3, 2, 5, 5, 1, 1, ADVML_PAD_SAME},    /* kernel larger than the input */
        {3, 1, 28, 28, 4, 3, 3, 1, 1, ADVML_PAD_SAME},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        advml_conv2d_dims d;
        CU_ASSERT_FATAL(make_dims(&d, cases[i].B, cases[i].C, cases[i].H, cases[i].W, cases[i].OC,
                                  cases[i].KH, cases[i].KW, cases[i].SH, cases[i].SW, cases[i].pad));
        CU_ASSERT(check_forward(&d, 1, 100 + i));
        CU_ASSERT(check_forward(&d, 0, 200 + i));
    }
    /* random sizes */
    advml_rng rng;
    advml_rng_seed(&rng, 7);
    int done = 0;
    while (done < 40) {
        int B = 1 + (int)advml_rng_below(&rng, 3), C = 1 + (int)advml_rng_below(&rng, 3);
        int H = 1 + (int)advml_rng_below(&rng, 11), W = 1 + (int)advml_rng_below(&rng, 11);
        int OC = 1 + (int)advml_rng_below(&rng, 4);
        int KH = 1 + (int)advml_rng_below(&rng, 6), KW = 1 + (int)advml_rng_below(&rng, 6);
        int SH = 1 + (int)advml_rng_below(&rng, 3), SW = 1 + (int)advml_rng_below(&rng, 3);
        advml_padding pad = advml_rng_below(&rng, 2) ? ADVML_PAD_SAME : ADVML_PAD_VALID;
        advml_conv2d_dims d;
        if (!make_dims(&d, B, C, H, W, OC, KH, KW, SH, SW, pad))
            continue;
        CU_ASSERT(check_forward(&d, (int)advml_rng_below(&rng, 2), 300 + (uint64_t)done));
        done++;
    }
}

/* ---- gradients --------------------------------------------------------------- */

static void gradcheck_case(const char *name, const advml_conv2d_dims *d, int with_bias,
                           int with_dinp, uint64_t seed)
{
    conv_case t;
    case_alloc(&t, d, with_bias, seed);
    advml_conv2d_backward(with_dinp ? t.din : NULL, t.dk, with_bias ? t.dbias : NULL, t.col, t.R,
                          t.in, t.k, d);
    char what[96];
    snprintf(what, sizeof what, "%s dkernel", name);
    CU_ASSERT(advml_gradcheck(what, t.k, t.dk, t.nk, conv_objective, &t, GC_H, GC_FLOOR, GC_TOL,
                              NULL) < GC_TOL);
    if (with_bias) {
        snprintf(what, sizeof what, "%s dbias", name);
        CU_ASSERT(advml_gradcheck(what, t.bias, t.dbias, (size_t)d->OC, conv_objective, &t, GC_H,
                                  GC_FLOOR, GC_TOL, NULL) < GC_TOL);
    }
    if (with_dinp) {
        snprintf(what, sizeof what, "%s dinp", name);
        CU_ASSERT(advml_gradcheck(what, t.in, t.din, t.nin, conv_objective, &t, GC_H, GC_FLOOR,
                                  GC_TOL, NULL) < GC_TOL);
    }
    case_free(&t);
}

static void t_gradcheck(void)
{
    static const struct {
        const char *name;
        int B, C, H, W, OC, KH, KW, SH, SW;
        advml_padding pad;
        int bias;
    } cases[] = {
        {"valid 3x3", 2, 2, 6, 5, 3, 3, 3, 1, 1, ADVML_PAD_VALID, 1},
        {"same 3x3", 2, 2, 6, 5, 3, 3, 3, 1, 1, ADVML_PAD_SAME, 1},
        {"same 3x3 no bias", 2, 2, 6, 5, 3, 3, 3, 1, 1, ADVML_PAD_SAME, 0},
        {"strided same 3x3 s2", 2, 2, 7, 8, 3, 3, 3, 2, 2, ADVML_PAD_SAME, 1},
        {"strided valid 3x2 s(2,1)", 2, 2, 7, 6, 2, 3, 2, 2, 1, ADVML_PAD_VALID, 0},
        {"asymmetric 7x1 s(2,3) valid", 2, 2, 11, 10, 2, 7, 1, 2, 3, ADVML_PAD_VALID, 1},
        {"asymmetric 7x1 s(2,3) same", 2, 1, 11, 10, 2, 7, 1, 2, 3, ADVML_PAD_SAME, 1},
        {"even 2x4 same", 2, 2, 5, 6, 2, 2, 4, 1, 1, ADVML_PAD_SAME, 1},
        {"pointwise 1x1", 2, 3, 4, 5, 2, 1, 1, 1, 1, ADVML_PAD_VALID, 1},
        {"1x1 stride 2", 1, 3, 5, 5, 2, 1, 1, 2, 2, ADVML_PAD_SAME, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        advml_conv2d_dims d;
        CU_ASSERT_FATAL(make_dims(&d, cases[i].B, cases[i].C, cases[i].H, cases[i].W, cases[i].OC,
                                  cases[i].KH, cases[i].KW, cases[i].SH, cases[i].SW, cases[i].pad));
        gradcheck_case(cases[i].name, &d, cases[i].bias, 1, 50 + i);
    }
}

/* dinp == NULL (first layer): parameter gradients are unchanged. */
static void t_no_dinp(void)
{
    advml_conv2d_dims d;
    CU_ASSERT_FATAL(make_dims(&d, 2, 2, 6, 6, 3, 3, 3, 1, 1, ADVML_PAD_SAME));
    conv_case a, b;
    case_alloc(&a, &d, 1, 9);
    case_alloc(&b, &d, 1, 9);
    advml_conv2d_backward(a.din, a.dk, a.dbias, a.col, a.R, a.in, a.k, &d);
    advml_conv2d_backward(NULL, b.dk, b.dbias, b.col, b.R, b.in, b.k, &d);
    CU_ASSERT(advml_max_abs_diff(a.dk, b.dk, a.nk) == 0.0);
    CU_ASSERT(advml_max_abs_diff(a.dbias, b.dbias, (size_t)d.OC) == 0.0);
    case_free(&a);
    case_free(&b);
    gradcheck_case("same 3x3 without dinp", &d, 1, 0, 10);
}

/* backward accumulates: twice gives double the gradients */
static void t_accumulates(void)
{
    advml_conv2d_dims d;
    CU_ASSERT_FATAL(make_dims(&d, 2, 2, 7, 6, 3, 3, 2, 2, 1, ADVML_PAD_SAME));
    conv_case t;
    case_alloc(&t, &d, 1, 11);
    advml_conv2d_backward(t.din, t.dk, t.dbias, t.col, t.R, t.in, t.k, &d);
    float *din1 = malloc(t.nin * sizeof(float)), *dk1 = malloc(t.nk * sizeof(float));
    float db1[3];
    memcpy(din1, t.din, t.nin * sizeof(float));
    memcpy(dk1, t.dk, t.nk * sizeof(float));
    memcpy(db1, t.dbias, sizeof db1);
    advml_conv2d_backward(t.din, t.dk, t.dbias, t.col, t.R, t.in, t.k, &d);
    double e = 0.0, mag = 0.0;
    for (size_t i = 0; i < t.nin; i++)
        e = fmax(e, fabs(t.din[i] - 2.0 * din1[i])), mag = fmax(mag, fabs(din1[i]));
    for (size_t i = 0; i < t.nk; i++)
        e = fmax(e, fabs(t.dk[i] - 2.0 * dk1[i]));
    for (int i = 0; i < 3; i++)
        e = fmax(e, fabs(t.dbias[i] - 2.0 * db1[i]));
    CU_ASSERT(mag > 0.1);
    CU_ASSERT(e < 1e-5);
    free(din1), free(dk1);
    case_free(&t);
}

/* Runs the conv2d kind's forward and backward (layer L, built for d's shapes)
 * on a random case with bias, then both again at B = 0. diff[0]: max |forward -
 * definition|; diff[1..3]: max differences of dinp, dkernel and dbias against
 * advml_conv2d_backward with d (and d's algorithm); diff[4]: how far dinp
 * moved in the calls at B = 0. */
static void kind_vs_kernels(advml_layer *L, const advml_conv2d_dims *d, uint64_t seed, double diff[5])
{
    conv_case t;
    case_alloc(&t, d, 1, seed);
    float *params = malloc(L->nparams * sizeof(float)), *grads = calloc(L->nparams, sizeof(float));
    memcpy(params, t.k, t.nk * sizeof(float));
    memcpy(params + L->views[1].offset, t.bias, (size_t)d->OC * sizeof(float));
    float *scratch = malloc(L->scratch_floats * sizeof(float));
    float *z = malloc(t.nout * sizeof(float)), *ref = malloc(t.nout * sizeof(float));
    float *din = calloc(t.nin, sizeof(float)), *din1 = malloc(t.nin * sizeof(float));
    advml_ctx ctx = {.B = d->B, .training = 1, .seed = 1, .step = 0, .sample_ids = NULL, .scratch = scratch};
    advml_conv2d_kind.forward(L, z, t.in, params, &ctx);
    naive_conv(ref, t.in, t.k, t.bias, d);
    diff[0] = advml_max_abs_diff(z, ref, t.nout);
    advml_conv2d_kind.backward(L, din, grads, t.R, t.in, params, &ctx);
    advml_conv2d_backward(t.din, t.dk, t.dbias, t.col, t.R, t.in, t.k, d);
    diff[1] = advml_max_abs_diff(din, t.din, t.nin);
    diff[2] = advml_max_abs_diff(grads, t.dk, t.nk);
    diff[3] = advml_max_abs_diff(grads + L->views[1].offset, t.dbias, (size_t)d->OC);
    memcpy(din1, din, t.nin * sizeof(float));
    ctx.B = 0;
    advml_conv2d_kind.forward(L, z, t.in, params, &ctx);
    advml_conv2d_kind.backward(L, din, grads, t.R, t.in, params, &ctx);
    diff[4] = advml_max_abs_diff(din, din1, t.nin);
    free(params), free(grads), free(scratch), free(z), free(ref), free(din), free(din1);
    case_free(&t);
}

/* ---- Winograd F(2x2, 3x3) ------------------------------------------------------ */

/* 3x3 stride-1 shapes: odd and even output sizes (partial 2x2 tiles), a 1x1
 * output, tiles of one sample more than a chunk, and a last chunk that is not
 * full (14x14: 49 tiles, chunks of 8 samples, B = 11). */
static const struct { int B, C, H, W, OC; advml_padding pad; } wg_cases[] = {
    {2, 3, 9, 8, 4, ADVML_PAD_VALID},  {2, 3, 9, 8, 4, ADVML_PAD_SAME},
    {1, 2, 3, 3, 2, ADVML_PAD_VALID},  {2, 2, 4, 5, 3, ADVML_PAD_VALID},
    {3, 1, 1, 1, 2, ADVML_PAD_SAME},   {2, 2, 2, 7, 3, ADVML_PAD_SAME},
    {11, 3, 14, 14, 4, ADVML_PAD_SAME}, {2, 2, 30, 29, 3, ADVML_PAD_SAME},
    {3, 4, 7, 6, 5, ADVML_PAD_VALID},
};

static int wg_dims(advml_conv2d_dims *d, size_t i)
{
    if (!make_dims(d, wg_cases[i].B, wg_cases[i].C, wg_cases[i].H, wg_cases[i].W, wg_cases[i].OC, 3,
                   3, 1, 1, wg_cases[i].pad))
        return 0;
    d->algo = ADVML_CONV_WINOGRAD;
    return advml_conv2d_winograd_applies(d);
}

static void t_winograd_forward(void)
{
    for (size_t i = 0; i < sizeof wg_cases / sizeof wg_cases[0]; i++) {
        advml_conv2d_dims d;
        CU_ASSERT_FATAL(wg_dims(&d, i));
        CU_ASSERT(check_forward(&d, 1, 400 + i));
        CU_ASSERT(check_forward(&d, 0, 500 + i));
    }
    /* where it applies */
    advml_conv2d_dims d;
    CU_ASSERT_FATAL(make_dims(&d, 1, 2, 7, 7, 2, 3, 3, 2, 2, ADVML_PAD_SAME));
    CU_ASSERT(!advml_conv2d_winograd_applies(&d));
    CU_ASSERT_FATAL(make_dims(&d, 1, 2, 7, 7, 2, 5, 5, 1, 1, ADVML_PAD_SAME));
    CU_ASSERT(!advml_conv2d_winograd_applies(&d));
    CU_ASSERT_FATAL(make_dims(&d, 1, 2, 7, 7, 2, 3, 3, 1, 1, ADVML_PAD_SAME));
    CU_ASSERT(advml_conv2d_winograd_applies(&d));
}

/* Winograd and im2col give the same gradients, up to float rounding. */
static void t_winograd_vs_im2col(void)
{
    for (size_t i = 0; i < sizeof wg_cases / sizeof wg_cases[0]; i++) {
        advml_conv2d_dims dw, di;
        CU_ASSERT_FATAL(wg_dims(&dw, i));
        di = dw;
        di.algo = ADVML_CONV_IM2COL;
        conv_case a, b;
        case_alloc(&a, &dw, 1, 600 + i);
        case_alloc(&b, &di, 1, 600 + i);
        advml_conv2d_backward(a.din, a.dk, a.dbias, a.col, a.R, a.in, a.k, &dw);
        advml_conv2d_backward(b.din, b.dk, b.dbias, b.col, b.R, b.in, b.k, &di);
        double mk = 0.0;
        for (size_t j = 0; j < b.nk; j++)
            mk = fmax(mk, fabs(b.dk[j]));
        /* a kernel gradient sums B*OH*OW products of size ~1 */
        double tol = 1e-6 * (double)dw.B * dw.OH * dw.OW + 1e-5;
        CU_ASSERT(mk > 0.1);
        CU_ASSERT(advml_max_abs_diff(a.dk, b.dk, a.nk) < tol);
        CU_ASSERT(advml_max_abs_diff(a.dbias, b.dbias, (size_t)dw.OC) < tol);
        CU_ASSERT(advml_max_abs_diff(a.din, b.din, a.nin) < 1e-5 * dw.OC * 9);
        case_free(&a);
        case_free(&b);
    }
}

static void t_winograd_gradcheck(void)
{
    static const size_t pick[] = {0, 1, 3, 5, 6, 8};
    for (size_t j = 0; j < sizeof pick / sizeof pick[0]; j++) {
        advml_conv2d_dims d;
        CU_ASSERT_FATAL(wg_dims(&d, pick[j]));
        char name[64];
        snprintf(name, sizeof name, "winograd case %zu", pick[j]);
        gradcheck_case(name, &d, (int)(j % 2 == 0), 1, 700 + j);
    }
    advml_conv2d_dims d;
    CU_ASSERT_FATAL(wg_dims(&d, 1));
    gradcheck_case("winograd without dinp", &d, 1, 0, 720);
}

/* backward accumulates; dinp == NULL leaves the kernel gradient unchanged */
static void t_winograd_accumulates(void)
{
    advml_conv2d_dims d;
    CU_ASSERT_FATAL(wg_dims(&d, 6));
    conv_case t, u;
    case_alloc(&t, &d, 1, 730);
    case_alloc(&u, &d, 1, 730);
    advml_conv2d_backward(t.din, t.dk, t.dbias, t.col, t.R, t.in, t.k, &d);
    advml_conv2d_backward(NULL, u.dk, u.dbias, u.col, u.R, u.in, u.k, &d);
    CU_ASSERT(advml_max_abs_diff(t.dk, u.dk, t.nk) == 0.0);
    CU_ASSERT(advml_max_abs_diff(t.dbias, u.dbias, (size_t)d.OC) == 0.0);
    float *din1 = malloc(t.nin * sizeof(float)), *dk1 = malloc(t.nk * sizeof(float));
    memcpy(din1, t.din, t.nin * sizeof(float));
    memcpy(dk1, t.dk, t.nk * sizeof(float));
    advml_conv2d_backward(t.din, t.dk, t.dbias, t.col, t.R, t.in, t.k, &d);
    double e = 0.0, mag = 0.0;
    for (size_t i = 0; i < t.nin; i++)
        e = fmax(e, fabs(t.din[i] - 2.0 * din1[i])), mag = fmax(mag, fabs(din1[i]));
    for (size_t i = 0; i < t.nk; i++)
        e = fmax(e, fabs(t.dk[i] - 2.0 * dk1[i]) / (1.0 + fabs(dk1[i])));
    CU_ASSERT(mag > 0.1);
    CU_ASSERT(e < 1e-5);
    /* B = 0: nothing changes */
    d.B = 0;
    advml_conv2d_backward(t.din, t.dk, t.dbias, t.col, t.R, t.in, t.k, &d);
    CU_ASSERT(advml_max_abs_diff(t.dk, dk1, t.nk) > 0.0); /* still the doubled values */
    memcpy(dk1, t.dk, t.nk * sizeof(float));
    advml_conv2d_backward(t.din, t.dk, t.dbias, t.col, t.R, t.in, t.k, &d);
    CU_ASSERT(advml_max_abs_diff(t.dk, dk1, t.nk) == 0.0);
    free(din1), free(dk1);
    case_free(&t);
    case_free(&u);
}

/* The layer picks Winograd for the course CNN's second convolution (32 -> 64
 * channels, 3x3, same) and im2col for the first (one input channel) and for
 * strided or larger kernels; its scratch fits the algorithm. */
static void t_winograd_layer(void)
{
    advml_layer L;
    advml_error err;
    advml_conv2d_dims d;
    CU_ASSERT_FATAL(make_dims(&d, 1, 32, 14, 14, 64, 3, 3, 1, 1, ADVML_PAD_SAME));
    CU_ASSERT(advml_conv2d_pick_algo(&d) == ADVML_CONV_WINOGRAD);
    CU_ASSERT_FATAL(conv_setup(&L, 2, advml_shape3(32, 14, 14), 64, 3, 3, 1, 1, ADVML_PAD_SAME, &err) ==
                    ADVML_OK);
    d.algo = ADVML_CONV_WINOGRAD;
    CU_ASSERT(L.scratch_floats == advml_conv2d_col_size(&d));
    CU_ASSERT_FATAL(make_dims(&d, 1, 1, 28, 28, 32, 3, 3, 1, 1, ADVML_PAD_SAME));
    CU_ASSERT(advml_conv2d_pick_algo(&d) == ADVML_CONV_IM2COL);
    CU_ASSERT_FATAL(make_dims(&d, 1, 32, 14, 14, 64, 3, 3, 2, 2, ADVML_PAD_SAME));
    CU_ASSERT(advml_conv2d_pick_algo(&d) == ADVML_CONV_IM2COL);
    CU_ASSERT_FATAL(make_dims(&d, 1, 32, 14, 14, 64, 5, 5, 1, 1, ADVML_PAD_SAME));
    CU_ASSERT(advml_conv2d_pick_algo(&d) == ADVML_CONV_IM2COL);
    CU_ASSERT(L.conv_algo == ADVML_CONV_WINOGRAD);

    /* the config's "algorithm" overrides the choice; winograd where it cannot apply is an error */
    memset(&L, 0, sizeof L);
    L.spec = advml_layer_spec_default(ADVML_LAYER_CONV2D);
    L.spec.units = 64, L.spec.kernel[0] = L.spec.kernel[1] = 3, L.spec.padding = ADVML_PAD_SAME;
    L.spec.algorithm = ADVML_CONV_IM2COL;
    CU_ASSERT_FATAL(advml_conv2d_kind.setup(&L, advml_shape3(32, 14, 14), 4, &err) == ADVML_OK);
    CU_ASSERT(L.conv_algo == ADVML_CONV_IM2COL);
    L.spec.algorithm = ADVML_CONV_WINOGRAD, L.spec.units = 2;
    CU_ASSERT_FATAL(advml_conv2d_kind.setup(&L, advml_shape3(1, 5, 5), 4, &err) == ADVML_OK);
    CU_ASSERT(L.conv_algo == ADVML_CONV_WINOGRAD); /* forced for one input channel */
    L.spec.kernel[0] = L.spec.kernel[1] = 5, L.index = 4;
    CU_ASSERT(advml_conv2d_kind.setup(&L, advml_shape3(1, 5, 5), 4, &err) == ADVML_ERR_SHAPE);
    CU_ASSERT(strstr(err.msg, "layer 4 (conv2d): algorithm \"winograd\" needs a 3x3 kernel at stride 1, not "
                              "kernel 5x5 stride 1x1") != NULL);

    /* through the kind's table: forward against the definition, backward
     * against the im2col kernels */
    CU_ASSERT_FATAL(conv_setup(&L, 0, advml_shape3(8, 9, 10), 8, 3, 3, 1, 1, ADVML_PAD_SAME, &err) ==
                    ADVML_OK);
    CU_ASSERT_FATAL(make_dims(&d, 3, 8, 9, 10, 8, 3, 3, 1, 1, ADVML_PAD_SAME));
    CU_ASSERT_FATAL(advml_conv2d_pick_algo(&d) == ADVML_CONV_WINOGRAD);
    double diff[5];
    kind_vs_kernels(&L, &d, 740, diff); /* d.algo: im2col, the reference */
    CU_ASSERT(diff[0] < 1e-4);
    CU_ASSERT(diff[1] < 1e-4);
    CU_ASSERT(diff[2] < 1e-3);
    CU_ASSERT(diff[3] < 1e-4);
    CU_ASSERT(diff[4] == 0.0);
}

/* ---- the kind: setup errors, init, forward/backward through the table ------- */

static void t_setup_errors(void)
{
    advml_layer L;
    advml_error err;
    CU_ASSERT(conv_setup(&L, 2, advml_shape3(1, 3, 3), 4, 5, 5, 1, 1, ADVML_PAD_VALID, &err) ==
              ADVML_ERR_SHAPE);
    CU_ASSERT(strstr(err.msg, "layer 2 (conv2d): kernel 5x5 is larger than the padded input 3x3") != NULL);
    CU_ASSERT(err.code == ADVML_ERR_SHAPE);
    /* the same kernel with same padding fits */
    CU_ASSERT(conv_setup(&L, 2, advml_shape3(1, 3, 3), 4, 5, 5, 1, 1, ADVML_PAD_SAME, &err) == ADVML_OK);
    CU_ASSERT(conv_setup(&L, 1, advml_shape3(1, 8, 3), 4, 1, 5, 1, 1, ADVML_PAD_VALID, &err) ==
              ADVML_ERR_SHAPE);
    CU_ASSERT(strstr(err.msg, "layer 1 (conv2d): kernel 1x5 is larger than the padded input 8x3") != NULL);

    memset(&L, 0, sizeof L);
    L.spec = advml_layer_spec_default(ADVML_LAYER_CONV2D);
    L.spec.units = 8, L.spec.kernel[0] = L.spec.kernel[1] = 3, L.spec.in_channels = 16;
    L.index = 3;
    CU_ASSERT(advml_conv2d_kind.setup(&L, advml_shape3(32, 10, 10), 4, &err) == ADVML_ERR_SHAPE);
    CU_ASSERT(strstr(err.msg, "layer 3 (conv2d): expects 16 input channels (in_channels) but the "
                              "previous layer gives 32") != NULL);
    L.spec.in_channels = 32;
    CU_ASSERT(advml_conv2d_kind.setup(&L, advml_shape3(32, 10, 10), 4, &err) == ADVML_OK);

    CU_ASSERT(conv_setup(&L, 0, advml_shape3(1, 8, 8), 0, 3, 3, 1, 1, ADVML_PAD_VALID, &err) ==
              ADVML_ERR_SHAPE);
    CU_ASSERT(strstr(err.msg, "layer 0 (conv2d): filters (units) must be positive, got 0") != NULL);
    CU_ASSERT(conv_setup(&L, 5, advml_shape3(1, 8, 8), 4, 3, 3, 0, 1, ADVML_PAD_VALID, &err) ==
              ADVML_ERR_SHAPE);
    CU_ASSERT(strstr(err.msg, "layer 5 (conv2d): stride 0x1 must be positive") != NULL);
    CU_ASSERT(conv_setup(&L, 5, advml_shape3(1, 8, 8), 4, 3, -3, 1, 1, ADVML_PAD_VALID, &err) ==
              ADVML_ERR_SHAPE);
    CU_ASSERT(strstr(err.msg, "layer 5 (conv2d): kernel 3x-3 must have a positive height") != NULL);
    CU_ASSERT(conv_setup(&L, 1, advml_shape1(784), 4, 3, 3, 1, 1, ADVML_PAD_VALID, &err) ==
              ADVML_ERR_SHAPE);
    CU_ASSERT(strstr(err.msg, "layer 1 (conv2d): input has shape (None, 784); conv2d needs an image "
                              "input (channels, height, width)") != NULL);
    CU_ASSERT(conv_setup(&L, 1, advml_shape3(1, 8, 8), 4, 3, 3, 1, 1, (advml_padding)7, &err) ==
              ADVML_ERR_SHAPE);
    CU_ASSERT(strstr(err.msg, "layer 1 (conv2d): unknown padding 7") != NULL);
    memset(&L, 0, sizeof L);
    L.spec = advml_layer_spec_default(ADVML_LAYER_CONV2D);
    L.spec.units = 2, L.spec.kernel[0] = L.spec.kernel[1] = 3, L.spec.act = (advml_act)17;
    CU_ASSERT(advml_conv2d_kind.setup(&L, advml_shape3(1, 8, 8), 4, &err) == ADVML_ERR_SHAPE);
    CU_ASSERT(strstr(err.msg, "layer 0 (conv2d): unknown activation 17") != NULL);
}

static void t_kind_init(void)
{
    advml_layer L;
    advml_error err;
    CU_ASSERT_FATAL(conv_setup(&L, 0, advml_shape3(8, 10, 10), 64, 3, 3, 1, 1, ADVML_PAD_SAME,
                               &err) == ADVML_OK);
    float *p = malloc(L.nparams * sizeof(float));
    for (size_t i = 0; i < L.nparams; i++)
        p[i] = 99.0f;
    advml_rng rng;
    /* ReLU: He normal, variance 2 / fan_in (fan_in = 8*9 = 72) */
    L.spec.act = ADVML_ACT_RELU;
    advml_rng_seed(&rng, 1);
    advml_conv2d_kind.init(&L, p, &rng);
    size_t nk = L.views[0].size;
    double ss = 0.0;
    for (size_t i = 0; i < nk; i++)
        ss += (double)p[i] * p[i];
    ADVML_CHECK_CLOSE(ss / nk, 2.0 / 72, 0.1 * 2.0 / 72);
    int bias_zero = 1;
    for (size_t i = nk; i < L.nparams; i++)
        bias_zero &= p[i] == 0.0f;
    CU_ASSERT(bias_zero);
    /* otherwise Glorot uniform, limit sqrt(6 / (72 + 64*9)) */
    L.spec.act = ADVML_ACT_TANH;
    advml_rng_seed(&rng, 1);
    advml_conv2d_kind.init(&L, p, &rng);
    double lim = sqrt(6.0 / (72 + 576)), mx = 0.0;
    ss = 0.0;
    for (size_t i = 0; i < nk; i++)
        mx = fmax(mx, fabs(p[i])), ss += (double)p[i] * p[i];
    CU_ASSERT(mx <= lim);
    CU_ASSERT(mx > 0.95 * lim);
    ADVML_CHECK_CLOSE(ss / nk, lim * lim / 3.0, 0.1 * lim * lim / 3.0);
    /* same seed, same parameters */
    float *q = malloc(L.nparams * sizeof(float));
    advml_rng_seed(&rng, 1);
    advml_conv2d_kind.init(&L, q, &rng);
    CU_ASSERT(memcmp(p, q, L.nparams * sizeof(float)) == 0);
    free(p), free(q);
}

/* The kind's forward/backward equal the kernels with the layer's dims. */
static void t_kind_forward_backward(void)
{
    advml_layer L;
    advml_error err;
    CU_ASSERT_FATAL(conv_setup(&L, 0, advml_shape3(2, 7, 6), 3, 3, 2, 2, 1, ADVML_PAD_SAME, &err) ==
                    ADVML_OK);
    advml_conv2d_dims d;
    CU_ASSERT_FATAL(make_dims(&d, 2, 2, 7, 6, 3, 3, 2, 2, 1, ADVML_PAD_SAME));
    CU_ASSERT(L.pad[0] == d.PT && L.pad[1] == d.PL && L.out_shape.d[1] == d.OH &&
              L.out_shape.d[2] == d.OW);
    CU_ASSERT(L.scratch_floats == advml_conv2d_col_size(&d));
    double diff[5];
    kind_vs_kernels(&L, &d, 21, diff);
    CU_ASSERT(diff[0] < 1e-5);
    CU_ASSERT(diff[1] == 0.0);
    CU_ASSERT(diff[2] == 0.0);
    CU_ASSERT(diff[3] == 0.0);
    CU_ASSERT(diff[4] == 0.0); /* B = 0 is a no-op */
}

static void reg(void)
{
    static const advml_test_case c[] = {
        {"course example, valid", t_course_valid},
        {"course example, same padding", t_course_same},
        {"output size formula", t_out_size},
        {"output shape and parameter count", t_param_count},
        {"forward equals direct convolution", t_forward_vs_naive},
        {"finite-difference gradients", t_gradcheck},
        {"backward without input gradient", t_no_dinp},
        {"backward accumulates", t_accumulates},
        {"Winograd forward equals direct convolution", t_winograd_forward},
        {"Winograd gradients equal im2col's", t_winograd_vs_im2col},
        {"Winograd finite-difference gradients", t_winograd_gradcheck},
        {"Winograd backward accumulates, without dinp", t_winograd_accumulates},
        {"the layer's choice of Winograd", t_winograd_layer},
        {"setup errors", t_setup_errors},
        {"He/Glorot initialisation", t_kind_init},
        {"kind forward/backward", t_kind_forward_backward},
        {NULL, NULL},
    };
    advml_test_add_suite("conv2d", c);
}

int main(void) { return advml_test_main(reg); }

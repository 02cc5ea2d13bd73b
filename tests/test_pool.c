/* test_pool.c - max and average pooling kernels and their kinds: hand-made
 * examples (including ties), a naive reference for the vectorised 2x2 path
 * and the general path, finite-difference gradients and setup errors.
 *
 * Gradient checks use f = sum(out * R) for a fixed random R, accumulated in
 * double. Both pools are piecewise linear, so a central difference is exact
 * as long as no perturbation changes which element is a window's maximum:
 * the max-pool inputs are a shuffled grid of distinct values 0.01 apart and
 * the step is h = 1e-3, far below half that spacing. The max pool copies
 * values, so the only error is double rounding (~1e-12); the average pool
 * adds float rounding of the few outputs an entry touches, ~1e-7 * |out| / h
 * with h = 0.1 (linear, so the large step is exact). A tolerance of 1e-4 is
 * thus generous, yet any misrouted gradient is off by O(1).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "advml/layer.h"
#include "advml/pool.h"
#include "testutil.h"

#define GC_TOL 1e-4
#define GC_FLOOR 1e-2

static advml_pool2d_dims pdims(int B, int C, int H, int W, int KH, int KW, int SH, int SW)
{
    advml_pool2d_dims d = {B, C, H, W, KH, KW, SH, SW, (H - KH) / SH + 1, (W - KW) / SW + 1};
    return d;
}

static size_t in_count(const advml_pool2d_dims *d) { return (size_t)d->B * d->C * d->H * d->W; }
static size_t out_count(const advml_pool2d_dims *d) { return (size_t)d->B * d->C * d->OH * d->OW; }

/* Reference: row-major scan, strict '>' (the first maximum wins ties). */
static void naive_max(float *out, int32_t *am, const float *in, const advml_pool2d_dims *d)
{
    for (int p = 0; p < d->B * d->C; p++)
        for (int oh = 0; oh < d->OH; oh++)
            for (int ow = 0; ow < d->OW; ow++) {
                const float *x = in + (size_t)p * d->H * d->W;
                int best = -1;
                for (int kh = 0; kh < d->KH; kh++)
                    for (int kw = 0; kw < d->KW; kw++) {
                        int i = (oh * d->SH + kh) * d->W + ow * d->SW + kw;
                        if (best < 0 || x[i] > x[best])
                            best = i;
                    }
                size_t o = ((size_t)p * d->OH + oh) * d->OW + ow;
                out[o] = x[best];
                am[o] = best;
            }
}

static void naive_avg(float *out, const float *in, const advml_pool2d_dims *d)
{
    for (int p = 0; p < d->B * d->C; p++)
        for (int oh = 0; oh < d->OH; oh++)
            for (int ow = 0; ow < d->OW; ow++) {
                const float *x = in + (size_t)p * d->H * d->W;
                double s = 0.0;
                for (int kh = 0; kh < d->KH; kh++)
                    for (int kw = 0; kw < d->KW; kw++)
                        s += x[(oh * d->SH + kh) * d->W + ow * d->SW + kw];
                out[((size_t)p * d->OH + oh) * d->OW + ow] = (float)(s / (d->KH * d->KW));
            }
}

/* ---- hand-made examples -------------------------------------------------- */

static void t_maxpool_example(void)
{
    /* one 4x4 plane, 2x2 windows, stride 2 */
    static const float x[16] = {1, 3, 2, 2,
                                3, 0, 2, 2,
                                0, 1, 9, 4,
                                5, 5, 4, 8};
    advml_pool2d_dims d = pdims(1, 1, 4, 4, 2, 2, 2, 2);
    float y[4];
    int32_t am[4];
    advml_maxpool2d_forward(y, am, x, &d);
    CU_ASSERT(y[0] == 3 && am[0] == 1); /* tie between (0,1) and (1,0): the first, (0,1) */
    CU_ASSERT(y[1] == 2 && am[1] == 2); /* four equal values: the first */
    CU_ASSERT(y[2] == 5 && am[2] == 12); /* tie in the bottom row: the left one */
    CU_ASSERT(y[3] == 9 && am[3] == 10);
    /* backward routes each gradient to its maximum and accumulates */
    float g[4] = {1, 2, 3, 4}, dx[16] = {0};
    dx[1] = 0.5f;
    advml_maxpool2d_backward(dx, g, am, &d);
    CU_ASSERT(dx[1] == 1.5f && dx[2] == 2 && dx[12] == 3 && dx[10] == 4);
    float total = 0;
    for (int i = 0; i < 16; i++)
        total += dx[i];
    CU_ASSERT(total == 10.5f);

    /* 3x3 windows, stride 1 (overlapping): an element can win several windows */
    static const float z[16] = {1, 2, 3, 4,
                                5, 6, 7, 8,
                                9, 10, 11, 12,
                                13, 14, 15, 16};
    d = pdims(1, 1, 4, 4, 3, 3, 1, 1);
    advml_maxpool2d_forward(y, am, z, &d);
    CU_ASSERT(y[0] == 11 && y[1] == 12 && y[2] == 15 && y[3] == 16);
    CU_ASSERT(am[0] == 10 && am[1] == 11 && am[2] == 14 && am[3] == 15);
}

static void t_avgpool_example(void)
{
    static const float x[12] = {1, 2, 3, 4, 5, 6,
                                7, 8, 9, 10, 11, 12};
    /* 2x3 window, stride 3 horizontally: two windows */
    advml_pool2d_dims d = pdims(1, 1, 2, 6, 2, 3, 1, 3);
    CU_ASSERT(d.OH == 1 && d.OW == 2);
    float y[2];
    advml_avgpool2d_forward(y, x, &d);
    ADVML_CHECK_CLOSE(y[0], (1 + 2 + 3 + 7 + 8 + 9) / 6.0, 1e-6);
    ADVML_CHECK_CLOSE(y[1], (4 + 5 + 6 + 10 + 11 + 12) / 6.0, 1e-6);
    float g[2] = {6, 12}, dx[12] = {0};
    advml_avgpool2d_backward(dx, g, &d);
    CU_ASSERT(dx[0] == 1 && dx[8] == 1 && dx[3] == 2 && dx[11] == 2);
}

/* ---- against the reference -------------------------------------------------- */

static void check_against_naive(const advml_pool2d_dims *d, int ties, uint64_t seed)
{
    advml_rng rng;
    advml_rng_seed(&rng, seed);
    size_t ni = in_count(d), no = out_count(d);
    float *x = malloc(ni * sizeof(float)), *y = malloc(no * sizeof(float)),
          *r = malloc(no * sizeof(float));
    int32_t *am = malloc(no * sizeof(int32_t)), *ra = malloc(no * sizeof(int32_t));
    for (size_t i = 0; i < ni; i++) /* small integers: many exact ties */
        x[i] = ties ? (float)advml_rng_below(&rng, 4) : (float)advml_rng_uniform(&rng);
    advml_maxpool2d_forward(y, am, x, d);
    naive_max(r, ra, x, d);
    int ok = memcmp(y, r, no * sizeof(float)) == 0 && memcmp(am, ra, no * sizeof(int32_t)) == 0;
    if (!ok)
        fprintf(stderr, "  maxpool mismatch: B%d C%d %dx%d window %dx%d stride %dx%d\n", d->B, d->C,
                d->H, d->W, d->KH, d->KW, d->SH, d->SW);
    CU_ASSERT(ok);
    advml_avgpool2d_forward(y, x, d);
    naive_avg(r, x, d);
    CU_ASSERT(advml_max_abs_diff(y, r, no) < 1e-5);
    free(x), free(y), free(r), free(am), free(ra);
}

static void t_against_naive(void)
{
    static const int cases[][8] = {
        /* B, C, H, W, KH, KW, SH, SW */
        {2, 3, 28, 28, 2, 2, 2, 2}, /* the vectorised 2x2 path */
        {2, 3, 14, 14, 2, 2, 2, 2},
        {1, 2, 7, 9, 2, 2, 2, 2},   /* odd sizes: the last row/column is dropped */
        {1, 1, 2, 2, 2, 2, 2, 2},
        {3, 2, 5, 3, 2, 2, 2, 2},
        {1, 70, 100, 62, 2, 2, 2, 2}, /* more rows than one chunk */
        {2, 2, 9, 8, 3, 2, 2, 1},   /* general path: non-square, overlapping */
        {2, 2, 8, 9, 2, 3, 1, 3},
        {1, 3, 7, 7, 3, 3, 1, 1},
        {1, 2, 6, 6, 2, 2, 1, 1},
        {1, 1, 13, 5, 7, 1, 2, 3},  /* the course's 7x1 window, stride (2, 3) */
        {2, 1, 4, 6, 4, 6, 1, 1},   /* one window covering the input */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const int *c = cases[i];
        advml_pool2d_dims d = pdims(c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]);
        check_against_naive(&d, 1, 10 + i);
        check_against_naive(&d, 0, 30 + i);
    }
}

/* ---- gradients -------------------------------------------------------------- */

typedef struct pool_case {
    advml_pool2d_dims d;
    int is_max;
    float *x, *y, *R;
    int32_t *am;
} pool_case;

static double pool_objective(void *ctx)
{
    pool_case *t = ctx;
    if (t->is_max)
        advml_maxpool2d_forward(t->y, t->am, t->x, &t->d);
    else
        advml_avgpool2d_forward(t->y, t->x, &t->d);
    double f = 0.0;
    for (size_t i = 0; i < out_count(&t->d); i++)
        f += (double)t->y[i] * t->R[i];
    return f;
}

static void gradcheck_pool(const char *name, advml_pool2d_dims d, int is_max, uint64_t seed)
{
    advml_rng rng;
    advml_rng_seed(&rng, seed);
    size_t ni = in_count(&d), no = out_count(&d);
    pool_case t = {d, is_max, malloc(ni * sizeof(float)), malloc(no * sizeof(float)),
                   malloc(no * sizeof(float)), malloc(no * sizeof(int32_t))};
    /* distinct values 0.01 apart in random order */
    int64_t *perm = malloc(ni * sizeof(int64_t));
    advml_permutation(perm, (int64_t)ni, seed, 0);
    for (size_t i = 0; i < ni; i++)
        t.x[i] = 0.01f * (float)perm[i] - 0.005f * (float)ni;
    advml_test_fill_uniform(t.R, no, -1.0f, 1.0f, &rng);
    float *dx = calloc(ni, sizeof(float));
    pool_objective(&t);
    if (is_max)
        advml_maxpool2d_backward(dx, t.R, t.am, &d);
    else
        advml_avgpool2d_backward(dx, t.R, &d);
    double h = is_max ? 1e-3 : 0.1;
    CU_ASSERT(advml_gradcheck(name, t.x, dx, ni, pool_objective, &t, h, GC_FLOOR, GC_TOL, NULL) <
              GC_TOL);
    /* backward accumulates: a second call doubles the gradient */
    float *dx2 = malloc(ni * sizeof(float));
    memcpy(dx2, dx, ni * sizeof(float));
    if (is_max)
        advml_maxpool2d_backward(dx2, t.R, t.am, &d);
    else
        advml_avgpool2d_backward(dx2, t.R, &d);
    double e = 0.0;
    for (size_t i = 0; i < ni; i++)
        e = fmax(e, fabs(dx2[i] - 2.0 * dx[i]));
    CU_ASSERT(e < 1e-6);
    free(perm), free(dx), free(dx2), free(t.x), free(t.y), free(t.R), free(t.am);
}

static void t_gradcheck(void)
{
    gradcheck_pool("maxpool 2x2 s2", pdims(2, 2, 6, 8, 2, 2, 2, 2), 1, 1);
    gradcheck_pool("maxpool 2x2 s2 odd", pdims(1, 2, 5, 7, 2, 2, 2, 2), 1, 2);
    gradcheck_pool("maxpool 3x2 s(2,1)", pdims(2, 2, 7, 6, 3, 2, 2, 1), 1, 3);
    gradcheck_pool("maxpool 2x3 s(1,3)", pdims(1, 3, 5, 9, 2, 3, 1, 3), 1, 4);
    gradcheck_pool("maxpool 7x1 s(2,3)", pdims(1, 2, 11, 7, 7, 1, 2, 3), 1, 5);
    gradcheck_pool("avgpool 2x2 s2", pdims(2, 2, 6, 8, 2, 2, 2, 2), 0, 6);
    gradcheck_pool("avgpool 3x2 s(2,1)", pdims(2, 2, 7, 6, 3, 2, 2, 1), 0, 7);
    gradcheck_pool("avgpool 2x3 s(1,3)", pdims(1, 3, 5, 9, 2, 3, 1, 3), 0, 8);
    gradcheck_pool("avgpool 3x3 s1", pdims(1, 2, 5, 5, 3, 3, 1, 1), 0, 9);
}

/* ---- the kinds ------------------------------------------------------------------- */

static advml_status pool_setup(advml_layer *L, advml_layer_type type, int index, advml_shape in,
                               int kh, int kw, int sh, int sw, advml_error *err)
{
    memset(L, 0, sizeof *L);
    L->spec = advml_layer_spec_default(type);
    L->spec.kernel[0] = kh, L->spec.kernel[1] = kw;
    L->spec.stride[0] = sh, L->spec.stride[1] = sw;
    L->index = index;
    L->kind = advml_layer_kind_of(type);
    advml_error_clear(err);
    return L->kind->setup(L, in, 4, err);
}

static void t_kind_setup(void)
{
    advml_layer L;
    advml_error err;
    /* stride {0, 0} defaults to the window */
    CU_ASSERT_FATAL(pool_setup(&L, ADVML_LAYER_MAXPOOL2D, 1, advml_shape3(32, 28, 28), 2, 2, 0, 0,
                               &err) == ADVML_OK);
    CU_ASSERT(L.out_shape.rank == 3 && L.out_shape.d[0] == 32 && L.out_shape.d[1] == 14 &&
              L.out_shape.d[2] == 14);
    CU_ASSERT(L.nparams == 0 && L.nviews == 0);
    CU_ASSERT(L.state_per_sample == 32 * 14 * 14 * sizeof(int32_t));
    /* the spec default is a 2x2 window with the stride of the window (Keras) */
    advml_layer_spec s = advml_layer_spec_default(ADVML_LAYER_MAXPOOL2D);
    CU_ASSERT(s.kernel[0] == 2 && s.kernel[1] == 2 && s.stride[0] == 0 && s.stride[1] == 0);
    CU_ASSERT(pool_setup(&L, ADVML_LAYER_AVGPOOL2D, 1, advml_shape3(3, 9, 8), 3, 2, 2, 1, &err) ==
              ADVML_OK);
    CU_ASSERT(L.out_shape.d[1] == 4 && L.out_shape.d[2] == 7 && L.state_per_sample == 0);
    CU_ASSERT(pool_setup(&L, ADVML_LAYER_AVGPOOL2D, 1, advml_shape3(3, 9, 8), 3, 2, 0, 0, &err) ==
              ADVML_OK);
    CU_ASSERT(L.out_shape.d[1] == 3 && L.out_shape.d[2] == 4);
}

static void t_kind_errors(void)
{
    advml_layer L;
    advml_error err;
    CU_ASSERT(pool_setup(&L, ADVML_LAYER_MAXPOOL2D, 4, advml_shape3(8, 3, 3), 4, 4, 0, 0, &err) ==
              ADVML_ERR_SHAPE);
    CU_ASSERT(strstr(err.msg, "layer 4 (maxpool2d): pool window 4x4 is larger than the input 3x3") != NULL);
    CU_ASSERT(pool_setup(&L, ADVML_LAYER_AVGPOOL2D, 2, advml_shape1(100), 2, 2, 0, 0, &err) ==
              ADVML_ERR_SHAPE);
    CU_ASSERT(strstr(err.msg, "layer 2 (avgpool2d): input has shape (None, 100); avgpool2d needs an "
                              "image input") != NULL);
    CU_ASSERT(pool_setup(&L, ADVML_LAYER_MAXPOOL2D, 3, advml_shape3(8, 8, 8), 2, 2, -1, 2, &err) ==
              ADVML_ERR_SHAPE);
    CU_ASSERT(strstr(err.msg, "layer 3 (maxpool2d): stride -1x2 must be positive") != NULL);
    CU_ASSERT(pool_setup(&L, ADVML_LAYER_MAXPOOL2D, 3, advml_shape3(8, 8, 8), 2, 2, 0, 2, &err) ==
              ADVML_ERR_SHAPE);
    CU_ASSERT(strstr(err.msg, "layer 3 (maxpool2d): stride 0x2 must be positive") != NULL);
    CU_ASSERT(pool_setup(&L, ADVML_LAYER_MAXPOOL2D, 0, advml_shape3(8, 8, 8), 0, 2, 0, 0, &err) ==
              ADVML_ERR_SHAPE);
    CU_ASSERT(strstr(err.msg, "layer 0 (maxpool2d): pool window 0x2 must have a positive") != NULL);
}

/* Through the kinds: state holds the argmax, dinp may be NULL, B may be 0. */
static void t_kind_forward_backward(void)
{
    advml_layer L;
    advml_error err;
    CU_ASSERT_FATAL(pool_setup(&L, ADVML_LAYER_MAXPOOL2D, 1, advml_shape3(2, 6, 4), 2, 2, 0, 0,
                               &err) == ADVML_OK);
    advml_pool2d_dims d = pdims(3, 2, 6, 4, 2, 2, 2, 2);
    size_t ni = in_count(&d), no = out_count(&d);
    advml_rng rng;
    advml_rng_seed(&rng, 3);
    float *x = malloc(ni * sizeof(float)), *z = malloc(no * sizeof(float)),
          *r = malloc(no * sizeof(float)), *g = malloc(no * sizeof(float));
    float *dx = calloc(ni, sizeof(float)), *rdx = calloc(ni, sizeof(float));
    int32_t *ra = malloc(no * sizeof(int32_t));
    advml_test_fill_uniform(x, ni, -1, 1, &rng);
    advml_test_fill_uniform(g, no, -1, 1, &rng);
    L.state = malloc(3 * L.state_per_sample);
    advml_ctx ctx = {.B = 3, .training = 1, .scratch = NULL};
    L.kind->forward(&L, z, x, NULL, &ctx);
    naive_max(r, ra, x, &d);
    CU_ASSERT(memcmp(z, r, no * sizeof(float)) == 0);
    CU_ASSERT(memcmp(L.state, ra, no * sizeof(int32_t)) == 0);
    L.kind->backward(&L, dx, NULL, g, x, NULL, &ctx);
    advml_maxpool2d_backward(rdx, g, ra, &d);
    CU_ASSERT(memcmp(dx, rdx, ni * sizeof(float)) == 0);
    L.kind->backward(&L, NULL, NULL, g, x, NULL, &ctx); /* no input gradient: a no-op */
    ctx.B = 0;
    L.kind->forward(&L, z, x, NULL, &ctx);
    L.kind->backward(&L, dx, NULL, g, x, NULL, &ctx);
    CU_ASSERT(memcmp(dx, rdx, ni * sizeof(float)) == 0);
    free(L.state);

    CU_ASSERT_FATAL(pool_setup(&L, ADVML_LAYER_AVGPOOL2D, 1, advml_shape3(2, 6, 4), 2, 2, 0, 0,
                               &err) == ADVML_OK);
    ctx.B = 3;
    L.kind->forward(&L, z, x, NULL, &ctx);
    naive_avg(r, x, &d);
    CU_ASSERT(advml_max_abs_diff(z, r, no) < 1e-6);
    memset(dx, 0, ni * sizeof(float));
    memset(rdx, 0, ni * sizeof(float));
    L.kind->backward(&L, dx, NULL, g, x, NULL, &ctx);
    advml_avgpool2d_backward(rdx, g, &d);
    CU_ASSERT(memcmp(dx, rdx, ni * sizeof(float)) == 0);
    free(x), free(z), free(r), free(g), free(dx), free(rdx), free(ra);
}

static void reg(void)
{
    static const advml_test_case c[] = {
        {"max pool example and ties", t_maxpool_example},
        {"average pool example", t_avgpool_example},
        {"forward equals the definition", t_against_naive},
        {"finite-difference gradients, accumulation", t_gradcheck},
        {"kind setup and stride default", t_kind_setup},
        {"kind setup errors", t_kind_errors},
        {"kind forward/backward", t_kind_forward_backward},
        {NULL, NULL},
    };
    advml_test_add_suite("pool", c);
}

int main(void) { return advml_test_main(reg); }

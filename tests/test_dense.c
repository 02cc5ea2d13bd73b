/* test_dense.c - the fully connected kernels and the dense kind.
 *
 * Gradient checks use f = sum(out * R) for a fixed random R, accumulated in
 * double. The layer is linear in its input, weight and bias, so a central
 * difference has no truncation error for any step; the remaining error is the
 * float32 rounding of the outputs a perturbed entry touches (at most OUT of
 * them for an input, one for a weight), about (#touched) * 6e-8 * |out| / (2h).
 * With h = 0.5 that is below 1e-5 relative (floor 0.05 for tiny gradients);
 * the tolerance 2e-4 leaves a 10x margin and still catches a 0.1% error.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "advml/dense.h"
#include "advml/layer.h"
#include "testutil.h"

#define GC_H 0.5
#define GC_FLOOR 5e-2
#define GC_TOL 2e-4

typedef struct dense_case {
    int B, IN, OUT;
    float *x, *w, *b, *y, *R, *dx, *dw, *db;
} dense_case;

static void case_alloc(dense_case *t, int B, int IN, int OUT, int bias, uint64_t seed)
{
    advml_rng rng;
    advml_rng_seed(&rng, seed);
    t->B = B, t->IN = IN, t->OUT = OUT;
    t->x = malloc((size_t)B * IN * sizeof(float));
    t->w = malloc((size_t)OUT * IN * sizeof(float));
    t->b = bias ? malloc((size_t)OUT * sizeof(float)) : NULL;
    t->y = malloc((size_t)B * OUT * sizeof(float));
    t->R = malloc((size_t)B * OUT * sizeof(float));
    t->dx = calloc((size_t)B * IN, sizeof(float));
    t->dw = calloc((size_t)OUT * IN, sizeof(float));
    t->db = calloc((size_t)OUT, sizeof(float));
    advml_test_fill_uniform(t->x, (size_t)B * IN, -1, 1, &rng);
    advml_test_fill_uniform(t->w, (size_t)OUT * IN, -1, 1, &rng);
    if (t->b)
        advml_test_fill_uniform(t->b, (size_t)OUT, -1, 1, &rng);
    advml_test_fill_uniform(t->R, (size_t)B * OUT, -1, 1, &rng);
}

static void case_free(dense_case *t)
{
    free(t->x), free(t->w), free(t->b), free(t->y), free(t->R), free(t->dx), free(t->dw),
        free(t->db);
}

static double dense_objective(void *ctx)
{
    dense_case *t = ctx;
    advml_dense_forward(t->y, t->x, t->w, t->b, t->B, t->IN, t->OUT);
    double f = 0.0;
    for (size_t i = 0; i < (size_t)t->B * t->OUT; i++)
        f += (double)t->y[i] * t->R[i];
    return f;
}

static void t_forward(void)
{
    /* by hand: y = x W^T + b */
    const float x[2 * 3] = {1, 2, 3, -1, 0, 2};
    const float w[2 * 3] = {1, 0, -1, 0.5f, 0.5f, 0.5f};
    const float b[2] = {10, -10};
    float y[4];
    advml_dense_forward(y, x, w, b, 2, 3, 2);
    CU_ASSERT(y[0] == 8 && y[1] == -7 && y[2] == 7 && y[3] == -9.5f);
    advml_dense_forward(y, x, w, NULL, 2, 3, 2);
    CU_ASSERT(y[0] == -2 && y[1] == 3 && y[2] == -3 && y[3] == 0.5f);

    /* random sizes against the definition */
    static const int sizes[][3] = {{1, 1, 1}, {3, 7, 5}, {8, 33, 17}, {5, 100, 3}};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
        for (int bias = 0; bias < 2; bias++) {
            dense_case t;
            case_alloc(&t, sizes[s][0], sizes[s][1], sizes[s][2], bias, 40 + s);
            advml_dense_forward(t.y, t.x, t.w, t.b, t.B, t.IN, t.OUT);
            double err = 0.0;
            for (int i = 0; i < t.B; i++)
                for (int o = 0; o < t.OUT; o++) {
                    double r = t.b ? t.b[o] : 0.0;
                    for (int k = 0; k < t.IN; k++)
                        r += (double)t.x[i * t.IN + k] * t.w[o * t.IN + k];
                    err = fmax(err, fabs(r - t.y[i * t.OUT + o]));
                }
            CU_ASSERT(err < 1e-5 * (t.IN + 1));
            case_free(&t);
        }
}

static void gradcheck_dense(const char *name, int B, int IN, int OUT, int bias, uint64_t seed)
{
    dense_case t;
    case_alloc(&t, B, IN, OUT, bias, seed);
    advml_dense_backward(t.dx, t.dw, bias ? t.db : NULL, t.R, t.x, t.w, B, IN, OUT);
    char what[64];
    snprintf(what, sizeof what, "%s dinp", name);
    CU_ASSERT(advml_gradcheck(what, t.x, t.dx, (size_t)B * IN, dense_objective, &t, GC_H, GC_FLOOR,
                              GC_TOL, NULL) < GC_TOL);
    snprintf(what, sizeof what, "%s dweight", name);
    CU_ASSERT(advml_gradcheck(what, t.w, t.dw, (size_t)OUT * IN, dense_objective, &t, GC_H,
                              GC_FLOOR, GC_TOL, NULL) < GC_TOL);
    if (bias) {
        snprintf(what, sizeof what, "%s dbias", name);
        CU_ASSERT(advml_gradcheck(what, t.b, t.db, (size_t)OUT, dense_objective, &t, GC_H,
                                  GC_FLOOR, GC_TOL, NULL) < GC_TOL);
    }
    case_free(&t);
}

static void t_gradcheck(void)
{
    gradcheck_dense("dense 4x9->6", 4, 9, 6, 1, 1);
    gradcheck_dense("dense 3x20->2 no bias", 3, 20, 2, 0, 2);
    gradcheck_dense("dense 1x5->1", 1, 5, 1, 1, 3);
}

static void t_accumulates(void)
{
    dense_case t;
    case_alloc(&t, 3, 8, 5, 1, 7);
    advml_dense_backward(t.dx, t.dw, t.db, t.R, t.x, t.w, 3, 8, 5);
    float dx1[24], dw1[40], db1[5];
    memcpy(dx1, t.dx, sizeof dx1), memcpy(dw1, t.dw, sizeof dw1), memcpy(db1, t.db, sizeof db1);
    advml_dense_backward(t.dx, t.dw, t.db, t.R, t.x, t.w, 3, 8, 5);
    double e = 0.0;
    for (int i = 0; i < 24; i++)
        e = fmax(e, fabs(t.dx[i] - 2.0 * dx1[i]));
    for (int i = 0; i < 40; i++)
        e = fmax(e, fabs(t.dw[i] - 2.0 * dw1[i]));
    for (int i = 0; i < 5; i++)
        e = fmax(e, fabs(t.db[i] - 2.0 * db1[i]));
    CU_ASSERT(e < 1e-6);
    /* without dinp the parameter gradients are the same */
    float *dw = calloc(40, sizeof(float)), *db = calloc(5, sizeof(float));
    advml_dense_backward(NULL, dw, db, t.R, t.x, t.w, 3, 8, 5);
    CU_ASSERT(advml_max_abs_diff(dw, dw1, 40) == 0.0);
    CU_ASSERT(advml_max_abs_diff(db, db1, 5) == 0.0);
    free(dw), free(db);
    case_free(&t);
}

static advml_status dense_setup(advml_layer *L, int index, advml_shape in, int units,
                                advml_error *err)
{
    memset(L, 0, sizeof *L);
    L->spec = advml_layer_spec_default(ADVML_LAYER_DENSE);
    L->spec.units = units;
    L->index = index;
    L->kind = &advml_dense_kind;
    advml_error_clear(err);
    return advml_dense_kind.setup(L, in, 4, err);
}

static void t_kind_setup(void)
{
    advml_layer L;
    advml_error err;
    /* MNIST: 784 inputs per neuron; the course's dense 30 */
    CU_ASSERT_FATAL(dense_setup(&L, 1, advml_shape1(784), 30, &err) == ADVML_OK);
    CU_ASSERT(L.out_shape.rank == 1 && L.out_shape.d[0] == 30);
    CU_ASSERT(L.nparams == 784 * 30 + 30 && L.nviews == 2);
    CU_ASSERT(strcmp(L.views[0].name, "weight") == 0 && L.views[0].rank == 2 &&
              L.views[0].dims[0] == 30 && L.views[0].dims[1] == 784 && L.views[0].decay == 1 &&
              L.views[0].offset == 0 && L.views[0].size == 784 * 30);
    CU_ASSERT(strcmp(L.views[1].name, "bias") == 0 && L.views[1].rank == 1 &&
              L.views[1].dims[0] == 30 && L.views[1].decay == 0 && L.views[1].offset == 784 * 30 &&
              L.views[1].size == 30);
    CU_ASSERT(L.state_per_sample == 0 && L.scratch_floats == 0);
    /* the Keras example: flattened 4x4x64 -> 1024 inputs, dense 64 */
    CU_ASSERT(dense_setup(&L, 5, advml_shape1(1024), 64, &err) == ADVML_OK && L.nparams == 65600);
    /* without bias */
    memset(&L, 0, sizeof L);
    L.spec = advml_layer_spec_default(ADVML_LAYER_DENSE);
    L.spec.units = 10, L.spec.use_bias = 0;
    CU_ASSERT(advml_dense_kind.setup(&L, advml_shape1(50), 4, &err) == ADVML_OK);
    CU_ASSERT(L.nparams == 500 && L.nviews == 1);
}

static void t_kind_errors(void)
{
    advml_layer L;
    advml_error err;
    CU_ASSERT(dense_setup(&L, 4, advml_shape3(64, 7, 7), 128, &err) == ADVML_ERR_SHAPE);
    CU_ASSERT(strstr(err.msg, "layer 4 (dense): input has shape (None, 64, 7, 7); dense needs a flat "
                              "input: add a flatten layer before it") != NULL);
    CU_ASSERT(dense_setup(&L, 2, advml_shape1(10), 0, &err) == ADVML_ERR_SHAPE);
    CU_ASSERT(strstr(err.msg, "layer 2 (dense): units must be positive, got 0") != NULL);
    CU_ASSERT(dense_setup(&L, 2, advml_shape1(10), -3, &err) == ADVML_ERR_SHAPE);
    CU_ASSERT(strstr(err.msg, "got -3") != NULL);
    memset(&L, 0, sizeof L);
    L.spec = advml_layer_spec_default(ADVML_LAYER_DENSE);
    L.spec.units = 10, L.spec.in_channels = 784;
    L.index = 1;
    CU_ASSERT(advml_dense_kind.setup(&L, advml_shape1(3136), 4, &err) == ADVML_ERR_SHAPE);
    CU_ASSERT(strstr(err.msg, "layer 1 (dense): expects 784 input features (in_channels) but the "
                              "previous layer gives 3136") != NULL);
    L.spec.in_channels = 0, L.spec.act = (advml_act)-1;
    CU_ASSERT(advml_dense_kind.setup(&L, advml_shape1(3136), 4, &err) == ADVML_ERR_SHAPE);
    CU_ASSERT(strstr(err.msg, "layer 1 (dense): unknown activation -1") != NULL);
}

static void t_kind_init_and_pass(void)
{
    advml_layer L;
    advml_error err;
    CU_ASSERT_FATAL(dense_setup(&L, 0, advml_shape1(200), 100, &err) == ADVML_OK);
    float *p = malloc(L.nparams * sizeof(float));
    advml_rng rng;
    L.spec.act = ADVML_ACT_LEAKY_RELU; /* He: variance 2/200 */
    advml_rng_seed(&rng, 5);
    advml_dense_kind.init(&L, p, &rng);
    double ss = 0.0;
    for (size_t i = 0; i < 20000; i++)
        ss += (double)p[i] * p[i];
    ADVML_CHECK_CLOSE(ss / 20000, 0.01, 0.001);
    int zero = 1;
    for (size_t i = 20000; i < L.nparams; i++)
        zero &= p[i] == 0.0f;
    CU_ASSERT(zero);
    L.spec.act = ADVML_ACT_SOFTMAX; /* Glorot: |w| <= sqrt(6/300) */
    advml_dense_kind.init(&L, p, &rng);
    double mx = 0.0;
    for (size_t i = 0; i < 20000; i++)
        mx = fmax(mx, fabs(p[i]));
    CU_ASSERT(mx <= sqrt(6.0 / 300) && mx > 0.95 * sqrt(6.0 / 300));

    /* forward/backward through the kind equal the kernels */
    dense_case t;
    case_alloc(&t, 3, 200, 100, 1, 8);
    memcpy(p, t.w, 20000 * sizeof(float));
    memcpy(p + 20000, t.b, 100 * sizeof(float));
    float *z = malloc(300 * sizeof(float)), *g = calloc(L.nparams, sizeof(float)),
          *dx = calloc(600, sizeof(float));
    advml_ctx ctx = {.B = 3, .training = 1};
    advml_dense_kind.forward(&L, z, t.x, p, &ctx);
    advml_dense_forward(t.y, t.x, t.w, t.b, 3, 200, 100);
    CU_ASSERT(memcmp(z, t.y, 300 * sizeof(float)) == 0);
    advml_dense_kind.backward(&L, dx, g, t.R, t.x, p, &ctx);
    advml_dense_backward(t.dx, t.dw, t.db, t.R, t.x, t.w, 3, 200, 100);
    CU_ASSERT(memcmp(dx, t.dx, 600 * sizeof(float)) == 0);
    CU_ASSERT(memcmp(g, t.dw, 20000 * sizeof(float)) == 0);
    CU_ASSERT(memcmp(g + 20000, t.db, 100 * sizeof(float)) == 0);
    ctx.B = 0; /* an empty batch changes nothing */
    advml_dense_kind.forward(&L, z, t.x, p, &ctx);
    advml_dense_kind.backward(&L, dx, g, t.R, t.x, p, &ctx);
    CU_ASSERT(memcmp(g, t.dw, 20000 * sizeof(float)) == 0);
    free(p), free(z), free(g), free(dx);
    case_free(&t);
}

static void reg(void)
{
    static const advml_test_case c[] = {
        {"forward by hand and against the definition", t_forward},
        {"finite-difference gradients", t_gradcheck},
        {"backward accumulates; no input gradient", t_accumulates},
        {"kind setup, views and parameter count", t_kind_setup},
        {"kind setup errors", t_kind_errors},
        {"kind init, forward/backward", t_kind_init_and_pass},
        {NULL, NULL},
    };
    advml_test_add_suite("dense", c);
}

int main(void) { return advml_test_main(reg); }

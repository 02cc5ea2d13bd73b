/* test_activation.c - activations and softmax (values, names, gradients) and
 * the "activation" layer kind.
 *
 * Gradient checks use f = sum(act(x) * R) for a fixed random R, accumulated in
 * double, so the analytic gradient is one backward call with dout = R.
 * - identity, relu, leaky relu are linear on each side of 0; the inputs keep
 *   |x| >= 0.1 and the step is h = 1e-2, so no perturbation crosses the kink
 *   and the central difference is exact up to float rounding of the one
 *   output touched: ~6e-8 * |out| / (2h) < 1e-5 absolute.
 * - sigmoid, tanh, softmax are smooth: the truncation error h^2/6 * |f'''|
 *   with |f'''| <= 2 is < 3.4e-5 absolute at h = 1e-2, and float rounding of
 *   the outputs touched (1, or the softmax width 7) adds < 7 * 6e-8 / (2h)
 *   = 2.1e-5. (A smaller h would make rounding dominate.)
 * Errors are relative to max(0.1, |gradient|), so these bounds give at most
 * 5.5e-4; the measured worst is below 4e-5. The tolerance 1e-3 still fails
 * any wrong derivative (a missing factor, the -dot term of softmax) by far.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "advml/activation.h"
#include "advml/layer.h"
#include "testutil.h"

#define GC_H 1e-2
#define GC_FLOOR 1e-1
#define GC_TOL 1e-3

static void t_values(void)
{
    const float x[6] = {-2.0f, -0.5f, 0.0f, 0.25f, 1.0f, 3.0f};
    float y[6];
    advml_act_forward(y, x, 2, 3, ADVML_ACT_IDENTITY, 0.0f);
    CU_ASSERT(memcmp(y, x, sizeof y) == 0);
    advml_act_forward(y, x, 2, 3, ADVML_ACT_RELU, 0.0f);
    CU_ASSERT(y[0] == 0 && y[1] == 0 && y[2] == 0 && y[3] == 0.25f && y[4] == 1 && y[5] == 3);
    advml_act_forward(y, x, 2, 3, ADVML_ACT_LEAKY_RELU, ADVML_LEAKY_ALPHA_DEFAULT);
    ADVML_CHECK_CLOSE(y[0], -2e-3, 1e-9);
    ADVML_CHECK_CLOSE(y[1], -5e-4, 1e-9);
    CU_ASSERT(y[3] == 0.25f && y[5] == 3);
    advml_act_forward(y, x, 2, 3, ADVML_ACT_LEAKY_RELU, 0.2f);
    ADVML_CHECK_CLOSE(y[0], -0.4, 1e-7);
    advml_act_forward(y, x, 2, 3, ADVML_ACT_SIGMOID, 0.0f);
    for (int i = 0; i < 6; i++)
        ADVML_CHECK_CLOSE(y[i], 1.0 / (1.0 + exp(-(double)x[i])), 1e-7);
    CU_ASSERT(y[2] == 0.5f);
    advml_act_forward(y, x, 2, 3, ADVML_ACT_TANH, 0.0f);
    for (int i = 0; i < 6; i++)
        ADVML_CHECK_CLOSE(y[i], tanh((double)x[i]), 1e-7);
    /* softmax normalises each row separately */
    advml_act_forward(y, x, 2, 3, ADVML_ACT_SOFTMAX, 0.0f);
    for (int r = 0; r < 2; r++) {
        double s = 0.0;
        for (int j = 0; j < 3; j++)
            s += exp((double)x[r * 3 + j]);
        for (int j = 0; j < 3; j++)
            ADVML_CHECK_CLOSE(y[r * 3 + j], exp((double)x[r * 3 + j]) / s, 1e-7);
    }
    /* stable for large logits */
    const float big[3] = {1000.0f, 999.0f, -1000.0f};
    float p[3];
    advml_act_forward(p, big, 1, 3, ADVML_ACT_SOFTMAX, 0.0f);
    CU_ASSERT(isfinite(p[0]) && isfinite(p[1]) && p[2] == 0.0f);
    ADVML_CHECK_CLOSE(p[0], 1.0 / (1.0 + exp(-1.0)), 1e-6);
    /* saturating sigmoid/tanh stay finite */
    const float sat[2] = {-100.0f, 100.0f};
    advml_act_forward(p, sat, 1, 2, ADVML_ACT_SIGMOID, 0.0f);
    CU_ASSERT(p[0] >= 0.0f && p[0] < 1e-30f && p[1] == 1.0f);
    advml_act_forward(p, sat, 1, 2, ADVML_ACT_TANH, 0.0f);
    CU_ASSERT(p[0] == -1.0f && p[1] == 1.0f);
}

static void t_in_place(void)
{
    const advml_act acts[] = {ADVML_ACT_IDENTITY, ADVML_ACT_SIGMOID, ADVML_ACT_TANH,
                              ADVML_ACT_RELU, ADVML_ACT_LEAKY_RELU, ADVML_ACT_SOFTMAX};
    advml_rng rng;
    advml_rng_seed(&rng, 1);
    for (size_t a = 0; a < sizeof acts / sizeof acts[0]; a++) {
        float x[40], y[40], z[40];
        advml_test_fill_uniform(x, 40, -3, 3, &rng);
        memcpy(z, x, sizeof z);
        advml_act_forward(y, x, 4, 10, acts[a], 0.1f);
        advml_act_forward(z, z, 4, 10, acts[a], 0.1f); /* out == in */
        CU_ASSERT(memcmp(y, z, sizeof y) == 0);
    }
}

static void t_names(void)
{
    const advml_act acts[] = {ADVML_ACT_IDENTITY, ADVML_ACT_SIGMOID, ADVML_ACT_TANH,
                              ADVML_ACT_RELU, ADVML_ACT_LEAKY_RELU, ADVML_ACT_SOFTMAX};
    for (size_t a = 0; a < sizeof acts / sizeof acts[0]; a++) {
        advml_act back = (advml_act)99;
        CU_ASSERT(advml_act_from_name(advml_act_name(acts[a]), &back) == 0);
        CU_ASSERT(back == acts[a]);
    }
    advml_act act = ADVML_ACT_RELU;
    CU_ASSERT(advml_act_from_name("linear", &act) == 0 && act == ADVML_ACT_IDENTITY);
    act = ADVML_ACT_RELU;
    CU_ASSERT(advml_act_from_name("identity", &act) == 0 && act == ADVML_ACT_IDENTITY);
    CU_ASSERT(advml_act_from_name("leaky_relu", &act) == 0 && act == ADVML_ACT_LEAKY_RELU);
    CU_ASSERT(strcmp(advml_act_name(ADVML_ACT_RELU), "relu") == 0);
    CU_ASSERT(strcmp(advml_act_name(ADVML_ACT_LEAKY_RELU), "leaky_relu") == 0);
    act = ADVML_ACT_TANH;
    CU_ASSERT(advml_act_from_name("Relu", &act) == -1 && act == ADVML_ACT_TANH);
    CU_ASSERT(advml_act_from_name("swish", &act) == -1);
    CU_ASSERT(advml_act_from_name("", &act) == -1);
    CU_ASSERT(advml_act_from_name(NULL, &act) == -1);
    CU_ASSERT(advml_act_is_relu_family(ADVML_ACT_RELU) && advml_act_is_relu_family(ADVML_ACT_LEAKY_RELU));
    CU_ASSERT(!advml_act_is_relu_family(ADVML_ACT_TANH) && !advml_act_is_relu_family(ADVML_ACT_SIGMOID) &&
              !advml_act_is_relu_family(ADVML_ACT_IDENTITY) && !advml_act_is_relu_family(ADVML_ACT_SOFTMAX));
}

/* ---- gradients ----------------------------------------------------------------- */

#define ROWS 3
#define COLS 7
#define N (ROWS * COLS)

typedef struct act_case {
    advml_act act;
    float alpha;
    float x[N], y[N], R[N];
} act_case;

static double act_objective(void *ctx)
{
    act_case *t = ctx;
    advml_act_forward(t->y, t->x, ROWS, COLS, t->act, t->alpha);
    double f = 0.0;
    for (int i = 0; i < N; i++)
        f += (double)t->y[i] * t->R[i];
    return f;
}

static void gradcheck_act(const char *name, advml_act act, float alpha, uint64_t seed)
{
    advml_rng rng;
    advml_rng_seed(&rng, seed);
    act_case t;
    t.act = act, t.alpha = alpha;
    for (int i = 0; i < N; i++) { /* |x| in [0.1, 2.5]: away from the ReLU kink */
        float m = 0.1f + 2.4f * (float)advml_rng_uniform(&rng);
        t.x[i] = advml_rng_uniform(&rng) < 0.5 ? -m : m;
    }
    advml_test_fill_uniform(t.R, N, -1, 1, &rng);
    act_objective(&t);
    float dx[N] = {0};
    advml_act_backward(dx, t.R, t.x, t.y, ROWS, COLS, act, alpha);
    CU_ASSERT(advml_gradcheck(name, t.x, dx, N, act_objective, &t, GC_H, GC_FLOOR, GC_TOL, NULL) <
              GC_TOL);
    /* backward accumulates: a second call doubles the gradient */
    float dx1[N];
    memcpy(dx1, dx, sizeof dx);
    act_objective(&t); /* y again at the unperturbed x */
    advml_act_backward(dx, t.R, t.x, t.y, ROWS, COLS, act, alpha);
    double e = 0.0, mag = 0.0;
    for (int i = 0; i < N; i++)
        e = fmax(e, fabs(dx[i] - 2.0 * dx1[i])), mag = fmax(mag, fabs(dx1[i]));
    if (e >= 1e-6)
        fprintf(stderr, "  %s: second backward differs from twice the first by %g\n", name, e);
    CU_ASSERT(e < 1e-6);
    CU_ASSERT(mag > 1e-3);
}

/* advml_act_backward_write gives what advml_act_backward adds to zeros, for
 * every activation, without reading dinp (it starts as NaN here). */
static void t_backward_write(void)
{
    const advml_act acts[] = {ADVML_ACT_IDENTITY, ADVML_ACT_SIGMOID, ADVML_ACT_TANH,
                              ADVML_ACT_RELU, ADVML_ACT_LEAKY_RELU, ADVML_ACT_SOFTMAX};
    advml_rng rng;
    advml_rng_seed(&rng, 9);
    for (size_t a = 0; a < sizeof acts / sizeof acts[0]; a++) {
        float x[N], y[N], g[N], acc[N] = {0}, wr[N];
        advml_test_fill_uniform(x, N, -3, 3, &rng);
        advml_test_fill_uniform(g, N, -1, 1, &rng);
        x[0] = 0.0f; /* the ReLU kink: f'(0) is 0 in both */
        advml_act_forward(y, x, ROWS, COLS, acts[a], 0.2f);
        for (int i = 0; i < N; i++)
            wr[i] = NAN;
        advml_act_backward(acc, g, x, y, ROWS, COLS, acts[a], 0.2f);
        advml_act_backward_write(wr, g, x, y, ROWS, COLS, acts[a], 0.2f);
        int ok = 1;
        for (int i = 0; i < N; i++)
            ok &= wr[i] == acc[i];
        if (!ok)
            fprintf(stderr, "  %s: backward_write differs from backward into zeros\n", advml_act_name(acts[a]));
        CU_ASSERT(ok);
    }
}

static void t_gradcheck(void)
{
    gradcheck_act("identity", ADVML_ACT_IDENTITY, 0.0f, 1);
    gradcheck_act("sigmoid", ADVML_ACT_SIGMOID, 0.0f, 2);
    gradcheck_act("tanh", ADVML_ACT_TANH, 0.0f, 3);
    gradcheck_act("relu", ADVML_ACT_RELU, 0.0f, 4);
    gradcheck_act("leaky relu (default slope)", ADVML_ACT_LEAKY_RELU, ADVML_LEAKY_ALPHA_DEFAULT, 5);
    gradcheck_act("leaky relu (slope 0.3)", ADVML_ACT_LEAKY_RELU, 0.3f, 6);
    gradcheck_act("softmax", ADVML_ACT_SOFTMAX, 0.0f, 7);
}

/* ReLU passes the gradient exactly where x > 0; leaky scales the rest. */
static void t_relu_backward_values(void)
{
    const float x[4] = {-1.0f, 2.0f, -0.5f, 0.5f}, g[4] = {1, 2, 3, 4};
    float y[4], dx[4] = {0};
    advml_act_forward(y, x, 1, 4, ADVML_ACT_RELU, 0.0f);
    advml_act_backward(dx, g, x, y, 1, 4, ADVML_ACT_RELU, 0.0f);
    CU_ASSERT(dx[0] == 0 && dx[1] == 2 && dx[2] == 0 && dx[3] == 4);
    memset(dx, 0, sizeof dx);
    advml_act_forward(y, x, 1, 4, ADVML_ACT_LEAKY_RELU, 0.1f);
    advml_act_backward(dx, g, x, y, 1, 4, ADVML_ACT_LEAKY_RELU, 0.1f);
    ADVML_CHECK_CLOSE(dx[0], 0.1, 1e-7);
    ADVML_CHECK_CLOSE(dx[2], 0.3, 1e-7);
    CU_ASSERT(dx[1] == 2 && dx[3] == 4);
}

/* ---- the "activation" kind ------------------------------------------------------------ */

static void t_kind(void)
{
    const advml_layer_kind *k = advml_layer_kind_of(ADVML_LAYER_ACTIVATION);
    CU_ASSERT_FATAL(k == &advml_activation_kind);
    CU_ASSERT(k->post_act == 1 && strcmp(k->name, "activation") == 0);
    advml_layer L;
    memset(&L, 0, sizeof L);
    L.spec = advml_layer_spec_default(ADVML_LAYER_ACTIVATION);
    L.spec.act = ADVML_ACT_TANH;
    L.index = 3;
    advml_error err;
    CU_ASSERT_FATAL(k->setup(&L, advml_shape3(2, 3, 4), 8, &err) == ADVML_OK);
    CU_ASSERT(L.out_shape.rank == 3 && L.out_shape.d[0] == 2 && L.out_shape.d[1] == 3 &&
              L.out_shape.d[2] == 4);
    CU_ASSERT(L.nparams == 0 && L.nviews == 0 && L.state_per_sample == 0);
    CU_ASSERT(k->setup(&L, advml_shape2(5, 7), 8, &err) == ADVML_OK && L.out_shape.rank == 2);
    CU_ASSERT(k->setup(&L, advml_shape1(9), 8, &err) == ADVML_OK && L.out_shape.d[0] == 9);
    /* forward copies (the model applies spec.act), backward passes dz through */
    float x[18], z[18], g[18], dx[18];
    advml_rng rng;
    advml_rng_seed(&rng, 2);
    advml_test_fill_uniform(x, 18, -1, 1, &rng);
    advml_test_fill_uniform(g, 18, -1, 1, &rng);
    for (int i = 0; i < 18; i++)
        dx[i] = 1.0f;
    advml_ctx ctx = {.B = 2, .training = 1};
    k->forward(&L, z, x, NULL, &ctx);
    CU_ASSERT(memcmp(z, x, sizeof z) == 0);
    k->backward(&L, dx, NULL, g, x, NULL, &ctx);
    int ok = 1;
    for (int i = 0; i < 18; i++)
        ok &= dx[i] == 1.0f + g[i];
    CU_ASSERT(ok);
    k->backward(&L, NULL, NULL, g, x, NULL, &ctx); /* first layer: nothing to do */
    L.spec.act = (advml_act)42;
    CU_ASSERT(k->setup(&L, advml_shape1(9), 8, &err) == ADVML_ERR_SHAPE);
    CU_ASSERT(strstr(err.msg, "layer 3 (activation): unknown activation 42") != NULL);
}

static void reg(void)
{
    static const advml_test_case c[] = {
        {"values", t_values},
        {"in place", t_in_place},
        {"names", t_names},
        {"finite-difference gradients, accumulation", t_gradcheck},
        {"relu/leaky backward values", t_relu_backward_values},
        {"backward_write equals backward into zeros", t_backward_write},
        {"activation kind", t_kind},
        {NULL, NULL},
    };
    advml_test_add_suite("activation", c);
}

int main(void) { return advml_test_main(reg); }

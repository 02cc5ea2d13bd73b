/* test_optim.c - every optimizer against a hand-computed two-step update,
 * L2 only on decay views, grad_scale, state persistence, vectorised tails,
 * gradient clipping, names and configuration errors. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "testutil.h"
#include "advml/optim.h"

/* The problem: three parameters in two views, listed bias first to show that
 * offsets are absolute and order does not matter:
 *   "bias"   offset 2, size 1, decay 0
 *   "kernel" offset 0, size 2, decay 1
 * w0 = (0.5, -0.3, 0.2); raw gradients at step 1 and 2 below; grad_scale 0.5;
 * l2 0.1 (applies to w[0], w[1] only); lr 0.1; mu 0.9; rho 0.8; b1 0.9;
 * b2 0.99; eps 0.01 (large enough to tell sqrt(v) + eps from sqrt(v + eps)). */
enum { NP = 3 };
static const double W0[NP] = {0.5, -0.3, 0.2};
static const double G1[NP] = {0.4, -0.8, 1.2};
static const double G2[NP] = {-0.2, 0.6, 0.5};
static const int DECAY[NP] = {1, 1, 0};
#define GS 0.5
#define L2 0.1
#define LR 0.1
#define MU 0.9
#define RHO 0.8
#define B1 0.9
#define B2 0.99
#define EPS 0.01

static advml_param_view make_view(const char *name, size_t off, size_t size, int decay)
{
    advml_param_view v;
    memset(&v, 0, sizeof v);
    snprintf(v.name, sizeof v.name, "%s", name);
    v.offset = off;
    v.size = size;
    v.rank = 1;
    v.dims[0] = (int)size;
    v.decay = decay;
    return v;
}

static advml_optim_config test_config(advml_optim_kind kind)
{
    advml_optim_config c = advml_optim_defaults(kind);
    c.lr = (float)LR;
    c.momentum = (float)MU;
    c.rho = (float)RHO;
    c.beta1 = (float)B1;
    c.beta2 = (float)B2;
    c.eps = (float)EPS;
    c.l2 = (float)L2;
    return c;
}

/* Run two steps of the code under test; w receives the parameters after step 1
 * (w1) and after step 2 (w2). */
static void run_two_steps(advml_optim_kind kind, float w1[NP], float w2[NP])
{
    advml_optim_config c = test_config(kind);
    advml_optimizer o;
    advml_error err;
    advml_error_clear(&err);
    CU_ASSERT_FATAL(advml_optim_init(&o, &c, NP, &err) == ADVML_OK);
    CU_ASSERT(o.t == 0);
    advml_param_view views[2] = {make_view("bias", 2, 1, 0), make_view("kernel", 0, 2, 1)};
    float w[NP], g[NP];
    for (int i = 0; i < NP; i++) {
        w[i] = (float)W0[i];
        g[i] = (float)G1[i];
    }
    advml_optim_step(&o, w, g, (float)GS, views, 2);
    CU_ASSERT(o.t == 1);
    memcpy(w1, w, sizeof w);
    for (int i = 0; i < NP; i++)
        g[i] = (float)G2[i];
    advml_optim_step(&o, w, g, (float)GS, views, 2);
    CU_ASSERT(o.t == 2);
    memcpy(w2, w, sizeof w);
    advml_optim_free(&o);
    CU_ASSERT(o.m == NULL && o.v == NULL);
}

static void check(const char *what, const float got[NP], const double want[NP])
{
    for (int i = 0; i < NP; i++) {
        if (fabs(got[i] - want[i]) > 2e-6)
            fprintf(stderr, "  %s: w[%d] = %.9g, expected %.9g\n", what, i, got[i], want[i]);
        CU_ASSERT(fabs(got[i] - want[i]) <= 2e-6);
    }
}

/* g_t for parameter i at step t, given the current w: grad_scale * grad + l2 * w on decay views */
static double eff_grad(int i, const double *raw, const double *w)
{
    return GS * raw[i] + (DECAY[i] ? L2 * w[i] : 0.0);
}

static void t_sgd(void)
{
    /* w -= lr g. By hand for w[0]: g1 = 0.5*0.4 + 0.1*0.5 = 0.25, w1 = 0.5 - 0.025 = 0.475;
     * g2 = 0.5*(-0.2) + 0.1*0.475 = -0.0525, w2 = 0.475 + 0.00525 = 0.48025. */
    double w[NP], e1[NP];
    memcpy(w, W0, sizeof w);
    for (int i = 0; i < NP; i++)
        e1[i] = w[i] - LR * eff_grad(i, G1, w);
    double e2[NP];
    for (int i = 0; i < NP; i++)
        e2[i] = e1[i] - LR * eff_grad(i, G2, e1);
    CU_ASSERT(fabs(e1[0] - 0.475) < 1e-12 && fabs(e2[0] - 0.48025) < 1e-12);
    float w1[NP], w2[NP];
    run_two_steps(ADVML_OPTIM_SGD, w1, w2);
    check("sgd step 1", w1, e1);
    check("sgd step 2", w2, e2);
}

static void t_momentum(void)
{
    /* m = mu m + lr g; w -= m. w[2] (bias, no l2): g1 = 0.6, m1 = 0.06, w1 = 0.14;
     * g2 = 0.25, m2 = 0.9*0.06 + 0.025 = 0.079, w2 = 0.061. */
    double w[NP], m[NP] = {0};
    memcpy(w, W0, sizeof w);
    double e1[NP], e2[NP];
    for (int i = 0; i < NP; i++) {
        m[i] = MU * m[i] + LR * eff_grad(i, G1, w);
        e1[i] = w[i] - m[i];
    }
    for (int i = 0; i < NP; i++) {
        m[i] = MU * m[i] + LR * eff_grad(i, G2, e1);
        e2[i] = e1[i] - m[i];
    }
    CU_ASSERT(fabs(e1[2] - 0.14) < 1e-12 && fabs(e2[2] - 0.061) < 1e-12);
    float w1[NP], w2[NP];
    run_two_steps(ADVML_OPTIM_MOMENTUM, w1, w2);
    check("momentum step 1", w1, e1);
    check("momentum step 2", w2, e2);
}

static void t_adagrad(void)
{
    /* v += g^2; w -= lr g / (sqrt(v) + eps). w[2]: g1 = 0.6, v1 = 0.36,
     * w1 = 0.2 - 0.06 / 0.61 = 0.1016393443; g2 = 0.25, v2 = 0.4225,
     * w2 = w1 - 0.025 / (0.65 + 0.01) = 0.0637605564. */
    double w[NP], v[NP] = {0};
    memcpy(w, W0, sizeof w);
    double e1[NP], e2[NP];
    for (int i = 0; i < NP; i++) {
        double g = eff_grad(i, G1, w);
        v[i] += g * g;
        e1[i] = w[i] - LR * g / (sqrt(v[i]) + EPS);
    }
    for (int i = 0; i < NP; i++) {
        double g = eff_grad(i, G2, e1);
        v[i] += g * g;
        e2[i] = e1[i] - LR * g / (sqrt(v[i]) + EPS);
    }
    CU_ASSERT(fabs(e1[2] - 0.1016393443) < 1e-9 && fabs(e2[2] - 0.0637605564) < 1e-9);
    float w1[NP], w2[NP];
    run_two_steps(ADVML_OPTIM_ADAGRAD, w1, w2);
    check("adagrad step 1", w1, e1);
    check("adagrad step 2", w2, e2);
}

static void t_adagrad_momentum(void)
{
    /* v += g^2; m = mu m + lr g / (sqrt(v) + eps); w -= m. w[2]: m1 = 0.06 / 0.61 =
     * 0.0983606557, w1 = 0.1016393443; m2 = 0.9 m1 + 0.025 / 0.66 = 0.1264033780,
     * w2 = -0.0247640338. */
    double w[NP], m[NP] = {0}, v[NP] = {0};
    memcpy(w, W0, sizeof w);
    double e1[NP], e2[NP];
    for (int i = 0; i < NP; i++) {
        double g = eff_grad(i, G1, w);
        v[i] += g * g;
        m[i] = MU * m[i] + LR * g / (sqrt(v[i]) + EPS);
        e1[i] = w[i] - m[i];
    }
    for (int i = 0; i < NP; i++) {
        double g = eff_grad(i, G2, e1);
        v[i] += g * g;
        m[i] = MU * m[i] + LR * g / (sqrt(v[i]) + EPS);
        e2[i] = e1[i] - m[i];
    }
    CU_ASSERT(fabs(e2[2] - (-0.0247640338)) < 1e-9);
    float w1[NP], w2[NP];
    run_two_steps(ADVML_OPTIM_ADAGRAD_MOMENTUM, w1, w2);
    check("adagrad_momentum step 1", w1, e1);
    check("adagrad_momentum step 2", w2, e2);
}

static void t_rmsprop(void)
{
    /* v = rho v + (1 - rho) g^2; w -= lr g / (sqrt(v) + eps). w[2]: v1 = 0.2*0.36 = 0.072,
     * w1 = 0.2 - 0.1*0.6 / (0.2683281573 + 0.01) = -0.0155728712;
     * v2 = 0.8*0.072 + 0.2*0.0625 = 0.0701, w2 = w1 - 0.1*0.25 / (0.2647640459 + 0.01) =
     * -0.1065600304. */
    double w[NP], v[NP] = {0};
    memcpy(w, W0, sizeof w);
    double e1[NP], e2[NP];
    for (int i = 0; i < NP; i++) {
        double g = eff_grad(i, G1, w);
        v[i] = RHO * v[i] + (1 - RHO) * g * g;
        e1[i] = w[i] - LR * g / (sqrt(v[i]) + EPS);
    }
    for (int i = 0; i < NP; i++) {
        double g = eff_grad(i, G2, e1);
        v[i] = RHO * v[i] + (1 - RHO) * g * g;
        e2[i] = e1[i] - LR * g / (sqrt(v[i]) + EPS);
    }
    CU_ASSERT(fabs(e1[2] - (-0.0155728712)) < 1e-9 && fabs(e2[2] - (-0.1065600304)) < 1e-9);
    float w1[NP], w2[NP];
    run_two_steps(ADVML_OPTIM_RMSPROP, w1, w2);
    check("rmsprop step 1", w1, e1);
    check("rmsprop step 2", w2, e2);
}

static void t_adam(void)
{
    /* m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
     * w -= lr (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps), t = 1, 2; moments persist.
     * w[2]: t=1: m = 0.06, v = 0.0036, mhat = 0.6, vhat = 0.36, w1 = 0.2 - 0.06/0.61 =
     * 0.1016393443; t=2: m = 0.054 + 0.025 = 0.079, v = 0.003564 + 0.000625 = 0.004189,
     * mhat = 0.079/0.19 = 0.4157894737, vhat = 0.004189/0.0199 = 0.2105025126,
     * w2 = w1 - 0.1*0.4157894737 / (0.4588055280 + 0.01) = 0.0129480962. */
    double w[NP], m[NP] = {0}, v[NP] = {0};
    memcpy(w, W0, sizeof w);
    double e1[NP], e2[NP];
    for (int i = 0; i < NP; i++) {
        double g = eff_grad(i, G1, w);
        m[i] = B1 * m[i] + (1 - B1) * g;
        v[i] = B2 * v[i] + (1 - B2) * g * g;
        double mhat = m[i] / (1 - B1), vhat = v[i] / (1 - B2);
        e1[i] = w[i] - LR * mhat / (sqrt(vhat) + EPS);
    }
    for (int i = 0; i < NP; i++) {
        double g = eff_grad(i, G2, e1);
        m[i] = B1 * m[i] + (1 - B1) * g;
        v[i] = B2 * v[i] + (1 - B2) * g * g;
        double mhat = m[i] / (1 - B1 * B1), vhat = v[i] / (1 - B2 * B2);
        e2[i] = e1[i] - LR * mhat / (sqrt(vhat) + EPS);
    }
    CU_ASSERT(fabs(e1[2] - 0.1016393443) < 1e-9 && fabs(e2[2] - 0.0129480962) < 1e-9);
    float w1[NP], w2[NP];
    run_two_steps(ADVML_OPTIM_ADAM, w1, w2);
    check("adam step 1", w1, e1);
    check("adam step 2", w2, e2);
}

/* With zero gradients only L2 acts: SGD shrinks decay views by (1 - lr l2)
 * and leaves the bias view untouched. */
static void t_l2_only_decay_views(void)
{
    advml_optim_config c = test_config(ADVML_OPTIM_SGD);
    advml_optimizer o;
    CU_ASSERT_FATAL(advml_optim_init(&o, &c, NP, NULL) == ADVML_OK);
    advml_param_view views[2] = {make_view("kernel", 0, 2, 1), make_view("bias", 2, 1, 0)};
    float w[NP] = {1.0f, -2.0f, 3.0f}, g[NP] = {0, 0, 0};
    advml_optim_step(&o, w, g, 1.0f, views, 2);
    ADVML_CHECK_CLOSE(w[0], 1.0 * (1 - LR * L2), 1e-7);   // 0.99
    ADVML_CHECK_CLOSE(w[1], -2.0 * (1 - LR * L2), 1e-7);  // -1.98
    CU_ASSERT(w[2] == 3.0f);
    advml_optim_free(&o);
}

/* A long view (odd length: vector body plus tail) against a scalar double
 * reference of Adam and RMSprop, three steps. */
static void t_long_views(void)
{
    enum { N = 1003, NB = 37 };
    advml_optim_kind kinds[2] = {ADVML_OPTIM_ADAM, ADVML_OPTIM_ADAGRAD_MOMENTUM};
    for (int kk = 0; kk < 2; kk++) {
        advml_optim_config c = test_config(kinds[kk]);
        advml_optimizer o;
        CU_ASSERT_FATAL(advml_optim_init(&o, &c, N + NB, NULL) == ADVML_OK);
        for (size_t i = 0; i < N + NB; i++)
            CU_ASSERT(o.m[i] == 0.0f && o.v[i] == 0.0f);
        advml_param_view views[2] = {make_view("kernel", 0, N, 1), make_view("bias", N, NB, 0)};
        static float w[N + NB], g[N + NB];
        static double rw[N + NB], rm[N + NB], rv[N + NB];
        advml_rng rng;
        advml_rng_seed(&rng, 5 + kk);
        advml_test_fill_uniform(w, N + NB, -1.0f, 1.0f, &rng);
        for (int i = 0; i < N + NB; i++) {
            rw[i] = w[i];
            rm[i] = rv[i] = 0.0;
        }
        for (int t = 1; t <= 3; t++) {
            advml_test_fill_uniform(g, N + NB, -2.0f, 2.0f, &rng);
            for (int i = 0; i < N + NB; i++) {
                double gi = GS * g[i] + (i < N ? L2 * rw[i] : 0.0);
                if (kinds[kk] == ADVML_OPTIM_ADAM) {
                    rm[i] = B1 * rm[i] + (1 - B1) * gi;
                    rv[i] = B2 * rv[i] + (1 - B2) * gi * gi;
                    rw[i] -= LR * (rm[i] / (1 - pow(B1, t))) / (sqrt(rv[i] / (1 - pow(B2, t))) + EPS);
                } else {
                    rv[i] += gi * gi;
                    rm[i] = MU * rm[i] + LR * gi / (sqrt(rv[i]) + EPS);
                    rw[i] -= rm[i];
                }
            }
            advml_optim_step(&o, w, g, (float)GS, views, 2);
        }
        double maxd = 0;
        for (int i = 0; i < N + NB; i++)
            maxd = fmax(maxd, fabs(w[i] - rw[i]));
        if (maxd > 1e-5)
            fprintf(stderr, "  long view %s: max |w - ref| = %g\n", advml_optim_name(kinds[kk]), maxd);
        CU_ASSERT(maxd <= 1e-5);
        advml_optim_free(&o);
    }
}

/* advml_optim_step_clear takes exactly the step advml_optim_step takes (same
 * parameters and state, bit for bit, over steps with different gradients),
 * and leaves every gradient in the views 0 and the slots after them as they
 * were (the model's extra slots). Every kind, a view length with a vector
 * tail. */
static void t_step_clear(void)
{
    enum { N = 203, NB = 5, EXTRA = 3 };
    for (int kind = ADVML_OPTIM_SGD; kind <= ADVML_OPTIM_ADAM; kind++) {
        advml_optim_config c = test_config((advml_optim_kind)kind);
        advml_optimizer a, b;
        CU_ASSERT_FATAL(advml_optim_init(&a, &c, N + NB, NULL) == ADVML_OK);
        CU_ASSERT_FATAL(advml_optim_init(&b, &c, N + NB, NULL) == ADVML_OK);
        advml_param_view views[2] = {make_view("bias", N, NB, 0), make_view("kernel", 0, N, 1)};
        static float wa[N + NB], wb[N + NB], ga[N + NB], gb[N + NB + EXTRA];
        advml_rng rng;
        advml_rng_seed(&rng, 40 + kind);
        advml_test_fill_uniform(wa, N + NB, -1.0f, 1.0f, &rng);
        memcpy(wb, wa, sizeof wa);
        int cleared = 1;
        for (int t = 1; t <= 3; t++) {
            advml_test_fill_uniform(ga, N + NB, -2.0f, 2.0f, &rng);
            memcpy(gb, ga, sizeof ga);
            for (int e = 0; e < EXTRA; e++)
                gb[N + NB + e] = 7.0f + e;
            advml_optim_step(&a, wa, ga, (float)GS, views, 2);
            CU_ASSERT(advml_optim_step_clear(&b, wb, gb, (float)GS, views, 2) == 0); /* all finite */
            for (int i = 0; i < N + NB; i++)
                cleared &= gb[i] == 0.0f;
            for (int e = 0; e < EXTRA; e++)
                cleared &= gb[N + NB + e] == 7.0f + e;
        }
        int same = a.t == b.t && memcmp(wa, wb, sizeof wa) == 0 &&
                   memcmp(a.m, b.m, (N + NB) * sizeof(float)) == 0 &&
                   memcmp(a.v, b.v, (N + NB) * sizeof(float)) == 0;
        if (!same || !cleared)
            fprintf(stderr, "  %s: step_clear %s\n", advml_optim_name((advml_optim_kind)kind),
                    !same ? "differs from step" : "did not clear exactly the views");
        CU_ASSERT(same && cleared);
        advml_optim_free(&a);
        advml_optim_free(&b);
    }
}

/* advml_optim_step_clear reports an Inf or NaN gradient in any view, at any
 * position (vector body and tail, first and last element), for every kind;
 * a non-finite value in the slots after the views is not its business, nor
 * are huge finite gradients. */
static void t_step_clear_nonfinite(void)
{
    enum { N = 203, NB = 5, EXTRA = 3 };
    const float bad[] = {INFINITY, -INFINITY, NAN};
    const int where[] = {0, 7, 100, N - 1, N, N + NB - 1};
    for (int kind = ADVML_OPTIM_SGD; kind <= ADVML_OPTIM_ADAM; kind++) {
        advml_optim_config c = test_config((advml_optim_kind)kind);
        advml_param_view views[2] = {make_view("bias", N, NB, 0), make_view("kernel", 0, N, 1)};
        static float w[N + NB], g[N + NB + EXTRA];
        int ok = 1;
        for (size_t bi = 0; bi < sizeof bad / sizeof bad[0]; bi++)
            for (size_t wi = 0; wi < sizeof where / sizeof where[0]; wi++) {
                advml_optimizer o;
                CU_ASSERT_FATAL(advml_optim_init(&o, &c, N + NB, NULL) == ADVML_OK);
                for (int i = 0; i < N + NB; i++)
                    w[i] = 0.5f;
                for (int i = 0; i < N + NB + EXTRA; i++)
                    g[i] = 0.25f;
                g[where[wi]] = bad[bi];
                ok &= advml_optim_step_clear(&o, w, g, (float)GS, views, 2) == 1;
                advml_optim_free(&o);
            }
        advml_optimizer o;
        CU_ASSERT_FATAL(advml_optim_init(&o, &c, N + NB, NULL) == ADVML_OK);
        for (int i = 0; i < N + NB; i++)
            w[i] = 0.5f, g[i] = i % 2 ? FLT_MAX : -FLT_MAX;
        g[N + NB] = NAN; /* an extra slot: outside the views */
        ok &= advml_optim_step_clear(&o, w, g, 1.0f, views, 2) == 0;
        advml_optim_free(&o);
        if (!ok)
            fprintf(stderr, "  %s: step_clear's non-finite report is wrong\n", advml_optim_name((advml_optim_kind)kind));
        CU_ASSERT(ok);
    }
}

static void t_clip(void)
{
    /* norm 5 = |(3, 4)|: below max_norm 10 nothing changes */
    float g[2] = {3, 4};
    ADVML_CHECK_CLOSE(advml_clip_grad_norm(g, 2, 1.0f, 10.0f), 5.0, 1e-12);
    CU_ASSERT(g[0] == 3.0f && g[1] == 4.0f);
    /* exactly at the norm: unchanged */
    ADVML_CHECK_CLOSE(advml_clip_grad_norm(g, 2, 1.0f, 5.0f), 5.0, 1e-12);
    CU_ASSERT(g[0] == 3.0f && g[1] == 4.0f);
    /* above: rescaled to norm 1 -> (0.6, 0.8) */
    ADVML_CHECK_CLOSE(advml_clip_grad_norm(g, 2, 1.0f, 1.0f), 5.0, 1e-12);
    ADVML_CHECK_CLOSE(g[0], 0.6, 1e-7);
    ADVML_CHECK_CLOSE(g[1], 0.8, 1e-7);
    /* grad_scale counts: ||2 * (3, 4)|| = 10 > 5 -> grads halved to (1.5, 2) */
    float h[2] = {3, 4};
    ADVML_CHECK_CLOSE(advml_clip_grad_norm(h, 2, 2.0f, 5.0f), 10.0, 1e-12);
    ADVML_CHECK_CLOSE(h[0], 1.5, 1e-7);
    ADVML_CHECK_CLOSE(h[1], 2.0, 1e-7);
    /* a length that is not a multiple of the lanes: 11 ones -> sqrt(11); clip to 1 */
    float u[11];
    for (int i = 0; i < 11; i++)
        u[i] = 1.0f;
    ADVML_CHECK_CLOSE(advml_clip_grad_norm(u, 11, 1.0f, 1.0f), sqrt(11.0), 1e-12);
    double ss = 0;
    for (int i = 0; i < 11; i++) {
        ADVML_CHECK_CLOSE(u[i], 1.0 / sqrt(11.0), 1e-7);
        ss += (double)u[i] * u[i];
    }
    ADVML_CHECK_CLOSE(sqrt(ss), 1.0, 1e-6);
    /* max_norm <= 0 never clips */
    float q[2] = {3, 4};
    advml_clip_grad_norm(q, 2, 1.0f, 0.0f);
    CU_ASSERT(q[0] == 3.0f && q[1] == 4.0f);
}

static void t_names_and_config(void)
{
    const char *names[6] = {"sgd", "momentum", "adagrad", "adagrad_momentum", "rmsprop", "adam"};
    for (int i = 0; i < 6; i++) {
        advml_optim_kind k;
        CU_ASSERT(advml_optim_from_name(names[i], &k) == 0 && (int)k == i);
        CU_ASSERT(strcmp(advml_optim_name(k), names[i]) == 0);
    }
    advml_optim_kind k;
    CU_ASSERT(advml_optim_from_name("Adam", &k) == 0 && k == ADVML_OPTIM_ADAM);
    CU_ASSERT(advml_optim_from_name("RMSprop", &k) == 0 && k == ADVML_OPTIM_RMSPROP);
    CU_ASSERT(advml_optim_from_name("adamw", &k) == -1);
    CU_ASSERT(advml_optim_from_name(NULL, &k) == -1);

    advml_optim_config c = advml_optim_defaults(ADVML_OPTIM_ADAM);
    CU_ASSERT(c.kind == ADVML_OPTIM_ADAM);
    ADVML_CHECK_CLOSE(c.lr, 1e-3, 1e-10);
    ADVML_CHECK_CLOSE(c.momentum, 0.9, 1e-7);
    ADVML_CHECK_CLOSE(c.beta1, 0.9, 1e-7);
    ADVML_CHECK_CLOSE(c.beta2, 0.999, 1e-7);
    ADVML_CHECK_CLOSE(c.rho, 0.9, 1e-7);
    ADVML_CHECK_CLOSE(c.eps, 1e-8, 1e-15);
    CU_ASSERT(c.l2 == 0.0f);

    advml_optimizer o;
    advml_error err;
    c.lr = 0.0f;
    advml_error_clear(&err);
    CU_ASSERT(advml_optim_init(&o, &c, 4, &err) == ADVML_ERR_ARG);
    CU_ASSERT(strstr(err.msg, "learning rate") != NULL);
    CU_ASSERT(o.m == NULL && o.v == NULL);
    c = advml_optim_defaults(ADVML_OPTIM_ADAM);
    c.beta2 = 1.0f;
    CU_ASSERT(advml_optim_init(&o, &c, 4, &err) == ADVML_ERR_ARG);
    CU_ASSERT(strstr(err.msg, "beta") != NULL);
    c = advml_optim_defaults(ADVML_OPTIM_SGD);
    c.l2 = -1.0f;
    CU_ASSERT(advml_optim_init(&o, &c, 4, &err) == ADVML_ERR_ARG);
    CU_ASSERT(strstr(err.msg, "l2") != NULL);
    /* n = 0 is a valid (empty) model */
    c = advml_optim_defaults(ADVML_OPTIM_SGD);
    CU_ASSERT(advml_optim_init(&o, &c, 0, &err) == ADVML_OK);
    advml_optim_step(&o, NULL, NULL, 1.0f, NULL, 0);
    CU_ASSERT(o.t == 1);
    advml_optim_free(&o);
}

static void reg(void)
{
    static const advml_test_case c[] = {
        {"sgd two steps", t_sgd},
        {"step_clear: the same step, gradients cleared", t_step_clear},
        {"step_clear: reports an Inf or NaN gradient", t_step_clear_nonfinite},
        {"momentum two steps", t_momentum},
        {"adagrad two steps", t_adagrad},
        {"adagrad_momentum two steps", t_adagrad_momentum},
        {"rmsprop two steps", t_rmsprop},
        {"adam two steps", t_adam},
        {"l2 only on decay views", t_l2_only_decay_views},
        {"long views match scalar reference", t_long_views},
        {"clip grad norm", t_clip},
        {"names and configuration", t_names_and_config},
        {NULL, NULL}};
    advml_test_add_suite("optim", c);
}

int main(void) { return advml_test_main(reg); }

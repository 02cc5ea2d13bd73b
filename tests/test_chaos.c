/* test_chaos.c - Lorenz-63 / Lorenz-96 (src/chaos.c): the tangent-linear equations against
 * finite differences, RK4's order, the largest Lyapunov exponents against the literature,
 * and the checks of bad settings. The trajectory against an independent NumPy reference
 * and the dataset file are tests/python/test_chaos_data.py. */
#include "testutil.h"
#include "advml/chaos.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* J(x) v against (f(x + e v) - f(x - e v)) / 2e, at a point on the attractor. */
static void jvp_check(advml_chaos_system s)
{
    advml_chaos_params p;
    advml_chaos_defaults(&p, s);
    int n = p.dim;
    double *b = calloc((size_t)n * 12, sizeof *b);
    CU_ASSERT_FATAL(b != NULL);
    double *x = b, *v = b + n, *jv = b + 2 * n, *xp = b + 3 * n, *fp = b + 4 * n, *fm = b + 5 * n, *work = b + 6 * n;
    advml_chaos_initial(&p, 3, x);
    advml_chaos_rk4(&p, x, NULL, p.dt, 2000, work);
    advml_rng r;
    advml_rng_seed(&r, 5);
    for (int i = 0; i < n; i++)
        v[i] = advml_rng_normal(&r);
    advml_chaos_jvp(&p, x, v, jv);
    const double e = 1e-5;
    for (int i = 0; i < n; i++)
        xp[i] = x[i] + e * v[i];
    advml_chaos_rhs(&p, xp, fp);
    for (int i = 0; i < n; i++)
        xp[i] = x[i] - e * v[i];
    advml_chaos_rhs(&p, xp, fm);
    double worst = 0;
    for (int i = 0; i < n; i++) {
        double num = (fp[i] - fm[i]) / (2 * e), d = fabs(num - jv[i]) / fmax(1.0, fabs(num));
        worst = fmax(worst, d);
    }
    /* the right-hand sides are quadratic: central differences are exact up to rounding */
    CU_ASSERT(worst < 1e-8);
    free(b);
}

static void t_jvp_lorenz63(void) { jvp_check(ADVML_LORENZ63); }
static void t_jvp_lorenz96(void) { jvp_check(ADVML_LORENZ96); }

/* RK4 is fourth order: over 0.5 time units of Lorenz-63, the error against a 1/64 step
 * falls by 2^4 = 16 (12..20) when the step is halved. */
static void t_rk4_order(void)
{
    advml_chaos_params p;
    advml_chaos_defaults(&p, ADVML_LORENZ63);
    double x0[3], ref[3], a[3], b[3], work[18];
    advml_chaos_initial(&p, 1, x0);
    advml_chaos_rk4(&p, x0, NULL, 0.01, 1000, work); /* onto the attractor */
    memcpy(ref, x0, sizeof ref);
    advml_chaos_rk4(&p, ref, NULL, 0.01 / 64, 50 * 64, work);
    memcpy(a, x0, sizeof a);
    advml_chaos_rk4(&p, a, NULL, 0.01, 50, work);
    memcpy(b, x0, sizeof b);
    advml_chaos_rk4(&p, b, NULL, 0.005, 100, work);
    double ea = 0, eb = 0;
    for (int i = 0; i < 3; i++) {
        ea = fmax(ea, fabs(a[i] - ref[i]));
        eb = fmax(eb, fabs(b[i] - ref[i]));
    }
    CU_ASSERT(ea > 0 && ea < 1e-3);
    CU_ASSERT(ea / eb > 12 && ea / eb < 20);
}

/* The largest Lyapunov exponent: Lorenz-63 (10, 28, 8/3) 0.906, Lorenz-96
 * N 40, F 8 about 1.68 (the values issue 19 quotes; the literature citations were not
 * at hand to check here): within 5%, for two initial
 * conditions each. A non-chaotic setting gives the exponent known in closed form (below). */
static double lyap(advml_chaos_system s, uint64_t seed, double rho, double time)
{
    advml_chaos_params p;
    advml_chaos_defaults(&p, s);
    if (rho > 0)
        p.rho = rho;
    double *b = calloc((size_t)p.dim * 7, sizeof *b);
    CU_ASSERT_FATAL(b != NULL);
    advml_chaos_initial(&p, seed, b);
    advml_chaos_rk4(&p, b, NULL, p.dt, 10000, b + p.dim);
    double le = NAN;
    advml_error err = {0};
    CU_ASSERT(advml_chaos_lyapunov(&p, b, 10.0, time, seed, &le, &err) == ADVML_OK);
    free(b);
    return le;
}

static void t_lyapunov(void)
{
    for (uint64_t seed = 1; seed <= 2; seed++) {
        double l63 = lyap(ADVML_LORENZ63, seed, 0, 1000.0), l96 = lyap(ADVML_LORENZ96, seed, 0, 1000.0);
        CU_ASSERT(fabs(l63 - 0.906) / 0.906 < 0.05);
        CU_ASSERT(fabs(l96 - 1.68) / 1.68 < 0.05);
    }
    /* rho 0.5 < 1: the origin attracts; the Jacobian there has eigenvalues -beta and
     * (-(sigma + 1) +- sqrt((sigma - 1)^2 + 4 sigma rho)) / 2, the largest -0.4751 */
    double want = (-(11.0) + sqrt(81.0 + 20.0)) / 2.0;
    double le = lyap(ADVML_LORENZ63, 1, 0.5, 50.0);
    CU_ASSERT(fabs(le - want) < 1e-3);
}

static void t_bad_settings(void)
{
    advml_chaos_params p;
    advml_error err = {0};
    advml_chaos_defaults(&p, ADVML_LORENZ63);
    p.dt = 0;
    CU_ASSERT(advml_chaos_check(&p, &err) == ADVML_ERR_ARG);
    CU_ASSERT(strstr(err.msg, "--dt 0") != NULL);
    advml_chaos_defaults(&p, ADVML_LORENZ63);
    p.rho = NAN;
    CU_ASSERT(advml_chaos_check(&p, &err) == ADVML_ERR_ARG);
    CU_ASSERT(strstr(err.msg, "--rho") != NULL);
    advml_chaos_defaults(&p, ADVML_LORENZ96);
    p.dim = 3;
    CU_ASSERT(advml_chaos_check(&p, &err) == ADVML_ERR_ARG);
    CU_ASSERT(strstr(err.msg, "--dim 3") != NULL);
    advml_chaos_defaults(&p, ADVML_LORENZ96);
    double x[40] = {0}, le;
    CU_ASSERT(advml_chaos_lyapunov(&p, x, 1.0, 0.0, 1, &le, &err) == ADVML_ERR_ARG);
    CU_ASSERT(strstr(err.msg, "--lyapunov-time") != NULL);
    /* a blown-up trajectory is a numeric error */
    advml_chaos_defaults(&p, ADVML_LORENZ63);
    p.dt = 0.9;
    double y[3] = {1, 1, 20};
    CU_ASSERT(advml_chaos_lyapunov(&p, y, 0.0, 100.0, 1, &le, &err) == ADVML_ERR_NUMERIC);
    /* options: a window longer than the training part */
    advml_chaos_opts o;
    advml_chaos_opts_defaults(&o, ADVML_LORENZ63);
    o.out = "never_written.h5";
    o.length = 50;
    o.window = 40;
    CU_ASSERT(advml_chaos_convert(&o, &err) == ADVML_ERR_ARG);
    CU_ASSERT(strstr(err.msg, "--window 40") != NULL);
}

static void reg(void)
{
    static const advml_test_case cases[] = {{"tangent-linear Lorenz-63 vs finite differences", t_jvp_lorenz63},
                                            {"tangent-linear Lorenz-96 vs finite differences", t_jvp_lorenz96},
                                            {"RK4 is fourth order on Lorenz-63", t_rk4_order},
                                            {"largest Lyapunov exponents vs literature", t_lyapunov},
                                            {"bad settings", t_bad_settings},
                                            {NULL, NULL}};
    advml_test_add_suite("chaos", cases);
}

int main(void) { return advml_test_main(reg); }

/* chaos.c - Lorenz-63 and Lorenz-96 by RK4, Kuramoto-Sivashinsky by ETDRK4
 * (src/ks.c), their largest Lyapunov exponent (Benettin, tangent-linear) and
 * their windowed datasets (include/advml/chaos.h). */
#include "advml/chaos.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "advml/dataset_write.h"
#include "advml/ks.h"
#include "advml/rng.h"

/* ---- the systems ----------------------------------------------------------------- */

void advml_chaos_defaults(advml_chaos_params *p, advml_chaos_system s)
{
    memset(p, 0, sizeof *p);
    p->system = s;
    p->sigma = 10.0;
    p->rho = 28.0;
    p->beta = 8.0 / 3.0;
    p->dim = s == ADVML_LORENZ96 ? 40 : s == ADVML_KS ? 64 : 3;
    p->forcing = 8.0;
    p->size = 22.0;
    p->dt = s == ADVML_KS ? 0.25 : 0.01;
}

advml_status advml_chaos_check(const advml_chaos_params *p, advml_error *err)
{
    if (p->system == ADVML_KS)
        return advml_ks_check(p->dim, p->size, p->dt, err);
    if (!(p->dt > 0 && p->dt <= 1))
        return advml_error_set(err, ADVML_ERR_ARG, "--dt %g: the RK4 step must be in (0, 1]", p->dt);
    if (p->system == ADVML_LORENZ63) {
        if (!isfinite(p->sigma))
            return advml_error_set(err, ADVML_ERR_ARG, "--sigma %g: must be finite", p->sigma);
        if (!isfinite(p->rho))
            return advml_error_set(err, ADVML_ERR_ARG, "--rho %g: must be finite", p->rho);
        if (!isfinite(p->beta))
            return advml_error_set(err, ADVML_ERR_ARG, "--beta %g: must be finite", p->beta);
        if (p->dim != 3)
            return advml_error_set(err, ADVML_ERR_ARG, "lorenz63: the state has 3 components, got %d", p->dim);
    } else if (p->system == ADVML_LORENZ96) {
        if (p->dim < 4 || p->dim > ADVML_CHAOS_MAX_DIM)
            return advml_error_set(err, ADVML_ERR_ARG, "--dim %d: Lorenz-96 needs between 4 and %d components",
                                   p->dim, ADVML_CHAOS_MAX_DIM);
        if (!isfinite(p->forcing))
            return advml_error_set(err, ADVML_ERR_ARG, "--forcing %g: must be finite", p->forcing);
    } else {
        return advml_error_set(err, ADVML_ERR_ARG, "unknown chaotic system %d", (int)p->system);
    }
    return ADVML_OK;
}

void advml_chaos_rhs(const advml_chaos_params *p, const double *x, double *dx)
{
    if (p->system == ADVML_LORENZ63) {
        dx[0] = p->sigma * (x[1] - x[0]);
        dx[1] = x[0] * (p->rho - x[2]) - x[1];
        dx[2] = x[0] * x[1] - p->beta * x[2];
        return;
    }
    const int n = p->dim;
    for (int i = 0; i < n; i++) {
        int ip1 = i + 1 < n ? i + 1 : 0, im1 = i > 0 ? i - 1 : n - 1, im2 = i > 1 ? i - 2 : i + n - 2;
        dx[i] = (x[ip1] - x[im2]) * x[im1] - x[i] + p->forcing;
    }
}

void advml_chaos_jvp(const advml_chaos_params *p, const double *x, const double *v, double *jv)
{
    if (p->system == ADVML_LORENZ63) {
        jv[0] = p->sigma * (v[1] - v[0]);
        jv[1] = (p->rho - x[2]) * v[0] - v[1] - x[0] * v[2];
        jv[2] = x[1] * v[0] + x[0] * v[1] - p->beta * v[2];
        return;
    }
    const int n = p->dim;
    for (int i = 0; i < n; i++) {
        int ip1 = i + 1 < n ? i + 1 : 0, im1 = i > 0 ? i - 1 : n - 1, im2 = i > 1 ? i - 2 : i + n - 2;
        jv[i] = (v[ip1] - v[im2]) * x[im1] + (x[ip1] - x[im2]) * v[im1] - v[i];
    }
}

void advml_chaos_rk4(const advml_chaos_params *p, double *x, double *v, double h, int64_t steps, double *work)
{
    const int n = p->dim;
    /* work: xs, vs (the stage's point), kx, kv (its slopes), ax, av (the weighted sum of slopes) */
    double *xs = work, *vs = work + n, *kx = work + 2 * n, *kv = work + 3 * n, *ax = work + 4 * n,
           *av = work + 5 * n;
    static const double c[4] = {0.0, 0.5, 0.5, 1.0}, w[4] = {1.0, 2.0, 2.0, 1.0};
    for (int64_t s = 0; s < steps; s++) {
        for (int k = 0; k < 4; k++) {
            for (int i = 0; i < n; i++) {
                xs[i] = k ? x[i] + c[k] * h * kx[i] : x[i];
                if (v)
                    vs[i] = k ? v[i] + c[k] * h * kv[i] : v[i];
            }
            advml_chaos_rhs(p, xs, kx);
            if (v)
                advml_chaos_jvp(p, xs, vs, kv);
            for (int i = 0; i < n; i++) {
                ax[i] = k ? ax[i] + w[k] * kx[i] : kx[i];
                if (v)
                    av[i] = k ? av[i] + w[k] * kv[i] : kv[i];
            }
        }
        for (int i = 0; i < n; i++) {
            x[i] += h / 6.0 * ax[i];
            if (v)
                v[i] += h / 6.0 * av[i];
        }
    }
}

void advml_chaos_initial(const advml_chaos_params *p, uint64_t seed, double *x)
{
    advml_rng r;
    advml_rng_seed(&r, seed);
    if (p->system == ADVML_KS) {
        advml_ks_initial(p->dim, p->size, seed, x);
        return;
    }
    if (p->system == ADVML_LORENZ63) {
        x[0] = -10.0 + 20.0 * advml_rng_uniform(&r);
        x[1] = -10.0 + 20.0 * advml_rng_uniform(&r);
        x[2] = 10.0 + 30.0 * advml_rng_uniform(&r);
        return;
    }
    for (int i = 0; i < p->dim; i++)
        x[i] = p->forcing + (2.0 * advml_rng_uniform(&r) - 1.0);
}

/* One integrator for all the systems: RK4 for the Lorenz systems, ETDRK4 for KS. */
typedef struct stepper {
    const advml_chaos_params *p;
    advml_ks *ks;   /* owned; KS only */
    double *work;   /* owned; RK4 scratch (6 dim) */
} stepper;

static advml_status stepper_open(stepper *s, const advml_chaos_params *p, advml_error *err)
{
    s->p = p;
    s->ks = NULL;
    s->work = NULL;
    if (p->system == ADVML_KS)
        return advml_ks_create(&s->ks, p->dim, p->size, p->dt, err);
    s->work = malloc((size_t)p->dim * 6 * sizeof *s->work);
    return s->work ? ADVML_OK : advml_error_set(err, ADVML_ERR_NOMEM, "out of memory");
}

static void stepper_advance(stepper *s, double *x, double *v, int64_t steps)
{
    if (s->ks)
        advml_ks_advance(s->ks, x, v, steps);
    else
        advml_chaos_rk4(s->p, x, v, s->p->dt, steps, s->work);
}

static void stepper_close(stepper *s)
{
    advml_ks_free(s->ks);
    free(s->work);
    s->ks = NULL;
    s->work = NULL;
}

static int all_finite(const double *x, int n)
{
    for (int i = 0; i < n; i++)
        if (!isfinite(x[i]))
            return 0;
    return 1;
}

advml_status advml_chaos_lyapunov(const advml_chaos_params *p, const double *x0, double settle, double time,
                                  uint64_t seed, double *le, advml_error *err)
{
    advml_status st = advml_chaos_check(p, err);
    if (st)
        return st;
    if (!(settle >= 0 && isfinite(settle)) || !(time > 0 && isfinite(time)))
        return advml_error_set(err, ADVML_ERR_ARG,
                               "--lyapunov-time %g: the measuring time must be positive (settling time %g)", time,
                               settle);
    const int n = p->dim;
    stepper sp;
    if ((st = stepper_open(&sp, p, err))) {
        stepper_close(&sp);
        return st;
    }
    double *buf = malloc((size_t)n * 2 * sizeof *buf); /* x, v */
    if (!buf) {
        stepper_close(&sp);
        return advml_error_set(err, ADVML_ERR_NOMEM, "out of memory");
    }
    double *x = buf, *v = buf + n;
    memcpy(x, x0, (size_t)n * sizeof *x);
    advml_rng r;
    advml_rng_seed(&r, seed ^ 0x9e3779b97f4a7c15ULL);
    double norm = 0;
    for (int i = 0; i < n; i++) {
        v[i] = advml_rng_normal(&r);
        norm += v[i] * v[i];
    }
    norm = sqrt(norm);
    for (int i = 0; i < n; i++)
        v[i] /= norm;
    int64_t nsettle = llround(settle / p->dt), nmeasure = llround(time / p->dt);
    if (nmeasure < 1)
        nmeasure = 1;
    double sum = 0.0; /* sum of log |v| after each measured step */
    for (int64_t s = 0; s < nsettle + nmeasure; s++) {
        stepper_advance(&sp, x, v, 1);
        double g = 0;
        for (int i = 0; i < n; i++)
            g += v[i] * v[i];
        g = sqrt(g);
        if (!isfinite(g) || g == 0 || !all_finite(x, n)) {
            free(buf);
            stepper_close(&sp);
            return advml_error_set(err, ADVML_ERR_NUMERIC,
                                   "Lyapunov exponent: the trajectory diverges at t = %g; use a smaller --dt",
                                   (double)(s + 1) * p->dt);
        }
        for (int i = 0; i < n; i++)
            v[i] /= g;
        if (s >= nsettle)
            sum += log(g);
    }
    free(buf);
    stepper_close(&sp);
    *le = sum / ((double)nmeasure * p->dt);
    return ADVML_OK;
}

/* ---- the dataset ------------------------------------------------------------------- */

void advml_chaos_opts_defaults(advml_chaos_opts *o, advml_chaos_system s)
{
    memset(o, 0, sizeof *o);
    advml_chaos_defaults(&o->p, s);
    o->seed = 1;
    o->transient = 100.0;
    o->sample_every = 1;
    o->length = 10000;
    o->window = 20;
    o->train_fraction = 0.8;
    o->holdout = "validation";
    o->raw = 0;
    o->lyap_time = s == ADVML_KS ? 10000.0 : 1000.0;
}

/* Windows of w points of the D components of part [a, a + len) of the
 * stored (standardised) series vals (n, D): inputs (count, w, D), targets
 * (count, D), the point after each window. */
static advml_status write_part(advml_dsw *out, const char *name, const float *vals, int D, int64_t a, int64_t len,
                               int w, const char *const *fnames, const char *const *tnames, const char *what,
                               advml_error *err)
{
    int64_t count = len - w;
    size_t per = (size_t)w * (size_t)D;
    float *x = malloc((size_t)count * per * sizeof *x), *y = malloc((size_t)count * (size_t)D * sizeof *y);
    advml_status st = ADVML_OK;
    if (!x || !y) {
        st = advml_error_set(err, ADVML_ERR_NOMEM, "out of memory for %lld windows of %d x %d values",
                             (long long)count, w, D);
    } else {
        for (int64_t i = 0; i < count; i++) {
            memcpy(x + (size_t)i * per, vals + (size_t)(a + i) * (size_t)D, per * sizeof *x);
            memcpy(y + (size_t)i * (size_t)D, vals + (size_t)(a + i + w) * (size_t)D, (size_t)D * sizeof *y);
        }
        char d[320];
        snprintf(d, sizeof d, "windows of %d points cut from series points %lld..%lld (%s); the target is the state "
                 "at the point after each window", w, (long long)a, (long long)(a + len - 1), what);
        advml_dsw_split s = {0};
        s.name = name;
        s.description = d;
        s.n = count;
        s.sample = advml_shape2(w, D);
        s.inputs = x;
        s.scale = 1.0;
        s.mean = 0.0;
        s.std = 1.0;
        s.feature_names = fnames;
        s.n_feature_names = D;
        s.values = y;
        s.target_dim = D;
        s.target_names = tnames;
        st = advml_dsw_split_write(out, &s, err);
    }
    free(x);
    free(y);
    return st;
}

static advml_status check_opts(const advml_chaos_opts *o, int64_t *ntrain, advml_error *err)
{
    advml_status st = advml_chaos_check(&o->p, err);
    if (st)
        return st;
    if (!(o->transient >= 0 && o->transient <= 1e7))
        return advml_error_set(err, ADVML_ERR_ARG, "--transient %g: must be between 0 and 1e7 time units",
                               o->transient);
    if (o->sample_every < 1 || o->sample_every > 1000000)
        return advml_error_set(err, ADVML_ERR_ARG, "--sample-every %lld: must be between 1 and 1000000 steps",
                               (long long)o->sample_every);
    if (o->length < 2 || o->length > ((int64_t)1 << 31))
        return advml_error_set(err, ADVML_ERR_ARG, "--length %lld: must be between 2 and 2^31 points",
                               (long long)o->length);
    if ((double)o->length * (double)o->p.dim > 4e8)
        return advml_error_set(err, ADVML_ERR_ARG,
                               "--length %lld with %d components: %.3g values is more than the 4e8 this tool "
                               "writes; use a shorter --length",
                               (long long)o->length, o->p.dim, (double)o->length * o->p.dim);
    if (o->window < 1)
        return advml_error_set(err, ADVML_ERR_ARG, "--window %d: must be at least 1", o->window);
    if ((double)o->length * (double)o->window * (double)o->p.dim > 1e9)
        return advml_error_set(err, ADVML_ERR_ARG,
                               "--window %d with --length %lld and %d components: the windows would hold %.3g "
                               "values (%.1f GB of float32), more than the 1e9 this tool writes; use a shorter "
                               "--window or --length",
                               o->window, (long long)o->length, o->p.dim,
                               (double)o->length * o->window * o->p.dim,
                               (double)o->length * o->window * o->p.dim * 4e-9);
    if (!(o->train_fraction > 0 && o->train_fraction <= 1))
        return advml_error_set(err, ADVML_ERR_ARG, "--train-fraction %g: must be in (0, 1]", o->train_fraction);
    if (!o->holdout || (strcmp(o->holdout, "validation") != 0 && strcmp(o->holdout, "test") != 0))
        return advml_error_set(err, ADVML_ERR_ARG, "--holdout %s: expected validation or test",
                               o->holdout ? o->holdout : "(null)");
    if (!(o->lyap_time > 0 && o->lyap_time <= 1e7))
        return advml_error_set(err, ADVML_ERR_ARG, "--lyapunov-time %g: must be in (0, 1e7] time units",
                               o->lyap_time);
    *ntrain = llround(o->train_fraction * (double)o->length);
    int64_t nhold = o->length - *ntrain;
    if (*ntrain <= o->window)
        return advml_error_set(err, ADVML_ERR_ARG,
                               "--window %d: the training part of %lld points is too short for one window; use a "
                               "longer --length or a shorter --window",
                               o->window, (long long)*ntrain);
    if (nhold > 0 && nhold <= o->window)
        return advml_error_set(err, ADVML_ERR_ARG,
                               "--window %d: the held-out part of %lld points is too short for one window; use a "
                               "longer --length, a smaller --train-fraction or a shorter --window",
                               o->window, (long long)nhold);
    return ADVML_OK;
}

advml_status advml_chaos_convert(const advml_chaos_opts *o, advml_error *err)
{
    int64_t ntrain = 0;
    advml_status st = check_opts(o, &ntrain, err);
    if (st)
        return st;
    const advml_chaos_params *p = &o->p;
    const int D = p->dim;
    const int64_t n = o->length;
    const int l63 = p->system == ADVML_LORENZ63, ks = p->system == ADVML_KS;
    stepper sp = {0};

    /* owned here, freed at done */
    double *ser = malloc((size_t)n * (size_t)(D + 1) * sizeof *ser);  /* (D + 1, n): t, then each component */
    float *vals = malloc((size_t)n * (size_t)D * sizeof *vals);        /* (n, D) the windows' values */
    double *x = malloc((size_t)D * 2 * sizeof *x);                      /* state, its copy */
    double *mean = calloc((size_t)D, sizeof *mean), *sd = calloc((size_t)D, sizeof *sd);
    char **names = calloc((size_t)D, sizeof *names), **tnames = calloc((size_t)D, sizeof *tnames);
    advml_dsw *out = NULL;
    if (!ser || !vals || !x || !mean || !sd || !names || !tnames) {
        st = advml_error_set(err, ADVML_ERR_NOMEM, "out of memory for %lld points of %d components", (long long)n, D);
        goto done;
    }
    for (int c = 0; c < D; c++) {
        names[c] = malloc(16);
        tnames[c] = malloc(20);
        if (!names[c] || !tnames[c]) {
            st = advml_error_set(err, ADVML_ERR_NOMEM, "out of memory");
            goto done;
        }
        if (l63)
            snprintf(names[c], 16, "%c", "xyz"[c]);
        else if (ks)
            snprintf(names[c], 16, "u%d", c);
        else
            snprintf(names[c], 16, "x%d", c);
        snprintf(tnames[c], 20, "%s(i)", names[c]);
    }
    double *state = x, *start = x + D;
    if ((st = stepper_open(&sp, p, err)))
        goto done;

    /* the transient, then the stored points */
    advml_chaos_initial(p, o->seed, state);
    const int64_t ntrans = llround(o->transient / p->dt);
    stepper_advance(&sp, state, NULL, ntrans);
    if (!all_finite(state, D)) {
        st = advml_error_set(err, ADVML_ERR_NUMERIC, "the solution diverges during the transient; use a smaller --dt");
        goto done;
    }
    memcpy(start, state, (size_t)D * sizeof *start);
    const double h = p->dt * (double)o->sample_every; /* sampling step */
    for (int64_t i = 0; i < n; i++) {
        if (i > 0)
            stepper_advance(&sp, state, NULL, o->sample_every);
        if (!all_finite(state, D)) {
            st = advml_error_set(err, ADVML_ERR_NUMERIC,
                                 "the solution diverges at point %lld (t = %g); use a smaller --dt", (long long)i,
                                 (double)i * h);
            goto done;
        }
        ser[i] = (double)i * h;
        for (int c = 0; c < D; c++)
            ser[(size_t)(c + 1) * (size_t)n + (size_t)i] = state[c];
    }

    /* the largest Lyapunov exponent along the stored trajectory's start; for KS
     * the gap to the second exponent (about 0 at L = 22) is small, so v settles longer */
    double le = 0.0;
    const double settle = ks ? 200.0 : 10.0;
    if ((st = advml_chaos_lyapunov(p, start, settle, o->lyap_time, o->seed, &le, err)))
        goto done;

    /* per-component mean and std of the training part; the windows' values */
    for (int c = 0; c < D; c++) {
        const double *s = ser + (size_t)(c + 1) * (size_t)n;
        double m = 0, q = 0;
        for (int64_t i = 0; i < ntrain; i++)
            m += s[i];
        m /= (double)ntrain;
        for (int64_t i = 0; i < ntrain; i++)
            q += (s[i] - m) * (s[i] - m);
        mean[c] = m;
        sd[c] = ntrain > 1 ? sqrt(q / (double)(ntrain - 1)) : 0.0;
        if (!o->raw && !(sd[c] > 0)) {
            st = advml_error_set(err, ADVML_ERR_ARG,
                                 "component %s is constant over the training part, so it cannot be standardised; "
                                 "use --raw or a longer --length",
                                 names[c]);
            goto done;
        }
        for (int64_t i = 0; i < n; i++)
            vals[(size_t)i * (size_t)D + (size_t)c] = (float)(o->raw ? s[i] : (s[i] - mean[c]) / sd[c]);
    }

    /* the file */
    char sys[256], desc[1024], what[128];
    if (l63)
        snprintf(sys, sizeof sys, "Lorenz-63 x' = sigma (y - x), y' = x (rho - z) - y, z' = x y - beta z with "
                 "sigma %g, rho %g, beta %.17g", p->sigma, p->rho, p->beta);
    else if (ks)
        snprintf(sys, sizeof sys, "Kuramoto-Sivashinsky u_t = -u u_x - u_xx - u_xxxx on [0, L) periodic with L %.17g, "
                 "u at N %d grid points x_j = j L / N", p->size, D);
    else
        snprintf(sys, sizeof sys, "Lorenz-96 x_i' = (x_{i+1} - x_{i-2}) x_{i-1} - x_i + F with N %d, F %g (cyclic)",
                 D, p->forcing);
    snprintf(what, sizeof what, "%s", o->raw ? "raw values" : "each component standardised by the training part");
    snprintf(desc, sizeof desc,
             "%s; %s with dt %g, %g time units of transient discarded, a point every %lld steps (sampling step "
             "%g), %lld points; initial condition seed %llu; largest Lyapunov exponent %.4f per time unit "
             "(Lyapunov time %.4g time units = %.1f points); windows of %d points predict the next state (%s); "
             "first %lld points train, the rest %s",
             sys, ks ? "ETDRK4 (pseudo-spectral)" : "RK4", p->dt, o->transient, (long long)o->sample_every, h, (long long)n, (unsigned long long)o->seed, le,
             1.0 / le, 1.0 / (le * h), o->window, what, (long long)ntrain, o->holdout);
    if ((st = advml_dsw_create(&out, o->out, o->force, err)))
        goto done;
    advml_dsw_meta meta = {"sequences",
                           l63  ? "the Lorenz-63 system (generated by advml-data lorenz63)"
                           : ks ? "the Kuramoto-Sivashinsky equation (generated by advml-data ks)"
                                : "the Lorenz-96 system (generated by advml-data lorenz96)",
                           desc, o->command_line};
    if ((st = advml_dsw_root(out, &meta, err)))
        goto done;
    char tdesc[128];
    snprintf(tdesc, sizeof tdesc, "time after the transient, t_i = i * %g", h);
    if ((st = advml_dsw_series(out, "t", ser, n, tdesc, err)))
        goto done;
    for (int c = 0; c < D; c++) {
        char cd[96];
        if (ks)
            snprintf(cd, sizeof cd, "u(x_%d, t_i), x_%d = %.17g", c, c, p->size * c / D);
        else
            snprintf(cd, sizeof cd, "component %s(t_i) in the system's units", names[c]);
        if ((st = advml_dsw_series(out, names[c], ser + (size_t)(c + 1) * (size_t)n, n, cd, err)))
            goto done;
    }
    char method[320];
    snprintf(method, sizeof method, "Benettin: tangent-linear equations by %s along the trajectory from its first "
             "point, renormalised every step; %g time units to settle, then averaged over %g time units",
             ks ? "the same ETDRK4 stages" : "RK4", settle, o->lyap_time);
    advml_dsw_attr a[32];
    int na = 0;
#define TEXT(nm, v) a[na++] = (advml_dsw_attr){nm, v, 0, 0, NULL, 0}
#define NUM(nm, v) a[na++] = (advml_dsw_attr){nm, NULL, v, 0, NULL, 0}
#define INT(nm, v) a[na++] = (advml_dsw_attr){nm, NULL, (double)(v), 1, NULL, 0}
#define ARR(nm, v) a[na++] = (advml_dsw_attr){nm, NULL, 0, 0, v, (size_t)D}
    TEXT("system", l63 ? "lorenz63" : ks ? "ks" : "lorenz96");
    TEXT("equation", sys);
    if (l63) {
        NUM("sigma", p->sigma);
        NUM("rho", p->rho);
        NUM("beta", p->beta);
    } else if (ks) {
        INT("dim", D);
        INT("points", D);
        NUM("size", p->size);
        TEXT("grid", "x_j = j L / N, j = 0..N-1");
        TEXT("initial_condition", "u0(x) = sum_{k=1..4} a_k cos(2 pi k x / L) + b_k sin(2 pi k x / L), a_k, b_k "
                                  "standard normal from the seed; zero mean");
        TEXT("spatial_discretisation", "pseudo-spectral (Fourier), real DFTs as dense cos/sin matrix products "
                                       "(OpenBLAS), no dealiasing, mean mode held at 0, derivative 0 at the Nyquist "
                                       "wavenumber");
        INT("contour_points", ADVML_KS_CONTOUR_POINTS);
    } else {
        INT("dim", D);
        NUM("forcing", p->forcing);
    }
    TEXT("scheme", ks ? "etdrk4" : "rk4");
    NUM("dt", p->dt);
    INT("sample_every", o->sample_every);
    NUM("sampling_step", h);
    NUM("transient", o->transient);
    INT("seed", o->seed);
    NUM("lyapunov_exponent", le);
    TEXT("lyapunov_exponent_units", "1/time unit");
    NUM("lyapunov_time", 1.0 / le);
    NUM("lyapunov_time_points", 1.0 / (le * h));
    TEXT("lyapunov_method", method);
    NUM("lyapunov_measure_time", o->lyap_time);
    INT("standardized", !o->raw);
    ARR("component_mean", mean);
    ARR("component_std", sd);
#undef TEXT
#undef NUM
#undef INT
#undef ARR
    if ((st = advml_dsw_series_attrs(out, a, na, err)))
        goto done;
    if ((st = write_part(out, "train", vals, D, 0, ntrain, o->window, (const char *const *)names,
                         (const char *const *)tnames, what, err)))
        goto done;
    if (n > ntrain && (st = write_part(out, o->holdout, vals, D, ntrain, n - ntrain, o->window,
                                       (const char *const *)names, (const char *const *)tnames, what, err)))
        goto done;
    st = advml_dsw_commit(&out, err);
done:
    if (st && out)
        advml_error_prefix(err, "%s: ", o->out);
    advml_dsw_abort(out);
    stepper_close(&sp);
    for (int c = 0; names && tnames && c < D; c++) {
        free(names[c]);
        free(tnames[c]);
    }
    free(names);
    free(tnames);
    free(ser);
    free(vals);
    free(x);
    free(mean);
    free(sd);
    return st;
}

/* timeseries.c - the course's sine and oscillator series as windowed datasets (see include/advml/timeseries.h). */
#include "advml/timeseries.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "advml/dataset_write.h"
#include "advml/rng.h"

#define PI 3.14159265358979323846

/* ---- oscillator --------------------------------------------------------------- */

void advml_osc_defaults(advml_osc_params *p)
{
    p->eta = 0.2;
    p->F0 = 1.0;
    p->omega = 0.5;
    p->dt = 0.1;
    p->steps = 2000;
    p->x0 = 1.0;
    p->v0 = 0.0;
    p->euler = 0;
}

static double force(const advml_osc_params *p, double t) { return p->F0 * cos(p->omega * t); }

/* dv/dt = F(t) - eta v - x */
static double accel(const advml_osc_params *p, double t, double x, double v) { return force(p, t) - p->eta * v - x; }

advml_status advml_osc_integrate(const advml_osc_params *p, double *t, double *x, double *v, double *F,
                                 advml_error *err)
{
    if (!(p->dt > 0) || !isfinite(p->dt) || p->steps < 1 || !isfinite(p->eta) || !isfinite(p->F0) ||
        !isfinite(p->omega) || !isfinite(p->x0) || !isfinite(p->v0))
        return advml_error_set(err, ADVML_ERR_ARG,
                               "oscillator: need dt > 0, steps >= 1 and finite eta, F0, omega, x0, v0 "
                               "(got dt %g, steps %lld)", p->dt, (long long)p->steps);
    const double h = p->dt;
    t[0] = 0.0;
    x[0] = p->x0;
    v[0] = p->v0;
    F[0] = force(p, 0.0);
    for (int64_t i = 0; i < p->steps; i++) {
        double ti = (double)i * h, xi = x[i], vi = v[i];
        if (p->euler) {
            x[i + 1] = xi + h * vi;                     /* x_{i+1} = x_i + dt v_i */
            v[i + 1] = vi + h * accel(p, ti, xi, vi);   /* v_{i+1} = v_i + dt (F_i - eta v_i - x_i) */
        } else {
            /* classical RK4 on y = (x, v), y' = (v, F(t) - eta v - x) */
            double k1x = vi, k1v = accel(p, ti, xi, vi);
            double k2x = vi + 0.5 * h * k1v, k2v = accel(p, ti + 0.5 * h, xi + 0.5 * h * k1x, vi + 0.5 * h * k1v);
            double k3x = vi + 0.5 * h * k2v, k3v = accel(p, ti + 0.5 * h, xi + 0.5 * h * k2x, vi + 0.5 * h * k2v);
            double k4x = vi + h * k3v, k4v = accel(p, ti + h, xi + h * k3x, vi + h * k3v);
            x[i + 1] = xi + h / 6.0 * (k1x + 2 * k2x + 2 * k3x + k4x);
            v[i + 1] = vi + h / 6.0 * (k1v + 2 * k2v + 2 * k3v + k4v);
        }
        t[i + 1] = (double)(i + 1) * h;
        F[i + 1] = force(p, t[i + 1]);
    }
    for (int64_t i = 0; i <= p->steps; i++)
        if (!isfinite(x[i]) || !isfinite(v[i]))
            return advml_error_set(err, ADVML_ERR_NUMERIC,
                                   "oscillator: the solution diverges at step %lld (t = %g); use a smaller --dt",
                                   (long long)i, t[i]);
    return ADVML_OK;
}

/* ---- windows -------------------------------------------------------------------- */

int64_t advml_ts_window_count(int64_t n, int w, int pad)
{
    if (w < 1 || n < 1)
        return 0;
    int64_t c = pad ? n : n - w;
    return c > 0 ? c : 0;
}

void advml_ts_windows(const double *const *in, int nf, const double *tg, int64_t n, int w, int pad, float *x,
                      float *y)
{
    int64_t count = advml_ts_window_count(n, w, pad);
    for (int64_t i = 0; i < count; i++) {
        for (int s = 0; s < w; s++) {
            int64_t j = i + s < n ? i + s : n - 1;  /* padding repeats the last value */
            for (int f = 0; f < nf; f++)
                x[((size_t)i * (size_t)w + (size_t)s) * (size_t)nf + (size_t)f] = (float)in[f][j];
        }
        int64_t j = i + w < n ? i + w : n - 1;
        y[i] = (float)tg[j];
    }
}

/* ---- writing windowed splits ------------------------------------------------------ */

typedef struct series_spec {
    int nf;                          /* input series */
    const double *const *in;         /* nf series of n points */
    const char *const *in_names;
    const double *tg;                /* target series */
    const char *tg_name;
    int64_t n, ntrain;               /* points; points in the training part */
    int w, pad, features_layout;
    const char *holdout;
} series_spec;

/* Write the train and holdout splits of windows cut from spec into file. */
static advml_status write_windows(advml_dsw *w, const series_spec *sp, advml_error *err)
{
    int64_t parts[2][2] = {{0, sp->ntrain}, {sp->ntrain, sp->n - sp->ntrain}};
    const char *names[2] = {"train", sp->holdout};
    int nfeat = sp->features_layout ? sp->w * sp->nf : sp->nf;
    char **fnames = calloc((size_t)nfeat, sizeof *fnames);
    if (!fnames)
        return advml_error_set(err, ADVML_ERR_NOMEM, "out of memory");
    advml_status st = ADVML_OK;
    for (int k = 0; k < nfeat && !st; k++) {
        fnames[k] = malloc(48);
        if (!fnames[k]) {
            st = advml_error_set(err, ADVML_ERR_NOMEM, "out of memory");
            break;
        }
        if (sp->features_layout) /* feature k = step s, series f; s steps before the predicted point */
            snprintf(fnames[k], 48, "%s(i-%d)", sp->in_names[k % sp->nf], sp->w - k / sp->nf);
        else
            snprintf(fnames[k], 48, "%s", sp->in_names[k]);
    }
    char tname[48];
    snprintf(tname, sizeof tname, "%s(i)", sp->tg_name);
    const char *tnames[1] = {tname};
    for (int k = 0; k < 2 && !st; k++) {
        int64_t a = parts[k][0], len = parts[k][1];
        if (len == 0)
            continue;
        int64_t count = advml_ts_window_count(len, sp->w, sp->pad);
        float *x = malloc(((size_t)count * (size_t)sp->w * (size_t)sp->nf + 1) * sizeof *x);
        float *y = malloc(((size_t)count + 1) * sizeof *y);
        const double *in[8];
        for (int f = 0; f < sp->nf; f++)
            in[f] = sp->in[f] + a;
        if (!x || !y) {
            st = advml_error_set(err, ADVML_ERR_NOMEM, "out of memory for %lld windows", (long long)count);
        } else {
            advml_ts_windows(in, sp->nf, sp->tg + a, len, sp->w, sp->pad, x, y);
            char d[256];
            snprintf(d, sizeof d, "windows of %d steps cut from series points %lld..%lld; the target is the %s after "
                     "each window%s", sp->w, (long long)a, (long long)(a + len - 1), sp->tg_name,
                     sp->pad ? " (the part's last value repeated to pad the last windows)" : "");
            advml_dsw_split s = {0};
            s.name = names[k];
            s.description = d;
            s.n = count;
            s.sample = sp->features_layout ? advml_shape2(1, sp->w * sp->nf) : advml_shape2(sp->w, sp->nf);
            s.inputs = x;
            s.scale = 1.0;
            s.mean = 0.0;
            s.std = 1.0;
            s.feature_names = (const char *const *)fnames;
            s.n_feature_names = nfeat;
            s.values = y;
            s.target_dim = 1;
            s.target_names = tnames;
            st = advml_dsw_split_write(w, &s, err);
        }
        free(x);
        free(y);
    }
    for (int k = 0; k < nfeat; k++)
        free(fnames[k]);
    free(fnames);
    return st;
}

/* Check that both parts give at least one window. */
static advml_status check_parts(int64_t n, int64_t ntrain, int w, int pad, advml_error *err)
{
    if (w < 1)
        return advml_error_set(err, ADVML_ERR_ARG, "--window %d: must be at least 1", w);
    if (ntrain < 1 || ntrain > n)
        return advml_error_set(err, ADVML_ERR_ARG, "the training part (%lld points) must be between 1 and the series length %lld",
                               (long long)ntrain, (long long)n);
    if (advml_ts_window_count(ntrain, w, pad) < 1)
        return advml_error_set(err, ADVML_ERR_ARG, "the training part of %lld points is too short for windows of %d",
                               (long long)ntrain, w);
    if (n > ntrain && advml_ts_window_count(n - ntrain, w, pad) < 1)
        return advml_error_set(err, ADVML_ERR_ARG, "the held-out part of %lld points is too short for windows of %d",
                               (long long)(n - ntrain), w);
    return ADVML_OK;
}

static advml_status check_holdout(const char *h, advml_error *err)
{
    if (!h || (strcmp(h, "validation") != 0 && strcmp(h, "test") != 0))
        return advml_error_set(err, ADVML_ERR_ARG, "--holdout %s: expected validation or test", h ? h : "(null)");
    return ADVML_OK;
}

/* ---- sine ----------------------------------------------------------------------- */

void advml_sine_defaults(advml_sine_opts *o, int noisy)
{
    memset(o, 0, sizeof *o);
    o->noisy = noisy;
    o->length = 1000;
    o->train = 800;
    o->window = noisy ? 4 : 20;
    o->t_max = 4 * PI;
    o->freq = 0.02;
    o->noise = 2.0;
    o->seed = 1;
    o->holdout = noisy ? "test" : "validation";
    o->features_layout = noisy;
    o->pad = 0;
}

advml_status advml_sine_convert(const advml_sine_opts *o, advml_error *err)
{
    advml_status st;
    if (o->length < 2)
        return advml_error_set(err, ADVML_ERR_ARG, "--length %lld: need at least 2 points", (long long)o->length);
    if ((st = check_holdout(o->holdout, err)) || (st = check_parts(o->length, o->train, o->window, o->pad, err)))
        return st;
    if (!o->noisy && !(o->t_max > 0 && isfinite(o->t_max)))
        return advml_error_set(err, ADVML_ERR_ARG, "--t-max %g: must be positive", o->t_max);
    size_t n = (size_t)o->length;
    double *t = malloc(n * sizeof *t), *x = malloc(n * sizeof *x);
    advml_dsw *out = NULL;
    if (!t || !x) {
        st = advml_error_set(err, ADVML_ERR_NOMEM, "out of memory for %zu points", n);
        goto done;
    }
    advml_rng rng;
    advml_rng_seed(&rng, o->seed);
    for (size_t i = 0; i < n; i++) {
        if (o->noisy) {
            t[i] = (double)i;
            x[i] = sin(o->freq * t[i]) + o->noise * advml_rng_uniform(&rng); /* sin(0.02 t) + 2 U(0,1) */
        } else {
            t[i] = o->t_max * (double)i / (double)(n - 1); /* linspace(0, t_max, n) */
            x[i] = sin(t[i]);
        }
    }
    char desc[512], tdesc[128], xdesc[160];
    if (o->noisy) {
        snprintf(desc, sizeof desc, "noisy sine x = sin(%g t) + %g U(0,1), t = 0..%lld (seed %llu); windows of %d predict "
                 "the next value; first %lld points train, the rest %s", o->freq, o->noise, (long long)n - 1,
                 (unsigned long long)o->seed, o->window, (long long)o->train, o->holdout);
        snprintf(tdesc, sizeof tdesc, "t = 0, 1, ..., %lld", (long long)n - 1);
        snprintf(xdesc, sizeof xdesc, "x = sin(%g t) + %g U(0,1)", o->freq, o->noise);
    } else {
        snprintf(desc, sizeof desc, "clean sine x = sin(t), t = linspace(0, %g, %lld); windows of %d predict the next "
                 "value; first %lld points train, the rest %s", o->t_max, (long long)n, o->window, (long long)o->train,
                 o->holdout);
        snprintf(tdesc, sizeof tdesc, "t = linspace(0, %g, %lld)", o->t_max, (long long)n);
        snprintf(xdesc, sizeof xdesc, "x = sin(t)");
    }
    if ((st = advml_dsw_create(&out, o->out, o->force, err)))
        goto done;
    advml_dsw_meta meta = {"sequences",
                           o->noisy ? "the course's Keras noisy-sine RNN example (generated by advml-data sine --kind noisy)"
                                    : "the course's PyTorch sine RNN example (generated by advml-data sine --kind clean)",
                           desc, o->command_line};
    if ((st = advml_dsw_root(out, &meta, err)) || (st = advml_dsw_series(out, "t", t, o->length, tdesc, err)) ||
        (st = advml_dsw_series(out, "x", x, o->length, xdesc, err)))
        goto done;
    const double *in[1] = {x};
    const char *in_names[1] = {"x"};
    series_spec sp = {1, in, in_names, x, "x", o->length, o->train, o->window, o->pad,
                      o->features_layout, o->holdout};
    if ((st = write_windows(out, &sp, err)))
        goto done;
    st = advml_dsw_commit(&out, err);
done:
    if (st && out)
        advml_error_prefix(err, "%s: ", o->out);
    advml_dsw_abort(out);
    free(t);
    free(x);
    return st;
}

/* ---- oscillator conversion ------------------------------------------------------- */

void advml_osc_opts_defaults(advml_osc_opts *o)
{
    memset(o, 0, sizeof *o);
    advml_osc_defaults(&o->p);
    o->window = 20;
    o->train_fraction = 0.8;
    o->holdout = "validation";
    o->inputs = "x,F";
    o->target = "v";
    o->features_layout = 0;
}

advml_status advml_osc_convert(const advml_osc_opts *o, advml_error *err)
{
    advml_status st;
    if ((st = check_holdout(o->holdout, err)))
        return st;
    if (!(o->train_fraction > 0 && o->train_fraction <= 1))
        return advml_error_set(err, ADVML_ERR_ARG, "--train-fraction %g: must be in (0, 1]", o->train_fraction);
    if (!o->target || (strcmp(o->target, "v") != 0 && strcmp(o->target, "x") != 0))
        return advml_error_set(err, ADVML_ERR_ARG, "--target %s: expected v or x", o->target ? o->target : "(null)");
    if (o->p.steps < 1 || o->p.steps > ((int64_t)1 << 31))
        return advml_error_set(err, ADVML_ERR_ARG, "--steps %lld: must be between 1 and 2^31", (long long)o->p.steps);
    int64_t n = o->p.steps + 1;
    int64_t ntrain = llround(o->train_fraction * (double)n);
    if ((st = check_parts(n, ntrain, o->window, 0, err)))
        return st;
    /* per-step inputs */
    static const char *const all[4] = {"t", "x", "v", "F"};
    int sel[4], nf = 0;
    const char *s = o->inputs ? o->inputs : "";
    while (*s) {
        const char *e = strchr(s, ',');
        size_t len = e ? (size_t)(e - s) : strlen(s);
        int found = -1;
        for (int k = 0; k < 4; k++)
            if (strlen(all[k]) == len && strncmp(all[k], s, len) == 0)
                found = k;
        for (int k = 0; k < nf && found >= 0; k++)
            if (sel[k] == found)
                found = -2;
        if (found < 0)
            return advml_error_set(err, ADVML_ERR_ARG, "--inputs %s: expected a comma list of distinct t, x, v, F",
                                   o->inputs);
        sel[nf++] = found;
        s += len + (e ? 1 : 0);
    }
    if (nf == 0)
        return advml_error_set(err, ADVML_ERR_ARG, "--inputs: at least one of t, x, v, F is needed");

    double *buf = malloc((size_t)n * 4 * sizeof *buf);
    advml_dsw *out = NULL;
    if (!buf)
        return advml_error_set(err, ADVML_ERR_NOMEM, "out of memory for %lld steps", (long long)o->p.steps);
    double *ser[4] = {buf, buf + n, buf + 2 * n, buf + 3 * n}; /* t, x, v, F */
    if ((st = advml_osc_integrate(&o->p, ser[0], ser[1], ser[2], ser[3], err)))
        goto done;
    const char *method = o->p.euler ? "forward Euler" : "RK4";
    char desc[512];
    snprintf(desc, sizeof desc,
             "damped driven oscillator x'' + eta x' + x = F0 cos(omega t) with eta %g, F0 %g, omega %g, x0 %g, v0 %g; "
             "%s, dt %g, %lld steps; windows of %d steps of (%s) predict the next %s; first %lld points train, the "
             "rest %s", o->p.eta, o->p.F0, o->p.omega, o->p.x0, o->p.v0, method, o->p.dt, (long long)o->p.steps,
             o->window, o->inputs, o->target, (long long)ntrain, o->holdout);
    if ((st = advml_dsw_create(&out, o->out, o->force, err)))
        goto done;
    advml_dsw_meta meta = {"sequences", "the course's damped driven oscillator (generated by advml-data oscillator)",
                           desc, o->command_line};
    if ((st = advml_dsw_root(out, &meta, err)) ||
        (st = advml_dsw_series(out, "t", ser[0], n, "time, t_i = i dt", err)) ||
        (st = advml_dsw_series(out, "x", ser[1], n, "position x(t_i)", err)) ||
        (st = advml_dsw_series(out, "v", ser[2], n, "velocity v(t_i) = x'(t_i)", err)) ||
        (st = advml_dsw_series(out, "F", ser[3], n, "driving force F(t_i) = F0 cos(omega t_i)", err)))
        goto done;
    const advml_dsw_attr attrs[] = {{"equation", "x'' + eta x' + x = F0 cos(omega t)", 0, 0, NULL, 0},
                                    {"method", o->p.euler ? "euler" : "rk4", 0, 0, NULL, 0},
                                    {"eta", NULL, o->p.eta, 0, NULL, 0},
                                    {"F0", NULL, o->p.F0, 0, NULL, 0},
                                    {"omega", NULL, o->p.omega, 0, NULL, 0},
                                    {"dt", NULL, o->p.dt, 0, NULL, 0},
                                    {"steps", NULL, (double)o->p.steps, 1, NULL, 0},
                                    {"x0", NULL, o->p.x0, 0, NULL, 0},
                                    {"v0", NULL, o->p.v0, 0, NULL, 0}};
    if ((st = advml_dsw_series_attrs(out, attrs, (int)(sizeof attrs / sizeof attrs[0]), err)))
        goto done;
    const double *in[4];
    const char *in_names[4];
    for (int k = 0; k < nf; k++) {
        in[k] = ser[sel[k]];
        in_names[k] = all[sel[k]];
    }
    series_spec sp = {nf, in, in_names, strcmp(o->target, "v") == 0 ? ser[2] : ser[1],
                      o->target, n, ntrain, o->window, 0, o->features_layout, o->holdout};
    if ((st = write_windows(out, &sp, err)))
        goto done;
    st = advml_dsw_commit(&out, err);
done:
    if (st && out)
        advml_error_prefix(err, "%s: ", o->out);
    advml_dsw_abort(out);
    free(buf);
    return st;
}

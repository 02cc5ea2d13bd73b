/* test_timeseries.c - the oscillator integrators against analytic solutions, windows, and the
 * sine/oscillator dataset files. */
#include "testutil.h"
#include "advml/dataset.h"
#include "advml/h5io.h"
#include "advml/timeseries.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[64];

/* Analytic solution of x'' + eta x' + x = F0 cos(omega t), x(0) = x0, x'(0) = v0, for eta < 2:
 * particular x_p = P cos(omega t) + Q sin(omega t) plus the damped homogeneous part. */
static void exact(const advml_osc_params *p, double t, double *x, double *v)
{
    double w2 = 1.0 - p->omega * p->omega, D = w2 * w2 + p->eta * p->eta * p->omega * p->omega;
    double P = p->F0 * w2 / D, Q = p->F0 * p->eta * p->omega / D;
    double wd = sqrt(1.0 - p->eta * p->eta / 4.0), g = p->eta / 2.0;
    double A = p->x0 - P, B = (p->v0 - p->omega * Q + g * A) / wd;
    double e = exp(-g * t), c = cos(wd * t), s = sin(wd * t);
    *x = e * (A * c + B * s) + P * cos(p->omega * t) + Q * sin(p->omega * t);
    *v = e * (-g * (A * c + B * s) + wd * (-A * s + B * c)) - p->omega * P * sin(p->omega * t) +
         p->omega * Q * cos(p->omega * t);
}

/* Max |x - exact| + |v - exact| over the whole run. */
static double run_error(advml_osc_params p)
{
    size_t n = (size_t)p.steps + 1;
    double *t = malloc(4 * n * sizeof *t), *x = t + n, *v = t + 2 * n, *F = t + 3 * n;
    advml_error err = {0};
    CU_ASSERT_FATAL(advml_osc_integrate(&p, t, x, v, F, &err) == ADVML_OK);
    double e = 0;
    for (size_t i = 0; i < n; i++) {
        double xe, ve;
        exact(&p, t[i], &xe, &ve);
        double d = fabs(x[i] - xe) + fabs(v[i] - ve);
        e = d > e ? d : e;
        if (fabs(F[i] - p.F0 * cos(p.omega * t[i])) > 1e-12)
            e = INFINITY;
    }
    free(t);
    return e;
}

static void t_rk4_undriven(void)
{
    advml_osc_params p;
    advml_osc_defaults(&p);
    p.eta = 0.3;
    p.F0 = 0.0;
    p.x0 = 1.0;
    p.v0 = 0.5;
    p.dt = 0.1;
    p.steps = 200; /* t in [0, 20] */
    double e1 = run_error(p);
    p.dt = 0.05;
    p.steps = 400;
    double e2 = run_error(p);
    printf("\n  RK4 undriven: max error %.3g (dt 0.1), %.3g (dt 0.05), ratio %.2f ", e1, e2, e1 / e2);
    CU_ASSERT(e1 < 1e-5);
    CU_ASSERT(e2 < 5e-7);
    CU_ASSERT(e1 / e2 > 12 && e1 / e2 < 20); /* fourth order: 2^4 = 16 */
}

static void t_rk4_driven(void)
{
    advml_osc_params p;
    advml_osc_defaults(&p); /* eta 0.2, F0 1, omega 0.5, dt 0.1 */
    p.steps = 500;          /* t in [0, 50] */
    double e = run_error(p);
    printf("\n  RK4 driven: max error %.3g ", e);
    CU_ASSERT(e < 1e-5);
}

static void t_euler_first_order(void)
{
    advml_osc_params p;
    advml_osc_defaults(&p);
    p.euler = 1;
    p.eta = 0.3;
    p.F0 = 0.0;
    p.x0 = 1.0;
    p.v0 = 0.5;
    double dt = 0.01, prev = 0;
    printf("\n  Euler errors (t in [0, 5]):");
    for (int k = 0; k < 4; k++, dt /= 2) {
        p.dt = dt;
        p.steps = (int64_t)llround(5.0 / dt);
        double e = run_error(p);
        printf(" %.3g", e);
        if (k > 0) {
            double ratio = prev / e;
            CU_ASSERT(ratio > 1.8 && ratio < 2.2); /* first order: the error halves with dt */
        }
        prev = e;
    }
    printf(" ");
    /* one step by hand: x1 = x0 + dt v0, v1 = v0 + dt (F0 cos 0 - eta v0 - x0) */
    p.dt = 0.25;
    p.steps = 1;
    p.F0 = 0.7;
    double t[2], x[2], v[2], F[2];
    advml_error err = {0};
    CU_ASSERT(advml_osc_integrate(&p, t, x, v, F, &err) == ADVML_OK);
    ADVML_CHECK_CLOSE(x[1], 1.0 + 0.25 * 0.5, 1e-15);
    ADVML_CHECK_CLOSE(v[1], 0.5 + 0.25 * (0.7 - 0.3 * 0.5 - 1.0), 1e-15);
    ADVML_CHECK_CLOSE(F[1], 0.7 * cos(0.5 * 0.25), 1e-15);
    /* bad parameters */
    p.dt = 0;
    CU_ASSERT(advml_osc_integrate(&p, t, x, v, F, &err) == ADVML_ERR_ARG);
    CU_ASSERT(strstr(err.msg, "dt") != NULL);
    /* a diverging Euler run is reported, not stored */
    advml_osc_defaults(&p);
    p.euler = 1;
    p.dt = 5.0;
    p.steps = 2000;
    double *buf = malloc(4 * 2001 * sizeof *buf);
    CU_ASSERT(advml_osc_integrate(&p, buf, buf + 2001, buf + 4002, buf + 6003, &err) == ADVML_ERR_NUMERIC);
    CU_ASSERT(strstr(err.msg, "diverges") != NULL);
    free(buf);
}

static void t_windows(void)
{
    double a[6] = {0, 1, 2, 3, 4, 5}, b[6] = {10, 11, 12, 13, 14, 15};
    const double *in[2] = {a, b};
    CU_ASSERT(advml_ts_window_count(6, 4, 0) == 2);
    CU_ASSERT(advml_ts_window_count(6, 4, 1) == 6);
    CU_ASSERT(advml_ts_window_count(4, 4, 0) == 0);
    float x[6 * 4 * 2], y[6];
    advml_ts_windows(in, 2, a, 6, 4, 0, x, y);
    /* window 1: steps 1..4 of (a, b), target a[5] */
    float want1[8] = {1, 11, 2, 12, 3, 13, 4, 14};
    CU_ASSERT(memcmp(x + 8, want1, sizeof want1) == 0);
    CU_ASSERT(y[0] == 4 && y[1] == 5);
    /* padded: the last value repeats (Keras example) */
    advml_ts_windows(in, 1, b, 6, 4, 1, x, y);
    float want5[4] = {5, 5, 5, 5};
    CU_ASSERT(memcmp(x + 5 * 4, want5, sizeof want5) == 0);
    CU_ASSERT(y[5] == 15 && y[2] == 15 && y[1] == 15 && y[0] == 14);
}

static void path_in(char *buf, size_t n, const char *name) { snprintf(buf, n, "%s/%s", dir, name); }

/* Read /series/NAME (float64) of a file. */
static double *read_series(const char *file, const char *name, hsize_t *n)
{
    hid_t f = H5Fopen(file, H5F_ACC_RDONLY, H5P_DEFAULT);
    char p[64];
    snprintf(p, sizeof p, "series/%s", name);
    hid_t d = H5Dopen2(f, p, H5P_DEFAULT);
    hid_t s = H5Dget_space(d);
    H5Sget_simple_extent_dims(s, n, NULL);
    double *v = malloc(*n * sizeof *v);
    H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v);
    H5Sclose(s);
    H5Dclose(d);
    H5Fclose(f);
    return v;
}

static void t_sine_clean(void)
{
    char out[128];
    path_in(out, sizeof out, "clean.h5");
    advml_sine_opts o;
    advml_sine_defaults(&o, 0);
    o.out = out;
    advml_error err = {0};
    CU_ASSERT_FATAL(advml_sine_convert(&o, &err) == ADVML_OK);
    advml_dataset *ds;
    CU_ASSERT_FATAL(advml_dataset_open(&ds, out, &err) == ADVML_OK);
    advml_split_info tr, va;
    CU_ASSERT_FATAL(advml_dataset_info(ds, "train", &tr, &err) == ADVML_OK);
    CU_ASSERT_FATAL(advml_dataset_info(ds, "validation", &va, &err) == ADVML_OK);
    /* the PyTorch example: len(data) - seq_len windows per part */
    CU_ASSERT(tr.n == 780 && va.n == 180 && !advml_dataset_has_split(ds, "test"));
    CU_ASSERT(tr.is_sequence && tr.input.d[0] == 20 && tr.input.d[1] == 1 && tr.target_dim == 1);
    float x[20], y;
    CU_ASSERT(advml_dataset_read_block(ds, "validation", 5, 1, x, &y, &err) == ADVML_OK);
    double step = 4 * 3.14159265358979323846 / 999;
    for (int s = 0; s < 20; s++)
        ADVML_CHECK_CLOSE(x[s], sin((805 + s) * step), 1e-6);
    ADVML_CHECK_CLOSE(y, sin(825 * step), 1e-6);
    advml_dataset_close(ds);
    hsize_t n;
    double *t = read_series(out, "t", &n);
    CU_ASSERT(n == 1000);
    ADVML_CHECK_CLOSE(t[999], 4 * 3.14159265358979323846, 1e-12);
    free(t);
    /* an existing output is refused without force */
    CU_ASSERT(advml_sine_convert(&o, &err) == ADVML_ERR_IO);
    CU_ASSERT(strstr(err.msg, "--force") != NULL);
}

static void t_sine_noisy(void)
{
    char out[128], out2[128];
    path_in(out, sizeof out, "noisy.h5");
    path_in(out2, sizeof out2, "noisy_pad.h5");
    advml_sine_opts o;
    advml_sine_defaults(&o, 1);
    o.out = out;
    advml_error err = {0};
    CU_ASSERT_FATAL(advml_sine_convert(&o, &err) == ADVML_OK);
    o.out = out2;
    o.pad = 1;
    CU_ASSERT_FATAL(advml_sine_convert(&o, &err) == ADVML_OK);
    advml_dataset *ds, *dp;
    CU_ASSERT_FATAL(advml_dataset_open(&ds, out, &err) == ADVML_OK);
    CU_ASSERT_FATAL(advml_dataset_open(&dp, out2, &err) == ADVML_OK);
    advml_split_info tr, te;
    CU_ASSERT(advml_dataset_info(ds, "train", &tr, &err) == ADVML_OK);
    CU_ASSERT(advml_dataset_info(ds, "test", &te, &err) == ADVML_OK);
    CU_ASSERT(tr.n == 796 && te.n == 196);
    CU_ASSERT(tr.input.d[0] == 1 && tr.input.d[1] == 4); /* one step of 4 features, as Keras */
    CU_ASSERT(advml_dataset_info(dp, "train", &tr, &err) == ADVML_OK);
    CU_ASSERT(advml_dataset_info(dp, "test", &te, &err) == ADVML_OK);
    CU_ASSERT(tr.n == 800 && te.n == 200); /* the Keras example's counts */
    hsize_t n;
    double *x = read_series(out, "x", &n);
    CU_ASSERT(n == 1000);
    int ok = 1;
    for (hsize_t i = 0; i < n; i++) {
        double noise = x[i] - sin(0.02 * (double)i);
        ok &= noise >= 0 && noise < 2;
    }
    CU_ASSERT(ok);
    float w[4], y;
    CU_ASSERT(advml_dataset_read_block(dp, "test", 199, 1, w, &y, &err) == ADVML_OK);
    for (int s = 0; s < 4; s++)
        ADVML_CHECK_CLOSE(w[s], x[999], 1e-6);
    CU_ASSERT(advml_dataset_read_block(ds, "train", 10, 1, w, &y, &err) == ADVML_OK);
    ADVML_CHECK_CLOSE(w[0], x[10], 1e-6);
    ADVML_CHECK_CLOSE(y, x[14], 1e-6);
    free(x);
    advml_dataset_close(ds);
    advml_dataset_close(dp);
    /* the same seed gives the same series; windows too long are refused */
    o.force = 1;
    o.pad = 0;
    CU_ASSERT(advml_sine_convert(&o, &err) == ADVML_OK);
    double *x2 = read_series(out2, "x", &n), *x1 = read_series(out, "x", &n);
    CU_ASSERT(memcmp(x1, x2, n * sizeof *x1) == 0);
    free(x1);
    free(x2);
    o.window = 200;
    CU_ASSERT(advml_sine_convert(&o, &err) == ADVML_ERR_ARG);
    CU_ASSERT(strstr(err.msg, "too short for windows of 200") != NULL);
    o.window = 4;
    o.train = 1001;
    CU_ASSERT(advml_sine_convert(&o, &err) == ADVML_ERR_ARG);
    o.train = 800;
    o.holdout = "dev";
    CU_ASSERT(advml_sine_convert(&o, &err) == ADVML_ERR_ARG);
}

static void t_oscillator_file(void)
{
    char out[128];
    path_in(out, sizeof out, "osc.h5");
    advml_osc_opts o;
    advml_osc_opts_defaults(&o);
    o.out = out;
    advml_error err = {0};
    CU_ASSERT_FATAL(advml_osc_convert(&o, &err) == ADVML_OK);
    hsize_t n;
    double *x = read_series(out, "x", &n), *v = read_series(out, "v", &n), *F = read_series(out, "F", &n);
    CU_ASSERT(n == 2001);
    advml_dataset *ds;
    CU_ASSERT_FATAL(advml_dataset_open(&ds, out, &err) == ADVML_OK);
    advml_split_info tr, va;
    CU_ASSERT(advml_dataset_info(ds, "train", &tr, &err) == ADVML_OK);
    CU_ASSERT(advml_dataset_info(ds, "validation", &va, &err) == ADVML_OK);
    CU_ASSERT(tr.n == 1601 - 20 && va.n == 400 - 20);
    CU_ASSERT(tr.input.d[0] == 20 && tr.input.d[1] == 2 && tr.target_dim == 1);
    float w[40], y;
    CU_ASSERT(advml_dataset_read_block(ds, "validation", 3, 1, w, &y, &err) == ADVML_OK);
    for (int s = 0; s < 20; s++) {
        ADVML_CHECK_CLOSE(w[2 * s], x[1601 + 3 + s], 1e-6);
        ADVML_CHECK_CLOSE(w[2 * s + 1], F[1601 + 3 + s], 1e-6);
    }
    ADVML_CHECK_CLOSE(y, v[1601 + 23], 1e-6);
    advml_dataset_close(ds);
    free(x);
    free(v);
    free(F);
    /* the series group records the parameters */
    hid_t f = H5Fopen(out, H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t g = H5Gopen2(f, "series", H5P_DEFAULT);
    char *m = NULL;
    double eta = 0;
    CU_ASSERT(advml_h5_read_attr_string(g, "method", &m, &err) == ADVML_OK && m && strcmp(m, "rk4") == 0);
    CU_ASSERT(advml_h5_read_attr_double(g, "eta", &eta, &err) == ADVML_OK && eta == 0.2);
    free(m);
    H5Gclose(g);
    H5Fclose(f);
    /* target x, inputs v only, bad lists */
    o.force = 1;
    o.target = "x";
    o.inputs = "v";
    o.p.euler = 1;
    o.p.dt = 0.01;
    CU_ASSERT(advml_osc_convert(&o, &err) == ADVML_OK);
    o.inputs = "x,x";
    CU_ASSERT(advml_osc_convert(&o, &err) == ADVML_ERR_ARG);
    o.inputs = "x,a";
    CU_ASSERT(advml_osc_convert(&o, &err) == ADVML_ERR_ARG);
    CU_ASSERT(strstr(err.msg, "--inputs") != NULL);
    o.inputs = "x";
    o.target = "F";
    CU_ASSERT(advml_osc_convert(&o, &err) == ADVML_ERR_ARG);
    o.target = "v";
    o.train_fraction = 1.5;
    CU_ASSERT(advml_osc_convert(&o, &err) == ADVML_ERR_ARG);
}

static void reg(void)
{
    advml_h5_quiet();
    static const advml_test_case c[] = {{"rk4_undriven", t_rk4_undriven},
                                        {"rk4_driven", t_rk4_driven},
                                        {"euler_first_order", t_euler_first_order},
                                        {"windows", t_windows},
                                        {"sine_clean", t_sine_clean},
                                        {"sine_noisy", t_sine_noisy},
                                        {"oscillator_file", t_oscillator_file},
                                        {NULL, NULL}};
    advml_test_add_suite("timeseries", c);
}

int main(void) { return advml_test_main_in_dir(reg, "ts_test", dir, sizeof dir); }

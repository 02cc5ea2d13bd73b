/* timeseries.h - the course's time series: two sine setups and the damped
 * driven oscillator, and their conversion into windowed sequence datasets.
 *
 * A series is cut at a split point into a training part and a held-out part
 * (as the course does: windows never straddle the cut). A window of W values
 * starting at i has inputs i..i+W-1 and predicts the value at i+W. Inputs are
 * stored (N, W, F) ("steps": W time steps of F features, as the PyTorch sine
 * example) or (N, 1, W*F) ("features": one time step, as the Keras noisy sine).
 */
#ifndef ADVML_TIMESERIES_H
#define ADVML_TIMESERIES_H

#include <stdint.h>
#include "advml/status.h"

/* ---- damped driven oscillator  x'' + eta x' + x = F0 cos(omega t) ---------- */

typedef struct advml_osc_params {
    double eta;      /* damping */
    double F0;       /* driving amplitude */
    double omega;    /* driving angular frequency */
    double dt;       /* time step */
    int64_t steps;   /* steps taken: the series has steps + 1 points, t = 0, dt, ... */
    double x0, v0;   /* initial position and velocity */
    int euler;       /* 1: forward Euler (the course's scheme), 0: classical RK4 */
} advml_osc_params;

/* Defaults: eta 0.2, F0 1, omega 0.5, dt 0.1, steps 2000, x0 1, v0 0, RK4. */
void advml_osc_defaults(advml_osc_params *p);

/* Integrate v = x', v' = F(t) - eta v - x into t, x, v, F (each steps + 1
 * values, caller-owned). Forward Euler: x_{i+1} = x_i + dt v_i,
 * v_{i+1} = v_i + dt (F_i - eta v_i - x_i). ADVML_ERR_ARG for dt <= 0,
 * steps < 1 or non-finite parameters. */
advml_status advml_osc_integrate(const advml_osc_params *p, double *t, double *x, double *v, double *F,
                                 advml_error *err);

/* ---- windows ------------------------------------------------------------------ */

/* Number of windows of length w in a part of n points: n - w (or n with pad). */
int64_t advml_ts_window_count(int64_t n, int w, int pad);

/* Cut windows from a part of n points with nf input series in[f][0..n) and
 * one target series tg[0..n): window i gets inputs in[f][i+s] (s = 0..w-1) in
 * x (i, s, f) order and target tg[i+w]. With pad the part is extended by
 * repeating its last value w times (the Keras noisy-sine example), giving n
 * windows. x: (count, w, nf), y: (count), both caller-owned. */
void advml_ts_windows(const double *const *in, int nf, const double *tg, int64_t n, int w, int pad, float *x,
                      float *y);

/* ---- conversions ---------------------------------------------------------------- */

typedef struct advml_sine_opts {
    const char *out;           /* output .h5 */
    int force;
    const char *command_line;  /* recorded in the file (may be NULL) */
    int noisy;                 /* 0: sin(t), t = linspace(0, t_max, length); 1: sin(freq t) + noise U(0,1), t = 0..length-1 */
    int64_t length;            /* points (1000) */
    int64_t train;             /* points in the training part (800) */
    int window;                /* 20 clean, 4 noisy */
    double t_max;              /* clean: 4 pi */
    double freq;               /* noisy: 0.02 */
    double noise;              /* noisy: amplitude of the U(0,1) noise (2) */
    uint64_t seed;             /* noisy: noise stream */
    const char *holdout;       /* split name of the rest: "validation" (clean) or "test" (noisy) */
    int features_layout;       /* 1: (N, 1, W) (noisy default), 0: (N, W, 1) (clean default) */
    int pad;                   /* repeat the last value of each part W times (Keras example) */
} advml_sine_opts;

/* The course's setups: noisy = 0 for the PyTorch clean sine, 1 for the Keras noisy sine. */
void advml_sine_defaults(advml_sine_opts *o, int noisy);
advml_status advml_sine_convert(const advml_sine_opts *o, advml_error *err);

typedef struct advml_osc_opts {
    const char *out;
    int force;
    const char *command_line;
    advml_osc_params p;
    int window;                /* 20 */
    double train_fraction;     /* share of the series points in the training part (0.8) */
    const char *holdout;       /* "validation" */
    const char *inputs;        /* comma list of t, x, v, F: the per-step inputs ("x,F") */
    const char *target;        /* "v" or "x": the value after the window ("v") */
    int features_layout;       /* see advml_sine_opts (0) */
} advml_osc_opts;

void advml_osc_opts_defaults(advml_osc_opts *o);
advml_status advml_osc_convert(const advml_osc_opts *o, advml_error *err);

#endif

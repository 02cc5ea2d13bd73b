/* chaos.h - chaotic systems (Lorenz-63, Lorenz-96, Kuramoto-Sivashinsky) as sequence datasets, with
 * their largest Lyapunov exponent, so forecasts can be timed in Lyapunov
 * times (docs/hdf5-layout.md, "Chaotic systems").
 *
 *   Lorenz-63:  x' = sigma (y - x),  y' = x (rho - z) - y,  z' = x y - beta z
 *   Lorenz-96:  x_i' = (x_{i+1} - x_{i-2}) x_{i-1} - x_i + F,  i = 0..N-1 cyclic
 *
 *   Kuramoto-Sivashinsky: u_t = -u u_x - u_xx - u_xxxx on [0, L) periodic,
 *               the state u at N grid points (include/advml/ks.h)
 *
 * The Lorenz systems are integrated with the classical fourth-order Runge-Kutta
 * scheme at a fixed step dt, Kuramoto-Sivashinsky with ETDRK4 (advml/ks.h). The
 * largest Lyapunov exponent is computed by Benettin's method on the
 * tangent-linear equations: the state and one tangent vector v (v' = J(x) v,
 * J the Jacobian) advance together by the same scheme, v is renormalised to
 * length 1 after every step, and the exponent is the mean of log |v| per unit
 * time over the measuring time (after a settling time that aligns v with the
 * most unstable direction).
 */
#ifndef ADVML_CHAOS_H
#define ADVML_CHAOS_H

#include <stddef.h>
#include <stdint.h>
#include "advml/status.h"

typedef enum advml_chaos_system { ADVML_LORENZ63 = 0, ADVML_LORENZ96 = 1, ADVML_KS = 2 } advml_chaos_system;

/* The maximum Lorenz-96 dimension (the dataset has one series per component). */
#define ADVML_CHAOS_MAX_DIM 4096

typedef struct advml_chaos_params {
    advml_chaos_system system;
    double sigma, rho, beta;   /* Lorenz-63 (10, 28, 8/3) */
    int dim;                   /* state dimension: 3 for Lorenz-63, N for Lorenz-96 (40), grid points for KS (64) */
    double forcing;            /* Lorenz-96 F (8) */
    double size;               /* Kuramoto-Sivashinsky domain length L (22) */
    double dt;                 /* RK4 step (0.01); ETDRK4 step for KS (0.25) */
} advml_chaos_params;

/* The classical settings: Lorenz-63 sigma 10, rho 28, beta 8/3; Lorenz-96
 * N 40, F 8; dt 0.01 for both; Kuramoto-Sivashinsky L 22, 64 points, dt 0.25. */
void advml_chaos_defaults(advml_chaos_params *p, advml_chaos_system s);

/* ADVML_ERR_ARG with a message naming the flag for a bad setting: dt not in
 * (0, 1], non-finite parameters, a Lorenz-96 dimension outside 4..4096, KS
 * grid points odd or outside 8..1024, a KS domain length not positive. */
advml_status advml_chaos_check(const advml_chaos_params *p, advml_error *err);

/* dx = f(x), (dim) each. Lorenz systems only (KS: advml/ks.h). */
void advml_chaos_rhs(const advml_chaos_params *p, const double *x, double *dx);

/* Jv = J(x) v, the tangent-linear equations. Lorenz systems only. */
void advml_chaos_jvp(const advml_chaos_params *p, const double *x, const double *v, double *jv);

/* Advance x (dim) by `steps` RK4 steps of h (tangent == NULL) or, with a
 * tangent vector v (dim), x and v together (v by the RK4 of v' = J(x) v
 * along the same stages). work: caller-owned scratch of 6 * dim doubles.
 * Lorenz systems only (KS: advml_ks_advance). */
void advml_chaos_rk4(const advml_chaos_params *p, double *x, double *v, double h, int64_t steps, double *work);

/* A seeded initial state near the attractor: Lorenz-63 (x, y, z) =
 * (U(-10, 10), U(-10, 10), U(10, 40)); Lorenz-96 x_i = F + U(-1, 1);
 * KS advml_ks_initial (four random low Fourier modes, zero mean). */
void advml_chaos_initial(const advml_chaos_params *p, uint64_t seed, double *x);

/* The largest Lyapunov exponent (per unit time) along the trajectory from x
 * (dim, not changed): settle time units to align the tangent vector (seeded,
 * random direction), then measure over time units. ADVML_ERR_ARG for
 * non-positive times; ADVML_ERR_NUMERIC when the trajectory blows up;
 * ADVML_ERR_NOMEM. */
advml_status advml_chaos_lyapunov(const advml_chaos_params *p, const double *x, double settle, double time,
                                  uint64_t seed, double *le, advml_error *err);

/* ---- the dataset --------------------------------------------------------------- */

typedef struct advml_chaos_opts {
    const char *out;
    int force;
    const char *command_line;   /* recorded in the file (may be NULL) */
    advml_chaos_params p;
    uint64_t seed;              /* seed of the initial condition (1) */
    double transient;           /* time units integrated and discarded first (100) */
    int64_t sample_every;       /* steps per stored point (1): sampling step sample_every * dt */
    int64_t length;             /* stored points (10000) */
    int window;                 /* window length in points (20) */
    double train_fraction;      /* share of the points in the training part (0.8) */
    const char *holdout;        /* split of the rest: "validation" or "test" ("validation") */
    int raw;                    /* 1: windows in the system's units; 0: each component standardised with
                                 * the mean and std of the training part (default) */
    double lyap_time;           /* time units over which the exponent is measured (1000; KS 10000) */
} advml_chaos_opts;

void advml_chaos_opts_defaults(advml_chaos_opts *o, advml_chaos_system s);

/* Integrate, measure the Lyapunov exponent, and write the dataset: /series
 * (t and every component, raw, float64, with the attributes that describe the
 * run), /train and /<holdout> windows of `window` points of all components
 * predicting the next point (steps layout (N, W, D), features "x", "y", "z",
 * "x0".."x{N-1}" or, for KS, "u0".."u{N-1}", targets "NAME(i)"). */
advml_status advml_chaos_convert(const advml_chaos_opts *o, advml_error *err);

#endif

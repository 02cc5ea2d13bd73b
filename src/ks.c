/* ks.c - Kuramoto-Sivashinsky by ETDRK4 with dense-matrix real DFTs
 * (include/advml/ks.h). */
#include "advml/ks.h"

#include <cblas.h>
#include <complex.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "advml/rng.h"

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

struct advml_ks {
    int n, m;          /* grid points; wavenumbers k = 0..n/2 */
    double size, dt;
    /* owned: one block, the views below point into it */
    double *block;
    double *fwd;       /* (2m, n) row k: cos(2 pi j k / n); row m + k: -sin(2 pi j k / n) */
    double *inv;       /* (n, 2m) u_j = sum over the 2m parts: c_k / n cos, -c_k / n sin (c_k 1 at 0, n/2; else 2) */
    double *dq;        /* (2m) the derivative's q_k / 2, per part (0 at k = 0 and n/2) */
    double *e, *e2;    /* (2m) exp(h L_k), exp(h L_k / 2), per part */
    double *q, *f1, *f2, *f3; /* (2m) the ETDRK4 coefficients (Kassam-Trefethen's Q, f1, f2, f3), per part */
    double *s;         /* (2, 2m) the state and tangent in Fourier space */
    double *nv, *a, *na, *b, *nb, *c, *nc; /* (2, 2m) each: the stages and their nonlinear parts */
    double *phys, *prod; /* (2, n) grid values of the stage; u^2 and u v */
};

advml_status advml_ks_check(int n, double size, double dt, advml_error *err)
{
    if (n < ADVML_KS_MIN_POINTS || n > ADVML_KS_MAX_POINTS || n % 2 != 0)
        return advml_error_set(err, ADVML_ERR_ARG, "--points %d: Kuramoto-Sivashinsky needs an even number of grid "
                               "points between %d and %d", n, ADVML_KS_MIN_POINTS, ADVML_KS_MAX_POINTS);
    if (!(size > 0 && isfinite(size)))
        return advml_error_set(err, ADVML_ERR_ARG, "--size %g: the domain length must be positive and finite", size);
    if (!(dt > 0 && dt <= 1))
        return advml_error_set(err, ADVML_ERR_ARG, "--dt %g: the ETDRK4 step must be in (0, 1]", dt);
    return ADVML_OK;
}

void advml_ks_free(advml_ks *k)
{
    if (!k)
        return;
    free(k->block);
    free(k);
}

advml_status advml_ks_create(advml_ks **out, int n, double size, double dt, advml_error *err)
{
    *out = NULL;
    advml_status st = advml_ks_check(n, size, dt, err);
    if (st)
        return st;
    advml_ks *k = calloc(1, sizeof *k);
    const int m = n / 2 + 1, p = 2 * m;
    size_t total = (size_t)p * (size_t)n * 2 + (size_t)p * 7 + (size_t)2 * p * 8 + (size_t)2 * n * 2;
    if (k)
        k->block = malloc(total * sizeof *k->block);
    if (!k || !k->block) {
        advml_ks_free(k);
        return advml_error_set(err, ADVML_ERR_NOMEM, "out of memory for the Kuramoto-Sivashinsky transforms (%d points)",
                               n);
    }
    k->n = n;
    k->m = m;
    k->size = size;
    k->dt = dt;
    double *w = k->block;
#define TAKE(ptr, count) (ptr = w, w += (count))
    TAKE(k->fwd, (size_t)p * n);
    TAKE(k->inv, (size_t)n * p);
    TAKE(k->dq, p);
    TAKE(k->e, p);
    TAKE(k->e2, p);
    TAKE(k->q, p);
    TAKE(k->f1, p);
    TAKE(k->f2, p);
    TAKE(k->f3, p);
    TAKE(k->s, 2 * p);
    TAKE(k->nv, 2 * p);
    TAKE(k->a, 2 * p);
    TAKE(k->na, 2 * p);
    TAKE(k->b, 2 * p);
    TAKE(k->nb, 2 * p);
    TAKE(k->c, 2 * p);
    TAKE(k->nc, 2 * p);
    TAKE(k->phys, 2 * n);
    TAKE(k->prod, 2 * n);
#undef TAKE
    for (int kk = 0; kk < m; kk++) {
        const double ck = (kk == 0 || 2 * kk == n) ? 1.0 : 2.0;
        for (int j = 0; j < n; j++) {
            int r = (int)(((long)j * kk) % n); /* reduced exactly, so the angles are accurate */
            double cs = cos(2.0 * M_PI * r / n), sn = (kk == 0 || 2 * kk == n) ? 0.0 : sin(2.0 * M_PI * r / n);
            k->fwd[(size_t)kk * n + j] = cs;
            k->fwd[(size_t)(m + kk) * n + j] = -sn;
            k->inv[(size_t)j * p + kk] = ck * cs / n;
            k->inv[(size_t)j * p + m + kk] = -ck * sn / n;
        }
    }
    /* the ETDRK4 coefficients by the contour integral: the mean of f(h L + r) over 64 points r on the unit circle */
    for (int kk = 0; kk < m; kk++) {
        const double qk = 2.0 * M_PI * kk / size, lk = qk * qk - qk * qk * qk * qk;
        double complex sq = 0, s1 = 0, s2 = 0, s3 = 0;
        for (int j = 0; j < ADVML_KS_CONTOUR_POINTS; j++) {
            double complex r = cexp(I * 2.0 * M_PI * (j + 0.5) / ADVML_KS_CONTOUR_POINTS);
            double complex z = dt * lk + r, ez = cexp(z), z3 = z * z * z;
            sq += (cexp(z / 2) - 1.0) / z;
            s1 += (-4.0 - z + ez * (4.0 - 3.0 * z + z * z)) / z3;
            s2 += (2.0 + z + ez * (-2.0 + z)) / z3;
            s3 += (-4.0 - 3.0 * z - z * z + ez * (4.0 - z)) / z3;
        }
        const double inv_m = 1.0 / ADVML_KS_CONTOUR_POINTS;
        for (int part = 0; part < 2; part++) {
            int i = part * m + kk;
            k->dq[i] = (kk == 0 || 2 * kk == n) ? 0.0 : 0.5 * qk;
            k->e[i] = exp(dt * lk);
            k->e2[i] = exp(dt * lk / 2);
            k->q[i] = dt * creal(sq) * inv_m;
            k->f1[i] = dt * creal(s1) * inv_m;
            k->f2[i] = dt * creal(s2) * inv_m;
            k->f3[i] = dt * creal(s3) * inv_m;
        }
    }
    *out = k;
    return ADVML_OK;
}

/* The nonlinear parts of the `rows` (1 or 2) Fourier vectors x (rows, 2m):
 * row 0: -i q / 2 FFT(u^2); row 1: -i q FFT(u v), u and v the grid values. */
static void nonlinear(advml_ks *k, const double *x, double *out, int rows)
{
    const int n = k->n, m = k->m, p = 2 * m;
    /* phys (rows, n) = x (rows, 2m) inv^T */
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, n, p, 1.0, x, p, k->inv, p, 0.0, k->phys, n);
    for (int j = 0; j < n; j++) {
        k->prod[j] = k->phys[j] * k->phys[j];
        if (rows == 2)
            k->prod[n + j] = 2.0 * k->phys[j] * k->phys[n + j]; /* 2: the factor 1/2 of dq is for u^2 only */
    }
    /* out (rows, 2m) = prod (rows, n) fwd^T */
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, p, n, 1.0, k->prod, n, k->fwd, n, 0.0, out, p);
    /* times -i q/2: (re, im) -> (q/2 im, -q/2 re) */
    for (int r = 0; r < rows; r++) {
        double *o = out + (size_t)r * p;
        for (int kk = 0; kk < m; kk++) {
            double re = o[kk], im = o[m + kk];
            o[kk] = k->dq[kk] * im;
            o[m + kk] = -k->dq[kk] * re;
        }
    }
}

static void to_fourier(advml_ks *k, const double *u, double *x)
{
    const int n = k->n, m = k->m;
    cblas_dgemv(CblasRowMajor, CblasNoTrans, 2 * m, n, 1.0, k->fwd, n, u, 1, 0.0, x, 1);
    x[0] = 0.0;         /* the mean mode */
    x[m] = 0.0;         /* imaginary parts of k = 0 and n/2 are 0 for real u */
    x[m + n / 2] = 0.0;
}

static void to_grid(advml_ks *k, const double *x, double *u)
{
    const int n = k->n, p = 2 * k->m;
    cblas_dgemv(CblasRowMajor, CblasNoTrans, n, p, 1.0, k->inv, p, x, 1, 0.0, u, 1);
}

void advml_ks_advance(advml_ks *k, double *u, double *v, int64_t steps)
{
    const int p = 2 * k->m, rows = v ? 2 : 1, len = rows * p;
    double *s = k->s;
    to_fourier(k, u, s);
    if (v)
        to_fourier(k, v, s + p);
    for (int64_t t = 0; t < steps; t++) {
        nonlinear(k, s, k->nv, rows);
        for (int i = 0; i < len; i++)
            k->a[i] = k->e2[i % p] * s[i] + k->q[i % p] * k->nv[i];
        nonlinear(k, k->a, k->na, rows);
        for (int i = 0; i < len; i++)
            k->b[i] = k->e2[i % p] * s[i] + k->q[i % p] * k->na[i];
        nonlinear(k, k->b, k->nb, rows);
        for (int i = 0; i < len; i++)
            k->c[i] = k->e2[i % p] * k->a[i] + k->q[i % p] * (2.0 * k->nb[i] - k->nv[i]);
        nonlinear(k, k->c, k->nc, rows);
        for (int i = 0; i < len; i++) {
            int c = i % p;
            s[i] = k->e[c] * s[i] + k->f1[c] * k->nv[i] + 2.0 * k->f2[c] * (k->na[i] + k->nb[i]) +
                   k->f3[c] * k->nc[i];
        }
    }
    to_grid(k, s, u);
    if (v)
        to_grid(k, s + p, v);
}

void advml_ks_initial(int n, double size, uint64_t seed, double *u)
{
    advml_rng r;
    advml_rng_seed(&r, seed);
    double a[4], b[4];
    for (int kk = 0; kk < 4; kk++) {
        a[kk] = advml_rng_normal(&r);
        b[kk] = advml_rng_normal(&r);
    }
    for (int j = 0; j < n; j++) {
        double x = size * j / n, s = 0;
        for (int kk = 0; kk < 4; kk++) {
            double arg = 2.0 * M_PI * (kk + 1) * x / size;
            s += a[kk] * cos(arg) + b[kk] * sin(arg);
        }
        u[j] = s;
    }
}

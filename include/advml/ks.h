/* ks.h - the Kuramoto-Sivashinsky equation
 *
 *   u_t = -u u_x - u_xx - u_xxxx   on [0, L), periodic,
 *
 * on n grid points x_j = j L / n (n even), pseudo-spectral in Fourier space,
 * advanced by ETDRK4 (Cox & Matthews, J. Comput. Phys. 176, 2002) with the
 * phi-function coefficients evaluated by the contour integral of Kassam &
 * Trefethen (SIAM J. Sci. Comput. 26, 2005) on 64 points of a circle of
 * radius 1 around each h L_k. used by src/chaos.c (advml-data ks).
 *
 * Fourier representation (numpy.fft.rfft's convention): for the m = n/2 + 1
 * wavenumbers k = 0..n/2 (q_k = 2 pi k / L) the real and imaginary parts of
 * U_k = sum_j u_j exp(-2 pi i j k / n). There is no FFT library among advml's
 * dependencies: the transforms are dense products with cos/sin matrices
 * ((2m, n) and (n, 2m), built once) by OpenBLAS dgemm, O(n^2) each; a step
 * takes 4 stages of one inverse and one forward transform per state vector
 * (16 n (n + 2) flops for the state, twice that with the tangent vector).
 *
 * Linear part L_k = q_k^2 - q_k^4 (Nyquist mode included). Nonlinear part
 * -u u_x = -(u^2)_x / 2, i.e. -i q_k / 2 * FFT(u^2)_k, with the derivative
 * taken as 0 at the Nyquist wavenumber k = n/2 (as numpy and Kassam-Trefethen
 * do), so that mode only decays. No dealiasing (as Kassam-Trefethen). The
 * mean mode k = 0 is held at 0: the equation conserves the mean, and the
 * transform into Fourier space drops whatever mean the physical values carry.
 *
 * The tangent-linear equation v_t = -v_xx - v_xxxx - (u v)_x is advanced by the
 * same ETDRK4 stages alongside u (the nonlinear part -i q_k FFT(u v)_k at each
 * stage's u and v), which makes v exactly the derivative of the discrete step.
 */
#ifndef ADVML_KS_H
#define ADVML_KS_H

#include <stdint.h>
#include "advml/status.h"

#define ADVML_KS_MIN_POINTS 8
#define ADVML_KS_MAX_POINTS 1024
#define ADVML_KS_CONTOUR_POINTS 64

typedef struct advml_ks advml_ks;

/* ADVML_ERR_ARG naming the flag: --points not even or outside 8..1024,
 * --size not positive and finite, --dt not in (0, 1]. */
advml_status advml_ks_check(int n, double size, double dt, advml_error *err);

/* Build the transforms and the ETDRK4 coefficients for step dt. *out is owned
 * by the caller (advml_ks_free). */
advml_status advml_ks_create(advml_ks **out, int n, double size, double dt, advml_error *err);
void advml_ks_free(advml_ks *k);

/* Advance u (n grid values) by `steps` steps; with v != NULL (n) also the
 * tangent vector. Both enter and leave in grid values; their means are set
 * to 0 on entry. */
void advml_ks_advance(advml_ks *k, double *u, double *v, int64_t steps);

/* The seeded zero-mean initial state u(x) = sum_{k=1..4} a_k cos(2 pi k x / L)
 * + b_k sin(2 pi k x / L) with a_k, b_k standard normal, on the n points. */
void advml_ks_initial(int n, double size, uint64_t seed, double *u);

#endif

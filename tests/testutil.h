/* testutil.h - shared helpers for the CUnit suites. */
#ifndef ADVML_TESTUTIL_H
#define ADVML_TESTUTIL_H

#include <stddef.h>
#include <CUnit/CUnit.h>
#include "advml/rng.h"

/* Run the suites that register() adds; prints CUnit's basic report and
 * returns 0 only if every test ran and no assertion failed. Use as
 * `int main(void) { return advml_test_main(register_suites); }`. */
int advml_test_main(void (*register_suites)(void));

/* Add a suite with the NULL-terminated list of (name, fn) pairs. */
typedef struct { const char *name; void (*fn)(void); } advml_test_case;
void advml_test_add_suite(const char *suite, const advml_test_case *cases);

/* Fill x[0..n) with uniform values in [lo, hi) from rng. */
void advml_test_fill_uniform(float *x, size_t n, float lo, float hi, advml_rng *rng);

/* Central finite-difference check of an analytic gradient.
 * For each i in [0, n): perturbs x[i] by +-h (restoring it afterwards),
 * evaluates f(ctx) (a double), and compares (f+ - f-)/(2h) with grad[i].
 * The error of entry i is |num - ana| / max(floor, |num|, |ana|).
 * Returns the largest error and, when worst is non-NULL, its index. Prints the
 * worst entry when the error exceeds tol (to help a failing test). */
double advml_gradcheck(const char *what, float *x, const float *grad, size_t n,
                       double (*f)(void *ctx), void *ctx, double h, double floor, double tol,
                       size_t *worst);

/* Max |a - b| over n entries. */
double advml_max_abs_diff(const float *a, const float *b, size_t n);

/* CU_ASSERT with a printed message on failure (CUnit's own is terse). */
#define ADVML_CHECK_CLOSE(actual, expected, tol)                                          \
    do {                                                                                   \
        double a_ = (double)(actual), e_ = (double)(expected);                             \
        int ok_ = (a_ - e_ <= (tol)) && (e_ - a_ <= (tol));                                \
        if (!ok_)                                                                          \
            fprintf(stderr, "  %s:%d: %s = %.9g, expected %.9g (tol %g)\n", __FILE__,      \
                    __LINE__, #actual, a_, e_, (double)(tol));                             \
        CU_ASSERT(ok_);                                                                    \
    } while (0)

#endif

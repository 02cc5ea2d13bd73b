/* testutil.h - shared helpers for the CUnit suites. */
#ifndef ADVML_TESTUTIL_H
#define ADVML_TESTUTIL_H

#include <stddef.h>
#include <CUnit/CUnit.h>
#include "advml/model.h"
#include "advml/rng.h"

/* Run the suites that register() adds; prints CUnit's basic report and
 * returns 0 only if every test ran and no assertion failed. Use as
 * `int main(void) { return advml_test_main(register_suites); }`. */
int advml_test_main(void (*register_suites)(void));

/* advml_test_main for suites that write files: first makes a fresh directory
 * PREFIX_XXXXXX in the working directory (mkdtemp; its name goes to dir,
 * size bytes, before register_suites runs), then removes it with everything
 * in it. Returns advml_test_main's code, or 2 when the directory cannot be
 * made. */
int advml_test_main_in_dir(void (*register_suites)(void), const char *prefix, char *dir, size_t size);

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

/* n floats, zeroed (at least one, so n = 0 is not a NULL); the test stops
 * (CU_ASSERT_FATAL) when out of memory. The caller frees. */
float *advml_test_falloc(size_t n);

/* A layer spec of kind type with units and return_sequences set, the rest
 * at the kind's defaults (for the recurrent suites' small models). */
advml_layer_spec advml_test_layer_spec(advml_layer_type type, int units, int return_sequences);

/* Build spec for batches of B, initialise it from seed (then the biases, the
 * views without decay, are redrawn in [-0.3, 0.3) so every path carries
 * gradient), and check the gradient of its loss on uniform inputs in [-1, 1)
 * and targets in [-0.5, 0.5) with respect to every parameter by
 * advml_gradcheck(label, ..., h, floor, tol); asserts the build and the
 * error <= tol. For smooth models (regression losses, tanh/sigmoid): the
 * recurrent suites. Frees all it allocates. */
void advml_test_model_gradcheck(advml_model_spec *spec, int B, uint64_t seed, const char *label, double h,
                                double floor, double tol);

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

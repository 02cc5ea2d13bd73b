/* testutil.c - see testutil.h */
#define _XOPEN_SOURCE 700 /* nftw */
#include "testutil.h"

#include <errno.h>
#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <CUnit/Basic.h>

int advml_test_main(void (*register_suites)(void))
{
    if (CU_initialize_registry() != CUE_SUCCESS) {
        fprintf(stderr, "CUnit: cannot initialise the registry\n");
        return 2;
    }
    register_suites();
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures();
    unsigned tests_failed = CU_get_number_of_tests_failed();
    unsigned ran = CU_get_number_of_tests_run();
    CU_ErrorCode e = CU_get_error();
    CU_cleanup_registry();
    if (e != CUE_SUCCESS || ran == 0)
        return 2;
    return (failed || tests_failed) ? 1 : 0;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    if (remove(path) != 0)
        fprintf(stderr, "could not remove %s\n", path);
    return 0;
}

int advml_test_main_in_dir(void (*register_suites)(void), const char *prefix, char *dir, size_t size)
{
    if ((size_t)snprintf(dir, size, "%s_XXXXXX", prefix) >= size || !mkdtemp(dir)) {
        fprintf(stderr, "cannot make a scratch directory %s_XXXXXX: %s\n", prefix, strerror(errno));
        return 2;
    }
    int rc = advml_test_main(register_suites);
    nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    return rc;
}

void advml_test_add_suite(const char *suite, const advml_test_case *cases)
{
    CU_pSuite s = CU_add_suite(suite, NULL, NULL);
    if (!s) {
        fprintf(stderr, "CUnit: cannot add suite %s\n", suite);
        exit(2);
    }
    for (const advml_test_case *c = cases; c->name; c++) {
        if (!CU_add_test(s, c->name, c->fn)) {
            fprintf(stderr, "CUnit: cannot add test %s\n", c->name);
            exit(2);
        }
    }
}

void advml_test_fill_uniform(float *x, size_t n, float lo, float hi, advml_rng *rng)
{
    for (size_t i = 0; i < n; i++)
        x[i] = lo + (hi - lo) * (float)advml_rng_uniform(rng);
}

double advml_gradcheck(const char *what, float *x, const float *grad, size_t n,
                       double (*f)(void *ctx), void *ctx, double h, double floor, double tol,
                       size_t *worst)
{
    double max_err = 0.0;
    size_t wi = 0;
    double wnum = 0.0, wana = 0.0;
    for (size_t i = 0; i < n; i++) {
        float saved = x[i];
        x[i] = (float)(saved + h);
        double hp = (double)x[i] - saved; /* the step actually taken in float */
        double fp = f(ctx);
        x[i] = (float)(saved - h);
        double hm = saved - (double)x[i];
        double fm = f(ctx);
        x[i] = saved;
        double num = (fp - fm) / (hp + hm);
        double ana = grad[i];
        double scale = fmax(floor, fmax(fabs(num), fabs(ana)));
        double err = fabs(num - ana) / scale;
        if (err > max_err || isnan(err)) {
            max_err = isnan(err) ? INFINITY : err;
            wi = i;
            wnum = num;
            wana = ana;
        }
    }
    if (max_err > tol)
        fprintf(stderr, "  gradcheck %s: worst entry %zu of %zu: numeric %.7g analytic %.7g "
                "(rel err %.3g > tol %.3g)\n", what, wi, n, wnum, wana, max_err, tol);
    if (worst)
        *worst = wi;
    return max_err;
}

double advml_max_abs_diff(const float *a, const float *b, size_t n)
{
    double m = 0.0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        if (d > m || isnan(d))
            m = isnan(d) ? INFINITY : d;
    }
    return m;
}

float *advml_test_falloc(size_t n)
{
    float *p = calloc(n ? n : 1, sizeof(float));
    CU_ASSERT_FATAL(p != NULL);
    return p;
}

advml_layer_spec advml_test_layer_spec(advml_layer_type type, int units, int return_sequences)
{
    advml_layer_spec s = advml_layer_spec_default(type);
    s.units = units;
    s.return_sequences = return_sequences;
    return s;
}

typedef struct model_gc {
    advml_model *m;
    const float *x, *y;
    advml_ctx ctx;
} model_gc;

static double model_gc_loss(void *p)
{
    model_gc *g = p;
    advml_model_forward(g->m, g->x, &g->ctx);
    return advml_model_loss(g->m, g->y, g->ctx.B);
}

void advml_test_model_gradcheck(advml_model_spec *spec, int B, uint64_t seed, const char *label, double h,
                                double floor, double tol)
{
    advml_model m;
    advml_error err = {0};
    advml_status st = advml_model_build(&m, spec, B, &err);
    if (st != ADVML_OK)
        fprintf(stderr, "  build failed: %s\n", err.msg);
    CU_ASSERT_EQUAL_FATAL(st, ADVML_OK);
    advml_model_init_params(&m, seed);
    advml_rng rng;
    advml_rng_seed(&rng, seed + 1);
    for (int v = 0; v < m.nviews; v++)
        if (!m.views[v].decay)
            advml_test_fill_uniform(m.params + m.views[v].offset, m.views[v].size, -0.3f, 0.3f, &rng);
    const size_t nin = (size_t)B * advml_shape_size(&spec->input);
    const size_t ny = (size_t)B * advml_model_target_size(&m);
    float *x = advml_test_falloc(nin), *y = advml_test_falloc(ny), *grad = advml_test_falloc(m.nparams);
    advml_test_fill_uniform(x, nin, -1.0f, 1.0f, &rng);
    advml_test_fill_uniform(y, ny, -0.5f, 0.5f, &rng);
    model_gc g = {&m, x, y, {.B = B, .training = 1}};
    advml_model_zero_grads(&m);
    advml_model_forward(&m, x, &g.ctx);
    advml_model_backward(&m, x, y, &g.ctx);
    memcpy(grad, m.grads, m.nparams * sizeof(float));
    double e = advml_gradcheck(label, m.params, grad, m.nparams, model_gc_loss, &g, h, floor, tol, NULL);
    CU_ASSERT(e <= tol);
    free(x);
    free(y);
    free(grad);
    advml_model_free(&m);
}

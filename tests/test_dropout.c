/* test_dropout.c - inverted dropout: the mask definition of dropout.h, its
 * independence of how a batch is split, the kept fraction, the identity at
 * evaluation, gradients, and the dropout kind.
 *
 * Gradient check: with a fixed (seed, step, key, ids) the mask is fixed and
 * out = in * mask is linear, so a central difference with any step is exact
 * up to the float rounding of one output (~6e-8 * |out| / (2h)); h = 0.5 and
 * a tolerance of 1e-4 (relative, floor 0.1) leave a wide margin, while a
 * gradient that ignores the mask or its 1/(1-rate) scale is off by O(1).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "advml/dropout.h"
#include "advml/layer.h"
#include "advml/rng.h"
#include "testutil.h"

/* The mask equals the documented definition entry for entry. */
static void t_definition(void)
{
    static const float rates[] = {0.0f, 0.1f, 0.5f, 0.9f, 0.999f};
    static const uint64_t seeds[] = {0, 1, 12345, 0xffffffffffffffffULL};
    const int B = 3;
    const size_t D = 300;
    const int64_t ids[3] = {7, 123456789012LL, 0};
    float *in = malloc(B * D * sizeof(float)), *out = malloc(B * D * sizeof(float)),
          *mask = malloc(B * D * sizeof(float));
    for (size_t i = 0; i < B * D; i++)
        in[i] = 1.0f + (float)i;
    size_t bad = 0;
    for (size_t r = 0; r < sizeof rates / sizeof rates[0]; r++)
        for (size_t s = 0; s < sizeof seeds / sizeof seeds[0]; s++) {
            const uint64_t step = 1000 * s + r, key = 3 + s;
            advml_dropout_forward(out, mask, in, B, D, rates[r], seeds[s], step, key, ids);
            const float scale = 1.0f / (1.0f - rates[r]);
            for (int b = 0; b < B; b++)
                for (size_t u = 0; u < D; u++) {
                    double U = advml_hash_uniform(seeds[s], step, (uint64_t)ids[b], (key << 32) + u);
                    float m = U >= rates[r] ? scale : 0.0f;
                    bad += mask[b * D + u] != m || out[b * D + u] != in[b * D + u] * m;
                }
        }
    CU_ASSERT(bad == 0);
    /* NULL ids mean 0..B-1 */
    const int64_t seq[3] = {0, 1, 2};
    float *m2 = malloc(B * D * sizeof(float)), *o2 = malloc(B * D * sizeof(float));
    advml_dropout_forward(out, mask, in, B, D, 0.5f, 9, 4, 2, NULL);
    advml_dropout_forward(o2, m2, in, B, D, 0.5f, 9, 4, 2, seq);
    CU_ASSERT(memcmp(mask, m2, B * D * sizeof(float)) == 0);
    /* rate 0 keeps everything unscaled */
    advml_dropout_forward(out, mask, in, B, D, 0.0f, 9, 4, 2, NULL);
    CU_ASSERT(memcmp(out, in, B * D * sizeof(float)) == 0);
    free(in), free(out), free(mask), free(m2), free(o2);
}

/* A sample's mask depends only on (seed, step, sample id, layer). */
static void t_batch_split(void)
{
    const size_t D = 257;
    const int64_t ids[4] = {10, 11, 12, 13};
    float in[4 * 257], a[4 * 257], b[4 * 257], ma[4 * 257], mb[4 * 257];
    advml_rng rng;
    advml_rng_seed(&rng, 1);
    advml_test_fill_uniform(in, 4 * D, -1, 1, &rng);
    advml_dropout_forward(a, ma, in, 4, D, 0.5f, 77, 5, 2, ids);
    advml_dropout_forward(b, mb, in, 2, D, 0.5f, 77, 5, 2, ids);
    advml_dropout_forward(b + 2 * D, mb + 2 * D, in + 2 * D, 2, D, 0.5f, 77, 5, 2, ids + 2);
    CU_ASSERT(memcmp(a, b, sizeof a) == 0);
    CU_ASSERT(memcmp(ma, mb, sizeof ma) == 0);
    /* the same sample alone, at another position of its batch */
    const int64_t one[2] = {99, 12};
    float c[2 * 257], mc[2 * 257], in2[2 * 257];
    memcpy(in2 + D, in + 2 * D, D * sizeof(float));
    memcpy(in2, in, D * sizeof(float));
    advml_dropout_forward(c, mc, in2, 2, D, 0.5f, 77, 5, 2, one);
    CU_ASSERT(memcmp(mc + D, ma + 2 * D, D * sizeof(float)) == 0);
    /* and it changes with the step, the layer key and the seed */
    advml_dropout_forward(b, mb, in, 4, D, 0.5f, 77, 6, 2, ids);
    CU_ASSERT(memcmp(ma, mb, sizeof ma) != 0);
    advml_dropout_forward(b, mb, in, 4, D, 0.5f, 77, 5, 3, ids);
    CU_ASSERT(memcmp(ma, mb, sizeof ma) != 0);
    advml_dropout_forward(b, mb, in, 4, D, 0.5f, 78, 5, 2, ids);
    CU_ASSERT(memcmp(ma, mb, sizeof ma) != 0);
    /* different samples get different masks */
    CU_ASSERT(memcmp(ma, ma + D, D * sizeof(float)) != 0);
}

static void t_kept_fraction(void)
{
    const int B = 64;
    const size_t D = 1024, n = (size_t)B * D;
    float *in = malloc(n * sizeof(float)), *out = malloc(n * sizeof(float)),
          *mask = malloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++)
        in[i] = 1.0f;
    static const float rates[] = {0.5f, 0.2f, 0.9f};
    for (size_t r = 0; r < 3; r++) {
        advml_dropout_forward(out, mask, in, B, D, rates[r], 2024, 17, 6, NULL);
        size_t kept = 0;
        double sum = 0.0;
        for (size_t i = 0; i < n; i++) {
            kept += mask[i] != 0.0f;
            sum += out[i];
        }
        /* binomial: sd of the fraction <= 0.5/sqrt(65536) = 0.002; allow 5 sd */
        ADVML_CHECK_CLOSE((double)kept / n, 1.0 - rates[r], 0.01);
        /* inverted scaling keeps the mean: sd of the mean <= 0.002/(1-rate) */
        ADVML_CHECK_CLOSE(sum / n, 1.0, 0.01 / (1.0 - rates[r]));
    }
    free(in), free(out), free(mask);
}

typedef struct drop_case {
    float x[60], y[60], m[60], R[60];
} drop_case;

static double drop_objective(void *ctx)
{
    drop_case *t = ctx;
    advml_dropout_forward(t->y, t->m, t->x, 3, 20, 0.4f, 5, 8, 1, NULL);
    double f = 0.0;
    for (int i = 0; i < 60; i++)
        f += (double)t->y[i] * t->R[i];
    return f;
}

static void t_gradcheck(void)
{
    drop_case t;
    advml_rng rng;
    advml_rng_seed(&rng, 4);
    advml_test_fill_uniform(t.x, 60, -1, 1, &rng);
    advml_test_fill_uniform(t.R, 60, -1, 1, &rng);
    drop_objective(&t);
    float dx[60] = {0};
    advml_dropout_backward(dx, t.R, t.m, 60);
    int dropped = 0, kept = 0;
    for (int i = 0; i < 60; i++)
        dropped += t.m[i] == 0.0f, kept += t.m[i] != 0.0f;
    CU_ASSERT(dropped > 5 && kept > 5); /* both cases are exercised */
    CU_ASSERT(advml_gradcheck("dropout", t.x, dx, 60, drop_objective, &t, 0.5, 0.1, 1e-4, NULL) <
              1e-4);
    float dx1[60];
    memcpy(dx1, dx, sizeof dx);
    advml_dropout_backward(dx, t.R, t.m, 60);
    double e = 0.0;
    for (int i = 0; i < 60; i++)
        e = fmax(e, fabs(dx[i] - 2.0 * dx1[i]));
    CU_ASSERT(e < 1e-6);
}

/* ---- the kind -------------------------------------------------------------------- */

static advml_status drop_setup(advml_layer *L, int index, advml_shape in, float rate,
                               advml_error *err)
{
    memset(L, 0, sizeof *L);
    L->spec = advml_layer_spec_default(ADVML_LAYER_DROPOUT);
    L->spec.rate = rate;
    L->index = index;
    L->kind = &advml_dropout_kind;
    advml_error_clear(err);
    return advml_dropout_kind.setup(L, in, 4, err);
}

static void t_kind(void)
{
    advml_layer L;
    advml_error err;
    CU_ASSERT_FATAL(drop_setup(&L, 6, advml_shape1(1024), 0.5f, &err) == ADVML_OK);
    CU_ASSERT(L.out_shape.rank == 1 && L.out_shape.d[0] == 1024 && L.nparams == 0);
    CU_ASSERT(L.state_per_sample == 1024 * sizeof(float));
    CU_ASSERT(drop_setup(&L, 2, advml_shape3(4, 5, 6), 0.25f, &err) == ADVML_OK);
    CU_ASSERT(L.out_shape.rank == 3 && L.out_shape.d[2] == 6 && L.state_per_sample == 480);

    const int B = 3;
    const size_t D = 120;
    const int64_t ids[3] = {40, 41, 1000};
    float in[360], z[360], ref[360], m[360], g[360], dx[360], rdx[360];
    advml_rng rng;
    advml_rng_seed(&rng, 8);
    advml_test_fill_uniform(in, 360, -1, 1, &rng);
    advml_test_fill_uniform(g, 360, -1, 1, &rng);
    L.state = malloc(B * L.state_per_sample);
    /* training: the mask of the kernel with key = the layer index */
    advml_ctx ctx = {.B = B, .training = 1, .seed = 31, .step = 12, .sample_ids = ids};
    L.kind->forward(&L, z, in, NULL, &ctx);
    advml_dropout_forward(ref, m, in, B, D, 0.25f, 31, 12, 2, ids);
    CU_ASSERT(memcmp(z, ref, sizeof z) == 0);
    CU_ASSERT(memcmp(L.state, m, sizeof m) == 0);
    memset(dx, 0, sizeof dx);
    memset(rdx, 0, sizeof rdx);
    L.kind->backward(&L, dx, NULL, g, in, NULL, &ctx);
    advml_dropout_backward(rdx, g, m, 360);
    CU_ASSERT(memcmp(dx, rdx, sizeof dx) == 0);
    L.kind->backward(&L, NULL, NULL, g, in, NULL, &ctx);
    /* evaluation: the identity, forward and backward */
    ctx.training = 0;
    L.kind->forward(&L, z, in, NULL, &ctx);
    CU_ASSERT(memcmp(z, in, sizeof z) == 0);
    memset(dx, 0, sizeof dx);
    L.kind->backward(&L, dx, NULL, g, in, NULL, &ctx);
    CU_ASSERT(memcmp(dx, g, sizeof dx) == 0);
    free(L.state);
}

static void t_kind_errors(void)
{
    advml_layer L;
    advml_error err;
    CU_ASSERT(drop_setup(&L, 6, advml_shape1(10), 1.0f, &err) == ADVML_ERR_SHAPE);
    CU_ASSERT(strstr(err.msg, "layer 6 (dropout): rate 1 must be in [0, 1)") != NULL);
    CU_ASSERT(drop_setup(&L, 1, advml_shape1(10), -0.1f, &err) == ADVML_ERR_SHAPE);
    CU_ASSERT(strstr(err.msg, "layer 1 (dropout): rate -0.1 must be in [0, 1)") != NULL);
    CU_ASSERT(drop_setup(&L, 1, advml_shape1(10), 1.5f, &err) == ADVML_ERR_SHAPE);
    CU_ASSERT(drop_setup(&L, 1, advml_shape1(10), NAN, &err) == ADVML_ERR_SHAPE);
    CU_ASSERT(strstr(err.msg, "layer 1 (dropout): rate") != NULL);
    CU_ASSERT(drop_setup(&L, 1, advml_shape1(10), 0.0f, &err) == ADVML_OK);
}

static void reg(void)
{
    static const advml_test_case c[] = {
        {"mask follows the documented hash", t_definition},
        {"mask independent of the batch split", t_batch_split},
        {"kept fraction and mean", t_kept_fraction},
        {"finite-difference gradient, accumulation", t_gradcheck},
        {"kind: training, evaluation", t_kind},
        {"kind setup errors", t_kind_errors},
        {NULL, NULL},
    };
    advml_test_add_suite("dropout", c);
}

int main(void) { return advml_test_main(reg); }

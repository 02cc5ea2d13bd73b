/* dropout.c - inverted dropout with counter-based masks and the "dropout"
 * layer kind (see include/advml/dropout.h and layer.h). */
#include "advml/dropout.h"
#include "advml/layer.h"
#include "advml/rng.h"

#include <math.h>
#include <string.h>

/* advml_hash_uniform (src/rng.c) chains four splitmix64 finalisers over
 * (seed, a, b, c). Only the last link depends on the unit, so the first three
 * are computed once per sample and the last one runs in a loop the compiler
 * vectorises. The tests check that the masks equal advml_hash_uniform's
 * definition bit for bit. */
#define SPLITMIX_GAMMA 0x9e3779b97f4a7c15ULL

static inline uint64_t splitmix_mix(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* The state advml_hash_uniform(seed, a, b, c) has before mixing in c. */
static uint64_t hash_prefix(uint64_t seed, uint64_t a, uint64_t b)
{
    uint64_t h = splitmix_mix(seed + SPLITMIX_GAMMA);
    h = splitmix_mix((h ^ a) + SPLITMIX_GAMMA);
    return splitmix_mix((h ^ b) + SPLITMIX_GAMMA);
}

void advml_dropout_forward(float *out, float *mask, const float *in, int B, size_t D, float rate,
                           uint64_t seed, uint64_t step, uint64_t key, const int64_t *sample_ids)
{
    const float scale = 1.0f / (1.0f - rate);
    /* U = (h >> 11) 2^-53 >= rate  <=>  (h >> 11) >= ceil(rate 2^53): both sides
     * are exact in double, so the integer test is the same decision. */
    const uint64_t thr = (uint64_t)ceil((double)rate * 0x1.0p53);
    const uint64_t c0 = key << 32;
    for (int b = 0; b < B; b++) {
        const uint64_t g = sample_ids ? (uint64_t)sample_ids[b] : (uint64_t)b;
        const uint64_t h3 = hash_prefix(seed, step, g);
        float *restrict m = mask + (size_t)b * D;
        for (size_t u = 0; u < D; u++) { /* keep when U(seed, t, g, key 2^32 + u) >= rate */
            const uint64_t h = splitmix_mix((h3 ^ (c0 + u)) + SPLITMIX_GAMMA);
            m[u] = (h >> 11) >= thr ? scale : 0.0f;
        }
    }
    const size_t n = (size_t)B * D;
    const float *restrict mm = mask; /* out may equal in */
    for (size_t i = 0; i < n; i++)
        out[i] = in[i] * mm[i];
}

void advml_dropout_backward(float *dinp, const float *dout, const float *mask, size_t n)
{
    float *restrict dx = dinp;
    const float *restrict dy = dout, *restrict m = mask;
    for (size_t i = 0; i < n; i++)
        dx[i] += dy[i] * m[i];
}

/* ---- the "dropout" layer kind -------------------------------------------------
 * No parameters; the mask (B, D) floats lives in L->state. The key that
 * separates dropout layers is the layer's index in the model. At evaluation
 * (ctx->training == 0) the layer is the identity. */

static advml_status dropout_setup(advml_layer *L, advml_shape in_shape, int max_batch,
                                  advml_error *err)
{
    (void)max_batch;
    const float rate = L->spec.rate;
    if (!(rate >= 0.0f && rate < 1.0f)) /* also rejects NaN */
        return advml_error_set(err, ADVML_ERR_SHAPE,
                               "layer %d (dropout): rate %g must be in [0, 1)", L->index,
                               (double)rate);
    L->in_shape = in_shape;
    L->out_shape = in_shape;
    L->nparams = 0;
    L->nviews = 0;
    L->state_per_sample = advml_shape_size(&in_shape) * sizeof(float);
    L->scratch_floats = 0;
    return ADVML_OK;
}

static void dropout_init(advml_layer *L, float *params, advml_rng *rng)
{
    (void)L, (void)params, (void)rng;
}

static void dropout_forward(advml_layer *L, float *z, const float *in, const float *params,
                            const advml_ctx *ctx)
{
    (void)params;
    const size_t D = advml_shape_size(&L->out_shape);
    if (!ctx->training) {
        if (z != in && ctx->B > 0)
            memcpy(z, in, (size_t)ctx->B * D * sizeof *z);
        return;
    }
    advml_dropout_forward(z, (float *)L->state, in, ctx->B, D, L->spec.rate, ctx->seed, ctx->step,
                          (uint64_t)L->index, ctx->sample_ids);
}

static void dropout_backward(advml_layer *L, float *dinp, float *dparams, const float *dz,
                             const float *in, const float *params, const advml_ctx *ctx)
{
    (void)dparams, (void)in, (void)params;
    if (!dinp)
        return;
    const size_t n = (size_t)ctx->B * advml_shape_size(&L->out_shape);
    if (!ctx->training) { /* the identity */
        for (size_t i = 0; i < n; i++)
            dinp[i] += dz[i];
        return;
    }
    advml_dropout_backward(dinp, dz, (const float *)L->state, n);
}

static const advml_layer_key dropout_keys[] = {
    {.name = "rate", .type = ADVML_KEY_FLOAT, .offset = offsetof(advml_layer_spec, rate),
     .flags = ADVML_KEY_REQUIRED | ADVML_KEY_HI_OPEN, .dflt = 0.5, .lo = 0, .hi = 1,
     .missing = "a dropout layer needs \"rate\" (the fraction of units dropped, in [0, 1))",
     .aliases = ADVML_NAMES("p", "dropout")},
    {.name = NULL}};

const advml_layer_kind advml_dropout_kind = {
    .name = "dropout",
    .class_name = "Dropout",
    .post_act = 0,
    .setup = dropout_setup,
    .init = dropout_init,
    .forward = dropout_forward,
    .backward = dropout_backward,
    .keys = dropout_keys,
    .aliases = ADVML_NAMES("Dropout"),
};

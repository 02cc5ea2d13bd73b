/* test_batchnorm.c - the batchnorm kind: the training forward normalises per
 * channel (conv) and per feature (dense), the running statistics follow
 * PyTorch's update, evaluation uses them; gradients against finite
 * differences (input, gamma, beta; inside whole models too); the global batch
 * through the reduce hook: half a batch plus the other half's sums equals the
 * whole batch; a rank with no samples still joins the reduces; parts
 * (reproducible mode) are each computed alone, batchnorm's statistics are the
 * whole batch's. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "advml/model.h"

/* A model of one batchnorm layer over input in, for batches of up to B. */
static void bn_model(advml_model *m, advml_shape in, int B, float momentum, int affine)
{
    advml_model_spec spec;
    memset(&spec, 0, sizeof spec);
    spec.input = in;
    spec.nlayers = 1;
    spec.layers[0] = advml_layer_spec_default(ADVML_LAYER_BATCHNORM);
    spec.layers[0].momentum = momentum;
    spec.layers[0].affine = affine;
    spec.loss = ADVML_LOSS_MSE;
    advml_error err;
    advml_status s = advml_model_build(m, &spec, B, &err);
    if (s)
        fprintf(stderr, "\n  %s\n", err.msg);
    CU_ASSERT_EQUAL_FATAL(s, ADVML_OK);
    advml_model_init_params(m, 1);
}

static void t_forward_and_running_stats(void)
{
    const advml_shape in = advml_shape3(3, 2, 2);
    enum { B = 5, N = 12 };
    advml_model m;
    bn_model(&m, in, B, 0.25f, 1);
    advml_layer *L = &m.layers[0];
    CU_ASSERT_EQUAL(m.nparams, 12);     /* gamma, beta, running mean, running var: 3 each */
    CU_ASSERT(m.views[2].frozen && m.views[3].frozen && !m.views[0].frozen && m.views[2].buffer);
    float x[B * N];
    advml_rng rng;
    advml_rng_seed(&rng, 5);
    advml_test_fill_uniform(x, B * N, -2, 3, &rng);
    for (int c = 0; c < 3; c++) { /* gamma 2, 0.5, 1; beta -1, 0, 3 */
        m.params[c] = (float[]){2, 0.5f, 1}[c];
        m.params[3 + c] = (float[]){-1, 0, 3}[c];
    }
    advml_ctx ctx = {.B = B, .training = 1};
    L->kind->forward(L, L->z, x, m.params, &ctx);
    for (int c = 0; c < 3; c++) {
        double mean = 0, var = 0, zm = 0, zv = 0;
        for (int b = 0; b < B; b++)
            for (int s = 0; s < 4; s++) {
                mean += x[b * N + c * 4 + s];
                zm += L->z[b * N + c * 4 + s];
            }
        mean /= 20, zm /= 20;
        for (int b = 0; b < B; b++)
            for (int s = 0; s < 4; s++) {
                double d = x[b * N + c * 4 + s] - mean, e = L->z[b * N + c * 4 + s] - zm;
                var += d * d;
                zv += e * e;
            }
        var /= 20, zv /= 20;
        const double g = m.params[c], be = m.params[3 + c];
        ADVML_CHECK_CLOSE(zm, be, 1e-5);                            /* mean beta */
        ADVML_CHECK_CLOSE(zv, g * g * var / (var + 1e-5), 1e-4);    /* variance gamma^2 */
        ADVML_CHECK_CLOSE(m.params[6 + c], 0.25 * mean, 1e-6);      /* running mean from 0 */
        ADVML_CHECK_CLOSE(m.params[9 + c], 0.75 + 0.25 * var * 20 / 19, 1e-5); /* unbiased */
    }
    /* evaluation: the running statistics */
    float z2[B * N];
    advml_ctx ev = {.B = B, .training = 0};
    L->kind->forward(L, z2, x, m.params, &ev);
    for (int i = 0; i < B * N; i++) {
        int c = (i % N) / 4;
        double want = m.params[c] * (x[i] - m.params[6 + c]) / sqrt(m.params[9 + c] + 1e-5) + m.params[3 + c];
        ADVML_CHECK_CLOSE(z2[i], want, 1e-5);
    }
    advml_model_free(&m);
}

/* A large mean against the spread (1e4 + uniform noise in [-1, 1]): the
 * layer's float sums are shifted, so the variance (the running variance after
 * one step with momentum 1: the batch's, unbiased) matches a double two-pass
 * reference to 1e-5 relative, where E[x^2] - E[x]^2 from float sums is off by
 * more than 10% (checked here too, so the data does test the shift). Shapes:
 * rows longer than the kernels' float chunks (2, 50, 50), and features with
 * more samples than their float groups (3) x 200. */
static void shift_case(advml_shape in, int B)
{
    advml_model m;
    bn_model(&m, in, B, 1.0f, 1);
    advml_layer *L = &m.layers[0];
    const int C = in.d[0];
    const size_t S = advml_shape_size(&in) / (size_t)C, N = advml_shape_size(&in);
    float *x = advml_test_falloc((size_t)B * N);
    advml_rng rng;
    advml_rng_seed(&rng, 21);
    advml_test_fill_uniform(x, (size_t)B * N, -1, 1, &rng);
    for (size_t i = 0; i < (size_t)B * N; i++)
        x[i] += 1e4f;
    advml_ctx ctx = {.B = B, .training = 1};
    L->kind->forward(L, L->z, x, m.params, &ctx);
    const double M = (double)B * (double)S;
    for (int c = 0; c < C; c++) {
        double mean = 0, var = 0, zm = 0, zv = 0;
        float f1 = 0, f2 = 0; /* the naive float sums */
        for (int b = 0; b < B; b++)
            for (size_t s = 0; s < S; s++) {
                const float v = x[(size_t)b * N + (size_t)c * S + s];
                mean += v;
                f1 += v;
                f2 += v * v;
            }
        mean /= M;
        for (int b = 0; b < B; b++)
            for (size_t s = 0; s < S; s++) {
                const size_t i = (size_t)b * N + (size_t)c * S + s;
                var += (x[i] - mean) * (x[i] - mean);
                zm += L->z[i];
                zv += (double)L->z[i] * L->z[i];
            }
        var /= M;
        zm /= M;
        zv = zv / M - zm * zm;
        const float naive = f2 / (float)M - (f1 / (float)M) * (f1 / (float)M);
        CU_ASSERT(fabs(naive - var) > 0.1 * var);
        const float *rmean = m.params + 2 * C, *rvar = m.params + 3 * C;
        ADVML_CHECK_CLOSE(rvar[c], var * M / (M - 1), 1e-5 * var);
        ADVML_CHECK_CLOSE(rmean[c], mean, 1e-6 * mean);
        ADVML_CHECK_CLOSE(zm, 0.0, 1e-3);                  /* normalised: mean 0 (beta), */
        ADVML_CHECK_CLOSE(zv, var / (var + 1e-5), 1e-3);   /* variance 1 (gamma) */
    }
    free(x);
    advml_model_free(&m);
}

static void t_large_mean(void)
{
    shift_case(advml_shape3(2, 50, 50), 3);
    shift_case(advml_shape1(3), 200);
}

/* ---- gradients ------------------------------------------------------------------- */

typedef struct gc {
    advml_model *m;
    float *x, *w; /* input (B, N); f = sum w z */
    int B;
    size_t N;
} gc;

static double f_wz(void *p)
{
    gc *g = p;
    advml_layer *L = &g->m->layers[0];
    advml_ctx ctx = {.B = g->B, .training = 1};
    L->kind->forward(L, L->z, g->x, g->m->params, &ctx);
    double f = 0;
    for (size_t i = 0; i < (size_t)g->B * g->N; i++)
        f += (double)g->w[i] * L->z[i];
    return f;
}

static void gradcheck_shape(advml_shape in, int B, int affine, const char *what)
{
    advml_model m;
    bn_model(&m, in, B, 0.1f, affine);
    advml_layer *L = &m.layers[0];
    const size_t N = advml_shape_size(&in);
    float *x = advml_test_falloc((size_t)B * N), *w = advml_test_falloc((size_t)B * N);
    float *dx = advml_test_falloc((size_t)B * N), *dp = advml_test_falloc(m.nparams);
    advml_rng rng;
    advml_rng_seed(&rng, 11);
    advml_test_fill_uniform(x, (size_t)B * N, -1, 2, &rng);
    advml_test_fill_uniform(w, (size_t)B * N, -1, 1, &rng);
    if (affine)
        advml_test_fill_uniform(m.params, 2 * (size_t)in.d[0], 0.5f, 1.5f, &rng);
    gc g = {&m, x, w, B, N};
    f_wz(&g);
    advml_ctx ctx = {.B = B, .training = 1};
    L->kind->backward(L, dx, dp, w, x, m.params, &ctx);
    char label[96];
    snprintf(label, sizeof label, "batchnorm %s input", what);
    CU_ASSERT(advml_gradcheck(label, x, dx, (size_t)B * N, f_wz, &g, 1e-2, 1e-2, 5e-3, NULL) <= 5e-3);
    if (affine) {
        snprintf(label, sizeof label, "batchnorm %s gamma, beta", what);
        CU_ASSERT(advml_gradcheck(label, m.params, dp, 2 * (size_t)in.d[0], f_wz, &g, 1e-2, 1e-2, 5e-3, NULL) <=
                  5e-3);
    }
    for (size_t i = affine ? 2 * (size_t)in.d[0] : 0; i < m.nparams; i++)
        CU_ASSERT(dp[i] == 0.0f); /* the running statistics get no gradient */
    free(x);
    free(w);
    free(dx);
    free(dp);
    advml_model_free(&m);
}

static void t_gradients(void)
{
    gradcheck_shape(advml_shape3(3, 3, 2), 4, 1, "(3, 3, 2)");
    gradcheck_shape(advml_shape1(5), 7, 1, "(5)");
    gradcheck_shape(advml_shape1(4), 6, 0, "(4) affine false");
}

/* In whole models (conv -> batchnorm relu -> pool -> dense; dense -> batchnorm
 * tanh -> dense), every parameter's gradient of the loss. */
static void t_models(void)
{
    advml_model_spec spec;
    memset(&spec, 0, sizeof spec);
    spec.input = advml_shape3(2, 6, 6);
    spec.nlayers = 5;
    spec.layers[0] = advml_layer_spec_default(ADVML_LAYER_CONV2D);
    spec.layers[0].units = 3;
    spec.layers[0].kernel[0] = spec.layers[0].kernel[1] = 3;
    spec.layers[1] = advml_layer_spec_default(ADVML_LAYER_BATCHNORM);
    spec.layers[1].act = ADVML_ACT_TANH;
    spec.layers[2] = advml_layer_spec_default(ADVML_LAYER_AVGPOOL2D);
    spec.layers[2].kernel[0] = spec.layers[2].kernel[1] = spec.layers[2].stride[0] = spec.layers[2].stride[1] = 2;
    spec.layers[3] = advml_layer_spec_default(ADVML_LAYER_FLATTEN);
    spec.layers[4] = advml_layer_spec_default(ADVML_LAYER_DENSE);
    spec.layers[4].units = 2;
    spec.loss = ADVML_LOSS_MSE;
    advml_test_model_gradcheck(&spec, 5, 3, "conv batchnorm(tanh) pool dense", 1e-2, 1e-2, 5e-3);
    memset(&spec, 0, sizeof spec);
    spec.input = advml_shape1(4);
    spec.nlayers = 3;
    spec.layers[0] = advml_layer_spec_default(ADVML_LAYER_DENSE);
    spec.layers[0].units = 6;
    spec.layers[1] = advml_layer_spec_default(ADVML_LAYER_BATCHNORM);
    spec.layers[1].act = ADVML_ACT_SIGMOID;
    spec.layers[2] = advml_layer_spec_default(ADVML_LAYER_DENSE);
    spec.layers[2].units = 3;
    spec.loss = ADVML_LOSS_MSE;
    advml_test_model_gradcheck(&spec, 6, 4, "dense batchnorm(sigmoid) dense", 1e-2, 1e-2, 5e-3);
}

/* ---- the global batch --------------------------------------------------------------- */

/* A hook standing for "the other ranks": adds other[0..n) to the local sums. */
typedef struct fake {
    const double *other[2]; /* the forward's and the backward's */
    int calls;
} fake;

static void fake_reduce(void *arg, double *buf, size_t n)
{
    fake *f = arg;
    for (size_t i = 0; i < n; i++)
        buf[i] += f->other[f->calls][i];
    f->calls++;
}

/* Half a batch with a hook adding the other half's sums gives the whole
 * batch's output, input gradient and (with the other half's part) parameter
 * gradient: the statistics are the global batch's. */
static void t_global_batch(void)
{
    const advml_shape in = advml_shape3(2, 3, 1);
    enum { B = 6, H = 3, N = 6, C = 2 };
    advml_model whole, half;
    bn_model(&whole, in, B, 0.1f, 1);
    bn_model(&half, in, B, 0.1f, 1);
    advml_layer *W = &whole.layers[0], *L = &half.layers[0];
    float x[B * N], dz[B * N], dxw[B * N] = {0}, dxh[B * N] = {0}, dpw[8] = {0}, dph[8] = {0};
    advml_rng rng;
    advml_rng_seed(&rng, 8);
    advml_test_fill_uniform(x, B * N, -1, 1, &rng);
    advml_test_fill_uniform(dz, B * N, -1, 1, &rng);
    advml_ctx cw = {.B = B, .training = 1};
    W->kind->forward(W, W->z, x, whole.params, &cw);
    W->kind->backward(W, dxw, dpw, dz, x, whole.params, &cw);
    /* the other half's sums: sum x, sum x^2, count; then sum dz, sum dz xhat, count */
    double fwd[2 * C + 1] = {0}, bwd[2 * C + 1] = {0};
    const float *xhat_w = W->z; /* gamma 1, beta 0 as initialised: z is xhat */
    for (int b = H; b < B; b++)
        for (int c = 0; c < C; c++)
            for (int s = 0; s < 3; s++) {
                int i = b * N + c * 3 + s;
                fwd[c] += x[i];
                fwd[C + c] += (double)x[i] * x[i];
                bwd[c] += dz[i];
                bwd[C + c] += (double)dz[i] * xhat_w[i];
            }
    fwd[2 * C] = bwd[2 * C] = 9;
    fake f = {{fwd, bwd}, 0};
    advml_ctx ch = {.B = H, .training = 1, .reduce = fake_reduce, .reduce_arg = &f};
    L->kind->forward(L, L->z, x, half.params, &ch);
    L->kind->backward(L, dxh, dph, dz, x, half.params, &ch);
    CU_ASSERT_EQUAL(f.calls, 2);
    CU_ASSERT(advml_max_abs_diff(L->z, W->z, H * N) < 1e-5);
    CU_ASSERT(advml_max_abs_diff(dxh, dxw, H * N) < 1e-5);
    for (int c = 0; c < 2 * C; c++) /* this half's dgamma, dbeta + the other's = the whole batch's */
        ADVML_CHECK_CLOSE(dph[c] + (c < C ? bwd[C + c] : bwd[c - C]), dpw[c], 1e-5);
    CU_ASSERT(advml_max_abs_diff(half.params + 4, whole.params + 4, 4) < 1e-6); /* the same running stats */
    advml_model_free(&whole);
    advml_model_free(&half);
}

static int counted;
static void count_reduce(void *arg, double *buf, size_t n)
{
    (void)arg;
    for (size_t i = 0; i < n; i++)
        CU_ASSERT(buf[i] == 0.0); /* nothing of its own to add */
    counted++;
}

/* A rank with no samples still joins each reduce (two batchnorm layers:
 * twice forward, twice backward), and evaluation never reduces. */
static void t_empty_rank(void)
{
    advml_model_spec spec;
    memset(&spec, 0, sizeof spec);
    spec.input = advml_shape1(3);
    spec.nlayers = 4;
    spec.layers[0] = advml_layer_spec_default(ADVML_LAYER_BATCHNORM);
    spec.layers[1] = advml_layer_spec_default(ADVML_LAYER_DENSE);
    spec.layers[1].units = 4;
    spec.layers[2] = advml_layer_spec_default(ADVML_LAYER_BATCHNORM);
    spec.layers[3] = advml_layer_spec_default(ADVML_LAYER_DENSE);
    spec.layers[3].units = 2;
    spec.loss = ADVML_LOSS_MSE;
    advml_model m;
    advml_error err;
    CU_ASSERT_EQUAL_FATAL(advml_model_build(&m, &spec, 4, &err), ADVML_OK);
    CU_ASSERT(m.collective);
    advml_model_init_params(&m, 2);
    advml_ctx ctx = {.B = 0, .training = 1, .reduce = count_reduce};
    counted = 0;
    advml_model_forward(&m, NULL, &ctx);
    CU_ASSERT_EQUAL(counted, 2);
    advml_model_backward(&m, NULL, NULL, &ctx);
    CU_ASSERT_EQUAL(counted, 4);
    ctx.training = 0;
    advml_model_forward(&m, NULL, &ctx);
    CU_ASSERT_EQUAL(counted, 4);
    advml_model_free(&m);
    /* not after sequences */
    memset(&spec, 0, sizeof spec);
    spec.input = advml_shape2(5, 3);
    spec.nlayers = 1;
    spec.layers[0] = advml_layer_spec_default(ADVML_LAYER_BATCHNORM);
    spec.loss = ADVML_LOSS_MSE;
    CU_ASSERT_EQUAL(advml_model_build(&m, &spec, 4, &err), ADVML_ERR_SHAPE);
    CU_ASSERT(strstr(err.msg, "layer 0 (batchnorm): input has shape") != NULL);
}

static int staged, reduced;
static void stage_part(void *arg, const double *buf, size_t n)
{
    (void)arg;
    (void)buf;
    (void)n;
    staged++;
}
static void reduce_parts(void *arg, double *buf, size_t n)
{
    (void)arg;
    (void)buf;
    (void)n;
    reduced++;
}

/* conv2d (3 filters) [+ batchnorm (tanh)] + flatten + dense (2): the model of
 * the parts tests, for batches of up to B. */
static void parts_model(advml_model *m, int bn, int B)
{
    advml_model_spec spec;
    memset(&spec, 0, sizeof spec);
    spec.input = advml_shape3(2, 5, 5);
    int n = 0;
    spec.layers[n] = advml_layer_spec_default(ADVML_LAYER_CONV2D);
    spec.layers[n].units = 3;
    spec.layers[n].kernel[0] = spec.layers[n].kernel[1] = 3;
    spec.layers[n++].act = bn ? ADVML_ACT_IDENTITY : ADVML_ACT_TANH;
    if (bn) {
        spec.layers[n] = advml_layer_spec_default(ADVML_LAYER_BATCHNORM);
        spec.layers[n++].act = ADVML_ACT_TANH;
    }
    spec.layers[n++] = advml_layer_spec_default(ADVML_LAYER_FLATTEN);
    spec.layers[n] = advml_layer_spec_default(ADVML_LAYER_DENSE);
    spec.layers[n++].units = 2;
    spec.nlayers = n;
    spec.loss = ADVML_LOSS_MSE;
    advml_error err;
    CU_ASSERT_EQUAL_FATAL(advml_model_build(m, &spec, B, &err), ADVML_OK);
    advml_model_init_params(m, 4);
}

/* Parts (ctx.nparts, reproducible mode): without batchnorm each part's
 * gradient and outputs are bitwise those of a pass over that part alone;
 * with batchnorm the parts' gradients add up to the whole batch's, the
 * statistics are the whole batch's (outputs, running statistics), and the
 * hooks see every part (an empty one too) in each training pass. */
static void t_parts(void)
{
    enum { B = 7, IN = 50, OUT = 2, NP = 3 };
    const int lo[NP + 1] = {0, 3, 3, 7}; /* part 1 is empty */
    const int64_t ids[B] = {10, 11, 12, 13, 14, 15, 16};
    float x[B * IN], y[B * OUT];
    advml_rng rng;
    advml_rng_seed(&rng, 9);
    advml_test_fill_uniform(x, B * IN, -1, 1, &rng);
    advml_test_fill_uniform(y, B * OUT, -0.5f, 0.5f, &rng);
    for (int bn = 0; bn <= 1; bn++) {
        advml_model m, one;
        parts_model(&m, bn, B);
        parts_model(&one, bn, B);
        const size_t G = m.nparams + ADVML_GRAD_EXTRA;
        float *g[NP], whole_out[B * OUT];
        for (int p = 0; p < NP; p++)
            g[p] = advml_test_falloc(G);
        advml_ctx c = {.B = B, .training = 1, .sample_ids = ids, .nparts = NP, .part_lo = lo, .part_grads = g,
                       .reduce = reduce_parts, .reduce_part = stage_part};
        staged = reduced = 0;
        advml_model_forward(&m, x, &c);
        advml_model_backward(&m, x, y, &c);
        /* with batchnorm every part staged and one reduce, forward and backward; without, no hooks */
        CU_ASSERT(staged == (bn ? 2 * NP : 0) && reduced == (bn ? 2 : 0));
        for (int i = 0; i < (int)m.nparams; i++) /* model.grads is not used */
            CU_ASSERT(m.grads[i] == 0.0f);
        if (!bn) {
            for (int p = 0; p < NP; p++) {
                advml_ctx c1 = {.B = lo[p + 1] - lo[p], .training = 1, .sample_ids = ids + lo[p]};
                advml_model_zero_grads(&one);
                advml_model_forward(&one, x + lo[p] * IN, &c1);
                CU_ASSERT(memcmp(advml_model_output(&one), advml_model_output(&m) + lo[p] * OUT,
                                 (size_t)c1.B * OUT * sizeof(float)) == 0);
                advml_model_backward(&one, x + lo[p] * IN, y + lo[p] * OUT, &c1);
                CU_ASSERT(memcmp(one.grads, g[p], m.nparams * sizeof(float)) == 0); /* bitwise the pass alone */
            }
        } else {
            advml_ctx c1 = {.B = B, .training = 1, .sample_ids = ids};
            advml_model_zero_grads(&one);
            advml_model_forward(&one, x, &c1);
            memcpy(whole_out, advml_model_output(&one), sizeof whole_out);
            advml_model_backward(&one, x, y, &c1);
            CU_ASSERT(advml_max_abs_diff(whole_out, advml_model_output(&m), B * OUT) < 1e-5);
            for (int i = 0; i < (int)m.nparams; i++)
                ADVML_CHECK_CLOSE(g[0][i] + g[1][i] + g[2][i], one.grads[i], 1e-4);
            const advml_layer *L = &m.layers[1]; /* the running statistics: the whole batch's */
            CU_ASSERT(advml_max_abs_diff(m.params + L->param_offset + 6, one.params + L->param_offset + 6, 6) < 1e-6);
            for (int i = 0; i < (int)(L->nparams); i++) /* the empty part contributes nothing */
                CU_ASSERT(g[1][L->param_offset + i] == 0.0f);
        }
        for (int p = 0; p < NP; p++)
            free(g[p]);
        advml_model_free(&m);
        advml_model_free(&one);
    }
}

static void reg(void)
{
    static const advml_test_case c[] = {{"forward_and_running_stats", t_forward_and_running_stats},
                                        {"large_mean", t_large_mean},
                                        {"gradients", t_gradients},
                                        {"models", t_models},
                                        {"global_batch", t_global_batch},
                                        {"empty_rank", t_empty_rank},
                                        {"parts", t_parts},
                                        {NULL, NULL}};
    advml_test_add_suite("batchnorm", c);
}

int main(void) { return advml_test_main(reg); }

/* test_fusion.c - the shortcuts the model takes to save passes over the
 * activations give the same numbers as the plain layer-by-layer computation:
 *  - the max pool fused with the ReLU before it (advml_maxpool2d_relu_*)
 *    against maxpool(relu(x)) and the pool and ReLU backward passes, on the
 *    vectorised 2x2 path (rows of 2, 8, 14, 28, 62 floats) and the general
 *    path, with exact ties, zeros and negative values;
 *  - a whole model (ReLU + max pool pairs, an in-place flatten, the
 *    write-variant activation backward) against a reference that chains the
 *    layer kinds with a buffer of its own for every activation and gradient,
 *    zeroes them and accumulates, as the model did before the fusions.
 * Every comparison is exact (==): the fused code performs the same float
 * operations on the same values, only fewer passes.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "advml/activation.h"
#include "advml/layer.h"
#include "advml/loss.h"
#include "advml/model.h"
#include "advml/pool.h"
#include "testutil.h"

/* ---- the fused pool kernels ------------------------------------------------ */

static advml_pool2d_dims pdims(int B, int C, int H, int W, int KH, int KW, int SH, int SW)
{
    advml_pool2d_dims d = {B, C, H, W, KH, KW, SH, SW, (H - KH) / SH + 1, (W - KW) / SW + 1};
    return d;
}

/* 1 when a[i] == b[i] for every i < n (as floats: 0 equals -0, NaN nothing). */
static int same_floats(const float *a, const float *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!(a[i] == b[i]))
            return 0;
    return 1;
}

static void check_pool_relu(const advml_pool2d_dims *d, int ties, uint64_t seed)
{
    advml_rng rng;
    advml_rng_seed(&rng, seed);
    const size_t ni = (size_t)d->B * d->C * d->H * d->W, no = (size_t)d->B * d->C * d->OH * d->OW;
    float *x = malloc(ni * sizeof(float)), *rx = malloc(ni * sizeof(float));
    float *y = malloc(no * sizeof(float)), *ry = malloc(no * sizeof(float)), *yp = malloc(no * sizeof(float));
    float *dy = malloc(no * sizeof(float)), *dx = malloc(ni * sizeof(float));
    float *rdo = malloc(ni * sizeof(float)), *rdx = malloc(ni * sizeof(float));
    int32_t *am = malloc(no * sizeof(int32_t)), *ram = malloc(no * sizeof(int32_t)),
            *amp = malloc(no * sizeof(int32_t));
    for (size_t i = 0; i < ni; i++) /* ties: -2..2, many windows all <= 0 */
        x[i] = ties ? (float)advml_rng_below(&rng, 5) - 2.0f : 2.0f * (float)advml_rng_uniform(&rng) - 1.0f;
    advml_test_fill_uniform(dy, no, -1.0f, 1.0f, &rng);

    /* forward: maxpool(relu(x)); the argmax is the pool's over x itself */
    advml_maxpool2d_relu_forward(y, am, x, d);
    advml_act_forward(rx, x, 1, ni, ADVML_ACT_RELU, 0.0f);
    advml_maxpool2d_forward(ry, ram, rx, d);
    advml_maxpool2d_forward(yp, amp, x, d);
    int ok = same_floats(y, ry, no) && memcmp(am, amp, no * sizeof(int32_t)) == 0;

    /* backward: written over NaN garbage, equal to pool backward + ReLU backward */
    for (size_t i = 0; i < ni; i++)
        dx[i] = NAN;
    advml_maxpool2d_relu_backward_write(dx, dy, y, am, d);
    memset(rdo, 0, ni * sizeof(float));
    memset(rdx, 0, ni * sizeof(float));
    advml_maxpool2d_backward(rdo, dy, ram, d); /* routed as the unfused pool does */
    advml_act_backward(rdx, rdo, x, rx, 1, ni, ADVML_ACT_RELU, 0.0f);
    ok = ok && same_floats(dx, rdx, ni);
    if (!ok)
        fprintf(stderr, "  fused max pool differs: B%d C%d %dx%d window %dx%d stride %dx%d ties %d\n", d->B,
                d->C, d->H, d->W, d->KH, d->KW, d->SH, d->SW, ties);
    CU_ASSERT(ok);
    free(x), free(rx), free(y), free(ry), free(yp), free(dy), free(dx), free(rdo), free(rdx);
    free(am), free(ram), free(amp);
}

static void t_pool_relu(void)
{
    static const int cases[][8] = {
        /* B, C, H, W, KH, KW, SH, SW */
        {2, 3, 28, 28, 2, 2, 2, 2},   /* 2x2 path, rows of 28 (blocks of 8, the last overlapping) */
        {2, 3, 14, 14, 2, 2, 2, 2},   /* rows of 14 */
        {1, 2, 7, 9, 2, 2, 2, 2},     /* odd: rows of 8 in a plane 9 wide, last row/column dropped */
        {3, 2, 5, 3, 2, 2, 2, 2},     /* rows of 2: the scalar loop */
        {1, 40, 100, 62, 2, 2, 2, 2}, /* several chunks, rows of 62 */
        {2, 2, 9, 8, 3, 2, 2, 1},     /* general path, overlapping windows */
        {1, 3, 7, 7, 3, 3, 2, 2},
        {1, 1, 13, 5, 7, 1, 2, 3},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const int *c = cases[i];
        advml_pool2d_dims d = pdims(c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]);
        check_pool_relu(&d, 1, 100 + i);
        check_pool_relu(&d, 0, 200 + i);
    }
}

/* ---- a whole model against the layer-by-layer reference ------------------- */

static advml_layer_spec conv(int filters, int k, advml_padding pad, advml_act act)
{
    advml_layer_spec s = advml_layer_spec_default(ADVML_LAYER_CONV2D);
    s.units = filters;
    s.kernel[0] = s.kernel[1] = k;
    s.padding = pad;
    s.act = act;
    return s;
}

static advml_layer_spec pool(advml_layer_type t, int k, int stride)
{
    advml_layer_spec s = advml_layer_spec_default(t);
    s.kernel[0] = s.kernel[1] = k;
    s.stride[0] = s.stride[1] = stride;
    return s;
}

static advml_layer_spec dense(int units, advml_act act)
{
    advml_layer_spec s = advml_layer_spec_default(ADVML_LAYER_DENSE);
    s.units = units;
    s.act = act;
    return s;
}

/* The reference: the model's layers (their setup, params and state), but a
 * buffer of its own for every z, out, dz and dout (B, out) of every layer. */
typedef struct ref_net {
    const advml_model *m;
    int B;
    float *z[ADVML_MAX_LAYERS], *out[ADVML_MAX_LAYERS], *dz[ADVML_MAX_LAYERS], *dout[ADVML_MAX_LAYERS];
    float *grads;   /* (nparams) */
    float *scratch; /* (scratch_floats) */
    void *state[ADVML_MAX_LAYERS];
    advml_layer L[ADVML_MAX_LAYERS];
} ref_net;

static size_t lsize(const advml_layer *L) { return advml_shape_size(&L->out_shape); }
static int has_act(const advml_layer *L) { return L->kind->post_act && L->spec.act != ADVML_ACT_IDENTITY; }

static void ref_init(ref_net *r, const advml_model *m, int B)
{
    memset(r, 0, sizeof *r);
    r->m = m;
    r->B = B;
    for (int i = 0; i < m->nlayers; i++) {
        r->L[i] = m->layers[i];
        size_t n = (size_t)B * lsize(&r->L[i]);
        r->z[i] = calloc(n, sizeof(float)), r->dz[i] = calloc(n, sizeof(float));
        r->out[i] = has_act(&r->L[i]) ? calloc(n, sizeof(float)) : r->z[i];
        r->dout[i] = has_act(&r->L[i]) ? calloc(n, sizeof(float)) : r->dz[i];
        r->state[i] = r->L[i].state_per_sample ? calloc((size_t)B, r->L[i].state_per_sample) : NULL;
        r->L[i].state = r->state[i];
    }
    r->grads = calloc(m->nparams, sizeof(float));
    r->scratch = calloc(m->scratch_floats + 1, sizeof(float));
}

static void ref_free(ref_net *r)
{
    for (int i = 0; i < r->m->nlayers; i++) {
        if (r->out[i] != r->z[i])
            free(r->out[i]), free(r->dout[i]);
        free(r->z[i]), free(r->dz[i]), free(r->state[i]);
    }
    free(r->grads), free(r->scratch);
}

/* forward, softmax cross-entropy on the last z, backward; returns the loss sum */
static double ref_step(ref_net *r, const float *x, const float *labels, const advml_ctx *ctx)
{
    const advml_model *m = r->m;
    const int n = m->nlayers, B = r->B;
    advml_ctx c = *ctx;
    c.scratch = r->scratch;
    const float *in = x;
    for (int i = 0; i < n; i++) {
        advml_layer *L = &r->L[i];
        L->kind->forward(L, r->z[i], in, m->params + L->param_offset, &c);
        if (has_act(L))
            advml_act_forward(r->out[i], r->z[i], (size_t)B, lsize(L), L->spec.act, L->spec.alpha);
        in = r->out[i];
    }
    const int K = (int)lsize(&r->L[n - 1]);
    double loss = advml_softmax_xent_forward(NULL, r->z[n - 1], labels, B, K);
    for (int i = 0; i < n; i++) {
        memset(r->dz[i], 0, (size_t)B * lsize(&r->L[i]) * sizeof(float));
        memset(r->dout[i], 0, (size_t)B * lsize(&r->L[i]) * sizeof(float));
    }
    advml_softmax_xent_backward(r->dz[n - 1], r->z[n - 1], labels, B, K, 1.0f);
    for (int i = n - 1; i >= 0; i--) {
        advml_layer *L = &r->L[i];
        if (has_act(L) && i < n - 1)
            advml_act_backward(r->dz[i], r->dout[i], r->z[i], r->out[i], (size_t)B, lsize(L), L->spec.act,
                               L->spec.alpha);
        L->kind->backward(L, i ? r->dout[i - 1] : NULL, r->grads + L->param_offset, r->dz[i],
                          i ? r->out[i - 1] : x, m->params + L->param_offset, &c);
    }
    return loss;
}

static void check_model(const advml_model_spec *spec, int B, uint64_t seed)
{
    advml_model m;
    advml_error err = {0};
    advml_status st = advml_model_build(&m, spec, B + 2, &err); /* built for more than it runs */
    if (st != ADVML_OK)
        fprintf(stderr, "  build failed: %s\n", err.msg);
    CU_ASSERT_FATAL(st == ADVML_OK);
    CU_ASSERT_FATAL(m.fused && m.spec.loss == ADVML_LOSS_CCE);
    advml_model_init_params(&m, seed);
    advml_rng rng;
    advml_rng_seed(&rng, seed + 1);
    const size_t nin = (size_t)B * advml_shape_size(&spec->input);
    const int K = (int)advml_shape_size(&m.out_shape);
    float *x = malloc(nin * sizeof(float)), *labels = malloc((size_t)B * sizeof(float));
    advml_test_fill_uniform(x, nin, -1.0f, 1.0f, &rng);
    for (int b = 0; b < B; b++)
        labels[b] = (float)advml_rng_below(&rng, (uint64_t)K);
    ref_net r;
    ref_init(&r, &m, B);
    advml_ctx ctx = {.B = B, .training = 1, .seed = 5, .step = 2};

    double rloss = ref_step(&r, x, labels, &ctx);
    advml_model_zero_grads(&m);
    advml_model_forward(&m, x, &ctx);
    double loss = advml_model_loss(&m, labels, B);
    advml_model_backward(&m, x, labels, &ctx);
    CU_ASSERT(loss == rloss);
    /* the output: the reference's last z through the softmax */
    float *prob = malloc((size_t)B * K * sizeof(float));
    advml_act_forward(prob, r.z[m.nlayers - 1], (size_t)B, (size_t)K, ADVML_ACT_SOFTMAX, 0.0f);
    CU_ASSERT(same_floats(advml_model_output(&m), prob, (size_t)B * K));
    int grads_ok = same_floats(m.grads, r.grads, m.nparams);
    if (!grads_ok)
        fprintf(stderr, "  model gradients differ from the layer-by-layer reference by up to %g\n",
                advml_max_abs_diff(m.grads, r.grads, m.nparams));
    CU_ASSERT(grads_ok);

    /* a second pass over stale activation buffers accumulates exactly as much again */
    ref_step(&r, x, labels, &ctx);
    advml_model_forward(&m, x, &ctx);
    advml_model_backward(&m, x, labels, &ctx);
    grads_ok = same_floats(m.grads, r.grads, m.nparams);
    if (!grads_ok)
        fprintf(stderr, "  after a second pass the gradients differ by up to %g\n",
                advml_max_abs_diff(m.grads, r.grads, m.nparams));
    CU_ASSERT(grads_ok);

    /* the layout the fusions use: a ReLU layer before a max pool keeps no out
     * of its own; a flatten that is not first works in its input's buffers */
    for (int i = 1; i < m.nlayers; i++) {
        const advml_layer *L = &m.layers[i], *P = &m.layers[i - 1];
        if (L->spec.type == ADVML_LAYER_MAXPOOL2D && P->kind->post_act && P->spec.act == ADVML_ACT_RELU)
            CU_ASSERT(P->out == P->z && P->dout == P->dz);
        if (L->spec.type == ADVML_LAYER_FLATTEN)
            CU_ASSERT(L->z == P->out && L->dz == P->dout);
    }
    free(prob), free(x), free(labels);
    ref_free(&r);
    advml_model_free(&m);
}

/* The course CNN's shape, small: conv relu + 2x2 max pool twice, flatten,
 * dense relu, dropout, dense softmax. */
static void t_model_course_cnn(void)
{
    advml_model_spec spec = {.input = advml_shape3(1, 12, 12), .loss = ADVML_LOSS_CCE};
    spec.layers[spec.nlayers++] = conv(4, 3, ADVML_PAD_SAME, ADVML_ACT_RELU);
    spec.layers[spec.nlayers++] = pool(ADVML_LAYER_MAXPOOL2D, 2, 0);
    spec.layers[spec.nlayers++] = conv(6, 3, ADVML_PAD_SAME, ADVML_ACT_RELU);
    spec.layers[spec.nlayers++] = pool(ADVML_LAYER_MAXPOOL2D, 2, 0);
    spec.layers[spec.nlayers++] = advml_layer_spec_default(ADVML_LAYER_FLATTEN);
    spec.layers[spec.nlayers++] = dense(20, ADVML_ACT_RELU);
    spec.layers[spec.nlayers++] = advml_layer_spec_default(ADVML_LAYER_DROPOUT);
    spec.layers[spec.nlayers++] = dense(5, ADVML_ACT_SOFTMAX);
    check_model(&spec, 3, 1);
}

/* What is fused and what is not side by side: an activation layer's ReLU into
 * an overlapping 3x3/2 max pool (general path), a leaky ReLU before a max pool
 * and a ReLU before an average pool (not fused), a flatten right after a
 * conv's ReLU output, a tanh dense layer (write-variant backward). */
static void t_model_mixed(void)
{
    advml_model_spec spec = {.input = advml_shape3(2, 11, 10), .loss = ADVML_LOSS_CCE};
    spec.layers[spec.nlayers++] = conv(3, 3, ADVML_PAD_VALID, ADVML_ACT_IDENTITY);
    advml_layer_spec a = advml_layer_spec_default(ADVML_LAYER_ACTIVATION);
    a.act = ADVML_ACT_RELU;
    spec.layers[spec.nlayers++] = a;
    spec.layers[spec.nlayers++] = pool(ADVML_LAYER_MAXPOOL2D, 3, 1);
    advml_layer_spec lk = conv(4, 2, ADVML_PAD_SAME, ADVML_ACT_LEAKY_RELU);
    lk.alpha = 0.1f;
    spec.layers[spec.nlayers++] = lk;
    spec.layers[spec.nlayers++] = pool(ADVML_LAYER_MAXPOOL2D, 2, 0);
    spec.layers[spec.nlayers++] = conv(3, 1, ADVML_PAD_VALID, ADVML_ACT_RELU);
    spec.layers[spec.nlayers++] = pool(ADVML_LAYER_AVGPOOL2D, 1, 0);
    spec.layers[spec.nlayers++] = conv(2, 1, ADVML_PAD_VALID, ADVML_ACT_RELU);
    spec.layers[spec.nlayers++] = advml_layer_spec_default(ADVML_LAYER_FLATTEN);
    spec.layers[spec.nlayers++] = dense(7, ADVML_ACT_TANH);
    spec.layers[spec.nlayers++] = dense(4, ADVML_ACT_SOFTMAX);
    check_model(&spec, 4, 2);
}

static void reg(void)
{
    static const advml_test_case c[] = {
        {"max pool fused with the ReLU before it", t_pool_relu},
        {"course CNN: model equals the layer-by-layer reference", t_model_course_cnn},
        {"fused and unfused layers: model equals the reference", t_model_mixed},
        {NULL, NULL},
    };
    advml_test_add_suite("fusion", c);
}

int main(void) { return advml_test_main(reg); }

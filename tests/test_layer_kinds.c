/* test_layer_kinds.c - the table of layer kinds, spec defaults, the shared
 * initialisers, the flatten kind, the setup messages a user sees, and a
 * small CNN chained through the kinds (as the model does) checked against
 * finite differences end to end.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "advml/layer.h"
#include "testutil.h"

/* ---- the table ----------------------------------------------------------------- */

static void t_table(void)
{
    static const struct {
        advml_layer_type type;
        const char *name, *class_name;
        int post_act;
    } rows[] = {
        {ADVML_LAYER_CONV2D, "conv2d", "Conv2D", 1},
        {ADVML_LAYER_MAXPOOL2D, "maxpool2d", "MaxPooling2D", 0},
        {ADVML_LAYER_AVGPOOL2D, "avgpool2d", "AveragePooling2D", 0},
        {ADVML_LAYER_FLATTEN, "flatten", "Flatten", 0},
        {ADVML_LAYER_DENSE, "dense", "Dense", 1},
        {ADVML_LAYER_DROPOUT, "dropout", "Dropout", 0},
        {ADVML_LAYER_ACTIVATION, "activation", "Activation", 1},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const advml_layer_kind *k = advml_layer_kind_of(rows[i].type);
        CU_ASSERT_FATAL(k != NULL);
        CU_ASSERT(strcmp(k->name, rows[i].name) == 0);
        CU_ASSERT(strcmp(k->class_name, rows[i].class_name) == 0);
        CU_ASSERT(k->post_act == rows[i].post_act);
        CU_ASSERT(k->setup && k->init && k->forward && k->backward);
        advml_layer_type t = ADVML_LAYER_NTYPES;
        CU_ASSERT(advml_layer_kind_by_name(rows[i].name, &t) == k);
        CU_ASSERT(t == rows[i].type);
        CU_ASSERT(advml_layer_kind_by_name(rows[i].name, NULL) == k);
    }
    CU_ASSERT(advml_layer_kind_of(ADVML_LAYER_CONV2D) == &advml_conv2d_kind);
    CU_ASSERT(advml_layer_kind_of(ADVML_LAYER_DENSE) == &advml_dense_kind);
    CU_ASSERT(advml_layer_kind_of(ADVML_LAYER_NTYPES) == NULL);
    CU_ASSERT(advml_layer_kind_of((advml_layer_type)-1) == NULL);
    advml_layer_type t = ADVML_LAYER_DENSE;
    CU_ASSERT(advml_layer_kind_by_name("conv3d", &t) == NULL && t == ADVML_LAYER_DENSE);
    CU_ASSERT(advml_layer_kind_by_name("Conv2D", &t) == NULL);
    CU_ASSERT(advml_layer_kind_by_name("", &t) == NULL);
    CU_ASSERT(advml_layer_kind_by_name(NULL, &t) == NULL);
}

static void t_spec_default(void)
{
    for (int t = 0; t < ADVML_LAYER_NTYPES; t++) {
        advml_layer_spec s = advml_layer_spec_default((advml_layer_type)t);
        CU_ASSERT(s.type == (advml_layer_type)t);
        CU_ASSERT(s.padding == ADVML_PAD_VALID);
        CU_ASSERT(s.alpha == ADVML_LEAKY_ALPHA_DEFAULT);
        CU_ASSERT(s.use_bias == 1 && s.in_channels == 0 && s.return_sequences == 0);
        CU_ASSERT(s.rate >= 0.0f && s.rate < 1.0f);
        if (t == ADVML_LAYER_MAXPOOL2D || t == ADVML_LAYER_AVGPOOL2D) {
            CU_ASSERT(s.kernel[0] == 2 && s.kernel[1] == 2 && s.stride[0] == 0 && s.stride[1] == 0);
        } else {
            CU_ASSERT(s.stride[0] == 1 && s.stride[1] == 1);
        }
        int recurrent = t == ADVML_LAYER_RNN || t == ADVML_LAYER_LSTM || t == ADVML_LAYER_GRU || t == ADVML_LAYER_ESN;
        CU_ASSERT(s.act == (recurrent ? ADVML_ACT_TANH : ADVML_ACT_IDENTITY));
    }
}

/* ---- initialisers ---------------------------------------------------------------- */

static void t_init(void)
{
    const size_t n = 40000;
    float *w = malloc(n * sizeof(float)), *v = malloc(n * sizeof(float));
    advml_rng r1, r2;
    /* He: N(0, 2/fan_in) */
    advml_rng_seed(&r1, 11);
    advml_init_he(w, n, 50, &r1);
    double s = 0.0, ss = 0.0;
    for (size_t i = 0; i < n; i++)
        s += w[i], ss += (double)w[i] * w[i];
    ADVML_CHECK_CLOSE(s / n, 0.0, 4 * sqrt(0.04 / n));
    ADVML_CHECK_CLOSE(ss / n, 0.04, 0.04 * 0.05); /* sd of the estimate ~0.7% */
    /* Glorot: U(-l, l), l = sqrt(6/(fan_in+fan_out)), variance l^2/3 */
    advml_rng_seed(&r1, 11);
    advml_init_glorot(w, n, 50, 100, &r1);
    const double l = sqrt(6.0 / 150);
    double mx = 0.0;
    ss = 0.0;
    for (size_t i = 0; i < n; i++)
        mx = fmax(mx, fabs(w[i])), ss += (double)w[i] * w[i];
    CU_ASSERT(mx <= l && mx > 0.99 * l);
    ADVML_CHECK_CLOSE(ss / n, l * l / 3, l * l / 3 * 0.05);
    /* for_act picks He for the ReLU family, Glorot otherwise, from the same stream */
    advml_rng_seed(&r1, 3), advml_rng_seed(&r2, 3);
    advml_init_for_act(w, n, 20, 30, ADVML_ACT_RELU, &r1);
    advml_init_he(v, n, 20, &r2);
    CU_ASSERT(memcmp(w, v, n * sizeof(float)) == 0);
    advml_rng_seed(&r1, 3), advml_rng_seed(&r2, 3);
    advml_init_for_act(w, n, 20, 30, ADVML_ACT_LEAKY_RELU, &r1);
    advml_init_he(v, n, 20, &r2);
    CU_ASSERT(memcmp(w, v, n * sizeof(float)) == 0);
    advml_rng_seed(&r1, 3), advml_rng_seed(&r2, 3);
    advml_init_for_act(w, n, 20, 30, ADVML_ACT_SIGMOID, &r1);
    advml_init_glorot(v, n, 20, 30, &r2);
    CU_ASSERT(memcmp(w, v, n * sizeof(float)) == 0);
    free(w), free(v);
}

/* Every named kind: its distribution's bound (uniform) or variance (normal)
 * for fan_in 50, fan_out 100; AUTO is advml_init_for_act; a bias is zeros
 * unless asked otherwise; names round trip. */
static void t_init_kinds(void)
{
    const size_t n = 40000;
    const int fi = 50, fo = 100;
    struct {
        advml_init kind;
        int uniform;   /* 1: U(-lim, lim); 0: N(0, var) */
        double scale;  /* lim or var */
    } want[] = {
        {ADVML_INIT_HE_NORMAL, 0, 2.0 / fi},          {ADVML_INIT_HE_UNIFORM, 1, sqrt(6.0 / fi)},
        {ADVML_INIT_GLOROT_UNIFORM, 1, sqrt(6.0 / (fi + fo))}, {ADVML_INIT_GLOROT_NORMAL, 0, 2.0 / (fi + fo)},
        {ADVML_INIT_LECUN_UNIFORM, 1, sqrt(3.0 / fi)}, {ADVML_INIT_LECUN_NORMAL, 0, 1.0 / fi},
        {ADVML_INIT_TORCH, 1, 1.0 / sqrt(fi)},
    };
    float *w = malloc(n * sizeof(float)), *v = malloc(n * sizeof(float));
    advml_rng r1, r2;
    for (size_t k = 0; k < sizeof want / sizeof want[0]; k++) {
        advml_rng_seed(&r1, 5 + k);
        advml_init_fill(w, n, want[k].kind, fi, fo, ADVML_ACT_RELU, &r1);
        double s = 0.0, ss = 0.0, mx = 0.0;
        for (size_t i = 0; i < n; i++)
            s += w[i], ss += (double)w[i] * w[i], mx = fmax(mx, fabs(w[i]));
        const double var = want[k].uniform ? want[k].scale * want[k].scale / 3 : want[k].scale;
        ADVML_CHECK_CLOSE(s / n, 0.0, 4 * sqrt(var / n));
        ADVML_CHECK_CLOSE(ss / n, var, var * 0.05);
        if (want[k].uniform) {
            CU_ASSERT(mx <= want[k].scale && mx > 0.99 * want[k].scale);
        } else {
            CU_ASSERT(mx > 3 * sqrt(var)); /* a normal's tail, not a uniform's edge */
        }
        /* the name round trips */
        CU_ASSERT_EQUAL(advml_init_by_name(advml_init_name(want[k].kind)), (int)want[k].kind);
    }
    CU_ASSERT_EQUAL(advml_init_by_name("torch"), ADVML_INIT_TORCH);
    CU_ASSERT_EQUAL(advml_init_by_name("he_normal"), ADVML_INIT_HE_NORMAL);
    CU_ASSERT_EQUAL(advml_init_by_name("kaiming"), -1);
    CU_ASSERT_PTR_NULL(advml_init_name(ADVML_INIT_NKINDS));
    /* AUTO is the activation-dependent default, from the same stream */
    advml_rng_seed(&r1, 9), advml_rng_seed(&r2, 9);
    advml_init_fill(w, n, ADVML_INIT_AUTO, fi, fo, ADVML_ACT_TANH, &r1);
    advml_init_for_act(v, n, fi, fo, ADVML_ACT_TANH, &r2);
    CU_ASSERT(memcmp(w, v, n * sizeof(float)) == 0);
    /* zeros; a bias: AUTO is zeros, torch is U(+-1/sqrt(fan_in)) */
    advml_rng_seed(&r1, 9);
    w[0] = 1.0f;
    advml_init_fill(w, n, ADVML_INIT_ZEROS, fi, fo, ADVML_ACT_RELU, &r1);
    CU_ASSERT(w[0] == 0.0f && w[n - 1] == 0.0f);
    w[0] = 1.0f;
    advml_init_bias(w, 64, ADVML_INIT_AUTO, fi, fo, &r1);
    CU_ASSERT(w[0] == 0.0f && w[63] == 0.0f);
    advml_init_bias(w, n, ADVML_INIT_TORCH, fi, fo, &r1);
    double mx = 0.0;
    for (size_t i = 0; i < n; i++)
        mx = fmax(mx, fabs(w[i]));
    CU_ASSERT(mx <= 1.0 / sqrt(fi) && mx > 0.99 / sqrt(fi));
    free(w), free(v);
}

/* A dense and a conv2d layer initialised through the kinds honour the spec's
 * kernel_init and bias_init (PyTorch's nn.Linear / nn.Conv2d defaults here). */
static void t_init_in_layers(void)
{
    advml_layer_spec sd = advml_layer_spec_default(ADVML_LAYER_DENSE);
    sd.units = 300;
    sd.act = ADVML_ACT_RELU;
    sd.kernel_init = ADVML_INIT_TORCH;
    sd.bias_init = ADVML_INIT_TORCH;
    advml_layer_spec sc = advml_layer_spec_default(ADVML_LAYER_CONV2D);
    sc.units = 64;
    sc.kernel[0] = sc.kernel[1] = 3;
    sc.act = ADVML_ACT_RELU;
    sc.kernel_init = ADVML_INIT_TORCH;
    sc.bias_init = ADVML_INIT_TORCH;
    const struct {
        advml_layer_spec *spec;
        advml_shape in;
        int fan_in;
    } cases[] = {{&sd, advml_shape1(200), 200}, {&sc, advml_shape3(8, 10, 10), 8 * 9}};
    for (int c = 0; c < 2; c++) {
        advml_layer L;
        memset(&L, 0, sizeof L);
        L.spec = *cases[c].spec;
        L.kind = advml_layer_kind_of(L.spec.type);
        advml_error err;
        CU_ASSERT_EQUAL_FATAL(L.kind->setup(&L, cases[c].in, 8, &err), ADVML_OK);
        float *p = calloc((size_t)L.nparams, sizeof(float));
        advml_rng rng;
        advml_rng_seed(&rng, 1);
        L.kind->init(&L, p, &rng);
        const double lim = 1.0 / sqrt(cases[c].fan_in);
        for (int v = 0; v < L.nviews; v++) { /* kernel and bias alike */
            double mx = 0.0;
            for (size_t i = 0; i < L.views[v].size; i++)
                mx = fmax(mx, fabs(p[L.views[v].offset + i]));
            CU_ASSERT(mx <= lim && mx > 0.5 * lim);
        }
        free(p);
    }
}

/* ---- flatten ------------------------------------------------------------------------- */

static void t_flatten(void)
{
    const advml_layer_kind *k = advml_layer_kind_of(ADVML_LAYER_FLATTEN);
    advml_layer L;
    memset(&L, 0, sizeof L);
    L.spec = advml_layer_spec_default(ADVML_LAYER_FLATTEN);
    advml_error err;
    CU_ASSERT(k->setup(&L, advml_shape3(64, 7, 7), 8, &err) == ADVML_OK);
    CU_ASSERT(L.out_shape.rank == 1 && L.out_shape.d[0] == 3136 && L.nparams == 0);
    CU_ASSERT(k->setup(&L, advml_shape3(64, 4, 4), 8, &err) == ADVML_OK && L.out_shape.d[0] == 1024);
    CU_ASSERT(k->setup(&L, advml_shape2(20, 3), 8, &err) == ADVML_OK && L.out_shape.d[0] == 60);
    CU_ASSERT(k->setup(&L, advml_shape1(784), 8, &err) == ADVML_OK && L.out_shape.d[0] == 784);
    CU_ASSERT_FATAL(k->setup(&L, advml_shape3(2, 3, 2), 8, &err) == ADVML_OK);
    float x[24], z[24], g[24], dx[24];
    for (int i = 0; i < 24; i++)
        x[i] = (float)i, g[i] = 0.5f * (float)i, dx[i] = 1.0f;
    advml_ctx ctx = {.B = 2, .training = 1};
    k->forward(&L, z, x, NULL, &ctx);
    CU_ASSERT(memcmp(z, x, sizeof z) == 0); /* NCHW is already the flat order */
    k->backward(&L, dx, NULL, g, x, NULL, &ctx);
    int ok = 1;
    for (int i = 0; i < 24; i++)
        ok &= dx[i] == 1.0f + g[i];
    CU_ASSERT(ok);
    k->backward(&L, NULL, NULL, g, x, NULL, &ctx);
    L.index = 7;
    CU_ASSERT(k->setup(&L, advml_shape3(0, 3, 3), 8, &err) == ADVML_ERR_SHAPE);
    CU_ASSERT(strstr(err.msg, "layer 7 (flatten): cannot flatten an input of shape (None, 0, 3, 3)") != NULL);
}

/* ---- the messages a user sees, through the table ----------------------------------------- */

static advml_status setup_via_table(advml_layer *L, advml_layer_spec spec, int index,
                                    advml_shape in, advml_error *err)
{
    memset(L, 0, sizeof *L);
    L->spec = spec;
    L->index = index;
    L->kind = advml_layer_kind_of(spec.type);
    advml_error_clear(err);
    return L->kind->setup(L, in, 16, err);
}

static void t_setup_messages(void)
{
    advml_layer L;
    advml_error err;
    advml_layer_spec conv = advml_layer_spec_default(ADVML_LAYER_CONV2D);
    conv.units = 8, conv.kernel[0] = conv.kernel[1] = 5;
    CU_ASSERT(setup_via_table(&L, conv, 2, advml_shape3(16, 3, 3), &err) == ADVML_ERR_SHAPE);
    CU_ASSERT(strstr(err.msg, "layer 2 (conv2d): kernel 5x5 is larger than the padded input 3x3") != NULL);
    conv.kernel[0] = conv.kernel[1] = 3, conv.in_channels = 16;
    CU_ASSERT(setup_via_table(&L, conv, 3, advml_shape3(32, 14, 14), &err) == ADVML_ERR_SHAPE);
    CU_ASSERT(strstr(err.msg, "layer 3 (conv2d): expects 16 input channels (in_channels) but the "
                              "previous layer gives 32") != NULL);
    advml_layer_spec dense = advml_layer_spec_default(ADVML_LAYER_DENSE);
    dense.units = 128;
    CU_ASSERT(setup_via_table(&L, dense, 4, advml_shape3(64, 7, 7), &err) == ADVML_ERR_SHAPE);
    CU_ASSERT(strstr(err.msg, "layer 4 (dense): input has shape (None, 64, 7, 7); dense needs a "
                              "flat input: add a flatten layer before it") != NULL);
    /* nonsense specs */
    dense.units = 0;
    CU_ASSERT(setup_via_table(&L, dense, 5, advml_shape1(10), &err) == ADVML_ERR_SHAPE);
    CU_ASSERT(strstr(err.msg, "layer 5 (dense): units must be positive") != NULL);
    conv.in_channels = 0, conv.units = -1;
    CU_ASSERT(setup_via_table(&L, conv, 0, advml_shape3(1, 28, 28), &err) == ADVML_ERR_SHAPE);
    CU_ASSERT(strstr(err.msg, "layer 0 (conv2d): filters (units) must be positive") != NULL);
    conv.units = 4, conv.stride[1] = 0;
    CU_ASSERT(setup_via_table(&L, conv, 0, advml_shape3(1, 28, 28), &err) == ADVML_ERR_SHAPE);
    CU_ASSERT(strstr(err.msg, "layer 0 (conv2d): stride 1x0 must be positive") != NULL);
    conv.stride[1] = 1;
    CU_ASSERT(setup_via_table(&L, conv, 1, advml_shape2(20, 3), &err) == ADVML_ERR_SHAPE);
    CU_ASSERT(strstr(err.msg, "layer 1 (conv2d): input has shape (None, 20, 3); conv2d needs an "
                              "image input") != NULL);
    advml_layer_spec pool = advml_layer_spec_default(ADVML_LAYER_MAXPOOL2D);
    pool.stride[0] = -2, pool.stride[1] = -2;
    CU_ASSERT(setup_via_table(&L, pool, 3, advml_shape3(4, 8, 8), &err) == ADVML_ERR_SHAPE);
    CU_ASSERT(strstr(err.msg, "layer 3 (maxpool2d): stride -2x-2 must be positive") != NULL);
    advml_layer_spec drop = advml_layer_spec_default(ADVML_LAYER_DROPOUT);
    drop.rate = 1.0f;
    CU_ASSERT(setup_via_table(&L, drop, 8, advml_shape1(10), &err) == ADVML_ERR_SHAPE);
    CU_ASSERT(strstr(err.msg, "layer 8 (dropout): rate 1 must be in [0, 1)") != NULL);
}

/* ---- a small CNN through the kinds, checked end to end ------------------------------------ */

#define NET_MAX 9

typedef struct net {
    int n, B;
    advml_layer L[NET_MAX];
    advml_shape in_shape;
    size_t np;
    float *params, *grads, *scratch;
    float *z[NET_MAX], *out[NET_MAX], *dz[NET_MAX], *dout[NET_MAX];
    float *x, *dx, *R;
    advml_ctx ctx;
} net;

static int has_act(const advml_layer *L)
{
    return L->kind->post_act && L->spec.act != ADVML_ACT_IDENTITY;
}

static size_t out_floats(const net *m, int i) { return (size_t)m->B * advml_shape_size(&m->L[i].out_shape); }

static int net_build(net *m, const advml_layer_spec *specs, int n, advml_shape in, int B)
{
    memset(m, 0, sizeof *m);
    m->n = n, m->B = B, m->in_shape = in;
    advml_shape s = in;
    size_t scratch = 0;
    for (int i = 0; i < n; i++) {
        advml_layer *L = &m->L[i];
        L->spec = specs[i];
        L->index = i;
        L->kind = advml_layer_kind_of(specs[i].type);
        advml_error err;
        if (L->kind->setup(L, s, B, &err) != ADVML_OK) {
            fprintf(stderr, "  %s\n", err.msg);
            return 0;
        }
        L->param_offset = m->np;
        m->np += L->nparams;
        scratch = L->scratch_floats > scratch ? L->scratch_floats : scratch;
        s = L->out_shape;
        size_t k = out_floats(m, i);
        m->z[i] = calloc(k, sizeof(float));
        m->dz[i] = calloc(k, sizeof(float));
        m->out[i] = has_act(L) ? calloc(k, sizeof(float)) : m->z[i];
        m->dout[i] = has_act(L) ? calloc(k, sizeof(float)) : m->dz[i];
        L->state = L->state_per_sample ? calloc((size_t)B, L->state_per_sample) : NULL;
    }
    m->params = malloc(m->np * sizeof(float));
    m->grads = calloc(m->np, sizeof(float));
    m->scratch = malloc((scratch + 1) * sizeof(float));
    size_t nx = (size_t)B * advml_shape_size(&in);
    m->x = malloc(nx * sizeof(float));
    m->dx = calloc(nx, sizeof(float));
    m->R = malloc(out_floats(m, n - 1) * sizeof(float));
    advml_rng rng;
    advml_rng_seed(&rng, 17);
    for (int i = 0; i < n; i++)
        m->L[i].kind->init(&m->L[i], m->params + m->L[i].param_offset, &rng);
    advml_test_fill_uniform(m->x, nx, -1, 1, &rng);
    advml_test_fill_uniform(m->R, out_floats(m, n - 1), -1, 1, &rng);
    m->ctx = (advml_ctx){.B = B, .training = 1, .seed = 99, .step = 3, .sample_ids = NULL,
                         .scratch = m->scratch};
    return 1;
}

static void net_free(net *m)
{
    for (int i = 0; i < m->n; i++) {
        if (m->out[i] != m->z[i])
            free(m->out[i]), free(m->dout[i]);
        free(m->z[i]), free(m->dz[i]), free(m->L[i].state);
    }
    free(m->params), free(m->grads), free(m->scratch), free(m->x), free(m->dx), free(m->R);
}

static double net_objective(void *ctx)
{
    net *m = ctx;
    const float *in = m->x;
    for (int i = 0; i < m->n; i++) {
        advml_layer *L = &m->L[i];
        L->kind->forward(L, m->z[i], in, m->params + L->param_offset, &m->ctx);
        if (has_act(L))
            advml_act_forward(m->out[i], m->z[i], (size_t)m->B, advml_shape_size(&L->out_shape),
                              L->spec.act, L->spec.alpha);
        in = m->out[i];
    }
    double f = 0.0;
    for (size_t j = 0; j < out_floats(m, m->n - 1); j++)
        f += (double)m->out[m->n - 1][j] * m->R[j];
    return f;
}

static void net_backward(net *m)
{
    memcpy(m->dout[m->n - 1], m->R, out_floats(m, m->n - 1) * sizeof(float));
    for (int i = m->n - 1; i >= 0; i--) {
        advml_layer *L = &m->L[i];
        if (has_act(L)) {
            memset(m->dz[i], 0, out_floats(m, i) * sizeof(float));
            advml_act_backward(m->dz[i], m->dout[i], m->z[i], m->out[i], (size_t)m->B,
                               advml_shape_size(&L->out_shape), L->spec.act, L->spec.alpha);
        }
        float *dinp = m->dx;
        if (i > 0) {
            dinp = m->dout[i - 1];
            memset(dinp, 0, out_floats(m, i - 1) * sizeof(float));
        }
        L->kind->backward(L, dinp, m->grads + L->param_offset, m->dz[i], i ? m->out[i - 1] : m->x,
                          m->params + L->param_offset, &m->ctx);
    }
}

/* conv(tanh) -> maxpool -> conv(sigmoid, strided, asymmetric) -> avgpool -> flatten
 * -> dense(tanh) -> dropout -> dense -> activation(softmax), 3 samples.
 * Nonlinear through nine layers in float32: the objective's rounding,
 * ~1e-7 absolute, divided by 2h gives ~5e-5 absolute noise at h = 1e-3
 * (measured worst 7e-4 relative to the floor 0.1); truncation, h^2/6 * f''',
 * is far smaller. A larger h is not safe here: a max-pool window whose two
 * largest values are within ~2e-3 of each other switches under perturbation
 * (h = 1e-2 fails for that reason alone). The tolerance 5e-3 is 7x the
 * noise; a wrong parameter offset or a missing term fails with O(1) errors.
 * The seed is fixed, so the test is deterministic. */
#define NET_H 1e-3
#define NET_TOL 5e-3

static void t_network_gradcheck(void)
{
    advml_layer_spec s[NET_MAX];
    int n = 0;
    s[n] = advml_layer_spec_default(ADVML_LAYER_CONV2D);
    s[n].units = 3, s[n].kernel[0] = s[n].kernel[1] = 3, s[n].padding = ADVML_PAD_SAME;
    s[n++].act = ADVML_ACT_TANH;
    s[n++] = advml_layer_spec_default(ADVML_LAYER_MAXPOOL2D);
    s[n] = advml_layer_spec_default(ADVML_LAYER_CONV2D);
    s[n].units = 4, s[n].kernel[0] = 2, s[n].kernel[1] = 1, s[n].stride[0] = 1, s[n].stride[1] = 2;
    s[n++].act = ADVML_ACT_SIGMOID;
    s[n] = advml_layer_spec_default(ADVML_LAYER_AVGPOOL2D);
    s[n].kernel[0] = 2, s[n].kernel[1] = 1, s[n].stride[0] = 1, s[n++].stride[1] = 1;
    s[n++] = advml_layer_spec_default(ADVML_LAYER_FLATTEN);
    s[n] = advml_layer_spec_default(ADVML_LAYER_DENSE);
    s[n].units = 6, s[n++].act = ADVML_ACT_TANH;
    s[n] = advml_layer_spec_default(ADVML_LAYER_DROPOUT);
    s[n++].rate = 0.3f;
    s[n] = advml_layer_spec_default(ADVML_LAYER_DENSE);
    s[n++].units = 4;
    s[n] = advml_layer_spec_default(ADVML_LAYER_ACTIVATION);
    s[n++].act = ADVML_ACT_SOFTMAX;
    net m;
    CU_ASSERT_FATAL(net_build(&m, s, n, advml_shape3(2, 8, 9), 3));
    /* shapes: (3,8,9) -> (3,4,4) -> (4,3,2) -> (4,2,2) -> 16 -> 6 -> 6 -> 4 -> 4 */
    CU_ASSERT(m.L[2].out_shape.d[0] == 4 && m.L[2].out_shape.d[1] == 3 && m.L[2].out_shape.d[2] == 2);
    CU_ASSERT(m.L[4].out_shape.d[0] == 16);
    CU_ASSERT(m.np == (3 * 2 * 9 + 3) + (4 * 3 * 2 + 4) + (6 * 16 + 6) + (4 * 6 + 4));
    net_objective(&m);
    net_backward(&m);
    CU_ASSERT(advml_gradcheck("network params", m.params, m.grads, m.np, net_objective, &m, NET_H,
                              0.1, NET_TOL, NULL) < NET_TOL);
    CU_ASSERT(advml_gradcheck("network input", m.x, m.dx, (size_t)3 * 2 * 8 * 9, net_objective, &m,
                              NET_H, 0.1, NET_TOL, NULL) < NET_TOL);
    net_free(&m);
}

static void reg(void)
{
    static const advml_test_case c[] = {
        {"kinds table", t_table},
        {"spec defaults", t_spec_default},
        {"He/Glorot initialisers", t_init},
        {"every named initialiser", t_init_kinds},
        {"initialisers through the kinds", t_init_in_layers},
        {"flatten kind", t_flatten},
        {"setup messages", t_setup_messages},
        {"small CNN through the kinds: gradients", t_network_gradcheck},
        {NULL, NULL},
    };
    advml_test_add_suite("layer kinds", c);
}

int main(void) { return advml_test_main(reg); }

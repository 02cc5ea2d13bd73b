/* test_gru.c - GRU: forward against PyTorch nn.GRU values and a
 * double-precision reference, central finite-difference gradient checks
 * (input, h0, weight_ih, weight_hh, bias_ih, bias_hh; both return modes),
 * accumulation, and the "gru" layer kind (setup, init, forward/backward =
 * the ops, errors), plus a stack gru -> gru -> rnn checked end to end. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "advml/gru.h"
#include "advml/model.h"
#include "testutil.h"

typedef struct gru_case {
    advml_seq_dims d;
    int use_h0;
    float *x, *h0, *w_ih, *w_hh, *b_ih, *b_hh; /* (N,T,F) (N,H) (3H,F) (3H,H) (3H) (3H) */
    float *wout;                               /* loss weights, shape of out */
    float *out, *state, *scratch;
    size_t nout;
} gru_case;

static void gru_case_alloc(gru_case *c, int N, int T, int F, int H, int rs, int use_h0)
{
    advml_seq_dims d = {N, T, F, H, rs};
    memset(c, 0, sizeof *c);
    c->d = d;
    c->use_h0 = use_h0;
    c->nout = (size_t)N * H * (rs ? T : 1);
    c->x = advml_test_falloc((size_t)N * T * F);
    c->h0 = advml_test_falloc((size_t)N * H);
    c->w_ih = advml_test_falloc((size_t)3 * H * F);
    c->w_hh = advml_test_falloc((size_t)3 * H * H);
    c->b_ih = advml_test_falloc((size_t)3 * H);
    c->b_hh = advml_test_falloc((size_t)3 * H);
    c->wout = advml_test_falloc(c->nout);
    c->out = advml_test_falloc(c->nout);
    c->state = advml_test_falloc(advml_gru_state_floats(&d));
    c->scratch = advml_test_falloc(advml_gru_scratch_floats(&d));
}

static void gru_case_make(gru_case *c, int N, int T, int F, int H, int rs, int use_h0,
                          uint64_t seed)
{
    advml_rng rng;
    advml_rng_seed(&rng, seed);
    gru_case_alloc(c, N, T, F, H, rs, use_h0);
    advml_test_fill_uniform(c->x, (size_t)N * T * F, -1.0f, 1.0f, &rng);
    advml_test_fill_uniform(c->h0, (size_t)N * H, -0.8f, 0.8f, &rng);
    advml_test_fill_uniform(c->w_ih, (size_t)3 * H * F, -0.8f, 0.8f, &rng);
    advml_test_fill_uniform(c->w_hh, (size_t)3 * H * H, -0.6f, 0.6f, &rng);
    advml_test_fill_uniform(c->b_ih, (size_t)3 * H, -0.5f, 0.5f, &rng);
    advml_test_fill_uniform(c->b_hh, (size_t)3 * H, -0.5f, 0.5f, &rng);
    advml_test_fill_uniform(c->wout, c->nout, -1.0f, 1.0f, &rng);
}

static void gru_case_free(gru_case *c)
{
    free(c->x); free(c->h0); free(c->w_ih); free(c->w_hh); free(c->b_ih); free(c->b_hh);
    free(c->wout); free(c->out); free(c->state); free(c->scratch);
}

static void gru_run(gru_case *c)
{
    advml_gru_forward(c->out, c->state, c->scratch, c->x, c->use_h0 ? c->h0 : NULL, c->w_ih,
                      c->w_hh, c->b_ih, c->b_hh, &c->d);
}

/* L = sum(wout * out) in double over a float forward. */
static double gru_loss(void *p)
{
    gru_case *c = p;
    gru_run(c);
    double s = 0.0;
    for (size_t k = 0; k < c->nout; k++)
        s += (double)c->wout[k] * c->out[k];
    return s;
}

static double sigm(double v) { return 1.0 / (1.0 + exp(-v)); }

/* The gate equations step by step in double; ref has the shape of out. */
static void gru_reference(double *ref, const gru_case *c)
{
    const int N = c->d.N, T = c->d.T, F = c->d.F, H = c->d.H;
    double h[16], A[48], R[48];
    CU_ASSERT_FATAL(H <= 16);
    for (int n = 0; n < N; n++) {
        for (int j = 0; j < H; j++)
            h[j] = c->use_h0 ? c->h0[n * H + j] : 0.0;
        for (int t = 0; t < T; t++) {
            const float *xt = c->x + ((size_t)n * T + t) * F;
            for (int r = 0; r < 3 * H; r++) { /* A = W_ih x + b_ih, R = W_hh h + b_hh */
                double a = c->b_ih[r], s = c->b_hh[r];
                for (int f = 0; f < F; f++)
                    a += (double)c->w_ih[r * F + f] * xt[f];
                for (int j = 0; j < H; j++)
                    s += (double)c->w_hh[r * H + j] * h[j];
                A[r] = a;
                R[r] = s;
            }
            for (int j = 0; j < H; j++) {
                double r = sigm(A[j] + R[j]), z = sigm(A[H + j] + R[H + j]);
                double nn = tanh(A[2 * H + j] + r * R[2 * H + j]);
                h[j] = (1.0 - z) * nn + z * h[j];
            }
            if (c->d.return_sequences)
                for (int j = 0; j < H; j++)
                    ref[((size_t)n * T + t) * H + j] = h[j];
        }
        if (!c->d.return_sequences)
            for (int j = 0; j < H; j++)
                ref[(size_t)n * H + j] = h[j];
    }
}

static void t_forward_reference(void)
{
    for (int rs = 0; rs <= 1; rs++)
        for (int h0 = 0; h0 <= 1; h0++) {
            gru_case c;
            gru_case_make(&c, 3, 6, 2, 5, rs, h0, 300 + 2 * rs + h0);
            double *ref = calloc(c.nout, sizeof(double));
            CU_ASSERT_FATAL(ref != NULL);
            gru_reference(ref, &c);
            gru_run(&c);
            double m = 0.0;
            for (size_t k = 0; k < c.nout; k++)
                m = fmax(m, fabs(c.out[k] - ref[k]));
            if (m > 1e-5)
                fprintf(stderr, "  gru forward vs reference: max diff %.3g\n", m);
            CU_ASSERT(m <= 1e-5);
            free(ref);
            gru_case_free(&c);
        }
}

/* Values from PyTorch 1.13 nn.GRU(3, 3, batch_first=True) in float64 with
 * weight_ih_l0[k] = 0.4 sin(1 + k), weight_hh_l0[k] = 0.3 cos(0.5 + 2k),
 * bias_ih_l0[k] = 0.2 sin(3k), bias_hh_l0[k] = 0.1 cos(k) (flat index k, each
 * value rounded to float), x[k] = sin(0.7k + 0.3) (N=2, T=4, F=3),
 * h0[k] = 0.5 cos(1.3k); output = every h_t. Confirms the gate order
 * (r, z, n), the layout of all four views and r acting on W_hn h + b_hn. */
static void t_matches_pytorch(void)
{
    static const float with_state[24] = {
        0.56426378f, -0.02804134f, 0.06927829f, 0.19269344f, 0.18800575f, -0.14504801f,
        -0.04299997f, 0.47266655f, -0.24695849f, 0.36160673f, 0.16874641f, 0.19320462f,
        -0.33664453f, 0.31547793f, 0.04976187f, -0.41525006f, 0.51132613f, -0.12405641f,
        0.24209251f, 0.16215281f, 0.25944639f, -0.01634801f, 0.29474233f, -0.04461020f};
    static const float zero_state[24] = {
        0.33525784f, -0.16187418f, 0.25217126f, 0.02738264f, 0.11880272f, -0.06879156f,
        -0.16718373f, 0.44407192f, -0.20151119f, 0.31604480f, 0.13873409f, 0.21513322f,
        -0.12733287f, 0.21944535f, -0.18542937f, -0.26620952f, 0.48590241f, -0.27362757f,
        0.29074177f, 0.16769762f, 0.19411055f, 0.01876152f, 0.29981551f, -0.07517056f};
    gru_case c;
    gru_case_alloc(&c, 2, 4, 3, 3, 1, 1);
    for (int k = 0; k < 24; k++)
        c.x[k] = (float)sin(0.7 * k + 0.3);
    for (int k = 0; k < 6; k++)
        c.h0[k] = (float)(0.5 * cos(1.3 * k));
    for (int k = 0; k < 27; k++) {
        c.w_ih[k] = (float)(0.4 * sin(1.0 + k));
        c.w_hh[k] = (float)(0.3 * cos(0.5 + 2 * k));
    }
    for (int k = 0; k < 9; k++) {
        c.b_ih[k] = (float)(0.2 * sin(3.0 * k));
        c.b_hh[k] = (float)(0.1 * cos((double)k));
    }
    gru_run(&c);
    CU_ASSERT(advml_max_abs_diff(c.out, with_state, 24) < 2e-6);
    c.use_h0 = 0;
    gru_run(&c);
    CU_ASSERT(advml_max_abs_diff(c.out, zero_state, 24) < 2e-6);
    c.d.return_sequences = 0; /* last step only: (N, H) = h_3 of each sample */
    gru_run(&c);
    CU_ASSERT(advml_max_abs_diff(c.out, zero_state + 9, 3) < 2e-6);
    CU_ASSERT(advml_max_abs_diff(c.out + 3, zero_state + 21, 3) < 2e-6);
    gru_case_free(&c);
}

/* Central differences of L = sum(wout * out), h = 1e-2: with a float32
 * forward L carries ~2e-7 absolute rounding noise, ~2e-5 in a difference
 * quotient, about the size of the O(h^2) truncation error. Errors relative
 * to max(|num|, |ana|, 1e-2) must stay below 5e-3 (worst observed 1.1e-3); a
 * wrong gate derivative, a missing step or the h0 path gives errors of
 * order 0.1 to 1. */
#define GC_H 1e-2
#define GC_FLOOR 1e-2
#define GC_TOL 5e-3

static void gradcheck_case(gru_case *c, const char *label)
{
    const advml_seq_dims *d = &c->d;
    const int H = d->H, F = d->F;
    const size_t nx = (size_t)d->N * d->T * F, nh = (size_t)d->N * H;
    float *dx = advml_test_falloc(nx), *dh0 = advml_test_falloc(nh);
    float *dwi = advml_test_falloc((size_t)3 * H * F), *dwh = advml_test_falloc((size_t)3 * H * H);
    float *dbi = advml_test_falloc((size_t)3 * H), *dbh = advml_test_falloc((size_t)3 * H);
    gru_run(c);
    advml_gru_backward(dx, c->use_h0 ? dh0 : NULL, dwi, dwh, dbi, dbh, c->scratch, c->wout,
                       c->state, c->x, c->use_h0 ? c->h0 : NULL, c->w_ih, c->w_hh, d);
    struct { const char *name; float *p, *g; size_t n; } v[] = {
        {"x", c->x, dx, nx}, {"h0", c->h0, dh0, nh},
        {"weight_ih", c->w_ih, dwi, (size_t)3 * H * F},
        {"weight_hh", c->w_hh, dwh, (size_t)3 * H * H},
        {"bias_ih", c->b_ih, dbi, (size_t)3 * H}, {"bias_hh", c->b_hh, dbh, (size_t)3 * H}};
    for (int i = 0; i < 6; i++) {
        if (!c->use_h0 && i == 1)
            continue;
        char what[96];
        snprintf(what, sizeof what, "%s d%s", label, v[i].name);
        double e = advml_gradcheck(what, v[i].p, v[i].g, v[i].n, gru_loss, c, GC_H, GC_FLOOR,
                                   GC_TOL, NULL);
        CU_ASSERT(e <= GC_TOL);
    }
    free(dx); free(dh0); free(dwi); free(dwh); free(dbi); free(dbh);
}

static void t_gradcheck(void)
{
    for (int rs = 0; rs <= 1; rs++)
        for (int h0 = 0; h0 <= 1; h0++) {
            gru_case c;
            char label[64];
            gru_case_make(&c, 2, 5, 3, 3, rs, h0, 27 + 2 * rs + h0);
            snprintf(label, sizeof label, "gru rs=%d h0=%d", rs, h0);
            gradcheck_case(&c, label);
            gru_case_free(&c);
        }
}

static void t_gradcheck_long(void)
{
    gru_case c;
    gru_case_make(&c, 1, 10, 2, 3, 0, 1, 29);
    gradcheck_case(&c, "gru T=10");
    gru_case_free(&c);
}

static void t_accumulates(void)
{
    gru_case c;
    gru_case_make(&c, 2, 5, 3, 3, 1, 1, 41);
    const advml_seq_dims *d = &c.d;
    const size_t n[6] = {(size_t)2 * 5 * 3, 6, 27, 27, 9, 9};
    float *g1[6], *g2[6];
    for (int i = 0; i < 6; i++) {
        g1[i] = advml_test_falloc(n[i]);
        g2[i] = advml_test_falloc(n[i]);
    }
    gru_run(&c);
    advml_gru_backward(g1[0], g1[1], g1[2], g1[3], g1[4], g1[5], c.scratch, c.wout, c.state, c.x,
                       c.h0, c.w_ih, c.w_hh, d);
    for (int rep = 0; rep < 2; rep++)
        advml_gru_backward(g2[0], g2[1], g2[2], g2[3], g2[4], g2[5], c.scratch, c.wout, c.state,
                           c.x, c.h0, c.w_ih, c.w_hh, d);
    for (int i = 0; i < 6; i++) {
        double worst = 0.0, gmax = 0.0;
        for (size_t k = 0; k < n[i]; k++) {
            worst = fmax(worst, fabs(g2[i][k] - 2.0 * g1[i][k]));
            gmax = fmax(gmax, fabs(g1[i][k]));
        }
        CU_ASSERT(gmax > 0.0);
        CU_ASSERT(worst <= 1e-6 * (1.0 + gmax));
        free(g1[i]);
        free(g2[i]);
    }
    gru_case_free(&c);
}

static void t_batch_independent(void)
{
    gru_case c, one;
    gru_case_make(&c, 4, 5, 2, 3, 1, 1, 8);
    gru_run(&c);
    gru_case_alloc(&one, 1, 5, 2, 3, 1, 1);
    memcpy(one.w_ih, c.w_ih, 18 * sizeof(float));
    memcpy(one.w_hh, c.w_hh, 27 * sizeof(float));
    memcpy(one.b_ih, c.b_ih, 9 * sizeof(float));
    memcpy(one.b_hh, c.b_hh, 9 * sizeof(float));
    for (int n = 0; n < 4; n++) {
        memcpy(one.x, c.x + n * 10, 10 * sizeof(float));
        memcpy(one.h0, c.h0 + n * 3, 3 * sizeof(float));
        gru_run(&one);
        CU_ASSERT(advml_max_abs_diff(one.out, c.out + n * 15, 15) == 0.0);
    }
    gru_case_free(&one);
    gru_case_free(&c);
}

/* ---- the layer kind ------------------------------------------------------------ */

static advml_layer make_layer(const advml_layer_kind *kind, advml_layer_type type, int index,
                              int units, advml_act act, int rs)
{
    advml_layer L;
    memset(&L, 0, sizeof L);
    L.spec.type = type;
    L.spec.units = units;
    L.spec.act = act;
    L.spec.return_sequences = rs;
    L.kind = kind;
    L.index = index;
    return L;
}

static void t_kind_setup(void)
{
    CU_ASSERT_STRING_EQUAL(advml_gru_kind.name, "gru");
    CU_ASSERT_STRING_EQUAL(advml_gru_kind.class_name, "GRU");
    CU_ASSERT_EQUAL(advml_gru_kind.post_act, 0);
    advml_error err;
    advml_layer L = make_layer(&advml_gru_kind, ADVML_LAYER_GRU, 2, 64, ADVML_ACT_TANH, 0);
    CU_ASSERT_EQUAL_FATAL(advml_gru_kind.setup(&L, advml_shape2(20, 1), 32, &err), ADVML_OK);
    CU_ASSERT(L.out_shape.rank == 1 && L.out_shape.d[0] == 64);
    /* PyTorch nn.GRU(1, 64): 3*64*1 + 3*64*64 + 2*3*64 = 12864 */
    CU_ASSERT_EQUAL(L.nparams, 12864);
    CU_ASSERT_EQUAL(L.nviews, 4);
    const char *names[4] = {"weight_ih", "weight_hh", "bias_ih", "bias_hh"};
    const int cols[4] = {1, 64, 0, 0}, decay[4] = {1, 1, 0, 0};
    const size_t off[4] = {0, 192, 192 + 12288, 192 + 12288 + 192};
    for (int v = 0; v < 4; v++) {
        CU_ASSERT_STRING_EQUAL(L.views[v].name, names[v]);
        CU_ASSERT_EQUAL(L.views[v].rank, cols[v] ? 2 : 1);
        CU_ASSERT_EQUAL(L.views[v].dims[0], 192);
        if (cols[v])
            CU_ASSERT_EQUAL(L.views[v].dims[1], cols[v]);
        CU_ASSERT_EQUAL(L.views[v].offset, off[v]);
        CU_ASSERT_EQUAL(L.views[v].decay, decay[v]);
        CU_ASSERT_EQUAL(L.views[v].layer, 2);
    }
    CU_ASSERT_EQUAL(L.state_per_sample, (size_t)20 * 64 * 5 * sizeof(float));
    CU_ASSERT(L.scratch_floats >= (size_t)20 * 32 * 6 * 64);
    L.spec.return_sequences = 1;
    CU_ASSERT_EQUAL_FATAL(advml_gru_kind.setup(&L, advml_shape2(20, 1), 32, &err), ADVML_OK);
    CU_ASSERT(L.out_shape.rank == 2 && L.out_shape.d[0] == 20 && L.out_shape.d[1] == 64);
}

static void t_kind_errors(void)
{
    advml_error err;
    advml_layer L = make_layer(&advml_gru_kind, ADVML_LAYER_GRU, 5, 8, ADVML_ACT_SIGMOID, 0);
    CU_ASSERT(advml_gru_kind.setup(&L, advml_shape2(5, 2), 8, &err) == ADVML_ERR_CONFIG);
    CU_ASSERT(strstr(err.msg, "layer 5 (gru)") && strstr(err.msg, "\"sigmoid\""));
    L.spec.act = ADVML_ACT_TANH;
    CU_ASSERT(advml_gru_kind.setup(&L, advml_shape1(64), 8, &err) == ADVML_ERR_SHAPE);
    CU_ASSERT(strstr(err.msg, "layer 5 (gru)") && strstr(err.msg, "(None, 64)"));
    L.spec.in_channels = 4;
    CU_ASSERT(advml_gru_kind.setup(&L, advml_shape2(5, 2), 8, &err) == ADVML_ERR_SHAPE);
    CU_ASSERT(strstr(err.msg, "layer 5 (gru)") && strstr(err.msg, "declared 4 input features"));
    L.spec.in_channels = 2; /* matching declaration is fine */
    CU_ASSERT(advml_gru_kind.setup(&L, advml_shape2(5, 2), 8, &err) == ADVML_OK);
    /* a window too long for int GEMM sizes is refused, not overflowed */
    CU_ASSERT(advml_gru_kind.setup(&L, advml_shape2(1 << 20, 2), 1 << 12, &err) == ADVML_ERR_SHAPE);
    CU_ASSERT(strstr(err.msg, "too large") != NULL);
}

static void t_kind_init(void)
{
    advml_error err;
    const int H = 6, F = 2;
    advml_layer L = make_layer(&advml_gru_kind, ADVML_LAYER_GRU, 0, H, ADVML_ACT_TANH, 0);
    CU_ASSERT_EQUAL_FATAL(advml_gru_kind.setup(&L, advml_shape2(4, F), 2, &err), ADVML_OK);
    float *p = advml_test_falloc(L.nparams);
    for (size_t k = 0; k < L.nparams; k++)
        p[k] = 5.0f;
    advml_rng rng;
    advml_rng_seed(&rng, 10);
    advml_gru_kind.init(&L, p, &rng);
    const float *wi = p + L.views[0].offset, *wh = p + L.views[1].offset;
    const double lim = sqrt(6.0 / (F + 3 * H));
    for (size_t k = 0; k < L.views[0].size; k++)
        CU_ASSERT(fabs(wi[k]) <= lim);
    for (int gate = 0; gate < 3; gate++) {
        const float *B = wh + (size_t)gate * H * H;
        double worst = 0.0;
        for (int i = 0; i < H; i++)
            for (int j = 0; j < H; j++) {
                double s = 0.0;
                for (int k = 0; k < H; k++)
                    s += (double)B[i * H + k] * B[j * H + k];
                worst = fmax(worst, fabs(s - (i == j)));
            }
        CU_ASSERT(worst < 1e-5);
    }
    for (int v = 2; v < 4; v++)
        for (size_t k = 0; k < L.views[v].size; k++)
            CU_ASSERT(p[L.views[v].offset + k] == 0.0f);
    free(p);
}

static void t_kind_matches_ops(void)
{
    for (int rs = 0; rs <= 1; rs++) {
        advml_error err;
        advml_layer L = make_layer(&advml_gru_kind, ADVML_LAYER_GRU, 0, 3, ADVML_ACT_TANH, rs);
        CU_ASSERT_EQUAL_FATAL(advml_gru_kind.setup(&L, advml_shape2(5, 3), 4, &err), ADVML_OK);
        gru_case c;
        gru_case_make(&c, 2, 5, 3, 3, rs, 0, 65 + rs);
        float *params = advml_test_falloc(L.nparams), *dparams = advml_test_falloc(L.nparams);
        memcpy(params + L.views[0].offset, c.w_ih, 27 * sizeof(float));
        memcpy(params + L.views[1].offset, c.w_hh, 27 * sizeof(float));
        memcpy(params + L.views[2].offset, c.b_ih, 9 * sizeof(float));
        memcpy(params + L.views[3].offset, c.b_hh, 9 * sizeof(float));
        float *z = advml_test_falloc(c.nout), *dinp = advml_test_falloc(30), *scratch = advml_test_falloc(L.scratch_floats);
        L.state = calloc(4, L.state_per_sample);
        CU_ASSERT_FATAL(L.state != NULL);
        advml_ctx ctx = {2, 1, 0, 0, NULL, scratch};
        advml_gru_kind.forward(&L, z, c.x, params, &ctx);
        gru_run(&c);
        CU_ASSERT(advml_max_abs_diff(z, c.out, c.nout) == 0.0);
        advml_gru_kind.backward(&L, dinp, dparams, c.wout, c.x, params, &ctx);
        float dx[30] = {0}, dwi[27] = {0}, dwh[27] = {0}, dbi[9] = {0}, dbh[9] = {0};
        advml_gru_backward(dx, NULL, dwi, dwh, dbi, dbh, c.scratch, c.wout, c.state, c.x, NULL,
                           c.w_ih, c.w_hh, &c.d);
        CU_ASSERT(advml_max_abs_diff(dinp, dx, 30) == 0.0);
        CU_ASSERT(advml_max_abs_diff(dparams + L.views[0].offset, dwi, 27) == 0.0);
        CU_ASSERT(advml_max_abs_diff(dparams + L.views[1].offset, dwh, 27) == 0.0);
        CU_ASSERT(advml_max_abs_diff(dparams + L.views[2].offset, dbi, 9) == 0.0);
        CU_ASSERT(advml_max_abs_diff(dparams + L.views[3].offset, dbh, 9) == 0.0);
        advml_gru_kind.backward(&L, NULL, dparams, c.wout, c.x, params, &ctx);
        free(params); free(dparams); free(z); free(dinp); free(scratch); free(L.state);
        gru_case_free(&c);
    }
}

/* ---- stacking: gru (sequences) -> gru (sequences) -> rnn (last) -------------- */

#define NSTACK 3
typedef struct stack_case {
    advml_layer L[NSTACK];
    float *params[NSTACK], *dparams[NSTACK], *z[NSTACK], *dz[NSTACK], *scratch;
    float *x, *wout, *dx;
    size_t nout;
    advml_ctx ctx;
} stack_case;

static double stack_loss(void *p)
{
    stack_case *s = p;
    const float *in = s->x;
    for (int i = 0; i < NSTACK; i++) {
        s->L[i].kind->forward(&s->L[i], s->z[i], in, s->params[i], &s->ctx);
        in = s->z[i];
    }
    double l = 0.0;
    for (size_t k = 0; k < s->nout; k++)
        l += (double)s->wout[k] * s->z[NSTACK - 1][k];
    return l;
}

static void t_stack_gradcheck(void)
{
    const int B = 2, T = 4, F = 2;
    stack_case s;
    memset(&s, 0, sizeof s);
    advml_error err;
    s.L[0] = make_layer(&advml_gru_kind, ADVML_LAYER_GRU, 0, 3, ADVML_ACT_TANH, 1);
    s.L[1] = make_layer(&advml_gru_kind, ADVML_LAYER_GRU, 1, 4, ADVML_ACT_TANH, 1);
    s.L[2] = make_layer(&advml_rnn_kind, ADVML_LAYER_RNN, 2, 2, ADVML_ACT_TANH, 0);
    advml_shape in = advml_shape2(T, F);
    size_t sc = 0;
    advml_rng rng;
    advml_rng_seed(&rng, 123);
    for (int i = 0; i < NSTACK; i++) {
        CU_ASSERT_EQUAL_FATAL(s.L[i].kind->setup(&s.L[i], in, B, &err), ADVML_OK);
        in = s.L[i].out_shape;
        if (s.L[i].scratch_floats > sc)
            sc = s.L[i].scratch_floats;
        s.params[i] = advml_test_falloc(s.L[i].nparams);
        s.dparams[i] = advml_test_falloc(s.L[i].nparams);
        s.L[i].kind->init(&s.L[i], s.params[i], &rng);
        for (int v = 0; v < s.L[i].nviews; v++) /* biases away from zero */
            if (!s.L[i].views[v].decay)
                advml_test_fill_uniform(s.params[i] + s.L[i].views[v].offset,
                                        s.L[i].views[v].size, -0.5f, 0.5f, &rng);
        s.L[i].state = calloc((size_t)B, s.L[i].state_per_sample);
        CU_ASSERT_FATAL(s.L[i].state != NULL);
        s.z[i] = advml_test_falloc((size_t)B * advml_shape_size(&s.L[i].out_shape));
        s.dz[i] = advml_test_falloc((size_t)B * advml_shape_size(&s.L[i].out_shape));
    }
    CU_ASSERT(in.rank == 1 && in.d[0] == 2);
    s.nout = (size_t)B * 2;
    s.scratch = advml_test_falloc(sc);
    s.x = advml_test_falloc((size_t)B * T * F);
    s.wout = advml_test_falloc(s.nout);
    s.dx = advml_test_falloc((size_t)B * T * F);
    advml_test_fill_uniform(s.x, (size_t)B * T * F, -1.0f, 1.0f, &rng);
    advml_test_fill_uniform(s.wout, s.nout, -1.0f, 1.0f, &rng);
    advml_ctx ctx = {B, 1, 0, 0, NULL, s.scratch};
    s.ctx = ctx;
    stack_loss(&s);
    memcpy(s.dz[NSTACK - 1], s.wout, s.nout * sizeof(float));
    for (int i = NSTACK - 1; i >= 0; i--)
        s.L[i].kind->backward(&s.L[i], i ? s.dz[i - 1] : s.dx, s.dparams[i], s.dz[i],
                              i ? s.z[i - 1] : s.x, s.params[i], &s.ctx);
    double e = advml_gradcheck("stack dx", s.x, s.dx, (size_t)B * T * F, stack_loss, &s, GC_H,
                               GC_FLOOR, GC_TOL, NULL);
    CU_ASSERT(e <= GC_TOL);
    for (int i = 0; i < NSTACK; i++) {
        char what[32];
        snprintf(what, sizeof what, "stack layer %d params", i);
        e = advml_gradcheck(what, s.params[i], s.dparams[i], s.L[i].nparams, stack_loss, &s,
                            GC_H, GC_FLOOR, GC_TOL, NULL);
        CU_ASSERT(e <= GC_TOL);
    }
    for (int i = 0; i < NSTACK; i++) {
        free(s.params[i]); free(s.dparams[i]); free(s.z[i]); free(s.dz[i]); free(s.L[i].state);
    }
    free(s.scratch); free(s.x); free(s.wout); free(s.dx);
}

/* ---- through the model (src/model.c) and the kind table ------------------------ */

static void t_table(void)
{
    advml_layer_type type = ADVML_LAYER_DENSE;
    CU_ASSERT(advml_layer_kind_of(ADVML_LAYER_GRU) == &advml_gru_kind);
    CU_ASSERT(advml_layer_kind_by_name("gru", &type) == &advml_gru_kind);
    CU_ASSERT_EQUAL(type, ADVML_LAYER_GRU);
}

/* gru (sequences) -> flatten -> dense 2 (sigmoid), MSE, through advml_model. */
static void t_model_gradcheck(void)
{
    advml_model_spec s = {.input = advml_shape2(4, 2), .loss = ADVML_LOSS_MSE};
    s.layers[s.nlayers++] = advml_test_layer_spec(ADVML_LAYER_GRU, 3, 1);
    s.layers[s.nlayers++] = advml_layer_spec_default(ADVML_LAYER_FLATTEN);
    s.layers[s.nlayers] = advml_test_layer_spec(ADVML_LAYER_DENSE, 2, 0);
    s.layers[s.nlayers++].act = ADVML_ACT_SIGMOID;
    advml_test_model_gradcheck(&s, 3, 7, "model gru->flatten->dense", GC_H, GC_FLOOR, GC_TOL);
}

static void reg(void)
{
    static const advml_test_case c[] = {
        {"forward = double-precision reference", t_forward_reference},
        {"forward = PyTorch nn.GRU", t_matches_pytorch},
        {"gradcheck (x, h0, weight_ih, weight_hh, bias_ih, bias_hh; both return modes)",
         t_gradcheck},
        {"gradcheck T=10", t_gradcheck_long},
        {"backward accumulates", t_accumulates},
        {"batch rows independent", t_batch_independent},
        {"kind setup: shapes and views", t_kind_setup},
        {"kind setup: error messages", t_kind_errors},
        {"kind init: Glorot, orthogonal blocks, zero biases", t_kind_init},
        {"kind forward/backward = ops", t_kind_matches_ops},
        {"stack gru -> gru -> rnn gradcheck", t_stack_gradcheck},
        {"kind table", t_table},
        {"model gradcheck gru -> flatten -> dense", t_model_gradcheck},
        {NULL, NULL}};
    advml_test_add_suite("gru", c);
}

int main(void) { return advml_test_main(reg); }

/* test_lstm.c - LSTM: forward against PyTorch nn.LSTM values and a
 * double-precision reference, central finite-difference gradient checks
 * (input, h0, c0, weight_ih, weight_hh, bias; both return modes),
 * accumulation, and the "lstm" layer kind (setup, init, forward/backward =
 * the ops, errors), plus a stack rnn -> lstm checked end to end. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "advml/lstm.h"
#include "advml/model.h"
#include "testutil.h"

typedef struct lstm_case {
    advml_seq_dims d;
    int use_h0;                           /* h0 and c0 given */
    float *x, *h0, *c0, *w_ih, *w_hh, *b; /* (N,T,F) (N,H) (N,H) (4H,F) (4H,H) (4H) */
    float *wout;                          /* loss weights, shape of out */
    float *out, *state, *scratch;
    size_t nout;
} lstm_case;

static void lstm_case_alloc(lstm_case *c, int N, int T, int F, int H, int rs, int use_h0)
{
    advml_seq_dims d = {N, T, F, H, rs};
    memset(c, 0, sizeof *c);
    c->d = d;
    c->use_h0 = use_h0;
    c->nout = (size_t)N * H * (rs ? T : 1);
    c->x = advml_test_falloc((size_t)N * T * F);
    c->h0 = advml_test_falloc((size_t)N * H);
    c->c0 = advml_test_falloc((size_t)N * H);
    c->w_ih = advml_test_falloc((size_t)4 * H * F);
    c->w_hh = advml_test_falloc((size_t)4 * H * H);
    c->b = advml_test_falloc((size_t)4 * H);
    c->wout = advml_test_falloc(c->nout);
    c->out = advml_test_falloc(c->nout);
    c->state = advml_test_falloc(advml_lstm_state_floats(&d));
    c->scratch = advml_test_falloc(advml_lstm_scratch_floats(&d));
}

static void lstm_case_make(lstm_case *c, int N, int T, int F, int H, int rs, int use_h0,
                           uint64_t seed)
{
    advml_rng rng;
    advml_rng_seed(&rng, seed);
    lstm_case_alloc(c, N, T, F, H, rs, use_h0);
    advml_test_fill_uniform(c->x, (size_t)N * T * F, -1.0f, 1.0f, &rng);
    advml_test_fill_uniform(c->h0, (size_t)N * H, -0.8f, 0.8f, &rng);
    advml_test_fill_uniform(c->c0, (size_t)N * H, -1.0f, 1.0f, &rng);
    advml_test_fill_uniform(c->w_ih, (size_t)4 * H * F, -0.8f, 0.8f, &rng);
    advml_test_fill_uniform(c->w_hh, (size_t)4 * H * H, -0.6f, 0.6f, &rng);
    advml_test_fill_uniform(c->b, (size_t)4 * H, -0.5f, 0.5f, &rng);
    advml_test_fill_uniform(c->wout, c->nout, -1.0f, 1.0f, &rng);
}

static void lstm_case_free(lstm_case *c)
{
    free(c->x); free(c->h0); free(c->c0); free(c->w_ih); free(c->w_hh); free(c->b);
    free(c->wout); free(c->out); free(c->state); free(c->scratch);
}

static void lstm_run(lstm_case *c)
{
    advml_lstm_forward(c->out, c->state, c->scratch, c->x, c->use_h0 ? c->h0 : NULL,
                       c->use_h0 ? c->c0 : NULL, c->w_ih, c->w_hh, c->b, &c->d);
}

/* L = sum(wout * out) in double over a float forward. */
static double lstm_loss(void *p)
{
    lstm_case *c = p;
    lstm_run(c);
    double s = 0.0;
    for (size_t k = 0; k < c->nout; k++)
        s += (double)c->wout[k] * c->out[k];
    return s;
}

static double sigm(double v) { return 1.0 / (1.0 + exp(-v)); }

/* The gate equations step by step in double; ref has the shape of out. */
static void lstm_reference(double *ref, const lstm_case *c)
{
    const int N = c->d.N, T = c->d.T, F = c->d.F, H = c->d.H;
    double h[16], cc[16], g[64];
    CU_ASSERT_FATAL(H <= 16);
    for (int n = 0; n < N; n++) {
        for (int j = 0; j < H; j++) {
            h[j] = c->use_h0 ? c->h0[n * H + j] : 0.0;
            cc[j] = c->use_h0 ? c->c0[n * H + j] : 0.0;
        }
        for (int t = 0; t < T; t++) {
            const float *xt = c->x + ((size_t)n * T + t) * F;
            for (int r = 0; r < 4 * H; r++) { /* G = W_ih x + W_hh h + b */
                double s = c->b[r];
                for (int f = 0; f < F; f++)
                    s += (double)c->w_ih[r * F + f] * xt[f];
                for (int j = 0; j < H; j++)
                    s += (double)c->w_hh[r * H + j] * h[j];
                g[r] = s;
            }
            for (int j = 0; j < H; j++) {
                double i = sigm(g[j]), f = sigm(g[H + j]), gg = tanh(g[2 * H + j]);
                double o = sigm(g[3 * H + j]);
                cc[j] = f * cc[j] + i * gg;
                h[j] = o * tanh(cc[j]);
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
            lstm_case c;
            lstm_case_make(&c, 3, 6, 2, 5, rs, h0, 200 + 2 * rs + h0);
            double *ref = calloc(c.nout, sizeof(double));
            CU_ASSERT_FATAL(ref != NULL);
            lstm_reference(ref, &c);
            lstm_run(&c);
            double m = 0.0;
            for (size_t k = 0; k < c.nout; k++)
                m = fmax(m, fabs(c.out[k] - ref[k]));
            if (m > 1e-5)
                fprintf(stderr, "  lstm forward vs reference: max diff %.3g\n", m);
            CU_ASSERT(m <= 1e-5);
            free(ref);
            lstm_case_free(&c);
        }
}

/* Values from PyTorch 1.13 nn.LSTM(3, 3, batch_first=True) in float64 with
 * weight_ih_l0[k] = 0.4 sin(1 + k), weight_hh_l0[k] = 0.3 cos(0.5 + 2k),
 * bias_ih_l0[k] = 0.2 sin(3k), bias_hh_l0[k] = 0.1 cos(k) (flat index k, each
 * value rounded to float), x[k] = sin(0.7k + 0.3) (N=2, T=4, F=3),
 * h0[k] = 0.5 cos(1.3k), c0[k] = 0.4 sin(0.9k + 1); output = every h_t.
 * Confirms the gate order (i, f, g, o), the weight layout and bias =
 * bias_ih + bias_hh. */
static void t_matches_pytorch(void)
{
    static const float with_state[24] = {
        0.20199585f, 0.08081896f, 0.14410996f, 0.09905252f, 0.09007554f, -0.00573507f,
        -0.03861430f, 0.17944055f, -0.09274696f, 0.13138202f, 0.10813389f, 0.09623020f,
        -0.16058555f, 0.00147525f, -0.22084519f, -0.19732364f, 0.15736263f, -0.20695794f,
        0.09969591f, 0.08437981f, 0.06674944f, 0.00183676f, 0.09500943f, -0.08318192f};
    static const float zero_state[24] = {
        0.12603228f, -0.08356620f, 0.10467116f, 0.01863160f, 0.04066977f, -0.06102169f,
        -0.09176601f, 0.16472413f, -0.12554915f, 0.12034535f, 0.09199627f, 0.08759229f,
        -0.07259327f, 0.07116475f, -0.13547495f, -0.14489997f, 0.17856932f, -0.16416093f,
        0.11153415f, 0.10650614f, 0.07979740f, 0.01236467f, 0.10110187f, -0.07134419f};
    lstm_case c;
    lstm_case_alloc(&c, 2, 4, 3, 3, 1, 1);
    for (int k = 0; k < 24; k++)
        c.x[k] = (float)sin(0.7 * k + 0.3);
    for (int k = 0; k < 6; k++) {
        c.h0[k] = (float)(0.5 * cos(1.3 * k));
        c.c0[k] = (float)(0.4 * sin(0.9 * k + 1));
    }
    for (int k = 0; k < 36; k++) {
        c.w_ih[k] = (float)(0.4 * sin(1.0 + k));
        c.w_hh[k] = (float)(0.3 * cos(0.5 + 2 * k));
    }
    for (int k = 0; k < 12; k++)
        c.b[k] = (float)(0.2 * sin(3.0 * k)) + (float)(0.1 * cos((double)k));
    lstm_run(&c);
    CU_ASSERT(advml_max_abs_diff(c.out, with_state, 24) < 2e-6);
    c.use_h0 = 0;
    lstm_run(&c);
    CU_ASSERT(advml_max_abs_diff(c.out, zero_state, 24) < 2e-6);
    c.d.return_sequences = 0; /* last step only: (N, H) = h_3 of each sample */
    lstm_run(&c);
    CU_ASSERT(advml_max_abs_diff(c.out, zero_state + 9, 3) < 2e-6);
    CU_ASSERT(advml_max_abs_diff(c.out + 3, zero_state + 21, 3) < 2e-6);
    lstm_case_free(&c);
}

/* Central differences of L = sum(wout * out), h = 1e-2: with a float32
 * forward L carries ~2e-7 absolute rounding noise, ~2e-5 in a difference
 * quotient, about the size of the O(h^2) truncation error. Errors relative
 * to max(|num|, |ana|, 1e-2) must stay below 5e-3 (worst observed 8.5e-4); a
 * wrong gate derivative, a missing step or the c0/h0 path gives errors of
 * order 0.1 to 1. */
#define GC_H 1e-2
#define GC_FLOOR 1e-2
#define GC_TOL 5e-3

static void gradcheck_case(lstm_case *c, const char *label)
{
    const advml_seq_dims *d = &c->d;
    const int H = d->H, F = d->F;
    const size_t nx = (size_t)d->N * d->T * F, nh = (size_t)d->N * H;
    float *dx = advml_test_falloc(nx), *dh0 = advml_test_falloc(nh), *dc0 = advml_test_falloc(nh);
    float *dwi = advml_test_falloc((size_t)4 * H * F), *dwh = advml_test_falloc((size_t)4 * H * H);
    float *db = advml_test_falloc((size_t)4 * H);
    lstm_run(c);
    advml_lstm_backward(dx, c->use_h0 ? dh0 : NULL, c->use_h0 ? dc0 : NULL, dwi, dwh, db,
                        c->scratch, c->wout, c->state, c->x, c->use_h0 ? c->h0 : NULL,
                        c->use_h0 ? c->c0 : NULL, c->w_ih, c->w_hh, d);
    struct { const char *name; float *p, *g; size_t n; } v[] = {
        {"x", c->x, dx, nx}, {"h0", c->h0, dh0, nh}, {"c0", c->c0, dc0, nh},
        {"weight_ih", c->w_ih, dwi, (size_t)4 * H * F},
        {"weight_hh", c->w_hh, dwh, (size_t)4 * H * H}, {"bias", c->b, db, (size_t)4 * H}};
    for (int i = 0; i < 6; i++) {
        if (!c->use_h0 && (i == 1 || i == 2))
            continue;
        char what[96];
        snprintf(what, sizeof what, "%s d%s", label, v[i].name);
        double e = advml_gradcheck(what, v[i].p, v[i].g, v[i].n, lstm_loss, c, GC_H, GC_FLOOR,
                                   GC_TOL, NULL);
        CU_ASSERT(e <= GC_TOL);
    }
    free(dx); free(dh0); free(dc0); free(dwi); free(dwh); free(db);
}

static void t_gradcheck(void)
{
    for (int rs = 0; rs <= 1; rs++)
        for (int h0 = 0; h0 <= 1; h0++) {
            lstm_case c;
            char label[64];
            lstm_case_make(&c, 2, 5, 3, 3, rs, h0, 17 + 2 * rs + h0);
            snprintf(label, sizeof label, "lstm rs=%d h0=%d", rs, h0);
            gradcheck_case(&c, label);
            lstm_case_free(&c);
        }
}

/* One sequence of 10 steps: gradients reach x_0 and c0 through the cell
 * state of every step. */
static void t_gradcheck_long(void)
{
    lstm_case c;
    lstm_case_make(&c, 1, 10, 2, 3, 0, 1, 23);
    gradcheck_case(&c, "lstm T=10");
    lstm_case_free(&c);
}

static void t_accumulates(void)
{
    lstm_case c;
    lstm_case_make(&c, 2, 5, 3, 3, 1, 1, 31);
    const advml_seq_dims *d = &c.d;
    const size_t n[6] = {(size_t)2 * 5 * 3, 6, 6, 36, 36, 12};
    float *g1[6], *g2[6];
    for (int i = 0; i < 6; i++) {
        g1[i] = advml_test_falloc(n[i]);
        g2[i] = advml_test_falloc(n[i]);
    }
    lstm_run(&c);
    advml_lstm_backward(g1[0], g1[1], g1[2], g1[3], g1[4], g1[5], c.scratch, c.wout, c.state, c.x,
                        c.h0, c.c0, c.w_ih, c.w_hh, d);
    for (int rep = 0; rep < 2; rep++)
        advml_lstm_backward(g2[0], g2[1], g2[2], g2[3], g2[4], g2[5], c.scratch, c.wout, c.state,
                            c.x, c.h0, c.c0, c.w_ih, c.w_hh, d);
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
    lstm_case_free(&c);
}

static void t_batch_independent(void)
{
    lstm_case c, one;
    lstm_case_make(&c, 4, 5, 2, 3, 1, 1, 8);
    lstm_run(&c);
    lstm_case_alloc(&one, 1, 5, 2, 3, 1, 1);
    memcpy(one.w_ih, c.w_ih, 24 * sizeof(float));
    memcpy(one.w_hh, c.w_hh, 36 * sizeof(float));
    memcpy(one.b, c.b, 12 * sizeof(float));
    for (int n = 0; n < 4; n++) {
        memcpy(one.x, c.x + n * 10, 10 * sizeof(float));
        memcpy(one.h0, c.h0 + n * 3, 3 * sizeof(float));
        memcpy(one.c0, c.c0 + n * 3, 3 * sizeof(float));
        lstm_run(&one);
        CU_ASSERT(advml_max_abs_diff(one.out, c.out + n * 15, 15) == 0.0);
    }
    lstm_case_free(&one);
    lstm_case_free(&c);
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
    CU_ASSERT_STRING_EQUAL(advml_lstm_kind.name, "lstm");
    CU_ASSERT_STRING_EQUAL(advml_lstm_kind.class_name, "LSTM");
    CU_ASSERT_EQUAL(advml_lstm_kind.post_act, 0);
    advml_error err;
    advml_layer L = make_layer(&advml_lstm_kind, ADVML_LAYER_LSTM, 1, 64, ADVML_ACT_TANH, 1);
    L.spec.in_channels = 2;
    CU_ASSERT_EQUAL_FATAL(advml_lstm_kind.setup(&L, advml_shape2(20, 2), 32, &err), ADVML_OK);
    CU_ASSERT(L.out_shape.rank == 2 && L.out_shape.d[0] == 20 && L.out_shape.d[1] == 64);
    /* Keras LSTM(64) on 2 features: 4 * (64 * (2 + 64) + 64) = 17152 */
    CU_ASSERT_EQUAL(L.nparams, 17152);
    CU_ASSERT_EQUAL(L.nviews, 3);
    const char *names[3] = {"weight_ih", "weight_hh", "bias"};
    const int rows[3] = {256, 256, 256}, cols[3] = {2, 64, 0}, decay[3] = {1, 1, 0};
    const size_t off[3] = {0, 512, 512 + 16384};
    for (int v = 0; v < 3; v++) {
        CU_ASSERT_STRING_EQUAL(L.views[v].name, names[v]);
        CU_ASSERT_EQUAL(L.views[v].rank, cols[v] ? 2 : 1);
        CU_ASSERT_EQUAL(L.views[v].dims[0], rows[v]);
        if (cols[v])
            CU_ASSERT_EQUAL(L.views[v].dims[1], cols[v]);
        CU_ASSERT_EQUAL(L.views[v].offset, off[v]);
        CU_ASSERT_EQUAL(L.views[v].decay, decay[v]);
        CU_ASSERT_EQUAL(L.views[v].layer, 1);
    }
    CU_ASSERT_EQUAL(L.state_per_sample, (size_t)20 * 64 * 7 * sizeof(float));
    CU_ASSERT(L.scratch_floats >= (size_t)20 * 32 * 4 * 64);
    L.spec.return_sequences = 0;
    CU_ASSERT_EQUAL_FATAL(advml_lstm_kind.setup(&L, advml_shape2(20, 2), 32, &err), ADVML_OK);
    CU_ASSERT(L.out_shape.rank == 1 && L.out_shape.d[0] == 64);
}

static void t_kind_errors(void)
{
    advml_error err;
    advml_layer L = make_layer(&advml_lstm_kind, ADVML_LAYER_LSTM, 4, 8, ADVML_ACT_RELU, 0);
    CU_ASSERT(advml_lstm_kind.setup(&L, advml_shape2(5, 2), 8, &err) == ADVML_ERR_CONFIG);
    CU_ASSERT(strstr(err.msg, "layer 4 (lstm)") && strstr(err.msg, "\"relu\"") &&
              strstr(err.msg, "use \"tanh\""));
    L.spec.act = ADVML_ACT_TANH;
    CU_ASSERT(advml_lstm_kind.setup(&L, advml_shape3(3, 8, 8), 8, &err) == ADVML_ERR_SHAPE);
    CU_ASSERT(strstr(err.msg, "layer 4 (lstm)") && strstr(err.msg, "(None, 3, 8, 8)"));
    L.spec.units = -1;
    CU_ASSERT(advml_lstm_kind.setup(&L, advml_shape2(5, 2), 8, &err) == ADVML_ERR_SHAPE);
    CU_ASSERT(strstr(err.msg, "layer 4 (lstm): units must be > 0, got -1") != NULL);
    L.spec.units = 8;
    L.spec.in_channels = 1;
    CU_ASSERT(advml_lstm_kind.setup(&L, advml_shape2(5, 2), 8, &err) == ADVML_ERR_SHAPE);
    CU_ASSERT(strstr(err.msg, "declared 1 input features") && strstr(err.msg, "(5, 2)"));
}

static void t_kind_init(void)
{
    advml_error err;
    const int H = 8, F = 3;
    advml_layer L = make_layer(&advml_lstm_kind, ADVML_LAYER_LSTM, 0, H, ADVML_ACT_TANH, 0);
    CU_ASSERT_EQUAL_FATAL(advml_lstm_kind.setup(&L, advml_shape2(4, F), 2, &err), ADVML_OK);
    float *p = advml_test_falloc(L.nparams);
    advml_rng rng;
    advml_rng_seed(&rng, 9);
    advml_lstm_kind.init(&L, p, &rng);
    const float *wi = p + L.views[0].offset, *wh = p + L.views[1].offset;
    const float *b = p + L.views[2].offset;
    const double lim = sqrt(6.0 / (F + 4 * H));
    for (size_t k = 0; k < L.views[0].size; k++)
        CU_ASSERT(fabs(wi[k]) <= lim);
    for (int gate = 0; gate < 4; gate++) { /* each (H, H) block orthogonal */
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
    for (int j = 0; j < 4 * H; j++) /* [b_i b_f b_g b_o]: forget-gate bias 1 */
        CU_ASSERT(b[j] == ((j >= H && j < 2 * H) ? 1.0f : 0.0f));
    free(p);
}

static void t_kind_matches_ops(void)
{
    for (int rs = 0; rs <= 1; rs++) {
        advml_error err;
        advml_layer L = make_layer(&advml_lstm_kind, ADVML_LAYER_LSTM, 0, 3, ADVML_ACT_TANH, rs);
        CU_ASSERT_EQUAL_FATAL(advml_lstm_kind.setup(&L, advml_shape2(5, 3), 4, &err), ADVML_OK);
        lstm_case c;
        lstm_case_make(&c, 2, 5, 3, 3, rs, 0, 55 + rs);
        float *params = advml_test_falloc(L.nparams), *dparams = advml_test_falloc(L.nparams);
        memcpy(params + L.views[0].offset, c.w_ih, 36 * sizeof(float));
        memcpy(params + L.views[1].offset, c.w_hh, 36 * sizeof(float));
        memcpy(params + L.views[2].offset, c.b, 12 * sizeof(float));
        float *z = advml_test_falloc(c.nout), *dinp = advml_test_falloc(30), *scratch = advml_test_falloc(L.scratch_floats);
        L.state = calloc(4, L.state_per_sample);
        CU_ASSERT_FATAL(L.state != NULL);
        advml_ctx ctx = {2, 1, 0, 0, NULL, scratch};
        advml_lstm_kind.forward(&L, z, c.x, params, &ctx);
        lstm_run(&c);
        CU_ASSERT(advml_max_abs_diff(z, c.out, c.nout) == 0.0);
        advml_lstm_kind.backward(&L, dinp, dparams, c.wout, c.x, params, &ctx);
        float dx[30] = {0}, dwi[36] = {0}, dwh[36] = {0}, db[12] = {0};
        advml_lstm_backward(dx, NULL, NULL, dwi, dwh, db, c.scratch, c.wout, c.state, c.x, NULL,
                            NULL, c.w_ih, c.w_hh, &c.d);
        CU_ASSERT(advml_max_abs_diff(dinp, dx, 30) == 0.0);
        CU_ASSERT(advml_max_abs_diff(dparams + L.views[0].offset, dwi, 36) == 0.0);
        CU_ASSERT(advml_max_abs_diff(dparams + L.views[1].offset, dwh, 36) == 0.0);
        CU_ASSERT(advml_max_abs_diff(dparams + L.views[2].offset, db, 12) == 0.0);
        advml_lstm_kind.backward(&L, NULL, dparams, c.wout, c.x, params, &ctx);
        free(params); free(dparams); free(z); free(dinp); free(scratch); free(L.state);
        lstm_case_free(&c);
    }
}

/* ---- stacking: rnn (return_sequences) -> lstm (last state) -------------------- */

typedef struct stack_case {
    advml_layer L[2];
    float *params[2], *dparams[2], *z[2], *scratch;
    float *x, *wout, *dz0, *dx;
    advml_ctx ctx;
} stack_case;

static double stack_loss(void *p)
{
    stack_case *s = p;
    s->L[0].kind->forward(&s->L[0], s->z[0], s->x, s->params[0], &s->ctx);
    s->L[1].kind->forward(&s->L[1], s->z[1], s->z[0], s->params[1], &s->ctx);
    double l = 0.0;
    for (size_t k = 0; k < (size_t)s->ctx.B * 4; k++)
        l += (double)s->wout[k] * s->z[1][k];
    return l;
}

static void t_stack_gradcheck(void)
{
    const int B = 2, T = 4, F = 2;
    stack_case s;
    memset(&s, 0, sizeof s);
    advml_error err;
    s.L[0] = make_layer(&advml_rnn_kind, ADVML_LAYER_RNN, 0, 3, ADVML_ACT_TANH, 1);
    s.L[1] = make_layer(&advml_lstm_kind, ADVML_LAYER_LSTM, 1, 4, ADVML_ACT_TANH, 0);
    CU_ASSERT_EQUAL_FATAL(s.L[0].kind->setup(&s.L[0], advml_shape2(T, F), B, &err), ADVML_OK);
    CU_ASSERT_EQUAL_FATAL(s.L[1].kind->setup(&s.L[1], s.L[0].out_shape, B, &err), ADVML_OK);
    CU_ASSERT(s.L[1].out_shape.rank == 1 && s.L[1].out_shape.d[0] == 4);
    advml_rng rng;
    advml_rng_seed(&rng, 99);
    size_t sc = s.L[0].scratch_floats > s.L[1].scratch_floats ? s.L[0].scratch_floats
                                                               : s.L[1].scratch_floats;
    s.scratch = advml_test_falloc(sc);
    for (int i = 0; i < 2; i++) {
        s.params[i] = advml_test_falloc(s.L[i].nparams);
        s.dparams[i] = advml_test_falloc(s.L[i].nparams);
        s.L[i].kind->init(&s.L[i], s.params[i], &rng);
        s.L[i].state = calloc((size_t)B, s.L[i].state_per_sample);
        CU_ASSERT_FATAL(s.L[i].state != NULL);
        s.z[i] = advml_test_falloc((size_t)B * advml_shape_size(&s.L[i].out_shape));
    }
    /* biases away from their zero init so that every path is exercised */
    advml_test_fill_uniform(s.params[0] + s.L[0].views[2].offset, 3, -0.5f, 0.5f, &rng);
    advml_test_fill_uniform(s.params[1] + s.L[1].views[2].offset, 16, -0.5f, 0.5f, &rng);
    s.x = advml_test_falloc((size_t)B * T * F);
    s.wout = advml_test_falloc((size_t)B * 4);
    s.dz0 = advml_test_falloc((size_t)B * T * 3);
    s.dx = advml_test_falloc((size_t)B * T * F);
    advml_test_fill_uniform(s.x, (size_t)B * T * F, -1.0f, 1.0f, &rng);
    advml_test_fill_uniform(s.wout, (size_t)B * 4, -1.0f, 1.0f, &rng);
    advml_ctx ctx = {B, 1, 0, 0, NULL, s.scratch};
    s.ctx = ctx;
    stack_loss(&s);
    s.L[1].kind->backward(&s.L[1], s.dz0, s.dparams[1], s.wout, s.z[0], s.params[1], &s.ctx);
    s.L[0].kind->backward(&s.L[0], s.dx, s.dparams[0], s.dz0, s.x, s.params[0], &s.ctx);
    double e = advml_gradcheck("stack dx", s.x, s.dx, (size_t)B * T * F, stack_loss, &s, GC_H,
                               GC_FLOOR, GC_TOL, NULL);
    CU_ASSERT(e <= GC_TOL);
    for (int i = 0; i < 2; i++) {
        e = advml_gradcheck(i ? "stack lstm params" : "stack rnn params", s.params[i],
                            s.dparams[i], s.L[i].nparams, stack_loss, &s, GC_H, GC_FLOOR, GC_TOL,
                            NULL);
        CU_ASSERT(e <= GC_TOL);
    }
    for (int i = 0; i < 2; i++) {
        free(s.params[i]); free(s.dparams[i]); free(s.z[i]); free(s.L[i].state);
    }
    free(s.scratch); free(s.x); free(s.wout); free(s.dz0); free(s.dx);
}

/* ---- through the model (src/model.c) and the kind table ------------------------ */

static void t_table(void)
{
    advml_layer_type type = ADVML_LAYER_DENSE;
    CU_ASSERT(advml_layer_kind_of(ADVML_LAYER_LSTM) == &advml_lstm_kind);
    CU_ASSERT(advml_layer_kind_by_name("lstm", &type) == &advml_lstm_kind);
    CU_ASSERT_EQUAL(type, ADVML_LAYER_LSTM);
}

/* lstm (sequences) -> lstm (last) -> dense 2, MSE, through advml_model. */
static void t_model_gradcheck(void)
{
    advml_model_spec s = {.input = advml_shape2(4, 2), .loss = ADVML_LOSS_MSE};
    s.layers[s.nlayers++] = advml_test_layer_spec(ADVML_LAYER_LSTM, 3, 1);
    s.layers[s.nlayers++] = advml_test_layer_spec(ADVML_LAYER_LSTM, 3, 0);
    s.layers[s.nlayers++] = advml_test_layer_spec(ADVML_LAYER_DENSE, 2, 0);
    advml_test_model_gradcheck(&s, 3, 6, "model lstm->lstm->dense", GC_H, GC_FLOOR, GC_TOL);
}

static void reg(void)
{
    static const advml_test_case c[] = {
        {"forward = double-precision reference", t_forward_reference},
        {"forward = PyTorch nn.LSTM", t_matches_pytorch},
        {"gradcheck (x, h0, c0, weight_ih, weight_hh, bias; both return modes)", t_gradcheck},
        {"gradcheck T=10", t_gradcheck_long},
        {"backward accumulates", t_accumulates},
        {"batch rows independent", t_batch_independent},
        {"kind setup: shapes and views", t_kind_setup},
        {"kind setup: error messages", t_kind_errors},
        {"kind init: Glorot, orthogonal blocks, forget bias 1", t_kind_init},
        {"kind forward/backward = ops", t_kind_matches_ops},
        {"stack rnn -> lstm gradcheck", t_stack_gradcheck},
        {"kind table", t_table},
        {"model gradcheck lstm -> lstm -> dense", t_model_gradcheck},
        {NULL, NULL}};
    advml_test_add_suite("lstm", c);
}

int main(void) { return advml_test_main(reg); }

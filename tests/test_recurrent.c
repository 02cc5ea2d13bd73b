/* test_recurrent.c - the recurrent kinds (rnn, lstm, gru) through one
 * table-driven harness. Each kind is a row of `cells`: its ops, gate count and
 * views, a double-precision implementation of its equations, PyTorch's values,
 * and the problems its checks use. Every check runs for every row, as one
 * CUnit suite per kind:
 *   - forward against the double-precision reference and against PyTorch's
 *     nn.RNN / nn.LSTM / nn.GRU (gate order, weight layout, biases, h0/c0);
 *   - central finite-difference gradient checks of the input, the initial
 *     state(s) and every parameter view (both return modes, with and without
 *     initial states, tanh and relu for the rnn, a long sequence);
 *   - backward accumulates; batch rows are independent;
 *   - the layer kind: setup shapes and views, setup error messages, the
 *     initialisers (Glorot, orthogonal blocks, biases), forward/backward =
 *     the ops, its place in the kind table;
 *   - stacks of kinds and models through advml_model, checked end to end.
 * The rnn suite adds a hand-computed 2-step example, the inline
 * exp/sigmoid/tanh against libm and the course's two RNN models. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <CUnit/CUnit.h>

#include "advml/gru.h"
#include "advml/lstm.h"
#include "advml/model.h"
#include "advml/rnn.h"
#include "testutil.h"

/* ---- a problem: the inputs and parameters of one kind ------------------------- */

/* Slots of a problem (and of its gradients): the input, the initial states,
 * then the parameters in the kind's view order: (G*H, F) input weights,
 * (G*H, H) recurrent weights, one or two (G*H) biases. */
enum { S_X, S_H0, S_C0, S_P0 };
#define MAX_BIAS 2
#define NSLOT (S_P0 + 2 + MAX_BIAS)
#define MAX_REF_H 16 /* hidden units the double-precision reference takes */

typedef struct cell cell;

typedef struct rec_case {
    const cell *cell;
    advml_seq_dims d;
    advml_act act;  /* the rnn's cell activation (lstm, gru: tanh) */
    int use_h0;     /* 1: h0 (and c0) given; 0: zeros */
    float *v[NSLOT];
    size_t n[NSLOT]; /* floats in each slot; 0: the kind has no such slot */
    float *wout;     /* loss weights, shape of out */
    float *out, *state, *scratch;
    size_t nout;
} rec_case;

typedef struct problem {
    int N, T, F, H;
    uint64_t seed;
} problem;

/* One layer of a stack or a model: act 0 keeps the kind's default. */
typedef struct layer_row {
    advml_layer_type type;
    int units, rs;
    advml_act act;
} layer_row;

/* A setup example: the layer, its input, and what setup must give. */
typedef struct setup_row {
    int index, units, rs, in_channels;
    advml_act act;
    int T, F, max_batch;
    size_t nparams;          /* the framework's count */
    size_t state_per_sample; /* 0: not checked */
    size_t scratch_min;      /* 0: not checked */
} setup_row;

/* A setup that must fail: the layer and input, the status, message parts. */
typedef struct error_row {
    int index, units, in_channels;
    advml_act act;
    advml_shape in;
    int max_batch;
    advml_status want;
    const char *needle[3];
} error_row;

struct cell {
    const char *name, *class_name;
    const advml_layer_kind *kind;
    advml_layer_type type;
    int gates;       /* rows of each weight and bias: gates * H */
    int nbias;       /* bias vectors (gru: bias_ih and bias_hh) */
    int has_c0;      /* lstm: a cell state besides h0 */
    float bias_range; /* random biases in +-bias_range */
    int forget_bias; /* lstm: the forget gate's bias starts at 1 */
    const char *view[2 + MAX_BIAS];
    size_t (*state_floats)(const advml_seq_dims *d);
    size_t (*scratch_floats)(const advml_seq_dims *d);
    void (*forward)(rec_case *c);
    /* accumulate into g[slot] (NULL: not wanted); dout = c->wout */
    void (*backward)(rec_case *c, float *const *g);
    /* one step of its equations in double: h (and the lstm's cell state cc)
     * from x_t; returns the smallest |pre-activation| (rnn; others INFINITY) */
    double (*step)(const rec_case *c, double *h, double *cc, const float *xt);
    /* PyTorch's every h_t for the problem of t_matches_pytorch */
    struct { advml_act act; int use_h0; float out[24]; } pytorch[2];
    advml_act acts[2]; /* activations the reference and gradient checks cover */
    int nacts;
    uint64_t ref_seed;
    problem grad[2];   /* per activation; relu's is redrawn away from the kink */
    problem longseq, accum, batch;
    problem ops;       /* N, H, seed (T = 5, F = 3); act = acts[nacts - 1] */
    int ops_max_batch;
    problem init;      /* H, F, T, seed (N = max batch) */
    setup_row setup[2];
    int nsetup;
    error_row errors[6];
    int nerrors;
    layer_row stack[3]; /* layers chained through the kinds (0 rows: none) */
    int nstack;
    uint64_t stack_seed;
    layer_row model[3]; /* through advml_model */
    int model_T, model_F;
    uint64_t model_seed;
    const char *model_label;
    const advml_test_case *extra; /* kind-specific tests */
};

static float *H0(const rec_case *c) { return c->use_h0 ? c->v[S_H0] : NULL; }
static float *C0(const rec_case *c) { return c->use_h0 ? c->v[S_C0] : NULL; }

static void case_alloc(rec_case *c, const cell *k, int N, int T, int F, int H, int rs, int use_h0)
{
    advml_seq_dims d = {N, T, F, H, rs};
    const size_t GH = (size_t)k->gates * H;
    memset(c, 0, sizeof *c);
    c->cell = k;
    c->d = d;
    c->act = ADVML_ACT_TANH;
    c->use_h0 = use_h0;
    c->nout = (size_t)N * H * (rs ? T : 1);
    c->n[S_X] = (size_t)N * T * F;
    c->n[S_H0] = (size_t)N * H;
    c->n[S_C0] = k->has_c0 ? (size_t)N * H : 0;
    c->n[S_P0] = GH * F;
    c->n[S_P0 + 1] = GH * H;
    for (int b = 0; b < k->nbias; b++)
        c->n[S_P0 + 2 + b] = GH;
    for (int s = 0; s < NSLOT; s++)
        c->v[s] = advml_test_falloc(c->n[s]);
    c->wout = advml_test_falloc(c->nout);
    c->out = advml_test_falloc(c->nout);
    c->state = advml_test_falloc(k->state_floats(&d));
    c->scratch = advml_test_falloc(k->scratch_floats(&d));
}

/* x in [-1, 1), h0 [-0.8, 0.8), c0 [-1, 1), input weights [-0.8, 0.8),
 * recurrent weights [-0.6, 0.6), biases +-bias_range, wout [-1, 1). */
static void case_make(rec_case *c, const cell *k, int N, int T, int F, int H, int rs, advml_act act,
                      int use_h0, uint64_t seed)
{
    advml_rng rng;
    advml_rng_seed(&rng, seed);
    case_alloc(c, k, N, T, F, H, rs, use_h0);
    c->act = act;
    advml_test_fill_uniform(c->v[S_X], c->n[S_X], -1.0f, 1.0f, &rng);
    advml_test_fill_uniform(c->v[S_H0], c->n[S_H0], -0.8f, 0.8f, &rng);
    advml_test_fill_uniform(c->v[S_C0], c->n[S_C0], -1.0f, 1.0f, &rng);
    advml_test_fill_uniform(c->v[S_P0], c->n[S_P0], -0.8f, 0.8f, &rng);
    advml_test_fill_uniform(c->v[S_P0 + 1], c->n[S_P0 + 1], -0.6f, 0.6f, &rng);
    for (int b = 0; b < k->nbias; b++)
        advml_test_fill_uniform(c->v[S_P0 + 2 + b], c->n[S_P0 + 2 + b], -k->bias_range, k->bias_range, &rng);
    advml_test_fill_uniform(c->wout, c->nout, -1.0f, 1.0f, &rng);
}

static void case_free(rec_case *c)
{
    for (int s = 0; s < NSLOT; s++)
        free(c->v[s]);
    free(c->wout); free(c->out); free(c->state); free(c->scratch);
}

static const char *slot_name(const cell *k, int s)
{
    static const char *const inputs[] = {"x", "h0", "c0"};
    return s < S_P0 ? inputs[s] : k->view[s - S_P0];
}

/* L = sum(wout * out) in double over a float forward. */
static double case_loss(void *p)
{
    rec_case *c = p;
    c->cell->forward(c);
    double s = 0.0;
    for (size_t k = 0; k < c->nout; k++)
        s += (double)c->wout[k] * c->out[k];
    return s;
}

static double sigm(double v) { return 1.0 / (1.0 + exp(-v)); }

/* ---- the kinds: ops and double-precision equations ------------------------------ */

static void rnn_fwd(rec_case *c)
{
    float *const *v = c->v;
    advml_rnn_forward(c->out, c->state, c->scratch, v[S_X], H0(c), v[S_P0], v[S_P0 + 1], v[S_P0 + 2], c->act,
                      &c->d);
}

static void rnn_bwd(rec_case *c, float *const *g)
{
    float *const *v = c->v;
    advml_rnn_backward(g[S_X], g[S_H0], g[S_P0], g[S_P0 + 1], g[S_P0 + 2], c->scratch, c->wout, c->state, v[S_X],
                       H0(c), v[S_P0], v[S_P0 + 1], c->act, &c->d);
}

/* a_t = U x_t + W h_{t-1} + b, h_t = act(a_t); returns the smallest |a_t|
 * (the distance of the pre-activations from relu's kink). */
static double rnn_step(const rec_case *c, double *h, double *cc, const float *xt)
{
    (void)cc;
    const int F = c->d.F, H = c->d.H;
    const float *U = c->v[S_P0], *W = c->v[S_P0 + 1], *b = c->v[S_P0 + 2];
    double a[MAX_REF_H], min_a = INFINITY;
    for (int i = 0; i < H; i++) {
        double s = b[i];
        for (int f = 0; f < F; f++)
            s += (double)U[i * F + f] * xt[f];
        for (int j = 0; j < H; j++)
            s += (double)W[i * H + j] * h[j];
        a[i] = s;
        min_a = fmin(min_a, fabs(s));
    }
    for (int i = 0; i < H; i++)
        h[i] = c->act == ADVML_ACT_RELU ? (a[i] > 0 ? a[i] : 0.0) : tanh(a[i]);
    return min_a;
}

static void lstm_fwd(rec_case *c)
{
    float *const *v = c->v;
    advml_lstm_forward(c->out, c->state, c->scratch, v[S_X], H0(c), C0(c), v[S_P0], v[S_P0 + 1], v[S_P0 + 2],
                       &c->d);
}

static void lstm_bwd(rec_case *c, float *const *g)
{
    float *const *v = c->v;
    advml_lstm_backward(g[S_X], g[S_H0], g[S_C0], g[S_P0], g[S_P0 + 1], g[S_P0 + 2], c->scratch, c->wout,
                        c->state, v[S_X], H0(c), C0(c), v[S_P0], v[S_P0 + 1], &c->d);
}

/* G = W_ih x + W_hh h + b; i, f, g, o gates; c = f c + i g; h = o tanh(c). */
static double lstm_step(const rec_case *c, double *h, double *cc, const float *xt)
{
    const int F = c->d.F, H = c->d.H;
    const float *wi = c->v[S_P0], *wh = c->v[S_P0 + 1], *b = c->v[S_P0 + 2];
    double g[4 * MAX_REF_H];
    for (int r = 0; r < 4 * H; r++) {
        double s = b[r];
        for (int f = 0; f < F; f++)
            s += (double)wi[r * F + f] * xt[f];
        for (int j = 0; j < H; j++)
            s += (double)wh[r * H + j] * h[j];
        g[r] = s;
    }
    for (int j = 0; j < H; j++) {
        double i = sigm(g[j]), f = sigm(g[H + j]), gg = tanh(g[2 * H + j]), o = sigm(g[3 * H + j]);
        cc[j] = f * cc[j] + i * gg;
        h[j] = o * tanh(cc[j]);
    }
    return INFINITY;
}

static void gru_fwd(rec_case *c)
{
    float *const *v = c->v;
    advml_gru_forward(c->out, c->state, c->scratch, v[S_X], H0(c), v[S_P0], v[S_P0 + 1], v[S_P0 + 2],
                      v[S_P0 + 3], &c->d);
}

static void gru_bwd(rec_case *c, float *const *g)
{
    float *const *v = c->v;
    advml_gru_backward(g[S_X], g[S_H0], g[S_P0], g[S_P0 + 1], g[S_P0 + 2], g[S_P0 + 3], c->scratch, c->wout,
                       c->state, v[S_X], H0(c), v[S_P0], v[S_P0 + 1], &c->d);
}

/* A = W_ih x + b_ih, R = W_hh h + b_hh; r, z gates; n = tanh(A_n + r R_n);
 * h = (1 - z) n + z h. */
static double gru_step(const rec_case *c, double *h, double *cc, const float *xt)
{
    (void)cc;
    const int F = c->d.F, H = c->d.H;
    const float *wi = c->v[S_P0], *wh = c->v[S_P0 + 1], *bi = c->v[S_P0 + 2], *bh = c->v[S_P0 + 3];
    double A[3 * MAX_REF_H], R[3 * MAX_REF_H];
    for (int r = 0; r < 3 * H; r++) {
        double a = bi[r], s = bh[r];
        for (int f = 0; f < F; f++)
            a += (double)wi[r * F + f] * xt[f];
        for (int j = 0; j < H; j++)
            s += (double)wh[r * H + j] * h[j];
        A[r] = a;
        R[r] = s;
    }
    for (int j = 0; j < H; j++) {
        double r = sigm(A[j] + R[j]), z = sigm(A[H + j] + R[H + j]);
        double nn = tanh(A[2 * H + j] + r * R[2 * H + j]);
        h[j] = (1.0 - z) * nn + z * h[j];
    }
    return INFINITY;
}

/* The kind's equations step by step in double from h0 (and c0) or zeros:
 * ref (the shape of out); returns the smallest |pre-activation| met (rnn). */
static double reference(double *ref, const rec_case *c)
{
    const int N = c->d.N, T = c->d.T, F = c->d.F, H = c->d.H;
    double h[MAX_REF_H], cc[MAX_REF_H], min_a = INFINITY;
    CU_ASSERT_FATAL(H <= MAX_REF_H);
    for (int n = 0; n < N; n++) {
        for (int j = 0; j < H; j++) {
            h[j] = c->use_h0 ? c->v[S_H0][n * H + j] : 0.0;
            cc[j] = c->use_h0 && c->cell->has_c0 ? c->v[S_C0][n * H + j] : 0.0;
        }
        for (int t = 0; t < T; t++) {
            min_a = fmin(min_a, c->cell->step(c, h, cc, c->v[S_X] + ((size_t)n * T + t) * F));
            if (c->d.return_sequences)
                memcpy(ref + ((size_t)n * T + t) * H, h, (size_t)H * sizeof *h);
        }
        if (!c->d.return_sequences)
            memcpy(ref + (size_t)n * H, h, (size_t)H * sizeof *h);
    }
    return min_a;
}

/* The kind the current suite tests (set by its CUnit init function). */
static const cell *K;

/* ---- forward ------------------------------------------------------------------- */

static void t_forward_reference(void)
{
    for (int rs = 0; rs <= 1; rs++)
        for (int h0 = 0; h0 <= 1; h0++)
            for (int a = 0; a < K->nacts; a++) {
                rec_case c;
                case_make(&c, K, 3, 6, 2, 5, rs, K->acts[a], h0,
                          K->ref_seed + (uint64_t)((2 * rs + h0) * K->nacts + a));
                double *ref = calloc(c.nout, sizeof(double));
                CU_ASSERT_FATAL(ref != NULL);
                reference(ref, &c);
                K->forward(&c);
                double m = 0.0;
                for (size_t k = 0; k < c.nout; k++)
                    m = fmax(m, fabs(c.out[k] - ref[k]));
                if (m > 1e-5)
                    fprintf(stderr, "  %s forward vs reference: max diff %.3g\n", K->name, m);
                CU_ASSERT(m <= 1e-5);
                free(ref);
                case_free(&c);
            }
}

/* Values from PyTorch 1.13 nn.RNN / nn.LSTM / nn.GRU(3, 3, batch_first=True)
 * in float64 with weight_ih_l0[k] = 0.4 sin(1 + k), weight_hh_l0[k] =
 * 0.3 cos(0.5 + 2k), bias_ih_l0[k] = 0.2 sin(3k), bias_hh_l0[k] = 0.1 cos(k)
 * (flat index k, each value rounded to float), x[k] = sin(0.7k + 0.3)
 * (N=2, T=4, F=3), h0[k] = 0.5 cos(1.3k), c0[k] = 0.4 sin(0.9k + 1);
 * output = every h_t. One bias vector holds bias_ih + bias_hh (rnn, lstm).
 * Confirms the gate order (lstm i, f, g, o; gru r, z, n), the layout of
 * every view, gru's r acting on W_hn h + b_hn; the last step alone is the
 * last row of each sequence. */
static void t_matches_pytorch(void)
{
    rec_case c;
    case_alloc(&c, K, 2, 4, 3, 3, 1, 1);
    for (int k = 0; k < 24; k++)
        c.v[S_X][k] = (float)sin(0.7 * k + 0.3);
    for (int k = 0; k < 6; k++) {
        c.v[S_H0][k] = (float)(0.5 * cos(1.3 * k));
        if (K->has_c0)
            c.v[S_C0][k] = (float)(0.4 * sin(0.9 * k + 1));
    }
    for (size_t k = 0; k < c.n[S_P0]; k++) {
        c.v[S_P0][k] = (float)(0.4 * sin(1.0 + k));
        c.v[S_P0 + 1][k] = (float)(0.3 * cos(0.5 + 2 * k));
    }
    for (size_t k = 0; k < c.n[S_P0 + 2]; k++) {
        const float bi = (float)(0.2 * sin(3.0 * k)), bh = (float)(0.1 * cos((double)k));
        if (K->nbias == 2) {
            c.v[S_P0 + 2][k] = bi;
            c.v[S_P0 + 3][k] = bh;
        } else {
            c.v[S_P0 + 2][k] = bi + bh;
        }
    }
    for (int r = 0; r < 2; r++) {
        c.act = K->pytorch[r].act;
        c.use_h0 = K->pytorch[r].use_h0;
        K->forward(&c);
        CU_ASSERT(advml_max_abs_diff(c.out, K->pytorch[r].out, 24) < 2e-6);
    }
    c.d.return_sequences = 0; /* last step only: (N, H) = h_3 of each sample */
    K->forward(&c);
    CU_ASSERT(advml_max_abs_diff(c.out, K->pytorch[1].out + 9, 3) < 2e-6);
    CU_ASSERT(advml_max_abs_diff(c.out + 3, K->pytorch[1].out + 21, 3) < 2e-6);
    case_free(&c);
}

/* ---- gradients ------------------------------------------------------------------- */

/* Central differences of L = sum(wout * out), h = 1e-2. The forward is
 * float32 and L sums O(N*T*H) terms of O(1), so L carries ~1e-7 relative
 * rounding noise (~2e-7 absolute per evaluation); with h = 1e-2 that is ~2e-5
 * in a difference quotient, of the size of the O(h^2 f''') truncation error.
 * Errors are taken relative to max(|num|, |ana|, 1e-2) (absolute below
 * gradients of 1e-2) and must stay below 5e-3; the worst observed is 2e-3 (an
 * rnn x entry with gradient 6e-4, absolute error 2e-5; lstm 8.5e-4, gru
 * 1.1e-3). A wrong term in backward (a gate derivative, a missing step, the
 * h0 or c0 path, a transposed weight) gives errors of order 1e-1 to 1. For
 * relu the problem is drawn so that no pre-activation lies within 0.1 of the
 * kink, more than a step of 1e-2 in any one parameter or input moves it. */
#define GC_H 1e-2
#define GC_FLOOR 1e-2
#define GC_TOL 5e-3

static void gradcheck_case(rec_case *c, const char *label)
{
    float *g[NSLOT];
    for (int s = 0; s < NSLOT; s++)
        g[s] = c->n[s] && (s < S_H0 || s > S_C0 || c->use_h0) ? advml_test_falloc(c->n[s]) : NULL;
    c->cell->forward(c);
    c->cell->backward(c, g);
    for (int s = 0; s < NSLOT; s++) {
        if (!g[s])
            continue;
        char what[96];
        snprintf(what, sizeof what, "%s d%s", label, slot_name(c->cell, s));
        double e = advml_gradcheck(what, c->v[s], g[s], c->n[s], case_loss, c, GC_H, GC_FLOOR, GC_TOL, NULL);
        CU_ASSERT(e <= GC_TOL);
        free(g[s]);
    }
}

/* Both return modes, with and without initial states, each activation. A
 * relu problem is redrawn (deterministically, ~20 draws) until every
 * pre-activation is at least 0.1 from the kink. */
static void t_gradcheck(void)
{
    for (int a = 0; a < K->nacts; a++)
        for (int rs = 0; rs <= 1; rs++)
            for (int h0 = 0; h0 <= 1; h0++) {
                const problem *p = &K->grad[a];
                const int relu = K->acts[a] == ADVML_ACT_RELU;
                uint64_t seed = p->seed + 2 * rs + h0;
                rec_case c;
                for (int tries = 0;; tries++) {
                    case_make(&c, K, p->N, p->T, p->F, p->H, rs, K->acts[a], h0, seed);
                    double ref[64];
                    CU_ASSERT_FATAL(c.nout <= 64);
                    if (!relu || reference(ref, &c) >= 0.1)
                        break;
                    case_free(&c);
                    seed += 1000;
                    if (tries >= 10000)
                        CU_FAIL_FATAL("no relu problem with every |a| >= 0.1 found");
                }
                char label[64];
                snprintf(label, sizeof label, "%s %s rs=%d h0=%d", K->name, advml_act_name(K->acts[a]), rs, h0);
                gradcheck_case(&c, label);
                case_free(&c);
            }
}

/* One sequence of 10 to 12 steps with initial states: the gradient reaches
 * the first inputs (and c0) through every step. */
static void t_gradcheck_long(void)
{
    const problem *p = &K->longseq;
    rec_case c;
    case_make(&c, K, p->N, p->T, p->F, p->H, 0, ADVML_ACT_TANH, 1, p->seed);
    char label[64];
    snprintf(label, sizeof label, "%s T=%d", K->name, p->T);
    gradcheck_case(&c, label);
    case_free(&c);
}

/* Backward accumulates: twice from one forward gives twice the gradients of
 * once, in every slot. */
static void t_accumulates(void)
{
    const problem *p = &K->accum;
    rec_case c;
    case_make(&c, K, p->N, p->T, p->F, p->H, 1, ADVML_ACT_TANH, 1, p->seed);
    float *g1[NSLOT], *g2[NSLOT];
    for (int s = 0; s < NSLOT; s++) {
        g1[s] = c.n[s] ? advml_test_falloc(c.n[s]) : NULL;
        g2[s] = c.n[s] ? advml_test_falloc(c.n[s]) : NULL;
    }
    K->forward(&c);
    K->backward(&c, g1);
    for (int rep = 0; rep < 2; rep++)
        K->backward(&c, g2);
    for (int s = 0; s < NSLOT; s++) {
        if (!c.n[s])
            continue;
        double worst = 0.0, gmax = 0.0;
        for (size_t k = 0; k < c.n[s]; k++) {
            worst = fmax(worst, fabs(g2[s][k] - 2.0 * g1[s][k]));
            gmax = fmax(gmax, fabs(g1[s][k]));
        }
        CU_ASSERT(gmax > 0.0);
        CU_ASSERT(worst <= 1e-6 * (1.0 + gmax));
        free(g1[s]);
        free(g2[s]);
    }
    case_free(&c);
}

/* A batch of 4 gives what each sample gives alone (catches mixing of the
 * time-major rows). */
static void t_batch_independent(void)
{
    const problem *p = &K->batch;
    rec_case c, one;
    case_make(&c, K, p->N, p->T, p->F, p->H, 1, ADVML_ACT_TANH, 1, p->seed);
    K->forward(&c);
    case_alloc(&one, K, 1, p->T, p->F, p->H, 1, 1);
    for (int s = S_P0; s < NSLOT; s++)
        memcpy(one.v[s], c.v[s], c.n[s] * sizeof(float));
    for (int n = 0; n < p->N; n++) {
        for (int s = S_X; s < S_P0; s++)
            memcpy(one.v[s], c.v[s] + n * one.n[s], one.n[s] * sizeof(float));
        K->forward(&one);
        CU_ASSERT(advml_max_abs_diff(one.out, c.out + n * one.nout, one.nout) == 0.0);
    }
    case_free(&one);
    case_free(&c);
}

/* ---- the layer kind --------------------------------------------------------------- */

static advml_layer make_layer(advml_layer_type type, int index, int units, advml_act act, int rs,
                              int in_channels)
{
    advml_layer L;
    memset(&L, 0, sizeof L);
    L.spec.type = type;
    L.spec.units = units;
    L.spec.act = act;
    L.spec.return_sequences = rs;
    L.spec.in_channels = in_channels;
    L.kind = advml_layer_kind_of(type);
    L.index = index;
    return L;
}

/* Output shape (T, H) with return_sequences, else (H). */
static int out_is(const advml_layer *L, int T, int H)
{
    return L->spec.return_sequences ? L->out_shape.rank == 2 && L->out_shape.d[0] == T && L->out_shape.d[1] == H
                                    : L->out_shape.rank == 1 && L->out_shape.d[0] == H;
}

/* Shapes, the framework's parameter count, the views (names, (G*H, F),
 * (G*H, H), (G*H) bias(es), packed in that order, decay on the weights only,
 * the layer index), state and scratch; then the other return mode. */
static void t_kind_setup(void)
{
    const advml_layer_kind *kind = K->kind;
    CU_ASSERT_STRING_EQUAL(kind->name, K->name);
    CU_ASSERT_EQUAL(kind->post_act, 0);
    CU_ASSERT_STRING_EQUAL(kind->class_name, K->class_name);
    for (int e = 0; e < K->nsetup; e++) {
        const setup_row *r = &K->setup[e];
        advml_error err;
        advml_layer L = make_layer(K->type, r->index, r->units, r->act, r->rs, r->in_channels);
        CU_ASSERT_EQUAL_FATAL(kind->setup(&L, advml_shape2(r->T, r->F), r->max_batch, &err), ADVML_OK);
        CU_ASSERT(out_is(&L, r->T, r->units));
        CU_ASSERT_EQUAL(L.nparams, r->nparams);
        CU_ASSERT_EQUAL(L.nviews, 2 + K->nbias);
        const int rows = K->gates * r->units, cols[2] = {r->F, r->units};
        size_t off = 0;
        for (int v = 0; v < L.nviews && v < 2 + MAX_BIAS; v++) {
            const advml_param_view *pv = &L.views[v];
            CU_ASSERT_STRING_EQUAL(pv->name, K->view[v]);
            CU_ASSERT_EQUAL(pv->rank, v < 2 ? 2 : 1);
            CU_ASSERT_EQUAL(pv->dims[0], rows);
            if (v < 2)
                CU_ASSERT_EQUAL(pv->dims[1], cols[v]);
            CU_ASSERT_EQUAL(pv->offset, off);
            CU_ASSERT_EQUAL(pv->decay, v < 2);
            CU_ASSERT_EQUAL(pv->layer, r->index);
            off += (size_t)rows * (v < 2 ? (size_t)cols[v] : 1);
        }
        CU_ASSERT_EQUAL(off, L.nparams);
        if (r->state_per_sample)
            CU_ASSERT_EQUAL(L.state_per_sample, r->state_per_sample);
        if (r->scratch_min)
            CU_ASSERT(L.scratch_floats >= r->scratch_min);
        L.spec.return_sequences = !r->rs;
        CU_ASSERT_EQUAL_FATAL(kind->setup(&L, advml_shape2(r->T, r->F), r->max_batch, &err), ADVML_OK);
        CU_ASSERT(out_is(&L, r->T, r->units));
    }
}

static void t_kind_errors(void)
{
    for (int e = 0; e < K->nerrors; e++) {
        const error_row *r = &K->errors[e];
        advml_error err;
        advml_error_clear(&err);
        advml_layer L = make_layer(K->type, r->index, r->units, r->act, 0, r->in_channels);
        advml_status st = K->kind->setup(&L, r->in, r->max_batch, &err);
        CU_ASSERT_EQUAL(st, r->want);
        if (st == ADVML_OK)
            continue;
        CU_ASSERT_EQUAL(err.code, st);
        for (int i = 0; i < 3 && r->needle[i]; i++) {
            int ok = strstr(err.msg, r->needle[i]) != NULL;
            if (!ok)
                fprintf(stderr, "  %s: message \"%s\" lacks \"%s\"\n", K->name, err.msg, r->needle[i]);
            CU_ASSERT(ok);
        }
    }
}

/* The same seed gives the same parameters; input weights Glorot-uniform
 * U(+-sqrt(6 / (F + G*H))); each (H, H) block of the recurrent weights
 * orthogonal; biases zero (lstm: the forget gate's 1). */
static void t_kind_init(void)
{
    const problem *p = &K->init;
    const int H = p->H, F = p->F;
    advml_error err;
    advml_layer L = make_layer(K->type, 0, H, ADVML_ACT_TANH, 0, 0);
    CU_ASSERT_EQUAL_FATAL(K->kind->setup(&L, advml_shape2(p->T, F), p->N, &err), ADVML_OK);
    float *w = advml_test_falloc(L.nparams), *q = advml_test_falloc(L.nparams);
    for (size_t k = 0; k < L.nparams; k++)
        w[k] = q[k] = 99.0f;
    advml_rng r1, r2;
    advml_rng_seed(&r1, p->seed);
    advml_rng_seed(&r2, p->seed);
    K->kind->init(&L, w, &r1);
    K->kind->init(&L, q, &r2);
    CU_ASSERT(memcmp(w, q, L.nparams * sizeof(float)) == 0);
    const float *wi = w + L.views[0].offset, *wh = w + L.views[1].offset;
    const double lim = sqrt(6.0 / (F + K->gates * H));
    double umax = 0.0;
    for (size_t k = 0; k < L.views[0].size; k++)
        umax = fmax(umax, fabs(wi[k]));
    CU_ASSERT(umax <= lim && umax > 0.5 * lim);
    for (int gate = 0; gate < K->gates; gate++) {
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
    for (int v = 2; v < L.nviews; v++)
        for (int j = 0; j < (int)L.views[v].size; j++) /* lstm [b_i b_f b_g b_o]: forget bias 1 */
            CU_ASSERT(w[L.views[v].offset + j] == ((K->forget_bias && j >= H && j < 2 * H) ? 1.0f : 0.0f));
    free(w);
    free(q);
}

/* The kind's forward/backward are the ops with zero initial states; no input
 * gradient (dinp NULL, a first layer) and B = 0 (a no-op) are fine. */
static void t_kind_matches_ops(void)
{
    const problem *p = &K->ops;
    const int T = 5, F = 3;
    const advml_act act = K->acts[K->nacts - 1];
    for (int rs = 0; rs <= 1; rs++) {
        advml_error err;
        advml_layer L = make_layer(K->type, 0, p->H, act, rs, 0);
        CU_ASSERT_EQUAL_FATAL(K->kind->setup(&L, advml_shape2(T, F), K->ops_max_batch, &err), ADVML_OK);
        rec_case c;
        case_make(&c, K, p->N, T, F, p->H, rs, act, 0, p->seed + (uint64_t)rs);
        float *params = advml_test_falloc(L.nparams), *dparams = advml_test_falloc(L.nparams);
        for (int v = 0; v < L.nviews; v++)
            memcpy(params + L.views[v].offset, c.v[S_P0 + v], c.n[S_P0 + v] * sizeof(float));
        float *z = advml_test_falloc(c.nout), *dinp = advml_test_falloc(c.n[S_X]);
        float *scratch = advml_test_falloc(L.scratch_floats);
        L.state = calloc((size_t)K->ops_max_batch, L.state_per_sample);
        CU_ASSERT_FATAL(L.state != NULL);
        advml_ctx ctx = {.B = p->N, .training = 1, .scratch = scratch};
        K->kind->forward(&L, z, c.v[S_X], params, &ctx);
        K->forward(&c);
        CU_ASSERT(advml_max_abs_diff(z, c.out, c.nout) == 0.0);
        K->kind->backward(&L, dinp, dparams, c.wout, c.v[S_X], params, &ctx);
        float *g[NSLOT] = {NULL};
        g[S_X] = advml_test_falloc(c.n[S_X]);
        for (int s = S_P0; s < NSLOT; s++)
            g[s] = c.n[s] ? advml_test_falloc(c.n[s]) : NULL;
        K->backward(&c, g);
        CU_ASSERT(advml_max_abs_diff(dinp, g[S_X], c.n[S_X]) == 0.0);
        for (int v = 0; v < L.nviews; v++)
            CU_ASSERT(advml_max_abs_diff(dparams + L.views[v].offset, g[S_P0 + v], c.n[S_P0 + v]) == 0.0);
        K->kind->backward(&L, NULL, dparams, c.wout, c.v[S_X], params, &ctx);
        advml_ctx ctx0 = {.B = 0, .training = 1, .scratch = scratch};
        K->kind->forward(&L, z, c.v[S_X], params, &ctx0);
        K->kind->backward(&L, dinp, dparams, c.wout, c.v[S_X], params, &ctx0);
        for (int s = 0; s < NSLOT; s++)
            free(g[s]);
        free(params); free(dparams); free(z); free(dinp); free(scratch); free(L.state);
        case_free(&c);
    }
}

static void t_table(void)
{
    advml_layer_type type = ADVML_LAYER_DENSE;
    CU_ASSERT(advml_layer_kind_of(K->type) == K->kind);
    CU_ASSERT(advml_layer_kind_by_name(K->name, &type) == K->kind);
    CU_ASSERT_EQUAL(type, K->type);
    CU_ASSERT(advml_layer_spec_default(K->type).act == ADVML_ACT_TANH);
}

/* ---- stacks of kinds and models ----------------------------------------------------- */

#define MAX_STACK 3
typedef struct stack_case {
    int n;
    advml_layer L[MAX_STACK];
    float *params[MAX_STACK], *dparams[MAX_STACK], *z[MAX_STACK], *dz[MAX_STACK], *scratch;
    float *x, *wout, *dx;
    size_t nout;
    advml_ctx ctx;
} stack_case;

static double stack_loss(void *p)
{
    stack_case *s = p;
    const float *in = s->x;
    for (int i = 0; i < s->n; i++) {
        s->L[i].kind->forward(&s->L[i], s->z[i], in, s->params[i], &s->ctx);
        in = s->z[i];
    }
    double l = 0.0;
    for (size_t k = 0; k < s->nout; k++)
        l += (double)s->wout[k] * s->z[s->n - 1][k];
    return l;
}

/* The kinds chained by hand (B = 2, T = 4, F = 2), each initialised by its
 * kind, biases then redrawn in [-0.5, 0.5) so that every path is exercised:
 * the input and every layer's parameters against central differences. */
static void t_stack_gradcheck(void)
{
    const int B = 2, T = 4, F = 2;
    stack_case s;
    memset(&s, 0, sizeof s);
    s.n = K->nstack;
    advml_error err;
    advml_shape in = advml_shape2(T, F);
    size_t sc = 0;
    advml_rng rng;
    advml_rng_seed(&rng, K->stack_seed);
    for (int i = 0; i < s.n; i++) {
        const layer_row *r = &K->stack[i];
        s.L[i] = make_layer(r->type, i, r->units, ADVML_ACT_TANH, r->rs, 0);
        CU_ASSERT_EQUAL_FATAL(s.L[i].kind->setup(&s.L[i], in, B, &err), ADVML_OK);
        in = s.L[i].out_shape;
        sc = s.L[i].scratch_floats > sc ? s.L[i].scratch_floats : sc;
        s.params[i] = advml_test_falloc(s.L[i].nparams);
        s.dparams[i] = advml_test_falloc(s.L[i].nparams);
        s.L[i].kind->init(&s.L[i], s.params[i], &rng);
        for (int v = 0; v < s.L[i].nviews; v++)
            if (!s.L[i].views[v].decay)
                advml_test_fill_uniform(s.params[i] + s.L[i].views[v].offset, s.L[i].views[v].size, -0.5f, 0.5f,
                                        &rng);
        s.L[i].state = calloc((size_t)B, s.L[i].state_per_sample);
        CU_ASSERT_FATAL(s.L[i].state != NULL);
        s.z[i] = advml_test_falloc((size_t)B * advml_shape_size(&s.L[i].out_shape));
        s.dz[i] = advml_test_falloc((size_t)B * advml_shape_size(&s.L[i].out_shape));
    }
    CU_ASSERT(in.rank == 1 && in.d[0] == K->stack[s.n - 1].units);
    s.nout = (size_t)B * advml_shape_size(&in);
    s.scratch = advml_test_falloc(sc);
    s.x = advml_test_falloc((size_t)B * T * F);
    s.wout = advml_test_falloc(s.nout);
    s.dx = advml_test_falloc((size_t)B * T * F);
    advml_test_fill_uniform(s.x, (size_t)B * T * F, -1.0f, 1.0f, &rng);
    advml_test_fill_uniform(s.wout, s.nout, -1.0f, 1.0f, &rng);
    advml_ctx ctx = {.B = B, .training = 1, .scratch = s.scratch};
    s.ctx = ctx;
    stack_loss(&s);
    memcpy(s.dz[s.n - 1], s.wout, s.nout * sizeof(float));
    for (int i = s.n - 1; i >= 0; i--)
        s.L[i].kind->backward(&s.L[i], i ? s.dz[i - 1] : s.dx, s.dparams[i], s.dz[i], i ? s.z[i - 1] : s.x,
                              s.params[i], &s.ctx);
    double e = advml_gradcheck("stack dx", s.x, s.dx, (size_t)B * T * F, stack_loss, &s, GC_H, GC_FLOOR, GC_TOL,
                               NULL);
    CU_ASSERT(e <= GC_TOL);
    for (int i = 0; i < s.n; i++) {
        char what[48];
        snprintf(what, sizeof what, "stack layer %d (%s) params", i, s.L[i].kind->name);
        e = advml_gradcheck(what, s.params[i], s.dparams[i], s.L[i].nparams, stack_loss, &s, GC_H, GC_FLOOR,
                            GC_TOL, NULL);
        CU_ASSERT(e <= GC_TOL);
    }
    for (int i = 0; i < s.n; i++) {
        free(s.params[i]); free(s.dparams[i]); free(s.z[i]); free(s.dz[i]); free(s.L[i].state);
    }
    free(s.scratch); free(s.x); free(s.wout); free(s.dx);
}

/* A small model through advml_model (MSE, batch 3): every parameter. */
static void t_model_gradcheck(void)
{
    advml_model_spec s = {.input = advml_shape2(K->model_T, K->model_F), .loss = ADVML_LOSS_MSE};
    for (int i = 0; i < 3; i++) {
        const layer_row *r = &K->model[i];
        s.layers[s.nlayers] = advml_test_layer_spec(r->type, r->units, r->rs);
        if (r->act)
            s.layers[s.nlayers].act = r->act;
        s.nlayers++;
    }
    advml_test_model_gradcheck(&s, 3, K->model_seed, K->model_label, GC_H, GC_FLOOR, GC_TOL);
}

/* ---- rnn only ------------------------------------------------------------------------ */

/* F = 1, H = 2, N = 1, T = 2, h_0 = 0, tanh:
 *   U = [0.5, -1]^T, W = [[0.1, 0.2], [0.3, -0.4]], b = [0, 0.1], x = (1, 2)
 *   a_1 = U*1 + b                 = [0.5, -0.9]
 *   h_1 = tanh(a_1)               = [0.46211716, -0.71629787]
 *   a_2 = U*2 + W h_1 + b         = [1 + 0.04621172 - 0.14325957, -2 + 0.13863515 + 0.28651915 + 0.1]
 *                                 = [0.90295214, -1.47484570]
 *   h_2 = tanh(a_2)               = [0.71773228, -0.90049780]
 * Loss L = h_2[0] + h_2[1] (dout = [1, 1] on the last state):
 *   da_2 = 1 - h_2^2              = [0.48486037, 0.18910371]
 *   dh_1 = W^T da_2               = [0.10521715, 0.02133059]
 *   da_1 = dh_1 (1 - h_1^2)       = [0.08274779, 0.01038624]
 *   dW = da_2 h_1^T               = [[0.22406230, -0.34730445], [0.08738807, -0.13545458]]
 *   dU = da_2 x_2 + da_1 x_1      = [1.05246853, 0.38859365]
 *   db = da_1 + da_2              = [0.56760816, 0.19948994]
 *   dx = (U^T da_1, U^T da_2)     = (0.03098766, 0.05332648)
 */
static void t_hand_example(void)
{
    const float U[2] = {0.5f, -1.0f}, W[4] = {0.1f, 0.2f, 0.3f, -0.4f}, b[2] = {0.0f, 0.1f};
    const float x[2] = {1.0f, 2.0f}, dout[2] = {1.0f, 1.0f};
    advml_seq_dims d = {1, 2, 1, 2, 1};
    float out[4], state[4], scratch[64];
    CU_ASSERT_FATAL(advml_rnn_scratch_floats(&d) <= 64);
    advml_rnn_forward(out, state, scratch, x, NULL, U, W, b, ADVML_ACT_TANH, &d);
    const double h1[2] = {0.46211716, -0.71629787}, h2[2] = {0.71773228, -0.90049780};
    for (int j = 0; j < 2; j++) {
        ADVML_CHECK_CLOSE(out[j], h1[j], 1e-6);
        ADVML_CHECK_CLOSE(out[2 + j], h2[j], 1e-6);
    }
    d.return_sequences = 0;
    advml_rnn_forward(out, state, scratch, x, NULL, U, W, b, ADVML_ACT_TANH, &d);
    ADVML_CHECK_CLOSE(out[0], h2[0], 1e-6);
    ADVML_CHECK_CLOSE(out[1], h2[1], 1e-6);

    float dU[2] = {0}, dW[4] = {0}, db[2] = {0}, dx[2] = {0}, dh0[2] = {0};
    advml_rnn_backward(dx, dh0, dU, dW, db, scratch, dout, state, x, NULL, U, W, ADVML_ACT_TANH, &d);
    const double edW[4] = {0.22406230, -0.34730445, 0.08738807, -0.13545458};
    const double edU[2] = {1.05246853, 0.38859365}, edb[2] = {0.56760816, 0.19948994};
    const double edx[2] = {0.03098766, 0.05332648};
    for (int k = 0; k < 4; k++)
        ADVML_CHECK_CLOSE(dW[k], edW[k], 1e-6);
    for (int k = 0; k < 2; k++) {
        ADVML_CHECK_CLOSE(dU[k], edU[k], 1e-6);
        ADVML_CHECK_CLOSE(db[k], edb[k], 1e-6);
        ADVML_CHECK_CLOSE(dx[k], edx[k], 1e-6);
    }
    /* dh0 = W^T da_1 = [0.1*0.08274779 + 0.3*0.01038624, 0.2*0.08274779 - 0.4*0.01038624] */
    ADVML_CHECK_CLOSE(dh0[0], 0.1 * 0.08274779 + 0.3 * 0.01038624, 1e-6);
    ADVML_CHECK_CLOSE(dh0[1], 0.2 * 0.08274779 - 0.4 * 0.01038624, 1e-6);
}

/* The inline exp/sigmoid/tanh of the gate loops against libm in double, over
 * [-88, 88] in steps of ~4.4e-4 and near 0, plus saturation and NaN. */
static void t_inline_math(void)
{
    double e_exp = 0.0, e_sig = 0.0, e_tanh_rel = 0.0, e_tanh_abs = 0.0;
    for (int i = -200000; i <= 200000; i++) {
        float x = (float)(i * 4.4e-4);
        double ex = exp((double)x), sg = 1.0 / (1.0 + exp(-(double)x)), th = tanh((double)x);
        if (x > -87.3f)
            e_exp = fmax(e_exp, fabs(advml_rnn_expf(x) - ex) / ex);
        e_sig = fmax(e_sig, fabs(advml_rnn_sigmoidf(x) - sg) / sg);
        e_tanh_abs = fmax(e_tanh_abs, fabs(advml_rnn_tanhf(x) - th));
        if (x != 0.0f)
            e_tanh_rel = fmax(e_tanh_rel, fabs(advml_rnn_tanhf(x) - th) / fabs(th));
    }
    for (int i = 1; i < 20000; i++) { /* tiny arguments: tanh x ~ x, relative accuracy kept */
        float x = (float)(i * 1e-6);
        double th = tanh((double)x);
        e_tanh_rel = fmax(e_tanh_rel, fabs(advml_rnn_tanhf(-x) + th) / th);
    }
    if (e_exp > 4e-7 || e_sig > 4e-7 || e_tanh_rel > 4e-7 || e_tanh_abs > 2e-7)
        fprintf(stderr, "  inline math: exp %.3g sigmoid %.3g tanh rel %.3g abs %.3g\n", e_exp, e_sig,
                e_tanh_rel, e_tanh_abs);
    CU_ASSERT(e_exp <= 4e-7);
    CU_ASSERT(e_sig <= 4e-7);
    CU_ASSERT(e_tanh_rel <= 4e-7);
    CU_ASSERT(e_tanh_abs <= 2e-7);
    /* saturation: no inf/NaN from finite inputs, exact limits */
    CU_ASSERT(advml_rnn_sigmoidf(-200.0f) >= 0.0f && advml_rnn_sigmoidf(-200.0f) < 1e-37f);
    CU_ASSERT(advml_rnn_sigmoidf(200.0f) == 1.0f);
    CU_ASSERT(advml_rnn_tanhf(200.0f) == 1.0f && advml_rnn_tanhf(-200.0f) == -1.0f);
    CU_ASSERT(advml_rnn_tanhf(0.0f) == 0.0f);
    CU_ASSERT(isfinite(advml_rnn_expf(1e30f)) && advml_rnn_expf(-1e30f) >= 0.0f);
    /* NaN propagates (the trainer's non-finite check must see it) */
    CU_ASSERT(isnan(advml_rnn_expf(NAN)) && isnan(advml_rnn_sigmoidf(NAN)) && isnan(advml_rnn_tanhf(NAN)));
}

/* The course's two RNN models build with the parameter counts of their
 * frameworks (one bias per unit: PyTorch's nn.RNN has two, 64 more). */
static void t_model_course(void)
{
    advml_error err = {0};
    advml_model m;
    /* Keras noisy sine: (1, 4) -> SimpleRNN 32 relu -> dense 8 relu -> dense 1: 1457 */
    advml_model_spec k = {.input = advml_shape2(1, 4), .loss = ADVML_LOSS_MSE};
    k.layers[k.nlayers] = advml_test_layer_spec(ADVML_LAYER_RNN, 32, 0);
    k.layers[k.nlayers++].act = ADVML_ACT_RELU;
    k.layers[k.nlayers] = advml_test_layer_spec(ADVML_LAYER_DENSE, 8, 0);
    k.layers[k.nlayers++].act = ADVML_ACT_RELU;
    k.layers[k.nlayers++] = advml_test_layer_spec(ADVML_LAYER_DENSE, 1, 0);
    CU_ASSERT_EQUAL_FATAL(advml_model_build(&m, &k, 16, &err), ADVML_OK);
    CU_ASSERT_EQUAL(m.layers[0].nparams, 1184);
    CU_ASSERT_EQUAL(m.nparams, 1457);
    advml_model_free(&m);
    /* PyTorch sine: (20, 1) -> RNN 64 (last step) -> linear 1: 4224 + 65 */
    advml_model_spec p = {.input = advml_shape2(20, 1), .loss = ADVML_LOSS_MSE};
    p.layers[p.nlayers++] = advml_test_layer_spec(ADVML_LAYER_RNN, 64, 0);
    p.layers[p.nlayers++] = advml_test_layer_spec(ADVML_LAYER_DENSE, 1, 0);
    CU_ASSERT_EQUAL_FATAL(advml_model_build(&m, &p, 32, &err), ADVML_OK);
    CU_ASSERT_EQUAL(m.nparams, 4289);
    CU_ASSERT(m.out_shape.rank == 1 && m.out_shape.d[0] == 1);
    advml_model_free(&m);
    /* an image input is refused with the layer named */
    advml_model_spec bad = p;
    bad.input = advml_shape3(1, 28, 28);
    CU_ASSERT(advml_model_build(&m, &bad, 4, &err) == ADVML_ERR_SHAPE);
    CU_ASSERT(strstr(err.msg, "layer 0 (rnn)") != NULL);
}

static const advml_test_case rnn_extra[] = {{"hand-computed 2-step example", t_hand_example},
                                             {"inline exp/sigmoid/tanh vs libm", t_inline_math},
                                             {"course models build", t_model_course},
                                             {NULL, NULL}};

/* ---- the table ------------------------------------------------------------------------ */

#define FLOATS(n) ((size_t)(n) * sizeof(float))

static const cell cells[] = {
    {.name = "rnn", .class_name = "SimpleRNN", .kind = &advml_rnn_kind, .type = ADVML_LAYER_RNN, .gates = 1, .nbias = 1,
     .bias_range = 0.3f, .view = {"U", "W", "b"},
     .state_floats = advml_rnn_state_floats, .scratch_floats = advml_rnn_scratch_floats,
     .forward = rnn_fwd, .backward = rnn_bwd, .step = rnn_step,
     .pytorch = {{ADVML_ACT_TANH, 1,
                  {0.59675424f, -0.25181379f, 0.60585926f, 0.45203651f, 0.06400644f, 0.07324941f,
                   -0.44018883f, 0.70099425f, -0.57340374f, 0.31124199f, -0.55293499f, 0.37861562f,
                   0.11364074f, -0.26956131f, -0.24773260f, -0.42881141f, 0.70257053f, -0.56888227f,
                   0.32089187f, -0.55672618f, 0.38672339f, 0.44591357f, 0.09278518f, 0.04516906f}},
                 {ADVML_ACT_RELU, 1,
                  {0.68809103f, 0.00000000f, 0.70235309f, 0.44467966f, 0.03160919f, 0.05357600f,
                   0.00000000f, 0.87575501f, 0.00000000f, 0.35954676f, 0.00000000f, 0.39077333f,
                   0.11413376f, 0.00000000f, 0.00000000f, 0.00000000f, 0.78847757f, 0.00000000f,
                   0.38891370f, 0.00000000f, 0.40728011f, 0.36239114f, 0.00950224f, 0.00195105f}}},
     .acts = {ADVML_ACT_TANH, ADVML_ACT_RELU}, .nacts = 2, .ref_seed = 100,
     .grad = {{3, 5, 3, 4, 7}, {2, 4, 3, 3, 7}}, .longseq = {1, 12, 2, 3, 42}, .accum = {3, 5, 3, 4, 11},
     .batch = {4, 5, 2, 3, 5}, .ops = {3, 0, 0, 4, 77}, .ops_max_batch = 6, .init = {4, 7, 5, 16, 3},
     .setup = {/* PyTorch nn.RNN(1, 64): 4224 - 64 (one bias) */
               {0, 64, 0, 1, ADVML_ACT_TANH, 20, 1, 32, 4224, FLOATS(20 * 64), (size_t)20 * 32 * 64},
               /* the course's Keras noisy sine: 1 step of 4 features, SimpleRNN 32, sequences */
               {0, 32, 1, 0, ADVML_ACT_RELU, 1, 4, 16, 32 * 4 + 32 * 32 + 32, 0, 0}},
     .nsetup = 2,
     .errors = {{2, 8, 0, ADVML_ACT_TANH, {3, {1, 28, 28}}, 8, ADVML_ERR_SHAPE, {"layer 2 (rnn)", "(None, 1, 28, 28)"}},
                {2, 8, 0, ADVML_ACT_TANH, {1, {10, 0, 0}}, 8, ADVML_ERR_SHAPE, {"layer 2 (rnn)", "sequence (T, F)"}},
                {3, 0, 0, ADVML_ACT_TANH, {2, {5, 2, 0}}, 8, ADVML_ERR_SHAPE,
                 {"layer 3 (rnn)", "units must be > 0, got 0"}},
                {1, 4, 3, ADVML_ACT_TANH, {2, {5, 2, 0}}, 8, ADVML_ERR_SHAPE,
                 {"layer 1 (rnn)", "declared 3 input features"}},
                {1, 4, 0, ADVML_ACT_SIGMOID, {2, {5, 2, 0}}, 8, ADVML_ERR_CONFIG,
                 {"layer 1 (rnn)", "\"tanh\" or \"relu\""}}},
     .nerrors = 5,
     .nstack = 0,
     .model = {{ADVML_LAYER_RNN, 4, 1, 0}, {ADVML_LAYER_RNN, 3, 0, 0}, {ADVML_LAYER_DENSE, 2, 0, 0}},
     .model_T = 5, .model_F = 3, .model_seed = 5, .model_label = "model rnn->rnn->dense",
     .extra = rnn_extra},
    {.name = "lstm", .class_name = "LSTM", .kind = &advml_lstm_kind, .type = ADVML_LAYER_LSTM, .gates = 4, .nbias = 1, .has_c0 = 1,
     .bias_range = 0.5f, .forget_bias = 1, .view = {"weight_ih", "weight_hh", "bias"},
     .state_floats = advml_lstm_state_floats, .scratch_floats = advml_lstm_scratch_floats,
     .forward = lstm_fwd, .backward = lstm_bwd, .step = lstm_step,
     .pytorch = {{ADVML_ACT_TANH, 1,
                  {0.20199585f, 0.08081896f, 0.14410996f, 0.09905252f, 0.09007554f, -0.00573507f,
                   -0.03861430f, 0.17944055f, -0.09274696f, 0.13138202f, 0.10813389f, 0.09623020f,
                   -0.16058555f, 0.00147525f, -0.22084519f, -0.19732364f, 0.15736263f, -0.20695794f,
                   0.09969591f, 0.08437981f, 0.06674944f, 0.00183676f, 0.09500943f, -0.08318192f}},
                 {ADVML_ACT_TANH, 0,
                  {0.12603228f, -0.08356620f, 0.10467116f, 0.01863160f, 0.04066977f, -0.06102169f,
                   -0.09176601f, 0.16472413f, -0.12554915f, 0.12034535f, 0.09199627f, 0.08759229f,
                   -0.07259327f, 0.07116475f, -0.13547495f, -0.14489997f, 0.17856932f, -0.16416093f,
                   0.11153415f, 0.10650614f, 0.07979740f, 0.01236467f, 0.10110187f, -0.07134419f}}},
     .acts = {ADVML_ACT_TANH}, .nacts = 1, .ref_seed = 200,
     .grad = {{2, 5, 3, 3, 17}}, .longseq = {1, 10, 2, 3, 23}, .accum = {2, 5, 3, 3, 31},
     .batch = {4, 5, 2, 3, 8}, .ops = {2, 0, 0, 3, 55}, .ops_max_batch = 4, .init = {2, 4, 3, 8, 9},
     .setup = {/* Keras LSTM(64) on 2 features: 4 * (64 * (2 + 64) + 64) = 17152 */
               {1, 64, 1, 2, ADVML_ACT_TANH, 20, 2, 32, 17152, FLOATS(20 * 64 * 7), (size_t)20 * 32 * 4 * 64}},
     .nsetup = 1,
     .errors = {{4, 8, 0, ADVML_ACT_RELU, {2, {5, 2, 0}}, 8, ADVML_ERR_CONFIG,
                 {"layer 4 (lstm)", "\"relu\"", "use \"tanh\""}},
                {4, 8, 0, ADVML_ACT_TANH, {3, {3, 8, 8}}, 8, ADVML_ERR_SHAPE, {"layer 4 (lstm)", "(None, 3, 8, 8)"}},
                {4, -1, 0, ADVML_ACT_TANH, {2, {5, 2, 0}}, 8, ADVML_ERR_SHAPE,
                 {"layer 4 (lstm): units must be > 0, got -1"}},
                {4, 8, 1, ADVML_ACT_TANH, {2, {5, 2, 0}}, 8, ADVML_ERR_SHAPE,
                 {"declared 1 input features", "(5, 2)"}}},
     .nerrors = 4,
     .stack = {{ADVML_LAYER_RNN, 3, 1, 0}, {ADVML_LAYER_LSTM, 4, 0, 0}}, .nstack = 2, .stack_seed = 99,
     .model = {{ADVML_LAYER_LSTM, 3, 1, 0}, {ADVML_LAYER_LSTM, 3, 0, 0}, {ADVML_LAYER_DENSE, 2, 0, 0}},
     .model_T = 4, .model_F = 2, .model_seed = 6, .model_label = "model lstm->lstm->dense"},
    {.name = "gru", .class_name = "GRU", .kind = &advml_gru_kind, .type = ADVML_LAYER_GRU, .gates = 3, .nbias = 2,
     .bias_range = 0.5f, .view = {"weight_ih", "weight_hh", "bias_ih", "bias_hh"},
     .state_floats = advml_gru_state_floats, .scratch_floats = advml_gru_scratch_floats,
     .forward = gru_fwd, .backward = gru_bwd, .step = gru_step,
     .pytorch = {{ADVML_ACT_TANH, 1,
                  {0.56426378f, -0.02804134f, 0.06927829f, 0.19269344f, 0.18800575f, -0.14504801f,
                   -0.04299997f, 0.47266655f, -0.24695849f, 0.36160673f, 0.16874641f, 0.19320462f,
                   -0.33664453f, 0.31547793f, 0.04976187f, -0.41525006f, 0.51132613f, -0.12405641f,
                   0.24209251f, 0.16215281f, 0.25944639f, -0.01634801f, 0.29474233f, -0.04461020f}},
                 {ADVML_ACT_TANH, 0,
                  {0.33525784f, -0.16187418f, 0.25217126f, 0.02738264f, 0.11880272f, -0.06879156f,
                   -0.16718373f, 0.44407192f, -0.20151119f, 0.31604480f, 0.13873409f, 0.21513322f,
                   -0.12733287f, 0.21944535f, -0.18542937f, -0.26620952f, 0.48590241f, -0.27362757f,
                   0.29074177f, 0.16769762f, 0.19411055f, 0.01876152f, 0.29981551f, -0.07517056f}}},
     .acts = {ADVML_ACT_TANH}, .nacts = 1, .ref_seed = 300,
     .grad = {{2, 5, 3, 3, 27}}, .longseq = {1, 10, 2, 3, 29}, .accum = {2, 5, 3, 3, 41},
     .batch = {4, 5, 2, 3, 8}, .ops = {2, 0, 0, 3, 65}, .ops_max_batch = 4, .init = {2, 4, 2, 6, 10},
     .setup = {/* PyTorch nn.GRU(1, 64): 3*64*1 + 3*64*64 + 2*3*64 = 12864 */
               {2, 64, 0, 0, ADVML_ACT_TANH, 20, 1, 32, 12864, FLOATS(20 * 64 * 5), (size_t)20 * 32 * 6 * 64}},
     .nsetup = 1,
     .errors = {{5, 8, 0, ADVML_ACT_SIGMOID, {2, {5, 2, 0}}, 8, ADVML_ERR_CONFIG, {"layer 5 (gru)", "\"sigmoid\""}},
                {5, 8, 0, ADVML_ACT_TANH, {1, {64, 0, 0}}, 8, ADVML_ERR_SHAPE, {"layer 5 (gru)", "(None, 64)"}},
                {5, 8, 4, ADVML_ACT_TANH, {2, {5, 2, 0}}, 8, ADVML_ERR_SHAPE,
                 {"layer 5 (gru)", "declared 4 input features"}},
                {5, 8, 2, ADVML_ACT_TANH, {2, {5, 2, 0}}, 8, ADVML_OK, {NULL}}, /* a matching declaration */
                /* a window too long for int GEMM sizes is refused, not overflowed */
                {5, 8, 2, ADVML_ACT_TANH, {2, {1 << 20, 2, 0}}, 1 << 12, ADVML_ERR_SHAPE, {"too large"}}},
     .nerrors = 5,
     .stack = {{ADVML_LAYER_GRU, 3, 1, 0}, {ADVML_LAYER_GRU, 4, 1, 0}, {ADVML_LAYER_RNN, 2, 0, 0}}, .nstack = 3,
     .stack_seed = 123,
     .model = {{ADVML_LAYER_GRU, 3, 1, 0}, {ADVML_LAYER_FLATTEN, 0, 0, 0}, {ADVML_LAYER_DENSE, 2, 0, ADVML_ACT_SIGMOID}},
     .model_T = 4, .model_F = 2, .model_seed = 7, .model_label = "model gru->flatten->dense"},
};

static int use_rnn(void) { K = &cells[0]; return 0; }
static int use_lstm(void) { K = &cells[1]; return 0; }
static int use_gru(void) { K = &cells[2]; return 0; }

static void add(CU_pSuite s, const char *name, CU_TestFunc fn)
{
    if (!CU_add_test(s, name, fn)) {
        fprintf(stderr, "CUnit: cannot add test %s\n", name);
        exit(2);
    }
}

static void reg(void)
{
    static const advml_test_case common[] = {
        {"forward = double-precision reference", t_forward_reference},
        {"forward = PyTorch", t_matches_pytorch},
        {"gradcheck (x, initial states, every view; both return modes; each activation)", t_gradcheck},
        {"gradcheck long sequence", t_gradcheck_long},
        {"backward accumulates", t_accumulates},
        {"batch rows independent", t_batch_independent},
        {"kind setup: shapes and views", t_kind_setup},
        {"kind setup: error messages", t_kind_errors},
        {"kind init: Glorot, orthogonal blocks, biases", t_kind_init},
        {"kind forward/backward = ops", t_kind_matches_ops},
        {"kind table", t_table},
        {"stack gradcheck", t_stack_gradcheck},
        {"model gradcheck", t_model_gradcheck},
        {NULL, NULL}};
    int (*const init[])(void) = {use_rnn, use_lstm, use_gru};
    for (size_t i = 0; i < sizeof cells / sizeof cells[0]; i++) {
        CU_pSuite s = CU_add_suite(cells[i].name, init[i], NULL);
        if (!s) {
            fprintf(stderr, "CUnit: cannot add suite %s\n", cells[i].name);
            exit(2);
        }
        for (const advml_test_case *c = common; c->name; c++)
            if (c->fn != t_stack_gradcheck || cells[i].nstack)
                add(s, c->name, c->fn);
        for (const advml_test_case *c = cells[i].extra; c && c->name; c++)
            add(s, c->name, c->fn);
    }
}

int main(void) { return advml_test_main(reg); }

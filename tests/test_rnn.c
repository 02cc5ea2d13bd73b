/* test_rnn.c - simple (Elman) RNN: a hand-computed 2-step example, forward
 * against a double-precision reference, central finite-difference gradient
 * checks (input, initial state, U, W, b; tanh and relu; both return modes),
 * accumulation, and the "rnn" layer kind (setup, init, forward/backward =
 * the ops, error messages). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "advml/rnn.h"
#include "advml/model.h"
#include "testutil.h"

/* ---- hand-computed example ------------------------------------------------------
 * F = 1, H = 2, N = 1, T = 2, h_0 = 0, tanh:
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
    advml_rnn_backward(dx, dh0, dU, dW, db, scratch, dout, state, x, NULL, U, W, ADVML_ACT_TANH,
                       &d);
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
        fprintf(stderr, "  inline math: exp %.3g sigmoid %.3g tanh rel %.3g abs %.3g\n", e_exp,
                e_sig, e_tanh_rel, e_tanh_abs);
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
    CU_ASSERT(isnan(advml_rnn_expf(NAN)) && isnan(advml_rnn_sigmoidf(NAN)) &&
              isnan(advml_rnn_tanhf(NAN)));
}

/* ---- a random problem and its double-precision reference --------------------- */

typedef struct rnn_case {
    advml_seq_dims d;
    advml_act act;
    int use_h0;
    float *x, *h0, *U, *W, *b; /* (N,T,F) (N,H) (H,F) (H,H) (H) */
    float *wout;               /* loss weights, shape of out */
    float *out, *state, *scratch;
    size_t nout;
} rnn_case;

static void rnn_case_make(rnn_case *c, int N, int T, int F, int H, int rs, advml_act act,
                          int use_h0, uint64_t seed)
{
    advml_seq_dims d = {N, T, F, H, rs};
    advml_rng rng;
    advml_rng_seed(&rng, seed);
    memset(c, 0, sizeof *c);
    c->d = d;
    c->act = act;
    c->use_h0 = use_h0;
    c->nout = (size_t)N * H * (rs ? T : 1);
    c->x = advml_test_falloc((size_t)N * T * F);
    c->h0 = advml_test_falloc((size_t)N * H);
    c->U = advml_test_falloc((size_t)H * F);
    c->W = advml_test_falloc((size_t)H * H);
    c->b = advml_test_falloc((size_t)H);
    c->wout = advml_test_falloc(c->nout);
    c->out = advml_test_falloc(c->nout);
    c->state = advml_test_falloc(advml_rnn_state_floats(&d));
    c->scratch = advml_test_falloc(advml_rnn_scratch_floats(&d));
    advml_test_fill_uniform(c->x, (size_t)N * T * F, -1.0f, 1.0f, &rng);
    advml_test_fill_uniform(c->h0, (size_t)N * H, -0.8f, 0.8f, &rng);
    advml_test_fill_uniform(c->U, (size_t)H * F, -0.8f, 0.8f, &rng);
    advml_test_fill_uniform(c->W, (size_t)H * H, -0.6f, 0.6f, &rng);
    advml_test_fill_uniform(c->b, (size_t)H, -0.3f, 0.3f, &rng);
    advml_test_fill_uniform(c->wout, c->nout, -1.0f, 1.0f, &rng);
}

static void rnn_case_free(rnn_case *c)
{
    free(c->x); free(c->h0); free(c->U); free(c->W); free(c->b);
    free(c->wout); free(c->out); free(c->state); free(c->scratch);
}

/* The equations, step by step in double: ref (shape of out); returns the
 * smallest |a_t| met (distance of the pre-activations from relu's kink). */
static double rnn_reference(double *ref, const rnn_case *c)
{
    const int N = c->d.N, T = c->d.T, F = c->d.F, H = c->d.H;
    double h[64], a[64], min_a = INFINITY;
    CU_ASSERT_FATAL(H <= 64);
    for (int n = 0; n < N; n++) {
        for (int j = 0; j < H; j++)
            h[j] = c->use_h0 ? c->h0[n * H + j] : 0.0;
        for (int t = 0; t < T; t++) {
            const float *xt = c->x + ((size_t)n * T + t) * F;
            for (int i = 0; i < H; i++) { /* a_t = U x_t + W h_{t-1} + b */
                double s = c->b[i];
                for (int f = 0; f < F; f++)
                    s += (double)c->U[i * F + f] * xt[f];
                for (int j = 0; j < H; j++)
                    s += (double)c->W[i * H + j] * h[j];
                a[i] = s;
                if (fabs(s) < min_a)
                    min_a = fabs(s);
            }
            for (int i = 0; i < H; i++)
                h[i] = c->act == ADVML_ACT_RELU ? (a[i] > 0 ? a[i] : 0.0) : tanh(a[i]);
            if (c->d.return_sequences)
                for (int i = 0; i < H; i++)
                    ref[((size_t)n * T + t) * H + i] = h[i];
        }
        if (!c->d.return_sequences)
            for (int i = 0; i < H; i++)
                ref[(size_t)n * H + i] = h[i];
    }
    return min_a;
}

/* L = sum(wout * out) in double over a float forward. */
static double rnn_loss(void *p)
{
    rnn_case *c = p;
    advml_rnn_forward(c->out, c->state, c->scratch, c->x, c->use_h0 ? c->h0 : NULL, c->U, c->W,
                      c->b, c->act, &c->d);
    double s = 0.0;
    for (size_t k = 0; k < c->nout; k++)
        s += (double)c->wout[k] * c->out[k];
    return s;
}

static void forward_matches_reference(rnn_case *c)
{
    double *ref = calloc(c->nout, sizeof(double));
    CU_ASSERT_FATAL(ref != NULL);
    rnn_reference(ref, c);
    rnn_loss(c);
    double m = 0.0;
    for (size_t k = 0; k < c->nout; k++)
        m = fmax(m, fabs(c->out[k] - ref[k]));
    if (m > 1e-5)
        fprintf(stderr, "  forward vs reference: max diff %.3g\n", m);
    CU_ASSERT(m <= 1e-5);
    free(ref);
}

static void t_forward_reference(void)
{
    for (int rs = 0; rs <= 1; rs++)
        for (int h0 = 0; h0 <= 1; h0++)
            for (int relu = 0; relu <= 1; relu++) {
                rnn_case c;
                rnn_case_make(&c, 3, 6, 2, 5, rs, relu ? ADVML_ACT_RELU : ADVML_ACT_TANH, h0,
                              100 + rs * 4 + h0 * 2 + relu);
                forward_matches_reference(&c);
                rnn_case_free(&c);
            }
}

/* Values from PyTorch 1.13 nn.RNN(3, 3, batch_first=True, nonlinearity=...)
 * in float64 with weight_ih_l0[k] = 0.4 sin(1 + k), weight_hh_l0[k] =
 * 0.3 cos(0.5 + 2k), bias_ih_l0[k] = 0.2 sin(3k), bias_hh_l0[k] = 0.1 cos(k)
 * (flat index k, each value rounded to float), x[k] = sin(0.7k + 0.3)
 * (N=2, T=4, F=3), h0[k] = 0.5 cos(1.3k); output = every h_t. Confirms
 * U = weight_ih_l0, W = weight_hh_l0, b = bias_ih_l0 + bias_hh_l0. */
static void t_matches_pytorch(void)
{
    static const float tanh_ref[24] = {
        0.59675424f, -0.25181379f, 0.60585926f, 0.45203651f, 0.06400644f, 0.07324941f,
        -0.44018883f, 0.70099425f, -0.57340374f, 0.31124199f, -0.55293499f, 0.37861562f,
        0.11364074f, -0.26956131f, -0.24773260f, -0.42881141f, 0.70257053f, -0.56888227f,
        0.32089187f, -0.55672618f, 0.38672339f, 0.44591357f, 0.09278518f, 0.04516906f};
    static const float relu_ref[24] = {
        0.68809103f, 0.00000000f, 0.70235309f, 0.44467966f, 0.03160919f, 0.05357600f,
        0.00000000f, 0.87575501f, 0.00000000f, 0.35954676f, 0.00000000f, 0.39077333f,
        0.11413376f, 0.00000000f, 0.00000000f, 0.00000000f, 0.78847757f, 0.00000000f,
        0.38891370f, 0.00000000f, 0.40728011f, 0.36239114f, 0.00950224f, 0.00195105f};
    float x[24], h0[6], U[9], W[9], b[3], out[24], state[24], scratch[256];
    for (int k = 0; k < 24; k++)
        x[k] = (float)sin(0.7 * k + 0.3);
    for (int k = 0; k < 6; k++)
        h0[k] = (float)(0.5 * cos(1.3 * k));
    for (int k = 0; k < 9; k++) {
        U[k] = (float)(0.4 * sin(1.0 + k));
        W[k] = (float)(0.3 * cos(0.5 + 2 * k));
    }
    for (int k = 0; k < 3; k++)
        b[k] = (float)(0.2 * sin(3.0 * k)) + (float)(0.1 * cos((double)k));
    advml_seq_dims d = {2, 4, 3, 3, 1};
    CU_ASSERT_FATAL(advml_rnn_scratch_floats(&d) <= 256 && advml_rnn_state_floats(&d) <= 24);
    advml_rnn_forward(out, state, scratch, x, h0, U, W, b, ADVML_ACT_TANH, &d);
    CU_ASSERT(advml_max_abs_diff(out, tanh_ref, 24) < 2e-6);
    advml_rnn_forward(out, state, scratch, x, h0, U, W, b, ADVML_ACT_RELU, &d);
    CU_ASSERT(advml_max_abs_diff(out, relu_ref, 24) < 2e-6);
}

/* Gradient step h and tolerance (see the comment in gradcheck_case). */
#define GC_H 1e-2
#define GC_FLOOR 1e-2
#define GC_TOL 5e-3

/* Checks dL/d(x, h0, U, W, b) of L = sum(wout * out) against central
 * differences. The forward is float32 and L sums O(N*T*H) terms of O(1), so
 * L carries ~1e-7 relative rounding noise (~2e-7 absolute per evaluation);
 * with h = 1e-2 that is ~2e-5 in a difference quotient, of the size of the
 * O(h^2 f''') truncation error. Errors are taken relative to
 * max(|num|, |ana|, 1e-2) (absolute below gradients of 1e-2) and must stay
 * below 5e-3; the worst observed is 2e-3 (an x entry with gradient 6e-4,
 * absolute error 2e-5). A wrong term in backward (a missing step, the h0
 * term of dW, a transposed W) gives errors of order 1e-1 to 1. For relu the
 * problem is drawn so that no pre-activation lies within 0.1 of the kink,
 * more than a step of 1e-2 in any one parameter or input moves it. */
static void gradcheck_case(rnn_case *c, const char *label)
{
    const advml_seq_dims *d = &c->d;
    const size_t nx = (size_t)d->N * d->T * d->F, nh = (size_t)d->N * d->H;
    float *dx = advml_test_falloc(nx), *dh0 = advml_test_falloc(nh), *dU = advml_test_falloc((size_t)d->H * d->F);
    float *dW = advml_test_falloc((size_t)d->H * d->H), *db = advml_test_falloc((size_t)d->H);
    rnn_loss(c);
    advml_rnn_backward(dx, c->use_h0 ? dh0 : NULL, dU, dW, db, c->scratch, c->wout, c->state, c->x,
                       c->use_h0 ? c->h0 : NULL, c->U, c->W, c->act, d);
    char what[96];
    struct { const char *name; float *p, *g; size_t n; } v[] = {
        {"x", c->x, dx, nx}, {"h0", c->h0, dh0, nh}, {"U", c->U, dU, (size_t)d->H * d->F},
        {"W", c->W, dW, (size_t)d->H * d->H}, {"b", c->b, db, (size_t)d->H}};
    for (int i = 0; i < 5; i++) {
        if (!c->use_h0 && i == 1)
            continue;
        snprintf(what, sizeof what, "%s d%s", label, v[i].name);
        double e = advml_gradcheck(what, v[i].p, v[i].g, v[i].n, rnn_loss, c, GC_H, GC_FLOOR,
                                   GC_TOL, NULL);
        CU_ASSERT(e <= GC_TOL);
    }
    free(dx); free(dh0); free(dU); free(dW); free(db);
}

/* Both return modes, with and without h0. tanh: N=3, T=5, F=3, H=4. relu:
 * N=2, T=4, F=3, H=3 (24 pre-activations), redrawn (deterministically,
 * ~20 draws) until every pre-activation is at least 0.1 from the kink. */
static void run_gradchecks(advml_act act)
{
    const int relu = act == ADVML_ACT_RELU;
    for (int rs = 0; rs <= 1; rs++)
        for (int h0 = 0; h0 <= 1; h0++) {
            rnn_case c;
            char label[64];
            uint64_t seed = 7 + 2 * rs + h0;
            for (int tries = 0;; tries++) {
                rnn_case_make(&c, relu ? 2 : 3, relu ? 4 : 5, 3, relu ? 3 : 4, rs, act, h0, seed);
                double ref[64];
                CU_ASSERT_FATAL(c.nout <= 64);
                if (!relu || rnn_reference(ref, &c) >= 0.1)
                    break;
                rnn_case_free(&c);
                seed += 1000;
                if (tries >= 10000)
                    CU_FAIL_FATAL("no relu problem with every |a| >= 0.1 found");
            }
            snprintf(label, sizeof label, "rnn %s rs=%d h0=%d", advml_act_name(act), rs, h0);
            gradcheck_case(&c, label);
            rnn_case_free(&c);
        }
}

static void t_gradcheck_tanh(void) { run_gradchecks(ADVML_ACT_TANH); }
static void t_gradcheck_relu(void) { run_gradchecks(ADVML_ACT_RELU); }

/* A long sequence (T = 12) with a single sample: the gradient reaches the
 * first inputs through 11 recurrent steps. */
static void t_gradcheck_long(void)
{
    rnn_case c;
    rnn_case_make(&c, 1, 12, 2, 3, 0, ADVML_ACT_TANH, 1, 42);
    gradcheck_case(&c, "rnn T=12");
    rnn_case_free(&c);
}

/* Backward accumulates: twice from one forward gives twice the gradients,
 * and values already in the buffers are kept. */
static void t_accumulates(void)
{
    rnn_case c;
    rnn_case_make(&c, 3, 5, 3, 4, 1, ADVML_ACT_TANH, 1, 11);
    const advml_seq_dims *d = &c.d;
    const size_t nx = (size_t)d->N * d->T * d->F, nh = (size_t)d->N * d->H;
    const size_t nU = (size_t)d->H * d->F, nW = (size_t)d->H * d->H, nb = (size_t)d->H;
    float *g1[5] = {advml_test_falloc(nx), advml_test_falloc(nh), advml_test_falloc(nU), advml_test_falloc(nW), advml_test_falloc(nb)};
    float *g2[5] = {advml_test_falloc(nx), advml_test_falloc(nh), advml_test_falloc(nU), advml_test_falloc(nW), advml_test_falloc(nb)};
    const size_t n[5] = {nx, nh, nU, nW, nb};
    rnn_loss(&c);
    advml_rnn_backward(g1[0], g1[1], g1[2], g1[3], g1[4], c.scratch, c.wout, c.state, c.x, c.h0,
                       c.U, c.W, c.act, d);
    for (int rep = 0; rep < 2; rep++)
        advml_rnn_backward(g2[0], g2[1], g2[2], g2[3], g2[4], c.scratch, c.wout, c.state, c.x,
                           c.h0, c.U, c.W, c.act, d);
    for (int i = 0; i < 5; i++) {
        double worst = 0.0, gmax = 0.0;
        for (size_t k = 0; k < n[i]; k++) {
            worst = fmax(worst, fabs(g2[i][k] - 2.0 * g1[i][k]));
            gmax = fmax(gmax, fabs(g1[i][k]));
        }
        CU_ASSERT(gmax > 0.0);
        CU_ASSERT(worst <= 1e-6 * (1.0 + gmax));
    }
    for (int i = 0; i < 5; i++) {
        free(g1[i]);
        free(g2[i]);
    }
    rnn_case_free(&c);
}

/* The batch is independent per sample: a batch of 4 gives what each sample
 * gives alone (catches mixing of the time-major rows). */
static void t_batch_independent(void)
{
    rnn_case c;
    rnn_case_make(&c, 4, 5, 2, 3, 1, ADVML_ACT_TANH, 1, 5);
    rnn_loss(&c);
    const advml_seq_dims d1 = {1, c.d.T, c.d.F, c.d.H, 1};
    float one[15], st[15], sc[256];
    CU_ASSERT_FATAL(advml_rnn_scratch_floats(&d1) <= 256);
    for (int n = 0; n < 4; n++) {
        advml_rnn_forward(one, st, sc, c.x + (size_t)n * 5 * 2, c.h0 + n * 3, c.U, c.W, c.b,
                          c.act, &d1);
        CU_ASSERT(advml_max_abs_diff(one, c.out + (size_t)n * 15, 15) == 0.0);
    }
    rnn_case_free(&c);
}

/* ---- the layer kind ------------------------------------------------------------ */

static advml_layer make_layer(int index, int units, advml_act act, int rs, int in_channels)
{
    advml_layer L;
    memset(&L, 0, sizeof L);
    L.spec.type = ADVML_LAYER_RNN;
    L.spec.units = units;
    L.spec.act = act;
    L.spec.return_sequences = rs;
    L.spec.in_channels = in_channels;
    L.kind = &advml_rnn_kind;
    L.index = index;
    return L;
}

static void t_kind_setup(void)
{
    CU_ASSERT_STRING_EQUAL(advml_rnn_kind.name, "rnn");
    CU_ASSERT_STRING_EQUAL(advml_rnn_kind.class_name, "SimpleRNN");
    CU_ASSERT_EQUAL(advml_rnn_kind.post_act, 0);
    advml_error err;
    advml_layer L = make_layer(0, 64, ADVML_ACT_TANH, 0, 1);
    CU_ASSERT_EQUAL_FATAL(advml_rnn_kind.setup(&L, advml_shape2(20, 1), 32, &err), ADVML_OK);
    CU_ASSERT(advml_shape_equal(&L.out_shape, &(advml_shape){1, {64, 0, 0}}));
    CU_ASSERT_EQUAL(L.nparams, 64 * 1 + 64 * 64 + 64); /* PyTorch nn.RNN(1, 64): 4224 - 64 (one bias) */
    CU_ASSERT_EQUAL(L.nviews, 3);
    CU_ASSERT_STRING_EQUAL(L.views[0].name, "U");
    CU_ASSERT_STRING_EQUAL(L.views[1].name, "W");
    CU_ASSERT_STRING_EQUAL(L.views[2].name, "b");
    CU_ASSERT(L.views[0].rank == 2 && L.views[0].dims[0] == 64 && L.views[0].dims[1] == 1);
    CU_ASSERT(L.views[1].rank == 2 && L.views[1].dims[0] == 64 && L.views[1].dims[1] == 64);
    CU_ASSERT(L.views[2].rank == 1 && L.views[2].dims[0] == 64);
    CU_ASSERT(L.views[0].offset == 0 && L.views[1].offset == 64 && L.views[2].offset == 64 + 4096);
    CU_ASSERT(L.views[0].decay == 1 && L.views[1].decay == 1 && L.views[2].decay == 0);
    CU_ASSERT_EQUAL(L.state_per_sample, 20 * 64 * sizeof(float));
    CU_ASSERT(L.scratch_floats >= (size_t)20 * 32 * 64);

    /* the course's Keras noisy sine: 1 step of 4 features, SimpleRNN 32, sequences */
    advml_layer K = make_layer(0, 32, ADVML_ACT_RELU, 1, 0);
    CU_ASSERT_EQUAL_FATAL(advml_rnn_kind.setup(&K, advml_shape2(1, 4), 16, &err), ADVML_OK);
    CU_ASSERT(K.out_shape.rank == 2 && K.out_shape.d[0] == 1 && K.out_shape.d[1] == 32);
    CU_ASSERT_EQUAL(K.nparams, 32 * 4 + 32 * 32 + 32); /* Keras: 1184 */
}

static void expect_error(advml_layer *L, advml_shape in, const char *needle1, const char *needle2)
{
    advml_error err;
    advml_error_clear(&err);
    advml_status st = advml_rnn_kind.setup(L, in, 8, &err);
    CU_ASSERT(st != ADVML_OK);
    CU_ASSERT(err.code == st);
    int ok = strstr(err.msg, needle1) && strstr(err.msg, needle2);
    if (!ok)
        fprintf(stderr, "  unexpected message: %s\n", err.msg);
    CU_ASSERT(ok);
}

static void t_kind_errors(void)
{
    advml_layer L = make_layer(2, 8, ADVML_ACT_TANH, 0, 0);
    expect_error(&L, advml_shape3(1, 28, 28), "layer 2 (rnn)", "(None, 1, 28, 28)");
    expect_error(&L, advml_shape1(10), "layer 2 (rnn)", "sequence (T, F)");
    L = make_layer(3, 0, ADVML_ACT_TANH, 0, 0);
    expect_error(&L, advml_shape2(5, 2), "layer 3 (rnn)", "units must be > 0, got 0");
    L = make_layer(1, 4, ADVML_ACT_TANH, 0, 3);
    expect_error(&L, advml_shape2(5, 2), "layer 1 (rnn)", "declared 3 input features");
    L = make_layer(1, 4, ADVML_ACT_SIGMOID, 0, 0);
    expect_error(&L, advml_shape2(5, 2), "layer 1 (rnn)", "\"tanh\" or \"relu\"");
}

static void t_kind_init(void)
{
    advml_error err;
    advml_layer L = make_layer(0, 16, ADVML_ACT_TANH, 0, 0);
    CU_ASSERT_EQUAL_FATAL(advml_rnn_kind.setup(&L, advml_shape2(7, 5), 4, &err), ADVML_OK);
    float *p = advml_test_falloc(L.nparams), *q = advml_test_falloc(L.nparams);
    advml_rng r1, r2;
    advml_rng_seed(&r1, 3);
    advml_rng_seed(&r2, 3);
    for (size_t k = 0; k < L.nparams; k++)
        p[k] = q[k] = 99.0f;
    advml_rnn_kind.init(&L, p, &r1);
    advml_rnn_kind.init(&L, q, &r2);
    CU_ASSERT(memcmp(p, q, L.nparams * sizeof(float)) == 0); /* same seed, same parameters */
    const float *U = p + L.views[0].offset, *W = p + L.views[1].offset, *b = p + L.views[2].offset;
    const double lim = sqrt(6.0 / (5 + 16)); /* Glorot-uniform U(+-sqrt(6/(F+H))) */
    double umax = 0.0;
    for (size_t k = 0; k < L.views[0].size; k++)
        umax = fmax(umax, fabs(U[k]));
    CU_ASSERT(umax <= lim && umax > 0.5 * lim);
    double worst = 0.0; /* W W^T = I */
    for (int i = 0; i < 16; i++)
        for (int j = 0; j < 16; j++) {
            double s = 0.0;
            for (int k = 0; k < 16; k++)
                s += (double)W[i * 16 + k] * W[j * 16 + k];
            worst = fmax(worst, fabs(s - (i == j)));
        }
    CU_ASSERT(worst < 1e-5);
    for (int j = 0; j < 16; j++)
        CU_ASSERT(b[j] == 0.0f);
    free(p);
    free(q);
}

/* The kind's forward/backward are the ops with h0 = 0. */
static void t_kind_matches_ops(void)
{
    for (int rs = 0; rs <= 1; rs++) {
        advml_error err;
        advml_layer L = make_layer(0, 4, ADVML_ACT_RELU, rs, 0);
        CU_ASSERT_EQUAL_FATAL(advml_rnn_kind.setup(&L, advml_shape2(5, 3), 6, &err), ADVML_OK);
        rnn_case c;
        rnn_case_make(&c, 3, 5, 3, 4, rs, ADVML_ACT_RELU, 0, 77 + rs);
        float *params = advml_test_falloc(L.nparams), *dparams = advml_test_falloc(L.nparams);
        memcpy(params + L.views[0].offset, c.U, 12 * sizeof(float));
        memcpy(params + L.views[1].offset, c.W, 16 * sizeof(float));
        memcpy(params + L.views[2].offset, c.b, 4 * sizeof(float));
        float *z = advml_test_falloc(c.nout), *dinp = advml_test_falloc(45);
        float *scratch = advml_test_falloc(L.scratch_floats);
        L.state = calloc(6, L.state_per_sample);
        CU_ASSERT_FATAL(L.state != NULL);
        advml_ctx ctx = {3, 1, 0, 0, NULL, scratch};
        advml_rnn_kind.forward(&L, z, c.x, params, &ctx);
        rnn_loss(&c);
        CU_ASSERT(advml_max_abs_diff(z, c.out, c.nout) == 0.0);
        advml_rnn_kind.backward(&L, dinp, dparams, c.wout, c.x, params, &ctx);
        float dx[45] = {0}, dU[12] = {0}, dW[16] = {0}, db[4] = {0};
        advml_rnn_backward(dx, NULL, dU, dW, db, c.scratch, c.wout, c.state, c.x, NULL, c.U, c.W,
                           c.act, &c.d);
        CU_ASSERT(advml_max_abs_diff(dinp, dx, 45) == 0.0);
        CU_ASSERT(advml_max_abs_diff(dparams + L.views[0].offset, dU, 12) == 0.0);
        CU_ASSERT(advml_max_abs_diff(dparams + L.views[1].offset, dW, 16) == 0.0);
        CU_ASSERT(advml_max_abs_diff(dparams + L.views[2].offset, db, 4) == 0.0);
        /* no input gradient wanted (first layer): dinp NULL is fine */
        advml_rnn_kind.backward(&L, NULL, dparams, c.wout, c.x, params, &ctx);
        /* B = 0 is a no-op */
        advml_ctx ctx0 = {0, 1, 0, 0, NULL, scratch};
        advml_rnn_kind.forward(&L, z, c.x, params, &ctx0);
        advml_rnn_kind.backward(&L, dinp, dparams, c.wout, c.x, params, &ctx0);
        free(params); free(dparams); free(z); free(dinp); free(scratch); free(L.state);
        rnn_case_free(&c);
    }
}

/* ---- through the model (src/model.c) and the kind table ------------------------ */

static void t_table(void)
{
    advml_layer_type type = ADVML_LAYER_DENSE;
    CU_ASSERT(advml_layer_kind_of(ADVML_LAYER_RNN) == &advml_rnn_kind);
    CU_ASSERT(advml_layer_kind_by_name("rnn", &type) == &advml_rnn_kind);
    CU_ASSERT_EQUAL(type, ADVML_LAYER_RNN);
    CU_ASSERT(advml_layer_spec_default(ADVML_LAYER_RNN).act == ADVML_ACT_TANH);
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

/* rnn (sequences) -> rnn (last) -> dense 2, MSE, through advml_model. */
static void t_model_gradcheck(void)
{
    advml_model_spec s = {.input = advml_shape2(5, 3), .loss = ADVML_LOSS_MSE};
    s.layers[s.nlayers++] = advml_test_layer_spec(ADVML_LAYER_RNN, 4, 1);
    s.layers[s.nlayers++] = advml_test_layer_spec(ADVML_LAYER_RNN, 3, 0);
    s.layers[s.nlayers++] = advml_test_layer_spec(ADVML_LAYER_DENSE, 2, 0);
    advml_test_model_gradcheck(&s, 3, 5, "model rnn->rnn->dense", GC_H, GC_FLOOR, GC_TOL);
}

static void reg(void)
{
    static const advml_test_case c[] = {
        {"hand-computed 2-step example", t_hand_example},
        {"inline exp/sigmoid/tanh vs libm", t_inline_math},
        {"forward = double-precision reference", t_forward_reference},
        {"forward = PyTorch nn.RNN (tanh, relu)", t_matches_pytorch},
        {"gradcheck tanh (x, h0, U, W, b; both return modes)", t_gradcheck_tanh},
        {"gradcheck relu (x, h0, U, W, b; both return modes)", t_gradcheck_relu},
        {"gradcheck T=12", t_gradcheck_long},
        {"backward accumulates", t_accumulates},
        {"batch rows independent", t_batch_independent},
        {"kind setup: shapes and views", t_kind_setup},
        {"kind setup: error messages", t_kind_errors},
        {"kind init: Glorot U, orthogonal W, zero b", t_kind_init},
        {"kind forward/backward = ops", t_kind_matches_ops},
        {"kind table", t_table},
        {"course models build", t_model_course},
        {"model gradcheck rnn -> rnn -> dense", t_model_gradcheck},
        {NULL, NULL}};
    advml_test_add_suite("rnn", c);
}

int main(void) { return advml_test_main(reg); }

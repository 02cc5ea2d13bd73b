/* test_loss.c - losses: hand-worked values, finite-difference gradients,
 * stability for large logits, scale and accumulation in backward. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "testutil.h"
#include "advml/loss.h"

#define LN2 0.69314718055994530942
#define LN3 1.09861228866810969140

/* ---- hand-worked values ---------------------------------------------------- */

static void t_mse_values(void)
{
    const float pred[4] = {1, 2, 0, -1};   // (B=2, K=2)
    const float target[4] = {0, 2, 1, 1};
    /* sample 0: ((1-0)^2 + (2-2)^2) / 2 = 0.5; sample 1: ((0-1)^2 + (-1-1)^2) / 2 = 2.5 */
    ADVML_CHECK_CLOSE(advml_mse_forward(pred, target, 2, 2), 3.0, 1e-12);
    /* d/dp = scale * 2 (p - t) / K = 0.5 * (p - t) with scale 0.5, added to 1 */
    float d[4] = {1, 1, 1, 1};
    advml_mse_backward(d, pred, target, 2, 2, 0.5f);
    const float want[4] = {1.5f, 1.0f, 0.5f, 0.0f};
    for (int i = 0; i < 4; i++)
        ADVML_CHECK_CLOSE(d[i], want[i], 1e-7);
}

static void t_bce_logits_values(void)
{
    const float x[2] = {0.0f, (float)LN3}; // (B=1, K=2)
    const float t[2] = {1.0f, 0.0f};
    /* element 0: softplus(0) - 1*0 = ln 2; element 1: softplus(ln 3) - 0 = ln(1 + 3) = 2 ln 2;
     * mean over K = 2: 3 ln2 / 2 */
    ADVML_CHECK_CLOSE(advml_bce_forward(x, t, 1, 2, 1), 1.5 * LN2, 1e-7);
    /* gradient (sigmoid(x) - t) / K * scale: sigmoid(0) - 1 = -1/2, sigmoid(ln 3) = 3/4;
     * scale 2: (-1/2) / 2 * 2 = -0.5 and (3/4) / 2 * 2 = 0.75; added to (0.25, -0.25) */
    float d[2] = {0.25f, -0.25f};
    advml_bce_backward(d, x, t, 1, 2, 1, 2.0f);
    ADVML_CHECK_CLOSE(d[0], -0.25, 1e-7);
    ADVML_CHECK_CLOSE(d[1], 0.5, 1e-7);
}

static void t_bce_prob_values(void)
{
    const float p[2] = {0.5f, 0.75f}; // (B=1, K=2): the sigmoids of the logits above
    const float t[2] = {1.0f, 0.0f};
    /* -log 0.5 = ln 2; -log(1 - 0.75) = ln 4; mean 3 ln2 / 2 (same as from logits) */
    ADVML_CHECK_CLOSE(advml_bce_forward(p, t, 1, 2, 0), 1.5 * LN2, 1e-7);
    /* d/dp = (-t/p + (1-t)/(1-p)) / K: -1/0.5/2 = -1; 1/0.25/2 = 2; scale 3 -> -3, 6 */
    float d[2] = {0, 0};
    advml_bce_backward(d, p, t, 1, 2, 0, 3.0f);
    ADVML_CHECK_CLOSE(d[0], -3.0, 1e-5);
    ADVML_CHECK_CLOSE(d[1], 6.0, 1e-5);
}

static void t_bce_prob_clamped(void)
{
    /* p = 0 with t = 1 and p = 1 with t = 0: clamped to 1e-7 / 1 - 1e-7, loss
     * -log(1e-7) = 16.1181 each (K = 1), finite; gradient finite and pointing back */
    const float p[2] = {0.0f, 1.0f};
    const float t[2] = {1.0f, 0.0f};
    double L = advml_bce_forward(p, t, 2, 1, 0);
    CU_ASSERT(isfinite(L));
    ADVML_CHECK_CLOSE(L, -2.0 * log(1e-7), 1e-6);
    float d[2] = {0, 0};
    advml_bce_backward(d, p, t, 2, 1, 0, 1.0f);
    CU_ASSERT(isfinite(d[0]) && isfinite(d[1]));
    CU_ASSERT(d[0] < -1e6f); /* (1e-7 - 1) / (1e-7 (1 - 1e-7)) ~ -1e7: increase p */
    CU_ASSERT(d[1] > 1e6f);
    /* the right answer at the clamp costs ~1e-7 */
    const float p2[2] = {1.0f, 0.0f};
    ADVML_CHECK_CLOSE(advml_bce_forward(p2, t, 2, 1, 0), 2e-7, 1e-9);
}

static void t_cce_values(void)
{
    const float z[6] = {1, 2, 3, 0, 0, 0}; // (B=2, K=3)
    const float y[2] = {2, 0};
    /* sample 0: log(e + e^2 + e^3) - 3 = log(1 + e^-1 + e^-2) = 0.4076059644;
     * sample 1: log 3 - 0 = 1.0986122887 */
    double want = log(1.0 + exp(-1.0) + exp(-2.0)) + LN3;
    ADVML_CHECK_CLOSE(want, 0.4076059644 + 1.0986122887, 1e-9);
    float prob[6];
    ADVML_CHECK_CLOSE(advml_softmax_xent_forward(prob, z, y, 2, 3), want, 1e-6);
    /* softmax(1, 2, 3) = (0.0900306, 0.2447285, 0.6652410); softmax(0, 0, 0) = 1/3 */
    const float wp[6] = {0.09003057f, 0.24472847f, 0.66524096f, 1.f / 3, 1.f / 3, 1.f / 3};
    for (int i = 0; i < 6; i++)
        ADVML_CHECK_CLOSE(prob[i], wp[i], 1e-6);
    /* prob may be NULL */
    ADVML_CHECK_CLOSE(advml_softmax_xent_forward(NULL, z, y, 2, 3), want, 1e-6);
    /* gradient scale * (softmax - onehot), scale 0.5, added to 1 */
    float d[6] = {1, 1, 1, 1, 1, 1};
    advml_softmax_xent_backward(d, z, y, 2, 3, 0.5f);
    const float wd[6] = {1 + 0.5f * 0.09003057f, 1 + 0.5f * 0.24472847f, 1 + 0.5f * (0.66524096f - 1),
                         1 + 0.5f * (1.f / 3 - 1), 1 + 0.5f / 3, 1 + 0.5f / 3};
    for (int i = 0; i < 6; i++)
        ADVML_CHECK_CLOSE(d[i], wd[i], 1e-6);
}

static void t_cce_bad_label(void)
{
    const float z[3] = {0, 0, 0};
    const float y_hi[1] = {3}, y_neg[1] = {-1}, y_frac[1] = {1.5f};
    CU_ASSERT(isnan(advml_softmax_xent_forward(NULL, z, y_hi, 1, 3)));
    CU_ASSERT(isnan(advml_softmax_xent_forward(NULL, z, y_neg, 1, 3)));
    CU_ASSERT(isnan(advml_softmax_xent_forward(NULL, z, y_frac, 1, 3)));
    float d[4] = {0, 0, 0, 42}; /* d[3] is a guard: no write past the row */
    advml_softmax_xent_backward(d, z, y_hi, 1, 3, 1.0f);
    CU_ASSERT(d[3] == 42.0f);
    ADVML_CHECK_CLOSE(d[0], 1.0 / 3, 1e-7);
}

static void t_empty_batch(void)
{
    float d[1] = {7};
    const float x[1] = {1}, t[1] = {0};
    CU_ASSERT(advml_mse_forward(x, t, 0, 1) == 0.0);
    CU_ASSERT(advml_bce_forward(x, t, 0, 1, 1) == 0.0);
    CU_ASSERT(advml_softmax_xent_forward(NULL, x, t, 0, 1) == 0.0);
    advml_mse_backward(d, x, t, 0, 1, 1.0f);
    advml_bce_backward(d, x, t, 0, 1, 0, 1.0f);
    advml_softmax_xent_backward(d, x, t, 0, 1, 1.0f);
    CU_ASSERT(d[0] == 7.0f);
}

/* ---- stability --------------------------------------------------------------- */

static void t_large_logits(void)
{
    /* CCE: logits (1000, 0, -1000): label 1 costs logsumexp - 0 = 1000 (+ e^-1000),
     * label 0 costs ~e^-1000 = 0 */
    const float z[6] = {1000, 0, -1000, 1000, 0, -1000};
    const float y[2] = {1, 0};
    float prob[6];
    double L = advml_softmax_xent_forward(prob, z, y, 2, 3);
    CU_ASSERT(isfinite(L));
    ADVML_CHECK_CLOSE(L, 1000.0, 1e-9);
    for (int i = 0; i < 6; i++)
        CU_ASSERT(isfinite(prob[i]));
    ADVML_CHECK_CLOSE(prob[0], 1.0, 0);
    float d[6] = {0};
    advml_softmax_xent_backward(d, z, y, 2, 3, 1.0f);
    const float wd[6] = {1, -1, 0, 0, 0, 0};
    for (int i = 0; i < 6; i++) {
        CU_ASSERT(isfinite(d[i]));
        ADVML_CHECK_CLOSE(d[i], wd[i], 1e-7);
    }
    /* BCE from logits: x = 1000, t = 0 costs 1000; x = -1000, t = 1 costs 1000;
     * x = 1000, t = 1 and x = -1000, t = 0 cost ~0. Mean over K = 4: 500. */
    const float x[4] = {1000, -1000, 1000, -1000};
    const float t[4] = {0, 1, 1, 0};
    double Lb = advml_bce_forward(x, t, 1, 4, 1);
    CU_ASSERT(isfinite(Lb));
    ADVML_CHECK_CLOSE(Lb, 500.0, 1e-9);
    float db[4] = {0};
    advml_bce_backward(db, x, t, 1, 4, 1, 4.0f);
    const float wdb[4] = {1, -1, 0, 0}; // (sigmoid(x) - t) / 4 * 4
    for (int i = 0; i < 4; i++) {
        CU_ASSERT(isfinite(db[i]));
        ADVML_CHECK_CLOSE(db[i], wdb[i], 1e-7);
    }
    /* MSE with large values stays finite (double accumulation) */
    const float p[1] = {1e19f}, tt[1] = {-1e19f};
    CU_ASSERT(isfinite(advml_mse_forward(p, tt, 1, 1)));
}

/* ---- finite-difference gradient checks ------------------------------------- */

enum { GB = 3, GK = 4 };
typedef struct {
    advml_loss_kind kind;
    int from_logits;
    float x[GB * GK];
    float t[GB * GK]; // targets (B, K), or labels (B) for CCE
} loss_case;

static double loss_f(void *ctx)
{
    loss_case *c = ctx;
    switch (c->kind) {
    case ADVML_LOSS_MSE: return advml_mse_forward(c->x, c->t, GB, GK);
    case ADVML_LOSS_BCE: return advml_bce_forward(c->x, c->t, GB, GK, c->from_logits);
    case ADVML_LOSS_CCE: return advml_softmax_xent_forward(NULL, c->x, c->t, GB, GK);
    }
    return NAN;
}

static void gradcheck_case(const char *what, advml_loss_kind kind, int from_logits, float lo, float hi,
                           uint64_t seed)
{
    loss_case c;
    c.kind = kind;
    c.from_logits = from_logits;
    advml_rng rng;
    advml_rng_seed(&rng, seed);
    advml_test_fill_uniform(c.x, GB * GK, lo, hi, &rng);
    if (kind == ADVML_LOSS_CCE)
        for (int b = 0; b < GB; b++)
            c.t[b] = (float)advml_rng_below(&rng, GK);
    else if (kind == ADVML_LOSS_BCE)
        advml_test_fill_uniform(c.t, GB * GK, 0.0f, 1.0f, &rng); // soft targets
    else
        advml_test_fill_uniform(c.t, GB * GK, -2.0f, 2.0f, &rng);
    /* analytic gradient of the SUM with scale 1, on top of a non-zero start to
     * check accumulation: subtract the start afterwards */
    float g[GB * GK];
    for (int i = 0; i < GB * GK; i++)
        g[i] = 0.125f * (float)i;
    switch (kind) {
    case ADVML_LOSS_MSE: advml_mse_backward(g, c.x, c.t, GB, GK, 1.0f); break;
    case ADVML_LOSS_BCE: advml_bce_backward(g, c.x, c.t, GB, GK, from_logits, 1.0f); break;
    case ADVML_LOSS_CCE: advml_softmax_xent_backward(g, c.x, c.t, GB, GK, 1.0f); break;
    }
    for (int i = 0; i < GB * GK; i++)
        g[i] -= 0.125f * (float)i;
    double err = advml_gradcheck(what, c.x, g, GB * GK, loss_f, &c, 1e-3, 1e-2, 1e-4, NULL);
    CU_ASSERT(err < 1e-4);
    /* scale is honoured: scale 0.25 gives a quarter of the gradient */
    float g4[GB * GK] = {0};
    switch (kind) {
    case ADVML_LOSS_MSE: advml_mse_backward(g4, c.x, c.t, GB, GK, 0.25f); break;
    case ADVML_LOSS_BCE: advml_bce_backward(g4, c.x, c.t, GB, GK, from_logits, 0.25f); break;
    case ADVML_LOSS_CCE: advml_softmax_xent_backward(g4, c.x, c.t, GB, GK, 0.25f); break;
    }
    for (int i = 0; i < GB * GK; i++)
        ADVML_CHECK_CLOSE(g4[i], 0.25 * g[i], 1e-6 * (1 + fabs(g[i])));
}

static void t_grad_mse(void) { gradcheck_case("mse", ADVML_LOSS_MSE, 0, -2.0f, 2.0f, 11); }
static void t_grad_bce_logits(void) { gradcheck_case("bce logits", ADVML_LOSS_BCE, 1, -4.0f, 4.0f, 12); }
static void t_grad_bce_prob(void) { gradcheck_case("bce prob", ADVML_LOSS_BCE, 0, 0.05f, 0.95f, 13); }
static void t_grad_cce(void) { gradcheck_case("softmax cce", ADVML_LOSS_CCE, 1, -3.0f, 3.0f, 14); }

static void t_names(void)
{
    advml_loss_kind k = ADVML_LOSS_MSE;
    CU_ASSERT(advml_loss_from_name("mse", &k) == 0 && k == ADVML_LOSS_MSE);
    CU_ASSERT(advml_loss_from_name("binary_crossentropy", &k) == 0 && k == ADVML_LOSS_BCE);
    CU_ASSERT(advml_loss_from_name("categorical_crossentropy", &k) == 0 && k == ADVML_LOSS_CCE);
    k = ADVML_LOSS_MSE;
    CU_ASSERT(advml_loss_from_name("sparse_categorical_crossentropy", &k) == 0 && k == ADVML_LOSS_CCE);
    k = ADVML_LOSS_MSE;
    CU_ASSERT(advml_loss_from_name("cross_entropy", &k) == 0 && k == ADVML_LOSS_CCE);
    CU_ASSERT(advml_loss_from_name("hinge", &k) == -1);
    CU_ASSERT(advml_loss_from_name("", &k) == -1);
    CU_ASSERT(advml_loss_from_name(NULL, &k) == -1);
    for (int i = ADVML_LOSS_MSE; i <= ADVML_LOSS_CCE; i++) {
        advml_loss_kind back;
        CU_ASSERT(advml_loss_from_name(advml_loss_name((advml_loss_kind)i), &back) == 0 &&
                  back == (advml_loss_kind)i);
    }
}

static void reg(void)
{
    static const advml_test_case c[] = {
        {"mse values", t_mse_values},
        {"bce from logits values", t_bce_logits_values},
        {"bce from probabilities values", t_bce_prob_values},
        {"bce probabilities clamped", t_bce_prob_clamped},
        {"softmax cce values", t_cce_values},
        {"softmax cce bad label", t_cce_bad_label},
        {"empty batch", t_empty_batch},
        {"large logits stay finite", t_large_logits},
        {"gradcheck mse", t_grad_mse},
        {"gradcheck bce logits", t_grad_bce_logits},
        {"gradcheck bce probabilities", t_grad_bce_prob},
        {"gradcheck softmax cce", t_grad_cce},
        {"names", t_names},
        {NULL, NULL}};
    advml_test_add_suite("loss", c);
}

int main(void) { return advml_test_main(reg); }

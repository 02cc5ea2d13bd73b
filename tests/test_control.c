/* test_control.c - training control: each learning-rate schedule against its
 * formula (and onecycle / cosine against values PyTorch gives), reduce-on-
 * plateau and early stopping on crafted metric sequences (Keras' rules), the
 * exactly gathered metrics (confusion matrix, precision, recall, F1, top-k,
 * MAE, R^2) against hand-computed values, class-weighted losses (values and
 * finite-difference gradients), and augmentation (pure function of the key,
 * shifts, flips, noise). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "advml/augment.h"
#include "advml/loss.h"
#include "advml/metrics.h"
#include "advml/schedule.h"

static double lr_at(const advml_schedule_config *c, double base, int64_t s, int64_t e)
{
    return advml_schedule_lr(c, base, s, e, 1.0);
}

static void t_constant_step_multistep_exponential(void)
{
    advml_schedule_config c = advml_schedule_defaults(ADVML_SCHED_CONSTANT);
    ADVML_CHECK_CLOSE(lr_at(&c, 0.01, 0, 0), 0.01, 0);
    ADVML_CHECK_CLOSE(lr_at(&c, 0.01, 12345, 7), 0.01, 0);
    c.warmup_steps = 4; /* (s + 1) / W */
    ADVML_CHECK_CLOSE(lr_at(&c, 0.01, 0, 0), 0.0025, 1e-15);
    ADVML_CHECK_CLOSE(lr_at(&c, 0.01, 2, 0), 0.0075, 1e-15);
    ADVML_CHECK_CLOSE(lr_at(&c, 0.01, 4, 0), 0.01, 0);

    c = advml_schedule_defaults(ADVML_SCHED_STEP); /* lr gamma^floor(e / step_size), epochs */
    c.step_size = 3;
    c.gamma = 0.5;
    ADVML_CHECK_CLOSE(lr_at(&c, 0.1, 999, 2), 0.1, 1e-15);
    ADVML_CHECK_CLOSE(lr_at(&c, 0.1, 0, 3), 0.05, 1e-15);
    ADVML_CHECK_CLOSE(lr_at(&c, 0.1, 0, 8), 0.025, 1e-15);
    c.unit_steps = 1; /* the same in steps: the epoch no longer matters */
    ADVML_CHECK_CLOSE(lr_at(&c, 0.1, 5, 0), 0.05, 1e-15);
    ADVML_CHECK_CLOSE(lr_at(&c, 0.1, 6, 99), 0.025, 1e-15);

    c = advml_schedule_defaults(ADVML_SCHED_MULTISTEP); /* gamma^(milestones <= e) */
    c.nmilestones = 2;
    c.milestones[0] = 2;
    c.milestones[1] = 5;
    ADVML_CHECK_CLOSE(lr_at(&c, 1.0, 0, 1), 1.0, 0);
    ADVML_CHECK_CLOSE(lr_at(&c, 1.0, 0, 2), 0.1, 1e-15);
    ADVML_CHECK_CLOSE(lr_at(&c, 1.0, 0, 4), 0.1, 1e-15);
    ADVML_CHECK_CLOSE(lr_at(&c, 1.0, 0, 5), 0.01, 1e-15);

    c = advml_schedule_defaults(ADVML_SCHED_EXPONENTIAL);
    c.gamma = 0.9;
    c.unit_steps = 1;
    ADVML_CHECK_CLOSE(lr_at(&c, 0.2, 0, 0), 0.2, 0);
    ADVML_CHECK_CLOSE(lr_at(&c, 0.2, 3, 0), 0.2 * 0.729, 1e-15);
}

static void t_cosine(void)
{
    /* PyTorch's CosineAnnealingLR(T_max=10, eta_min=0.001) from 0.1, steps 0..10 */
    static const double torch[11] = {0.1, 0.09757729755661011, 0.0905463412215599, 0.07959536998847742,
                                     0.0657963412215599, 0.0505, 0.03520365877844011, 0.02140463001152259,
                                     0.010453658778440109, 0.0034227024433899004, 0.001};
    advml_schedule_config c = advml_schedule_defaults(ADVML_SCHED_COSINE);
    c.decay_steps = 10;
    c.min_lr = 0.001;
    for (int s = 0; s <= 10; s++)
        ADVML_CHECK_CLOSE(lr_at(&c, 0.1, s, 0), torch[s], 1e-15);
    ADVML_CHECK_CLOSE(lr_at(&c, 0.1, 25, 0), 0.001, 1e-15); /* stays at min_lr after the decay */
    /* with a warm-up of 5 steps the decay starts at step 5 */
    c.warmup_steps = 5;
    ADVML_CHECK_CLOSE(lr_at(&c, 0.1, 0, 0), 0.02, 1e-15);
    ADVML_CHECK_CLOSE(lr_at(&c, 0.1, 4, 0), 0.1, 1e-15);
    for (int s = 0; s <= 10; s++)
        ADVML_CHECK_CLOSE(lr_at(&c, 0.1, 5 + s, 0), torch[s], 1e-15);
}

static void t_onecycle(void)
{
    /* torch.optim.lr_scheduler.OneCycleLR(max_lr=0.01, total_steps=100, pct_start=0.3,
     * anneal_strategy="cos", cycle_momentum=False, div_factor=25, final_div_factor=1e4) */
    static const struct {
        int s;
        double lr;
    } torch[] = {{0, 0.0003999999999999993}, {1, 0.00042813780565907275}, {10, 0.002951639484641007},
                 {28, 0.009971862194340927}, {29, 0.01}, {30, 0.009994965352845242}, {31, 0.009979871550490316},
                 {50, 0.00793893450575732}, {98, 5.07464715475788e-06}, {99, 4e-08}};
    advml_schedule_config c = advml_schedule_defaults(ADVML_SCHED_ONECYCLE);
    c.total_steps = 100;
    for (size_t i = 0; i < sizeof torch / sizeof torch[0]; i++)
        ADVML_CHECK_CLOSE(lr_at(&c, 0.01, torch[i].s, 0), torch[i].lr, 1e-14 * 0.01);
    ADVML_CHECK_CLOSE(lr_at(&c, 0.01, 150, 0), 4e-08, 1e-20); /* past the cycle: its end */
}

/* Keras' ReduceLROnPlateau on a crafted sequence (mode min, patience 2,
 * factor 0.5, cooldown 1, min_lr 0.02, min_delta 0.01). */
static void t_plateau(void)
{
    advml_schedule_config c = advml_schedule_defaults(ADVML_SCHED_PLATEAU);
    c.monitor.metric = ADVML_METRIC_VAL_LOSS;
    c.monitor.mode = ADVML_MODE_MIN;
    c.monitor.patience = 2;
    c.monitor.min_delta = 0.01;
    c.factor = 0.5;
    c.cooldown = 1;
    c.min_lr = 0.02;
    advml_control_state st = advml_control_start(&c.monitor, NULL, NULL);
    const double base = 0.1;
    /* epoch:          1    2     3      4     5    6     7     8     9    10    11 */
    const double v[] = {1.0, 0.9, 0.895, 0.91, 0.9, 0.95, 0.96, 0.97, 0.8, 0.85, 0.86};
    /* after each epoch: the lr of the next (Keras: wait counts non-improving epochs
     * outside cooldown; a reduction starts the cooldown and clears wait) */
    /* 1, 2 improve; 3, 4 do not (0.895 is within min_delta): reduce; 5 is cooldown, then
     * 5 and 6 count: reduce; 7, 8: reduce to the floor 0.02; 9 improves; 10 and 11 would
     * reduce but the rate is at min_lr already */
    const double want[] = {0.1, 0.1, 0.1, 0.05, 0.05, 0.025, 0.025, 0.02, 0.02, 0.02, 0.02};
    const int reduced[] = {0, 0, 0, 1, 0, 1, 0, 1, 0, 0, 0};
    for (int i = 0; i < 11; i++) {
        int r = advml_plateau_update(&c, &st.plateau, base, &st.plateau_scale, v[i]);
        CU_ASSERT_EQUAL(r, reduced[i]);
        ADVML_CHECK_CLOSE(advml_schedule_lr(&c, base, 100, i, st.plateau_scale), want[i], 1e-15);
    }
    /* at the floor nothing is reduced further */
    for (int i = 0; i < 5; i++)
        CU_ASSERT_EQUAL(advml_plateau_update(&c, &st.plateau, base, &st.plateau_scale, 5.0), 0);
    ADVML_CHECK_CLOSE(advml_schedule_lr(&c, base, 100, 20, st.plateau_scale), 0.02, 1e-15);
    /* mode max: accuracy */
    advml_schedule_config a = c;
    a.monitor.metric = ADVML_METRIC_VAL_ACCURACY;
    a.monitor.mode = advml_monitor_resolve(ADVML_METRIC_VAL_ACCURACY, ADVML_MODE_AUTO);
    a.monitor.min_delta = 0;
    a.cooldown = 0;
    CU_ASSERT_EQUAL(a.monitor.mode, ADVML_MODE_MAX);
    advml_control_state sa = advml_control_start(&a.monitor, NULL, NULL);
    const double acc[] = {0.5, 0.6, 0.6, 0.59};
    const int red[] = {0, 0, 0, 1};
    for (int i = 0; i < 4; i++)
        CU_ASSERT_EQUAL(advml_plateau_update(&a, &sa.plateau, base, &sa.plateau_scale, acc[i]), red[i]);
}

/* Keras' EarlyStopping on a crafted sequence: stops after patience epochs
 * without an improvement of more than min_delta; remembers the best epoch. */
static void t_early_stopping(void)
{
    advml_monitor_config m = {ADVML_METRIC_VAL_LOSS, ADVML_MODE_MIN, 0.05, 3};
    advml_monitor_state st = advml_monitor_start(&m);
    /* epoch:          1    2    3     4     5    6     7 */
    const double v[] = {1.0, 0.7, 0.68, 0.66, 0.9, 0.64, 0.5};
    const int improved[] = {1, 1, 0, 0, 0, 0, 1};
    const int stop_at = 5; /* 0.68, 0.66, 0.9 are within min_delta of 0.7 or worse: 3 epochs */
    int stop = 0, e;
    for (e = 1; e <= 7; e++) {
        CU_ASSERT_EQUAL(advml_early_stopping_update(&m, &st, e, v[e - 1], &stop), improved[e - 1]);
        if (stop)
            break;
    }
    CU_ASSERT_EQUAL(e, stop_at);
    CU_ASSERT_EQUAL(st.best_epoch, 2);
    ADVML_CHECK_CLOSE(st.best, 0.7, 0);
    /* patience 0: the first epoch without improvement stops */
    advml_monitor_config m0 = {ADVML_METRIC_VAL_ACCURACY, ADVML_MODE_MAX, 0, 0};
    advml_monitor_state s0 = advml_monitor_start(&m0);
    CU_ASSERT_EQUAL(advml_early_stopping_update(&m0, &s0, 1, 0.5, &stop), 1);
    CU_ASSERT_EQUAL(stop, 0);
    CU_ASSERT_EQUAL(advml_early_stopping_update(&m0, &s0, 2, 0.5, &stop), 0);
    CU_ASSERT_EQUAL(stop, 1);
    /* NaN never improves */
    advml_monitor_state s1 = advml_monitor_start(&m);
    CU_ASSERT_EQUAL(advml_early_stopping_update(&m, &s1, 1, NAN, &stop), 0);
    CU_ASSERT_FALSE(advml_monitor_improves(&m, 1.0, NAN));
}

/* A tiny model whose output the tests set directly: one dense layer of K
 * outputs (its forward is not run; the output buffer is written). */
static void tiny_model(advml_model *m, advml_loss_kind loss, int K, int B)
{
    advml_model_spec spec;
    memset(&spec, 0, sizeof spec);
    spec.input = advml_shape1(2);
    spec.nlayers = 1;
    spec.layers[0] = advml_layer_spec_default(ADVML_LAYER_DENSE);
    spec.layers[0].units = K;
    spec.layers[0].act = loss == ADVML_LOSS_CCE ? ADVML_ACT_SOFTMAX : ADVML_ACT_IDENTITY;
    spec.loss = loss;
    advml_error err;
    CU_ASSERT_EQUAL_FATAL(advml_model_build(m, &spec, B, &err), ADVML_OK);
}

static void t_metrics_classes(void)
{
    /* 6 samples, 3 classes; probabilities (the softmax output) and logits (z) set by hand */
    advml_model m;
    tiny_model(&m, ADVML_LOSS_CCE, 3, 6);
    advml_layer *L = &m.layers[0];
    const float p[6][3] = {{0.7f, 0.2f, 0.1f}, {0.1f, 0.6f, 0.3f}, {0.2f, 0.3f, 0.5f},
                           {0.5f, 0.4f, 0.1f}, {0.3f, 0.3f, 0.4f}, {0.1f, 0.2f, 0.7f}};
    const float labels[6] = {0, 1, 1, 1, 0, 2};
    for (int b = 0; b < 6; b++)
        for (int k = 0; k < 3; k++) {
            L->out[b * 3 + k] = p[b][k];
            L->z[b * 3 + k] = logf(p[b][k]);
        }
    advml_eval_table tab;
    advml_error err;
    CU_ASSERT_EQUAL_FATAL(advml_eval_table_init(&tab, &m, 8, 2, &err), ADVML_OK);
    advml_eval_table_add(&tab, &m, labels, 6, 1); /* samples 1..6 of 8; 0 and 7 by "other ranks" */
    advml_eval e;
    tab.n = 8; /* the two missing samples: predicted 0, label 0, loss 0 (filled below) */
    tab.v[0 * tab.cols + 1] = 1.0;
    tab.v[0 * tab.cols + 2] = 1.0;
    tab.v[7 * tab.cols + 1] = 1.0;
    tab.v[7 * tab.cols + 2] = 1.0;
    tab.v[8 * tab.cols + 0] += 2.0; /* confusion [0][0] */
    CU_ASSERT_EQUAL_FATAL(advml_eval_compute(&tab, &e, &err), ADVML_OK);
    /* predictions: 0, 1, 2, 0, 2, 2 against 0, 1, 1, 1, 0, 2 (+ two right 0s) */
    ADVML_CHECK_CLOSE(e.accuracy, 5.0 / 8.0, 1e-15);
    const int64_t conf[9] = {3, 0, 1, 1, 1, 1, 0, 0, 1};
    for (int i = 0; i < 9; i++)
        CU_ASSERT_EQUAL(e.confusion[i], conf[i]);
    ADVML_CHECK_CLOSE(e.precision[0], 3.0 / 4.0, 1e-15);
    ADVML_CHECK_CLOSE(e.recall[0], 3.0 / 4.0, 1e-15);
    ADVML_CHECK_CLOSE(e.precision[1], 1.0, 1e-15);
    ADVML_CHECK_CLOSE(e.recall[1], 1.0 / 3.0, 1e-15);
    ADVML_CHECK_CLOSE(e.f1[1], 0.5, 1e-15);
    ADVML_CHECK_CLOSE(e.precision[2], 1.0 / 3.0, 1e-15);
    ADVML_CHECK_CLOSE(e.recall[2], 1.0, 1e-15);
    ADVML_CHECK_CLOSE(e.macro_f1, (0.75 + 0.5 + 0.5) / 3.0, 1e-15);
    /* top-2: the label among the 2 highest: samples 1 (yes), 2 (yes), 3 (p 0.3: yes), 4 (yes),
     * 5 (0.3 vs 0.3 and 0.4: one above, yes), 6 (yes) + the two -> 8 of 8 */
    ADVML_CHECK_CLOSE(e.top_k_accuracy, 1.0, 1e-15);
    double loss = 0;
    for (int b = 0; b < 6; b++)
        loss += -log((double)p[b][(int)labels[b]]);
    ADVML_CHECK_CLOSE(e.loss, loss / 8.0, 1e-6);
    advml_eval_free(&e);
    advml_eval_table_free(&tab);
    advml_model_free(&m);
}

static void t_metrics_regression(void)
{
    advml_model m;
    tiny_model(&m, ADVML_LOSS_MSE, 2, 4);
    advml_layer *L = &m.layers[0];
    const float y[4][2] = {{1, 0}, {2, 1}, {3, 0}, {4, 1}};
    const float pred[4][2] = {{1.5f, 0}, {2, 0.5f}, {2, 0}, {4, 1}};
    for (int b = 0; b < 4; b++)
        for (int k = 0; k < 2; k++)
            L->out[b * 2 + k] = L->z[b * 2 + k] = pred[b][k];
    advml_eval_table tab;
    advml_error err;
    CU_ASSERT_EQUAL_FATAL(advml_eval_table_init(&tab, &m, 4, 5, &err), ADVML_OK);
    advml_eval_table_add(&tab, &m, &y[0][0], 4, 0);
    advml_eval e;
    CU_ASSERT_EQUAL_FATAL(advml_eval_compute(&tab, &e, &err), ADVML_OK);
    ADVML_CHECK_CLOSE(e.mae, (0.5 + 0.5 + 1.0) / 8.0, 1e-15);
    /* output 0: mean 2.5, SS_tot 5, SS_res 0.25 + 1 = 1.25; output 1: mean 0.5, SS_tot 1, SS_res 0.25 */
    ADVML_CHECK_CLOSE(e.r2, ((1 - 1.25 / 5) + (1 - 0.25 / 1)) / 2, 1e-15);
    ADVML_CHECK_CLOSE(e.loss, (0.25 / 2 + 0.25 / 2 + 1.0 / 2) / 4, 1e-15);
    CU_ASSERT(isnan(e.accuracy) && isnan(e.top_k_accuracy));
    CU_ASSERT_EQUAL(e.nclasses, 0);
    advml_eval_free(&e);
    advml_eval_table_free(&tab);
    advml_model_free(&m);
}

/* ---- class-weighted losses ---------------------------------------------------- */

typedef struct wctx {
    float *x, *t;
    const float *w;
    int B, K, bce;
} wctx;

static double wloss(void *p)
{
    wctx *c = p;
    return c->bce ? advml_bce_forward_w(c->x, c->t, c->B, c->K, 1, c->w)
                  : advml_softmax_xent_forward_w(NULL, c->x, c->t, c->B, c->K, c->w);
}

static void t_class_weights(void)
{
    advml_rng rng;
    advml_rng_seed(&rng, 3);
    enum { B = 5, K = 4 };
    float x[B * K], g[B * K], lab[B] = {0, 3, 1, 3, 2}, w[K] = {1.0f, 2.5f, 0.5f, 3.0f};
    advml_test_fill_uniform(x, B * K, -2, 2, &rng);
    /* the weighted sum is sum_b w[y_b] l_b */
    double want = 0;
    for (int b = 0; b < B; b++)
        want += w[(int)lab[b]] * advml_softmax_xent_forward(NULL, x + b * K, lab + b, 1, K);
    ADVML_CHECK_CLOSE(advml_softmax_xent_forward_w(NULL, x, lab, B, K, w), want, 1e-12);
    /* unit weights are the unweighted loss, bit for bit */
    const float ones[K] = {1, 1, 1, 1};
    CU_ASSERT(advml_softmax_xent_forward_w(NULL, x, lab, B, K, ones) == advml_softmax_xent_forward(NULL, x, lab, B, K));
    memset(g, 0, sizeof g);
    advml_softmax_xent_backward_w(g, x, lab, B, K, 1.0f, w);
    wctx c = {x, lab, w, B, K, 0};
    CU_ASSERT(advml_gradcheck("weighted CCE", x, g, B * K, wloss, &c, 1e-3, 1e-3, 1e-3, NULL) <= 1e-3);
    /* BCE: element weight w0 (1 - t) + w1 t */
    float t[B * K], wb[2] = {0.5f, 4.0f};
    for (int i = 0; i < B * K; i++)
        t[i] = (float)(i % 3 == 0);
    double wantb = 0;
    for (int i = 0; i < B * K; i++)
        wantb += (t[i] > 0.5f ? 4.0 : 0.5) * advml_bce_forward(x + i, t + i, 1, 1, 1) / K;
    ADVML_CHECK_CLOSE(advml_bce_forward_w(x, t, B, K, 1, wb), wantb, 1e-12);
    memset(g, 0, sizeof g);
    advml_bce_backward_w(g, x, t, B, K, 1, 1.0f, wb);
    wctx cb = {x, t, wb, B, K, 1};
    CU_ASSERT(advml_gradcheck("weighted BCE", x, g, B * K, wloss, &cb, 1e-3, 1e-3, 1e-3, NULL) <= 1e-3);
}

/* ---- augmentation ------------------------------------------------------------- */

static void t_augment(void)
{
    const advml_shape in = advml_shape3(2, 5, 6);
    enum { N = 60, B = 4 };
    float base[B * N], x[B * N], y[B * N], scratch[N];
    for (int i = 0; i < B * N; i++)
        base[i] = (float)(i % N) + 1.0f; /* distinct, non-zero pixels */
    const int64_t ids[B] = {17, 3, 1000, 42};
    advml_augment_config a;
    memset(&a, 0, sizeof a);
    CU_ASSERT_FALSE(advml_augment_active(&a));
    a.shift[0] = 2;
    a.shift[1] = 1;
    a.horizontal_flip = 1;
    CU_ASSERT(advml_augment_active(&a));
    memcpy(x, base, sizeof x);
    advml_augment_batch(&a, x, B, &in, ids, 7, 3, -1.0f, scratch);
    /* a pure function of (seed, epoch, sample): sample 1000 alone gives the same */
    memcpy(y, base, N * sizeof *y);
    advml_augment_batch(&a, y, 1, &in, &ids[2], 7, 3, -1.0f, scratch);
    CU_ASSERT(memcmp(y, x + 2 * N, N * sizeof *y) == 0);
    /* every output pixel is the input at (i + dy, flip(j) + dx) or the padding, for one dy, dx, flip */
    int changed = 0;
    for (int b = 0; b < B; b++) {
        int found = 0;
        for (int dy = -2; dy <= 2 && !found; dy++)
            for (int dx = -1; dx <= 1 && !found; dx++)
                for (int fl = 0; fl < 2 && !found; fl++) {
                    int ok = 1;
                    for (int c = 0; c < 2 && ok; c++)
                        for (int i = 0; i < 5 && ok; i++)
                            for (int j = 0; j < 6 && ok; j++) {
                                int si = i + dy, sj = (fl ? 5 - j : j) + dx;
                                float want = si >= 0 && si < 5 && sj >= 0 && sj < 6 ? base[b * N + (c * 5 + si) * 6 + sj]
                                                                                    : -1.0f;
                                ok = x[b * N + (c * 5 + i) * 6 + j] == want;
                            }
                    found = ok;
                    changed |= ok && (dy || dx || fl);
                }
        CU_ASSERT(found);
    }
    CU_ASSERT(changed);
    /* another epoch draws again; shifts stay within the range over many samples */
    int hist[5] = {0};
    for (int64_t id = 0; id < 2000; id++) {
        float s1[N];
        for (int i = 0; i < N; i++)
            s1[i] = 0;
        s1[(0 * 5 + 2) * 6 + 3] = 1; /* one lit pixel at (2, 3): find where it went */
        advml_augment_config sh;
        memset(&sh, 0, sizeof sh);
        sh.shift[0] = 2;
        advml_augment_batch(&sh, s1, 1, &in, &id, 7, 0, 0.0f, scratch);
        for (int i = 0; i < 5; i++)
            if (s1[i * 6 + 3] == 1)
                hist[2 - i + 2]++; /* out[i] = in[i + dy]: dy = 2 - i */
    }
    for (int d = 0; d < 5; d++) /* uniform over the five shifts: 400 each */
        CU_ASSERT(hist[d] > 320 && hist[d] < 480);
    /* noise: mean 0, std as asked, and none at noise 0 */
    advml_augment_config nz;
    memset(&nz, 0, sizeof nz);
    nz.noise = 0.5f;
    const advml_shape flat = advml_shape1(1000);
    float v[1000] = {0}, scr[1000];
    int64_t id = 5;
    advml_augment_batch(&nz, v, 1, &flat, &id, 1, 2, 0.0f, scr);
    double m = 0, m2 = 0;
    for (int i = 0; i < 1000; i++) {
        m += v[i];
        m2 += (double)v[i] * v[i];
    }
    m /= 1000;
    ADVML_CHECK_CLOSE(m, 0.0, 0.05);
    ADVML_CHECK_CLOSE(sqrt(m2 / 1000 - m * m), 0.5, 0.05);
}

static void reg(void)
{
    static const advml_test_case c[] = {{"constant_step_multistep_exponential", t_constant_step_multistep_exponential},
                                        {"cosine", t_cosine},
                                        {"onecycle", t_onecycle},
                                        {"plateau", t_plateau},
                                        {"early_stopping", t_early_stopping},
                                        {"metrics_classes", t_metrics_classes},
                                        {"metrics_regression", t_metrics_regression},
                                        {"class_weights", t_class_weights},
                                        {"augment", t_augment},
                                        {NULL, NULL}};
    advml_test_add_suite("control", c);
}

int main(void) { return advml_test_main(reg); }

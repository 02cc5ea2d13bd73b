/* train.c - the data-parallel training loop (see include/advml/train.h).
 *
 * One step, on every rank:
 *   ids   = my slice of global batch k of perm(seed, epoch)
 *   x, y  = dataset rows ids                          (from disk or memory)
 *   grads = d(sum of my losses)/dw; extras = [flag, loss sum, correct, count]
 *   allreduce(grads + extras)                         (ONE call)
 *   check flag and loss are finite                    (identical on all ranks)
 *   optimizer step with grad_scale = 1 / global batch size and the
 *     schedule's learning rate at this step; it also checks the reduced
 *     grads are finite                                 (identical on all ranks)
 *
 * After each epoch: evaluation (validation, test), then the training
 * controls decide on the exactly gathered validation metric: reduce-on-
 * plateau, the best checkpoint (RUN.best.h5), early stopping.
 */
#include "advml/train.h"

#include <cblas.h>

#include "advml/bigbuf.h"
#include "advml/numfmt.h"

#include <assert.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "advml/augment.h"
#include "advml/ridge.h"

/* Extra slots after the gradients (ADVML_GRAD_EXTRA of them): then one per
 * stop signal, counting the ranks that caught it (in the order of STOP_SIGS). */
enum { X_FLAG = 0, X_LOSS, X_CORRECT, X_COUNT, X_STOP };
static const int STOP_SIGS[4] = {SIGINT, SIGTERM, SIGUSR1, SIGUSR2};
_Static_assert(X_STOP + 4 == ADVML_GRAD_EXTRA, "one extra slot per stop signal");
/* The flag slot: 1 per rank with a non-finite local loss, READ_FAIL per rank
 * whose read failed (its message then travels by advml_comm_agree). */
#define READ_FAIL 65536.0f

static const char *const SPLIT_TRAIN = "train", *const SPLIT_VAL = "validation", *const SPLIT_TEST = "test";

const char *advml_signal_name(int signo, char *buf, size_t n)
{
    switch (signo) {
    case SIGINT: return "SIGINT";
    case SIGTERM: return "SIGTERM";
    case SIGUSR1: return "SIGUSR1";
    case SIGUSR2: return "SIGUSR2";
    default: snprintf(buf, n, "signal %d", signo); return buf;
    }
}

int64_t advml_trainer_batches_per_epoch(const advml_trainer *t)
{
    const int64_t B = t->cfg.train.batch_size;
    return (t->train.n + B - 1) / B;
}

/* This rank's caught stop signals, one count (0 or 1) per STOP_SIGS entry. */
static void local_stops(const advml_trainer *t, float *slot)
{
    sig_atomic_t bits = t->stop_request ? *t->stop_request : 0;
    for (int i = 0; i < 4; i++)
        slot[i] = (bits >> STOP_SIGS[i]) & 1 ? 1.0f : 0.0f;
}

/* The signal to stop on from the summed counts (the first caught in the order
 * SIGINT, SIGTERM, SIGUSR1, SIGUSR2), 0 when none. */
static int agreed_stop(const float *summed)
{
    for (int i = 0; i < 4; i++)
        if (summed[i] > 0.0f)
            return STOP_SIGS[i];
    return 0;
}

advml_status advml_trainer_poll_stop(advml_trainer *t, advml_error *err)
{
    float slot[4];
    local_stops(t, slot);
    int32_t v[4];
    for (int i = 0; i < 4; i++)
        v[i] = (int32_t)slot[i];
    advml_status s = advml_comm_allreduce_max_i32(t->comm, v, 4, err);
    if (s)
        return s;
    for (int i = 0; i < 4; i++)
        slot[i] = (float)v[i];
    t->stop_signal = agreed_stop(slot);
    return ADVML_OK;
}

/* The slice [*lo, *hi) of n items (samples, slots, blocks) that rank r of N
 * takes: the one rank split (advml_dataset_shard). */
static void share(int64_t n, int r, int N, int64_t *lo, int64_t *hi)
{
    int64_t count;
    advml_dataset_shard(n, r, N, lo, &count);
    *hi = *lo + count;
}

/* Agree on a status over all ranks (returns the agreed one). */
static advml_status agree(advml_trainer *t, advml_status local, advml_error *err)
{
    if (local == ADVML_OK)
        advml_error_clear(err);
    advml_error tmp;
    advml_error_clear(&tmp);
    advml_status s = advml_comm_agree(t->comm, local, err ? err : &tmp);
    return s;
}

/* ---- setup -------------------------------------------------------------------- */

/* Check the splits against each other and the config (no collective calls). */
static advml_status check_data(advml_trainer *t, advml_error *err)
{
    advml_config *c = &t->cfg;
    const char *path = advml_dataset_path(t->ds);
    advml_status s;
    if (!advml_dataset_has_split(t->ds, SPLIT_TRAIN))
        return advml_error_set(err, ADVML_ERR_FORMAT, "%s: no \"train\" split to train on", path);
    if ((s = advml_dataset_info(t->ds, SPLIT_TRAIN, &t->train, err)))
        return s;
    if (t->train.n < 1)
        return advml_error_set(err, ADVML_ERR_FORMAT, "%s: the train split is empty", path);
    t->file_train_n = t->train.n;
    t->has_val = advml_dataset_has_split(t->ds, SPLIT_VAL);
    t->has_test = advml_dataset_has_split(t->ds, SPLIT_TEST);
    if (t->has_val && (s = advml_dataset_info(t->ds, SPLIT_VAL, &t->val, err)))
        return s;
    if (t->has_test && (s = advml_dataset_info(t->ds, SPLIT_TEST, &t->test, err)))
        return s;
    char a[64], b[64];
    if (!c->has_input) {
        c->model.input = t->train.input;
        c->has_input = 1;
    } else if (!advml_shape_equal(&c->model.input, &t->train.input)) {
        advml_shape_list_str(&t->train.input, a, sizeof a);
        advml_shape_list_str(&c->model.input, b, sizeof b);
        return advml_error_set(err, ADVML_ERR_SHAPE,
                               "%s: the train inputs are %s per sample, but %s has \"input\": %s; use a dataset "
                               "made for this model or fix \"input\" (or leave it out to take the data's shape)",
                               path, a, c->source, b);
    }
    const advml_split_info *other[2] = {t->has_val ? &t->val : NULL, t->has_test ? &t->test : NULL};
    const char *names[2] = {SPLIT_VAL, SPLIT_TEST};
    for (int i = 0; i < 2; i++) {
        if (!other[i])
            continue;
        if (!advml_shape_equal(&other[i]->input, &t->train.input)) {
            advml_shape_list_str(&other[i]->input, a, sizeof a);
            advml_shape_list_str(&t->train.input, b, sizeof b);
            return advml_error_set(err, ADVML_ERR_FORMAT, "%s: the %s inputs are %s per sample, the train inputs %s",
                                   path, names[i], a, b);
        }
        if (other[i]->target_dim != t->train.target_dim ||
            (t->train.target_dim == 0 && other[i]->num_classes != t->train.num_classes))
            return advml_error_set(err, ADVML_ERR_FORMAT,
                                   "%s: the %s targets (%d values, %d classes) differ from the train targets (%d "
                                   "values, %d classes)",
                                   path, names[i], other[i]->target_dim, other[i]->num_classes,
                                   t->train.target_dim, t->train.num_classes);
    }
    return ADVML_OK;
}

/* Row-order key of the validation split's draw: no training epoch reaches it. */
#define VALIDATION_DRAW UINT64_MAX

/* training.validation_split: hold out floor(f n) rows of the train split,
 * the first ones of the permutation drawn from (seed, VALIDATION_DRAW), the
 * same for any number of ranks. Both row lists are kept ascending. */
static advml_status split_validation(advml_trainer *t, advml_error *err)
{
    const double f = t->cfg.train.validation_split;
    if (f <= 0)
        return ADVML_OK;
    const char *path = advml_dataset_path(t->ds);
    if (t->has_val)
        return advml_error_set(err, ADVML_ERR_CONFIG,
                               "%s: training.validation_split: %s has a validation split of its own (%lld samples); "
                               "remove validation_split to use it",
                               t->cfg.source, path, (long long)t->val.n);
    const int64_t n = t->train.n, nv = (int64_t)floor(f * (double)n);
    if (nv < 1 || nv >= n)
        return advml_error_set(err, ADVML_ERR_CONFIG,
                               "%s: training.validation_split: %g of the %lld train samples of %s leaves %lld for "
                               "validation and %lld for training; each needs at least one",
                               t->cfg.source, f, (long long)n, path, (long long)nv, (long long)(n - nv));
    int64_t *perm = malloc((size_t)n * sizeof *perm);
    unsigned char *held = calloc((size_t)n, 1);
    t->train_rows = malloc((size_t)(n - nv) * sizeof *t->train_rows);
    t->val_rows = malloc((size_t)nv * sizeof *t->val_rows);
    if (!perm || !held || !t->train_rows || !t->val_rows) {
        free(perm);
        free(held);
        return advml_error_set(err, ADVML_ERR_NOMEM, "out of memory for the validation split");
    }
    advml_permutation(perm, n, t->cfg.train.seed, VALIDATION_DRAW);
    for (int64_t i = 0; i < nv; i++)
        held[perm[i]] = 1;
    int64_t a = 0, b = 0;
    for (int64_t r = 0; r < n; r++) {
        if (held[r])
            t->val_rows[b++] = r;
        else
            t->train_rows[a++] = r;
    }
    free(perm);
    free(held);
    t->val = t->train;
    t->val.n = nv;
    t->train.n = n - nv;
    t->has_val = 1;
    return ADVML_OK;
}

/* The checks and settings of the training controls that need the data:
 * monitors need validation data, augmentation its shape, the schedule's
 * length the steps per epoch. */
static advml_status setup_control(advml_trainer *t, advml_error *err)
{
    advml_config *c = &t->cfg;
    advml_train_config *tc = &c->train;
    advml_schedule_config *sc = &c->schedule;
    const char *path = advml_dataset_path(t->ds);
    const struct {
        int on;
        const advml_monitor_config *m;
        const char *key;
    } mons[3] = {{sc->kind == ADVML_SCHED_PLATEAU, &sc->monitor, "optimizer.schedule.monitor"},
                 {tc->has_early_stopping, &tc->early_stopping, "training.early_stopping.monitor"},
                 {tc->has_best_checkpoint, &tc->best_checkpoint, "training.best_checkpoint.monitor"}};
    for (int i = 0; i < 3; i++)
        if (mons[i].on && !t->has_val)
            return advml_error_set(err, ADVML_ERR_CONFIG,
                                   "%s: %s: %s needs validation data, but %s has no validation split; add "
                                   "\"validation_split\": 0.1 to \"training\" to hold out a tenth of the train "
                                   "split (the test split never selects a model)",
                                   c->source, mons[i].key, advml_metric_name(mons[i].m->metric), path);
    const advml_augment_config *a = &tc->augment;
    if ((a->shift[0] || a->shift[1] || a->horizontal_flip) && c->model.input.rank != 3) {
        char sh[64];
        return advml_error_set(err, ADVML_ERR_CONFIG,
                               "%s: training.augment.%s: shifts and flips are for images [C, H, W], but the inputs "
                               "of %s are %s (\"noise\" applies to any input)",
                               c->source, a->horizontal_flip && !a->shift[0] && !a->shift[1] ? "horizontal_flip" : "shift",
                               path, advml_shape_str(&c->model.input, sh, sizeof sh));
    }
    if (c->model.input.rank == 3 && (a->shift[0] >= c->model.input.d[1] || a->shift[1] >= c->model.input.d[2]))
        return advml_error_set(err, ADVML_ERR_CONFIG,
                               "%s: training.augment.shift: [%d, %d] would move a %d x %d image out of view; expected "
                               "less than its height and width",
                               c->source, a->shift[0], a->shift[1], c->model.input.d[1], c->model.input.d[2]);
    if (advml_augment_active(a)) {
        double scale, mean, sd;
        advml_status s = advml_dataset_norm(t->ds, SPLIT_TRAIN, &scale, &mean, &sd, err);
        if (s)
            return s;
        t->aug_pad = (float)(-mean / sd);
    }
    /* the schedule's length, written into the effective config (so a resume
     * with more --epochs continues the same schedule) */
    const int64_t total = (int64_t)tc->epochs * ((t->train.n + tc->batch_size - 1) / tc->batch_size);
    if (sc->kind == ADVML_SCHED_COSINE && sc->decay_steps == 0)
        sc->decay_steps = total - sc->warmup_steps > 1 ? total - sc->warmup_steps : 1;
    if (sc->kind == ADVML_SCHED_ONECYCLE && sc->total_steps == 0)
        sc->total_steps = total;
    t->ctl = advml_control_start(sc->kind == ADVML_SCHED_PLATEAU ? &sc->monitor : NULL,
                                 tc->has_early_stopping ? &tc->early_stopping : NULL,
                                 tc->has_best_checkpoint ? &tc->best_checkpoint : NULL);
    return ADVML_OK;
}

/* training.class_weight against the model's classes: K weights for
 * categorical cross-entropy (given by class id: the rest weigh 1), 2 for
 * binary cross-entropy. */
static advml_status setup_class_weight(advml_trainer *t, advml_error *err)
{
    advml_train_config *tc = &t->cfg.train;
    if (tc->nclass_weight == 0)
        return ADVML_OK;
    const int K = t->cfg.model.loss == ADVML_LOSS_CCE ? (int)advml_shape_size(&t->model.out_shape) : 2;
    const char *what = t->cfg.model.loss == ADVML_LOSS_CCE ? "classes" : "target values (0 and 1)";
    if (tc->class_weight_by_id && tc->nclass_weight <= K) {
        tc->nclass_weight = K; /* the classes not named weigh 1 (set by the parser) */
        tc->class_weight_by_id = 0;
    }
    if (tc->class_weight_by_id)
        return advml_error_set(err, ADVML_ERR_CONFIG,
                               "%s: training.class_weight: names class %d, but the model has %d %s (ids 0 to %d)",
                               t->cfg.source, tc->nclass_weight - 1, K, what, K - 1);
    if (tc->nclass_weight != K)
        return advml_error_set(err, ADVML_ERR_CONFIG,
                               "%s: training.class_weight: %d weights, but the model has %d %s: give one weight each",
                               t->cfg.source, tc->nclass_weight, K, what);
    t->model.class_weight = tc->class_weight;
    return ADVML_OK;
}

static advml_status build(advml_trainer *t, advml_error *err)
{
    advml_status s;
    t->local_max = (t->cfg.train.batch_size + t->nranks - 1) / t->nranks;
    if (t->cfg.train.reproducible) { /* ceil(slots / N) slots of at most ceil(B / slots) samples */
        const int S = t->cfg.train.slots;
        t->slot_max = (t->cfg.train.batch_size + S - 1) / S;
        t->local_max = (S + t->nranks - 1) / t->nranks * t->slot_max;
    }
    if ((s = advml_model_build(&t->model, &t->cfg.model, t->local_max, err)))
        return advml_error_prefix(err, "%s: ", t->cfg.source);
    if ((s = advml_model_check_targets(&t->model, t->train.num_classes, t->train.target_dim, err)))
        return advml_error_prefix(err, "%s does not fit %s: ", advml_dataset_path(t->ds), t->cfg.source);
    if (t->cfg.train.readout == ADVML_READOUT_RIDGE) /* only the last layer may learn: the one solved for */
        for (int v = 0; v < t->model.nviews; v++) {
            const advml_param_view *pv = &t->model.views[v];
            if (pv->layer < t->model.nlayers - 1 && !pv->frozen) {
                const advml_layer *L = &t->model.layers[pv->layer];
                return advml_error_set(err, ADVML_ERR_CONFIG,
                                       "%s: training.readout: \"ridge\" fits only the last layer, but layer %d (%s) "
                                       "has trainable weights (%s); use readout \"gradient\", or freeze it "
                                       "(\"trainable\": false)",
                                       t->cfg.source, pv->layer, L->kind->name, pv->name);
            }
        }
    advml_model_init_params(&t->model, t->cfg.train.seed);
    if ((s = setup_class_weight(t, err)))
        return s;
    t->step_optim = t->cfg.optim;
    if ((s = advml_optim_init(&t->opt, &t->step_optim, t->model.nparams, err)))
        return s;
    t->in_floats = advml_shape_size(&t->cfg.model.input);
    t->target_floats = advml_model_target_size(&t->model);
    t->x = malloc((size_t)(t->local_max + 1) * t->in_floats * sizeof *t->x); /* + 1: augmentation's scratch */
    t->y = malloc((size_t)t->local_max * (size_t)t->target_floats * sizeof *t->y);
    t->perm = malloc((size_t)t->train.n * sizeof *t->perm);
    t->ids = malloc((size_t)t->local_max * sizeof *t->ids);
    if (t->cfg.train.has_early_stopping && t->cfg.train.restore_best_weights)
        t->best_params = malloc((t->model.nparams ? t->model.nparams : 1) * sizeof *t->best_params);
    if (!t->x || !t->y || !t->perm || !t->ids ||
        (t->cfg.train.has_early_stopping && t->cfg.train.restore_best_weights && !t->best_params))
        return advml_error_set(err, ADVML_ERR_NOMEM, "out of memory for the step buffers (%d samples of %zu floats)",
                               t->local_max, t->in_floats);
    if (t->cfg.train.reproducible) {
        /* OpenBLAS splits a GEMM differently on 2 threads than on 1 (measured:
         * other weights after 10 steps), so the mode fixes one thread per rank */
        openblas_set_num_threads(1);
        if (t->cfg.train.slots < t->nranks)
            return advml_error_set(err, ADVML_ERR_CONFIG,
                                   "%s: training.slots is %d, but the run has %d ranks; reproducible mode needs at "
                                   "least one slot per rank (raise training.slots; the weights then differ from "
                                   "runs with another slot count)",
                                   t->cfg.source, t->cfg.train.slots, t->nranks);
        int64_t lo, hi;
        share(t->cfg.train.slots, t->rank, t->nranks, &lo, &hi);
        t->slot_lo = (int)lo;
        t->slot_hi = (int)hi;
        size_t extra = (size_t)(t->slot_hi - t->slot_lo - 1), stride = t->model.nparams + ADVML_GRAD_EXTRA;
        t->slot_parts = malloc((extra + 1) * sizeof *t->slot_parts);
        if (!t->slot_parts || (extra > 0 && !(t->slot_grads = advml_bigbuf_alloc(extra * stride * sizeof(float)))))
            return advml_error_set(err, ADVML_ERR_NOMEM,
                                   "out of memory for %zu slot gradients of %zu floats (reproducible mode)", extra,
                                   t->model.nparams);
        for (size_t i = 0; i < extra; i++)
            t->slot_parts[i] = t->slot_grads + i * stride;
        t->slot_parts[extra] = t->model.grads;
        t->part_lo = malloc((extra + 2) * sizeof *t->part_lo);
        /* batchnorm reduces 2 C + 1 sums (its input's channels C) */
        for (int i = 0; i < t->model.nlayers; i++)
            if (t->model.layers[i].kind->collective && 2 * (size_t)t->model.layers[i].in_shape.d[0] + 1 > t->stat_max)
                t->stat_max = 2 * (size_t)t->model.layers[i].in_shape.d[0] + 1;
        if (t->stat_max)
            t->stat_table = malloc((size_t)t->cfg.train.slots * t->stat_max * sizeof *t->stat_table);
        if (!t->part_lo || (t->stat_max && !t->stat_table))
            return advml_error_set(err, ADVML_ERR_NOMEM, "out of memory for the slots' bounds and statistics "
                                   "(reproducible mode)");
    }
    return ADVML_OK;
}

/* --init-from (training.init_from): rank 0 reads the weights of the layers
 * the checkpoint has (or those training.init_layers names); every rank then
 * gets them with the broadcast of the initial weights. */
static advml_status init_from(advml_trainer *t, advml_error *err)
{
    const advml_train_config *tc = &t->cfg.train;
    if (!tc->init_from[0])
        return ADVML_OK;
    advml_status s = ADVML_OK;
    if (t->rank == 0)
        s = advml_checkpoint_read_layers(tc->init_from, &t->model, tc->ninit_layers ? tc->init_layers : NULL,
                                         tc->ninit_layers, &t->init_loaded, err);
    if ((s = agree(t, s, err)))
        return s;
    return advml_comm_bcast(t->comm, &t->init_loaded, sizeof t->init_loaded, 0, err);
}

/* Hold splits in memory while the (conservative, float32) estimate of their
 * size fits the remaining budget: train first, then validation, then test. */
static advml_status preload(advml_trainer *t, advml_error *err)
{
    double budget = t->cfg.train.memory_budget_mb * 1048576.0;
    const char *names[3] = {SPLIT_TRAIN, SPLIT_VAL, SPLIT_TEST};
    const advml_split_info *info[3] = {&t->train, t->has_val && !t->val_rows ? &t->val : NULL,
                                       t->has_test ? &t->test : NULL};
    for (int i = 0; i < 3; i++) {
        if (!info[i])
            continue;
        const int64_t rows = i == 0 ? t->file_train_n : info[i]->n; /* the held-out validation rows included */
        double need = (double)rows * ((double)t->in_floats + (info[i]->target_dim ? info[i]->target_dim : 1)) * 4.0;
        if (need > budget)
            continue;
        int loaded = 0;
        advml_status s = advml_dataset_preload(t->ds, names[i], (size_t)budget, &loaded, err);
        if (s)
            return s;
        if (loaded) {
            t->preloaded |= 1 << i;
            budget -= need;
        }
    }
    return ADVML_OK;
}

advml_status advml_trainer_setup(advml_trainer *t, const advml_config *cfg, advml_comm *comm, advml_error *err)
{
    memset(t, 0, sizeof *t);
    t->cfg = *cfg;
    t->comm = comm;
    t->rank = advml_comm_rank(comm);
    t->nranks = advml_comm_size(comm);
    t->last_ckpt_step = -1;
    t->eval_val_step = t->eval_test_step = -1;
    /* cfg was checked by advml_config_validate, the one place settings are validated */
    assert(cfg->train.epochs >= 1 && cfg->train.batch_size >= 1 && !advml_optim_check(&cfg->optim));
    advml_status s = ADVML_OK;
    if (!t->cfg.train.data[0])
        s = advml_error_set(err, ADVML_ERR_ARG, "%s: no dataset: give --data FILE.h5 or \"training\": {\"data\": ...}",
                            t->cfg.source);
    if ((s = agree(t, s, err)))
        return s;
    s = advml_dataset_open(&t->ds, t->cfg.train.data, err);
    if (!s)
        s = check_data(t, err);
    if (!s)
        s = split_validation(t, err);
    if (!s)
        s = setup_control(t, err);
    if ((s = agree(t, s, err)))
        return s;
    if ((s = agree(t, build(t, err), err)) || (s = init_from(t, err)))
        return s;
    /* Same seed gives the same weights everywhere; broadcasting rank 0's makes
     * the replicas identical by construction. */
    if ((s = advml_comm_bcast(comm, t->model.params, t->model.nparams * sizeof(float), 0, err)))
        return s;
    if ((s = agree(t, preload(t, err), err)))
        return s;
    t->config_json = advml_config_to_json(&t->cfg);
    return agree(t, t->config_json ? ADVML_OK : advml_error_set(err, ADVML_ERR_NOMEM, "out of memory"), err);
}

void advml_trainer_outputs(advml_trainer *t, advml_run *run, advml_progress *progress)
{
    t->run = t->rank == 0 ? run : NULL;
    t->progress = t->rank == 0 ? progress : NULL;
}

void advml_trainer_free(advml_trainer *t)
{
    if (t->ds)
        advml_dataset_close(t->ds);
    if (t->model.params || t->model.layers)
        advml_model_free(&t->model);
    advml_optim_free(&t->opt);
    free(t->x);
    free(t->y);
    free(t->perm);
    free(t->ids);
    free(t->train_rows);
    free(t->val_rows);
    free(t->best_params);
    advml_eval_free(&t->eval_val);
    advml_eval_free(&t->eval_test);
    free(t->slot_grads);
    free(t->slot_parts);
    free(t->part_lo);
    free(t->stat_table);
    free(t->config_json);
    memset(t, 0, sizeof *t);
}

/* ---- resume ------------------------------------------------------------------- */

/* Rank 0: read and check the checkpoint, fill the model and optimizer. */
static advml_status resume_read(advml_trainer *t, const char *path, advml_ckpt_state *st, advml_error *err)
{
    char *cjson = NULL;
    advml_optim_kind kind;
    int64_t nparams = 0;
    advml_status s = advml_checkpoint_read_header(path, st, &cjson, &kind, &nparams, err);
    if (s)
        return s;
    advml_config old;
    s = advml_config_parse(&old, cjson, path, err);
    free(cjson);
    if (s)
        return advml_error_prefix(err, "the checkpoint's config_json: ");
    char why[512];
    if (!advml_config_same_model(&old, &t->cfg, why, sizeof why))
        return advml_error_set(err, ADVML_ERR_CONFIG,
                               "%s was written for a different model than %s: %s (checkpoint vs config)", path,
                               t->cfg.source, why);
    if ((size_t)nparams != t->model.nparams)
        return advml_error_set(err, ADVML_ERR_FORMAT, "%s holds %lld parameters, the model has %zu", path,
                               (long long)nparams, t->model.nparams);
    if (kind != t->cfg.optim.kind)
        return advml_error_set(err, ADVML_ERR_CONFIG,
                               "%s holds the state of the optimizer %s, but this run uses %s; resume with "
                               "--optimizer %s",
                               path, advml_optim_name(kind), advml_optim_name(t->cfg.optim.kind),
                               advml_optim_name(kind));
    if ((uint64_t)st->seed != t->cfg.train.seed)
        return advml_error_set(err, ADVML_ERR_CONFIG,
                               "%s was written by a run with seed %lld, this run has seed %llu; resume with --seed "
                               "%lld (the seed fixes the data order and dropout)",
                               path, (long long)st->seed, (unsigned long long)t->cfg.train.seed, (long long)st->seed);
    if (st->cursor > 0 && old.train.batch_size != t->cfg.train.batch_size)
        return advml_error_set(err, ADVML_ERR_CONFIG,
                               "%s stopped in the middle of epoch %lld with batch size %d; this run has batch size "
                               "%d; resume with --batch-size %d",
                               path, (long long)st->epoch + 1, old.train.batch_size, t->cfg.train.batch_size,
                               old.train.batch_size);
    const int64_t nb = advml_trainer_batches_per_epoch(t);
    if (st->cursor > nb) /* cursor == nb: stopped after an epoch's last step, before its evaluation */
        return advml_error_set(err, ADVML_ERR_FORMAT,
                               "%s: cursor %lld is past the %lld batches of an epoch of %s", path,
                               (long long)st->cursor, (long long)nb, advml_dataset_path(t->ds));
    if (st->control.stopped_early > 0)
        return advml_error_set(err, ADVML_ERR_ARG,
                               "%s: early stopping ended this run after epoch %lld%s; it is complete. To train on "
                               "from its weights, start a new run with --init-from %s",
                               path, (long long)st->control.stopped_early,
                               st->control.restored_epoch > 0 ? " (and restored the best weights)" : "", path);
    if (st->epoch >= t->cfg.train.epochs)
        return advml_error_set(err, ADVML_ERR_ARG,
                               "%s has completed %lld epochs already, and this run asks for %d; pass --epochs N "
                               "with N > %lld to train further",
                               path, (long long)st->epoch, t->cfg.train.epochs, (long long)st->epoch);
    if (t->cfg.train.max_steps > 0 && st->step >= t->cfg.train.max_steps)
        return advml_error_set(err, ADVML_ERR_ARG,
                               "%s has taken %lld steps already, and this run stops at --max-steps %lld; raise "
                               "--max-steps to train further",
                               path, (long long)st->step, (long long)t->cfg.train.max_steps);
    return advml_checkpoint_read_state(path, &t->model, &t->opt, t->best_params, &t->have_best_params, err);
}

advml_status advml_trainer_resume(advml_trainer *t, const char *ckpt_path, advml_error *err)
{
    advml_ckpt_state st;
    memset(&st, 0, sizeof st);
    advml_status s = ADVML_OK;
    if (t->rank == 0)
        s = resume_read(t, ckpt_path, &st, err);
    if ((s = agree(t, s, err)))
        return s;
    size_t n = t->model.nparams;
    if ((s = advml_comm_bcast(t->comm, &st, sizeof st, 0, err)) ||
        (s = advml_comm_bcast(t->comm, t->model.params, n * sizeof(float), 0, err)) ||
        (s = advml_comm_bcast(t->comm, &t->opt.t, sizeof t->opt.t, 0, err)) ||
        (t->opt.m && (s = advml_comm_bcast(t->comm, t->opt.m, n * sizeof(float), 0, err))) ||
        (t->opt.v && (s = advml_comm_bcast(t->comm, t->opt.v, n * sizeof(float), 0, err))) ||
        (s = advml_comm_bcast(t->comm, &t->have_best_params, sizeof t->have_best_params, 0, err)) ||
        (t->have_best_params && (s = advml_comm_bcast(t->comm, t->best_params, n * sizeof(float), 0, err))))
        return s;
    if (st.have_control) /* else a checkpoint from before the controls: none was on */
        t->ctl = st.control;
    t->epoch = st.epoch;
    t->step = st.step;
    t->cursor = st.cursor;
    t->ep_loss = st.epoch_loss_sum;
    t->ep_correct = st.epoch_correct;
    t->ep_samples = st.epoch_samples;
    t->ep_seconds = st.epoch_seconds;
    t->last_ckpt_step = st.step;
    return ADVML_OK;
}

/* ---- checkpoints and the run file ----------------------------------------------- */

/* Rank 0: the state as a checkpoint at path. */
static advml_status write_checkpoint(advml_trainer *t, const char *path, advml_error *err)
{
    advml_ckpt_state st;
    memset(&st, 0, sizeof st);
    st.epoch = t->epoch;
    st.step = t->step;
    st.cursor = t->cursor;
    st.seed = (int64_t)t->cfg.train.seed;
    st.epoch_loss_sum = t->ep_loss;
    st.epoch_correct = t->ep_correct;
    st.epoch_samples = t->ep_samples;
    st.epoch_seconds = t->ep_seconds;
    st.have_control = 1;
    st.control = t->ctl;
    return advml_checkpoint_write(path, &t->model, &t->opt, &st, t->config_json,
                                  t->have_best_params ? t->best_params : NULL, err);
}

advml_status advml_trainer_checkpoint(advml_trainer *t, advml_error *err)
{
    advml_status s = ADVML_OK;
    if (t->run)
        s = write_checkpoint(t, t->run->ckpt_path, err);
    if ((s = agree(t, s, err)))
        return s;
    t->last_ckpt_step = t->step;
    return ADVML_OK;
}

static advml_status write_run(advml_trainer *t, advml_error *err)
{
    advml_status s = t->run ? advml_run_write(t->run, err) : ADVML_OK;
    return agree(t, s, err);
}

/* ---- evaluation ---------------------------------------------------------------- */

/* The context of a pass (training 1, or 0 for evaluation): the step's seed
 * and scratch; the caller adds the batch and, for training, the collective
 * layers' reduce. */
static advml_ctx pass_ctx(advml_trainer *t, int training)
{
    advml_ctx ctx = {0};
    ctx.training = training;
    ctx.seed = t->cfg.train.seed;
    ctx.step = (uint64_t)t->step;
    ctx.scratch = t->model.scratch;
    ctx.reduce_arg = t;
    return ctx;
}

/* Rows [i, i + B) of a split (of the held-out rows with validation_split):
 * one forward, its per-sample values into the table. */
static advml_status eval_block(advml_trainer *t, const char *split, int held_out, int64_t i, int B,
                               advml_eval_table *tab, advml_error *err)
{
    advml_status s = held_out ? advml_dataset_read(t->ds, SPLIT_TRAIN, t->val_rows + i, B, t->x, t->y, err)
                              : advml_dataset_read_block(t->ds, split, i, B, t->x, t->y, err);
    if (s)
        return s;
    advml_ctx ctx = pass_ctx(t, 0);
    ctx.B = B;
    advml_model_forward(&t->model, t->x, &ctx);
    advml_eval_table_add(tab, &t->model, t->y, B, i);
    return ADVML_OK;
}

advml_status advml_trainer_evaluate_all(advml_trainer *t, const char *split, advml_eval *e, advml_error *err)
{
    memset(e, 0, sizeof *e);
    const int held_out = t->val_rows && !strcmp(split, SPLIT_VAL); /* training.validation_split */
    advml_split_info info;
    advml_status s = ADVML_OK;
    if (held_out)
        info = t->val;
    else
        s = advml_dataset_info(t->ds, split, &info, err);
    advml_eval_table tab;
    memset(&tab, 0, sizeof tab);
    if (!s)
        s = advml_eval_table_init(&tab, &t->model, info.n, t->cfg.train.top_k, err);
    if ((s = agree(t, s, err))) {
        advml_eval_table_free(&tab);
        return s;
    }
    const int64_t E = t->cfg.train.reproducible ? t->slot_max : t->local_max;
    advml_status local = ADVML_OK;
    if (!t->cfg.train.reproducible) { /* a contiguous range per rank */
        int64_t lo, hi;
        share(info.n, t->rank, t->nranks, &lo, &hi);
        for (int64_t i = lo; i < hi && !local; i += E)
            local = eval_block(t, split, held_out, i, (int)(hi - i < E ? hi - i : E), &tab, err);
    } else { /* fixed blocks of E rows whatever N is: the same forward, bit for bit, for any N */
        const int64_t nb = (info.n + E - 1) / E;
        int64_t lo = 0, hi = 0;
        share(nb, t->rank, t->nranks, &lo, &hi);
        for (int64_t b = lo; b < hi && !local; b++)
            local = eval_block(t, split, held_out, b * E, (int)(info.n - b * E < E ? info.n - b * E : E), &tab, err);
    }
    /* Each slot of the table has one contributor: the sum is exact and the
     * same on every rank, and the metrics are then summed in sample order. */
    if (!(s = agree(t, local, err)) &&
        !(s = advml_comm_allreduce_sum_f64(t->comm, tab.v, advml_eval_table_size(&tab), err)))
        s = agree(t, advml_eval_compute(&tab, e, err), err);
    advml_eval_table_free(&tab);
    if (s)
        advml_eval_free(e);
    return s;
}

advml_status advml_trainer_evaluate(advml_trainer *t, const char *split, double *loss, double *accuracy,
                                    advml_error *err)
{
    advml_eval e;
    advml_status s = advml_trainer_evaluate_all(t, split, &e, err);
    if (s)
        return s;
    *loss = e.loss;
    *accuracy = e.accuracy;
    advml_eval_free(&e);
    return ADVML_OK;
}

double advml_trainer_lr(const advml_trainer *t)
{
    return advml_schedule_lr(&t->cfg.schedule, (double)t->cfg.optim.lr, t->step, t->epoch, t->ctl.plateau_scale);
}

/* ---- training ---------------------------------------------------------------- */

/* The message for a non-finite loss or gradient at global batch k (the same
 * on every rank; only rank 0's names the checkpoint it keeps). */
static advml_status nonfinite_error(const advml_trainer *t, const char *what, int64_t k, advml_error *err)
{
    const int64_t nb = advml_trainer_batches_per_epoch(t);
    char kept[ADVML_PATH_MAX + 96];
    if (t->last_ckpt_step >= 0 && t->run)
        snprintf(kept, sizeof kept, "; the last good checkpoint (after step %lld) is kept in %s",
                 (long long)t->last_ckpt_step, t->run->ckpt_path);
    else if (t->last_ckpt_step >= 0)
        snprintf(kept, sizeof kept, "; the last good checkpoint is after step %lld", (long long)t->last_ckpt_step);
    else
        snprintf(kept, sizeof kept, "; no checkpoint was written before it");
    return advml_error_set(err, ADVML_ERR_NUMERIC,
                           "non-finite %s at step %lld (epoch %lld, batch %lld of %lld); training stopped on all "
                           "ranks and nothing of this step was saved%s. Try a smaller learning rate (--lr) or "
                           "training.clip_norm",
                           what, (long long)t->step + 1, (long long)t->epoch + 1, (long long)k + 1, (long long)nb,
                           t->rank == 0 ? kept : "");
}

/* The reduce hook of the model context (batchnorm's global statistics): one
 * allreduce; a failure is kept for train_step to report. */
static void trainer_reduce(void *arg, double *buf, size_t n)
{
    advml_trainer *t = arg;
    advml_error e;
    advml_status s = advml_comm_allreduce_sum_f64(t->comm, buf, n, &e);
    if (s && !t->reduce_status) {
        t->reduce_status = s;
        t->reduce_err = e;
    }
}

/* Reproducible mode's hooks (ctx.reduce_part, ctx.reduce): each local slot's
 * sums go to the slot's row of the table (+ 0.0 turns a -0 into +0, so that
 * adding the other ranks' zeros cannot change a bit); the allreduce then
 * fills every row on every rank exactly (one contributor each), and the rows
 * are added in slot order, the same sum for any N. */
static void trainer_stage_part(void *arg, const double *buf, size_t n)
{
    advml_trainer *t = arg;
    if (t->stat_staged == 0)
        memset(t->stat_table, 0, (size_t)t->cfg.train.slots * n * sizeof *t->stat_table);
    double *row = t->stat_table + (size_t)(t->slot_lo + t->stat_staged) * n;
    for (size_t k = 0; k < n; k++)
        row[k] = buf[k] + 0.0;
    t->stat_staged++;
}

static void trainer_reduce_slots(void *arg, double *buf, size_t n)
{
    advml_trainer *t = arg;
    advml_error e;
    const int S = t->cfg.train.slots;
    if (t->stat_staged == 0) /* no part staged (cannot happen: every rank has a slot) */
        memset(t->stat_table, 0, (size_t)S * n * sizeof *t->stat_table);
    t->stat_staged = 0;
    advml_status s = advml_comm_allreduce_sum_f64(t->comm, t->stat_table, (size_t)S * n, &e);
    if (s && !t->reduce_status) {
        t->reduce_status = s;
        t->reduce_err = e;
    }
    for (size_t k = 0; k < n; k++)
        buf[k] = 0.0;
    for (int j = 0; j < S; j++)
        for (size_t k = 0; k < n; k++)
            buf[k] += t->stat_table[(size_t)j * n + k];
}

/* A pass without samples (none on this rank, or its read failed): the
 * forward and backward still join the collective layers' reduces. */
static void empty_pass(advml_model *m, advml_ctx *ctx)
{
    ctx->B = 0;
    advml_model_forward(m, NULL, ctx);
    advml_model_backward(m, NULL, NULL, ctx);
}

/* Reads the nloc > 0 training samples at positions pos of the epoch's order
 * into t->x and t->y (positions map to rows of the train split, through
 * t->train_rows when some rows are held out for validation) and augments
 * them when asked; *ids gets their rows (t->ids or pos itself). */
static advml_status read_batch(advml_trainer *t, const int64_t *pos, int nloc, const int64_t **ids, advml_error *err)
{
    *ids = pos;
    if (t->train_rows) {
        for (int j = 0; j < nloc; j++)
            t->ids[j] = t->train_rows[pos[j]];
        *ids = t->ids;
    }
    advml_status st = advml_dataset_read(t->ds, SPLIT_TRAIN, *ids, nloc, t->x, t->y, err);
    if (!st && advml_augment_active(&t->cfg.train.augment))
        advml_augment_batch(&t->cfg.train.augment, t->x, nloc, &t->cfg.model.input, *ids, t->cfg.train.seed,
                            (uint64_t)t->epoch, (float)t->aug_pad, t->x + (size_t)t->local_max * t->in_floats);
    return st;
}

/* Forward and backward of the nloc samples at positions pos of the epoch's
 * order (augmented when asked) into m->grads (which the
 * caller zeroed), with the extra slots flag, loss, correct and count set in
 * extra. A failed read sets the READ_FAIL flag and is returned. */
static advml_status micro_batch(advml_trainer *t, const int64_t *pos, int nloc, float *extra, advml_error *err)
{
    advml_model *m = &t->model;
    for (int i = 0; i < ADVML_GRAD_EXTRA; i++)
        extra[i] = 0.0f;
    advml_ctx ctx = pass_ctx(t, 1);
    ctx.reduce = m->collective ? trainer_reduce : NULL; /* batchnorm: statistics of the global batch */
    const int64_t *ids = NULL;
    advml_status local = nloc > 0 ? read_batch(t, pos, nloc, &ids, err) : ADVML_OK;
    if (nloc <= 0 || local) {
        if (local)
            extra[X_FLAG] = READ_FAIL;
        empty_pass(m, &ctx);
        return local;
    }
    ctx.B = nloc;
    ctx.sample_ids = ids;
    advml_model_forward(m, t->x, &ctx);
    double l = advml_model_loss(m, t->y, nloc);
    double c = advml_model_correct(m, t->y, nloc);
    advml_model_backward(m, t->x, t->y, &ctx);
    extra[X_FLAG] = isfinite(l) ? 0.0f : 1.0f;
    extra[X_LOSS] = (float)l;
    extra[X_CORRECT] = (float)c;
    extra[X_COUNT] = (float)nloc;
    return ADVML_OK;
}

/* Reproducible mode: forward and backward of this rank's slots of the bsz
 * samples at positions pos of the epoch's order, as the parts of one pass:
 * slot j of S holds samples [bsz j / S, bsz (j + 1) / S) of the batch,
 * whatever N is, and goes to its own gradient buffer (t->slot_parts, zeroed
 * here but for model.grads when the last step cleared it) with its own
 * extra slots. A failed read sets the READ_FAIL flag and is returned. */
static advml_status slot_batch(advml_trainer *t, const int64_t *pos, int64_t bsz, advml_error *err)
{
    advml_model *m = &t->model;
    const int S = t->cfg.train.slots, np = t->slot_hi - t->slot_lo;
    const size_t stride = m->nparams + ADVML_GRAD_EXTRA;
    int64_t first = 0, a, b;
    for (int j = t->slot_lo; j < t->slot_hi; j++) {
        share(bsz, j, S, &a, &b);
        if (j == t->slot_lo)
            first = a;
        t->part_lo[j - t->slot_lo] = (int)(a - first);
        t->part_lo[j - t->slot_lo + 1] = (int)(b - first);
        float *buf = t->slot_parts[j - t->slot_lo];
        if (buf != m->grads || !t->grads_clear)
            memset(buf, 0, stride * sizeof *buf);
    }
    const int nloc = t->part_lo[np];
    advml_ctx ctx = pass_ctx(t, 1);
    ctx.nparts = np;
    ctx.part_lo = t->part_lo;
    ctx.part_grads = t->slot_parts;
    ctx.reduce = m->collective ? trainer_reduce_slots : NULL; /* batchnorm: per slot, in slot order */
    ctx.reduce_part = m->collective ? trainer_stage_part : NULL;
    const int64_t *ids = NULL;
    advml_status local = nloc > 0 ? read_batch(t, pos + first, nloc, &ids, err) : ADVML_OK;
    if (nloc <= 0 || local) {
        if (local) {
            t->slot_parts[0][m->nparams + X_FLAG] = READ_FAIL;
            for (int p = 0; p <= np; p++) /* empty parts: the reduces, as a rank without samples */
                t->part_lo[p] = 0;
        }
        empty_pass(m, &ctx);
        return local;
    }
    ctx.B = nloc;
    ctx.sample_ids = ids;
    advml_model_forward(m, t->x, &ctx);
    for (int p = 0; p < np; p++) {
        const int lo = t->part_lo[p], n = t->part_lo[p + 1] - lo;
        float *extra = t->slot_parts[p] + m->nparams;
        double l = advml_model_loss_part(m, t->y, lo, n);
        extra[X_FLAG] = isfinite(l) ? 0.0f : 1.0f;
        extra[X_LOSS] = (float)l;
        extra[X_CORRECT] = (float)advml_model_correct_part(m, t->y, lo, n);
        extra[X_COUNT] = (float)n;
    }
    advml_model_backward(m, t->x, t->y, &ctx);
    return ADVML_OK;
}

/* One optimizer step on global batch k of the epoch. Every status it returns
 * is the same on all ranks (a failed read is agreed on; the finiteness test
 * reads the reduced sums, which are identical everywhere). */
static advml_status train_step(advml_trainer *t, int64_t k, advml_error *err)
{
    advml_model *m = &t->model;
    const int64_t B = t->cfg.train.batch_size, n = t->train.n;
    const int64_t start = k * B, bsz = (n - start < B) ? n - start : B;
    const size_t stride = m->nparams + ADVML_GRAD_EXTRA;
    float *extra = m->grads + m->nparams;
    advml_status local = ADVML_OK, s;
    double t0;
    if (!t->cfg.train.reproducible) {
        int64_t lo, hi;
        share(bsz, t->rank, t->nranks, &lo, &hi);
        if (!t->grads_clear)
            advml_model_zero_grads(m);
        local = micro_batch(t, t->perm + start + lo, (int)(hi - lo), extra, err);
        local_stops(t, extra + X_STOP); /* a caught signal travels with the gradients */
        t0 = advml_comm_wtime();
        s = advml_comm_allreduce_sum_f32(t->comm, m->grads, stride, err);
    } else {
        local = slot_batch(t, t->perm + start, bsz, err);
        local_stops(t, extra + X_STOP);
        t0 = advml_comm_wtime();
        s = advml_comm_ordered_sum_f32(t->comm, t->slot_parts, t->slot_hi - t->slot_lo, m->grads, stride, err);
    }
    t->grads_clear = 0;
    t->allreduce_seconds += advml_comm_wtime() - t0;
    if (s)
        return s;
    if (t->reduce_status) { /* batchnorm's allreduce failed (an MPI error, on every rank) */
        if (err)
            *err = t->reduce_err;
        return t->reduce_status;
    }
    if (extra[X_FLAG] >= READ_FAIL) /* a rank's read failed: carry its message to rank 0 */
        return agree(t, local, err);

    /* A non-finite loss stops before the step. A non-finite gradient is found
     * by the step itself, in its one pass over the gradients: the weights it
     * then leaves are discarded, as every rank stops and nothing is saved. */
    if (extra[X_FLAG] != 0.0f || !isfinite(extra[X_LOSS]))
        return nonfinite_error(t, "loss", k, err);
    const float scale = 1.0f / (float)bsz;
    if (t->cfg.train.clip_norm > 0) /* a non-finite norm leaves the gradients as they are */
        advml_clip_grad_norm(m->grads, m->nparams, scale, t->cfg.train.clip_norm);
    t->step_optim.lr = (float)advml_trainer_lr(t); /* the schedule's, at this global step */
    t->ctl.lr = advml_float_shortest(t->step_optim.lr);
    /* the step clears the gradients as it reads them: no clearing pass next step */
    if (advml_optim_step_clear(&t->opt, m->params, m->grads, scale, m->views, m->nviews))
        return nonfinite_error(t, "gradient", k, err);
    t->grads_clear = 1;
    t->step++;
    t->cursor = k + 1;
    t->ep_loss += extra[X_LOSS];
    t->ep_correct += extra[X_CORRECT];
    t->ep_samples += extra[X_COUNT];
    if (t->run) /* room reserved at the start of the epoch: cannot fail */
        advml_run_add_step(t->run, t->step, (int32_t)(t->epoch + 1), extra[X_LOSS] / (double)bsz, t->ctl.lr, NULL);
    t->stop_signal = agreed_stop(extra + X_STOP); /* the same sums, so the same decision, on every rank */
    return ADVML_OK;
}

/* ---- the closed-form readout ------------------------------------------------------ */

/* training.readout "ridge": the epoch's training part. The model runs once
 * over the train split (no permutation: a sum does not care); each rank adds
 * the readout's input rows and targets of its samples into the normal
 * equations' sums (include/advml/ridge.h), ONE reduction adds the ranks', and
 * every rank solves the same system into the last (dense) layer's weights.
 * Reproducible mode: the samples fall into training.slots fixed slots, each
 * summed alone in blocks of slot_max rows from its start, and the slots are
 * added in slot order (advml_comm_ordered_sum_f64): the same bits for any N.
 * Otherwise each rank sums its contiguous share and the shares are added by
 * an allreduce (equal to rounding). The epoch's train loss is the mean
 * squared error of the double solution, from the sums. Counts as one step. */
static advml_status ridge_epoch(advml_trainer *t, advml_error *err)
{
    advml_model *m = &t->model;
    const int nl = m->nlayers;
    advml_layer *R = &m->layers[nl - 1];
    const advml_ridge rd = advml_ridge_dims(R->in_shape.d[0], R->spec.units, R->spec.use_bias);
    const int repro = t->cfg.train.reproducible, nparts = repro ? t->slot_hi - t->slot_lo : 1;
    /* blocks of rows: in reproducible mode slot_max (ceil(B / slots), whatever N is), so that each
     * slot's sums are made of the same dsyrk/dgemm calls on any number of ranks */
    const int64_t n = t->train.n, E = repro ? t->slot_max : t->local_max;
    double *acc = calloc((size_t)nparts * rd.size, sizeof *acc); /* (nparts, rd.size) */
    double *work = malloc(advml_ridge_work_doubles(&rd, (int)E) * sizeof *work);
    double **parts = malloc((size_t)nparts * sizeof *parts);
    advml_status local = ADVML_OK, s;
    if (!acc || !work || !parts)
        local = advml_error_set(err, ADVML_ERR_NOMEM,
                                "ridge readout: out of memory for %d sums of %zu doubles (%d readout inputs)", nparts,
                                rd.size, rd.P);
    const double t0 = advml_comm_wtime();
    advml_ctx ctx = pass_ctx(t, 0);
    for (int p = 0; p < nparts && !local; p++) {
        parts[p] = acc + (size_t)p * rd.size;
        int64_t lo, hi;
        if (repro)
            share(n, t->slot_lo + p, t->cfg.train.slots, &lo, &hi);
        else
            share(n, t->rank, t->nranks, &lo, &hi);
        for (int64_t i = lo; i < hi && !local; i += E) {
            const int nb = (int)(hi - i < E ? hi - i : E);
            for (int j = 0; j < nb; j++) /* positions -> rows of the train split */
                t->ids[j] = t->train_rows ? t->train_rows[i + j] : i + j;
            if ((local = advml_dataset_read(t->ds, SPLIT_TRAIN, t->ids, nb, t->x, t->y, err)))
                break;
            ctx.B = nb;
            ctx.sample_ids = t->ids;
            advml_model_forward(m, t->x, &ctx);
            const float *feat = nl > 1 ? m->layers[nl - 2].out : t->x; /* (nb, P) the readout's input */
            advml_ridge_accumulate(&rd, parts[p], feat, t->y, nb, work);
        }
    }
    const double t1 = advml_comm_wtime();
    if (!(s = agree(t, local, err)))
        s = repro ? advml_comm_ordered_sum_f64(t->comm, parts, nparts, parts[nparts - 1], rd.size, err)
                  : advml_comm_allreduce_sum_f64(t->comm, acc, rd.size, err);
    const double t2 = advml_comm_wtime();
    double sse = 0.0;
    const double *sum = repro && parts ? parts[nparts - 1] : acc;
    if (!s) {
        float *w = m->params + R->param_offset + R->views[0].offset;
        float *b = R->nviews > 1 ? m->params + R->param_offset + R->views[1].offset : NULL;
        s = agree(t, advml_ridge_solve(&rd, sum, t->cfg.train.ridge_lambda, w, b, &sse, err), err);
    }
    const double t3 = advml_comm_wtime();
    if (!s) {
        t->ridge_rows = (int64_t)sum[rd.size - 1];
        t->ridge_seconds[0] = t1 - t0;
        t->ridge_seconds[1] = t2 - t1;
        t->ridge_seconds[2] = t3 - t2;
        t->ep_loss = sse / rd.K; /* the per-sample loss is the mean over the K outputs */
        t->ep_samples = (double)t->ridge_rows;
        t->step++;
        t->cursor = advml_trainer_batches_per_epoch(t);
        if (t->run) {
            t->run->ridge = 1;
            t->run->ridge_lambda = t->cfg.train.ridge_lambda;
            t->run->ridge_rows = t->ridge_rows;
            memcpy(t->run->ridge_seconds, t->ridge_seconds, sizeof t->ridge_seconds);
            /* room reserved at the start of the epoch: cannot fail */
            advml_run_add_step(t->run, t->step, (int32_t)(t->epoch + 1), t->ep_loss / t->ep_samples, NAN, NULL);
        }
    }
    free(acc);
    free(work);
    free(parts);
    return s;
}

/* ---- after an epoch: evaluation and the training controls ----------------------- */

/* Evaluate the validation split (and the test split when asked every epoch)
 * into em and t->eval_*. */
static advml_status evaluate_epoch(advml_trainer *t, advml_epoch_metrics *em, advml_error *err)
{
    advml_status s;
    em->val_loss = em->val_accuracy = em->test_loss = em->test_accuracy = NAN;
    em->val_top_k_accuracy = em->test_top_k_accuracy = em->val_mae = em->test_mae = em->val_r2 = em->test_r2 = NAN;
    const struct {
        int on;
        const char *split;
        advml_eval *e;
        int64_t *at;
        double *loss, *acc, *topk, *mae, *r2;
    } ev[2] = {{t->has_val, SPLIT_VAL, &t->eval_val, &t->eval_val_step, &em->val_loss, &em->val_accuracy,
                &em->val_top_k_accuracy, &em->val_mae, &em->val_r2},
               {t->has_test && t->cfg.train.test_every_epoch, SPLIT_TEST, &t->eval_test, &t->eval_test_step,
                &em->test_loss, &em->test_accuracy, &em->test_top_k_accuracy, &em->test_mae, &em->test_r2}};
    for (int i = 0; i < 2; i++) {
        if (!ev[i].on)
            continue;
        advml_eval_free(ev[i].e);
        *ev[i].at = -1;
        if (t->progress)
            advml_progress_note(t->progress, i == 0 ? "evaluating validation" : "evaluating test");
        if ((s = advml_trainer_evaluate_all(t, ev[i].split, ev[i].e, err)))
            return s;
        *ev[i].at = t->step;
        *ev[i].loss = ev[i].e->loss;
        *ev[i].acc = ev[i].e->accuracy;
        *ev[i].topk = ev[i].e->top_k_accuracy;
        *ev[i].mae = ev[i].e->mae;
        *ev[i].r2 = ev[i].e->r2;
    }
    return ADVML_OK;
}

/* The value of a validation metric in the last evaluation. */
static double monitored(const advml_trainer *t, advml_metric m)
{
    const advml_eval *e = &t->eval_val;
    switch (m) {
    case ADVML_METRIC_VAL_LOSS: return e->loss;
    case ADVML_METRIC_VAL_ACCURACY: return e->accuracy;
    case ADVML_METRIC_VAL_TOP_K_ACCURACY: return e->top_k_accuracy;
    case ADVML_METRIC_VAL_MAE: return e->mae;
    case ADVML_METRIC_VAL_R2: return e->r2;
    case ADVML_METRIC_NKINDS: break;
    }
    return NAN;
}

static void note(advml_trainer *t, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* A line about training control, kept until the epoch's line is printed
 * (rank 0; flush_notes prints them under it). */
static void note(advml_trainer *t, const char *fmt, ...)
{
    if (!t->progress)
        return;
    size_t len = strlen(t->notes);
    if (len + 2 >= sizeof t->notes)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->notes + len, sizeof t->notes - len - 1, fmt, ap);
    va_end(ap);
    len = strlen(t->notes);
    t->notes[len] = '\n';
    t->notes[len + 1] = '\0';
}

static void flush_notes(advml_trainer *t)
{
    char *line = t->notes, *nl;
    while (t->progress && (nl = strchr(line, '\n'))) {
        *nl = '\0';
        advml_progress_control_note(t->progress, line);
        line = nl + 1;
    }
    t->notes[0] = '\0';
}

/* After (1-based) epoch: reduce-on-plateau, the best checkpoint's monitor,
 * early stopping; every rank decides the same (the metric is exactly
 * gathered). Returns 1 when early stopping ends the run. */
static int control_epoch(advml_trainer *t, int64_t epoch)
{
    const advml_train_config *tc = &t->cfg.train;
    const advml_schedule_config *sc = &t->cfg.schedule;
    const double base = (double)t->cfg.optim.lr;
    if (sc->kind == ADVML_SCHED_PLATEAU) {
        double before = advml_schedule_lr(sc, base, t->step, t->epoch, t->ctl.plateau_scale);
        if (advml_plateau_update(sc, &t->ctl.plateau, base, &t->ctl.plateau_scale, monitored(t, sc->monitor.metric)))
            note(t, "reduce-on-plateau: %s has not improved for %d epochs: lr %.4g -> %.4g",
                 advml_metric_name(sc->monitor.metric), sc->monitor.patience, before,
                 advml_schedule_lr(sc, base, t->step, t->epoch, t->ctl.plateau_scale));
    }
    t->best_improved = 0;
    if (tc->has_best_checkpoint) {
        double v = monitored(t, tc->best_checkpoint.metric);
        if (advml_monitor_improves(&tc->best_checkpoint, t->ctl.best.best, v)) {
            t->ctl.best.best = v;
            t->ctl.best.best_epoch = epoch;
            t->best_improved = 1;
        }
    }
    int stop = 0;
    if (tc->has_early_stopping) {
        double v = monitored(t, tc->early_stopping.metric);
        if (advml_early_stopping_update(&tc->early_stopping, &t->ctl.early_stopping, epoch, v, &stop) &&
            t->best_params) {
            memcpy(t->best_params, t->model.params, t->model.nparams * sizeof *t->best_params);
            t->have_best_params = 1;
        }
    }
    return stop;
}

/* The outputs of the controls after an epoch (the counters already past it):
 * the best checkpoint when it improved; when early stopping ends the run,
 * the best weights restored (restore_best_weights) and the stop recorded, so
 * that the checkpoint written next holds them. */
static advml_status control_outputs(advml_trainer *t, int stop, advml_error *err)
{
    const advml_train_config *tc = &t->cfg.train;
    advml_status s = ADVML_OK;
    if (t->best_improved && t->run) {
        s = write_checkpoint(t, t->run->best_path, err);
        if (!s)
            advml_run_set_best(t->run, advml_metric_name(tc->best_checkpoint.metric), t->ctl.best.best_epoch,
                               t->ctl.best.best);
    }
    if ((s = agree(t, s, err)))
        return s;
    if (t->best_improved)
        note(t, "best checkpoint: %s %.6g%s", advml_metric_name(tc->best_checkpoint.metric), t->ctl.best.best,
             t->run ? "" : " (no --out: not written)");
    if (!stop)
        return ADVML_OK;
    const advml_monitor_state *es = &t->ctl.early_stopping;
    t->ctl.stopped_early = t->epoch;
    if (tc->restore_best_weights && t->have_best_params) {
        memcpy(t->model.params, t->best_params, t->model.nparams * sizeof *t->best_params);
        t->ctl.restored_epoch = es->best_epoch;
    }
    note(t, "early stopping: %s has not improved for %lld epochs (best %.6g after epoch %lld); stopped after epoch "
            "%lld%s",
         advml_metric_name(tc->early_stopping.metric), (long long)es->wait, es->best, (long long)es->best_epoch,
         (long long)t->epoch, t->ctl.restored_epoch ? ", restored the best weights" : "");
    if (t->run)
        advml_run_set_stopped_early(t->run, t->ctl.stopped_early, t->ctl.restored_epoch);
    return ADVML_OK;
}

/* At the end (the launch ends at an epoch's end without a signal): the
 * validation and test splits evaluated with the final weights (reusing the
 * last epoch's evaluation when the weights are those it saw), recorded in the
 * run file's /evaluation. */
static advml_status final_evaluation(advml_trainer *t, advml_error *err)
{
    if (t->stop_signal || t->cursor != 0 || !t->have_last)
        return ADVML_OK;
    const int same = t->ctl.restored_epoch == 0; /* no weights restored since the last evaluation */
    const struct {
        int on;
        const char *split;
        advml_eval *e;
        int64_t *at;
    } ev[2] = {{t->has_val, SPLIT_VAL, &t->eval_val, &t->eval_val_step},
               {t->has_test, SPLIT_TEST, &t->eval_test, &t->eval_test_step}};
    advml_status s = ADVML_OK;
    for (int i = 0; i < 2; i++) {
        if (!ev[i].on)
            continue;
        if (!(same && *ev[i].at == t->step)) {
            advml_eval_free(ev[i].e);
            *ev[i].at = -1;
            if ((s = advml_trainer_evaluate_all(t, ev[i].split, ev[i].e, err)))
                return s;
            *ev[i].at = t->step;
        }
        s = t->run ? advml_run_set_evaluation(t->run, ev[i].split, ev[i].e, t->epoch, t->step, err) : ADVML_OK;
        if ((s = agree(t, s, err)))
            return s;
    }
    return write_run(t, err);
}

advml_status advml_trainer_fit(advml_trainer *t, advml_error *err)
{
    const advml_train_config *tc = &t->cfg.train;
    const int64_t B = tc->batch_size, n = t->train.n, nb = advml_trainer_batches_per_epoch(t);
    const int classify = t->cfg.model.loss != ADVML_LOSS_MSE;
    advml_status s;
    while (t->epoch < tc->epochs) {
        if (t->cursor == 0)
            t->ep_loss = t->ep_correct = t->ep_samples = t->ep_seconds = 0;
        advml_permutation(t->perm, n, tc->seed, (uint64_t)t->epoch);
        if (t->progress)
            advml_progress_epoch_start(t->progress, (int)t->epoch + 1, tc->epochs, n,
                                       t->cursor * B < n ? t->cursor * B : n);
        double t0 = advml_comm_wtime() - t->ep_seconds;
        int stopped = 0;
        /* Room for this epoch's step metrics now, so that recording cannot fail mid-epoch. */
        s = t->run ? advml_run_reserve(t->run, nb - t->cursor, 1, err) : ADVML_OK;
        if ((s = agree(t, s, err)))
            return s;
        if (tc->readout == ADVML_READOUT_RIDGE && t->cursor < nb && (s = ridge_epoch(t, err)))
            return s; /* the solve: the loop below then has nothing left to do */
        for (int64_t k = t->cursor; k < nb; k++) {
            if (tc->max_steps > 0 && t->step >= tc->max_steps) {
                stopped = 1;
                break;
            }
            if ((s = train_step(t, k, err)))
                return s; /* decided identically on every rank */
            if (t->progress)
                advml_progress_update(t->progress, (k + 1) * B < n ? (k + 1) * B : n, t->ep_loss / t->ep_samples,
                                      classify ? t->ep_correct / t->ep_samples : NAN);
            if (t->stop_signal) {
                /* a signal: save this step (the cursor may be nb: the resumed run
                 * then starts with this epoch's evaluation) */
                t->ep_seconds = advml_comm_wtime() - t0;
                if (t->progress)
                    advml_progress_clear(t->progress);
                if ((s = write_run(t, err)))
                    return s;
                return t->step > t->last_ckpt_step ? advml_trainer_checkpoint(t, err) : ADVML_OK;
            }
            if (tc->checkpoint_steps > 0 && t->step % tc->checkpoint_steps == 0 && t->cursor < nb) {
                t->ep_seconds = advml_comm_wtime() - t0;
                if ((s = write_run(t, err)) || (s = advml_trainer_checkpoint(t, err)))
                    return s;
            }
        }
        t->ep_seconds = advml_comm_wtime() - t0;
        if (stopped) {
            /* --max-steps inside an epoch: save where we are. */
            if (t->progress)
                advml_progress_clear(t->progress);
            if ((s = write_run(t, err)))
                return s;
            return t->step > t->last_ckpt_step ? advml_trainer_checkpoint(t, err) : ADVML_OK;
        }

        advml_epoch_metrics em;
        em.epoch = (int32_t)(t->epoch + 1);
        em.step = t->step;
        em.train_loss = t->ep_samples > 0 ? t->ep_loss / t->ep_samples : NAN;
        em.train_accuracy = classify && t->ep_samples > 0 ? t->ep_correct / t->ep_samples : NAN;
        if ((s = evaluate_epoch(t, &em, err)))
            return s;
        em.learning_rate = tc->readout == ADVML_READOUT_RIDGE ? NAN /* no gradient steps */
                           : t->ctl.lr > 0 ? t->ctl.lr : advml_float_shortest((float)advml_trainer_lr(t));
        em.epoch_seconds = t->ep_seconds;
        em.images_per_second = t->ep_seconds > 0 ? t->ep_samples / t->ep_seconds : NAN;
        int stop = control_epoch(t, em.epoch);
        t->last = em;
        t->have_last = 1;
        t->epoch++;
        t->cursor = 0;
        t->ep_loss = t->ep_correct = t->ep_samples = t->ep_seconds = 0;
        s = t->run ? advml_run_add_epoch(t->run, &em, err) : ADVML_OK;
        if ((s = agree(t, s, err)))
            return s;
        if (t->progress)
            advml_progress_epoch_end(t->progress, &em);
        s = control_outputs(t, stop, err);
        flush_notes(t);
        if (s || (s = write_run(t, err)) || (s = advml_trainer_checkpoint(t, err)))
            return s;
        if (stop)
            break;
        if (tc->max_steps > 0 && t->step >= tc->max_steps)
            break;
        /* a signal caught during the evaluation or the checkpoint: stop here,
         * with everything saved, rather than after one more step */
        if (t->epoch < tc->epochs && ((s = advml_trainer_poll_stop(t, err)) || t->stop_signal))
            return s;
    }
    return final_evaluation(t, err);
}

/* train.c - the data-parallel training loop (see include/advml/train.h).
 *
 * One step, on every rank:
 *   ids   = my slice of global batch k of perm(seed, epoch)
 *   x, y  = dataset rows ids                          (from disk or memory)
 *   grads = d(sum of my losses)/dw; extras = [flag, loss sum, correct, count]
 *   allreduce(grads + extras)                         (ONE call)
 *   check flag and loss are finite                    (identical on all ranks)
 *   optimizer step with grad_scale = 1 / global batch size, which also
 *     checks the reduced grads are finite              (identical on all ranks)
 */
#include "advml/train.h"

#include <cblas.h>

#include "advml/bigbuf.h"
#include "advml/numfmt.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static advml_status build(advml_trainer *t, advml_error *err)
{
    advml_status s;
    t->local_max = (t->cfg.train.batch_size + t->nranks - 1) / t->nranks;
    if (t->cfg.train.reproducible) /* one slot at a time: at most ceil(B / slots) samples */
        t->local_max = (t->cfg.train.batch_size + t->cfg.train.slots - 1) / t->cfg.train.slots;
    if ((s = advml_model_build(&t->model, &t->cfg.model, t->local_max, err)))
        return advml_error_prefix(err, "%s: ", t->cfg.source);
    if ((s = advml_model_check_targets(&t->model, t->train.num_classes, t->train.target_dim, err)))
        return advml_error_prefix(err, "%s does not fit %s: ", advml_dataset_path(t->ds), t->cfg.source);
    advml_model_init_params(&t->model, t->cfg.train.seed);
    if ((s = advml_optim_init(&t->opt, &t->cfg.optim, t->model.nparams, err)))
        return s;
    t->in_floats = advml_shape_size(&t->cfg.model.input);
    t->target_floats = advml_model_target_size(&t->model);
    t->x = malloc((size_t)t->local_max * t->in_floats * sizeof *t->x);
    t->y = malloc((size_t)t->local_max * (size_t)t->target_floats * sizeof *t->y);
    t->perm = malloc((size_t)t->train.n * sizeof *t->perm);
    if (!t->x || !t->y || !t->perm)
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
    }
    return ADVML_OK;
}

/* Hold splits in memory while the (conservative, float32) estimate of their
 * size fits the remaining budget: train first, then validation, then test. */
static advml_status preload(advml_trainer *t, advml_error *err)
{
    double budget = t->cfg.train.memory_budget_mb * 1048576.0;
    const char *names[3] = {SPLIT_TRAIN, SPLIT_VAL, SPLIT_TEST};
    const advml_split_info *info[3] = {&t->train, t->has_val ? &t->val : NULL, t->has_test ? &t->test : NULL};
    for (int i = 0; i < 3; i++) {
        if (!info[i])
            continue;
        double need = (double)info[i]->n * ((double)t->in_floats + (info[i]->target_dim ? info[i]->target_dim : 1)) * 4.0;
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
    if ((s = agree(t, s, err)))
        return s;
    if ((s = agree(t, build(t, err), err)))
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
    free(t->slot_grads);
    free(t->slot_parts);
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
    return advml_checkpoint_read_state(path, &t->model, &t->opt, err);
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
        (t->opt.v && (s = advml_comm_bcast(t->comm, t->opt.v, n * sizeof(float), 0, err))))
        return s;
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

advml_status advml_trainer_checkpoint(advml_trainer *t, advml_error *err)
{
    advml_status s = ADVML_OK;
    if (t->run) {
        advml_ckpt_state st = {t->epoch, t->step, t->cursor, (int64_t)t->cfg.train.seed,
                               t->ep_loss, t->ep_correct, t->ep_samples, t->ep_seconds};
        s = advml_checkpoint_write(t->run->ckpt_path, &t->model, &t->opt, &st, t->config_json, err);
    }
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

/* Loss and correct sums of rows [i, i + B) of a split (one forward). */
static advml_status eval_block(advml_trainer *t, const char *split, int64_t i, int B, double *loss, double *correct,
                               advml_error *err)
{
    advml_status s = advml_dataset_read_block(t->ds, split, i, B, t->x, t->y, err);
    if (s)
        return s;
    advml_ctx ctx = {0};
    ctx.training = 0;
    ctx.seed = t->cfg.train.seed;
    ctx.step = (uint64_t)t->step;
    ctx.scratch = t->model.scratch;
    ctx.B = B;
    advml_model_forward(&t->model, t->x, &ctx);
    *loss = advml_model_loss(&t->model, t->y, B);
    *correct = advml_model_correct(&t->model, t->y, B);
    return ADVML_OK;
}

advml_status advml_trainer_evaluate(advml_trainer *t, const char *split, double *loss, double *accuracy,
                                    advml_error *err)
{
    advml_split_info info;
    advml_status s = advml_dataset_info(t->ds, split, &info, err);
    if ((s = agree(t, s, err)))
        return s;
    const int64_t E = t->local_max;
    double sums[4] = {0, 0, 0, 0}; /* loss, correct, count, failed */
    advml_status local = ADVML_OK;
    if (!t->cfg.train.reproducible) {
        int64_t lo, hi;
        share(info.n, t->rank, t->nranks, &lo, &hi);
        for (int64_t i = lo; i < hi && !local; i += E) {
            int B = (int)(hi - i < E ? hi - i : E);
            double l, c;
            if (!(local = eval_block(t, split, i, B, &l, &c, err))) {
                sums[0] += l;
                sums[1] += c;
                sums[2] += B;
            }
        }
    } else {
        /* fixed blocks of E rows whatever N is; each block's sums go to its own
         * place (one contributor: the allreduce adds zeros, exactly), and every
         * rank adds the blocks up in index order */
        const int64_t nb = (info.n + E - 1) / E;
        double *v = calloc((size_t)(2 * nb + 1), sizeof *v);
        s = v ? ADVML_OK : advml_error_set(err, ADVML_ERR_NOMEM, "out of memory evaluating %s", split);
        if ((s = agree(t, s, err))) {
            free(v);
            return s;
        }
        int64_t lo = 0, hi = 0;
        share(nb, t->rank, t->nranks, &lo, &hi);
        for (int64_t b = lo; b < hi && !local; b++) {
            int B = (int)(info.n - b * E < E ? info.n - b * E : E);
            local = eval_block(t, split, b * E, B, &v[2 * b], &v[2 * b + 1], err);
        }
        v[2 * nb] = local != ADVML_OK;
        double failed = 1;
        if (!(s = advml_comm_allreduce_sum_f64(t->comm, v, (size_t)(2 * nb + 1), err))) {
            for (int64_t b = 0; b < nb; b++) {
                sums[0] += v[2 * b];
                sums[1] += v[2 * b + 1];
            }
            sums[2] = (double)info.n;
            failed = v[2 * nb];
        }
        free(v);
        if (s)
            return s;
        if (failed > 0) /* a rank's read failed: carry its message to rank 0 */
            return agree(t, local, err);
        goto done;
    }
    sums[3] = local != ADVML_OK;
    if ((s = advml_comm_allreduce_sum_f64(t->comm, sums, 4, err)))
        return s;
    if (sums[3] > 0) /* a rank's read failed: carry its message to rank 0 */
        return agree(t, local, err);
done:
    *loss = sums[2] > 0 ? sums[0] / sums[2] : NAN;
    *accuracy = (t->cfg.model.loss == ADVML_LOSS_MSE || sums[2] <= 0) ? NAN : sums[1] / sums[2];
    return ADVML_OK;
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

/* Forward and backward of the nloc samples ids into m->grads (which the
 * caller zeroed), with the extra slots flag, loss, correct and count set in
 * extra. A failed read sets the READ_FAIL flag and is returned. */
static advml_status micro_batch(advml_trainer *t, const int64_t *ids, int nloc, float *extra, advml_error *err)
{
    advml_model *m = &t->model;
    for (int i = 0; i < ADVML_GRAD_EXTRA; i++)
        extra[i] = 0.0f;
    if (nloc <= 0)
        return ADVML_OK;
    advml_status local = advml_dataset_read(t->ds, SPLIT_TRAIN, ids, nloc, t->x, t->y, err);
    if (local) {
        extra[X_FLAG] = READ_FAIL;
        return local;
    }
    advml_ctx ctx = {0};
    ctx.B = nloc;
    ctx.training = 1;
    ctx.seed = t->cfg.train.seed;
    ctx.step = (uint64_t)t->step;
    ctx.sample_ids = ids;
    ctx.scratch = m->scratch;
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
        /* slot j of S holds samples [bsz j / S, bsz (j + 1) / S) of the batch,
         * whatever N is; each is computed into its own zeroed buffer */
        float *main = m->grads;
        const int S = t->cfg.train.slots, nparts = t->slot_hi - t->slot_lo;
        for (int j = t->slot_lo; j < t->slot_hi; j++) {
            float *buf = t->slot_parts[j - t->slot_lo];
            if (buf != main || !t->grads_clear)
                memset(buf, 0, stride * sizeof *buf);
            m->grads = buf;
            int64_t a, b;
            share(bsz, j, S, &a, &b);
            advml_status ls = micro_batch(t, t->perm + start + a, (int)(b - a), buf + m->nparams, err);
            if (ls && !local)
                local = ls;
        }
        m->grads = main;
        local_stops(t, extra + X_STOP);
        t0 = advml_comm_wtime();
        s = advml_comm_ordered_sum_f32(t->comm, t->slot_parts, nparts, main, stride, err);
    }
    t->grads_clear = 0;
    t->allreduce_seconds += advml_comm_wtime() - t0;
    if (s)
        return s;
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
        advml_run_add_step(t->run, t->step, (int32_t)(t->epoch + 1), extra[X_LOSS] / (double)bsz, NULL);
    t->stop_signal = agreed_stop(extra + X_STOP); /* the same sums, so the same decision, on every rank */
    return ADVML_OK;
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
        em.val_loss = em.val_accuracy = em.test_loss = em.test_accuracy = NAN;
        if (t->progress && t->has_val)
            advml_progress_note(t->progress, "evaluating validation");
        if (t->has_val && (s = advml_trainer_evaluate(t, SPLIT_VAL, &em.val_loss, &em.val_accuracy, err)))
            return s;
        if (t->progress && t->has_test)
            advml_progress_note(t->progress, "evaluating test");
        if (t->has_test && (s = advml_trainer_evaluate(t, SPLIT_TEST, &em.test_loss, &em.test_accuracy, err)))
            return s;
        em.learning_rate = advml_float_shortest(t->opt.cfg->lr);
        em.epoch_seconds = t->ep_seconds;
        em.images_per_second = t->ep_seconds > 0 ? t->ep_samples / t->ep_seconds : NAN;
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
        if ((s = write_run(t, err)) || (s = advml_trainer_checkpoint(t, err)))
            return s;
        if (tc->max_steps > 0 && t->step >= tc->max_steps)
            break;
        /* a signal caught during the evaluation or the checkpoint: stop here,
         * with everything saved, rather than after one more step */
        if (t->epoch < tc->epochs && ((s = advml_trainer_poll_stop(t, err)) || t->stop_signal))
            return s;
    }
    return ADVML_OK;
}

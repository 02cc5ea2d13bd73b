/* predict.c - inference from a checkpoint: load it, check a split against
 * the model, predict every sample of a split (include/advml/predict.h).
 * Forecasting is in src/forecast.c, the prediction file in src/predict_file.c.
 */
#include "advml/predict.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "advml/h5io.h"

const char *advml_task_name(advml_task t)
{
    switch (t) {
    case ADVML_TASK_CLASSIFICATION: return "classification";
    case ADVML_TASK_BINARY: return "binary";
    case ADVML_TASK_REGRESSION: return "regression";
    }
    return "unknown";
}

/* ---- loading ---------------------------------------------------------------------- */

void advml_predictor_free(advml_predictor *p)
{
    if (!p)
        return;
    advml_model_free(&p->model);
    free(p->config_json);
    memset(p, 0, sizeof *p);
}

advml_status advml_predictor_load(advml_predictor *p, const char *path, int max_batch, advml_error *err)
{
    memset(p, 0, sizeof *p);
    snprintf(p->path, sizeof p->path, "%s", path);
    if (max_batch < 1)
        return advml_error_set(err, ADVML_ERR_ARG, "batch size must be positive, got %d", max_batch);
    p->max_batch = max_batch;
    /* A file that exists but is not a checkpoint: say what --checkpoint takes.
     * (A file that cannot be opened is reported by the reader below.) */
    char *fmt = NULL;
    if (advml_h5_file_format(path, &fmt) == 0) {
        int ok = fmt && !strcmp(fmt, "advml-checkpoint");
        if (!ok) {
            advml_status s = advml_error_set(err, ADVML_ERR_FORMAT,
                                             "%s: not an advml checkpoint (its \"format\" attribute is \"%s\"); "
                                             "--checkpoint takes the RUN.ckpt.h5 file advml-train writes beside "
                                             "the run file RUN.h5",
                                             path, fmt ? fmt : "missing");
            free(fmt);
            return s;
        }
        free(fmt);
    }
    advml_optim_kind kind;
    int64_t nparams = 0;
    advml_status s = advml_checkpoint_read_header(path, &p->state, &p->config_json, &kind, &nparams, err);
    if (s)
        return s;
    if ((s = advml_config_parse(&p->cfg, p->config_json, path, err)))
        return advml_error_prefix(err, "%s: its config_json attribute: ", path);
    if (!p->cfg.has_input)
        return advml_error_set(err, ADVML_ERR_FORMAT,
                               "%s: the config stored in the checkpoint has no \"input\" shape (was it written by "
                               "advml-train?)",
                               path);
    if ((s = advml_model_build(&p->model, &p->cfg.model, max_batch, err)))
        return advml_error_prefix(err, "%s: the model of its config: ", path);
    if (nparams != (int64_t)p->model.nparams)
        return advml_error_set(err, ADVML_ERR_FORMAT,
                               "%s: holds %lld parameters, but the model its config describes has %zu", path,
                               (long long)nparams, p->model.nparams);
    advml_optimizer none; /* the optimizer state is not needed: m, v stay unread */
    memset(&none, 0, sizeof none);
    if ((s = advml_checkpoint_read_state(path, &p->model, &none, NULL, NULL, err)))
        return s;
    p->K = (int)advml_shape_size(&p->model.out_shape);
    p->task = p->cfg.model.loss == ADVML_LOSS_CCE   ? ADVML_TASK_CLASSIFICATION
              : p->cfg.model.loss == ADVML_LOSS_BCE ? ADVML_TASK_BINARY
                                                    : ADVML_TASK_REGRESSION;
    return ADVML_OK;
}

advml_status advml_predictor_check_split(const advml_predictor *p, const char *data_path, const char *split,
                                         const advml_split_info *info, advml_error *err)
{
    const advml_shape *want = &p->cfg.model.input;
    if (!advml_shape_equal(want, &info->input)) {
        char a[96], b[96];
        advml_shape_describe(&info->input, a, sizeof a);
        advml_shape_describe(want, b, sizeof b);
        const advml_layer *L0 = &p->model.layers[0];
        return advml_error_set(err, ADVML_ERR_SHAPE,
                               "%s: the %s split holds %s per sample, but the model of %s (first layer %d: %s) "
                               "takes %s; use a dataset made for this model",
                               data_path, split, a, p->path, L0->index, L0->kind->name, b);
    }
    if (info->n < 1)
        return advml_error_set(err, ADVML_ERR_FORMAT, "%s: the %s split is empty", data_path, split);
    if (p->task == ADVML_TASK_CLASSIFICATION) {
        if (info->target_dim != 0)
            return advml_error_set(err, ADVML_ERR_SHAPE,
                                   "%s: the %s split has %d target values per sample, but the model of %s is a "
                                   "classifier of %d classes (it needs class ids)",
                                   data_path, split, info->target_dim, p->path, p->K);
        if (info->num_classes != p->K)
            return advml_error_set(err, ADVML_ERR_SHAPE,
                                   "%s: the %s split has %d classes, but the model of %s outputs %d", data_path,
                                   split, info->num_classes, p->path, p->K);
    } else if (info->target_dim != p->K) {
        if (info->target_dim == 0)
            return advml_error_set(err, ADVML_ERR_SHAPE,
                                   "%s: the %s split has class ids as targets, but the model of %s is a %s model "
                                   "with %d outputs (loss %s)",
                                   data_path, split, p->path, advml_task_name(p->task), p->K,
                                   advml_loss_name(p->cfg.model.loss));
        return advml_error_set(err, ADVML_ERR_SHAPE,
                               "%s: the %s split has %d target values per sample, but the model of %s outputs %d",
                               data_path, split, info->target_dim, p->path, p->K);
    }
    return ADVML_OK;
}

void advml_predictor_forward(advml_predictor *p, const float *x, int B, float *out)
{
    advml_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.B = B;
    ctx.training = 0;
    ctx.seed = p->state.seed >= 0 ? (uint64_t)p->state.seed : 0;
    ctx.scratch = p->model.scratch;
    advml_model_forward(&p->model, x, &ctx);
    memcpy(out, advml_model_output(&p->model), (size_t)B * (size_t)p->K * sizeof *out);
}

/* ---- predictions over a split ------------------------------------------------------- */

void advml_predictions_free(advml_predictions *pr)
{
    if (!pr)
        return;
    free(pr->outputs);
    free(pr->targets);
    free(pr->predicted);
    free(pr->confusion);
    memset(pr, 0, sizeof *pr);
}

/* This rank's block: forward in batches, outputs and targets into the full
 * (zeroed) arrays, the loss sum into *loss_sum. */
static advml_status predict_block(advml_predictor *p, advml_dataset *ds, const char *split, int64_t lo, int64_t cnt,
                                  advml_predictions *pr, double *loss_sum, advml_error *err)
{
    size_t in = advml_shape_size(&p->cfg.model.input);
    int tf = pr->target_floats;
    float *x = malloc((size_t)p->max_batch * in * sizeof *x);
    float *y = malloc((size_t)p->max_batch * (size_t)tf * sizeof *y);
    advml_status s = ADVML_OK;
    if (!x || !y)
        s = advml_error_set(err, ADVML_ERR_NOMEM, "out of memory for a batch of %d samples", p->max_batch);
    for (int64_t b = lo; !s && b < lo + cnt; b += p->max_batch) {
        int nb = (int)(lo + cnt - b < p->max_batch ? lo + cnt - b : p->max_batch);
        if ((s = advml_dataset_read_block(ds, split, b, nb, x, y, err)))
            break;
        if (p->task == ADVML_TASK_CLASSIFICATION)
            for (int i = 0; i < nb; i++)
                if (!(y[i] >= 0.0f && y[i] < (float)p->K && y[i] == floorf(y[i]))) {
                    s = advml_error_set(err, ADVML_ERR_FORMAT,
                                        "%s: sample %lld of the %s split has class id %g, outside 0..%d",
                                        advml_dataset_path(ds), (long long)(b + i), split, (double)y[i], p->K - 1);
                    break;
                }
        if (s)
            break;
        advml_predictor_forward(p, x, nb, pr->outputs + (size_t)b * (size_t)p->K);
        *loss_sum += advml_model_loss(&p->model, y, nb);
        memcpy(pr->targets + (size_t)b * (size_t)tf, y, (size_t)nb * (size_t)tf * sizeof *y);
    }
    free(x);
    free(y);
    return s;
}

/* Classes, confusion matrix, accuracy and MSE from outputs and targets. */
static advml_status summarise(advml_predictions *pr, advml_error *err)
{
    int64_t n = pr->n;
    int K = pr->K;
    pr->accuracy = NAN;
    pr->mse = NAN;
    if (pr->task == ADVML_TASK_REGRESSION) {
        double se = 0.0;
        for (size_t i = 0; i < (size_t)n * (size_t)K; i++) {
            double d = (double)pr->outputs[i] - (double)pr->targets[i];
            se += d * d;
        }
        pr->mse = se / ((double)n * K);
        return ADVML_OK;
    }
    int binary = pr->task == ADVML_TASK_BINARY;
    size_t npred = binary ? (size_t)n * (size_t)K : (size_t)n;
    pr->confusion_k = binary ? (K == 1 ? 2 : 0) : K;
    pr->predicted = malloc(npred * sizeof *pr->predicted);
    pr->confusion = pr->confusion_k ? calloc((size_t)pr->confusion_k * (size_t)pr->confusion_k,
                                             sizeof *pr->confusion)
                                    : NULL;
    if (!pr->predicted || (pr->confusion_k && !pr->confusion))
        return advml_error_set(err, ADVML_ERR_NOMEM, "out of memory for the predicted classes");
    double correct = 0.0;
    for (int64_t i = 0; i < n; i++) {
        const float *row = pr->outputs + (size_t)i * (size_t)K;
        if (binary) {
            for (int k = 0; k < K; k++) {
                int pk = row[k] > 0.5f, tk = pr->targets[(size_t)i * (size_t)K + (size_t)k] > 0.5f;
                pr->predicted[(size_t)i * (size_t)K + (size_t)k] = pk;
                correct += (pk == tk) / (double)K;
                if (K == 1)
                    pr->confusion[tk * 2 + pk]++;
            }
        } else {
            int best = 0; /* the first of equal maxima, as advml_model_correct */
            for (int k = 1; k < K; k++)
                if (row[k] > row[best])
                    best = k;
            int label = (int)pr->targets[i];
            pr->predicted[i] = best;
            correct += best == label;
            pr->confusion[(size_t)label * (size_t)K + (size_t)best]++;
        }
    }
    pr->accuracy = correct / (double)n;
    return ADVML_OK;
}

advml_status advml_predict_split(advml_predictor *p, advml_dataset *ds, const char *split,
                                 advml_predictions *pr, advml_comm *comm, advml_error *err)
{
    memset(pr, 0, sizeof *pr);
    advml_split_info info;
    advml_status s = advml_dataset_info(ds, split, &info, err);
    if (!s)
        s = advml_predictor_check_split(p, advml_dataset_path(ds), split, &info, err);
    if ((s = advml_comm_agree(comm, s, err)))
        return s;
    pr->n = info.n;
    pr->K = p->K;
    pr->task = p->task;
    pr->target_floats = advml_model_target_size(&p->model);
    pr->outputs = calloc((size_t)pr->n * (size_t)pr->K, sizeof *pr->outputs);
    pr->targets = calloc((size_t)pr->n * (size_t)pr->target_floats, sizeof *pr->targets);
    double loss_sum = 0.0;
    if (!pr->outputs || !pr->targets)
        s = advml_error_set(err, ADVML_ERR_NOMEM, "out of memory for %lld predictions of %d values",
                            (long long)pr->n, pr->K);
    int64_t lo = 0, cnt = 0;
    advml_dataset_shard(pr->n, advml_comm_rank(comm), advml_comm_size(comm), &lo, &cnt);
    if (!s)
        s = predict_block(p, ds, split, lo, cnt, pr, &loss_sum, err);
    if ((s = advml_comm_agree(comm, s, err)))
        return s;
    /* Every sample is computed on exactly one rank; the others hold zeros there. */
    if ((s = advml_comm_allreduce_sum_f32(comm, pr->outputs, (size_t)pr->n * (size_t)pr->K, err)) ||
        (s = advml_comm_allreduce_sum_f32(comm, pr->targets, (size_t)pr->n * (size_t)pr->target_floats, err)) ||
        (s = advml_comm_allreduce_sum_f64(comm, &loss_sum, 1, err)))
        return s;
    pr->loss = loss_sum / (double)pr->n;
    s = summarise(pr, err);
    return advml_comm_agree(comm, s, err);
}


/* predict.c - inference from a checkpoint: predictions over a split,
 * recursive forecasting, the prediction file (include/advml/predict.h,
 * docs/predict-layout.md).
 */
#include "advml/predict.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "advml/h5io.h"
#include "advml/version.h"

const char *advml_task_name(advml_task t)
{
    switch (t) {
    case ADVML_TASK_CLASSIFICATION: return "classification";
    case ADVML_TASK_BINARY: return "binary";
    case ADVML_TASK_REGRESSION: return "regression";
    }
    return "unknown";
}

static void shape_text(const advml_shape *s, char *buf, size_t n)
{
    int len = snprintf(buf, n, "(");
    for (int i = 0; i < s->rank && len < (int)n; i++)
        len += snprintf(buf + len, n - (size_t)len, "%s%d", i ? ", " : "", s->d[i]);
    if (len < (int)n)
        snprintf(buf + len, n - (size_t)len, ")");
}

/* "images (C, H, W)", "sequences (T, F)" or "feature vectors (D)". */
static void kind_text(const advml_shape *s, char *buf, size_t n)
{
    char sh[64];
    shape_text(s, sh, sizeof sh);
    snprintf(buf, n, "%s %s", s->rank == 3 ? "images" : s->rank == 2 ? "sequences" : "feature vectors", sh);
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
    /* A file that exists but is not a checkpoint: say what --checkpoint takes. */
    advml_h5_quiet();
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT); /* failures: reported by the reader below */
    if (f >= 0) {
        char *fmt = NULL;
        int ok = advml_h5_read_attr_string(f, "format", &fmt, NULL) == ADVML_OK && !strcmp(fmt, "advml-checkpoint");
        H5Fclose(f);
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
        kind_text(&info->input, a, sizeof a);
        kind_text(want, b, sizeof b);
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

/* ---- names in the data file ------------------------------------------------------------ */

typedef struct name_list {
    int n;
    char **v;      /* (n) malloc'ed strings */
} name_list;

static void names_free(name_list *l)
{
    for (int i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    l->n = 0;
    l->v = NULL;
}

/* The string-array attribute attr of object obj_path in file path, or an
 * empty list when the file, object or attribute is missing or not strings. */
static void read_names(const char *path, const char *obj_path, const char *attr, name_list *out)
{
    memset(out, 0, sizeof *out);
    advml_h5_quiet();
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0)
        return;
    hid_t o = H5Oopen(f, obj_path, H5P_DEFAULT);
    hid_t a = o >= 0 && H5Aexists(o, attr) > 0 ? H5Aopen(o, attr, H5P_DEFAULT) : H5I_INVALID_HID;
    hid_t t = a >= 0 ? H5Aget_type(a) : H5I_INVALID_HID;
    hid_t sp = a >= 0 ? H5Aget_space(a) : H5I_INVALID_HID;
    if (t >= 0 && sp >= 0 && H5Tget_class(t) == H5T_STRING && H5Sget_simple_extent_ndims(sp) <= 1) {
        hssize_t n = H5Sget_simple_extent_npoints(sp);
        int vl = H5Tis_variable_str(t) > 0;
        size_t width = vl ? sizeof(char *) : H5Tget_size(t);
        hid_t mt = H5Tcopy(H5T_C_S1);
        H5Tset_size(mt, vl ? H5T_VARIABLE : width);
        H5Tset_cset(mt, H5Tget_cset(t));
        char *buf = n > 0 ? calloc((size_t)n, width + (vl ? 0 : 1)) : NULL;
        char **v = n > 0 ? calloc((size_t)n, sizeof *v) : NULL;
        if (buf && v && H5Aread(a, mt, buf) >= 0) {
            int ok = 1;
            for (hssize_t i = 0; i < n; i++) {
                const char *src = vl ? ((char **)(void *)buf)[i] : buf + (size_t)i * width;
                size_t len = vl ? (src ? strlen(src) : 0) : strnlen(src, width);
                v[i] = malloc(len + 1);
                if (!v[i]) {
                    ok = 0;
                    break;
                }
                memcpy(v[i], src ? src : "", len);
                v[i][len] = '\0';
            }
            if (vl)
                H5Dvlen_reclaim(mt, sp, H5P_DEFAULT, buf);
            if (ok) {
                out->n = (int)n;
                out->v = v;
                v = NULL;
            } else {
                for (hssize_t i = 0; i < n; i++)
                    free(v[i]);
            }
        }
        free(v);
        free(buf);
        H5Tclose(mt);
    }
    if (sp >= 0)
        H5Sclose(sp);
    if (t >= 0)
        H5Tclose(t);
    if (a >= 0)
        H5Aclose(a);
    if (o >= 0)
        H5Oclose(o);
    H5Fclose(f);
}

/* "NAME(i-k)" with k >= 1: sets base (NAME) and *k; 0 when s is not of that form. */
static int parse_lag(const char *s, char *base, size_t n, int *k)
{
    size_t len = strlen(s);
    const char *open = strstr(s, "(i-");
    if (!open || len < 5 || s[len - 1] != ')' || (size_t)(open - s) >= n || open == s)
        return 0;
    char *end;
    long v = strtol(open + 3, &end, 10);
    if (end != s + len - 1 || v < 1 || v > 1000000)
        return 0;
    memcpy(base, s, (size_t)(open - s));
    base[open - s] = '\0';
    *k = (int)v;
    return 1;
}

/* The output whose target name is "BASE(i)", or -1. */
static int output_for(const name_list *targets, const char *base)
{
    for (int k = 0; k < targets->n; k++) {
        size_t b = strlen(base), t = strlen(targets->v[k]);
        if (t == b + 3 && !strncmp(targets->v[k], base, b) && !strcmp(targets->v[k] + b, "(i)"))
            return k;
    }
    return -1;
}

/* ---- recursive forecasting ------------------------------------------------------------- */

void advml_forecast_free(advml_forecast *fc)
{
    if (!fc)
        return;
    free(fc->predicted);
    free(fc->truth);
    memset(fc, 0, sizeof *fc);
}

/* How the next window is made from the current one: for every position of
 * the (T, F) window, the old position it takes (src_old), else the model
 * output it takes (src_out), else the data's next window (exogenous). */
typedef struct feedback_plan {
    int *src_old, *src_out;   /* (T * F) */
    int exogenous;            /* positions taken from the data */
    int fed;                  /* positions taken from the outputs */
} feedback_plan;

static void append(char *buf, size_t n, const char *fmt, const char *a, const char *b)
{
    size_t len = strlen(buf);
    if (len < n)
        snprintf(buf + len, n - len, fmt, a, b);
}

static advml_status make_plan(const advml_predictor *p, const char *data_path, const char *split, int T, int F,
                              feedback_plan *pl, char *desc, size_t ndesc, advml_error *err)
{
    char obj[64];
    name_list feat, targ;
    snprintf(obj, sizeof obj, "/%s/inputs", split);
    read_names(data_path, obj, "feature_names", &feat);
    snprintf(obj, sizeof obj, "/%s/targets", split);
    read_names(data_path, obj, "names", &targ);
    int K = p->K;
    int have_names = feat.n == F && targ.n == K;
    for (int i = 0; i < T * F; i++)
        pl->src_old[i] = pl->src_out[i] = -1;
    desc[0] = '\0';

    /* lag layout: one step of features NAME(i-k) */
    int lag = T == 1 && F > 1 && (have_names || K == 1);
    char base[128], base2[128];
    int k, k2;
    if (lag && have_names)
        for (int f = 0; f < F; f++)
            lag &= parse_lag(feat.v[f], base, sizeof base, &k);
    advml_status s = ADVML_OK;
    if (lag) {
        for (int f = 0; f < F && !s; f++) {
            if (!have_names) { /* lags of one series, oldest first (the Keras example) */
                if (f < F - 1)
                    pl->src_old[f] = f + 1;
                else
                    pl->src_out[f] = 0;
                continue;
            }
            parse_lag(feat.v[f], base, sizeof base, &k);
            if (k > 1) {
                for (int g = 0; g < F; g++)
                    if (parse_lag(feat.v[g], base2, sizeof base2, &k2) && k2 == k - 1 && !strcmp(base, base2))
                        pl->src_old[f] = g;
                if (pl->src_old[f] < 0)
                    s = advml_error_set(err, ADVML_ERR_FORMAT,
                                        "%s: the %s inputs have the lag feature \"%s\" but not %s(i-%d), which "
                                        "shifts into it",
                                        data_path, split, feat.v[f], base, k - 1);
            } else {
                pl->src_out[f] = output_for(&targ, base);
            }
        }
        if (!s && !have_names)
            snprintf(desc, ndesc, "lags of one series (no names in the data file): the features shift by one, "
                                  "output 0 becomes the newest feature %d", F - 1);
        else if (!s)
            snprintf(desc, ndesc, "lag features shift by one;");
    } else if (have_names) {
        for (int f = 0; f < F; f++)
            pl->src_out[(T - 1) * F + f] = output_for(&targ, feat.v[f]);
        snprintf(desc, ndesc, "the window shifts by one step;");
    } else if (F == K) {
        for (int f = 0; f < F; f++)
            pl->src_out[(T - 1) * F + f] = f;
        snprintf(desc, ndesc, "the window shifts by one step; output f becomes feature f of the new step "
                              "(no names in the data file, %d features = %d outputs)", F, K);
    } else {
        s = advml_error_set(err, ADVML_ERR_FORMAT,
                            "%s: cannot tell which input feature receives which model output: the %s split has "
                            "%d features per step and %d outputs, and no feature_names/names attributes; "
                            "recursive forecasting needs them (advml-data writes them)",
                            data_path, split, F, K);
    }
    if (!lag && T > 1)
        for (int t = 0; t < T - 1; t++)
            for (int f = 0; f < F; f++)
                pl->src_old[t * F + f] = (t + 1) * F + f;
    for (int i = 0; i < T * F && !s; i++) {
        pl->fed += pl->src_out[i] >= 0;
        pl->exogenous += pl->src_old[i] < 0 && pl->src_out[i] < 0;
        if (have_names && pl->src_out[i] >= 0)
            append(desc, ndesc, " output %s -> feature %s;", targ.v[pl->src_out[i]], feat.v[i % F]);
        else if (have_names && pl->src_old[i] < 0 && pl->src_out[i] < 0)
            append(desc, ndesc, " feature %s from the data%s;", feat.v[i % F], "");
    }
    if (!s && pl->fed == 0) {
        char fl[256] = "", tl[256] = "";
        for (int f = 0; f < feat.n; f++)
            append(fl, sizeof fl, "%s%s", f ? ", " : "", feat.v[f]);
        for (int j = 0; j < targ.n; j++)
            append(tl, sizeof tl, "%s%s", j ? ", " : "", targ.v[j]);
        s = advml_error_set(err, ADVML_ERR_FORMAT,
                            "%s: no input feature of the %s split is predicted by the model (features: %s; "
                            "targets: %s), so there is nothing to feed back; recursive forecasting needs a "
                            "target NAME(i) that is also an input feature NAME (or NAME(i-1))",
                            data_path, split, fl[0] ? fl : "unnamed", tl[0] ? tl : "unnamed");
    }
    size_t len = strlen(desc);
    if (len && desc[len - 1] == ';')
        desc[len - 1] = '\0';
    names_free(&feat);
    names_free(&targ);
    return s;
}

advml_status advml_forecast_split(advml_predictor *p, advml_dataset *ds, const char *split, int64_t start,
                                  int64_t horizon, advml_forecast *fc, advml_error *err)
{
    memset(fc, 0, sizeof *fc);
    const char *path = advml_dataset_path(ds);
    if (p->task != ADVML_TASK_REGRESSION)
        return advml_error_set(err, ADVML_ERR_ARG,
                               "--forecast: recursive forecasting needs a regression model (loss mse); the model "
                               "of %s is a %s model (loss %s)",
                               p->path, advml_task_name(p->task), advml_loss_name(p->cfg.model.loss));
    const advml_shape *in = &p->cfg.model.input;
    if (in->rank != 2) {
        char a[96];
        kind_text(in, a, sizeof a);
        return advml_error_set(err, ADVML_ERR_ARG,
                               "--forecast: recursive forecasting needs a sequence model; the model of %s takes %s",
                               p->path, a);
    }
    if (p->model.out_shape.rank != 1)
        return advml_error_set(err, ADVML_ERR_ARG,
                               "--forecast: the model of %s outputs a sequence (its last recurrent layer returns "
                               "sequences); recursive forecasting needs one value per output",
                               p->path);
    advml_split_info info;
    advml_status s = advml_dataset_info(ds, split, &info, err);
    if (!s)
        s = advml_predictor_check_split(p, path, split, &info, err);
    if (s)
        return s;
    if (horizon < 1)
        return advml_error_set(err, ADVML_ERR_ARG, "--forecast: the horizon must be at least 1, got %lld",
                               (long long)horizon);
    if (start < 0 || start >= info.n)
        return advml_error_set(err, ADVML_ERR_ARG,
                               "--start %lld: the %s split of %s has windows 0..%lld", (long long)start, split,
                               path, (long long)info.n - 1);
    int T = in->d[0], F = in->d[1], K = p->K;
    size_t W = (size_t)T * (size_t)F;
    double scale = 1.0, mean = 0.0, sd = 1.0;
    if ((s = advml_dataset_norm(ds, split, &scale, &mean, &sd, err)))
        return s;
    feedback_plan pl = {0};
    pl.src_old = malloc(W * sizeof *pl.src_old);
    pl.src_out = malloc(W * sizeof *pl.src_out);
    int64_t avail = info.n - start < horizon ? info.n - start : horizon; /* windows with data */
    float *xs = malloc((size_t)avail * W * sizeof *xs);                /* (avail, T, F) */
    float *ys = malloc((size_t)avail * (size_t)K * sizeof *ys);        /* (avail, K) */
    float *win = malloc(2 * W * sizeof *win);                          /* current and next window */
    fc->predicted = malloc((size_t)horizon * (size_t)K * sizeof *fc->predicted);
    fc->truth = malloc((size_t)horizon * (size_t)K * sizeof *fc->truth);
    if (!pl.src_old || !pl.src_out || !xs || !ys || !win || !fc->predicted || !fc->truth) {
        s = advml_error_set(err, ADVML_ERR_NOMEM, "out of memory for a forecast of %lld steps", (long long)horizon);
        goto done;
    }
    fc->start = start;
    fc->horizon = horizon;
    fc->K = K;
    if ((s = make_plan(p, path, split, T, F, &pl, fc->feedback, sizeof fc->feedback, err)))
        goto done;
    if (pl.exogenous && avail < horizon) {
        s = advml_error_set(err, ADVML_ERR_ARG,
                            "--forecast %lld from --start %lld: %d input value(s) per step are not predicted by "
                            "the model and come from the data (%s), but the %s split has only %lld windows from "
                            "there; use a horizon of at most %lld",
                            (long long)horizon, (long long)start, pl.exogenous, fc->feedback, split,
                            (long long)avail, (long long)avail);
        goto done;
    }
    if ((s = advml_dataset_read_block(ds, split, start, avail, xs, ys, err)))
        goto done;
    /* The windows must be consecutive: each is the one before shifted by one
     * step, with the fed-back features equal to the previous target. */
    for (int64_t h = 1; h < avail; h++) {
        const float *a = xs + (size_t)(h - 1) * W, *b = xs + (size_t)h * W;
        for (size_t i = 0; i < W; i++) {
            float want;
            if (pl.src_old[i] >= 0)
                want = a[pl.src_old[i]];
            else if (pl.src_out[i] >= 0)
                want = (float)(((double)ys[(size_t)(h - 1) * (size_t)K + (size_t)pl.src_out[i]] * scale - mean) / sd);
            else
                continue;
            if (!(fabsf(b[i] - want) <= 1e-5f * (1.0f + fabsf(want)))) {
                s = advml_error_set(err, ADVML_ERR_FORMAT,
                                    "%s: windows %lld and %lld of the %s split are not consecutive (value %zu of "
                                    "window %lld is %g, the shifted window %lld gives %g); recursive forecasting "
                                    "needs windows cut one step apart from one series, as advml-data writes them",
                                    path, (long long)(start + h - 1), (long long)(start + h), split, i,
                                    (long long)(start + h), (double)b[i], (long long)(start + h - 1), (double)want);
                goto done;
            }
        }
    }
    float *cur = win, *next = win + W;
    memcpy(cur, xs, W * sizeof *cur);
    double se = 0.0;
    for (int64_t h = 0; h < horizon; h++) {
        float *pred = fc->predicted + (size_t)h * (size_t)K;
        advml_predictor_forward(p, cur, 1, pred);
        for (int k = 0; k < K; k++) {
            float t = h < avail ? ys[(size_t)h * (size_t)K + (size_t)k] : NAN;
            fc->truth[(size_t)h * (size_t)K + (size_t)k] = t;
            if (h < avail)
                se += ((double)pred[k] - t) * ((double)pred[k] - t);
        }
        if (h + 1 == horizon)
            break;
        for (size_t i = 0; i < W; i++) {
            if (pl.src_old[i] >= 0)
                next[i] = cur[pl.src_old[i]];
            else if (pl.src_out[i] >= 0)
                next[i] = (float)(((double)pred[pl.src_out[i]] * scale - mean) / sd); /* raw -> normalised */
            else
                next[i] = xs[(size_t)(h + 1) * W + i]; /* exogenous: the data's next window */
        }
        float *tmp = cur;
        cur = next;
        next = tmp;
    }
    fc->truth_points = avail;
    fc->mse = avail > 0 ? se / ((double)avail * K) : NAN;
done:
    free(pl.src_old);
    free(pl.src_out);
    free(xs);
    free(ys);
    free(win);
    if (s)
        advml_forecast_free(fc);
    return s;
}

/* ---- the prediction file ------------------------------------------------------------ */

static advml_status write_ds(hid_t f, const char *name, hid_t mtype, hid_t ftype, int rank, hsize_t d0, hsize_t d1,
                             const void *data, const char *description, advml_error *err)
{
    hsize_t dims[2] = {d0, d1};
    hid_t d;
    advml_status s = advml_h5_write(f, name, mtype, ftype, rank, dims, data, 0, d0 * (rank > 1 ? d1 : 1) > 4096,
                                    &d, err);
    if (s)
        return s;
    s = advml_h5_attr_string(d, "description", description, err);
    H5Dclose(d);
    return s;
}

static advml_status write_file(hid_t f, const advml_predictor *p, const advml_predictions *pr,
                               const advml_forecast *fc, const advml_predict_meta *meta, advml_error *err)
{
    advml_status s;
    char now[32];
    advml_iso_time(now, sizeof now);
    const char *none = "";
    if ((s = advml_h5_attr_string(f, "format", "advml-predictions", err)) ||
        (s = advml_h5_attr_int64(f, "format_version", 1, err)) ||
        (s = advml_h5_attr_string(f, "task", advml_task_name(p->task), err)) ||
        (s = advml_h5_attr_string(f, "loss", advml_loss_name(p->cfg.model.loss), err)) ||
        (s = advml_h5_attr_string(f, "split", meta->split ? meta->split : none, err)) ||
        (s = advml_h5_attr_string(f, "checkpoint", meta->checkpoint ? meta->checkpoint : none, err)) ||
        (s = advml_h5_attr_string(f, "data", meta->data ? meta->data : none, err)) ||
        (s = advml_h5_attr_int64(f, "num_samples", pr->n, err)) ||
        (s = advml_h5_attr_int64(f, "num_outputs", pr->K, err)) ||
        (s = advml_h5_attr_int64(f, "checkpoint_epoch", p->state.epoch, err)) ||
        (s = advml_h5_attr_int64(f, "checkpoint_step", p->state.step, err)) ||
        (s = advml_h5_attr_string(f, "config_json", p->config_json ? p->config_json : none, err)) ||
        (s = advml_h5_attr_string(f, "command_line", meta->command_line ? meta->command_line : none, err)) ||
        (s = advml_h5_attr_int64(f, "nranks", meta->nranks, err)) ||
        (s = advml_h5_attr_string(f, "created", now, err)) ||
        (s = advml_h5_attr_string(f, "advml_version", ADVML_VERSION, err)) ||
        (s = advml_h5_attr_string(f, "git_commit", ADVML_GIT_COMMIT, err)))
        return s;

    name_list cn = {0};
    if (p->task == ADVML_TASK_CLASSIFICATION && meta->data && meta->split) {
        char obj[64];
        snprintf(obj, sizeof obj, "/%s/targets", meta->split);
        read_names(meta->data, obj, "class_names", &cn);
        if (cn.n != pr->K)
            names_free(&cn);
        if (cn.n && (s = advml_h5_attr_strings(f, "class_names", (const char *const *)cn.v, (size_t)cn.n, err))) {
            names_free(&cn);
            return s;
        }
    }

    hid_t g;
    if ((s = advml_h5_group(f, "metrics", &g, err)))
        goto out;
    if (!(s = advml_h5_attr_double(g, "loss", pr->loss, err)) &&
        !(s = advml_h5_attr_double(g, "accuracy", pr->accuracy, err)) &&
        !(s = advml_h5_attr_double(g, "mse", pr->mse, err)))
        s = advml_h5_attr_int64(g, "num_samples", pr->n, err);
    H5Gclose(g);
    if (s)
        goto out;

    hsize_t n = (hsize_t)pr->n, K = (hsize_t)pr->K;
    if (p->task == ADVML_TASK_CLASSIFICATION) {
        int32_t *ids = malloc((size_t)n * sizeof *ids);
        if (!ids) {
            s = advml_error_set(err, ADVML_ERR_NOMEM, "out of memory");
            goto out;
        }
        for (size_t i = 0; i < (size_t)n; i++)
            ids[i] = (int32_t)pr->targets[i];
        s = write_ds(f, "targets", H5T_NATIVE_INT32, H5T_STD_I32LE, 1, n, 0, ids,
                     "true class id of each sample (N), from the data file", err);
        free(ids);
        if (!s)
            s = write_ds(f, "predicted", H5T_NATIVE_INT32, H5T_STD_I32LE, 1, n, 0, pr->predicted,
                         "predicted class id of each sample (N): the argmax of probabilities", err);
        if (!s)
            s = write_ds(f, "probabilities", H5T_NATIVE_FLOAT, H5T_IEEE_F32LE, 2, n, K, pr->outputs,
                         "softmax class probabilities (N, K)", err);
    } else if (p->task == ADVML_TASK_BINARY) {
        s = write_ds(f, "targets", H5T_NATIVE_FLOAT, H5T_IEEE_F32LE, 2, n, K, pr->targets,
                     "true 0/1 targets (N, K), from the data file", err);
        if (!s)
            s = write_ds(f, "predicted", H5T_NATIVE_INT32, H5T_STD_I32LE, 2, n, K, pr->predicted,
                         "predicted 0/1 (N, K): probability > 0.5", err);
        if (!s)
            s = write_ds(f, "probabilities", H5T_NATIVE_FLOAT, H5T_IEEE_F32LE, 2, n, K, pr->outputs,
                         "sigmoid probabilities (N, K)", err);
    } else {
        s = write_ds(f, "targets", H5T_NATIVE_FLOAT, H5T_IEEE_F32LE, 2, n, K, pr->targets,
                     "true values (N, K), from the data file", err);
        if (!s)
            s = write_ds(f, "predictions", H5T_NATIVE_FLOAT, H5T_IEEE_F32LE, 2, n, K, pr->outputs,
                         "predicted values (N, K), each from the true input window (one step ahead)", err);
    }
    if (!s && pr->confusion) {
        hsize_t c = (hsize_t)pr->confusion_k;
        hsize_t dims[2] = {c, c};
        hid_t d;
        if (!(s = advml_h5_write(f, "confusion_matrix", H5T_NATIVE_INT64, H5T_STD_I64LE, 2, dims, pr->confusion, 0,
                                 0, &d, err))) {
            if (!(s = advml_h5_attr_string(d, "description",
                                           "counts (K, K): row = true class, column = predicted class", err)) &&
                !(s = advml_h5_attr_string(d, "rows", "true class", err)) &&
                !(s = advml_h5_attr_string(d, "columns", "predicted class", err)) && cn.n)
                s = advml_h5_attr_strings(d, "class_names", (const char *const *)cn.v, (size_t)cn.n, err);
            H5Dclose(d);
        }
    }
    if (!s && fc) {
        hsize_t H = (hsize_t)fc->horizon;
        if ((s = advml_h5_group(f, "forecast", &g, err)))
            goto out;
        if (!(s = write_ds(g, "predicted", H5T_NATIVE_FLOAT, H5T_IEEE_F32LE, 2, H, K, fc->predicted,
                           "recursive forecast (H, K): prediction h is made from a window whose last h steps "
                           "are earlier predictions",
                           err)) &&
            !(s = write_ds(g, "truth", H5T_NATIVE_FLOAT, H5T_IEEE_F32LE, 2, H, K, fc->truth,
                           "targets of windows start .. start+H-1 (H, K); NaN past the end of the split", err)) &&
            !(s = advml_h5_attr_int64(g, "start", fc->start, err)) &&
            !(s = advml_h5_attr_int64(g, "horizon", fc->horizon, err)) &&
            !(s = advml_h5_attr_int64(g, "truth_points", fc->truth_points, err)) &&
            !(s = advml_h5_attr_double(g, "mse", fc->mse, err)) &&
            !(s = advml_h5_attr_string(g, "split", meta->split ? meta->split : none, err)))
            s = advml_h5_attr_string(g, "feedback", fc->feedback, err);
        H5Gclose(g);
    }
out:
    names_free(&cn);
    return s;
}

advml_status advml_predictions_write(const char *path, int force, const advml_predictor *p,
                                     const advml_predictions *pr, const advml_forecast *fc,
                                     const advml_predict_meta *meta, advml_error *err)
{
    advml_h5out o;
    advml_status s = advml_h5out_create(&o, path, force, err);
    if (s)
        return s;
    if ((s = write_file(o.file, p, pr, fc, meta, err))) {
        advml_h5out_abort(&o);
        return advml_error_prefix(err, "%s: ", path);
    }
    return advml_h5out_commit(&o, err);
}

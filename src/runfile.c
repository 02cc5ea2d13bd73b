/* runfile.c - run file and checkpoint I/O (see include/advml/runfile.h and the
 * normative docs/run-file-layout.md). */
#include "advml/runfile.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <zlib.h>

#include "advml/config.h"
#include "advml/h5io.h"
#include "advml/numfmt.h"
#include "advml/version.h"

/* ---- names and times ------------------------------------------------------- */

static int ends_with(const char *s, const char *suffix)
{
    size_t ls = strlen(s), lx = strlen(suffix);
    return ls >= lx && !strcmp(s + ls - lx, suffix);
}

void advml_run_ckpt_path(const char *run_path, char *out, size_t n)
{
    size_t len = strlen(run_path);
    if (ends_with(run_path, ".h5") && len > 3)
        snprintf(out, n, "%.*s.ckpt.h5", (int)(len - 3), run_path);
    else
        snprintf(out, n, "%s.ckpt.h5", run_path);
}

void advml_run_best_path(const char *run_path, char *out, size_t n)
{
    size_t len = strlen(run_path);
    if (ends_with(run_path, ".h5") && len > 3)
        snprintf(out, n, "%.*s.best.h5", (int)(len - 3), run_path);
    else
        snprintf(out, n, "%s.best.h5", run_path);
}

void advml_run_path_from_ckpt(const char *ckpt_path, char *out, size_t n)
{
    size_t len = strlen(ckpt_path);
    if (ends_with(ckpt_path, ".ckpt.h5") && len > 8)
        snprintf(out, n, "%.*s.h5", (int)(len - 8), ckpt_path);
    else
        snprintf(out, n, "%s.run.h5", ckpt_path);
}

/* ---- the run in memory ------------------------------------------------------ */

advml_status advml_run_init(advml_run *r, const char *path, advml_error *err)
{
    memset(r, 0, sizeof *r);
    if (!path || !*path || strlen(path) + 16 > sizeof r->path)
        return advml_error_set(err, ADVML_ERR_ARG, "run file path is empty or too long");
    snprintf(r->path, sizeof r->path, "%s", path);
    advml_run_ckpt_path(path, r->ckpt_path, sizeof r->ckpt_path);
    advml_run_best_path(path, r->best_path, sizeof r->best_path);
    advml_iso_time(r->start_time, sizeof r->start_time);
    snprintf(r->status, sizeof r->status, "running");
    r->stop_step = -1;
    return ADVML_OK;
}

void advml_run_free(advml_run *r)
{
    free(r->config_json);
    free(r->command_line);
    free(r->hostnames);
    free(r->data);
    free(r->summary);
    free(r->epochs);
    free(r->step_step);
    free(r->step_epoch);
    free(r->step_loss);
    free(r->step_lr);
    advml_eval_free(&r->eval[0]);
    advml_eval_free(&r->eval[1]);
    for (int64_t i = 0; i < r->ninv; i++) {
        free(r->inv[i].command_line);
        free(r->inv[i].overrides);
    }
    free(r->inv);
    memset(r, 0, sizeof *r);
}

static int dup_into(char **dst, const char *src)
{
    free(*dst);
    *dst = NULL;
    if (!src)
        return 0;
    *dst = strdup(src);
    return *dst ? 0 : -1;
}

advml_status advml_run_set_provenance(advml_run *r, const char *config_json, const char *command_line,
                                      const char *hostnames, int nranks, int64_t seed, const char *data,
                                      const char *summary, int64_t nparams, advml_error *err)
{
    if (dup_into(&r->config_json, config_json) || dup_into(&r->command_line, command_line) ||
        dup_into(&r->hostnames, hostnames) || dup_into(&r->data, data) || dup_into(&r->summary, summary))
        return advml_error_set(err, ADVML_ERR_NOMEM, "%s: out of memory", r->path);
    r->nranks = nranks;
    r->seed = seed;
    r->nparams = nparams;
    return ADVML_OK;
}

static advml_status grow_epochs(advml_run *r, int64_t need, advml_error *err)
{
    if (need > r->cap_epochs) {
        int64_t cap = r->cap_epochs ? 2 * r->cap_epochs : 64;
        if (cap < need)
            cap = need;
        advml_epoch_metrics *p = realloc(r->epochs, (size_t)cap * sizeof *p);
        if (!p)
            return advml_error_set(err, ADVML_ERR_NOMEM, "%s: out of memory for the metrics", r->path);
        r->epochs = p;
        r->cap_epochs = cap;
    }
    return ADVML_OK;
}

static advml_status grow_steps(advml_run *r, int64_t need, advml_error *err)
{
    if (need > r->cap_steps) {
        int64_t cap = r->cap_steps ? 2 * r->cap_steps : 1024;
        if (cap < need)
            cap = need;
        int64_t *s = realloc(r->step_step, (size_t)cap * sizeof *s);
        if (s)
            r->step_step = s;
        int32_t *e = realloc(r->step_epoch, (size_t)cap * sizeof *e);
        if (e)
            r->step_epoch = e;
        double *l = realloc(r->step_loss, (size_t)cap * sizeof *l);
        if (l)
            r->step_loss = l;
        double *lr = realloc(r->step_lr, (size_t)cap * sizeof *lr);
        if (lr)
            r->step_lr = lr;
        if (!s || !e || !l || !lr)
            return advml_error_set(err, ADVML_ERR_NOMEM, "%s: out of memory for the metrics", r->path);
        r->cap_steps = cap;
    }
    return ADVML_OK;
}

advml_status advml_run_reserve(advml_run *r, int64_t more_steps, int64_t more_epochs, advml_error *err)
{
    advml_status s = grow_steps(r, r->nsteps + more_steps, err);
    return s ? s : grow_epochs(r, r->nepochs + more_epochs, err);
}

advml_status advml_run_add_epoch(advml_run *r, const advml_epoch_metrics *e, advml_error *err)
{
    advml_status s = grow_epochs(r, r->nepochs + 1, err);
    if (s)
        return s;
    r->epochs[r->nepochs++] = *e;
    return ADVML_OK;
}

advml_status advml_run_add_step(advml_run *r, int64_t step, int32_t epoch, double loss, double lr,
                                advml_error *err)
{
    advml_status s = grow_steps(r, r->nsteps + 1, err);
    if (s)
        return s;
    r->step_step[r->nsteps] = step;
    r->step_epoch[r->nsteps] = epoch;
    r->step_loss[r->nsteps] = loss;
    r->step_lr[r->nsteps] = lr;
    r->nsteps++;
    return ADVML_OK;
}

void advml_run_set_best(advml_run *r, const char *monitor, int64_t epoch, double value)
{
    snprintf(r->best_monitor, sizeof r->best_monitor, "%s", monitor);
    r->best_epoch = epoch;
    r->best_value = value;
}

void advml_run_set_stopped_early(advml_run *r, int64_t epoch, int64_t restored_epoch)
{
    r->stopped_early_epoch = epoch;
    r->restored_epoch = restored_epoch;
}

advml_status advml_run_set_evaluation(advml_run *r, const char *split, const advml_eval *e, int64_t epoch,
                                      int64_t step, advml_error *err)
{
    int i = strcmp(split, "test") == 0;
    advml_eval_free(&r->eval[i]);
    memset(&r->eval[i], 0, sizeof r->eval[i]);
    advml_status s = advml_eval_copy(&r->eval[i], e, err);
    if (s) {
        memset(&r->eval[i], 0, sizeof r->eval[i]);
        return s;
    }
    r->eval_epoch[i] = epoch;
    r->eval_step[i] = step;
    return ADVML_OK;
}

advml_status advml_run_add_invocation(advml_run *r, const char *command_line, int nranks, int64_t start_step,
                                      const char *overrides, advml_error *err)
{
    advml_invocation *inv = realloc(r->inv, (size_t)(r->ninv + 1) * sizeof *inv);
    if (!inv)
        return advml_error_set(err, ADVML_ERR_NOMEM, "%s: out of memory", r->path);
    r->inv = inv;
    advml_invocation *v = &inv[r->ninv];
    memset(v, 0, sizeof *v);
    if (dup_into(&v->command_line, command_line ? command_line : "") ||
        dup_into(&v->overrides, overrides ? overrides : "")) {
        free(v->command_line);
        free(v->overrides);
        return advml_error_set(err, ADVML_ERR_NOMEM, "%s: out of memory", r->path);
    }
    advml_iso_time(v->start_time, sizeof v->start_time);
    snprintf(v->status, sizeof v->status, "running");
    v->nranks = nranks;
    v->start_step = start_step;
    r->ninv++;
    return ADVML_OK;
}

static void finish_as(advml_run *r, const char *status, const char *message)
{
    snprintf(r->status, sizeof r->status, "%s", status);
    snprintf(r->message, sizeof r->message, "%s", message ? message : "");
    advml_iso_time(r->end_time, sizeof r->end_time);
    if (r->ninv > 0) {
        advml_invocation *v = &r->inv[r->ninv - 1];
        snprintf(v->status, sizeof v->status, "%s", status);
        snprintf(v->end_time, sizeof v->end_time, "%s", r->end_time);
    }
}

void advml_run_finish(advml_run *r, advml_status status, const char *message)
{
    finish_as(r, status == ADVML_OK ? "completed" : "failed", status == ADVML_OK ? "" : message);
}

void advml_run_interrupted(advml_run *r, const char *signal_name, int64_t step, const char *message)
{
    finish_as(r, "interrupted", message);
    snprintf(r->stop_signal, sizeof r->stop_signal, "%s", signal_name ? signal_name : "");
    r->stop_step = step;
}

/* ---- writing the run file -------------------------------------------------- */

typedef struct column {
    const char *name, *units, *description;
    size_t offset;  /* of the double field in advml_epoch_metrics */
} column;

#define COL(field, units, desc) {#field, units, desc, offsetof(advml_epoch_metrics, field)}
static const column epoch_columns[] = {
    COL(train_loss, "mean loss per sample",
        "training loss of the epoch: mean over its samples of the data loss, measured during training "
        "(dropout active), without the L2 term"),
    COL(val_loss, "mean loss per sample", "validation loss after the epoch (data term, without L2); NaN without "
                                          "a validation split"),
    COL(test_loss, "mean loss per sample", "test loss after the epoch (data term, without L2); NaN without a "
                                           "test split"),
    COL(train_accuracy, "fraction", "training accuracy of the epoch, measured during training (dropout "
                                    "active); NaN for regression"),
    COL(val_accuracy, "fraction", "validation accuracy after the epoch; NaN without a validation split or for "
                                  "regression"),
    COL(test_accuracy, "fraction", "test accuracy after the epoch; NaN without a test split or for regression"),
    COL(val_top_k_accuracy, "fraction", "validation top-k accuracy after the epoch (the label among the k highest "
                                        "scores, k = training.top_k); NaN unless categorical cross-entropy"),
    COL(test_top_k_accuracy, "fraction", "test top-k accuracy after the epoch; NaN unless categorical "
                                         "cross-entropy or without a test split"),
    COL(val_mae, "target units", "validation mean absolute error after the epoch (regression; NaN otherwise)"),
    COL(test_mae, "target units", "test mean absolute error after the epoch (regression; NaN otherwise)"),
    COL(val_r2, "1", "validation coefficient of determination R^2 after the epoch, averaged over the outputs "
                     "(regression; NaN otherwise)"),
    COL(test_r2, "1", "test coefficient of determination R^2 after the epoch (regression; NaN otherwise)"),
    COL(learning_rate, "1", "learning rate eta of the epoch's last step"),
    COL(epoch_seconds, "s", "wall time of the training part of the epoch (evaluation excluded)"),
    COL(images_per_second, "1/s", "training samples per second over all ranks"),
};
#undef COL

static advml_status write_column(hid_t g, const char *name, hid_t mtype, hid_t ftype, int64_t n, const void *data,
                                 const char *units, const char *description, advml_error *err)
{
    hsize_t dims[1] = {(hsize_t)n};
    hid_t d;
    advml_status s = advml_h5_write(g, name, mtype, ftype, 1, dims, data, 1, 0, &d, err);
    if (s)
        return s;
    if (!(s = advml_h5_attr_string(d, "units", units, err)))
        s = advml_h5_attr_string(d, "description", description, err);
    H5Dclose(d);
    return s;
}

/* /invocations: one entry per launch, as parallel 1-D datasets. */
static advml_status write_invocations(const advml_run *r, hid_t f, advml_error *err)
{
    size_t n = (size_t)r->ninv, cnt = n ? n : 1;
    const char **cl = malloc(cnt * sizeof *cl), **ov = malloc(cnt * sizeof *ov), **t0 = malloc(cnt * sizeof *t0),
               **t1 = malloc(cnt * sizeof *t1), **st = malloc(cnt * sizeof *st);
    int32_t *nr = malloc(cnt * sizeof *nr);
    int64_t *ss = malloc(cnt * sizeof *ss);
    advml_status s = ADVML_OK;
    hid_t g = H5I_INVALID_HID;
    if (!cl || !ov || !t0 || !t1 || !st || !nr || !ss) {
        s = advml_error_set(err, ADVML_ERR_NOMEM, "out of memory writing the invocations");
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        const advml_invocation *v = &r->inv[i];
        cl[i] = v->command_line;
        ov[i] = v->overrides;
        t0[i] = v->start_time;
        t1[i] = v->end_time;
        st[i] = v->status;
        nr[i] = v->nranks;
        ss[i] = v->start_step;
    }
    hsize_t dim = (hsize_t)n;
    if ((s = advml_h5_group(f, "invocations", &g, err)) ||
        (s = advml_h5_attr_string(g, "description",
                                  "one entry per launch of advml-train on this run (the first, then one per "
                                  "--resume), oldest first",
                                  err)) ||
        (s = advml_h5_write_strings(g, "command_line", cl, n, err)) ||
        (s = advml_h5_write_strings(g, "start_time", t0, n, err)) ||
        (s = advml_h5_write_strings(g, "end_time", t1, n, err)) ||
        (s = advml_h5_write_strings(g, "status", st, n, err)) ||
        (s = advml_h5_write_strings(g, "overrides", ov, n, err)) ||
        (s = advml_h5_write(g, "nranks", H5T_NATIVE_INT32, H5T_STD_I32LE, 1, &dim, n ? nr : NULL, 0, 0, NULL, err)))
        goto done;
    s = advml_h5_write(g, "start_step", H5T_NATIVE_INT64, H5T_STD_I64LE, 1, &dim, n ? ss : NULL, 0, 0, NULL, err);
done:
    if (g >= 0)
        H5Gclose(g);
    free(cl);
    free(ov);
    free(t0);
    free(t1);
    free(st);
    free(nr);
    free(ss);
    return s;
}

/* /evaluation/validation and /evaluation/test: the evaluation at the end. */
static advml_status write_evaluation(const advml_run *r, hid_t f, advml_error *err)
{
    static const char *const names[2] = {"evaluation/validation", "evaluation/test"};
    advml_status s = ADVML_OK;
    for (int i = 0; i < 2 && !s; i++) {
        const advml_eval *e = &r->eval[i];
        if (e->n <= 0)
            continue;
        hid_t g;
        if ((s = advml_h5_group(f, names[i], &g, err)))
            return s;
        if (!(s = advml_h5_attr_string(g, "description",
                                       "the split evaluated with the final weights at the end of training (after "
                                       "early stopping restored the best ones, if it did)",
                                       err)) &&
            !(s = advml_h5_attr_int64(g, "samples", e->n, err)) && !(s = advml_h5_attr_int64(g, "epoch", r->eval_epoch[i], err)) &&
            !(s = advml_h5_attr_int64(g, "step", r->eval_step[i], err)) && !(s = advml_h5_attr_double(g, "loss", e->loss, err)) &&
            !(s = advml_h5_attr_double(g, "accuracy", e->accuracy, err)) &&
            !(s = advml_h5_attr_int64(g, "top_k", e->top_k, err)) &&
            !(s = advml_h5_attr_double(g, "top_k_accuracy", e->top_k_accuracy, err)) &&
            !(s = advml_h5_attr_double(g, "mae", e->mae, err)) && !(s = advml_h5_attr_double(g, "r2", e->r2, err)) &&
            !(s = advml_h5_attr_double(g, "macro_precision", e->macro_precision, err)) &&
            !(s = advml_h5_attr_double(g, "macro_recall", e->macro_recall, err)) &&
            !(s = advml_h5_attr_double(g, "macro_f1", e->macro_f1, err)) && e->nclasses > 0) {
            hsize_t dims[2] = {(hsize_t)e->nclasses, (hsize_t)e->nclasses};
            hid_t d;
            if (!(s = advml_h5_write(g, "confusion_matrix", H5T_NATIVE_INT64, H5T_STD_I64LE, 2, dims, e->confusion, 0,
                                     0, &d, err))) {
                s = advml_h5_attr_string(d, "description",
                                         "counts [true class][predicted class] (class ids of the dataset)", err);
                H5Dclose(d);
            }
            const struct {
                const char *name, *desc;
                const double *v;
            } cols[3] = {{"precision", "per class: true positives / predicted positives (0 when none predicted)",
                          e->precision},
                         {"recall", "per class: true positives / actual positives (0 when the class is absent)",
                          e->recall},
                         {"f1", "per class: 2 precision recall / (precision + recall) (0 when both are 0)", e->f1}};
            for (int c = 0; c < 3 && !s; c++)
                if (!(s = advml_h5_write(g, cols[c].name, H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE, 1, dims, cols[c].v, 0, 0,
                                         &d, err))) {
                    s = advml_h5_attr_string(d, "description", cols[c].desc, err);
                    H5Dclose(d);
                }
        }
        H5Gclose(g);
    }
    return s;
}

static advml_status write_run(const advml_run *r, hid_t f, advml_error *err)
{
    advml_status s;
    if ((s = advml_h5_attr_string(f, "format", "advml-run", err)) ||
        (s = advml_h5_attr_int64(f, "format_version", 1, err)) ||
        (s = advml_h5_attr_string(f, "advml_version", ADVML_VERSION, err)) ||
        (s = advml_h5_attr_string(f, "git_commit", ADVML_GIT_COMMIT, err)) ||
        (s = advml_h5_attr_string(f, "config_json", r->config_json, err)) ||
        (s = advml_h5_attr_string(f, "command_line", r->command_line, err)) ||
        (s = advml_h5_attr_int64(f, "nranks", r->nranks, err)) ||
        (s = advml_h5_attr_string(f, "hostnames", r->hostnames, err)) ||
        (s = advml_h5_attr_int64(f, "seed", r->seed, err)) || (s = advml_h5_attr_string(f, "data", r->data, err)) ||
        (s = advml_h5_attr_string(f, "start_time", r->start_time, err)) ||
        (s = advml_h5_attr_string(f, "end_time", r->end_time, err)) ||
        (s = advml_h5_attr_string(f, "status", r->status, err)) ||
        (s = advml_h5_attr_string(f, "message", r->message, err)) ||
        (s = advml_h5_attr_string(f, "stop_signal", r->stop_signal, err)) ||
        (s = advml_h5_attr_int64(f, "stop_step", r->stop_step, err)) ||
        (s = advml_h5_attr_int64(f, "reproducible", r->reproducible, err)) ||
        (s = advml_h5_attr_int64(f, "blas_threads", r->blas_threads, err)) || (s = write_invocations(r, f, err)))
        return s;
    if (r->ridge && ((s = advml_h5_attr_string(f, "readout", "ridge", err)) ||
                     (s = advml_h5_attr_double(f, "ridge_lambda", r->ridge_lambda, err)) ||
                     (s = advml_h5_attr_int64(f, "ridge_rows", r->ridge_rows, err)) ||
                     (s = advml_h5_attr_double(f, "ridge_accumulate_seconds", r->ridge_seconds[0], err)) ||
                     (s = advml_h5_attr_double(f, "ridge_reduce_seconds", r->ridge_seconds[1], err)) ||
                     (s = advml_h5_attr_double(f, "ridge_solve_seconds", r->ridge_seconds[2], err))))
        return s;
    const char *slash = strrchr(r->ckpt_path, '/');
    if ((s = advml_h5_attr_string(f, "checkpoint", slash ? slash + 1 : r->ckpt_path, err)))
        return s;
    const char *bslash = strrchr(r->best_path, '/');
    if ((s = advml_h5_attr_string(f, "best_checkpoint", r->best_epoch ? (bslash ? bslash + 1 : r->best_path) : "",
                                   err)) ||
        (s = advml_h5_attr_string(f, "best_monitor", r->best_monitor, err)) ||
        (s = advml_h5_attr_int64(f, "best_epoch", r->best_epoch, err)) ||
        (s = advml_h5_attr_double(f, "best_value", r->best_epoch ? r->best_value : NAN, err)) ||
        (s = advml_h5_attr_int64(f, "stopped_early_epoch", r->stopped_early_epoch, err)) ||
        (s = advml_h5_attr_int64(f, "restored_epoch", r->restored_epoch, err)) || (s = write_evaluation(r, f, err)))
        return s;

    hid_t g;
    if ((s = advml_h5_group(f, "metrics/epoch", &g, err)))
        return s;
    int64_t n = r->nepochs;
    size_t cnt = n > 0 ? (size_t)n : 1;
    int32_t *ep = malloc(cnt * sizeof *ep);
    int64_t *st = malloc(cnt * sizeof *st);
    double *col = malloc(cnt * sizeof *col);
    if (!ep || !st || !col) {
        s = advml_error_set(err, ADVML_ERR_NOMEM, "out of memory writing the metrics");
        goto epoch_done;
    }
    for (int64_t i = 0; i < n; i++) {
        ep[i] = r->epochs[i].epoch;
        st[i] = r->epochs[i].step;
    }
    if ((s = write_column(g, "epoch", H5T_NATIVE_INT32, H5T_STD_I32LE, n, ep, "1", "1-based epoch number", err)) ||
        (s = write_column(g, "step", H5T_NATIVE_INT64, H5T_STD_I64LE, n, st, "steps",
                          "optimizer steps taken at the end of the epoch", err)))
        goto epoch_done;
    for (size_t c = 0; c < sizeof epoch_columns / sizeof epoch_columns[0]; c++) {
        for (int64_t i = 0; i < n; i++)
            col[i] = *(const double *)((const char *)&r->epochs[i] + epoch_columns[c].offset);
        if ((s = write_column(g, epoch_columns[c].name, H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE, n, col,
                              epoch_columns[c].units, epoch_columns[c].description, err)))
            goto epoch_done;
    }
epoch_done:
    free(ep);
    free(st);
    free(col);
    H5Gclose(g);
    if (s)
        return s;

    if ((s = advml_h5_group(f, "metrics/step", &g, err)))
        return s;
    int32_t dummy_i = 0;
    double dummy_d = 0;
    int64_t dummy_l = 0;
    int64_t ns = r->nsteps;
    if (!(s = write_column(g, "step", H5T_NATIVE_INT64, H5T_STD_I64LE, ns, ns ? r->step_step : &dummy_l, "steps",
                           "optimizer step number (1-based)", err)) &&
        !(s = write_column(g, "epoch", H5T_NATIVE_INT32, H5T_STD_I32LE, ns, ns ? r->step_epoch : &dummy_i, "1",
                           "1-based epoch the step belongs to", err)) &&
        !(s = write_column(g, "loss", H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE, ns, ns ? r->step_loss : &dummy_d,
                           "mean loss per sample",
                           "the global batch's mean data loss at this step (dropout active, without L2; "
                           "class-weighted with training.class_weight)",
                           err)))
        s = write_column(g, "learning_rate", H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE, ns, ns ? r->step_lr : &dummy_d, "1",
                         "the learning rate eta of this step (the schedule's at its global step)", err);
    H5Gclose(g);
    if (s)
        return s;

    if ((s = advml_h5_group(f, "model", &g, err)))
        return s;
    if (!(s = advml_h5_attr_string(g, "summary", r->summary, err)))
        s = advml_h5_attr_int64(g, "nparams", r->nparams, err);
    H5Gclose(g);
    return s;
}

advml_status advml_run_write(const advml_run *r, advml_error *err)
{
    advml_h5out o;
    advml_status s = advml_h5out_create(&o, r->path, 1, err);
    if (s)
        return s;
    if ((s = write_run(r, o.file, err))) {
        advml_error_prefix(err, "%s: ", r->path);
        return advml_h5out_fail(&o, err);
    }
    return advml_h5out_commit(&o, err);
}

/* ---- reading ----------------------------------------------------------------- */

/* 1 if every component of the relative path name exists under f. */
static int path_exists(hid_t f, const char *name)
{
    char buf[256];
    size_t len = strlen(name);
    if (len >= sizeof buf)
        return 0;
    memcpy(buf, name, len + 1);
    for (size_t i = 1; i <= len; i++)
        if (buf[i] == '/' || buf[i] == '\0') {
            char c = buf[i];
            buf[i] = '\0';
            int e = H5Lexists(f, buf, H5P_DEFAULT) > 0;
            buf[i] = c;
            if (!e)
                return 0;
        }
    return 1;
}

/* Open an existing HDF5 file read-only with a clear message. */
static advml_status open_ro(const char *path, const char *what, hid_t *f, advml_error *err)
{
    advml_h5_quiet();
    *f = H5I_INVALID_HID;
    if (access(path, R_OK) != 0)
        return advml_error_set(err, ADVML_ERR_IO, "%s: cannot read the %s: %s", path, what, strerror(errno));
    if (H5Fis_hdf5(path) <= 0)
        return advml_error_set(err, ADVML_ERR_FORMAT, "%s: not an HDF5 file (expected the %s)", path, what);
    *f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (*f < 0)
        return advml_error_set(err, ADVML_ERR_FORMAT, "%s: cannot open the %s", path, what);
    return ADVML_OK;
}

/* Read the whole 1-D dataset at name into a malloc'ed array of n elements of mtype. */
static advml_status read_vec(hid_t f, const char *file, const char *name, hid_t mtype, void **out, int64_t *n,
                             advml_error *err)
{
    *out = NULL;
    *n = 0;
    if (!path_exists(f, name))
        return advml_error_set(err, ADVML_ERR_FORMAT, "%s: dataset %s is missing", file, name);
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
    hid_t sp = d >= 0 ? H5Dget_space(d) : H5I_INVALID_HID;
    hsize_t dims[1] = {0};
    advml_status s = ADVML_OK;
    if (d < 0 || sp < 0 || H5Sget_simple_extent_ndims(sp) != 1 || H5Sget_simple_extent_dims(sp, dims, NULL) < 0) {
        s = advml_error_set(err, ADVML_ERR_FORMAT, "%s: dataset %s is not a 1-D array", file, name);
    } else {
        *n = (int64_t)dims[0];
        *out = malloc((dims[0] ? dims[0] : 1) * H5Tget_size(mtype));
        if (!*out)
            s = advml_error_set(err, ADVML_ERR_NOMEM, "%s: out of memory reading %s", file, name);
        else if (dims[0] && H5Dread(d, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, *out) < 0)
            s = advml_error_set(err, ADVML_ERR_FORMAT, "%s: cannot read dataset %s", file, name);
    }
    if (sp >= 0)
        H5Sclose(sp);
    if (d >= 0)
        H5Dclose(d);
    if (s) {
        free(*out);
        *out = NULL;
    }
    return s;
}

/* The earlier launches of the run file f (a file from before /invocations
 * existed gives one, from its root attributes), appended to r->inv. */
static advml_status load_invocations(advml_run *r, hid_t f, advml_error *err)
{
    advml_status s = ADVML_OK;
    if (!path_exists(f, "invocations/command_line")) {
        char *cl = NULL, *t0 = NULL, *st = NULL;
        int64_t nr = 0;
        advml_h5_read_attr_string(f, "command_line", &cl, NULL);
        advml_h5_read_attr_string(f, "start_time", &t0, NULL);
        advml_h5_read_attr_string(f, "status", &st, NULL);
        advml_h5_read_attr_int64(f, "nranks", &nr, NULL);
        s = advml_run_add_invocation(r, cl ? cl : "", (int)nr, 0, "", err);
        if (!s) {
            advml_invocation *v = &r->inv[r->ninv - 1];
            snprintf(v->start_time, sizeof v->start_time, "%s", t0 ? t0 : "");
            snprintf(v->status, sizeof v->status, "%s", st ? st : "");
        }
        free(cl);
        free(t0);
        free(st);
        return s;
    }
    static const char *const names[5] = {"command_line", "overrides", "start_time", "end_time", "status"};
    char **col[5] = {NULL};
    size_t n[5] = {0}, i;
    int32_t *nr = NULL;
    int64_t *ss = NULL, k1 = 0, k2 = 0;
    for (i = 0; i < 5 && !s; i++) {
        char path[64];
        snprintf(path, sizeof path, "invocations/%s", names[i]);
        if ((s = advml_h5_read_strings(f, path, &col[i], &n[i], err)))
            advml_error_prefix(err, "%s: ", r->path);
    }
    if (!s && !(s = read_vec(f, r->path, "invocations/nranks", H5T_NATIVE_INT32, (void **)&nr, &k1, err)))
        s = read_vec(f, r->path, "invocations/start_step", H5T_NATIVE_INT64, (void **)&ss, &k2, err);
    if (!s && (n[1] != n[0] || n[2] != n[0] || n[3] != n[0] || n[4] != n[0] || (size_t)k1 != n[0] || (size_t)k2 != n[0]))
        s = advml_error_set(err, ADVML_ERR_FORMAT, "%s: the datasets in /invocations differ in length", r->path);
    for (i = 0; !s && i < n[0]; i++) {
        if ((s = advml_run_add_invocation(r, col[0][i], nr[i], ss[i], col[1][i], err)))
            break;
        advml_invocation *v = &r->inv[r->ninv - 1];
        snprintf(v->start_time, sizeof v->start_time, "%s", col[2][i]);
        snprintf(v->end_time, sizeof v->end_time, "%s", col[3][i]);
        snprintf(v->status, sizeof v->status, "%s", col[4][i]);
    }
    for (int c = 0; c < 5; c++) {
        for (i = 0; i < n[c]; i++)
            free(col[c][i]);
        free(col[c]);
    }
    free(nr);
    free(ss);
    return s;
}

advml_status advml_run_load(advml_run *r, int64_t epochs, int64_t step, int *found, advml_error *err)
{
    *found = 0;
    if (access(r->path, F_OK) != 0)
        return ADVML_OK;
    hid_t f;
    advml_status s = open_ro(r->path, "run file", &f, err);
    if (s)
        return s;
    char *fmt = NULL, *start = NULL;
    int32_t *ep = NULL, *sep = NULL;
    int64_t *st = NULL, *sst = NULL;
    double *cols[sizeof epoch_columns / sizeof epoch_columns[0]] = {NULL};
    double *sloss = NULL, *slr = NULL;
    int64_t n = 0, m = 0, k;
    if ((s = advml_h5_read_attr_string(f, "format", &fmt, err)) || strcmp(fmt, "advml-run") != 0) {
        s = advml_error_set(err, ADVML_ERR_FORMAT, "%s: not an advml run file (its \"format\" attribute is %s)",
                            r->path, fmt ? fmt : "missing");
        goto done;
    }
    if ((s = advml_h5_read_attr_string(f, "start_time", &start, err))) {
        advml_error_prefix(err, "%s: ", r->path);
        goto done;
    }
    if ((s = read_vec(f, r->path, "metrics/epoch/epoch", H5T_NATIVE_INT32, (void **)&ep, &n, err)) ||
        (s = read_vec(f, r->path, "metrics/epoch/step", H5T_NATIVE_INT64, (void **)&st, &k, err)))
        goto done;
    for (size_t c = 0; c < sizeof cols / sizeof cols[0]; c++) {
        char name[96];
        snprintf(name, sizeof name, "metrics/epoch/%s", epoch_columns[c].name);
        if (!path_exists(f, name)) { /* a column added after the file was written: NaN */
            if (!(cols[c] = malloc((size_t)(n ? n : 1) * sizeof *cols[c]))) {
                s = advml_error_set(err, ADVML_ERR_NOMEM, "%s: out of memory", r->path);
                goto done;
            }
            for (int64_t i = 0; i < n; i++)
                cols[c][i] = NAN;
            continue;
        }
        if ((s = read_vec(f, r->path, name, H5T_NATIVE_DOUBLE, (void **)&cols[c], &k, err)))
            goto done;
        if (k != n) {
            s = advml_error_set(err, ADVML_ERR_FORMAT, "%s: %s has %lld entries, metrics/epoch/epoch %lld", r->path,
                                name, (long long)k, (long long)n);
            goto done;
        }
    }
    if ((s = read_vec(f, r->path, "metrics/step/step", H5T_NATIVE_INT64, (void **)&sst, &m, err)) ||
        (s = read_vec(f, r->path, "metrics/step/epoch", H5T_NATIVE_INT32, (void **)&sep, &k, err)) ||
        (s = read_vec(f, r->path, "metrics/step/loss", H5T_NATIVE_DOUBLE, (void **)&sloss, &k, err)))
        goto done;
    int64_t kl = 0;
    if (path_exists(f, "metrics/step/learning_rate") &&
        (s = read_vec(f, r->path, "metrics/step/learning_rate", H5T_NATIVE_DOUBLE, (void **)&slr, &kl, err)))
        goto done;
    r->nepochs = r->nsteps = 0;
    for (int64_t i = 0; i < n; i++) {
        if (ep[i] > epochs)
            continue;
        advml_epoch_metrics e;
        memset(&e, 0, sizeof e);
        e.epoch = ep[i];
        e.step = st[i];
        for (size_t c = 0; c < sizeof cols / sizeof cols[0]; c++)
            *(double *)((char *)&e + epoch_columns[c].offset) = cols[c][i];
        if ((s = advml_run_add_epoch(r, &e, err)))
            goto done;
    }
    for (int64_t i = 0; i < m && i < k; i++)
        if (sst[i] <= step && (s = advml_run_add_step(r, sst[i], sep[i], sloss[i], i < kl ? slr[i] : NAN, err)))
            goto done;
    if ((s = load_invocations(r, f, err)))
        goto done;
    if (advml_h5_has_attr(f, "ridge_lambda") && step >= 1) { /* the closed-form readout, kept on --resume */
        r->ridge = 1;
        if ((s = advml_h5_read_attr_double(f, "ridge_lambda", &r->ridge_lambda, err)) ||
            (s = advml_h5_read_attr_int64(f, "ridge_rows", &r->ridge_rows, err)) ||
            (s = advml_h5_read_attr_double(f, "ridge_accumulate_seconds", &r->ridge_seconds[0], err)) ||
            (s = advml_h5_read_attr_double(f, "ridge_reduce_seconds", &r->ridge_seconds[1], err)) ||
            (s = advml_h5_read_attr_double(f, "ridge_solve_seconds", &r->ridge_seconds[2], err)))
            goto done;
    }
    snprintf(r->start_time, sizeof r->start_time, "%s", start);
    *found = 1;
done:
    free(fmt);
    free(start);
    free(ep);
    free(st);
    free(sst);
    free(sep);
    free(sloss);
    free(slr);
    for (size_t c = 0; c < sizeof cols / sizeof cols[0]; c++)
        free(cols[c]);
    H5Fclose(f);
    return s;
}

/* ---- checkpoints ----------------------------------------------------------- */

/* "params/layer00_conv2d/kernel" for view v. */
static void view_path(const advml_model *m, const advml_param_view *v, char *buf, size_t n)
{
    const advml_layer *L = &m->layers[v->layer];
    snprintf(buf, n, "params/layer%02d_%s/%s", L->index, L->kind ? L->kind->name : "layer", v->name);
}


/* ---- checkpoint checksums (docs/run-file-layout.md, "Checksums") ------------
 * Every dataset carries the crc32 (zlib) of its raw little-endian bytes as an
 * int64 attribute "crc32"; the root attribute "checksum" is the crc32 of the
 * file's meaning: config_json, the int64 and float64 state attributes, the
 * optimizer's kind and t, and every dataset's path and crc32 in the order
 * h5py's visititems walks them (depth first, names ascending). */

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "checkpoint checksums are defined over little-endian bytes: add byte swapping for this host"
#endif

static uint32_t crc_bytes(uint32_t crc, const void *p, size_t n)
{
    const unsigned char *b = p;
    while (n > 0) { /* zlib's crc32 takes a uInt length */
        uInt k = n > (1u << 30) ? (1u << 30) : (uInt)n;
        crc = (uint32_t)crc32(crc, b, k);
        b += k;
        n -= k;
    }
    return crc;
}

static uint32_t crc_floats(const float *x, size_t n) { return crc_bytes((uint32_t)crc32(0, Z_NULL, 0), x, n * sizeof *x); }

typedef struct crc_walk {
    uint32_t crc;
    int ndatasets;
    advml_status s;
    advml_error *err;
} crc_walk;

static herr_t crc_visit(hid_t obj, const char *name, const H5O_info_t *info, void *data)
{
    crc_walk *w = data;
    if (info->type != H5O_TYPE_DATASET)
        return 0;
    hid_t d = H5Oopen(obj, name, H5P_DEFAULT);
    int64_t c = -1;
    if (d < 0 || !advml_h5_has_attr(d, "crc32") || advml_h5_read_attr_int64(d, "crc32", &c, NULL) || c < 0 ||
        c > 0xffffffffLL) {
        w->s = advml_error_set(w->err, ADVML_ERR_FORMAT, "dataset /%s has no valid crc32 attribute", name);
        if (d >= 0)
            H5Oclose(d);
        return -1;
    }
    H5Oclose(d);
    uint32_t c32 = (uint32_t)c;
    w->crc = crc_bytes(w->crc, name, strlen(name));
    w->crc = crc_bytes(w->crc, &c32, sizeof c32);
    w->ndatasets++;
    return 0;
}

/* The root checksum of an open checkpoint, from its attributes and its
 * datasets' crc32 attributes (which must all be present). */
/* The state attributes the root checksum covers, in its order: the int64
 * ones of format 2, then those added in format 3; the same for the float64
 * ones (docs/run-file-layout.md, "Checksums"). */
static const char *const ckpt_ints2[] = {"format_version", "epoch", "step", "cursor", "seed", "nparams", NULL};
static const char *const ckpt_ints3[] = {"plateau_wait", "plateau_cooldown", "early_stopping_wait",
                                         "early_stopping_best_epoch", "best_checkpoint_epoch", "stopped_early_epoch",
                                         "restored_epoch", NULL};
static const char *const ckpt_dbls2[] = {"epoch_loss_sum", "epoch_correct", "epoch_samples", "epoch_seconds", NULL};
static const char *const ckpt_dbls3[] = {"lr", "plateau_scale", "plateau_best", "early_stopping_best",
                                         "best_checkpoint_value", NULL};

static advml_status ckpt_checksum(hid_t f, uint32_t *out, advml_error *err)
{
    char *cjson = NULL, *kind = NULL;
    advml_status s;
    uint32_t crc = (uint32_t)crc32(0, Z_NULL, 0);
    int64_t ver = 0;
    if ((s = advml_h5_read_attr_string(f, "config_json", &cjson, err)) ||
        (s = advml_h5_read_attr_int64(f, "format_version", &ver, err))) {
        free(cjson);
        return s;
    }
    crc = crc_bytes(crc, cjson, strlen(cjson));
    free(cjson);
    const char *const *ints[2] = {ckpt_ints2, ver >= 3 ? ckpt_ints3 : NULL};
    const char *const *dbls[2] = {ckpt_dbls2, ver >= 3 ? ckpt_dbls3 : NULL};
    for (int l = 0; l < 2; l++)
        for (int i = 0; ints[l] && ints[l][i]; i++) {
            int64_t v;
            if ((s = advml_h5_read_attr_int64(f, ints[l][i], &v, err)))
                return s;
            crc = crc_bytes(crc, &v, sizeof v);
        }
    for (int l = 0; l < 2; l++)
        for (int i = 0; dbls[l] && dbls[l][i]; i++) {
            double v;
            if ((s = advml_h5_read_attr_double(f, dbls[l][i], &v, err)))
                return s;
            crc = crc_bytes(crc, &v, sizeof v);
        }
    hid_t g = H5Lexists(f, "optimizer", H5P_DEFAULT) > 0 ? H5Gopen2(f, "optimizer", H5P_DEFAULT) : H5I_INVALID_HID;
    if (g < 0)
        return advml_error_set(err, ADVML_ERR_FORMAT, "group /optimizer is missing");
    int64_t t = 0;
    if (!(s = advml_h5_read_attr_string(g, "kind", &kind, err)) && !(s = advml_h5_read_attr_int64(g, "t", &t, err))) {
        crc = crc_bytes(crc, kind, strlen(kind));
        crc = crc_bytes(crc, &t, sizeof t);
    }
    free(kind);
    H5Gclose(g);
    if (s)
        return advml_error_prefix(err, "/optimizer: ");
    crc_walk w = {crc, 0, ADVML_OK, err};
    if (H5Ovisit2(f, H5_INDEX_NAME, H5_ITER_INC, crc_visit, &w, H5O_INFO_BASIC) < 0)
        return w.s ? w.s : advml_error_set(err, ADVML_ERR_FORMAT, "cannot walk the file's datasets");
    *out = w.crc;
    return ADVML_OK;
}

/* Write a float32 dataset with its crc32 attribute. */
static advml_status write_f32_crc(hid_t f, const char *path, int rank, const hsize_t *dims, const float *x, size_t n,
                                  advml_error *err)
{
    hid_t d;
    advml_status s = advml_h5_write(f, path, H5T_NATIVE_FLOAT, H5T_IEEE_F32LE, rank, dims, x, 0, 0, &d, err);
    if (s)
        return s;
    s = advml_h5_attr_int64(d, "crc32", (int64_t)crc_floats(x, n), err);
    H5Dclose(d);
    return s;
}

static advml_status write_ckpt(hid_t f, const advml_model *m, const advml_optimizer *o, const advml_ckpt_state *st,
                               const char *config_json, const float *best_params, advml_error *err)
{
    advml_status s;
    const advml_control_state *cs = &st->control;
    const int64_t ints3[] = {cs->plateau.wait, cs->plateau.cooldown, cs->early_stopping.wait,
                             cs->early_stopping.best_epoch, cs->best.best_epoch, cs->stopped_early, cs->restored_epoch};
    const double dbls3[] = {cs->lr, cs->plateau_scale, cs->plateau.best, cs->early_stopping.best, cs->best.best};
    for (int i = 0; ckpt_ints3[i]; i++)
        if ((s = advml_h5_attr_int64(f, ckpt_ints3[i], ints3[i], err)))
            return s;
    for (int i = 0; ckpt_dbls3[i]; i++)
        if ((s = advml_h5_attr_double(f, ckpt_dbls3[i], dbls3[i], err)))
            return s;
    if ((s = advml_h5_attr_string(f, "format", "advml-checkpoint", err)) ||
        (s = advml_h5_attr_int64(f, "format_version", ADVML_CKPT_FORMAT_VERSION, err)) ||
        (s = advml_h5_attr_string(f, "config_json", config_json, err)) ||
        (s = advml_h5_attr_int64(f, "epoch", st->epoch, err)) || (s = advml_h5_attr_int64(f, "step", st->step, err)) ||
        (s = advml_h5_attr_int64(f, "cursor", st->cursor, err)) || (s = advml_h5_attr_int64(f, "seed", st->seed, err)) ||
        (s = advml_h5_attr_int64(f, "nparams", (int64_t)m->nparams, err)) ||
        (s = advml_h5_attr_string(f, "advml_version", ADVML_VERSION, err)) ||
        (s = advml_h5_attr_double(f, "epoch_loss_sum", st->epoch_loss_sum, err)) ||
        (s = advml_h5_attr_double(f, "epoch_correct", st->epoch_correct, err)) ||
        (s = advml_h5_attr_double(f, "epoch_samples", st->epoch_samples, err)) ||
        (s = advml_h5_attr_double(f, "epoch_seconds", st->epoch_seconds, err)))
        return s;
    for (int i = 0; i < m->nviews; i++) {
        const advml_param_view *v = &m->views[i];
        char path[128];
        hsize_t dims[4];
        view_path(m, v, path, sizeof path);
        for (int d = 0; d < v->rank; d++)
            dims[d] = (hsize_t)v->dims[d];
        if ((s = write_f32_crc(f, path, v->rank, dims, m->params + v->offset, v->size, err)))
            return s;
        if (best_params) { /* "best_params/layer00_conv2d/kernel" */
            char bpath[160];
            snprintf(bpath, sizeof bpath, "best_%s", path);
            if ((s = write_f32_crc(f, bpath, v->rank, dims, best_params + v->offset, v->size, err)))
                return s;
        }
    }
    hsize_t n = (hsize_t)m->nparams;
    float *zeros = NULL;
    if (!o->m || !o->v) {
        zeros = calloc(m->nparams ? m->nparams : 1, sizeof *zeros);
        if (!zeros)
            return advml_error_set(err, ADVML_ERR_NOMEM, "out of memory writing the optimizer state");
    }
    hid_t g;
    s = write_f32_crc(f, "optimizer/m", 1, &n, o->m ? o->m : zeros, m->nparams, err);
    if (!s)
        s = write_f32_crc(f, "optimizer/v", 1, &n, o->v ? o->v : zeros, m->nparams, err);
    free(zeros);
    if (s || (s = advml_h5_group(f, "optimizer", &g, err)))
        return s;
    const advml_optim_config *c = o->cfg;
    if (!(s = advml_h5_attr_string(g, "kind", advml_optim_name(c->kind), err)) &&
        !(s = advml_h5_attr_int64(g, "t", o->t, err)) && !(s = advml_h5_attr_double(g, "lr", advml_float_shortest(c->lr), err)) &&
        !(s = advml_h5_attr_double(g, "momentum", advml_float_shortest(c->momentum), err)) &&
        !(s = advml_h5_attr_double(g, "beta1", advml_float_shortest(c->beta1), err)) &&
        !(s = advml_h5_attr_double(g, "beta2", advml_float_shortest(c->beta2), err)) && !(s = advml_h5_attr_double(g, "rho", advml_float_shortest(c->rho), err)) &&
        !(s = advml_h5_attr_double(g, "eps", advml_float_shortest(c->eps), err)))
        s = advml_h5_attr_double(g, "l2", advml_float_shortest(c->l2), err);
    H5Gclose(g);
    uint32_t crc;
    if (!s && !(s = ckpt_checksum(f, &crc, err)))
        s = advml_h5_attr_int64(f, "checksum", (int64_t)crc, err);
    return s;
}

advml_status advml_checkpoint_write(const char *path, const advml_model *m, const advml_optimizer *o,
                                    const advml_ckpt_state *st, const char *config_json, const float *best_params,
                                    advml_error *err)
{
    advml_h5out out;
    advml_status s = advml_h5out_create(&out, path, 1, err);
    if (s)
        return s;
    if ((s = write_ckpt(out.file, m, o, st, config_json, best_params, err))) {
        advml_error_prefix(err, "%s: ", path);
        return advml_h5out_fail(&out, err);
    }
    return advml_h5out_commit(&out, err);
}

/* Compare the root checksum with the one recomputed from the file. */
static advml_status verify_checksum(hid_t f, advml_error *err)
{
    int64_t stored = -1;
    uint32_t now;
    advml_status s;
    if (!advml_h5_has_attr(f, "checksum") || advml_h5_read_attr_int64(f, "checksum", &stored, NULL))
        return advml_error_set(err, ADVML_ERR_FORMAT,
                               "the checksum attribute is missing: the file is damaged or was not written by "
                               "advml-train; refusing it");
    if ((s = ckpt_checksum(f, &now, err)))
        return advml_error_prefix(err, "damaged checkpoint: ");
    if ((int64_t)now != stored)
        return advml_error_set(err, ADVML_ERR_FORMAT,
                               "damaged checkpoint: its attributes (config_json, epoch, step, cursor, seed, ...) or "
                               "its list of datasets do not match the checksum written with them (stored %08llx, "
                               "computed %08lx); the file was altered or corrupted after it was written, refusing it",
                               (unsigned long long)stored, (unsigned long)now);
    return ADVML_OK;
}

static advml_status open_ckpt(const char *path, hid_t *f, advml_error *err)
{
    advml_status s = open_ro(path, "checkpoint", f, err);
    if (s)
        return s;
    char *fmt = NULL;
    int64_t ver = 0;
    if (advml_h5_read_attr_string(*f, "format", &fmt, NULL) || strcmp(fmt, "advml-checkpoint") != 0) {
        s = advml_error_set(err, ADVML_ERR_FORMAT,
                            "%s: not an advml checkpoint (its \"format\" attribute is %s%s%s); --resume takes the "
                            "RUN.ckpt.h5 file written beside the run file",
                            path, fmt ? "\"" : "", fmt ? fmt : "missing", fmt ? "\"" : "");
    } else if (advml_h5_read_attr_int64(*f, "format_version", &ver, NULL) || ver < 2 ||
               ver > ADVML_CKPT_FORMAT_VERSION) {
        s = advml_error_set(err, ADVML_ERR_FORMAT,
                            "%s: checkpoint format_version %lld; this advml reads versions 2 to %d (checkpoints "
                            "with checksums)%s",
                            path, (long long)ver, ADVML_CKPT_FORMAT_VERSION,
                            ver == 1 ? ": it was written by an older advml; retrain or use that version"
                                     : ver > ADVML_CKPT_FORMAT_VERSION ? ": it was written by a newer advml" : "");
    }
    free(fmt);
    if (s) {
        H5Fclose(*f);
        *f = H5I_INVALID_HID;
    }
    return s;
}

advml_status advml_checkpoint_read_header(const char *path, advml_ckpt_state *st, char **config_json,
                                          advml_optim_kind *kind, int64_t *nparams, advml_error *err)
{
    *config_json = NULL;
    memset(st, 0, sizeof *st);
    hid_t f;
    advml_status s = open_ckpt(path, &f, err);
    if (s)
        return s;
    char *kname = NULL;
    hid_t g = H5I_INVALID_HID;
    if ((s = advml_h5_read_attr_string(f, "config_json", config_json, err)) ||
        (s = advml_h5_read_attr_int64(f, "epoch", &st->epoch, err)) ||
        (s = advml_h5_read_attr_int64(f, "step", &st->step, err)) ||
        (s = advml_h5_read_attr_int64(f, "cursor", &st->cursor, err)) ||
        (s = advml_h5_read_attr_int64(f, "seed", &st->seed, err)) ||
        (s = advml_h5_read_attr_int64(f, "nparams", nparams, err)) ||
        (s = advml_h5_read_attr_double(f, "epoch_loss_sum", &st->epoch_loss_sum, err)) ||
        (s = advml_h5_read_attr_double(f, "epoch_correct", &st->epoch_correct, err)) ||
        (s = advml_h5_read_attr_double(f, "epoch_samples", &st->epoch_samples, err)) ||
        (s = advml_h5_read_attr_double(f, "epoch_seconds", &st->epoch_seconds, err)))
        goto done;
    int64_t ver = 0;
    advml_h5_read_attr_int64(f, "format_version", &ver, NULL); /* checked by open_ckpt */
    if (ver >= 3) {
        advml_control_state *c = &st->control;
        int64_t *ints3[] = {&c->plateau.wait, &c->plateau.cooldown, &c->early_stopping.wait,
                            &c->early_stopping.best_epoch, &c->best.best_epoch, &c->stopped_early, &c->restored_epoch};
        double *dbls3[] = {&c->lr, &c->plateau_scale, &c->plateau.best, &c->early_stopping.best, &c->best.best};
        for (int i = 0; ckpt_ints3[i] && !s; i++)
            s = advml_h5_read_attr_int64(f, ckpt_ints3[i], ints3[i], err);
        for (int i = 0; ckpt_dbls3[i] && !s; i++)
            s = advml_h5_read_attr_double(f, ckpt_dbls3[i], dbls3[i], err);
        if (s)
            goto done;
        st->have_control = 1;
    }
    if (H5Lexists(f, "optimizer", H5P_DEFAULT) <= 0 || (g = H5Gopen2(f, "optimizer", H5P_DEFAULT)) < 0) {
        s = advml_error_set(err, ADVML_ERR_FORMAT, "group /optimizer is missing");
        goto done;
    }
    if ((s = advml_h5_read_attr_string(g, "kind", &kname, err)))
        goto done;
    if (advml_optim_from_name(kname, kind) != 0)
        s = advml_error_set(err, ADVML_ERR_FORMAT, "/optimizer: unknown kind \"%s\"", kname);
    if (!s && (st->epoch < 0 || st->step < 0 || st->cursor < 0 || *nparams < 0))
        s = advml_error_set(err, ADVML_ERR_FORMAT, "negative epoch, step, cursor or nparams");
    if (!s)
        s = verify_checksum(f, err);
done:
    free(kname);
    if (g >= 0)
        H5Gclose(g);
    H5Fclose(f);
    if (s) {
        free(*config_json);
        *config_json = NULL;
        advml_error_prefix(err, "%s: ", path);
    }
    return s;
}

/* Read the float32 dataset at name, which must have exactly the given shape. */
static advml_status read_f32(hid_t f, const char *name, int rank, const int *want, float *dst, advml_error *err)
{
    if (!path_exists(f, name))
        return advml_error_set(err, ADVML_ERR_FORMAT, "dataset /%s is missing (the checkpoint holds a different model)",
                               name);
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
    hid_t sp = d >= 0 ? H5Dget_space(d) : H5I_INVALID_HID;
    hsize_t dims[H5S_MAX_RANK];
    int r = sp >= 0 ? H5Sget_simple_extent_ndims(sp) : -1;
    advml_status s = ADVML_OK;
    int same = r == rank && r >= 0 && r <= H5S_MAX_RANK && H5Sget_simple_extent_dims(sp, dims, NULL) >= 0;
    for (int i = 0; same && i < rank; i++)
        same = dims[i] == (hsize_t)want[i];
    if (!same) {
        char have[96] = "?", exp[96] = "";
        if (r >= 0 && r <= H5S_MAX_RANK && H5Sget_simple_extent_dims(sp, dims, NULL) >= 0) {
            have[0] = '\0';
            for (int i = 0; i < r; i++)
                snprintf(have + strlen(have), sizeof have - strlen(have), "%s%llu", i ? ", " : "",
                         (unsigned long long)dims[i]);
        }
        for (int i = 0; i < rank; i++)
            snprintf(exp + strlen(exp), sizeof exp - strlen(exp), "%s%d", i ? ", " : "", want[i]);
        s = advml_error_set(err, ADVML_ERR_FORMAT, "dataset /%s has shape (%s), the model needs (%s)", name, have, exp);
    } else if (H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, dst) < 0) {
        s = advml_error_set(err, ADVML_ERR_FORMAT, "cannot read dataset /%s (the file is damaged)", name);
    } else {
        size_t n = 1;
        for (int i = 0; i < rank; i++)
            n *= (size_t)want[i];
        int64_t stored = -1;
        uint32_t now = crc_floats(dst, n);
        if (!advml_h5_has_attr(d, "crc32") || advml_h5_read_attr_int64(d, "crc32", &stored, NULL))
            s = advml_error_set(err, ADVML_ERR_FORMAT, "damaged checkpoint: dataset /%s has no crc32 attribute", name);
        else if ((int64_t)now != stored)
            s = advml_error_set(err, ADVML_ERR_FORMAT,
                                "damaged checkpoint: the values of dataset /%s do not match the crc32 written with "
                                "them (stored %08llx, computed %08lx); the file was altered or corrupted after it "
                                "was written, refusing it",
                                name, (unsigned long long)stored, (unsigned long)now);
    }
    if (sp >= 0)
        H5Sclose(sp);
    if (d >= 0)
        H5Dclose(d);
    return s;
}

advml_status advml_checkpoint_read_state(const char *path, advml_model *m, advml_optimizer *o, float *best_params,
                                         int *have_best, advml_error *err)
{
    hid_t f;
    advml_status s = open_ckpt(path, &f, err);
    if (s)
        return s;
    if (have_best)
        *have_best = best_params && H5Lexists(f, "best_params", H5P_DEFAULT) > 0;
    for (int i = 0; i < m->nviews && !s; i++) {
        char name[128], bname[160];
        view_path(m, &m->views[i], name, sizeof name);
        s = read_f32(f, name, m->views[i].rank, m->views[i].dims, m->params + m->views[i].offset, err);
        snprintf(bname, sizeof bname, "best_%s", name);
        if (!s && have_best && *have_best)
            s = read_f32(f, bname, m->views[i].rank, m->views[i].dims, best_params + m->views[i].offset, err);
    }
    int n = (int)m->nparams;
    if (!s && o->m)
        s = read_f32(f, "optimizer/m", 1, &n, o->m, err);
    if (!s && o->v)
        s = read_f32(f, "optimizer/v", 1, &n, o->v, err);
    if (!s) {
        hid_t g = H5Gopen2(f, "optimizer", H5P_DEFAULT);
        if (g < 0)
            s = advml_error_set(err, ADVML_ERR_FORMAT, "group /optimizer is missing");
        else {
            int64_t t = 0;
            s = advml_h5_read_attr_int64(g, "t", &t, err);
            if (!s && t < 0)
                s = advml_error_set(err, ADVML_ERR_FORMAT, "/optimizer: negative step count t");
            if (!s)
                o->t = t;
            H5Gclose(g);
        }
    }
    H5Fclose(f);
    if (s)
        advml_error_prefix(err, "%s: ", path);
    return s;
}

/* ---- --init-from ------------------------------------------------------------ */

/* The shape of dataset name as text "(a, b)"; 0 when it is not a dataset. */
static int dataset_shape_text(hid_t f, const char *name, char *buf, size_t n)
{
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
    if (d < 0)
        return 0;
    hid_t sp = H5Dget_space(d);
    hsize_t dims[H5S_MAX_RANK];
    int r = sp >= 0 ? H5Sget_simple_extent_ndims(sp) : -1;
    int ok = r >= 0 && r <= H5S_MAX_RANK && H5Sget_simple_extent_dims(sp, dims, NULL) >= 0;
    if (ok) {
        size_t len = (size_t)snprintf(buf, n, "(");
        for (int i = 0; i < r && len < n; i++)
            len += (size_t)snprintf(buf + len, n - len, "%s%llu", i ? ", " : "", (unsigned long long)dims[i]);
        if (len < n)
            snprintf(buf + len, n - len, ")");
    }
    if (sp >= 0)
        H5Sclose(sp);
    H5Dclose(d);
    return ok;
}

static void view_shape_text(const advml_param_view *v, char *buf, size_t n)
{
    size_t len = (size_t)snprintf(buf, n, "(");
    for (int i = 0; i < v->rank && len < n; i++)
        len += (size_t)snprintf(buf + len, n - len, "%s%d", i ? ", " : "", v->dims[i]);
    if (len < n)
        snprintf(buf + len, n - len, ")");
}

/* What the checkpoint holds at layer index i ("a dense layer", "no layer with weights"). */
static void ckpt_layer_at(hid_t f, int i, char *buf, size_t n)
{
    snprintf(buf, n, "no layer with weights at index %d", i);
    for (int t = 0; t < ADVML_LAYER_NTYPES; t++) {
        const advml_layer_kind *k = advml_layer_kind_of((advml_layer_type)t);
        char g[96];
        if (!k)
            continue;
        snprintf(g, sizeof g, "params/layer%02d_%s", i, k->name);
        if (path_exists(f, g)) {
            snprintf(buf, n, "a %s layer at index %d", k->name, i);
            return;
        }
    }
}

advml_status advml_checkpoint_read_layers(const char *path, advml_model *m, const int *layers, int n,
                                          uint64_t *loaded, advml_error *err)
{
    *loaded = 0;
    hid_t f;
    advml_status s = open_ckpt(path, &f, err);
    if (s)
        return s;
    if ((s = verify_checksum(f, err))) {
        H5Fclose(f);
        return advml_error_prefix(err, "%s: ", path);
    }
    for (int i = 0; i < m->nlayers && !s; i++) {
        const advml_layer *L = &m->layers[i];
        int chosen = !layers;
        for (int j = 0; layers && j < n; j++)
            chosen |= layers[j] == i;
        if (!chosen)
            continue;
        char grp[96], what[96];
        snprintf(grp, sizeof grp, "params/layer%02d_%s", i, L->kind->name);
        if (L->nparams == 0) {
            if (layers)
                s = advml_error_set(err, ADVML_ERR_CONFIG,
                                    "training.init_layers: layer %d (%s) has no weights to take from %s", i,
                                    L->kind->name, path);
            continue;
        }
        if (!path_exists(f, grp)) {
            ckpt_layer_at(f, i, what, sizeof what);
            if (layers)
                s = advml_error_set(err, ADVML_ERR_SHAPE,
                                    "--init-from %s: layer %d (%s) of the model has no weights there (it holds %s); "
                                    "leave the layer out of training.init_layers",
                                    path, i, L->kind->name, what);
            continue;
        }
        for (int v = 0; v < L->nviews && !s; v++) {
            const advml_param_view *pv = &L->views[v];
            char name[160], have[96], want[96];
            snprintf(name, sizeof name, "%s/%s", grp, pv->name);
            view_shape_text(pv, want, sizeof want);
            if (!dataset_shape_text(f, name, have, sizeof have)) {
                s = advml_error_set(err, ADVML_ERR_SHAPE,
                                    "--init-from %s: layer %d (%s): the checkpoint has no %s for it (a different "
                                    "configuration of the layer); leave it out with training.init_layers",
                                    path, i, L->kind->name, pv->name);
                break;
            }
            if (strcmp(have, want) != 0) {
                s = advml_error_set(err, ADVML_ERR_SHAPE,
                                    "--init-from %s: layer %d (%s): %s is %s in the model but %s in the checkpoint; "
                                    "leave the layer out with training.init_layers (the layers to take)",
                                    path, i, L->kind->name, pv->name, want, have);
                break;
            }
            /* the model's view offsets are absolute in m->views; L->views are relative to the layer */
            s = read_f32(f, name, pv->rank, pv->dims, m->params + L->param_offset + pv->offset, err);
            if (s)
                advml_error_prefix(err, "%s: ", path);
        }
        if (!s)
            *loaded |= (uint64_t)1 << i;
    }
    H5Fclose(f);
    if (!s && !*loaded)
        s = advml_error_set(err, ADVML_ERR_SHAPE,
                            "--init-from %s: no layer of the model matches one there (same index, kind and shapes); "
                            "nothing to take",
                            path);
    return s;
}

/* forecast.c - recursive forecasting with a trained sequence model
 * (include/advml/forecast.h, docs/predict-layout.md).
 */
#include "advml/forecast.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- names in the data file --------------------------------------------------------- */

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
static int output_for(const advml_names *targets, const char *base)
{
    for (int k = 0; k < targets->n; k++) {
        size_t b = strlen(base), t = strlen(targets->v[k]);
        if (t == b + 3 && !strncmp(targets->v[k], base, b) && !strcmp(targets->v[k] + b, "(i)"))
            return k;
    }
    return -1;
}

/* ---- the forecast ------------------------------------------------------------------- */

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
    advml_names feat, targ;
    snprintf(obj, sizeof obj, "/%s/inputs", split);
    advml_dataset_names(data_path, obj, "feature_names", &feat);
    snprintf(obj, sizeof obj, "/%s/targets", split);
    advml_dataset_names(data_path, obj, "names", &targ);
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
    advml_names_free(&feat);
    advml_names_free(&targ);
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
        advml_shape_describe(in, a, sizeof a);
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


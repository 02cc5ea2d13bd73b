/* metrics.c - evaluation metrics reduced exactly over ranks (see
 * include/advml/metrics.h).
 *
 * Table layout, for a split of n samples: n rows of cols doubles,
 *   classifiers:  [loss, correct, top-k hit]
 *   regression:   [loss, target_0 .. target_{K-1}, residual_0 .. residual_{K-1}]
 * then the confusion counts (nclasses, nclasses) [true][predicted].
 */
#include "advml/metrics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { C_LOSS = 0, C_CORRECT, C_TOPK };

advml_status advml_eval_table_init(advml_eval_table *tab, const advml_model *m, int64_t n, int top_k,
                                   advml_error *err)
{
    memset(tab, 0, sizeof *tab);
    tab->n = n;
    tab->K = (int)advml_shape_size(&m->out_shape);
    tab->classify = m->spec.loss != ADVML_LOSS_MSE;
    tab->nclasses = m->spec.loss == ADVML_LOSS_CCE ? tab->K : (m->spec.loss == ADVML_LOSS_BCE && tab->K == 1) ? 2 : 0;
    tab->top_k = top_k;
    tab->cols = tab->classify ? 3 : 1 + 2 * tab->K;
    size_t size = advml_eval_table_size(tab);
    tab->v = calloc(size ? size : 1, sizeof *tab->v);
    if (!tab->v)
        return advml_error_set(err, ADVML_ERR_NOMEM, "out of memory for the evaluation of %lld samples",
                               (long long)n);
    return ADVML_OK;
}

void advml_eval_table_free(advml_eval_table *tab)
{
    free(tab->v);
    memset(tab, 0, sizeof *tab);
}

size_t advml_eval_table_size(const advml_eval_table *tab)
{
    return (size_t)tab->n * (size_t)tab->cols + (size_t)tab->nclasses * (size_t)tab->nclasses;
}

void advml_eval_table_add(advml_eval_table *tab, const advml_model *m, const float *targets, int B, int64_t first)
{
    const int K = tab->K;
    const float *y = advml_model_output(m); /* (B, K) probabilities or values */
    double *counts = tab->v + (size_t)tab->n * tab->cols;
    for (int b = 0; b < B; b++) {
        double *row = tab->v + (size_t)(first + b) * tab->cols;
        const float *yb = y + (size_t)b * K;
        row[C_LOSS] = advml_model_sample_loss(m, targets, b);
        if (m->spec.loss == ADVML_LOSS_CCE) {
            const int label = (int)targets[b];
            int best = 0, above = 0;
            for (int k = 1; k < K; k++)
                if (yb[k] > yb[best])
                    best = k;
            int valid = label >= 0 && label < K && (float)label == targets[b];
            for (int k = 0; valid && k < K; k++)
                above += yb[k] > yb[label];
            row[C_CORRECT] = valid && best == label;
            row[C_TOPK] = valid && above < tab->top_k;
            if (valid)
                counts[(size_t)label * K + best] += 1.0;
        } else if (m->spec.loss == ADVML_LOSS_BCE) {
            const float *t = targets + (size_t)b * K;
            int hits = 0;
            for (int k = 0; k < K; k++)
                hits += (yb[k] > 0.5f) == (t[k] > 0.5f);
            row[C_CORRECT] = (double)hits / K;
            if (K == 1)
                counts[(t[0] > 0.5f) * 2 + (yb[0] > 0.5f)] += 1.0;
        } else {
            const float *t = targets + (size_t)b * K;
            for (int k = 0; k < K; k++) {
                row[1 + k] = t[k];
                row[1 + K + k] = (double)yb[k] - (double)t[k];
            }
        }
    }
}

void advml_eval_free(advml_eval *e)
{
    free(e->confusion);
    free(e->precision);
    free(e->recall);
    free(e->f1);
    e->confusion = NULL;
    e->precision = e->recall = e->f1 = NULL;
}

static advml_status alloc_classes(advml_eval *e, advml_error *err)
{
    int c = e->nclasses;
    if (!c)
        return ADVML_OK;
    e->confusion = calloc((size_t)c * c, sizeof *e->confusion);
    e->precision = calloc((size_t)c, sizeof *e->precision);
    e->recall = calloc((size_t)c, sizeof *e->recall);
    e->f1 = calloc((size_t)c, sizeof *e->f1);
    if (!e->confusion || !e->precision || !e->recall || !e->f1) {
        advml_eval_free(e);
        return advml_error_set(err, ADVML_ERR_NOMEM, "out of memory for the confusion matrix");
    }
    return ADVML_OK;
}

advml_status advml_eval_compute(const advml_eval_table *tab, advml_eval *e, advml_error *err)
{
    memset(e, 0, sizeof *e);
    e->n = tab->n;
    e->K = tab->K;
    e->nclasses = tab->nclasses;
    e->top_k = tab->top_k;
    e->loss = e->accuracy = e->top_k_accuracy = e->mae = e->r2 = NAN;
    e->macro_precision = e->macro_recall = e->macro_f1 = NAN;
    const int64_t n = tab->n;
    const int K = tab->K, cols = tab->cols;
    if (n <= 0)
        return ADVML_OK;
    double loss = 0.0;
    for (int64_t i = 0; i < n; i++) /* in sample order: the same sum on every rank, for any N */
        loss += tab->v[(size_t)i * cols + C_LOSS];
    e->loss = loss / (double)n;
    if (tab->classify) {
        double correct = 0.0, topk = 0.0;
        for (int64_t i = 0; i < n; i++) {
            correct += tab->v[(size_t)i * cols + C_CORRECT];
            topk += tab->v[(size_t)i * cols + C_TOPK];
        }
        e->accuracy = correct / (double)n;
        if (tab->nclasses == K && K > 1) /* categorical */
            e->top_k_accuracy = topk / (double)n;
        advml_status s = alloc_classes(e, err);
        if (s)
            return s;
        const int c = e->nclasses;
        const double *counts = tab->v + (size_t)n * cols;
        for (int i = 0; i < c * c; i++)
            e->confusion[i] = (int64_t)counts[i];
        if (c) {
            double sp = 0, sr = 0, sf = 0;
            for (int k = 0; k < c; k++) {
                int64_t tp = e->confusion[(size_t)k * c + k], pred = 0, truth = 0;
                for (int j = 0; j < c; j++) {
                    pred += e->confusion[(size_t)j * c + k];
                    truth += e->confusion[(size_t)k * c + j];
                }
                double p = pred ? (double)tp / (double)pred : 0.0, r = truth ? (double)tp / (double)truth : 0.0;
                e->precision[k] = p;
                e->recall[k] = r;
                e->f1[k] = p + r > 0 ? 2.0 * p * r / (p + r) : 0.0;
                sp += p;
                sr += r;
                sf += e->f1[k];
            }
            e->macro_precision = sp / c;
            e->macro_recall = sr / c;
            e->macro_f1 = sf / c;
        }
        return ADVML_OK;
    }
    /* regression: MAE over all outputs; R^2 per output (two passes: the mean, then the sums) */
    double abs_sum = 0.0, r2_sum = 0.0;
    for (int64_t i = 0; i < n; i++)
        for (int k = 0; k < K; k++)
            abs_sum += fabs(tab->v[(size_t)i * cols + 1 + K + k]);
    for (int k = 0; k < K; k++) {
        double mean = 0.0, ss_tot = 0.0, ss_res = 0.0;
        for (int64_t i = 0; i < n; i++)
            mean += tab->v[(size_t)i * cols + 1 + k];
        mean /= (double)n;
        for (int64_t i = 0; i < n; i++) {
            double d = tab->v[(size_t)i * cols + 1 + k] - mean, r = tab->v[(size_t)i * cols + 1 + K + k];
            ss_tot += d * d;
            ss_res += r * r;
        }
        r2_sum += ss_tot > 0 ? 1.0 - ss_res / ss_tot : (ss_res == 0 ? 1.0 : 0.0);
    }
    e->mae = abs_sum / ((double)n * K);
    e->r2 = r2_sum / K;
    return ADVML_OK;
}

advml_status advml_eval_copy(advml_eval *dst, const advml_eval *src, advml_error *err)
{
    *dst = *src;
    dst->confusion = NULL;
    dst->precision = dst->recall = dst->f1 = NULL;
    advml_status s = alloc_classes(dst, err);
    if (s)
        return s;
    int c = src->nclasses;
    if (c) {
        memcpy(dst->confusion, src->confusion, (size_t)c * c * sizeof *dst->confusion);
        memcpy(dst->precision, src->precision, (size_t)c * sizeof *dst->precision);
        memcpy(dst->recall, src->recall, (size_t)c * sizeof *dst->recall);
        memcpy(dst->f1, src->f1, (size_t)c * sizeof *dst->f1);
    }
    return ADVML_OK;
}

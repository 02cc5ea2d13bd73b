/* metrics.h - the metrics of an evaluation (docs/training.md, "Metrics"),
 * reduced exactly over ranks.
 *
 * Each rank evaluates a contiguous block of the split's samples and writes
 * what it finds for sample i into slot i of a table that covers the whole
 * split (zeros elsewhere). One allreduce sums the tables: every slot has one
 * non-zero contributor, so the sum is exact and every rank holds the same
 * per-sample values, whatever the number of ranks. The metrics are then
 * summed in sample order, identically on every rank: a plateau schedule or
 * early stopping deciding on them decides the same everywhere, and the same
 * for 1, 2, 3 or 4 ranks whenever the per-sample values agree.
 *
 * Per sample the table holds its loss, whether the prediction is correct
 * (a fraction for multi-output binary cross-entropy), whether the label is
 * among the top k scores; for a regression its K targets and K residuals
 * (prediction - target), for MAE and R^2. Counts (the confusion matrix) are
 * integers, summed exactly in double up to 2^53.
 */
#ifndef ADVML_METRICS_H
#define ADVML_METRICS_H

#include <stdint.h>
#include "advml/status.h"
#include "advml/model.h"

/* One split's results (NaN where a metric does not apply). */
typedef struct advml_eval {
    int64_t n;                 /* samples evaluated */
    int K;                     /* outputs per sample (classes for categorical cross-entropy) */
    int nclasses;              /* confusion matrix size: K (CCE), 2 (BCE with one output), else 0 */
    int top_k;                 /* k of top_k_accuracy (CCE only) */
    double loss;               /* mean loss per sample (data term, unweighted) */
    double accuracy;           /* classifiers */
    double top_k_accuracy;     /* CCE */
    double mae;                /* regression: mean |prediction - target| over samples and outputs */
    double r2;                 /* regression: 1 - SS_res / SS_tot per output, averaged over outputs
                                  (scikit-learn's r2_score, uniform_average, force_finite) */
    int64_t *confusion;        /* (nclasses, nclasses) [true][predicted], owned; NULL if nclasses 0 */
    double *precision, *recall, *f1; /* (nclasses) each, owned; 0 where undefined (scikit-learn's
                                        zero_division=0) */
    double macro_precision, macro_recall, macro_f1; /* unweighted means over the classes */
} advml_eval;

/* The table one evaluation fills: per-sample slots for all n samples of the
 * split, then the counts. Owned; release with advml_eval_table_free. */
typedef struct advml_eval_table {
    int64_t n;
    int K, classify, nclasses, top_k;
    int cols;                  /* doubles per sample */
    double *v;                 /* (n * cols + nclasses^2) */
} advml_eval_table;

/* A zeroed table for a split of n samples of model m; top_k for CCE. */
advml_status advml_eval_table_init(advml_eval_table *tab, const advml_model *m, int64_t n, int top_k,
                                   advml_error *err);
void advml_eval_table_free(advml_eval_table *tab);
/* Doubles in the table (what the allreduce sums). */
size_t advml_eval_table_size(const advml_eval_table *tab);

/* Record the last forward of m over samples first .. first + B - 1 of the
 * split (targets (B, target size)). */
void advml_eval_table_add(advml_eval_table *tab, const advml_model *m, const float *targets, int B, int64_t first);

/* The metrics from a (summed) table, in sample order. e's arrays are
 * allocated (free with advml_eval_free). */
advml_status advml_eval_compute(const advml_eval_table *tab, advml_eval *e, advml_error *err);
void advml_eval_free(advml_eval *e);

/* A deep copy (dst's arrays allocated; free with advml_eval_free). */
advml_status advml_eval_copy(advml_eval *dst, const advml_eval *src, advml_error *err);

#endif

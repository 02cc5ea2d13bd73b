/* predict.h - inference with a trained model: load a checkpoint of
 * advml-train (docs/run-file-layout.md) and predict a dataset split.
 * Recursive forecasting is forecast.h, the prediction file predict_file.h.
 *
 * The functions taking an advml_comm are collective: all ranks call them and
 * all return the same status (the message is on rank 0). Ranks split the
 * samples in contiguous blocks (advml_dataset_shard).
 */
#ifndef ADVML_PREDICT_H
#define ADVML_PREDICT_H

#include <stdint.h>
#include "advml/status.h"
#include "advml/comm.h"
#include "advml/config.h"
#include "advml/dataset.h"
#include "advml/model.h"
#include "advml/runfile.h"

/* What the model's loss makes of its outputs. */
typedef enum advml_task {
    ADVML_TASK_CLASSIFICATION = 0, /* categorical_crossentropy: K class probabilities */
    ADVML_TASK_BINARY,             /* binary_crossentropy: K independent probabilities */
    ADVML_TASK_REGRESSION          /* mse: K values */
} advml_task;

const char *advml_task_name(advml_task t); /* "classification", "binary", "regression" */

typedef struct advml_predictor {
    char path[ADVML_PATH_MAX];     /* the checkpoint */
    advml_config cfg;              /* the model's config, from the checkpoint */
    char *config_json;             /* as stored in the checkpoint (owned) */
    advml_ckpt_state state;        /* epoch, step, seed of the checkpoint */
    advml_model model;             /* built for batches of up to max_batch, trained weights loaded */
    int max_batch;
    int K;                         /* outputs per sample */
    advml_task task;
} advml_predictor;

/* Read the checkpoint at path: its config, the model it describes (built for
 * batches of up to max_batch samples) and the trained weights; every weight's
 * shape is checked against the model. Errors name the file (ADVML_ERR_IO
 * when missing, ADVML_ERR_FORMAT when it is not a checkpoint or does not match
 * its own config). Not collective: each rank may load its own copy. Release
 * with advml_predictor_free (also after a failed load). */
advml_status advml_predictor_load(advml_predictor *p, const char *path, int max_batch, advml_error *err);
void advml_predictor_free(advml_predictor *p);

/* Check that the split of the dataset fits the model: the per-sample input
 * shape, and K classes (classification: the data's num_classes must equal K)
 * or K target values. Messages name the data file, split and checkpoint and
 * say which kind of data (images / sequences) the model expects. */
advml_status advml_predictor_check_split(const advml_predictor *p, const char *data_path, const char *split,
                                         const advml_split_info *info, advml_error *err);

/* out (B, K) = the model's outputs for x (B, input), B <= max_batch:
 * probabilities for classifiers, values for regressors. */
void advml_predictor_forward(advml_predictor *p, const float *x, int B, float *out);

/* Predictions for one whole split. */
typedef struct advml_predictions {
    int64_t n;                /* samples */
    int K;                    /* outputs per sample */
    int target_floats;        /* 1 (class id) for classification, else K */
    advml_task task;
    float *outputs;           /* (n, K) probabilities (classifiers) or values (regressors) */
    float *targets;           /* (n, target_floats) the split's targets (class ids as floats) */
    int32_t *predicted;       /* classification: (n) argmax; binary: (n, K) 0/1 (p > 0.5); else NULL */
    int64_t *confusion;       /* classification: (K, K); binary with K == 1: (2, 2); rows true,
                                 columns predicted; else NULL */
    int confusion_k;          /* side of confusion (0 when NULL) */
    double loss;              /* mean loss per sample (the training loss, without L2) */
    double accuracy;          /* fraction correct (classification, binary); NaN for regression */
    double mse;               /* mean over samples and outputs of (output - target)^2
                                 (regression; for classifiers NaN) */
} advml_predictions;

/* Predict every sample of split: each rank computes a contiguous block of
 * samples in batches of p->max_batch, then the blocks are summed onto every
 * rank. Collective. *pr owns its arrays (advml_predictions_free). */
advml_status advml_predict_split(advml_predictor *p, advml_dataset *ds, const char *split,
                                 advml_predictions *pr, advml_comm *comm, advml_error *err);
void advml_predictions_free(advml_predictions *pr);

#endif

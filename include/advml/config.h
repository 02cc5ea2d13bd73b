/* config.h - the JSON job description of advml-train (reference: docs/training.md).
 *
 *   {"input": [1, 28, 28],
 *    "model": [{"type": "conv2d", "filters": 32, "kernel": [3, 3], "padding": "same",
 *               "activation": "relu"}, ...],
 *    "loss": "categorical_crossentropy",
 *    "optimizer": {"name": "adam", "lr": 1e-3},
 *    "training": {"epochs": 10, "batch_size": 64, "seed": 42, "data": "data/mnist.h5"}}
 *
 * Parsing is strict: a JSON syntax error names the file, line and column; a
 * semantic error names the file and the field path ("model[3].kernel") with
 * what was expected and what was found; an unknown key is an error (with a
 * suggestion when it looks like a typo or a Keras/PyTorch name). The parsed
 * config holds no heap memory: copy it freely, nothing to free.
 */
#ifndef ADVML_CONFIG_H
#define ADVML_CONFIG_H

#include <stdint.h>
#include "advml/status.h"
#include "advml/model.h"
#include "advml/optim.h"
#include "advml/schedule.h"
#include "advml/numfmt.h" /* advml_float_shortest, for run-file writers (until they include it) */

#define ADVML_CONFIG_TEXT_MAX 1024
#define ADVML_MAX_CLASS_WEIGHTS 1024

/* "training.augment": random changes to each training sample, drawn from the
 * counter-based generator keyed by (seed, epoch, global sample index), so
 * the same for any number of ranks; never applied at evaluation. */
typedef struct advml_augment_config {
    int shift[2];                 /* (dy, dx) at most: a random shift with zero padding, as
                                     torchvision's RandomCrop(size, padding); 0 = off (images) */
    int horizontal_flip;          /* 1: mirror left-right with probability 1/2 (images) */
    float noise;                  /* std of additive Gaussian noise, in the normalised input's
                                     units; 0 = off */
} advml_augment_config;

/* training.readout */
enum { ADVML_READOUT_GRADIENT = 0, ADVML_READOUT_RIDGE = 1 };

/* The "training" section; every field has a default (docs/training.md). */
typedef struct advml_train_config {
    int epochs;                   /* 1 */
    int batch_size;               /* 32: the GLOBAL batch, summed over all ranks */
    uint64_t seed;                /* 42: initialisation, permutations, dropout */
    char data[ADVML_PATH_MAX]; /* dataset file; "" = must come from --data */
    char out[ADVML_PATH_MAX];  /* run file; "" = no run file, no checkpoints */
    float clip_norm;              /* 0: off; else clip the global gradient norm to this */
    int64_t max_steps;            /* 0: no limit; else stop after this many optimizer steps */
    int64_t checkpoint_steps;     /* 0: checkpoint after each epoch only; else also every K steps */
    double memory_budget_mb;      /* 1024: per rank, for holding dataset splits in memory */
    int reproducible;             /* 0: 1 = bitwise-identical weights for any number of ranks up to
                                     slots (docs/training.md, "Bit for bit") */
    int slots;                    /* 4: micro-batch slots per global batch in reproducible mode */
    double validation_split;      /* 0: none; else this fraction of the train split is held
                                     out as the validation set (drawn from the seed) */
    int test_every_epoch;         /* 1: evaluate the test split after every epoch (and at the
                                     end); 0: at the end only */
    int top_k;                    /* 5: k of the top-k accuracy */
    int has_early_stopping;       /* "early_stopping" given */
    advml_monitor_config early_stopping; /* val_loss, auto, min_delta 0, patience 0 */
    int restore_best_weights;     /* early stopping: 0 */
    int has_best_checkpoint;      /* "best_checkpoint" given: RUN.best.h5 */
    advml_monitor_config best_checkpoint; /* val_loss, auto, min_delta 0 */
    int nclass_weight;            /* 0: unweighted; else class_weight[0..n) */
    int class_weight_by_id;       /* 1: given as {"id": w}: the rest weigh 1 (padded at setup) */
    float class_weight[ADVML_MAX_CLASS_WEIGHTS];
    advml_augment_config augment;
    int readout;                  /* ADVML_READOUT_GRADIENT (0, default) or ADVML_READOUT_RIDGE: the last
                                     (dense) layer solved in closed form in one pass (include/advml/ridge.h) */
    double ridge_lambda;          /* 1e-6: the ridge penalty lambda ||W||^2 (sum over samples) */
    char init_from[ADVML_PATH_MAX]; /* "": random init; else a checkpoint to take weights from */
    int ninit_layers;             /* 0: every layer the checkpoint has; else init_layers[0..n) */
    int init_layers[ADVML_MAX_LAYERS];
} advml_train_config;

typedef struct advml_config {
    char source[ADVML_PATH_MAX];   /* file name used in messages */
    char description[ADVML_CONFIG_TEXT_MAX]; /* optional free text ("description") */
    int has_input;                        /* 0: "input" omitted, taken from the dataset */
    advml_model_spec model;               /* input (if has_input), layers, loss */
    advml_optim_config optim;             /* "optimizer", and training.l2 (in optim.l2) */
    advml_schedule_config schedule;       /* "optimizer": {"schedule": ...}; constant by default */
    advml_train_config train;
} advml_config;

/* The defaults of every optional field (no layers, no loss). */
void advml_config_defaults(advml_config *cfg);

/* Parse the config file at path into *cfg. Errors (ADVML_ERR_IO for an
 * unreadable file, ADVML_ERR_CONFIG otherwise) start with the path. */
advml_status advml_config_load(advml_config *cfg, const char *path, advml_error *err);

/* Parse JSON text; source names it in messages (a file name or "<checkpoint>"). */
advml_status advml_config_parse(advml_config *cfg, const char *text, const char *source,
                                advml_error *err);

/* Check every setting (also those flags may have changed: epochs, batch
 * size, lr, l2, ...): the one place settings are validated; the library
 * below trusts a config that passed (asserting where cheap). Messages name
 * the field path as in the file. */
advml_status advml_config_validate(const advml_config *cfg, advml_error *err);

/* The effective config as canonical JSON text (every field explicit, so that
 * advml_config_parse of it gives the same config back). Returns a malloc'ed
 * string the caller frees, or NULL when out of memory. */
char *advml_config_to_json(const advml_config *cfg);

/* 1 if the two configs describe the same model (input, layers, loss). When
 * they differ and why is non-NULL, writes which part differs into why. */
int advml_config_same_model(const advml_config *a, const advml_config *b, char *why, size_t n);


#endif

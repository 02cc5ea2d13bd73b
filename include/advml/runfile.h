/* runfile.h - the run file (provenance + metrics) and the checkpoint of
 * advml-train, laid out exactly as docs/run-file-layout.md specifies.
 *
 * Both files are written by rank 0 only and always atomically (h5io: write
 * PATH.tmp, flush, close, rename), so readers and a crashed run never see a
 * half-written file. The run file is rewritten whole from the metrics kept in
 * memory (struct advml_run) at the start, after every epoch and at the end;
 * it is never held open while training runs.
 */
#ifndef ADVML_RUNFILE_H
#define ADVML_RUNFILE_H

#include <stdint.h>
#include <stddef.h>
#include "advml/status.h"
#include "advml/model.h"
#include "advml/optim.h"
#include "advml/schedule.h"
#include "advml/metrics.h"

/* The checkpoint layout this advml writes (3: with the training control's
 * state); it also reads 2 (checksums, no control state). */
#define ADVML_CKPT_FORMAT_VERSION 3

/* One row of /metrics/epoch (NaN where a value does not apply). */
typedef struct advml_epoch_metrics {
    int32_t epoch;              /* 1-based */
    int64_t step;               /* optimizer steps taken at the end of the epoch */
    double train_loss, val_loss, test_loss;             /* mean data loss per sample */
    double train_accuracy, val_accuracy, test_accuracy; /* fraction in [0, 1] */
    double val_top_k_accuracy, test_top_k_accuracy; /* categorical cross-entropy */
    double val_mae, test_mae, val_r2, test_r2;       /* regression */
    double learning_rate;       /* of the epoch's last step */
    double epoch_seconds;       /* wall time of the training part */
    double images_per_second;   /* training samples per second, all ranks */
} advml_epoch_metrics;

/* One launch of advml-train on this run (the first, and one per --resume). */
typedef struct advml_invocation {
    char *command_line;                  /* argv joined by spaces (owned) */
    char *overrides;                     /* on --resume: the flags that changed the checkpoint's
                                            settings, "epochs 3 -> 5; lr 0.001 -> 0.0005" (owned; "" none) */
    char start_time[32], end_time[32];   /* ISO 8601 UTC; end_time "" while running */
    char status[16];                     /* as the run's status, for this launch */
    int32_t nranks;
    int64_t start_step;                  /* optimizer steps already taken when it started */
} advml_invocation;

typedef struct advml_run {
    char path[ADVML_PATH_MAX];   /* RUN.h5 */
    char ckpt_path[ADVML_PATH_MAX];  /* RUN.ckpt.h5 */
    char best_path[ADVML_PATH_MAX];  /* RUN.best.h5 (training.best_checkpoint) */
    /* the training controls' outcome (root attributes) */
    char best_monitor[32];               /* "" until a best checkpoint is written */
    int64_t best_epoch;                  /* its epoch (0: none) */
    double best_value;
    int64_t stopped_early_epoch;         /* the epoch early stopping stopped after (0: none) */
    int64_t restored_epoch;              /* the epoch whose weights it restored (0: none) */
    /* the evaluation at the end: [0] validation, [1] test (n = 0: none) */
    advml_eval eval[2];
    int64_t eval_epoch[2], eval_step[2];
    /* provenance (owned strings; NULL is written as "") */
    char *config_json, *command_line, *hostnames, *data, *summary;
    int nranks;
    int64_t seed, nparams;
    char start_time[32], end_time[32];   /* ISO 8601 UTC; end_time "" while running */
    char status[16];                     /* "running", "completed", "interrupted", "failed" */
    char message[ADVML_ERROR_MSG_LEN];   /* the error when "failed", what stopped it when "interrupted" */
    char stop_signal[16];                /* "SIGTERM" etc. when "interrupted", else "" */
    int64_t stop_step;                   /* the step it stopped after when "interrupted", else -1 */
    int reproducible;                    /* training.reproducible of the run (root attribute) */
    int blas_threads;                    /* OpenBLAS threads per rank of this launch */
    int ridge;                           /* 1: the readout was solved in closed form (training.readout
                                            "ridge"): the ridge_* root attributes are written */
    double ridge_lambda;                 /* its penalty */
    int64_t ridge_rows;                  /* the samples it was fitted to */
    double ridge_seconds[3];             /* rank 0's time accumulating, reducing, solving */
    advml_invocation *inv;               /* (ninv) every launch, oldest first */
    int64_t ninv;
    /* metrics history */
    advml_epoch_metrics *epochs;         /* (nepochs) */
    int64_t nepochs, cap_epochs;
    int64_t *step_step;                  /* (nsteps) */
    int32_t *step_epoch;                 /* (nsteps) */
    double *step_loss;                   /* (nsteps) */
    double *step_lr;                     /* (nsteps) the learning rate of each step */
    int64_t nsteps, cap_steps;
} advml_run;

/* The checkpoint's file name for a run file: "dir/RUN.h5" -> "dir/RUN.ckpt.h5"
 * (a name without ".h5" gets ".ckpt.h5" appended). */
void advml_run_ckpt_path(const char *run_path, char *out, size_t n);
/* The best checkpoint's: "dir/RUN.h5" -> "dir/RUN.best.h5". */
void advml_run_best_path(const char *run_path, char *out, size_t n);
/* The run file for a checkpoint: "dir/RUN.ckpt.h5" -> "dir/RUN.h5"; a name
 * not ending in ".ckpt.h5" gets ".run.h5" appended. */
void advml_run_path_from_ckpt(const char *ckpt_path, char *out, size_t n);


/* Empty run for path, status "running", start_time now. Nothing is written
 * yet. Release with advml_run_free. */
advml_status advml_run_init(advml_run *r, const char *path, advml_error *err);
void advml_run_free(advml_run *r);

/* Copy the provenance strings into r (NULL allowed for any string). */
advml_status advml_run_set_provenance(advml_run *r, const char *config_json, const char *command_line,
                                      const char *hostnames, int nranks, int64_t seed, const char *data,
                                      const char *summary, int64_t nparams, advml_error *err);

/* For --resume: read the metrics, invocations and start_time of the existing
 * run file at r->path into r, keeping only epochs <= epochs and steps <= step
 * (what the checkpoint covers). *found is 0 (and r unchanged) when the file is
 * absent. */
advml_status advml_run_load(advml_run *r, int64_t epochs, int64_t step, int *found, advml_error *err);

/* Make room for more_steps further steps and more_epochs further epochs, so
 * that the adds below cannot fail until then. */
advml_status advml_run_reserve(advml_run *r, int64_t more_steps, int64_t more_epochs, advml_error *err);

advml_status advml_run_add_epoch(advml_run *r, const advml_epoch_metrics *e, advml_error *err);
advml_status advml_run_add_step(advml_run *r, int64_t step, int32_t epoch, double loss, double lr,
                                advml_error *err);

/* The best checkpoint was written: its monitor, epoch and value. */
void advml_run_set_best(advml_run *r, const char *monitor, int64_t epoch, double value);
/* Early stopping ended the run after epoch, restoring the weights of
 * restored_epoch (0: none restored). */
void advml_run_set_stopped_early(advml_run *r, int64_t epoch, int64_t restored_epoch);
/* The evaluation of split ("validation" or "test") at the end (a copy). */
advml_status advml_run_set_evaluation(advml_run *r, const char *split, const advml_eval *e, int64_t epoch,
                                      int64_t step, advml_error *err);

/* Rewrite the whole run file atomically from r. */
advml_status advml_run_write(const advml_run *r, advml_error *err);

/* Record this launch of advml-train (after advml_run_load on --resume, so
 * that it follows the earlier ones): command line, ranks, the step it starts
 * from, the overridden settings (NULL or "" for none); start time now. */
advml_status advml_run_add_invocation(advml_run *r, const char *command_line, int nranks, int64_t start_step,
                                      const char *overrides, advml_error *err);

/* Finish: status "completed" or "failed" (with message), end_time now; the
 * same for the current invocation. */
void advml_run_finish(advml_run *r, advml_status status, const char *message);
/* Finish as stopped by a signal: status "interrupted", the signal's name
 * ("SIGTERM") and the step, message (what to do next), end_time now. */
void advml_run_interrupted(advml_run *r, const char *signal_name, int64_t step, const char *message);

/* ---- checkpoints ----------------------------------------------------------- */

/* Where training stands; with the params and optimizer state, all a resumed
 * run needs to continue exactly as the uninterrupted run would. */
typedef struct advml_ckpt_state {
    int64_t epoch;          /* completed epochs */
    int64_t step;           /* optimizer steps taken */
    int64_t cursor;         /* global batches done in the current epoch */
    int64_t seed;
    /* the unfinished epoch's running sums (zero when cursor is 0), so that its
     * train loss/accuracy and timing come out as without the interruption */
    double epoch_loss_sum, epoch_correct, epoch_samples, epoch_seconds;
    /* the learning-rate schedule and the monitors (format 3; a format-2
     * checkpoint reads with have_control 0) */
    int have_control;
    advml_control_state control;
} advml_ckpt_state;

/* Write the checkpoint atomically: params per layer view, optimizer m, v and
 * hyperparameters, state, config_json; best_params (nparams, in the params'
 * layout; NULL: none) as /best_params (early stopping's best weights). */
advml_status advml_checkpoint_write(const char *path, const advml_model *m, const advml_optimizer *o,
                                    const advml_ckpt_state *st, const char *config_json, const float *best_params,
                                    advml_error *err);

/* Read the header of a checkpoint: state, the config JSON (malloc'ed, caller
 * frees), the optimizer kind and nparams. ADVML_ERR_IO when missing,
 * ADVML_ERR_FORMAT naming the file and item when malformed. */
advml_status advml_checkpoint_read_header(const char *path, advml_ckpt_state *st, char **config_json,
                                          advml_optim_kind *kind, int64_t *nparams, advml_error *err);

/* --init-from: read the weights of model m's layers from the checkpoint at
 * path (verified as --resume does). With layers (n of them, indices into
 * the model) exactly those, each of which the checkpoint must hold; with
 * layers NULL every layer with weights that the checkpoint holds under the
 * same index and kind (/params/layerNN_KIND). A view whose shape differs
 * is an error naming the layer and both shapes. *loaded gets bit i for each
 * layer i read. */
advml_status advml_checkpoint_read_layers(const char *path, advml_model *m, const int *layers, int n,
                                          uint64_t *loaded, advml_error *err);

/* Read params into m->params and m, v, t into o (both already built for the
 * same model); every dataset's shape is checked against the model's view.
 * best_params (nparams; may be NULL) receives /best_params when the file has
 * it (*have_best = 1), else is left alone (*have_best = 0). */
advml_status advml_checkpoint_read_state(const char *path, advml_model *m, advml_optimizer *o, float *best_params,
                                         int *have_best, advml_error *err);

#endif

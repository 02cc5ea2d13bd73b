/* train.h - the model-agnostic data-parallel training loop (docs/training.md).
 *
 * Every rank holds the same model replica. Per epoch e (0-based) a global
 * permutation of the training set is drawn from (seed, e), independent of the
 * number of ranks N. Global batch k is the k-th block of B indices of it (the
 * last one may be smaller); rank r processes the r-th contiguous slice of the
 * block (slice sizes differ by at most one; a rank may get none and still
 * joins every collective). Each rank reads only its samples (or holds the
 * splits in memory within training.memory_budget_mb). The gradient sums and
 * eight extra slots (non-finite flag, loss sum, correct count, sample count,
 * and one per stop signal: how many ranks caught SIGINT, SIGTERM, SIGUSR1,
 * SIGUSR2) are added over ranks in ONE allreduce per step; the optimizer then steps
 * with grad_scale = 1 / (global batch size), identically on every rank.
 * Dropout masks are keyed by (seed, step, global sample index), augmentation
 * by (seed, epoch, global sample index). The learning rate of each step is
 * the schedule's at the global step (include/advml/schedule.h). The
 * validation split (the file's, or training.validation_split of the train
 * split, drawn from the seed) is evaluated after every epoch, the test split
 * after every epoch or at the end: each rank a contiguous block, the
 * per-sample values gathered exactly (include/advml/metrics.h), so reduce-on-
 * plateau, early stopping and the best checkpoint decide the same on every
 * rank and for any N.
 *
 * In reproducible mode (training.reproducible) every global batch is split
 * into training.slots fixed micro-batches; each is computed alone (the parts
 * of one pass, advml_ctx.nparts) and the slots are summed in one fixed order,
 * so the weights are bitwise the same for any N <= slots; batchnorm's
 * statistics are summed per slot and added in slot order too, and evaluation
 * sums fixed blocks in index order.
 *
 * Every function here is collective: all ranks call it and all return the same
 * status; on failure the message is on rank 0 (advml_comm_agree).
 */
#ifndef ADVML_TRAIN_H
#define ADVML_TRAIN_H

#include <signal.h>
#include <stdint.h>
#include "advml/status.h"
#include "advml/config.h"
#include "advml/comm.h"
#include "advml/dataset.h"
#include "advml/model.h"
#include "advml/optim.h"
#include "advml/runfile.h"
#include "advml/progress.h"
#include "advml/metrics.h"
#include "advml/schedule.h"

typedef struct advml_trainer {
    advml_config cfg;             /* effective config (input filled in from the data) */
    char *config_json;            /* its canonical JSON text (owned) */
    advml_comm *comm;             /* not owned */
    int rank, nranks;
    advml_dataset *ds;
    advml_split_info train, val, test; /* train.n: the samples trained on (without a held-out validation set) */
    int has_val, has_test;
    int64_t file_train_n;         /* rows of the file's train split */
    int64_t *train_rows;          /* (train.n) with validation_split: the rows trained on (ascending), else NULL */
    int64_t *val_rows;            /* (val.n) with validation_split: the held-out rows (ascending), else NULL */
    int64_t *ids;                 /* (local_max) the rows of this rank's slice of a batch */
    advml_model model;
    advml_optimizer opt;          /* its settings are step_optim */
    advml_optim_config step_optim; /* cfg.optim with this step's learning rate (the schedule's) */
    int local_max;                /* the most samples a rank takes per step: ceil(B / N), in
                                     reproducible mode ceil(slots / N) slots of slot_max */
    size_t in_floats;             /* floats per input sample */
    int target_floats;            /* floats per target sample */
    float *x;                     /* (local_max, in_floats) this rank's inputs */
    float *y;                     /* (local_max, target_floats) its targets */
    int64_t *perm;                /* (train.n) the epoch's permutation */
    /* reproducible mode (cfg.train.reproducible): global batch k is split into
     * cfg.train.slots micro-batch slots whose bounds do not depend on N; rank r
     * computes slots [slot_lo, slot_hi), each into its own zeroed buffer, and
     * the slots are summed in slot order (advml_comm_ordered_sum_f32) */
    int slot_lo, slot_hi;
    int slot_max;                 /* ceil(B / slots): the most samples of a slot (and the evaluation's block) */
    int *part_lo;                 /* (slot_hi - slot_lo + 1) the local slots' bounds in this rank's samples */
    double *stat_table;           /* (slots, stat_max) the collective layers' per-slot sums (batchnorm),
                                     this rank's rows filled, the others 0, then added over ranks */
    size_t stat_max;              /* the most sums a collective layer reduces at once */
    int stat_staged;              /* rows staged since the last reduce */
    float *slot_grads;            /* (slot_hi - slot_lo - 1, nparams + ADVML_GRAD_EXTRA): all but the
                                     last local slot, which uses model.grads */
    float **slot_parts;           /* (slot_hi - slot_lo) the local slots' buffers, in slot order (the
                                     local slots run as the parts of one pass, ctx.nparts) */
    int preloaded;                /* splits held in memory (bit 0 train, 1 validation, 2 test) */
    /* where training stands (what a checkpoint saves) */
    int64_t epoch;                /* completed epochs */
    int64_t step;                 /* optimizer steps taken */
    int64_t cursor;               /* global batches done in the current epoch */
    double ep_loss, ep_correct, ep_samples, ep_seconds; /* the current epoch's running sums */
    int64_t last_ckpt_step;       /* step of the last checkpoint written (-1: none) */
    double allreduce_seconds;     /* time spent in the gradient allreduce (this rank) */
    double ridge_seconds[3];      /* training.readout "ridge": accumulating the sums, their
                                     reduction, the solve (this rank) */
    int64_t ridge_rows;           /* the samples the ridge readout was fitted to (all ranks) */
    int grads_clear;              /* 1: model.grads are all 0 (the last step's optimizer
                                     cleared them), so the next step need not */
    advml_epoch_metrics last;     /* the metrics of the last epoch this process completed */
    int have_last;                /* 1 once last is set */
    /* training control (docs/training.md): saved in the checkpoint */
    advml_control_state ctl;
    float *best_params;           /* (nparams) early stopping's best weights (restore_best_weights), else NULL */
    int have_best_params;         /* 1 once best_params holds an epoch's weights */
    int best_improved;            /* the last epoch improved the best checkpoint's monitor */
    uint64_t init_loaded;         /* --init-from: bit i set when layer i took the checkpoint's weights */
    double aug_pad;               /* augmentation's padding: the normalised value of a raw 0 */
    char notes[1024];             /* rank 0: lines about the controls, printed after the epoch's */
    advml_status reduce_status;   /* the first failure of the model's reduce hook (batchnorm) */
    advml_error reduce_err;       /* its message */
    /* the evaluations of the last epoch and at the end (n = 0: none) */
    advml_eval eval_val, eval_test;
    int64_t eval_val_step, eval_test_step; /* the step they were made at (-1: none) */
    /* stopping on a signal (docs/training.md, "Signals") */
    const volatile sig_atomic_t *stop_request; /* bit (1 << signo) set by the tool's handler; NULL: none */
    int stop_signal;              /* after fit / poll_stop: the signal every rank agreed to stop on, 0 none */
    /* outputs, rank 0 only (NULL elsewhere or when there is no run file) */
    advml_run *run;
    advml_progress *progress;
} advml_trainer;

/* Open the data, check it against the config, fill in the input shape when
 * the config omits it, build and initialise the model (same seed, same
 * weights on every rank) and the optimizer, allocate the step buffers and hold
 * the splits in memory within the budget. Errors name the dataset file, split
 * or layer. Free with advml_trainer_free (also after a failed setup). */
advml_status advml_trainer_setup(advml_trainer *t, const advml_config *cfg, advml_comm *comm, advml_error *err);

/* Continue from a checkpoint: rank 0 reads it, checks that it belongs to the
 * same model (and optimizer kind, seed, and batch size when it stopped
 * mid-epoch), and broadcasts params, optimizer state and counters. */
advml_status advml_trainer_resume(advml_trainer *t, const char *ckpt_path, advml_error *err);

/* Attach rank 0's outputs (either may be NULL; ignored on other ranks).
 * With a run, every epoch is recorded in it and written to its file, and a
 * checkpoint is written beside it. */
void advml_trainer_outputs(advml_trainer *t, advml_run *run, advml_progress *progress);

/* Train until cfg.train.epochs epochs are complete or cfg.train.max_steps
 * steps are taken, or until a rank catches a stop signal: then every rank
 * finishes the step under way, the checkpoint and run file are written, and
 * it returns ADVML_OK with t->stop_signal set. A non-finite loss or gradient on any rank stops every rank
 * with ADVML_ERR_NUMERIC and a message naming the step; the last good
 * checkpoint is kept. */
advml_status advml_trainer_fit(advml_trainer *t, advml_error *err);

/* Evaluate a split ("validation", "test", "train") with the current weights:
 * mean loss per sample and accuracy (NaN for regression), over all ranks.
 * "validation" is the held-out part of the train split with
 * training.validation_split. */
advml_status advml_trainer_evaluate(advml_trainer *t, const char *split, double *loss, double *accuracy,
                                    advml_error *err);

/* The same with every metric (include/advml/metrics.h); e's arrays are
 * allocated (advml_eval_free). */
advml_status advml_trainer_evaluate_all(advml_trainer *t, const char *split, advml_eval *e, advml_error *err);

/* The learning rate of the next step (the schedule's at the current step). */
double advml_trainer_lr(const advml_trainer *t);

/* Collectively: has any rank caught a stop signal (t->stop_request)? Sets
 * t->stop_signal to the agreed signal (0 when none). One small allreduce;
 * advml_trainer_fit polls by itself (in each step's gradient allreduce, and
 * after each epoch), so call this only outside it (e.g. before training). */
advml_status advml_trainer_poll_stop(advml_trainer *t, advml_error *err);

/* "SIGTERM" etc. for the signals training stops on; "signal N" otherwise
 * (a static string, or buf). */
const char *advml_signal_name(int signo, char *buf, size_t n);

/* Global batches per epoch: ceil(train samples / batch size); the one
 * place this count is made (the trainer, resume checks, messages, the tool). */
int64_t advml_trainer_batches_per_epoch(const advml_trainer *t);

/* Write a checkpoint of the current state (rank 0 writes, all agree). */
advml_status advml_trainer_checkpoint(advml_trainer *t, advml_error *err);

void advml_trainer_free(advml_trainer *t);

#endif

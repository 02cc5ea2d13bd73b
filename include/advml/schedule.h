/* schedule.h - training control: learning-rate schedules and the monitors of
 * reduce-on-plateau, early stopping and the best checkpoint
 * (docs/training.md, "Learning-rate schedules", "Early stopping").
 *
 * A per-step schedule is a pure function of the global step s (0-based: the
 * step about to be taken) and the epoch e (0-based) it belongs to, so every
 * rank, any number of ranks and a resumed run compute the same learning rate:
 *
 *   constant:     lr
 *   step:         lr * gamma^floor(u / step_size)         u = e ("unit": "epoch") or s ("step")
 *   multistep:    lr * gamma^(milestones <= u)
 *   exponential:  lr * gamma^u
 *   cosine:       min_lr + (lr - min_lr) (1 + cos(pi min(s - W, D) / D)) / 2    for s >= W
 *   onecycle:     PyTorch's OneCycleLR (cosine annealing, two phases): from
 *                 lr / div_factor up to lr over pct_start * T steps, then down to
 *                 lr / (div_factor final_div_factor) at step T - 1
 *   plateau:      lr * scale, scale *= factor when the monitored metric stops
 *                 improving (Keras' ReduceLROnPlateau), never below min_lr
 *
 * Every kind but onecycle takes a linear warm-up: for s < W = warmup_steps the
 * value is multiplied by (s + 1) / W (cosine then starts its decay at W).
 *
 * The monitors (plateau, early stopping, best checkpoint) decide once per
 * epoch from a validation metric that every rank holds bit for bit (the
 * per-sample values summed in sample order, src/metrics.c), so every rank
 * decides the same, for any number of ranks. Their state is in the checkpoint.
 */
#ifndef ADVML_SCHEDULE_H
#define ADVML_SCHEDULE_H

#include <stdint.h>

#define ADVML_MAX_MILESTONES 32

typedef enum advml_sched_kind {
    ADVML_SCHED_CONSTANT = 0,
    ADVML_SCHED_STEP,
    ADVML_SCHED_MULTISTEP,
    ADVML_SCHED_EXPONENTIAL,
    ADVML_SCHED_COSINE,
    ADVML_SCHED_ONECYCLE,
    ADVML_SCHED_PLATEAU,
    ADVML_SCHED_NKINDS
} advml_sched_kind;

/* The validation metrics a monitor may watch (test metrics never select a model). */
typedef enum advml_metric {
    ADVML_METRIC_VAL_LOSS = 0,
    ADVML_METRIC_VAL_ACCURACY,
    ADVML_METRIC_VAL_TOP_K_ACCURACY,
    ADVML_METRIC_VAL_MAE,
    ADVML_METRIC_VAL_R2,
    ADVML_METRIC_NKINDS
} advml_metric;

typedef enum advml_mode { ADVML_MODE_AUTO = 0, ADVML_MODE_MIN, ADVML_MODE_MAX } advml_mode;

/* A monitored metric and when it counts as improved:
 * min: value < best - min_delta; max: value > best + min_delta. */
typedef struct advml_monitor_config {
    advml_metric metric;
    advml_mode mode;      /* AUTO is resolved (advml_monitor_resolve) to MIN or MAX */
    double min_delta;     /* >= 0 */
    int patience;         /* epochs without improvement before acting (>= 0) */
} advml_monitor_config;

/* What a monitor remembers between epochs (saved in the checkpoint). */
typedef struct advml_monitor_state {
    double best;          /* the best value so far (+-inf before the first epoch) */
    int64_t wait;         /* epochs since the last improvement (plateau: not counting cooldown) */
    int64_t best_epoch;   /* 1-based epoch of best (0: none yet) */
    int64_t cooldown;     /* plateau: epochs of cooldown left */
} advml_monitor_state;

typedef struct advml_schedule_config {
    advml_sched_kind kind;        /* CONSTANT by default */
    int64_t warmup_steps;         /* 0: no warm-up (not onecycle) */
    int unit_steps;               /* step, multistep, exponential: 1 counts steps, 0 epochs (default) */
    int64_t step_size;            /* step: > 0 */
    double gamma;                 /* step, multistep (0.1), exponential (required): factor in (0, 1] */
    int nmilestones;              /* multistep: strictly increasing positive counts */
    int64_t milestones[ADVML_MAX_MILESTONES];
    double min_lr;                /* cosine, plateau: the floor (0) */
    int64_t decay_steps;          /* cosine: steps of the decay after warm-up (0: resolved to the rest of the run) */
    int64_t total_steps;          /* onecycle: T (0: resolved to epochs * steps per epoch) */
    double pct_start;             /* onecycle: 0.3 */
    double div_factor;            /* onecycle: 25 */
    double final_div_factor;      /* onecycle: 1e4 */
    double factor;                /* plateau: 0.1, in (0, 1) */
    int cooldown;                 /* plateau: 0 */
    advml_monitor_config monitor; /* plateau: val_loss, auto, min_delta 1e-4, patience 10 */
} advml_schedule_config;

/* Where training control stands (saved in the checkpoint, docs/run-file-layout.md). */
typedef struct advml_control_state {
    double lr;                           /* the learning rate of the last step (0 before the first) */
    double plateau_scale;                /* plateau: the current rate is base * scale (1) */
    advml_monitor_state plateau;         /* reduce-on-plateau's monitor */
    advml_monitor_state early_stopping;  /* early stopping's monitor */
    advml_monitor_state best;            /* the best checkpoint's monitor */
    int64_t stopped_early;               /* the epoch early stopping ended the run after (0: none) */
    int64_t restored_epoch;              /* the epoch whose weights were restored at that stop (0: none) */
} advml_control_state;

/* The defaults of a kind (all fields, including the plateau monitor's). */
advml_schedule_config advml_schedule_defaults(advml_sched_kind kind);

/* "constant", "step", ... and back (-1 when unknown). */
const char *advml_schedule_name(advml_sched_kind kind);
int advml_schedule_by_name(const char *name);
const char *advml_metric_name(advml_metric m);
int advml_metric_by_name(const char *name);
const char *advml_mode_name(advml_mode m);

/* AUTO -> MIN for losses and MAE, MAX for accuracies and R^2. */
advml_mode advml_monitor_resolve(advml_metric metric, advml_mode mode);

/* 1 when the metric needs class ids (accuracies) or values (MAE, R^2):
 * classify says what the model does. */
int advml_metric_fits(advml_metric metric, int classify);

/* A fresh monitor: best = +inf (MIN) or -inf (MAX), counters 0. */
advml_monitor_state advml_monitor_start(const advml_monitor_config *c);

/* 1 if value improves on best by more than min_delta (NaN never does). */
int advml_monitor_improves(const advml_monitor_config *c, double best, double value);

/* The state before the first epoch for these monitors (NULL: not used). */
advml_control_state advml_control_start(const advml_monitor_config *plateau, const advml_monitor_config *early_stopping,
                                        const advml_monitor_config *best);

/* The learning rate of step s (0-based) in epoch e (0-based): base is the
 * optimizer's lr; plateau_scale the product of plateau reductions so far (1
 * for the other kinds). */
double advml_schedule_lr(const advml_schedule_config *c, double base, int64_t s, int64_t e, double plateau_scale);

/* Reduce-on-plateau after an epoch whose monitored value is value, as Keras'
 * ReduceLROnPlateau: updates st and *scale (the current lr is base * scale);
 * returns 1 if the rate was reduced. */
int advml_plateau_update(const advml_schedule_config *c, advml_monitor_state *st, double base, double *scale,
                         double value);

/* Early stopping after (1-based) epoch whose monitored value is value, as
 * Keras' EarlyStopping: returns 1 when an improvement was recorded (the
 * caller keeps these weights if it restores the best), 0 otherwise; sets
 * *stop when patience is exhausted. */
int advml_early_stopping_update(const advml_monitor_config *c, advml_monitor_state *st, int64_t epoch, double value,
                                int *stop);

#endif

/* advml-train - train a model described by a JSON config, data-parallel over
 * MPI ranks (docs/training.md).
 *
 *   mpirun -np N advml-train --config FILE.json [--data FILE.h5] [--epochs E]
 *       [--batch-size B] [--optimizer NAME] [--lr ETA] [--l2 LAMBDA] [--seed S]
 *       [--max-steps K] [--out RUN.h5] [--force]
 *   mpirun -np N advml-train --resume RUN.ckpt.h5 [flags that override]
 *
 * Every fallible step is agreed on by all ranks (advml_comm_agree): any
 * failure stops every rank, rank 0 prints one message, and all exit with the
 * code advml_exit_code gives (0 ok, 1 other, 2 usage/config, 3 I/O or data,
 * 4 shape, 5 numeric, 6 MPI). SIGINT, SIGTERM, SIGUSR1 and SIGUSR2 stop every
 * rank after the step under way, with the checkpoint written: exit code 75.
 */
#include <cblas.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "advml/cli.h"
#include "advml/comm.h"
#include "advml/config.h"
#include "advml/numfmt.h"
#include "advml/progress.h"
#include "advml/runfile.h"
#include "advml/train.h"
#include "advml/version.h"
#include "common/tool.h"

static const char TOOL[] = "advml-train"; /* in messages: "advml-train: error: ..." */

typedef struct options {
    const char *config, *data, *optimizer, *out, *resume, *init_from;
    const char *epochs, *batch_size, *lr, *l2, *seed, *max_steps; /* as typed; parsed later */
    int help, version, force;
} options;

/* ---- command line: one table for parsing and --help (src/cli.c) ------------------- */

#define FLAG(name, field, arg, help) {name, offsetof(options, field), 0, ADVML_CLI_STRING, arg, help}
#define SWITCH(name, field, help) {name, offsetof(options, field), 1, ADVML_CLI_STRING, NULL, help}
static const advml_cli_flag flags[] = {
    FLAG("--config", config, "FILE.json", "model, loss, optimizer and training settings (required unless --resume)"),
    FLAG("--data", data, "FILE.h5", "dataset made by advml-data (training.data)"),
    FLAG("--epochs", epochs, "E", "epochs to train in all (training.epochs)"),
    FLAG("--batch-size", batch_size, "B", "GLOBAL batch size, summed over all ranks (training.batch_size)"),
    FLAG("--optimizer", optimizer, "NAME", "sgd, momentum, adagrad, adagrad_momentum, rmsprop, adam (optimizer.name)"),
    FLAG("--lr", lr, "ETA", "learning rate (optimizer.lr)"),
    FLAG("--l2", l2, "LAMBDA", "L2 penalty (LAMBDA/2)*||w||^2 on the weights (training.l2)"),
    FLAG("--seed", seed, "S", "seed of initialisation, data order and dropout (training.seed)"),
    FLAG("--max-steps", max_steps, "K",
         "stop after K optimizer steps in all (training.max_steps); 0 writes the\n"
         "                      initial weights (the checkpoint at step 0, e.g. for PyTorch) and stops"),
    FLAG("--out", out, "RUN.h5", "run file of metrics and provenance; the checkpoint goes to RUN.ckpt.h5"),
    SWITCH("--force", force, "replace an existing run (its run file and checkpoints)"),
    FLAG("--init-from", init_from, "CKPT",
         "start from the weights of another run's checkpoint (every layer it holds\n"
         "                      with the same index, kind and shapes, or training.init_layers); a fresh\n"
         "                      optimizer (training.init_from)"),
    FLAG("--resume", resume, "FILE",
         "continue the run of the checkpoint FILE (RUN.ckpt.h5) with the settings\n"
         "                      it was started with; flags given override them (recorded in the run\n"
         "                      file); --config, if given, must describe the same model. The run file\n"
         "                      (--out, else RUN.h5 beside it) is continued"),
    SWITCH("--help", help, NULL),
    SWITCH("--version", version, NULL)};
static const advml_cli_spec command_line = {
    NULL, flags, sizeof flags / sizeof flags[0],
    "usage: advml-train --config FILE.json [--data FILE.h5] [--epochs E] [--batch-size B]\n"
    "                   [--optimizer NAME] [--lr ETA] [--l2 LAMBDA] [--seed S] [--max-steps K]\n"
    "                   [--out RUN.h5] [--force] [--init-from CKPT]\n"
    "       advml-train --resume RUN.ckpt.h5 [the flags above, to override the run's settings]\n"
    "       mpirun -np N advml-train ...   (data-parallel over N ranks)\n"
    "\n"
    "Train the model a JSON config describes (docs/training.md). Flags override the config.\n",
    19,
    "  --help, --version\n"
    "\n"
    "SIGINT (Ctrl-C), SIGTERM, SIGUSR1 and SIGUSR2 stop every rank after the step under way;\n"
    "the checkpoint and run file are written first. A second Ctrl-C within 5 s stops at once.\n"
    "Exit codes: 0 ok, 1 other error, 2 usage or config, 3 I/O or data file, 4 shape mismatch,\n"
    "5 non-finite loss or gradient, 6 MPI, 75 interrupted by a signal (continue with --resume).\n"
    "ADVML_PROGRESS=bar|line|none sets the progress display; ADVML_PROGRESS_SECONDS=S the seconds between\n"
    "time-stamped lines within an epoch in a log (default 60; 0: every step).\n"};

static advml_status parse_args(int argc, char **argv, options *o, advml_error *err)
{
    memset(o, 0, sizeof *o);
    advml_status s = advml_cli_parse_spec(&command_line, argc, argv, o, err);
    if (s)
        return s;
    if (!o->help && !o->version && !o->resume && (s = advml_cli_required(&command_line, o->config, "--config FILE.json", err)))
        return s;
    if (o->force && o->resume)
        return advml_error_set(err, ADVML_ERR_ARG,
                               "--force starts the run again from scratch; it cannot be combined with --resume");
    if (o->init_from && o->resume)
        return advml_error_set(err, ADVML_ERR_ARG,
                               "--init-from starts a new run from another run's weights; it cannot be combined with "
                               "--resume (which continues this run from its own checkpoint)");
    return ADVML_OK;
}

/* Note "NAME OLD -> NEW" in the overrides list when a flag changed a setting. */
static void note_override(char *list, size_t n, const char *name, double before, double after)
{
    if (before == after)
        return;
    size_t len = strlen(list);
    snprintf(list + len, n - len, "%s%s %.9g -> %.9g", len ? "; " : "", name, before, after);
}

/* The settings of this launch: the config file's, or on --resume the ones the
 * run was started with (base_json, from the checkpoint), with the flags
 * applied over them. On --resume, every flag that changes a setting is noted
 * in overrides ("epochs 3 -> 5; lr 0.001 -> 0.0005"). */
static advml_status load_config(const options *o, const char *base_json, advml_config *cfg, char *overrides,
                                size_t olen, advml_error *err)
{
    advml_status s;
    overrides[0] = '\0';
    if (base_json) {
        char src[ADVML_PATH_MAX + 32];
        snprintf(src, sizeof src, "%s (its config_json)", o->resume);
        if ((s = advml_config_parse(cfg, base_json, src, err)))
            return s;
        if (o->config) { /* a config given with --resume must be for the same model */
            advml_config given;
            char why[512];
            if ((s = advml_config_load(&given, o->config, err)))
                return s;
            if (!advml_config_same_model(cfg, &given, why, sizeof why))
                return advml_error_set(err, ADVML_ERR_CONFIG,
                                       "%s was written for a different model than %s: %s (checkpoint vs config); "
                                       "resume without --config (the checkpoint holds the run's config), or start "
                                       "a new run",
                                       o->resume, o->config, why);
        }
    } else if ((s = advml_config_load(cfg, o->config, err))) {
        return s;
    }
    if (base_json) /* --max-steps limits the launch it is given to, not the run */
        cfg->train.max_steps = 0;
    const advml_config before = *cfg;
    long long iv;
    double dv;
    if (o->data) {
        if (base_json && strcmp(o->data, cfg->train.data) != 0) {
            size_t len = strlen(overrides);
            snprintf(overrides + len, olen - len, "%sdata %.400s -> %.400s", len ? "; " : "", cfg->train.data, o->data);
        }
        snprintf(cfg->train.data, sizeof cfg->train.data, "%s", o->data);
    }
    cfg->train.out[0] = '\0'; /* --out, else beside --resume's checkpoint (main) */
    if (o->out)
        snprintf(cfg->train.out, sizeof cfg->train.out, "%s", o->out);
    if (o->epochs) {
        if ((s = advml_cli_int("--epochs", o->epochs, 1, LLONG_MAX, &iv, err)))
            return s;
        cfg->train.epochs = (int)(iv > 1000000000 ? 1000000000 : iv);
    }
    if (o->batch_size) {
        if ((s = advml_cli_int("--batch-size", o->batch_size, 1, LLONG_MAX, &iv, err)))
            return s;
        cfg->train.batch_size = (int)(iv > 1000000000 ? 1000000000 : iv);
    }
    if (o->seed) {
        if ((s = advml_cli_int("--seed", o->seed, 0, LLONG_MAX, &iv, err)))
            return s;
        cfg->train.seed = (uint64_t)iv;
    }
    if (o->max_steps) {
        if ((s = advml_cli_int("--max-steps", o->max_steps, 0, LLONG_MAX, &iv, err))) /* 0: init only (main) */
            return s;
        cfg->train.max_steps = iv;
    }
    if (o->optimizer) {
        advml_optim_kind k;
        if (advml_optim_from_name(o->optimizer, &k) != 0)
            return advml_error_set(err, ADVML_ERR_ARG,
                                   "--optimizer: unknown optimizer \"%s\"; expected one of sgd, momentum, adagrad, "
                                   "adagrad_momentum, rmsprop, adam",
                                   o->optimizer);
        if (k != cfg->optim.kind) { /* the new kind's defaults; keep eta and l2 */
            float lr = cfg->optim.lr, l2 = cfg->optim.l2;
            cfg->optim = advml_optim_defaults(k);
            cfg->optim.lr = lr;
            cfg->optim.l2 = l2;
            if (base_json) {
                size_t len = strlen(overrides);
                snprintf(overrides + len, olen - len, "%soptimizer %s -> %s", len ? "; " : "",
                         advml_optim_name(before.optim.kind), advml_optim_name(k));
            }
        }
    }
    if (o->lr) {
        if ((s = advml_cli_num("--lr", o->lr, 1, &dv, err)))
            return s;
        cfg->optim.lr = (float)dv;
    }
    if (o->l2) {
        if ((s = advml_cli_num("--l2", o->l2, 0, &dv, err)))
            return s;
        cfg->optim.l2 = (float)dv;
    }
    if (o->init_from)
        snprintf(cfg->train.init_from, sizeof cfg->train.init_from, "%s", o->init_from);
    if (base_json) /* the weights come from the checkpoint resumed */
        cfg->train.init_from[0] = '\0';
    if (base_json) {
        note_override(overrides, olen, "epochs", before.train.epochs, cfg->train.epochs);
        note_override(overrides, olen, "batch_size", before.train.batch_size, cfg->train.batch_size);
        note_override(overrides, olen, "seed", (double)before.train.seed, (double)cfg->train.seed);
        note_override(overrides, olen, "lr", advml_float_shortest(before.optim.lr),
                      advml_float_shortest(cfg->optim.lr));
        note_override(overrides, olen, "l2", advml_float_shortest(before.optim.l2),
                      advml_float_shortest(cfg->optim.l2));
    }
    return advml_config_validate(cfg, err);
}

/* On --resume: the config the run was started with, from the checkpoint's
 * header (read by rank 0, sent to all). *json is malloc'ed on every rank (the
 * caller frees) when the status is ADVML_OK. */
static advml_status checkpoint_config(advml_comm *comm, const char *ckpt, char **json, advml_error *err)
{
    *json = NULL;
    advml_status s = ADVML_OK;
    uint64_t len = 0;
    if (advml_comm_rank(comm) == 0) {
        advml_ckpt_state st;
        advml_optim_kind kind;
        int64_t nparams;
        s = advml_checkpoint_read_header(ckpt, &st, json, &kind, &nparams, err);
        if (!s)
            len = strlen(*json) + 1;
    }
    if ((s = advml_comm_agree(comm, s, err)) || (s = advml_comm_bcast(comm, &len, sizeof len, 0, err)))
        return s;
    if (advml_comm_rank(comm) != 0 && !(*json = malloc(len)))
        s = advml_error_set(err, ADVML_ERR_NOMEM, "out of memory");
    if ((s = advml_comm_agree(comm, s, err)) || (s = advml_comm_bcast(comm, *json, len, 0, err))) {
        free(*json);
        *json = NULL;
    }
    return s;
}

/* ---- outputs -------------------------------------------------------------------- */

/* Rank 0, before any work: the run file's directory must be writable, and a
 * fresh run must not overwrite an earlier run's files. */
static advml_status check_out(const char *out, const char *resume, int force, advml_error *err)
{
    if (!out[0])
        return ADVML_OK;
    char dir[ADVML_PATH_MAX];
    snprintf(dir, sizeof dir, "%s", out);
    char *slash = strrchr(dir, '/');
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else if (slash == dir)
        dir[1] = '\0';
    else
        *slash = '\0';
    if (access(dir, F_OK) != 0)
        return advml_error_set(err, ADVML_ERR_IO, "--out %s: the directory %s does not exist", out, dir);
    /* Probe by creating a file: access() says yes to root even on read-only mounts. */
    char probe[ADVML_PATH_MAX + 64];
    snprintf(probe, sizeof probe, "%s/.advml-train-probe-%ld", dir, (long)getpid());
    int fd = open(probe, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0)
        return advml_error_set(err, ADVML_ERR_IO, "--out %s: cannot write in the directory %s (%s)", out, dir,
                               strerror(errno));
    close(fd);
    unlink(probe);
    char ckpt[ADVML_PATH_MAX];
    advml_run_ckpt_path(out, ckpt, sizeof ckpt);
    if (!resume && !force) {
        int have_run = access(out, F_OK) == 0, have_ckpt = access(ckpt, F_OK) == 0;
        if (have_ckpt)
            return advml_error_set(err, ADVML_ERR_IO,
                                   "%s exists (from an earlier run) and is not overwritten; continue that run with "
                                   "--resume %s, or replace it with --force, or choose another --out",
                                   have_run ? out : ckpt, ckpt);
        if (have_run)
            return advml_error_set(err, ADVML_ERR_IO,
                                   "%s exists (from an earlier run that left no checkpoint, so it cannot be "
                                   "resumed) and is not overwritten; replace it with --force, or choose another "
                                   "--out",
                                   out);
    }
    return ADVML_OK;
}

/* Keras-style summary as text (malloc'ed). */
static char *summary_text(const advml_model *m)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return NULL;
    advml_model_summary(m, f);
    fclose(f);
    return buf;
}

/* Settings that work but are likely not meant. A bias right before batchnorm
 * (a conv2d or dense layer without activation) has no effect, since batchnorm
 * subtracts the batch mean; its gradient is rounding noise that Adam scales up to
 * full steps, so runs on different numbers of ranks drift apart. */
static void print_notes(const advml_config *c)
{
    for (int i = 0; i + 1 < c->model.nlayers; i++) {
        const advml_layer_spec *a = &c->model.layers[i], *b = &c->model.layers[i + 1];
        if ((a->type == ADVML_LAYER_CONV2D || a->type == ADVML_LAYER_DENSE) && a->use_bias &&
            a->act == ADVML_ACT_IDENTITY && b->type == ADVML_LAYER_BATCHNORM)
            printf("  note       layer %d (%s) has a bias right before batchnorm (layer %d), which removes it: "
                   "give layer %d \"use_bias\": false\n",
                   i, advml_layer_kind_of(a->type)->name, i + 1, i);
    }
}

/* The training controls in the settings (after the optimizer line). */
static void print_control(const advml_trainer *t)
{
    const advml_config *c = &t->cfg;
    const advml_train_config *tc = &c->train;
    const advml_schedule_config *sc = &c->schedule;
    if (sc->kind != ADVML_SCHED_CONSTANT || sc->warmup_steps > 0) {
        printf("\n  schedule   %s", advml_schedule_name(sc->kind));
        if (sc->warmup_steps > 0 && sc->kind != ADVML_SCHED_ONECYCLE)
            printf(", warm-up %lld steps", (long long)sc->warmup_steps);
        switch (sc->kind) {
        case ADVML_SCHED_STEP:
            printf(", x%g every %lld %ss", sc->gamma, (long long)sc->step_size, sc->unit_steps ? "step" : "epoch");
            break;
        case ADVML_SCHED_MULTISTEP:
            printf(", x%g at %d milestones (%ss)", sc->gamma, sc->nmilestones, sc->unit_steps ? "step" : "epoch");
            break;
        case ADVML_SCHED_EXPONENTIAL: printf(", x%g per %s", sc->gamma, sc->unit_steps ? "step" : "epoch"); break;
        case ADVML_SCHED_COSINE:
            printf(" to %g over %lld steps", sc->min_lr, (long long)sc->decay_steps);
            break;
        case ADVML_SCHED_ONECYCLE:
            printf(" over %lld steps, peak %g at %.0f%%", (long long)sc->total_steps, (double)c->optim.lr,
                   100.0 * sc->pct_start);
            break;
        case ADVML_SCHED_PLATEAU:
            printf(" on %s (%s), x%g after %d epochs, cooldown %d, min_lr %g", advml_metric_name(sc->monitor.metric),
                   advml_mode_name(sc->monitor.mode), sc->factor, sc->monitor.patience, sc->cooldown, sc->min_lr);
            break;
        default: break;
        }
    }
    if (tc->has_early_stopping)
        printf("\n  early stop %s (%s), patience %d, min_delta %g%s", advml_metric_name(tc->early_stopping.metric),
               advml_mode_name(tc->early_stopping.mode), tc->early_stopping.patience, tc->early_stopping.min_delta,
               tc->restore_best_weights ? ", restores the best weights" : "");
    if (tc->has_best_checkpoint)
        printf("\n  best       %s (%s) -> %s", advml_metric_name(tc->best_checkpoint.metric),
               advml_mode_name(tc->best_checkpoint.mode), t->run ? t->run->best_path : "not written (no --out)");
    if (tc->nclass_weight > 0) {
        printf("\n  weights    class_weight [");
        for (int i = 0; i < tc->nclass_weight && i < 12; i++)
            printf("%s%g", i ? ", " : "", (double)tc->class_weight[i]);
        printf("%s]", tc->nclass_weight > 12 ? ", ..." : "");
    }
    const advml_augment_config *a = &tc->augment;
    if (a->shift[0] || a->shift[1] || a->horizontal_flip || a->noise > 0) {
        printf("\n  augment   ");
        if (a->shift[0] || a->shift[1])
            printf(" shift up to [%d, %d]", a->shift[0], a->shift[1]);
        if (a->horizontal_flip)
            printf(" horizontal flip");
        if (a->noise > 0)
            printf(" noise %g", (double)a->noise);
    }
    if (tc->init_from[0]) {
        printf("\n  init from  %s: layers", tc->init_from);
        for (int i = 0; i < t->model.nlayers; i++)
            if (t->init_loaded >> i & 1)
                printf(" %d", i);
        int fresh = 0;
        for (int i = 0; i < t->model.nlayers; i++)
            fresh += t->model.layers[i].nparams > 0 && !(t->init_loaded >> i & 1);
        if (fresh)
            printf(" (%d other layer%s with weights start%s fresh)", fresh, fresh > 1 ? "s" : "", fresh > 1 ? "" : "s");
    }
}

/* The batch, steps and optimizer lines of the settings. */
static void print_optimizer(const advml_trainer *t)
{
    const advml_config *c = &t->cfg;
    const advml_optim_config *o = t->opt.cfg;
    const int64_t B = c->train.batch_size, nb = advml_trainer_batches_per_epoch(t);
    printf("  batch      %lld global (%d per rank at most), %lld steps per epoch, %d epochs", (long long)B,
           t->local_max, (long long)nb, c->train.epochs);
    if (c->train.max_steps > 0)
        printf(", at most %lld steps", (long long)c->train.max_steps);
    printf("\n  optimizer  %s lr %g", advml_optim_name(o->kind), (double)o->lr);
    switch (o->kind) {
    case ADVML_OPTIM_MOMENTUM: printf(" momentum %g", (double)o->momentum); break;
    case ADVML_OPTIM_ADAGRAD: printf(" eps %g", (double)o->eps); break;
    case ADVML_OPTIM_ADAGRAD_MOMENTUM: printf(" momentum %g eps %g", (double)o->momentum, (double)o->eps); break;
    case ADVML_OPTIM_RMSPROP: printf(" rho %g eps %g", (double)o->rho, (double)o->eps); break;
    case ADVML_OPTIM_ADAM:
        printf(" beta1 %g beta2 %g eps %g", (double)o->beta1, (double)o->beta2, (double)o->eps);
        break;
    case ADVML_OPTIM_SGD: break;
    }
    printf(", l2 %g", (double)o->l2);
    if (c->train.clip_norm > 0)
        printf(", clip_norm %g", (double)c->train.clip_norm);
}

static void print_settings(const advml_trainer *t, const char *resume, int blas_threads, const char *overrides)
{
    const advml_config *c = &t->cfg;
    char shape[64];
    printf("advml-train %s (git %s)\n", ADVML_VERSION, ADVML_GIT_COMMIT);
    printf("  config     %s\n", c->source);
    printf("  data       %s: train %lld", c->train.data, (long long)t->train.n);
    if (t->has_val)
        printf(", validation %lld", (long long)t->val.n);
    if (t->has_test)
        printf(", test %lld", (long long)t->test.n);
    if (t->val_rows)
        printf(" (validation_split %g of the file's %lld)", c->train.validation_split, (long long)t->file_train_n);
    printf(" samples of %s", advml_shape_str(&t->train.input, shape, sizeof shape));
    if (t->train.target_dim == 0)
        printf(", %d classes", t->train.num_classes);
    else
        printf(", %d target values", t->train.target_dim);
    printf("%s\n", (t->preloaded & 1) ? " (held in memory)" : " (read from disk per step)");
    printf("  ranks      %d, OpenBLAS threads per rank %d\n", t->nranks, blas_threads);
    if (c->train.reproducible)
        printf("  mode       reproducible: %d slots of at most %d samples, weights bitwise the same for 1 to %d "
               "ranks\n",
               c->train.slots, t->slot_max, c->train.slots);
    if (c->train.readout == ADVML_READOUT_RIDGE) /* no optimizer, no steps: one pass and a solve */
        printf("  readout    ridge (closed form) on layer %d, lambda %g: one pass over the data in blocks of at "
               "most %d samples per rank, one reduction, a Cholesky solve",
               c->model.nlayers - 1, c->train.ridge_lambda, c->train.reproducible ? t->slot_max : t->local_max);
    else
        print_optimizer(t);
    print_control(t);
    printf("\n  loss       %s\n  seed       %llu\n", advml_loss_name(c->model.loss),
           (unsigned long long)c->train.seed);
    if (t->run)
        printf("  output     %s (checkpoint %s)\n", t->run->path, t->run->ckpt_path);
    else
        printf("  output     none (no --out: metrics and checkpoints are not saved)\n");
    if (resume)
        printf("  resume     %s: %lld epochs and %lld steps done (batch %lld of epoch %lld)\n", resume,
               (long long)t->epoch, (long long)t->step, (long long)t->cursor, (long long)t->epoch + 1);
    if (resume && overrides[0])
        printf("  overrides  %s\n", overrides);
    print_notes(c);
    printf("\n");
    advml_model_summary(&t->model, stdout);
    printf("\n");
    fflush(stdout);
}

/* ---- the settings ------------------------------------------------------------------ */

/* Collectively: the config of this launch (the file's, or on --resume the
 * checkpoint's) with the flags applied, and where its outputs go (out: --out,
 * else beside --resume's checkpoint; checked writable and, for a new run, not
 * taken). overrides lists what the flags changed on --resume. */
static advml_status settings(advml_comm *comm, const options *opt, advml_config *cfg, char *overrides, size_t olen,
                             char *out, size_t outlen, advml_error *err)
{
    char *base = NULL;
    advml_status s;
    if (opt->resume && (s = checkpoint_config(comm, opt->resume, &base, err)))
        return s;
    s = load_config(opt, base, cfg, overrides, olen, err);
    free(base);
    if (!s && cfg->train.out[0])
        snprintf(out, outlen, "%s", cfg->train.out);
    else if (!s && opt->resume)
        advml_run_path_from_ckpt(opt->resume, out, outlen);
    /* --max-steps 0: the initial weights only, into a new run's checkpoint (main) */
    if (!s && opt->max_steps && cfg->train.max_steps == 0) {
        if (opt->resume)
            s = advml_error_set(err, ADVML_ERR_ARG, "--max-steps 0 writes the initial weights of a new run; a "
                                                    "resumed run has its weights already (give --max-steps K > 0)");
        else if (!out[0])
            s = advml_error_set(err, ADVML_ERR_ARG, "--max-steps 0 writes the initial weights to the checkpoint of "
                                                    "--out RUN.h5 (RUN.ckpt.h5): give --out");
    }
    if (!s && advml_comm_rank(comm) == 0)
        s = check_out(out, opt->resume, opt->force, err);
    if ((s = advml_comm_agree(comm, s, err)))
        return s;
    snprintf(cfg->train.out, sizeof cfg->train.out, "%s", out);
    return ADVML_OK;
}

/* Rank 0's progress display (a bar on a terminal, lines in a log). */
static void start_progress(const advml_trainer *t, advml_progress *progress)
{
    advml_progress_init(progress, stdout, t->rank == 0 ? advml_progress_detect() : ADVML_PROGRESS_NONE);
    if (t->cfg.model.input.rank != 3)
        progress->unit = "samples/s";
    advml_progress_set_batch(progress, t->cfg.train.batch_size);
}

/* ---- the run file ------------------------------------------------------------------ */

/* Rank 0's run file for this launch: a new one (--force: the old run file and
 * checkpoint removed first), or on --resume the existing one continued, with
 * this invocation appended. *have_run is 1 when run must be freed (never
 * after a failure: run is freed then). */
static advml_status open_run(advml_trainer *t, const options *o, const char *out, const char *overrides, int argc,
                             char **argv, advml_run *run, int *have_run, advml_error *err)
{
    char *hosts = NULL;
    advml_status s = advml_comm_hostnames(t->comm, &hosts, err);
    memset(run, 0, sizeof *run);
    *have_run = 0;
    if (!s && t->rank == 0 && out[0]) {
        char *cmd = advml_cli_join_args(argc, argv), *summary = summary_text(&t->model);
        int found = 0;
        s = advml_run_init(run, out, err);
        *have_run = 1;
        if (!s && o->force) { /* checked writable before; a failed unlink shows in the writes */
            unlink(run->path);
            unlink(run->ckpt_path);
            unlink(run->best_path);
        }
        if (!s)
            s = advml_run_set_provenance(run, t->config_json, cmd, hosts, t->nranks, (int64_t)t->cfg.train.seed,
                                         t->cfg.train.data, summary, (int64_t)t->model.nparams, err);
        run->reproducible = t->cfg.train.reproducible;
        run->blas_threads = openblas_get_num_threads();
        if (!s && o->resume)
            s = advml_run_load(run, t->epoch, t->step, &found, err);
        if (!s && o->resume && t->cfg.train.has_best_checkpoint && t->ctl.best.best_epoch > 0)
            advml_run_set_best(run, advml_metric_name(t->cfg.train.best_checkpoint.metric), t->ctl.best.best_epoch,
                               t->ctl.best.best);
        if (!s)
            s = advml_run_add_invocation(run, cmd, t->nranks, t->step, overrides, err);
        if (!s)
            s = advml_run_write(run, err);
        free(cmd);
        free(summary);
    }
    free(hosts);
    if ((s = advml_comm_agree(t->comm, s, err)) && *have_run) {
        advml_run_free(run);
        *have_run = 0;
    }
    return s;
}

/* ---- the end ------------------------------------------------------------------------ */

/* Rank 0: record the outcome in the run file (its write failing turns a
 * success into a failure) and print the summary; then all agree. */
static advml_status report(advml_trainer *t, advml_progress *progress, advml_run *run, int have_run, advml_status s,
                           double seconds, advml_error *err)
{
    if (t->rank == 0)
        advml_progress_clear(progress);
    const int64_t nb = advml_trainer_batches_per_epoch(t);
    char sname[32], cont[2 * ADVML_PATH_MAX + 200] = "";
    const char *sig = advml_signal_name(t->stop_signal, sname, sizeof sname);
    char where[96];
    if (t->cursor == 0)
        snprintf(where, sizeof where, "the end of epoch %lld", (long long)t->epoch);
    else
        snprintf(where, sizeof where, "epoch %lld, batch %lld of %lld", (long long)t->epoch + 1, (long long)t->cursor,
                 (long long)nb);
    if (t->rank == 0 && have_run && s == ADVML_OK && t->stop_signal)
        snprintf(cont, sizeof cont, "interrupted by %s after step %lld (%s); checkpoint %s; continue with: advml-train "
                 "--resume %s",
                 sig, (long long)t->step, where, run->ckpt_path, run->ckpt_path);
    if (t->rank == 0 && have_run) {
        advml_error werr;
        if (s == ADVML_OK && t->stop_signal)
            advml_run_interrupted(run, sig, t->step, cont);
        else
            advml_run_finish(run, s, err->msg);
        if (advml_run_write(run, &werr) && s == ADVML_OK) {
            s = werr.code;
            *err = werr;
        }
    }
    if (t->rank == 0 && s == ADVML_OK) {
        if (t->stop_signal && have_run)
            printf("advml-train: %s\n", cont);
        else if (t->stop_signal)
            printf("advml-train: interrupted by %s after step %lld: nothing was saved (no --out)\n", sig,
                   (long long)t->step);
        else if (t->cursor > 0)
            printf("stopped at --max-steps %lld: epoch %lld, batch %lld of %lld (%.1f s, gradient sum %.2f s on rank "
                   "0)\n", (long long)t->cfg.train.max_steps, (long long)t->epoch + 1, (long long)t->cursor,
                   (long long)nb, seconds, t->allreduce_seconds);
        else
            printf("done: %lld epochs, %lld steps in %.1f s (allreduce %.1f s on rank 0)\n", (long long)t->epoch,
                   (long long)t->step, seconds, t->allreduce_seconds);
        if (!t->stop_signal && t->cfg.train.readout == ADVML_READOUT_RIDGE && t->ridge_rows > 0)
            printf("ridge readout: %lld samples, lambda %g: sums %.3f s, reduction %.3f s, solve %.3f s (rank 0)\n",
                   (long long)t->ridge_rows, t->cfg.train.ridge_lambda, t->ridge_seconds[0], t->ridge_seconds[1],
                   t->ridge_seconds[2]);
        if (!t->stop_signal && t->have_last && t->cursor == 0) {
            const advml_eval *v = &t->eval_val, *e = &t->eval_test;
            if (v->n > 0 && isfinite(v->accuracy))
                printf("validation accuracy: %.4f\n", v->accuracy);
            if (e->n > 0 && isfinite(e->accuracy))
                printf("test accuracy: %.4f\n", e->accuracy);
            else if (e->n > 0 && isfinite(e->loss))
                printf("test loss: %.6g\n", e->loss);
        }
        if (have_run && !t->stop_signal) {
            printf("run file: %s\ncheckpoint: %s\n", run->path, run->ckpt_path);
            if (run->best_epoch > 0)
                printf("best checkpoint: %s (epoch %lld, %s %.6g)\n", run->best_path, (long long)run->best_epoch,
                       run->best_monitor, run->best_value);
        }
        fflush(stdout);
    }
    return advml_comm_agree(t->comm, s, err); /* rank 0 may have failed writing the final run file */
}

/* The exit code after a clean end: 0, or ADVML_EXIT_INTERRUPTED when a signal
 * stopped training with the state saved (128 + signal without --out). */
static int stop_code(const advml_trainer *t, int have_out)
{
    if (!t->stop_signal)
        return 0;
    return have_out ? ADVML_EXIT_INTERRUPTED : 128 + t->stop_signal;
}

/* A signal that came before the first step: nothing was written. */
static int stopped_before_start(advml_trainer *t, advml_comm *comm, const char *resume)
{
    char sname[32];
    if (t->rank == 0) {
        printf("advml-train: interrupted by %s before the first step: nothing was written", 
               advml_signal_name(t->stop_signal, sname, sizeof sname));
        if (resume)
            printf("; %s is unchanged: continue with advml-train --resume %s\n", resume, resume);
        else
            printf("; run the same command again to start\n");
        fflush(stdout);
    }
    advml_trainer_free(t);
    advml_comm_finalize(comm);
    return ADVML_EXIT_INTERRUPTED;
}

/* ---- main ------------------------------------------------------------------------ */

int main(int argc, char **argv)
{
    /* Prologue: MPI, signals, flags, the settings and where the outputs go. */
    const volatile sig_atomic_t *stop = advml_tool_catch_stop_signals(); /* from the very start */
    advml_comm *comm = NULL;
    int rc = advml_tool_start(TOOL, &argc, &argv, &comm); /* one BLAS thread per rank */
    if (rc)
        return rc;
    advml_error err = {ADVML_OK, ""};
    options opt;
    advml_status s = parse_args(argc, argv, &opt, &err);
    if ((s = advml_comm_agree(comm, s, &err)))
        return advml_tool_fail(TOOL, comm, s, &err);
    if (opt.help || opt.version)
        return advml_tool_help(TOOL, comm, opt.version, &command_line);
    char overrides[1024], out[ADVML_PATH_MAX] = "";
    advml_config cfg;
    if ((s = settings(comm, &opt, &cfg, overrides, sizeof overrides, out, sizeof out, &err)))
        return advml_tool_fail(TOOL, comm, s, &err);

    const int init_only = opt.max_steps && cfg.train.max_steps == 0; /* --max-steps 0 */

    /* Data, model, optimizer; the checkpoint to resume from; a signal so far? */
    advml_trainer t;
    if ((s = advml_trainer_setup(&t, &cfg, comm, &err)) || (opt.resume && (s = advml_trainer_resume(&t, opt.resume, &err))) ||
        (t.stop_request = stop, s = advml_trainer_poll_stop(&t, &err))) {
        advml_trainer_free(&t);
        return advml_tool_fail(TOOL, comm, s, &err);
    }
    if (t.stop_signal)
        return stopped_before_start(&t, comm, opt.resume);

    /* Rank 0's outputs: the run file (continued on resume) and the progress display. */
    advml_run run;
    int have_run = 0;
    if ((s = open_run(&t, &opt, out, overrides, argc, argv, &run, &have_run, &err))) {
        advml_trainer_free(&t);
        return advml_tool_fail(TOOL, comm, s, &err);
    }
    advml_progress progress;
    start_progress(&t, &progress);
    progress.show_lr = t.cfg.schedule.kind != ADVML_SCHED_CONSTANT || t.cfg.schedule.warmup_steps > 0;
    advml_trainer_outputs(&t, have_run ? &run : NULL, &progress);
    if (t.rank == 0)
        print_settings(&t, opt.resume, openblas_get_num_threads(), overrides);

    /* Train (until done, --max-steps, a failure or a stop signal). */
    double t0 = advml_comm_wtime();
    s = init_only ? advml_trainer_checkpoint(&t, &err) : advml_trainer_fit(&t, &err);
    if (!s && init_only && t.rank == 0)
        printf("--max-steps 0: wrote the initial weights (step 0), no training step\n");

    /* Epilogue: record the outcome, report, exit. */
    s = report(&t, &progress, &run, have_run, s, advml_comm_wtime() - t0, &err);
    rc = s ? 0 : stop_code(&t, have_run || out[0]);
    if (have_run)
        advml_run_free(&run);
    advml_trainer_free(&t);
    if (s)
        return advml_tool_fail(TOOL, comm, s, &err);
    advml_comm_finalize(comm);
    return rc;
}

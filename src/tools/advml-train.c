/* advml-train - train a model described by a JSON config, data-parallel over
 * MPI ranks (docs/training.md).
 *
 *   mpirun -np N advml-train --config FILE.json [--data FILE.h5] [--epochs E]
 *       [--batch-size B] [--optimizer NAME] [--lr ETA] [--l2 LAMBDA] [--seed S]
 *       [--max-steps K] [--out RUN.h5] [--resume FILE]
 *
 * Every fallible step is agreed on by all ranks (advml_comm_agree): any
 * failure stops every rank, rank 0 prints one message, and all exit with the
 * code advml_exit_code gives (0 ok, 1 other, 2 usage/config, 3 I/O or data,
 * 4 shape, 5 numeric, 6 MPI).
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
#include "advml/progress.h"
#include "advml/runfile.h"
#include "advml/train.h"
#include "advml/version.h"
#include "common/tool.h"

static const char TOOL[] = "advml-train"; /* in messages: "advml-train: error: ..." */

static const char usage[] =
    "usage: advml-train --config FILE.json [--data FILE.h5] [--epochs E] [--batch-size B]\n"
    "                   [--optimizer NAME] [--lr ETA] [--l2 LAMBDA] [--seed S] [--max-steps K]\n"
    "                   [--out RUN.h5] [--resume FILE]\n"
    "       mpirun -np N advml-train ...   (data-parallel over N ranks)\n"
    "\n"
    "Train the model a JSON config describes (docs/training.md). Flags override the config.\n"
    "  --config FILE.json  model, loss, optimizer and training settings (required)\n"
    "  --data FILE.h5      dataset made by advml-data (training.data)\n"
    "  --epochs E          epochs to train in all (training.epochs)\n"
    "  --batch-size B      GLOBAL batch size, summed over all ranks (training.batch_size)\n"
    "  --optimizer NAME    sgd, momentum, adagrad, adagrad_momentum, rmsprop, adam (optimizer.name)\n"
    "  --lr ETA            learning rate (optimizer.lr)\n"
    "  --l2 LAMBDA         L2 penalty (LAMBDA/2)*||w||^2 on the weights (training.l2)\n"
    "  --seed S            seed of initialisation, data order and dropout (training.seed)\n"
    "  --max-steps K       stop after K optimizer steps in all (training.max_steps)\n"
    "  --out RUN.h5        run file of metrics and provenance; the checkpoint goes to RUN.ckpt.h5\n"
    "  --resume FILE       continue from the checkpoint FILE (RUN.ckpt.h5); the run file\n"
    "                      (--out, else RUN.h5 beside it) is continued\n"
    "  --help, --version\n"
    "\n"
    "Exit codes: 0 ok, 1 other error, 2 usage or config, 3 I/O or data file, 4 shape mismatch,\n"
    "5 non-finite loss or gradient, 6 MPI. ADVML_PROGRESS=bar|line|none sets the progress display.\n";

typedef struct options {
    const char *config, *data, *optimizer, *out, *resume;
    const char *epochs, *batch_size, *lr, *l2, *seed, *max_steps; /* as typed; parsed later */
    int help, version;
} options;

/* ---- command line -------------------------------------------------------------- */

static advml_status parse_args(int argc, char **argv, options *o, advml_error *err)
{
    static const advml_cli_flag flags[] = {
        {"--config", offsetof(options, config), 0},       {"--data", offsetof(options, data), 0},
        {"--epochs", offsetof(options, epochs), 0},       {"--batch-size", offsetof(options, batch_size), 0},
        {"--optimizer", offsetof(options, optimizer), 0}, {"--lr", offsetof(options, lr), 0},
        {"--l2", offsetof(options, l2), 0},               {"--seed", offsetof(options, seed), 0},
        {"--max-steps", offsetof(options, max_steps), 0}, {"--out", offsetof(options, out), 0},
        {"--resume", offsetof(options, resume), 0},       {"--help", offsetof(options, help), 1},
        {"--version", offsetof(options, version), 1}};
    memset(o, 0, sizeof *o);
    advml_status s = advml_cli_parse(argc, argv, flags, sizeof flags / sizeof flags[0], o, err);
    if (s)
        return s;
    if (!o->help && !o->version && !o->config)
        return advml_error_set(err, ADVML_ERR_ARG, "--config FILE.json is required (see --help)");
    return ADVML_OK;
}

/* Load the config and apply the flags over it. */
static advml_status load_config(const options *o, advml_config *cfg, advml_error *err)
{
    advml_status s = advml_config_load(cfg, o->config, err);
    if (s)
        return s;
    long long iv;
    double dv;
    if (o->data)
        snprintf(cfg->train.data, sizeof cfg->train.data, "%s", o->data);
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
        if ((s = advml_cli_int("--max-steps", o->max_steps, 1, LLONG_MAX, &iv, err)))
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
        if (k != cfg->optim.kind) { /* the new kind's defaults; keep eta */
            float lr = cfg->optim.lr;
            cfg->optim = advml_optim_defaults(k);
            cfg->optim.lr = lr;
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
        cfg->train.l2 = (float)dv;
    }
    cfg->optim.l2 = cfg->train.l2;
    return advml_config_validate(cfg, err);
}

/* ---- outputs -------------------------------------------------------------------- */

/* Rank 0, before any work: the run file's directory must be writable, and a
 * fresh run must not overwrite an earlier run's files. */
static advml_status check_out(const char *out, const char *resume, advml_error *err)
{
    if (!out[0])
        return ADVML_OK;
    char dir[ADVML_RUN_PATH_MAX];
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
    char probe[ADVML_RUN_PATH_MAX + 64];
    snprintf(probe, sizeof probe, "%s/.advml-train-probe-%ld", dir, (long)getpid());
    int fd = open(probe, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0)
        return advml_error_set(err, ADVML_ERR_IO, "--out %s: cannot write in the directory %s (%s)", out, dir,
                               strerror(errno));
    close(fd);
    unlink(probe);
    char ckpt[ADVML_RUN_PATH_MAX];
    advml_run_ckpt_path(out, ckpt, sizeof ckpt);
    if (!resume) {
        const char *exists = access(out, F_OK) == 0 ? out : access(ckpt, F_OK) == 0 ? ckpt : NULL;
        if (exists)
            return advml_error_set(err, ADVML_ERR_IO,
                                   "%s exists (from an earlier run) and is not overwritten; continue that run with "
                                   "--resume %s, or choose another --out, or delete it",
                                   exists, ckpt);
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

static void print_settings(const advml_trainer *t, const char *resume, int blas_threads)
{
    const advml_config *c = &t->cfg;
    const advml_optim_config *o = &t->opt.cfg;
    char shape[64];
    printf("advml-train %s (git %s)\n", ADVML_VERSION, ADVML_GIT_COMMIT);
    printf("  config     %s\n", c->source);
    printf("  data       %s: train %lld", c->train.data, (long long)t->train.n);
    if (t->has_val)
        printf(", validation %lld", (long long)t->val.n);
    if (t->has_test)
        printf(", test %lld", (long long)t->test.n);
    printf(" samples of %s", advml_shape_str(&t->train.input, shape, sizeof shape));
    if (t->train.target_dim == 0)
        printf(", %d classes", t->train.num_classes);
    else
        printf(", %d target values", t->train.target_dim);
    printf("%s\n", (t->preloaded & 1) ? " (held in memory)" : " (read from disk per step)");
    int64_t B = c->train.batch_size, nb = (t->train.n + B - 1) / B;
    printf("  ranks      %d, OpenBLAS threads per rank %d\n", t->nranks, blas_threads);
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
    printf("\n  loss       %s\n  seed       %llu\n", advml_loss_name(c->model.loss),
           (unsigned long long)c->train.seed);
    if (t->run)
        printf("  output     %s (checkpoint %s)\n", t->run->path, t->run->ckpt_path);
    else
        printf("  output     none (no --out: metrics and checkpoints are not saved)\n");
    if (resume)
        printf("  resume     %s: %lld epochs and %lld steps done (batch %lld of epoch %lld)\n", resume,
               (long long)t->epoch, (long long)t->step, (long long)t->cursor, (long long)t->epoch + 1);
    printf("\n");
    advml_model_summary(&t->model, stdout);
    printf("\n");
    fflush(stdout);
}

/* ---- main ------------------------------------------------------------------------ */

int main(int argc, char **argv)
{
    advml_comm *comm = NULL;
    int rc = advml_tool_start(TOOL, &argc, &argv, &comm); /* one BLAS thread per rank */
    if (rc)
        return rc;
    int rank = advml_comm_rank(comm), nranks = advml_comm_size(comm);
    advml_error err;
    advml_error_clear(&err);
    advml_status s;
    int blas_threads = openblas_get_num_threads();

    options opt;
    s = parse_args(argc, argv, &opt, &err);
    if ((s = advml_comm_agree(comm, s, &err)))
        return advml_tool_fail(TOOL, comm, s, &err);
    if (opt.help || opt.version)
        return advml_tool_info(TOOL, comm, opt.version, usage);

    /* Config and flags, then the outputs' directory: before touching any data. */
    advml_config cfg;
    s = load_config(&opt, &cfg, &err);
    char out[ADVML_RUN_PATH_MAX] = "";
    if (!s && cfg.train.out[0])
        snprintf(out, sizeof out, "%s", cfg.train.out);
    else if (!s && opt.resume)
        advml_run_path_from_ckpt(opt.resume, out, sizeof out);
    if (!s && rank == 0)
        s = check_out(out, opt.resume, &err);
    if ((s = advml_comm_agree(comm, s, &err)))
        return advml_tool_fail(TOOL, comm, s, &err);
    snprintf(cfg.train.out, sizeof cfg.train.out, "%s", out);

    /* Data, model, optimizer; then the checkpoint to resume from. */
    advml_trainer t;
    if ((s = advml_trainer_setup(&t, &cfg, comm, &err))) {
        advml_trainer_free(&t);
        return advml_tool_fail(TOOL, comm, s, &err);
    }
    if (opt.resume && (s = advml_trainer_resume(&t, opt.resume, &err))) {
        advml_trainer_free(&t);
        return advml_tool_fail(TOOL, comm, s, &err);
    }

    /* Rank 0's outputs: the run file (continued on resume) and the progress display. */
    char *hosts = NULL;
    s = advml_comm_hostnames(comm, &hosts, &err);
    advml_run run;
    int have_run = 0;
    memset(&run, 0, sizeof run);
    if (!s && rank == 0 && out[0]) {
        char *cmd = advml_cli_join_args(argc, argv), *summary = summary_text(&t.model);
        int found = 0;
        s = advml_run_init(&run, out, &err);
        have_run = 1;
        if (!s)
            s = advml_run_set_provenance(&run, t.config_json, cmd, hosts, nranks, (int64_t)t.cfg.train.seed,
                                         t.cfg.train.data, summary, (int64_t)t.model.nparams, &err);
        if (!s && opt.resume)
            s = advml_run_load(&run, t.epoch, t.step, &found, &err);
        if (!s)
            s = advml_run_write(&run, &err);
        free(cmd);
        free(summary);
    }
    free(hosts);
    if ((s = advml_comm_agree(comm, s, &err))) {
        if (have_run)
            advml_run_free(&run);
        advml_trainer_free(&t);
        return advml_tool_fail(TOOL, comm, s, &err);
    }
    advml_progress progress;
    advml_progress_init(&progress, stdout, rank == 0 ? advml_progress_detect() : ADVML_PROGRESS_NONE);
    if (t.cfg.model.input.rank != 3)
        progress.unit = "samples/s";
    advml_trainer_outputs(&t, have_run ? &run : NULL, &progress);
    if (rank == 0)
        print_settings(&t, opt.resume, blas_threads);

    /* Train. */
    double t0 = advml_comm_wtime();
    s = advml_trainer_fit(&t, &err);
    double seconds = advml_comm_wtime() - t0;

    /* Record the outcome (rank 0) and report. */
    if (rank == 0) {
        advml_progress_clear(&progress);
        if (have_run) {
            advml_error werr;
            advml_run_finish(&run, s, err.msg);
            if (advml_run_write(&run, &werr) && s == ADVML_OK) {
                s = werr.code;
                err = werr;
            }
        }
        if (s == ADVML_OK) {
            const int64_t nb = (t.train.n + t.cfg.train.batch_size - 1) / t.cfg.train.batch_size;
            if (t.cursor > 0)
                printf("stopped at --max-steps %lld: epoch %lld, batch %lld of %lld (%.1f s)\n",
                       (long long)t.cfg.train.max_steps, (long long)t.epoch + 1, (long long)t.cursor,
                       (long long)nb, seconds);
            else
                printf("done: %lld epochs, %lld steps in %.1f s (allreduce %.1f s on rank 0)\n", (long long)t.epoch,
                       (long long)t.step, seconds, t.allreduce_seconds);
            if (t.have_last && t.cursor == 0) {
                const advml_epoch_metrics *e = &t.last;
                if (isfinite(e->val_accuracy))
                    printf("validation accuracy: %.4f\n", e->val_accuracy);
                if (isfinite(e->test_accuracy))
                    printf("test accuracy: %.4f\n", e->test_accuracy);
                else if (isfinite(e->test_loss))
                    printf("test loss: %.6g\n", e->test_loss);
            }
            if (have_run)
                printf("run file: %s\ncheckpoint: %s\n", run.path, run.ckpt_path);
            fflush(stdout);
        }
    }
    /* rank 0 may have failed writing the final run file */
    s = advml_comm_agree(comm, s, &err);
    if (have_run)
        advml_run_free(&run);
    advml_trainer_free(&t);
    if (s)
        return advml_tool_fail(TOOL, comm, s, &err);
    advml_comm_finalize(comm);
    return 0;
}

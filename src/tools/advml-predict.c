/* advml-predict - predictions of a trained model on a dataset split, and
 * recursive forecasts of sequence models, written to an HDF5 file
 * (docs/predict-layout.md).
 *
 *   [mpirun -np N] advml-predict --checkpoint RUN.ckpt.h5 --data F.h5 [--split S]
 *       [--forecast H] [--start I] [--batch-size B] --out PRED.h5 [--force]
 *
 * Under mpirun the ranks split the samples; rank 0 writes the file. Every
 * fallible step is agreed on by all ranks (advml_comm_agree): one failure stops
 * every rank, rank 0 prints one message, all exit with advml_exit_code's code.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "advml/cli.h"
#include "advml/comm.h"
#include "advml/dataset.h"
#include "advml/forecast.h"
#include "advml/predict.h"
#include "advml/predict_file.h"
#include "advml/version.h"
#include "common/tool.h"

static const char TOOL[] = "advml-predict"; /* in messages: "advml-predict: error: ..." */

typedef struct options {
    const char *checkpoint, *data, *split, *out, *forecast, *start, *batch_size;
    int force, help, version;
} options;

/* The command line: one table for parsing and --help (src/cli.c). */
#define FLAG(name, field, arg, help) {name, offsetof(options, field), 0, ADVML_CLI_STRING, arg, help}
#define SWITCH(name, field, help) {name, offsetof(options, field), 1, ADVML_CLI_STRING, NULL, help}
static const advml_cli_flag flags[] = {
    FLAG("--checkpoint", checkpoint, "FILE", "checkpoint of advml-train (RUN.ckpt.h5)"),
    FLAG("--data", data, "FILE.h5", "dataset in advml's layout (advml-data)"),
    FLAG("--split", split, "NAME", "train, validation or test (default: test, else validation, else train)"),
    FLAG("--out", out, "PRED.h5", "prediction file; written to PRED.h5.tmp and renamed"),
    SWITCH("--force", force, "replace PRED.h5 if it exists"),
    FLAG("--forecast", forecast, "H", "recursive forecast of H steps (sequence regression models)"),
    FLAG("--start", start, "I", "window of the split the forecast starts from (default 0)"),
    FLAG("--batch-size", batch_size, "B", "samples per forward pass and rank (default 256)"),
    SWITCH("--help", help, NULL),
    SWITCH("--version", version, NULL)};
static const advml_cli_spec command_line = {
    NULL, flags, sizeof flags / sizeof flags[0],
    "usage: advml-predict --checkpoint RUN.ckpt.h5 --data FILE.h5 --out PRED.h5 [--split NAME]\n"
    "                     [--forecast H] [--start I] [--batch-size B] [--force]\n"
    "       mpirun -np N advml-predict ...   (the ranks split the samples)\n"
    "\n"
    "Predict every sample of a dataset split with the model and weights of a checkpoint written\n"
    "by advml-train, and write the predictions to an HDF5 file (docs/predict-layout.md):\n"
    "classifiers: the predicted class, the probabilities, the accuracy and the confusion matrix;\n"
    "regressors: the predicted values and the MSE. For sequence models, --forecast H also makes a\n"
    "recursive forecast: from window I of the split, predict, shift the window by one step, feed\n"
    "the prediction back as the newest input, and repeat H times.\n",
    18,
    "  --help, --version\n"
    "\n"
    "Exit codes: 0 ok, 1 other error, 2 usage, 3 I/O or data file, 4 shape mismatch, 6 MPI.\n"};

static advml_status parse_args(int argc, char **argv, options *o, advml_error *err)
{
    memset(o, 0, sizeof *o);
    advml_status s = advml_cli_parse_spec(&command_line, argc, argv, o, err);
    if (s)
        return s;
    if (o->help || o->version)
        return ADVML_OK;
    if ((s = advml_cli_required(&command_line, o->checkpoint, "--checkpoint RUN.ckpt.h5", err)) ||
        (s = advml_cli_required(&command_line, o->data, "--data FILE.h5", err)) ||
        (s = advml_cli_required(&command_line, o->out, "--out PRED.h5", err)))
        return s;
    if (o->start && !o->forecast)
        return advml_error_set(err, ADVML_ERR_ARG, "--start only applies to --forecast H");
    return ADVML_OK;
}

/* The split to predict: the flag, else test, validation, train (the first present). */
static advml_status pick_split(advml_dataset *ds, const char *flag, const char **split, advml_error *err)
{
    if (flag) {
        if (strcmp(flag, "train") && strcmp(flag, "validation") && strcmp(flag, "test"))
            return advml_error_set(err, ADVML_ERR_ARG, "--split: expected train, validation or test, got \"%s\"",
                                   flag);
        if (!advml_dataset_has_split(ds, flag))
            return advml_error_set(err, ADVML_ERR_FORMAT, "%s has no \"%s\" split", advml_dataset_path(ds), flag);
        *split = flag;
        return ADVML_OK;
    }
    static const char *order[] = {"test", "validation", "train"};
    for (int i = 0; i < 3; i++)
        if (advml_dataset_has_split(ds, order[i])) {
            *split = order[i];
            return ADVML_OK;
        }
    return advml_error_set(err, ADVML_ERR_FORMAT, "%s has none of the splits train, validation, test",
                           advml_dataset_path(ds));
}

static void report(const advml_predictor *p, const advml_predictions *pr, const advml_forecast *fc,
                   const char *split, const options *o, int nranks)
{
    printf("advml-predict %s: %s (epoch %lld, step %lld), %s split of %s: %lld samples on %d rank(s)\n",
           ADVML_VERSION, o->checkpoint, (long long)p->state.epoch, (long long)p->state.step, split, o->data,
           (long long)pr->n, nranks);
    printf("  %s model, %d output(s), loss %s: mean loss %.6g", advml_task_name(p->task), p->K,
           advml_loss_name(p->cfg.model.loss), pr->loss);
    if (isfinite(pr->accuracy))
        printf(", accuracy %.4f", pr->accuracy);
    if (isfinite(pr->mse))
        printf(", mse %.6g", pr->mse);
    printf("\n");
    if (fc) {
        printf("  forecast: %lld steps from window %lld (%s)\n", (long long)fc->horizon, (long long)fc->start,
               fc->feedback);
        if (fc->truth_points > 0)
            printf("  forecast mse %.6g over the %lld step(s) with data\n", fc->mse, (long long)fc->truth_points);
    }
    printf("predictions: %s\n", o->out);
    fflush(stdout);
}

/* ---- the run ------------------------------------------------------------------------ */

/* What one run reads and makes. Each step below is collective and returns the
 * status every rank agreed on. */
typedef struct job {
    advml_comm *comm;
    int rank, nranks;
    options o;
    long long horizon, start, batch;
    advml_predictor p;
    advml_dataset *ds;
    const char *split;
    advml_predictions pr;
    advml_forecast fc;        /* rank 0's, when have_fc */
    int have_fc;
} job;

/* The flags and their numbers. */
static advml_status read_flags(job *j, int argc, char **argv, advml_error *err)
{
    advml_status s = parse_args(argc, argv, &j->o, err);
    if (!s && j->o.forecast)
        s = advml_cli_int("--forecast", j->o.forecast, 1, 100000000, &j->horizon, err);
    if (!s && j->o.start)
        s = advml_cli_int("--start", j->o.start, 0, INT64_MAX, &j->start, err);
    if (!s && j->o.batch_size)
        s = advml_cli_int("--batch-size", j->o.batch_size, 1, 1000000, &j->batch, err);
    return advml_comm_agree(j->comm, s, err);
}

/* Fail before any work when the output exists (and before reading). */
static advml_status check_out(job *j, advml_error *err)
{
    advml_status s = ADVML_OK;
    if (j->rank == 0 && !j->o.force && access(j->o.out, F_OK) == 0)
        s = advml_error_set(err, ADVML_ERR_IO, "%s exists and is not overwritten; use --force to replace it",
                            j->o.out);
    return advml_comm_agree(j->comm, s, err);
}

/* Checkpoint and data (every rank reads its own copy). */
static advml_status load(job *j, advml_error *err)
{
    advml_status s = advml_predictor_load(&j->p, j->o.checkpoint, (int)j->batch, err);
    if (!s)
        s = advml_dataset_open(&j->ds, j->o.data, err);
    if (!s)
        s = pick_split(j->ds, j->o.split, &j->split, err);
    return advml_comm_agree(j->comm, s, err);
}

/* Predictions over the split (ranks split the samples), then the forecast:
 * deterministic and cheap, rank 0 computes it, the others agree on its status. */
static advml_status predict(job *j, advml_error *err)
{
    advml_status s = advml_predict_split(&j->p, j->ds, j->split, &j->pr, j->comm, err);
    if (!s && j->horizon > 0) {
        if (j->rank == 0)
            s = advml_forecast_split(&j->p, j->ds, j->split, (int64_t)j->start, (int64_t)j->horizon, &j->fc, err);
        s = advml_comm_agree(j->comm, s, err);
        j->have_fc = !s && j->rank == 0;
    }
    return s;
}

/* Rank 0 writes the file and reports. */
static advml_status write_out(job *j, int argc, char **argv, advml_error *err)
{
    advml_status s = ADVML_OK;
    if (j->rank == 0) {
        char *cmd = advml_cli_join_args(argc, argv);
        advml_predict_meta meta = {j->o.checkpoint, j->o.data, j->split, cmd, j->nranks};
        const advml_forecast *fc = j->have_fc ? &j->fc : NULL;
        s = advml_predictions_write(j->o.out, j->o.force, &j->p, &j->pr, fc, &meta, err);
        free(cmd);
        if (!s)
            report(&j->p, &j->pr, fc, j->split, &j->o, j->nranks);
    }
    return advml_comm_agree(j->comm, s, err);
}

static void job_free(job *j)
{
    advml_forecast_free(&j->fc);
    advml_predictions_free(&j->pr);
    advml_dataset_close(j->ds);
    advml_predictor_free(&j->p);
}

int main(int argc, char **argv)
{
    /* Prologue: MPI, the flags. */
    job j;
    memset(&j, 0, sizeof j);
    j.batch = 256;
    int rc = advml_tool_start(TOOL, &argc, &argv, &j.comm); /* one BLAS thread per rank */
    if (rc)
        return rc;
    j.rank = advml_comm_rank(j.comm);
    j.nranks = advml_comm_size(j.comm);
    advml_error err;
    advml_error_clear(&err);
    advml_status s = read_flags(&j, argc, argv, &err);
    if (!s && (j.o.help || j.o.version))
        return advml_tool_help(TOOL, j.comm, j.o.version, &command_line);

    /* The work: check the output, load, predict (and forecast), write. */
    if (!s && !(s = check_out(&j, &err)) && !(s = load(&j, &err)) && !(s = predict(&j, &err)))
        s = write_out(&j, argc, argv, &err);

    /* Epilogue. */
    job_free(&j);
    if (s)
        return advml_tool_fail(TOOL, j.comm, s, &err);
    advml_comm_finalize(j.comm);
    return 0;
}

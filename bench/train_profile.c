/* train_profile.c - where a training step of advml-train spends its time, per rank.
 *
 * advml_train_profile is src/tools/advml-train.c, unchanged, linked with this
 * file and -Wl,--wrap for the calls one step of src/train.c makes:
 *
 *   phase      wrapped call                                    (training steps only)
 *   read       advml_dataset_read                              split "train": marks the
 *                                                              start of a step
 *   zero       advml_model_zero_grads                          (the first step only: later
 *                                                              ones are cleared by the optimizer)
 *   compute    advml_model_forward (ctx->training), advml_model_loss, advml_model_correct,
 *              advml_model_backward (and _loss_part, _correct_part in reproducible mode)
 *   wait       advml_comm_barrier before the allreduce, only with ADVML_PROFILE_BARRIER=1: the
 *              time a rank waits for the slower one, split off the allreduce
 *   allreduce  advml_comm_allreduce_sum_f32                    the ONE gradient allreduce
 *              (advml_comm_ordered_sum_f32 in reproducible mode)
 *   optim      advml_optim_step_clear       (steps, clears the gradients, checks they were finite)
 *   other      the rest of the step (the loss check, metrics)
 *
 * A step runs from one training read (advml_dataset_read of "train") to the next. The first
 * ADVML_PROFILE_WARMUP steps (default 10) are not counted, nor is a step whose
 * interval holds an evaluation (forward with ctx->training == 0): profile a
 * run of --max-steps K inside the first epoch, without --out.
 *
 * Clean steps. On a machine shared with other work a rank is sometimes
 * descheduled in the middle of a step, and with 2 ranks the other one then
 * waits for it inside the allreduce. A step is "clean" on a rank when the
 * rank's thread CPU time over the step falls short of its wall time by less
 * than 0.3 ms (CLOCK_THREAD_CPUTIME_ID; MPI waits spin, so they count as CPU
 * time), and clean when it is clean on every rank (agreed at the end with one
 * advml_comm_allreduce_max_i32 over the steps). The clean steps' means are
 * what the code costs on an idle machine.
 *
 * At exit (advml_comm_finalize) every rank prints one line
 *
 *   PROFILE rank R of N steps S clean K step_ms MEAN step_med MEDIAN step_p10 P10
 *           step_clean MEAN zero_ms .. zero_med .. zero_clean .. (and so on for read,
 *           compute, wait, allreduce, optim, other) cpu_per_wall F invol_csw C
 *
 * With ADVML_PROFILE_DUMP=PREFIX every rank also writes PREFIX.RANK: one line
 * per counted step with its columns in ms (zero read compute wait allreduce
 * optim other step cpu) and its clean flag.
 *
 * (ms per counted step: mean, median, and mean over the clean steps; for the
 * step also the 10th percentile; cpu_per_wall is the rank's process CPU time
 * over wall time of the counted steps, below 1 when other processes took its
 * core; invol_csw its involuntary context switches). Timing costs a few
 * clock reads per step, well under 0.1 % of a step.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "advml/comm.h"
#include "advml/dataset.h"
#include "advml/model.h"
#include "advml/optim.h"
#include "benchutil.h"

enum { P_ZERO, P_READ, P_COMPUTE, P_WAIT, P_ALLREDUCE, P_OPTIM, P_OTHER, P_STEP, P_CPU, NCOL };
enum { NPHASE = P_OTHER }; /* the timed phases; other = step - their sum */
static const char *const col_name[P_STEP + 1] = {"zero",      "read",  "compute", "wait",
                                                 "allreduce", "optim", "other",   "step"};
#define MAX_STEPS 20000
#define CLEAN_SLACK 0.3e-3 /* s: wall - thread CPU time below this: not descheduled */

static struct {
    int warmup, barrier, inited;
    long seen;             /* steps started */
    long counted;          /* steps recorded */
    int in_step;           /* a training step is open (zero_grads seen) */
    int dirty;             /* the open step's interval holds an evaluation */
    double step_start;     /* wall time the open step started */
    double step_cpu0;      /* thread CPU time it started */
    double cur[NPHASE];    /* the open step's phase times */
    double *rec;           /* (MAX_STEPS, NCOL) the recorded steps' columns, seconds */
    double cpu0, wall0;    /* process CPU and wall time at the start of the first counted step */
    long csw0;
    double cpu_counted, wall_counted;
    long csw_counted;
} P;


static void process_cpu(double *cpu, long *csw)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    *cpu = (double)ru.ru_utime.tv_sec + 1e-6 * (double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_sec +
           1e-6 * (double)ru.ru_stime.tv_usec;
    *csw = ru.ru_nivcsw;
}

static void init(void)
{
    if (P.inited)
        return;
    P.inited = 1;
    const char *w = getenv("ADVML_PROFILE_WARMUP");
    P.warmup = w ? atoi(w) : 10;
    const char *b = getenv("ADVML_PROFILE_BARRIER");
    P.barrier = b && !strcmp(b, "1");
    P.rec = calloc((size_t)MAX_STEPS * NCOL, sizeof *P.rec);
}

/* Close the open step at wall time t (the next step starts). */
static void close_step(double t)
{
    if (!P.in_step)
        return;
    P.in_step = 0;
    if (P.seen <= P.warmup || P.dirty || !P.rec || P.counted >= MAX_STEPS)
        return;
    double cpu;
    long csw;
    process_cpu(&cpu, &csw);
    P.cpu_counted = cpu - P.cpu0;
    P.wall_counted = t - P.wall0;
    P.csw_counted = csw - P.csw0;
    double *r = P.rec + (size_t)P.counted * NCOL, d = t - P.step_start, rest = d;
    for (int i = 0; i < NPHASE; i++) {
        r[i] = P.cur[i];
        rest -= P.cur[i];
    }
    r[P_OTHER] = rest;
    r[P_STEP] = d;
    r[P_CPU] = bench_clock_s(CLOCK_THREAD_CPUTIME_ID) - P.step_cpu0;
    P.counted++;
}

/* The start of a training step: close the open one, open the next. */
static void start_step(double t)
{
    close_step(t);
    P.seen++;
    P.in_step = 1;
    P.dirty = 0;
    memset(P.cur, 0, sizeof P.cur);
    if (P.seen == P.warmup + 1) { /* the counted window starts */
        process_cpu(&P.cpu0, &P.csw0);
        P.wall0 = t;
    }
    P.step_start = t;
    P.step_cpu0 = bench_clock_s(CLOCK_THREAD_CPUTIME_ID);
}

/* Only the first step of a run clears the gradients here; every later one has
 * them cleared by the previous step's advml_optim_step_clear. */
void __real_advml_model_zero_grads(advml_model *m);
void __wrap_advml_model_zero_grads(advml_model *m)
{
    double t = now_s();
    __real_advml_model_zero_grads(m);
    if (P.in_step)
        P.cur[P_ZERO] += now_s() - t;
}

advml_status __real_advml_dataset_read(advml_dataset *ds, const char *split, const int64_t *idx, int64_t n, float *x,
                                       float *y, advml_error *err);
advml_status __wrap_advml_dataset_read(advml_dataset *ds, const char *split, const int64_t *idx, int64_t n, float *x,
                                       float *y, advml_error *err)
{
    init();
    double t = now_s();
    if (!strcmp(split, "train"))
        start_step(t);
    advml_status s = __real_advml_dataset_read(ds, split, idx, n, x, y, err);
    if (P.in_step)
        P.cur[P_READ] += now_s() - t;
    return s;
}

void __real_advml_model_forward(advml_model *m, const float *in, const advml_ctx *ctx);
void __wrap_advml_model_forward(advml_model *m, const float *in, const advml_ctx *ctx)
{
    double t = now_s();
    __real_advml_model_forward(m, in, ctx);
    if (!ctx->training) /* an evaluation: this interval is not a plain step */
        P.dirty = 1;
    else if (P.in_step)
        P.cur[P_COMPUTE] += now_s() - t;
}

double __real_advml_model_loss(const advml_model *m, const float *targets, int B);
double __wrap_advml_model_loss(const advml_model *m, const float *targets, int B)
{
    double t = now_s();
    double l = __real_advml_model_loss(m, targets, B);
    if (P.in_step)
        P.cur[P_COMPUTE] += now_s() - t;
    return l;
}

double __real_advml_model_correct(const advml_model *m, const float *targets, int B);
double __wrap_advml_model_correct(const advml_model *m, const float *targets, int B)
{
    double t = now_s();
    double c = __real_advml_model_correct(m, targets, B);
    if (P.in_step)
        P.cur[P_COMPUTE] += now_s() - t;
    return c;
}

/* reproducible mode: the loss and the correct count per slot */
double __real_advml_model_loss_part(const advml_model *m, const float *targets, int lo, int B);
double __wrap_advml_model_loss_part(const advml_model *m, const float *targets, int lo, int B)
{
    double t = now_s();
    double l = __real_advml_model_loss_part(m, targets, lo, B);
    if (P.in_step)
        P.cur[P_COMPUTE] += now_s() - t;
    return l;
}

double __real_advml_model_correct_part(const advml_model *m, const float *targets, int lo, int B);
double __wrap_advml_model_correct_part(const advml_model *m, const float *targets, int lo, int B)
{
    double t = now_s();
    double c = __real_advml_model_correct_part(m, targets, lo, B);
    if (P.in_step)
        P.cur[P_COMPUTE] += now_s() - t;
    return c;
}

void __real_advml_model_backward(advml_model *m, const float *in, const float *targets, const advml_ctx *ctx);
void __wrap_advml_model_backward(advml_model *m, const float *in, const float *targets, const advml_ctx *ctx)
{
    double t = now_s();
    __real_advml_model_backward(m, in, targets, ctx);
    if (P.in_step)
        P.cur[P_COMPUTE] += now_s() - t;
}

advml_status __real_advml_comm_allreduce_sum_f32(advml_comm *c, float *buf, size_t n, advml_error *err);
advml_status __wrap_advml_comm_allreduce_sum_f32(advml_comm *c, float *buf, size_t n, advml_error *err)
{
    init();
    double t = now_s();
    if (P.barrier && P.in_step) {
        advml_status s = advml_comm_barrier(c, err);
        if (s)
            return s;
        double t1 = now_s();
        P.cur[P_WAIT] += t1 - t;
        t = t1;
    }
    advml_status s = __real_advml_comm_allreduce_sum_f32(c, buf, n, err);
    if (P.in_step)
        P.cur[P_ALLREDUCE] += now_s() - t;
    return s;
}

/* reproducible mode's gradient sum: the allreduce column too */
advml_status __real_advml_comm_ordered_sum_f32(advml_comm *c, float *const *parts, int nparts, float *out, size_t n,
                                               advml_error *err);
advml_status __wrap_advml_comm_ordered_sum_f32(advml_comm *c, float *const *parts, int nparts, float *out, size_t n,
                                               advml_error *err)
{
    init();
    double t = now_s();
    if (P.barrier && P.in_step) {
        advml_status s = advml_comm_barrier(c, err);
        if (s)
            return s;
        double t1 = now_s();
        P.cur[P_WAIT] += t1 - t;
        t = t1;
    }
    advml_status s = __real_advml_comm_ordered_sum_f32(c, parts, nparts, out, n, err);
    if (P.in_step)
        P.cur[P_ALLREDUCE] += now_s() - t;
    return s;
}

int __real_advml_optim_step_clear(advml_optimizer *o, float *params, float *grads, float grad_scale,
                                  const advml_param_view *views, int nviews);
int __wrap_advml_optim_step_clear(advml_optimizer *o, float *params, float *grads, float grad_scale,
                                  const advml_param_view *views, int nviews)
{
    double t = now_s();
    int bad = __real_advml_optim_step_clear(o, params, grads, grad_scale, views, nviews);
    if (P.in_step)
        P.cur[P_OPTIM] += now_s() - t;
    return bad;
}


/* Mean, median and 10th percentile (ms) of column c over the n recorded
 * steps, and the mean over those with dirty[i] == 0. */
static void column_stats(long n, int c, const int32_t *dirty, double *mean, double *med, double *p10, double *clean)
{
    *mean = *med = *p10 = *clean = 0.0;
    double *v = n > 0 ? malloc((size_t)n * sizeof *v) : NULL;
    if (!v)
        return;
    double sum = 0.0, csum = 0.0;
    long nclean = 0;
    for (long i = 0; i < n; i++) {
        sum += v[i] = P.rec[(size_t)i * NCOL + c];
        if (dirty && !dirty[i]) {
            csum += v[i];
            nclean++;
        }
    }
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    *mean = 1e3 * sum / (double)n;
    *med = 1e3 * (n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]));
    *p10 = 1e3 * v[(n - 1) / 10];
    *clean = nclean ? 1e3 * csum / (double)nclean : -1.0;
    free(v);
}

advml_status __real_advml_comm_finalize(advml_comm *c);
advml_status __wrap_advml_comm_finalize(advml_comm *c)
{
    init();
    /* The last step ends with its optimizer step; what follows it is the
     * run's end, not a step: it is left open and not counted. */
    P.in_step = 0;
    int rank = advml_comm_rank(c), nranks = advml_comm_size(c);
    long n = P.counted; /* the same on every rank: same steps, same evaluations */
    int32_t *dirty = calloc(n > 0 ? (size_t)n : 1, sizeof *dirty);
    long nclean = 0;
    if (dirty) {
        for (long i = 0; i < n; i++) {
            const double *r = P.rec + (size_t)i * NCOL;
            dirty[i] = r[P_STEP] - r[P_CPU] > CLEAN_SLACK;
        }
        advml_error err;
        if (n > 0 && advml_comm_allreduce_max_i32(c, dirty, (size_t)n, &err) != ADVML_OK) {
            free(dirty);
            dirty = NULL;
        }
        for (long i = 0; dirty && i < n; i++)
            nclean += !dirty[i];
    }
    const char *dump = getenv("ADVML_PROFILE_DUMP");
    if (dump && dump[0]) {
        char path[4096];
        snprintf(path, sizeof path, "%s.%d", dump, rank);
        FILE *f = fopen(path, "w");
        if (f) {
            fprintf(f, "# zero read compute wait allreduce optim other step cpu clean (ms)\n");
            for (long i = 0; i < n; i++) {
                const double *r = P.rec + (size_t)i * NCOL;
                for (int col = 0; col < NCOL; col++)
                    fprintf(f, "%.4f ", 1e3 * r[col]);
                fprintf(f, "%d\n", dirty ? !dirty[i] : -1);
            }
            fclose(f);
        }
    }
    double mean, med, p10, clean;
    char line[4096];
    column_stats(n, P_STEP, dirty, &mean, &med, &p10, &clean);
    int len = snprintf(line, sizeof line,
                       "PROFILE rank %d of %d steps %ld clean %ld step_ms %.3f step_med %.3f step_p10 %.3f "
                       "step_clean %.3f",
                       rank, nranks, n, nclean, mean, med, p10, clean);
    for (int i = 0; i < P_STEP; i++) {
        column_stats(n, i, dirty, &mean, &med, &p10, &clean);
        len += snprintf(line + len, sizeof line - (size_t)len, " %s_ms %.3f %s_med %.3f %s_clean %.3f", col_name[i],
                        mean, col_name[i], med, col_name[i], clean);
    }
    snprintf(line + len, sizeof line - (size_t)len, " cpu_per_wall %.3f invol_csw %ld\n",
             P.wall_counted > 0 ? P.cpu_counted / P.wall_counted : 0.0, P.csw_counted);
    fputs(line, stdout);
    fflush(stdout);
    free(dirty);
    free(P.rec);
    P.rec = NULL;
    return __real_advml_comm_finalize(c);
}

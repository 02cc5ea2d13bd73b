/* bench_rnn.c - training throughput of the recurrent cells, single-threaded:
 * sequences/s of one training step (forward + backward + Adam step) of
 *
 *     CELL(64) on windows of 20 steps x 1 feature, last hidden state,
 *     dense 64 -> 1, MSE, Adam lr 1e-3, batch 32
 *
 * for CELL = rnn (tanh), lstm and gru: the course's PyTorch sine model
 * (NOTES.md, "PyTorch RNN on a sine") and its LSTM/GRU variants. The data are
 * the course's sine windows: sin over linspace(0, 4 pi, 1000), the first 800
 * points, windows of 20 predicting the next value (780 windows, cut into 24
 * batches of 32 that the steps cycle through). bench/torch_rnn.py is the
 * PyTorch twin (same model, data, batches and step).
 *
 * A step is advml_model_forward + advml_model_loss + advml_model_backward +
 * advml_optim_step_clear (grad_scale 1/B: the mean loss; it clears the
 * gradients as it reads them, as advml-train's step does).
 * Each step is timed alone; the report gives the median over the timed steps
 * (robust to other processes taking the CPU for a while), the mean, and the
 * CPU time per step.
 *
 * Usage: bench_rnn [--cells rnn,lstm,gru] [--warmup N] [--steps N] [--batch B]
 *                  [--hidden H] [--window T] [--seed S]
 * Prints a report, then "RESULT CELL_key value" lines for bench/run_rnn.sh.
 */
#include <cblas.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "advml/model.h"
#include "advml/optim.h"
#include "benchutil.h"


static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "bench_rnn: out of memory (%zu bytes)\n", n);
        exit(3);
    }
    return p;
}

/* The course's sine windows: series sin(linspace(0, 4 pi, 1000)), first 800
 * points; window w is points w .. w+T-1, its target point w+T. Fills
 * x (nbatch, B, T, 1) and y (nbatch, B, 1) with the first nbatch * B windows
 * in order; returns nbatch (>= 1), or 0 when fewer than B windows exist. */
static int sine_batches(float **x, float **y, int B, int T)
{
    enum { NPOINTS = 1000, NTRAIN = 800 };
    int nwin = NTRAIN - T;
    int nbatch = nwin / B;
    if (nbatch < 1)
        return 0;
    float *s = xmalloc(NTRAIN * sizeof *s);
    for (int i = 0; i < NTRAIN; i++)
        s[i] = (float)sin(4.0 * M_PI * i / (NPOINTS - 1)); /* numpy linspace(0, 4 pi, 1000) */
    *x = xmalloc((size_t)nbatch * B * T * sizeof **x);
    *y = xmalloc((size_t)nbatch * B * sizeof **y);
    for (int w = 0; w < nbatch * B; w++) {
        memcpy(*x + (size_t)w * T, s + w, (size_t)T * sizeof *s);
        (*y)[w] = s[w + T];
    }
    free(s);
    return nbatch;
}

typedef struct cell_result {
    double step_s, mean_s, best_s, cpu_s;
    double phase_s[4];   /* forward, loss, backward, optimizer: mean per step */
    double loss_first, loss_last;
    size_t nparams;
} cell_result;

/* Train CELL(H) + dense(1) on the batches for warmup + steps steps and time
 * the steps. Returns 0, or an exit code after printing the error. */
static int bench_cell(advml_layer_type type, int H, int T, int B, int warmup, int steps, uint64_t seed,
                      const float *xb, const float *yb, int nbatch, cell_result *r)
{
    advml_model_spec spec;
    memset(&spec, 0, sizeof spec);
    spec.input = advml_shape2(T, 1);
    spec.loss = ADVML_LOSS_MSE;
    spec.layers[0] = advml_layer_spec_default(type);
    spec.layers[0].units = H;
    spec.layers[0].return_sequences = 0;
    if (type == ADVML_LAYER_RNN)
        spec.layers[0].act = ADVML_ACT_TANH;
    spec.layers[1] = advml_layer_spec_default(ADVML_LAYER_DENSE);
    spec.layers[1].units = 1;
    spec.nlayers = 2;

    advml_model m;
    advml_error err;
    advml_error_clear(&err);
    if (advml_model_build(&m, &spec, B, &err) != ADVML_OK) {
        fprintf(stderr, "bench_rnn: %s\n", err.msg);
        return advml_exit_code(err.code);
    }
    advml_model_init_params(&m, seed);
    advml_optim_config oc = advml_optim_defaults(ADVML_OPTIM_ADAM);
    oc.lr = 1e-3f;
    advml_optimizer opt;
    if (advml_optim_init(&opt, &oc, m.nparams, &err) != ADVML_OK) {
        fprintf(stderr, "bench_rnn: %s\n", err.msg);
        advml_model_free(&m);
        return advml_exit_code(err.code);
    }

    advml_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.B = B;
    ctx.training = 1;
    ctx.seed = seed;
    const float gscale = 1.0f / (float)B;
    double *t_step = xmalloc((size_t)steps * sizeof *t_step);
    memset(r, 0, sizeof *r);
    r->nparams = m.nparams;
    advml_model_zero_grads(&m); /* once: each optimizer step clears them after */
    double t0 = 0.0, c0 = 0.0;
    for (int s = 0; s < warmup + steps; s++) {
        if (s == warmup) {
            memset(r->phase_s, 0, sizeof r->phase_s);
            t0 = now_s();
            c0 = cpu_s();
        }
        const float *x = xb + (size_t)(s % nbatch) * B * T; /* (B, T, 1) */
        const float *y = yb + (size_t)(s % nbatch) * B;     /* (B, 1) */
        ctx.step = (uint64_t)s;
        double a = now_s();
        advml_model_forward(&m, x, &ctx);
        double b = now_s();
        double loss = advml_model_loss(&m, y, B) / B;
        double c = now_s();
        advml_model_backward(&m, x, y, &ctx);
        double d = now_s();
        /* the step clears the gradients as it reads them, as in the trainer */
        advml_optim_step_clear(&opt, m.params, m.grads, gscale, m.views, m.nviews);
        double e = now_s();
        r->phase_s[0] += b - a, r->phase_s[1] += c - b, r->phase_s[2] += d - c, r->phase_s[3] += e - d;
        if (s >= warmup)
            t_step[s - warmup] = e - a;
        if (s == 0)
            r->loss_first = loss;
        r->loss_last = loss;
    }
    r->mean_s = (now_s() - t0) / steps;
    r->cpu_s = (cpu_s() - c0) / steps;
    for (int i = 0; i < 4; i++)
        r->phase_s[i] /= steps;
    r->step_s = median(t_step, steps);
    r->best_s = t_step[0]; /* median() sorted t_step */
    free(t_step);
    advml_optim_free(&opt);
    advml_model_free(&m);
    return 0;
}

static int parse_int(const char *flag, const char *v, int lo)
{
    char *end = NULL;
    long x = v ? strtol(v, &end, 10) : 0;
    if (!v || *end || x < lo || x > 10000000) {
        fprintf(stderr, "bench_rnn: %s needs an integer >= %d, got '%s'\n", flag, lo, v ? v : "");
        exit(2);
    }
    return (int)x;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: bench_rnn [--cells rnn,lstm,gru] [--warmup N] [--steps N] [--batch B] [--hidden H]\n"
               "                 [--window T] [--seed S]\n"
               "Training sequences/s of CELL(H) + dense(1), MSE, Adam, on the course's sine windows, 1 thread.\n");
}

int main(int argc, char **argv)
{
    int warmup = 50, steps = 500, B = 32, H = 64, T = 20;
    uint64_t seed = 42;
    const char *cells = "rnn,lstm,gru";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--warmup")) warmup = parse_int(a, v, 0), i++;
        else if (!strcmp(a, "--steps")) steps = parse_int(a, v, 1), i++;
        else if (!strcmp(a, "--batch")) B = parse_int(a, v, 1), i++;
        else if (!strcmp(a, "--hidden")) H = parse_int(a, v, 1), i++;
        else if (!strcmp(a, "--window")) T = parse_int(a, v, 1), i++;
        else if (!strcmp(a, "--seed")) seed = (uint64_t)parse_int(a, v, 0), i++;
        else if (!strcmp(a, "--cells") && v) cells = v, i++;
        else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        } else {
            usage(stderr);
            fprintf(stderr, "bench_rnn: unknown or incomplete argument '%s'\n", a);
            return 2;
        }
    }
    openblas_set_num_threads(1);

    float *xb = NULL, *yb = NULL;
    int nbatch = sine_batches(&xb, &yb, B, T);
    if (nbatch < 1) {
        fprintf(stderr, "bench_rnn: window %d and batch %d leave no full batch of the 800 training points\n", T, B);
        return 2;
    }
    printf("advml training step: CELL(%d) over %d steps x 1 feature, last state, dense %d->1, MSE, Adam lr 1e-3, "
           "batch %d, 1 thread; %d sine batches cycled; %d warm-up + %d timed steps per cell\n",
           H, T, H, B, nbatch, warmup, steps);
    printf("OpenBLAS: %s (core %s), OPENBLAS_CORETYPE=%s\n", openblas_get_config(), openblas_get_corename(),
           getenv("OPENBLAS_CORETYPE") ? getenv("OPENBLAS_CORETYPE") : "(unset)");

    static const struct { const char *name; advml_layer_type type; } kinds[] = {
        {"rnn", ADVML_LAYER_RNN}, {"lstm", ADVML_LAYER_LSTM}, {"gru", ADVML_LAYER_GRU}};
    int ran = 0;
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        /* is kinds[k].name an item of the comma-separated list? */
        size_t n = strlen(kinds[k].name);
        const char *p = cells;
        int want = 0;
        while (*p) {
            size_t len = strcspn(p, ",");
            want |= (len == n && !strncmp(p, kinds[k].name, n));
            p += len + (p[len] == ',');
        }
        if (!want)
            continue;
        cell_result r;
        int rc = bench_cell(kinds[k].type, H, T, B, warmup, steps, seed, xb, yb, nbatch, &r);
        if (rc)
            return rc;
        ran++;
        double sps = B / r.step_s;
        printf("\n%s: %zu parameters; loss (batch mean) first step %.5f, last step %.5f\n", kinds[k].name, r.nparams,
               r.loss_first, r.loss_last);
        printf("  step: median %.4f ms  ->  %.1f sequences/s  (mean %.4f ms, best %.4f ms, CPU time %.4f ms)\n",
               1e3 * r.step_s, sps, 1e3 * r.mean_s, 1e3 * r.best_s, 1e3 * r.cpu_s);
        static const char *phase[4] = {"forward", "loss", "backward", "optimizer (adam)"};
        for (int i = 0; i < 4; i++)
            printf("    %-18s %8.4f ms  %5.1f%% (of the mean step)\n", phase[i], 1e3 * r.phase_s[i],
                   100.0 * r.phase_s[i] / r.mean_s);
        printf("RESULT %s_seqs_per_s %.2f\n", kinds[k].name, sps);
        printf("RESULT %s_step_ms %.5f\n", kinds[k].name, 1e3 * r.step_s);
        printf("RESULT %s_step_cpu_ms %.5f\n", kinds[k].name, 1e3 * r.cpu_s);
        printf("RESULT %s_loss_last %.6f\n", kinds[k].name, r.loss_last);
    }
    free(xb);
    free(yb);
    if (!ran) {
        fprintf(stderr, "bench_rnn: --cells '%s' names none of rnn, lstm, gru\n", cells);
        return 2;
    }
    return 0;
}

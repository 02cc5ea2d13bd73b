/* bench_cnn_step.c - one training step of the course's PyTorch MNIST CNN,
 * single-threaded: images/s, the GEMM ceiling, and page faults.
 *
 * The model (NOTES.md, "PyTorch CNN on MNIST"), input (1, 28, 28), batch 64:
 *   conv 1->32 3x3 same, relu; maxpool 2; conv 32->64 3x3 same, relu; maxpool 2;
 *   flatten; dense 3136->1024 relu; dropout 0.5; dense 1024->10 softmax;
 *   categorical cross-entropy (softmax fused); Adam lr 1e-3.
 * A step is advml_model_forward + advml_model_loss + advml_model_backward +
 * advml_optim_step_clear(grad_scale 1/B), as the trainer's: the optimizer
 * clears the gradients as it reads them (they start at 0 after the build), so
 * the next backward accumulates into zeros without an advml_model_zero_grads.
 *
 * The GEMM ceiling replays the SAME cblas_sgemm calls the layers make in one
 * step (src/conv2d.c, src/dense.c), same shapes, transposes, leading
 * dimensions, beta and per-sample pointer strides, on preallocated buffers:
 *   conv (per sample b, col = im2col(x_b) (CKK, OHW), CKK = C*KH*KW):
 *     forward   y_b (OC, OHW)  = kernel (OC, CKK) @ col            NN  M=OC  N=OHW K=CKK beta 1 (bias)
 *     dkernel   dk (OC, CKK)  += g_b (OC, OHW) @ col^T             NT  M=OC  N=CKK K=OHW beta 1
 *     dcol      col (CKK, OHW) = kernel^T @ g_b    (not layer 0)   TN  M=CKK N=OHW K=OC  beta 0
 *   conv by Winograd F(2x2, 3x3) (src/conv2d_winograd.c; 3x3 stride 1, C and
 *   OC >= 8), per chunk of n samples, ld = n*T tiles, 16 calls (one per xi):
 *     forward   M_xi (ld, OC)  = V_xi (ld, C) @ U_xi^T (C, OC)      NT  M=ld  N=OC  K=C   beta 0
 *     dU        dU_xi (OC, C) += dM_xi^T (OC, ld) @ V_xi (ld, C)    TN  M=OC  N=C   K=ld  beta 0 first chunk, then 1
 *     dV        dV_xi (ld, C)  = dM_xi @ U_xi      (not layer 0)   NN  M=ld  N=C   K=OC  beta 0
 *   dense (whole batch):
 *     forward   out (B, OUT)   = in (B, IN) @ W^T                  NT  M=B   N=OUT K=IN  beta 1 (bias)
 *     dweight   dW (OUT, IN)  += dout^T @ in                       TN  M=OUT N=IN  K=B   beta 1
 *     dinp      dinp (B, IN)  += dout @ W          (not layer 0)   NN  M=B   N=IN  K=OUT beta 1
 * For this model that is, per step (B = 64):
 *   conv1: 64 x NN 32x784x9,   64 x NT 32x9x784
 *   conv2 (Winograd, T = 49 tiles, chunks of 8 samples: 8 of ld 392):
 *          16 x 8 NT 392x64x32, 16 x 8 TN 64x32x392, 16 x 8 NN 392x32x64
 *   dense1: NT 64x1024x3136, TN 1024x3136x64, NN 64x3136x1024
 *   dense2: NT 64x10x1024,   TN 10x1024x64,   NN 64x1024x10
 * The list is derived from the built model's layer shapes, so it follows the
 * model; it must be kept in step with the layers' kernels.
 *
 * Usage: bench_cnn_step [--warmup N] [--steps N] [--batch B] [--seed S] [--no-gemm-replay]
 *                       [--conv-algo auto|im2col]
 * --conv-algo im2col computes every convolution by im2col (the config's
 * "algorithm"); the default lets each layer choose (Winograd for conv2).
 * Prints a report, then "RESULT key value" lines for bench/run_cnn_step.sh.
 */
#include <cblas.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "advml/model.h"
#include "advml/optim.h"
#include "advml/rng.h"
#include "benchutil.h"


static long minor_faults(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_minflt + ru.ru_majflt;
}

static void fill_uniform(float *x, size_t n, float lo, float hi, advml_rng *rng)
{
    for (size_t i = 0; i < n; i++)
        x[i] = lo + (hi - lo) * (float)advml_rng_uniform(rng);
}

/* ---- GEMM time inside the step ------------------------------------------------
 * bench/CMakeLists.txt links this program with -Wl,--wrap=cblas_sgemm, so
 * every cblas_sgemm call (the layers' and the replay's) comes here first.
 * While gemm_in_step is counting, the time of each call is added up: the
 * GEMM time of the real steps, next to the replayed ceiling below. */
void __real_cblas_sgemm(const enum CBLAS_ORDER o, const enum CBLAS_TRANSPOSE ta, const enum CBLAS_TRANSPOSE tb,
                        const blasint M, const blasint N, const blasint K, const float alpha, const float *A,
                        const blasint lda, const float *Bm, const blasint ldb, const float beta, float *C,
                        const blasint ldc);
void __wrap_cblas_sgemm(const enum CBLAS_ORDER o, const enum CBLAS_TRANSPOSE ta, const enum CBLAS_TRANSPOSE tb,
                        const blasint M, const blasint N, const blasint K, const float alpha, const float *A,
                        const blasint lda, const float *Bm, const blasint ldb, const float beta, float *C,
                        const blasint ldc);

static int gemm_counting;      /* 1 while the timed steps run */
static double gemm_in_step_s;  /* summed cblas_sgemm time of the timed steps */
static long gemm_in_step_calls;

/* The signature of each call of one (warm-up) step, recorded to check that the
 * replayed list below is the list of calls the layers really make. */
typedef struct gemm_sig {
    int ta, tb, M, N, K, lda, ldb, ldc;
    float beta;
} gemm_sig;
#define MAX_RECORDED 8192
static gemm_sig recorded[MAX_RECORDED];
static int nrecorded, gemm_recording, recorded_overflow;

void __wrap_cblas_sgemm(const enum CBLAS_ORDER o, const enum CBLAS_TRANSPOSE ta, const enum CBLAS_TRANSPOSE tb,
                        const blasint M, const blasint N, const blasint K, const float alpha, const float *A,
                        const blasint lda, const float *Bm, const blasint ldb, const float beta, float *C,
                        const blasint ldc)
{
    if (gemm_recording) {
        if (nrecorded < MAX_RECORDED)
            recorded[nrecorded++] = (gemm_sig){(int)ta, (int)tb, (int)M, (int)N, (int)K, (int)lda, (int)ldb,
                                               (int)ldc, beta};
        else
            recorded_overflow = 1;
    }
    if (!gemm_counting) {
        __real_cblas_sgemm(o, ta, tb, M, N, K, alpha, A, lda, Bm, ldb, beta, C, ldc);
        return;
    }
    double t0 = now_s();
    __real_cblas_sgemm(o, ta, tb, M, N, K, alpha, A, lda, Bm, ldb, beta, C, ldc);
    gemm_in_step_s += now_s() - t0;
    gemm_in_step_calls++;
}

/* ---- the model ---------------------------------------------------------------- */

static void cnn_spec(advml_model_spec *s)
{
    memset(s, 0, sizeof *s);
    s->input = advml_shape3(1, 28, 28);
    s->loss = ADVML_LOSS_CCE;
    advml_layer_spec *L = s->layers;
    int n = 0;
    L[n] = advml_layer_spec_default(ADVML_LAYER_CONV2D);
    L[n].units = 32, L[n].kernel[0] = L[n].kernel[1] = 3, L[n].padding = ADVML_PAD_SAME, L[n].act = ADVML_ACT_RELU;
    n++;
    L[n] = advml_layer_spec_default(ADVML_LAYER_MAXPOOL2D);
    L[n].kernel[0] = L[n].kernel[1] = 2, L[n].stride[0] = L[n].stride[1] = 2;
    n++;
    L[n] = advml_layer_spec_default(ADVML_LAYER_CONV2D);
    L[n].units = 64, L[n].kernel[0] = L[n].kernel[1] = 3, L[n].padding = ADVML_PAD_SAME, L[n].act = ADVML_ACT_RELU;
    n++;
    L[n] = advml_layer_spec_default(ADVML_LAYER_MAXPOOL2D);
    L[n].kernel[0] = L[n].kernel[1] = 2, L[n].stride[0] = L[n].stride[1] = 2;
    n++;
    L[n++] = advml_layer_spec_default(ADVML_LAYER_FLATTEN);
    L[n] = advml_layer_spec_default(ADVML_LAYER_DENSE);
    L[n].units = 1024, L[n].act = ADVML_ACT_RELU;
    n++;
    L[n] = advml_layer_spec_default(ADVML_LAYER_DROPOUT);
    L[n].rate = 0.5f;
    n++;
    L[n] = advml_layer_spec_default(ADVML_LAYER_DENSE);
    L[n].units = 10, L[n].act = ADVML_ACT_SOFTMAX;
    n++;
    s->nlayers = n;
}

/* ---- the GEMM replay ---------------------------------------------------------- */

typedef struct gemm_call {
    char what[48];          /* "layer 2 conv2d forward" */
    CBLAS_TRANSPOSE ta, tb;
    int M, N, K, lda, ldb, ldc;
    float beta;
    int count;              /* calls per step (per-sample GEMMs: B) */
    const float *A, *Bm;    /* first call's operands */
    float *C;
    size_t sa, sb, sc;      /* pointer stride (floats) between consecutive calls */
    int cycle;              /* operands repeat every cycle calls (0: never) */
    int layer, backward;    /* owning layer; 0 forward, 1 backward call */
    double seconds;         /* accumulated while timing */
} gemm_call;

#define MAX_GEMMS 64
static gemm_call gemms[MAX_GEMMS];
static int ngemms;
static float *gemm_pool[3 * MAX_GEMMS];
static int npool;

static float *pool_alloc(size_t n, advml_rng *rng)
{
    float *p = NULL;
    if (posix_memalign((void **)&p, 64, (n ? n : 1) * sizeof(float)) != 0) {
        fprintf(stderr, "bench_cnn_step: out of memory (%zu floats)\n", n);
        exit(3);
    }
    fill_uniform(p, n, -0.5f, 0.5f, rng);
    gemm_pool[npool++] = p;
    return p;
}

/* Append the call group "layer L what": count calls of C (M, N) = beta C +
 * op(A) @ op(B); per_call_x = 1 when operand x moves to the next sample's
 * matrix on each call (its buffer then holds count matrices). */
static void add_gemm(int layer, const char *what, CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int M, int N, int K,
                     float beta, int count, int per_call_a, int per_call_b, int per_call_c, int cycle,
                     advml_rng *rng)
{
    if (ngemms == MAX_GEMMS) {
        fprintf(stderr, "bench_cnn_step: more than %d GEMM groups\n", MAX_GEMMS);
        exit(1);
    }
    gemm_call *g = &gemms[ngemms++];
    memset(g, 0, sizeof *g);
    snprintf(g->what, sizeof g->what, "layer %d %s", layer, what);
    g->layer = layer;
    g->backward = strstr(what, "forward") == NULL;
    g->ta = ta, g->tb = tb, g->M = M, g->N = N, g->K = K, g->beta = beta, g->count = count;
    g->cycle = cycle;
    int distinct = cycle > 0 && cycle < count ? cycle : count;
    g->lda = ta == CblasNoTrans ? K : M; /* A is (M, K) or, transposed, (K, M) row-major */
    g->ldb = tb == CblasNoTrans ? N : K; /* B is (K, N) or (N, K) */
    g->ldc = N;
    size_t a = (size_t)M * K, b = (size_t)K * N, c = (size_t)M * N;
    g->sa = per_call_a ? a : 0;
    g->sb = per_call_b ? b : 0;
    g->sc = per_call_c ? c : 0;
    g->A = pool_alloc(a + g->sa * (size_t)(distinct - 1), rng);
    g->Bm = pool_alloc(b + g->sb * (size_t)(distinct - 1), rng);
    g->C = pool_alloc(c + g->sc * (size_t)(distinct - 1), rng);
}

/* The calls of one training step of model m at batch B (see the header comment). */
static void build_gemm_list(const advml_model *m, int B, advml_rng *rng)
{
    for (int i = 0; i < m->nlayers; i++) {
        const advml_layer *L = &m->layers[i];
        float fbeta = L->spec.use_bias ? 1.0f : 0.0f;
        if (L->spec.type == ADVML_LAYER_CONV2D && L->conv_algo == ADVML_CONV_WINOGRAD) {
            advml_conv2d_dims d;
            advml_conv2d_layer_dims(L, B, &d);
            int T, nb;
            advml_conv2d_winograd_plan(&d, &T, &nb);
            const int nfull = B / nb, rest = B % nb;
            for (int part = 0; part < 2; part++) { /* the full chunks, then the last partial one */
                const int chunks = part == 0 ? nfull : rest > 0, ld = (part == 0 ? nb : rest) * T;
                if (chunks == 0)
                    continue;
                const int first = part == 0 || nfull == 0; /* holds the chunk with dU's beta 0 */
                add_gemm(i, "conv2d wino forward", CblasNoTrans, CblasTrans, ld, d.OC, d.C, 0.0f, 16 * chunks, 1,
                         1, 1, 16, rng);
                if (first)
                    add_gemm(i, "conv2d wino dU first", CblasTrans, CblasNoTrans, d.OC, d.C, ld, 0.0f, 16, 1, 1, 1,
                             16, rng);
                if (chunks - first > 0)
                    add_gemm(i, "conv2d wino dU", CblasTrans, CblasNoTrans, d.OC, d.C, ld, 1.0f,
                             16 * (chunks - first), 1, 1, 1, 16, rng);
                if (i > 0)
                    add_gemm(i, "conv2d wino dV", CblasNoTrans, CblasNoTrans, ld, d.C, d.OC, 0.0f, 16 * chunks, 1,
                             1, 1, 16, rng);
            }
        } else if (L->spec.type == ADVML_LAYER_CONV2D) {
            int C = L->in_shape.d[0], OC = L->out_shape.d[0];
            int OHW = L->out_shape.d[1] * L->out_shape.d[2];
            int CKK = C * L->spec.kernel[0] * L->spec.kernel[1];
            add_gemm(i, "conv2d forward", CblasNoTrans, CblasNoTrans, OC, OHW, CKK, fbeta, B, 0, 0, 1, 0, rng);
            add_gemm(i, "conv2d dkernel", CblasNoTrans, CblasTrans, OC, CKK, OHW, 1.0f, B, 1, 0, 0, 0, rng);
            if (i > 0) /* the first layer gets no input gradient */
                add_gemm(i, "conv2d dcol", CblasTrans, CblasNoTrans, CKK, OHW, OC, 0.0f, B, 0, 1, 0, 0, rng);
        } else if (L->spec.type == ADVML_LAYER_DENSE) {
            int IN = (int)advml_shape_size(&L->in_shape), OUT = L->out_shape.d[0];
            add_gemm(i, "dense forward", CblasNoTrans, CblasTrans, B, OUT, IN, fbeta, 1, 0, 0, 0, 0, rng);
            add_gemm(i, "dense dweight", CblasTrans, CblasNoTrans, OUT, IN, B, 1.0f, 1, 0, 0, 0, 0, rng);
            if (i > 0)
                add_gemm(i, "dense dinp", CblasNoTrans, CblasNoTrans, B, IN, OUT, 1.0f, 1, 0, 0, 0, 0, rng);
        }
    }
}

/* One step's GEMMs in the order a step makes them: the forward calls layer
 * by layer, then the backward calls from the last layer down; each call
 * group timed when asked. */
static void run_gemms(int timed)
{
    static int order[MAX_GEMMS];
    int n = 0;
    for (int j = 0; j < ngemms; j++)
        if (!gemms[j].backward)
            order[n++] = j;
    for (int l = ADVML_MAX_LAYERS - 1; l >= 0; l--)
        for (int j = 0; j < ngemms; j++)
            if (gemms[j].backward && gemms[j].layer == l)
                order[n++] = j;
    for (int q = 0; q < n; q++) {
        gemm_call *g = &gemms[order[q]];
        double t0 = timed ? now_s() : 0.0;
        for (int c = 0; c < g->count; c++) {
            const size_t k = (size_t)(g->cycle > 0 ? c % g->cycle : c);
            cblas_sgemm(CblasRowMajor, g->ta, g->tb, g->M, g->N, g->K, 1.0f, g->A + k * g->sa, g->lda,
                        g->Bm + k * g->sb, g->ldb, g->beta, g->C + k * g->sc, g->ldc);
        }
        if (timed)
            g->seconds += now_s() - t0;
    }
}

/* 1 when the replay list is exactly the recorded calls of one step (same
 * signatures, same counts); otherwise prints what differs. */
static int check_gemm_list(void)
{
    int ok = !recorded_overflow, total = 0;
    for (int j = 0; j < ngemms; j++) {
        const gemm_call *g = &gemms[j];
        int seen = 0;
        for (int r = 0; r < nrecorded; r++) {
            const gemm_sig *q = &recorded[r];
            seen += q->ta == (int)g->ta && q->tb == (int)g->tb && q->M == g->M && q->N == g->N && q->K == g->K &&
                    q->lda == g->lda && q->ldb == g->ldb && q->ldc == g->ldc && q->beta == g->beta;
        }
        if (seen != g->count) {
            fprintf(stderr, "bench_cnn_step: WARNING: %s: the step made %d such calls, the replay list %d\n",
                    g->what, seen, g->count);
            ok = 0;
        }
        total += g->count;
    }
    if (total != nrecorded) {
        fprintf(stderr, "bench_cnn_step: WARNING: the step made %d cblas_sgemm calls, the replay list has %d: "
                "update build_gemm_list to the layers' kernels\n", nrecorded, total);
        ok = 0;
    }
    return ok;
}

/* Time the GEMMs of one step of m alone (warmup untimed rounds, then steps
 * timed ones) and print them per call group; *gemm_s receives the median
 * wall time of a round, *gemm_cpu_s the mean CPU time. step_s: the median
 * step, for the fraction printed. */
static void replay_gemms(const advml_model *m, int B, int warmup, int steps, uint64_t seed, double step_s,
                         double *gemm_s, double *gemm_cpu_s)
{
    advml_rng grng;
    advml_rng_seed(&grng, seed + 2);
    build_gemm_list(m, B, &grng);
    if (check_gemm_list())
        printf("GEMM list checked: the same %d calls (signatures and counts) as a recorded step\n", nrecorded);
    for (int s = 0; s < (warmup > 0 ? warmup : 1); s++)
        run_gemms(0);
    double *t_gemm = malloc((size_t)steps * sizeof *t_gemm);
    if (!t_gemm) {
        fprintf(stderr, "bench_cnn_step: out of memory\n");
        exit(3);
    }
    double gc0 = cpu_s();
    for (int s = 0; s < steps; s++) {
        double g0 = now_s();
        run_gemms(1);
        t_gemm[s] = now_s() - g0;
    }
    *gemm_cpu_s = (cpu_s() - gc0) / steps;
    *gemm_s = median(t_gemm, steps);
    free(t_gemm);
    double flops = 0.0;
    printf("GEMMs of one step alone: median %.3f ms (CPU time %.3f ms)  ->  GEMM fraction of the step %.3f\n",
           1e3 * *gemm_s, 1e3 * *gemm_cpu_s, *gemm_s / step_s);
    for (int j = 0; j < ngemms; j++) {
        const gemm_call *g = &gemms[j];
        double f = 2.0 * g->M * g->N * g->K * g->count;
        flops += f;
        /* group times are means over the rounds */
        printf("  %-26s %3d x %c%c M=%4d N=%4d K=%4d  %8.3f ms  %6.1f GFLOP/s\n", g->what, g->count,
               g->ta == CblasNoTrans ? 'N' : 'T', g->tb == CblasNoTrans ? 'N' : 'T', g->M, g->N, g->K,
               1e3 * g->seconds / steps, f / (g->seconds / steps) / 1e9);
    }
    printf("  total %.2f GFLOP per step, %.1f GFLOP/s in the GEMMs alone, %.1f GFLOP/s over the step\n",
           flops / 1e9, flops / *gemm_s / 1e9, flops / step_s / 1e9);
    for (int i = 0; i < npool; i++)
        free(gemm_pool[i]);
    npool = 0;
}

/* ---- main ----------------------------------------------------------------------- */

static int parse_int(const char *flag, const char *v, int lo)
{
    char *end = NULL;
    long x = v ? strtol(v, &end, 10) : 0;
    if (!v || *end || x < lo || x > 1000000) {
        fprintf(stderr, "bench_cnn_step: %s needs an integer >= %d, got '%s'\n", flag, lo, v ? v : "");
        exit(2);
    }
    return (int)x;
}

int main(int argc, char **argv)
{
    int warmup = 5, steps = 30, B = 64, replay = 1;
    advml_conv_algo algo = ADVML_CONV_AUTO;
    uint64_t seed = 42;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--warmup")) warmup = parse_int(a, v, 0), i++;
        else if (!strcmp(a, "--steps")) steps = parse_int(a, v, 1), i++;
        else if (!strcmp(a, "--batch")) B = parse_int(a, v, 1), i++;
        else if (!strcmp(a, "--seed")) seed = (uint64_t)parse_int(a, v, 0), i++;
        else if (!strcmp(a, "--no-gemm-replay")) replay = 0; /* steps only (for profiling) */
        else if (!strcmp(a, "--conv-algo") && v && (!strcmp(v, "auto") || !strcmp(v, "im2col")))
            algo = !strcmp(v, "auto") ? ADVML_CONV_AUTO : ADVML_CONV_IM2COL, i++;
        else {
            fprintf(stderr, "usage: bench_cnn_step [--warmup N] [--steps N] [--batch B] [--seed S] "
                            "[--no-gemm-replay] [--conv-algo auto|im2col]\n"
                            "bench_cnn_step: unknown argument '%s'\n", a);
            return 2;
        }
    }
    openblas_set_num_threads(1);

    advml_model_spec spec;
    cnn_spec(&spec);
    for (int i = 0; i < spec.nlayers; i++)
        spec.layers[i].algorithm = algo;
    advml_model m;
    advml_error err;
    advml_error_clear(&err);
    if (advml_model_build(&m, &spec, B, &err) != ADVML_OK) {
        fprintf(stderr, "bench_cnn_step: %s\n", err.msg);
        return advml_exit_code(err.code);
    }
    advml_model_init_params(&m, seed);
    advml_optim_config oc = advml_optim_defaults(ADVML_OPTIM_ADAM);
    oc.lr = 1e-3f;
    advml_optimizer opt;
    if (advml_optim_init(&opt, &oc, m.nparams, &err) != ADVML_OK) {
        fprintf(stderr, "bench_cnn_step: %s\n", err.msg);
        advml_model_free(&m);
        return advml_exit_code(err.code);
    }

    advml_rng rng;
    advml_rng_seed(&rng, seed + 1);
    size_t in_floats = (size_t)B * advml_shape_size(&spec.input);
    float *x = malloc(in_floats * sizeof *x);      // (B, 1, 28, 28)
    float *labels = malloc((size_t)B * sizeof *labels); // (B)
    if (!x || !labels) {
        fprintf(stderr, "bench_cnn_step: out of memory\n");
        return 3;
    }
    fill_uniform(x, in_floats, -0.5f, 2.5f, &rng); /* about the normalised MNIST range */
    int K = (int)advml_shape_size(&m.out_shape);
    for (int b = 0; b < B; b++)
        labels[b] = (float)advml_rng_below(&rng, (uint64_t)K);

    printf("advml training step: course CNN (conv32-pool-conv64-pool-dense1024-dropout-dense10), "
           "batch %d, Adam lr %g, %zu parameters, 1 thread\n", B, (double)oc.lr, m.nparams);
    printf("convolutions:");
    for (int i = 0; i < m.nlayers; i++)
        if (m.layers[i].spec.type == ADVML_LAYER_CONV2D)
            printf(" layer %d %s;", i, m.layers[i].conv_algo == ADVML_CONV_WINOGRAD ? "winograd" : "im2col");
    printf(" (--conv-algo %s)\n", algo == ADVML_CONV_AUTO ? "auto" : "im2col");
    printf("OpenBLAS: %s (core %s), OPENBLAS_CORETYPE=%s\n", openblas_get_config(), openblas_get_corename(),
           getenv("OPENBLAS_CORETYPE") ? getenv("OPENBLAS_CORETYPE") : "(unset)");

    advml_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.B = B;
    ctx.training = 1;
    ctx.seed = seed;
    const float gscale = 1.0f / (float)B;
    double t_phase[4] = {0}; /* forward, loss, backward, optimizer */
    double *t_step = malloc((size_t)steps * sizeof *t_step);
    if (!t_step) {
        fprintf(stderr, "bench_cnn_step: out of memory\n");
        return 3;
    }
    double loss_first = 0.0, loss_last = 0.0;
    long faults0 = 0;
    double t0 = 0.0, c0 = 0.0;
    for (int s = 0; s < warmup + steps; s++) {
        if (s == warmup) {
            memset(t_phase, 0, sizeof t_phase);
            faults0 = minor_faults();
            t0 = now_s();
            c0 = cpu_s();
            gemm_counting = 1;
        }
        ctx.step = (uint64_t)s;
        gemm_recording = (s == 0);
        double a = now_s();
        advml_model_forward(&m, x, &ctx);
        double b = now_s();
        double loss = advml_model_loss(&m, labels, B) / B;
        double c = now_s();
        advml_model_backward(&m, x, labels, &ctx);
        double d = now_s();
        advml_optim_step_clear(&opt, m.params, m.grads, gscale, m.views, m.nviews);
        double e = now_s();
        t_phase[0] += b - a, t_phase[1] += c - b, t_phase[2] += d - c, t_phase[3] += e - d;
        if (s >= warmup)
            t_step[s - warmup] = e - a;
        if (s == 0)
            loss_first = loss;
        loss_last = loss;
    }
    gemm_counting = 0;
    double mean_s = (now_s() - t0) / steps;
    double cpu_step_s = (cpu_s() - c0) / steps;
    long faults = minor_faults() - faults0;
    double step_s = median(t_step, steps);
    double best_s = t_step[0]; /* median() sorted t_step */
    double ips = B / step_s;
    printf("loss (mean over batch, the same batch every step): first step %.4f, last step %.4f\n", loss_first,
           loss_last);
    printf("step: median %.3f ms  ->  %.1f images/s  (mean %.3f ms, best %.3f ms, CPU time %.3f ms; "
           "%d warm-up + %d timed steps)\n", 1e3 * step_s, ips, 1e3 * mean_s, 1e3 * best_s, 1e3 * cpu_step_s,
           warmup, steps);
    const char *phase[4] = {"forward", "loss", "backward", "optimizer (adam)"};
    for (int i = 0; i < 4; i++)
        printf("  %-18s %8.3f ms  %5.1f%% (of the mean step)\n", phase[i], 1e3 * t_phase[i] / steps,
               100.0 * t_phase[i] / steps / mean_s);
    printf("  %-18s %8.3f ms  %5.1f%% (of the mean step; %ld calls per step)\n", "cblas_sgemm inside",
           1e3 * gemm_in_step_s / steps, 100.0 * gemm_in_step_s / steps / mean_s, gemm_in_step_calls / steps);
    printf("page faults during the timed steps: %ld (%.2f per step)\n", faults, (double)faults / steps);

    printf("RESULT images_per_s %.2f\n", ips);
    printf("RESULT step_ms %.4f\n", 1e3 * step_s);
    printf("RESULT step_cpu_ms %.4f\n", 1e3 * cpu_step_s);
    printf("RESULT faults_per_step %.3f\n", (double)faults / steps);
    printf("RESULT optimizer_ms %.4f\n", 1e3 * t_phase[3] / steps);
    printf("RESULT gemm_in_step_ms %.4f\n", 1e3 * gemm_in_step_s / steps);
    printf("RESULT gemm_in_step_fraction %.4f\n", gemm_in_step_s / steps / mean_s);

    /* The GEMM ceiling: the same step's GEMMs alone. */
    if (replay) {
        double gemm_s, gemm_cpu_s;
        replay_gemms(&m, B, warmup, steps, seed, step_s, &gemm_s, &gemm_cpu_s);
        printf("RESULT gemm_ms %.4f\n", 1e3 * gemm_s);
        printf("RESULT gemm_fraction %.4f\n", gemm_s / step_s);
        printf("RESULT gemm_fraction_cpu %.4f\n", gemm_cpu_s / cpu_step_s);
    }

    free(t_step);
    free(x);
    free(labels);
    advml_optim_free(&opt);
    advml_model_free(&m);
    return 0;
}

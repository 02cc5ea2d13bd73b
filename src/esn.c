/* esn.c - the echo state network layer: a fixed random reservoir, its
 * spectral scaling (LAPACK dgeev) and the "esn" layer kind (see
 * include/advml/esn.h and docs/recurrent.md, "Echo state networks").
 *
 * Inside, the states are unit-major, (H, T, N): the input projection of all
 * steps is one GEMM (W_in @ x^T), each step adds W @ h_{t-1} either over W's
 * non-zeros (a sparse reservoir: each non-zero w_ik one contiguous axpy over
 * the batch) or as one GEMM (a dense one), and the backward's input gradient
 * is one GEMM over all steps. The reservoir is three buffer views: the optimizer never moves them
 * and the backward writes no gradient for them, so its only work is the
 * input gradient, and it does nothing when the layer is the model's first
 * (the usual case: the backward then costs nothing). */
#include "advml/esn.h"
#include "advml/rnn.h"
#include "lapack.h"

#include <cblas.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- the spectral radius ------------------------------------------------------ */

advml_status advml_esn_spectral_radius(const float *w, int n, double *rho, advml_error *err)
{
    *rho = 0.0;
    if (n <= 0)
        return advml_error_set(err, ADVML_ERR_ARG, "esn: spectral radius of a %d x %d matrix", n, n);
    const size_t nn = (size_t)n * n;
    int lwork = -1, info = 0, one = 1;
    double q = 0.0, dummy = 0.0;
    /* workspace query (JOBVL = JOBVR = 'N': eigenvalues only) */
    dgeev_("N", "N", &n, &dummy, &n, &dummy, &dummy, &dummy, &one, &dummy, &one, &q, &lwork, &info, 1, 1);
    lwork = info == 0 && q >= 3.0 * n ? (int)q : 4 * n;
    double *a = malloc((nn + 2 * (size_t)n + (size_t)lwork) * sizeof *a);
    if (!a)
        return advml_error_set(err, ADVML_ERR_NOMEM,
                               "esn: out of memory for the eigenvalues of a %d x %d reservoir (%.1f MB)", n, n,
                               (double)(nn + 2 * (size_t)n + (size_t)lwork) * 8e-6);
    double *wr = a + nn, *wi = wr + n, *work = wi + n; /* a (n, n) column-major, wr (n), wi (n), work (lwork) */
    for (int i = 0; i < n; i++) /* w row-major -> column-major: w^T has the same eigenvalues, but be exact */
        for (int j = 0; j < n; j++)
            a[(size_t)j * n + i] = w[(size_t)i * n + j];
    dgeev_("N", "N", &n, a, &n, wr, wi, &dummy, &one, &dummy, &one, work, &lwork, &info, 1, 1);
    double r = 0.0;
    if (info == 0)
        for (int i = 0; i < n; i++) {
            double m = hypot(wr[i], wi[i]);
            r = m > r ? m : r;
        }
    free(a);
    if (info != 0)
        return advml_error_set(err, ADVML_ERR_NUMERIC, "esn: LAPACK dgeev failed (info %d) on a %d x %d reservoir",
                               info, n, n);
    *rho = r;
    return ADVML_OK;
}

/* Non-zeros up to which W goes by its sparse rows: beyond H^2 / 4 the GEMM
 * does the product faster, zeros and all (docs/recurrent.md). */
static size_t csr_cap(int H) { return (size_t)H * H / 4; }

/* Floats of scratch the sparse rows take: ptr (H + 1) and col (cap) ints,
 * val (cap) floats. */
static size_t csr_floats(int H) { return (size_t)H + 1 + 2 * csr_cap(H); }

double advml_esn_bytes(int H, int F, int T, int max_batch)
{
    const double w = (double)H * H + (double)H * F + H; /* floats of the reservoir */
    return 4.0 * 4.0 * w                                /* params, grads, two optimizer moments */
           + 8.0 * ((double)H * H + 8.0 * H)             /* dgeev's double copy and workspace */
           + 4.0 * 2.0 * T * (double)H * max_batch      /* the state: h_t and s_t */
           + 4.0 * (double)csr_floats(H);                /* W's sparse rows in the scratch */
}

/* ---- the layer's sizes ---------------------------------------------------------- */

typedef struct esn_dims {
    int N, T, F, H;
    int D;       /* values per output step: H, or H + F with concat_input */
    int t0;      /* the first output step: washout (return_sequences) or T - 1 */
    float a;     /* leak rate */
    int has_b;   /* a bias view */
    int sq;      /* square_states: the even units' h_j^2 in the output */
} esn_dims;

static esn_dims dims_of(const advml_layer *L, int B)
{
    esn_dims d;
    d.N = B;
    d.T = L->in_shape.d[0];
    d.F = L->in_shape.d[1];
    d.H = L->spec.units;
    d.D = d.H + (L->spec.concat_input ? d.F : 0);
    d.t0 = L->spec.return_sequences ? L->spec.washout : d.T - 1;
    d.a = L->spec.leak_rate;
    d.has_b = L->spec.bias_scaling > 0.0f;
    d.sq = L->spec.square_states;
    return d;
}

/* Physical memory of this machine in bytes; 0 when unknown. */
static double phys_bytes(void)
{
    long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);
    return pages > 0 && size > 0 ? (double)pages * (double)size : 0.0;
}

static advml_status esn_setup(advml_layer *L, advml_shape in_shape, int max_batch, advml_error *err)
{
    const advml_layer_spec *s = &L->spec;
    const int li = L->index;
    char buf[64];
    if (in_shape.rank != 2 || in_shape.d[0] <= 0 || in_shape.d[1] <= 0)
        return advml_error_set(err, ADVML_ERR_SHAPE,
                               "layer %d (esn): input must be a sequence (T, F) of time steps and features per "
                               "step, got per-sample shape %s",
                               li, advml_shape_str(&in_shape, buf, sizeof buf));
    const int T = in_shape.d[0], F = in_shape.d[1], H = s->units;
    if (H <= 0)
        return advml_error_set(err, ADVML_ERR_SHAPE, "layer %d (esn): units must be > 0, got %d", li, H);
    if (s->in_channels > 0 && s->in_channels != F)
        return advml_error_set(err, ADVML_ERR_SHAPE,
                               "layer %d (esn): declared %d input features per step, but the input (T, F) = "
                               "(%d, %d) has %d",
                               li, s->in_channels, T, F, F);
    /* the ranges again, for specs built in code (a config has passed them already) */
    if (!(s->spectral_radius > 0.0f) || !isfinite(s->spectral_radius))
        return advml_error_set(err, ADVML_ERR_CONFIG,
                               "layer %d (esn): spectral_radius must be a finite number > 0, got %g", li,
                               (double)s->spectral_radius);
    if (!(s->sparsity >= 0.0f && s->sparsity < 1.0f))
        return advml_error_set(err, ADVML_ERR_CONFIG,
                               "layer %d (esn): sparsity (the fraction of zero reservoir weights) must be in "
                               "[0, 1), got %g",
                               li, (double)s->sparsity);
    if (!(s->leak_rate > 0.0f && s->leak_rate <= 1.0f))
        return advml_error_set(err, ADVML_ERR_CONFIG, "layer %d (esn): leak_rate must be in (0, 1], got %g", li,
                               (double)s->leak_rate);
    if (!(s->input_scaling >= 0.0f) || !isfinite(s->input_scaling) || !(s->bias_scaling >= 0.0f) ||
        !isfinite(s->bias_scaling))
        return advml_error_set(err, ADVML_ERR_CONFIG,
                               "layer %d (esn): input_scaling %g and bias_scaling %g must be finite and >= 0", li,
                               (double)s->input_scaling, (double)s->bias_scaling);
    if (s->inputs_per_unit < 0 || s->inputs_per_unit > F)
        return advml_error_set(err, ADVML_ERR_CONFIG,
                               "layer %d (esn): inputs_per_unit %d: each unit can read at most the input's %d "
                               "features (0: all of them)",
                               li, s->inputs_per_unit, F);
    if (s->washout < 0 || (s->washout > 0 && !s->return_sequences))
        return advml_error_set(err, ADVML_ERR_CONFIG,
                               "layer %d (esn): washout %d needs return_sequences: true (without it the layer "
                               "outputs only the last step, and the whole window before it is the washout)",
                               li, s->washout);
    if (s->washout >= T)
        return advml_error_set(err, ADVML_ERR_SHAPE,
                               "layer %d (esn): washout %d leaves no step of the input's %d time steps", li,
                               s->washout, T);
    if ((double)H * H * (1.0 - s->sparsity) < 1.0)
        return advml_error_set(err, ADVML_ERR_CONFIG,
                               "layer %d (esn): sparsity %g leaves fewer than one non-zero weight expected in the "
                               "%d x %d reservoir; lower it or raise units",
                               li, (double)s->sparsity, H, H);
    if (max_batch <= 0)
        return advml_error_set(err, ADVML_ERR_ARG, "layer %d (esn): max_batch must be > 0, got %d", li, max_batch);
    const double need = advml_esn_bytes(H, F, T, max_batch), have = phys_bytes();
    if ((double)H * H > (double)INT_MAX || (double)T * max_batch * ((double)H + F) > (double)INT_MAX ||
        (have > 0 && need > have))
        return advml_error_set(err, ADVML_ERR_SHAPE,
                               "layer %d (esn): a reservoir of %d units over windows of %d steps at batch %d "
                               "needs about %.3g GB (its weights as parameters, gradients and optimizer state, "
                               "the eigenvalue solve, the states)%s; this machine has %.3g GB: lower units",
                               li, H, T, max_batch, need / 1e9,
                               (double)H * H > (double)INT_MAX ? " and more than 2^31 weights in W" : "",
                               have / 1e9);

    L->nviews = 0;
    L->nparams = 0;
    advml_layer_add_view(L, "W_in", 0, 2, (const int[]){H, F}); /* (H, F) */
    advml_layer_add_view(L, "W", 0, 2, (const int[]){H, H});    /* (H, H) */
    if (s->bias_scaling > 0.0f)
        advml_layer_add_view(L, "b", 0, 1, &H);                  /* (H) */
    for (int v = 0; v < L->nviews; v++)
        L->views[v].buffer = 1; /* fixed: never trained, no gradient, saved in checkpoints */
    L->in_shape = in_shape;
    const int D = H + (s->concat_input ? F : 0);
    L->out_shape = s->return_sequences ? advml_shape2(T - s->washout, D) : advml_shape1(D);
    L->state_per_sample = 2 * (size_t)T * H * sizeof(float); /* hs, ss: (T, H) each */
    const size_t TN = (size_t)T * max_batch;
    const size_t fwd = TN * F, bwd = TN * H + (size_t)max_batch * H + TN * F;
    L->scratch_floats = csr_floats(H) + (fwd > bwd ? fwd : bwd); /* W's sparse rows, then the pass's */
    return ADVML_OK;
}

/* ---- the reservoir ---------------------------------------------------------------- */

static void fill_sym(float *w, size_t n, double scale, advml_rng *rng)
{
    for (size_t i = 0; i < n; i++) /* U(-scale, scale) */
        w[i] = (float)(scale * (2.0 * advml_rng_uniform(rng) - 1.0));
}

/* W (H, H): entries non-zero with probability 1 - sparsity, U(-1, 1), scaled
 * to the spectral radius. A draw whose radius is 0 (every entry masked, or a
 * nilpotent pattern: possible only for tiny, very sparse reservoirs) is drawn
 * again. When no radius can be had (out of memory, dgeev failing every time)
 * W is left NaN, so that the first loss is non-finite and training stops
 * with a message instead of running an unscaled reservoir. */
static void draw_reservoir(float *W, int H, const advml_layer_spec *s, advml_rng *rng)
{
    const size_t HH = (size_t)H * H;
    for (int attempt = 0; attempt < 1000; attempt++) {
        for (size_t k = 0; k < HH; k++) {
            const double keep = advml_rng_uniform(rng), v = 2.0 * advml_rng_uniform(rng) - 1.0;
            W[k] = keep >= s->sparsity ? (float)v : 0.0f;
        }
        double rho = 0.0;
        advml_error e;
        if (advml_esn_spectral_radius(W, H, &rho, &e) == ADVML_OK && rho > 1e-12 && isfinite(rho)) {
            const double scale = (double)s->spectral_radius / rho;
            for (size_t k = 0; k < HH; k++)
                W[k] = (float)(W[k] * scale);
            return;
        }
    }
    for (size_t k = 0; k < HH; k++)
        W[k] = NAN;
}

/* W_in (H, F) with k non-zeros per row, U(+-scale): unit i reads features
 * (i F / H + j F / k) mod F, j = 0 .. k-1, so the units are shared out evenly
 * over the features in blocks (k = 1: Pathak et al. 2018's local input, each
 * unit driven by one component of the state). */
static void fill_inputs(float *Win, int H, int F, int k, double scale, advml_rng *rng)
{
    memset(Win, 0, (size_t)H * F * sizeof *Win);
    for (int i = 0; i < H; i++) {
        const int base = (int)((int64_t)i * F / H);
        for (int j = 0; j < k; j++)
            Win[(size_t)i * F + (base + j * (F / k)) % F] = (float)(scale * (2.0 * advml_rng_uniform(rng) - 1.0));
    }
}

static void esn_init(advml_layer *L, float *params, advml_rng *model_rng)
{
    const advml_layer_spec *s = &L->spec;
    const int H = s->units, F = L->in_shape.d[1];
    advml_rng own, *rng = model_rng;
    if (s->reservoir_seed > 0) { /* the layer's "seed": the reservoir alone, whatever training.seed is */
        advml_rng_seed(&own, (uint64_t)s->reservoir_seed);
        rng = &own;
    }
    if (s->inputs_per_unit > 0 && s->inputs_per_unit < F)
        fill_inputs(params + L->views[0].offset, H, F, s->inputs_per_unit, s->input_scaling, rng); /* W_in */
    else
        fill_sym(params + L->views[0].offset, (size_t)H * F, s->input_scaling, rng); /* W_in, dense */
    draw_reservoir(params + L->views[1].offset, H, s, rng);                      /* W */
    if (L->nviews > 2)
        fill_sym(params + L->views[2].offset, (size_t)H, s->bias_scaling, rng); /* b */
}

/* ---- the reservoir product: sparse rows or one GEMM ------------------------------------ */

/* Inside a pass the states are unit-major: h and s are (H, T, N), so that the
 * N samples of unit i at step t are contiguous and a reservoir weight w_ik
 * acts on a whole row at once (s_t[i, :] += w_ik h_{t-1}[k, :]). */

typedef struct esn_csr {
    const int *ptr, *col; /* (H + 1), (nnz): row i's non-zeros are ptr[i] .. ptr[i + 1] - 1 */
    const float *val;     /* (nnz) */
} esn_csr;

/* W (H, H) as compressed sparse rows in scratch's first csr_floats(H)
 * floats, built each pass (H^2 reads, against N H^2 T for the product). 0
 * when W has more than csr_cap(H) non-zeros: the caller then uses the GEMM. */
static int csr_build(esn_csr *c, const float *W, int H, float *scratch)
{
    const size_t cap = csr_cap(H);
    int *ptr = (int *)scratch, *col = ptr + H + 1;
    float *val = (float *)(col + cap);
    size_t nnz = 0;
    for (int i = 0; i < H; i++) {
        ptr[i] = (int)nnz;
        const float *r = W + (size_t)i * H;
        for (int k = 0; k < H; k++)
            if (r[k] != 0.0f) {
                if (nnz == cap)
                    return 0;
                col[nnz] = k;
                val[nnz++] = r[k];
            }
    }
    ptr[H] = (int)nnz;
    c->ptr = ptr;
    c->col = col;
    c->val = val;
    return 1;
}

static void axpy(float *restrict y, float w, const float *restrict x, int n)
{
    for (int i = 0; i < n; i++)
        y[i] += w * x[i];
}

/* One unit's row of step t: s = tanh(s + b), h = (1 - a) h_prev + a s (h_prev
 * NULL: zero), over the n samples (separate rows, so that it vectorises). */
static void activate(float *restrict s, float *restrict h, const float *restrict hp, float b, float a, float keep,
                     int n)
{
    for (int i = 0; i < n; i++)
        s[i] = advml_rnn_tanhf(s[i] + b);
    if (hp)
        for (int i = 0; i < n; i++)
            h[i] = keep * hp[i] + a * s[i];
    else
        for (int i = 0; i < n; i++)
            h[i] = a * s[i];
}

/* ---- forward and backward ---------------------------------------------------------- */

static void esn_forward(advml_layer *L, float *z, const float *in, const float *params, const advml_ctx *ctx)
{
    const esn_dims d = dims_of(L, ctx->B);
    const int N = d.N, T = d.T, F = d.F, H = d.H;
    if (N <= 0)
        return;
    const size_t TN = (size_t)T * N;
    const float *Win = params + L->views[0].offset, *W = params + L->views[1].offset;
    const float *b = d.has_b ? params + L->views[2].offset : NULL;
    const float a = d.a, keep = 1.0f - d.a;
    float *hs = L->state;                 /* (H, T, N) h_t */
    float *ss = hs + TN * H;              /* (H, T, N) W_in x_t, then s_t = tanh(W_in x_t + W h_{t-1} + b) */
    float *xt = ctx->scratch + csr_floats(H); /* (T, N, F) x time-major */
    esn_csr c = {0};
    const int sparse = csr_build(&c, W, H, ctx->scratch);
    advml_rnn_to_time_major(xt, in, N, T, F);
    /* ss (H, T*N) = W_in (H, F) @ x^T (F, T*N): the input drive of every step at once */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, H, (int)TN, F, 1.0f, Win, F, xt, F, 0.0f, ss, (int)TN);
    for (int t = 0; t < T; t++) {
        const size_t o = (size_t)t * N; /* step t's columns in each unit's row */
        if (t > 0 && sparse)            /* s_t[i, :] += w_ik h_{t-1}[k, :] over W's non-zeros */
            for (int i = 0; i < H; i++)
                for (int p = c.ptr[i]; p < c.ptr[i + 1]; p++)
                    axpy(ss + (size_t)i * TN + o, c.val[p], hs + (size_t)c.col[p] * TN + o - N, N);
        else if (t > 0) /* s_t (H, N) += W (H, H) @ h_{t-1} (H, N) */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, H, N, H, 1.0f, W, H, hs + o - N, (int)TN, 1.0f,
                        ss + o, (int)TN);
        for (int i = 0; i < H; i++) {
            float *hr = hs + (size_t)i * TN + o;
            activate(ss + (size_t)i * TN + o, hr, t ? hr - N : NULL, b ? b[i] : 0.0f, a, keep, N);
        }
    }
    /* z (N, T - t0, D) or (N, D): [h_t, x_t] for t = t0 .. T-1 */
    const int steps = T - d.t0;
    for (int n = 0; n < N; n++)
        for (int t = d.t0; t < T; t++) {
            float *o = z + ((size_t)n * steps + (t - d.t0)) * d.D;
            const float *h = hs + (size_t)t * N + n;
            for (int j = 0; j < H; j++) { /* square_states: h_j^2 for the even units (Pathak's readout) */
                const float v = h[(size_t)j * TN];
                o[j] = d.sq && !(j & 1) ? v * v : v;
            }
            if (d.D > H)
                memcpy(o + H, in + ((size_t)n * T + t) * F, (size_t)F * sizeof *o);
        }
}

static void esn_backward(advml_layer *L, float *dinp, float *dparams, const float *dz, const float *in,
                         const float *params, const advml_ctx *ctx)
{
    (void)dparams; /* the reservoir has no gradient */
    (void)in;
    const esn_dims d = dims_of(L, ctx->B);
    const int N = d.N, T = d.T, F = d.F, H = d.H;
    if (N <= 0 || !dinp) /* first layer: nothing to propagate, nothing to learn */
        return;
    const size_t NH = (size_t)N * H, TN = (size_t)T * N;
    const float *Win = params + L->views[0].offset, *W = params + L->views[1].offset;
    const float *hs = L->state;                          /* (H, T, N) h_t */
    const float *ss = hs + TN * H;                       /* (H, T, N) s_t */
    const float a = d.a, keep = 1.0f - d.a;
    float *dp = ctx->scratch + csr_floats(H); /* (H, T, N) dL/d(pre-activation of step t) */
    float *dh = dp + TN * H;                  /* (H, N) dL/dh_t, running backwards */
    float *dxt = dh + NH;                     /* (T, N, F) dL/dx time-major */
    esn_csr c = {0};
    const int sparse = csr_build(&c, W, H, ctx->scratch);
    const int steps = T - d.t0;
    memset(dh, 0, NH * sizeof *dh);
    for (int t = T - 1; t >= 0; t--) {
        const size_t o = (size_t)t * N;
        if (t >= d.t0) /* the output's gradient at step t: dh_t += dz[:, t, :H]; dx_t += dz[:, t, H:] */
            for (int n = 0; n < N; n++) {
                const float *g = dz + ((size_t)n * steps + (t - d.t0)) * d.D;
                const float *h = hs + o + n; /* h_t of sample n: unit j at h[j * TN] */
                for (int j = 0; j < H; j++) /* square_states: d(h_j^2)/dh_j = 2 h_j for the even units */
                    dh[(size_t)j * N + n] += d.sq && !(j & 1) ? 2.0f * h[(size_t)j * TN] * g[j] : g[j];
                if (d.D > H) {
                    float *dx = dinp + ((size_t)n * T + t) * F;
                    for (int f = 0; f < F; f++)
                        dx[f] += g[H + f];
                }
            }
        for (int i = 0; i < H; i++) {
            const float *s = ss + (size_t)i * TN + o;
            float *dpt = dp + (size_t)i * TN + o, *dhr = dh + (size_t)i * N;
            for (int n = 0; n < N; n++) {
                dpt[n] = dhr[n] * a * (1.0f - s[n] * s[n]); /* dp_t = dh_t a (1 - s_t^2) */
                dhr[n] *= keep;                             /* dh_{t-1} = (1 - a) dh_t + ... */
            }
        }
        if (t > 0 && sparse) /* ... + W^T dp_t: dh[k, :] += w_ik dp_t[i, :] */
            for (int i = 0; i < H; i++)
                for (int p = c.ptr[i]; p < c.ptr[i + 1]; p++)
                    axpy(dh + (size_t)c.col[p] * N, c.val[p], dp + (size_t)i * TN + o, N);
        else if (t > 0) /* ... + W^T (H, H) @ dp_t (H, N) */
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, H, N, H, 1.0f, W, H, dp + o, (int)TN, 1.0f, dh, N);
    }
    /* dx (T*N, F) = dp^T (T*N, H) @ W_in (H, F), added batch-major */
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)TN, F, H, 1.0f, dp, (int)TN, Win, F, 0.0f, dxt, F);
    advml_rnn_add_from_time_major(dinp, dxt, N, T, F);
}

/* ---- the kind ------------------------------------------------------------------------- */

static const advml_layer_key esn_keys[] = {
    ADVML_KEY_ROW_UNITS("units", "reservoir_size", "n_reservoir", "hidden_size"),
    ADVML_KEY_ROW_RETURN_SEQUENCES,
    {.name = "spectral_radius", .type = ADVML_KEY_FLOAT, .offset = offsetof(advml_layer_spec, spectral_radius),
     .flags = ADVML_KEY_LO_OPEN, .dflt = 0.9, .lo = 0, .hi = INFINITY, .aliases = ADVML_NAMES("rho", "radius")},
    {.name = "sparsity", .type = ADVML_KEY_FLOAT, .offset = offsetof(advml_layer_spec, sparsity),
     .flags = ADVML_KEY_HI_OPEN, .dflt = 0.9, .lo = 0, .hi = 1},
    {.name = "input_scaling", .type = ADVML_KEY_FLOAT, .offset = offsetof(advml_layer_spec, input_scaling),
     .dflt = 1.0, .lo = 0, .hi = INFINITY, .aliases = ADVML_NAMES("sigma", "input_scale")},
    {.name = "inputs_per_unit", .type = ADVML_KEY_POSINT, .offset = offsetof(advml_layer_spec, inputs_per_unit),
     .flags = ADVML_KEY_OMIT_DEFAULT, .dflt = 0, .aliases = ADVML_NAMES("input_fanin")},
    {.name = "bias_scaling", .type = ADVML_KEY_FLOAT, .offset = offsetof(advml_layer_spec, bias_scaling),
     .dflt = 0.0, .lo = 0, .hi = INFINITY, .aliases = ADVML_NAMES("bias_scale")},
    {.name = "leak_rate", .type = ADVML_KEY_FLOAT, .offset = offsetof(advml_layer_spec, leak_rate),
     .flags = ADVML_KEY_LO_OPEN, .dflt = 1.0, .lo = 0, .hi = 1, .aliases = ADVML_NAMES("leaking_rate", "leak")},
    {.name = "washout", .type = ADVML_KEY_POSINT, .offset = offsetof(advml_layer_spec, washout),
     .flags = ADVML_KEY_OMIT_DEFAULT, .dflt = 0, .aliases = ADVML_NAMES("warmup", "transient")},
    {.name = "seed", .type = ADVML_KEY_POSINT, .offset = offsetof(advml_layer_spec, reservoir_seed),
     .flags = ADVML_KEY_OMIT_DEFAULT, .dflt = 0, .aliases = ADVML_NAMES("random_state")},
    {.name = "concat_input", .type = ADVML_KEY_BOOL, .offset = offsetof(advml_layer_spec, concat_input),
     .dflt = 0, .aliases = ADVML_NAMES("include_input")},
    {.name = "square_states", .type = ADVML_KEY_BOOL, .offset = offsetof(advml_layer_spec, square_states),
     .flags = ADVML_KEY_OMIT_DEFAULT, .dflt = 0, .aliases = ADVML_NAMES("squared_states")},
    ADVML_KEY_ROW_IN("in_features"),
    {.name = NULL}};

static void esn_defaults(advml_layer_spec *s)
{
    s->act = ADVML_ACT_TANH; /* the reservoir's (fixed); its views are buffers: nothing to train */
}

const advml_layer_kind advml_esn_kind = {
    .name = "esn",
    .class_name = "EchoState",
    .post_act = 0,
    .setup = esn_setup,
    .init = esn_init,
    .forward = esn_forward,
    .backward = esn_backward,
    .keys = esn_keys,
    .defaults = esn_defaults,
    .aliases = ADVML_NAMES("ESN", "reservoir", "echo_state"),
};

/* batchnorm.c - batch normalisation over the global batch and the "batchnorm"
 * layer kind (see include/advml/batchnorm.h and layer.h). */
#include "advml/batchnorm.h"
#include "advml/layer.h"

#include <math.h>
#include <string.h>

/* ---- the "batchnorm" layer kind ------------------------------------------------
 * Parameters: "gamma" (C) and "beta" (C) when affine, then the buffers
 * "running_mean" (C) and "running_var" (C). The state holds the per-layer
 * tail: the sums the reduce hook adds, one part's sums (with ctx->nparts,
 * reproducible mode), then the batch's mean and 1/sqrt(var + eps) per
 * channel; the backward recomputes xhat from its input with them (a pass less
 * over the activations than keeping xhat). */

typedef struct bn_dims {
    int C;    /* channels (features) */
    size_t S; /* positions per channel: H W, or 1 */
} bn_dims;

static bn_dims dims_of(const advml_layer *L)
{
    bn_dims d;
    d.C = L->in_shape.d[0];
    d.S = L->in_shape.rank == 3 ? (size_t)L->in_shape.d[1] * L->in_shape.d[2] : 1;
    return d;
}

/* Bytes of the tail: 2 (2C + 1) doubles, then 2C floats, rounded to 64. */
static size_t tail_bytes(int C)
{
    size_t b = (size_t)(4 * C + 2) * sizeof(double) + (size_t)(2 * C) * sizeof(float);
    return (b + 63) / 64 * 64;
}

static double *tail_sums(const advml_layer *L) { return (double *)L->state; }                 /* (2C + 1) */
static double *tail_part(const advml_layer *L, int C) { return tail_sums(L) + 2 * C + 1; }   /* (2C + 1) */
static float *tail_mean(const advml_layer *L, int C) { return (float *)(tail_part(L, C) + 2 * C + 1); } /* (C) */
static float *tail_inv(const advml_layer *L, int C) { return tail_mean(L, C) + C; }          /* (C) */

/* The sums are taken in float lanes and added into the double sums (2C + 1)
 * per row (a sample's channel: H W values) or per group of up to GROUP
 * samples (features, S = 1):
 *
 * - LANES independent float accumulators per quantity, which the compiler
 *   vectorises without reassociation flags; a lane adds at most GROUP values
 *   before the lanes go into doubles, so the float sums stay short;
 * - shifted: the forward sums d = x - k and d^2 with k the row's (the
 *   group's) first value, then adds sum x = sum d + n k and
 *   sum x^2 = sum d^2 + k (2 sum d + n k) in double. The float sums hold
 *   deviations, not x^2 (whose float sum would lose var_c when the mean is
 *   large against the spread: 1e4 + noise), and the total stays the plain
 *   sum x, sum x^2 that the reduce hook adds; a row's terms depend on that
 *   row alone, so a part's sums are a function of its samples;
 * - the backward sums dz and dz (x - mean) (then times 1/sigma in double),
 *   whose terms are already centred. */
/* 32 lanes: GCC 12 at -O3 vectorises them cleanly (8 and 16 float lanes came
 * out slower than the double lanes before them); CBLOCK: channels per block
 * where per-channel values sit on the stack (features, the input gradient). */
enum { LANES = 32, GROUP = 64, CBLOCK = 64 };

/* a[0] = sum a, q[0] = sum q over the lanes, pairwise (vectorised; a row's
 * lanes added one by one into a double would cost more than a short row). */
static void fold_lanes(float *restrict a, float *restrict q)
{
    for (int w = LANES / 2; w > 0; w /= 2)
        for (int l = 0; l < w; l++) {
            a[l] += a[l + w];
            q[l] += q[l + w];
        }
}

/* t1 = sum (x - k), t2 = sum (x - k)^2 over a row of n values. */
static void shifted_row(const float *restrict x, size_t n, float k, double *t1, double *t2)
{
    double s1 = 0.0, s2 = 0.0;
    size_t i = 0;
    while (i < n) {
        const size_t end = n - i > (size_t)GROUP * LANES ? i + (size_t)GROUP * LANES : n;
        float a[LANES] = {0}, q[LANES] = {0};
        for (; i + LANES <= end; i += LANES)
            for (int l = 0; l < LANES; l++) {
                const float d = x[i + l] - k;
                a[l] += d;
                q[l] += d * d;
            }
        for (; i < end; i++) {
            const float d = x[i] - k;
            a[0] += d;
            q[0] += d * d;
        }
        fold_lanes(a, q);
        s1 += a[0];
        s2 += q[0];
    }
    *t1 = s1;
    *t2 = s2;
}

/* t1 = sum dz, t2 = sum dz (x - m) over a row of n values. */
static void dot_row(const float *restrict dz, const float *restrict x, float m, size_t n, double *t1, double *t2)
{
    double s1 = 0.0, s2 = 0.0;
    size_t i = 0;
    while (i < n) {
        const size_t end = n - i > (size_t)GROUP * LANES ? i + (size_t)GROUP * LANES : n;
        float a[LANES] = {0}, q[LANES] = {0};
        for (; i + LANES <= end; i += LANES)
            for (int l = 0; l < LANES; l++) {
                a[l] += dz[i + l];
                q[l] += dz[i + l] * (x[i + l] - m);
            }
        for (; i < end; i++) {
            a[0] += dz[i];
            q[0] += dz[i] * (x[i] - m);
        }
        fold_lanes(a, q);
        s1 += a[0];
        s2 += q[0];
    }
    *t1 = s1;
    *t2 = s2;
}

/* sum x += sum d + n k, sum x^2 += sum d^2 + k (2 sum d + n k), for n values x = k + d. */
static void add_shifted(double *sx, double *sxx, double t1, double t2, double n, double k)
{
    *sx += t1 + n * k;
    *sxx += t2 + k * (2.0 * t1 + n * k);
}

/* sums (2C + 1) = (sum x (C), sum x^2 (C), count) over samples [b0, b1) of
 * in (B, C, S), from zero. */
static void x_sums(const float *in, int b0, int b1, int C, size_t S, double *sums)
{
    const size_t size = (size_t)C * S;
    memset(sums, 0, (size_t)(2 * C + 1) * sizeof *sums);
    if (S == 1) { /* features: groups of samples, each over a block of channels (contiguous) */
        for (int c0 = 0; c0 < C; c0 += CBLOCK) {
            const int nc = C - c0 < CBLOCK ? C - c0 : CBLOCK;
            for (int g0 = b0; g0 < b1; g0 += GROUP) {
                const int g1 = b1 - g0 < GROUP ? b1 : g0 + GROUP;
                float k[CBLOCK], a[CBLOCK] = {0}, q[CBLOCK] = {0};
                memcpy(k, in + (size_t)g0 * size + c0, (size_t)nc * sizeof *k);
                for (int b = g0; b < g1; b++) {
                    const float *restrict x = in + (size_t)b * size + c0; /* (nc) */
                    for (int c = 0; c < nc; c++) {
                        const float d = x[c] - k[c];
                        a[c] += d;
                        q[c] += d * d;
                    }
                }
                for (int c = 0; c < nc; c++)
                    add_shifted(&sums[c0 + c], &sums[C + c0 + c], a[c], q[c], g1 - g0, k[c]);
            }
        }
    } else {
        for (int b = b0; b < b1; b++)
            for (int c = 0; c < C; c++) {
                const float *x = in + (size_t)b * size + (size_t)c * S; /* (S) */
                double t1, t2;
                shifted_row(x, S, x[0], &t1, &t2);
                add_shifted(&sums[c], &sums[C + c], t1, t2, (double)S, x[0]);
            }
    }
    sums[2 * C] = (double)(b1 - b0) * (double)S;
}

/* sums (2C + 1) = (sum dz (C), sum dz xhat (C), count) over samples [b0, b1),
 * from zero, xhat = (x - mean) inv. */
static void dz_sums(const float *dz, const float *in, const float *mean, const float *inv, int b0, int b1, int C,
                    size_t S, double *sums)
{
    const size_t size = (size_t)C * S;
    memset(sums, 0, (size_t)(2 * C + 1) * sizeof *sums);
    if (S == 1) {
        for (int c0 = 0; c0 < C; c0 += CBLOCK) {
            const int nc = C - c0 < CBLOCK ? C - c0 : CBLOCK;
            for (int g0 = b0; g0 < b1; g0 += GROUP) {
                const int g1 = b1 - g0 < GROUP ? b1 : g0 + GROUP;
                float a[CBLOCK] = {0}, q[CBLOCK] = {0};
                for (int b = g0; b < g1; b++) {
                    const size_t o = (size_t)b * size + c0;
                    for (int c = 0; c < nc; c++) {
                        a[c] += dz[o + c];
                        q[c] += dz[o + c] * (in[o + c] - mean[c0 + c]);
                    }
                }
                for (int c = 0; c < nc; c++) {
                    sums[c0 + c] += a[c];
                    sums[C + c0 + c] += (double)q[c] * inv[c0 + c];
                }
            }
        }
    } else {
        for (int b = b0; b < b1; b++) {
            const size_t o = (size_t)b * size;
            for (int c = 0; c < C; c++) {
                double t1, t2;
                dot_row(dz + o + (size_t)c * S, in + o + (size_t)c * S, mean[c], S, &t1, &t2);
                sums[c] += t1;
                sums[C + c] += t2 * inv[c];
            }
        }
    }
    sums[2 * C] = (double)(b1 - b0) * (double)S;
}

/* z = (x - mean_c) scale_c + shift_c over in (B, C, S): scale_c = gamma_c
 * inv_c (gamma NULL: 1), inv_c = inv[c], or with inv NULL
 * 1/sqrt(var[c] + eps); shift_c = beta_c (NULL: 0). */
static float inv_of(const float *inv, const float *var, float eps, int c)
{
    return inv ? inv[c] : 1.0f / sqrtf(var[c] + eps);
}

static void normalise(float *z, const float *in, int B, int C, size_t S, const float *mean, const float *inv,
                      const float *var, float eps, const float *gamma, const float *beta)
{
    const size_t size = (size_t)C * S;
    if (S == 1) {
        for (int c0 = 0; c0 < C; c0 += CBLOCK) {
            const int nc = C - c0 < CBLOCK ? C - c0 : CBLOCK;
            float sc[CBLOCK], sh[CBLOCK];
            for (int c = 0; c < nc; c++) {
                sc[c] = (gamma ? gamma[c0 + c] : 1.0f) * inv_of(inv, var, eps, c0 + c);
                sh[c] = beta ? beta[c0 + c] : 0.0f;
            }
            for (int b = 0; b < B; b++) {
                const float *restrict x = in + (size_t)b * size + c0;
                float *restrict y = z + (size_t)b * size + c0;
                const float *restrict m = mean + c0;
                for (int c = 0; c < nc; c++)
                    y[c] = (x[c] - m[c]) * sc[c] + sh[c];
            }
        }
        return;
    }
    for (int b = 0; b < B; b++)
        for (int c = 0; c < C; c++) {
            const size_t o = (size_t)b * size + (size_t)c * S;
            const float *restrict x = in + o;
            float *restrict y = z + o;
            const float m = mean[c], sc = (gamma ? gamma[c] : 1.0f) * inv_of(inv, var, eps, c);
            const float sh = beta ? beta[c] : 0.0f;
            for (size_t s = 0; s < S; s++)
                y[s] = (x[s] - m) * sc + sh;
        }
}

/* dgamma += sum dz xhat, dbeta += sum dz (dparams: the layer's gradients). */
static void add_dgamma_dbeta(float *dparams, const double *sums, int C)
{
    for (int c = 0; c < C; c++) {
        dparams[c] += (float)sums[C + c];
        dparams[C + c] += (float)sums[c];
    }
}

/* Parts (ctx->nparts, reproducible mode): each part's sums from zero (of x,
 * or with dz of the backward's terms, whose dgamma and dbeta then go to the
 * part's gradient buffer), staged with ctx->reduce_part and added into
 * total (2C + 1) in part order: (((0 + s_0) + s_1) + ...). */
static void add_parts(const advml_layer *L, const advml_ctx *ctx, const float *in, const float *dz,
                      const float *mean, const float *inv, double *total)
{
    const bn_dims d = dims_of(L);
    const int C = d.C;
    const size_t n = (size_t)(2 * C + 1);
    double *part = tail_part(L, C);
    memset(total, 0, n * sizeof *total);
    for (int p = 0; p < ctx->nparts; p++) {
        const int b0 = ctx->part_lo[p], b1 = ctx->part_lo[p + 1];
        if (dz) {
            dz_sums(dz, in, mean, inv, b0, b1, C, d.S, part);
            if (L->spec.affine)
                add_dgamma_dbeta(ctx->part_grads[p] + L->param_offset, part, C);
        } else {
            x_sums(in, b0, b1, C, d.S, part);
        }
        if (ctx->reduce_part)
            ctx->reduce_part(ctx->reduce_arg, part, n);
        for (size_t k = 0; k < n; k++)
            total[k] += part[k];
    }
}

static advml_status bn_setup(advml_layer *L, advml_shape in_shape, int max_batch, advml_error *err)
{
    const advml_layer_spec *s = &L->spec;
    char buf[64];
    if (in_shape.rank != 3 && in_shape.rank != 1)
        return advml_error_set(err, ADVML_ERR_SHAPE,
                               "layer %d (batchnorm): input has shape %s; batchnorm goes after conv2d (images "
                               "[C, H, W]: per channel) or dense ([D]: per feature), not after sequences",
                               L->index, advml_shape_str(&in_shape, buf, sizeof buf));
    if (!(s->momentum >= 0.0f && s->momentum <= 1.0f) || !(s->epsilon > 0.0f))
        return advml_error_set(err, ADVML_ERR_SHAPE, "layer %d (batchnorm): momentum %g must be in [0, 1] and "
                               "epsilon %g positive", L->index, (double)s->momentum, (double)s->epsilon);
    L->in_shape = in_shape;
    L->out_shape = in_shape;
    L->nviews = 0;
    L->nparams = 0;
    const int C = in_shape.d[0];
    if (s->affine) {
        advml_layer_add_view(L, "gamma", 0, 1, &C); // (C) scale, no L2
        advml_layer_add_view(L, "beta", 0, 1, &C);  // (C) shift
    }
    advml_layer_add_view(L, "running_mean", 0, 1, &C); // (C) buffer
    L->views[L->nviews - 1].buffer = 1;
    advml_layer_add_view(L, "running_var", 0, 1, &C); // (C) buffer
    L->views[L->nviews - 1].buffer = 1;
    /* the tail, spread over the max_batch rows of the state */
    size_t tail = (tail_bytes(C) + (size_t)max_batch - 1) / (size_t)max_batch;
    L->state_per_sample = (tail + 7) / 8 * 8;
    L->scratch_floats = 0;
    return ADVML_OK;
}

static void bn_init(advml_layer *L, float *params, advml_rng *rng)
{
    (void)rng; /* draws nothing: the layers after it start as without it */
    const int C = L->in_shape.d[0];
    float *p = params;
    if (L->spec.affine) {
        for (int c = 0; c < C; c++)
            p[c] = 1.0f; /* gamma */
        memset(p + C, 0, (size_t)C * sizeof *p); /* beta */
        p += 2 * C;
    }
    memset(p, 0, (size_t)C * sizeof *p); /* running mean */
    for (int c = 0; c < C; c++)
        p[C + c] = 1.0f; /* running variance */
}

static void bn_forward(advml_layer *L, float *z, const float *in, const float *params, const advml_ctx *ctx)
{
    const bn_dims d = dims_of(L);
    const int C = d.C, B = ctx->B;
    const size_t S = d.S;
    const float *gamma = L->spec.affine ? params : NULL, *beta = L->spec.affine ? params + C : NULL;
    /* The running statistics are buffers the optimizer never changes: the
     * training forward updates them in place (the same on every rank). */
    float *run = (float *)(uintptr_t)(params + (L->spec.affine ? 2 * C : 0));
    float *rmean = run, *rvar = run + C;
    const float eps = L->spec.epsilon;
    if (!ctx->training) {
        normalise(z, in, B, C, S, rmean, NULL, rvar, eps, gamma, beta);
        return;
    }
    double *sums = tail_sums(L); /* (sum x (C), sum x^2 (C), count) */
    if (ctx->nparts == 0)
        x_sums(in, 0, B, C, S, sums);
    else /* each part's sums alone, added in part order (and staged with the trainer) */
        add_parts(L, ctx, in, NULL, NULL, NULL, sums);
    if (ctx->reduce) /* the whole global batch's sums, on every rank */
        ctx->reduce(ctx->reduce_arg, sums, (size_t)(2 * C + 1));
    const double M = sums[2 * C];
    float *mean = tail_mean(L, C), *inv = tail_inv(L, C);
    const float mom = L->spec.momentum;
    for (int c = 0; c < C; c++) {
        double mu = M > 0 ? sums[c] / M : 0.0, var = M > 0 ? sums[C + c] / M - mu * mu : 0.0;
        if (var < 0.0)
            var = 0.0;
        mean[c] = (float)mu;
        inv[c] = (float)(1.0 / sqrt(var + (double)eps));
        if (M > 0) {
            double unbiased = M > 1 ? var * M / (M - 1.0) : var;
            rmean[c] = (float)((1.0 - mom) * rmean[c] + mom * mu);
            rvar[c] = (float)((1.0 - mom) * rvar[c] + mom * unbiased);
        }
    }
    normalise(z, in, B, C, S, mean, inv, NULL, 0.0f, gamma, beta);
}

/* The input gradient's coefficients per channel: dx = u dz + v (x - mean) + w
 * with u = gamma / sigma, v = -gamma / (M sigma^2) sum dz xhat,
 * w = -gamma / (M sigma) sum dz (inv = 1/sigma; A = sum dz, P = sum dz xhat). */
static void dinp_coefs(float gamma, float inv, double A, double P, double M, float *u, float *v, float *w)
{
    const double k = (double)gamma * inv;
    *u = (float)k;
    *v = (float)(-k * inv * P / M);
    *w = (float)(-k * A / M);
}

static void bn_backward(advml_layer *L, float *dinp, float *dparams, const float *dz, const float *in,
                        const float *params, const advml_ctx *ctx)
{
    const bn_dims d = dims_of(L);
    const int C = d.C, B = ctx->B;
    const size_t S = d.S, size = (size_t)C * S;
    const float *gamma = L->spec.affine ? params : NULL;
    const float *mean = tail_mean(L, C), *inv = tail_inv(L, C);
    double *sums = tail_sums(L); /* (sum dz (C), sum dz xhat (C), count) */
    if (ctx->nparts == 0) {
        dz_sums(dz, in, mean, inv, 0, B, C, S, sums);
        if (L->spec.affine) /* this rank's part: the gradient allreduce adds the ranks */
            add_dgamma_dbeta(dparams, sums, C);
    } else { /* each part's, into its own gradient buffer */
        add_parts(L, ctx, in, dz, mean, inv, sums);
    }
    if (ctx->reduce)
        ctx->reduce(ctx->reduce_arg, sums, (size_t)(2 * C + 1));
    const double M = sums[2 * C];
    if (!dinp || M <= 0)
        return;
    /* dx = gamma / (M sigma) (M dz - sum dz - xhat sum dz xhat)
     *    = u dz + v (x - mean) + w, with xhat = (x - mean) / sigma */
    if (S == 1) {
        for (int c0 = 0; c0 < C; c0 += CBLOCK) {
            const int nc = C - c0 < CBLOCK ? C - c0 : CBLOCK;
            float u[CBLOCK], v[CBLOCK], w[CBLOCK];
            for (int c = 0; c < nc; c++)
                dinp_coefs(gamma ? gamma[c0 + c] : 1.0f, inv[c0 + c], sums[c0 + c], sums[C + c0 + c], M, &u[c],
                           &v[c], &w[c]);
            for (int b = 0; b < B; b++) {
                const size_t o = (size_t)b * size + c0;
                const float *restrict g = dz + o, *restrict x = in + o, *restrict m = mean + c0;
                float *restrict dx = dinp + o;
                for (int c = 0; c < nc; c++)
                    dx[c] += u[c] * g[c] + (v[c] * (x[c] - m[c]) + w[c]);
            }
        }
        return;
    }
    for (int c0 = 0; c0 < C; c0 += CBLOCK) { /* in memory order: samples, channels */
        const int nc = C - c0 < CBLOCK ? C - c0 : CBLOCK;
        float u[CBLOCK], v[CBLOCK], w[CBLOCK];
        for (int c = 0; c < nc; c++)
            dinp_coefs(gamma ? gamma[c0 + c] : 1.0f, inv[c0 + c], sums[c0 + c], sums[C + c0 + c], M, &u[c], &v[c],
                       &w[c]);
        for (int b = 0; b < B; b++)
            for (int c = 0; c < nc; c++) {
                const size_t o = (size_t)b * size + (size_t)(c0 + c) * S;
                const float *restrict g = dz + o, *restrict x = in + o;
                float *restrict dx = dinp + o;
                const float uc = u[c], vc = v[c], wc = w[c], m = mean[c0 + c];
                for (size_t s = 0; s < S; s++)
                    dx[s] += uc * g[s] + (vc * (x[s] - m) + wc);
            }
    }
}

static const advml_layer_key bn_keys[] = {
    {.name = "momentum", .type = ADVML_KEY_FLOAT, .offset = offsetof(advml_layer_spec, momentum), .dflt = 0.1,
     .lo = 0, .hi = 1},
    {.name = "epsilon", .type = ADVML_KEY_FLOAT, .offset = offsetof(advml_layer_spec, epsilon),
     .flags = ADVML_KEY_LO_OPEN, .dflt = 1e-5, .lo = 0, .hi = INFINITY, .aliases = ADVML_NAMES("eps")},
    {.name = "affine", .type = ADVML_KEY_BOOL, .offset = offsetof(advml_layer_spec, affine), .dflt = 1,
     .aliases = ADVML_NAMES("center", "scale")},
    ADVML_KEY_ROW_ACTIVATION(0, ADVML_ACT_IDENTITY),
    ADVML_KEY_ROW_ALPHA,
    ADVML_KEY_ROW_TRAINABLE,
    {.name = NULL}};

static const advml_key_note bn_notes[] = {
    {"units", "batchnorm keeps its input's size"}, {"filters", "batchnorm keeps its input's channels"},
    {NULL, NULL}};

const advml_layer_kind advml_batchnorm_kind = {
    .name = "batchnorm",
    .class_name = "BatchNormalization",
    .post_act = 1,
    .collective = 1,
    .setup = bn_setup,
    .init = bn_init,
    .forward = bn_forward,
    .backward = bn_backward,
    .keys = bn_keys,
    .aliases = ADVML_NAMES("BatchNormalization", "BatchNorm2d", "BatchNorm1d", "batch_norm", "batchnorm2d",
                           "batch_normalization", "bn"),
    .notes = bn_notes,
};

/* rnn.c - simple (Elman) RNN with backpropagation through time, and the
 * helpers shared by the recurrent kinds (see include/advml/rnn.h). */
#include "advml/rnn.h"

#include <cblas.h>
#include <limits.h>
#include <math.h>
#include <string.h>

/* ---- shared helpers --------------------------------------------------------- */

void advml_rnn_to_time_major(float *dst, const float *src, int N, int T, int F)
{
    for (int n = 0; n < N; n++)
        for (int t = 0; t < T; t++)
            memcpy(dst + ((size_t)t * N + n) * F, src + ((size_t)n * T + t) * F,
                   (size_t)F * sizeof(float));
}

void advml_rnn_add_from_time_major(float *dst, const float *src, int N, int T, int F)
{
    for (int n = 0; n < N; n++)
        for (int t = 0; t < T; t++) {
            float *o = dst + ((size_t)n * T + t) * F;
            const float *s = src + ((size_t)t * N + n) * F;
            for (int f = 0; f < F; f++)
                o[f] += s[f];
        }
}

void advml_rnn_write_output(float *out, const float *hs, const advml_seq_dims *d)
{
    const size_t NH = (size_t)d->N * d->H;
    if (d->return_sequences)
        advml_rnn_to_time_major(out, hs, d->T, d->N, d->H); /* (T, N, H) -> (N, T, H) */
    else
        memcpy(out, hs + (size_t)(d->T - 1) * NH, NH * sizeof(float));
}

void advml_rnn_add_output_grad(float *dh, const float *dout, int t, const advml_seq_dims *d)
{
    const int N = d->N, T = d->T, H = d->H;
    if (d->return_sequences) {
        for (int n = 0; n < N; n++) {
            float *g = dh + (size_t)n * H;
            const float *s = dout + ((size_t)n * T + t) * H;
            for (int j = 0; j < H; j++)
                g[j] += s[j];
        }
    } else if (t == T - 1) {
        const size_t NH = (size_t)N * H;
        for (size_t k = 0; k < NH; k++)
            dh[k] += dout[k];
    }
}

void advml_rnn_add_col_sums(float *db, const float *m, size_t rows, int cols)
{
    for (size_t r = 0; r < rows; r++) {
        const float *row = m + r * (size_t)cols;
        for (int j = 0; j < cols; j++)
            db[j] += row[j];
    }
}

advml_status advml_rnn_setup_common(advml_layer *L, const char *kind_name, advml_shape in_shape,
                                    int max_batch, int allow_relu,
                                    const advml_rnn_view_spec *views, int nviews,
                                    advml_seq_dims *d, advml_error *err)
{
    const advml_layer_spec *s = &L->spec;
    char buf[64];
    if (in_shape.rank != 2 || in_shape.d[0] <= 0 || in_shape.d[1] <= 0)
        return advml_error_set(err, ADVML_ERR_SHAPE,
                               "layer %d (%s): input must be a sequence (T, F) of time steps and "
                               "features per step, got per-sample shape %s",
                               L->index, kind_name, advml_shape_str(&in_shape, buf, sizeof buf));
    const int T = in_shape.d[0], F = in_shape.d[1], H = s->units;
    if (H <= 0)
        return advml_error_set(err, ADVML_ERR_SHAPE, "layer %d (%s): units must be > 0, got %d",
                               L->index, kind_name, H);
    if (s->in_channels > 0 && s->in_channels != F)
        return advml_error_set(err, ADVML_ERR_SHAPE,
                               "layer %d (%s): declared %d input features per step, but the "
                               "input (T, F) = (%d, %d) has %d",
                               L->index, kind_name, s->in_channels, T, F, F);
    if (!(s->act == ADVML_ACT_TANH || (allow_relu && s->act == ADVML_ACT_RELU)))
        return advml_error_set(err, ADVML_ERR_CONFIG,
                               "layer %d (%s): activation \"%s\" is not supported; use %s",
                               L->index, kind_name, advml_act_name(s->act),
                               allow_relu ? "\"tanh\" or \"relu\"" : "\"tanh\"");
    if (max_batch <= 0)
        return advml_error_set(err, ADVML_ERR_ARG, "layer %d (%s): max_batch must be > 0, got %d",
                               L->index, kind_name, max_batch);
    if (nviews > ADVML_MAX_VIEWS)
        return advml_error_set(err, ADVML_ERR_ARG, "layer %d (%s): %d views, at most %d",
                               L->index, kind_name, nviews, ADVML_MAX_VIEWS);
    /* every GEMM dimension (T*N rows, up to 6H per row of scratch) must fit an int */
    int maxgates = 1;
    for (int v = 0; v < nviews; v++)
        if (views[v].gates > maxgates)
            maxgates = views[v].gates;
    if ((double)T * max_batch * (2.0 * maxgates + 2) * ((double)H + F) > (double)INT_MAX)
        return advml_error_set(err, ADVML_ERR_SHAPE,
                               "layer %d (%s): too large: T=%d, F=%d, units=%d at batch %d",
                               L->index, kind_name, T, F, H, max_batch);

    L->nviews = 0;
    L->nparams = 0;
    for (int v = 0; v < nviews; v++) { /* (gates*H, F), (gates*H, H) or (gates*H) */
        const int gh = views[v].gates * H;
        switch (views[v].kind) {
        case ADVML_RNN_VIEW_INPUT:
            advml_layer_add_view(L, views[v].name, 1, 2, (const int[]){gh, F});
            break;
        case ADVML_RNN_VIEW_RECURRENT:
            advml_layer_add_view(L, views[v].name, 1, 2, (const int[]){gh, H});
            break;
        case ADVML_RNN_VIEW_BIAS:
            advml_layer_add_view(L, views[v].name, 0, 1, (const int[]){gh});
            break;
        }
    }
    L->in_shape = in_shape;
    L->out_shape = s->return_sequences ? advml_shape2(T, H) : advml_shape1(H);
    d->N = max_batch;
    d->T = T;
    d->F = F;
    d->H = H;
    d->return_sequences = s->return_sequences ? 1 : 0;
    return ADVML_OK;
}

/* ---- simple RNN ops ------------------------------------------------------------ */

size_t advml_rnn_state_floats(const advml_seq_dims *d)
{
    return (size_t)d->T * d->N * d->H; /* hs (T, N, H) */
}

size_t advml_rnn_scratch_floats(const advml_seq_dims *d)
{
    const size_t TN = (size_t)d->T * d->N;
    size_t fwd = TN * d->F;                                        /* xt (T, N, F) */
    size_t bwd = TN * d->H + (size_t)d->N * d->H + TN * d->F;      /* da, dh, xt */
    return fwd > bwd ? fwd : bwd;
}

void advml_rnn_forward(float *out, float *state, float *scratch, const float *x, const float *h0,
                       const float *U, const float *W, const float *b, advml_act act,
                       const advml_seq_dims *d)
{
    const int N = d->N, T = d->T, F = d->F, H = d->H;
    if (N <= 0 || T <= 0)
        return;
    const size_t NH = (size_t)N * H;
    float *hs = state;   /* (T, N, H) a_t, then h_t in place */
    float *xt = scratch; /* (T, N, F) x time-major */
    advml_rnn_to_time_major(xt, x, N, T, F);
    /* a (T*N, H) = x (T*N, F) @ U^T : the input projection of every step at once */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T * N, H, F, 1.0f, xt, F, U, F, 0.0f,
                hs, H);
    for (int t = 0; t < T; t++) {
        float *a = hs + (size_t)t * NH;
        const float *hp = t ? a - NH : h0;
        if (hp) /* a_t += h_{t-1} (N, H) @ W^T */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, H, H, 1.0f, hp, H, W, H,
                        1.0f, a, H);
        if (act == ADVML_ACT_RELU) {
            for (int n = 0; n < N; n++) {
                float *r = a + (size_t)n * H;
                for (int j = 0; j < H; j++) {
                    float v = r[j] + b[j];  /* a_t = U x_t + W h_{t-1} + b */
                    r[j] = v > 0.0f ? v : 0.0f; /* h_t = relu(a_t) */
                }
            }
        } else {
            for (int n = 0; n < N; n++) {
                float *r = a + (size_t)n * H;
                for (int j = 0; j < H; j++)
                    r[j] = advml_rnn_tanhf(r[j] + b[j]); /* h_t = tanh(U x_t + W h_{t-1} + b) */
            }
        }
    }
    advml_rnn_write_output(out, hs, d);
}

void advml_rnn_backward(float *dx, float *dh0, float *dU, float *dW, float *db, float *scratch,
                        const float *dout, const float *state, const float *x, const float *h0,
                        const float *U, const float *W, advml_act act, const advml_seq_dims *d)
{
    const int N = d->N, T = d->T, F = d->F, H = d->H;
    if (N <= 0 || T <= 0)
        return;
    const size_t NH = (size_t)N * H, TN = (size_t)T * N;
    const float *hs = state;  /* (T, N, H) h_t */
    float *da = scratch;      /* (T, N, H) dL/da_t */
    float *dh = da + TN * H;  /* (N, H) dL/dh_t, running backwards */
    float *xt = dh + NH;      /* (T, N, F) x time-major, later dL/dx time-major */
    memset(dh, 0, NH * sizeof(float));
    for (int t = T - 1; t >= 0; t--) {
        advml_rnn_add_output_grad(dh, dout, t, d); /* dh_t += dL/dout_t */
        const float *h = hs + (size_t)t * NH;
        float *dat = da + (size_t)t * NH;
        if (act == ADVML_ACT_RELU) {
            for (size_t k = 0; k < NH; k++)
                dat[k] = h[k] > 0.0f ? dh[k] : 0.0f;       /* da_t = dh_t * [a_t > 0] */
        } else {
            for (size_t k = 0; k < NH; k++)
                dat[k] = dh[k] * (1.0f - h[k] * h[k]);     /* da_t = dh_t * (1 - h_t^2) */
        }
        if (t > 0) /* dh_{t-1} = da_t (N, H) @ W (H, H) */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, H, H, 1.0f, dat, H, W, H,
                        0.0f, dh, H);
        else if (dh0) /* dh0 += da_0 @ W */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, H, H, 1.0f, dat, H, W, H,
                        1.0f, dh0, H);
    }
    /* dW += sum_t da_t^T h_{t-1}: steps 1.. in one GEMM over (T-1)*N rows, step 0 with h0 */
    if (T > 1)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, H, H, (T - 1) * N, 1.0f, da + NH, H,
                    hs, H, 1.0f, dW, H);
    if (h0)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, H, H, N, 1.0f, da, H, h0, H, 1.0f,
                    dW, H);
    advml_rnn_add_col_sums(db, da, TN, H); /* db += sum_t,n da_t */
    advml_rnn_to_time_major(xt, x, N, T, F);
    /* dU (H, F) += da^T (H, T*N) @ x (T*N, F) */
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, H, F, T * N, 1.0f, da, H, xt, F, 1.0f,
                dU, F);
    if (dx) { /* dx (T*N, F) = da @ U (H, F), then added batch-major */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T * N, F, H, 1.0f, da, H, U, F,
                    0.0f, xt, F);
        advml_rnn_add_from_time_major(dx, xt, N, T, F);
    }
}

/* ---- the "rnn" layer kind ------------------------------------------------------ */

static const advml_rnn_view_spec rnn_views[] = {
    {"U", 1, ADVML_RNN_VIEW_INPUT},     /* (H, F) */
    {"W", 1, ADVML_RNN_VIEW_RECURRENT}, /* (H, H) */
    {"b", 1, ADVML_RNN_VIEW_BIAS},      /* (H) */
};

static advml_seq_dims rnn_layer_dims(const advml_layer *L, int B)
{
    advml_seq_dims d = {B, L->in_shape.d[0], L->in_shape.d[1], L->spec.units,
                        L->spec.return_sequences ? 1 : 0};
    return d;
}

static advml_status rnn_setup(advml_layer *L, advml_shape in_shape, int max_batch,
                              advml_error *err)
{
    advml_seq_dims d = {0, 0, 0, 0, 0};
    advml_status st = advml_rnn_setup_common(L, "rnn", in_shape, max_batch, 1, rnn_views, 3, &d,
                                             err);
    if (st != ADVML_OK)
        return st;
    advml_seq_dims one = d;
    one.N = 1;
    L->state_per_sample = advml_rnn_state_floats(&one) * sizeof(float);
    L->scratch_floats = advml_rnn_scratch_floats(&d);
    return ADVML_OK;
}

void advml_rnn_init_weights(const advml_layer *L, int G, float *w_ih, float *w_hh, advml_rng *rng)
{
    const int F = L->in_shape.d[1], H = L->spec.units;
    const size_t nih = (size_t)G * H * F, nhh = (size_t)G * H * H;
    const advml_init k = L->spec.kernel_init, r = L->spec.recurrent_init;
    if (k == ADVML_INIT_AUTO)
        advml_init_glorot(w_ih, nih, F, G * H, rng);
    else /* torch: U(+-1/sqrt(H)), PyTorch's for every weight of a recurrent cell */
        advml_init_fill(w_ih, nih, k, k == ADVML_INIT_TORCH ? H : F, G * H, ADVML_ACT_IDENTITY, rng);
    if (r == ADVML_INIT_AUTO)
        for (int gate = 0; gate < G; gate++)
            advml_init_orthogonal(w_hh + (size_t)gate * H * H, H, rng);
    else
        advml_init_fill(w_hh, nhh, r, H, G * H, ADVML_ACT_IDENTITY, rng);
}

void advml_rnn_init_bias(float *b, size_t n, advml_init kind, int H, int nsum, advml_rng *rng)
{
    memset(b, 0, n * sizeof *b);
    if (kind != ADVML_INIT_TORCH)
        return;
    const double lim = 1.0 / sqrt(H > 0 ? H : 1);
    for (size_t j = 0; j < n; j++) {
        double v = 0.0;
        for (int k = 0; k < nsum; k++)
            v += lim * (2.0 * advml_rng_uniform(rng) - 1.0); /* b_ih + b_hh, each U(+-1/sqrt(H)) */
        b[j] = (float)v;
    }
}

static void rnn_init(advml_layer *L, float *params, advml_rng *rng)
{
    const int H = L->spec.units;
    advml_rnn_init_weights(L, 1, params + L->views[0].offset, params + L->views[1].offset, rng);
    advml_rnn_init_bias(params + L->views[2].offset, L->views[2].size, L->spec.bias_init, H, 2, rng);
}

static void rnn_forward(advml_layer *L, float *z, const float *in, const float *params,
                        const advml_ctx *ctx)
{
    advml_seq_dims d = rnn_layer_dims(L, ctx->B);
    advml_rnn_forward(z, (float *)L->state, ctx->scratch, in, NULL, params + L->views[0].offset,
                      params + L->views[1].offset, params + L->views[2].offset, L->spec.act, &d);
}

static void rnn_backward(advml_layer *L, float *dinp, float *dparams, const float *dz,
                         const float *in, const float *params, const advml_ctx *ctx)
{
    advml_seq_dims d = rnn_layer_dims(L, ctx->B);
    advml_rnn_backward(dinp, NULL, dparams + L->views[0].offset, dparams + L->views[1].offset,
                       dparams + L->views[2].offset, ctx->scratch, dz, (const float *)L->state, in,
                       NULL, params + L->views[0].offset, params + L->views[1].offset,
                       L->spec.act, &d);
}

static const advml_layer_key rnn_keys[] = {
    ADVML_KEY_ROW_UNITS("units", "out_features", "hidden_size"),
    ADVML_KEY_ROW_RETURN_SEQUENCES,
    ADVML_KEY_ROW_ACTIVATION(0, ADVML_ACT_TANH), /* the cell's: tanh (Keras SimpleRNN, torch.nn.RNN) or relu */
    ADVML_KEY_ROW_IN("in_features"),
    ADVML_KEY_ROWS_RECURRENT_INITIALIZERS,
    ADVML_KEY_ROW_TRAINABLE,
    {.name = NULL}};

const advml_layer_kind advml_rnn_kind = {
    .name = "rnn",
    .class_name = "SimpleRNN",
    .post_act = 0,
    .setup = rnn_setup,
    .init = rnn_init,
    .forward = rnn_forward,
    .backward = rnn_backward,
    .keys = rnn_keys,
    .aliases = ADVML_NAMES("simplernn", "SimpleRNN"),
};

void advml_rnn_gated_defaults(advml_layer_spec *s)
{
    s->act = ADVML_ACT_TANH;
}

const advml_layer_key advml_rnn_gated_keys[] = {
    ADVML_KEY_ROW_UNITS("units", "out_features", "hidden_size"),
    ADVML_KEY_ROW_RETURN_SEQUENCES,
    ADVML_KEY_ROW_IN("in_features"),
    ADVML_KEY_ROWS_RECURRENT_INITIALIZERS,
    ADVML_KEY_ROW_TRAINABLE,
    {.name = NULL}};

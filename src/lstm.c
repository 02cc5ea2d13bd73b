/* lstm.c - LSTM with backpropagation through time (see include/advml/lstm.h). */
#include "advml/lstm.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

static inline float sigmoidf(float v) { return 1.0f / (1.0f + expf(-v)); }

size_t advml_lstm_state_floats(const advml_seq_dims *d)
{
    return (size_t)d->T * d->N * d->H * 7; /* hs, cs, tcs (T, N, H); gs (T, N, 4H) */
}

size_t advml_lstm_scratch_floats(const advml_seq_dims *d)
{
    const size_t TN = (size_t)d->T * d->N, NH = (size_t)d->N * d->H;
    size_t fwd = TN * d->F;                          /* xt */
    size_t bwd = TN * 4 * d->H + 2 * NH + TN * d->F; /* dg, dh, dc, xt */
    return fwd > bwd ? fwd : bwd;
}

void advml_lstm_forward(float *out, float *state, float *scratch, const float *x, const float *h0,
                        const float *c0, const float *w_ih, const float *w_hh, const float *bias,
                        const advml_seq_dims *d)
{
    const int N = d->N, T = d->T, F = d->F, H = d->H, G = 4 * d->H;
    if (N <= 0 || T <= 0)
        return;
    const size_t NH = (size_t)N * H, TNH = (size_t)T * NH;
    float *hs = state;      /* (T, N, H) h_t */
    float *cs = hs + TNH;   /* (T, N, H) c_t */
    float *tcs = cs + TNH;  /* (T, N, H) tanh(c_t) */
    float *gs = tcs + TNH;  /* (T, N, 4H) pre-activations, then [i f g o] in place */
    float *xt = scratch;    /* (T, N, F) x time-major */
    const float *bi = bias, *bf = bias + H, *bg = bias + 2 * H, *bo = bias + 3 * H;
    advml_rnn_to_time_major(xt, x, N, T, F);
    /* G (T*N, 4H) = x (T*N, F) @ W_ih^T : the input projection of every step at once */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T * N, G, F, 1.0f, xt, F, w_ih, F, 0.0f,
                gs, G);
    for (int t = 0; t < T; t++) {
        float *gt = gs + (size_t)t * N * G;
        const float *hp = t ? hs + (size_t)(t - 1) * NH : h0;
        const float *cp = t ? cs + (size_t)(t - 1) * NH : c0; /* NULL: c_{-1} = 0 */
        if (hp) /* G_t += h_{t-1} (N, H) @ W_hh^T */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, G, H, 1.0f, hp, H, w_hh, H,
                        1.0f, gt, G);
        for (int n = 0; n < N; n++) {
            float *gi = gt + (size_t)n * G, *gf = gi + H, *gg = gi + 2 * H, *go = gi + 3 * H;
            float *c = cs + (size_t)t * NH + (size_t)n * H;
            float *tc = tcs + (size_t)t * NH + (size_t)n * H;
            float *h = hs + (size_t)t * NH + (size_t)n * H;
            const float *cpn = cp ? cp + (size_t)n * H : NULL;
            for (int j = 0; j < H; j++) {
                gi[j] = sigmoidf(gi[j] + bi[j]);  /* i = sigmoid(W_ii x + W_hi h + b_i) */
                gf[j] = sigmoidf(gf[j] + bf[j]);  /* f = sigmoid(W_if x + W_hf h + b_f) */
                gg[j] = tanhf(gg[j] + bg[j]);     /* g = tanh(W_ig x + W_hg h + b_g) */
                go[j] = sigmoidf(go[j] + bo[j]);  /* o = sigmoid(W_io x + W_ho h + b_o) */
            }
            if (cpn)
                for (int j = 0; j < H; j++)
                    c[j] = gf[j] * cpn[j] + gi[j] * gg[j]; /* c_t = f c_{t-1} + i g */
            else
                for (int j = 0; j < H; j++)
                    c[j] = gi[j] * gg[j];                  /* c_t = i g (c_{-1} = 0) */
            for (int j = 0; j < H; j++) {
                tc[j] = tanhf(c[j]);                       /* tanh(c_t) */
                h[j] = go[j] * tc[j];                      /* h_t = o tanh(c_t) */
            }
        }
    }
    advml_rnn_write_output(out, hs, d);
}

void advml_lstm_backward(float *dx, float *dh0, float *dc0, float *dw_ih, float *dw_hh,
                         float *dbias, float *scratch, const float *dout, const float *state,
                         const float *x, const float *h0, const float *c0, const float *w_ih,
                         const float *w_hh, const advml_seq_dims *d)
{
    const int N = d->N, T = d->T, F = d->F, H = d->H, G = 4 * d->H;
    if (N <= 0 || T <= 0)
        return;
    const size_t NH = (size_t)N * H, TN = (size_t)T * N, TNH = TN * H;
    const float *hs = state, *cs = hs + TNH, *tcs = cs + TNH, *gs = tcs + TNH; /* see forward */
    float *dg = scratch;         /* (T, N, 4H) dL/dG_t (gate pre-activations) */
    float *dh = dg + TN * G;     /* (N, H) dL/dh_t, running backwards */
    float *dc = dh + NH;         /* (N, H) dL/dc_t from the steps after t */
    float *xt = dc + NH;         /* (T, N, F) x time-major, later dL/dx time-major */
    memset(dh, 0, 2 * NH * sizeof(float));
    for (int t = T - 1; t >= 0; t--) {
        advml_rnn_add_output_grad(dh, dout, t, d); /* dh_t += dL/dout_t */
        const float *cp = t ? cs + (size_t)(t - 1) * NH : c0;
        for (int n = 0; n < N; n++) {
            const size_t row = (size_t)t * N + n;
            const float *i = gs + row * G, *f = i + H, *g = i + 2 * H, *o = i + 3 * H;
            const float *tc = tcs + row * H;
            const float *cpn = cp ? cp + (size_t)n * H : NULL;
            float *di = dg + row * G, *df = di + H, *dgg = di + 2 * H, *dO = di + 3 * H;
            float *dhn = dh + (size_t)n * H, *dcn = dc + (size_t)n * H;
            for (int j = 0; j < H; j++) {
                float dcv = dcn[j] + dhn[j] * o[j] * (1.0f - tc[j] * tc[j]); /* dc_t += dh o (1 - tanh^2 c) */
                dO[j] = dhn[j] * tc[j] * o[j] * (1.0f - o[j]);   /* dG_o = dh tanh(c) o (1 - o) */
                di[j] = dcv * g[j] * i[j] * (1.0f - i[j]);       /* dG_i = dc g i (1 - i) */
                dgg[j] = dcv * i[j] * (1.0f - g[j] * g[j]);      /* dG_g = dc i (1 - g^2) */
                df[j] = cpn ? dcv * cpn[j] * f[j] * (1.0f - f[j]) : 0.0f; /* dG_f = dc c_{t-1} f (1 - f) */
                dcn[j] = dcv * f[j];                             /* dc_{t-1} = dc f */
            }
        }
        float *dgt = dg + (size_t)t * N * G;
        if (t > 0) /* dh_{t-1} = dG_t (N, 4H) @ W_hh (4H, H) */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, H, G, 1.0f, dgt, G, w_hh, H,
                        0.0f, dh, H);
        else {
            if (dh0) /* dh0 += dG_0 @ W_hh */
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, H, G, 1.0f, dgt, G, w_hh,
                            H, 1.0f, dh0, H);
            if (dc0) /* dc0 += dc_{-1} */
                for (size_t k = 0; k < NH; k++)
                    dc0[k] += dc[k];
        }
    }
    /* dW_hh (4H, H) += sum_t dG_t^T h_{t-1}: steps 1.. in one GEMM, step 0 with h0 */
    if (T > 1)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, G, H, (T - 1) * N, 1.0f,
                    dg + (size_t)N * G, G, hs, H, 1.0f, dw_hh, H);
    if (h0)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, G, H, N, 1.0f, dg, G, h0, H, 1.0f,
                    dw_hh, H);
    advml_rnn_add_col_sums(dbias, dg, TN, G); /* dbias += sum_t,n dG_t */
    advml_rnn_to_time_major(xt, x, N, T, F);
    /* dW_ih (4H, F) += dG^T (4H, T*N) @ x (T*N, F) */
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, G, F, T * N, 1.0f, dg, G, xt, F, 1.0f,
                dw_ih, F);
    if (dx) { /* dx (T*N, F) = dG @ W_ih (4H, F), then added batch-major */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T * N, F, G, 1.0f, dg, G, w_ih, F,
                    0.0f, xt, F);
        advml_rnn_add_from_time_major(dx, xt, N, T, F);
    }
}

/* ---- the "lstm" layer kind ----------------------------------------------------- */

static const advml_rnn_view_spec lstm_views[] = {
    {"weight_ih", 4, ADVML_RNN_VIEW_INPUT},     /* (4H, F) */
    {"weight_hh", 4, ADVML_RNN_VIEW_RECURRENT}, /* (4H, H) */
    {"bias", 4, ADVML_RNN_VIEW_BIAS},           /* (4H) */
};

static advml_seq_dims lstm_layer_dims(const advml_layer *L, int B)
{
    advml_seq_dims d = {B, L->in_shape.d[0], L->in_shape.d[1], L->spec.units,
                        L->spec.return_sequences ? 1 : 0};
    return d;
}

static advml_status lstm_setup(advml_layer *L, advml_shape in_shape, int max_batch,
                               advml_error *err)
{
    advml_seq_dims d = {0, 0, 0, 0, 0};
    advml_status st = advml_rnn_setup_common(L, "lstm", in_shape, max_batch, 0, lstm_views, 3,
                                             &d, err);
    if (st != ADVML_OK)
        return st;
    advml_seq_dims one = d;
    one.N = 1;
    L->state_per_sample = advml_lstm_state_floats(&one) * sizeof(float);
    L->scratch_floats = advml_lstm_scratch_floats(&d);
    return ADVML_OK;
}

static void lstm_init(advml_layer *L, float *params, advml_rng *rng)
{
    const int F = L->in_shape.d[1], H = L->spec.units;
    float *w_ih = params + L->views[0].offset, *w_hh = params + L->views[1].offset;
    float *bias = params + L->views[2].offset;
    advml_init_glorot(w_ih, L->views[0].size, F, 4 * H, rng);
    for (int gate = 0; gate < 4; gate++)
        advml_init_orthogonal(w_hh + (size_t)gate * H * H, H, rng);
    for (int j = 0; j < 4 * H; j++)
        bias[j] = (j >= H && j < 2 * H) ? 1.0f : 0.0f; /* forget-gate bias 1 */
}

static void lstm_forward(advml_layer *L, float *z, const float *in, const float *params,
                         const advml_ctx *ctx)
{
    advml_seq_dims d = lstm_layer_dims(L, ctx->B);
    advml_lstm_forward(z, (float *)L->state, ctx->scratch, in, NULL, NULL,
                       params + L->views[0].offset, params + L->views[1].offset,
                       params + L->views[2].offset, &d);
}

static void lstm_backward(advml_layer *L, float *dinp, float *dparams, const float *dz,
                          const float *in, const float *params, const advml_ctx *ctx)
{
    advml_seq_dims d = lstm_layer_dims(L, ctx->B);
    advml_lstm_backward(dinp, NULL, NULL, dparams + L->views[0].offset,
                        dparams + L->views[1].offset, dparams + L->views[2].offset, ctx->scratch,
                        dz, (const float *)L->state, in, NULL, NULL, params + L->views[0].offset,
                        params + L->views[1].offset, &d);
}

const advml_layer_kind advml_lstm_kind = {"lstm", "LSTM", 0, lstm_setup, lstm_init,
                                          lstm_forward, lstm_backward};

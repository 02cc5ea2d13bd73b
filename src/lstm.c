/* lstm.c - LSTM with backpropagation through time (see include/advml/lstm.h). */
#include "advml/lstm.h"

#include <cblas.h>
#include <math.h>
#include <string.h>


size_t advml_lstm_state_floats(const advml_seq_dims *d)
{
    return (size_t)d->T * d->N * d->H * 7; /* hs, cs, tcs (T, N, H); gs (T, N, 4H) */
}

size_t advml_lstm_scratch_floats(const advml_seq_dims *d)
{
    const size_t TN = (size_t)d->T * d->N, NH = (size_t)d->N * d->H;
    size_t fwd = TN * d->F + d->H;                   /* xt, zeros */
    size_t bwd = TN * 4 * d->H + 2 * NH + d->H + TN * d->F; /* dg, dh, dc, zeros, xt */
    return fwd > bwd ? fwd : bwd;
}

/* One sample's step of the forward: g (4H) holds the pre-activations
 * W_ih x + W_hh h_{t-1} (without bias) and receives the gate values
 * [i f g o]; c, tc, h (H) receive c_t, tanh(c_t), h_t; cp (H) is c_{t-1}.
 * A function of its own so that the restrict parameters let one loop over
 * the H units vectorise. */
static inline void lstm_cell_forward(float *restrict g, const float *restrict b,
                                     const float *restrict cp, float *restrict c,
                                     float *restrict tc, float *restrict h, int H)
{
    for (int j = 0; j < H; j++) {
        float i = advml_rnn_sigmoidf(g[j] + b[j]);              /* i = sigmoid(W_ii x + W_hi h + b_i) */
        float f = advml_rnn_sigmoidf(g[H + j] + b[H + j]);      /* f = sigmoid(W_if x + W_hf h + b_f) */
        float gg = advml_rnn_tanhf(g[2 * H + j] + b[2 * H + j]); /* g = tanh(W_ig x + W_hg h + b_g) */
        float o = advml_rnn_sigmoidf(g[3 * H + j] + b[3 * H + j]); /* o = sigmoid(W_io x + W_ho h + b_o) */
        float cv = f * cp[j] + i * gg;                          /* c_t = f c_{t-1} + i g */
        float tcv = advml_rnn_tanhf(cv);
        g[j] = i;
        g[H + j] = f;
        g[2 * H + j] = gg;
        g[3 * H + j] = o;
        c[j] = cv;
        tc[j] = tcv;                                            /* tanh(c_t) */
        h[j] = o * tcv;                                         /* h_t = o tanh(c_t) */
    }
}

/* One sample's step of backward: from dh (H) = dL/dh_t and dc (H) = dL/dc_t
 * from later steps, the gate values g = [i f g o] (4H), tc = tanh(c_t) and
 * cp = c_{t-1}, write dg (4H) = dL/dG_t and replace dc by dL/dc_{t-1} (the
 * part through c_t; dh_{t-1} comes from the caller's GEMM). */
static inline void lstm_cell_backward(float *restrict dg, const float *restrict dh,
                                      float *restrict dc, const float *restrict g,
                                      const float *restrict tc, const float *restrict cp, int H)
{
    for (int j = 0; j < H; j++) {
        float i = g[j], f = g[H + j], gg = g[2 * H + j], o = g[3 * H + j];
        float dcv = dc[j] + dh[j] * o * (1.0f - tc[j] * tc[j]); /* dc_t += dh o (1 - tanh^2 c) */
        dg[j] = dcv * gg * i * (1.0f - i);                     /* dG_i = dc g i (1 - i) */
        dg[H + j] = dcv * cp[j] * f * (1.0f - f);              /* dG_f = dc c_{t-1} f (1 - f) */
        dg[2 * H + j] = dcv * i * (1.0f - gg * gg);            /* dG_g = dc i (1 - g^2) */
        dg[3 * H + j] = dh[j] * tc[j] * o * (1.0f - o);        /* dG_o = dh tanh(c) o (1 - o) */
        dc[j] = dcv * f;                                       /* dc_{t-1} = dc f */
    }
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
    float *zeros = xt + (size_t)T * N * F; /* (H) c_{-1} when c0 is NULL */
    memset(zeros, 0, (size_t)H * sizeof(float));
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
            const size_t k = (size_t)t * NH + (size_t)n * H;
            lstm_cell_forward(gt + (size_t)n * G, bias, cp ? cp + (size_t)n * H : zeros, cs + k,
                              tcs + k, hs + k, H);
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
    float *zeros = dc + NH;      /* (H) c_{-1} when c0 is NULL */
    float *xt = zeros + H;       /* (T, N, F) x time-major, later dL/dx time-major */
    memset(dh, 0, (2 * NH + H) * sizeof(float));
    for (int t = T - 1; t >= 0; t--) {
        advml_rnn_add_output_grad(dh, dout, t, d); /* dh_t += dL/dout_t */
        const float *cp = t ? cs + (size_t)(t - 1) * NH : c0;
        for (int n = 0; n < N; n++) {
            const size_t row = (size_t)t * N + n;
            lstm_cell_backward(dg + row * G, dh + (size_t)n * H, dc + (size_t)n * H, gs + row * G,
                               tcs + row * H, cp ? cp + (size_t)n * H : zeros, H);
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

const advml_layer_kind advml_lstm_kind = {
    .name = "lstm",
    .class_name = "LSTM",
    .post_act = 0,
    .setup = lstm_setup,
    .init = lstm_init,
    .forward = lstm_forward,
    .backward = lstm_backward,
    .keys = advml_rnn_gated_keys,
    .defaults = advml_rnn_gated_defaults,
    .aliases = ADVML_NAMES("LSTM"),
};

/* gru.c - GRU with backpropagation through time (see include/advml/gru.h). */
#include "advml/gru.h"

#include <cblas.h>
#include <math.h>
#include <string.h>


size_t advml_gru_state_floats(const advml_seq_dims *d)
{
    return (size_t)d->T * d->N * d->H * 5; /* hs (T, N, H); gs (T, N, 4H) */
}

size_t advml_gru_scratch_floats(const advml_seq_dims *d)
{
    const size_t TN = (size_t)d->T * d->N, NH = (size_t)d->N * d->H;
    size_t fwd = TN * d->F + 3 * NH + d->H;            /* xt, rh, zeros */
    size_t bwd = 2 * TN * 3 * d->H + NH + d->H + TN * d->F; /* dgx, dgh, dh, zeros, xt */
    return fwd > bwd ? fwd : bwd;
}

/* One sample's step of the forward: g (4H) holds A = W_ih x (without
 * b_ih) in its first 3H and receives [r z n R_n]; R (3H) = W_hh h_{t-1}
 * (without b_hh); hp (H) = h_{t-1}; h (H) receives h_t. A function of its
 * own so that the restrict parameters let the loop over H vectorise. */
static inline void gru_cell_forward(float *restrict g, const float *restrict R,
                                    const float *restrict b_ih, const float *restrict b_hh,
                                    const float *restrict hp, float *restrict h, int H)
{
    for (int j = 0; j < H; j++) {
        float r = advml_rnn_sigmoidf(g[j] + b_ih[j] + R[j] + b_hh[j]);  /* r = sigmoid(W_ir x + b_ir + W_hr h + b_hr) */
        float z = advml_rnn_sigmoidf(g[H + j] + b_ih[H + j] + R[H + j] + b_hh[H + j]); /* z = sigmoid(W_iz x + b_iz + W_hz h + b_hz) */
        float rn = R[2 * H + j] + b_hh[2 * H + j];                        /* R_n = W_hn h + b_hn */
        float n = advml_rnn_tanhf(g[2 * H + j] + b_ih[2 * H + j] + r * rn); /* n = tanh(W_in x + b_in + r R_n) */
        g[j] = r;
        g[H + j] = z;
        g[2 * H + j] = n;
        g[3 * H + j] = rn;                                                /* kept for backward */
        h[j] = (1.0f - z) * n + z * hp[j];                                /* h_t = (1 - z) n + z h_{t-1} */
    }
}

/* One sample's step of backward: from dh (H) = dL/dh_t, the saved
 * g = [r z n R_n] (4H) and hp = h_{t-1}, write dA (3H) = dL/d(W_ih x + b_ih)
 * and dR (3H) = dL/d(W_hh h + b_hh), and replace dh by the direct part of
 * dL/dh_{t-1}, dh z (the caller adds dR @ W_hh). */
static inline void gru_cell_backward(float *restrict dA, float *restrict dR, float *restrict dh,
                                     const float *restrict g, const float *restrict hp, int H)
{
    for (int j = 0; j < H; j++) {
        float r = g[j], z = g[H + j], n = g[2 * H + j], rn = g[3 * H + j];
        float dn = dh[j] * (1.0f - z) * (1.0f - n * n);   /* dA_n = dh (1 - z) (1 - n^2) */
        float dz = dh[j] * (hp[j] - n) * z * (1.0f - z);  /* dA_z = dR_z = dh (h_{t-1} - n) z (1 - z) */
        float dr = dn * rn * r * (1.0f - r);              /* dA_r = dR_r = dA_n R_n r (1 - r) */
        dA[j] = dr;
        dA[H + j] = dz;
        dA[2 * H + j] = dn;
        dR[j] = dr;
        dR[H + j] = dz;
        dR[2 * H + j] = dn * r;                           /* dR_n = dA_n r */
        dh[j] *= z;                                       /* dh_{t-1} = dh z + dR @ W_hh */
    }
}

void advml_gru_forward(float *out, float *state, float *scratch, const float *x, const float *h0,
                       const float *w_ih, const float *w_hh, const float *b_ih,
                       const float *b_hh, const advml_seq_dims *d)
{
    const int N = d->N, T = d->T, F = d->F, H = d->H, G = 4 * d->H, H3 = 3 * d->H;
    if (N <= 0 || T <= 0)
        return;
    const size_t NH = (size_t)N * H, TN = (size_t)T * N;
    float *hs = state;          /* (T, N, H) h_t */
    float *gs = hs + TN * H;    /* (T, N, 4H) [A_r A_z A_n .], then [r z n R_n] in place */
    float *xt = scratch;        /* (T, N, F) x time-major */
    float *rh = xt + TN * F;    /* (N, 3H) R = W_hh h_{t-1} (without b_hh) */
    float *zeros = rh + 3 * NH; /* (H) h_{-1} when h0 is NULL */
    memset(zeros, 0, (size_t)H * sizeof(float));
    advml_rnn_to_time_major(xt, x, N, T, F);
    /* A (T*N, 3H) = x (T*N, F) @ W_ih^T into the first 3H of each 4H row: every step at once */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T * N, H3, F, 1.0f, xt, F, w_ih, F, 0.0f,
                gs, G);
    for (int t = 0; t < T; t++) {
        const float *hp = t ? hs + (size_t)(t - 1) * NH : h0; /* NULL: h_{-1} = 0 */
        if (hp) /* R (N, 3H) = h_{t-1} (N, H) @ W_hh^T */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, H3, H, 1.0f, hp, H, w_hh, H,
                        0.0f, rh, H3);
        else
            memset(rh, 0, 3 * NH * sizeof(float));
        for (int n = 0; n < N; n++)
            gru_cell_forward(gs + ((size_t)t * N + n) * G, rh + (size_t)n * H3, b_ih, b_hh,
                             hp ? hp + (size_t)n * H : zeros, hs + (size_t)t * NH + (size_t)n * H,
                             H);
    }
    advml_rnn_write_output(out, hs, d);
}

void advml_gru_backward(float *dx, float *dh0, float *dw_ih, float *dw_hh, float *db_ih,
                        float *db_hh, float *scratch, const float *dout, const float *state,
                        const float *x, const float *h0, const float *w_ih, const float *w_hh,
                        const advml_seq_dims *d)
{
    const int N = d->N, T = d->T, F = d->F, H = d->H, G = 4 * d->H, H3 = 3 * d->H;
    if (N <= 0 || T <= 0)
        return;
    const size_t NH = (size_t)N * H, TN = (size_t)T * N;
    const float *hs = state, *gs = hs + TN * H; /* see forward */
    float *dgx = scratch;        /* (T, N, 3H) dL/dA_t (input-side pre-activations) */
    float *dgh = dgx + TN * H3;  /* (T, N, 3H) dL/dR_t (recurrent-side, with b_hh) */
    float *dh = dgh + TN * H3;   /* (N, H) dL/dh_t, running backwards */
    float *zeros = dh + NH;      /* (H) h_{-1} when h0 is NULL */
    float *xt = zeros + H;       /* (T, N, F) x time-major, later dL/dx time-major */
    memset(dh, 0, (NH + H) * sizeof(float));
    for (int t = T - 1; t >= 0; t--) {
        advml_rnn_add_output_grad(dh, dout, t, d); /* dh_t += dL/dout_t */
        const float *hp = t ? hs + (size_t)(t - 1) * NH : h0;
        for (int n = 0; n < N; n++) {
            const size_t row = (size_t)t * N + n;
            gru_cell_backward(dgx + row * H3, dgh + row * H3, dh + (size_t)n * H, gs + row * G,
                              hp ? hp + (size_t)n * H : zeros, H);
        }
        float *dght = dgh + (size_t)t * N * H3;
        if (t > 0) /* dh_{t-1} += dR_t (N, 3H) @ W_hh (3H, H) */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, H, H3, 1.0f, dght, H3, w_hh,
                        H, 1.0f, dh, H);
        else if (dh0) { /* dh0 += dh z + dR_0 @ W_hh */
            for (size_t k = 0; k < NH; k++)
                dh0[k] += dh[k];
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, H, H3, 1.0f, dght, H3, w_hh,
                        H, 1.0f, dh0, H);
        }
    }
    /* dW_hh (3H, H) += sum_t dR_t^T h_{t-1}: steps 1.. in one GEMM, step 0 with h0 */
    if (T > 1)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, H3, H, (T - 1) * N, 1.0f,
                    dgh + (size_t)N * H3, H3, hs, H, 1.0f, dw_hh, H);
    if (h0)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, H3, H, N, 1.0f, dgh, H3, h0, H, 1.0f,
                    dw_hh, H);
    advml_rnn_add_col_sums(db_ih, dgx, TN, H3); /* db_ih += sum_t,n dA_t */
    advml_rnn_add_col_sums(db_hh, dgh, TN, H3); /* db_hh += sum_t,n dR_t */
    advml_rnn_to_time_major(xt, x, N, T, F);
    /* dW_ih (3H, F) += dA^T (3H, T*N) @ x (T*N, F) */
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, H3, F, T * N, 1.0f, dgx, H3, xt, F, 1.0f,
                dw_ih, F);
    if (dx) { /* dx (T*N, F) = dA @ W_ih (3H, F), then added batch-major */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T * N, F, H3, 1.0f, dgx, H3, w_ih,
                    F, 0.0f, xt, F);
        advml_rnn_add_from_time_major(dx, xt, N, T, F);
    }
}

/* ---- the "gru" layer kind ------------------------------------------------------ */

static const advml_rnn_view_spec gru_views[] = {
    {"weight_ih", 3, ADVML_RNN_VIEW_INPUT},     /* (3H, F) */
    {"weight_hh", 3, ADVML_RNN_VIEW_RECURRENT}, /* (3H, H) */
    {"bias_ih", 3, ADVML_RNN_VIEW_BIAS},        /* (3H) */
    {"bias_hh", 3, ADVML_RNN_VIEW_BIAS},        /* (3H) */
};

static advml_seq_dims gru_layer_dims(const advml_layer *L, int B)
{
    advml_seq_dims d = {B, L->in_shape.d[0], L->in_shape.d[1], L->spec.units,
                        L->spec.return_sequences ? 1 : 0};
    return d;
}

static advml_status gru_setup(advml_layer *L, advml_shape in_shape, int max_batch,
                              advml_error *err)
{
    advml_seq_dims d = {0, 0, 0, 0, 0};
    advml_status st = advml_rnn_setup_common(L, "gru", in_shape, max_batch, 0, gru_views, 4, &d,
                                             err);
    if (st != ADVML_OK)
        return st;
    advml_seq_dims one = d;
    one.N = 1;
    L->state_per_sample = advml_gru_state_floats(&one) * sizeof(float);
    L->scratch_floats = advml_gru_scratch_floats(&d);
    return ADVML_OK;
}

static void gru_init(advml_layer *L, float *params, advml_rng *rng)
{
    const int F = L->in_shape.d[1], H = L->spec.units;
    float *w_hh = params + L->views[1].offset;
    advml_init_glorot(params + L->views[0].offset, L->views[0].size, F, 3 * H, rng);
    for (int gate = 0; gate < 3; gate++)
        advml_init_orthogonal(w_hh + (size_t)gate * H * H, H, rng);
    memset(params + L->views[2].offset, 0, L->views[2].size * sizeof(float));
    memset(params + L->views[3].offset, 0, L->views[3].size * sizeof(float));
}

static void gru_forward(advml_layer *L, float *z, const float *in, const float *params,
                        const advml_ctx *ctx)
{
    advml_seq_dims d = gru_layer_dims(L, ctx->B);
    advml_gru_forward(z, (float *)L->state, ctx->scratch, in, NULL, params + L->views[0].offset,
                      params + L->views[1].offset, params + L->views[2].offset,
                      params + L->views[3].offset, &d);
}

static void gru_backward(advml_layer *L, float *dinp, float *dparams, const float *dz,
                         const float *in, const float *params, const advml_ctx *ctx)
{
    advml_seq_dims d = gru_layer_dims(L, ctx->B);
    advml_gru_backward(dinp, NULL, dparams + L->views[0].offset, dparams + L->views[1].offset,
                       dparams + L->views[2].offset, dparams + L->views[3].offset, ctx->scratch,
                       dz, (const float *)L->state, in, NULL, params + L->views[0].offset,
                       params + L->views[1].offset, &d);
}

const advml_layer_kind advml_gru_kind = {
    .name = "gru",
    .class_name = "GRU",
    .post_act = 0,
    .setup = gru_setup,
    .init = gru_init,
    .forward = gru_forward,
    .backward = gru_backward,
    .keys = advml_rnn_gated_keys,
    .defaults = advml_rnn_gated_defaults,
    .aliases = ADVML_NAMES("GRU"),
};

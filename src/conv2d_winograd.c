/* conv2d_winograd.c - 3x3 stride-1 convolution by Winograd's minimal filtering
 * F(2x2, 3x3) (Lavin & Gray, "Fast Algorithms for Convolutional Neural
 * Networks", 2016), with every product a cblas_sgemm. advml_conv2d_forward and
 * advml_conv2d_backward call these when d->algo == ADVML_CONV_WINOGRAD.
 *
 * The output is cut into 2x2 tiles; tile t reads the 4x4 input patch d_t
 * starting at (2*ty - PT, 2*tx - PL) (zeros outside the image). With
 *   B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]
 *   G   = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1]
 *   A^T = [1 1 1 0; 0 1 -1 -1]
 * and the 16 positions xi of a 4x4 transform as the batch index of 16 GEMMs:
 *   V = B^T d B                 (16, T, C)    input tiles
 *   U = G g G^T                 (16, OC, C)   kernels
 *   M_xi = V_xi @ U_xi^T        (16, T, OC)
 *   y = A^T M A (+ bias)        2x2 output tile, cropped to (OH, OW)
 * Backward is the adjoint of each step (the same algebra, transposed):
 *   dM = A dy A^T               (16, T, OC)
 *   dU_xi += dM_xi^T @ V_xi     (16, OC, C),  dkernel += G^T dU G
 *   dV_xi  = dM_xi @ U_xi       (16, T, C),   dinp += scatter of B dV B^T
 * 2.25x fewer multiplications than im2col; the transforms are adds. Channels
 * are the innermost index of the tiles (V, M and a channels-last copy of the
 * padded sample), so each transform is a loop over channels the compiler
 * vectorises. Samples are processed in chunks of about WG_CHUNK_TILES tiles
 * so V and M stay in cache. Nothing here allocates; the scratch comes from
 * the caller.
 */
#include "advml/conv2d.h"

#include <cblas.h>
#include <string.h>

/* Tiles per chunk: enough columns for efficient GEMMs, few enough that the
 * chunk's V and M (16 * (C + OC) * tiles floats) stay near the core. For the
 * MNIST CNN's second layer (14x14, 32 -> 64) 392 tiles (8 samples, V and M
 * 2.4 MB) ran a 2-rank step 1.7% faster than 192 on a Zen 2 host with 512 KB
 * of L2 and 16 MB of L3 per core complex. */
#define WG_CHUNK_TILES 392

typedef struct wg_plan {
    int TH, TW;  /* tiles down and across one sample */
    int T;       /* tiles per sample */
    int nb;      /* samples per chunk (at most) */
    int HP, WP;  /* extent of the zero-padded sample the tiles read */
} wg_plan;

static void wg_plan_make(const advml_conv2d_dims *d, wg_plan *p)
{
    p->TH = (d->OH + 1) / 2;
    p->TW = (d->OW + 1) / 2;
    p->T = p->TH * p->TW;
    p->nb = WG_CHUNK_TILES / p->T;
    if (p->nb < 1)
        p->nb = 1;
    p->HP = 2 * p->TH + 2;
    p->WP = 2 * p->TW + 2;
}

void advml_conv2d_winograd_plan(const advml_conv2d_dims *d, int *tiles_per_sample,
                                int *samples_per_chunk)
{
    wg_plan p;
    wg_plan_make(d, &p);
    *tiles_per_sample = p.T;
    *samples_per_chunk = p.nb;
}

int advml_conv2d_winograd_applies(const advml_conv2d_dims *d)
{
    return d->KH == 3 && d->KW == 3 && d->SH == 1 && d->SW == 1 && d->OH > 0 && d->OW > 0;
}

/* Scratch layout: U, dU (16, OC, C) each; V (16, nb*T, C); M (16, nb*T, OC);
 * one padded sample, channels last (HP, WP, C); one sample's output tiles,
 * channels last (2*TH, 2*TW, OC); 16 C floats for one tile; one sample
 * (C, H, W). */
size_t advml_conv2d_winograd_scratch(const advml_conv2d_dims *d)
{
    wg_plan p;
    wg_plan_make(d, &p);
    const size_t tiles = (size_t)p.nb * p.T;
    return 2 * 16 * (size_t)d->OC * d->C + 16 * (size_t)d->C * tiles + 16 * (size_t)d->OC * tiles +
           (size_t)d->C * p.HP * p.WP + (size_t)4 * p.T * d->OC + 16 * (size_t)d->C + (size_t)d->C * d->H * d->W;
}

/* The scratch carved up (see advml_conv2d_winograd_scratch). */
typedef struct wg_bufs {
    float *U, *dU; /* (16, OC, C) */
    float *V;      /* (16, tiles, C) */
    float *M;      /* (16, tiles, OC) */
    float *pad;    /* (HP, WP, C) */
    float *hwc;    /* (2*TH, 2*TW, OC): one sample's output (gradient), channels last */
    float *bt;     /* (16, C): one tile's half-transformed patch */
    float *img;    /* (C, H, W): one sample's input gradient */
} wg_bufs;

static void wg_bufs_make(float *scratch, const advml_conv2d_dims *d, const wg_plan *p, wg_bufs *b)
{
    const size_t tiles = (size_t)p->nb * p->T, uc = 16 * (size_t)d->OC * d->C;
    b->U = scratch;
    b->dU = b->U + uc;
    b->V = b->dU + uc;
    b->M = b->V + 16 * tiles * d->C;
    b->pad = b->M + 16 * tiles * d->OC;
    b->hwc = b->pad + (size_t)p->HP * p->WP * d->C;
    b->bt = b->hwc + (size_t)4 * p->T * d->OC;
    b->img = b->bt + 16 * (size_t)d->C;
}

/* U (16, OC, C) = G g G^T for every kernel g (OC, C, 3, 3). */
static void kernel_transform(float *restrict U, const float *restrict kernel, int OC, int C)
{
    const size_t stride = (size_t)OC * C;
    for (size_t i = 0; i < stride; i++) {
        const float *g = kernel + 9 * i;
        float t[4][3]; /* G g: rows */
        for (int j = 0; j < 3; j++) {
            t[0][j] = g[j];
            t[1][j] = 0.5f * (g[j] + g[3 + j] + g[6 + j]);
            t[2][j] = 0.5f * (g[j] - g[3 + j] + g[6 + j]);
            t[3][j] = g[6 + j];
        }
        for (int r = 0; r < 4; r++) { /* (G g) G^T: columns */
            U[(4 * r + 0) * stride + i] = t[r][0];
            U[(4 * r + 1) * stride + i] = 0.5f * (t[r][0] + t[r][1] + t[r][2]);
            U[(4 * r + 2) * stride + i] = 0.5f * (t[r][0] - t[r][1] + t[r][2]);
            U[(4 * r + 3) * stride + i] = t[r][2];
        }
    }
}

/* dkernel (OC, C, 3, 3) += G^T dU G (the adjoint of kernel_transform). */
static void kernel_transform_adjoint(float *restrict dkernel, const float *restrict dU, int OC, int C)
{
    const size_t stride = (size_t)OC * C;
    for (size_t i = 0; i < stride; i++) {
        float u[4][4], t[4][3];
        for (int x = 0; x < 16; x++)
            u[x / 4][x % 4] = dU[x * stride + i];
        for (int r = 0; r < 4; r++) { /* u G: columns */
            t[r][0] = u[r][0] + 0.5f * (u[r][1] + u[r][2]);
            t[r][1] = 0.5f * (u[r][1] - u[r][2]);
            t[r][2] = 0.5f * (u[r][1] + u[r][2]) + u[r][3];
        }
        float *g = dkernel + 9 * i;
        for (int j = 0; j < 3; j++) { /* G^T (u G): rows */
            g[j] += t[0][j] + 0.5f * (t[1][j] + t[2][j]);
            g[3 + j] += 0.5f * (t[1][j] - t[2][j]);
            g[6 + j] += 0.5f * (t[1][j] + t[2][j]) + t[3][j];
        }
    }
}

/* pad (HP, WP, C) = img (C, H, W) shifted by (PT, PL) into zeros, channels
 * last: one transposing copy (cblas_somatcopy) per image row. */
static void pad_sample(float *restrict pad, const float *restrict img, const advml_conv2d_dims *d,
                       const wg_plan *p)
{
    const int C = d->C, H = d->H, W = d->W, WP = p->WP;
    memset(pad, 0, (size_t)p->HP * WP * C * sizeof *pad);
    const int rows = H < p->HP - d->PT ? H : p->HP - d->PT, cols = W < WP - d->PL ? W : WP - d->PL;
    if (rows <= 0 || cols <= 0)
        return;
    for (int y = 0; y < rows; y++) /* (C, cols) with stride H*W -> (cols, C) */
        cblas_somatcopy(CblasRowMajor, CblasTrans, C, cols, 1.0f, img + (size_t)y * W, H * W,
                        pad + ((size_t)(y + d->PT) * WP + d->PL) * C, C);
}

/* img (C, H, W) += the image part of pad (HP, WP, C) (the adjoint of
 * pad_sample); tmp: scratch (C, H, W). */
static void unpad_add(float *restrict img, const float *restrict pad, float *restrict tmp,
                      const advml_conv2d_dims *d, const wg_plan *p)
{
    const int C = d->C, H = d->H, W = d->W, WP = p->WP;
    const int rows = H < p->HP - d->PT ? H : p->HP - d->PT, cols = W < WP - d->PL ? W : WP - d->PL;
    if (rows <= 0 || cols <= 0)
        return;
    for (int y = 0; y < rows; y++) /* (cols, C) -> (C, cols) with stride H*W */
        cblas_somatcopy(CblasRowMajor, CblasTrans, cols, C, 1.0f, pad + ((size_t)(y + d->PT) * WP + d->PL) * C, C,
                        tmp + (size_t)y * W, H * W);
    for (int c = 0; c < C; c++)
        for (int y = 0; y < rows; y++) {
            float *restrict dst = img + ((size_t)c * H + y) * W;
            const float *restrict src = tmp + ((size_t)c * H + y) * W;
            for (int x = 0; x < cols; x++)
                dst[x] += src[x];
        }
}

/* V (16, ld, C) rows [t0, t0 + T) = B^T d B of every tile of the padded
 * sample pad (HP, WP, C); one loop over the channels per tile. */
static void input_transform(float *restrict V, size_t ld, size_t t0, const float *restrict pad,
                            float *restrict bt, int C, const wg_plan *p)
{
    const size_t plane = ld * (size_t)C; /* floats between two xi */
    const size_t rs = (size_t)p->WP * C;  /* floats between two rows of pad */
    for (int ty = 0; ty < p->TH; ty++)
        for (int tx = 0; tx < p->TW; tx++) {
            const float *x0 = pad + (size_t)(2 * ty) * rs + (size_t)(2 * tx) * C;
            const float *x1 = x0 + rs, *x2 = x1 + rs, *x3 = x2 + rs;
            float *restrict v = V + (t0 + (size_t)ty * p->TW + tx) * C;
            for (int j = 0; j < 4; j++) { /* B^T d: rows, column j of the patch */
                const float *restrict d0 = x0 + j * C, *restrict d1 = x1 + j * C, *restrict d2 = x2 + j * C,
                                      *restrict d3 = x3 + j * C;
                float *restrict b0 = bt + j * C, *restrict b1 = bt + (4 + j) * C, *restrict b2 = bt + (8 + j) * C,
                                *restrict b3 = bt + (12 + j) * C;
                for (int c = 0; c < C; c++) {
                    b0[c] = d0[c] - d2[c];
                    b1[c] = d1[c] + d2[c];
                    b2[c] = d2[c] - d1[c];
                    b3[c] = d1[c] - d3[c];
                }
            }
            for (int r = 0; r < 4; r++) { /* (B^T d) B: columns of row r */
                const float *restrict a0 = bt + 4 * r * C, *restrict a1 = a0 + C, *restrict a2 = a1 + C,
                                      *restrict a3 = a2 + C;
                float *restrict o0 = v + (4 * r) * plane, *restrict o1 = o0 + plane, *restrict o2 = o1 + plane,
                                *restrict o3 = o2 + plane;
                for (int c = 0; c < C; c++) {
                    o0[c] = a0[c] - a2[c];
                    o1[c] = a1[c] + a2[c];
                    o2[c] = a2[c] - a1[c];
                    o3[c] = a1[c] - a3[c];
                }
            }
        }
}

/* pad (HP, WP, C) += B dV B^T of every tile (the adjoint of input_transform)
 * from dV (16, ld, C) rows [t0, t0 + T). Neighbouring tiles overlap by two
 * rows and columns; their contributions add. */
static void input_transform_adjoint(float *restrict pad, const float *restrict dV, size_t ld,
                                    size_t t0, float *restrict bt, int C, const wg_plan *p)
{
    const size_t plane = ld * (size_t)C;
    const size_t rs = (size_t)p->WP * C;
    for (int ty = 0; ty < p->TH; ty++)
        for (int tx = 0; tx < p->TW; tx++) {
            float *x0 = pad + (size_t)(2 * ty) * rs + (size_t)(2 * tx) * C;
            float *x1 = x0 + rs, *x2 = x1 + rs, *x3 = x2 + rs;
            const float *restrict v = dV + (t0 + (size_t)ty * p->TW + tx) * C;
            for (int r = 0; r < 4; r++) { /* dV B^T: row r */
                const float *restrict u0 = v + (4 * r) * plane, *restrict u1 = u0 + plane, *restrict u2 = u1 + plane,
                                      *restrict u3 = u2 + plane;
                float *restrict a0 = bt + 4 * r * C, *restrict a1 = a0 + C, *restrict a2 = a1 + C,
                                *restrict a3 = a2 + C;
                for (int c = 0; c < C; c++) {
                    a0[c] = u0[c];
                    a1[c] = u1[c] - u2[c] + u3[c];
                    a2[c] = u1[c] + u2[c] - u0[c];
                    a3[c] = -u3[c];
                }
            }
            for (int j = 0; j < 4; j++) { /* B (dV B^T): column j, added into the patch */
                const float *restrict b0 = bt + j * C, *restrict b1 = bt + (4 + j) * C, *restrict b2 = bt + (8 + j) * C,
                                      *restrict b3 = bt + (12 + j) * C;
                float *restrict d0 = x0 + j * C, *restrict d1 = x1 + j * C, *restrict d2 = x2 + j * C,
                                *restrict d3 = x3 + j * C;
                for (int c = 0; c < C; c++) {
                    d0[c] += b0[c];
                    d1[c] += b1[c] - b2[c] + b3[c];
                    d2[c] += b1[c] + b2[c] - b0[c];
                    d3[c] -= b3[c];
                }
            }
        }
}

/* y (OC, OH, OW) = A^T M A (+ bias) from M (16, ld, OC) rows [t0, t0 + T).
 * The tiles go to hwc (2*TH, 2*TW, OC), channels last, then one transposing
 * copy per output row (cblas_somatcopy) puts them in place. */
static void output_transform(float *restrict y, const float *restrict M, size_t ld, size_t t0,
                             const float *restrict bias, float *restrict hwc, const advml_conv2d_dims *d,
                             const wg_plan *p)
{
    const int OC = d->OC, OH = d->OH, OW = d->OW;
    const size_t plane = ld * (size_t)OC, rs = (size_t)2 * p->TW * OC; /* rs: one row of hwc */
    for (int ty = 0; ty < p->TH; ty++)
        for (int tx = 0; tx < p->TW; tx++) {
            const float *restrict m = M + (t0 + (size_t)ty * p->TW + tx) * OC;
            const float *restrict mx[16];
            for (int x = 0; x < 16; x++)
                mx[x] = m + x * plane;
            float *restrict y00 = hwc + (size_t)(2 * ty) * rs + (size_t)(2 * tx) * OC;
            float *restrict y01 = y00 + OC, *restrict y10 = y00 + rs, *restrict y11 = y10 + OC;
            for (int oc = 0; oc < OC; oc++) {
                const float bv = bias ? bias[oc] : 0.0f;
                /* A^T M: row 0 = m0j + m1j + m2j, row 1 = m1j - m2j - m3j (mij = mx[4i + j]) */
                const float s00 = mx[0][oc] + mx[4][oc] + mx[8][oc], s01 = mx[1][oc] + mx[5][oc] + mx[9][oc];
                const float s02 = mx[2][oc] + mx[6][oc] + mx[10][oc], s03 = mx[3][oc] + mx[7][oc] + mx[11][oc];
                const float s10 = mx[4][oc] - mx[8][oc] - mx[12][oc], s11 = mx[5][oc] - mx[9][oc] - mx[13][oc];
                const float s12 = mx[6][oc] - mx[10][oc] - mx[14][oc], s13 = mx[7][oc] - mx[11][oc] - mx[15][oc];
                y00[oc] = bv + s00 + s01 + s02; /* (A^T M) A */
                y01[oc] = bv + s01 - s02 - s03;
                y10[oc] = bv + s10 + s11 + s12;
                y11[oc] = bv + s11 - s12 - s13;
            }
        }
    for (int oy = 0; oy < OH; oy++) /* (OW, OC) -> (OC, OW) with stride OH*OW */
        cblas_somatcopy(CblasRowMajor, CblasTrans, OW, OC, 1.0f, hwc + (size_t)oy * rs, OC, y + (size_t)oy * OW,
                        OH * OW);
}

/* dM (16, ld, OC) rows [t0, t0 + T) = A dy A^T of every output tile of
 * dy (OC, OH, OW) (zeros past the edge; the adjoint of output_transform);
 * hwc: scratch (2*TH, 2*TW, OC) for dy channels last. */
static void output_transform_adjoint(float *restrict dM, size_t ld, size_t t0, const float *restrict dy,
                                     float *restrict hwc, const advml_conv2d_dims *d, const wg_plan *p)
{
    const int OC = d->OC, OH = d->OH, OW = d->OW;
    const size_t plane = ld * (size_t)OC, rs = (size_t)2 * p->TW * OC;
    for (int oy = 0; oy < OH; oy++) { /* (OC, OW) with stride OH*OW -> (OW, OC) */
        cblas_somatcopy(CblasRowMajor, CblasTrans, OC, OW, 1.0f, dy + (size_t)oy * OW, OH * OW,
                        hwc + (size_t)oy * rs, OC);
        if (OW % 2) /* the right edge's missing column */
            memset(hwc + (size_t)oy * rs + (size_t)OW * OC, 0, (size_t)OC * sizeof *hwc);
    }
    if (OH % 2) /* the bottom edge's missing row */
        memset(hwc + (size_t)OH * rs, 0, rs * sizeof *hwc);
    for (int ty = 0; ty < p->TH; ty++)
        for (int tx = 0; tx < p->TW; tx++) {
            const float *restrict e00 = hwc + (size_t)(2 * ty) * rs + (size_t)(2 * tx) * OC;
            const float *restrict e01 = e00 + OC, *restrict e10 = e00 + rs, *restrict e11 = e10 + OC;
            float *restrict m = dM + (t0 + (size_t)ty * p->TW + tx) * OC;
            /* A dy, by rows: (e00, e01), (e00 + e10, e01 + e11), (e00 - e10, e01 - e11),
             * (-e10, -e11); then each row (qa, qb) times A^T: (qa, qa + qb, qa - qb, -qb) */
            float *restrict o[16];
            for (int x = 0; x < 16; x++)
                o[x] = m + x * plane;
            for (int oc = 0; oc < OC; oc++) {
                const float qa = e00[oc], qb = e01[oc];
                o[0][oc] = qa, o[1][oc] = qa + qb, o[2][oc] = qa - qb, o[3][oc] = -qb;
            }
            for (int oc = 0; oc < OC; oc++) {
                const float qa = e00[oc] + e10[oc], qb = e01[oc] + e11[oc];
                o[4][oc] = qa, o[5][oc] = qa + qb, o[6][oc] = qa - qb, o[7][oc] = -qb;
            }
            for (int oc = 0; oc < OC; oc++) {
                const float qa = e00[oc] - e10[oc], qb = e01[oc] - e11[oc];
                o[8][oc] = qa, o[9][oc] = qa + qb, o[10][oc] = qa - qb, o[11][oc] = -qb;
            }
            for (int oc = 0; oc < OC; oc++) {
                const float qa = -e10[oc], qb = -e11[oc];
                o[12][oc] = qa, o[13][oc] = qa + qb, o[14][oc] = qa - qb, o[15][oc] = -qb;
            }
        }
}

/* V (16, nb*T, C) = the input tiles of samples [b0, b0 + nb) of in (B, C, H, W). */
static void chunk_input_transform(const wg_bufs *w, const float *in, int b0, int nb, const advml_conv2d_dims *d,
                                  const wg_plan *p)
{
    const size_t in_size = (size_t)d->C * d->H * d->W, ld = (size_t)nb * p->T;
    for (int s = 0; s < nb; s++) {
        pad_sample(w->pad, in + (size_t)(b0 + s) * in_size, d, p);
        input_transform(w->V, ld, (size_t)s * p->T, w->pad, w->bt, d->C, p);
    }
}

void advml_conv2d_winograd_forward(float *out, float *scratch, const float *in, const float *kernel,
                                   const float *bias, const advml_conv2d_dims *d)
{
    wg_plan p;
    wg_plan_make(d, &p);
    wg_bufs w;
    wg_bufs_make(scratch, d, &p, &w);
    const int OC = d->OC, C = d->C;
    const size_t out_size = (size_t)OC * d->OH * d->OW;
    kernel_transform(w.U, kernel, OC, C);
    for (int b0 = 0; b0 < d->B; b0 += p.nb) {
        const int nb = d->B - b0 < p.nb ? d->B - b0 : p.nb;
        const size_t ld = (size_t)nb * p.T;
        chunk_input_transform(&w, in, b0, nb, d, &p);
        for (int x = 0; x < 16; x++) /* M_xi (tiles, OC) = V_xi (tiles, C) @ U_xi^T (C, OC) */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)ld, OC, C, 1.0f, w.V + (size_t)x * ld * C,
                        C, w.U + (size_t)x * OC * C, C, 0.0f, w.M + (size_t)x * ld * OC, OC);
        for (int s = 0; s < nb; s++)
            output_transform(out + (size_t)(b0 + s) * out_size, w.M, ld, (size_t)s * p.T, bias, w.hwc, d, &p);
    }
}

void advml_conv2d_winograd_backward(float *dinp, float *dkernel, float *scratch, const float *dout,
                                    const float *in, const float *kernel,
                                    const advml_conv2d_dims *d)
{
    wg_plan p;
    wg_plan_make(d, &p);
    wg_bufs w;
    wg_bufs_make(scratch, d, &p, &w);
    const int OC = d->OC, C = d->C;
    const size_t in_size = (size_t)C * d->H * d->W, out_size = (size_t)OC * d->OH * d->OW;
    if (d->B <= 0)
        return;
    if (dinp)
        kernel_transform(w.U, kernel, OC, C);
    for (int b0 = 0; b0 < d->B; b0 += p.nb) {
        const int nb = d->B - b0 < p.nb ? d->B - b0 : p.nb;
        const size_t ld = (size_t)nb * p.T;
        chunk_input_transform(&w, in, b0, nb, d, &p);
        for (int s = 0; s < nb; s++)
            output_transform_adjoint(w.M, ld, (size_t)s * p.T, dout + (size_t)(b0 + s) * out_size, w.hwc, d, &p);
        const float beta = b0 == 0 ? 0.0f : 1.0f;
        for (int x = 0; x < 16; x++) /* dU_xi (OC, C) += dM_xi^T (OC, tiles) @ V_xi (tiles, C) */
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, OC, C, (int)ld, 1.0f, w.M + (size_t)x * ld * OC,
                        OC, w.V + (size_t)x * ld * C, C, beta, w.dU + (size_t)x * OC * C, C);
        if (!dinp)
            continue;
        for (int x = 0; x < 16; x++) /* dV_xi (tiles, C) = dM_xi (tiles, OC) @ U_xi (OC, C) */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)ld, C, OC, 1.0f, w.M + (size_t)x * ld * OC,
                        OC, w.U + (size_t)x * OC * C, C, 0.0f, w.V + (size_t)x * ld * C, C);
        for (int s = 0; s < nb; s++) {
            memset(w.pad, 0, (size_t)p.HP * p.WP * C * sizeof *w.pad);
            input_transform_adjoint(w.pad, w.V, ld, (size_t)s * p.T, w.bt, C, &p);
            unpad_add(dinp + (size_t)(b0 + s) * in_size, w.pad, w.img, d, &p);
        }
    }
    kernel_transform_adjoint(dkernel, w.dU, OC, C);
}

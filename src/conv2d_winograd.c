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
 *   V = B^T d B                 (16, C, T)    input tiles
 *   U = G g G^T                 (16, OC, C)   kernels
 *   M_xi = U_xi @ V_xi          (16, OC, T)
 *   y = A^T M A (+ bias)        2x2 output tile, cropped to (OH, OW)
 * Backward is the adjoint of each step (the same algebra, transposed):
 *   dM = A dy A^T               (16, OC, T)
 *   dU_xi += dM_xi @ V_xi^T     (16, OC, C),  dkernel += G^T dU G
 *   dV_xi  = U_xi^T @ dM_xi     (16, C, T),   dinp += scatter of B dV B^T
 * 2.25x fewer multiplications than im2col; the transforms are adds. Samples
 * are processed in chunks of about WG_CHUNK_TILES tiles so V and M stay in
 * cache. Nothing here allocates; the scratch comes from the caller.
 */
#include "advml/conv2d.h"

#include <cblas.h>
#include <string.h>

/* Tiles per chunk: enough columns for efficient GEMMs, few enough that the
 * chunk's V and M (16 * (C + OC) * tiles floats) stay near the core. */
#define WG_CHUNK_TILES 192

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

/* Scratch layout: U, dU (16, OC, C) each; V (16, C, nb*T); M (16, OC, nb*T);
 * one padded sample (C, HP, WP). */
size_t advml_conv2d_winograd_scratch(const advml_conv2d_dims *d)
{
    wg_plan p;
    wg_plan_make(d, &p);
    const size_t tiles = (size_t)p.nb * p.T;
    return 2 * 16 * (size_t)d->OC * d->C + 16 * (size_t)d->C * tiles + 16 * (size_t)d->OC * tiles +
           (size_t)d->C * p.HP * p.WP;
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

/* pad (C, HP, WP) = img (C, H, W) shifted by (PT, PL) into zeros. */
static void pad_sample(float *restrict pad, const float *restrict img, const advml_conv2d_dims *d,
                       const wg_plan *p)
{
    const int H = d->H, W = d->W, HP = p->HP, WP = p->WP;
    memset(pad, 0, (size_t)d->C * HP * WP * sizeof *pad);
    const int rows = H < HP - d->PT ? H : HP - d->PT, cols = W < WP - d->PL ? W : WP - d->PL;
    if (rows <= 0 || cols <= 0)
        return;
    for (int c = 0; c < d->C; c++)
        for (int y = 0; y < rows; y++)
            memcpy(pad + ((size_t)c * HP + d->PT + y) * WP + d->PL, img + ((size_t)c * H + y) * W,
                   (size_t)cols * sizeof *pad);
}

/* V (16, C, ld) columns [t0, t0 + T) = B^T d B of every tile of the padded
 * sample pad (C, HP, WP). */
static void input_transform(float *restrict V, size_t ld, size_t t0, const float *restrict pad,
                            int C, const wg_plan *p)
{
    const size_t plane = ld * (size_t)C; /* floats between two xi */
    for (int c = 0; c < C; c++) {
        const float *img = pad + (size_t)c * p->HP * p->WP;
        float *v = V + (size_t)c * ld + t0;
        for (int ty = 0; ty < p->TH; ty++) {
            const float *r0 = img + (size_t)(2 * ty) * p->WP, *r1 = r0 + p->WP, *r2 = r1 + p->WP,
                        *r3 = r2 + p->WP;
            for (int tx = 0; tx < p->TW; tx++) {
                const int x = 2 * tx;
                float b[4][4]; /* B^T d: rows */
                for (int j = 0; j < 4; j++) {
                    b[0][j] = r0[x + j] - r2[x + j];
                    b[1][j] = r1[x + j] + r2[x + j];
                    b[2][j] = r2[x + j] - r1[x + j];
                    b[3][j] = r1[x + j] - r3[x + j];
                }
                float *o = v + (size_t)ty * p->TW + tx;
                for (int r = 0; r < 4; r++) { /* (B^T d) B: columns */
                    o[(4 * r + 0) * plane] = b[r][0] - b[r][2];
                    o[(4 * r + 1) * plane] = b[r][1] + b[r][2];
                    o[(4 * r + 2) * plane] = b[r][2] - b[r][1];
                    o[(4 * r + 3) * plane] = b[r][1] - b[r][3];
                }
            }
        }
    }
}

/* pad (C, HP, WP) += B dV B^T of every tile (the adjoint of input_transform)
 * from dV (16, C, ld) columns [t0, t0 + T). */
static void input_transform_adjoint(float *restrict pad, const float *restrict dV, size_t ld,
                                    size_t t0, int C, const wg_plan *p)
{
    const size_t plane = ld * (size_t)C;
    for (int c = 0; c < C; c++) {
        float *img = pad + (size_t)c * p->HP * p->WP;
        const float *v = dV + (size_t)c * ld + t0;
        for (int ty = 0; ty < p->TH; ty++) {
            float *r0 = img + (size_t)(2 * ty) * p->WP, *r1 = r0 + p->WP, *r2 = r1 + p->WP,
                  *r3 = r2 + p->WP;
            for (int tx = 0; tx < p->TW; tx++) {
                const float *o = v + (size_t)ty * p->TW + tx;
                float b[4][4]; /* dV B^T: columns */
                for (int r = 0; r < 4; r++) {
                    const float u0 = o[(4 * r + 0) * plane], u1 = o[(4 * r + 1) * plane],
                                u2 = o[(4 * r + 2) * plane], u3 = o[(4 * r + 3) * plane];
                    b[r][0] = u0;
                    b[r][1] = u1 - u2 + u3;
                    b[r][2] = u1 + u2 - u0;
                    b[r][3] = -u3;
                }
                const int x = 2 * tx;
                for (int j = 0; j < 4; j++) { /* B (dV B^T): rows */
                    r0[x + j] += b[0][j];
                    r1[x + j] += b[1][j] - b[2][j] + b[3][j];
                    r2[x + j] += b[1][j] + b[2][j] - b[0][j];
                    r3[x + j] -= b[3][j];
                }
            }
        }
    }
}

/* y (OC, OH, OW) = A^T M A (+ bias) from M (16, OC, ld) columns [t0, t0 + T). */
static void output_transform(float *restrict y, const float *restrict M, size_t ld, size_t t0,
                             const float *bias, const advml_conv2d_dims *d, const wg_plan *p)
{
    const size_t plane = ld * (size_t)d->OC;
    const int OH = d->OH, OW = d->OW;
    for (int oc = 0; oc < d->OC; oc++) {
        float *yo = y + (size_t)oc * OH * OW;
        const float *m = M + (size_t)oc * ld + t0;
        const float bv = bias ? bias[oc] : 0.0f;
        for (int ty = 0; ty < p->TH; ty++)
            for (int tx = 0; tx < p->TW; tx++) {
                const float *o = m + (size_t)ty * p->TW + tx;
                float s[2][4]; /* A^T M: rows */
                for (int j = 0; j < 4; j++) {
                    const float m0 = o[j * plane], m1 = o[(4 + j) * plane],
                                m2 = o[(8 + j) * plane], m3 = o[(12 + j) * plane];
                    s[0][j] = m0 + m1 + m2;
                    s[1][j] = m1 - m2 - m3;
                }
                const int oy = 2 * ty, ox = 2 * tx;
                for (int i = 0; i < 2 && oy + i < OH; i++) { /* (A^T M) A: columns */
                    float *row = yo + (size_t)(oy + i) * OW + ox;
                    row[0] = bv + s[i][0] + s[i][1] + s[i][2];
                    if (ox + 1 < OW)
                        row[1] = bv + s[i][1] - s[i][2] - s[i][3];
                }
            }
    }
}

/* dM (16, OC, ld) columns [t0, t0 + T) = A dy A^T of every output tile of
 * dy (OC, OH, OW) (zeros past the edge; the adjoint of output_transform). */
static void output_transform_adjoint(float *restrict dM, size_t ld, size_t t0,
                                     const float *restrict dy, const advml_conv2d_dims *d,
                                     const wg_plan *p)
{
    const size_t plane = ld * (size_t)d->OC;
    const int OH = d->OH, OW = d->OW;
    for (int oc = 0; oc < d->OC; oc++) {
        const float *g = dy + (size_t)oc * OH * OW;
        float *m = dM + (size_t)oc * ld + t0;
        for (int ty = 0; ty < p->TH; ty++)
            for (int tx = 0; tx < p->TW; tx++) {
                const int oy = 2 * ty, ox = 2 * tx;
                float e[2][2] = {{0.0f, 0.0f}, {0.0f, 0.0f}};
                for (int i = 0; i < 2 && oy + i < OH; i++) {
                    const float *row = g + (size_t)(oy + i) * OW + ox;
                    e[i][0] = row[0];
                    if (ox + 1 < OW)
                        e[i][1] = row[1];
                }
                float q[4][2]; /* A dy: rows */
                for (int j = 0; j < 2; j++) {
                    q[0][j] = e[0][j];
                    q[1][j] = e[0][j] + e[1][j];
                    q[2][j] = e[0][j] - e[1][j];
                    q[3][j] = -e[1][j];
                }
                float *o = m + (size_t)ty * p->TW + tx;
                for (int r = 0; r < 4; r++) { /* (A dy) A^T: columns */
                    o[(4 * r + 0) * plane] = q[r][0];
                    o[(4 * r + 1) * plane] = q[r][0] + q[r][1];
                    o[(4 * r + 2) * plane] = q[r][0] - q[r][1];
                    o[(4 * r + 3) * plane] = -q[r][1];
                }
            }
    }
}

void advml_conv2d_winograd_forward(float *out, float *scratch, const float *in, const float *kernel,
                                   const float *bias, const advml_conv2d_dims *d)
{
    wg_plan p;
    wg_plan_make(d, &p);
    const int OC = d->OC, C = d->C;
    const size_t in_size = (size_t)C * d->H * d->W, out_size = (size_t)OC * d->OH * d->OW;
    const size_t max_tiles = (size_t)p.nb * p.T;
    float *U = scratch;                          /* (16, OC, C) */
    float *V = U + 2 * 16 * (size_t)OC * C;      /* (16, C, tiles) */
    float *M = V + 16 * (size_t)C * max_tiles;   /* (16, OC, tiles) */
    float *pad = M + 16 * (size_t)OC * max_tiles; /* (C, HP, WP) */
    kernel_transform(U, kernel, OC, C);
    for (int b0 = 0; b0 < d->B; b0 += p.nb) {
        const int nb = d->B - b0 < p.nb ? d->B - b0 : p.nb;
        const size_t ld = (size_t)nb * p.T;
        for (int s = 0; s < nb; s++) {
            pad_sample(pad, in + (size_t)(b0 + s) * in_size, d, &p);
            input_transform(V, ld, (size_t)s * p.T, pad, C, &p);
        }
        for (int x = 0; x < 16; x++) /* M_xi (OC, tiles) = U_xi (OC, C) @ V_xi (C, tiles) */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, OC, (int)ld, C, 1.0f,
                        U + (size_t)x * OC * C, C, V + (size_t)x * C * ld, (int)ld, 0.0f,
                        M + (size_t)x * OC * ld, (int)ld);
        for (int s = 0; s < nb; s++)
            output_transform(out + (size_t)(b0 + s) * out_size, M, ld, (size_t)s * p.T, bias, d, &p);
    }
}

void advml_conv2d_winograd_backward(float *dinp, float *dkernel, float *scratch, const float *dout,
                                    const float *in, const float *kernel,
                                    const advml_conv2d_dims *d)
{
    wg_plan p;
    wg_plan_make(d, &p);
    const int OC = d->OC, C = d->C, H = d->H, W = d->W;
    const size_t in_size = (size_t)C * H * W, out_size = (size_t)OC * d->OH * d->OW;
    const size_t max_tiles = (size_t)p.nb * p.T;
    float *U = scratch;                           /* (16, OC, C) */
    float *dU = U + 16 * (size_t)OC * C;          /* (16, OC, C) */
    float *V = dU + 16 * (size_t)OC * C;          /* (16, C, tiles), then dV */
    float *dM = V + 16 * (size_t)C * max_tiles;   /* (16, OC, tiles) */
    float *pad = dM + 16 * (size_t)OC * max_tiles; /* (C, HP, WP) */
    if (d->B <= 0)
        return;
    if (dinp)
        kernel_transform(U, kernel, OC, C);
    for (int b0 = 0; b0 < d->B; b0 += p.nb) {
        const int nb = d->B - b0 < p.nb ? d->B - b0 : p.nb;
        const size_t ld = (size_t)nb * p.T;
        for (int s = 0; s < nb; s++) {
            pad_sample(pad, in + (size_t)(b0 + s) * in_size, d, &p);
            input_transform(V, ld, (size_t)s * p.T, pad, C, &p);
            output_transform_adjoint(dM, ld, (size_t)s * p.T, dout + (size_t)(b0 + s) * out_size, d, &p);
        }
        const float beta = b0 == 0 ? 0.0f : 1.0f;
        for (int x = 0; x < 16; x++) /* dU_xi (OC, C) += dM_xi (OC, tiles) @ V_xi^T (tiles, C) */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, OC, C, (int)ld, 1.0f,
                        dM + (size_t)x * OC * ld, (int)ld, V + (size_t)x * C * ld, (int)ld, beta,
                        dU + (size_t)x * OC * C, C);
        if (!dinp)
            continue;
        for (int x = 0; x < 16; x++) /* dV_xi (C, tiles) = U_xi^T (C, OC) @ dM_xi (OC, tiles) */
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, C, (int)ld, OC, 1.0f,
                        U + (size_t)x * OC * C, C, dM + (size_t)x * OC * ld, (int)ld, 0.0f,
                        V + (size_t)x * C * ld, (int)ld);
        for (int s = 0; s < nb; s++) {
            memset(pad, 0, (size_t)C * p.HP * p.WP * sizeof *pad);
            input_transform_adjoint(pad, V, ld, (size_t)s * p.T, C, &p);
            /* dinp (C, H, W) += the image part of pad */
            float *dx = dinp + (size_t)(b0 + s) * in_size;
            const int rows = H < p.HP - d->PT ? H : p.HP - d->PT;
            const int cols = W < p.WP - d->PL ? W : p.WP - d->PL;
            for (int c = 0; c < C; c++)
                for (int y = 0; y < rows; y++) {
                    float *restrict dst = dx + ((size_t)c * H + y) * W;
                    const float *restrict src = pad + ((size_t)c * p.HP + d->PT + y) * p.WP + d->PL;
                    for (int i = 0; i < cols; i++)
                        dst[i] += src[i];
                }
        }
    }
    kernel_transform_adjoint(dkernel, dU, OC, C);
}

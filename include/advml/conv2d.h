/* conv2d.h - 2-D convolution (cross-correlation, no kernel flip), NCHW,
 * im2col + cblas_sgemm, or Winograd F(2x2, 3x3) for 3x3 kernels at stride 1
 * (src/conv2d_winograd.c; the conv2d layer picks it for wide enough layers).
 *
 * Padding "same" follows Keras/TensorFlow: OH = ceil(H / SH) and the total
 * padding max((OH-1)*SH + KH - H, 0) is split top = total/2, bottom = rest
 * (for odd kernels at stride 1 that is the course's kernel//2 zeros on each
 * side). "valid": no padding, OH = (H - KH)/SH + 1.
 */
#ifndef ADVML_CONV2D_H
#define ADVML_CONV2D_H

#include "advml/status.h"

typedef struct advml_conv2d_dims {
    int B;           /* batch */
    int C, H, W;     /* input channels, height, width */
    int OC;          /* output channels (filters) */
    int KH, KW;      /* kernel height, width */
    int SH, SW;      /* vertical, horizontal stride */
    int PT, PL;      /* zero padding at top and left (bottom/right implied by OH, OW) */
    int OH, OW;      /* output height, width */
    int algo;        /* advml_conv_algo: how the kernels compute (0: im2col) */
} advml_conv2d_dims;

typedef enum advml_conv_algo {
    ADVML_CONV_IM2COL = 0,   /* any kernel and stride */
    ADVML_CONV_WINOGRAD = 1, /* 3x3 kernels at stride 1 only (advml_conv2d_winograd_applies) */
    ADVML_CONV_AUTO = 2,     /* a layer's choice: advml_conv2d_pick_algo (never in dims) */
} advml_conv_algo;

typedef enum advml_padding { ADVML_PAD_VALID = 0, ADVML_PAD_SAME = 1 } advml_padding;

/* Output size and top/left padding along one axis for input n, kernel k,
 * stride s. Returns ADVML_ERR_SHAPE (with *out = 0) when the kernel is larger
 * than the padded input. */
advml_status advml_conv_out_size(int n, int k, int s, advml_padding pad, int *out, int *pad_before);

/* Floats of scratch the forward and backward need with d->algo. im2col: the
 * im2col matrix (C*KH*KW, OH*OW) plus a zero-padded copy of one sample and a
 * little slack for blocked copies (so at least C*KH*KW*OH*OW). Winograd: the
 * transformed kernels and their gradient, one chunk of transformed tiles and
 * a padded sample. Independent of d->B. */
size_t advml_conv2d_col_size(const advml_conv2d_dims *d);

struct advml_layer;

/* d = the dims of a built conv2d layer L (include/advml/layer.h) at batch B,
 * with the algorithm its setup chose. */
void advml_conv2d_layer_dims(const struct advml_layer *L, int B, advml_conv2d_dims *d);

/* 1 when Winograd F(2x2, 3x3) can compute d (3x3 kernel, stride 1). */
int advml_conv2d_winograd_applies(const advml_conv2d_dims *d);

/* The algorithm the conv2d layer uses for d: Winograd where it applies and
 * the layer is wide enough (C and OC at least 8) for its small GEMMs to beat
 * im2col, im2col otherwise. */
advml_conv_algo advml_conv2d_pick_algo(const advml_conv2d_dims *d);

/* out (B, OC, OH, OW) = conv(in (B, C, H, W), kernel (OC, C, KH, KW)) + bias (OC).
 * bias may be NULL. col: scratch of advml_conv2d_col_size floats. Overwrites out.
 * d->algo must be ADVML_CONV_IM2COL or (where it applies) ADVML_CONV_WINOGRAD. */
void advml_conv2d_forward(float *out, float *col, const float *in, const float *kernel,
                          const float *bias, const advml_conv2d_dims *d);

/* Accumulates dkernel (OC, C, KH, KW) += ..., dbias (OC) += ... (if non-NULL)
 * and, when dinp is non-NULL, dinp (B, C, H, W) += ... from dout (B, OC, OH, OW). */
void advml_conv2d_backward(float *dinp, float *dkernel, float *dbias, float *col,
                           const float *dout, const float *in, const float *kernel,
                           const advml_conv2d_dims *d);

/* The Winograd kernels behind the two above, with the same contracts, except
 * that the backward leaves dbias to advml_conv2d_backward. scratch: at least
 * advml_conv2d_winograd_scratch floats. */
void advml_conv2d_winograd_forward(float *out, float *scratch, const float *in, const float *kernel,
                                   const float *bias, const advml_conv2d_dims *d);
void advml_conv2d_winograd_backward(float *dinp, float *dkernel, float *scratch, const float *dout,
                                    const float *in, const float *kernel,
                                    const advml_conv2d_dims *d);
size_t advml_conv2d_winograd_scratch(const advml_conv2d_dims *d);

/* The Winograd kernels' blocking: 2x2 output tiles per sample, and samples
 * per chunk (each chunk makes 16 GEMMs per product; the last chunk holds the
 * rest of the batch). For benchmarks that replay the GEMMs. */
void advml_conv2d_winograd_plan(const advml_conv2d_dims *d, int *tiles_per_sample,
                                int *samples_per_chunk);

#endif

/* conv2d.h - 2-D convolution (cross-correlation, no kernel flip), NCHW,
 * im2col + cblas_sgemm.
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
} advml_conv2d_dims;

typedef enum advml_padding { ADVML_PAD_VALID = 0, ADVML_PAD_SAME = 1 } advml_padding;

/* Output size and top/left padding along one axis for input n, kernel k,
 * stride s. Returns ADVML_ERR_SHAPE (with *out = 0) when the kernel is larger
 * than the padded input. */
advml_status advml_conv_out_size(int n, int k, int s, advml_padding pad, int *out, int *pad_before);

/* Floats of scratch the forward and backward need: the im2col matrix
 * (C*KH*KW, OH*OW) plus a zero-padded copy of one sample and a little slack
 * for blocked copies (so at least C*KH*KW*OH*OW). */
size_t advml_conv2d_col_size(const advml_conv2d_dims *d);

/* out (B, OC, OH, OW) = conv(in (B, C, H, W), kernel (OC, C, KH, KW)) + bias (OC).
 * bias may be NULL. col: scratch of advml_conv2d_col_size floats. Overwrites out. */
void advml_conv2d_forward(float *out, float *col, const float *in, const float *kernel,
                          const float *bias, const advml_conv2d_dims *d);

/* Accumulates dkernel (OC, C, KH, KW) += ..., dbias (OC) += ... (if non-NULL)
 * and, when dinp is non-NULL, dinp (B, C, H, W) += ... from dout (B, OC, OH, OW). */
void advml_conv2d_backward(float *dinp, float *dkernel, float *dbias, float *col,
                           const float *dout, const float *in, const float *kernel,
                           const advml_conv2d_dims *d);

#endif

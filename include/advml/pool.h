/* pool.h - 2-D max and average pooling, NCHW, "valid" windows. */
#ifndef ADVML_POOL_H
#define ADVML_POOL_H

#include <stdint.h>

typedef struct advml_pool2d_dims {
    int B, C, H, W;  /* input */
    int KH, KW;      /* window */
    int SH, SW;      /* stride */
    int OH, OW;      /* output: (H - KH)/SH + 1, (W - KW)/SW + 1 */
} advml_pool2d_dims;

/* out (B, C, OH, OW) = max over each window of in (B, C, H, W); argmax
 * (B, C, OH, OW) records the flat input offset (within its (H, W) plane) of
 * each maximum, first one on ties. */
void advml_maxpool2d_forward(float *out, int32_t *argmax, const float *in, const advml_pool2d_dims *d);
/* dinp (B, C, H, W) += dout routed to the recorded maxima. */
void advml_maxpool2d_backward(float *dinp, const float *dout, const int32_t *argmax, const advml_pool2d_dims *d);

void advml_avgpool2d_forward(float *out, const float *in, const advml_pool2d_dims *d);
/* dinp += dout / (KH*KW) spread over each window. */
void advml_avgpool2d_backward(float *dinp, const float *dout, const advml_pool2d_dims *d);

#endif

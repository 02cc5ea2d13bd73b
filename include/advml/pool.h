/* pool.h - 2-D max and average pooling, NCHW, "valid" windows. */
#ifndef ADVML_POOL_H
#define ADVML_POOL_H

#include <stdint.h>
#include "advml/layer.h"

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

/* Max pooling fused with a ReLU before it: out = maxpool(relu(in)), computed
 * as relu(maxpool(in)) (equal: ReLU is nondecreasing), without forming
 * relu(in). argmax as advml_maxpool2d_forward's, over in. */
void advml_maxpool2d_relu_forward(float *out, int32_t *argmax, const float *in,
                                  const advml_pool2d_dims *d);
/* dinp (B, C, H, W) = the gradient w.r.t. in of out = maxpool(relu(in)),
 * given dout (B, C, OH, OW) and the forward's out and argmax: dout routed to
 * the recorded maxima where out > 0 (relu' of the maximum), 0 everywhere
 * else. WRITES dinp (no accumulation: it replaces clearing dinp, routing the
 * pool's gradient and the ReLU backward, three passes over (B, C, H, W)). */
void advml_maxpool2d_relu_backward_write(float *dinp, const float *dout, const float *out,
                                         const int32_t *argmax, const advml_pool2d_dims *d);

/* The same for a "maxpool2d" layer L of a model (L->state holds the argmax,
 * L->z the layer's output): its forward over relu(in), z (B, out) =
 * maxpool(relu(in)), in (B, in) being the previous layer's pre-activation
 * output; and the backward that WRITES dinp (B, in), the gradient w.r.t. that
 * pre-activation output, from dz (B, out). */
void advml_maxpool2d_layer_relu_forward(advml_layer *L, float *z, const float *in,
                                        const advml_ctx *ctx);
void advml_maxpool2d_layer_relu_backward_write(advml_layer *L, float *dinp, const float *dz,
                                               const advml_ctx *ctx);

void advml_avgpool2d_forward(float *out, const float *in, const advml_pool2d_dims *d);
/* dinp += dout / (KH*KW) spread over each window. */
void advml_avgpool2d_backward(float *dinp, const float *dout, const advml_pool2d_dims *d);

#endif

/* dense.h - fully connected layer, cblas_sgemm. Weight layout (OUT, IN) as
 * PyTorch's nn.Linear. */
#ifndef ADVML_DENSE_H
#define ADVML_DENSE_H

/* out (B, OUT) = in (B, IN) @ weight(OUT, IN)^T + bias (OUT); bias may be NULL. */
void advml_dense_forward(float *out, const float *in, const float *weight, const float *bias,
                         int B, int IN, int OUT);

/* dweight (OUT, IN) += dout^T @ in; dbias (OUT) += column sums of dout (if non-NULL);
 * dinp (B, IN) += dout @ weight (skipped when dinp is NULL). */
void advml_dense_backward(float *dinp, float *dweight, float *dbias, const float *dout,
                          const float *in, const float *weight, int B, int IN, int OUT);

#endif

/* dropout.h - inverted dropout with counter-based masks.
 *
 * The keep decision for unit u of the sample with global index g at optimizer
 * step t is advml_hash_uniform(seed, t, g, key * 2^32 + u) >= rate, so a mask
 * does not depend on how a batch is split over ranks. Kept units are scaled by
 * 1/(1-rate); at evaluation the layer is the identity.
 */
#ifndef ADVML_DROPOUT_H
#define ADVML_DROPOUT_H

#include <stdint.h>
#include <stddef.h>

/* out (B, D) = in * mask, mask (B, D) in {0, 1/(1-rate)}; sample_ids (B) are
 * global sample indices (NULL means 0..B-1); key separates dropout layers. */
void advml_dropout_forward(float *out, float *mask, const float *in, int B, size_t D, float rate,
                           uint64_t seed, uint64_t step, uint64_t key, const int64_t *sample_ids);

/* dinp (n) += dout * mask */
void advml_dropout_backward(float *dinp, const float *dout, const float *mask, size_t n);

#endif

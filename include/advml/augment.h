/* augment.h - data augmentation of training samples (docs/training.md,
 * "Data augmentation"; the config's "training": {"augment": ...}).
 *
 * Every random choice is advml_hash_uniform keyed by (seed, epoch, global
 * sample index, draw): a pure function of the sample and the epoch, so a
 * sample is changed the same way whichever rank holds it, for any number of
 * ranks and after a resume. Evaluation never augments.
 *
 * For an image (C, H, W), in this order:
 *   shift:  dy, dx uniform in [-shift[0], shift[0]] x [-shift[1], shift[1]]:
 *           out[c][i][j] = in[c][i + dy][j + dx], pad outside the image
 *           (torchvision's RandomCrop(size, padding=shift) with zero padding
 *           of the raw image: pad is the normalised value of a raw 0)
 *   flip:   with probability 1/2, out[c][i][j] = in[c][i][W - 1 - j]
 *   noise:  out += noise * N(0, 1), each value its own draw (Box-Muller)
 * Noise also applies to sequences and feature vectors.
 */
#ifndef ADVML_AUGMENT_H
#define ADVML_AUGMENT_H

#include <stdint.h>
#include "advml/config.h"
#include "advml/shape.h"

/* 1 when a changes anything. */
int advml_augment_active(const advml_augment_config *a);

/* Augment the B samples x (B, in) in place; sample b is global sample
 * ids[b]. scratch holds one sample (size of in floats). */
void advml_augment_batch(const advml_augment_config *a, float *x, int B, const advml_shape *in, const int64_t *ids,
                         uint64_t seed, uint64_t epoch, float pad, float *scratch);

#endif

/* mnist.h - converting MNIST / Fashion-MNIST IDX files into an advml dataset file.
 *
 * The four files train-images-idx3-ubyte, train-labels-idx1-ubyte,
 * t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte (each plain or .gz) of a
 * directory become /train, /test and optionally /validation (the last
 * `validation` training images) with uint8 inputs (N, 1, H, W), int32 targets
 * (N) and 10 classes. Normalisation: scale 1/255, and mean/std 0.1307/0.3081
 * for MNIST (the course's PyTorch values) or computed from the train split for
 * Fashion-MNIST (or with compute_stats).
 */
#ifndef ADVML_MNIST_H
#define ADVML_MNIST_H

#include <stdint.h>
#include "advml/status.h"

typedef enum advml_mnist_kind {
    ADVML_MNIST_AUTO = 0,  /* Fashion-MNIST if the directory name says "fashion" or the
                              labels are exactly balanced 6000/1000 per class */
    ADVML_MNIST_DIGITS,    /* MNIST handwritten digits */
    ADVML_MNIST_FASHION    /* Fashion-MNIST (Zalando) */
} advml_mnist_kind;

typedef struct advml_mnist_opts {
    const char *from;          /* directory with the four IDX files */
    const char *out;           /* output .h5 */
    int force;                 /* overwrite an existing out */
    const char *command_line;  /* recorded in the file (may be NULL) */
    int64_t validation;        /* carve the last N training images into /validation (0: none) */
    advml_mnist_kind kind;
    int compute_stats;         /* compute mean/std from the train split even for MNIST */
} advml_mnist_opts;

/* Convert; the output appears atomically or not at all. Errors name the file
 * and problem (missing file, bad magic, count mismatch, truncation, labels
 * outside 0..9, image sizes that differ, unwritable output). */
advml_status advml_mnist_convert(const advml_mnist_opts *o, advml_error *err);

#endif

/* shape.h - per-sample tensor shapes (the batch dimension is never stored).
 *
 * rank 3: (C, H, W) images in NCHW order, rank 2: (T, F) sequences,
 * rank 1: (D) flat features. A batch of B samples of shape s is a contiguous
 * float array of B * advml_shape_size(&s) values.
 */
#ifndef ADVML_SHAPE_H
#define ADVML_SHAPE_H

#include <stddef.h>

#define ADVML_MAX_RANK 3

typedef struct advml_shape {
    int rank;                 /* 1, 2 or 3 */
    int d[ADVML_MAX_RANK];    /* d[0..rank-1]; unused entries are 0 */
} advml_shape;

advml_shape advml_shape1(int d0);
advml_shape advml_shape2(int d0, int d1);
advml_shape advml_shape3(int d0, int d1, int d2);

/* Number of floats per sample (product of the dims). */
size_t advml_shape_size(const advml_shape *s);

int advml_shape_equal(const advml_shape *a, const advml_shape *b);

/* The shape as text into buf (the one shape printer; each returns buf):
 *   advml_shape_str          "(None, 32, 28, 28)": a batch, Keras' summary form
 *   advml_shape_sample_str   "(32, 28, 28)": one sample
 *   advml_shape_describe     "images (1, 28, 28)", "sequences (20, 1)" or
 *                            "feature vectors (784)": what a sample is
 *   advml_shape_list_str     "[1, 28, 28]": as a config's "input" writes it */
char *advml_shape_str(const advml_shape *s, char *buf, size_t n);
char *advml_shape_sample_str(const advml_shape *s, char *buf, size_t n);
char *advml_shape_describe(const advml_shape *s, char *buf, size_t n);
char *advml_shape_list_str(const advml_shape *s, char *buf, size_t n);

#endif

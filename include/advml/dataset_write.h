/* dataset_write.h - writing advml's HDF5 dataset layout (docs/hdf5-layout.md).
 *
 * Every advml-data subcommand writes through these two calls, so one layout
 * serves MNIST, CSV tables and time series alike:
 *
 *   /                      attrs format="advml-dataset", format_version=1, kind,
 *                          source, description, advml_version, git_commit,
 *                          created, command_line
 *   /<split>/              split in {train, validation, test}; attrs description, num_samples
 *   /<split>/inputs        (N, C, H, W) uint8|float32 images, (N, T, F) float32
 *                          sequences or (N, D) float32 features; attrs layout,
 *                          scale, mean, std (x = (raw * scale - mean) / std),
 *                          feature_names (optional)
 *   /<split>/targets       (N) int32 class ids (attrs kind="class", num_classes,
 *                          class_names) or (N, K) float32 values (attrs
 *                          kind="value", names)
 */
#ifndef ADVML_DATASET_WRITE_H
#define ADVML_DATASET_WRITE_H

#include <stdint.h>
#include <hdf5.h>
#include "advml/shape.h"
#include "advml/status.h"

typedef struct advml_dsw_meta {
    const char *kind;          /* "images", "sequences" or "features" */
    const char *source;        /* where the data came from */
    const char *description;   /* what it is */
    const char *command_line;  /* the command that made the file (may be NULL) */
} advml_dsw_meta;

typedef struct advml_dsw_split {
    const char *name;                  /* "train", "validation" or "test" */
    const char *description;           /* e.g. "official MNIST training images 0..54999" */
    int64_t n;                         /* samples */
    advml_shape sample;                /* per-sample input shape (C, H, W), (T, F) or (D) */
    const void *inputs;                /* (n, sample) raw values, uint8 or float */
    int inputs_u8;                     /* 1: inputs are uint8, 0: float */
    double scale, mean, std;           /* normalisation: x = (raw * scale - mean) / std */
    const char *const *feature_names;  /* names of the last input dim (sequences/features), or NULL */
    int n_feature_names;
    const int32_t *classes;            /* (n) class ids in [0, num_classes), or NULL */
    int num_classes;
    const char *const *class_names;    /* num_classes names, or NULL */
    const float *values;               /* (n, target_dim) value targets, or NULL */
    int target_dim;
    const char *const *target_names;   /* target_dim names, or NULL */
} advml_dsw_split;

/* Write the root attributes of a dataset file (file: an open, writable file). */
advml_status advml_dsw_root(hid_t file, const advml_dsw_meta *m, advml_error *err);

/* Write one split group with its inputs and targets datasets (chunked along N,
 * shuffle + deflate) and their attributes. Exactly one of s->classes and
 * s->values must be set. Class ids are checked to lie in [0, num_classes). */
advml_status advml_dsw_split_write(hid_t file, const advml_dsw_split *s, advml_error *err);

/* Current UTC time as ISO 8601 ("2026-01-31T12:00:00Z") into buf. */
void advml_dsw_now_iso(char *buf, size_t n);

#endif

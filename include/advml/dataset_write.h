/* dataset_write.h - writing advml's HDF5 dataset layout (docs/hdf5-layout.md).
 *
 * Every advml-data subcommand writes through this module, so one layout
 * serves MNIST, CSV tables and time series alike, and none of them calls
 * HDF5 itself:
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
 *   /series/<name>         (n) float64 whole series a time-series file was cut from;
 *                          attrs description (and on /series what generated them)
 *
 * A file is written to PATH.tmp and renamed over PATH by advml_dsw_commit, so
 * an error never damages an existing PATH:
 *
 *   advml_dsw *w = NULL;
 *   if ((st = advml_dsw_create(&w, path, force, err)) || (st = advml_dsw_root(w, &meta, err)) ||
 *       (st = advml_dsw_split_write(w, &split, err)) || (st = advml_dsw_commit(&w, err)))
 *       ...                     (w is still set: the error is about writing path)
 *   advml_dsw_abort(w);
 */
#ifndef ADVML_DATASET_WRITE_H
#define ADVML_DATASET_WRITE_H

#include <stddef.h>
#include <stdint.h>
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

/* A dataset file being written (owns its open temporary file). */
typedef struct advml_dsw advml_dsw;

/* Create path's temporary file: see advml_h5out_create (an existing path
 * needs force; the directory must be writable). *w is NULL on failure. */
advml_status advml_dsw_create(advml_dsw **w, const char *path, int force, advml_error *err);

/* Write the root attributes of the dataset file. */
advml_status advml_dsw_root(advml_dsw *w, const advml_dsw_meta *m, advml_error *err);

/* Write one split group with its inputs and targets datasets (chunked along N,
 * shuffle + deflate) and their attributes. Exactly one of s->classes and
 * s->values must be set. Class ids are checked to lie in [0, num_classes). */
advml_status advml_dsw_split_write(advml_dsw *w, const advml_dsw_split *s, advml_error *err);

/* /series/<name>: the n float64 values v with a description. */
advml_status advml_dsw_series(advml_dsw *w, const char *name, const double *v, int64_t n, const char *desc,
                              advml_error *err);
/* Attributes of /series (what generated the series): text when set, else
 * the n_array doubles of array when set, else value, stored as int64 when
 * integer, else as a double. */
typedef struct advml_dsw_attr {
    const char *name, *text;
    double value;
    int integer;
    const double *array;   /* (n_array) values of a 1-D double attribute, or NULL */
    size_t n_array;
} advml_dsw_attr;
advml_status advml_dsw_series_attrs(advml_dsw *w, const advml_dsw_attr *attrs, int n, advml_error *err);

/* Close the file, sync it and rename it over the path; *w is freed and
 * NULL afterwards, whether it succeeds or not. */
advml_status advml_dsw_commit(advml_dsw **w, advml_error *err);

/* Close and remove the temporary file and free w (NULL: nothing to do). */
void advml_dsw_abort(advml_dsw *w);

#endif

/* dataset.h - reading advml's HDF5 dataset files (layout: docs/hdf5-layout.md).
 *
 * A file has one group per split ("train", "validation", "test"), each with an
 * "inputs" dataset (N, C, H, W) for images or (N, T, F) for sequences and a
 * "targets" dataset (N) of class ids or (N, K) of values. Reads convert to
 * float32 and apply the stored normalisation: x = (raw * scale - mean) / std.
 * Only the requested samples are read from disk unless the split was
 * preloaded.
 */
#ifndef ADVML_DATASET_H
#define ADVML_DATASET_H

#include <stdint.h>
#include "advml/status.h"
#include "advml/shape.h"

typedef struct advml_dataset advml_dataset;

typedef struct advml_split_info {
    int64_t n;              /* samples */
    advml_shape input;      /* per-sample input shape: (C, H, W) or (T, F) */
    int is_sequence;        /* 1 for (N, T, F) inputs */
    int target_dim;         /* 0: class ids (N); K: (N, K) values */
    int num_classes;        /* for class ids: the "num_classes" attribute (else 0) */
} advml_split_info;

/* Open read-only. *ds is owned by the caller; release with advml_dataset_close. */
advml_status advml_dataset_open(advml_dataset **ds, const char *path, advml_error *err);
void advml_dataset_close(advml_dataset *ds);
const char *advml_dataset_path(const advml_dataset *ds);

/* 1 if the split group exists. */
int advml_dataset_has_split(const advml_dataset *ds, const char *split);

/* Shapes of one split; ADVML_ERR_FORMAT naming file and split when missing or malformed. */
advml_status advml_dataset_info(advml_dataset *ds, const char *split, advml_split_info *info,
                                advml_error *err);

/* Read samples idx[0..n) (any order, repeats allowed) of split into x
 * (n, input) and y (n, max(1, target_dim)) (either may be NULL). */
advml_status advml_dataset_read(advml_dataset *ds, const char *split, const int64_t *idx, int64_t n,
                                float *x, float *y, advml_error *err);

/* Read the contiguous block [start, start + count). */
advml_status advml_dataset_read_block(advml_dataset *ds, const char *split, int64_t start, int64_t count,
                                      float *x, float *y, advml_error *err);

/* Hold a split in memory (raw dtype) if it fits within budget_bytes; later
 * reads come from memory. Sets *loaded to 1 if it did. */
advml_status advml_dataset_preload(advml_dataset *ds, const char *split, size_t budget_bytes, int *loaded,
                                   advml_error *err);

/* The split's stored normalisation: reads return (raw * scale - mean) / std. */
advml_status advml_dataset_norm(advml_dataset *ds, const char *split, double *scale, double *mean, double *std,
                                advml_error *err);

/* A list of names read from a dataset file. */
typedef struct advml_names {
    int n;
    char **v; /* (n) malloc'ed strings */
} advml_names;

/* The string-array attribute attr of the object obj ("/train/inputs") of the
 * file at path: feature_names, names or class_names (docs/hdf5-layout.md).
 * Empty (n = 0) when the file, object or attribute is missing or is not
 * strings: never an error. Release with advml_names_free. */
void advml_dataset_names(const char *path, const char *obj, const char *attr, advml_names *out);
void advml_names_free(advml_names *l);

/* Balanced contiguous shard of n samples for rank of nranks: [*start, *start + *count)
 * = [n * rank / nranks, n * (rank + 1) / nranks), so counts differ by at most one.
 * The shards cover 0..n-1 exactly once, in rank order. The one rank split:
 * the trainer's slice of a global batch and the predictor's block of a split. */
void advml_dataset_shard(int64_t n, int rank, int nranks, int64_t *start, int64_t *count);

#endif

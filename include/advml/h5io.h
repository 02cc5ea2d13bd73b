/* h5io.h - small HDF5 helpers shared by every writer and reader of advml files
 * (datasets, run files, checkpoints, predictions).
 *
 * Output is atomic: advml_h5out_create opens PATH.tmp, the caller writes,
 * advml_h5out_commit flushes, closes, fsyncs and renames it over PATH. A
 * crash or an error (advml_h5out_abort) never damages an existing PATH.
 * All helpers return a status and name the file/object in their messages; the
 * HDF5 library's own error stack printing is turned off by advml_h5_quiet().
 */
#ifndef ADVML_H5IO_H
#define ADVML_H5IO_H

#include <stdint.h>
#include <stddef.h>
#include <hdf5.h>
#include "advml/status.h"

typedef struct advml_h5out {
    hid_t file;                 /* open file (the temporary one) */
    char path[ADVML_PATH_MAX];  /* final path */
    char tmp[ADVML_PATH_MAX];   /* path + ".tmp" */
} advml_h5out;

/* Silence HDF5's automatic error-stack printing (advml reports its own). */
void advml_h5_quiet(void);

/* Create path.tmp for writing. If path exists and force is 0, fails with
 * ADVML_ERR_IO ("... exists; use --force"). Checks the directory is writable. */
advml_status advml_h5out_create(advml_h5out *o, const char *path, int force, advml_error *err);
/* Flush, close, fsync, rename over path. o->file is closed afterwards either way. */
advml_status advml_h5out_commit(advml_h5out *o, advml_error *err);
/* After a failed write into o: abort, and when the cause was a full disk or
 * quota (errno, free space), say so in err. Returns err's code. */
advml_status advml_h5out_fail(advml_h5out *o, advml_error *err);
/* Close and remove the temporary file (safe to call after a failed commit). */
void advml_h5out_abort(advml_h5out *o);

/* Create (or open) the group at path, making intermediate groups. Caller closes the hid_t. */
advml_status advml_h5_group(hid_t loc, const char *path, hid_t *group, advml_error *err);

/* Attributes on an object (overwritten if present). */
advml_status advml_h5_attr_string(hid_t obj, const char *name, const char *value, advml_error *err);
advml_status advml_h5_attr_int64(hid_t obj, const char *name, int64_t value, advml_error *err);
advml_status advml_h5_attr_double(hid_t obj, const char *name, double value, advml_error *err);
advml_status advml_h5_attr_doubles(hid_t obj, const char *name, const double *v, size_t n, advml_error *err);
/* Variable-length string array attribute (e.g. class names). */
advml_status advml_h5_attr_strings(hid_t obj, const char *name, const char *const *v, size_t n,
                                   advml_error *err);

/* Read attributes; ADVML_ERR_FORMAT naming the attribute when missing or of the
 * wrong kind. advml_h5_read_attr_string returns a malloc'ed string the caller frees. */
advml_status advml_h5_read_attr_string(hid_t obj, const char *name, char **value, advml_error *err);
advml_status advml_h5_read_attr_int64(hid_t obj, const char *name, int64_t *value, advml_error *err);
advml_status advml_h5_read_attr_double(hid_t obj, const char *name, double *value, advml_error *err);
int advml_h5_has_attr(hid_t obj, const char *name);

/* The "format" root attribute of the HDF5 file at path ("advml-checkpoint",
 * ...): -1 when path cannot be opened as HDF5; else 0 with *format a
 * malloc'ed string the caller frees, or NULL when the file has none. */
int advml_h5_file_format(const char *path, char **format);

/* Write a dataset at path (intermediate groups created) of rank dims from
 * data (mem_type, e.g. H5T_NATIVE_FLOAT), stored as file_type. With
 * extendible set, the dataset is chunked along dim 0 with maxshape unlimited
 * there; with compress set, shuffle + deflate(4) (implies chunking). Returns
 * the open dataset in *dset if dset is non-NULL (caller closes), else closes it. */
advml_status advml_h5_write(hid_t loc, const char *path, hid_t mem_type, hid_t file_type, int rank,
                            const hsize_t *dims, const void *data, int extendible, int compress,
                            hid_t *dset, advml_error *err);

/* 1-D dataset of n UTF-8 variable-length strings (NULL written as ""). */
advml_status advml_h5_write_strings(hid_t loc, const char *path, const char *const *v, size_t n, advml_error *err);
/* Read such a dataset: *v is a malloc'ed array of *n malloc'ed strings; the
 * caller frees each and the array. */
advml_status advml_h5_read_strings(hid_t loc, const char *path, char ***v, size_t *n, advml_error *err);

#endif

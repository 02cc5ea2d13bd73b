/* idx.h - reading IDX files (the MNIST / Fashion-MNIST format), plain or gzip'ed.
 *
 * An IDX file is a 4-byte magic (0, 0, type, ndim), ndim big-endian uint32
 * dimensions, then the data in row-major order. advml reads unsigned-byte data
 * (type 0x08), the type of every MNIST-like image and label file.
 */
#ifndef ADVML_IDX_H
#define ADVML_IDX_H

#include <stddef.h>
#include <stdint.h>
#include "advml/status.h"

#define ADVML_IDX_MAX_DIMS 8

typedef struct advml_idx {
    int ndim;                          /* number of dimensions */
    int64_t dims[ADVML_IDX_MAX_DIMS];  /* dims[0] is the number of items */
    uint8_t *data;                     /* (dims[0], ..., dims[ndim-1]) bytes, malloc'ed */
    size_t size;                       /* bytes in data */
} advml_idx;

/* Read path (plain or gzip, detected from the content). With expect_ndim > 0
 * the file must have that many dimensions. Fails with ADVML_ERR_IO for a
 * missing/unreadable file and ADVML_ERR_FORMAT naming the file for a bad
 * magic, an unsupported type, a wrong rank, truncated data or trailing bytes.
 * On success m->data is owned by the caller: release with advml_idx_free. */
advml_status advml_idx_read(const char *path, int expect_ndim, advml_idx *m, advml_error *err);
void advml_idx_free(advml_idx *m);

/* Find the file for stem (e.g. "train-images-idx3-ubyte") in dir: tries
 * stem, stem.gz and the dotted spelling ("train-images.idx3-ubyte"[.gz]).
 * Writes the path into path (n bytes); ADVML_ERR_IO listing what was tried. */
advml_status advml_idx_find(const char *dir, const char *stem, char *path, size_t n, advml_error *err);

#endif

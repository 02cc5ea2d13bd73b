/* dataset_info.h - describing an HDF5 dataset file (advml-data info). */
#ifndef ADVML_DATASET_INFO_H
#define ADVML_DATASET_INFO_H

#include <stdio.h>
#include "advml/status.h"

/* Print every group and dataset of path (in name order) with shapes, dtypes,
 * chunking, filters and attributes, and for class-id targets the count of
 * each class. Works on any HDF5 file. ADVML_ERR_IO/FORMAT naming the file. */
advml_status advml_dsinfo_print(FILE *out, const char *path, advml_error *err);

/* One line per split of an advml dataset file: name, samples, input shape,
 * targets; used after a conversion. */
advml_status advml_dsinfo_summary(FILE *out, const char *path, advml_error *err);

#endif

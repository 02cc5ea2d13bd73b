/* numfmt.h - numbers and times as advml writes them into its files (config
 * JSON, HDF5 attributes of run files, checkpoints, datasets, predictions). */
#ifndef ADVML_NUMFMT_H
#define ADVML_NUMFMT_H

#include <stddef.h>

/* The shortest decimal that reads back as f, as a double (1e-3f -> 0.001
 * rather than 0.0010000000474974513): a float setting written as a double
 * (JSON, an HDF5 attribute) then shows the value the user typed. */
double advml_float_shortest(float f);

/* The current UTC time in ISO 8601 ("2026-01-31T12:00:00Z") into buf (21
 * bytes or more): the times recorded in run, dataset and prediction files. */
void advml_iso_time(char *buf, size_t n);

#endif

/* numfmt.h - numbers as advml writes them into its files (config JSON, HDF5
 * attributes of run files and checkpoints, metrics). */
#ifndef ADVML_NUMFMT_H
#define ADVML_NUMFMT_H

/* The shortest decimal that reads back as f, as a double (1e-3f -> 0.001
 * rather than 0.0010000000474974513): a float setting written as a double
 * (JSON, an HDF5 attribute) then shows the value the user typed. */
double advml_float_shortest(float f);

#endif

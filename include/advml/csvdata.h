/* csvdata.h - numeric CSV tables (plain or .gz) and their conversion into an advml dataset file.
 *
 * A table is read whole into memory as doubles. The first line is a header if
 * any of its cells is not a number (or when told). Blank lines are skipped;
 * cells may be surrounded by spaces or double quotes. Errors give the file,
 * line and column (both 1-based).
 */
#ifndef ADVML_CSVDATA_H
#define ADVML_CSVDATA_H

#include <stdint.h>
#include "advml/status.h"

typedef enum advml_csv_header { ADVML_CSV_HEADER_AUTO = 0, ADVML_CSV_HEADER_YES, ADVML_CSV_HEADER_NO } advml_csv_header;

typedef struct advml_csv_table {
    int64_t rows;   /* data rows (header excluded) */
    int cols;       /* columns */
    double *v;      /* (rows, cols) values, row-major */
    char **names;   /* cols header names, or NULL when the file has no header */
} advml_csv_table;

/* Read path into *t (owned by the caller: advml_csv_free). delim is the cell
 * separator (',' usually). Fails with ADVML_ERR_IO for a missing file and
 * ADVML_ERR_FORMAT for a non-numeric or empty cell (line and column), ragged
 * rows (line, its column count and the expected one) or a file without data. */
advml_status advml_csv_read(const char *path, char delim, advml_csv_header header, advml_csv_table *t,
                            advml_error *err);
void advml_csv_free(advml_csv_table *t);

/* Resolve a column list "SPEC[,SPEC...]" where SPEC is a 0-based index, a
 * negative index counted from the end (-1 is the last column) or a header
 * name. Writes up to max indices into cols and their number into *n.
 * ADVML_ERR_ARG naming the bad entry (unknown name, out of range, repeated). */
advml_status advml_csv_columns(const advml_csv_table *t, const char *spec, int *cols, int max, int *n,
                               advml_error *err);

typedef struct advml_csv_opts {
    const char *from;            /* CSV file (plain or .gz) */
    const char *out;             /* output .h5 */
    int force;                   /* overwrite out */
    const char *command_line;    /* recorded in the file (may be NULL) */
    char delimiter;              /* ',' by default */
    advml_csv_header header;
    const char *target;          /* target column(s); NULL: the last column */
    const char *target_kind;     /* "auto" (class ids if one integer column), "class" or "value" */
    const char *image;           /* "C,H,W": reshape the features into images; NULL: (N, D) features */
    double test_fraction;        /* share of rows in /test (rounded up), 0: none */
    double validation_fraction;  /* share of rows in /validation (rounded up), 0: none */
    uint64_t seed;               /* row shuffle before splitting */
    int no_shuffle;              /* keep the file order: test rows are the last ones */
    double scale, mean, std;     /* stored normalisation (defaults 1, 0, 1) */
    int standardize;             /* compute mean/std of raw*scale over the train split */
    const char *class_names;     /* "a,b,c" names of the classes, or NULL ("0", "1", ...) */
    const char *source;          /* overrides the default source attribute */
    const char *description;     /* overrides the default description attribute */
} advml_csv_opts;

/* Fill o with the defaults (delimiter ',', scale 1, mean 0, std 1, seed 1, target_kind "auto"). */
void advml_csv_defaults(advml_csv_opts *o);

/* Convert a CSV file into an advml dataset file (atomic; see docs/hdf5-layout.md). */
advml_status advml_csv_convert(const advml_csv_opts *o, advml_error *err);

#endif

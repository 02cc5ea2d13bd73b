/* status.h - status codes and error messages returned by every library call.
 *
 * Library code never exits or aborts: a function that can fail returns an
 * advml_status and, when given a non-NULL advml_error, writes a message that
 * names the file, field or layer and what is wrong. Only the tools' main()
 * turn a status into an exit code (advml_exit_code).
 */
#ifndef ADVML_STATUS_H
#define ADVML_STATUS_H

#include <stddef.h>

typedef enum advml_status {
    ADVML_OK = 0,
    ADVML_ERR_ARG,     /* bad argument or command-line flag */
    ADVML_ERR_NOMEM,   /* allocation failed */
    ADVML_ERR_IO,      /* file missing, unreadable or unwritable */
    ADVML_ERR_FORMAT,  /* a data or checkpoint file has the wrong content */
    ADVML_ERR_CONFIG,  /* invalid JSON config */
    ADVML_ERR_SHAPE,   /* impossible architecture or data shape mismatch */
    ADVML_ERR_NUMERIC, /* non-finite loss or gradient */
    ADVML_ERR_COMM     /* MPI failure */
} advml_status;

#define ADVML_ERROR_MSG_LEN 1024

/* The longest file path advml keeps (config fields, run, checkpoint and
 * output files, temporary names), terminating NUL included. */
#define ADVML_PATH_MAX 4096

typedef struct advml_error {
    advml_status code;
    char msg[ADVML_ERROR_MSG_LEN];
} advml_error;

/* Record code and a printf-style message in err (ignored when err is NULL).
 * Returns code, so callers can write `return advml_error_set(err, ...)`. */
advml_status advml_error_set(advml_error *err, advml_status code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Prefix the existing message in err with a printf-style context string
 * ("loading run.h5: " + old message). Returns err->code (ADVML_OK if err is NULL). */
advml_status advml_error_prefix(advml_error *err, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

void advml_error_clear(advml_error *err);

/* Static name of a status, e.g. "config error". */
const char *advml_status_name(advml_status s);

/* Process exit code a tool uses for a status (documented in README):
 * 0 ok, 2 usage/config, 3 I/O or data, 4 shape, 5 numeric, 6 MPI, 1 other. */
int advml_exit_code(advml_status s);

#endif

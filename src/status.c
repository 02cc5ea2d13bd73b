/* status.c - error messages and exit codes (see include/advml/status.h). */
#include "advml/status.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

advml_status advml_error_set(advml_error *err, advml_status code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        err->code = code;
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return code;
}

advml_status advml_error_prefix(advml_error *err, const char *fmt, ...)
{
    if (!err)
        return ADVML_OK;
    char prefix[ADVML_ERROR_MSG_LEN], old[ADVML_ERROR_MSG_LEN];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof old);
    size_t np = strnlen(prefix, sizeof prefix - 1);
    memcpy(err->msg, prefix, np);
    size_t room = sizeof err->msg - 1 - np;
    size_t no = strnlen(old, room);
    memcpy(err->msg + np, old, no);
    err->msg[np + no] = '\0';
    return err->code;
}

void advml_error_clear(advml_error *err)
{
    if (err) {
        err->code = ADVML_OK;
        err->msg[0] = '\0';
    }
}

const char *advml_status_name(advml_status s)
{
    switch (s) {
    case ADVML_OK: return "ok";
    case ADVML_ERR_ARG: return "argument error";
    case ADVML_ERR_NOMEM: return "out of memory";
    case ADVML_ERR_IO: return "I/O error";
    case ADVML_ERR_FORMAT: return "data format error";
    case ADVML_ERR_CONFIG: return "config error";
    case ADVML_ERR_SHAPE: return "shape error";
    case ADVML_ERR_NUMERIC: return "numeric error";
    case ADVML_ERR_COMM: return "MPI error";
    }
    return "unknown error";
}

int advml_exit_code(advml_status s)
{
    switch (s) {
    case ADVML_OK: return 0;
    case ADVML_ERR_ARG:
    case ADVML_ERR_CONFIG: return 2;
    case ADVML_ERR_IO:
    case ADVML_ERR_FORMAT: return 3;
    case ADVML_ERR_SHAPE: return 4;
    case ADVML_ERR_NUMERIC: return 5;
    case ADVML_ERR_COMM: return 6;
    case ADVML_ERR_NOMEM: return 1;
    }
    return 1;
}

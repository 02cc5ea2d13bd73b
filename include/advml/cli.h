/* cli.h - the command-line flags of the advml tools (advml-train, advml-predict).
 *
 * A tool describes its flags in a table over its own options struct:
 *   --name VALUE or --name=VALUE   a value flag: the struct's const char * at off
 *                                  is set to the value (a pointer into argv)
 *   --name                         a switch: the struct's int at off is set to 1
 * "-h" is read as "--help" when the table has a "--help" switch. Values are
 * kept as typed; the tool parses numbers itself, so that its messages can
 * name the flag and what it expected.
 */
#ifndef ADVML_CLI_H
#define ADVML_CLI_H

#include <stddef.h>
#include "advml/status.h"

typedef struct advml_cli_flag {
    const char *name; /* "--out" */
    size_t off;       /* offsetof(options, out) */
    int is_switch;    /* 1: takes no value, sets an int; 0: takes a value, sets a const char * */
} advml_cli_flag;

/* Parse argv[1..argc) into opts by flags[0..nflags). Leaves the fields of flags
 * not given untouched (the caller zeroes opts first). Owns nothing; the stored
 * strings point into argv. Returns ADVML_OK, or ADVML_ERR_ARG with a message for
 * an unknown argument, a value flag with no (or an empty) value, or a switch
 * given a value ("--force=1"). */
advml_status advml_cli_parse(int argc, char **argv, const advml_cli_flag *flags, size_t nflags, void *opts,
                             advml_error *err);

/* *out = the integer value v of flag name, which must lie in [lo, hi] (hi =
 * LLONG_MAX: no upper bound); ADVML_ERR_ARG naming the flag and the range
 * otherwise (also for v == NULL). */
advml_status advml_cli_int(const char *name, const char *v, long long lo, long long hi, long long *out,
                           advml_error *err);

/* *out = the finite number v of flag name, > 0 when positive, else >= 0;
 * ADVML_ERR_ARG naming the flag otherwise. */
advml_status advml_cli_num(const char *name, const char *v, int positive, double *out, advml_error *err);

/* argv[0..argc) joined by spaces, arguments with blanks in single quotes:
 * the command line recorded in output files. Returns a malloc'd string the
 * caller frees, or NULL when out of memory. */
char *advml_cli_join_args(int argc, char **argv);

#endif

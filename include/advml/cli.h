/* cli.h - the command-line flags of the advml tools (advml-train,
 * advml-predict and each advml-data subcommand): one mechanism, one table.
 *
 * A tool describes its flags in a table over its own options struct; the
 * same table parses argv and prints the help text:
 *   --name VALUE or --name=VALUE   a value flag: the struct's field at off is
 *                                  set from the value, by type (a string is a
 *                                  pointer into argv)
 *   --name                         a switch: the struct's int at off is set to 1
 *   NAME (no leading "-")          a positional argument, filled in table order
 * "-h" is read as "--help" when the table has a "--help" switch, and parsing
 * stops at --help (so that --help always answers). Strings are kept as typed;
 * a tool that wants its number messages to name a range parses them itself
 * (advml_cli_int, advml_cli_num).
 */
#ifndef ADVML_CLI_H
#define ADVML_CLI_H

#include <stddef.h>
#include <stdio.h>
#include "advml/status.h"

typedef enum advml_cli_type {
    ADVML_CLI_STRING = 0, /* const char *: the value as typed (a pointer into argv), never "" */
    ADVML_CLI_INT64,      /* int64_t */
    ADVML_CLI_UINT64,     /* uint64_t (no sign) */
    ADVML_CLI_DOUBLE,     /* double, finite */
    ADVML_CLI_CHAR        /* char: one character; "tab" or "\t" give a tab */
} advml_cli_type;

typedef struct advml_cli_flag {
    const char *name;    /* "--out"; without a leading "-" a positional argument ("FILE.h5") */
    size_t off;          /* offsetof(options, out) */
    int is_switch;       /* 1: takes no value, sets an int; 0: takes a value of type */
    advml_cli_type type; /* of a value flag */
    const char *arg;     /* the value's placeholder in the help text, e.g. "FILE.h5" */
    const char *help;    /* its line in the help text; NULL: not listed there */
} advml_cli_flag;

/* A tool's or subcommand's command line: its flags and its help text. */
typedef struct advml_cli_spec {
    const char *command;          /* a subcommand, "advml-data sine": messages say "unknown option
                                     --x" and "see advml-data sine --help"; NULL for a tool:
                                     "unknown argument \"--x\"" and "see --help" */
    const advml_cli_flag *flags;
    size_t nflags;
    const char *usage;            /* help text before the flags */
    int width;                    /* the flags' left column; a longer one gets a line of its own */
    const char *footer;           /* help text after the flags (may be NULL) */
} advml_cli_spec;

/* Parse argv[1..argc) into opts by spec. Leaves the fields of flags not given
 * untouched (the caller sets opts first). Owns nothing; the stored strings
 * point into argv. Returns ADVML_OK, or ADVML_ERR_ARG with a message for an
 * unknown argument, a value flag with no (or an empty) value, a value that is
 * not of the flag's type, or a switch given a value ("--force=1"). */
advml_status advml_cli_parse_spec(const advml_cli_spec *spec, int argc, char **argv, void *opts, advml_error *err);

/* advml_cli_parse_spec for a tool (command NULL) with the table flags[0..nflags). */
advml_status advml_cli_parse(int argc, char **argv, const advml_cli_flag *flags, size_t nflags, void *opts,
                             advml_error *err);

/* The help text: usage, one line per listed flag ("  --out FILE.h5   output
 * file", the name and placeholder padded to width), footer. */
void advml_cli_help(FILE *f, const advml_cli_spec *spec);

/* ADVML_OK when value is given (non-NULL, non-empty); else ADVML_ERR_ARG
 * "WHAT is required (see [COMMAND ]--help)", what naming it as typed
 * ("--out FILE.h5"). */
advml_status advml_cli_required(const advml_cli_spec *spec, const char *value, const char *what, advml_error *err);

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

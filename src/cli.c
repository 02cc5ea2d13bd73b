/* cli.c - the command-line flags of the advml tools (see include/advml/cli.h). */
#include "advml/cli.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "see advml-data sine --help" or "see --help" */
static const char *see(const advml_cli_spec *spec, char *buf, size_t n)
{
    snprintf(buf, n, "see %s%s--help", spec->command ? spec->command : "", spec->command ? " " : "");
    return buf;
}

/* Store the value v of flag f into opts; -1 when v is not of its type. */
static int store(const advml_cli_flag *f, const char *v, void *opts)
{
    void *field = (char *)opts + f->off;
    char *end = NULL;
    errno = 0;
    switch (f->type) {
    case ADVML_CLI_STRING: *(const char **)field = v; return 0;
    case ADVML_CLI_INT64: {
        long long x = strtoll(v, &end, 10);
        if (errno || end == v || *end)
            return -1;
        *(int64_t *)field = x;
        return 0;
    }
    case ADVML_CLI_UINT64: {
        unsigned long long x = strtoull(v, &end, 10);
        if (errno || end == v || *end || v[0] == '-')
            return -1;
        *(uint64_t *)field = x;
        return 0;
    }
    case ADVML_CLI_DOUBLE: {
        double x = strtod(v, &end);
        if (errno || end == v || *end || !isfinite(x))
            return -1;
        *(double *)field = x;
        return 0;
    }
    case ADVML_CLI_CHAR:
        if (!strcmp(v, "\\t") || !strcmp(v, "tab"))
            v = "\t";
        if (strlen(v) != 1)
            return -1;
        *(char *)field = v[0];
        return 0;
    }
    return -1;
}

advml_status advml_cli_parse_spec(const advml_cli_spec *spec, int argc, char **argv, void *opts, advml_error *err)
{
    char hint[128];
    const advml_cli_flag *flags = spec->flags;
    size_t npos = 0; /* positional arguments filled */
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const int dashed = strncmp(a, "--", 2) == 0;
        const char *eq = dashed ? strchr(a, '=') : NULL;
        size_t len = eq ? (size_t)(eq - a) : strlen(a);
        const advml_cli_flag *f = NULL;
        for (size_t k = 0; k < spec->nflags && !f; k++)
            if ((flags[k].name[0] == '-' && strlen(flags[k].name) == len && strncmp(a, flags[k].name, len) == 0) ||
                (!strcmp(flags[k].name, "--help") && !strcmp(a, "-h")))
                f = &flags[k];
        if (!f && !dashed) /* the next positional slot, if any */
            for (size_t k = 0, seen = 0; k < spec->nflags && !f; k++)
                if (flags[k].name[0] != '-' && seen++ == npos)
                    f = &flags[k];
        if (!f && dashed && spec->command)
            return advml_error_set(err, ADVML_ERR_ARG, "unknown option %.*s (%s)", (int)len, a,
                                   see(spec, hint, sizeof hint));
        if (!f)
            return advml_error_set(err, ADVML_ERR_ARG, "%s argument \"%s\" (%s)",
                                   spec->command ? "unexpected" : "unknown", a, see(spec, hint, sizeof hint));
        if (f->name[0] != '-') {
            npos++;
            store(f, a, opts);
            continue;
        }
        if (f->is_switch) {
            if (eq)
                return advml_error_set(err, ADVML_ERR_ARG, "%s takes no value, got \"%s\" (%s)", f->name, a,
                                       see(spec, hint, sizeof hint));
            *(int *)((char *)opts + f->off) = 1;
            if (!strcmp(f->name, "--help"))
                return ADVML_OK; /* --help answers, whatever follows */
            continue;
        }
        const char *v = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
        if (!v || !*v)
            return advml_error_set(err, ADVML_ERR_ARG, "%s needs a value (%s)", f->name, see(spec, hint, sizeof hint));
        if (store(f, v, opts) != 0)
            return advml_error_set(err, ADVML_ERR_ARG, "%s %s: not a valid %s", f->name, v,
                                   f->type == ADVML_CLI_DOUBLE ? "number"
                                   : f->type == ADVML_CLI_CHAR ? "single character"
                                                               : "integer");
    }
    return ADVML_OK;
}

advml_status advml_cli_parse(int argc, char **argv, const advml_cli_flag *flags, size_t nflags, void *opts,
                             advml_error *err)
{
    const advml_cli_spec spec = {NULL, flags, nflags, NULL, 0, NULL};
    return advml_cli_parse_spec(&spec, argc, argv, opts, err);
}

void advml_cli_help(FILE *f, const advml_cli_spec *spec)
{
    if (spec->usage)
        fputs(spec->usage, f);
    for (size_t k = 0; k < spec->nflags; k++) {
        const advml_cli_flag *o = &spec->flags[k];
        if (!o->help)
            continue;
        char left[96];
        snprintf(left, sizeof left, "%s%s%s", o->name, o->arg ? " " : "", o->arg ? o->arg : "");
        if ((int)strlen(left) > spec->width)
            fprintf(f, "  %s\n  %-*s %s\n", left, spec->width, "", o->help);
        else
            fprintf(f, "  %-*s %s\n", spec->width, left, o->help);
    }
    if (spec->footer)
        fputs(spec->footer, f);
}

advml_status advml_cli_required(const advml_cli_spec *spec, const char *value, const char *what, advml_error *err)
{
    char hint[128];
    if (value && *value)
        return ADVML_OK;
    return advml_error_set(err, ADVML_ERR_ARG, "%s is required (%s)", what, see(spec, hint, sizeof hint));
}

advml_status advml_cli_int(const char *name, const char *v, long long lo, long long hi, long long *out,
                           advml_error *err)
{
    char *end = NULL;
    errno = 0;
    long long x = v ? strtoll(v, &end, 10) : 0;
    if (!v || errno || *end || end == v || x < lo || x > hi) {
        if (hi == LLONG_MAX)
            return advml_error_set(err, ADVML_ERR_ARG, "%s: expected an integer >= %lld, got \"%s\"", name, lo,
                                   v ? v : "");
        return advml_error_set(err, ADVML_ERR_ARG, "%s: expected an integer in %lld..%lld, got \"%s\"", name, lo,
                               hi, v ? v : "");
    }
    *out = x;
    return ADVML_OK;
}

advml_status advml_cli_num(const char *name, const char *v, int positive, double *out, advml_error *err)
{
    char *end = NULL;
    errno = 0;
    double x = v ? strtod(v, &end) : 0.0;
    if (!v || errno || *end || end == v || !isfinite(x) || (positive ? x <= 0 : x < 0))
        return advml_error_set(err, ADVML_ERR_ARG, "%s: expected a number %s 0, got \"%s\"", name,
                               positive ? ">" : ">=", v ? v : "");
    *out = x;
    return ADVML_OK;
}

char *advml_cli_join_args(int argc, char **argv)
{
    size_t n = 1;
    for (int i = 0; i < argc; i++)
        n += strlen(argv[i]) + 3;
    char *s = malloc(n);
    if (!s)
        return NULL;
    s[0] = '\0';
    for (int i = 0; i < argc; i++) {
        int quote = strpbrk(argv[i], " \t") != NULL;
        strcat(s, i ? " " : "");
        strcat(s, quote ? "'" : "");
        strcat(s, argv[i]);
        strcat(s, quote ? "'" : "");
    }
    return s;
}

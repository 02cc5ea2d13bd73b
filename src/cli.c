/* cli.c - the command-line flags of the advml tools (see include/advml/cli.h). */
#include "advml/cli.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

advml_status advml_cli_parse(int argc, char **argv, const advml_cli_flag *flags, size_t nflags, void *opts,
                             advml_error *err)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *eq = strncmp(a, "--", 2) == 0 ? strchr(a, '=') : NULL;
        size_t len = eq ? (size_t)(eq - a) : strlen(a);
        const advml_cli_flag *f = NULL;
        for (size_t k = 0; k < nflags && !f; k++)
            if ((strlen(flags[k].name) == len && strncmp(a, flags[k].name, len) == 0) ||
                (!strcmp(flags[k].name, "--help") && !strcmp(a, "-h")))
                f = &flags[k];
        if (!f)
            return advml_error_set(err, ADVML_ERR_ARG, "unknown argument \"%s\" (see --help)", a);
        if (f->is_switch) {
            if (eq)
                return advml_error_set(err, ADVML_ERR_ARG, "%s takes no value, got \"%s\" (see --help)", f->name, a);
            *(int *)((char *)opts + f->off) = 1;
            continue;
        }
        const char *v = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
        if (!v || !*v)
            return advml_error_set(err, ADVML_ERR_ARG, "%s needs a value (see --help)", f->name);
        *(const char **)((char *)opts + f->off) = v;
    }
    return ADVML_OK;
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

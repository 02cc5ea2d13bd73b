/* cli.c - the command-line flags of the advml tools (see include/advml/cli.h). */
#include "advml/cli.h"

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

/* tool.c - see tool.h */
#include "tool.h"

#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>

#include "advml/version.h"

int advml_tool_start(const char *tool, int *argc, char ***argv, advml_comm **comm)
{
    advml_error err;
    advml_error_clear(&err);
    advml_status s = advml_comm_init(argc, argv, comm, &err);
    if (s) {
        fprintf(stderr, "%s: error: %s\n", tool, err.msg);
        return advml_exit_code(s);
    }
    if (!getenv("OPENBLAS_NUM_THREADS"))
        openblas_set_num_threads(1);
    return 0;
}

int advml_tool_fail(const char *tool, advml_comm *comm, advml_status s, const advml_error *err)
{
    if (advml_comm_rank(comm) == 0) {
        fflush(stdout);
        fprintf(stderr, "%s: error: %s\n", tool, err->msg);
    }
    advml_comm_finalize(comm);
    return advml_exit_code(s);
}

int advml_tool_help(const char *tool, advml_comm *comm, int version, const advml_cli_spec *spec)
{
    if (advml_comm_rank(comm) == 0) {
        if (version)
            printf("%s %s (git %s)\n", tool, ADVML_VERSION, ADVML_GIT_COMMIT);
        else
            advml_cli_help(stdout, spec);
    }
    advml_comm_finalize(comm);
    return 0;
}

int advml_tool_info(const char *tool, advml_comm *comm, int version, const char *usage)
{
    if (advml_comm_rank(comm) == 0) {
        if (version)
            printf("%s %s (git %s)\n", tool, ADVML_VERSION, ADVML_GIT_COMMIT);
        else
            fputs(usage, stdout);
    }
    advml_comm_finalize(comm);
    return 0;
}

/* tool.c - see tool.h */
#include "tool.h"

#include <cblas.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "advml/version.h"

int advml_tool_start(const char *tool, int *argc, char ***argv, advml_comm **comm)
{
    advml_error err;
    advml_error_clear(&err);
    /* A write to a connection whose other end has gone raises SIGPIPE, and
     * its default action ends the process. When another rank's host dies,
     * Open MPI's TCP transport (writev) can be the writer: this rank then died
     * with exit 141 before SLURM had marked the node down, and the job ended
     * FAILED instead of being requeued as a node failure (seen in CI). Ignored,
     * the write fails with EPIPE, Open MPI reports the lost peer, and the rank
     * waits in its collective until the launcher or SLURM ends the step, as it
     * does for a connection reset. A closed stdout (advml-train | head) no
     * longer ends a training run either. */
    signal(SIGPIPE, SIG_IGN);
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

/* ---- stop signals ------------------------------------------------------------ */

static volatile sig_atomic_t stop_bits;     /* bit (1 << signo) per caught signal */
static volatile sig_atomic_t first_int_sec; /* CLOCK_MONOTONIC second of the first SIGINT */

static void on_stop_signal(int signo)
{
    if (signo == SIGINT) {
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now); /* async-signal-safe (POSIX) */
        if ((stop_bits >> SIGINT) & 1) {
            if (now.tv_sec - first_int_sec <= 5) {
                static const char msg[] = "advml-train: second interrupt: stopping at once (the last checkpoint "
                                          "written is kept whole)\n";
                ssize_t w = write(STDERR_FILENO, msg, sizeof msg - 1);
                (void)w;
                _exit(130);
            }
        }
        first_int_sec = (sig_atomic_t)now.tv_sec;
    }
    stop_bits |= (sig_atomic_t)1 << signo; /* the other stop signals are blocked while this runs */
}

const volatile sig_atomic_t *advml_tool_catch_stop_signals(void)
{
    static const int sigs[4] = {SIGINT, SIGTERM, SIGUSR1, SIGUSR2};
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sa.sa_flags = SA_RESTART; /* file and MPI calls go on; the flag is read between steps */
    sigemptyset(&sa.sa_mask);
    for (int i = 0; i < 4; i++)
        sigaddset(&sa.sa_mask, sigs[i]);
    for (int i = 0; i < 4; i++)
        sigaction(sigs[i], &sa, NULL);
    return &stop_bits;
}

/* tool.h - the start and the end of the MPI tools' main() (advml-train,
 * advml-predict): one place for how a tool starts MPI and BLAS, reports a
 * failure on rank 0 and answers --help / --version. Tools only: it is not
 * part of the library, which never exits and prints no errors itself. */
#ifndef ADVML_TOOL_H
#define ADVML_TOOL_H

#include <signal.h>

#include "advml/cli.h"
#include "advml/comm.h"
#include "advml/status.h"

/* Exit code of a run that a signal stopped after saving its checkpoint: run
 * the same command again (or --resume) to continue. EX_TEMPFAIL of sysexits.h;
 * job scripts requeue exactly on it. */
#define ADVML_EXIT_INTERRUPTED 75

/* The start of an MPI tool's main(): advml_comm_init, then one OpenBLAS
 * thread per rank unless OPENBLAS_NUM_THREADS is set (the ranks are the
 * parallelism). Returns 0 with *comm set (the caller ends with
 * advml_comm_finalize or advml_tool_fail), or prints "TOOL: error: ..." and
 * returns the exit code for main to return. */
int advml_tool_start(const char *tool, int *argc, char ***argv, advml_comm **comm);

/* The end of a failed MPI tool: rank 0 prints "TOOL: error: MSG" on stderr
 * (after flushing stdout); every rank finalizes comm. Returns the exit code
 * of s (advml_exit_code) for main to return. */
int advml_tool_fail(const char *tool, advml_comm *comm, advml_status s, const advml_error *err);

/* --help / --version: rank 0 prints the help text of the tool's command
 * line (advml_cli_help) or "TOOL VERSION (git COMMIT)"; every rank
 * finalizes comm. Returns 0 for main to return. */
int advml_tool_help(const char *tool, advml_comm *comm, int version, const advml_cli_spec *spec);

/* Catch SIGINT, SIGTERM, SIGUSR1 and SIGUSR2: the handler only sets bit
 * (1 << signo) in the returned flag word (async-signal-safe), which the
 * trainer reads at step boundaries. A second SIGINT within 5 seconds of the
 * first ends the process at once (_exit(130), as Ctrl-C twice does): files
 * are written to PATH.tmp and renamed, so no checkpoint is ever damaged. */
const volatile sig_atomic_t *advml_tool_catch_stop_signals(void);

#endif

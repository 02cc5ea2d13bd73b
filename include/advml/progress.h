/* progress.h - what rank 0 shows while training.
 *
 * On a terminal: a bar redrawn in place, like the course code's
 *   epoch  3/10 [=========>-----]  45.2% 424/938 31.2 ms/step ETA 0:16 | loss 0.1234 | acc 96.12% | 4567 img/s
 * (samples/s instead of img/s for inputs that are not images), cut to the
 * terminal's width (TIOCGWINSZ on stdout, else on mpirun's terminal, else
 * $COLUMNS, else 80): the throughput, then the accuracy, ... are left out and
 * the bar shrinks until the line fits, so a redraw never wraps. After the last
 * step it says "evaluating validation" / "evaluating test" while it does.
 * Otherwise (SLURM logs, pipes): a time-stamped line every
 * $ADVML_PROGRESS_SECONDS seconds within an epoch (default 60; 0: after every
 * step), and each epoch's line time-stamped too. Both end each epoch with one
 * plain line of the epoch's metrics.
 *
 * The mode: ADVML_PROGRESS=bar|line|none in the environment decides; else a
 * bar when stdout is a terminal. Under mpirun every rank's stdout is a
 * pseudo-terminal even when mpirun's own output goes to a file, so there the
 * terminal test is made on mpirun's stdout (the parent process's, via /proc).
 */
#ifndef ADVML_PROGRESS_H
#define ADVML_PROGRESS_H

#include <stdint.h>
#include <stdio.h>
#include "advml/runfile.h"

typedef enum advml_progress_mode {
    ADVML_PROGRESS_NONE = 0, /* print nothing */
    ADVML_PROGRESS_LINE,     /* one line per epoch */
    ADVML_PROGRESS_BAR       /* a live bar, then one line per epoch */
} advml_progress_mode;

typedef struct advml_progress {
    FILE *f;
    advml_progress_mode mode;
    int epoch, epochs;       /* 1-based current epoch, total */
    int64_t total;           /* training samples in the epoch */
    int64_t done0;           /* samples already done when this process started the epoch */
    double t0;               /* monotonic time the epoch (or its resumed part) started */
    double last_draw;        /* monotonic time of the last redraw */
    int last_len;            /* characters of the bar now on screen (0: none) */
    const char *unit;        /* throughput unit: "img/s" (default) or "samples/s" */
    int64_t batch;           /* global batch size: step counts (0: not shown) */
    double interval;         /* line mode: seconds between lines within an epoch */
    double last_line;        /* line mode: monotonic time of the last line */
    double loss, accuracy;   /* the last update's running values (for notes) */
    int64_t done;            /* the last update's samples done */
    int show_lr;             /* 1: the epoch line ends with the learning rate (a schedule is on) */
} advml_progress;

/* The mode from ADVML_PROGRESS and the terminal test above. */
advml_progress_mode advml_progress_detect(void);

void advml_progress_init(advml_progress *p, FILE *f, advml_progress_mode mode);

/* A (possibly resumed) epoch starts; done samples of total are already done. */
void advml_progress_epoch_start(advml_progress *p, int epoch, int epochs, int64_t total, int64_t done);

/* After each step: samples done so far in the epoch, the running mean loss and
 * accuracy (NaN: not shown). Redraws the bar at most 10 times a second. */
void advml_progress_update(advml_progress *p, int64_t done, double loss, double accuracy);

/* The epoch's line (clears the bar first). */
void advml_progress_epoch_end(advml_progress *p, const advml_epoch_metrics *m);

/* The global batch size, so that the bar and lines count steps (step/total,
 * ms/step). */
void advml_progress_set_batch(advml_progress *p, int64_t batch);

/* Say what happens after the epoch's last step ("evaluating validation"):
 * the bar shows it in place of the ETA until the epoch's line. */
void advml_progress_note(advml_progress *p, const char *what);

/* The terminal width for the bar: TIOCGWINSZ on fd, then on mpirun's stdout,
 * then $COLUMNS, else 80. */
int advml_progress_columns(int fd);

/* Format the bar line for done of the epoch into buf, at most cols - 1
 * characters (so it never wraps); note replaces the ETA when not NULL.
 * Returns its length. */
int advml_progress_format_bar(const advml_progress *p, char *buf, size_t n, int cols, int64_t done, double loss,
                              double accuracy, double seconds, const char *note);

/* A line about training control ("reduce-on-plateau: lr 0.001 -> 0.0001"),
 * indented under the epoch's line (clears the bar first). */
void advml_progress_control_note(advml_progress *p, const char *line);

/* Clear the bar so that another message can be printed cleanly. */
void advml_progress_clear(advml_progress *p);

/* Format an epoch's metrics as one line (no newline) into buf. */
void advml_progress_format_epoch(char *buf, size_t n, const advml_epoch_metrics *m, int epochs, const char *unit);

#endif

/* progress.c - the progress bar and epoch lines (see include/advml/progress.h). */
#include "advml/progress.h"

#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* The terminal device the parent's stdout is (/proc/PID/fd/1) into path;
 * 1 if it is one. */
static int parent_stdout_terminal(char *target, size_t n)
{
    char link[64];
    snprintf(link, sizeof link, "/proc/%ld/fd/1", (long)getppid());
    ssize_t len = readlink(link, target, n - 1);
    if (len <= 0)
        return 0;
    target[len] = '\0';
    return !strncmp(target, "/dev/pts/", 9) || !strncmp(target, "/dev/tty", 8);
}

static int parent_stdout_is_terminal(void)
{
    char target[256];
    return parent_stdout_terminal(target, sizeof target);
}

static int fd_columns(int fd)
{
    struct winsize ws;
    return fd >= 0 && ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0 ? ws.ws_col : 0;
}

int advml_progress_columns(int fd)
{
    int c = fd_columns(fd);
    if (c > 0)
        return c;
    /* under mpirun our pty may have no size; mpirun's terminal has */
    char tty[256];
    if (parent_stdout_terminal(tty, sizeof tty)) {
        int t = open(tty, O_RDONLY | O_NOCTTY | O_NONBLOCK);
        c = fd_columns(t);
        if (t >= 0)
            close(t);
        if (c > 0)
            return c;
    }
    const char *env = getenv("COLUMNS");
    c = env ? atoi(env) : 0;
    return c > 0 ? c : 80;
}

advml_progress_mode advml_progress_detect(void)
{
    const char *env = getenv("ADVML_PROGRESS");
    if (env && *env) {
        if (!strcmp(env, "bar"))
            return ADVML_PROGRESS_BAR;
        if (!strcmp(env, "none"))
            return ADVML_PROGRESS_NONE;
        return ADVML_PROGRESS_LINE;
    }
    if (!isatty(fileno(stdout)))
        return ADVML_PROGRESS_LINE;
    /* Open MPI gives each rank a pseudo-terminal as stdout whatever mpirun's
     * own stdout is; ask whether mpirun (our parent) writes to a terminal. */
    if (getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMIX_RANK") || getenv("PMI_RANK"))
        return parent_stdout_is_terminal() ? ADVML_PROGRESS_BAR : ADVML_PROGRESS_LINE;
    return ADVML_PROGRESS_BAR;
}

void advml_progress_init(advml_progress *p, FILE *f, advml_progress_mode mode)
{
    memset(p, 0, sizeof *p);
    p->f = f;
    p->mode = mode;
    p->unit = "img/s";
    p->interval = 60.0;
    const char *env = getenv("ADVML_PROGRESS_SECONDS");
    if (env && *env) {
        char *end;
        double v = strtod(env, &end);
        if (end != env && !*end && v >= 0 && isfinite(v))
            p->interval = v;
    }
    p->loss = p->accuracy = NAN;
}

void advml_progress_set_batch(advml_progress *p, int64_t batch) { p->batch = batch > 0 ? batch : 0; }

void advml_progress_epoch_start(advml_progress *p, int epoch, int epochs, int64_t total, int64_t done)
{
    p->epoch = epoch;
    p->epochs = epochs;
    p->total = total;
    p->done0 = done;
    p->t0 = now();
    p->last_draw = 0;
    p->last_line = p->t0;
    p->done = done;
    p->loss = p->accuracy = NAN;
}

static void hms(char *buf, size_t n, double s)
{
    if (!isfinite(s) || s < 0)
        snprintf(buf, n, "--:--");
    else if (s >= 3600)
        snprintf(buf, n, "%d:%02d:%02d", (int)(s / 3600), (int)fmod(s / 60, 60), (int)fmod(s, 60));
    else
        snprintf(buf, n, "%d:%02d", (int)(s / 60), (int)fmod(s, 60));
}

/* "2026-12-06 20:31:02Z" (UTC) into buf. */
static void stamp(char *buf, size_t n)
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, n, "%Y-%m-%d %H:%M:%SZ", &tm);
}

static int64_t steps_of(const advml_progress *p, int64_t samples)
{
    return p->batch > 0 ? (samples + p->batch - 1) / p->batch : 0;
}

int advml_progress_format_bar(const advml_progress *p, char *buf, size_t n, int cols, int64_t done, double loss,
                              double accuracy, double seconds, const char *note)
{
    double frac = p->total > 0 ? (double)done / (double)p->total : 1.0;
    double rate = seconds > 0 ? (double)(done - p->done0) / seconds : NAN;
    double eta = rate > 0 ? (double)(p->total - done) / rate : NAN;
    int64_t steps = steps_of(p, done) - steps_of(p, p->done0), total = steps_of(p, p->total);
    double ms = steps > 0 && seconds > 0 ? 1e3 * seconds / (double)steps : NAN;
    /* The parts after the bar, each with the most characters it can take
     * (est), so that the bar keeps its width from one redraw to the next.
     * They are left out from the least important (the throughput) until the
     * line fits the terminal; then the bar takes what is left (10..30). */
    enum { PCT, STEPS, MS, ETA, LOSS, ACC, RATE, NPART };
    static const int drop_order[NPART] = {RATE, ACC, MS, LOSS, ETA, STEPS, PCT};
    char part[NPART][80], e[32];
    int est[NPART];
    int tw = snprintf(e, sizeof e, "%lld", (long long)total);
    hms(e, sizeof e, eta);
    snprintf(part[PCT], sizeof part[PCT], " %5.1f%%", 100.0 * frac);
    est[PCT] = 7;
    part[STEPS][0] = '\0';
    est[STEPS] = 0;
    if (p->batch > 0) {
        snprintf(part[STEPS], sizeof part[STEPS], " %*lld/%lld", tw, (long long)steps_of(p, done), (long long)total);
        est[STEPS] = 2 + 2 * tw;
    }
    part[MS][0] = '\0';
    if (isfinite(ms) && !note)
        snprintf(part[MS], sizeof part[MS], ms < 10 ? " %5.2f ms/step" : ms < 1000 ? " %5.1f ms/step" : " %5.0f ms/step",
                 ms);
    est[MS] = note ? 0 : 14;
    if (note)
        snprintf(part[ETA], sizeof part[ETA], " %.60s", note);
    else
        snprintf(part[ETA], sizeof part[ETA], " ETA %s", e);
    est[ETA] = note ? (int)strlen(part[ETA]) : 10; /* " ETA 12:34"; an hour or more costs two more */
    part[LOSS][0] = part[ACC][0] = part[RATE][0] = '\0';
    if (isfinite(loss))
        snprintf(part[LOSS], sizeof part[LOSS], " | loss %.4g", loss);
    est[LOSS] = isfinite(loss) ? 14 : 0; /* " | loss 0.1234"; 1.234e-05 costs four more */
    if (isfinite(accuracy))
        snprintf(part[ACC], sizeof part[ACC], " | acc %.2f%%", 100.0 * accuracy);
    est[ACC] = isfinite(accuracy) ? 14 : 0;
    if (isfinite(rate) && !note)
        snprintf(part[RATE], sizeof part[RATE], " | %.0f %s", rate, p->unit);
    est[RATE] = note ? 0 : 11 + (int)strlen(p->unit);
    char head[48];
    int hl = snprintf(head, sizeof head, "epoch %*d/%d ", p->epochs >= 100 ? 3 : 2, p->epoch, p->epochs);
    const int room = (cols > 1 ? cols : 80) - 1; /* never the last column: no wrap */
    int shown[NPART], ndrop = 0, W;
    for (;;) {
        int len = hl;
        for (int k = 0; k < NPART; k++) {
            shown[k] = 1;
            for (int d = 0; d < ndrop; d++)
                if (drop_order[d] == k)
                    shown[k] = 0;
            if (shown[k])
                len += est[k];
        }
        W = room - len - 2;
        if (W >= 10 || ndrop == NPART - 1)
            break;
        ndrop++;
    }
    if (W > 30)
        W = 30;
    int len = snprintf(buf, n, "%s", head);
    if (W >= 3) {
        char bar[34];
        int fill = (int)(frac * W);
        bar[0] = '[';
        for (int i = 0; i < W; i++)
            bar[1 + i] = i < fill - 1 ? '=' : i == fill - 1 ? '>' : '-';
        if (fill >= W)
            bar[W] = '=';
        bar[W + 1] = ']';
        bar[W + 2] = '\0';
        len += snprintf(buf + len, n - (size_t)len, "%s", bar);
    }
    for (int k = 0; k < NPART && len >= 0 && (size_t)len < n; k++)
        if (shown[k])
            len += snprintf(buf + len, n - (size_t)len, "%s", part[k]);
    if (len > room && room >= 0 && (size_t)room < n) { /* a very narrow terminal */
        buf[room] = '\0';
        len = room;
    }
    return len;
}

static void draw(advml_progress *p, double t, const char *note)
{
    char line[512];
    int cols = advml_progress_columns(fileno(p->f));
    int len = advml_progress_format_bar(p, line, sizeof line, cols, p->done, p->loss, p->accuracy, t - p->t0, note);
    int pad = p->last_len > len ? p->last_len - len : 0;
    if (len + pad > cols - 1)
        pad = cols - 1 > len ? cols - 1 - len : 0;
    fprintf(p->f, "\r%s%*s", line, pad, "");
    fflush(p->f);
    p->last_len = len;
}

void advml_progress_update(advml_progress *p, int64_t done, double loss, double accuracy)
{
    p->done = done;
    p->loss = loss;
    p->accuracy = accuracy;
    double t = now();
    if (p->mode == ADVML_PROGRESS_LINE) {
        /* a log: a time-stamped line every interval seconds within the epoch */
        if (done >= p->total || t - p->last_line < p->interval)
            return;
        p->last_line = t;
        char line[512], ts[32];
        int cols = 200; /* a log line is not redrawn: no width to fit, the widest bar */
        advml_progress_format_bar(p, line, sizeof line, cols, done, loss, accuracy, t - p->t0, NULL);
        stamp(ts, sizeof ts);
        fprintf(p->f, "[%s] %s\n", ts, line);
        fflush(p->f);
        return;
    }
    if (p->mode != ADVML_PROGRESS_BAR)
        return;
    if (done < p->total && t - p->last_draw < 0.1)
        return;
    p->last_draw = t;
    draw(p, t, NULL);
}

void advml_progress_note(advml_progress *p, const char *what)
{
    if (p->mode == ADVML_PROGRESS_BAR)
        draw(p, now(), what);
}

void advml_progress_clear(advml_progress *p)
{
    if (p->mode == ADVML_PROGRESS_BAR && p->last_len > 0) {
        fprintf(p->f, "\r%*s\r", p->last_len, "");
        fflush(p->f);
    }
    p->last_len = 0;
}

void advml_progress_format_epoch(char *buf, size_t n, const advml_epoch_metrics *m, int epochs, const char *unit)
{
    int len = snprintf(buf, n, "epoch %*d/%d: train loss %.4g", epochs >= 100 ? 3 : 2, m->epoch, epochs,
                       m->train_loss);
#define ADD(...)                                                                \
    do {                                                                        \
        if (len >= 0 && (size_t)len < n)                                        \
            len += snprintf(buf + len, n - (size_t)len, __VA_ARGS__);           \
    } while (0)
    if (isfinite(m->train_accuracy))
        ADD(" acc %.2f%%", 100.0 * m->train_accuracy);
    if (isfinite(m->val_loss))
        ADD(" | val loss %.4g", m->val_loss);
    if (isfinite(m->val_accuracy))
        ADD(" acc %.2f%%", 100.0 * m->val_accuracy);
    if (isfinite(m->test_loss))
        ADD(" | test loss %.4g", m->test_loss);
    if (isfinite(m->test_accuracy))
        ADD(" acc %.2f%%", 100.0 * m->test_accuracy);
    ADD(m->epoch_seconds < 10 ? " | %.2f s, %.0f %s" : " | %.1f s, %.0f %s", m->epoch_seconds,
        m->images_per_second, unit);
#undef ADD
}

void advml_progress_control_note(advml_progress *p, const char *line)
{
    if (p->mode == ADVML_PROGRESS_NONE)
        return;
    advml_progress_clear(p);
    fprintf(p->f, "  %s\n", line);
    fflush(p->f);
}

void advml_progress_epoch_end(advml_progress *p, const advml_epoch_metrics *m)
{
    if (p->mode == ADVML_PROGRESS_NONE)
        return;
    advml_progress_clear(p);
    char line[512], ts[32] = "";
    advml_progress_format_epoch(line, sizeof line, m, p->epochs, p->unit);
    if (p->mode == ADVML_PROGRESS_LINE) { /* a log: when */
        stamp(ts + 1, sizeof ts - 3);
        ts[0] = '[';
        strcat(ts, "] ");
    }
    if (p->show_lr)
        fprintf(p->f, "%s%s | lr %.3g\n", ts, line, m->learning_rate);
    else
        fprintf(p->f, "%s%s\n", ts, line);
    fflush(p->f);
}

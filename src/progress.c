/* progress.c - the progress bar and epoch lines (see include/advml/progress.h). */
#include "advml/progress.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* 1 if the file at /proc/PID/fd/1 is a terminal device. */
static int parent_stdout_is_terminal(void)
{
    char link[64], target[256];
    snprintf(link, sizeof link, "/proc/%ld/fd/1", (long)getppid());
    ssize_t n = readlink(link, target, sizeof target - 1);
    if (n <= 0)
        return 0;
    target[n] = '\0';
    return !strncmp(target, "/dev/pts/", 9) || !strncmp(target, "/dev/tty", 8);
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
}

void advml_progress_epoch_start(advml_progress *p, int epoch, int epochs, int64_t total, int64_t done)
{
    p->epoch = epoch;
    p->epochs = epochs;
    p->total = total;
    p->done0 = done;
    p->t0 = now();
    p->last_draw = 0;
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

void advml_progress_update(advml_progress *p, int64_t done, double loss, double accuracy)
{
    if (p->mode != ADVML_PROGRESS_BAR)
        return;
    double t = now();
    if (done < p->total && t - p->last_draw < 0.1)
        return;
    p->last_draw = t;
    double frac = p->total > 0 ? (double)done / (double)p->total : 1.0;
    double elapsed = t - p->t0;
    double rate = elapsed > 0 ? (double)(done - p->done0) / elapsed : NAN;
    double eta = rate > 0 ? (double)(p->total - done) / rate : NAN;
    enum { W = 30 };
    char bar[W + 3];
    int fill = (int)(frac * W);
    bar[0] = '[';
    for (int i = 0; i < W; i++)
        bar[1 + i] = i < fill - 1 ? '=' : i == fill - 1 ? '>' : '-';
    if (fill >= W)
        bar[W] = '=';
    bar[W + 1] = ']';
    bar[W + 2] = '\0';
    char line[256], e[32];
    hms(e, sizeof e, eta);
    int len = snprintf(line, sizeof line, "epoch %*d/%d %s %5.1f%% ETA %s", p->epochs >= 100 ? 3 : 2, p->epoch,
                       p->epochs, bar, 100.0 * frac, e);
    if (isfinite(loss))
        len += snprintf(line + len, sizeof line - (size_t)len, " | loss %.4g", loss);
    if (isfinite(accuracy))
        len += snprintf(line + len, sizeof line - (size_t)len, " | acc %.2f%%", 100.0 * accuracy);
    if (isfinite(rate))
        len += snprintf(line + len, sizeof line - (size_t)len, " | %.0f %s", rate, p->unit);
    int pad = p->last_len > len ? p->last_len - len : 0;
    fprintf(p->f, "\r%s%*s", line, pad, "");
    fflush(p->f);
    p->last_len = len;
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

void advml_progress_note(advml_progress *p, const char *line)
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
    char line[512];
    advml_progress_format_epoch(line, sizeof line, m, p->epochs, p->unit);
    if (p->show_lr)
        fprintf(p->f, "%s | lr %.3g\n", line, m->learning_rate);
    else
        fprintf(p->f, "%s\n", line);
    fflush(p->f);
}

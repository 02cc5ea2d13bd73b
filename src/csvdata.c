/* csvdata.c - numeric CSV tables and their conversion (see include/advml/csvdata.h). */
#include "advml/csvdata.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "advml/dataset_write.h"
#include "advml/rng.h"

#define MAX_COLS 1000000

/* ---- reading ---------------------------------------------------------------- */

/* Whole (decompressed) content of path, NUL-terminated; *len bytes. Caller frees. */
static advml_status slurp(const char *path, char **buf, size_t *len, advml_error *err)
{
    *buf = NULL;
    *len = 0;
    struct stat st;
    if (stat(path, &st) != 0)
        return advml_error_set(err, ADVML_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    if (S_ISDIR(st.st_mode))
        return advml_error_set(err, ADVML_ERR_IO, "%s: is a directory, not a CSV file", path);
    gzFile g = gzopen(path, "rb");
    if (!g)
        return advml_error_set(err, ADVML_ERR_IO, "%s: cannot open: %s", path, errno ? strerror(errno) : "out of memory");
    gzbuffer(g, 1u << 17);
    size_t cap = 1u << 16, n = 0;
    char *b = malloc(cap);
    advml_status rc = ADVML_OK;
    for (;;) {
        if (!b) {
            rc = advml_error_set(err, ADVML_ERR_NOMEM, "%s: out of memory", path);
            break;
        }
        if (cap - n < 2) {
            char *nb = realloc(b, cap * 2);
            if (!nb) {
                free(b);
                b = NULL;
                continue;
            }
            b = nb;
            cap *= 2;
        }
        size_t want = cap - n - 1;
        if (want > (1u << 30))
            want = 1u << 30;
        int r = gzread(g, b + n, (unsigned)want);
        int z = Z_OK;
        const char *m = gzerror(g, &z);
        if (r < 0 || (r == 0 && z != Z_OK && z != Z_STREAM_END)) {
            size_t pl = strlen(path);
            if (strncmp(m, path, pl) == 0 && m[pl] == ':')
                m += pl + 1 + (m[pl + 1] == ' ');
            rc = advml_error_set(err, ADVML_ERR_FORMAT, "%s: truncated or corrupt gzip data (zlib: %s)", path, m);
            break;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    gzclose(g);
    if (rc) {
        free(b);
        return rc;
    }
    b[n] = '\0';
    *buf = b;
    *len = n;
    return ADVML_OK;
}

/* Trim spaces and one pair of surrounding double quotes from [*s, *e). */
static void trim_cell(const char **s, const char **e)
{
    while (*s < *e && (**s == ' ' || **s == '\t'))
        (*s)++;
    while (*e > *s && ((*e)[-1] == ' ' || (*e)[-1] == '\t'))
        (*e)--;
    if (*e - *s >= 2 && **s == '"' && (*e)[-1] == '"') {
        (*s)++;
        (*e)--;
    }
}

/* Parse [s, e) as a finite double. 0 ok, 1 empty, 2 not a number, 3 not finite. */
static int parse_num(const char *s, const char *e, double *v)
{
    if (s == e)
        return 1;
    char tmp[128];
    size_t n = (size_t)(e - s);
    if (n >= sizeof tmp)
        return 2;
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    char *end;
    errno = 0;
    *v = strtod(tmp, &end);
    if (end != tmp + n)
        return 2;
    if (!isfinite(*v))
        return 3;
    return 0;
}

static int count_cells(const char *s, const char *e, char delim)
{
    int n = 1;
    for (const char *p = s; p < e; p++)
        n += *p == delim;
    return n;
}

/* 1 if every cell of the line parses as a number. */
static int all_numeric(const char *s, const char *e, char delim)
{
    while (1) {
        const char *c = s;
        while (c < e && *c != delim)
            c++;
        const char *a = s, *b = c;
        trim_cell(&a, &b);
        double v;
        if (parse_num(a, b, &v) != 0)
            return 0;
        if (c == e)
            return 1;
        s = c + 1;
    }
}

static void print_cell(char *out, size_t n, const char *a, const char *b)
{
    size_t len = (size_t)(b - a);
    if (len > 40)
        snprintf(out, n, "%.40s...", a);
    else
        snprintf(out, n, "%.*s", (int)len, a);
}

void advml_csv_free(advml_csv_table *t)
{
    free(t->v);
    if (t->names)
        for (int i = 0; i < t->cols; i++)
            free(t->names[i]);
    free(t->names);
    memset(t, 0, sizeof *t);
}

advml_status advml_csv_read(const char *path, char delim, advml_csv_header header, advml_csv_table *t,
                            advml_error *err)
{
    memset(t, 0, sizeof *t);
    char *buf;
    size_t len;
    advml_status st = slurp(path, &buf, &len, err);
    if (st)
        return st;
    size_t cap = 0;
    int64_t line = 0, first_line = 0;
    const char *p = buf, *end = buf + len;
    while (p < end && st == ADVML_OK) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        const char *next = nl ? nl + 1 : end;
        line++;
        if (le > p && le[-1] == '\r')
            le--;
        const char *a = p, *b = le;
        trim_cell(&a, &b);
        if (a == b) { /* blank line */
            p = next;
            continue;
        }
        if (t->cols == 0) {
            int nc = count_cells(p, le, delim);
            if (nc > MAX_COLS) {
                st = advml_error_set(err, ADVML_ERR_FORMAT, "%s: line %lld: %d columns is too many", path,
                                     (long long)line, nc);
                break;
            }
            t->cols = nc;
            first_line = line;
            int is_header = header == ADVML_CSV_HEADER_YES ||
                            (header == ADVML_CSV_HEADER_AUTO && !all_numeric(p, le, delim));
            if (is_header) {
                t->names = calloc((size_t)nc, sizeof *t->names);
                if (!t->names) {
                    st = advml_error_set(err, ADVML_ERR_NOMEM, "%s: out of memory", path);
                    break;
                }
                const char *s = p;
                for (int c = 0; c < nc; c++) {
                    const char *ce = s;
                    while (ce < le && *ce != delim)
                        ce++;
                    const char *x = s, *y = ce;
                    trim_cell(&x, &y);
                    t->names[c] = malloc((size_t)(y - x) + 1);
                    if (!t->names[c]) {
                        st = advml_error_set(err, ADVML_ERR_NOMEM, "%s: out of memory", path);
                        break;
                    }
                    memcpy(t->names[c], x, (size_t)(y - x));
                    t->names[c][y - x] = '\0';
                    s = ce + 1;
                }
                p = next;
                continue;
            }
        }
        int nc = count_cells(p, le, delim);
        if (nc != t->cols) {
            st = advml_error_set(err, ADVML_ERR_FORMAT, "%s: line %lld has %d columns, expected %d (as line %lld)",
                                 path, (long long)line, nc, t->cols, (long long)first_line);
            break;
        }
        if ((size_t)(t->rows + 1) * (size_t)t->cols > cap) {
            size_t nc2 = cap ? cap * 2 : (size_t)t->cols * 256;
            double *nv = realloc(t->v, nc2 * sizeof *nv);
            if (!nv) {
                st = advml_error_set(err, ADVML_ERR_NOMEM, "%s: out of memory at line %lld", path, (long long)line);
                break;
            }
            t->v = nv;
            cap = nc2;
        }
        double *row = t->v + (size_t)t->rows * (size_t)t->cols;
        const char *s = p;
        for (int c = 0; c < t->cols; c++) {
            const char *ce = s;
            while (ce < le && *ce != delim)
                ce++;
            const char *x = s, *y = ce;
            trim_cell(&x, &y);
            int r = parse_num(x, y, &row[c]);
            if (r) {
                char cell[64];
                print_cell(cell, sizeof cell, x, y);
                st = advml_error_set(err, ADVML_ERR_FORMAT,
                                     r == 1   ? "%s: line %lld, column %d: empty cell%s"
                                     : r == 2 ? "%s: line %lld, column %d: \"%s\" is not a number"
                                              : "%s: line %lld, column %d: \"%s\" is not a finite number",
                                     path, (long long)line, c + 1, r == 1 ? "" : cell);
                break;
            }
            s = ce + 1;
        }
        if (st)
            break;
        t->rows++;
        p = next;
    }
    free(buf);
    if (!st && t->rows == 0)
        st = advml_error_set(err, ADVML_ERR_FORMAT, "%s: no data rows", path);
    if (st)
        advml_csv_free(t);
    return st;
}

advml_status advml_csv_columns(const advml_csv_table *t, const char *spec, int *cols, int max, int *n,
                               advml_error *err)
{
    *n = 0;
    const char *s = spec;
    while (1) {
        const char *e = strchr(s, ',');
        size_t len = e ? (size_t)(e - s) : strlen(s);
        char item[256];
        if (len == 0 || len >= sizeof item)
            return advml_error_set(err, ADVML_ERR_ARG, "column list \"%s\": empty or overlong entry", spec);
        memcpy(item, s, len);
        item[len] = '\0';
        int col = -1;
        char *endp;
        errno = 0;
        long v = strtol(item, &endp, 10);
        if (*endp == '\0' && errno == 0) {
            if (v < 0)
                v += t->cols;
            if (v < 0 || v >= t->cols)
                return advml_error_set(err, ADVML_ERR_ARG, "column %s is outside the %d columns (0..%d, or -1 for the last)",
                                       item, t->cols, t->cols - 1);
            col = (int)v;
        } else {
            for (int c = 0; t->names && c < t->cols; c++)
                if (strcmp(t->names[c], item) == 0) {
                    col = c;
                    break;
                }
            if (col < 0)
                return advml_error_set(err, ADVML_ERR_ARG, "column \"%s\": no such column name%s", item,
                                       t->names ? " in the header" : " (the file has no header)");
        }
        for (int i = 0; i < *n; i++)
            if (cols[i] == col)
                return advml_error_set(err, ADVML_ERR_ARG, "column %s is listed twice", item);
        if (*n == max)
            return advml_error_set(err, ADVML_ERR_ARG, "column list \"%s\": too many columns", spec);
        cols[(*n)++] = col;
        if (!e)
            return ADVML_OK;
        s = e + 1;
    }
}

/* ---- conversion --------------------------------------------------------------- */

void advml_csv_defaults(advml_csv_opts *o)
{
    memset(o, 0, sizeof *o);
    o->delimiter = ',';
    o->target_kind = "auto";
    o->seed = 1;
    o->scale = 1.0;
    o->mean = 0.0;
    o->std = 1.0;
}

/* Parse "C,H,W" into three positive ints. */
static int parse_chw(const char *s, int *d)
{
    char *e;
    for (int i = 0; i < 3; i++) {
        errno = 0;
        long v = strtol(s, &e, 10);
        if (e == s || errno || v < 1 || v > INT_MAX)
            return -1;
        d[i] = (int)v;
        if (i < 2) {
            if (*e != ',')
                return -1;
            s = e + 1;
        }
    }
    return *e == '\0' ? 0 : -1;
}

/* Split "a,b,c" into a malloc'ed array of n malloc'ed strings. */
static int split_names(const char *s, char ***names)
{
    int n = 1;
    for (const char *p = s; *p; p++)
        n += *p == ',';
    char **v = calloc((size_t)n, sizeof *v);
    if (!v)
        return -1;
    for (int i = 0; i < n; i++) {
        const char *e = strchr(s, ',');
        size_t len = e ? (size_t)(e - s) : strlen(s);
        v[i] = malloc(len + 1);
        if (!v[i]) {
            for (int j = 0; j < i; j++)
                free(v[j]);
            free(v);
            return -1;
        }
        memcpy(v[i], s, len);
        v[i][len] = '\0';
        s = e ? e + 1 : s + len;
    }
    *names = v;
    return n;
}

static void free_names(char **v, int n)
{
    if (!v)
        return;
    for (int i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

typedef struct csv_job {
    const advml_csv_opts *o;
    advml_csv_table t;
    int tcols[1024], ntc;     /* target columns */
    int *fcols, nfc;          /* feature columns */
    int classes;              /* class targets */
    int num_classes;
    int64_t *perm;
    float *x;                 /* (rows, nfc) in permuted order */
    int32_t *yc;              /* (rows) class ids */
    float *yv;                /* (rows, ntc) values */
    char **class_names;
    int n_class_names;
    char **feature_names;     /* header names of the feature columns (borrowed) */
    char **target_names;
} csv_job;

static void job_free(csv_job *j)
{
    advml_csv_free(&j->t);
    free(j->fcols);
    free(j->perm);
    free(j->x);
    free(j->yc);
    free(j->yv);
    free_names(j->class_names, j->n_class_names);
    free(j->feature_names);
    free(j->target_names);
}

/* Decide targets, features and their kinds; fill the permuted arrays. */
static advml_status prepare(csv_job *j, advml_error *err)
{
    const advml_csv_opts *o = j->o;
    advml_csv_table *t = &j->t;
    advml_status st = advml_csv_columns(t, o->target ? o->target : "-1", j->tcols, 1024, &j->ntc, err);
    if (st)
        return advml_error_prefix(err, "%s: --target: ", o->from);
    j->nfc = t->cols - j->ntc;
    if (j->nfc < 1)
        return advml_error_set(err, ADVML_ERR_ARG, "%s: no feature columns left after the %d target column(s)", o->from,
                               j->ntc);
    j->fcols = malloc((size_t)j->nfc * sizeof *j->fcols);
    if (!j->fcols)
        return advml_error_set(err, ADVML_ERR_NOMEM, "%s: out of memory", o->from);
    for (int c = 0, k = 0; c < t->cols; c++) {
        int is_t = 0;
        for (int i = 0; i < j->ntc; i++)
            is_t |= j->tcols[i] == c;
        if (!is_t)
            j->fcols[k++] = c;
    }
    /* class ids when asked, or (auto) one column of non-negative integers */
    int ints = j->ntc == 1;
    double maxv = 0;
    for (int64_t r = 0; r < t->rows && ints; r++) {
        double v = t->v[(size_t)r * (size_t)t->cols + (size_t)j->tcols[0]];
        if (v < 0 || v != floor(v) || v > (1 << 24))
            ints = 0;
        else if (v > maxv)
            maxv = v;
    }
    if (strcmp(o->target_kind, "class") == 0) {
        if (!ints)
            return advml_error_set(err, ADVML_ERR_FORMAT,
                                   "%s: --target-kind class needs one target column of integers 0..%d", o->from, 1 << 24);
        j->classes = 1;
    } else if (strcmp(o->target_kind, "value") == 0) {
        j->classes = 0;
    } else if (strcmp(o->target_kind, "auto") == 0) {
        j->classes = ints;
    } else {
        return advml_error_set(err, ADVML_ERR_ARG, "--target-kind %s: expected auto, class or value", o->target_kind);
    }
    if (j->classes) {
        j->num_classes = (int)maxv + 1;
        if (o->class_names) {
            j->n_class_names = split_names(o->class_names, &j->class_names);
            if (j->n_class_names < 0)
                return advml_error_set(err, ADVML_ERR_NOMEM, "out of memory");
            if (j->n_class_names < j->num_classes)
                return advml_error_set(err, ADVML_ERR_ARG, "--class-names has %d names but %s has class ids up to %d",
                                       j->n_class_names, o->from, j->num_classes - 1);
            j->num_classes = j->n_class_names;
        } else {
            j->class_names = calloc((size_t)j->num_classes, sizeof *j->class_names);
            if (!j->class_names)
                return advml_error_set(err, ADVML_ERR_NOMEM, "out of memory");
            j->n_class_names = j->num_classes;
            for (int c = 0; c < j->num_classes; c++) {
                j->class_names[c] = malloc(16);
                if (!j->class_names[c])
                    return advml_error_set(err, ADVML_ERR_NOMEM, "out of memory");
                snprintf(j->class_names[c], 16, "%d", c);
            }
        }
    }
    if (t->names) {
        j->feature_names = malloc((size_t)j->nfc * sizeof *j->feature_names);
        j->target_names = malloc((size_t)j->ntc * sizeof *j->target_names);
        if (!j->feature_names || !j->target_names)
            return advml_error_set(err, ADVML_ERR_NOMEM, "out of memory");
        for (int k = 0; k < j->nfc; k++)
            j->feature_names[k] = t->names[j->fcols[k]];
        for (int k = 0; k < j->ntc; k++)
            j->target_names[k] = t->names[j->tcols[k]];
    }
    /* rows in split order: a seeded permutation (or the file order) */
    size_t rows = (size_t)t->rows;
    j->perm = malloc(rows * sizeof *j->perm);
    j->x = malloc(rows * (size_t)j->nfc * sizeof *j->x);
    if (j->classes)
        j->yc = malloc(rows * sizeof *j->yc);
    else
        j->yv = malloc(rows * (size_t)j->ntc * sizeof *j->yv);
    if (!j->perm || !j->x || (!j->yc && !j->yv))
        return advml_error_set(err, ADVML_ERR_NOMEM, "%s: out of memory for %zu rows", o->from, rows);
    if (o->no_shuffle) {
        for (size_t r = 0; r < rows; r++)
            j->perm[r] = (int64_t)r;
    } else {
        advml_permutation(j->perm, (int64_t)rows, o->seed, 0);
    }
    for (size_t r = 0; r < rows; r++) {
        const double *src = t->v + (size_t)j->perm[r] * (size_t)t->cols;
        for (int k = 0; k < j->nfc; k++)
            j->x[r * (size_t)j->nfc + (size_t)k] = (float)src[j->fcols[k]];
        if (j->classes)
            j->yc[r] = (int32_t)src[j->tcols[0]];
        else
            for (int k = 0; k < j->ntc; k++)
                j->yv[r * (size_t)j->ntc + (size_t)k] = (float)src[j->tcols[k]];
    }
    return ADVML_OK;
}

advml_status advml_csv_convert(const advml_csv_opts *o, advml_error *err)
{
    csv_job j;
    memset(&j, 0, sizeof j);
    j.o = o;
    advml_dsw *out = NULL;
    advml_status st;
    int chw[3] = {0, 0, 0};
    if (o->image && parse_chw(o->image, chw) != 0)
        return advml_error_set(err, ADVML_ERR_ARG, "--image %s: expected C,H,W (three positive integers)", o->image);
    if (!(o->test_fraction >= 0 && o->test_fraction < 1) ||
        !(o->validation_fraction >= 0 && o->validation_fraction < 1))
        return advml_error_set(err, ADVML_ERR_ARG, "--test-fraction and --validation-fraction must be in [0, 1)");
    if (!(o->std > 0) || o->scale == 0 || !isfinite(o->scale) || !isfinite(o->mean))
        return advml_error_set(err, ADVML_ERR_ARG, "--scale must be non-zero and --std positive");
    if ((st = advml_csv_read(o->from, o->delimiter, o->header, &j.t, err)) || (st = prepare(&j, err)))
        goto done;
    if (o->image && (int64_t)chw[0] * chw[1] * chw[2] != j.nfc) {
        st = advml_error_set(err, ADVML_ERR_SHAPE,
                             "--image %s needs %lld feature columns but %s has %d (%d columns minus %d target column(s))",
                             o->image, (long long)chw[0] * chw[1] * chw[2], o->from, j.nfc, j.t.cols, j.ntc);
        goto done;
    }
    int64_t rows = j.t.rows;
    int64_t ntest = (int64_t)ceil(o->test_fraction * (double)rows);
    int64_t nval = (int64_t)ceil(o->validation_fraction * (double)rows);
    int64_t ntrain = rows - ntest - nval;
    if (ntrain < 1) {
        st = advml_error_set(err, ADVML_ERR_ARG, "%s: %lld rows leave no training rows after %lld test and %lld validation rows",
                             o->from, (long long)rows, (long long)ntest, (long long)nval);
        goto done;
    }
    /* order in the permutation: train, validation, test (with --no-shuffle the test rows are the file's last) */
    double mean = o->mean, std = o->std;
    if (o->standardize) {
        double s = 0, ss = 0;
        size_t cnt = (size_t)ntrain * (size_t)j.nfc;
        for (size_t i = 0; i < cnt; i++) {
            double v = (double)j.x[i] * o->scale;
            s += v;
            ss += v * v;
        }
        mean = s / (double)cnt;
        double var = ss / (double)cnt - mean * mean;
        std = sqrt(var > 0 ? var : 0);
        if (!(std > 0)) {
            st = advml_error_set(err, ADVML_ERR_FORMAT, "%s: --standardize: the training features are constant", o->from);
            goto done;
        }
    }

    char absf[PATH_MAX], source[PATH_MAX + 64], desc[1024];
    if (!realpath(o->from, absf))
        snprintf(absf, sizeof absf, "%s", o->from);
    snprintf(source, sizeof source, "CSV file %s", absf);
    snprintf(desc, sizeof desc, "%lld rows of %d feature(s)%s%s; targets: %s", (long long)rows, j.nfc,
             o->image ? " reshaped to images " : "", o->image ? o->image : "",
             j.classes ? "class ids" : "values");
    if ((st = advml_dsw_create(&out, o->out, o->force, err)))
        goto done;
    advml_dsw_meta meta = {o->image ? "images" : "features", o->source ? o->source : source,
                           o->description ? o->description : desc, o->command_line};
    if ((st = advml_dsw_root(out, &meta, err)))
        goto done;
    advml_dsw_split s = {0};
    s.sample = o->image ? advml_shape3(chw[0], chw[1], chw[2]) : advml_shape1(j.nfc);
    s.scale = o->scale;
    s.mean = mean;
    s.std = std;
    if (!o->image && j.feature_names) {
        s.feature_names = (const char *const *)j.feature_names;
        s.n_feature_names = j.nfc;
    }
    s.num_classes = j.num_classes;
    s.class_names = (const char *const *)j.class_names;
    s.target_dim = j.classes ? 0 : j.ntc;
    s.target_names = (const char *const *)j.target_names;
    const char *names[3] = {"train", "validation", "test"};
    int64_t starts[3] = {0, ntrain, ntrain + nval}, counts[3] = {ntrain, nval, ntest};
    for (int k = 0; k < 3; k++) {
        if (counts[k] == 0)
            continue;
        char d[PATH_MAX + 160];
        if (o->no_shuffle)
            snprintf(d, sizeof d, "data rows %lld..%lld of %s, in file order", (long long)starts[k],
                     (long long)(starts[k] + counts[k] - 1), absf);
        else
            snprintf(d, sizeof d, "%lld of the %lld data rows of %s, shuffled with seed %llu", (long long)counts[k],
                     (long long)rows, absf, (unsigned long long)o->seed);
        s.name = names[k];
        s.description = d;
        s.n = counts[k];
        s.inputs = j.x + (size_t)starts[k] * (size_t)j.nfc;
        s.classes = j.classes ? j.yc + starts[k] : NULL;
        s.values = j.classes ? NULL : j.yv + (size_t)starts[k] * (size_t)j.ntc;
        if ((st = advml_dsw_split_write(out, &s, err)))
            goto done;
    }
    st = advml_dsw_commit(&out, err);
done:
    if (st && out)
        advml_error_prefix(err, "%s: ", o->out);
    advml_dsw_abort(out);
    job_free(&j);
    return st;
}

/* test_csvdata.c - CSV reading (errors with line and column) and conversion (splits, images,
 * targets), and the course's 8x8 digits converted by the data_fixture test when present. */
#include "testutil.h"
#include "advml/csvdata.h"
#include "advml/dataset.h"
#include "advml/h5io.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

static char dir[64];

static void write_file(const char *name, const char *text, char *path, size_t n)
{
    snprintf(path, n, "%s/%s", dir, name);
    size_t len = strlen(name);
    if (len > 3 && strcmp(name + len - 3, ".gz") == 0) {
        gzFile g = gzopen(path, "wb");
        gzwrite(g, text, (unsigned)strlen(text));
        gzclose(g);
    } else {
        FILE *f = fopen(path, "w");
        fputs(text, f);
        fclose(f);
    }
}

static void t_read(void)
{
    char p[160];
    advml_csv_table t;
    advml_error err = {0};
    write_file("h.csv", " a , \"b\",c\r\n1,2,3\r\n\r\n4.5, -6e-1 ,\"7\"\n", p, sizeof p);
    CU_ASSERT_FATAL(advml_csv_read(p, ',', ADVML_CSV_HEADER_AUTO, &t, &err) == ADVML_OK);
    CU_ASSERT(t.rows == 2 && t.cols == 3 && t.names);
    CU_ASSERT(strcmp(t.names[0], "a") == 0 && strcmp(t.names[1], "b") == 0 && strcmp(t.names[2], "c") == 0);
    CU_ASSERT(t.v[0] == 1 && t.v[2] == 3 && t.v[3] == 4.5 && t.v[4] == -0.6 && t.v[5] == 7);
    int cols[4], n;
    CU_ASSERT(advml_csv_columns(&t, "c,0,-2", cols, 4, &n, &err) == ADVML_OK);
    CU_ASSERT(n == 3 && cols[0] == 2 && cols[1] == 0 && cols[2] == 1);
    CU_ASSERT(advml_csv_columns(&t, "3", cols, 4, &n, &err) == ADVML_ERR_ARG);
    CU_ASSERT(strstr(err.msg, "outside") != NULL);
    CU_ASSERT(advml_csv_columns(&t, "-4", cols, 4, &n, &err) == ADVML_ERR_ARG);
    CU_ASSERT(advml_csv_columns(&t, "z", cols, 4, &n, &err) == ADVML_ERR_ARG);
    CU_ASSERT(strstr(err.msg, "\"z\"") != NULL);
    CU_ASSERT(advml_csv_columns(&t, "a,0", cols, 4, &n, &err) == ADVML_ERR_ARG);
    CU_ASSERT(strstr(err.msg, "twice") != NULL);
    CU_ASSERT(advml_csv_columns(&t, "a,,b", cols, 4, &n, &err) == ADVML_ERR_ARG);
    advml_csv_free(&t);
    /* numeric first line: no header; gzip; forced header; other delimiter */
    write_file("n.csv.gz", "1;2\n3;4\n", p, sizeof p);
    CU_ASSERT_FATAL(advml_csv_read(p, ';', ADVML_CSV_HEADER_AUTO, &t, &err) == ADVML_OK);
    CU_ASSERT(t.rows == 2 && t.cols == 2 && !t.names && t.v[3] == 4);
    advml_csv_free(&t);
    CU_ASSERT_FATAL(advml_csv_read(p, ';', ADVML_CSV_HEADER_YES, &t, &err) == ADVML_OK);
    CU_ASSERT(t.rows == 1 && t.names && strcmp(t.names[1], "2") == 0);
    advml_csv_free(&t);
}

static void expect_error(const char *name, const char *text, advml_csv_header h, advml_status code, const char *what)
{
    char p[160];
    write_file(name, text, p, sizeof p);
    advml_csv_table t;
    advml_error err = {0};
    CU_ASSERT(advml_csv_read(p, ',', h, &t, &err) == code);
    CU_ASSERT(strstr(err.msg, p) != NULL);
    if (!strstr(err.msg, what)) {
        fprintf(stderr, "  message \"%s\" lacks \"%s\"\n", err.msg, what);
        CU_FAIL("message");
    }
    CU_ASSERT(t.v == NULL && t.names == NULL);
}

static void t_read_errors(void)
{
    expect_error("e1.csv", "x,y,z\n1,2,3\n4,abc,6\n", ADVML_CSV_HEADER_AUTO, ADVML_ERR_FORMAT,
                 "line 3, column 2: \"abc\" is not a number");
    expect_error("e2.csv", "1,2,3\n\n4,5\n", ADVML_CSV_HEADER_AUTO, ADVML_ERR_FORMAT,
                 "line 3 has 2 columns, expected 3 (as line 1)");
    expect_error("e3.csv", "1,2,3\n4,5,6,7\n", ADVML_CSV_HEADER_AUTO, ADVML_ERR_FORMAT, "line 2 has 4 columns");
    expect_error("e4.csv", "1,2,3\n4,,6\n", ADVML_CSV_HEADER_AUTO, ADVML_ERR_FORMAT, "line 2, column 2: empty cell");
    expect_error("e5.csv", "1,2,inf\n", ADVML_CSV_HEADER_NO, ADVML_ERR_FORMAT, "line 1, column 3: \"inf\" is not a finite number");
    expect_error("e6.csv", "a,b\n\n", ADVML_CSV_HEADER_AUTO, ADVML_ERR_FORMAT, "no data rows");
    expect_error("e7.csv", "a,b\n1,2\n", ADVML_CSV_HEADER_NO, ADVML_ERR_FORMAT, "line 1, column 1: \"a\" is not a number");
    expect_error("e8.csv.gz", "1,2\n3,x\n", ADVML_CSV_HEADER_AUTO, ADVML_ERR_FORMAT, "line 2, column 2");
    char p[160];
    snprintf(p, sizeof p, "%s/absent.csv", dir);
    advml_csv_table t;
    advml_error err = {0};
    CU_ASSERT(advml_csv_read(p, ',', ADVML_CSV_HEADER_AUTO, &t, &err) == ADVML_ERR_IO);
    CU_ASSERT(strstr(err.msg, "cannot open") != NULL);
}

/* rows: id, f1, f2, f3, label = id % 3 (ids 0..49 shuffled in the file) */
static void write_table(char *p, size_t n)
{
    char text[4096];
    size_t used = (size_t)snprintf(text, sizeof text, "id,f1,f2,f3,label\n");
    for (int r = 0; r < 50; r++) {
        int id = (r * 17) % 50;
        used += (size_t)snprintf(text + used, sizeof text - used, "%d,%d,%g,%d,%d\n", id, id * 2, id * 0.5, -id,
                                 id % 3);
    }
    write_file("table.csv", text, p, n);
}

/* Read every split of a converted table; check each row and count how often each id appears. */
static void collect(const char *file, int *seen, int64_t *counts, int image)
{
    advml_dataset *ds;
    advml_error err = {0};
    CU_ASSERT_FATAL(advml_dataset_open(&ds, file, &err) == ADVML_OK);
    const char *names[3] = {"train", "validation", "test"};
    for (int k = 0; k < 3; k++) {
        counts[k] = 0;
        if (!advml_dataset_has_split(ds, names[k]))
            continue;
        advml_split_info in;
        CU_ASSERT_FATAL(advml_dataset_info(ds, names[k], &in, &err) == ADVML_OK);
        CU_ASSERT(in.target_dim == 0 && in.num_classes == 3);
        if (image)
            CU_ASSERT(in.input.rank == 3 && in.input.d[0] == 1 && in.input.d[1] == 2 && in.input.d[2] == 2);
        counts[k] = in.n;
        float x[50 * 4], y[50];
        CU_ASSERT(advml_dataset_read_block(ds, names[k], 0, in.n, x, y, &err) == ADVML_OK);
        for (int64_t i = 0; i < in.n; i++) {
            int id = (int)x[i * 4];
            CU_ASSERT(x[i * 4 + 1] == 2 * id && x[i * 4 + 2] == 0.5f * id && x[i * 4 + 3] == -id && y[i] == id % 3);
            if (id >= 0 && id < 50)
                seen[id]++;
        }
    }
    advml_dataset_close(ds);
}

static void t_convert(void)
{
    char src[160], out[160], out2[160];
    write_table(src, sizeof src);
    snprintf(out, sizeof out, "%s/t.h5", dir);
    snprintf(out2, sizeof out2, "%s/t2.h5", dir);
    advml_csv_opts o;
    advml_csv_defaults(&o);
    o.from = src;
    o.out = out;
    o.target = "label";
    o.image = "1,2,2";
    o.test_fraction = 0.2;
    o.validation_fraction = 0.1;
    advml_error err = {0};
    CU_ASSERT_FATAL(advml_csv_convert(&o, &err) == ADVML_OK);
    int seen[50] = {0};
    int64_t counts[3];
    collect(out, seen, counts, 1);
    CU_ASSERT(counts[0] == 35 && counts[1] == 5 && counts[2] == 10);
    int ok = 1;
    for (int i = 0; i < 50; i++)
        ok &= seen[i] == 1;
    CU_ASSERT(ok);
    /* same seed, same split; another seed, another split */
    o.out = out2;
    CU_ASSERT_FATAL(advml_csv_convert(&o, &err) == ADVML_OK);
    advml_dataset *a, *b;
    float xa[10 * 4], xb[10 * 4];
    CU_ASSERT_FATAL(advml_dataset_open(&a, out, &err) == ADVML_OK);
    CU_ASSERT_FATAL(advml_dataset_open(&b, out2, &err) == ADVML_OK);
    CU_ASSERT(advml_dataset_read_block(a, "test", 0, 10, xa, NULL, &err) == ADVML_OK);
    CU_ASSERT(advml_dataset_read_block(b, "test", 0, 10, xb, NULL, &err) == ADVML_OK);
    CU_ASSERT(memcmp(xa, xb, sizeof xa) == 0);
    advml_dataset_close(b);
    o.seed = 2;
    o.force = 1;
    CU_ASSERT_FATAL(advml_csv_convert(&o, &err) == ADVML_OK);
    CU_ASSERT_FATAL(advml_dataset_open(&b, out2, &err) == ADVML_OK);
    CU_ASSERT(advml_dataset_read_block(b, "test", 0, 10, xb, NULL, &err) == ADVML_OK);
    CU_ASSERT(memcmp(xa, xb, sizeof xa) != 0);
    advml_dataset_close(a);
    advml_dataset_close(b);
    /* --no-shuffle: the test rows are the file's last ten */
    o.no_shuffle = 1;
    o.validation_fraction = 0;
    o.image = NULL;
    CU_ASSERT_FATAL(advml_csv_convert(&o, &err) == ADVML_OK);
    CU_ASSERT_FATAL(advml_dataset_open(&b, out2, &err) == ADVML_OK);
    advml_split_info in;
    CU_ASSERT(advml_dataset_info(b, "test", &in, &err) == ADVML_OK);
    CU_ASSERT(in.input.rank == 1 && in.input.d[0] == 4 && in.n == 10);
    CU_ASSERT(advml_dataset_read_block(b, "test", 0, 10, xb, NULL, &err) == ADVML_OK);
    for (int i = 0; i < 10; i++)
        CU_ASSERT(xb[i * 4] == (float)(((40 + i) * 17) % 50));
    advml_dataset_close(b);
}

static void t_convert_options(void)
{
    char src[160], out[160];
    write_table(src, sizeof src);
    snprintf(out, sizeof out, "%s/v.h5", dir);
    advml_csv_opts o;
    advml_csv_defaults(&o);
    o.from = src;
    o.out = out;
    o.force = 1;
    advml_error err = {0};
    /* two target columns: (N, 2) values */
    o.target = "f3,-1";
    CU_ASSERT_FATAL(advml_csv_convert(&o, &err) == ADVML_OK);
    advml_dataset *ds;
    CU_ASSERT_FATAL(advml_dataset_open(&ds, out, &err) == ADVML_OK);
    advml_split_info in;
    CU_ASSERT(advml_dataset_info(ds, "train", &in, &err) == ADVML_OK);
    CU_ASSERT(in.n == 50 && in.target_dim == 2 && in.input.rank == 1 && in.input.d[0] == 3);
    float x[3], y[2];
    CU_ASSERT(advml_dataset_read_block(ds, "train", 7, 1, x, y, &err) == ADVML_OK);
    CU_ASSERT(y[0] == -x[0] && y[1] == (float)((int)x[0] % 3));
    advml_dataset_close(ds);
    /* value kind on a class-looking column; standardize */
    o.target = "label";
    o.target_kind = "value";
    o.standardize = 1;
    CU_ASSERT_FATAL(advml_csv_convert(&o, &err) == ADVML_OK);
    CU_ASSERT_FATAL(advml_dataset_open(&ds, out, &err) == ADVML_OK);
    CU_ASSERT(advml_dataset_info(ds, "train", &in, &err) == ADVML_OK);
    CU_ASSERT(in.target_dim == 1);
    float all[50 * 4];
    CU_ASSERT(advml_dataset_read_block(ds, "train", 0, 50, all, NULL, &err) == ADVML_OK);
    double s = 0, ss = 0;
    for (int i = 0; i < 200; i++) {
        s += all[i];
        ss += (double)all[i] * all[i];
    }
    ADVML_CHECK_CLOSE(s / 200, 0.0, 1e-6);
    ADVML_CHECK_CLOSE(ss / 200, 1.0, 1e-6);
    advml_dataset_close(ds);
    o.standardize = 0;
    o.target_kind = "auto";
    /* class names: too few is an error, enough are stored */
    o.class_names = "a,b";
    CU_ASSERT(advml_csv_convert(&o, &err) == ADVML_ERR_ARG);
    CU_ASSERT(strstr(err.msg, "--class-names has 2 names") != NULL);
    o.class_names = "zero,one,two,three";
    CU_ASSERT_FATAL(advml_csv_convert(&o, &err) == ADVML_OK);
    CU_ASSERT_FATAL(advml_dataset_open(&ds, out, &err) == ADVML_OK);
    CU_ASSERT(advml_dataset_info(ds, "train", &in, &err) == ADVML_OK);
    CU_ASSERT(in.num_classes == 4);
    advml_dataset_close(ds);
    o.class_names = NULL;
    /* image shape that does not match; kind class on values; fractions */
    o.image = "1,3,3";
    CU_ASSERT(advml_csv_convert(&o, &err) == ADVML_ERR_SHAPE);
    CU_ASSERT(strstr(err.msg, "needs 9 feature columns") != NULL && strstr(err.msg, "has 4") != NULL);
    o.image = "1,2";
    CU_ASSERT(advml_csv_convert(&o, &err) == ADVML_ERR_ARG);
    o.image = NULL;
    o.target = "f2";
    o.target_kind = "class";
    CU_ASSERT(advml_csv_convert(&o, &err) == ADVML_ERR_FORMAT);
    o.target = "label";
    o.target_kind = "auto";
    o.test_fraction = 0.6;
    o.validation_fraction = 0.5;
    CU_ASSERT(advml_csv_convert(&o, &err) == ADVML_ERR_ARG);
    CU_ASSERT(strstr(err.msg, "no training rows") != NULL);
    o.test_fraction = 1.0;
    CU_ASSERT(advml_csv_convert(&o, &err) == ADVML_ERR_ARG);
    /* a broken table leaves an existing output alone */
    char bad[160];
    write_file("bad.csv", "1,2\n3,oops\n", bad, sizeof bad);
    o.from = bad;
    o.test_fraction = 0;
    o.validation_fraction = 0;
    CU_ASSERT(advml_csv_convert(&o, &err) == ADVML_ERR_FORMAT);
    CU_ASSERT(strstr(err.msg, "line 2, column 2") != NULL);
    CU_ASSERT(advml_dataset_open(&ds, out, &err) == ADVML_OK);
    advml_dataset_close(ds);
    char tmp[170];
    snprintf(tmp, sizeof tmp, "%s.tmp", out);
    CU_ASSERT(access(tmp, F_OK) != 0);
}

/* The course's 8x8 digits (sklearn load_digits), converted by the data_fixture test. */
static void t_digits(void)
{
#if defined(ADVML_TEST_SRC_DATA) && defined(ADVML_TEST_DATA_DIR)
    char src[512], h5[512];
    snprintf(src, sizeof src, "%s/digits.csv.gz", ADVML_TEST_SRC_DATA);
    snprintf(h5, sizeof h5, "%s/digits.h5", ADVML_TEST_DATA_DIR);
    if (access(src, R_OK) != 0) {
        printf("\n  (no %s: run scripts/fetch-data.sh; digits checks skipped) ", src);
        return;
    }
    static const int64_t known[10] = {178, 182, 177, 183, 181, 182, 181, 179, 174, 180};
    advml_dataset *ds;
    advml_error err = {0};
    CU_ASSERT_FATAL(advml_dataset_open(&ds, h5, &err) == ADVML_OK);
    advml_split_info tr, te;
    CU_ASSERT_FATAL(advml_dataset_info(ds, "train", &tr, &err) == ADVML_OK);
    CU_ASSERT_FATAL(advml_dataset_info(ds, "test", &te, &err) == ADVML_OK);
    CU_ASSERT(tr.n == 1437 && te.n == 360); /* 1797 images, 20% test (rounded up as sklearn) */
    CU_ASSERT(tr.input.rank == 3 && tr.input.d[0] == 1 && tr.input.d[1] == 8 && tr.input.d[2] == 8);
    CU_ASSERT(tr.num_classes == 10);
    int64_t c[10] = {0};
    float *x = malloc(1437 * 64 * sizeof *x), y[1437];
    float lo = 1e9f, hi = -1e9f;
    for (int k = 0; k < 2; k++) {
        int64_t n = k ? te.n : tr.n;
        CU_ASSERT(advml_dataset_read_block(ds, k ? "test" : "train", 0, n, x, y, &err) == ADVML_OK);
        for (int64_t i = 0; i < n; i++)
            c[(int)y[i]]++;
        for (int64_t i = 0; i < n * 64; i++) {
            lo = x[i] < lo ? x[i] : lo;
            hi = x[i] > hi ? x[i] : hi;
        }
    }
    for (int k = 0; k < 10; k++)
        CU_ASSERT(c[k] == known[k]);
    CU_ASSERT(lo == 0.0f && hi == 1.0f); /* pixels 0..16 scaled by 1/16 */
    free(x);
    advml_dataset_close(ds);
#else
    printf("\n  (built without the data fixture: digits checks skipped) ");
#endif
}

static void reg(void)
{
    advml_h5_quiet();
    static const advml_test_case c[] = {{"read", t_read},
                                        {"read_errors", t_read_errors},
                                        {"convert", t_convert},
                                        {"convert_options", t_convert_options},
                                        {"digits", t_digits},
                                        {NULL, NULL}};
    advml_test_add_suite("csvdata", c);
}

int main(void) { return advml_test_main_in_dir(reg, "csv_test", dir, sizeof dir); }

/* test_idx.c - IDX reading and MNIST conversion from IDX files the test writes (good and broken). */
#include "testutil.h"
#include "advml/dataset.h"
#include "advml/h5io.h"
#include "advml/idx.h"
#include "advml/mnist.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

static char dir[64];

/* Write an IDX file of unsigned bytes: magic (0, 0, type, ndim), dims, data.
 * gz: gzip it. extra: bytes appended after the data; cut: bytes dropped. */
static void write_idx(const char *path, int type, int ndim, const int *dims, const uint8_t *data, int gz,
                      int extra, int cut)
{
    size_t n = 1;
    for (int i = 0; i < ndim; i++)
        n *= (size_t)dims[i];
    size_t total = 4 + 4 * (size_t)ndim + n + (size_t)extra;
    uint8_t *b = calloc(total, 1);
    b[2] = (uint8_t)type;
    b[3] = (uint8_t)ndim;
    for (int i = 0; i < ndim; i++) {
        b[4 + 4 * i] = (uint8_t)(dims[i] >> 24);
        b[5 + 4 * i] = (uint8_t)(dims[i] >> 16);
        b[6 + 4 * i] = (uint8_t)(dims[i] >> 8);
        b[7 + 4 * i] = (uint8_t)dims[i];
    }
    if (data)
        memcpy(b + 4 + 4 * ndim, data, n);
    total -= (size_t)cut;
    if (gz) {
        gzFile g = gzopen(path, "wb");
        gzwrite(g, b, (unsigned)total);
        gzclose(g);
    } else {
        FILE *f = fopen(path, "wb");
        fwrite(b, 1, total, f);
        fclose(f);
    }
    free(b);
}

/* A small MNIST-like set in dir/sub: train n images of h x w, test m images. */
static void make_set(const char *sub, int n, int m, int h, int w, int gz)
{
    char d[256], p[300];
    snprintf(d, sizeof d, "%s/%s", dir, sub);
    mkdir(d, 0755);
    const char *sfx = gz ? ".gz" : "";
    for (int part = 0; part < 2; part++) {
        int cnt = part ? m : n;
        uint8_t *img = malloc((size_t)cnt * (size_t)(h * w)), *lab = malloc((size_t)cnt);
        for (int i = 0; i < cnt; i++) {
            for (int k = 0; k < h * w; k++)
                img[(size_t)i * (size_t)(h * w) + (size_t)k] = (uint8_t)((i * 31 + k * 7 + part * 3) & 255);
            lab[i] = (uint8_t)((i * 3 + part) % 10);
        }
        int dims3[3] = {cnt, h, w}, dims1[1] = {cnt};
        snprintf(p, sizeof p, "%s/%s-images-idx3-ubyte%s", d, part ? "t10k" : "train", sfx);
        write_idx(p, 0x08, 3, dims3, img, gz, 0, 0);
        snprintf(p, sizeof p, "%s/%s-labels-idx1-ubyte%s", d, part ? "t10k" : "train", sfx);
        write_idx(p, 0x08, 1, dims1, lab, gz, 0, 0);
        free(img);
        free(lab);
    }
}

static void t_read_good(void)
{
    char p[160];
    uint8_t data[2 * 3 * 4];
    for (int i = 0; i < 24; i++)
        data[i] = (uint8_t)(i * 11);
    int dims[3] = {2, 3, 4};
    for (int gz = 0; gz < 2; gz++) {
        snprintf(p, sizeof p, "%s/good%d", dir, gz);
        write_idx(p, 0x08, 3, dims, data, gz, 0, 0);
        advml_idx m;
        advml_error err = {0};
        CU_ASSERT_FATAL(advml_idx_read(p, 3, &m, &err) == ADVML_OK);
        CU_ASSERT(m.ndim == 3 && m.dims[0] == 2 && m.dims[1] == 3 && m.dims[2] == 4);
        CU_ASSERT(m.size == 24 && memcmp(m.data, data, 24) == 0);
        advml_idx_free(&m);
        CU_ASSERT(advml_idx_read(p, 0, &m, &err) == ADVML_OK); /* any rank */
        advml_idx_free(&m);
    }
}

/* Broken files fail with ADVML_ERR_FORMAT (or IO) and a message naming the file and the problem. */
static void expect_fail(const char *p, int ndim, advml_status code, const char *what)
{
    advml_idx m;
    advml_error err = {0};
    advml_status st = advml_idx_read(p, ndim, &m, &err);
    CU_ASSERT(st == code);
    CU_ASSERT(strstr(err.msg, p) != NULL);
    if (!strstr(err.msg, what)) {
        fprintf(stderr, "  message \"%s\" lacks \"%s\"\n", err.msg, what);
        CU_FAIL("message");
    }
    CU_ASSERT(m.data == NULL);
}

static void t_read_broken(void)
{
    char p[160];
    uint8_t data[24] = {0};
    int dims[3] = {2, 3, 4};
    snprintf(p, sizeof p, "%s/magic", dir);
    FILE *f = fopen(p, "wb");
    fputs("PK\x03\x04 this is a zip, not IDX", f);
    fclose(f);
    expect_fail(p, 3, ADVML_ERR_FORMAT, "not an IDX file");
    snprintf(p, sizeof p, "%s/short", dir);
    f = fopen(p, "wb");
    fputs("\x00\x00", f);
    fclose(f);
    expect_fail(p, 3, ADVML_ERR_FORMAT, "truncated");
    snprintf(p, sizeof p, "%s/trunc", dir);
    write_idx(p, 0x08, 3, dims, data, 0, 0, 5);
    expect_fail(p, 3, ADVML_ERR_FORMAT, "truncated");
    snprintf(p, sizeof p, "%s/trunchdr", dir);
    write_idx(p, 0x08, 3, dims, data, 0, 0, 24 + 6);
    expect_fail(p, 3, ADVML_ERR_FORMAT, "truncated");
    snprintf(p, sizeof p, "%s/truncgz", dir);
    write_idx(p, 0x08, 3, dims, data, 1, 0, 5);  /* short content inside a complete gzip stream */
    expect_fail(p, 3, ADVML_ERR_FORMAT, "truncated");
    snprintf(p, sizeof p, "%s/extra", dir);
    write_idx(p, 0x08, 3, dims, data, 0, 3, 0);
    expect_fail(p, 3, ADVML_ERR_FORMAT, "extra bytes");
    snprintf(p, sizeof p, "%s/float", dir);
    write_idx(p, 0x0D, 3, dims, data, 0, 0, 0);
    expect_fail(p, 3, ADVML_ERR_FORMAT, "not supported");
    snprintf(p, sizeof p, "%s/rank", dir);
    write_idx(p, 0x08, 3, dims, data, 0, 0, 0);
    expect_fail(p, 1, ADVML_ERR_FORMAT, "3 dimensions, expected 1");
    snprintf(p, sizeof p, "%s/does-not-exist", dir);
    expect_fail(p, 3, ADVML_ERR_IO, "cannot open");

    /* a gzip stream cut in the middle */
    static uint8_t big[64 * 1024];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (uint8_t)(i * 2654435761u >> 13);
    int bd[1] = {(int)sizeof big};
    char full[160];
    snprintf(full, sizeof full, "%s/full.gz", dir);
    write_idx(full, 0x08, 1, bd, big, 1, 0, 0);
    struct stat st;
    stat(full, &st);
    snprintf(p, sizeof p, "%s/cut.gz", dir);
    FILE *in = fopen(full, "rb"), *out = fopen(p, "wb");
    char *buf = malloc((size_t)st.st_size);
    size_t got = fread(buf, 1, (size_t)st.st_size, in);
    fwrite(buf, 1, got / 2, out);
    fclose(in);
    fclose(out);
    free(buf);
    expect_fail(p, 1, ADVML_ERR_FORMAT, "truncated");
}

static void t_find(void)
{
    make_set("plain", 30, 10, 4, 5, 0);
    make_set("gz", 30, 10, 4, 5, 1);
    char d[200], p[300];
    advml_error err = {0};
    snprintf(d, sizeof d, "%s/gz", dir);
    CU_ASSERT(advml_idx_find(d, "train-images-idx3-ubyte", p, sizeof p, &err) == ADVML_OK);
    CU_ASSERT(strstr(p, "train-images-idx3-ubyte.gz") != NULL);
    snprintf(d, sizeof d, "%s/nowhere", dir);
    CU_ASSERT(advml_idx_find(d, "train-images-idx3-ubyte", p, sizeof p, &err) == ADVML_ERR_IO);
    CU_ASSERT(strstr(err.msg, "no such directory") != NULL);
    snprintf(d, sizeof d, "%s", dir);
    CU_ASSERT(advml_idx_find(d, "train-images-idx3-ubyte", p, sizeof p, &err) == ADVML_ERR_IO);
    CU_ASSERT(strstr(err.msg, "train-images.idx3-ubyte") != NULL); /* lists the spellings tried */
}

static advml_status convert(const char *sub, const char *out, int64_t validation, int force, advml_error *err)
{
    char from[200];
    snprintf(from, sizeof from, "%s/%s", dir, sub);
    advml_mnist_opts o = {0};
    o.from = from;
    o.out = out;
    o.validation = validation;
    o.force = force;
    return advml_mnist_convert(&o, err);
}

/* The converted file holds the IDX bytes, the labels and the normalisation. */
static void t_convert(void)
{
    for (int gz = 0; gz < 2; gz++) {
        char out[160];
        snprintf(out, sizeof out, "%s/conv%d.h5", dir, gz);
        advml_error err = {0};
        CU_ASSERT_FATAL(convert(gz ? "gz" : "plain", out, 6, 0, &err) == ADVML_OK);
        advml_dataset *ds;
        CU_ASSERT_FATAL(advml_dataset_open(&ds, out, &err) == ADVML_OK);
        advml_split_info tr, va, te;
        CU_ASSERT_FATAL(advml_dataset_info(ds, "train", &tr, &err) == ADVML_OK);
        CU_ASSERT_FATAL(advml_dataset_info(ds, "validation", &va, &err) == ADVML_OK);
        CU_ASSERT_FATAL(advml_dataset_info(ds, "test", &te, &err) == ADVML_OK);
        CU_ASSERT(tr.n == 24 && va.n == 6 && te.n == 10);
        CU_ASSERT(tr.input.rank == 3 && tr.input.d[0] == 1 && tr.input.d[1] == 4 && tr.input.d[2] == 5);
        CU_ASSERT(tr.target_dim == 0 && tr.num_classes == 10 && !tr.is_sequence);
        float x[20], y;
        /* validation sample 2 is training image 26 */
        CU_ASSERT(advml_dataset_read_block(ds, "validation", 2, 1, x, &y, &err) == ADVML_OK);
        for (int k = 0; k < 20; k++) {
            uint8_t raw = (uint8_t)((26 * 31 + k * 7) & 255);
            ADVML_CHECK_CLOSE(x[k], (raw / 255.0 - 0.1307) / 0.3081, 1e-6);
        }
        CU_ASSERT(y == (float)((26 * 3) % 10));
        int64_t i7 = 7;
        CU_ASSERT(advml_dataset_read(ds, "test", &i7, 1, x, &y, &err) == ADVML_OK);
        ADVML_CHECK_CLOSE(x[3], (((7 * 31 + 3 * 7 + 3) & 255) / 255.0 - 0.1307) / 0.3081, 1e-6);
        CU_ASSERT(y == (float)((7 * 3 + 1) % 10));
        advml_dataset_close(ds);
        /* MNIST class names are the digits */
        hid_t f = H5Fopen(out, H5F_ACC_RDONLY, H5P_DEFAULT);
        hid_t d = H5Dopen2(f, "train/targets", H5P_DEFAULT);
        CU_ASSERT(advml_h5_has_attr(d, "class_names"));
        H5Dclose(d);
        char *s = NULL;
        CU_ASSERT(advml_h5_read_attr_string(f, "format", &s, &err) == ADVML_OK && s && strcmp(s, "advml-dataset") == 0);
        free(s);
        H5Fclose(f);
    }
}

/* Fashion-MNIST (by directory name) gets its class names and its own mean/std. */
static void t_fashion(void)
{
    make_set("fashion-small", 20, 10, 3, 3, 1);
    char out[160];
    snprintf(out, sizeof out, "%s/fashion.h5", dir);
    advml_error err = {0};
    CU_ASSERT_FATAL(convert("fashion-small", out, 0, 0, &err) == ADVML_OK);
    hid_t f = H5Fopen(out, H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t d = H5Dopen2(f, "train/targets", H5P_DEFAULT);
    hid_t a = H5Aopen(d, "class_names", H5P_DEFAULT);
    hid_t mt = H5Tcopy(H5T_C_S1);
    H5Tset_size(mt, H5T_VARIABLE);
    char *names[10] = {0};
    CU_ASSERT(H5Aread(a, mt, names) >= 0);
    CU_ASSERT(names[0] && strcmp(names[0], "T-shirt/top") == 0);
    CU_ASSERT(names[9] && strcmp(names[9], "Ankle boot") == 0);
    hid_t sp = H5Aget_space(a);
    H5Dvlen_reclaim(mt, sp, H5P_DEFAULT, names);
    H5Sclose(sp);
    H5Tclose(mt);
    H5Aclose(a);
    H5Dclose(d);
    /* mean/std of the training pixels / 255 */
    double s = 0, ss = 0;
    for (int i = 0; i < 20; i++)
        for (int k = 0; k < 9; k++) {
            double v = ((i * 31 + k * 7) & 255) / 255.0;
            s += v;
            ss += v * v;
        }
    double mean = s / 180, std = sqrt(ss / 180 - mean * mean), m2, s2;
    d = H5Dopen2(f, "train/inputs", H5P_DEFAULT);
    CU_ASSERT(advml_h5_read_attr_double(d, "mean", &m2, &err) == ADVML_OK);
    CU_ASSERT(advml_h5_read_attr_double(d, "std", &s2, &err) == ADVML_OK);
    ADVML_CHECK_CLOSE(m2, mean, 1e-12);
    ADVML_CHECK_CLOSE(s2, std, 1e-12);
    H5Dclose(d);
    H5Fclose(f);
}

/* A conversion that fails leaves no output and never damages an existing one. */
static void expect_convert_fail(const char *sub, const char *what1, const char *what2)
{
    char out[160], tmp[170];
    snprintf(out, sizeof out, "%s/fail.h5", dir);
    snprintf(tmp, sizeof tmp, "%s.tmp", out);
    FILE *f = fopen(out, "w");
    fputs("keep me", f);
    fclose(f);
    advml_error err = {0};
    advml_status st = convert(sub, out, 0, 1, &err);
    CU_ASSERT(st == ADVML_ERR_FORMAT);
    if (!strstr(err.msg, what1) || (what2 && !strstr(err.msg, what2))) {
        fprintf(stderr, "  message \"%s\" lacks \"%s\" / \"%s\"\n", err.msg, what1, what2 ? what2 : "");
        CU_FAIL("message");
    }
    char buf[16] = {0};
    f = fopen(out, "r");
    CU_ASSERT(f && fread(buf, 1, sizeof buf - 1, f) == 7 && strcmp(buf, "keep me") == 0);
    if (f)
        fclose(f);
    CU_ASSERT(access(tmp, F_OK) != 0);
    unlink(out);
}

static void t_convert_broken(void)
{
    char d[200], p[300];
    /* count mismatch: 30 images, 29 labels */
    make_set("mismatch", 30, 10, 4, 5, 0);
    snprintf(p, sizeof p, "%s/mismatch/train-labels-idx1-ubyte", dir);
    uint8_t lab[29] = {0};
    int d1[1] = {29};
    write_idx(p, 0x08, 1, d1, lab, 0, 0, 0);
    expect_convert_fail("mismatch", "count mismatch", "29 labels");
    /* bad magic in the test images */
    make_set("badmagic", 30, 10, 4, 5, 0);
    snprintf(p, sizeof p, "%s/badmagic/t10k-images-idx3-ubyte", dir);
    FILE *f = fopen(p, "r+b");
    fputc(0x1f, f);
    fclose(f);
    expect_convert_fail("badmagic", "t10k-images-idx3-ubyte", "not an IDX file");
    /* truncated training images (gzip) */
    make_set("truncated", 30, 10, 4, 5, 1);
    snprintf(p, sizeof p, "%s/truncated/train-images-idx3-ubyte.gz", dir);
    static uint8_t img[30 * 20];
    int d3[3] = {30, 4, 5};
    write_idx(p, 0x08, 3, d3, img, 1, 0, 20);
    expect_convert_fail("truncated", "train-images-idx3-ubyte.gz", "truncated");
    /* a label outside 0..9 */
    make_set("badlabel", 30, 10, 4, 5, 0);
    snprintf(p, sizeof p, "%s/badlabel/t10k-labels-idx1-ubyte", dir);
    uint8_t l10[10] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 12};
    int d10[1] = {10};
    write_idx(p, 0x08, 1, d10, l10, 0, 0, 0);
    expect_convert_fail("badlabel", "label 12", "outside 0..9");
    /* train and test images of different sizes */
    make_set("sizes", 30, 10, 4, 5, 0);
    snprintf(p, sizeof p, "%s/sizes/t10k-images-idx3-ubyte", dir);
    int d35[3] = {10, 5, 4};
    write_idx(p, 0x08, 3, d35, img, 0, 0, 0);
    expect_convert_fail("sizes", "4x5", "5x4");

    /* missing directory / file, bad --validation, existing output without force */
    advml_error err = {0};
    char out[160];
    snprintf(out, sizeof out, "%s/x.h5", dir);
    CU_ASSERT(convert("nope", out, 0, 0, &err) == ADVML_ERR_IO);
    CU_ASSERT(strstr(err.msg, "no such directory") != NULL);
    snprintf(d, sizeof d, "%s/missing", dir);
    mkdir(d, 0755);
    CU_ASSERT(convert("missing", out, 0, 0, &err) == ADVML_ERR_IO);
    CU_ASSERT(strstr(err.msg, "train-images-idx3-ubyte") != NULL);
    CU_ASSERT(convert("plain", out, 30, 0, &err) == ADVML_ERR_ARG);
    CU_ASSERT(strstr(err.msg, "--validation 30") != NULL);
    CU_ASSERT(access(out, F_OK) != 0);
    CU_ASSERT(convert("plain", out, 0, 0, &err) == ADVML_OK);
    CU_ASSERT(convert("plain", out, 0, 0, &err) == ADVML_ERR_IO);
    CU_ASSERT(strstr(err.msg, "--force") != NULL);
    CU_ASSERT(convert("plain", out, 0, 1, &err) == ADVML_OK);
    snprintf(out, sizeof out, "%s/no/such/dir/x.h5", dir);
    CU_ASSERT(convert("plain", out, 0, 0, &err) == ADVML_ERR_IO);
    CU_ASSERT(strstr(err.msg, "does not exist") != NULL);
}

static void reg(void)
{
    advml_h5_quiet();
    static const advml_test_case c[] = {{"read_good", t_read_good},
                                        {"read_broken", t_read_broken},
                                        {"find", t_find},
                                        {"convert", t_convert},
                                        {"fashion", t_fashion},
                                        {"convert_broken", t_convert_broken},
                                        {NULL, NULL}};
    advml_test_add_suite("idx", c);
}

int main(void) { return advml_test_main_in_dir(reg, "idx_test", dir, sizeof dir); }

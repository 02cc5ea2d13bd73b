/* test_h5io.c - atomic HDF5 output, attributes and datasets (src/h5io.c). */
#include "testutil.h"
#include "advml/h5io.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[64];

static void path_in(char *buf, size_t n, const char *name) { snprintf(buf, n, "%s/%s", dir, name); }

static int exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0;
}

static void write_text(const char *p, const char *text)
{
    FILE *f = fopen(p, "w");
    CU_ASSERT_FATAL(f != NULL);
    fputs(text, f);
    fclose(f);
}

static int file_equals(const char *p, const char *text)
{
    char buf[256] = {0};
    FILE *f = fopen(p, "r");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    return n == strlen(text) && memcmp(buf, text, n) == 0;
}

/* A committed file appears whole at its path and no .tmp remains. */
static void t_create_commit(void)
{
    char p[128], tmp[140];
    path_in(p, sizeof p, "a.h5");
    snprintf(tmp, sizeof tmp, "%s.tmp", p);
    advml_h5out o;
    advml_error err = {0};
    CU_ASSERT_FATAL(advml_h5out_create(&o, p, 0, &err) == ADVML_OK);
    CU_ASSERT(exists(tmp));
    CU_ASSERT(!exists(p));
    float v[3] = {1, 2, 3};
    hsize_t dims[1] = {3};
    CU_ASSERT(advml_h5_write(o.file, "x", H5T_NATIVE_FLOAT, H5T_IEEE_F32LE, 1, dims, v, 0, 0, NULL, &err) ==
              ADVML_OK);
    /* an object left open must not stop the commit (strong close) */
    hid_t g;
    CU_ASSERT(advml_h5_group(o.file, "left/open", &g, &err) == ADVML_OK);
    CU_ASSERT(advml_h5out_commit(&o, &err) == ADVML_OK);
    CU_ASSERT(!exists(tmp));
    CU_ASSERT(exists(p));
    hid_t f = H5Fopen(p, H5F_ACC_RDONLY, H5P_DEFAULT);
    CU_ASSERT_FATAL(f >= 0);
    float r[3] = {0};
    hid_t d = H5Dopen2(f, "x", H5P_DEFAULT);
    CU_ASSERT(d >= 0 && H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, r) >= 0);
    CU_ASSERT(r[0] == 1 && r[1] == 2 && r[2] == 3);
    CU_ASSERT(H5Lexists(f, "left", H5P_DEFAULT) > 0);
    H5Dclose(d);
    H5Fclose(f);
    unlink(p);
}

/* An existing file is refused without force and untouched by an aborted or
 * unfinished write; with force a commit replaces it. */
static void t_existing(void)
{
    char p[128], tmp[140];
    path_in(p, sizeof p, "b.h5");
    snprintf(tmp, sizeof tmp, "%s.tmp", p);
    write_text(p, "precious");
    advml_h5out o;
    advml_error err = {0};
    CU_ASSERT(advml_h5out_create(&o, p, 0, &err) == ADVML_ERR_IO);
    CU_ASSERT(strstr(err.msg, p) != NULL);
    CU_ASSERT(strstr(err.msg, "exists") != NULL);
    CU_ASSERT(strstr(err.msg, "--force") != NULL);
    CU_ASSERT(!exists(tmp));
    CU_ASSERT(file_equals(p, "precious"));
    advml_h5out_abort(&o); /* safe after a failed create */
    CU_ASSERT(file_equals(p, "precious"));

    /* force, write, abort: the old file is intact and the tmp is gone */
    CU_ASSERT_FATAL(advml_h5out_create(&o, p, 1, &err) == ADVML_OK);
    CU_ASSERT(advml_h5_attr_string(o.file, "k", "v", &err) == ADVML_OK);
    CU_ASSERT(file_equals(p, "precious"));
    advml_h5out_abort(&o);
    CU_ASSERT(!exists(tmp));
    CU_ASSERT(file_equals(p, "precious"));
    advml_h5out_abort(&o); /* twice is harmless */

    /* an unfinished write (a crash before commit) leaves only the tmp */
    CU_ASSERT_FATAL(advml_h5out_create(&o, p, 1, &err) == ADVML_OK);
    H5Fflush(o.file, H5F_SCOPE_GLOBAL);
    CU_ASSERT(exists(tmp));
    CU_ASSERT(file_equals(p, "precious"));
    advml_h5out_abort(&o);

    /* force + commit replaces */
    CU_ASSERT_FATAL(advml_h5out_create(&o, p, 1, &err) == ADVML_OK);
    CU_ASSERT(advml_h5_attr_string(o.file, "k", "v", &err) == ADVML_OK);
    CU_ASSERT(advml_h5out_commit(&o, &err) == ADVML_OK);
    CU_ASSERT(!exists(tmp));
    CU_ASSERT(H5Fis_hdf5(p) > 0);
    advml_h5out_abort(&o); /* after a commit: must not remove the result */
    CU_ASSERT(exists(p));
    unlink(p);
}

static void t_unwritable(void)
{
    char p[160];
    path_in(p, sizeof p, "no/such/dir/c.h5");
    advml_h5out o;
    advml_error err = {0};
    CU_ASSERT(advml_h5out_create(&o, p, 1, &err) == ADVML_ERR_IO);
    CU_ASSERT(strstr(err.msg, "does not exist") != NULL);
    CU_ASSERT(strstr(err.msg, p) != NULL);
    CU_ASSERT(advml_h5out_create(&o, dir, 1, &err) == ADVML_ERR_IO); /* a directory */
    CU_ASSERT(strstr(err.msg, "directory") != NULL);
    CU_ASSERT(advml_h5out_create(&o, "", 1, &err) == ADVML_ERR_ARG);
    advml_h5out_abort(&o);
    /* a failed commit (file vanished underneath) leaves nothing behind */
    path_in(p, sizeof p, "d.h5");
    CU_ASSERT_FATAL(advml_h5out_create(&o, p, 0, &err) == ADVML_OK);
    char tmp[180];
    snprintf(tmp, sizeof tmp, "%s.tmp", p);
    CU_ASSERT(exists(tmp));
    unlink(tmp);
    CU_ASSERT(advml_h5out_commit(&o, &err) != ADVML_OK);
    advml_h5out_abort(&o);
    CU_ASSERT(!exists(p));
    CU_ASSERT(!exists(tmp));
}

static void t_attributes(void)
{
    char p[128];
    path_in(p, sizeof p, "e.h5");
    advml_h5out o;
    advml_error err = {0};
    CU_ASSERT_FATAL(advml_h5out_create(&o, p, 1, &err) == ADVML_OK);
    hid_t g;
    CU_ASSERT_FATAL(advml_h5_group(o.file, "a/b/c", &g, &err) == ADVML_OK);
    CU_ASSERT(advml_h5_attr_string(g, "s", "first", &err) == ADVML_OK);
    CU_ASSERT(advml_h5_attr_string(g, "s", "h\xc3\xa9llo", &err) == ADVML_OK); /* overwrite, UTF-8 */
    CU_ASSERT(advml_h5_attr_string(g, "empty", "", &err) == ADVML_OK);
    CU_ASSERT(advml_h5_attr_int64(g, "i", -((int64_t)1 << 40), &err) == ADVML_OK);
    CU_ASSERT(advml_h5_attr_double(g, "d", 0.1307, &err) == ADVML_OK);
    double dv[3] = {1.5, -2.5, 1e300};
    CU_ASSERT(advml_h5_attr_doubles(g, "dv", dv, 3, &err) == ADVML_OK);
    const char *names[3] = {"T-shirt/top", "Trouser", "Ankle boot"};
    CU_ASSERT(advml_h5_attr_strings(g, "names", names, 3, &err) == ADVML_OK);
    H5Gclose(g);
    /* reopening an existing group works; a dataset is not a group */
    CU_ASSERT(advml_h5_group(o.file, "a/b", &g, &err) == ADVML_OK);
    H5Gclose(g);
    hsize_t one = 1;
    int iv = 7;
    CU_ASSERT(advml_h5_write(o.file, "a/ds", H5T_NATIVE_INT, H5T_STD_I32LE, 1, &one, &iv, 0, 0, NULL, &err) ==
              ADVML_OK);
    CU_ASSERT(advml_h5_group(o.file, "a/ds", &g, &err) == ADVML_ERR_FORMAT);
    CU_ASSERT(advml_h5_write(o.file, "a/ds", H5T_NATIVE_INT, H5T_STD_I32LE, 1, &one, &iv, 0, 0, NULL, &err) ==
              ADVML_ERR_IO);
    CU_ASSERT(strstr(err.msg, "a/ds") != NULL);
    /* a fixed-length string attribute, as other tools write them */
    hid_t ft = H5Tcopy(H5T_C_S1);
    H5Tset_size(ft, 5);
    H5Tset_strpad(ft, H5T_STR_NULLPAD);
    hid_t sp = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(o.file, "fixed", ft, sp, H5P_DEFAULT, H5P_DEFAULT);
    H5Awrite(a, ft, "abcde");
    H5Aclose(a);
    H5Sclose(sp);
    H5Tclose(ft);
    CU_ASSERT_FATAL(advml_h5out_commit(&o, &err) == ADVML_OK);

    hid_t f = H5Fopen(p, H5F_ACC_RDONLY, H5P_DEFAULT);
    CU_ASSERT_FATAL(f >= 0);
    g = H5Gopen2(f, "a/b/c", H5P_DEFAULT);
    CU_ASSERT_FATAL(g >= 0);
    char *s = NULL;
    CU_ASSERT(advml_h5_read_attr_string(g, "s", &s, &err) == ADVML_OK);
    CU_ASSERT(s && strcmp(s, "h\xc3\xa9llo") == 0);
    free(s);
    CU_ASSERT(advml_h5_read_attr_string(g, "empty", &s, &err) == ADVML_OK);
    CU_ASSERT(s && s[0] == '\0');
    free(s);
    CU_ASSERT(advml_h5_read_attr_string(f, "fixed", &s, &err) == ADVML_OK);
    CU_ASSERT(s && strcmp(s, "abcde") == 0);
    free(s);
    int64_t i = 0;
    CU_ASSERT(advml_h5_read_attr_int64(g, "i", &i, &err) == ADVML_OK);
    CU_ASSERT(i == -((int64_t)1 << 40));
    double d = 0;
    CU_ASSERT(advml_h5_read_attr_double(g, "d", &d, &err) == ADVML_OK);
    CU_ASSERT(d == 0.1307);
    CU_ASSERT(advml_h5_read_attr_double(g, "i", &d, &err) == ADVML_OK); /* an integer reads as a number */
    CU_ASSERT(d == (double)-((int64_t)1 << 40));
    CU_ASSERT(advml_h5_has_attr(g, "names"));
    CU_ASSERT(!advml_h5_has_attr(g, "nope"));
    /* the arrays round-trip */
    double rv[3] = {0};
    a = H5Aopen(g, "dv", H5P_DEFAULT);
    CU_ASSERT(H5Aread(a, H5T_NATIVE_DOUBLE, rv) >= 0);
    H5Aclose(a);
    CU_ASSERT(rv[0] == 1.5 && rv[1] == -2.5 && rv[2] == 1e300);
    a = H5Aopen(g, "names", H5P_DEFAULT);
    hid_t mt = H5Tcopy(H5T_C_S1);
    H5Tset_size(mt, H5T_VARIABLE);
    char *rn[3] = {NULL, NULL, NULL};
    CU_ASSERT(H5Aread(a, mt, rn) >= 0);
    for (int k = 0; k < 3; k++)
        CU_ASSERT(rn[k] && strcmp(rn[k], names[k]) == 0);
    sp = H5Aget_space(a);
    CU_ASSERT(H5Sget_simple_extent_npoints(sp) == 3);
    H5Dvlen_reclaim(mt, sp, H5P_DEFAULT, rn);
    H5Sclose(sp);
    H5Tclose(mt);
    H5Aclose(a);
    /* wrong kind and missing attributes name the attribute */
    CU_ASSERT(advml_h5_read_attr_int64(g, "s", &i, &err) == ADVML_ERR_FORMAT);
    CU_ASSERT(strstr(err.msg, "attribute s ") != NULL);
    CU_ASSERT(advml_h5_read_attr_double(g, "dv", &d, &err) == ADVML_ERR_FORMAT); /* 3 values */
    CU_ASSERT(advml_h5_read_attr_string(g, "d", &s, &err) == ADVML_ERR_FORMAT);
    CU_ASSERT(s == NULL);
    CU_ASSERT(advml_h5_read_attr_double(g, "missing", &d, &err) == ADVML_ERR_FORMAT);
    CU_ASSERT(strstr(err.msg, "missing") != NULL);
    H5Gclose(g);
    H5Fclose(f);
    unlink(p);
}

static void t_datasets(void)
{
    char p[128];
    path_in(p, sizeof p, "f.h5");
    advml_h5out o;
    advml_error err = {0};
    CU_ASSERT_FATAL(advml_h5out_create(&o, p, 1, &err) == ADVML_OK);
    /* extendible: chunked along dim 0, maxshape (unlimited, 4) */
    hsize_t dims[2] = {0, 4};
    hid_t d;
    CU_ASSERT_FATAL(advml_h5_write(o.file, "/metrics/epoch/loss", H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE, 2, dims,
                                   NULL, 1, 0, &d, &err) == ADVML_OK);
    hsize_t newdims[2] = {3, 4};
    CU_ASSERT(H5Dset_extent(d, newdims) >= 0);
    H5Dclose(d);
    /* compressed, not extendible */
    static uint8_t img[1000 * 28 * 28];
    for (size_t k = 0; k < sizeof img; k++)
        img[k] = (uint8_t)(k * 7);
    hsize_t idims[4] = {1000, 1, 28, 28};
    CU_ASSERT(advml_h5_write(o.file, "train/inputs", H5T_NATIVE_UINT8, H5T_STD_U8LE, 4, idims, img, 0, 1, NULL,
                             &err) == ADVML_OK);
    /* empty and scalar datasets are allowed */
    hsize_t edims[1] = {0};
    CU_ASSERT(advml_h5_write(o.file, "empty", H5T_NATIVE_FLOAT, H5T_IEEE_F32LE, 1, edims, NULL, 0, 1, NULL,
                             &err) == ADVML_OK);
    double sc = 2.5;
    CU_ASSERT(advml_h5_write(o.file, "scalar", H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE, 0, NULL, &sc, 0, 0, NULL,
                             &err) == ADVML_OK);
    CU_ASSERT(advml_h5_write(o.file, "bad", H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE, 0, NULL, &sc, 1, 0, NULL,
                             &err) == ADVML_ERR_ARG);
    CU_ASSERT_FATAL(advml_h5out_commit(&o, &err) == ADVML_OK);

    hid_t f = H5Fopen(p, H5F_ACC_RDONLY, H5P_DEFAULT);
    CU_ASSERT_FATAL(f >= 0);
    d = H5Dopen2(f, "metrics/epoch/loss", H5P_DEFAULT);
    CU_ASSERT_FATAL(d >= 0);
    hid_t dcpl = H5Dget_create_plist(d);
    CU_ASSERT(H5Pget_layout(dcpl) == H5D_CHUNKED);
    hsize_t ch[2] = {0, 0};
    CU_ASSERT(H5Pget_chunk(dcpl, 2, ch) == 2);
    CU_ASSERT(ch[0] >= 1 && ch[1] == 4);
    H5Pclose(dcpl);
    hid_t sp = H5Dget_space(d);
    hsize_t cur[2], mx[2];
    H5Sget_simple_extent_dims(sp, cur, mx);
    CU_ASSERT(cur[0] == 3 && cur[1] == 4);
    CU_ASSERT(mx[0] == H5S_UNLIMITED && mx[1] == 4);
    H5Sclose(sp);
    H5Dclose(d);

    d = H5Dopen2(f, "train/inputs", H5P_DEFAULT);
    CU_ASSERT_FATAL(d >= 0);
    dcpl = H5Dget_create_plist(d);
    CU_ASSERT(H5Pget_layout(dcpl) == H5D_CHUNKED);
    hsize_t ch4[4] = {0};
    CU_ASSERT(H5Pget_chunk(dcpl, 4, ch4) == 4);
    CU_ASSERT(ch4[0] >= 1 && ch4[0] <= 1000 && ch4[1] == 1 && ch4[2] == 28 && ch4[3] == 28);
    int nf = H5Pget_nfilters(dcpl);
    int shuffle = 0, deflate = 0;
    for (int k = 0; k < nf; k++) {
        unsigned flags;
        size_t ne = 0;
        H5Z_filter_t id = H5Pget_filter2(dcpl, (unsigned)k, &flags, &ne, NULL, 0, NULL, NULL);
        shuffle |= id == H5Z_FILTER_SHUFFLE;
        deflate |= id == H5Z_FILTER_DEFLATE;
    }
    CU_ASSERT(shuffle && deflate);
    H5Pclose(dcpl);
    static uint8_t back[1000 * 28 * 28];
    CU_ASSERT(H5Dread(d, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, back) >= 0);
    CU_ASSERT(memcmp(img, back, sizeof img) == 0);
    H5Dclose(d);
    H5Fclose(f);
    unlink(p);
}

static void reg(void)
{
    advml_h5_quiet();
    static const advml_test_case c[] = {{"create_commit", t_create_commit},
                                        {"existing_file", t_existing},
                                        {"unwritable", t_unwritable},
                                        {"attributes", t_attributes},
                                        {"datasets", t_datasets},
                                        {NULL, NULL}};
    advml_test_add_suite("h5io", c);
}

int main(void) { return advml_test_main_in_dir(reg, "h5io_test", dir, sizeof dir); }

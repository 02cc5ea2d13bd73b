/* dataset_info.c - describing an HDF5 dataset file (see include/advml/dataset_info.h);
 * with dataset.c (reading) and dataset_write.c (writing), the dataset module. */
#include "advml/dataset_info.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <hdf5.h>

#include "advml/dataset.h"
#include "advml/h5io.h"

#define MAX_SHOWN 10

typedef struct walk {
    FILE *out;
    char prefix[1024];
    int depth;
    advml_status st;
    advml_error *err;
} walk;

static void dtype_name(hid_t t, char *buf, size_t n)
{
    H5T_class_t c = H5Tget_class(t);
    size_t sz = H5Tget_size(t);
    if (c == H5T_INTEGER)
        snprintf(buf, n, "%s%zu", H5Tget_sign(t) == H5T_SGN_NONE ? "uint" : "int", sz * 8);
    else if (c == H5T_FLOAT)
        snprintf(buf, n, "float%zu", sz * 8);
    else if (c == H5T_STRING)
        snprintf(buf, n, "%s string", H5Tis_variable_str(t) > 0 ? "variable-length" : "fixed-length");
    else
        snprintf(buf, n, "HDF5 class %d", (int)c);
}

static void print_dims(FILE *out, hid_t space)
{
    int r = H5Sget_simple_extent_ndims(space);
    hsize_t d[H5S_MAX_RANK], mx[H5S_MAX_RANK];
    if (r < 0) {
        fprintf(out, "(?)");
        return;
    }
    H5Sget_simple_extent_dims(space, d, mx);
    fprintf(out, "(");
    for (int i = 0; i < r; i++)
        fprintf(out, "%s%llu", i ? ", " : "", (unsigned long long)d[i]);
    fprintf(out, r == 1 ? ",)" : ")");
    int unlimited = 0;
    for (int i = 0; i < r; i++)
        unlimited |= mx[i] == H5S_UNLIMITED;
    if (unlimited) {
        fprintf(out, " maxshape (");
        for (int i = 0; i < r; i++) {
            if (mx[i] == H5S_UNLIMITED)
                fprintf(out, "%sNone", i ? ", " : "");
            else
                fprintf(out, "%s%llu", i ? ", " : "", (unsigned long long)mx[i]);
        }
        fprintf(out, ")");
    }
}

/* Print one attribute's value (strings quoted, up to MAX_SHOWN elements). */
static herr_t attr_cb(hid_t obj, const char *name, const H5A_info_t *info, void *data)
{
    (void)info;
    walk *w = data;
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    if (a < 0)
        return 0;
    hid_t t = H5Aget_type(a), sp = H5Aget_space(a);
    hssize_t np = H5Sget_simple_extent_npoints(sp);
    int scalar = H5Sget_simple_extent_type(sp) == H5S_SCALAR;
    H5T_class_t c = H5Tget_class(t);
    fprintf(w->out, "%*s@%s = ", 2 * w->depth + 2, "", name);
    if (!scalar)
        fprintf(w->out, "[");
    size_t shown = np < MAX_SHOWN ? (size_t)np : MAX_SHOWN;
    if (c == H5T_STRING && H5Tis_variable_str(t) > 0) {
        char **v = calloc((size_t)np + 1, sizeof *v);
        hid_t mt = H5Tcopy(H5T_C_S1);
        H5Tset_size(mt, H5T_VARIABLE);
        H5Tset_cset(mt, H5Tget_cset(t));
        if (v && H5Aread(a, mt, v) >= 0) {
            for (size_t i = 0; i < shown; i++)
                fprintf(w->out, "%s\"%s\"", i ? ", " : "", v[i] ? v[i] : "");
            H5Dvlen_reclaim(mt, sp, H5P_DEFAULT, v);
        }
        H5Tclose(mt);
        free(v);
    } else if (c == H5T_STRING) {
        size_t sz = H5Tget_size(t);
        char *v = calloc((size_t)np * (sz + 1) + 1, 1);
        hid_t mt = H5Tcopy(H5T_C_S1);
        H5Tset_size(mt, sz + 1);
        if (v && H5Aread(a, mt, v) >= 0)
            for (size_t i = 0; i < shown; i++)
                fprintf(w->out, "%s\"%s\"", i ? ", " : "", v + i * (sz + 1));
        H5Tclose(mt);
        free(v);
    } else if (c == H5T_INTEGER) {
        int64_t *v = malloc(((size_t)np + 1) * sizeof *v);
        if (v && H5Aread(a, H5T_NATIVE_INT64, v) >= 0)
            for (size_t i = 0; i < shown; i++)
                fprintf(w->out, "%s%lld", i ? ", " : "", (long long)v[i]);
        free(v);
    } else if (c == H5T_FLOAT) {
        double *v = malloc(((size_t)np + 1) * sizeof *v);
        if (v && H5Aread(a, H5T_NATIVE_DOUBLE, v) >= 0)
            for (size_t i = 0; i < shown; i++)
                fprintf(w->out, "%s%.10g", i ? ", " : "", v[i]);
        free(v);
    } else {
        fprintf(w->out, "(HDF5 class %d)", (int)c);
    }
    if ((size_t)np > shown)
        fprintf(w->out, ", ... (%lld values)", (long long)np);
    if (!scalar)
        fprintf(w->out, "]");
    fprintf(w->out, "\n");
    H5Sclose(sp);
    H5Tclose(t);
    H5Aclose(a);
    return 0;
}

static void print_attrs(walk *w, hid_t obj)
{
    hsize_t idx = 0;
    H5Aiterate2(obj, H5_INDEX_NAME, H5_ITER_INC, &idx, attr_cb, w);
}

/* Class counts of an integer (N) targets dataset. */
static void print_class_counts(walk *w, hid_t d, hsize_t n)
{
    int64_t k = 0;
    if (advml_h5_has_attr(d, "num_classes"))
        advml_h5_read_attr_int64(d, "num_classes", &k, NULL);
    int32_t *v = malloc((size_t)(n ? n : 1) * sizeof *v);
    if (!v || H5Dread(d, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) < 0) {
        free(v);
        return;
    }
    int32_t maxc = -1;
    int64_t bad = 0;
    for (hsize_t i = 0; i < n; i++) {
        if (v[i] < 0)
            bad++;
        else if (v[i] > maxc)
            maxc = v[i];
    }
    if (k < maxc + 1)
        k = maxc + 1;
    if (k > 100000) {
        free(v);
        return;
    }
    int64_t *cnt = calloc((size_t)(k ? k : 1), sizeof *cnt);
    if (cnt) {
        for (hsize_t i = 0; i < n; i++)
            if (v[i] >= 0)
                cnt[v[i]]++;
        fprintf(w->out, "%*sclass counts:", 2 * w->depth + 2, "");
        for (int64_t c = 0; c < k; c++)
            fprintf(w->out, " %lld:%lld", (long long)c, (long long)cnt[c]);
        if (bad)
            fprintf(w->out, " (and %lld negative ids)", (long long)bad);
        fprintf(w->out, "\n");
    }
    free(cnt);
    free(v);
}

static void print_dataset(walk *w, hid_t d, const char *name)
{
    hid_t t = H5Dget_type(d), sp = H5Dget_space(d), dcpl = H5Dget_create_plist(d);
    char tn[64];
    dtype_name(t, tn, sizeof tn);
    fprintf(w->out, "%*s%s  dataset %s ", 2 * w->depth, "", name, tn);
    print_dims(w->out, sp);
    if (H5Pget_layout(dcpl) == H5D_CHUNKED) {
        hsize_t ch[H5S_MAX_RANK];
        int r = H5Pget_chunk(dcpl, H5S_MAX_RANK, ch);
        fprintf(w->out, " chunks (");
        for (int i = 0; i < r; i++)
            fprintf(w->out, "%s%llu", i ? ", " : "", (unsigned long long)ch[i]);
        fprintf(w->out, ")");
        int nf = H5Pget_nfilters(dcpl);
        for (int i = 0; i < nf; i++) {
            unsigned flags, cd[8];
            size_t ncd = 8;
            char fname[64] = "";
            H5Z_filter_t id = H5Pget_filter2(dcpl, (unsigned)i, &flags, &ncd, cd, sizeof fname, fname, NULL);
            if (id == H5Z_FILTER_DEFLATE)
                fprintf(w->out, "%sdeflate(%u)", i ? "+" : " ", ncd ? cd[0] : 0);
            else if (id == H5Z_FILTER_SHUFFLE)
                fprintf(w->out, "%sshuffle", i ? "+" : " ");
            else
                fprintf(w->out, "%sfilter %d", i ? "+" : " ", (int)id);
        }
    }
    fprintf(w->out, "\n");
    print_attrs(w, d);
    const char *base = strrchr(name, '/');
    base = base ? base + 1 : name;
    if (strcmp(base, "targets") == 0 && H5Tget_class(t) == H5T_INTEGER && H5Sget_simple_extent_ndims(sp) == 1) {
        hsize_t n;
        H5Sget_simple_extent_dims(sp, &n, NULL);
        print_class_counts(w, d, n);
    }
    H5Pclose(dcpl);
    H5Sclose(sp);
    H5Tclose(t);
}

static herr_t link_cb(hid_t g, const char *name, const H5L_info_t *info, void *data)
{
    (void)info;
    walk *w = data;
    H5O_info_t oi;
    if (H5Oget_info_by_name(g, name, &oi, H5P_DEFAULT) < 0) {
        fprintf(w->out, "%*s%s%s  (unresolvable link)\n", 2 * w->depth, "", w->prefix, name);
        return 0;
    }
    size_t plen = strlen(w->prefix);
    snprintf(w->prefix + plen, sizeof w->prefix - plen, "%s", name);
    if (oi.type == H5O_TYPE_GROUP) {
        fprintf(w->out, "%*s%s/  group\n", 2 * w->depth, "", w->prefix);
        hid_t sub = H5Gopen2(g, name, H5P_DEFAULT);
        if (sub >= 0) {
            print_attrs(w, sub);
            size_t l2 = strlen(w->prefix);
            snprintf(w->prefix + l2, sizeof w->prefix - l2, "/");
            w->depth++;
            hsize_t idx = 0;
            H5Literate(sub, H5_INDEX_NAME, H5_ITER_INC, &idx, link_cb, w);
            w->depth--;
            H5Gclose(sub);
        }
    } else if (oi.type == H5O_TYPE_DATASET) {
        hid_t d = H5Dopen2(g, name, H5P_DEFAULT);
        if (d >= 0) {
            print_dataset(w, d, w->prefix);
            H5Dclose(d);
        }
    } else {
        fprintf(w->out, "%*s%s  (named datatype)\n", 2 * w->depth, "", w->prefix);
    }
    w->prefix[plen] = '\0';
    return 0;
}

advml_status advml_dsinfo_print(FILE *out, const char *path, advml_error *err)
{
    advml_h5_quiet();
    FILE *f = fopen(path, "rb");
    if (!f)
        return advml_error_set(err, ADVML_ERR_IO, "%s: cannot open (no such file or unreadable)", path);
    fclose(f);
    if (H5Fis_hdf5(path) <= 0)
        return advml_error_set(err, ADVML_ERR_FORMAT, "%s: not an HDF5 file", path);
    hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (file < 0)
        return advml_error_set(err, ADVML_ERR_IO, "%s: cannot open the HDF5 file", path);
    walk w;
    memset(&w, 0, sizeof w);
    w.out = out;
    w.err = err;
    fprintf(out, "%s\n", path);
    fprintf(out, "/  group\n");
    print_attrs(&w, file);
    hsize_t idx = 0;
    snprintf(w.prefix, sizeof w.prefix, "/");
    H5Literate(file, H5_INDEX_NAME, H5_ITER_INC, &idx, link_cb, &w);
    H5Fclose(file);
    return ADVML_OK;
}

advml_status advml_dsinfo_summary(FILE *out, const char *path, advml_error *err)
{
    advml_dataset *ds;
    advml_status st = advml_dataset_open(&ds, path, err);
    if (st)
        return st;
    static const char *const splits[3] = {"train", "validation", "test"};
    fprintf(out, "%s:\n", path);
    for (int k = 0; k < 3 && !st; k++) {
        if (!advml_dataset_has_split(ds, splits[k]))
            continue;
        advml_split_info in;
        if ((st = advml_dataset_info(ds, splits[k], &in, err)))
            break;
        char shape[96];
        advml_shape_str(&in.input, shape, sizeof shape);
        fprintf(out, "  %-10s %7lld samples, inputs %s, targets ", splits[k], (long long)in.n, shape);
        if (in.target_dim == 0)
            fprintf(out, "class ids (%d classes)\n", in.num_classes);
        else
            fprintf(out, "%d value(s)\n", in.target_dim);
    }
    advml_dataset_close(ds);
    return st;
}

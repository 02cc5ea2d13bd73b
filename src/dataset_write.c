/* dataset_write.c - writing advml's HDF5 dataset layout (see include/advml/dataset_write.h). */
#include "advml/dataset_write.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "advml/h5io.h"
#include "advml/numfmt.h"
#include "advml/version.h"

struct advml_dsw {
    advml_h5out out;
};

advml_status advml_dsw_create(advml_dsw **w, const char *path, int force, advml_error *err)
{
    *w = malloc(sizeof **w);
    if (!*w)
        return advml_error_set(err, ADVML_ERR_NOMEM, "%s: out of memory", path);
    advml_status st = advml_h5out_create(&(*w)->out, path, force, err);
    if (st) {
        free(*w);
        *w = NULL;
    }
    return st;
}

advml_status advml_dsw_commit(advml_dsw **w, advml_error *err)
{
    advml_status st = advml_h5out_commit(&(*w)->out, err);
    advml_dsw_abort(*w);
    *w = NULL;
    return st;
}

void advml_dsw_abort(advml_dsw *w)
{
    if (!w)
        return;
    advml_h5out_abort(&w->out);
    free(w);
}

advml_status advml_dsw_root(advml_dsw *w, const advml_dsw_meta *m, advml_error *err)
{
    const hid_t file = w->out.file;
    char now[32];
    advml_iso_time(now, sizeof now);
    advml_status st;
    if ((st = advml_h5_attr_string(file, "format", "advml-dataset", err)) ||
        (st = advml_h5_attr_int64(file, "format_version", 1, err)) ||
        (st = advml_h5_attr_string(file, "kind", m->kind, err)) ||
        (st = advml_h5_attr_string(file, "source", m->source ? m->source : "", err)) ||
        (st = advml_h5_attr_string(file, "description", m->description ? m->description : "", err)) ||
        (st = advml_h5_attr_string(file, "advml_version", ADVML_VERSION, err)) ||
        (st = advml_h5_attr_string(file, "git_commit", ADVML_GIT_COMMIT, err)) ||
        (st = advml_h5_attr_string(file, "created", now, err)) ||
        (st = advml_h5_attr_string(file, "command_line", m->command_line ? m->command_line : "", err)))
        return advml_error_prefix(err, "root of the dataset file: ");
    return ADVML_OK;
}

static const char *layout_name(const advml_shape *s)
{
    return s->rank == 3 ? "NCHW" : s->rank == 2 ? "NTF" : "ND";
}

advml_status advml_dsw_split_write(advml_dsw *w, const advml_dsw_split *s, advml_error *err)
{
    const hid_t file = w->out.file;
    if ((s->classes == NULL) == (s->values == NULL))
        return advml_error_set(err, ADVML_ERR_ARG, "split %s: exactly one of class or value targets is needed",
                               s->name);
    if (s->sample.rank < 1 || s->sample.rank > 3)
        return advml_error_set(err, ADVML_ERR_ARG, "split %s: input rank %d", s->name, s->sample.rank);
    if (s->classes) {
        if (s->num_classes < 1)
            return advml_error_set(err, ADVML_ERR_ARG, "split %s: num_classes must be positive", s->name);
        for (int64_t i = 0; i < s->n; i++)
            if (s->classes[i] < 0 || s->classes[i] >= s->num_classes)
                return advml_error_set(err, ADVML_ERR_FORMAT, "split %s: sample %lld has class %d, outside 0..%d",
                                       s->name, (long long)i, (int)s->classes[i], s->num_classes - 1);
    } else if (s->target_dim < 1) {
        return advml_error_set(err, ADVML_ERR_ARG, "split %s: value targets need target_dim >= 1", s->name);
    }
    if (!(s->std > 0.0) || !(s->scale != 0.0))
        return advml_error_set(err, ADVML_ERR_ARG, "split %s: normalisation needs std > 0 and scale != 0 (got %g, %g)",
                               s->name, s->std, s->scale);

    hid_t g = H5I_INVALID_HID, d = H5I_INVALID_HID;
    advml_status st = advml_h5_group(file, s->name, &g, err);
    if (st)
        goto fail;
    if ((st = advml_h5_attr_string(g, "description", s->description ? s->description : "", err)) ||
        (st = advml_h5_attr_int64(g, "num_samples", s->n, err)))
        goto fail;

    hsize_t dims[4] = {(hsize_t)s->n, 0, 0, 0};
    for (int i = 0; i < s->sample.rank; i++)
        dims[1 + i] = (hsize_t)s->sample.d[i];
    hid_t mt = s->inputs_u8 ? H5T_NATIVE_UINT8 : H5T_NATIVE_FLOAT;
    hid_t ft = s->inputs_u8 ? H5T_STD_U8LE : H5T_IEEE_F32LE;
    if ((st = advml_h5_write(g, "inputs", mt, ft, 1 + s->sample.rank, dims, s->inputs, 0, 1, &d, err)))
        goto fail;
    if ((st = advml_h5_attr_string(d, "layout", layout_name(&s->sample), err)) ||
        (st = advml_h5_attr_double(d, "scale", s->scale, err)) ||
        (st = advml_h5_attr_double(d, "mean", s->mean, err)) ||
        (st = advml_h5_attr_double(d, "std", s->std, err)))
        goto fail;
    if (s->feature_names && s->n_feature_names > 0 &&
        (st = advml_h5_attr_strings(d, "feature_names", s->feature_names, (size_t)s->n_feature_names, err)))
        goto fail;
    H5Dclose(d);
    d = H5I_INVALID_HID;

    if (s->classes) {
        hsize_t tdims[1] = {(hsize_t)s->n};
        if ((st = advml_h5_write(g, "targets", H5T_NATIVE_INT32, H5T_STD_I32LE, 1, tdims, s->classes, 0, 1, &d, err)) ||
            (st = advml_h5_attr_string(d, "kind", "class", err)) ||
            (st = advml_h5_attr_int64(d, "num_classes", s->num_classes, err)))
            goto fail;
        if (s->class_names &&
            (st = advml_h5_attr_strings(d, "class_names", s->class_names, (size_t)s->num_classes, err)))
            goto fail;
    } else {
        hsize_t tdims[2] = {(hsize_t)s->n, (hsize_t)s->target_dim};
        if ((st = advml_h5_write(g, "targets", H5T_NATIVE_FLOAT, H5T_IEEE_F32LE, 2, tdims, s->values, 0, 1, &d, err)) ||
            (st = advml_h5_attr_string(d, "kind", "value", err)))
            goto fail;
        if (s->target_names && (st = advml_h5_attr_strings(d, "names", s->target_names, (size_t)s->target_dim, err)))
            goto fail;
    }
    H5Dclose(d);
    H5Gclose(g);
    return ADVML_OK;
fail:
    if (d >= 0)
        H5Dclose(d);
    if (g >= 0)
        H5Gclose(g);
    return advml_error_prefix(err, "writing split %s: ", s->name);
}

advml_status advml_dsw_series(advml_dsw *w, const char *name, const double *v, int64_t n, const char *desc,
                              advml_error *err)
{
    char path[64];
    snprintf(path, sizeof path, "series/%s", name);
    hsize_t dims[1] = {(hsize_t)n};
    hid_t d;
    advml_status st = advml_h5_write(w->out.file, path, H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE, 1, dims, v, 0, 1, &d, err);
    if (st)
        return st;
    st = advml_h5_attr_string(d, "description", desc, err);
    H5Dclose(d);
    return st;
}

advml_status advml_dsw_series_attrs(advml_dsw *w, const advml_dsw_attr *attrs, int n, advml_error *err)
{
    hid_t g;
    advml_status st = advml_h5_group(w->out.file, "series", &g, err);
    for (int i = 0; i < n && !st; i++) {
        const advml_dsw_attr *a = &attrs[i];
        st = a->text      ? advml_h5_attr_string(g, a->name, a->text, err)
             : a->array   ? advml_h5_attr_doubles(g, a->name, a->array, a->n_array, err)
             : a->integer ? advml_h5_attr_int64(g, a->name, (int64_t)a->value, err)
                          : advml_h5_attr_double(g, a->name, a->value, err);
    }
    if (g >= 0)
        H5Gclose(g);
    return st;
}

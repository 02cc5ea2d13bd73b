/* h5io.c - small HDF5 helpers shared by every writer and reader (see include/advml/h5io.h). */
#include "advml/h5io.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

/* Target size of one chunk of a chunked dataset: small enough that reading a
 * few random samples decompresses little, large enough to compress well. */
#define ADVML_H5_CHUNK_BYTES (64u * 1024u)

void advml_h5_quiet(void)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

/* ---- atomic output ------------------------------------------------------ */

/* Directory part of path into dir ("." when path has no slash). */
static void dir_of(const char *path, char *dir, size_t n)
{
    const char *slash = strrchr(path, '/');
    if (!slash) {
        snprintf(dir, n, ".");
    } else if (slash == path) {
        snprintf(dir, n, "/");
    } else {
        size_t len = (size_t)(slash - path);
        if (len >= n)
            len = n - 1;
        memcpy(dir, path, len);
        dir[len] = '\0';
    }
}

advml_status advml_h5out_create(advml_h5out *o, const char *path, int force, advml_error *err)
{
    o->file = H5I_INVALID_HID;
    o->path[0] = '\0';
    o->tmp[0] = '\0';
    if (!path || !*path)
        return advml_error_set(err, ADVML_ERR_ARG, "output path is empty");
    if (strlen(path) + 5 > sizeof o->tmp)
        return advml_error_set(err, ADVML_ERR_ARG, "%.200s...: output path is too long", path);

    struct stat st;
    if (stat(path, &st) == 0) {
        if (S_ISDIR(st.st_mode))
            return advml_error_set(err, ADVML_ERR_IO, "%s: output path is a directory", path);
        if (!force)
            return advml_error_set(err, ADVML_ERR_IO, "%s: output file exists; use --force to overwrite it",
                                   path);
    }
    char dir[ADVML_PATH_MAX];
    dir_of(path, dir, sizeof dir);
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return advml_error_set(err, ADVML_ERR_IO, "%s: cannot write: directory %s does not exist", path, dir);
    if (access(dir, W_OK | X_OK) != 0)
        return advml_error_set(err, ADVML_ERR_IO, "%s: cannot write: directory %s is not writable (%s)", path,
                               dir, strerror(errno));

    snprintf(o->path, sizeof o->path, "%s", path);
    snprintf(o->tmp, sizeof o->tmp, "%s.tmp", path);

    advml_h5_quiet();
    /* Strong close: H5Fclose closes every object still open in the file, so
     * the file is complete on disk before commit renames it. */
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (fapl < 0 || H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG) < 0) {
        if (fapl >= 0)
            H5Pclose(fapl);
        o->tmp[0] = '\0';
        return advml_error_set(err, ADVML_ERR_IO, "%s: cannot set up HDF5 file access", path);
    }
    errno = 0;
    o->file = H5Fcreate(o->tmp, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    H5Pclose(fapl);
    if (o->file < 0) {
        int e = errno;
        o->file = H5I_INVALID_HID;
        unlink(o->tmp);
        o->tmp[0] = '\0';
        return advml_error_set(err, ADVML_ERR_IO, "%s: cannot create temporary file %s.tmp (%s)", path, path,
                               e ? strerror(e) : "HDF5 error");
    }
    return ADVML_OK;
}

/* fsync the file or directory at path (best effort for directories). */
static int fsync_path(const char *path, int directory)
{
    int fd = open(path, directory ? (O_RDONLY | O_DIRECTORY) : O_RDONLY);
    if (fd < 0)
        return directory ? 0 : -1;
    int rc = fsync(fd);
    close(fd);
    return directory ? 0 : rc;
}

/* When a write failed for lack of space (errno e, or almost nothing free in
 * the directory), say so: HDF5's own messages do not. */
static void space_note(const advml_h5out *o, int e, advml_error *err)
{
    char dir[ADVML_PATH_MAX];
    struct statvfs v;
    dir_of(o->path, dir, sizeof dir);
    int have = statvfs(dir, &v) == 0;
    double free_kib = have ? (double)v.f_bavail * (double)v.f_frsize / 1024.0 : -1;
    if (err && (e == ENOSPC || e == EDQUOT || (have && free_kib < 1024))) {
        size_t len = strlen(err->msg);
        snprintf(err->msg + len, sizeof err->msg - len,
                 ": %s (the file system holding %s has %.0f KiB free); %s was left as it was",
                 e == EDQUOT ? "Disk quota exceeded" : "No space left on device", dir, free_kib < 0 ? 0 : free_kib,
                 o->path);
    }
}

advml_status advml_h5out_fail(advml_h5out *o, advml_error *err)
{
    int e = errno;
    advml_h5out_abort(o);
    space_note(o, e, err);
    return err ? err->code : ADVML_ERR_IO;
}

advml_status advml_h5out_commit(advml_h5out *o, advml_error *err)
{
    if (o->file < 0 || !o->tmp[0])
        return advml_error_set(err, ADVML_ERR_ARG, "%s: commit without an open output file", o->path);
    errno = 0;
    if (H5Fflush(o->file, H5F_SCOPE_GLOBAL) < 0) { /* still open: abort truncates, then closes */
        int e = errno;
        advml_error_set(err, ADVML_ERR_IO, "%s: cannot write the temporary file %s", o->path, o->tmp);
        advml_h5out_abort(o);
        space_note(o, e, err);
        return ADVML_ERR_IO;
    }
    herr_t cl = H5Fclose(o->file);
    o->file = H5I_INVALID_HID;
    if (cl < 0) {
        int e = errno;
        advml_h5out_abort(o);
        advml_error_set(err, ADVML_ERR_IO, "%s: cannot close the temporary file", o->path);
        space_note(o, e, err);
        return ADVML_ERR_IO;
    }
    if (fsync_path(o->tmp, 0) != 0) {
        int e = errno;
        advml_h5out_abort(o);
        return advml_error_set(err, ADVML_ERR_IO, "%s: cannot sync the temporary file (%s)", o->path,
                               strerror(e));
    }
    if (rename(o->tmp, o->path) != 0) {
        int e = errno;
        advml_h5out_abort(o);
        return advml_error_set(err, ADVML_ERR_IO, "%s: cannot rename the temporary file over it (%s)", o->path,
                               strerror(e));
    }
    o->tmp[0] = '\0';
    char dir[ADVML_PATH_MAX];
    dir_of(o->path, dir, sizeof dir);
    fsync_path(dir, 1);
    return ADVML_OK;
}

void advml_h5out_abort(advml_h5out *o)
{
    if (o->file >= 0) {
        /* Empty the file first: a close after a failed write (disk full,
         * quota) flushes metadata, which then fits; HDF5 would otherwise keep
         * the half-closed file and fail again, or crash, when it shuts down. */
        void *h = NULL;
        if (H5Fget_vfd_handle(o->file, H5P_DEFAULT, &h) >= 0 && h && ftruncate(*(int *)h, 0) != 0) {
            /* nothing more to do: the close below tries anyway */
        }
        H5Fclose(o->file);
    }
    o->file = H5I_INVALID_HID;
    if (o->tmp[0])
        unlink(o->tmp);
    o->tmp[0] = '\0';
}

/* ---- groups --------------------------------------------------------------- */

/* 1 if every component of path exists as a link under loc, 0 if not, <0 on error. */
static int link_path_exists(hid_t loc, const char *path)
{
    char buf[ADVML_PATH_MAX];
    size_t len = strlen(path);
    if (len >= sizeof buf)
        return -1;
    memcpy(buf, path, len + 1);
    for (size_t i = 0; i <= len; i++) {
        if ((buf[i] == '/' || buf[i] == '\0') && i > 0 && buf[i - 1] != '/') {
            char saved = buf[i];
            buf[i] = '\0';
            htri_t e = H5Lexists(loc, buf, H5P_DEFAULT);
            buf[i] = saved;
            if (e <= 0)
                return e < 0 ? -1 : 0;
        }
    }
    return 1;
}

advml_status advml_h5_group(hid_t loc, const char *path, hid_t *group, advml_error *err)
{
    *group = H5I_INVALID_HID;
    if (!path || !*path)
        return advml_error_set(err, ADVML_ERR_ARG, "HDF5 group path is empty");
    if (strcmp(path, "/") == 0) {
        *group = H5Gopen2(loc, "/", H5P_DEFAULT);
    } else {
        int e = link_path_exists(loc, path);
        if (e < 0)
            return advml_error_set(err, ADVML_ERR_FORMAT, "HDF5 group %s: invalid path", path);
        if (e) {
            H5O_info_t oi;
            if (H5Oget_info_by_name(loc, path, &oi, H5P_DEFAULT) < 0 || oi.type != H5O_TYPE_GROUP)
                return advml_error_set(err, ADVML_ERR_FORMAT, "HDF5 object %s exists and is not a group", path);
            *group = H5Gopen2(loc, path, H5P_DEFAULT);
        } else {
            hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
            if (lcpl >= 0 && H5Pset_create_intermediate_group(lcpl, 1) >= 0)
                *group = H5Gcreate2(loc, path, lcpl, H5P_DEFAULT, H5P_DEFAULT);
            if (lcpl >= 0)
                H5Pclose(lcpl);
        }
    }
    if (*group < 0) {
        *group = H5I_INVALID_HID;
        return advml_error_set(err, ADVML_ERR_IO, "HDF5 group %s: cannot create or open it", path);
    }
    return ADVML_OK;
}

/* ---- attributes ------------------------------------------------------------ */

/* Write one attribute of file type ftype and dataspace space from buf (memory
 * type mtype), replacing an existing one. Closes nothing the caller passed. */
static advml_status write_attr(hid_t obj, const char *name, hid_t ftype, hid_t mtype, hid_t space,
                               const void *buf, advml_error *err)
{
    htri_t ex = H5Aexists(obj, name);
    if (ex < 0)
        return advml_error_set(err, ADVML_ERR_IO, "attribute %s: cannot query the object", name);
    if (ex > 0 && H5Adelete(obj, name) < 0)
        return advml_error_set(err, ADVML_ERR_IO, "attribute %s: cannot replace the existing one", name);
    hid_t a = H5Acreate2(obj, name, ftype, space, H5P_DEFAULT, H5P_DEFAULT);
    if (a < 0)
        return advml_error_set(err, ADVML_ERR_IO, "attribute %s: cannot create it", name);
    herr_t w = H5Awrite(a, mtype, buf);
    H5Aclose(a);
    if (w < 0)
        return advml_error_set(err, ADVML_ERR_IO, "attribute %s: cannot write it", name);
    return ADVML_OK;
}

/* Variable-length UTF-8 string type (h5py reads it as str). Caller closes. */
static hid_t vlen_str_type(void)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    if (t < 0)
        return t;
    if (H5Tset_size(t, H5T_VARIABLE) < 0 || H5Tset_cset(t, H5T_CSET_UTF8) < 0) {
        H5Tclose(t);
        return H5I_INVALID_HID;
    }
    return t;
}

advml_status advml_h5_attr_string(hid_t obj, const char *name, const char *value, advml_error *err)
{
    hid_t t = vlen_str_type();
    hid_t s = H5Screate(H5S_SCALAR);
    advml_status st;
    if (t < 0 || s < 0) {
        st = advml_error_set(err, ADVML_ERR_IO, "attribute %s: cannot create its type", name);
    } else {
        const char *v = value ? value : "";
        st = write_attr(obj, name, t, t, s, &v, err);
    }
    if (t >= 0)
        H5Tclose(t);
    if (s >= 0)
        H5Sclose(s);
    return st;
}

advml_status advml_h5_attr_strings(hid_t obj, const char *name, const char *const *v, size_t n,
                                   advml_error *err)
{
    hid_t t = vlen_str_type();
    hsize_t dim = (hsize_t)n;
    hid_t s = H5Screate_simple(1, &dim, NULL);
    advml_status st;
    if (t < 0 || s < 0) {
        st = advml_error_set(err, ADVML_ERR_IO, "attribute %s: cannot create its type", name);
    } else {
        const char *dummy = "";
        st = write_attr(obj, name, t, t, s, n ? (const void *)v : (const void *)&dummy, err);
    }
    if (t >= 0)
        H5Tclose(t);
    if (s >= 0)
        H5Sclose(s);
    return st;
}

static advml_status attr_scalar(hid_t obj, const char *name, hid_t ftype, hid_t mtype, const void *buf,
                                advml_error *err)
{
    hid_t s = H5Screate(H5S_SCALAR);
    if (s < 0)
        return advml_error_set(err, ADVML_ERR_IO, "attribute %s: cannot create its dataspace", name);
    advml_status st = write_attr(obj, name, ftype, mtype, s, buf, err);
    H5Sclose(s);
    return st;
}

advml_status advml_h5_attr_int64(hid_t obj, const char *name, int64_t value, advml_error *err)
{
    return attr_scalar(obj, name, H5T_STD_I64LE, H5T_NATIVE_INT64, &value, err);
}

advml_status advml_h5_attr_double(hid_t obj, const char *name, double value, advml_error *err)
{
    return attr_scalar(obj, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &value, err);
}

advml_status advml_h5_attr_doubles(hid_t obj, const char *name, const double *v, size_t n, advml_error *err)
{
    hsize_t dim = (hsize_t)n;
    hid_t s = H5Screate_simple(1, &dim, NULL);
    if (s < 0)
        return advml_error_set(err, ADVML_ERR_IO, "attribute %s: cannot create its dataspace", name);
    double dummy = 0.0;
    advml_status st = write_attr(obj, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, s, n ? (const void *)v : &dummy,
                                 err);
    H5Sclose(s);
    return st;
}

int advml_h5_has_attr(hid_t obj, const char *name)
{
    return H5Aexists(obj, name) > 0;
}

/* Open attribute name on obj and check it holds exactly one element of class
 * cls (or, when cls2 >= 0, of class cls2). *a is closed by the caller. */
static advml_status open_attr1(hid_t obj, const char *name, H5T_class_t cls, H5T_class_t cls2, hid_t *a,
                               hid_t *type, advml_error *err)
{
    *a = H5I_INVALID_HID;
    *type = H5I_INVALID_HID;
    if (H5Aexists(obj, name) <= 0)
        return advml_error_set(err, ADVML_ERR_FORMAT, "attribute %s is missing", name);
    *a = H5Aopen(obj, name, H5P_DEFAULT);
    if (*a < 0)
        return advml_error_set(err, ADVML_ERR_FORMAT, "attribute %s cannot be opened", name);
    *type = H5Aget_type(*a);
    hid_t s = H5Aget_space(*a);
    hssize_t np = s >= 0 ? H5Sget_simple_extent_npoints(s) : -1;
    if (s >= 0)
        H5Sclose(s);
    H5T_class_t c = *type >= 0 ? H5Tget_class(*type) : H5T_NO_CLASS;
    if (np != 1 || (c != cls && c != cls2)) {
        H5Tclose(*type);
        H5Aclose(*a);
        *a = *type = H5I_INVALID_HID;
        return advml_error_set(err, ADVML_ERR_FORMAT, "attribute %s has the wrong kind (expected a single %s)",
                               name, cls == H5T_STRING ? "string" : cls == H5T_INTEGER ? "integer" : "number");
    }
    return ADVML_OK;
}

advml_status advml_h5_read_attr_string(hid_t obj, const char *name, char **value, advml_error *err)
{
    *value = NULL;
    hid_t a, t;
    advml_status st = open_attr1(obj, name, H5T_STRING, H5T_STRING, &a, &t, err);
    if (st)
        return st;
    htri_t vl = H5Tis_variable_str(t);
    hid_t mt = H5Tcopy(H5T_C_S1);
    herr_t r = -1;
    if (vl > 0) {
        char *s = NULL;
        if (H5Tset_size(mt, H5T_VARIABLE) >= 0 && H5Tset_cset(mt, H5Tget_cset(t)) >= 0)
            r = H5Aread(a, mt, &s);
        if (r >= 0) {
            *value = strdup(s ? s : "");
            hid_t sp = H5Aget_space(a);
            H5Dvlen_reclaim(mt, sp, H5P_DEFAULT, &s);
            H5Sclose(sp);
        }
    } else if (vl == 0) {
        size_t n = H5Tget_size(t);
        char *buf = malloc(n + 1);
        if (buf && H5Tset_size(mt, n + 1) >= 0 && H5Tset_strpad(mt, H5T_STR_NULLTERM) >= 0)
            r = H5Aread(a, mt, buf);
        if (r >= 0) {
            buf[n] = '\0';
            *value = buf;
        } else {
            free(buf);
        }
    }
    H5Tclose(mt);
    H5Tclose(t);
    H5Aclose(a);
    if (r < 0)
        return advml_error_set(err, ADVML_ERR_FORMAT, "attribute %s cannot be read as a string", name);
    if (!*value)
        return advml_error_set(err, ADVML_ERR_NOMEM, "attribute %s: out of memory", name);
    return ADVML_OK;
}

advml_status advml_h5_read_attr_int64(hid_t obj, const char *name, int64_t *value, advml_error *err)
{
    hid_t a, t;
    advml_status st = open_attr1(obj, name, H5T_INTEGER, H5T_INTEGER, &a, &t, err);
    if (st)
        return st;
    herr_t r = H5Aread(a, H5T_NATIVE_INT64, value);
    H5Tclose(t);
    H5Aclose(a);
    if (r < 0)
        return advml_error_set(err, ADVML_ERR_FORMAT, "attribute %s cannot be read as an integer", name);
    return ADVML_OK;
}

advml_status advml_h5_read_attr_double(hid_t obj, const char *name, double *value, advml_error *err)
{
    hid_t a, t;
    advml_status st = open_attr1(obj, name, H5T_FLOAT, H5T_INTEGER, &a, &t, err);
    if (st)
        return st;
    herr_t r = H5Aread(a, H5T_NATIVE_DOUBLE, value);
    H5Tclose(t);
    H5Aclose(a);
    if (r < 0)
        return advml_error_set(err, ADVML_ERR_FORMAT, "attribute %s cannot be read as a number", name);
    return ADVML_OK;
}

/* ---- datasets ---------------------------------------------------------------- */

/* data may be NULL: the dataset is then created (fill value 0) and the caller
 * writes it later, e.g. by hyperslabs. */
advml_status advml_h5_write(hid_t loc, const char *path, hid_t mem_type, hid_t file_type, int rank,
                            const hsize_t *dims, const void *data, int extendible, int compress,
                            hid_t *dset, advml_error *err)
{
    if (dset)
        *dset = H5I_INVALID_HID;
    if (rank < 0 || rank > H5S_MAX_RANK || (rank == 0 && (extendible || compress)))
        return advml_error_set(err, ADVML_ERR_ARG, "dataset %s: invalid rank %d for the requested storage",
                               path, rank);
    hsize_t maxdims[H5S_MAX_RANK], chunk[H5S_MAX_RANK];
    int any_zero_inner = 0, zero_rows = rank > 0 && dims[0] == 0;
    size_t row_bytes = H5Tget_size(file_type);
    for (int i = 0; i < rank; i++) {
        maxdims[i] = dims[i];
        chunk[i] = dims[i];
        if (i > 0) {
            row_bytes *= (size_t)dims[i];
            any_zero_inner |= dims[i] == 0;
        }
    }
    int chunked = extendible || compress;
    if (chunked && any_zero_inner) {
        if (extendible)
            return advml_error_set(err, ADVML_ERR_ARG,
                                   "dataset %s: an extendible dataset needs non-zero inner dimensions", path);
        chunked = 0; /* an empty dataset: nothing to compress */
    }
    if (chunked && !extendible && zero_rows)
        chunked = 0;
    if (chunked) {
        hsize_t rows = row_bytes ? ADVML_H5_CHUNK_BYTES / row_bytes : 1;
        if (rows < 1)
            rows = 1;
        if (!extendible && rows > dims[0])
            rows = dims[0];
        chunk[0] = rows;
        if (extendible)
            maxdims[0] = H5S_UNLIMITED;
    }

    advml_status st = ADVML_OK;
    hid_t space = rank == 0 ? H5Screate(H5S_SCALAR) : H5Screate_simple(rank, dims, maxdims);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
    hid_t d = H5I_INVALID_HID;
    if (space < 0 || dcpl < 0 || lcpl < 0 || H5Pset_create_intermediate_group(lcpl, 1) < 0) {
        st = advml_error_set(err, ADVML_ERR_IO, "dataset %s: cannot set up its properties", path);
        goto done;
    }
    if (chunked) {
        if (H5Pset_chunk(dcpl, rank, chunk) < 0 ||
            (compress && (H5Pset_shuffle(dcpl) < 0 || H5Pset_deflate(dcpl, 4) < 0))) {
            st = advml_error_set(err, ADVML_ERR_IO, "dataset %s: cannot set chunking/compression", path);
            goto done;
        }
    }
    if (link_path_exists(loc, path) > 0) {
        st = advml_error_set(err, ADVML_ERR_IO, "dataset %s: an object of that name exists already", path);
        goto done;
    }
    d = H5Dcreate2(loc, path, file_type, space, lcpl, dcpl, H5P_DEFAULT);
    if (d < 0) {
        st = advml_error_set(err, ADVML_ERR_IO, "dataset %s: cannot create it", path);
        goto done;
    }
    if (data && H5Sget_simple_extent_npoints(space) > 0) {
        /* Variable-length strings go through HDF5's type conversion, whose
         * buffers are calloc'd at their default size (1 MB each) on every
         * write: rewriting the run file's few strings each epoch cost 50 ms.
         * A few strings need a few KB. */
        hid_t dxpl = H5Tis_variable_str(mem_type) > 0 ? H5Pcreate(H5P_DATASET_XFER) : H5P_DEFAULT;
        if (dxpl != H5P_DEFAULT && (dxpl < 0 || H5Pset_buffer(dxpl, 64 * 1024, NULL, NULL) < 0)) {
            if (dxpl >= 0)
                H5Pclose(dxpl);
            dxpl = H5P_DEFAULT;
        }
        herr_t w = H5Dwrite(d, mem_type, H5S_ALL, H5S_ALL, dxpl, data);
        if (dxpl != H5P_DEFAULT)
            H5Pclose(dxpl);
        if (w < 0) {
            st = advml_error_set(err, ADVML_ERR_IO, "dataset %s: cannot write it", path);
            goto done;
        }
    }
done:
    if (d >= 0 && (st || !dset))
        H5Dclose(d);
    else if (d >= 0)
        *dset = d;
    if (lcpl >= 0)
        H5Pclose(lcpl);
    if (dcpl >= 0)
        H5Pclose(dcpl);
    if (space >= 0)
        H5Sclose(space);
    return st;
}

/* ---- string datasets ------------------------------------------------------------ */

advml_status advml_h5_write_strings(hid_t loc, const char *path, const char *const *v, size_t n, advml_error *err)
{
    hid_t t = vlen_str_type();
    if (t < 0)
        return advml_error_set(err, ADVML_ERR_IO, "dataset %s: cannot create its type", path);
    const char *empty = "";
    const char **vv = malloc((n ? n : 1) * sizeof *vv);
    if (!vv) {
        H5Tclose(t);
        return advml_error_set(err, ADVML_ERR_NOMEM, "dataset %s: out of memory", path);
    }
    for (size_t i = 0; i < n; i++)
        vv[i] = v[i] ? v[i] : empty;
    hsize_t dim = (hsize_t)n;
    advml_status s = advml_h5_write(loc, path, t, t, 1, &dim, n ? (const void *)vv : NULL, 0, 0, NULL, err);
    free(vv);
    H5Tclose(t);
    return s;
}

advml_status advml_h5_read_strings(hid_t loc, const char *path, char ***v, size_t *n, advml_error *err)
{
    *v = NULL;
    *n = 0;
    if (link_path_exists(loc, path) <= 0)
        return advml_error_set(err, ADVML_ERR_FORMAT, "dataset %s is missing", path);
    hid_t d = H5Dopen2(loc, path, H5P_DEFAULT);
    hid_t sp = d >= 0 ? H5Dget_space(d) : H5I_INVALID_HID;
    hid_t ft = d >= 0 ? H5Dget_type(d) : H5I_INVALID_HID;
    hid_t t = vlen_str_type();
    advml_status s = ADVML_OK;
    hsize_t dim = 0;
    if (d < 0 || sp < 0 || ft < 0 || t < 0 || H5Tget_class(ft) != H5T_STRING || !H5Tis_variable_str(ft) ||
        H5Sget_simple_extent_ndims(sp) != 1 || H5Sget_simple_extent_dims(sp, &dim, NULL) < 0) {
        s = advml_error_set(err, ADVML_ERR_FORMAT, "dataset %s is not a 1-D array of strings", path);
        goto done;
    }
    char **raw = calloc(dim ? (size_t)dim : 1, sizeof *raw);
    char **out = calloc(dim ? (size_t)dim : 1, sizeof *out);
    if (!raw || !out) {
        free(raw);
        free(out);
        s = advml_error_set(err, ADVML_ERR_NOMEM, "dataset %s: out of memory", path);
        goto done;
    }
    if (dim && H5Dread(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, raw) < 0) {
        free(raw);
        free(out);
        s = advml_error_set(err, ADVML_ERR_FORMAT, "dataset %s cannot be read as strings", path);
        goto done;
    }
    for (hsize_t i = 0; i < dim && !s; i++)
        if (!(out[i] = strdup(raw[i] ? raw[i] : "")))
            s = advml_error_set(err, ADVML_ERR_NOMEM, "dataset %s: out of memory", path);
    if (dim)
        H5Dvlen_reclaim(t, sp, H5P_DEFAULT, raw);
    free(raw);
    if (s) {
        for (hsize_t i = 0; i < dim; i++)
            free(out[i]);
        free(out);
    } else {
        *v = out;
        *n = (size_t)dim;
    }
done:
    if (t >= 0)
        H5Tclose(t);
    if (ft >= 0)
        H5Tclose(ft);
    if (sp >= 0)
        H5Sclose(sp);
    if (d >= 0)
        H5Dclose(d);
    return s;
}

int advml_h5_file_format(const char *path, char **format)
{
    *format = NULL;
    advml_h5_quiet();
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0)
        return -1;
    if (advml_h5_read_attr_string(f, "format", format, NULL) != ADVML_OK) {
        free(*format);
        *format = NULL;
    }
    H5Fclose(f);
    return 0;
}

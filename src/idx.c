/* idx.c - IDX reader (see include/advml/idx.h). zlib reads plain and gzip files alike. */
#include "advml/idx.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

/* Largest data part accepted (16 GiB): guards against absurd dims in a corrupt header. */
#define ADVML_IDX_MAX_BYTES ((uint64_t)1 << 34)

static const char *type_name(int t)
{
    switch (t) {
    case 0x08: return "unsigned byte";
    case 0x09: return "signed byte";
    case 0x0B: return "short";
    case 0x0C: return "int";
    case 0x0D: return "float";
    case 0x0E: return "double";
    }
    return "unknown";
}

/* Read exactly n bytes; returns the number read (< n at end of data), or -1
 * with *zmsg set on a zlib error (e.g. a corrupt or cut gzip stream). */
static int64_t read_full(gzFile g, void *buf, size_t n, const char **zmsg)
{
    size_t got = 0;
    while (got < n) {
        size_t want = n - got;
        if (want > (1u << 30))
            want = 1u << 30;
        int r = gzread(g, (char *)buf + got, (unsigned)want);
        if (r < 0) {
            int zerr;
            *zmsg = gzerror(g, &zerr);
            return -1;
        }
        if (r == 0)
            break;
        got += (size_t)r;
    }
    int zerr = Z_OK;
    const char *m = gzerror(g, &zerr);
    if (zerr != Z_OK && zerr != Z_STREAM_END) {
        *zmsg = m;
        return -1;
    }
    return (int64_t)got;
}

/* A zlib error: zlib's message starts with the path, which we name already. */
static advml_status gz_error(const char *path, const char *zmsg, advml_error *err)
{
    size_t n = strlen(path);
    if (zmsg && strncmp(zmsg, path, n) == 0 && zmsg[n] == ':')
        zmsg += n + 1 + (zmsg[n + 1] == ' ');
    return advml_error_set(err, ADVML_ERR_FORMAT, "%s: truncated or corrupt gzip data (zlib: %s)", path,
                           zmsg ? zmsg : "unknown error");
}

advml_status advml_idx_read(const char *path, int expect_ndim, advml_idx *m, advml_error *err)
{
    memset(m, 0, sizeof *m);
    struct stat st;
    if (stat(path, &st) != 0)
        return advml_error_set(err, ADVML_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    if (S_ISDIR(st.st_mode))
        return advml_error_set(err, ADVML_ERR_IO, "%s: is a directory, not an IDX file", path);
    gzFile g = gzopen(path, "rb");
    if (!g)
        return advml_error_set(err, ADVML_ERR_IO, "%s: cannot open: %s", path,
                               errno ? strerror(errno) : "out of memory");
    gzbuffer(g, 1u << 17);
    advml_status rc = ADVML_OK;
    const char *zmsg = NULL;
    unsigned char hdr[4];
    int64_t got = read_full(g, hdr, 4, &zmsg);
    if (got < 0) {
        rc = gz_error(path, zmsg, err);
        goto done;
    }
    if (got < 4) {
        rc = advml_error_set(err, ADVML_ERR_FORMAT, "%s: truncated: %lld bytes, an IDX header needs at least 4",
                             path, (long long)got);
        goto done;
    }
    if (hdr[0] != 0 || hdr[1] != 0 || hdr[3] == 0) {
        rc = advml_error_set(err, ADVML_ERR_FORMAT,
                             "%s: not an IDX file (magic bytes %02x %02x %02x %02x; expected 00 00 TYPE NDIM)",
                             path, hdr[0], hdr[1], hdr[2], hdr[3]);
        goto done;
    }
    if (hdr[2] != 0x08) {
        rc = advml_error_set(err, ADVML_ERR_FORMAT,
                             "%s: IDX data type 0x%02x (%s) is not supported; expected 0x08 (unsigned byte)", path,
                             hdr[2], type_name(hdr[2]));
        goto done;
    }
    m->ndim = hdr[3];
    if (m->ndim > ADVML_IDX_MAX_DIMS || (expect_ndim > 0 && m->ndim != expect_ndim)) {
        rc = advml_error_set(err, ADVML_ERR_FORMAT, "%s: IDX file has %d dimensions, expected %d", path, m->ndim,
                             expect_ndim > 0 ? expect_ndim : ADVML_IDX_MAX_DIMS);
        goto done;
    }
    unsigned char dbuf[4 * ADVML_IDX_MAX_DIMS];
    got = read_full(g, dbuf, 4 * (size_t)m->ndim, &zmsg);
    if (got < 0) {
        rc = gz_error(path, zmsg, err);
        goto done;
    }
    if (got < 4 * m->ndim) {
        rc = advml_error_set(err, ADVML_ERR_FORMAT, "%s: truncated in the header (%d dimensions announced)", path,
                             m->ndim);
        goto done;
    }
    uint64_t total = 1;
    for (int i = 0; i < m->ndim; i++) {
        m->dims[i] = ((int64_t)dbuf[4 * i] << 24) | ((int64_t)dbuf[4 * i + 1] << 16) |
                     ((int64_t)dbuf[4 * i + 2] << 8) | (int64_t)dbuf[4 * i + 3];
        total *= (uint64_t)m->dims[i];
        if (total > ADVML_IDX_MAX_BYTES) {
            rc = advml_error_set(err, ADVML_ERR_FORMAT, "%s: IDX dimensions are implausibly large", path);
            goto done;
        }
    }
    m->size = (size_t)total;
    m->data = malloc(m->size ? m->size : 1);
    if (!m->data) {
        rc = advml_error_set(err, ADVML_ERR_NOMEM, "%s: out of memory for %zu bytes", path, m->size);
        goto done;
    }
    got = read_full(g, m->data, m->size, &zmsg);
    if (got < 0) {
        rc = gz_error(path, zmsg, err);
        goto done;
    }
    if ((uint64_t)got < total) {
        rc = advml_error_set(err, ADVML_ERR_FORMAT,
                             "%s: truncated: the header announces %llu data bytes but the file holds %lld", path,
                             (unsigned long long)total, (long long)got);
        goto done;
    }
    unsigned char extra;
    got = read_full(g, &extra, 1, &zmsg);
    if (got < 0) {
        rc = gz_error(path, zmsg, err);
        goto done;
    }
    if (got > 0) {
        rc = advml_error_set(err, ADVML_ERR_FORMAT, "%s: extra bytes after the %llu data bytes the header announces",
                             path, (unsigned long long)total);
        goto done;
    }
done:
    gzclose(g);
    if (rc != ADVML_OK)
        advml_idx_free(m);
    return rc;
}

void advml_idx_free(advml_idx *m)
{
    free(m->data);
    m->data = NULL;
    m->size = 0;
}

advml_status advml_idx_find(const char *dir, const char *stem, char *path, size_t n, advml_error *err)
{
    /* dotted spelling: the first '-' before "idx" becomes '.' (train-images.idx3-ubyte) */
    char dotted[256];
    snprintf(dotted, sizeof dotted, "%s", stem);
    char *p = strstr(dotted, "-idx");
    if (p)
        *p = '.';
    const char *names[2] = {stem, dotted};
    const char *sfx[2] = {"", ".gz"};
    struct stat st;
    for (int i = 0; i < 2; i++) {
        for (int j = 0; j < 2; j++) {
            snprintf(path, n, "%s/%s%s", dir, names[i], sfx[j]);
            if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
                return ADVML_OK;
        }
    }
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return advml_error_set(err, ADVML_ERR_IO, "%s: no such directory", dir);
    return advml_error_set(err, ADVML_ERR_IO, "%s: no %s file (tried %s, %s.gz, %s, %s.gz)", dir, stem, stem, stem,
                           dotted, dotted);
}

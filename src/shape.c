/* shape.c - per-sample shapes (see include/advml/shape.h). */
#include "advml/shape.h"

#include <stdio.h>

advml_shape advml_shape1(int d0) { advml_shape s = {1, {d0, 0, 0}}; return s; }
advml_shape advml_shape2(int d0, int d1) { advml_shape s = {2, {d0, d1, 0}}; return s; }
advml_shape advml_shape3(int d0, int d1, int d2) { advml_shape s = {3, {d0, d1, d2}}; return s; }

size_t advml_shape_size(const advml_shape *s)
{
    size_t n = 1;
    for (int i = 0; i < s->rank; i++)
        n *= (size_t)s->d[i];
    return n;
}

int advml_shape_equal(const advml_shape *a, const advml_shape *b)
{
    if (a->rank != b->rank)
        return 0;
    for (int i = 0; i < a->rank; i++)
        if (a->d[i] != b->d[i])
            return 0;
    return 1;
}

/* prefix, then "(d0, d1, ...)" (brackets: "[d0, d1, ...]") with "None, "
 * first for a batch. */
static char *shape_text(const advml_shape *s, const char *prefix, int batch, int brackets, char *buf, size_t n)
{
    size_t used = (size_t)snprintf(buf, n, "%s%c%s", prefix, brackets ? '[' : '(', batch ? "None" : "");
    for (int i = 0; i < s->rank && used < n; i++)
        used += (size_t)snprintf(buf + used, n - used, "%s%d", batch || i ? ", " : "", s->d[i]);
    if (used < n)
        snprintf(buf + used, n - used, "%c", brackets ? ']' : ')');
    return buf;
}

char *advml_shape_str(const advml_shape *s, char *buf, size_t n) { return shape_text(s, "", 1, 0, buf, n); }

char *advml_shape_sample_str(const advml_shape *s, char *buf, size_t n) { return shape_text(s, "", 0, 0, buf, n); }

char *advml_shape_list_str(const advml_shape *s, char *buf, size_t n) { return shape_text(s, "", 0, 1, buf, n); }

char *advml_shape_describe(const advml_shape *s, char *buf, size_t n)
{
    return shape_text(s, s->rank == 3 ? "images " : s->rank == 2 ? "sequences " : "feature vectors ", 0, 0, buf, n);
}

/* bigbuf.c - zeroed, huge-page-advised buffers (see include/advml/bigbuf.h). */
#define _DEFAULT_SOURCE /* MADV_HUGEPAGE is a Linux extension, hidden by _XOPEN_SOURCE alone */
#include "advml/bigbuf.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define HUGE_PAGE ((size_t)2 << 20) /* bytes: an x86-64 / arm64 transparent huge page */
#define MIN_ALIGN 64                /* bytes: cache line, and enough for any SIMD load */

void *advml_bigbuf_alloc(size_t bytes)
{
    size_t align = bytes >= HUGE_PAGE ? HUGE_PAGE : MIN_ALIGN;
    size_t size = bytes ? (bytes + align - 1) / align * align : 1;
    void *p = NULL;
    if (posix_memalign(&p, align, size) != 0)
        return NULL;
#ifdef MADV_HUGEPAGE
    if (align == HUGE_PAGE)
        (void)madvise(p, size, MADV_HUGEPAGE); /* a hint: refused (EINVAL) where THP is off */
#endif
    memset(p, 0, size); /* touch every page now: no page faults in the training loop */
    return p;
}

/* test_bigbuf.c - advml_bigbuf_alloc: zeroed, aligned, and advised for
 * transparent huge pages where the kernel has them. */
#include "advml/bigbuf.h"
#include "testutil.h"

#include <CUnit/CUnit.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MIB ((size_t)1 << 20)

static int all_zero(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return 0;
    return 1;
}

static void t_small(void)
{
    unsigned char *p = advml_bigbuf_alloc(100);
    CU_ASSERT_FATAL(p != NULL);
    CU_ASSERT((uintptr_t)p % 64 == 0);
    CU_ASSERT(all_zero(p, 100));
    memset(p, 0xff, 100);
    free(p);
    p = advml_bigbuf_alloc(0); /* a valid pointer to free */
    CU_ASSERT_FATAL(p != NULL);
    free(p);
}

static void t_large(void)
{
    size_t n = 5 * MIB + 3;
    unsigned char *p = advml_bigbuf_alloc(n);
    CU_ASSERT_FATAL(p != NULL);
    CU_ASSERT((uintptr_t)p % (2 * MIB) == 0);
    CU_ASSERT(all_zero(p, n));
    memset(p, 0x5a, n);
    CU_ASSERT(p[n - 1] == 0x5a);
    free(p);
}

/* The VmFlags line of the /proc/self/smaps entry that contains address a:
 * 1 when it has flag (e.g. "hg", huge pages advised), 0 when not, -1 when the
 * entry is not found. */
static int smaps_flag(const void *a, const char *flag)
{
    FILE *f = fopen("/proc/self/smaps", "r");
    if (!f)
        return -1;
    char line[512];
    int inside = 0, found = -1;
    while (fgets(line, sizeof line, f)) {
        unsigned long lo, hi;
        if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && strchr(line, '-') < strchr(line, ' ')) {
            inside = (uintptr_t)a >= lo && (uintptr_t)a < hi;
        } else if (inside && strncmp(line, "VmFlags:", 8) == 0) {
            char want[8];
            snprintf(want, sizeof want, " %s", flag);
            found = strstr(line, want) != NULL;
            break;
        }
    }
    fclose(f);
    return found;
}

static void t_huge_page_advice(void)
{
    FILE *thp = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
    if (!thp) /* a kernel without transparent huge pages: the advice is refused, nothing to check */
        return;
    fclose(thp);
    size_t n = 8 * MIB;
    float *big = advml_bigbuf_alloc(n), *small = advml_bigbuf_alloc(4096);
    CU_ASSERT_FATAL(big != NULL && small != NULL);
    CU_ASSERT(smaps_flag(big, "hg") == 1);
    CU_ASSERT(smaps_flag(big + n / sizeof(float) - 1, "hg") == 1);
    free(big);
    free(small);
}

static void reg(void)
{
    static const advml_test_case c[] = {
        {"small and empty buffers: zeroed, 64-byte aligned", t_small},
        {"large buffer: zeroed, 2 MiB aligned, writable to its end", t_large},
        {"large buffer: huge pages advised (smaps VmFlags hg)", t_huge_page_advice},
        {NULL, NULL}};
    advml_test_add_suite("bigbuf", c);
}

int main(void) { return advml_test_main(reg); }

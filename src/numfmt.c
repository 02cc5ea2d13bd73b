/* numfmt.c - numbers and times as advml writes them (see include/advml/numfmt.h). */
#include "advml/numfmt.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

void advml_iso_time(char *buf, size_t n)
{
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

double advml_float_shortest(float f)
{
    char buf[64];
    if (!isfinite(f))
        return (double)f;
    for (int prec = 1; prec <= 9; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, (double)f);
        double d = strtod(buf, NULL);
        if ((float)d == f)
            return d;
    }
    return (double)f;
}


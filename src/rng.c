/* rng.c - seeded generators (see include/advml/rng.h). */
#include "advml/rng.h"

#include <math.h>

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

void advml_rng_seed(advml_rng *r, uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&x);
}

/* xoshiro256** */
uint64_t advml_rng_u64(advml_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double advml_rng_uniform(advml_rng *r) { return (double)(advml_rng_u64(r) >> 11) * 0x1.0p-53; }

double advml_rng_normal(advml_rng *r)
{
    double u1 = advml_rng_uniform(r), u2 = advml_rng_uniform(r);
    if (u1 < 1e-300)
        u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

uint64_t advml_rng_below(advml_rng *r, uint64_t n)
{
    /* Lemire-style rejection: unbiased for any n > 0. */
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do
        x = advml_rng_u64(r);
    while (x >= limit);
    return x % n;
}

void advml_permutation(int64_t *perm, int64_t n, uint64_t seed, uint64_t epoch)
{
    advml_rng r;
    uint64_t x = seed ^ 0x5eed5eed5eed5eedULL;
    uint64_t k = splitmix64(&x) ^ (epoch * 0xd1b54a32d192ed03ULL);
    advml_rng_seed(&r, k);
    for (int64_t i = 0; i < n; i++)
        perm[i] = i;
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = (int64_t)advml_rng_below(&r, (uint64_t)i + 1);
        int64_t t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
}

double advml_hash_uniform(uint64_t seed, uint64_t a, uint64_t b, uint64_t c)
{
    /* Chain splitmix64 finalisers over the key: a pure function of (seed, a, b, c). */
    uint64_t x = seed;
    uint64_t h = splitmix64(&x);
    x = h ^ a;
    h = splitmix64(&x);
    x = h ^ b;
    h = splitmix64(&x);
    x = h ^ c;
    h = splitmix64(&x);
    return (double)(h >> 11) * 0x1.0p-53;
}

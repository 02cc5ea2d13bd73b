/* rng.h - seeded random numbers.
 *
 * Two generators:
 *  - advml_rng: a sequential stream (splitmix64-seeded xoshiro256**), used for
 *    weight initialisation and permutations; same seed, same numbers on every
 *    machine.
 *  - advml_hash_uniform: a counter-based generator (a pure function of its key),
 *    used for dropout masks keyed by (seed, step, global sample index, unit) so
 *    that masks do not depend on the number of ranks.
 */
#ifndef ADVML_RNG_H
#define ADVML_RNG_H

#include <stdint.h>
#include <stddef.h>

typedef struct advml_rng { uint64_t s[4]; } advml_rng;

void advml_rng_seed(advml_rng *r, uint64_t seed);
uint64_t advml_rng_u64(advml_rng *r);
double advml_rng_uniform(advml_rng *r);           /* [0, 1) */
double advml_rng_normal(advml_rng *r);            /* N(0, 1), Box-Muller */
uint64_t advml_rng_below(advml_rng *r, uint64_t n); /* uniform in [0, n), unbiased */

/* Fill perm[0..n-1] with a permutation of 0..n-1 that depends only on
 * (seed, epoch): Fisher-Yates driven by a stream seeded from both. */
void advml_permutation(int64_t *perm, int64_t n, uint64_t seed, uint64_t epoch);

/* Counter-based uniform in [0, 1): a pure function of the four keys. */
double advml_hash_uniform(uint64_t seed, uint64_t a, uint64_t b, uint64_t c);

#endif

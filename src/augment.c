/* augment.c - data augmentation keyed by (seed, epoch, sample) (see
 * include/advml/augment.h). */
#include "advml/augment.h"

#include <math.h>
#include <string.h>

#include "advml/rng.h"

/* Draw numbers of one sample's key: the shift, the flip, then noise. */
enum { D_DY = 0, D_DX, D_FLIP, D_NOISE };
/* Mixed into the seed, so that augmentation and dropout draw apart. */
#define AUGMENT_SALT 0x6175676d656e7421ULL

int advml_augment_active(const advml_augment_config *a)
{
    return a->shift[0] > 0 || a->shift[1] > 0 || a->horizontal_flip || a->noise > 0.0f;
}

/* Uniform integer in [-r, r] from u in [0, 1). */
static int offset(double u, int r)
{
    int d = (int)floor(u * (2 * r + 1)) - r;
    return d > r ? r : d;
}

void advml_augment_batch(const advml_augment_config *a, float *x, int B, const advml_shape *in, const int64_t *ids,
                         uint64_t seed, uint64_t epoch, float pad, float *scratch)
{
    const size_t size = advml_shape_size(in);
    const uint64_t key = seed ^ AUGMENT_SALT;
    const int image = in->rank == 3;
    for (int b = 0; b < B; b++) {
        float *s = x + (size_t)b * size; /* (size) this sample */
        const uint64_t id = (uint64_t)ids[b];
        if (image && (a->shift[0] > 0 || a->shift[1] > 0 || a->horizontal_flip)) {
            const int C = in->d[0], H = in->d[1], W = in->d[2];
            int dy = a->shift[0] > 0 ? offset(advml_hash_uniform(key, epoch, id, D_DY), a->shift[0]) : 0;
            int dx = a->shift[1] > 0 ? offset(advml_hash_uniform(key, epoch, id, D_DX), a->shift[1]) : 0;
            int flip = a->horizontal_flip && advml_hash_uniform(key, epoch, id, D_FLIP) < 0.5;
            if (dy || dx || flip) {
                memcpy(scratch, s, size * sizeof *s);
                for (int c = 0; c < C; c++)
                    for (int i = 0; i < H; i++) {
                        const int si = i + dy;
                        float *orow = s + ((size_t)c * H + i) * W; /* (W) */
                        if (si < 0 || si >= H) {
                            for (int j = 0; j < W; j++)
                                orow[j] = pad;
                            continue;
                        }
                        const float *irow = scratch + ((size_t)c * H + si) * W; /* (W) */
                        for (int j = 0; j < W; j++) {
                            const int sj = (flip ? W - 1 - j : j) + dx; /* flip(shift(x)) */
                            orow[j] = sj >= 0 && sj < W ? irow[sj] : pad;
                        }
                    }
            }
        }
        if (a->noise > 0.0f) {
            for (size_t k = 0; k < size; k += 2) { /* Box-Muller: two normals per pair of uniforms */
                double u1 = advml_hash_uniform(key, epoch, id, D_NOISE + k);
                double u2 = advml_hash_uniform(key, epoch, id, D_NOISE + k + 1);
                double r = sqrt(-2.0 * log(1.0 - u1)), th = 2.0 * M_PI * u2;
                s[k] += (float)(a->noise * r * cos(th));
                if (k + 1 < size)
                    s[k + 1] += (float)(a->noise * r * sin(th));
            }
        }
    }
}

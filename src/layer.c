/* layer.c - the table of layer kinds, spec defaults and the shared
 * initialisers (see include/advml/layer.h). */
#include "advml/layer.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* The spec fields a key may land in as an int are ints or int-sized enums. */
_Static_assert(sizeof(advml_act) == sizeof(int) && sizeof(advml_padding) == sizeof(int) &&
                   sizeof(advml_init) == sizeof(int) && sizeof(advml_conv_algo) == sizeof(int),
               "layer keys store enums through int pointers");

/* Indexed by advml_layer_type (the rows of ADVML_LAYER_KINDS). */
static const advml_layer_kind *const kinds[ADVML_LAYER_NTYPES] = {
#define ADVML_X(suffix, kind) [ADVML_LAYER_##suffix] = &kind,
    ADVML_LAYER_KINDS(ADVML_X)
#undef ADVML_X
};

const advml_layer_kind *advml_layer_kind_of(advml_layer_type type)
{
    if ((unsigned)type >= (unsigned)ADVML_LAYER_NTYPES)
        return NULL;
    return kinds[type];
}

const advml_layer_kind *advml_layer_kind_by_name(const char *name, advml_layer_type *type)
{
    if (!name)
        return NULL;
    for (int t = 0; t < ADVML_LAYER_NTYPES; t++)
        if (kinds[t] && strcmp(kinds[t]->name, name) == 0) {
            if (type)
                *type = (advml_layer_type)t;
            return kinds[t];
        }
    return NULL;
}

void advml_layer_add_view(advml_layer *L, const char *name, int decay, int rank, const int *dims)
{
    advml_param_view *v = &L->views[L->nviews++];
    memset(v, 0, sizeof *v);
    snprintf(v->name, sizeof v->name, "%s", name);
    v->offset = L->nparams;
    v->rank = rank;
    v->size = 1;
    for (int i = 0; i < rank; i++) {
        v->dims[i] = dims[i];
        v->size *= (size_t)dims[i];
    }
    v->decay = decay;
    v->layer = L->index;
    L->nparams += v->size;
}

/* Common defaults: stride 1, valid padding, identity activation, bias on,
 * leaky slope 1e-3, dropout rate 0.5 (PyTorch's default), units 0 (must be
 * given), in_channels 0 (inferred), algorithm auto. Then each key of the kind
 * sets its dflt (pooling: a 2x2 window, stride {0, 0} meaning the window, as
 * Keras; rnn: tanh), then the kind's hook (lstm, gru: tanh). */
advml_layer_spec advml_layer_spec_default(advml_layer_type type)
{
    advml_layer_spec s;
    memset(&s, 0, sizeof s);
    s.type = type;
    s.units = 0;
    s.stride[0] = s.stride[1] = 1;
    s.padding = ADVML_PAD_VALID;
    s.act = ADVML_ACT_IDENTITY;
    s.alpha = ADVML_LEAKY_ALPHA_DEFAULT;
    s.rate = 0.5f;
    s.return_sequences = 0;
    s.use_bias = 1;
    s.trainable = 1;
    s.in_channels = 0;
    s.algorithm = ADVML_CONV_AUTO;
    const advml_layer_kind *kind = advml_layer_kind_of(type);
    if (!kind)
        return s;
    for (const advml_layer_key *k = kind->keys; k && k->name; k++) {
        if (k->type == ADVML_KEY_FLOAT) {
            *advml_key_float(k, &s) = (float)k->dflt;
        } else {
            int *v = advml_key_int(k, &s);
            v[0] = (int)k->dflt;
            if (k->type == ADVML_KEY_PAIR)
                v[1] = (int)k->dflt;
        }
    }
    if (kind->defaults)
        kind->defaults(&s);
    return s;
}

void advml_init_he(float *w, size_t n, int fan_in, advml_rng *rng)
{
    const double sd = sqrt(2.0 / (fan_in > 0 ? fan_in : 1)); /* N(0, 2 / fan_in) */
    for (size_t i = 0; i < n; i++)
        w[i] = (float)(sd * advml_rng_normal(rng));
}

void advml_init_glorot(float *w, size_t n, int fan_in, int fan_out, advml_rng *rng)
{
    const int fan = fan_in + fan_out;
    const double lim = sqrt(6.0 / (fan > 0 ? fan : 1)); /* U(-lim, lim) */
    for (size_t i = 0; i < n; i++)
        w[i] = (float)(lim * (2.0 * advml_rng_uniform(rng) - 1.0));
}

void advml_init_for_act(float *w, size_t n, int fan_in, int fan_out, advml_act act, advml_rng *rng)
{
    if (advml_act_is_relu_family(act))
        advml_init_he(w, n, fan_in, rng);
    else
        advml_init_glorot(w, n, fan_in, fan_out, rng);
}

void advml_init_orthogonal(float *w, int n, advml_rng *rng)
{
    for (int i = 0; i < n; i++) {
        float *r = w + (size_t)i * n;
        double norm;
        do {
            for (int j = 0; j < n; j++)
                r[j] = (float)advml_rng_normal(rng);
            /* modified Gram-Schmidt against the finished rows, twice
             * (re-orthogonalisation keeps float rows orthogonal to ~1e-7) */
            for (int pass = 0; pass < 2; pass++)
                for (int k = 0; k < i; k++) {
                    const float *q = w + (size_t)k * n;
                    double dot = 0.0;
                    for (int j = 0; j < n; j++)
                        dot += (double)r[j] * q[j];
                    for (int j = 0; j < n; j++)
                        r[j] = (float)(r[j] - dot * q[j]);
                }
            norm = 0.0;
            for (int j = 0; j < n; j++)
                norm += (double)r[j] * r[j];
            norm = sqrt(norm);
        } while (norm < 1e-3); /* (almost) dependent draw: probability ~0, draw again */
        for (int j = 0; j < n; j++)
            r[j] = (float)(r[j] / norm);
    }
}

static const char *const init_names[ADVML_INIT_NKINDS] = {
    [ADVML_INIT_AUTO] = "auto",
    [ADVML_INIT_ZEROS] = "zeros",
    [ADVML_INIT_HE_NORMAL] = "he_normal",
    [ADVML_INIT_HE_UNIFORM] = "he_uniform",
    [ADVML_INIT_GLOROT_UNIFORM] = "glorot_uniform",
    [ADVML_INIT_GLOROT_NORMAL] = "glorot_normal",
    [ADVML_INIT_LECUN_UNIFORM] = "lecun_uniform",
    [ADVML_INIT_LECUN_NORMAL] = "lecun_normal",
    [ADVML_INIT_TORCH] = "torch"};

const char *advml_init_name(advml_init kind)
{
    return (kind >= 0 && kind < ADVML_INIT_NKINDS) ? init_names[kind] : NULL;
}

int advml_init_by_name(const char *name)
{
    for (int k = 0; k < ADVML_INIT_NKINDS; k++)
        if (!strcmp(name, init_names[k]))
            return k;
    return -1;
}

static void fill_uniform(float *w, size_t n, double lim, advml_rng *rng)
{
    for (size_t i = 0; i < n; i++) /* U(-lim, lim) */
        w[i] = (float)(lim * (2.0 * advml_rng_uniform(rng) - 1.0));
}

static void fill_normal(float *w, size_t n, double sd, advml_rng *rng)
{
    for (size_t i = 0; i < n; i++) /* N(0, sd^2) */
        w[i] = (float)(sd * advml_rng_normal(rng));
}

void advml_init_fill(float *w, size_t n, advml_init kind, int fan_in, int fan_out, advml_act act, advml_rng *rng)
{
    const double fi = fan_in > 0 ? fan_in : 1, fs = fan_in + fan_out > 0 ? fan_in + fan_out : 1;
    switch (kind) {
    case ADVML_INIT_ZEROS: memset(w, 0, n * sizeof *w); break;
    case ADVML_INIT_HE_NORMAL: fill_normal(w, n, sqrt(2.0 / fi), rng); break;
    case ADVML_INIT_HE_UNIFORM: fill_uniform(w, n, sqrt(6.0 / fi), rng); break;
    case ADVML_INIT_GLOROT_UNIFORM: fill_uniform(w, n, sqrt(6.0 / fs), rng); break;
    case ADVML_INIT_GLOROT_NORMAL: fill_normal(w, n, sqrt(2.0 / fs), rng); break;
    case ADVML_INIT_LECUN_UNIFORM: fill_uniform(w, n, sqrt(3.0 / fi), rng); break;
    case ADVML_INIT_LECUN_NORMAL: fill_normal(w, n, sqrt(1.0 / fi), rng); break;
    case ADVML_INIT_TORCH: fill_uniform(w, n, 1.0 / sqrt(fi), rng); break;
    case ADVML_INIT_AUTO:
    case ADVML_INIT_NKINDS:
    default: advml_init_for_act(w, n, fan_in, fan_out, act, rng); break;
    }
}

void advml_init_bias(float *b, size_t n, advml_init kind, int fan_in, int fan_out, advml_rng *rng)
{
    if (kind == ADVML_INIT_AUTO)
        kind = ADVML_INIT_ZEROS;
    advml_init_fill(b, n, kind, fan_in, fan_out, ADVML_ACT_IDENTITY, rng);
}

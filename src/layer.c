/* layer.c - the table of layer kinds, spec defaults and the shared
 * initialisers (see include/advml/layer.h). */
#include "advml/layer.h"
#include "advml/gru.h"
#include "advml/lstm.h"
#include "advml/rnn.h"

#include <math.h>
#include <string.h>

/* Indexed by advml_layer_type. */
static const advml_layer_kind *const kinds[ADVML_LAYER_NTYPES] = {
    [ADVML_LAYER_CONV2D] = &advml_conv2d_kind,
    [ADVML_LAYER_MAXPOOL2D] = &advml_maxpool2d_kind,
    [ADVML_LAYER_AVGPOOL2D] = &advml_avgpool2d_kind,
    [ADVML_LAYER_FLATTEN] = &advml_flatten_kind,
    [ADVML_LAYER_DENSE] = &advml_dense_kind,
    [ADVML_LAYER_DROPOUT] = &advml_dropout_kind,
    [ADVML_LAYER_ACTIVATION] = &advml_activation_kind,
    [ADVML_LAYER_RNN] = &advml_rnn_kind,   /* src/rnn.c */
    [ADVML_LAYER_LSTM] = &advml_lstm_kind, /* src/lstm.c */
    [ADVML_LAYER_GRU] = &advml_gru_kind,   /* src/gru.c */
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

/* Defaults: stride 1 (pooling: {0, 0}, meaning the window size, as Keras),
 * pool window 2x2, valid padding, identity activation (recurrent kinds:
 * tanh), bias on, leaky slope 1e-3, dropout rate 0.5 (PyTorch's default),
 * units and conv kernel 0 (must be given), in_channels 0 (inferred). */
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
    s.in_channels = 0;
    switch (type) {
    case ADVML_LAYER_MAXPOOL2D:
    case ADVML_LAYER_AVGPOOL2D:
        s.kernel[0] = s.kernel[1] = 2;
        s.stride[0] = s.stride[1] = 0;
        break;
    case ADVML_LAYER_RNN:
    case ADVML_LAYER_LSTM:
    case ADVML_LAYER_GRU:
        s.act = ADVML_ACT_TANH;
        break;
    default:
        break;
    }
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

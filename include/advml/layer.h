/* layer.h - the table of layer kinds and the layer record a model is an array of.
 *
 * Every kind is a row of plain functions (KANN style): setup (shape inference,
 * validation, parameter count and named views), init (seeded He/Glorot),
 * forward and backward, plus the description of its config keys (type, range,
 * default, the spec field they land in) from which src/config.c parses,
 * validates, writes back and compares it. A kind's forward writes the layer's pre-activation
 * output z; the model then applies the layer's activation (spec.act) for kinds
 * with post_act set. Backward accumulates (+=) into dinp and dparams.
 */
#ifndef ADVML_LAYER_H
#define ADVML_LAYER_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include "advml/status.h"
#include "advml/shape.h"
#include "advml/activation.h"
#include "advml/conv2d.h"
#include "advml/rng.h"

/* The layer kinds, one row each: the enum's suffix and the kind's description
 * (an advml_layer_kind defined beside its kernels). Adding a kind is one
 * source file and one row here (docs/layers.md, "Adding a layer kind"); the
 * order is the enum's, so new kinds go at the end. */
#define ADVML_LAYER_KINDS(X)                                  \
    X(CONV2D, advml_conv2d_kind)         /* src/conv2d.c */     \
    X(MAXPOOL2D, advml_maxpool2d_kind)   /* src/pool.c */       \
    X(AVGPOOL2D, advml_avgpool2d_kind)   /* src/pool.c */       \
    X(FLATTEN, advml_flatten_kind)       /* src/flatten.c */    \
    X(DENSE, advml_dense_kind)           /* src/dense.c */      \
    X(DROPOUT, advml_dropout_kind)       /* src/dropout.c */    \
    X(ACTIVATION, advml_activation_kind) /* src/activation.c */ \
    X(RNN, advml_rnn_kind)               /* src/rnn.c */        \
    X(LSTM, advml_lstm_kind)             /* src/lstm.c */       \
    X(GRU, advml_gru_kind)               /* src/gru.c */        \
    X(BATCHNORM, advml_batchnorm_kind)   /* src/batchnorm.c */  \
    X(ESN, advml_esn_kind)               /* src/esn.c */

typedef enum advml_layer_type {
#define ADVML_X(suffix, kind) ADVML_LAYER_##suffix,
    ADVML_LAYER_KINDS(ADVML_X)
#undef ADVML_X
    ADVML_LAYER_NTYPES
} advml_layer_type;

/* How a conv2d or dense layer's kernel or bias starts (the config's
 * "kernel_initializer" / "bias_initializer"; names in advml_init_name). */
typedef enum advml_init {
    ADVML_INIT_AUTO = 0,       /* kernel: he_normal for the ReLU family, else glorot_uniform;
                                  bias: zeros */
    ADVML_INIT_ZEROS,          /* 0 */
    ADVML_INIT_HE_NORMAL,      /* N(0, 2 / fan_in)                 (torch kaiming_normal_) */
    ADVML_INIT_HE_UNIFORM,     /* U(+-sqrt(6 / fan_in)) */
    ADVML_INIT_GLOROT_UNIFORM, /* U(+-sqrt(6 / (fan_in + fan_out)))  (Keras' default) */
    ADVML_INIT_GLOROT_NORMAL,  /* N(0, 2 / (fan_in + fan_out)) */
    ADVML_INIT_LECUN_UNIFORM,  /* U(+-sqrt(3 / fan_in)) */
    ADVML_INIT_LECUN_NORMAL,   /* N(0, 1 / fan_in) */
    ADVML_INIT_TORCH,          /* U(+-1 / sqrt(fan_in)): nn.Linear / nn.Conv2d defaults, for
                                  the weight (kaiming_uniform_, a = sqrt 5) and the bias */
    ADVML_INIT_NKINDS
} advml_init;

/* What a user specifies for one layer (the config's model[i]). */
typedef struct advml_layer_spec {
    advml_layer_type type;
    int units;            /* conv2d filters; dense units; rnn/lstm/gru hidden size */
    int kernel[2];        /* (KH, KW) for conv2d and pooling */
    int stride[2];        /* (SH, SW); pooling defaults to the kernel */
    advml_padding padding;
    advml_act act;        /* conv2d/dense/activation: applied after the layer;
                             rnn: the cell activation (tanh or relu) */
    float alpha;          /* leaky ReLU slope (ADVML_LEAKY_ALPHA_DEFAULT) */
    float rate;           /* dropout rate in [0, 1) */
    int return_sequences; /* rnn/lstm/gru: 1 -> (T, H) output, 0 -> last step (H) */
    int use_bias;         /* conv2d/dense: 1 (default) adds a bias vector */
    int in_channels;      /* optional declared input channels (conv2d) or features
                             (dense, rnn); 0 = infer. A mismatch is an error. */
    advml_init kernel_init; /* conv2d/dense: how the kernel starts; rnn/lstm/gru: the input
                               weights (AUTO by default) */
    advml_init bias_init;   /* conv2d/dense/rnn/lstm/gru: how the bias starts (AUTO = zeros;
                               lstm: forget gate 1) */
    advml_init recurrent_init; /* rnn/lstm/gru: the recurrent weights (AUTO = orthogonal) */
    float momentum;       /* batchnorm: weight of a batch's statistics in the running ones (0.1) */
    float epsilon;        /* batchnorm: added to the variance (1e-5) */
    int affine;           /* batchnorm: 1 (default) learns a scale gamma and shift beta */
    int trainable;        /* 1 (default): the optimizer updates the layer's weights; 0: frozen
                             (the config's "trainable": false, for fine-tuning) */
    advml_conv_algo algorithm; /* conv2d: ADVML_CONV_AUTO (default), _IM2COL or _WINOGRAD
                                  (the config's "algorithm": "auto", "im2col", "winograd") */
    /* esn (echo state network, src/esn.c): the fixed random reservoir */
    float spectral_radius; /* > 0: the reservoir W is scaled to this largest |eigenvalue| (0.9) */
    float sparsity;       /* [0, 1): the fraction of W's entries that are zero (0.9) */
    float input_scaling;  /* >= 0: W_in ~ U(+-input_scaling) (1) */
    int inputs_per_unit;  /* 0 (default): W_in dense; k > 0: each unit reads k input features */
    float bias_scaling;   /* >= 0: b ~ U(+-bias_scaling); 0 (default): no bias */
    float leak_rate;      /* (0, 1]: h_t = (1 - a) h_{t-1} + a tanh(...) (1) */
    int washout;          /* with return_sequences: the first steps left out of the output (0) */
    int reservoir_seed;   /* the config's "seed": > 0 draws the reservoir from its own generator;
                             0 (default): from the model's (training.seed) */
    int concat_input;     /* 1: each output step is [h_t, x_t] (units + F values); 0: h_t */
    int square_states;    /* 1: the output carries h_j^2 in place of h_j for the even units j
                             (0, 2, 4, ...; Pathak et al.'s readout); 0 (default): h_t as it is */
} advml_layer_spec;

/* A spec with the defaults: the common ones (stride 1, valid padding,
 * identity, bias on, alpha 1e-3, dropout rate 0.5), then the dflt of each of
 * the kind's keys, then the kind's defaults hook. */
advml_layer_spec advml_layer_spec_default(advml_layer_type type);

#define ADVML_VIEW_NAME_LEN 24
#define ADVML_MAX_VIEWS 8

/* A named view into the flat parameter buffer, e.g. "kernel" (OC, C, KH, KW). */
typedef struct advml_param_view {
    char name[ADVML_VIEW_NAME_LEN];
    size_t offset;        /* in floats; relative to the layer after setup,
                             absolute (into the model buffer) in model->views */
    size_t size;          /* floats */
    int rank;
    int dims[4];
    int decay;            /* 1: L2 regularisation applies (weights), 0: biases */
    int frozen;           /* 1: the optimizer leaves it as it is (a layer with "trainable":
                             false, or a buffer such as batchnorm's running statistics) */
    int buffer;           /* 1: not a weight but state the layer updates itself (batchnorm's
                             running mean and variance): never trained, no gradient */
    int layer;            /* index of the owning layer (set by the model) */
} advml_param_view;

typedef struct advml_layer {
    advml_layer_spec spec;
    const struct advml_layer_kind *kind;
    int index;                    /* position in the model (= config model[index]) */
    advml_shape in_shape, out_shape;
    int pad[2];                   /* conv2d: top, left zero padding */
    advml_conv_algo conv_algo;    /* conv2d: how it computes (IM2COL or WINOGRAD; set by setup) */
    size_t nparams;               /* trainable floats */
    size_t param_offset;          /* start in the model's flat buffers */
    int nviews;
    advml_param_view views[ADVML_MAX_VIEWS]; /* offsets relative to param_offset */
    size_t state_per_sample;      /* bytes the layer keeps per sample for backward
                                     (pool argmax, dropout mask, rnn states) */
    size_t scratch_floats;        /* shared scratch needed at max_batch (im2col) */
    /* buffers owned by the model's arena, each (max_batch, size of out_shape): */
    float *z;                     /* pre-activation output (the kind writes it) */
    float *out;                   /* post-activation output (== z when no activation) */
    float *dz;                    /* gradient w.r.t. z (== dout when no activation) */
    float *dout;                  /* gradient w.r.t. out */
    void *state;                  /* (max_batch, state_per_sample bytes) */
} advml_layer;

/* Per-call context shared by all layers of one forward/backward pass. */
typedef struct advml_ctx {
    int B;                        /* samples in this batch (0 allowed: no-op) */
    int training;                 /* 1: dropout active, state kept for backward */
    uint64_t seed;                /* run seed (dropout key) */
    uint64_t step;                /* optimizer step (dropout key) */
    const int64_t *sample_ids;    /* (B) global sample indices; NULL -> 0..B-1 */
    float *scratch;               /* model workspace (max over layers of scratch_floats) */
    /* Sums buf[0..n) over every rank in place: what a collective kind (batchnorm)
     * calls in a training forward and backward for statistics over the global
     * batch. The trainer provides it (an allreduce, src/comm_*.c); NULL: one
     * process, the local sums are the global ones. Every rank calls it equally
     * often in the same order, also a rank with no samples (B = 0). */
    void (*reduce)(void *arg, double *buf, size_t n);
    void *reduce_arg;
    /* Parts (reproducible mode, docs/training.md "Bit for bit"): nparts > 0
     * splits the batch into parts that are computed alone, part p being
     * samples [part_lo[p], part_lo[p + 1]) with its own gradient buffer
     * part_grads[p] (the model's layout). advml_model_forward and _backward
     * then run each layer once per part (so a part's bits do not depend on
     * the others: no GEMM spans two parts); sample_ids must be set. A
     * collective kind runs once over the whole batch: it sums its statistics
     * per part, from zero, hands each part's sums to reduce_part (when set)
     * in part order, and adds them in part order into the buf it passes to
     * reduce, which then replaces them by every rank's parts added in the
     * global part order (the trainer). Without hooks the local ordered sum
     * stands (one process). */
    int nparts;
    const int *part_lo;           /* (nparts + 1) */
    float *const *part_grads;     /* (nparts) */
    void (*reduce_part)(void *arg, const double *buf, size_t n);
} advml_ctx;

/* ---- what a kind takes in a config ------------------------------------------
 *
 * Each kind lists its config keys (besides "type") in an advml_layer_key
 * table. src/config.c parses, validates, writes back and compares layers from
 * these tables alone, so a kind's keys, their types, ranges and defaults, and
 * where they land in the advml_layer_spec are written down once, in the
 * kind's source file. */

typedef enum advml_key_type {
    ADVML_KEY_POSINT,    /* int: a positive integer */
    ADVML_KEY_PAIR,      /* int[2]: [a, b] of positive integers, or n meaning [n, n] (Keras) */
    ADVML_KEY_BOOL,      /* int: true or false (1 or 0) */
    ADVML_KEY_FLOAT,     /* float: a finite number in lo..hi */
    ADVML_KEY_ACT,       /* advml_act: an activation name (advml_act_from_name) */
    ADVML_KEY_CHOICE,    /* an enum: one of the names in choices */
    ADVML_KEY_INIT,      /* advml_init: any initialiser name (a kernel's) */
    ADVML_KEY_BIAS_INIT  /* advml_init: "auto", "zeros" or "torch" (a bias's) */
} advml_key_type;

/* advml_layer_key.flags */
enum {
    ADVML_KEY_REQUIRED = 1u << 0,     /* must be given; dflt only serves specs built in code */
    ADVML_KEY_OMIT_DEFAULT = 1u << 1, /* written back only when not dflt (so that configs
                                         written before the key existed read back unchanged) */
    ADVML_KEY_LEAKY_ONLY = 1u << 2,   /* only with activation leaky_relu (an error otherwise;
                                         written back only then) */
    ADVML_KEY_NOT_MODEL = 1u << 3,    /* does not change what the model computes (initialisers,
                                         algorithm): advml_config_same_model ignores it */
    ADVML_KEY_LO_OPEN = 1u << 4,      /* FLOAT: lo itself is out of range */
    ADVML_KEY_HI_OPEN = 1u << 5       /* FLOAT: hi itself is out of range */
};

/* One value of an ADVML_KEY_CHOICE key. */
typedef struct advml_key_choice {
    const char *name;
    int value;
} advml_key_choice;

/* One config key of a layer kind. */
typedef struct advml_layer_key {
    const char *name;            /* the JSON key, e.g. "filters" */
    advml_key_type type;
    size_t offset;               /* where it lands: offsetof(advml_layer_spec, field); an int
                                    (int[2] for PAIR, an int-sized enum) or a float (FLOAT) */
    unsigned flags;              /* ADVML_KEY_* */
    double dflt;                 /* the value when absent (PAIR: both; enums: their value) */
    double lo, hi;               /* FLOAT: the range (hi may be INFINITY) */
    const advml_key_choice *choices; /* CHOICE: the names, ending with {NULL, 0} */
    const char *dflt_key;        /* PAIR: when absent, copy this key's value instead
                                    (pooling: the stride is the window) */
    const char *missing;         /* REQUIRED: the message when absent, at the layer's path
                                    (otherwise "<path>.<key>: missing (required)") */
    const char *const *aliases;  /* what other libraries call it ("kernel_size"), for
                                    "did you mean"; NULL-terminated, may be NULL */
} advml_layer_key;

/* A key of other kinds that users give this kind by mistake, with a hint. */
typedef struct advml_key_note {
    const char *key, *note;
} advml_key_note;

/* A NULL-terminated list of names for the tables: ADVML_NAMES("Conv2D", "conv"). */
#define ADVML_NAMES(...) ((const char *const[]){__VA_ARGS__, NULL})

/* The spec field of key k, for a kind's table or the config code. */
static inline int *advml_key_int(const advml_layer_key *k, advml_layer_spec *s)
{
    return (int *)(void *)((char *)s + k->offset);
}
static inline float *advml_key_float(const advml_layer_key *k, advml_layer_spec *s)
{
    return (float *)(void *)((char *)s + k->offset);
}

/* Rows that several kinds share. */
#define ADVML_KEY_ROW_UNITS(key_name, ...)                                                          \
    {.name = key_name, .type = ADVML_KEY_POSINT, .offset = offsetof(advml_layer_spec, units),       \
     .flags = ADVML_KEY_REQUIRED, .aliases = ADVML_NAMES(__VA_ARGS__)}
#define ADVML_KEY_ROW_IN(key_name) /* the optional declared input size (0: inferred) */             \
    {.name = key_name, .type = ADVML_KEY_POSINT, .offset = offsetof(advml_layer_spec, in_channels), \
     .flags = ADVML_KEY_OMIT_DEFAULT, .dflt = 0}
#define ADVML_KEY_ROW_ACTIVATION(flag_bits, dflt_act)                                               \
    {.name = "activation", .type = ADVML_KEY_ACT, .offset = offsetof(advml_layer_spec, act),        \
     .flags = (flag_bits), .dflt = (dflt_act)}
#define ADVML_KEY_ROW_ALPHA                                                                         \
    {.name = "alpha", .type = ADVML_KEY_FLOAT, .offset = offsetof(advml_layer_spec, alpha),         \
     .flags = ADVML_KEY_LEAKY_ONLY, .dflt = ADVML_LEAKY_ALPHA_DEFAULT, .lo = 0, .hi = INFINITY}
#define ADVML_KEY_ROW_USE_BIAS                                                                      \
    {.name = "use_bias", .type = ADVML_KEY_BOOL, .offset = offsetof(advml_layer_spec, use_bias),    \
     .dflt = 1, .aliases = ADVML_NAMES("bias")}
#define ADVML_KEY_ROW_RETURN_SEQUENCES /* recurrent kinds: 1 -> (T, H) output, 0 -> the last step */  \
    {.name = "return_sequences", .type = ADVML_KEY_BOOL,                                            \
     .offset = offsetof(advml_layer_spec, return_sequences), .dflt = 0}
#define ADVML_KEY_ROW_TRAINABLE /* kinds with weights: false freezes them (fine-tuning) */          \
    {.name = "trainable", .type = ADVML_KEY_BOOL, .offset = offsetof(advml_layer_spec, trainable),  \
     .flags = ADVML_KEY_OMIT_DEFAULT | ADVML_KEY_NOT_MODEL, .dflt = 1, .aliases = ADVML_NAMES("freeze")}
#define ADVML_KEY_ROWS_INITIALIZERS                                                                 \
    {.name = "kernel_initializer", .type = ADVML_KEY_INIT,                                          \
     .offset = offsetof(advml_layer_spec, kernel_init),                                             \
     .flags = ADVML_KEY_OMIT_DEFAULT | ADVML_KEY_NOT_MODEL, .dflt = ADVML_INIT_AUTO,                \
     .aliases = ADVML_NAMES("kernel_init", "weight_init")},                                         \
    {.name = "bias_initializer", .type = ADVML_KEY_BIAS_INIT,                                       \
     .offset = offsetof(advml_layer_spec, bias_init),                                               \
     .flags = ADVML_KEY_OMIT_DEFAULT | ADVML_KEY_NOT_MODEL, .dflt = ADVML_INIT_AUTO,                \
     .aliases = ADVML_NAMES("bias_init")}

/* ---- the kind ----------------------------------------------------------------- */

typedef struct advml_layer_kind {
    const char *name;             /* config "type" and summary name, e.g. "conv2d" */
    const char *class_name;       /* Keras-style class for the summary, "Conv2D" */
    int post_act;                 /* 1: the model applies spec.act after forward (and the
                                     summary names it: "conv2d_0 (Conv2D, relu)") */
    int collective;               /* 1: its training forward and backward call ctx->reduce, so the
                                     model runs them also for a batch of 0 samples */
    /* Validate the spec against in_shape, fill L->out_shape, nparams, views,
     * state_per_sample and scratch_floats (for max_batch samples). Messages
     * name the layer: "layer 3 (dense): ...". */
    advml_status (*setup)(advml_layer *L, advml_shape in_shape, int max_batch, advml_error *err);
    /* Initialise the layer's parameters (params = its slice) from rng. */
    void (*init)(advml_layer *L, float *params, advml_rng *rng);
    /* z (B, out) = layer(in (B, in)); params = the layer's slice. */
    void (*forward)(advml_layer *L, float *z, const float *in, const float *params, const advml_ctx *ctx);
    /* dinp (B, in) += ..., dparams += ... from dz (B, out). dinp may be NULL
     * (first layer: no input gradient needed). */
    void (*backward)(advml_layer *L, float *dinp, float *dparams, const float *dz, const float *in,
                     const float *params, const advml_ctx *ctx);

    /* Its config keys besides "type", in the order they are written back
     * (and listed in messages); the last row has name NULL. */
    const advml_layer_key *keys;
    /* Optional: spec defaults that no key sets (after the common ones and
     * the keys' dflt), e.g. an LSTM's fixed tanh. */
    void (*defaults)(advml_layer_spec *s);
    /* Optional: what Keras and PyTorch call the kind ("Conv2D"), for "did you mean". */
    const char *const *aliases;
    /* Optional: "type" values that stand for this kind with the key
     * shorthand_key set to that value ({"type": "relu"} is an activation
     * layer with "activation": "relu"); such a layer takes no other keys but
     * its LEAKY_ONLY ones (when leaky). */
    const char *const *shorthands;
    const char *shorthand_key;
    /* Optional: other kinds' keys users give this one by mistake, with a
     * hint; ends with {NULL, NULL}. */
    const advml_key_note *notes;
} advml_layer_kind;

/* The table (src/layer.c). NULL for an unknown type/name. */
const advml_layer_kind *advml_layer_kind_of(advml_layer_type type);
const advml_layer_kind *advml_layer_kind_by_name(const char *name, advml_layer_type *type);

/* For a kind's setup: append the view name of shape dims[0..rank) (e.g.
 * "kernel" (OC, C, KH, KW)) after the layer's parameters so far: its offset is
 * L->nparams, which then grows by its size; decay 1 for weights (L2 applies),
 * 0 for biases. The caller starts from L->nviews = L->nparams = 0 and adds at
 * most ADVML_MAX_VIEWS views (rank at most 4, name shorter than
 * ADVML_VIEW_NAME_LEN). Owns nothing. */
void advml_layer_add_view(advml_layer *L, const char *name, int decay, int rank, const int *dims);

/* The kinds, each defined beside its kernels (src/conv2d.c, ...). */
#define ADVML_X(suffix, kind) extern const advml_layer_kind kind;
ADVML_LAYER_KINDS(ADVML_X)
#undef ADVML_X

/* Initialisers shared by the kinds: fill w[0..n) with He-normal
 * N(0, 2/fan_in) or Glorot-uniform U(+-sqrt(6/(fan_in+fan_out))). */
void advml_init_he(float *w, size_t n, int fan_in, advml_rng *rng);
void advml_init_glorot(float *w, size_t n, int fan_in, int fan_out, advml_rng *rng);
/* He when act is ReLU-family, Glorot otherwise. */
void advml_init_for_act(float *w, size_t n, int fan_in, int fan_out, advml_act act, advml_rng *rng);
/* Fill the (n, n) matrix w with a random orthogonal matrix (rows of a
 * standard-normal matrix orthonormalised by modified Gram-Schmidt, the
 * Q of a QR with positive diagonal R, as Keras' Orthogonal initialiser). */
void advml_init_orthogonal(float *w, int n, advml_rng *rng);
/* Fill w[0..n) as kind says (AUTO: advml_init_for_act); fans as above. */
void advml_init_fill(float *w, size_t n, advml_init kind, int fan_in, int fan_out, advml_act act, advml_rng *rng);
/* A bias: zeros for AUTO (and ZEROS), otherwise advml_init_fill. */
void advml_init_bias(float *b, size_t n, advml_init kind, int fan_in, int fan_out, advml_rng *rng);
/* The config name of kind ("auto", "zeros", "he_normal", ..., "torch"); NULL if out of range. */
const char *advml_init_name(advml_init kind);
/* The kind named name; -1 when no kind has that name. */
int advml_init_by_name(const char *name);

#endif

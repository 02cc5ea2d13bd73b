/* activation.c - element-wise activations, softmax, and the "activation"
 * layer kind (see include/advml/activation.h and layer.h).
 *
 * These loops run over every activation of the network twice per step, so
 * they are kept branch-free and simple enough for the compiler to vectorise;
 * exp/tanh are only called by the kinds that need them.
 */
#include "advml/activation.h"
#include "advml/layer.h"

#include <math.h>
#include <string.h>

/* out (rows, cols) = f(in (rows, cols)); out may equal in. */
void advml_act_forward(float *out, const float *in, size_t rows, size_t cols, advml_act act,
                       float alpha)
{
    size_t n = rows * cols;
    switch (act) {
    case ADVML_ACT_IDENTITY:
        if (out != in)
            memmove(out, in, n * sizeof *out);
        break;
    case ADVML_ACT_SIGMOID:
        for (size_t i = 0; i < n; i++)
            out[i] = 1.0f / (1.0f + expf(-in[i])); /* s = 1 / (1 + e^-x) */
        break;
    case ADVML_ACT_TANH:
        for (size_t i = 0; i < n; i++)
            out[i] = tanhf(in[i]);
        break;
    case ADVML_ACT_RELU:
        for (size_t i = 0; i < n; i++)
            out[i] = in[i] > 0.0f ? in[i] : 0.0f; /* max(x, 0) */
        break;
    case ADVML_ACT_LEAKY_RELU:
        for (size_t i = 0; i < n; i++)
            out[i] = in[i] > 0.0f ? in[i] : alpha * in[i]; /* x > 0 ? x : alpha x */
        break;
    case ADVML_ACT_SOFTMAX:
        for (size_t r = 0; r < rows && cols > 0; r++) {
            const float *x = in + r * cols;
            float *y = out + r * cols;
            float mx = x[0];
            for (size_t j = 1; j < cols; j++)
                mx = x[j] > mx ? x[j] : mx;
            float sum = 0.0f;
            for (size_t j = 0; j < cols; j++) {
                y[j] = expf(x[j] - mx); /* y_j = e^(x_j - max) / sum_k e^(x_k - max) */
                sum += y[j];
            }
            float inv = 1.0f / sum;
            for (size_t j = 0; j < cols; j++)
                y[j] *= inv;
        }
        break;
    }
}

/* dinp (rows, cols) (+)= dout * df/din, given the forward's in and out:
 * accumulates when acc is 1, writes when it is 0. Inlined into the two
 * public functions with acc a constant, so each gets its own branch-free loops. */
#if defined(__GNUC__)
#define ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define ALWAYS_INLINE inline
#endif
#define PUT(i, v) (dinp[i] = acc ? dinp[i] + (v) : (v))
static ALWAYS_INLINE void act_backward(float *restrict dinp, const float *restrict dout,
                                       const float *restrict in, const float *restrict out,
                                       size_t rows, size_t cols, advml_act act, float alpha,
                                       const int acc)
{
    size_t n = rows * cols;
    switch (act) {
    case ADVML_ACT_IDENTITY:
        for (size_t i = 0; i < n; i++)
            PUT(i, dout[i]);
        break;
    case ADVML_ACT_SIGMOID:
        for (size_t i = 0; i < n; i++)
            PUT(i, dout[i] * out[i] * (1.0f - out[i])); /* s' = s (1 - s) */
        break;
    case ADVML_ACT_TANH:
        for (size_t i = 0; i < n; i++)
            PUT(i, dout[i] * (1.0f - out[i] * out[i])); /* tanh' = 1 - tanh^2 */
        break;
    case ADVML_ACT_RELU:
        for (size_t i = 0; i < n; i++)
            PUT(i, in[i] > 0.0f ? dout[i] : 0.0f);
        break;
    case ADVML_ACT_LEAKY_RELU:
        for (size_t i = 0; i < n; i++)
            PUT(i, in[i] > 0.0f ? dout[i] : alpha * dout[i]);
        break;
    case ADVML_ACT_SOFTMAX:
        for (size_t r = 0; r < rows; r++) {
            const float *g = dout + r * cols, *y = out + r * cols;
            float dot = 0.0f;
            for (size_t j = 0; j < cols; j++)
                dot += g[j] * y[j];
            for (size_t j = 0; j < cols; j++)
                PUT(r * cols + j, y[j] * (g[j] - dot)); /* dx_j = y_j (g_j - sum_k g_k y_k) */
        }
        break;
    }
}
#undef PUT

/* dinp (rows, cols) += dout * df/din, given the forward's in and out. */
void advml_act_backward(float *restrict dinp, const float *restrict dout, const float *restrict in,
                        const float *restrict out, size_t rows, size_t cols, advml_act act,
                        float alpha)
{
    act_backward(dinp, dout, in, out, rows, cols, act, alpha, 1);
}

/* dinp (rows, cols) = dout * df/din (written, never read). */
void advml_act_backward_write(float *restrict dinp, const float *restrict dout,
                              const float *restrict in, const float *restrict out, size_t rows,
                              size_t cols, advml_act act, float alpha)
{
    act_backward(dinp, dout, in, out, rows, cols, act, alpha, 0);
}

const char *advml_act_name(advml_act act)
{
    switch (act) {
    case ADVML_ACT_IDENTITY: return "linear";
    case ADVML_ACT_SIGMOID: return "sigmoid";
    case ADVML_ACT_TANH: return "tanh";
    case ADVML_ACT_RELU: return "relu";
    case ADVML_ACT_LEAKY_RELU: return "leaky_relu";
    case ADVML_ACT_SOFTMAX: return "softmax";
    }
    return "unknown";
}

int advml_act_from_name(const char *name, advml_act *act)
{
    static const struct { const char *name; advml_act act; } names[] = {
        {"linear", ADVML_ACT_IDENTITY}, {"identity", ADVML_ACT_IDENTITY},
        {"sigmoid", ADVML_ACT_SIGMOID}, {"tanh", ADVML_ACT_TANH},
        {"relu", ADVML_ACT_RELU},       {"leaky_relu", ADVML_ACT_LEAKY_RELU},
        {"softmax", ADVML_ACT_SOFTMAX},
    };
    if (!name)
        return -1;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(name, names[i].name) == 0) {
            if (act)
                *act = names[i].act;
            return 0;
        }
    return -1;
}

int advml_act_is_relu_family(advml_act act)
{
    return act == ADVML_ACT_RELU || act == ADVML_ACT_LEAKY_RELU;
}

/* ---- the "activation" layer kind -------------------------------------------
 * A layer that only applies spec.act: its forward copies in to z and the
 * model applies the activation (post_act = 1); backward passes dz through. */

static advml_status activation_setup(advml_layer *L, advml_shape in_shape, int max_batch,
                                     advml_error *err)
{
    (void)max_batch;
    if ((unsigned)L->spec.act > (unsigned)ADVML_ACT_SOFTMAX)
        return advml_error_set(err, ADVML_ERR_SHAPE, "layer %d (activation): unknown activation %d",
                               L->index, (int)L->spec.act);
    L->in_shape = in_shape;
    L->out_shape = in_shape;
    L->nparams = 0;
    L->nviews = 0;
    L->state_per_sample = 0;
    L->scratch_floats = 0;
    return ADVML_OK;
}

static void activation_init(advml_layer *L, float *params, advml_rng *rng)
{
    (void)L, (void)params, (void)rng;
}

static void activation_forward(advml_layer *L, float *z, const float *in, const float *params,
                               const advml_ctx *ctx)
{
    (void)params;
    size_t n = (size_t)ctx->B * advml_shape_size(&L->out_shape);
    if (z != in && n)
        memcpy(z, in, n * sizeof *z);
}

static void activation_backward(advml_layer *L, float *dinp, float *dparams, const float *dz,
                                const float *in, const float *params, const advml_ctx *ctx)
{
    (void)dparams, (void)in, (void)params;
    if (!dinp)
        return;
    size_t n = (size_t)ctx->B * advml_shape_size(&L->out_shape);
    for (size_t i = 0; i < n; i++)
        dinp[i] += dz[i];
}

/* {"type": "activation", "activation": "relu"}, or the shorthand {"type": "relu"} */
static const advml_layer_key activation_keys[] = {
    {.name = "activation", .type = ADVML_KEY_ACT, .offset = offsetof(advml_layer_spec, act),
     .flags = ADVML_KEY_REQUIRED, .dflt = ADVML_ACT_IDENTITY,
     .missing = "an activation layer needs \"activation\" (e.g. \"relu\")"},
    ADVML_KEY_ROW_ALPHA,
    {.name = NULL}};

const advml_layer_kind advml_activation_kind = {
    .name = "activation",
    .class_name = "Activation",
    .post_act = 1,
    .setup = activation_setup,
    .init = activation_init,
    .forward = activation_forward,
    .backward = activation_backward,
    .keys = activation_keys,
    .shorthands = ADVML_NAMES("relu", "leaky_relu", "sigmoid", "tanh", "softmax"),
    .shorthand_key = "activation",
};

/* model.c - a model as an array of layers over one flat parameter buffer and
 * one flat gradient buffer (see include/advml/model.h).
 *
 * Every buffer is carved out of one arena allocated by advml_model_build for
 * the largest batch; forward and backward allocate nothing.
 */
#include "advml/model.h"

#include "advml/bigbuf.h"
#include "advml/pool.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define ALIGN 64 /* bytes: cache line, and enough for any SIMD load */

static size_t align_up(size_t n) { return (n + ALIGN - 1) / ALIGN * ALIGN; }

/* The activation the model applies after layer L (identity when the kind has
 * its own, e.g. the recurrent cells). */
static advml_act post_act(const advml_layer *L)
{
    return L->kind->post_act ? L->spec.act : ADVML_ACT_IDENTITY;
}

static size_t out_size(const advml_layer *L) { return advml_shape_size(&L->out_shape); }

/* Two fusions save whole passes over the activations (the results are the
 * same bits as the layer-by-layer computation):
 *  - a max pool after a ReLU layer pools that layer's pre-activation output
 *    z and applies the ReLU to the pooled values only (maxpool(relu(z)) =
 *    relu(maxpool(z))), and its backward writes the ReLU layer's dz directly
 *    (advml_maxpool2d_layer_relu_*): the ReLU layer keeps no out/dout;
 *  - a flatten layer (not the first) works in place: its z/out and dz/dout
 *    are its input's buffers, so its forward copies nothing and its backward
 *    adds nothing (the kind skips both when the buffers coincide). */
static int pool_takes_relu(const advml_model *m, int i)
{
    return i > 0 && i < m->nlayers && m->layers[i].spec.type == ADVML_LAYER_MAXPOOL2D &&
           post_act(&m->layers[i - 1]) == ADVML_ACT_RELU;
}

static int in_place(const advml_model *m, int i)
{
    return i > 0 && m->layers[i].spec.type == ADVML_LAYER_FLATTEN;
}

/* 1 when layer i has out/dout buffers of its own, apart from z/dz. */
static int separate_out(const advml_model *m, int i)
{
    return post_act(&m->layers[i]) != ADVML_ACT_IDENTITY && !pool_takes_relu(m, i + 1);
}

void advml_model_free(advml_model *m)
{
    if (!m)
        return;
    free(m->layers);
    free(m->views);
    free(m->arena);
    memset(m, 0, sizeof *m);
}

/* Decide whether the last layer's softmax (CCE) or sigmoid (BCE) is folded
 * into the loss, and check that the loss can read the output at all. */
static advml_status setup_loss(advml_model *m, advml_error *err)
{
    advml_layer *last = &m->layers[m->nlayers - 1];
    advml_act act = post_act(last);
    if (m->spec.loss == ADVML_LOSS_CCE) {
        if (last->out_shape.rank != 1) {
            char s[64];
            return advml_error_set(err, ADVML_ERR_SHAPE,
                                   "layer %d (%s): categorical_crossentropy needs a flat output of class "
                                   "scores, but the model ends with shape %s",
                                   last->index, last->kind->name, advml_shape_str(&last->out_shape, s, sizeof s));
        }
        m->fused = (act == ADVML_ACT_SOFTMAX);
    } else if (m->spec.loss == ADVML_LOSS_BCE) {
        m->fused = (act == ADVML_ACT_SIGMOID);
    } else {
        m->fused = 0;
    }
    return ADVML_OK;
}

advml_status advml_model_build(advml_model *m, const advml_model_spec *spec, int max_batch,
                               advml_error *err)
{
    memset(m, 0, sizeof *m);
    m->spec = *spec;
    if (spec->nlayers <= 0 || spec->nlayers > ADVML_MAX_LAYERS)
        return advml_error_set(err, ADVML_ERR_SHAPE, "model: needs between 1 and %d layers, got %d",
                               ADVML_MAX_LAYERS, spec->nlayers);
    if (max_batch <= 0)
        return advml_error_set(err, ADVML_ERR_ARG, "model: batch size must be positive, got %d", max_batch);
    if (spec->input.rank < 1 || spec->input.rank > ADVML_MAX_RANK)
        return advml_error_set(err, ADVML_ERR_SHAPE, "model: input must have 1 to 3 dimensions, got %d",
                               spec->input.rank);
    for (int i = 0; i < spec->input.rank; i++)
        if (spec->input.d[i] <= 0)
            return advml_error_set(err, ADVML_ERR_SHAPE, "model: input dimension %d is %d; must be positive",
                                   i, spec->input.d[i]);

    m->nlayers = spec->nlayers;
    m->max_batch = max_batch;
    m->layers = calloc((size_t)m->nlayers, sizeof *m->layers);
    if (!m->layers)
        return advml_error_set(err, ADVML_ERR_NOMEM, "model: out of memory");

    /* Shape inference and validation, layer after layer. */
    advml_shape in = spec->input;
    int nviews = 0;
    for (int i = 0; i < m->nlayers; i++) {
        advml_layer *L = &m->layers[i];
        L->spec = spec->layers[i];
        L->index = i;
        L->kind = advml_layer_kind_of(L->spec.type);
        if (!L->kind) {
            advml_model_free(m);
            return advml_error_set(err, ADVML_ERR_SHAPE, "layer %d: layer type %d is not available in this build",
                                   i, (int)L->spec.type);
        }
        L->in_shape = in;
        advml_status st = L->kind->setup(L, in, max_batch, err);
        if (st != ADVML_OK) {
            advml_model_free(m);
            return st;
        }
        L->param_offset = m->nparams;
        m->nparams += L->nparams;
        m->collective |= L->kind->collective;
        nviews += L->nviews;
        if (L->scratch_floats > m->scratch_floats)
            m->scratch_floats = L->scratch_floats;
        in = L->out_shape;
    }
    m->out_shape = in;
    advml_status st = setup_loss(m, err);
    if (st != ADVML_OK) {
        advml_model_free(m);
        return st;
    }

    /* All named views, with absolute offsets. */
    m->views = calloc((size_t)(nviews > 0 ? nviews : 1), sizeof *m->views);
    if (!m->views) {
        advml_model_free(m);
        return advml_error_set(err, ADVML_ERR_NOMEM, "model: out of memory");
    }
    for (int i = 0; i < m->nlayers; i++) {
        advml_layer *L = &m->layers[i];
        for (int v = 0; v < L->nviews; v++) {
            advml_param_view pv = L->views[v];
            pv.offset += L->param_offset;
            pv.layer = i;
            pv.frozen = pv.buffer || !L->spec.trainable;
            m->views[m->nviews++] = pv;
        }
    }

    /* Arena layout: params, grads (+ extra slots), scratch, then per layer
     * z, out, dz, dout (out/dout alias z/dz when no activation follows or a
     * max pool takes the ReLU; all four are the input's for an in-place
     * flatten) and state. */
    size_t B = (size_t)max_batch;
    size_t total = align_up(m->nparams * sizeof(float)) +
                   align_up((m->nparams + ADVML_GRAD_EXTRA) * sizeof(float)) +
                   align_up(m->scratch_floats * sizeof(float));
    for (int i = 0; i < m->nlayers; i++) {
        advml_layer *L = &m->layers[i];
        size_t act_bytes = align_up(B * out_size(L) * sizeof(float));
        int nbuf = in_place(m, i) ? 0 : separate_out(m, i) ? 4 : 2;
        total += nbuf * act_bytes + align_up(B * L->state_per_sample);
    }
    void *arena = advml_bigbuf_alloc(total); /* zeroed: every page touched now */
    if (!arena) {
        advml_model_free(m);
        return advml_error_set(err, ADVML_ERR_NOMEM, "model: cannot allocate %zu bytes for the model's buffers",
                               total);
    }
    m->arena = arena;
    char *p = arena;
    m->params = (float *)p;
    p += align_up(m->nparams * sizeof(float));
    m->grads = (float *)p;
    p += align_up((m->nparams + ADVML_GRAD_EXTRA) * sizeof(float));
    m->scratch = m->scratch_floats ? (float *)p : NULL;
    p += align_up(m->scratch_floats * sizeof(float));
    for (int i = 0; i < m->nlayers; i++) {
        advml_layer *L = &m->layers[i];
        size_t act_bytes = align_up(B * out_size(L) * sizeof(float));
        int separate = separate_out(m, i);
        if (in_place(m, i)) {
            L->z = L->out = m->layers[i - 1].out;
            L->dz = L->dout = m->layers[i - 1].dout;
            L->state = L->state_per_sample ? (void *)p : NULL;
            p += align_up(B * L->state_per_sample);
            continue;
        }
        L->z = (float *)p;
        p += act_bytes;
        L->dz = (float *)p;
        p += act_bytes;
        if (separate) {
            L->out = (float *)p;
            p += act_bytes;
            L->dout = (float *)p;
            p += act_bytes;
        } else {
            L->out = L->z;
            L->dout = L->dz;
        }
        L->state = L->state_per_sample ? (void *)p : NULL;
        p += align_up(B * L->state_per_sample);
    }
    return ADVML_OK;
}

void advml_model_init_params(advml_model *m, uint64_t seed)
{
    advml_rng rng;
    advml_rng_seed(&rng, seed);
    for (int i = 0; i < m->nlayers; i++) {
        advml_layer *L = &m->layers[i];
        if (L->nparams && L->kind->init)
            L->kind->init(L, m->params + L->param_offset, &rng);
    }
}

/* A batch of no samples: only the collective layers run (in order, or in
 * reverse for the backward), so that this rank joins the other ranks' reduces. */
static void collective_only(advml_model *m, const advml_ctx *ctx, int backward)
{
    if (!m->collective || !ctx->training)
        return;
    advml_ctx c = *ctx;
    c.B = 0;
    c.scratch = m->scratch;
    for (int j = 0; j < m->nlayers; j++) {
        advml_layer *L = &m->layers[backward ? m->nlayers - 1 - j : j];
        if (!L->kind->collective)
            continue;
        if (backward)
            L->kind->backward(L, NULL, m->grads + L->param_offset, L->dz, L->z, m->params + L->param_offset, &c);
        else
            L->kind->forward(L, L->z, L->z, m->params + L->param_offset, &c);
    }
}

/* Layer L as the pass over part [lo, lo + B) of a batch sees it: its
 * buffers start at sample lo (every kind but the collective ones keeps its
 * per-sample rows there), and the context names the part's B and samples. */
static advml_layer part_layer(const advml_layer *L, const advml_ctx *ctx, int p, advml_ctx *c)
{
    const int lo = ctx->part_lo[p];
    const size_t o = (size_t)lo * out_size(L);
    advml_layer s = *L;
    s.z = L->z + o;
    s.out = L->out + o;
    s.dz = L->dz + o;
    s.dout = L->dout + o;
    if (L->state)
        s.state = (char *)L->state + (size_t)lo * L->state_per_sample;
    *c = *ctx;
    c->B = ctx->part_lo[p + 1] - lo;
    c->sample_ids = ctx->sample_ids + lo;
    return s;
}

/* Layer i's forward over the batch x (B, in) into its z: once, or once per
 * part (ctx->nparts; the collective kinds once, as they split by part
 * themselves). */
static void layer_forward(advml_model *m, int i, const float *x, const advml_ctx *c)
{
    advml_layer *L = &m->layers[i];
    const float *params = m->params + L->param_offset;
    if (c->nparts == 0 || L->kind->collective) {
        if (pool_takes_relu(m, i)) /* x is layer i-1's z */
            advml_maxpool2d_layer_relu_forward(L, L->z, x, c);
        else
            L->kind->forward(L, L->z, x, params, c);
        return;
    }
    const size_t insz = i > 0 ? out_size(&m->layers[i - 1]) : advml_shape_size(&m->spec.input);
    for (int p = 0; p < c->nparts; p++) {
        advml_ctx pc;
        advml_layer pl = part_layer(L, c, p, &pc);
        if (pc.B <= 0)
            continue;
        const float *px = x + (size_t)c->part_lo[p] * insz;
        if (pool_takes_relu(m, i))
            advml_maxpool2d_layer_relu_forward(&pl, pl.z, px, &pc);
        else
            L->kind->forward(&pl, pl.z, px, params, &pc);
    }
}

/* Layer i's backward (dinp cleared by the caller) into m->grads, or per
 * part into ctx->part_grads[p]. */
static void layer_backward(advml_model *m, int i, float *dinp, const float *xin, const advml_ctx *c)
{
    advml_layer *L = &m->layers[i];
    const float *params = m->params + L->param_offset;
    if (c->nparts == 0 || L->kind->collective) {
        if (pool_takes_relu(m, i)) /* writes layer i-1's dz (= its dout) */
            advml_maxpool2d_layer_relu_backward_write(L, dinp, L->dz, c);
        else
            L->kind->backward(L, dinp, m->grads + L->param_offset, L->dz, xin, params, c);
        return;
    }
    const size_t insz = i > 0 ? out_size(&m->layers[i - 1]) : advml_shape_size(&m->spec.input);
    for (int p = 0; p < c->nparts; p++) {
        advml_ctx pc;
        advml_layer pl = part_layer(L, c, p, &pc);
        if (pc.B <= 0)
            continue;
        const size_t o = (size_t)c->part_lo[p] * insz;
        if (pool_takes_relu(m, i))
            advml_maxpool2d_layer_relu_backward_write(&pl, dinp + o, pl.dz, &pc);
        else
            L->kind->backward(&pl, dinp ? dinp + o : NULL, c->part_grads[p] + L->param_offset, pl.dz, xin + o,
                              params, &pc);
    }
}

void advml_model_forward(advml_model *m, const float *in, const advml_ctx *ctx)
{
    if (ctx->B <= 0) {
        collective_only(m, ctx, 0);
        return;
    }
    advml_ctx c = *ctx;
    c.scratch = m->scratch;
    const float *x = in; /* (B, in_shape) */
    for (int i = 0; i < m->nlayers; i++) {
        advml_layer *L = &m->layers[i];
        layer_forward(m, i, x, &c);
        if (L->out != L->z)
            advml_act_forward(L->out, L->z, (size_t)c.B, out_size(L), L->spec.act, L->spec.alpha);
        x = L->out;
    }
}

const float *advml_model_output(const advml_model *m) { return m->layers[m->nlayers - 1].out; }

int advml_model_target_size(const advml_model *m)
{
    return m->spec.loss == ADVML_LOSS_CCE ? 1 : (int)advml_shape_size(&m->out_shape);
}

/* What the loss reads: logits (z) when the final activation is fused. */
static const float *loss_input(const advml_model *m)
{
    const advml_layer *last = &m->layers[m->nlayers - 1];
    return m->fused ? last->z : last->out;
}

double advml_model_loss(const advml_model *m, const float *targets, int B)
{
    return advml_model_loss_part(m, targets, 0, B);
}

double advml_model_loss_part(const advml_model *m, const float *targets, int lo, int B)
{
    if (B <= 0)
        return 0.0;
    int K = (int)advml_shape_size(&m->out_shape);
    const float *x = loss_input(m) + (size_t)lo * K;
    targets += (size_t)lo * advml_model_target_size(m);
    switch (m->spec.loss) {
    case ADVML_LOSS_CCE: return advml_softmax_xent_forward_w(NULL, x, targets, B, K, m->class_weight);
    case ADVML_LOSS_BCE: return advml_bce_forward_w(x, targets, B, K, m->fused, m->class_weight);
    case ADVML_LOSS_MSE: return advml_mse_forward(x, targets, B, K);
    }
    return NAN;
}

double advml_model_sample_loss(const advml_model *m, const float *targets, int b)
{
    int K = (int)advml_shape_size(&m->out_shape);
    const float *x = loss_input(m) + (size_t)b * K;
    switch (m->spec.loss) {
    case ADVML_LOSS_CCE: return advml_softmax_xent_forward(NULL, x, targets + b, 1, K);
    case ADVML_LOSS_BCE: return advml_bce_forward(x, targets + (size_t)b * K, 1, K, m->fused);
    case ADVML_LOSS_MSE: return advml_mse_forward(x, targets + (size_t)b * K, 1, K);
    }
    return NAN;
}

double advml_model_correct(const advml_model *m, const float *targets, int B)
{
    return advml_model_correct_part(m, targets, 0, B);
}

double advml_model_correct_part(const advml_model *m, const float *targets, int lo, int B)
{
    int K = (int)advml_shape_size(&m->out_shape);
    const float *y = advml_model_output(m) + (size_t)lo * K;
    targets += (size_t)lo * advml_model_target_size(m);
    double correct = 0.0;
    if (m->spec.loss == ADVML_LOSS_CCE) {
        for (int b = 0; b < B; b++) {
            const float *row = y + (size_t)b * K;
            int best = 0;
            for (int k = 1; k < K; k++)
                if (row[k] > row[best])
                    best = k;
            correct += (best == (int)targets[b]);
        }
    } else if (m->spec.loss == ADVML_LOSS_BCE) {
        /* p > 0.5 is z > 0 for a fused sigmoid; out holds probabilities either way. */
        for (int b = 0; b < B; b++) {
            int hits = 0;
            for (int k = 0; k < K; k++) {
                size_t j = (size_t)b * K + k;
                hits += ((y[j] > 0.5f) == (targets[j] > 0.5f));
            }
            correct += (double)hits / K;
        }
    }
    return correct;
}

void advml_model_zero_grads(advml_model *m)
{
    memset(m->grads, 0, (m->nparams + ADVML_GRAD_EXTRA) * sizeof(float));
}

void advml_model_backward(advml_model *m, const float *in, const float *targets, const advml_ctx *ctx)
{
    int B = ctx->B;
    if (B <= 0) {
        collective_only(m, ctx, 1);
        return;
    }
    advml_ctx c = *ctx;
    c.scratch = m->scratch;
    /* Gradients w.r.t. layer outputs accumulate (the loss adds into the last
     * layer's, each layer's backward into its predecessor's): each is cleared
     * (the rows this batch uses) just before, while the next pass can still
     * find it in cache. The dz of a layer with its own activation buffer is
     * written whole by advml_act_backward_write and needs no clearing. */
    advml_layer *last = &m->layers[m->nlayers - 1];
    int K = (int)advml_shape_size(&m->out_shape);
    const float *x = loss_input(m);
    float *dx = m->fused ? last->dz : last->dout; /* (B, K) what the loss adds into */
    memset(dx, 0, (size_t)B * K * sizeof(float));
    switch (m->spec.loss) {
    case ADVML_LOSS_CCE: advml_softmax_xent_backward_w(dx, x, targets, B, K, 1.0f, m->class_weight); break;
    case ADVML_LOSS_BCE: advml_bce_backward_w(dx, x, targets, B, K, m->fused, 1.0f, m->class_weight); break;
    case ADVML_LOSS_MSE: advml_mse_backward(dx, x, targets, B, K, 1.0f); break;
    }
    for (int i = m->nlayers - 1; i >= 0; i--) {
        advml_layer *L = &m->layers[i];
        int skip_act = (i == m->nlayers - 1) && m->fused;
        if (L->out != L->z && !skip_act) /* dz = dout * act'(z) */
            advml_act_backward_write(L->dz, L->dout, L->z, L->out, (size_t)B, out_size(L), L->spec.act,
                                     L->spec.alpha);
        const float *xin = i > 0 ? m->layers[i - 1].out : in;
        float *dinp = i > 0 ? m->layers[i - 1].dout : NULL;
        if (!pool_takes_relu(m, i) && dinp && dinp != L->dz) /* (an in-place layer's gradient is already there) */
            memset(dinp, 0, (size_t)B * out_size(&m->layers[i - 1]) * sizeof(float));
        layer_backward(m, i, dinp, xin, &c);
    }
}

double advml_model_l2_half_sq(const advml_model *m)
{
    double s = 0.0;
    for (int v = 0; v < m->nviews; v++) {
        const advml_param_view *pv = &m->views[v];
        if (!pv->decay)
            continue;
        const float *w = m->params + pv->offset;
        for (size_t j = 0; j < pv->size; j++)
            s += (double)w[j] * w[j];
    }
    return 0.5 * s;
}

advml_status advml_model_check_targets(const advml_model *m, int num_classes, int target_dim,
                                       advml_error *err)
{
    const advml_layer *last = &m->layers[m->nlayers - 1];
    int K = (int)advml_shape_size(&m->out_shape);
    char s[64];
    advml_shape_str(&m->out_shape, s, sizeof s);
    if (m->spec.loss == ADVML_LOSS_CCE) {
        if (target_dim != 0)
            return advml_error_set(err, ADVML_ERR_SHAPE,
                                   "loss categorical_crossentropy needs class-id targets, but the data has "
                                   "%d target values per sample (use mse or binary_crossentropy)", target_dim);
        if (num_classes > 0 && K != num_classes)
            return advml_error_set(err, ADVML_ERR_SHAPE,
                                   "layer %d (%s): the model outputs %d class scores %s but the data has %d "
                                   "classes", last->index, last->kind->name, K, s, num_classes);
        return ADVML_OK;
    }
    if (target_dim == 0)
        return advml_error_set(err, ADVML_ERR_SHAPE,
                               "loss %s needs target values, but the data has class ids (use "
                               "categorical_crossentropy)", advml_loss_name(m->spec.loss));
    if (K != target_dim)
        return advml_error_set(err, ADVML_ERR_SHAPE,
                               "layer %d (%s): the model outputs %d values per sample %s but the data has %d "
                               "target values", last->index, last->kind->name, K, s, target_dim);
    return ADVML_OK;
}

/* "3,274,634" */
static void fmt_count(size_t n, char *buf, size_t len)
{
    char digits[32];
    int nd = snprintf(digits, sizeof digits, "%zu", n);
    size_t o = 0;
    for (int i = 0; i < nd && o + 1 < len; i++) {
        if (i && (nd - i) % 3 == 0 && o + 2 < len)
            buf[o++] = ',';
        buf[o++] = digits[i];
    }
    buf[o] = '\0';
}

void advml_model_summary(const advml_model *m, FILE *f)
{
    const char *rule = "_________________________________________________________________________";
    const char *dbl = "=========================================================================";
    char shape[64], name[64], count[32];
    fprintf(f, "Model: advml\n%s\n %-36s %-24s %10s\n%s\n", rule, "Layer (type)", "Output Shape", "Param #",
            dbl);
    for (int i = 0; i < m->nlayers; i++) {
        const advml_layer *L = &m->layers[i];
        advml_act act = post_act(L);
        if (act != ADVML_ACT_IDENTITY)
            snprintf(name, sizeof name, "%s_%d (%s, %s)", L->kind->name, i, L->kind->class_name,
                     advml_act_name(act));
        else
            snprintf(name, sizeof name, "%s_%d (%s)", L->kind->name, i, L->kind->class_name);
        fmt_count(L->nparams, count, sizeof count);
        fprintf(f, " %-36s %-24s %10s\n", name, advml_shape_str(&L->out_shape, shape, sizeof shape), count);
    }
    size_t fixed = 0;
    for (int v = 0; v < m->nviews; v++)
        fixed += m->views[v].frozen ? m->views[v].size : 0;
    char trainable[32], frozen[32];
    fmt_count(m->nparams, count, sizeof count);
    fmt_count(m->nparams - fixed, trainable, sizeof trainable);
    fmt_count(fixed, frozen, sizeof frozen);
    fprintf(f, "%s\nTotal params: %s (%.2f MB)\nTrainable params: %s\nNon-trainable params: %s\n", dbl, count,
            m->nparams * 4.0 / 1e6, trainable, frozen);
    fprintf(f, "Input: %s; loss: %s%s\n%s\n", advml_shape_str(&m->spec.input, shape, sizeof shape),
            advml_loss_name(m->spec.loss),
            m->fused ? (m->spec.loss == ADVML_LOSS_CCE ? " (softmax fused into the loss)"
                                                       : " (sigmoid fused into the loss)")
                     : "",
            rule);
}

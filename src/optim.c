/* optim.c - optimizers in their standard per-parameter form (see
 * include/advml/optim.h for the formulas).
 *
 * Each step is one pass per parameter view; the per-step constants (bias
 * corrections, the view's L2 factor) are computed once outside the loop and
 * every loop body is a straight sequence of float multiply-adds, a division
 * and a sqrtf over restrict pointers, so that GCC vectorises it under
 * -O3 -march=native -fno-math-errno.
 */
#include "advml/optim.h"

#include "advml/bigbuf.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const struct { const char *name; advml_optim_kind kind; } optim_names[] = {
    {"sgd", ADVML_OPTIM_SGD},
    {"momentum", ADVML_OPTIM_MOMENTUM},
    {"adagrad", ADVML_OPTIM_ADAGRAD},
    {"adagrad_momentum", ADVML_OPTIM_ADAGRAD_MOMENTUM},
    {"rmsprop", ADVML_OPTIM_RMSPROP},
    {"adam", ADVML_OPTIM_ADAM},
};
#define N_OPTIM_NAMES (sizeof optim_names / sizeof optim_names[0])

int advml_optim_from_name(const char *name, advml_optim_kind *kind)
{
    if (!name)
        return -1;
    for (size_t i = 0; i < N_OPTIM_NAMES; i++) {
        if (strcasecmp(name, optim_names[i].name) == 0) {
            if (kind)
                *kind = optim_names[i].kind;
            return 0;
        }
    }
    return -1;
}

const char *advml_optim_name(advml_optim_kind kind)
{
    for (size_t i = 0; i < N_OPTIM_NAMES; i++)
        if (optim_names[i].kind == kind)
            return optim_names[i].name;
    return "unknown";
}

#define KIND(k) (1u << ADVML_OPTIM_##k)
#define ALL_KINDS (KIND(SGD) | KIND(MOMENTUM) | KIND(ADAGRAD) | KIND(ADAGRAD_MOMENTUM) | KIND(RMSPROP) | KIND(ADAM))

const advml_optim_setting advml_optim_settings[] = {
    {"lr", "optimizer", "learning rate", offsetof(advml_optim_config, lr), 0, INFINITY, 1, 0, ALL_KINDS},
    {"momentum", "optimizer", "momentum", offsetof(advml_optim_config, momentum), 0, 1, 0, 1,
     KIND(MOMENTUM) | KIND(ADAGRAD_MOMENTUM)},
    {"rho", "optimizer", "rho", offsetof(advml_optim_config, rho), 0, 1, 0, 1, KIND(RMSPROP)},
    {"beta1", "optimizer", "beta1", offsetof(advml_optim_config, beta1), 0, 1, 0, 1, KIND(ADAM)},
    {"beta2", "optimizer", "beta2", offsetof(advml_optim_config, beta2), 0, 1, 0, 1, KIND(ADAM)},
    {"eps", "optimizer", "eps", offsetof(advml_optim_config, eps), 0, INFINITY, 1, 0,
     KIND(ADAGRAD) | KIND(ADAGRAD_MOMENTUM) | KIND(RMSPROP) | KIND(ADAM)},
    {"l2", "training", "l2", offsetof(advml_optim_config, l2), 0, INFINITY, 0, 0, ALL_KINDS},
    {NULL, NULL, NULL, 0, 0, 0, 0, 0, 0}};

int advml_optim_uses(const advml_optim_setting *s, advml_optim_kind kind)
{
    return (s->kinds >> (unsigned)kind) & 1u;
}

float advml_optim_value(const advml_optim_setting *s, const advml_optim_config *c)
{
    return *(const float *)(const void *)((const char *)c + s->offset);
}

const advml_optim_setting *advml_optim_check(const advml_optim_config *c)
{
    for (const advml_optim_setting *s = advml_optim_settings; s->key; s++) {
        const double x = advml_optim_value(s, c);
        if (advml_optim_uses(s, c->kind) &&
            (!isfinite(x) || (s->lo_open ? x <= s->lo : x < s->lo) || (s->hi_open ? x >= s->hi : x > s->hi)))
            return s;
    }
    return NULL;
}

advml_optim_config advml_optim_defaults(advml_optim_kind kind)
{
    advml_optim_config c;
    c.kind = kind;
    c.lr = 1e-3f;
    c.momentum = 0.9f;
    c.beta1 = 0.9f;
    c.beta2 = 0.999f;
    c.rho = 0.9f;
    c.eps = 1e-8f;
    c.l2 = 0.0f;
    return c;
}

advml_status advml_optim_init(advml_optimizer *o, const advml_optim_config *cfg, size_t n, advml_error *err)
{
    if (!o || !cfg)
        return advml_error_set(err, ADVML_ERR_ARG, "optimizer: missing optimizer or configuration");
    memset(o, 0, sizeof *o);
    const advml_optim_config *c = cfg;
    if ((unsigned)c->kind >= N_OPTIM_NAMES)
        return advml_error_set(err, ADVML_ERR_ARG, "optimizer: unknown kind %d", (int)c->kind);
    const char *nm = advml_optim_name(c->kind);
    const advml_optim_setting *bad = advml_optim_check(c); /* a config checks the same (advml_config_validate) */
    if (bad && isinf(bad->hi))
        return advml_error_set(err, ADVML_ERR_ARG, "optimizer %s: %s must be a finite number %s %g, got %g", nm,
                               bad->what, bad->lo_open ? ">" : ">=", bad->lo, (double)advml_optim_value(bad, c));
    if (bad)
        return advml_error_set(err, ADVML_ERR_ARG, "optimizer %s: %s must be in %c%g, %g%c, got %g", nm, bad->what,
                               bad->lo_open ? '(' : '[', bad->lo, bad->hi, bad->hi_open ? ')' : ']',
                               (double)advml_optim_value(bad, c));
    o->m = advml_bigbuf_alloc(n * sizeof(float)); /* zeroed */
    o->v = advml_bigbuf_alloc(n * sizeof(float));
    if (!o->m || !o->v) {
        free(o->m);
        free(o->v);
        o->m = o->v = NULL;
        return advml_error_set(err, ADVML_ERR_NOMEM, "optimizer %s: cannot allocate 2 x %zu floats of "
                               "state", nm, n);
    }
    o->cfg = c;
    o->n = n;
    o->t = 0;
    return ADVML_OK;
}

void advml_optim_free(advml_optimizer *o)
{
    if (!o)
        return;
    free(o->m);
    free(o->v);
    o->m = o->v = NULL;
    o->n = 0;
    o->t = 0;
}

/* ---- the per-view kernels: w, g, m, v are (n) slices of one view ----------
 * With clear (a constant after inlining) each g[i] is set to 0 right after it
 * is read, in the same pass. */

#if defined(__GNUC__)
#define ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define ALWAYS_INLINE inline
#endif
/* With clear, also notes in bad whether g[i] is Inf or NaN (exponent bits all
 * ones): an OR over integers, which vectorises with the step. */
#define CLEAR_G(i)                                    \
    do {                                              \
        if (clear) {                                  \
            uint32_t u_;                              \
            memcpy(&u_, &g[i], sizeof u_);            \
            bad |= (u_ & 0x7f800000u) == 0x7f800000u; \
            g[i] = 0.0f;                              \
        }                                             \
    } while (0)

static ALWAYS_INLINE uint32_t step_sgd(float *restrict w, float *restrict g, size_t n, float gs, float l2,
                                       float lr, const int clear)
{
    uint32_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        float gi = gs * g[i] + l2 * w[i];
        CLEAR_G(i);
        w[i] -= lr * gi; // w -= lr g
    }
    return bad;
}

static ALWAYS_INLINE uint32_t step_momentum(float *restrict w, float *restrict g, float *restrict m,
                                            size_t n, float gs, float l2, float lr, float mu,
                                            const int clear)
{
    uint32_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        float gi = gs * g[i] + l2 * w[i];
        CLEAR_G(i);
        float mi = mu * m[i] + lr * gi; // m = mu m + lr g
        m[i] = mi;
        w[i] -= mi;                     // w -= m
    }
    return bad;
}

static ALWAYS_INLINE uint32_t step_adagrad(float *restrict w, float *restrict g, float *restrict v,
                                           size_t n, float gs, float l2, float lr, float eps,
                                           const int clear)
{
    uint32_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        float gi = gs * g[i] + l2 * w[i];
        CLEAR_G(i);
        float vi = v[i] + gi * gi;               // v += g^2
        v[i] = vi;
        w[i] -= lr * gi / (sqrtf(vi) + eps);     // w -= lr g / (sqrt(v) + eps)
    }
    return bad;
}

static ALWAYS_INLINE uint32_t step_adagrad_momentum(float *restrict w, float *restrict g,
                                                    float *restrict m, float *restrict v, size_t n,
                                                    float gs, float l2, float lr, float mu, float eps,
                                                    const int clear)
{
    uint32_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        float gi = gs * g[i] + l2 * w[i];
        CLEAR_G(i);
        float vi = v[i] + gi * gi;                          // v += g^2
        float mi = mu * m[i] + lr * gi / (sqrtf(vi) + eps); // m = mu m + lr g / (sqrt(v) + eps)
        v[i] = vi;
        m[i] = mi;
        w[i] -= mi;                                         // w -= m
    }
    return bad;
}

static ALWAYS_INLINE uint32_t step_rmsprop(float *restrict w, float *restrict g, float *restrict v,
                                           size_t n, float gs, float l2, float lr, float rho, float eps,
                                           const int clear)
{
    const float one_rho = 1.0f - rho;
    uint32_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        float gi = gs * g[i] + l2 * w[i];
        CLEAR_G(i);
        float vi = rho * v[i] + one_rho * gi * gi; // v = rho v + (1 - rho) g^2
        v[i] = vi;
        w[i] -= lr * gi / (sqrtf(vi) + eps);       // w -= lr g / (sqrt(v) + eps)
    }
    return bad;
}

/* inv_bc1 = 1 / (1 - b1^t), inv_bc2 = 1 / (1 - b2^t), computed once per step. */
static ALWAYS_INLINE uint32_t step_adam(float *restrict w, float *restrict g, float *restrict m,
                                        float *restrict v, size_t n, float gs, float l2, float lr,
                                        float b1, float b2, float inv_bc1, float inv_bc2, float eps,
                                        const int clear)
{
    const float one_b1 = 1.0f - b1, one_b2 = 1.0f - b2;
    uint32_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        float gi = gs * g[i] + l2 * w[i];
        CLEAR_G(i);
        float mi = b1 * m[i] + one_b1 * gi;      // m = b1 m + (1 - b1) g
        float vi = b2 * v[i] + one_b2 * gi * gi; // v = b2 v + (1 - b2) g^2
        m[i] = mi;
        v[i] = vi;
        // w -= lr mhat / (sqrt(vhat) + eps), mhat = m / (1 - b1^t), vhat = v / (1 - b2^t)
        w[i] -= lr * (mi * inv_bc1) / (sqrtf(vi * inv_bc2) + eps);
    }
    return bad;
}

/* advml_optim_step, clearing grads over the views when clear is 1 (a
 * constant in each caller, so each gets its own loops); then returns 1 if
 * any gradient it cleared was Inf or NaN. */
static ALWAYS_INLINE int optim_step(advml_optimizer *o, float *params, float *grads, float grad_scale,
                                    const advml_param_view *views, int nviews, const int clear)
{
    uint32_t bad = 0;
    const advml_optim_config *c = o->cfg;
    o->t += 1;
    float inv_bc1 = 1.0f, inv_bc2 = 1.0f;
    if (c->kind == ADVML_OPTIM_ADAM) {
        /* bias corrections for step t, in double: 1 - b^t loses digits in float */
        double t = (double)o->t;
        inv_bc1 = (float)(1.0 / (1.0 - pow((double)c->beta1, t)));
        inv_bc2 = (float)(1.0 / (1.0 - pow((double)c->beta2, t)));
    }
    for (int j = 0; j < nviews; j++) {
        const advml_param_view *vw = &views[j];
        size_t off = vw->offset, n = vw->size;
        if (n == 0 || off > o->n || n > o->n - off)
            continue; /* an empty view, or one outside the optimizer's buffers */
        float *w = params + off;
        float *g = grads + off;
        float *m = o->m + off, *v = o->v + off;
        if (vw->frozen) { /* a frozen layer or a buffer: left as it is (its gradients cleared) */
            if (clear)
                memset(g, 0, n * sizeof *g);
            continue;
        }
        float l2 = vw->decay ? c->l2 : 0.0f;
        switch (c->kind) {
        case ADVML_OPTIM_SGD:
            bad |= step_sgd(w, g, n, grad_scale, l2, c->lr, clear);
            break;
        case ADVML_OPTIM_MOMENTUM:
            bad |= step_momentum(w, g, m, n, grad_scale, l2, c->lr, c->momentum, clear);
            break;
        case ADVML_OPTIM_ADAGRAD:
            bad |= step_adagrad(w, g, v, n, grad_scale, l2, c->lr, c->eps, clear);
            break;
        case ADVML_OPTIM_ADAGRAD_MOMENTUM:
            bad |= step_adagrad_momentum(w, g, m, v, n, grad_scale, l2, c->lr, c->momentum, c->eps, clear);
            break;
        case ADVML_OPTIM_RMSPROP:
            bad |= step_rmsprop(w, g, v, n, grad_scale, l2, c->lr, c->rho, c->eps, clear);
            break;
        case ADVML_OPTIM_ADAM:
            bad |= step_adam(w, g, m, v, n, grad_scale, l2, c->lr, c->beta1, c->beta2, inv_bc1, inv_bc2, c->eps, clear);
            break;
        }
    }
    return bad != 0;
}

void advml_optim_step(advml_optimizer *o, float *params, const float *grads, float grad_scale,
                      const advml_param_view *views, int nviews)
{
    /* (clear is 0: grads is only read) */
    (void)optim_step(o, params, (float *)grads, grad_scale, views, nviews, 0);
}

/* GCC would split the clearing out of the step's loop into a memset call,
 * a second pass over the gradients, the pass this function exists to save. */
#if defined(__GNUC__) && !defined(__clang__)
#define NO_MEMSET_IDIOM __attribute__((optimize("no-tree-loop-distribute-patterns")))
#else
#define NO_MEMSET_IDIOM
#endif

NO_MEMSET_IDIOM int advml_optim_step_clear(advml_optimizer *o, float *params, float *grads,
                                           float grad_scale, const advml_param_view *views,
                                           int nviews)
{
    return optim_step(o, params, grads, grad_scale, views, nviews, 1);
}

double advml_clip_grad_norm(float *grads, size_t n, float grad_scale, float max_norm)
{
    /* sum of squares in double, in 8 independent lanes (vectorisable without
     * reassociation flags; no float overflow for large gradients) */
    enum { LANES = 8 };
    double acc[LANES] = {0};
    size_t i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int l = 0; l < LANES; l++)
            acc[l] += (double)grads[i + l] * grads[i + l];
    for (; i < n; i++)
        acc[0] += (double)grads[i] * grads[i];
    double ss = 0.0;
    for (int l = 0; l < LANES; l++)
        ss += acc[l];
    double norm = fabs((double)grad_scale) * sqrt(ss);
    if (max_norm > 0.0f && isfinite(norm) && norm > max_norm) {
        const float f = (float)(max_norm / norm); // afterwards ||grad_scale * grads|| = max_norm
        for (size_t k = 0; k < n; k++)
            grads[k] *= f;
    }
    return norm;
}

/* optim.h - optimizers ("schedulers" in the course) in their standard
 * per-parameter form, over flat buffers. With g = grad_scale * grad + l2 * w
 * (l2 only on parameters whose view has decay set, i.e. weights, not biases):
 *
 *  sgd:              w -= lr * g
 *  momentum:         m = mu * m + lr * g;              w -= m
 *  adagrad:          v += g^2;                         w -= lr * g / (sqrt(v) + eps)
 *  adagrad_momentum: v += g^2; m = mu * m + lr * g / (sqrt(v) + eps); w -= m
 *  rmsprop:          v = rho * v + (1 - rho) * g^2;    w -= lr * g / (sqrt(v) + eps)
 *  adam:             m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
 *                    w -= lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps), t = step count
 *
 * The L2 term adds (l2 / 2) * ||w||^2 to the loss, as the course code and
 * PyTorch's weight_decay do (Keras' regularizers.l2(x) equals l2 = 2x).
 */
#ifndef ADVML_OPTIM_H
#define ADVML_OPTIM_H

#include <stddef.h>
#include <stdint.h>
#include "advml/status.h"
#include "advml/layer.h"

typedef enum advml_optim_kind {
    ADVML_OPTIM_SGD = 0,
    ADVML_OPTIM_MOMENTUM,
    ADVML_OPTIM_ADAGRAD,
    ADVML_OPTIM_ADAGRAD_MOMENTUM,
    ADVML_OPTIM_RMSPROP,
    ADVML_OPTIM_ADAM
} advml_optim_kind;

typedef struct advml_optim_config {
    advml_optim_kind kind;
    float lr;        /* learning rate eta */
    float momentum;  /* mu, default 0.9 */
    float beta1;     /* default 0.9 */
    float beta2;     /* default 0.999 */
    float rho;       /* RMSprop decay, default 0.9 */
    float eps;       /* default 1e-8 (Adagrad, RMSprop, Adam) */
    float l2;        /* lambda, default 0: the config's training.l2 (its one home) */
} advml_optim_config;

/* One setting of the optimizers: where it is in the config and in
 * advml_optim_config, its valid range, and the kinds that use it. The table
 * (advml_optim_settings, in config order; the last row has key NULL) is the
 * one statement of each setting: the config parses, checks and writes back
 * the "optimizer" section from it (l2: in "training"), and advml_optim_init
 * checks a config by it. */
typedef struct advml_optim_setting {
    const char *key;     /* "lr": the config's optimizer.lr (section "training": training.l2) */
    const char *section; /* "optimizer" or "training" */
    const char *what;    /* "learning rate": in advml_optim_init's messages */
    size_t offset;       /* offsetof(advml_optim_config, lr): a float */
    double lo, hi;       /* the range (hi may be INFINITY) */
    int lo_open, hi_open; /* 1: that bound itself is out of range */
    unsigned kinds;      /* (1u << kind) for each kind that uses it */
} advml_optim_setting;

extern const advml_optim_setting advml_optim_settings[];

/* 1 if optimizers of kind use setting s. */
int advml_optim_uses(const advml_optim_setting *s, advml_optim_kind kind);

/* The value of setting s in c. */
float advml_optim_value(const advml_optim_setting *s, const advml_optim_config *c);

/* The first setting c's kind uses whose value is not finite or out of its
 * range, or NULL when every one is fine. */
const advml_optim_setting *advml_optim_check(const advml_optim_config *c);

/* Defaults above for the kind, lr 1e-3. */
advml_optim_config advml_optim_defaults(advml_optim_kind kind);

typedef struct advml_optimizer {
    const advml_optim_config *cfg; /* its settings (not owned, not copied): the caller's, e.g. the
                                      trainer's config, which must outlive the optimizer */
    size_t n;       /* number of parameters */
    int64_t t;      /* steps taken so far */
    float *m;       /* (n) first moment / momentum buffer, zero-initialised */
    float *v;       /* (n) second moment / accumulated squares, zero-initialised */
} advml_optimizer;

/* "sgd", "momentum", "adagrad", "adagrad_momentum", "rmsprop", "adam". 0 ok, -1 unknown. */
int advml_optim_from_name(const char *name, advml_optim_kind *kind);
const char *advml_optim_name(advml_optim_kind kind);

/* Allocates m and v (owned by o; release with advml_optim_free); o reads
 * its settings from *cfg from then on (a checked config: advml_optim_check). */
advml_status advml_optim_init(advml_optimizer *o, const advml_optim_config *cfg, size_t n, advml_error *err);
void advml_optim_free(advml_optimizer *o);

/* One step: t += 1, then updates params over each view (absolute offsets)
 * from grad_scale * grads. Views must cover every trainable parameter; a
 * view with frozen set is left as it is. */
void advml_optim_step(advml_optimizer *o, float *params, const float *grads, float grad_scale,
                      const advml_param_view *views, int nviews);

/* advml_optim_step that also sets grads to 0 over the views, in the same
 * pass that reads them (cheaper than a separate clearing pass: the step is
 * bound by memory traffic). For a caller whose next backward accumulates
 * into cleared gradients, instead of advml_model_zero_grads. Slots of grads
 * outside the views (e.g. the model's ADVML_GRAD_EXTRA) are left as they are.
 * Returns 1 if any gradient it read was Inf or NaN (found in the same pass;
 * the step has then been taken with it, and params, m and v hold non-finite
 * or meaningless values: the caller discards them), else 0. */
int advml_optim_step_clear(advml_optimizer *o, float *params, float *grads, float grad_scale,
                           const advml_param_view *views, int nviews);

/* If the global L2 norm of grad_scale * grads[0..n) exceeds max_norm (> 0),
 * scales grads so that it equals max_norm. Returns the norm before clipping. */
double advml_clip_grad_norm(float *grads, size_t n, float grad_scale, float max_norm);

#endif

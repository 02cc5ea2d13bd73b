/* loss.c - losses (see include/advml/loss.h).
 *
 * Every forward returns the SUM over the B samples of the per-sample loss,
 * accumulated in double; every backward ACCUMULATES scale * d(sum)/d(input)
 * into its gradient buffer (the trainer passes scale = 1 / global batch).
 * Nothing here allocates; all buffers belong to the caller.
 */
#include "advml/loss.h"

#include <math.h>
#include <stddef.h>
#include <strings.h>

#define ADVML_BCE_PMIN 1e-7 /* probabilities are clamped to [PMIN, 1 - PMIN] */

int advml_loss_from_name(const char *name, advml_loss_kind *kind)
{
    static const struct { const char *name; advml_loss_kind kind; } names[] = {
        {"mse", ADVML_LOSS_MSE},
        {"mean_squared_error", ADVML_LOSS_MSE},
        {"binary_crossentropy", ADVML_LOSS_BCE},
        {"categorical_crossentropy", ADVML_LOSS_CCE},
        {"sparse_categorical_crossentropy", ADVML_LOSS_CCE},
        {"cross_entropy", ADVML_LOSS_CCE},
    };
    if (!name)
        return -1;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strcasecmp(name, names[i].name) == 0) {
            if (kind)
                *kind = names[i].kind;
            return 0;
        }
    }
    return -1;
}

const char *advml_loss_name(advml_loss_kind kind)
{
    switch (kind) {
    case ADVML_LOSS_MSE: return "mse";
    case ADVML_LOSS_BCE: return "binary_crossentropy";
    case ADVML_LOSS_CCE: return "categorical_crossentropy";
    }
    return "unknown";
}

/* ---- MSE: per sample (1/K) sum_k (p_k - t_k)^2 ----------------------------- */

double advml_mse_forward(const float *pred, const float *target, int B, int K)
{
    if (B <= 0 || K <= 0)
        return 0.0;
    double total = 0.0;
    for (int b = 0; b < B; b++) {
        const float *p = pred + (size_t)b * K;   // (K)
        const float *t = target + (size_t)b * K; // (K)
        double s = 0.0;
        for (int k = 0; k < K; k++) {
            double d = (double)p[k] - (double)t[k];
            s += d * d;
        }
        total += s / K;
    }
    return total;
}

void advml_mse_backward(float *dpred, const float *pred, const float *target, int B, int K, float scale)
{
    if (B <= 0 || K <= 0)
        return;
    const float c = 2.0f * scale / (float)K; // d/dp (1/K)(p - t)^2 = 2 (p - t) / K
    size_t n = (size_t)B * K;
    for (size_t i = 0; i < n; i++)
        dpred[i] += c * (pred[i] - target[i]);
}

/* ---- BCE: per sample (1/K) sum_k -[t log p + (1-t) log(1-p)] ---------------
 * From logits x (p = sigmoid(x)) the element loss is the stable softplus form
 *   softplus(x) - t x = max(x, 0) - t x + log1p(exp(-|x|)),
 * with gradient sigmoid(x) - t. From probabilities p is clamped to
 * [1e-7, 1 - 1e-7] before the logs; the gradient (p - t) / (p (1 - p)) is
 * evaluated at the clamped p, so a saturated wrong prediction (p = 0, t = 1)
 * still gets a finite, non-zero push back (as PyTorch's BCELoss does) instead
 * of the clamp's zero derivative. Inside the clamp range it is exact. */

static double bce_logit_elem(double x, double t)
{
    return fmax(x, 0.0) - t * x + log1p(exp(-fabs(x)));
}

static double bce_prob_elem(double p, double t)
{
    p = fmin(fmax(p, ADVML_BCE_PMIN), 1.0 - ADVML_BCE_PMIN);
    return -(t * log(p) + (1.0 - t) * log1p(-p));
}

/* The weight of an element with target t: w[0] (1 - t) + w[1] t; 1 without weights. */
static double bce_weight(const float *w, double t)
{
    return w ? (double)w[0] * (1.0 - t) + (double)w[1] * t : 1.0;
}

double advml_bce_forward_w(const float *x, const float *target, int B, int K, int from_logits, const float *w)
{
    if (B <= 0 || K <= 0)
        return 0.0;
    double total = 0.0;
    for (int b = 0; b < B; b++) {
        const float *xb = x + (size_t)b * K;      // (K) logits or probabilities
        const float *t = target + (size_t)b * K;  // (K) targets in [0, 1]
        double s = 0.0;
        if (from_logits)
            for (int k = 0; k < K; k++)
                s += bce_weight(w, t[k]) * bce_logit_elem(xb[k], t[k]);
        else
            for (int k = 0; k < K; k++)
                s += bce_weight(w, t[k]) * bce_prob_elem(xb[k], t[k]);
        total += s / K;
    }
    return total;
}

double advml_bce_forward(const float *x, const float *target, int B, int K, int from_logits)
{
    return advml_bce_forward_w(x, target, B, K, from_logits, NULL);
}

void advml_bce_backward_w(float *dx, const float *x, const float *target, int B, int K, int from_logits,
                          float scale, const float *w)
{
    if (B <= 0 || K <= 0)
        return;
    const double c = (double)scale / K;
    size_t n = (size_t)B * K;
    if (from_logits) {
        for (size_t i = 0; i < n; i++) {
            double xi = x[i];
            /* sigmoid without overflow: exp of a non-positive argument only */
            double e = exp(-fabs(xi));
            double sig = xi >= 0.0 ? 1.0 / (1.0 + e) : e / (1.0 + e);
            // d/dx [softplus(x) - t x] = sigmoid(x) - t
            dx[i] += (float)(c * bce_weight(w, target[i]) * (sig - target[i]));
        }
    } else {
        for (size_t i = 0; i < n; i++) {
            double p = fmin(fmax((double)x[i], ADVML_BCE_PMIN), 1.0 - ADVML_BCE_PMIN);
            dx[i] += (float)(c * bce_weight(w, target[i]) * (p - target[i]) / (p * (1.0 - p))); // -t/p + (1-t)/(1-p)
        }
    }
}

void advml_bce_backward(float *dx, const float *x, const float *target, int B, int K, int from_logits,
                        float scale)
{
    advml_bce_backward_w(dx, x, target, B, K, from_logits, scale, NULL);
}

/* ---- softmax fused with categorical cross-entropy --------------------------
 * Per sample with label y: -log softmax(z)_y = logsumexp(z) - z_y, where
 * logsumexp(z) = max(z) + log sum_k exp(z_k - max(z)) (no overflow for any
 * finite logits). Gradient: softmax(z) - onehot(y).
 * A label outside [0, K) (or not an integer) cannot be scored: its sample
 * contributes NaN to the sum, which the trainer's non-finite check reports;
 * its gradient is softmax(z) alone (no out-of-range write). */

static int cce_label(float l, int K)
{
    if (!(l >= 0.0f && l < (float)K) || l != floorf(l))
        return -1;
    return (int)l;
}

double advml_softmax_xent_forward(float *prob, const float *logits, const float *labels, int B, int K)
{
    return advml_softmax_xent_forward_w(prob, logits, labels, B, K, NULL);
}

double advml_softmax_xent_forward_w(float *prob, const float *logits, const float *labels, int B, int K,
                                    const float *w)
{
    if (B <= 0 || K <= 0)
        return 0.0;
    double total = 0.0;
    for (int b = 0; b < B; b++) {
        const float *z = logits + (size_t)b * K; // (K)
        float mx = z[0];
        for (int k = 1; k < K; k++)
            mx = z[k] > mx ? z[k] : mx;
        double sum = 0.0;
        for (int k = 0; k < K; k++)
            sum += exp((double)z[k] - mx);
        double lse = mx + log(sum); // logsumexp(z)
        if (prob) {
            float *p = prob + (size_t)b * K; // (K)
            double inv = 1.0 / sum;
            for (int k = 0; k < K; k++)
                p[k] = (float)(exp((double)z[k] - mx) * inv);
        }
        int y = cce_label(labels[b], K);
        total += y >= 0 ? (w ? (double)w[y] : 1.0) * (lse - z[y]) : NAN;
    }
    return total;
}

void advml_softmax_xent_backward(float *dlogits, const float *logits, const float *labels, int B, int K,
                                 float scale)
{
    advml_softmax_xent_backward_w(dlogits, logits, labels, B, K, scale, NULL);
}

void advml_softmax_xent_backward_w(float *dlogits, const float *logits, const float *labels, int B, int K,
                                   float scale, const float *w)
{
    if (B <= 0 || K <= 0)
        return;
    for (int b = 0; b < B; b++) {
        const float *z = logits + (size_t)b * K; // (K)
        float *dz = dlogits + (size_t)b * K;     // (K)
        float mx = z[0];
        for (int k = 1; k < K; k++)
            mx = z[k] > mx ? z[k] : mx;
        double sum = 0.0;
        for (int k = 0; k < K; k++)
            sum += exp((double)z[k] - mx);
        double inv = 1.0 / sum;
        int y = cce_label(labels[b], K);
        double sw = scale * (w && y >= 0 ? (double)w[y] : 1.0); // the sample's weight
        for (int k = 0; k < K; k++) {
            double g = exp((double)z[k] - mx) * inv - (k == y); // softmax(z)_k - onehot(y)_k
            dz[k] += (float)(sw * g);
        }
    }
}

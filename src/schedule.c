/* schedule.c - learning-rate schedules and the monitors of reduce-on-plateau,
 * early stopping and the best checkpoint (see include/advml/schedule.h). */
#include "advml/schedule.h"

#include <math.h>
#include <string.h>

static const char *const sched_names[ADVML_SCHED_NKINDS] = {
    [ADVML_SCHED_CONSTANT] = "constant", [ADVML_SCHED_STEP] = "step",         [ADVML_SCHED_MULTISTEP] = "multistep",
    [ADVML_SCHED_EXPONENTIAL] = "exponential", [ADVML_SCHED_COSINE] = "cosine", [ADVML_SCHED_ONECYCLE] = "onecycle",
    [ADVML_SCHED_PLATEAU] = "plateau"};

static const char *const metric_names[ADVML_METRIC_NKINDS] = {
    [ADVML_METRIC_VAL_LOSS] = "val_loss", [ADVML_METRIC_VAL_ACCURACY] = "val_accuracy",
    [ADVML_METRIC_VAL_TOP_K_ACCURACY] = "val_top_k_accuracy", [ADVML_METRIC_VAL_MAE] = "val_mae",
    [ADVML_METRIC_VAL_R2] = "val_r2"};

const char *advml_schedule_name(advml_sched_kind kind)
{
    return kind >= 0 && kind < ADVML_SCHED_NKINDS ? sched_names[kind] : NULL;
}

int advml_schedule_by_name(const char *name)
{
    for (int i = 0; i < ADVML_SCHED_NKINDS; i++)
        if (!strcmp(name, sched_names[i]))
            return i;
    return -1;
}

const char *advml_metric_name(advml_metric m)
{
    return m >= 0 && m < ADVML_METRIC_NKINDS ? metric_names[m] : NULL;
}

int advml_metric_by_name(const char *name)
{
    for (int i = 0; i < ADVML_METRIC_NKINDS; i++)
        if (!strcmp(name, metric_names[i]))
            return i;
    return -1;
}

const char *advml_mode_name(advml_mode m)
{
    return m == ADVML_MODE_MIN ? "min" : m == ADVML_MODE_MAX ? "max" : "auto";
}

advml_mode advml_monitor_resolve(advml_metric metric, advml_mode mode)
{
    if (mode != ADVML_MODE_AUTO)
        return mode;
    return (metric == ADVML_METRIC_VAL_LOSS || metric == ADVML_METRIC_VAL_MAE) ? ADVML_MODE_MIN : ADVML_MODE_MAX;
}

int advml_metric_fits(advml_metric metric, int classify)
{
    switch (metric) {
    case ADVML_METRIC_VAL_LOSS: return 1;
    case ADVML_METRIC_VAL_ACCURACY:
    case ADVML_METRIC_VAL_TOP_K_ACCURACY: return classify;
    case ADVML_METRIC_VAL_MAE:
    case ADVML_METRIC_VAL_R2: return !classify;
    case ADVML_METRIC_NKINDS: break;
    }
    return 0;
}

advml_schedule_config advml_schedule_defaults(advml_sched_kind kind)
{
    advml_schedule_config c;
    memset(&c, 0, sizeof c);
    c.kind = kind;
    c.gamma = 0.1;
    c.pct_start = 0.3;
    c.div_factor = 25.0;
    c.final_div_factor = 1e4;
    c.factor = 0.1;
    c.monitor.metric = ADVML_METRIC_VAL_LOSS;
    c.monitor.mode = ADVML_MODE_MIN;
    c.monitor.min_delta = 1e-4;
    c.monitor.patience = 10;
    return c;
}

advml_monitor_state advml_monitor_start(const advml_monitor_config *c)
{
    advml_monitor_state st;
    memset(&st, 0, sizeof st);
    st.best = advml_monitor_resolve(c->metric, c->mode) == ADVML_MODE_MIN ? INFINITY : -INFINITY;
    return st;
}

int advml_monitor_improves(const advml_monitor_config *c, double best, double value)
{
    if (advml_monitor_resolve(c->metric, c->mode) == ADVML_MODE_MIN)
        return value + c->min_delta < best;
    return value - c->min_delta > best;
}

/* b + (a - b) (1 + cos(pi pct)) / 2: from a at pct 0 to b at pct 1 (PyTorch's _annealing_cos). */
static double anneal_cos(double a, double b, double pct)
{
    return b + (a - b) / 2.0 * (1.0 + cos(M_PI * pct));
}

/* PyTorch's OneCycleLR (anneal_strategy "cos", three_phase False) at step s. */
static double onecycle(const advml_schedule_config *c, double max_lr, int64_t s)
{
    const double initial = max_lr / c->div_factor, min_lr = initial / c->final_div_factor;
    const double T = (double)c->total_steps;
    const double end1 = c->pct_start * T - 1.0, end2 = T - 1.0;
    double x = (double)s;
    if (x > end2)
        x = end2; /* past the cycle: stay at its end */
    if (x <= end1)
        return anneal_cos(initial, max_lr, end1 > 0 ? x / end1 : 1.0);
    return anneal_cos(max_lr, min_lr, end2 > end1 ? (x - end1) / (end2 - end1) : 1.0);
}

double advml_schedule_lr(const advml_schedule_config *c, double base, int64_t s, int64_t e, double plateau_scale)
{
    const int64_t u = c->unit_steps ? s : e;
    const int64_t W = c->warmup_steps;
    double lr = base;
    switch (c->kind) {
    case ADVML_SCHED_CONSTANT: break;
    case ADVML_SCHED_STEP: lr = base * pow(c->gamma, (double)(u / c->step_size)); break;
    case ADVML_SCHED_MULTISTEP: {
        int k = 0;
        while (k < c->nmilestones && c->milestones[k] <= u)
            k++;
        lr = base * pow(c->gamma, k);
        break;
    }
    case ADVML_SCHED_EXPONENTIAL: lr = base * pow(c->gamma, (double)u); break;
    case ADVML_SCHED_COSINE: {
        if (s < W)
            break; /* the warm-up below */
        const double D = c->decay_steps > 0 ? (double)c->decay_steps : 1.0;
        double p = (double)(s - W);
        lr = anneal_cos(base, c->min_lr, (p < D ? p : D) / D);
        break;
    }
    case ADVML_SCHED_ONECYCLE: return onecycle(c, base, s);
    case ADVML_SCHED_PLATEAU: {
        lr = base * plateau_scale;
        if (lr < c->min_lr)
            lr = c->min_lr;
        break;
    }
    case ADVML_SCHED_NKINDS: break;
    }
    if (s < W)
        lr *= (double)(s + 1) / (double)W;
    return lr;
}

int advml_plateau_update(const advml_schedule_config *c, advml_monitor_state *st, double base, double *scale,
                         double value)
{
    if (st->cooldown > 0) {
        st->cooldown--;
        st->wait = 0;
    }
    if (advml_monitor_improves(&c->monitor, st->best, value)) {
        st->best = value;
        st->wait = 0;
        return 0;
    }
    if (st->cooldown > 0)
        return 0;
    st->wait++;
    if (st->wait < c->monitor.patience)
        return 0;
    double old = base * *scale;
    if (!((float)old > (float)c->min_lr)) /* as Keras: nothing to reduce at the floor */
        return 0;
    double lr = old * c->factor;
    if (lr < c->min_lr)
        lr = c->min_lr;
    *scale = lr / base;
    st->cooldown = c->cooldown;
    st->wait = 0;
    return 1;
}

int advml_early_stopping_update(const advml_monitor_config *c, advml_monitor_state *st, int64_t epoch, double value,
                                int *stop)
{
    *stop = 0;
    st->wait++;
    if (advml_monitor_improves(c, st->best, value)) {
        st->best = value;
        st->best_epoch = epoch;
        st->wait = 0;
        return 1;
    }
    if (st->wait >= c->patience && epoch > 1)
        *stop = 1;
    return 0;
}

advml_control_state advml_control_start(const advml_monitor_config *plateau, const advml_monitor_config *early_stopping,
                                        const advml_monitor_config *best)
{
    advml_control_state c;
    memset(&c, 0, sizeof c);
    c.plateau_scale = 1.0;
    advml_monitor_config none;
    memset(&none, 0, sizeof none);
    none.mode = ADVML_MODE_MIN;
    c.plateau = advml_monitor_start(plateau ? plateau : &none);
    c.early_stopping = advml_monitor_start(early_stopping ? early_stopping : &none);
    c.best = advml_monitor_start(best ? best : &none);
    return c;
}

/* test_model.c - the model: architecture validation messages, summary,
 * seeded initialisation, and finite-difference gradient checks of whole
 * models (every parameter, through every layer kind, the post-activations
 * and each loss, including the fused softmax and sigmoid). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "advml/model.h"
#include "testutil.h"

static advml_layer_spec conv(int filters, int kh, int kw, int sh, int sw, advml_padding pad, advml_act act)
{
    advml_layer_spec s = advml_layer_spec_default(ADVML_LAYER_CONV2D);
    s.units = filters;
    s.kernel[0] = kh;
    s.kernel[1] = kw;
    s.stride[0] = sh;
    s.stride[1] = sw;
    s.padding = pad;
    s.act = act;
    return s;
}

static advml_layer_spec pool(advml_layer_type t, int k)
{
    advml_layer_spec s = advml_layer_spec_default(t);
    s.kernel[0] = s.kernel[1] = k;
    return s;
}

static advml_layer_spec dense(int units, advml_act act)
{
    advml_layer_spec s = advml_layer_spec_default(ADVML_LAYER_DENSE);
    s.units = units;
    s.act = act;
    return s;
}

static advml_layer_spec simple(advml_layer_type t)
{
    return advml_layer_spec_default(t);
}

/* ---- architecture errors -------------------------------------------------- */

static advml_status build_expect_error(advml_model_spec *spec, const char *needle1, const char *needle2)
{
    advml_model m;
    advml_error err = {0};
    advml_status st = advml_model_build(&m, spec, 8, &err);
    CU_ASSERT_EQUAL(st, ADVML_ERR_SHAPE);
    if (st == ADVML_OK) {
        advml_model_free(&m);
        return st;
    }
    int ok = strstr(err.msg, needle1) != NULL && (!needle2 || strstr(err.msg, needle2) != NULL);
    if (!ok)
        fprintf(stderr, "  message was: %s (expected '%s' and '%s')\n", err.msg, needle1, needle2 ? needle2 : "");
    CU_ASSERT(ok);
    return st;
}

static void t_kernel_too_large(void)
{
    advml_model_spec spec = {.input = advml_shape3(1, 4, 4), .loss = ADVML_LOSS_CCE};
    spec.layers[spec.nlayers++] = conv(2, 3, 3, 1, 1, ADVML_PAD_VALID, ADVML_ACT_RELU); /* -> 2x2 */
    spec.layers[spec.nlayers++] = conv(2, 3, 3, 1, 1, ADVML_PAD_VALID, ADVML_ACT_RELU); /* 3x3 on 2x2 */
    spec.layers[spec.nlayers++] = simple(ADVML_LAYER_FLATTEN);
    spec.layers[spec.nlayers++] = dense(3, ADVML_ACT_SOFTMAX);
    build_expect_error(&spec, "layer 1 (conv2d)", "3x3");
}

static void t_channel_mismatch(void)
{
    advml_model_spec spec = {.input = advml_shape3(3, 8, 8), .loss = ADVML_LOSS_CCE};
    spec.layers[spec.nlayers++] = conv(4, 3, 3, 1, 1, ADVML_PAD_SAME, ADVML_ACT_RELU);
    advml_layer_spec c = conv(4, 3, 3, 1, 1, ADVML_PAD_SAME, ADVML_ACT_RELU);
    c.in_channels = 16;
    spec.layers[spec.nlayers++] = c;
    spec.layers[spec.nlayers++] = simple(ADVML_LAYER_FLATTEN);
    spec.layers[spec.nlayers++] = dense(3, ADVML_ACT_SOFTMAX);
    build_expect_error(&spec, "layer 1 (conv2d)", "16");
}

static void t_dense_without_flatten(void)
{
    advml_model_spec spec = {.input = advml_shape3(1, 8, 8), .loss = ADVML_LOSS_CCE};
    spec.layers[spec.nlayers++] = conv(4, 3, 3, 1, 1, ADVML_PAD_SAME, ADVML_ACT_RELU);
    spec.layers[spec.nlayers++] = dense(3, ADVML_ACT_SOFTMAX);
    build_expect_error(&spec, "layer 1 (dense)", "flatten");
}

static void t_output_vs_labels(void)
{
    advml_model_spec spec = {.input = advml_shape3(1, 8, 8), .loss = ADVML_LOSS_CCE};
    spec.layers[spec.nlayers++] = simple(ADVML_LAYER_FLATTEN);
    spec.layers[spec.nlayers++] = dense(5, ADVML_ACT_SOFTMAX);
    advml_model m;
    advml_error err = {0};
    CU_ASSERT_EQUAL_FATAL(advml_model_build(&m, &spec, 4, &err), ADVML_OK);
    CU_ASSERT_EQUAL(advml_model_check_targets(&m, 10, 0, &err), ADVML_ERR_SHAPE);
    CU_ASSERT(strstr(err.msg, "layer 1 (dense)") && strstr(err.msg, "5") && strstr(err.msg, "10 classes"));
    CU_ASSERT_EQUAL(advml_model_check_targets(&m, 5, 0, &err), ADVML_OK);
    CU_ASSERT_EQUAL(advml_model_check_targets(&m, 0, 3, &err), ADVML_ERR_SHAPE); /* values for a classifier */
    advml_model_free(&m);

    spec.loss = ADVML_LOSS_MSE;
    CU_ASSERT_EQUAL_FATAL(advml_model_build(&m, &spec, 4, &err), ADVML_OK);
    CU_ASSERT_EQUAL(advml_model_check_targets(&m, 0, 2, &err), ADVML_ERR_SHAPE);
    CU_ASSERT(strstr(err.msg, "5 values") && strstr(err.msg, "2 target"));
    CU_ASSERT_EQUAL(advml_model_check_targets(&m, 0, 5, &err), ADVML_OK);
    advml_model_free(&m);
}

static void t_cce_needs_flat_output(void)
{
    advml_model_spec spec = {.input = advml_shape3(1, 6, 6), .loss = ADVML_LOSS_CCE};
    spec.layers[spec.nlayers++] = conv(2, 3, 3, 1, 1, ADVML_PAD_SAME, ADVML_ACT_SOFTMAX);
    build_expect_error(&spec, "layer 0 (conv2d)", "flat output");
}

/* ---- summary and parameter counts ------------------------------------------ */

static void t_summary_course_example(void)
{
    /* 32x32x3 input, ten 5x5 filters, S=1, P=0: 28x28 maps, 76 parameters per
     * filter, 760 in all (the course's worked numbers). */
    advml_model_spec spec = {.input = advml_shape3(3, 32, 32), .loss = ADVML_LOSS_MSE};
    spec.layers[spec.nlayers++] = conv(10, 5, 5, 1, 1, ADVML_PAD_VALID, ADVML_ACT_RELU);
    advml_model m;
    advml_error err = {0};
    CU_ASSERT_EQUAL_FATAL(advml_model_build(&m, &spec, 2, &err), ADVML_OK);
    CU_ASSERT_EQUAL(m.nparams, 760);
    CU_ASSERT_EQUAL(m.out_shape.d[1], 28);
    CU_ASSERT_EQUAL(m.out_shape.d[2], 28);
    char buf[4096] = {0};
    FILE *f = fmemopen(buf, sizeof buf - 1, "w");
    advml_model_summary(&m, f);
    fclose(f);
    CU_ASSERT(strstr(buf, "(None, 10, 28, 28)") != NULL);
    CU_ASSERT(strstr(buf, "Total params: 760") != NULL);
    CU_ASSERT(strstr(buf, "conv2d_0 (Conv2D, relu)") != NULL);
    advml_model_free(&m);
}

static void t_summary_mnist_cnn(void)
{
    /* The course's PyTorch MNIST CNN: 3,274,634 parameters. */
    advml_model_spec spec = {.input = advml_shape3(1, 28, 28), .loss = ADVML_LOSS_CCE};
    spec.layers[spec.nlayers++] = conv(32, 3, 3, 1, 1, ADVML_PAD_SAME, ADVML_ACT_RELU);
    spec.layers[spec.nlayers++] = pool(ADVML_LAYER_MAXPOOL2D, 2);
    spec.layers[spec.nlayers++] = conv(64, 3, 3, 1, 1, ADVML_PAD_SAME, ADVML_ACT_RELU);
    spec.layers[spec.nlayers++] = pool(ADVML_LAYER_MAXPOOL2D, 2);
    spec.layers[spec.nlayers++] = simple(ADVML_LAYER_FLATTEN);
    spec.layers[spec.nlayers++] = dense(1024, ADVML_ACT_RELU);
    advml_layer_spec d = simple(ADVML_LAYER_DROPOUT);
    d.rate = 0.5f;
    spec.layers[spec.nlayers++] = d;
    spec.layers[spec.nlayers++] = dense(10, ADVML_ACT_SOFTMAX);
    advml_model m;
    advml_error err = {0};
    CU_ASSERT_EQUAL_FATAL(advml_model_build(&m, &spec, 64, &err), ADVML_OK);
    CU_ASSERT_EQUAL(m.nparams, 320 + 18496 + 3136 * 1024 + 1024 + 10250);
    CU_ASSERT_EQUAL(m.layers[4].out_shape.d[0], 3136);
    CU_ASSERT(m.fused);
    CU_ASSERT_EQUAL(m.nviews, 8);
    advml_model_free(&m);
}

/* ---- initialisation --------------------------------------------------------- */

static void t_init_seeded(void)
{
    advml_model_spec spec = {.input = advml_shape3(4, 10, 10), .loss = ADVML_LOSS_CCE};
    spec.layers[spec.nlayers++] = conv(64, 3, 3, 1, 1, ADVML_PAD_SAME, ADVML_ACT_RELU);
    spec.layers[spec.nlayers++] = simple(ADVML_LAYER_FLATTEN);
    spec.layers[spec.nlayers++] = dense(50, ADVML_ACT_TANH);
    spec.layers[spec.nlayers++] = dense(10, ADVML_ACT_SOFTMAX);
    advml_model a, b;
    advml_error err = {0};
    CU_ASSERT_EQUAL_FATAL(advml_model_build(&a, &spec, 2, &err), ADVML_OK);
    CU_ASSERT_EQUAL_FATAL(advml_model_build(&b, &spec, 2, &err), ADVML_OK);
    advml_model_init_params(&a, 7);
    advml_model_init_params(&b, 7);
    CU_ASSERT_EQUAL(memcmp(a.params, b.params, a.nparams * sizeof(float)), 0);
    advml_model_init_params(&b, 8);
    CU_ASSERT_NOT_EQUAL(memcmp(a.params, b.params, a.nparams * sizeof(float)), 0);

    /* He for the ReLU conv: std sqrt(2 / fan_in), fan_in = 4*3*3 = 36; biases 0. */
    const advml_param_view *k = &a.views[0];
    double s2 = 0;
    for (size_t i = 0; i < k->size; i++)
        s2 += (double)a.params[k->offset + i] * a.params[k->offset + i];
    double std = sqrt(s2 / k->size);
    ADVML_CHECK_CLOSE(std, sqrt(2.0 / 36.0), 0.1 * sqrt(2.0 / 36.0));
    for (size_t i = 0; i < a.views[1].size; i++)
        CU_ASSERT_EQUAL(a.params[a.views[1].offset + i], 0.0f);
    /* Glorot-uniform for the tanh dense layer: |w| <= sqrt(6 / (fan_in + fan_out)). */
    const advml_param_view *w = &a.views[2];
    double lim = sqrt(6.0 / (6400 + 50)), maxabs = 0;
    for (size_t i = 0; i < w->size; i++)
        maxabs = fmax(maxabs, fabs(a.params[w->offset + i]));
    CU_ASSERT(maxabs <= lim * 1.0001 && maxabs > 0.9 * lim);
    advml_model_free(&a);
    advml_model_free(&b);
}

/* ---- whole-model gradient checks ---------------------------------------- */

typedef struct {
    advml_model *m;
    const float *x, *y;
    advml_ctx ctx;
} gc_ctx;

static double model_loss(void *p)
{
    gc_ctx *g = p;
    advml_model_forward(g->m, g->x, &g->ctx);
    return advml_model_loss(g->m, g->y, g->ctx.B);
}

/* Perturbation and tolerance: the forward runs in float32 (relative rounding
 * ~6e-8 per operation, a few hundred operations deep), so with h = 1e-3 the
 * rounding error of a central difference of an O(1) loss is ~1e-5/1e-3 = 1e-2
 * relative on the smallest gradients (floor 1e-2) and far less on typical
 * ones; the truncation error (h^2/6 times the third derivative) is negligible.
 * h must stay small because a first-layer weight moves every later activation:
 * at h = 1e-2 some ReLU inputs and max-pool winners change sides inside
 * [w-h, w+h] (measured: errors of 0.26 at h = 1e-2 and 0.04 at 3e-3 from such
 * kinks, all below 2e-2 from h = 1e-3 down). A wrong gradient gives O(1) errors. */
static void check_model(advml_model_spec *spec, int B, int target_dim, int classes, uint64_t seed)
{
    advml_model m;
    advml_error err = {0};
    advml_status st = advml_model_build(&m, spec, B, &err);
    if (st != ADVML_OK)
        fprintf(stderr, "  build failed: %s\n", err.msg);
    CU_ASSERT_EQUAL_FATAL(st, ADVML_OK);
    advml_model_init_params(&m, seed);
    advml_rng rng;
    advml_rng_seed(&rng, seed + 100);
    size_t nin = (size_t)B * advml_shape_size(&spec->input);
    float *x = malloc(nin * sizeof(float));
    float *y = malloc((size_t)B * (target_dim ? target_dim : 1) * sizeof(float));
    advml_test_fill_uniform(x, nin, -1.0f, 1.0f, &rng);
    for (int b = 0; b < B; b++) {
        if (target_dim == 0)
            y[b] = (float)(b % classes);
        else
            for (int k = 0; k < target_dim; k++)
                y[b * target_dim + k] = spec->loss == ADVML_LOSS_BCE ? (float)((b + k) % 2)
                                                                        : (float)advml_rng_uniform(&rng);
    }
    int64_t ids[16];
    for (int b = 0; b < B; b++)
        ids[b] = 1000 + 7 * b;
    gc_ctx g = {&m, x, y, {.B = B, .training = 1, .seed = 99, .step = 3, .sample_ids = ids}};
    advml_model_zero_grads(&m);
    advml_model_forward(&m, x, &g.ctx);
    advml_model_backward(&m, x, y, &g.ctx);
    float *grad = malloc(m.nparams * sizeof(float));
    memcpy(grad, m.grads, m.nparams * sizeof(float));
    double e = advml_gradcheck("model params", m.params, grad, m.nparams, model_loss, &g, 1e-3, 1e-2, 2e-2, NULL);
    CU_ASSERT(e < 2e-2);

    /* Backward accumulates: a second pass doubles the gradient. */
    advml_model_forward(&m, x, &g.ctx);
    advml_model_backward(&m, x, y, &g.ctx);
    double maxrel = 0;
    for (size_t i = 0; i < m.nparams; i++)
        maxrel = fmax(maxrel, fabs(m.grads[i] - 2 * grad[i]) / fmax(1e-6, fabs(2 * grad[i])));
    CU_ASSERT(maxrel < 1e-5);
    free(grad);
    free(x);
    free(y);
    advml_model_free(&m);
}

static void t_grad_cnn_cce(void)
{
    advml_model_spec spec = {.input = advml_shape3(2, 9, 8), .loss = ADVML_LOSS_CCE};
    spec.layers[spec.nlayers++] = conv(3, 3, 3, 1, 1, ADVML_PAD_SAME, ADVML_ACT_RELU);
    spec.layers[spec.nlayers++] = pool(ADVML_LAYER_MAXPOOL2D, 2);
    advml_layer_spec c = conv(4, 3, 2, 2, 1, ADVML_PAD_VALID, ADVML_ACT_LEAKY_RELU);
    c.alpha = 0.1f;
    spec.layers[spec.nlayers++] = c;
    advml_layer_spec ap = pool(ADVML_LAYER_AVGPOOL2D, 1);
    ap.kernel[0] = 1;
    ap.kernel[1] = 2;
    spec.layers[spec.nlayers++] = ap;
    spec.layers[spec.nlayers++] = simple(ADVML_LAYER_FLATTEN);
    spec.layers[spec.nlayers++] = dense(7, ADVML_ACT_TANH);
    advml_layer_spec d = simple(ADVML_LAYER_DROPOUT);
    d.rate = 0.3f;
    spec.layers[spec.nlayers++] = d;
    spec.layers[spec.nlayers++] = dense(4, ADVML_ACT_SOFTMAX);
    check_model(&spec, 3, 0, 4, 11);
}

static void t_grad_mlp_mse(void)
{
    advml_model_spec spec = {.input = advml_shape1(5), .loss = ADVML_LOSS_MSE};
    spec.layers[spec.nlayers++] = dense(6, ADVML_ACT_SIGMOID);
    advml_layer_spec a = simple(ADVML_LAYER_ACTIVATION);
    a.act = ADVML_ACT_TANH;
    spec.layers[spec.nlayers++] = a;
    spec.layers[spec.nlayers++] = dense(2, ADVML_ACT_IDENTITY);
    check_model(&spec, 4, 2, 0, 12);
}

static void t_grad_bce_fused_and_not(void)
{
    advml_model_spec spec = {.input = advml_shape1(4), .loss = ADVML_LOSS_BCE};
    spec.layers[spec.nlayers++] = dense(5, ADVML_ACT_TANH);
    spec.layers[spec.nlayers++] = dense(3, ADVML_ACT_SIGMOID); /* fused: loss on logits */
    check_model(&spec, 4, 3, 0, 13);
    spec.layers[1].act = ADVML_ACT_IDENTITY;
    advml_layer_spec s = simple(ADVML_LAYER_ACTIVATION);
    s.act = ADVML_ACT_SOFTMAX; /* probabilities in (0, 1), not fused */
    spec.layers[spec.nlayers++] = s;
    check_model(&spec, 4, 3, 0, 14);
}

static void t_softmax_output_and_correct(void)
{
    advml_model_spec spec = {.input = advml_shape1(3), .loss = ADVML_LOSS_CCE};
    spec.layers[spec.nlayers++] = dense(4, ADVML_ACT_SOFTMAX);
    advml_model m;
    advml_error err = {0};
    CU_ASSERT_EQUAL_FATAL(advml_model_build(&m, &spec, 2, &err), ADVML_OK);
    advml_model_init_params(&m, 1);
    float x[6] = {0.1f, -0.5f, 0.3f, 1.0f, 0.2f, -0.7f};
    advml_ctx ctx = {.B = 2};
    advml_model_forward(&m, x, &ctx);
    const float *p = advml_model_output(&m);
    for (int b = 0; b < 2; b++) {
        double s = 0;
        int best = 0;
        for (int k = 0; k < 4; k++) {
            s += p[b * 4 + k];
            if (p[b * 4 + k] > p[b * 4 + best])
                best = k;
        }
        ADVML_CHECK_CLOSE(s, 1.0, 1e-6);
        float y[2] = {(float)best, (float)best};
        CU_ASSERT(advml_model_correct(&m, y, 2) >= 1.0);
    }
    /* A zero-sample batch is a no-op (a rank with no samples in a global batch). */
    advml_ctx empty = {.B = 0};
    advml_model_zero_grads(&m);
    advml_model_forward(&m, x, &empty);
    advml_model_backward(&m, x, x, &empty);
    CU_ASSERT_EQUAL(advml_model_loss(&m, x, 0), 0.0);
    for (size_t i = 0; i < m.nparams; i++)
        CU_ASSERT_EQUAL(m.grads[i], 0.0f);
    advml_model_free(&m);
}

static void reg(void)
{
    static const advml_test_case errors[] = {
        {"kernel larger than padded input", t_kernel_too_large},
        {"channel mismatch", t_channel_mismatch},
        {"dense after 4-D output without flatten", t_dense_without_flatten},
        {"output size vs labels", t_output_vs_labels},
        {"cce needs a flat output", t_cce_needs_flat_output},
        {NULL, NULL}};
    static const advml_test_case build[] = {
        {"summary: course 32x32x3 example (760 params)", t_summary_course_example},
        {"summary: course MNIST CNN", t_summary_mnist_cnn},
        {"seeded He/Glorot initialisation", t_init_seeded},
        {"softmax output, correct count, empty batch", t_softmax_output_and_correct},
        {NULL, NULL}};
    static const advml_test_case grads[] = {
        {"CNN with every layer kind, softmax-CCE", t_grad_cnn_cce},
        {"MLP with activation layer, MSE", t_grad_mlp_mse},
        {"BCE fused sigmoid and from probabilities", t_grad_bce_fused_and_not},
        {NULL, NULL}};
    advml_test_add_suite("model: architecture errors", errors);
    advml_test_add_suite("model: build, summary, init", build);
    advml_test_add_suite("model: gradient checks", grads);
}

int main(void) { return advml_test_main(reg); }

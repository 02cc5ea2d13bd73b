/* test_config.c - the JSON config parser: valid configs, every kind of error
 * message (file, line/column or field path, expected vs found), round trip
 * through the canonical JSON, and the example configs in jobs/. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libgen.h>
#include <stdarg.h>

#include "testutil.h"
#include "advml/config.h"

/* Parse text as "jobs/x.json"; returns the status, message in err. */
static advml_status parse(const char *text, advml_config *cfg, advml_error *err)
{
    advml_error_clear(err);
    return advml_config_parse(cfg, text, "jobs/x.json", err);
}

/* Expect a config error whose message contains every one of the NULL-terminated needles. */
static void expect_error(const char *text, advml_status code, ...)
{
    advml_config cfg;
    advml_error err;
    advml_status s = parse(text, &cfg, &err);
    CU_ASSERT_EQUAL(s, code);
    va_list ap;
    va_start(ap, code);
    for (const char *needle = va_arg(ap, const char *); needle; needle = va_arg(ap, const char *)) {
        int found = strstr(err.msg, needle) != NULL;
        if (!found)
            fprintf(stderr, "\n  message \"%s\"\n  lacks   \"%s\"\n", err.msg, needle);
        CU_ASSERT(found);
    }
    va_end(ap);
}

#define MNIST_CNN                                                                                            \
    "{\"input\": [1, 28, 28],\n"                                                                             \
    " \"model\": [\n"                                                                                        \
    "  {\"type\": \"conv2d\", \"filters\": 32, \"kernel\": [3, 3], \"stride\": [1, 1], \"padding\": \"same\", " \
    "\"activation\": \"relu\"},\n"                                                                           \
    "  {\"type\": \"maxpool2d\", \"pool\": [2, 2]},\n"                                                       \
    "  {\"type\": \"conv2d\", \"filters\": 64, \"kernel\": 3, \"padding\": \"same\", \"activation\": \"relu\"},\n" \
    "  {\"type\": \"maxpool2d\", \"pool\": 2},\n"                                                            \
    "  {\"type\": \"flatten\"},\n"                                                                           \
    "  {\"type\": \"dense\", \"units\": 1024, \"activation\": \"relu\"},\n"                                  \
    "  {\"type\": \"dropout\", \"rate\": 0.5},\n"                                                            \
    "  {\"type\": \"dense\", \"units\": 10, \"activation\": \"softmax\"}],\n"                                \
    " \"loss\": \"categorical_crossentropy\",\n"                                                             \
    " \"optimizer\": {\"name\": \"adam\", \"lr\": 1e-3},\n"                                                  \
    " \"training\": {\"epochs\": 10, \"batch_size\": 64, \"seed\": 7, \"data\": \"data/mnist.h5\"}}\n"

static void t_valid(void)
{
    advml_config c;
    advml_error err;
    CU_ASSERT_EQUAL_FATAL(parse(MNIST_CNN, &c, &err), ADVML_OK);
    CU_ASSERT(c.has_input);
    CU_ASSERT(c.model.input.rank == 3 && c.model.input.d[0] == 1 && c.model.input.d[1] == 28);
    CU_ASSERT_EQUAL(c.model.nlayers, 8);
    const advml_layer_spec *L = c.model.layers;
    CU_ASSERT_EQUAL(L[0].type, ADVML_LAYER_CONV2D);
    CU_ASSERT_EQUAL(L[0].units, 32);
    CU_ASSERT(L[0].kernel[0] == 3 && L[0].kernel[1] == 3 && L[0].stride[0] == 1 && L[0].stride[1] == 1);
    CU_ASSERT_EQUAL(L[0].padding, ADVML_PAD_SAME);
    CU_ASSERT_EQUAL(L[0].act, ADVML_ACT_RELU);
    CU_ASSERT_EQUAL(L[0].use_bias, 1);
    CU_ASSERT_EQUAL(L[0].algorithm, ADVML_CONV_AUTO);
    CU_ASSERT_EQUAL(L[1].type, ADVML_LAYER_MAXPOOL2D);
    CU_ASSERT(L[1].kernel[0] == 2 && L[1].stride[0] == 2 && L[1].stride[1] == 2); /* stride defaults to pool */
    CU_ASSERT(L[2].kernel[0] == 3 && L[2].kernel[1] == 3);                        /* "kernel": 3 */
    CU_ASSERT(L[3].kernel[0] == 2 && L[3].kernel[1] == 2 && L[3].stride[1] == 2);
    CU_ASSERT_EQUAL(L[4].type, ADVML_LAYER_FLATTEN);
    CU_ASSERT_EQUAL(L[5].units, 1024);
    CU_ASSERT_EQUAL(L[6].type, ADVML_LAYER_DROPOUT);
    ADVML_CHECK_CLOSE(L[6].rate, 0.5, 0);
    CU_ASSERT_EQUAL(L[7].act, ADVML_ACT_SOFTMAX);
    CU_ASSERT_EQUAL(c.model.loss, ADVML_LOSS_CCE);
    CU_ASSERT_EQUAL(c.optim.kind, ADVML_OPTIM_ADAM);
    ADVML_CHECK_CLOSE(c.optim.lr, 1e-3, 1e-9);
    ADVML_CHECK_CLOSE(c.optim.beta1, 0.9, 1e-7);
    ADVML_CHECK_CLOSE(c.optim.beta2, 0.999, 1e-7);
    CU_ASSERT_EQUAL(c.train.epochs, 10);
    CU_ASSERT_EQUAL(c.train.batch_size, 64);
    CU_ASSERT_EQUAL(c.train.seed, 7);
    CU_ASSERT_STRING_EQUAL(c.train.data, "data/mnist.h5");
    CU_ASSERT_STRING_EQUAL(c.train.out, "");
    CU_ASSERT_EQUAL(advml_config_validate(&c, &err), ADVML_OK);
}

static void t_defaults_and_forms(void)
{
    advml_config c;
    advml_error err;
    /* no input, no optimizer, no training: defaults; optimizer as a bare name */
    CU_ASSERT_EQUAL_FATAL(parse("{\"model\": [{\"type\": \"dense\", \"units\": 3}], \"loss\": \"mse\"}", &c, &err),
                          ADVML_OK);
    CU_ASSERT_EQUAL(c.has_input, 0);
    CU_ASSERT_EQUAL(c.model.loss, ADVML_LOSS_MSE);
    CU_ASSERT_EQUAL(c.optim.kind, ADVML_OPTIM_ADAM);
    CU_ASSERT_EQUAL(c.train.epochs, 1);
    CU_ASSERT_EQUAL(c.train.batch_size, 32);
    CU_ASSERT_EQUAL(c.train.seed, 42);
    ADVML_CHECK_CLOSE(c.train.memory_budget_mb, 1024, 0);
    CU_ASSERT_EQUAL_FATAL(parse("{\"model\": [{\"type\": \"dense\", \"units\": 3}], \"loss\": \"mse\", "
                                "\"optimizer\": \"rmsprop\", \"training\": {\"l2\": 0.01, \"clip_norm\": 5, "
                                "\"max_steps\": 100, \"checkpoint_steps\": 10, \"memory_budget_mb\": 0}}",
                                &c, &err),
                          ADVML_OK);
    CU_ASSERT_EQUAL(c.optim.kind, ADVML_OPTIM_RMSPROP);
    ADVML_CHECK_CLOSE(c.optim.rho, 0.9, 1e-7);
    ADVML_CHECK_CLOSE(c.optim.l2, 0.01, 1e-9); /* training.l2 reaches the optimizer */
    ADVML_CHECK_CLOSE(c.train.clip_norm, 5, 0);
    CU_ASSERT_EQUAL(c.train.max_steps, 100);
    CU_ASSERT_EQUAL(c.train.checkpoint_steps, 10);
    /* activation shorthands, leaky slope, rnn kinds */
    CU_ASSERT_EQUAL_FATAL(
        parse("{\"input\": [20, 1], \"model\": [{\"type\": \"rnn\", \"units\": 64}, {\"type\": \"relu\"},"
              "{\"type\": \"leaky_relu\", \"alpha\": 0.1}, {\"type\": \"lstm\", \"units\": 8, \"return_sequences\": true},"
              "{\"type\": \"gru\", \"units\": 4}, {\"type\": \"activation\", \"activation\": \"tanh\"},"
              "{\"type\": \"dense\", \"units\": 1, \"activation\": \"leaky_relu\", \"alpha\": 0.01, \"use_bias\": false}],"
              "\"loss\": \"mse\", \"optimizer\": {\"name\": \"sgd\", \"lr\": 0.5}}",
              &c, &err),
        ADVML_OK);
    if (err.msg[0])
        fprintf(stderr, "%s\n", err.msg);
    CU_ASSERT(c.model.input.rank == 2 && c.model.input.d[0] == 20 && c.model.input.d[1] == 1);
    CU_ASSERT_EQUAL(c.model.layers[0].type, ADVML_LAYER_RNN);
    CU_ASSERT_EQUAL(c.model.layers[0].act, ADVML_ACT_TANH);
    CU_ASSERT_EQUAL(c.model.layers[0].return_sequences, 0);
    CU_ASSERT_EQUAL(c.model.layers[1].type, ADVML_LAYER_ACTIVATION);
    CU_ASSERT_EQUAL(c.model.layers[1].act, ADVML_ACT_RELU);
    CU_ASSERT_EQUAL(c.model.layers[2].act, ADVML_ACT_LEAKY_RELU);
    ADVML_CHECK_CLOSE(c.model.layers[2].alpha, 0.1, 1e-7);
    CU_ASSERT_EQUAL(c.model.layers[3].type, ADVML_LAYER_LSTM);
    CU_ASSERT_EQUAL(c.model.layers[3].return_sequences, 1);
    CU_ASSERT_EQUAL(c.model.layers[4].type, ADVML_LAYER_GRU);
    CU_ASSERT_EQUAL(c.model.layers[5].act, ADVML_ACT_TANH);
    CU_ASSERT_EQUAL(c.model.layers[6].use_bias, 0);
    ADVML_CHECK_CLOSE(c.model.layers[6].alpha, 0.01, 1e-9);
    CU_ASSERT_EQUAL(c.optim.kind, ADVML_OPTIM_SGD);
}

static void t_syntax_errors(void)
{
    /* a missing comma on line 3: file, line and column */
    expect_error("{\"model\": [\n  {\"type\": \"flatten\"}\n  {\"type\": \"dense\"}]}", ADVML_ERR_CONFIG,
                 "jobs/x.json: line 3, column", "invalid JSON", NULL);
    expect_error("", ADVML_ERR_CONFIG, "jobs/x.json: line 1", NULL);
    expect_error("{\"loss\": \"mse\", \"loss\": \"mse\"}", ADVML_ERR_CONFIG, "jobs/x.json: line 1",
                 "duplicate", NULL);
    expect_error("[1, 2]", ADVML_ERR_CONFIG, "jobs/x.json: (top level): expected an object", NULL);
}

#define M(layers) "{\"input\": [1, 8, 8], \"model\": [" layers "], \"loss\": \"categorical_crossentropy\"}"
#define C3 "{\"type\": \"conv2d\", \"filters\": 4, \"kernel\": 3}, "

static void t_layer_errors(void)
{
    /* the brief's example, verbatim */
    expect_error(M(C3 C3 C3 "{\"type\": \"conv2d\", \"filters\": 4, \"kernel\": \"3\"}"), ADVML_ERR_CONFIG,
                 "jobs/x.json: model[3].kernel: expected an array of 2 positive integers, got \"3\"", NULL);
    expect_error(M("{\"type\": \"conv2d\", \"filters\": 4, \"kernel\": [3, 0]}"), ADVML_ERR_CONFIG,
                 "model[0].kernel: expected an array of 2 positive integers, got [3,0]", NULL);
    expect_error(M("{\"type\": \"conv2d\", \"filters\": 4, \"kernel\": [3, 3, 3]}"), ADVML_ERR_CONFIG,
                 "model[0].kernel: expected an array of 2 positive integers", NULL);
    expect_error(M("{\"type\": \"conv2d\", \"kernel\": 3}"), ADVML_ERR_CONFIG, "model[0].filters: missing (required)",
                 NULL);
    expect_error(M("{\"type\": \"conv2d\", \"filters\": -2, \"kernel\": 3}"), ADVML_ERR_CONFIG,
                 "model[0].filters: expected a positive integer, got -2", NULL);
    expect_error(M("{\"type\": \"conv2d\", \"filters\": 2.5, \"kernel\": 3}"), ADVML_ERR_CONFIG,
                 "model[0].filters: expected a positive integer, got 2.5", NULL);
    /* typos and names from other libraries */
    expect_error(M("{\"type\": \"conv2d\", \"filters\": 4, \"kernel_size\": 3}"), ADVML_ERR_CONFIG,
                 "model[0].kernel_size: unknown key (did you mean \"kernel\"?)", "conv2d layer takes: type, filters",
                 NULL);
    expect_error(M("{\"type\": \"conv2d\", \"fitlers\": 4, \"kernel\": 3}"), ADVML_ERR_CONFIG,
                 "model[0].fitlers: unknown key (did you mean \"filters\"?)", NULL);
    expect_error(M("{\"type\": \"conv2d\", \"units\": 4, \"kernel\": 3}"), ADVML_ERR_CONFIG,
                 "model[0].units: not a parameter of conv2d", "\"filters\"", NULL);
    expect_error(M("{\"type\": \"maxpool2d\", \"pool\": 2, \"padding\": \"same\"}"), ADVML_ERR_CONFIG,
                 "model[0].padding: not a parameter of maxpool2d", NULL);
    expect_error(M("{\"type\": \"maxpool2d\", \"kernel\": 2}"), ADVML_ERR_CONFIG,
                 "model[0].kernel: not a parameter of maxpool2d (pooling windows are given by \"pool\")", NULL);
    expect_error(M("{\"type\": \"Conv2D\", \"filters\": 4, \"kernel\": 3}"), ADVML_ERR_CONFIG,
                 "model[0].type: unknown layer type \"Conv2D\" (did you mean \"conv2d\"?)", NULL);
    expect_error(M("{\"type\": \"dens\", \"units\": 4}"), ADVML_ERR_CONFIG,
                 "model[0].type: unknown layer type \"dens\" (did you mean \"dense\"?)", NULL);
    expect_error(M("{\"units\": 4}"), ADVML_ERR_CONFIG, "model[0].type: missing (required)", NULL);
    expect_error(M("\"dense\""), ADVML_ERR_CONFIG, "model[0]: expected a layer object", NULL);
    expect_error(M("{\"type\": \"dense\", \"units\": 4, \"activation\": \"rleu\"}"), ADVML_ERR_CONFIG,
                 "model[0].activation: unknown activation \"rleu\"", NULL);
    expect_error(M("{\"type\": \"dense\", \"units\": 4, \"activation\": \"relu\", \"alpha\": 0.1}"), ADVML_ERR_CONFIG,
                 "model[0].alpha: only used with \"activation\": \"leaky_relu\"", NULL);
    expect_error(M("{\"type\": \"conv2d\", \"filters\": 4, \"kernel\": 3, \"padding\": \"full\"}"), ADVML_ERR_CONFIG,
                 "model[0].padding: expected \"same\" or \"valid\", got \"full\"", NULL);
    expect_error(M("{\"type\": \"dropout\", \"rate\": 1.0}"), ADVML_ERR_CONFIG,
                 "model[0].rate: expected a number in [0, 1), got 1.0", NULL);
    expect_error(M("{\"type\": \"dropout\"}"), ADVML_ERR_CONFIG, "model[0]: a dropout layer needs \"rate\"", NULL);
    expect_error(M("{\"type\": \"activation\"}"), ADVML_ERR_CONFIG, "model[0]: an activation layer needs", NULL);
    expect_error(M("{\"type\": \"lstm\", \"units\": 4, \"activation\": \"relu\"}"), ADVML_ERR_CONFIG,
                 "model[0].activation: not a parameter of lstm", NULL);
    expect_error(M("{\"type\": \"rnn\", \"units\": 4, \"return_sequences\": 1}"), ADVML_ERR_CONFIG,
                 "model[0].return_sequences: expected true or false, got 1", NULL);
    expect_error(M("{\"type\": \"relu\", \"alpha\": 0.1}"), ADVML_ERR_CONFIG,
                 "model[0].alpha: unknown key", NULL);
    expect_error(M(""), ADVML_ERR_CONFIG, "model: expected a non-empty array of layers, got []", NULL);
    expect_error(M("{\"type\": \"dense\", \"units\": 4, \"kernel_initializer\": \"kaiming\"}"), ADVML_ERR_CONFIG,
                 "model[0].kernel_initializer: expected one of \"auto\", \"zeros\", \"he_normal\"", "\"torch\", got "
                 "\"kaiming\"", NULL);
    expect_error(M("{\"type\": \"conv2d\", \"filters\": 4, \"kernel\": 3, \"bias_initializer\": \"he_normal\"}"),
                 ADVML_ERR_CONFIG,
                 "model[0].bias_initializer: expected one of \"auto\", \"zeros\", \"torch\", got \"he_normal\"",
                 NULL);
    expect_error(M("{\"type\": \"conv2d\", \"filters\": 4, \"kernel\": 3, \"algorithm\": \"fft\"}"),
                 ADVML_ERR_CONFIG, "model[0].algorithm: expected \"auto\", \"im2col\" or \"winograd\", got \"fft\"",
                 NULL);
    expect_error(M("{\"type\": \"dense\", \"units\": 4, \"algorithm\": \"im2col\"}"), ADVML_ERR_CONFIG,
                 "model[0].algorithm: not a parameter of dense", NULL);
    expect_error(M("{\"type\": \"dense\", \"units\": 4, \"kernel_initializer\": 1}"), ADVML_ERR_CONFIG,
                 "model[0].kernel_initializer: expected a string, got 1", NULL);
    expect_error(M("{\"type\": \"lstm\", \"units\": 4, \"recurrent_initializer\": \"bogus\"}"), ADVML_ERR_CONFIG,
                 "model[0].recurrent_initializer: expected one of", NULL);
    expect_error(M("{\"type\": \"dense\", \"units\": 4, \"recurrent_initializer\": \"torch\"}"), ADVML_ERR_CONFIG,
                 "model[0].recurrent_initializer: not a parameter of dense", NULL);
    expect_error(M("{\"type\": \"dense\", \"units\": 4, \"kernel_init\": \"torch\"}"), ADVML_ERR_CONFIG,
                 "model[0].kernel_init: unknown key (did you mean \"kernel_initializer\"?)", NULL);
}

#define D "\"model\": [{\"type\": \"dense\", \"units\": 3}], \"loss\": \"mse\""

static void t_section_errors(void)
{
    expect_error("{\"loss\": \"mse\"}", ADVML_ERR_CONFIG, "jobs/x.json: model: missing (required)", NULL);
    expect_error("{\"model\": [{\"type\": \"dense\", \"units\": 3}]}", ADVML_ERR_CONFIG, "loss: missing (required)",
                 NULL);
    expect_error("{\"model\": [{\"type\": \"dense\", \"units\": 3}], \"loss\": \"hinge\"}", ADVML_ERR_CONFIG,
                 "loss: unknown loss \"hinge\"", NULL);
    expect_error("{" D ", \"layers\": []}", ADVML_ERR_CONFIG, "layers: unknown key (did you mean \"model\"?)", NULL);
    expect_error("{" D ", \"input\": [1, 0, 8]}", ADVML_ERR_CONFIG, "input: expected the per-sample input shape", NULL);
    expect_error("{" D ", \"input\": [1, 2, 3, 4]}", ADVML_ERR_CONFIG, "input: expected", NULL);
    expect_error("{" D ", \"optimizer\": \"adamw\"}", ADVML_ERR_CONFIG, "optimizer: unknown optimizer \"adamw\"",
                 NULL);
    expect_error("{" D ", \"optimizer\": {\"lr\": 0.1}}", ADVML_ERR_CONFIG, "optimizer.name: missing (required)",
                 NULL);
    expect_error("{" D ", \"optimizer\": {\"name\": \"adam\", \"momentum\": 0.9}}", ADVML_ERR_CONFIG,
                 "optimizer.momentum: not a parameter of adam; it takes: name, lr, beta1, beta2, eps", NULL);
    expect_error("{" D ", \"optimizer\": {\"name\": \"sgd\", \"learning_rate\": 0.1}}", ADVML_ERR_CONFIG,
                 "optimizer.learning_rate: unknown key (did you mean \"lr\"?)", NULL);
    expect_error("{" D ", \"optimizer\": {\"name\": \"sgd\", \"l2\": 0.1}}", ADVML_ERR_CONFIG,
                 "optimizer.l2: L2 regularisation is set in \"training\"", NULL);
    expect_error("{" D ", \"optimizer\": {\"name\": \"sgd\", \"lr\": 0}}", ADVML_ERR_CONFIG,
                 "optimizer.lr: expected a number > 0, got 0", NULL);
    expect_error("{" D ", \"optimizer\": {\"name\": \"adam\", \"beta2\": 1}}", ADVML_ERR_CONFIG,
                 "optimizer.beta2: expected a number in [0, 1), got 1", NULL);
    expect_error("{" D ", \"training\": {\"epoch\": 3}}", ADVML_ERR_CONFIG,
                 "training.epoch: unknown key (did you mean \"epochs\"?)", NULL);
    expect_error("{" D ", \"training\": {\"epochs\": 0}}", ADVML_ERR_CONFIG,
                 "training.epochs: expected a positive integer, got 0", NULL);
    expect_error("{" D ", \"training\": {\"batch_size\": \"64\"}}", ADVML_ERR_CONFIG,
                 "training.batch_size: expected a positive integer, got \"64\"", NULL);
    expect_error("{" D ", \"training\": {\"l2\": -1}}", ADVML_ERR_CONFIG, "training.l2: expected a number >= 0", NULL);
    expect_error("{" D ", \"training\": {\"seed\": -1}}", ADVML_ERR_CONFIG, "training.seed: expected an integer in",
                 NULL);
    expect_error("{" D ", \"training\": {\"data\": 5}}", ADVML_ERR_CONFIG, "training.data: expected a string, got 5",
                 NULL);
    expect_error("{" D ", \"training\": 5}", ADVML_ERR_CONFIG, "training: expected an object", NULL);
}


#define DC "\"model\": [{\"type\": \"dense\", \"units\": 3}], \"loss\": \"categorical_crossentropy\""

/* The training controls parse into their fields and survive the canonical JSON. */
static void t_control_keys(void)
{
    advml_config c, d;
    advml_error err;
    const char *text =
        "{" DC ", \"optimizer\": {\"name\": \"sgd\", \"lr\": 0.1, \"schedule\": {\"name\": \"plateau\", "
        "\"monitor\": \"val_accuracy\", \"factor\": 0.5, \"patience\": 2, \"cooldown\": 1, \"min_lr\": 1e-4}},"
        " \"training\": {\"validation_split\": 0.2, \"test_every_epoch\": false, \"top_k\": 2,"
        " \"early_stopping\": {\"monitor\": \"val_loss\", \"patience\": 3, \"min_delta\": 0.001, "
        "\"restore_best_weights\": true}, \"best_checkpoint\": {\"monitor\": \"val_top_k_accuracy\"},"
        " \"class_weight\": {\"2\": 4}, \"augment\": {\"noise\": 0.1}, \"init_from\": \"a.ckpt.h5\", "
        "\"init_layers\": [0]}}";
    CU_ASSERT_EQUAL_FATAL(parse(text, &c, &err), ADVML_OK);
    CU_ASSERT_EQUAL(c.schedule.kind, ADVML_SCHED_PLATEAU);
    CU_ASSERT_EQUAL(c.schedule.monitor.metric, ADVML_METRIC_VAL_ACCURACY);
    CU_ASSERT_EQUAL(c.schedule.monitor.mode, ADVML_MODE_MAX); /* auto, resolved */
    ADVML_CHECK_CLOSE(c.schedule.factor, 0.5, 0);
    CU_ASSERT_EQUAL(c.schedule.monitor.patience, 2);
    CU_ASSERT_EQUAL(c.schedule.cooldown, 1);
    ADVML_CHECK_CLOSE(c.schedule.monitor.min_delta, 1e-4, 0); /* Keras' default */
    ADVML_CHECK_CLOSE(c.train.validation_split, 0.2, 0);
    CU_ASSERT_EQUAL(c.train.test_every_epoch, 0);
    CU_ASSERT_EQUAL(c.train.top_k, 2);
    CU_ASSERT(c.train.has_early_stopping && c.train.restore_best_weights);
    CU_ASSERT_EQUAL(c.train.early_stopping.mode, ADVML_MODE_MIN);
    CU_ASSERT_EQUAL(c.train.early_stopping.patience, 3);
    CU_ASSERT(c.train.has_best_checkpoint && c.train.best_checkpoint.metric == ADVML_METRIC_VAL_TOP_K_ACCURACY);
    CU_ASSERT(c.train.nclass_weight == 3 && c.train.class_weight_by_id);
    CU_ASSERT(c.train.class_weight[0] == 1.0f && c.train.class_weight[2] == 4.0f);
    ADVML_CHECK_CLOSE(c.train.augment.noise, 0.1, 1e-7);
    CU_ASSERT_STRING_EQUAL(c.train.init_from, "a.ckpt.h5");
    CU_ASSERT(c.train.ninit_layers == 1 && c.train.init_layers[0] == 0);
    CU_ASSERT_EQUAL(advml_config_validate(&c, &err), ADVML_OK);
    char *json = advml_config_to_json(&c);
    CU_ASSERT_EQUAL_FATAL(parse(json, &d, &err), ADVML_OK);
    CU_ASSERT(d.schedule.kind == ADVML_SCHED_PLATEAU && d.schedule.monitor.metric == ADVML_METRIC_VAL_ACCURACY &&
              d.schedule.cooldown == 1 && d.schedule.factor == 0.5);
    CU_ASSERT(d.train.has_early_stopping && d.train.early_stopping.patience == 3 && d.train.restore_best_weights);
    CU_ASSERT(d.train.has_best_checkpoint && d.train.test_every_epoch == 0 && d.train.top_k == 2);
    CU_ASSERT(d.train.nclass_weight == 3 && d.train.class_weight[2] == 4.0f && d.train.class_weight[1] == 1.0f);
    CU_ASSERT(d.train.ninit_layers == 1 && !strcmp(d.train.init_from, "a.ckpt.h5"));
    free(json);
    /* batchnorm: defaults and the written-back keys */
    CU_ASSERT_EQUAL_FATAL(parse("{\"model\": [{\"type\": \"dense\", \"units\": 3}, {\"type\": \"batchnorm\", "
                                "\"activation\": \"relu\", \"epsilon\": 0.001}], \"loss\": \"mse\"}", &c, &err),
                          ADVML_OK);
    CU_ASSERT(c.model.layers[1].type == ADVML_LAYER_BATCHNORM && c.model.layers[1].momentum == 0.1f &&
              c.model.layers[1].epsilon == 0.001f && c.model.layers[1].affine == 1 &&
              c.model.layers[1].act == ADVML_ACT_RELU);
    json = advml_config_to_json(&c);
    CU_ASSERT(strstr(json, "\"type\": \"batchnorm\", \"momentum\": 0.1, \"epsilon\": 0.001, \"affine\": true") != NULL);
    CU_ASSERT_EQUAL_FATAL(parse(json, &d, &err), ADVML_OK);
    CU_ASSERT(advml_config_same_model(&c, &d, NULL, 0));
    free(json);
    /* "trainable": false on a layer; written back, and not part of the model's identity */
    CU_ASSERT_EQUAL_FATAL(parse("{\"model\": [{\"type\": \"dense\", \"units\": 3, \"trainable\": false}], "
                                "\"loss\": \"mse\"}", &c, &err),
                          ADVML_OK);
    CU_ASSERT_EQUAL(c.model.layers[0].trainable, 0);
    json = advml_config_to_json(&c);
    CU_ASSERT(strstr(json, "\"trainable\": false") != NULL);
    CU_ASSERT_EQUAL_FATAL(parse(json, &d, &err), ADVML_OK);
    CU_ASSERT_EQUAL(d.model.layers[0].trainable, 0);
    free(json);
    CU_ASSERT_EQUAL_FATAL(parse("{" D "}", &d, &err), ADVML_OK);
    CU_ASSERT_EQUAL(d.model.layers[0].trainable, 1);
    CU_ASSERT(advml_config_same_model(&c, &d, NULL, 0));
    /* the other schedules, and the string shorthand */
    CU_ASSERT_EQUAL_FATAL(parse("{" D ", \"optimizer\": {\"name\": \"adam\", \"schedule\": \"cosine\"}}", &c, &err),
                          ADVML_OK);
    CU_ASSERT(c.schedule.kind == ADVML_SCHED_COSINE && c.schedule.decay_steps == 0);
    CU_ASSERT_EQUAL_FATAL(parse("{" D ", \"optimizer\": {\"name\": \"adam\", \"schedule\": {\"name\": \"multistep\", "
                                "\"milestones\": [3, 7], \"gamma\": 0.5, \"unit\": \"step\", \"warmup_steps\": 2}}}",
                                &c, &err),
                          ADVML_OK);
    CU_ASSERT(c.schedule.nmilestones == 2 && c.schedule.milestones[1] == 7 && c.schedule.unit_steps == 1 &&
              c.schedule.warmup_steps == 2 && c.schedule.gamma == 0.5);
    json = advml_config_to_json(&c);
    CU_ASSERT_EQUAL_FATAL(parse(json, &d, &err), ADVML_OK);
    CU_ASSERT(d.schedule.nmilestones == 2 && d.schedule.milestones[0] == 3 && d.schedule.unit_steps == 1 &&
              d.schedule.warmup_steps == 2);
    free(json);
    CU_ASSERT_EQUAL_FATAL(parse("{" D ", \"optimizer\": {\"name\": \"adam\", \"schedule\": {\"name\": \"onecycle\", "
                                "\"total_steps\": 500, \"pct_start\": 0.25}}}", &c, &err),
                          ADVML_OK);
    CU_ASSERT(c.schedule.total_steps == 500 && c.schedule.pct_start == 0.25 && c.schedule.div_factor == 25);
    /* no controls: the defaults */
    CU_ASSERT_EQUAL_FATAL(parse("{" D "}", &c, &err), ADVML_OK);
    CU_ASSERT(c.schedule.kind == ADVML_SCHED_CONSTANT && c.train.test_every_epoch == 1 && c.train.top_k == 5 &&
              !c.train.has_early_stopping && c.train.validation_split == 0 && c.train.nclass_weight == 0);
}

/* Validation errors (after flags): name the field path, what was expected. */
static void expect_invalid(const char *text, const char *needle)
{
    advml_config c;
    advml_error err;
    CU_ASSERT_EQUAL_FATAL(parse(text, &c, &err), ADVML_OK);
    CU_ASSERT_EQUAL(advml_config_validate(&c, &err), ADVML_ERR_CONFIG);
    if (!strstr(err.msg, needle))
        fprintf(stderr, "\n  message \"%s\"\n  lacks   \"%s\"\n", err.msg, needle);
    CU_ASSERT(strstr(err.msg, needle) != NULL);
}

/* Every new key's bad values: file, field path, what was expected, "did you mean". */
static void t_control_errors(void)
{
    const advml_status E = ADVML_ERR_CONFIG;
#define OPT(x) "{" D ", \"optimizer\": {\"name\": \"adam\", " x "}}"
#define SCH(x) OPT("\"schedule\": {" x "}")
#define TR(x) "{" DC ", \"training\": {" x "}}"
    expect_error("{" D ", \"scheduler\": {\"name\": \"cosine\"}}", E,
                 "jobs/x.json: scheduler: unknown key at the top level; the learning-rate schedule belongs to the "
                 "optimizer: \"optimizer\": {",
                 NULL);
    expect_error("{" D ", \"callbacks\": []}", E, "callbacks: unknown key at the top level; early stopping", NULL);
    expect_error(OPT("\"scheduler\": \"cosine\""), E, "optimizer.scheduler: unknown key (did you mean \"schedule\"?)",
                 NULL);
    expect_error(OPT("\"schedule\": 3"), E, "optimizer.schedule: expected an object such as {\"name\": \"cosine\"", NULL);
    expect_error(SCH("\"name\": \"CosineAnnealingLR\""), E,
                 "optimizer.schedule.name: unknown schedule \"CosineAnnealingLR\" (did you mean \"cosine\"?); expected "
                 "one of constant, step, multistep, exponential, cosine, onecycle, plateau",
                 NULL);
    expect_error(SCH("\"name\": \"cosin\""), E, "unknown schedule \"cosin\" (did you mean \"cosine\"?)", NULL);
    expect_error(SCH("\"warmup_steps\": 3"), E, "optimizer.schedule.name: missing (required)", NULL);
    expect_error(SCH("\"name\": \"step\""), E, "optimizer.schedule: the step schedule needs \"step_size\"", NULL);
    expect_error(OPT("\"schedule\": \"step\""), E, "optimizer.schedule: the step schedule needs \"step_size\"", NULL);
    expect_error(SCH("\"name\": \"step\", \"step_size\": 0"), E,
                 "optimizer.schedule.step_size: expected a positive integer, got 0", NULL);
    expect_error(SCH("\"name\": \"step\", \"step_size\": 2, \"gamma\": 1.5"), E,
                 "optimizer.schedule.gamma: expected a number in (0, 1], got 1.5", NULL);
    expect_error(SCH("\"name\": \"step\", \"step_size\": 2, \"unit\": \"epochs\""), E,
                 "optimizer.schedule.unit: expected \"epoch\" or \"step\", got \"epochs\"", NULL);
    expect_error(SCH("\"name\": \"multistep\""), E, "the multistep schedule needs \"milestones\"", NULL);
    expect_error(SCH("\"name\": \"multistep\", \"milestones\": [5, 3]"), E,
                 "optimizer.schedule.milestones: expected an array of 1 to 32 strictly increasing positive integers, "
                 "got [5,3]",
                 NULL);
    expect_error(SCH("\"name\": \"exponential\""), E, "optimizer.schedule.gamma: missing (required)", NULL);
    expect_error(SCH("\"name\": \"cosine\", \"T_max\": 100"), E,
                 "optimizer.schedule.T_max: unknown key (did you mean \"decay_steps\"?); the cosine schedule takes: "
                 "name, warmup_steps, min_lr, decay_steps",
                 NULL);
    expect_error(SCH("\"name\": \"cosine\", \"gamma\": 0.5"), E,
                 "optimizer.schedule.gamma: not a parameter of the cosine schedule; it takes: name, warmup_steps, "
                 "min_lr, decay_steps",
                 NULL);
    expect_error(SCH("\"name\": \"cosine\", \"min_lr\": -1"), E, "optimizer.schedule.min_lr: expected a number >= 0",
                 NULL);
    expect_error(SCH("\"name\": \"cosine\", \"warmup_steps\": -5"), E,
                 "optimizer.schedule.warmup_steps: expected an integer in [0, ", NULL);
    expect_error(SCH("\"name\": \"onecycle\", \"pct_start\": 1"), E,
                 "optimizer.schedule.pct_start: expected a number in (0, 1), got 1", NULL);
    expect_error(SCH("\"name\": \"onecycle\", \"warmup_steps\": 10"), E,
                 "optimizer.schedule.warmup_steps: not a parameter of the onecycle schedule", NULL);
    expect_error(SCH("\"name\": \"onecycle\", \"div_factor\": 0.5"), E,
                 "optimizer.schedule.div_factor: expected a number >= 1, got 0.5", NULL);
    expect_error(SCH("\"name\": \"plateau\", \"factor\": 1"), E,
                 "optimizer.schedule.factor: expected a number in (0, 1), got 1", NULL);
    expect_error(SCH("\"name\": \"plateau\", \"patience\": -1"), E, "optimizer.schedule.patience: expected an integer",
                 NULL);
    expect_error(SCH("\"name\": \"plateau\", \"threshold\": 0.01"), E,
                 "optimizer.schedule.threshold: unknown key (did you mean \"min_delta\"?)", NULL);
    expect_error(SCH("\"name\": \"plateau\", \"monitor\": \"test_loss\""), E,
                 "optimizer.schedule.monitor: \"test_loss\": the test split never selects a model", NULL);
    expect_error(SCH("\"name\": \"plateau\", \"monitor\": \"loss\""), E,
                 "optimizer.schedule.monitor: \"loss\": monitors watch validation metrics, which are measured without "
                 "dropout and summed exactly over ranks (did you mean \"val_loss\"?)",
                 NULL);
    expect_error(SCH("\"name\": \"plateau\", \"monitor\": \"val_f1\""), E,
                 "optimizer.schedule.monitor: unknown metric \"val_f1\"; expected one of val_loss, val_accuracy, "
                 "val_top_k_accuracy, val_mae, val_r2",
                 NULL);
    expect_error(SCH("\"name\": \"plateau\", \"monitor\": \"val_acc\""), E,
                 "optimizer.schedule.monitor: unknown metric \"val_acc\" (did you mean \"val_accuracy\"?)", NULL);
    expect_error(SCH("\"name\": \"plateau\", \"mode\": \"minimum\""), E,
                 "optimizer.schedule.mode: expected \"auto\", \"min\" or \"max\", got \"minimum\"", NULL);
    expect_invalid(SCH("\"name\": \"plateau\", \"monitor\": \"val_accuracy\""),
                   "optimizer.schedule.monitor: val_accuracy needs a classifier, but this model's loss is mse (monitor "
                   "val_loss, val_mae or val_r2)");
    expect_invalid(OPT("\"lr\": 0.001, \"schedule\": {\"name\": \"cosine\", \"min_lr\": 0.01}"),
                   "optimizer.schedule.min_lr: 0.01 is above optimizer.lr 0.001");

    expect_error(TR("\"validation_split\": 1"), E, "training.validation_split: expected a number in [0, 1), got 1",
                 NULL);
    expect_error(TR("\"val_split\": 0.1"), E, "training.val_split: unknown key (did you mean \"validation_split\"?)",
                 NULL);
    expect_error(TR("\"test_every_epoch\": 1"), E, "training.test_every_epoch: expected true or false, got 1", NULL);
    expect_error(TR("\"top_k\": 0"), E, "training.top_k: expected a positive integer, got 0", NULL);
    expect_error(TR("\"early_stopping\": true"), E,
                 "training.early_stopping: expected an object such as {\"monitor\": \"val_loss\", \"patience\": 3}",
                 NULL);
    expect_error(TR("\"early_stopping\": {\"patience\": 2.5}"), E,
                 "training.early_stopping.patience: expected an integer, got 2.5", NULL);
    expect_error(TR("\"early_stopping\": {\"restore_best\": true}"), E,
                 "training.early_stopping.restore_best: unknown key (did you mean \"restore_best_weights\"?); "
                 "\"early_stopping\" takes: monitor, mode, patience, min_delta, restore_best_weights",
                 NULL);
    expect_error(TR("\"early_stopping\": {\"monitor\": \"accuracy\"}"), E,
                 "training.early_stopping.monitor: \"accuracy\": monitors watch validation metrics", NULL);
    expect_error(TR("\"early_stopping\": {\"min_delta\": -0.1}"), E,
                 "training.early_stopping.min_delta: expected a number >= 0", NULL);
    expect_error(TR("\"earlystopping\": {}"), E,
                 "training.earlystopping: unknown key (did you mean \"early_stopping\"?)", NULL);
    expect_error(TR("\"best_checkpoint\": {\"patience\": 2}"), E,
                 "training.best_checkpoint.patience: unknown key; \"best_checkpoint\" takes: monitor, mode, min_delta",
                 NULL);
    expect_error(TR("\"save_best\": {}"), E, "training.save_best: unknown key (did you mean \"best_checkpoint\"?)",
                 NULL);
    expect_invalid("{" D ", \"training\": {\"best_checkpoint\": {\"monitor\": \"val_top_k_accuracy\"}}}",
                   "training.best_checkpoint.monitor: val_top_k_accuracy needs a classifier");
    expect_invalid("{" DC ", \"training\": {\"early_stopping\": {\"monitor\": \"val_r2\"}}}",
                   "training.early_stopping.monitor: val_r2 needs a regression (loss mse), but this model's loss is "
                   "categorical_crossentropy");
    expect_error(TR("\"class_weight\": 2"), E,
                 "training.class_weight: expected an array of weights, one per class ([1, 1, 5]), or an object", NULL);
    expect_error(TR("\"class_weight\": [1, -2]"), E,
                 "training.class_weight[1]: expected a number >= 0 (the weight of class 1), got -2", NULL);
    expect_error(TR("\"class_weight\": {\"cat\": 2}"), E,
                 "training.class_weight.cat: expected a class id (an integer from 0 to 1023) as the key", NULL);
    expect_error(TR("\"class_weight\": {\"1\": \"x\"}"), E,
                 "training.class_weight.1: expected a number >= 0 (the weight of class 1), got \"x\"", NULL);
    expect_error(TR("\"class_weights\": [1]"), E,
                 "training.class_weights: unknown key (did you mean \"class_weight\"?)", NULL);
    expect_invalid("{" D ", \"training\": {\"class_weight\": [1, 2]}}",
                   "training.class_weight: weights the cross-entropy losses, but this model's loss is mse");
    expect_invalid("{\"model\": [{\"type\": \"dense\", \"units\": 1}], \"loss\": \"binary_crossentropy\", "
                   "\"training\": {\"class_weight\": [1, 2, 3]}}",
                   "training.class_weight: binary_crossentropy takes 2 weights (of targets 0 and 1), got 3");
    expect_error(TR("\"augment\": {\"shift\": -1}"), E,
                 "training.augment.shift: expected an array of 2 positive integers, got -1", NULL);
    expect_error(TR("\"augment\": {\"flip\": true}"), E,
                 "training.augment.flip: unknown key (did you mean \"horizontal_flip\"?); \"augment\" takes: shift, "
                 "horizontal_flip, noise",
                 NULL);
    expect_error(TR("\"augment\": {\"noise\": -0.1}"), E, "training.augment.noise: expected a number >= 0", NULL);
    expect_error(TR("\"augment\": {\"horizontal_flip\": \"yes\"}"), E,
                 "training.augment.horizontal_flip: expected true or false, got \"yes\"", NULL);
    expect_error(TR("\"init_from\": 3"), E, "training.init_from: expected a string, got 3", NULL);
    expect_error(TR("\"pretrained\": \"x.h5\""), E, "training.pretrained: unknown key (did you mean \"init_from\"?)",
                 NULL);
    expect_error(TR("\"init_layers\": [0, 1]"), E,
                 "training.init_layers: expected an array of distinct layer indices into \"model\" (0 to 0), got [0,1]",
                 NULL);
    expect_error(TR("\"init_layers\": [0, 0]"), E, "training.init_layers: expected an array of distinct", NULL);
    expect_error("{\"loss\": \"mse\", \"model\": [{\"type\": \"dense\", \"units\": 3, \"trainable\": 0}]}",
                 E, "model[0].trainable: expected true or false, got 0", NULL);
    expect_error("{\"model\": [{\"type\": \"dropout\", \"rate\": 0.1, \"trainable\": false}], \"loss\": \"mse\"}", E,
                 "model[0].trainable: not a parameter of dropout; a dropout layer takes: type, rate", NULL);
    expect_error("{\"model\": [{\"type\": \"dense\", \"units\": 2, \"freeze\": true}], \"loss\": \"mse\"}", E,
                 "model[0].freeze: unknown key (did you mean \"trainable\"?)", NULL);
#define BN(x) "{\"loss\": \"mse\", \"model\": [{\"type\": \"dense\", \"units\": 3}, {\"type\": \"batchnorm\"" x "}]}"
    expect_error(BN(", \"momentum\": 1.5"), E, "model[1].momentum: expected a number in [0, 1], got 1.5", NULL);
    expect_error(BN(", \"epsilon\": 0"), E, "model[1].epsilon: expected a number > 0, got 0", NULL);
    expect_error(BN(", \"eps\": 0.001"), E, "model[1].eps: unknown key (did you mean \"epsilon\"?)", NULL);
    expect_error(BN(", \"center\": false"), E, "model[1].center: unknown key (did you mean \"affine\"?)", NULL);
    expect_error(BN(", \"units\": 3"), E, "model[1].units: not a parameter of batchnorm (batchnorm keeps its input's size)",
                 NULL);
    expect_error(BN(", \"affine\": 1"), E, "model[1].affine: expected true or false, got 1", NULL);
    expect_error("{\"loss\": \"mse\", \"model\": [{\"type\": \"BatchNorm2d\"}]}", E,
                 "model[0].type: unknown layer type \"BatchNorm2d\" (did you mean \"batchnorm\"?)", NULL);
#undef BN
#undef OPT
#undef SCH
#undef TR
}

static void t_load(void)
{
    advml_config c;
    advml_error err;
    CU_ASSERT_EQUAL(advml_config_load(&c, "/nonexistent/cfg.json", &err), ADVML_ERR_IO);
    CU_ASSERT(strstr(err.msg, "/nonexistent/cfg.json: cannot open the config file") != NULL);
    char path[] = "/tmp/advml_test_config_XXXXXX";
    int fd = mkstemp(path);
    CU_ASSERT_FATAL(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fputs("{\n  \"model\": [\n    {\"type\": \"dense\" \"units\": 3}\n  ]\n}\n", f);
    fclose(f);
    CU_ASSERT_EQUAL(advml_config_load(&c, path, &err), ADVML_ERR_CONFIG);
    char want[128];
    snprintf(want, sizeof want, "%s: line 3, column", path);
    CU_ASSERT(strstr(err.msg, want) != NULL);
    remove(path);
}

static void t_round_trip(void)
{
    advml_config a, b;
    advml_error err;
    CU_ASSERT_EQUAL_FATAL(parse(MNIST_CNN, &a, &err), ADVML_OK);
    a.optim.l2 = 1e-5f; /* training.l2: its one home is the optimizer config */
    a.train.clip_norm = 2.5f;
    a.train.max_steps = 17;
    a.model.layers[0].kernel_init = ADVML_INIT_TORCH;
    a.model.layers[5].bias_init = ADVML_INIT_ZEROS;
    a.model.layers[2].algorithm = ADVML_CONV_IM2COL;
    snprintf(a.train.out, sizeof a.train.out, "results/run.h5");
    char *text = advml_config_to_json(&a);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    CU_ASSERT(strstr(text, "\"lr\": 0.001") != NULL); /* shortest decimal, not 0.0010000000474974513 */
    CU_ASSERT(strstr(text, "\"l2\": 1e-5") != NULL);
    CU_ASSERT_EQUAL_FATAL(advml_config_parse(&b, text, "<round trip>", &err), ADVML_OK);
    char why[256] = "";
    CU_ASSERT(advml_config_same_model(&a, &b, why, sizeof why));
    CU_ASSERT(b.model.layers[2].algorithm == ADVML_CONV_IM2COL && b.model.layers[0].algorithm == ADVML_CONV_AUTO);
    CU_ASSERT(strstr(text, "\"algorithm\": \"im2col\"") != NULL);
    CU_ASSERT(b.optim.kind == a.optim.kind && b.optim.lr == a.optim.lr && b.optim.beta1 == a.optim.beta1 &&
              b.optim.beta2 == a.optim.beta2 && b.optim.eps == a.optim.eps && b.optim.l2 == a.optim.l2);
    CU_ASSERT(b.train.epochs == a.train.epochs && b.train.batch_size == a.train.batch_size &&
              b.train.seed == a.train.seed && b.train.clip_norm == a.train.clip_norm &&
              b.train.max_steps == a.train.max_steps && b.optim.l2 == a.optim.l2);
    CU_ASSERT_STRING_EQUAL(b.train.data, a.train.data);
    CU_ASSERT_STRING_EQUAL(b.train.out, "results/run.h5");
    CU_ASSERT(strstr(text, "\"kernel_initializer\": \"torch\"") != NULL);
    CU_ASSERT(b.model.layers[0].kernel_init == ADVML_INIT_TORCH && b.model.layers[0].bias_init == ADVML_INIT_AUTO);
    CU_ASSERT(b.model.layers[5].kernel_init == ADVML_INIT_AUTO && b.model.layers[5].bias_init == ADVML_INIT_ZEROS);
    CU_ASSERT(b.model.layers[2].kernel_init == ADVML_INIT_AUTO); /* the default is not written out */
    free(text);
    /* a changed layer is reported by index */
    b.model.layers[5].units = 512;
    CU_ASSERT(!advml_config_same_model(&a, &b, why, sizeof why));
    CU_ASSERT(strstr(why, "model[5]") != NULL);
    b = a;
    b.model.loss = ADVML_LOSS_MSE;
    CU_ASSERT(!advml_config_same_model(&a, &b, why, sizeof why));
    CU_ASSERT(strstr(why, "loss") != NULL);
}

static void t_validate(void)
{
    advml_config c;
    advml_error err;
    CU_ASSERT_EQUAL_FATAL(parse(MNIST_CNN, &c, &err), ADVML_OK);
    c.optim.lr = -1; /* as --lr -1 would */
    CU_ASSERT_EQUAL(advml_config_validate(&c, &err), ADVML_ERR_CONFIG);
    CU_ASSERT(strstr(err.msg, "optimizer.lr: expected a number > 0, got -1") != NULL);
    c.optim.lr = 0.1f;
    c.train.batch_size = 0;
    CU_ASSERT_EQUAL(advml_config_validate(&c, &err), ADVML_ERR_CONFIG);
    CU_ASSERT(strstr(err.msg, "training.batch_size") != NULL);
}

/* Every example in jobs/ parses, and its canonical form parses to the same config. */
static void t_jobs(void)
{
    char src[4096];
    snprintf(src, sizeof src, "%s", __FILE__);
    char *dir = dirname(dirname(src));
    const char *jobs[] = {"mnist_cnn.json",  "digits_cnn.json", "course_cnn.json", "mnist_fast.json",
                          "sine_esn.json", "oscillator_esn.json", NULL};
    for (int i = 0; jobs[i]; i++) {
        char path[4200];
        snprintf(path, sizeof path, "%s/jobs/%s", dir, jobs[i]);
        advml_config c, d;
        advml_error err;
        advml_error_clear(&err);
        advml_status s = advml_config_load(&c, path, &err);
        if (s)
            fprintf(stderr, "\n  %s\n", err.msg);
        CU_ASSERT_EQUAL(s, ADVML_OK);
        if (s)
            continue;
        char *text = advml_config_to_json(&c);
        CU_ASSERT_EQUAL(advml_config_parse(&d, text, "<canonical>", &err), ADVML_OK);
        CU_ASSERT(advml_config_same_model(&c, &d, NULL, 0));
        free(text);
    }
}

/* Every kind's key table, without naming a kind: key names are unique and
 * not "type"; the spec default is each key's dflt; a layer giving every key
 * a value other than its default parses into the fields the table names,
 * is written back and read again unchanged; changing one key's field changes
 * the model unless the key is NOT_MODEL; a missing required key is an error
 * naming it (or the kind's own message). */
static void t_kind_tables(void)
{
    for (int t = 0; t < ADVML_LAYER_NTYPES; t++) {
        const advml_layer_kind *kind = advml_layer_kind_of((advml_layer_type)t);
        CU_ASSERT_FATAL(kind && kind->keys);
        advml_layer_spec dflt = advml_layer_spec_default((advml_layer_type)t);
        char text[2048], layer[1536];
        int len = snprintf(layer, sizeof layer, "{\"type\": \"%s\"", kind->name);
        for (const advml_layer_key *k = kind->keys; k->name; k++) {
            CU_ASSERT(strcmp(k->name, "type") != 0);
            for (const advml_layer_key *o = kind->keys; o != k; o++)
                CU_ASSERT(strcmp(o->name, k->name) != 0);
            if (k->type == ADVML_KEY_FLOAT) {
                CU_ASSERT(*advml_key_float(k, &dflt) == (float)k->dflt);
            } else {
                CU_ASSERT(advml_key_int(k, &dflt)[0] == (int)k->dflt);
            }
            char v[64];
            const advml_key_choice *c = k->choices;
            switch (k->type) {
            case ADVML_KEY_POSINT: snprintf(v, sizeof v, "%d", (int)k->dflt + 3); break;
            case ADVML_KEY_PAIR: snprintf(v, sizeof v, "[%d, %d]", (int)k->dflt + 2, (int)k->dflt + 1); break;
            case ADVML_KEY_BOOL: snprintf(v, sizeof v, "%s", k->dflt ? "false" : "true"); break;
            case ADVML_KEY_FLOAT: snprintf(v, sizeof v, "%g", isinf(k->hi) ? k->dflt + 0.25 : (k->lo + k->hi) / 3); break;
            case ADVML_KEY_ACT: snprintf(v, sizeof v, "\"leaky_relu\""); break; /* lets LEAKY_ONLY keys in */
            case ADVML_KEY_CHOICE:
                while (c->name && c->value == (int)k->dflt)
                    c++;
                CU_ASSERT_FATAL(c->name != NULL);
                snprintf(v, sizeof v, "\"%s\"", c->name);
                break;
            case ADVML_KEY_INIT:
            case ADVML_KEY_BIAS_INIT: snprintf(v, sizeof v, "\"torch\""); break;
            }
            len += snprintf(layer + len, sizeof layer - (size_t)len, ", \"%s\": %s", k->name, v);
        }
        snprintf(layer + len, sizeof layer - (size_t)len, "}");
        snprintf(text, sizeof text, "{\"model\": [%s], \"loss\": \"mse\"}", layer);
        advml_config a, b;
        advml_error err;
        advml_status s = parse(text, &a, &err);
        if (s)
            fprintf(stderr, "\n  %s: %s\n", text, err.msg);
        CU_ASSERT_EQUAL_FATAL(s, ADVML_OK);
        advml_layer_spec *L = &a.model.layers[0];
        CU_ASSERT_EQUAL(L->type, (advml_layer_type)t);
        for (const advml_layer_key *k = kind->keys; k->name; k++) /* every key landed, none at its default */
            CU_ASSERT(k->type == ADVML_KEY_FLOAT ? *advml_key_float(k, L) != (float)k->dflt
                                                 : advml_key_int(k, L)[0] != (int)k->dflt);
        char *json = advml_config_to_json(&a);
        CU_ASSERT_PTR_NOT_NULL_FATAL(json);
        for (const advml_layer_key *k = kind->keys; k->name; k++) {
            char needle[64];
            snprintf(needle, sizeof needle, "\"%s\":", k->name);
            CU_ASSERT(strstr(json, needle) != NULL);
        }
        CU_ASSERT_EQUAL_FATAL(advml_config_parse(&b, json, "<round trip>", &err), ADVML_OK);
        free(json);
        CU_ASSERT(memcmp(&b.model.layers[0], L, sizeof *L) == 0);
        CU_ASSERT(advml_config_same_model(&a, &b, NULL, 0));
        for (const advml_layer_key *k = kind->keys; k->name; k++) {
            advml_config c = a;
            advml_layer_spec *M = &c.model.layers[0];
            if (k->type == ADVML_KEY_FLOAT)
                *advml_key_float(k, M) *= 0.5f;
            else
                advml_key_int(k, M)[0] ^= 1;
            char why[512] = "";
            CU_ASSERT(advml_config_same_model(&a, &c, why, sizeof why) == ((k->flags & ADVML_KEY_NOT_MODEL) != 0));
            if (!(k->flags & ADVML_KEY_NOT_MODEL))
                CU_ASSERT(strstr(why, "model[0]") != NULL);
        }
        for (const advml_layer_key *k = kind->keys; k->name; k++) {
            if (!(k->flags & ADVML_KEY_REQUIRED))
                continue;
            char want[256];
            snprintf(want, sizeof want, "model[0].%s: missing (required)", k->name);
            snprintf(text, sizeof text, "{\"model\": [{\"type\": \"%s\"}], \"loss\": \"mse\"}", kind->name);
            /* the first required key is the one reported */
            CU_ASSERT_EQUAL(parse(text, &a, &err), ADVML_ERR_CONFIG);
            CU_ASSERT(strstr(err.msg, k->missing ? k->missing : want) != NULL);
            break;
        }
    }
}

/* The esn layer's keys and training.readout: parsed, written back, read
 * back the same; their errors name the field path. */
static void t_esn_and_ridge(void)
{
    const advml_status E = ADVML_ERR_CONFIG;
    advml_config c, d;
    advml_error err;
    CU_ASSERT_EQUAL_FATAL(parse("{\"loss\": \"mse\", \"model\": [{\"type\": \"esn\", \"units\": 50, "
                                "\"spectral_radius\": 1.2, \"sparsity\": 0.8, \"input_scaling\": 0.5, "
                                "\"bias_scaling\": 0.1, \"leak_rate\": 0.3, \"washout\": 4, \"seed\": 9, "
                                "\"concat_input\": true, \"return_sequences\": true}, {\"type\": \"flatten\"}, "
                                "{\"type\": \"dense\", \"units\": 2}], \"training\": {\"readout\": \"ridge\", "
                                "\"ridge_lambda\": 0.001}}",
                                &c, &err),
                          ADVML_OK);
    const advml_layer_spec *e = &c.model.layers[0];
    CU_ASSERT(e->type == ADVML_LAYER_ESN && e->units == 50 && e->spectral_radius == 1.2f && e->sparsity == 0.8f &&
              e->input_scaling == 0.5f && e->bias_scaling == 0.1f && e->leak_rate == 0.3f && e->washout == 4 &&
              e->reservoir_seed == 9 && e->concat_input == 1 && e->return_sequences == 1);
    CU_ASSERT(c.train.readout == ADVML_READOUT_RIDGE && c.train.ridge_lambda == 0.001);
    CU_ASSERT_EQUAL(advml_config_validate(&c, &err), ADVML_OK);
    char *json = advml_config_to_json(&c);
    CU_ASSERT_FATAL(json != NULL);
    CU_ASSERT(strstr(json, "\"washout\": 4") && strstr(json, "\"seed\": 9") && strstr(json, "\"readout\": \"ridge\""));
    CU_ASSERT_EQUAL(advml_config_parse(&d, json, "<canonical>", &err), ADVML_OK);
    CU_ASSERT(advml_config_same_model(&c, &d, NULL, 0) && d.train.readout == ADVML_READOUT_RIDGE &&
              d.train.ridge_lambda == 0.001);
    free(json);
    /* defaults: radius 0.9, sparsity 0.9, scaling 1, no bias, leak 1, no washout, the model's seed;
     * a gradient run writes no readout keys */
    CU_ASSERT_EQUAL_FATAL(parse("{\"loss\": \"mse\", \"model\": [{\"type\": \"esn\", \"units\": 5}, "
                                "{\"type\": \"dense\", \"units\": 1}]}",
                                &c, &err),
                          ADVML_OK);
    e = &c.model.layers[0];
    CU_ASSERT(e->spectral_radius == 0.9f && e->sparsity == 0.9f && e->input_scaling == 1.0f && e->bias_scaling == 0.0f &&
              e->leak_rate == 1.0f && e->washout == 0 && e->reservoir_seed == 0 && e->concat_input == 0);
    CU_ASSERT(c.train.readout == ADVML_READOUT_GRADIENT && c.train.ridge_lambda == 1e-6);
    json = advml_config_to_json(&c);
    CU_ASSERT_FATAL(json != NULL);
    CU_ASSERT(!strstr(json, "readout") && !strstr(json, "washout") && !strstr(json, "\"seed\": 0"));
    free(json);
#define ESN(x) "{\"loss\": \"mse\", \"model\": [{\"type\": \"esn\", \"units\": 10" x "}, {\"type\": \"dense\", \"units\": 1}]}"
    expect_error(ESN(", \"spectral_radius\": 0"), E, "jobs/x.json: model[0].spectral_radius: expected a number > 0, got 0",
                 NULL);
    expect_error(ESN(", \"spectral_radius\": -0.5"), E, "model[0].spectral_radius: expected a number > 0", NULL);
    expect_error(ESN(", \"sparsity\": 1"), E, "model[0].sparsity: expected a number in [0, 1), got 1", NULL);
    expect_error(ESN(", \"sparsity\": -0.1"), E, "model[0].sparsity: expected a number in [0, 1), got -0.1", NULL);
    expect_error(ESN(", \"leak_rate\": 0"), E, "model[0].leak_rate: expected a number in (0, 1], got 0", NULL);
    expect_error(ESN(", \"leak_rate\": 1.5"), E, "model[0].leak_rate: expected a number in (0, 1], got 1.5", NULL);
    expect_error(ESN(", \"input_scaling\": -1"), E, "model[0].input_scaling: expected a number >= 0, got -1", NULL);
    expect_error(ESN(", \"rho\": 0.9"), E, "model[0].rho: unknown key (did you mean \"spectral_radius\"?)", NULL);
    expect_error(ESN(", \"washout\": -1"), E, "model[0].washout", NULL);
    expect_error(ESN(", \"activation\": \"relu\""), E, "model[0].activation: not a parameter of esn", NULL);
    expect_error("{\"loss\": \"mse\", \"model\": [{\"type\": \"esn\"}]}", E, "model[0].units: missing (required)",
                 NULL);
#undef ESN
    expect_error("{\"loss\": \"mse\", \"model\": [{\"type\": \"dense\", \"units\": 1}], \"training\": "
                 "{\"readout\": \"closed\"}}",
                 E, "training.readout: expected \"gradient\" or \"ridge\", got \"closed\"", NULL);
    expect_error("{\"loss\": \"mse\", \"model\": [{\"type\": \"dense\", \"units\": 1}], \"training\": "
                 "{\"ridge_lambda\": -1}}",
                 E, "training.ridge_lambda: expected a number >= 0, got -1", NULL);
    /* what validate refuses: another loss, a non-linear readout, more epochs, l2 */
    static const struct {
        const char *text, *needle;
    } bad[] = {
        {"{\"loss\": \"binary_crossentropy\", \"model\": [{\"type\": \"esn\", \"units\": 5}, {\"type\": \"dense\", "
         "\"units\": 1}], \"training\": {\"readout\": \"ridge\"}}",
         "training.readout: \"ridge\" solves a least-squares problem and needs loss \"mse\""},
        {"{\"loss\": \"mse\", \"model\": [{\"type\": \"esn\", \"units\": 5}, {\"type\": \"dense\", \"units\": 1, "
         "\"activation\": \"tanh\"}], \"training\": {\"readout\": \"ridge\"}}",
         "the last layer (model[1]) must be a dense layer without activation; it is dense with activation tanh"},
        {"{\"loss\": \"mse\", \"model\": [{\"type\": \"esn\", \"units\": 5}], \"training\": {\"readout\": \"ridge\"}}",
         "it is esn"},
        {"{\"loss\": \"mse\", \"model\": [{\"type\": \"esn\", \"units\": 5}, {\"type\": \"dense\", \"units\": 1}], "
         "\"training\": {\"readout\": \"ridge\", \"epochs\": 3}}",
         "training.epochs: the ridge readout is solved in one pass over the data, so epochs must be 1, got 3"},
        {"{\"loss\": \"mse\", \"model\": [{\"type\": \"esn\", \"units\": 5}, {\"type\": \"dense\", \"units\": 1}], "
         "\"training\": {\"readout\": \"ridge\", \"l2\": 0.01}}",
         "training.l2: with readout \"ridge\" the penalty is training.ridge_lambda"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CU_ASSERT_EQUAL_FATAL(parse(bad[i].text, &c, &err), ADVML_OK);
        CU_ASSERT_EQUAL(advml_config_validate(&c, &err), E);
        if (!strstr(err.msg, bad[i].needle))
            fprintf(stderr, "\n  message \"%s\"\n  lacks   \"%s\"\n", err.msg, bad[i].needle);
        CU_ASSERT(strstr(err.msg, bad[i].needle) != NULL);
    }
}

static void reg(void)
{
    static const advml_test_case c[] = {{"valid", t_valid},
                                        {"defaults_and_forms", t_defaults_and_forms},
                                        {"syntax_errors", t_syntax_errors},
                                        {"layer_errors", t_layer_errors},
                                        {"section_errors", t_section_errors},
                                        {"control_keys", t_control_keys},
                                        {"control_errors", t_control_errors},
                                        {"load", t_load},
                                        {"round_trip", t_round_trip},
                                        {"validate", t_validate},
                                        {"jobs", t_jobs},
                                        {"esn_and_ridge", t_esn_and_ridge},
                                        {"kind_tables", t_kind_tables},
                                        {NULL, NULL}};
    advml_test_add_suite("config", c);
}

int main(void) { return advml_test_main(reg); }

/* train_digits.c - a C program that uses the installed libadvml: it trains a
 * small CNN (a config given as JSON text) on an advml dataset with the
 * library's trainer, on as many MPI ranks as it is started with, and prints
 * the test accuracy. Built by tests/install/test_install.sh with pkg-config
 * and with CMake's find_package(advml) (docs/c-library.md).
 *
 *   mpirun -np 2 ./train_digits digits.h5
 */
#include <advml/comm.h>
#include <advml/config.h>
#include <advml/train.h>
#include <advml/version.h>
#include <math.h>
#include <stdio.h>

static const char *const config =
    "{\"input\": [1, 8, 8],"
    " \"model\": [{\"type\": \"conv2d\", \"filters\": 8, \"kernel\": [3, 3], \"activation\": \"relu\"},"
    "            {\"type\": \"maxpool2d\", \"pool\": [2, 2]}, {\"type\": \"flatten\"},"
    "            {\"type\": \"dense\", \"units\": 10, \"activation\": \"softmax\"}],"
    " \"loss\": \"categorical_crossentropy\","
    " \"optimizer\": {\"name\": \"sgd\", \"lr\": 0.1},"
    " \"training\": {\"epochs\": 3, \"batch_size\": 50, \"seed\": 7}}";

int main(int argc, char **argv)
{
    advml_error err;
    advml_error_clear(&err);
    advml_comm *comm = NULL;
    if (advml_comm_init(&argc, &argv, &comm, &err)) {
        fprintf(stderr, "train_digits: %s\n", err.msg);
        return 1;
    }
    int rank = advml_comm_rank(comm), rc = 1;
    advml_config cfg;
    advml_trainer t;
    int have_trainer = 0;
    double loss = NAN, acc = NAN;
    if (argc != 2) {
        if (rank == 0)
            fprintf(stderr, "usage: train_digits DATA.h5\n");
        goto out;
    }
    if (advml_config_parse(&cfg, config, "train_digits.c", &err) || advml_config_validate(&cfg, &err))
        goto fail;
    snprintf(cfg.train.data, sizeof cfg.train.data, "%s", argv[1]);
    if (advml_trainer_setup(&t, &cfg, comm, &err))
        goto fail;
    have_trainer = 1;
    if (advml_trainer_fit(&t, &err) || advml_trainer_evaluate(&t, "test", &loss, &acc, &err))
        goto fail;
    if (rank == 0)
        printf("train_digits (advml %s, %d ranks): %lld steps, test loss %.4f, test accuracy %.4f\n",
               ADVML_VERSION, advml_comm_size(comm), (long long)t.step, loss, acc);
    rc = 0;
    goto out;
fail:
    if (rank == 0)
        fprintf(stderr, "train_digits: %s\n", err.msg);
out:
    if (have_trainer)
        advml_trainer_free(&t);
    advml_comm_finalize(comm);
    return rc;
}

/* test_cli.c - the tools' command-line flags (advml_cli_parse): value flags in
 * both forms, switches, -h, and each error with its message; the number
 * checks (advml_cli_int, advml_cli_num) and the recorded command line
 * (advml_cli_join_args). */
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "advml/cli.h"

typedef struct opts {
    const char *out, *lr;
    int force, help;
} opts;

static const advml_cli_flag flags[] = {{"--out", offsetof(opts, out), 0, ADVML_CLI_STRING, "FILE", "output"},
                                       {"--lr", offsetof(opts, lr), 0, ADVML_CLI_STRING, "ETA", "rate"},
                                       {"--force", offsetof(opts, force), 1, ADVML_CLI_STRING, NULL, "force"},
                                       {"--help", offsetof(opts, help), 1, ADVML_CLI_STRING, NULL, NULL}};
#define NFLAGS (sizeof flags / sizeof flags[0])

static advml_status parse(opts *o, advml_error *err, int argc, char **argv)
{
    memset(o, 0, sizeof *o);
    advml_error_clear(err);
    return advml_cli_parse(argc, argv, flags, NFLAGS, o, err);
}

static void t_values_and_switches(void)
{
    opts o;
    advml_error err;
    char *a1[] = {"tool", "--out", "r.h5", "--lr=0.01", "--force"};
    CU_ASSERT_EQUAL_FATAL(parse(&o, &err, 5, a1), ADVML_OK);
    CU_ASSERT_STRING_EQUAL(o.out, "r.h5");
    CU_ASSERT_STRING_EQUAL(o.lr, "0.01");
    CU_ASSERT(o.force == 1 && o.help == 0);
    CU_ASSERT(o.out == a1[2]); /* points into argv */
    char *a2[] = {"tool", "-h"};
    CU_ASSERT_EQUAL(parse(&o, &err, 2, a2), ADVML_OK);
    CU_ASSERT(o.help == 1 && o.out == NULL && o.force == 0);
    char *a3[] = {"tool"};
    CU_ASSERT_EQUAL(parse(&o, &err, 1, a3), ADVML_OK);
    CU_ASSERT(o.out == NULL && o.lr == NULL && !o.force && !o.help);
    /* the last of a repeated flag wins; a value may start with '-' */
    char *a4[] = {"tool", "--lr", "1", "--lr", "-2"};
    CU_ASSERT_EQUAL(parse(&o, &err, 5, a4), ADVML_OK);
    CU_ASSERT_STRING_EQUAL(o.lr, "-2");
}

static void t_errors(void)
{
    opts o;
    advml_error err;
    char *a1[] = {"tool", "--outt", "x"};
    CU_ASSERT_EQUAL(parse(&o, &err, 3, a1), ADVML_ERR_ARG);
    CU_ASSERT(strstr(err.msg, "unknown argument \"--outt\"") != NULL);
    char *a2[] = {"tool", "--out"};
    CU_ASSERT_EQUAL(parse(&o, &err, 2, a2), ADVML_ERR_ARG);
    CU_ASSERT(strstr(err.msg, "--out needs a value") != NULL);
    char *a3[] = {"tool", "--out="};
    CU_ASSERT_EQUAL(parse(&o, &err, 2, a3), ADVML_ERR_ARG);
    CU_ASSERT(strstr(err.msg, "--out needs a value") != NULL);
    char *a4[] = {"tool", "--force=1"};
    CU_ASSERT_EQUAL(parse(&o, &err, 2, a4), ADVML_ERR_ARG);
    CU_ASSERT(strstr(err.msg, "--force takes no value") != NULL);
    char *a5[] = {"tool", "run.h5"};
    CU_ASSERT_EQUAL(parse(&o, &err, 2, a5), ADVML_ERR_ARG);
    CU_ASSERT(strstr(err.msg, "unknown argument \"run.h5\"") != NULL);
    char *a6[] = {"tool", "--lr"}; /* a prefix of no flag, and no value */
    CU_ASSERT_EQUAL(parse(&o, &err, 2, a6), ADVML_ERR_ARG);
    CU_ASSERT(strstr(err.msg, "--lr needs a value") != NULL);
}

static void t_numbers(void)
{
    advml_error err;
    long long i = -7;
    double d = -7;
    CU_ASSERT(advml_cli_int("--epochs", "12", 1, LLONG_MAX, &i, &err) == ADVML_OK && i == 12);
    CU_ASSERT(advml_cli_int("--start", "0", 0, 5, &i, &err) == ADVML_OK && i == 0);
    CU_ASSERT(advml_cli_int("--start", "5", 0, 5, &i, &err) == ADVML_OK && i == 5);
    /* each failure leaves *out alone and names the flag, the range and the value */
    const char *bad[] = {"three", "", "1.5", "2x", "0", "99999999999999999999"};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        i = -7;
        CU_ASSERT_EQUAL(advml_cli_int("--epochs", bad[k], 1, LLONG_MAX, &i, &err), ADVML_ERR_ARG);
        CU_ASSERT(i == -7);
        char want[128];
        snprintf(want, sizeof want, "--epochs: expected an integer >= 1, got \"%s\"", bad[k]);
        CU_ASSERT(strstr(err.msg, want) != NULL);
    }
    CU_ASSERT_EQUAL(advml_cli_int("--start", "6", 0, 5, &i, &err), ADVML_ERR_ARG);
    CU_ASSERT(strstr(err.msg, "--start: expected an integer in 0..5, got \"6\"") != NULL);
    CU_ASSERT_EQUAL(advml_cli_int("--start", NULL, 0, 5, &i, &err), ADVML_ERR_ARG);

    CU_ASSERT(advml_cli_num("--lr", "1e-3", 1, &d, &err) == ADVML_OK && d == 1e-3);
    CU_ASSERT(advml_cli_num("--l2", "0", 0, &d, &err) == ADVML_OK && d == 0.0);
    d = -7;
    CU_ASSERT_EQUAL(advml_cli_num("--lr", "0", 1, &d, &err), ADVML_ERR_ARG);
    CU_ASSERT(strstr(err.msg, "--lr: expected a number > 0, got \"0\"") != NULL);
    const char *badnum[] = {"-1", "nan", "inf", "1e999", "0.1x", ""};
    for (size_t k = 0; k < sizeof badnum / sizeof badnum[0]; k++) {
        CU_ASSERT_EQUAL(advml_cli_num("--l2", badnum[k], 0, &d, &err), ADVML_ERR_ARG);
        CU_ASSERT(strstr(err.msg, "--l2: expected a number >= 0") != NULL);
    }
    CU_ASSERT(d == -7);
}

static void t_join_args(void)
{
    char *a[] = {"advml-train", "--config", "my jobs/cnn.json", "--lr=1e-3", "a\tb"};
    char *s = advml_cli_join_args(5, a);
    CU_ASSERT_FATAL(s != NULL);
    CU_ASSERT_STRING_EQUAL(s, "advml-train --config 'my jobs/cnn.json' --lr=1e-3 'a\tb'");
    free(s);
    s = advml_cli_join_args(0, a);
    CU_ASSERT_FATAL(s != NULL);
    CU_ASSERT_STRING_EQUAL(s, "");
    free(s);
}

/* A subcommand's table: typed values, a positional argument, its messages
 * ("unknown option", "see advml-data x --help"), --help stopping the parse,
 * a required value, and the help text made from the same table. */
typedef struct typed {
    const char *file, *name;
    int64_t n;
    uint64_t seed;
    double x;
    char sep;
    int force, help;
} typed;

static const advml_cli_flag typed_flags[] = {
    {"FILE.h5", offsetof(typed, file), 0, ADVML_CLI_STRING, NULL, NULL},
    {"--name", offsetof(typed, name), 0, ADVML_CLI_STRING, "TEXT", "a name"},
    {"--n", offsetof(typed, n), 0, ADVML_CLI_INT64, "N", "a count"},
    {"--seed", offsetof(typed, seed), 0, ADVML_CLI_UINT64, "S", "a seed"},
    {"--a-rather-long-flag", offsetof(typed, x), 0, ADVML_CLI_DOUBLE, "X", "a number"},
    {"--sep", offsetof(typed, sep), 0, ADVML_CLI_CHAR, "C", "a character"},
    {"--force", offsetof(typed, force), 1, ADVML_CLI_STRING, NULL, "overwrite"},
    {"--help", offsetof(typed, help), 1, ADVML_CLI_STRING, NULL, "show this help"}};
static const advml_cli_spec typed_spec = {"advml-data x", typed_flags, sizeof typed_flags / sizeof typed_flags[0],
                                          "usage: advml-data x FILE.h5\n\n", 20, "\nmore\n"};

static advml_status parse_typed(typed *t, advml_error *err, int argc, char **argv)
{
    memset(t, 0, sizeof *t);
    advml_error_clear(err);
    return advml_cli_parse_spec(&typed_spec, argc, argv, t, err);
}

static void t_typed_and_help(void)
{
    typed t;
    advml_error err;
    char *a1[] = {"x", "f.h5", "--n", "-3", "--seed=7", "--a-rather-long-flag", "2.5", "--sep", "tab", "--force"};
    CU_ASSERT_EQUAL_FATAL(parse_typed(&t, &err, 10, a1), ADVML_OK);
    CU_ASSERT(t.file == a1[1] && t.n == -3 && t.seed == 7 && t.x == 2.5 && t.sep == '\t' && t.force == 1);
    static struct {
        int argc;
        char *argv[4];
        const char *want;
    } bad[] = {{3, {"x", "--n", "1.5"}, "--n 1.5: not a valid integer"},
               {3, {"x", "--seed", "-1"}, "--seed -1: not a valid integer"},
               {3, {"x", "--a-rather-long-flag", "inf"}, "--a-rather-long-flag inf: not a valid number"},
               {3, {"x", "--sep", "ab"}, "--sep ab: not a valid single character"},
               {2, {"x", "--bogus"}, "unknown option --bogus (see advml-data x --help)"},
               {3, {"x", "a.h5", "b.h5"}, "unexpected argument \"b.h5\" (see advml-data x --help)"},
               {2, {"x", "--name="}, "--name needs a value (see advml-data x --help)"},
               {2, {"x", "--force=1"}, "--force takes no value, got \"--force=1\" (see advml-data x --help)"}};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        CU_ASSERT_EQUAL(parse_typed(&t, &err, bad[k].argc, bad[k].argv), ADVML_ERR_ARG);
        if (!strstr(err.msg, bad[k].want))
            fprintf(stderr, "\n  message \"%s\"\n  lacks   \"%s\"\n", err.msg, bad[k].want);
        CU_ASSERT(strstr(err.msg, bad[k].want) != NULL);
    }
    char *a2[] = {"x", "-h", "--bogus"}; /* --help answers whatever follows */
    CU_ASSERT_EQUAL(parse_typed(&t, &err, 3, a2), ADVML_OK);
    CU_ASSERT(t.help == 1);
    CU_ASSERT_EQUAL(advml_cli_required(&typed_spec, NULL, "FILE.h5", &err), ADVML_ERR_ARG);
    CU_ASSERT(strstr(err.msg, "FILE.h5 is required (see advml-data x --help)") != NULL);
    CU_ASSERT_EQUAL(advml_cli_required(&typed_spec, "", "--name TEXT", &err), ADVML_ERR_ARG);
    CU_ASSERT_EQUAL(advml_cli_required(&typed_spec, "f.h5", "FILE.h5", &err), ADVML_OK);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    CU_ASSERT_FATAL(f != NULL);
    advml_cli_help(f, &typed_spec);
    fclose(f);
    CU_ASSERT_STRING_EQUAL(text, "usage: advml-data x FILE.h5\n\n"
                                 "  --name TEXT          a name\n"
                                 "  --n N                a count\n"
                                 "  --seed S             a seed\n"
                                 "  --a-rather-long-flag X\n"
                                 "                       a number\n"
                                 "  --sep C              a character\n"
                                 "  --force              overwrite\n"
                                 "  --help               show this help\n"
                                 "\nmore\n");
    free(text);
}

static void reg(void)
{
    static const advml_test_case c[] = {{"value flags and switches", t_values_and_switches},
                                        {"errors", t_errors},
                                        {"integer and number values", t_numbers},
                                        {"the recorded command line", t_join_args},
                                        {"typed values, positionals, subcommands, help text", t_typed_and_help},
                                        {NULL, NULL}};
    advml_test_add_suite("cli", c);
}

int main(void) { return advml_test_main(reg); }

/* test_cli.c - the tools' command-line flags (advml_cli_parse): value flags in
 * both forms, switches, -h, and each error with its message. */
#include <stddef.h>
#include <string.h>

#include "testutil.h"
#include "advml/cli.h"

typedef struct opts {
    const char *out, *lr;
    int force, help;
} opts;

static const advml_cli_flag flags[] = {{"--out", offsetof(opts, out), 0},
                                       {"--lr", offsetof(opts, lr), 0},
                                       {"--force", offsetof(opts, force), 1},
                                       {"--help", offsetof(opts, help), 1}};
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

static void reg(void)
{
    static const advml_test_case c[] = {
        {"value flags and switches", t_values_and_switches}, {"errors", t_errors}, {NULL, NULL}};
    advml_test_add_suite("cli", c);
}

int main(void) { return advml_test_main(reg); }

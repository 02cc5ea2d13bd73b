/* advml-data - convert datasets into advml's HDF5 layout (docs/hdf5-layout.md).
 *
 *   advml-data mnist --from DIR --out FILE.h5        MNIST / Fashion-MNIST IDX files
 *   advml-data csv --from FILE --out FILE.h5 ...     numeric CSV (e.g. the 8x8 digits)
 *   advml-data sine --kind clean|noisy --out FILE.h5 the course's sine series
 *   advml-data oscillator --out FILE.h5 ...          the damped driven oscillator
 *   advml-data info FILE.h5                          layout, shapes, attributes, class counts
 *
 * main() only dispatches; each subcommand parses its flags into the options
 * of a library module (mnist.h, csvdata.h, timeseries.h, dataset_info.h).
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "advml/cli.h"
#include "advml/csvdata.h"
#include "advml/dataset_info.h"
#include "advml/mnist.h"
#include "advml/status.h"
#include "advml/timeseries.h"
#include "advml/version.h"

/* ---- a small table-driven flag parser ------------------------------------------ */

typedef enum { OPT_STR, OPT_INT, OPT_U64, OPT_DBL, OPT_FLAG, OPT_CHAR } opt_type;

typedef struct opt {
    const char *name;   /* without the leading "--" */
    opt_type type;
    void *ptr;          /* const char **, int64_t *, uint64_t *, double *, int * or char * */
    const char *arg;    /* placeholder in --help, e.g. "DIR" */
    const char *help;
} opt;

typedef struct command {
    const char *name;
    const char *usage;     /* one line after "advml-data NAME " */
    const char *summary;   /* what it does */
    const char *details;   /* printed after the flags in --help */
    advml_status (*run)(int argc, char **argv, const struct command *cmd, advml_error *err);
} command;

static void print_help(FILE *f, const command *c, const opt *opts)
{
    fprintf(f, "usage: advml-data %s %s\n\n%s\n\n", c->name, c->usage, c->summary);
    for (const opt *o = opts; o && o->name; o++) {
        char left[64];
        snprintf(left, sizeof left, "--%s%s%s", o->name, o->type == OPT_FLAG ? "" : " ", o->type == OPT_FLAG ? "" : o->arg);
        if (strlen(left) > 26)
            fprintf(f, "  %s\n  %-26s %s\n", left, "", o->help);
        else
            fprintf(f, "  %-26s %s\n", left, o->help);
    }
    fprintf(f, "  %-26s %s\n", "--help", "show this help");
    if (c->details)
        fprintf(f, "\n%s", c->details);
}

/* Parse argv[1..] (argv[0] is the subcommand) into opts. Positional
 * arguments go to *pos (at most npos). Returns 1 when --help was printed,
 * 0 when parsed, or an error via err (-1). */
static int parse_flags(int argc, char **argv, const command *c, const opt *opts, const char **pos, int npos,
                       advml_error *err)
{
    int np = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            print_help(stdout, c, opts);
            return 1;
        }
        if (strncmp(a, "--", 2) != 0) {
            if (np == npos) {
                advml_error_set(err, ADVML_ERR_ARG, "unexpected argument \"%s\" (see advml-data %s --help)", a, c->name);
                return -1;
            }
            pos[np++] = a;
            continue;
        }
        const char *name = a + 2, *eq = strchr(name, '=');
        size_t nlen = eq ? (size_t)(eq - name) : strlen(name);
        const opt *o = opts;
        while (o && o->name && !(strlen(o->name) == nlen && strncmp(o->name, name, nlen) == 0))
            o++;
        if (!o || !o->name) {
            advml_error_set(err, ADVML_ERR_ARG, "unknown option --%.*s (see advml-data %s --help)", (int)nlen, name,
                            c->name);
            return -1;
        }
        if (o->type == OPT_FLAG) {
            if (eq) {
                advml_error_set(err, ADVML_ERR_ARG, "--%s takes no value", o->name);
                return -1;
            }
            *(int *)o->ptr = 1;
            continue;
        }
        const char *val = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
        if (!val) {
            advml_error_set(err, ADVML_ERR_ARG, "--%s needs a value %s", o->name, o->arg);
            return -1;
        }
        char *end = NULL;
        errno = 0;
        switch (o->type) {
        case OPT_STR: *(const char **)o->ptr = val; end = (char *)val + strlen(val); break;
        case OPT_INT: *(int64_t *)o->ptr = strtoll(val, &end, 10); break;
        case OPT_U64: *(uint64_t *)o->ptr = strtoull(val, &end, 10); if (val[0] == '-') errno = ERANGE; break;
        case OPT_DBL: {
            double d = strtod(val, &end);
            if (!isfinite(d))
                errno = ERANGE;
            *(double *)o->ptr = d;
            break;
        }
        case OPT_CHAR:
            if (strcmp(val, "\\t") == 0 || strcmp(val, "tab") == 0)
                val = "\t";
            *(char *)o->ptr = val[0];
            end = (char *)val + (val[0] ? 1 : 0);
            if (strlen(val) != 1)
                errno = EINVAL;
            break;
        case OPT_FLAG: break;
        }
        if (errno || !end || end == val || *end != '\0') {
            advml_error_set(err, ADVML_ERR_ARG, "--%s %s: not a valid %s", o->name, val,
                            o->type == OPT_DBL ? "number" : o->type == OPT_CHAR ? "single character" : "integer");
            return -1;
        }
    }
    return 0;
}

static advml_status need(const char *value, const char *flag, const command *c, advml_error *err)
{
    if (value && *value)
        return ADVML_OK;
    return advml_error_set(err, ADVML_ERR_ARG, "%s is required (see advml-data %s --help)", flag, c->name);
}

/* The command line, recorded in the output file (set by main). */
static const char *command_line = "";

/* ---- subcommands ------------------------------------------------------------------ */

static advml_status run_mnist(int argc, char **argv, const command *c, advml_error *err)
{
    advml_mnist_opts o = {0};
    o.command_line = command_line;
    const char *kind = "auto";
    int64_t validation = 0;
    const opt opts[] = {
        {"from", OPT_STR, &o.from, "DIR", "directory with the four IDX files (plain or .gz)"},
        {"out", OPT_STR, &o.out, "FILE.h5", "output file"},
        {"validation", OPT_INT, &validation, "N", "hold out the last N training images as /validation (default 0)"},
        {"kind", OPT_STR, &kind, "auto|mnist|fashion", "dataset (default auto: see below)"},
        {"compute-stats", OPT_FLAG, &o.compute_stats, "", "normalise MNIST with its own train mean/std too"},
        {"force", OPT_FLAG, &o.force, "", "overwrite FILE.h5 if it exists"},
        {NULL, 0, NULL, NULL, NULL}};
    int r = parse_flags(argc, argv, c, opts, NULL, 0, err);
    if (r)
        return r > 0 ? ADVML_OK : ADVML_ERR_ARG;
    advml_status st;
    if ((st = need(o.from, "--from DIR", c, err)) || (st = need(o.out, "--out FILE.h5", c, err)))
        return st;
    o.validation = validation;
    if (strcmp(kind, "auto") == 0)
        o.kind = ADVML_MNIST_AUTO;
    else if (strcmp(kind, "mnist") == 0)
        o.kind = ADVML_MNIST_DIGITS;
    else if (strcmp(kind, "fashion") == 0)
        o.kind = ADVML_MNIST_FASHION;
    else
        return advml_error_set(err, ADVML_ERR_ARG, "--kind %s: expected auto, mnist or fashion", kind);
    if ((st = advml_mnist_convert(&o, err)))
        return st;
    return advml_dsinfo_summary(stdout, o.out, err);
}

static advml_status run_csv(int argc, char **argv, const command *c, advml_error *err)
{
    advml_csv_opts o;
    advml_csv_defaults(&o);
    o.command_line = command_line;
    int header = 0, no_header = 0;
    const opt opts[] = {
        {"from", OPT_STR, &o.from, "FILE", "CSV file, plain or .gz"},
        {"out", OPT_STR, &o.out, "FILE.h5", "output file"},
        {"target", OPT_STR, &o.target, "COLS", "target column(s): 0-based index, -1 = last, or header name; "
                                               "comma list (default -1)"},
        {"target-kind", OPT_STR, &o.target_kind, "auto|class|value",
         "class ids or values (default auto: class ids if one column of integers >= 0)"},
        {"class-names", OPT_STR, &o.class_names, "A,B,...", "names of the classes (default \"0\", \"1\", ...)"},
        {"image", OPT_STR, &o.image, "C,H,W", "reshape the feature columns into C x H x W images"},
        {"test-fraction", OPT_DBL, &o.test_fraction, "F", "share of rows in /test, rounded up (default 0)"},
        {"validation-fraction", OPT_DBL, &o.validation_fraction, "F", "share of rows in /validation (default 0)"},
        {"seed", OPT_U64, &o.seed, "S", "seed of the row shuffle before splitting (default 1)"},
        {"no-shuffle", OPT_FLAG, &o.no_shuffle, "", "split in file order (test = the last rows)"},
        {"header", OPT_FLAG, &header, "", "the first line is a header"},
        {"no-header", OPT_FLAG, &no_header, "", "the first line is data (default: detected)"},
        {"delimiter", OPT_CHAR, &o.delimiter, "C", "cell separator (default ','; 'tab' for tabs)"},
        {"scale", OPT_DBL, &o.scale, "S", "normalisation: x = (raw * S - mean) / std (default 1)"},
        {"mean", OPT_DBL, &o.mean, "M", "normalisation mean (default 0)"},
        {"std", OPT_DBL, &o.std, "D", "normalisation std (default 1)"},
        {"standardize", OPT_FLAG, &o.standardize, "", "compute mean and std of raw * scale over the train split"},
        {"source", OPT_STR, &o.source, "TEXT", "source attribute (default: the CSV path)"},
        {"description", OPT_STR, &o.description, "TEXT", "description attribute"},
        {"force", OPT_FLAG, &o.force, "", "overwrite FILE.h5 if it exists"},
        {NULL, 0, NULL, NULL, NULL}};
    int r = parse_flags(argc, argv, c, opts, NULL, 0, err);
    if (r)
        return r > 0 ? ADVML_OK : ADVML_ERR_ARG;
    advml_status st;
    if ((st = need(o.from, "--from FILE", c, err)) || (st = need(o.out, "--out FILE.h5", c, err)))
        return st;
    if (header && no_header)
        return advml_error_set(err, ADVML_ERR_ARG, "--header and --no-header contradict each other");
    o.header = header ? ADVML_CSV_HEADER_YES : no_header ? ADVML_CSV_HEADER_NO : ADVML_CSV_HEADER_AUTO;
    if ((st = advml_csv_convert(&o, err)))
        return st;
    return advml_dsinfo_summary(stdout, o.out, err);
}

static advml_status run_sine(int argc, char **argv, const command *c, advml_error *err)
{
    const char *kind = NULL;
    /* the kind sets the defaults, so find it first */
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--kind") == 0 && i + 1 < argc)
            kind = argv[i + 1];
        else if (strncmp(argv[i], "--kind=", 7) == 0)
            kind = argv[i] + 7;
    }
    int noisy = kind && strcmp(kind, "noisy") == 0;
    advml_sine_opts o;
    advml_sine_defaults(&o, noisy);
    o.command_line = command_line;
    int64_t window = o.window;
    int fl = 0, sl = 0;
    const opt opts[] = {
        {"kind", OPT_STR, &kind, "clean|noisy", "clean: sin over linspace(0, 4 pi, 1000), windows of 20 (PyTorch);"
                                                " noisy: sin(0.02 t) + 2 U(0,1), windows of 4 (Keras)"},
        {"out", OPT_STR, &o.out, "FILE.h5", "output file"},
        {"length", OPT_INT, &o.length, "N", "points in the series (default 1000)"},
        {"train", OPT_INT, &o.train, "N", "first N points form the training part (default 800)"},
        {"window", OPT_INT, &window, "W", "window length (default 20 clean, 4 noisy)"},
        {"holdout", OPT_STR, &o.holdout, "validation|test", "split of the remaining points (default validation "
                                                               "clean, test noisy)"},
        {"t-max", OPT_DBL, &o.t_max, "T", "clean: end of the time grid (default 4 pi)"},
        {"freq", OPT_DBL, &o.freq, "W", "noisy: angular frequency (default 0.02)"},
        {"noise", OPT_DBL, &o.noise, "A", "noisy: noise amplitude, A U(0,1) (default 2)"},
        {"seed", OPT_U64, &o.seed, "S", "noisy: noise seed (default 1)"},
        {"steps-layout", OPT_FLAG, &sl, "", "inputs (N, W, 1): W time steps (default clean)"},
        {"features-layout", OPT_FLAG, &fl, "", "inputs (N, 1, W): one step of W features (default noisy)"},
        {"pad", OPT_FLAG, &o.pad, "", "repeat each part's last value W times, as the Keras example "
                                      "(800 + 200 windows)"},
        {"force", OPT_FLAG, &o.force, "", "overwrite FILE.h5 if it exists"},
        {NULL, 0, NULL, NULL, NULL}};
    int r = parse_flags(argc, argv, c, opts, NULL, 0, err);
    if (r)
        return r > 0 ? ADVML_OK : ADVML_ERR_ARG;
    advml_status st;
    if ((st = need(kind, "--kind clean|noisy", c, err)) || (st = need(o.out, "--out FILE.h5", c, err)))
        return st;
    if (strcmp(kind, "clean") != 0 && strcmp(kind, "noisy") != 0)
        return advml_error_set(err, ADVML_ERR_ARG, "--kind %s: expected clean or noisy", kind);
    if (fl && sl)
        return advml_error_set(err, ADVML_ERR_ARG, "--steps-layout and --features-layout contradict each other");
    if (fl || sl)
        o.features_layout = fl;
    if (window < 1 || window > 1000000)
        return advml_error_set(err, ADVML_ERR_ARG, "--window %lld: must be between 1 and 1000000", (long long)window);
    o.window = (int)window;
    if ((st = advml_sine_convert(&o, err)))
        return st;
    return advml_dsinfo_summary(stdout, o.out, err);
}

static advml_status run_oscillator(int argc, char **argv, const command *c, advml_error *err)
{
    advml_osc_opts o;
    advml_osc_opts_defaults(&o);
    o.command_line = command_line;
    int64_t window = o.window;
    const opt opts[] = {
        {"out", OPT_STR, &o.out, "FILE.h5", "output file"},
        {"eta", OPT_DBL, &o.p.eta, "ETA", "damping (default 0.2)"},
        {"F0", OPT_DBL, &o.p.F0, "F0", "driving amplitude, F(t) = F0 cos(omega t) (default 1)"},
        {"omega", OPT_DBL, &o.p.omega, "W", "driving angular frequency (default 0.5)"},
        {"dt", OPT_DBL, &o.p.dt, "DT", "time step (default 0.1)"},
        {"steps", OPT_INT, &o.p.steps, "N", "integration steps; the series has N + 1 points (default 2000)"},
        {"x0", OPT_DBL, &o.p.x0, "X", "initial position (default 1)"},
        {"v0", OPT_DBL, &o.p.v0, "V", "initial velocity (default 0)"},
        {"euler", OPT_FLAG, &o.p.euler, "", "integrate with forward Euler, as the course (default RK4)"},
        {"window", OPT_INT, &window, "W", "window length in steps (default 20)"},
        {"inputs", OPT_STR, &o.inputs, "LIST", "per-step inputs, a comma list of t, x, v, F (default x,F)"},
        {"target", OPT_STR, &o.target, "v|x", "predicted value after each window (default v)"},
        {"train-fraction", OPT_DBL, &o.train_fraction, "F", "share of the points in the training part (default 0.8)"},
        {"holdout", OPT_STR, &o.holdout, "validation|test", "split of the remaining points (default validation)"},
        {"features-layout", OPT_FLAG, &o.features_layout, "", "inputs (N, 1, W*F) instead of (N, W, F)"},
        {"force", OPT_FLAG, &o.force, "", "overwrite FILE.h5 if it exists"},
        {NULL, 0, NULL, NULL, NULL}};
    int r = parse_flags(argc, argv, c, opts, NULL, 0, err);
    if (r)
        return r > 0 ? ADVML_OK : ADVML_ERR_ARG;
    advml_status st;
    if ((st = need(o.out, "--out FILE.h5", c, err)))
        return st;
    if (window < 1 || window > 1000000)
        return advml_error_set(err, ADVML_ERR_ARG, "--window %lld: must be between 1 and 1000000", (long long)window);
    o.window = (int)window;
    if ((st = advml_osc_convert(&o, err)))
        return st;
    return advml_dsinfo_summary(stdout, o.out, err);
}

static advml_status run_info(int argc, char **argv, const command *c, advml_error *err)
{
    const char *file = NULL;
    const opt opts[] = {{NULL, 0, NULL, NULL, NULL}};
    int r = parse_flags(argc, argv, c, opts, &file, 1, err);
    if (r)
        return r > 0 ? ADVML_OK : ADVML_ERR_ARG;
    advml_status st = need(file, "FILE.h5", c, err);
    return st ? st : advml_dsinfo_print(stdout, file, err);
}

/* ---- the tool ------------------------------------------------------------------------ */

static const command commands[] = {
    {"mnist", "--from DIR --out FILE.h5 [options]",
     "Convert the MNIST or Fashion-MNIST IDX files (train-images-idx3-ubyte, train-labels-idx1-ubyte,\n"
     "t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte, each plain or .gz) into /train and /test\n"
     "(uint8 images (N, 1, 28, 28), int32 labels) and, with --validation N, /validation.",
     "MNIST is normalised with mean 0.1307 and std 0.3081 (the course's PyTorch example), Fashion-MNIST\n"
     "with the mean and std of its training pixels; both with scale 1/255. --kind auto picks\n"
     "Fashion-MNIST when the directory name contains \"fashion\" or the labels are exactly 6000/1000\n"
     "per class, and then stores its class names (T-shirt/top, Trouser, ...).\n"
     "Example: advml-data mnist --from data/mnist --out data/mnist.h5 --validation 5000\n",
     run_mnist},
    {"csv", "--from FILE --out FILE.h5 [options]",
     "Convert a numeric CSV table (optionally .gz) into /train and optional /test and /validation:\n"
     "the target column(s) become /SPLIT/targets, the other columns /SPLIT/inputs (N, D) or, with\n"
     "--image C,H,W, images (N, C, H, W). Rows are shuffled with --seed before splitting.",
     "Errors name the line and column of a non-numeric or empty cell and the line of a ragged row.\n"
     "Example (the course's 8x8 digits, 80/20 split, pixels 0..16 scaled to [0, 1]):\n"
     "  advml-data csv --from data/digits.csv.gz --out data/digits.h5 --image 1,8,8 \\\n"
     "      --scale 0.0625 --test-fraction 0.2 --seed 1\n",
     run_csv},
    {"sine", "--kind clean|noisy --out FILE.h5 [options]",
     "Generate the course's sine series and cut it into windows that predict the next value:\n"
     "clean: sin(t), t = linspace(0, 4 pi, 1000), first 800 points train, the last 200 validation,\n"
     "windows of 20 (inputs (N, 20, 1)); noisy: sin(0.02 t) + 2 U(0,1), t = 0..999, first 800\n"
     "train, the rest test, windows of 4 (inputs (N, 1, 4), as the Keras example).",
     "Windows never straddle the train/holdout cut; /series/t and /series/x hold the raw series.\n",
     run_sine},
    {"oscillator", "--out FILE.h5 [options]",
     "Integrate the damped driven oscillator x'' + eta x' + x = F0 cos(omega t) (RK4, or forward\n"
     "Euler as the course with --euler), store the raw series /series/{t,x,v,F} and windows of\n"
     "the per-step inputs (default x and F) that predict the next v (or x).",
     "Example: advml-data oscillator --out data/oscillator.h5 --eta 0.2 --F0 1 --omega 0.5 --dt 0.1\n",
     run_oscillator},
    {"info", "FILE.h5", "Print a file's groups and datasets with shapes, dtypes, chunking, attributes and,\n"
                        "for class-id targets, the count of each class.", NULL, run_info},
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

static void usage(FILE *f)
{
    fprintf(f, "usage: advml-data COMMAND [options]   (advml %s)\n\n"
               "Convert data into advml's HDF5 dataset layout (docs/hdf5-layout.md).\n\ncommands:\n",
            ADVML_VERSION);
    for (size_t i = 0; i < NCOMMANDS; i++)
        fprintf(f, "  %-11s %s\n", commands[i].name, commands[i].usage);
    fprintf(f, "\n'advml-data COMMAND --help' describes a command. Existing outputs are kept unless --force;\n"
               "outputs are written to FILE.h5.tmp and renamed, so no partial file is left.\n");
}

static const command *find_command(const char *name)
{
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? advml_exit_code(ADVML_ERR_ARG) : 0;
    }
    const command *cmd = find_command(argv[1]);
    if (!cmd) {
        fprintf(stderr, "advml-data: unknown command \"%s\"\n\n", argv[1]);
        usage(stderr);
        return advml_exit_code(ADVML_ERR_ARG);
    }
    char *joined = advml_cli_join_args(argc, argv);
    if (joined)
        command_line = joined;
    advml_error err = {0};
    advml_status st = cmd->run(argc - 1, argv + 1, cmd, &err);
    if (st)
        fprintf(stderr, "advml-data %s: %s\n", cmd->name, err.msg);
    free(joined);
    return advml_exit_code(st);
}

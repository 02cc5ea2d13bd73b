/* advml-data - convert datasets into advml's HDF5 layout (docs/hdf5-layout.md).
 *
 *   advml-data mnist --from DIR --out FILE.h5        MNIST / Fashion-MNIST IDX files
 *   advml-data csv --from FILE --out FILE.h5 ...     numeric CSV (e.g. the 8x8 digits)
 *   advml-data sine --kind clean|noisy --out FILE.h5 the course's sine series
 *   advml-data oscillator --out FILE.h5 ...          the damped driven oscillator
 *   advml-data lorenz63 --out FILE.h5 ...            the Lorenz-63 system (RK4, Lyapunov exponent)
 *   advml-data lorenz96 --out FILE.h5 ...            the Lorenz-96 system (RK4, Lyapunov exponent)
 *   advml-data ks --out FILE.h5 ...                  Kuramoto-Sivashinsky (ETDRK4, Lyapunov exponent)
 *   advml-data info FILE.h5                          layout, shapes, attributes, class counts
 *
 * main() only dispatches; each subcommand parses its flags into the options
 * of a library module (mnist.h, csvdata.h, timeseries.h, chaos.h, dataset_info.h).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "advml/chaos.h"
#include "advml/ks.h"
#include "advml/cli.h"
#include "advml/csvdata.h"
#include "advml/dataset_info.h"
#include "advml/mnist.h"
#include "advml/status.h"
#include "advml/timeseries.h"
#include "advml/version.h"

/* ---- the subcommands: their flags and what they do with them --------------------------
 *
 * Each parses into its own ARGS struct (first member: int help) by one flag
 * table (src/cli.c: parsing and --help), then run() checks what the table
 * cannot, calls the library module and names the file it wrote. */

#define FLAG(name, type, field, arg, help) {name, offsetof(ARGS, field), 0, type, arg, help}
#define SWITCH(name, field, help) {name, offsetof(ARGS, field), 1, ADVML_CLI_STRING, NULL, help}
#define HELP_SWITCH SWITCH("--help", help, "show this help")

/* The command line, recorded in the output file (set by main). */
static const char *command_line = "";

typedef struct mnist_args {
    int help;
    advml_mnist_opts o;
    const char *kind;
} mnist_args;

#define ARGS mnist_args
static const advml_cli_flag mnist_flags[] = {
    FLAG("--from", ADVML_CLI_STRING, o.from, "DIR", "directory with the four IDX files (plain or .gz)"),
    FLAG("--out", ADVML_CLI_STRING, o.out, "FILE.h5", "output file"),
    FLAG("--validation", ADVML_CLI_INT64, o.validation, "N",
         "hold out the last N training images as /validation (default 0)"),
    FLAG("--kind", ADVML_CLI_STRING, kind, "auto|mnist|fashion", "dataset (default auto: see below)"),
    SWITCH("--compute-stats", o.compute_stats, "normalise MNIST with its own train mean/std too"),
    SWITCH("--force", o.force, "overwrite FILE.h5 if it exists"),
    HELP_SWITCH};
#undef ARGS

static void mnist_defaults(void *args, int argc, char **argv)
{
    (void)argc, (void)argv;
    mnist_args *a = args;
    a->kind = "auto";
}

static advml_status mnist_run(void *args, const advml_cli_spec *spec, const char **wrote, advml_error *err)
{
    mnist_args *a = args;
    advml_mnist_opts *o = &a->o;
    advml_status st;
    if ((st = advml_cli_required(spec, o->from, "--from DIR", err)) ||
        (st = advml_cli_required(spec, o->out, "--out FILE.h5", err)))
        return st;
    if (strcmp(a->kind, "auto") == 0)
        o->kind = ADVML_MNIST_AUTO;
    else if (strcmp(a->kind, "mnist") == 0)
        o->kind = ADVML_MNIST_DIGITS;
    else if (strcmp(a->kind, "fashion") == 0)
        o->kind = ADVML_MNIST_FASHION;
    else
        return advml_error_set(err, ADVML_ERR_ARG, "--kind %s: expected auto, mnist or fashion", a->kind);
    o->command_line = command_line;
    *wrote = o->out;
    return advml_mnist_convert(o, err);
}

typedef struct csv_args {
    int help;
    advml_csv_opts o;
    int header, no_header;
} csv_args;

#define ARGS csv_args
static const advml_cli_flag csv_flags[] = {
    FLAG("--from", ADVML_CLI_STRING, o.from, "FILE", "CSV file, plain or .gz"),
    FLAG("--out", ADVML_CLI_STRING, o.out, "FILE.h5", "output file"),
    FLAG("--target", ADVML_CLI_STRING, o.target, "COLS",
         "target column(s): 0-based index, -1 = last, or header name; comma list (default -1)"),
    FLAG("--target-kind", ADVML_CLI_STRING, o.target_kind, "auto|class|value",
         "class ids or values (default auto: class ids if one column of integers >= 0)"),
    FLAG("--class-names", ADVML_CLI_STRING, o.class_names, "A,B,...", "names of the classes (default \"0\", \"1\", ...)"),
    FLAG("--image", ADVML_CLI_STRING, o.image, "C,H,W", "reshape the feature columns into C x H x W images"),
    FLAG("--test-fraction", ADVML_CLI_DOUBLE, o.test_fraction, "F", "share of rows in /test, rounded up (default 0)"),
    FLAG("--validation-fraction", ADVML_CLI_DOUBLE, o.validation_fraction, "F", "share of rows in /validation (default 0)"),
    FLAG("--seed", ADVML_CLI_UINT64, o.seed, "S", "seed of the row shuffle before splitting (default 1)"),
    SWITCH("--no-shuffle", o.no_shuffle, "split in file order (test = the last rows)"),
    SWITCH("--header", header, "the first line is a header"),
    SWITCH("--no-header", no_header, "the first line is data (default: detected)"),
    FLAG("--delimiter", ADVML_CLI_CHAR, o.delimiter, "C", "cell separator (default ','; 'tab' for tabs)"),
    FLAG("--scale", ADVML_CLI_DOUBLE, o.scale, "S", "normalisation: x = (raw * S - mean) / std (default 1)"),
    FLAG("--mean", ADVML_CLI_DOUBLE, o.mean, "M", "normalisation mean (default 0)"),
    FLAG("--std", ADVML_CLI_DOUBLE, o.std, "D", "normalisation std (default 1)"),
    SWITCH("--standardize", o.standardize, "compute mean and std of raw * scale over the train split"),
    FLAG("--source", ADVML_CLI_STRING, o.source, "TEXT", "source attribute (default: the CSV path)"),
    FLAG("--description", ADVML_CLI_STRING, o.description, "TEXT", "description attribute"),
    SWITCH("--force", o.force, "overwrite FILE.h5 if it exists"),
    HELP_SWITCH};
#undef ARGS

static void csv_defaults(void *args, int argc, char **argv)
{
    (void)argc, (void)argv;
    advml_csv_defaults(&((csv_args *)args)->o);
}

static advml_status csv_run(void *args, const advml_cli_spec *spec, const char **wrote, advml_error *err)
{
    csv_args *a = args;
    advml_csv_opts *o = &a->o;
    advml_status st;
    if ((st = advml_cli_required(spec, o->from, "--from FILE", err)) ||
        (st = advml_cli_required(spec, o->out, "--out FILE.h5", err)))
        return st;
    if (a->header && a->no_header)
        return advml_error_set(err, ADVML_ERR_ARG, "--header and --no-header contradict each other");
    o->header = a->header ? ADVML_CSV_HEADER_YES : a->no_header ? ADVML_CSV_HEADER_NO : ADVML_CSV_HEADER_AUTO;
    o->command_line = command_line;
    *wrote = o->out;
    return advml_csv_convert(o, err);
}

/* A window length flag: 1 to 1000000 steps. */
static advml_status window_steps(int64_t w, int *out, advml_error *err)
{
    if (w < 1 || w > 1000000)
        return advml_error_set(err, ADVML_ERR_ARG, "--window %lld: must be between 1 and 1000000", (long long)w);
    *out = (int)w;
    return ADVML_OK;
}

typedef struct sine_args {
    int help;
    advml_sine_opts o;
    const char *kind;
    int64_t window;
    int steps_layout, features_layout;
} sine_args;

#define ARGS sine_args
static const advml_cli_flag sine_flags[] = {
    FLAG("--kind", ADVML_CLI_STRING, kind, "clean|noisy",
         "clean: sin over linspace(0, 4 pi, 1000), windows of 20 (PyTorch); noisy: sin(0.02 t) + 2 U(0,1), "
         "windows of 4 (Keras)"),
    FLAG("--out", ADVML_CLI_STRING, o.out, "FILE.h5", "output file"),
    FLAG("--length", ADVML_CLI_INT64, o.length, "N", "points in the series (default 1000)"),
    FLAG("--train", ADVML_CLI_INT64, o.train, "N", "first N points form the training part (default 800)"),
    FLAG("--window", ADVML_CLI_INT64, window, "W", "window length (default 20 clean, 4 noisy)"),
    FLAG("--holdout", ADVML_CLI_STRING, o.holdout, "validation|test",
         "split of the remaining points (default validation clean, test noisy)"),
    FLAG("--t-max", ADVML_CLI_DOUBLE, o.t_max, "T", "clean: end of the time grid (default 4 pi)"),
    FLAG("--freq", ADVML_CLI_DOUBLE, o.freq, "W", "noisy: angular frequency (default 0.02)"),
    FLAG("--noise", ADVML_CLI_DOUBLE, o.noise, "A", "noisy: noise amplitude, A U(0,1) (default 2)"),
    FLAG("--seed", ADVML_CLI_UINT64, o.seed, "S", "noisy: noise seed (default 1)"),
    SWITCH("--steps-layout", steps_layout, "inputs (N, W, 1): W time steps (default clean)"),
    SWITCH("--features-layout", features_layout, "inputs (N, 1, W): one step of W features (default noisy)"),
    SWITCH("--pad", o.pad, "repeat each part's last value W times, as the Keras example (800 + 200 windows)"),
    SWITCH("--force", o.force, "overwrite FILE.h5 if it exists"),
    HELP_SWITCH};
#undef ARGS

/* The kind sets the defaults, so it is found before the flags are parsed. */
static void sine_defaults(void *args, int argc, char **argv)
{
    sine_args *a = args;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--kind") == 0 && i + 1 < argc)
            a->kind = argv[i + 1];
        else if (strncmp(argv[i], "--kind=", 7) == 0)
            a->kind = argv[i] + 7;
    }
    advml_sine_defaults(&a->o, a->kind && strcmp(a->kind, "noisy") == 0);
    a->window = a->o.window;
}

static advml_status sine_run(void *args, const advml_cli_spec *spec, const char **wrote, advml_error *err)
{
    sine_args *a = args;
    advml_sine_opts *o = &a->o;
    advml_status st;
    if ((st = advml_cli_required(spec, a->kind, "--kind clean|noisy", err)) ||
        (st = advml_cli_required(spec, o->out, "--out FILE.h5", err)))
        return st;
    if (strcmp(a->kind, "clean") != 0 && strcmp(a->kind, "noisy") != 0)
        return advml_error_set(err, ADVML_ERR_ARG, "--kind %s: expected clean or noisy", a->kind);
    if (a->features_layout && a->steps_layout)
        return advml_error_set(err, ADVML_ERR_ARG, "--steps-layout and --features-layout contradict each other");
    if (a->features_layout || a->steps_layout)
        o->features_layout = a->features_layout;
    if ((st = window_steps(a->window, &o->window, err)))
        return st;
    o->command_line = command_line;
    *wrote = o->out;
    return advml_sine_convert(o, err);
}

typedef struct osc_args {
    int help;
    advml_osc_opts o;
    int64_t window;
} osc_args;

#define ARGS osc_args
static const advml_cli_flag osc_flags[] = {
    FLAG("--out", ADVML_CLI_STRING, o.out, "FILE.h5", "output file"),
    FLAG("--eta", ADVML_CLI_DOUBLE, o.p.eta, "ETA", "damping (default 0.2)"),
    FLAG("--F0", ADVML_CLI_DOUBLE, o.p.F0, "F0", "driving amplitude, F(t) = F0 cos(omega t) (default 1)"),
    FLAG("--omega", ADVML_CLI_DOUBLE, o.p.omega, "W", "driving angular frequency (default 0.5)"),
    FLAG("--dt", ADVML_CLI_DOUBLE, o.p.dt, "DT", "time step (default 0.1)"),
    FLAG("--steps", ADVML_CLI_INT64, o.p.steps, "N", "integration steps; the series has N + 1 points (default 2000)"),
    FLAG("--x0", ADVML_CLI_DOUBLE, o.p.x0, "X", "initial position (default 1)"),
    FLAG("--v0", ADVML_CLI_DOUBLE, o.p.v0, "V", "initial velocity (default 0)"),
    SWITCH("--euler", o.p.euler, "integrate with forward Euler, as the course (default RK4)"),
    FLAG("--window", ADVML_CLI_INT64, window, "W", "window length in steps (default 20)"),
    FLAG("--inputs", ADVML_CLI_STRING, o.inputs, "LIST", "per-step inputs, a comma list of t, x, v, F (default x,F)"),
    FLAG("--target", ADVML_CLI_STRING, o.target, "v|x", "predicted value after each window (default v)"),
    FLAG("--train-fraction", ADVML_CLI_DOUBLE, o.train_fraction, "F",
         "share of the points in the training part (default 0.8)"),
    FLAG("--holdout", ADVML_CLI_STRING, o.holdout, "validation|test", "split of the remaining points (default validation)"),
    SWITCH("--features-layout", o.features_layout, "inputs (N, 1, W*F) instead of (N, W, F)"),
    SWITCH("--force", o.force, "overwrite FILE.h5 if it exists"),
    HELP_SWITCH};
#undef ARGS

static void osc_defaults(void *args, int argc, char **argv)
{
    (void)argc, (void)argv;
    osc_args *a = args;
    advml_osc_opts_defaults(&a->o);
    a->window = a->o.window;
}

static advml_status osc_run(void *args, const advml_cli_spec *spec, const char **wrote, advml_error *err)
{
    osc_args *a = args;
    advml_osc_opts *o = &a->o;
    advml_status st;
    if ((st = advml_cli_required(spec, o->out, "--out FILE.h5", err)) ||
        (st = window_steps(a->window, &o->window, err)))
        return st;
    o->command_line = command_line;
    *wrote = o->out;
    return advml_osc_convert(o, err);
}

typedef struct chaos_args {
    int help;
    advml_chaos_opts o;
    int64_t window, dim;
} chaos_args;

/* the step's help, by system */
#define RK4_DT_HELP "RK4 step (default 0.01)"
#define KS_DT_HELP "ETDRK4 step (default 0.25)"

#define ARGS chaos_args
#define CHAOS_COMMON_FLAGS(dt_help)                                                                                \
    FLAG("--out", ADVML_CLI_STRING, o.out, "FILE.h5", "output file"),                                              \
        FLAG("--dt", ADVML_CLI_DOUBLE, o.p.dt, "DT", dt_help),                                                     \
        FLAG("--sample-every", ADVML_CLI_INT64, o.sample_every, "K",                                               \
             "store every K-th step: sampling step K dt (default 1)"),                                             \
        FLAG("--length", ADVML_CLI_INT64, o.length, "N", "stored points (default 10000)"),                         \
        FLAG("--transient", ADVML_CLI_DOUBLE, o.transient, "T", "time units integrated and discarded first (default 100)"), \
        FLAG("--seed", ADVML_CLI_UINT64, o.seed, "S", "seed of the random initial condition (default 1)"),         \
        FLAG("--window", ADVML_CLI_INT64, window, "W", "window length in points (default 20)"),                    \
        FLAG("--train-fraction", ADVML_CLI_DOUBLE, o.train_fraction, "F",                                          \
             "share of the points in the training part (default 0.8)"),                                            \
        FLAG("--holdout", ADVML_CLI_STRING, o.holdout, "validation|test",                                          \
             "split of the remaining points (default validation)"),                                                \
        SWITCH("--raw", o.raw, "windows in the system's units (default: each component standardised)"),           \
        FLAG("--lyapunov-time", ADVML_CLI_DOUBLE, o.lyap_time, "T",                                                \
             "time units over which the Lyapunov exponent is averaged (default 1000; ks 10000)"),                  \
        SWITCH("--force", o.force, "overwrite FILE.h5 if it exists"), HELP_SWITCH
static const advml_cli_flag lorenz63_flags[] = {
    FLAG("--sigma", ADVML_CLI_DOUBLE, o.p.sigma, "S", "sigma (default 10)"),
    FLAG("--rho", ADVML_CLI_DOUBLE, o.p.rho, "R", "rho (default 28)"),
    FLAG("--beta", ADVML_CLI_DOUBLE, o.p.beta, "B", "beta (default 8/3)"),
    CHAOS_COMMON_FLAGS(RK4_DT_HELP)};
static const advml_cli_flag lorenz96_flags[] = {
    FLAG("--dim", ADVML_CLI_INT64, dim, "N", "number of components (default 40)"),
    FLAG("--forcing", ADVML_CLI_DOUBLE, o.p.forcing, "F", "forcing F (default 8)"),
    CHAOS_COMMON_FLAGS(RK4_DT_HELP)};
static const advml_cli_flag ks_flags[] = {
    FLAG("--size", ADVML_CLI_DOUBLE, o.p.size, "L", "domain length L (default 22)"),
    FLAG("--points", ADVML_CLI_INT64, dim, "N", "grid points, even, 8..1024 (default 64)"),
    CHAOS_COMMON_FLAGS(KS_DT_HELP)};
#undef CHAOS_COMMON_FLAGS
#undef RK4_DT_HELP
#undef KS_DT_HELP
#undef ARGS

static void chaos_defaults(chaos_args *a, advml_chaos_system s)
{
    advml_chaos_opts_defaults(&a->o, s);
    a->window = a->o.window;
    a->dim = a->o.p.dim;
}
static void lorenz63_defaults(void *args, int argc, char **argv)
{
    (void)argc, (void)argv;
    chaos_defaults(args, ADVML_LORENZ63);
}
static void lorenz96_defaults(void *args, int argc, char **argv)
{
    (void)argc, (void)argv;
    chaos_defaults(args, ADVML_LORENZ96);
}
static void ks_defaults(void *args, int argc, char **argv)
{
    (void)argc, (void)argv;
    chaos_defaults(args, ADVML_KS);
}

static advml_status chaos_run(void *args, const advml_cli_spec *spec, const char **wrote, advml_error *err)
{
    chaos_args *a = args;
    advml_chaos_opts *o = &a->o;
    advml_status st;
    if ((st = advml_cli_required(spec, o->out, "--out FILE.h5", err)) || (st = window_steps(a->window, &o->window, err)))
        return st;
    if (o->p.system == ADVML_LORENZ96) {
        if (a->dim < 4 || a->dim > ADVML_CHAOS_MAX_DIM)
            return advml_error_set(err, ADVML_ERR_ARG, "--dim %lld: Lorenz-96 needs between 4 and %d components",
                                   (long long)a->dim, ADVML_CHAOS_MAX_DIM);
        o->p.dim = (int)a->dim;
    } else if (o->p.system == ADVML_KS) {
        if (a->dim < ADVML_KS_MIN_POINTS || a->dim > ADVML_KS_MAX_POINTS || a->dim % 2 != 0)
            return advml_error_set(err, ADVML_ERR_ARG, "--points %lld: Kuramoto-Sivashinsky needs an even number of "
                                   "grid points between %d and %d", (long long)a->dim, ADVML_KS_MIN_POINTS,
                                   ADVML_KS_MAX_POINTS);
        o->p.dim = (int)a->dim;
    }
    o->command_line = command_line;
    *wrote = o->out;
    return advml_chaos_convert(o, err);
}

typedef struct info_args {
    int help;
    const char *file;
} info_args;

#define ARGS info_args
static const advml_cli_flag info_flags[] = {FLAG("FILE.h5", ADVML_CLI_STRING, file, NULL, NULL), HELP_SWITCH};
#undef ARGS

static advml_status info_run(void *args, const advml_cli_spec *spec, const char **wrote, advml_error *err)
{
    (void)wrote;
    info_args *a = args;
    advml_status st = advml_cli_required(spec, a->file, "FILE.h5", err);
    return st ? st : advml_dsinfo_print(stdout, a->file, err);
}

typedef struct command {
    const char *name;
    const char *usage;     /* one line after "advml-data NAME " */
    const char *summary;   /* what it does */
    const char *details;   /* printed after the flags in --help */
    const advml_cli_flag *flags;
    size_t nflags;
    size_t args_size;      /* its ARGS struct, whose first member is int help */
    void (*defaults)(void *args, int argc, char **argv); /* before the flags (may be NULL) */
    /* after the flags: check, convert, set *wrote to the file written (left NULL: none) */
    advml_status (*run)(void *args, const advml_cli_spec *spec, const char **wrote, advml_error *err);
} command;

#define FLAGS(f) f, sizeof f / sizeof f[0]

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
     FLAGS(mnist_flags), sizeof(mnist_args), mnist_defaults, mnist_run},
    {"csv", "--from FILE --out FILE.h5 [options]",
     "Convert a numeric CSV table (optionally .gz) into /train and optional /test and /validation:\n"
     "the target column(s) become /SPLIT/targets, the other columns /SPLIT/inputs (N, D) or, with\n"
     "--image C,H,W, images (N, C, H, W). Rows are shuffled with --seed before splitting.",
     "Errors name the line and column of a non-numeric or empty cell and the line of a ragged row.\n"
     "Example (the course's 8x8 digits, 80/20 split, pixels 0..16 scaled to [0, 1]):\n"
     "  advml-data csv --from data/digits.csv.gz --out data/digits.h5 --image 1,8,8 \\\n"
     "      --scale 0.0625 --test-fraction 0.2 --seed 1\n",
     FLAGS(csv_flags), sizeof(csv_args), csv_defaults, csv_run},
    {"sine", "--kind clean|noisy --out FILE.h5 [options]",
     "Generate the course's sine series and cut it into windows that predict the next value:\n"
     "clean: sin(t), t = linspace(0, 4 pi, 1000), first 800 points train, the last 200 validation,\n"
     "windows of 20 (inputs (N, 20, 1)); noisy: sin(0.02 t) + 2 U(0,1), t = 0..999, first 800\n"
     "train, the rest test, windows of 4 (inputs (N, 1, 4), as the Keras example).",
     "Windows never straddle the train/holdout cut; /series/t and /series/x hold the raw series.\n",
     FLAGS(sine_flags), sizeof(sine_args), sine_defaults, sine_run},
    {"oscillator", "--out FILE.h5 [options]",
     "Integrate the damped driven oscillator x'' + eta x' + x = F0 cos(omega t) (RK4, or forward\n"
     "Euler as the course with --euler), store the raw series /series/{t,x,v,F} and windows of\n"
     "the per-step inputs (default x and F) that predict the next v (or x).",
     "Example: advml-data oscillator --out data/oscillator.h5 --eta 0.2 --F0 1 --omega 0.5 --dt 0.1\n",
     FLAGS(osc_flags), sizeof(osc_args), osc_defaults, osc_run},
    {"lorenz63", "--out FILE.h5 [options]",
     "Integrate the Lorenz-63 system x' = sigma (y - x), y' = x (rho - z) - y, z' = x y - beta z\n"
     "(classical RK4 at a fixed step) from a seeded random initial condition, discard a transient,\n"
     "store the raw series /series/{t,x,y,z} and windows of (x, y, z) that predict the next state,\n"
     "and record the largest Lyapunov exponent (Benettin, tangent-linear) on /series.",
     "The windows are standardised per component with the training part's mean and std (stored as\n"
     "/series attributes component_mean, component_std) unless --raw. Lyapunov time = 1/lambda.\n"
     "Example: advml-data lorenz63 --out data/lorenz63.h5 --length 10000 --sample-every 2\n",
     FLAGS(lorenz63_flags), sizeof(chaos_args), lorenz63_defaults, chaos_run},
    {"lorenz96", "--out FILE.h5 [options]",
     "Integrate the Lorenz-96 system x_i' = (x_{i+1} - x_{i-2}) x_{i-1} - x_i + F (cyclic, N components;\n"
     "classical RK4 at a fixed step) from a seeded random initial condition, discard a transient,\n"
     "store the raw series /series/{t,x0..x(N-1)} and windows of the state that predict the next state,\n"
     "and record the largest Lyapunov exponent (Benettin, tangent-linear) on /series.",
     "The windows are standardised per component as for lorenz63 unless --raw.\n"
     "Example: advml-data lorenz96 --out data/lorenz96.h5 --dim 40 --forcing 8\n",
     FLAGS(lorenz96_flags), sizeof(chaos_args), lorenz96_defaults, chaos_run},
    {"ks", "--out FILE.h5 [options]",
     "Integrate the Kuramoto-Sivashinsky equation u_t = -u u_x - u_xx - u_xxxx on [0, L) (periodic,\n"
     "N grid points x_j = j L / N) pseudo-spectrally by ETDRK4 (Cox-Matthews; coefficients by the\n"
     "Kassam-Trefethen contour integral) from a seeded zero-mean state of four random low Fourier modes,\n"
     "discard a transient, store the raw series /series/{t,u0..u(N-1)} and windows of the state that\n"
     "predict the next state, and record the largest Lyapunov exponent (Benettin, tangent-linear\n"
     "equation by the same ETDRK4) on /series.",
     "The real DFTs are dense cos/sin matrix products (OpenBLAS, O(N^2) each; no FFT library), no\n"
     "dealiasing, mean mode held at 0. The windows are standardised per component as for lorenz63\n"
     "unless --raw. L = 22: lambda_1 about 0.043-0.048 in the literature.\n"
     "Example: advml-data ks --out data/ks.h5 --size 22 --points 64 --dt 0.25 --length 10000\n",
     FLAGS(ks_flags), sizeof(chaos_args), ks_defaults, chaos_run},
    {"info", "FILE.h5", "Print a file's groups and datasets with shapes, dtypes, chunking, attributes and,\n"
                        "for class-id targets, the count of each class.", NULL,
     FLAGS(info_flags), sizeof(info_args), NULL, info_run},
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

/* Subcommand c on argv (argv[0] its name): parse its flags (answering
 * --help with its help text: usage line, summary, flags, details), run it,
 * and summarise the file it wrote. */
static advml_status run_command(const command *c, int argc, char **argv, advml_error *err)
{
    char name[48], usage_text[1024], footer[1024];
    snprintf(name, sizeof name, "advml-data %s", c->name);
    snprintf(usage_text, sizeof usage_text, "usage: advml-data %s %s\n\n%s\n\n", c->name, c->usage, c->summary);
    snprintf(footer, sizeof footer, "%s%s", c->details ? "\n" : "", c->details ? c->details : "");
    const advml_cli_spec spec = {name, c->flags, c->nflags, usage_text, 26, footer};
    void *args = calloc(1, c->args_size);
    if (!args)
        return advml_error_set(err, ADVML_ERR_NOMEM, "out of memory");
    if (c->defaults)
        c->defaults(args, argc, argv);
    const char *wrote = NULL;
    advml_status st = advml_cli_parse_spec(&spec, argc, argv, args, err);
    if (!st && *(int *)args) /* help */
        advml_cli_help(stdout, &spec);
    else if (!st && !(st = c->run(args, &spec, &wrote, err)) && wrote)
        st = advml_dsinfo_summary(stdout, wrote, err);
    free(args);
    return st;
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
    advml_status st = run_command(cmd, argc - 1, argv + 1, &err);
    if (st)
        fprintf(stderr, "advml-data %s: %s\n", cmd->name, err.msg);
    free(joined);
    return advml_exit_code(st);
}

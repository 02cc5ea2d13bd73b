/* config.c - strict JSON config parsing with jansson (see include/advml/config.h).
 *
 * Every field is read through a small getter that knows the field path
 * ("model[3].kernel") so that each message says where, what was expected and
 * what was found. Unknown keys are errors: each object is checked against the
 * keys its section (or layer type, or optimizer) allows.
 */
#include "advml/config.h"
#include "advml/numfmt.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- error helpers --------------------------------------------------------- */

typedef struct pctx {
    const char *src;   /* file name for messages */
    advml_error *err;
} pctx;

static advml_status fail(const pctx *p, const char *path, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

static advml_status fail(const pctx *p, const char *path, const char *fmt, ...)
{
    char what[ADVML_ERROR_MSG_LEN];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return advml_error_set(p->err, ADVML_ERR_CONFIG, "%.300s: %.200s: %.500s", p->src, path, what);
}

/* Short JSON text of a value for "got ..." (truncated with "..."). */
static const char *show(const json_t *v, char *buf, size_t n)
{
    char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
    if (!s) {
        snprintf(buf, n, "?");
        return buf;
    }
    if (strlen(s) > 48)
        snprintf(buf, n, "%.45s...", s);
    else
        snprintf(buf, n, "%s", s);
    free(s);
    return buf;
}

static const char *type_word(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    case JSON_NULL: return "null";
    }
    return "a value";
}

static void join_path(char *out, size_t n, const char *path, const char *key)
{
    if (path[0])
        snprintf(out, n, "%s.%s", path, key);
    else
        snprintf(out, n, "%s", key);
}

/* ---- unknown keys: suggestions ------------------------------------------- */

static int edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 31 || lb > 31)
        return 99;
    int d[32][32];
    for (size_t i = 0; i <= la; i++)
        d[i][0] = (int)i;
    for (size_t j = 0; j <= lb; j++)
        d[0][j] = (int)j;
    for (size_t i = 1; i <= la; i++)
        for (size_t j = 1; j <= lb; j++) {
            int c = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
            int del = d[i - 1][j] + 1, ins = d[i][j - 1] + 1;
            d[i][j] = c < del ? (c < ins ? c : ins) : (del < ins ? del : ins);
        }
    return d[la][lb];
}

/* Names users bring from Keras and PyTorch for the sections' keys, mapped to
 * ours (a layer key's own are in its kind's table: advml_layer_key.aliases). */
static const char *const alias_table[][2] = {
    {"learning_rate", "lr"}, {"batch", "batch_size"}, {"batchsize", "batch_size"},
    {"weight_decay", "l2"},  {"lambda", "l2"},         {"lmbd", "l2"},
    {"epsilon", "eps"},      {"beta_1", "beta1"},      {"beta_2", "beta2"},
    {"kind", "type"},        {"layers", "model"},      {"optimiser", "optimizer"},
    {"cost", "loss"},        {"clipnorm", "clip_norm"}, {"dataset", "data"},
    {"scheduler", "schedule"}, {"lr_scheduler", "schedule"}, {"lr_schedule", "schedule"},
    {"type", "name"},          {"T_max", "decay_steps"}, {"eta_min", "min_lr"},  {"threshold", "min_delta"},
    {"decay_rate", "gamma"},   {"warmup", "warmup_steps"}, {"val_split", "validation_split"},
    {"class_weights", "class_weight"}, {"augmentation", "augment"}, {"early_stop", "early_stopping"},
    {"earlystopping", "early_stopping"}, {"save_best", "best_checkpoint"}, {"checkpoint", "best_checkpoint"},
    {"restore_best", "restore_best_weights"}, {"flip", "horizontal_flip"}, {"hflip", "horizontal_flip"},
    {"gaussian_noise", "noise"}, {"translate", "shift"}, {"padding", "shift"}, {"k", "top_k"},
    {"init", "init_from"},     {"pretrained", "init_from"}, {"initial_weights", "init_from"},
    {NULL, NULL}};

/* 1 if key is one of the names users bring for target. */
static int alias_of(const char *key, const char *target)
{
    for (int i = 0; alias_table[i][0]; i++)
        if (!strcmp(key, alias_table[i][0]) && !strcmp(target, alias_table[i][1]))
            return 1;
    return 0;
}

static int in_list(const char *key, const char *const *list)
{
    for (int i = 0; list[i]; i++)
        if (!strcmp(key, list[i]))
            return 1;
    return 0;
}

static void list_text(char *buf, size_t n, const char *const *list)
{
    buf[0] = '\0';
    for (int i = 0; list[i]; i++) {
        size_t len = strlen(buf);
        snprintf(buf + len, n - len, "%s%s", i ? ", " : "", list[i]);
    }
}

/* Error for key (not in allowed) of the object at path. what names the
 * object ("a conv2d layer", "the optimizer adam") for the list of allowed
 * keys; kind (NULL outside layers) adds its keys' aliases to the hints. */
static advml_status unknown_key(const pctx *p, const char *path, const char *key, const char *const *allowed,
                                const char *what, const advml_layer_kind *kind)
{
    char kp[256], keys[512], hint[160] = "";
    join_path(kp, sizeof kp, path, key);
    list_text(keys, sizeof keys, allowed);
    for (const advml_layer_key *k = kind ? kind->keys : NULL; k && k->name && !hint[0]; k++)
        if (k->aliases && in_list(key, k->aliases) && in_list(k->name, allowed))
            snprintf(hint, sizeof hint, " (did you mean \"%s\"?)", k->name);
    for (int i = 0; !hint[0] && alias_table[i][0]; i++)
        if (!strcmp(key, alias_table[i][0]) && in_list(alias_table[i][1], allowed)) {
            snprintf(hint, sizeof hint, " (did you mean \"%s\"?)", alias_table[i][1]);
            break;
        }
    if (!hint[0]) {
        int best = 3;
        for (int i = 0; allowed[i]; i++) {
            int d = edit_distance(key, allowed[i]);
            if (d < best) {
                best = d;
                snprintf(hint, sizeof hint, " (did you mean \"%s\"?)", allowed[i]);
            }
        }
    }
    return fail(p, kp, "unknown key%s; %s takes: %s", hint, what, keys);
}

static advml_status check_keys(const pctx *p, const json_t *obj, const char *path, const char *const *allowed,
                               const char *what)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)obj, key, v) {
        (void)v;
        if (!in_list(key, allowed))
            return unknown_key(p, path, key, allowed, what, NULL);
    }
    return ADVML_OK;
}

/* ---- typed getters: return ADVML_OK and leave *out untouched when the key
 * is absent and not required. ---------------------------------------------- */

static advml_status get_int(const pctx *p, const json_t *obj, const char *path, const char *key, int required,
                            long long lo, long long hi, long long *out, int *present)
{
    char kp[256], b[64];
    join_path(kp, sizeof kp, path, key);
    json_t *v = json_object_get(obj, key);
    if (present)
        *present = v != NULL;
    if (!v)
        return required ? fail(p, kp, "missing (required)") : ADVML_OK;
    if (!json_is_integer(v)) {
        if (lo > 0)
            return fail(p, kp, "expected a positive integer, got %s", show(v, b, sizeof b));
        return fail(p, kp, "expected an integer, got %s", show(v, b, sizeof b));
    }
    long long x = json_integer_value(v);
    if (x < lo || x > hi) {
        if (lo == 1 && hi >= 1000000000LL)
            return fail(p, kp, "expected a positive integer, got %lld", x);
        return fail(p, kp, "expected an integer in [%lld, %lld], got %lld", lo, hi, x);
    }
    *out = x;
    return ADVML_OK;
}

static advml_status get_posint(const pctx *p, const json_t *obj, const char *path, const char *key, int required,
                               int *out)
{
    long long x = *out;
    advml_status s = get_int(p, obj, path, key, required, 1, 1000000000LL, &x, NULL);
    if (s == ADVML_OK)
        *out = (int)x;
    return s;
}

/* A pair of positive integers: [a, b], or one integer n meaning [n, n] (Keras). */
static advml_status get_pair(const pctx *p, const json_t *obj, const char *path, const char *key, int required,
                             int out[2], int *present)
{
    char kp[256], b[64];
    join_path(kp, sizeof kp, path, key);
    json_t *v = json_object_get(obj, key);
    if (present)
        *present = v != NULL;
    if (!v)
        return required ? fail(p, kp, "missing (required): expected an array of 2 positive integers") : ADVML_OK;
    if (json_is_integer(v) && json_integer_value(v) > 0 && json_integer_value(v) <= 1000000) {
        out[0] = out[1] = (int)json_integer_value(v);
        return ADVML_OK;
    }
    if (json_is_array(v) && json_array_size(v) == 2) {
        json_t *a = json_array_get(v, 0), *c = json_array_get(v, 1);
        if (json_is_integer(a) && json_is_integer(c) && json_integer_value(a) > 0 && json_integer_value(c) > 0 &&
            json_integer_value(a) <= 1000000 && json_integer_value(c) <= 1000000) {
            out[0] = (int)json_integer_value(a);
            out[1] = (int)json_integer_value(c);
            return ADVML_OK;
        }
    }
    return fail(p, kp, "expected an array of 2 positive integers, got %s", show(v, b, sizeof b));
}

/* A finite number in the interval lo..hi; lo_open/hi_open make the bound strict. */
static advml_status get_num(const pctx *p, const json_t *obj, const char *path, const char *key, int required,
                            double lo, int lo_open, double hi, int hi_open, double *out, int *present)
{
    char kp[256], b[64];
    join_path(kp, sizeof kp, path, key);
    json_t *v = json_object_get(obj, key);
    if (present)
        *present = v != NULL;
    if (!v)
        return required ? fail(p, kp, "missing (required)") : ADVML_OK;
    if (!json_is_number(v))
        return fail(p, kp, "expected a number, got %s", show(v, b, sizeof b));
    double x = json_number_value(v);
    int bad = !isfinite(x) || (lo_open ? x <= lo : x < lo) || (hi_open ? x >= hi : x > hi);
    if (bad) {
        if (isinf(hi))
            return fail(p, kp, "expected a number %s %g, got %s", lo_open ? ">" : ">=", lo, show(v, b, sizeof b));
        return fail(p, kp, "expected a number in %c%g, %g%c, got %s", lo_open ? '(' : '[', lo, hi, hi_open ? ')' : ']',
                    show(v, b, sizeof b));
    }
    *out = x;
    return ADVML_OK;
}

static advml_status get_float(const pctx *p, const json_t *obj, const char *path, const char *key, double lo,
                              int lo_open, double hi, int hi_open, float *out, int *present)
{
    double x = *out;
    advml_status s = get_num(p, obj, path, key, 0, lo, lo_open, hi, hi_open, &x, present);
    if (s == ADVML_OK)
        *out = (float)x;
    return s;
}

static advml_status get_bool(const pctx *p, const json_t *obj, const char *path, const char *key, int *out)
{
    char kp[256], b[64];
    join_path(kp, sizeof kp, path, key);
    json_t *v = json_object_get(obj, key);
    if (!v)
        return ADVML_OK;
    if (!json_is_boolean(v))
        return fail(p, kp, "expected true or false, got %s", show(v, b, sizeof b));
    *out = json_is_true(v);
    return ADVML_OK;
}

/* A string; *out points into the JSON tree (valid while it lives). */
static advml_status get_str(const pctx *p, const json_t *obj, const char *path, const char *key, int required,
                            const char **out)
{
    char kp[256], b[64];
    join_path(kp, sizeof kp, path, key);
    json_t *v = json_object_get(obj, key);
    if (!v)
        return required ? fail(p, kp, "missing (required)") : ADVML_OK;
    if (!json_is_string(v))
        return fail(p, kp, "expected a string, got %s", show(v, b, sizeof b));
    *out = json_string_value(v);
    return ADVML_OK;
}

static advml_status copy_text(const pctx *p, const char *path, const char *s, char *dst, size_t n)
{
    if (strlen(s) >= n)
        return fail(p, path, "longer than %zu characters", n - 1);
    memcpy(dst, s, strlen(s) + 1);
    return ADVML_OK;
}

/* ---- layers ----------------------------------------------------------------
 *
 * Read, checked, written back and compared from the kinds' key tables
 * (advml_layer_key in include/advml/layer.h): nothing here knows a kind. */

/* kernel_initializer / bias_initializer: an advml_init name. A bias takes
 * only "auto", "zeros" or "torch" (the fan-scaled kinds are for kernels). */
static int init_allowed(int kind, int bias)
{
    return !bias || kind == ADVML_INIT_AUTO || kind == ADVML_INIT_ZEROS || kind == ADVML_INIT_TORCH;
}

static advml_status parse_init(const pctx *p, const json_t *o, const char *path, const char *key, int bias,
                               int *out)
{
    const char *name = NULL;
    advml_status s = get_str(p, o, path, key, 0, &name);
    if (s || !name)
        return s;
    int k = advml_init_by_name(name);
    if (k >= 0 && init_allowed(k, bias)) {
        *out = k;
        return ADVML_OK;
    }
    char kp[256], names[256] = "";
    join_path(kp, sizeof kp, path, key);
    for (int i = 0; i < ADVML_INIT_NKINDS; i++) {
        size_t len = strlen(names);
        if (init_allowed(i, bias))
            snprintf(names + len, sizeof names - len, "%s\"%s\"", len ? ", " : "", advml_init_name((advml_init)i));
    }
    return fail(p, kp, "expected one of %s, got \"%s\"", names, name);
}

/* The name of value v among choices (NULL if none). */
static const char *choice_name(const advml_key_choice *choices, int v)
{
    for (int i = 0; choices[i].name; i++)
        if (choices[i].value == v)
            return choices[i].name;
    return NULL;
}

/* o[key], when present, one of choices: *out = its value. Otherwise an error
 * listing them ('expected "a", "b" or "c", got "x"'). */
static advml_status parse_choice(const pctx *p, const json_t *o, const char *path, const char *key,
                                 const advml_key_choice *choices, int *out)
{
    const char *name = NULL;
    advml_status s = get_str(p, o, path, key, 0, &name);
    if (s || !name)
        return s;
    int n = 0;
    for (; choices[n].name; n++)
        if (!strcmp(name, choices[n].name)) {
            *out = choices[n].value;
            return ADVML_OK;
        }
    char kp[256], names[256] = "";
    join_path(kp, sizeof kp, path, key);
    for (int i = 0; i < n; i++) {
        size_t len = strlen(names);
        snprintf(names + len, sizeof names - len, "%s\"%s\"", i == 0 ? "" : i == n - 1 ? " or " : ", ",
                 choices[i].name);
    }
    return fail(p, kp, "expected %s, got \"%s\"", names, name);
}

static advml_status parse_activation(const pctx *p, const json_t *o, const char *path, const char *key, int *out)
{
    const char *name = NULL;
    advml_status s = get_str(p, o, path, key, 0, &name);
    if (s || !name)
        return s;
    advml_act act;
    if (advml_act_from_name(name, &act) != 0) {
        char kp[256];
        join_path(kp, sizeof kp, path, key);
        return fail(p, kp, "unknown activation \"%s\"; expected one of linear, relu, leaky_relu, sigmoid, "
                           "tanh, softmax", name);
    }
    *out = (int)act;
    return ADVML_OK;
}

static const advml_layer_key *find_key(const advml_layer_kind *kind, const char *name)
{
    for (const advml_layer_key *k = kind->keys; k->name; k++)
        if (!strcmp(k->name, name))
            return k;
    return NULL;
}

/* The value of key k in s as a double (a PAIR's element i). */
static double key_value(const advml_layer_key *k, const advml_layer_spec *s, int i)
{
    const char *field = (const char *)s + k->offset;
    if (k->type == ADVML_KEY_FLOAT)
        return *(const float *)(const void *)field;
    return ((const int *)(const void *)field)[k->type == ADVML_KEY_PAIR ? i : 0];
}

static int key_same(const advml_layer_key *k, const advml_layer_spec *a, const advml_layer_spec *b)
{
    return key_value(k, a, 0) == key_value(k, b, 0) && key_value(k, a, 1) == key_value(k, b, 1);
}

/* Read key k of the layer object o (path "model[i]") into L. */
static advml_status parse_key(const pctx *p, const json_t *o, const char *path, const advml_layer_kind *kind,
                              const advml_layer_key *k, advml_layer_spec *L)
{
    int *iv = advml_key_int(k, L);
    if (!json_object_get(o, k->name)) {
        char kp[256];
        join_path(kp, sizeof kp, path, k->name);
        if ((k->flags & ADVML_KEY_REQUIRED) && k->missing)
            return fail(p, path, "%s", k->missing);
        if (k->flags & ADVML_KEY_REQUIRED)
            return fail(p, kp, "missing (required)%s",
                        k->type == ADVML_KEY_PAIR ? ": expected an array of 2 positive integers" : "");
        const advml_layer_key *from = k->dflt_key ? find_key(kind, k->dflt_key) : NULL;
        if (from) /* e.g. a pooling stride: the window */
            memcpy(iv, advml_key_int(from, L), (k->type == ADVML_KEY_PAIR ? 2 : 1) * sizeof(int));
        return ADVML_OK;
    }
    const int lo_open = (k->flags & ADVML_KEY_LO_OPEN) != 0, hi_open = (k->flags & ADVML_KEY_HI_OPEN) != 0;
    switch (k->type) {
    case ADVML_KEY_POSINT: return get_posint(p, o, path, k->name, 0, iv);
    case ADVML_KEY_PAIR: return get_pair(p, o, path, k->name, 0, iv, NULL);
    case ADVML_KEY_BOOL: return get_bool(p, o, path, k->name, iv);
    case ADVML_KEY_FLOAT:
        return get_float(p, o, path, k->name, k->lo, lo_open, k->hi, hi_open, advml_key_float(k, L), NULL);
    case ADVML_KEY_ACT: return parse_activation(p, o, path, k->name, iv);
    case ADVML_KEY_CHOICE: return parse_choice(p, o, path, k->name, k->choices, iv);
    case ADVML_KEY_INIT:
    case ADVML_KEY_BIAS_INIT: return parse_init(p, o, path, k->name, k->type == ADVML_KEY_BIAS_INIT, iv);
    }
    return ADVML_OK;
}

/* The kind (and its *type) whose name, or one of whose shorthands
 * (*shorthand), is name; NULL if none. */
static const advml_layer_kind *kind_named(const char *name, advml_layer_type *type, const char **shorthand)
{
    *shorthand = NULL;
    const advml_layer_kind *kind = advml_layer_kind_by_name(name, type);
    for (int t = 0; !kind && t < ADVML_LAYER_NTYPES; t++) {
        const advml_layer_kind *k = advml_layer_kind_of((advml_layer_type)t);
        if (k->shorthands && in_list(name, k->shorthands)) {
            kind = k;
            *type = (advml_layer_type)t;
            *shorthand = name;
        }
    }
    return kind;
}

/* 'model[i].type: unknown layer type "x" (did you mean "y"?); expected one
 * of ...'. The hint: another library's name for a kind, else the first kind
 * name, then shorthand, within two edits. The list: each kind's name
 * followed by its shorthands. */
static advml_status unknown_type(const pctx *p, const char *path, const char *tname)
{
    char kp[256], hint[64] = "", names[512] = "";
    const char *known[64];
    int nk = 0;
    for (int t = 0; t < ADVML_LAYER_NTYPES; t++) {
        const advml_layer_kind *k = advml_layer_kind_of((advml_layer_type)t);
        known[nk++] = k->name;
        if (k->aliases && in_list(tname, k->aliases))
            snprintf(hint, sizeof hint, " (did you mean \"%s\"?)", k->name);
        size_t len = strlen(names);
        snprintf(names + len, sizeof names - len, "%s%s", len ? ", " : "", k->name);
        for (int a = 0; k->shorthands && k->shorthands[a]; a++) {
            len = strlen(names);
            snprintf(names + len, sizeof names - len, ", %s", k->shorthands[a]);
        }
    }
    for (int t = 0; t < ADVML_LAYER_NTYPES; t++) {
        const advml_layer_kind *k = advml_layer_kind_of((advml_layer_type)t);
        for (int a = 0; k->shorthands && k->shorthands[a] && nk < 64; a++)
            known[nk++] = k->shorthands[a];
    }
    for (int a = 0; a < nk && !hint[0]; a++)
        if (edit_distance(tname, known[a]) <= 2)
            snprintf(hint, sizeof hint, " (did you mean \"%s\"?)", known[a]);
    join_path(kp, sizeof kp, path, "type");
    return fail(p, kp, "unknown layer type \"%s\"%s; expected one of %s", tname, hint, names);
}

/* A key the layer does not take: "not a parameter of <kind>" when another
 * kind takes it (with the kind's note for it), else an unknown key. */
static advml_status foreign_key(const pctx *p, const char *path, const char *key, const advml_layer_kind *kind,
                                const char *const *allowed, const char *what)
{
    for (int t = 0; t < ADVML_LAYER_NTYPES; t++)
        if (find_key(advml_layer_kind_of((advml_layer_type)t), key)) {
            char kp[256], keys[512], note[160] = "";
            list_text(keys, sizeof keys, allowed);
            join_path(kp, sizeof kp, path, key);
            for (const advml_key_note *n = kind->notes; n && n->key; n++)
                if (!strcmp(n->key, key))
                    snprintf(note, sizeof note, " (%s)", n->note);
            return fail(p, kp, "not a parameter of %s%s; %s takes: %s", kind->name, note, what, keys);
        }
    return unknown_key(p, path, key, allowed, what, kind);
}

#define MAX_LAYER_KEYS 30

static advml_status parse_layer(const pctx *p, const json_t *o, int i, advml_layer_spec *L)
{
    char path[64], kp[256], b[64], what[64];
    snprintf(path, sizeof path, "model[%d]", i);
    if (!json_is_object(o))
        return fail(p, path, "expected a layer object such as {\"type\": \"dense\", \"units\": 10}, got %s",
                    show(o, b, sizeof b));
    const char *tname = NULL, *shorthand = NULL;
    advml_status s = get_str(p, o, path, "type", 1, &tname);
    if (s)
        return s;
    advml_layer_type type;
    const advml_layer_kind *kind = kind_named(tname, &type, &shorthand);
    if (!kind)
        return unknown_type(p, path, tname);
    *L = advml_layer_spec_default(type);

    /* the keys it takes: all of its kind's, or a shorthand's LEAKY_ONLY ones */
    const advml_layer_key *keys[MAX_LAYER_KEYS];
    const char *allowed[MAX_LAYER_KEYS + 2] = {"type"};
    int n = 0;
    if (shorthand) {
        const advml_layer_key *sk = find_key(kind, kind->shorthand_key);
        json_t *jv = json_pack("{ss}", sk->name, shorthand); /* as if {"activation": "relu"} */
        s = jv ? parse_key(p, jv, path, kind, sk, L) : advml_error_set(p->err, ADVML_ERR_NOMEM, "out of memory");
        json_decref(jv);
        if (s)
            return s;
        for (const advml_layer_key *k = kind->keys; k->name; k++)
            if ((k->flags & ADVML_KEY_LEAKY_ONLY) && L->act == ADVML_ACT_LEAKY_RELU)
                keys[n++] = k;
        snprintf(what, sizeof what, "a \"%s\" layer", tname);
    } else {
        for (const advml_layer_key *k = kind->keys; k->name && n < MAX_LAYER_KEYS; k++)
            keys[n++] = k;
        snprintf(what, sizeof what, "a %s layer", tname);
    }
    for (int k = 0; k < n; k++)
        allowed[k + 1] = keys[k]->name;
    allowed[n + 1] = NULL;

    const char *key;
    json_t *v;
    json_object_foreach((json_t *)o, key, v) {
        (void)v;
        if (in_list(key, allowed))
            continue;
        if (shorthand)
            return unknown_key(p, path, key, allowed, what, kind);
        return foreign_key(p, path, key, kind, allowed, what);
    }
    for (int k = 0; k < n; k++)
        if ((s = parse_key(p, o, path, kind, keys[k], L)))
            return s;
    for (int k = 0; k < n; k++)
        if ((keys[k]->flags & ADVML_KEY_LEAKY_ONLY) && json_object_get(o, keys[k]->name) &&
            L->act != ADVML_ACT_LEAKY_RELU) {
            join_path(kp, sizeof kp, path, keys[k]->name);
            return fail(p, kp, "only used with \"activation\": \"leaky_relu\" (this layer's activation is %s)",
                        advml_act_name(L->act));
        }
    return ADVML_OK;
}

/* ---- optimizer ------------------------------------------------------------ */

/* The keys of the "optimizer" section for kind (from advml_optim_settings):
 * "name", then the settings the kind uses; every optimizer setting's key
 * when all is set. Returns the count. */
#define MAX_OPTIM_KEYS 12
static int optim_keys(advml_optim_kind kind, int all, const char *keys[MAX_OPTIM_KEYS])
{
    int n = 0;
    keys[n++] = "name";
    for (const advml_optim_setting *st = advml_optim_settings; st->key && n < MAX_OPTIM_KEYS - 1; st++)
        if (!strcmp(st->section, "optimizer") && (all || advml_optim_uses(st, kind)))
            keys[n++] = st->key;
    keys[n] = NULL;
    return n;
}

/* o[key] of setting st into c's field, in st's range. */
static advml_status get_setting(const pctx *p, const json_t *o, const advml_optim_setting *st, advml_optim_config *c)
{
    float *field = (float *)(void *)((char *)c + st->offset);
    return get_float(p, o, st->section, st->key, st->lo, st->lo_open, st->hi, st->hi_open, field, NULL);
}

/* The setting with this key. */
static const advml_optim_setting *setting(const char *key)
{
    for (const advml_optim_setting *st = advml_optim_settings; st->key; st++)
        if (!strcmp(st->key, key))
            return st;
    return NULL;
}

static advml_status optim_kind(const pctx *p, const char *path, const char *name, advml_optim_kind *k)
{
    if (advml_optim_from_name(name, k) == 0)
        return ADVML_OK;
    return fail(p, path, "unknown optimizer \"%s\"; expected one of sgd, momentum, adagrad, adagrad_momentum, "
                         "rmsprop, adam", name);
}

static advml_status parse_schedule(const pctx *p, const json_t *o, advml_schedule_config *sc);

static advml_status parse_optimizer(const pctx *p, const json_t *o, advml_optim_config *oc,
                                    advml_schedule_config *sc)
{
    char b[64];
    advml_status s;
    advml_optim_kind k;
    if (json_is_string(o)) {
        if ((s = optim_kind(p, "optimizer", json_string_value(o), &k)))
            return s;
        *oc = advml_optim_defaults(k);
        return ADVML_OK;
    }
    if (!json_is_object(o))
        return fail(p, "optimizer", "expected an object such as {\"name\": \"adam\", \"lr\": 0.001} or a name, got %s",
                    show(o, b, sizeof b));
    const char *name = NULL;
    if ((s = get_str(p, o, "optimizer", "name", 1, &name)) || (s = optim_kind(p, "optimizer.name", name, &k)))
        return s;
    *oc = advml_optim_defaults(k);
    const char *allowed[MAX_OPTIM_KEYS], *all[MAX_OPTIM_KEYS];
    optim_keys(k, 0, allowed);
    optim_keys(k, 1, all);
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)o, key, v) {
        (void)v;
        if (in_list(key, allowed) || !strcmp(key, "schedule"))
            continue;
        char kp[256], keys[256];
        join_path(kp, sizeof kp, "optimizer", key);
        if (alias_of(key, "schedule"))
            return fail(p, kp, "unknown key (did you mean \"schedule\"?); the learning-rate schedule is "
                               "\"optimizer\": {\"schedule\": {\"name\": \"cosine\", ...}}");
        list_text(keys, sizeof keys, allowed);
        if (!strcmp(key, "l2") || !strcmp(key, "weight_decay"))
            return fail(p, kp, "L2 regularisation is set in \"training\": {\"l2\": ...}");
        if (in_list(key, all))
            return fail(p, kp, "not a parameter of %s; it takes: %s", name, keys);
        char what[64];
        snprintf(what, sizeof what, "the optimizer %s", name);
        return unknown_key(p, "optimizer", key, allowed, what, NULL);
    }
    for (const advml_optim_setting *st = advml_optim_settings; st->key; st++)
        if (!strcmp(st->section, "optimizer") && (s = get_setting(p, o, st, oc)))
            return s;
    json_t *sv = json_object_get(o, "schedule");
    return sv ? parse_schedule(p, sv, sc) : ADVML_OK;
}

/* ---- training control: schedules, monitors (docs/training.md) ------------- */

static const advml_key_choice unit_choices[] = {{"epoch", 0}, {"step", 1}, {NULL, 0}};
static const advml_key_choice mode_choices[] = {
    {"auto", ADVML_MODE_AUTO}, {"min", ADVML_MODE_MIN}, {"max", ADVML_MODE_MAX}, {NULL, 0}};

static const char *const keys_sched[ADVML_SCHED_NKINDS][10] = {
    [ADVML_SCHED_CONSTANT] = {"name", "warmup_steps", NULL},
    [ADVML_SCHED_STEP] = {"name", "warmup_steps", "step_size", "gamma", "unit", NULL},
    [ADVML_SCHED_MULTISTEP] = {"name", "warmup_steps", "milestones", "gamma", "unit", NULL},
    [ADVML_SCHED_EXPONENTIAL] = {"name", "warmup_steps", "gamma", "unit", NULL},
    [ADVML_SCHED_COSINE] = {"name", "warmup_steps", "min_lr", "decay_steps", NULL},
    [ADVML_SCHED_ONECYCLE] = {"name", "total_steps", "pct_start", "div_factor", "final_div_factor", NULL},
    [ADVML_SCHED_PLATEAU] = {"name", "warmup_steps", "monitor", "mode", "factor", "patience", "cooldown", "min_lr",
                             "min_delta", NULL}};
static const char *const keys_sched_all[] = {"name", "warmup_steps", "step_size", "gamma", "unit", "milestones",
                                             "min_lr", "decay_steps", "total_steps", "pct_start", "div_factor",
                                             "final_div_factor", "monitor", "mode", "factor", "patience",
                                             "cooldown", "min_delta", NULL};

static const char *const sched_list = "constant, step, multistep, exponential, cosine, onecycle, plateau";
static const char *const metric_list = "val_loss, val_accuracy, val_top_k_accuracy, val_mae, val_r2";

/* path.monitor (a validation metric) and path.mode into mc; the mode "auto"
 * is resolved from the metric. */
static advml_status parse_monitor_metric(const pctx *p, const json_t *o, const char *path, advml_monitor_config *mc)
{
    const char *name = NULL;
    char kp[256];
    advml_status s = get_str(p, o, path, "monitor", 0, &name);
    if (s)
        return s;
    join_path(kp, sizeof kp, path, "monitor");
    if (name) {
        int m = advml_metric_by_name(name);
        if (m < 0) {
            if (!strncmp(name, "test_", 5))
                return fail(p, kp, "\"%s\": the test split never selects a model (it is only evaluated for the "
                                   "report); monitor a validation metric: %s",
                            name, metric_list);
            char val[96];
            snprintf(val, sizeof val, "val_%s", !strncmp(name, "train_", 6) ? name + 6 : name);
            if (advml_metric_by_name(val) >= 0)
                return fail(p, kp, "\"%s\": monitors watch validation metrics, which are measured without "
                                   "dropout and summed exactly over ranks (did you mean \"%s\"?); expected one of %s",
                            name, val, metric_list);
            for (int i = 0; i < ADVML_METRIC_NKINDS; i++) {
                const char *mn = advml_metric_name((advml_metric)i);
                if (edit_distance(name, mn) <= 1 || (strlen(name) >= 5 && !strncmp(mn, name, strlen(name))))
                    return fail(p, kp, "unknown metric \"%s\" (did you mean \"%s\"?); expected one of %s", name, mn,
                                metric_list);
            }
            return fail(p, kp, "unknown metric \"%s\"; expected one of %s", name, metric_list);
        }
        mc->metric = (advml_metric)m;
    }
    int mode = ADVML_MODE_AUTO;
    if ((s = parse_choice(p, o, path, "mode", mode_choices, &mode)))
        return s;
    mc->mode = advml_monitor_resolve(mc->metric, (advml_mode)mode);
    return ADVML_OK;
}

/* The keys an object o at path allows by kind: "not a parameter of" for a
 * key of another kind, "unknown key" (with a hint) otherwise. */
static advml_status check_kind_keys(const pctx *p, const json_t *o, const char *path, const char *const *allowed,
                                    const char *const *all, const char *what)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)o, key, v) {
        (void)v;
        if (in_list(key, allowed))
            continue;
        if (in_list(key, all)) {
            char kp[256], keys[512];
            join_path(kp, sizeof kp, path, key);
            list_text(keys, sizeof keys, allowed);
            return fail(p, kp, "not a parameter of %s; it takes: %s", what, keys);
        }
        return unknown_key(p, path, key, allowed, what, NULL);
    }
    return ADVML_OK;
}

static advml_status get_int64(const pctx *p, const json_t *o, const char *path, const char *key, long long lo,
                              int64_t *out)
{
    long long x = *out;
    advml_status s = get_int(p, o, path, key, 0, lo, INT64_MAX, &x, NULL);
    if (!s)
        *out = x;
    return s;
}

static advml_status parse_schedule(const pctx *p, const json_t *o, advml_schedule_config *sc)
{
    const char *path = "optimizer.schedule";
    char b[64], kp[256];
    advml_status s;
    const char *name = NULL;
    if (json_is_string(o))
        name = json_string_value(o);
    else if (!json_is_object(o))
        return fail(p, path, "expected an object such as {\"name\": \"cosine\", \"warmup_steps\": 100} or a name, "
                             "got %s", show(o, b, sizeof b));
    else if ((s = get_str(p, o, path, "name", 1, &name)))
        return s;
    int k = advml_schedule_by_name(name);
    if (k < 0) {
        join_path(kp, sizeof kp, path, json_is_string(o) ? "" : "name");
        static const char *const kalias[][2] = {
            {"StepLR", "step"}, {"MultiStepLR", "multistep"}, {"ExponentialLR", "exponential"},
            {"ExponentialDecay", "exponential"}, {"CosineAnnealingLR", "cosine"}, {"CosineDecay", "cosine"},
            {"cosine_decay", "cosine"}, {"OneCycleLR", "onecycle"}, {"one_cycle", "onecycle"},
            {"ReduceLROnPlateau", "plateau"}, {"reduce_on_plateau", "plateau"}, {"reduce_lr_on_plateau", "plateau"},
            {"multi_step", "multistep"}, {"piecewise_constant", "multistep"}, {NULL, NULL}};
        char hint[64] = "";
        for (int i = 0; kalias[i][0]; i++)
            if (!strcmp(name, kalias[i][0]))
                snprintf(hint, sizeof hint, " (did you mean \"%s\"?)", kalias[i][1]);
        for (int i = 0; !hint[0] && i < ADVML_SCHED_NKINDS; i++)
            if (edit_distance(name, advml_schedule_name((advml_sched_kind)i)) <= 2)
                snprintf(hint, sizeof hint, " (did you mean \"%s\"?)", advml_schedule_name((advml_sched_kind)i));
        return fail(p, json_is_string(o) ? path : kp, "unknown schedule \"%s\"%s; expected one of %s", name, hint,
                    sched_list);
    }
    *sc = advml_schedule_defaults((advml_sched_kind)k);
    if (sc->kind == ADVML_SCHED_PLATEAU)
        sc->monitor.mode = advml_monitor_resolve(sc->monitor.metric, ADVML_MODE_AUTO);
    if (json_is_string(o)) {
        if (k == ADVML_SCHED_STEP || k == ADVML_SCHED_MULTISTEP || k == ADVML_SCHED_EXPONENTIAL)
            return fail(p, path, "the %s schedule needs %s: write {\"name\": \"%s\", \"%s\": ...}", name,
                        k == ADVML_SCHED_STEP ? "\"step_size\"" : k == ADVML_SCHED_MULTISTEP ? "\"milestones\""
                                                                                          : "\"gamma\"",
                        name, k == ADVML_SCHED_STEP ? "step_size" : k == ADVML_SCHED_MULTISTEP ? "milestones" : "gamma");
        return ADVML_OK;
    }
    char what[64];
    snprintf(what, sizeof what, "the %s schedule", name);
    if ((s = check_kind_keys(p, o, path, keys_sched[k], keys_sched_all, what)))
        return s;
    int unit = 0;
    long long patience = sc->monitor.patience, cooldown = sc->cooldown;
    if ((s = get_int64(p, o, path, "warmup_steps", 0, &sc->warmup_steps)) ||
        (s = get_int64(p, o, path, "step_size", 1, &sc->step_size)) ||
        (s = get_num(p, o, path, "gamma", k == ADVML_SCHED_EXPONENTIAL, 0, 1, 1, 0, &sc->gamma, NULL)) ||
        (s = parse_choice(p, o, path, "unit", unit_choices, &unit)) ||
        (s = get_num(p, o, path, "min_lr", 0, 0, 0, INFINITY, 0, &sc->min_lr, NULL)) ||
        (s = get_int64(p, o, path, "decay_steps", 1, &sc->decay_steps)) ||
        (s = get_int64(p, o, path, "total_steps", 1, &sc->total_steps)) ||
        (s = get_num(p, o, path, "pct_start", 0, 0, 1, 1, 1, &sc->pct_start, NULL)) ||
        (s = get_num(p, o, path, "div_factor", 0, 1, 0, INFINITY, 0, &sc->div_factor, NULL)) ||
        (s = get_num(p, o, path, "final_div_factor", 0, 1, 0, INFINITY, 0, &sc->final_div_factor, NULL)) ||
        (s = get_num(p, o, path, "factor", 0, 0, 1, 1, 1, &sc->factor, NULL)) ||
        (s = get_int(p, o, path, "patience", 0, 0, 1000000000LL, &patience, NULL)) ||
        (s = get_int(p, o, path, "cooldown", 0, 0, 1000000000LL, &cooldown, NULL)) ||
        (s = get_num(p, o, path, "min_delta", 0, 0, 0, INFINITY, 0, &sc->monitor.min_delta, NULL)))
        return s;
    sc->unit_steps = unit;
    sc->monitor.patience = (int)patience;
    sc->cooldown = (int)cooldown;
    if (k == ADVML_SCHED_STEP && !json_object_get(o, "step_size"))
        return fail(p, path, "the step schedule needs \"step_size\" (epochs, or steps with \"unit\": \"step\", "
                             "between reductions by gamma)");
    if (k == ADVML_SCHED_PLATEAU && (s = parse_monitor_metric(p, o, path, &sc->monitor)))
        return s;
    if (k == ADVML_SCHED_MULTISTEP) {
        json_t *ms = json_object_get(o, "milestones");
        join_path(kp, sizeof kp, path, "milestones");
        if (!ms)
            return fail(p, path, "the multistep schedule needs \"milestones\" (the epochs, or steps with \"unit\": "
                                 "\"step\", at which the rate is multiplied by gamma)");
        int ok = json_is_array(ms) && json_array_size(ms) >= 1 && json_array_size(ms) <= ADVML_MAX_MILESTONES;
        for (size_t i = 0; ok && i < json_array_size(ms); i++) {
            json_t *x = json_array_get(ms, i);
            ok = json_is_integer(x) && json_integer_value(x) > 0 &&
                 (i == 0 || json_integer_value(x) > sc->milestones[i - 1]);
            if (ok)
                sc->milestones[i] = json_integer_value(x);
        }
        if (!ok)
            return fail(p, kp, "expected an array of 1 to %d strictly increasing positive integers, got %s",
                        ADVML_MAX_MILESTONES, show(ms, b, sizeof b));
        sc->nmilestones = (int)json_array_size(ms);
    }
    return ADVML_OK;
}

static const char *const keys_early_stopping[] = {"monitor", "mode", "patience", "min_delta", "restore_best_weights",
                                                  NULL};
static const char *const keys_best_checkpoint[] = {"monitor", "mode", "min_delta", NULL};
static const char *const keys_augment[] = {"shift", "horizontal_flip", "noise", NULL};

/* training.early_stopping / training.best_checkpoint: an object of monitor keys. */
static advml_status parse_monitor(const pctx *p, const json_t *o, const char *path, const char *const *keys,
                                  advml_monitor_config *mc, int *restore)
{
    char b[64], what[64];
    advml_status s;
    if (!json_is_object(o))
        return fail(p, path, "expected an object such as {\"monitor\": \"val_loss\"%s}, got %s",
                    restore ? ", \"patience\": 3" : "", show(o, b, sizeof b));
    snprintf(what, sizeof what, "\"%s\"", strchr(path, '.') ? strchr(path, '.') + 1 : path);
    if ((s = check_keys(p, o, path, keys, what)))
        return s;
    mc->metric = ADVML_METRIC_VAL_LOSS;
    mc->min_delta = 0;
    mc->patience = 0;
    long long patience = 0;
    if ((s = parse_monitor_metric(p, o, path, mc)) ||
        (s = get_num(p, o, path, "min_delta", 0, 0, 0, INFINITY, 0, &mc->min_delta, NULL)) ||
        (restore && (s = get_int(p, o, path, "patience", 0, 0, 1000000000LL, &patience, NULL))) ||
        (restore && (s = get_bool(p, o, path, "restore_best_weights", restore))))
        return s;
    mc->patience = (int)patience;
    return ADVML_OK;
}

/* training.class_weight: [w0, w1, ...] or Keras' {"0": w0, "3": w3} (classes
 * not named weigh 1). */
static advml_status parse_class_weight(const pctx *p, const json_t *o, advml_train_config *t)
{
    const char *path = "training.class_weight";
    char b[64], kp[256];
    for (int i = 0; i < ADVML_MAX_CLASS_WEIGHTS; i++)
        t->class_weight[i] = 1.0f;
    if (json_is_array(o)) {
        size_t n = json_array_size(o);
        if (n < 1 || n > ADVML_MAX_CLASS_WEIGHTS)
            return fail(p, path, "expected 1 to %d weights, one per class, got %zu", ADVML_MAX_CLASS_WEIGHTS, n);
        for (size_t i = 0; i < n; i++) {
            json_t *x = json_array_get(o, i);
            double w = json_is_number(x) ? json_number_value(x) : -1;
            snprintf(kp, sizeof kp, "%s[%zu]", path, i);
            if (!json_is_number(x) || !isfinite(w) || w < 0)
                return fail(p, kp, "expected a number >= 0 (the weight of class %zu), got %s", i, show(x, b, sizeof b));
            t->class_weight[i] = (float)w;
        }
        t->nclass_weight = (int)n;
        return ADVML_OK;
    }
    if (!json_is_object(o))
        return fail(p, path, "expected an array of weights, one per class ([1, 1, 5]), or an object {\"2\": 5} "
                             "(classes not named weigh 1), got %s", show(o, b, sizeof b));
    const char *key;
    json_t *x;
    int n = 0;
    json_object_foreach((json_t *)o, key, x) {
        char *end = NULL;
        long id = strtol(key, &end, 10);
        join_path(kp, sizeof kp, path, key);
        if (!key[0] || *end || id < 0 || id >= ADVML_MAX_CLASS_WEIGHTS)
            return fail(p, kp, "expected a class id (an integer from 0 to %d) as the key", ADVML_MAX_CLASS_WEIGHTS - 1);
        double w = json_is_number(x) ? json_number_value(x) : -1;
        if (!json_is_number(x) || !isfinite(w) || w < 0)
            return fail(p, kp, "expected a number >= 0 (the weight of class %ld), got %s", id, show(x, b, sizeof b));
        t->class_weight[id] = (float)w;
        if (id + 1 > n)
            n = (int)id + 1;
    }
    t->nclass_weight = n;
    t->class_weight_by_id = 1; /* padded with 1 to the number of classes at setup */
    return ADVML_OK;
}

static advml_status parse_augment(const pctx *p, const json_t *o, advml_augment_config *a)
{
    const char *path = "training.augment";
    char b[64];
    advml_status s;
    if (!json_is_object(o))
        return fail(p, path, "expected an object such as {\"shift\": 2, \"horizontal_flip\": true, \"noise\": 0.1}, "
                             "got %s", show(o, b, sizeof b));
    if ((s = check_keys(p, o, path, keys_augment, "\"augment\"")) ||
        (s = get_pair(p, o, path, "shift", 0, a->shift, NULL)) ||
        (s = get_bool(p, o, path, "horizontal_flip", &a->horizontal_flip)) ||
        (s = get_float(p, o, path, "noise", 0, 0, INFINITY, 0, &a->noise, NULL)))
        return s;
    return ADVML_OK;
}

/* training.init_layers: layer indices into "model". */
static advml_status parse_init_layers(const pctx *p, const json_t *o, int nlayers, advml_train_config *t)
{
    const char *path = "training.init_layers";
    char b[64];
    int ok = json_is_array(o) && json_array_size(o) >= 1 && json_array_size(o) <= ADVML_MAX_LAYERS;
    for (size_t i = 0; ok && i < json_array_size(o); i++) {
        json_t *x = json_array_get(o, i);
        ok = json_is_integer(x) && json_integer_value(x) >= 0 && json_integer_value(x) < nlayers;
        for (size_t j = 0; ok && j < i; j++)
            ok = t->init_layers[j] != json_integer_value(x);
        if (ok)
            t->init_layers[i] = (int)json_integer_value(x);
    }
    if (!ok)
        return fail(p, path, "expected an array of distinct layer indices into \"model\" (0 to %d), got %s",
                    nlayers - 1, show(o, b, sizeof b));
    t->ninit_layers = (int)json_array_size(o);
    return ADVML_OK;
}

/* ---- training ------------------------------------------------------------- */

static const char *const keys_training[] = {
    "epochs", "batch_size", "seed", "data", "out", "l2", "clip_norm", "max_steps", "checkpoint_steps",
    "memory_budget_mb", "reproducible", "slots", "validation_split", "test_every_epoch", "top_k", "early_stopping",
    "best_checkpoint", "class_weight", "augment", "init_from", "init_layers", "readout", "ridge_lambda", NULL};

static const advml_key_choice readout_choices[] = {
    {"gradient", ADVML_READOUT_GRADIENT}, {"ridge", ADVML_READOUT_RIDGE}, {NULL, 0}};

static advml_status parse_training(const pctx *p, const json_t *o, int nlayers, advml_train_config *t,
                                     advml_optim_config *oc)
{
    char b[64];
    advml_status s;
    if (!json_is_object(o))
        return fail(p, "training", "expected an object such as {\"epochs\": 10, \"batch_size\": 64}, got %s",
                    show(o, b, sizeof b));
    if ((s = check_keys(p, o, "training", keys_training, "\"training\"")))
        return s;
    long long seed = (long long)t->seed, max_steps = t->max_steps, ck = t->checkpoint_steps, slots = t->slots;
    const char *data = NULL, *out = NULL;
    if ((s = get_posint(p, o, "training", "epochs", 0, &t->epochs)) ||
        (s = get_posint(p, o, "training", "batch_size", 0, &t->batch_size)) ||
        (s = get_int(p, o, "training", "seed", 0, 0, INT64_MAX, &seed, NULL)) ||
        (s = get_int(p, o, "training", "max_steps", 0, 0, INT64_MAX, &max_steps, NULL)) ||
        (s = get_int(p, o, "training", "checkpoint_steps", 0, 0, INT64_MAX, &ck, NULL)) ||
        (s = get_setting(p, o, setting("l2"), oc)) ||
        (s = get_float(p, o, "training", "clip_norm", 0, 0, INFINITY, 0, &t->clip_norm, NULL)) ||
        (s = get_num(p, o, "training", "memory_budget_mb", 0, 0, 0, INFINITY, 0, &t->memory_budget_mb, NULL)) ||
        (s = get_str(p, o, "training", "data", 0, &data)) || (s = get_str(p, o, "training", "out", 0, &out)) ||
        (s = get_bool(p, o, "training", "reproducible", &t->reproducible)) ||
        (s = get_int(p, o, "training", "slots", 0, 1, 4096, &slots, NULL)))
        return s;
    t->slots = (int)slots;
    t->seed = (uint64_t)seed;
    t->max_steps = max_steps;
    t->checkpoint_steps = ck;
    if (data && (s = copy_text(p, "training.data", data, t->data, sizeof t->data)))
        return s;
    if (out && (s = copy_text(p, "training.out", out, t->out, sizeof t->out)))
        return s;
    const char *init = NULL;
    json_t *v;
    if ((s = get_num(p, o, "training", "validation_split", 0, 0, 0, 1, 1, &t->validation_split, NULL)) ||
        (s = get_bool(p, o, "training", "test_every_epoch", &t->test_every_epoch)) ||
        (s = get_posint(p, o, "training", "top_k", 0, &t->top_k)) ||
        (s = get_str(p, o, "training", "init_from", 0, &init)))
        return s;
    if (init && (s = copy_text(p, "training.init_from", init, t->init_from, sizeof t->init_from)))
        return s;
    if ((s = parse_choice(p, o, "training", "readout", readout_choices, &t->readout)) ||
        (s = get_num(p, o, "training", "ridge_lambda", 0, 0, 0, INFINITY, 0, &t->ridge_lambda, NULL)))
        return s;
    if ((v = json_object_get(o, "init_layers")) && (s = parse_init_layers(p, v, nlayers, t)))
        return s;
    if ((v = json_object_get(o, "early_stopping"))) {
        t->has_early_stopping = 1;
        if ((s = parse_monitor(p, v, "training.early_stopping", keys_early_stopping, &t->early_stopping,
                               &t->restore_best_weights)))
            return s;
    }
    if ((v = json_object_get(o, "best_checkpoint"))) {
        t->has_best_checkpoint = 1;
        if ((s = parse_monitor(p, v, "training.best_checkpoint", keys_best_checkpoint, &t->best_checkpoint, NULL)))
            return s;
    }
    if ((v = json_object_get(o, "class_weight")) && (s = parse_class_weight(p, v, t)))
        return s;
    if ((v = json_object_get(o, "augment")) && (s = parse_augment(p, v, &t->augment)))
        return s;
    return ADVML_OK;
}

/* ---- top level ------------------------------------------------------------ */

void advml_config_defaults(advml_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    snprintf(cfg->source, sizeof cfg->source, "<config>");
    cfg->model.loss = ADVML_LOSS_CCE;
    cfg->optim = advml_optim_defaults(ADVML_OPTIM_ADAM);
    cfg->train.epochs = 1;
    cfg->train.batch_size = 32;
    cfg->train.seed = 42;
    cfg->train.memory_budget_mb = 1024.0;
    cfg->train.slots = 4;
    cfg->train.test_every_epoch = 1;
    cfg->train.top_k = 5;
    cfg->train.ridge_lambda = 1e-6;
    for (int i = 0; i < ADVML_MAX_CLASS_WEIGHTS; i++)
        cfg->train.class_weight[i] = 1.0f;
    cfg->schedule = advml_schedule_defaults(ADVML_SCHED_CONSTANT);
}

static const char *const keys_top[] = {"description", "input", "model", "loss", "optimizer", "training", NULL};

static advml_status parse_root(const pctx *p, const json_t *root, advml_config *cfg)
{
    char b[64];
    advml_status s;
    if (!json_is_object(root))
        return fail(p, "(top level)", "expected an object with \"model\", \"loss\", \"optimizer\" and "
                                      "\"training\", got %s", type_word(root));
    /* Where Keras and PyTorch users look for the training controls. */
    if (json_object_get(root, "schedule") || json_object_get(root, "scheduler") ||
        json_object_get(root, "lr_schedule") || json_object_get(root, "lr_scheduler"))
        return fail(p, json_object_get(root, "schedule") ? "schedule" : json_object_get(root, "scheduler") ?
                        "scheduler" : json_object_get(root, "lr_schedule") ? "lr_schedule" : "lr_scheduler",
                    "unknown key at the top level; the learning-rate schedule belongs to the optimizer: "
                    "\"optimizer\": {\"name\": \"adam\", \"lr\": 0.001, \"schedule\": {\"name\": \"cosine\", "
                    "\"warmup_steps\": 100}}");
    if (json_object_get(root, "callbacks"))
        return fail(p, "callbacks", "unknown key at the top level; early stopping and the best checkpoint are "
                                    "\"training\" keys: \"training\": {\"early_stopping\": {\"monitor\": "
                                    "\"val_loss\", \"patience\": 3}, \"best_checkpoint\": {\"monitor\": "
                                    "\"val_accuracy\"}}, and the learning-rate schedule is \"optimizer\": "
                                    "{\"schedule\": ...}");
    if ((s = check_keys(p, root, "", keys_top, "the top level")))
        return s;
    const char *desc = NULL;
    if ((s = get_str(p, root, "", "description", 0, &desc)))
        return s;
    if (desc && (s = copy_text(p, "description", desc, cfg->description, sizeof cfg->description)))
        return s;

    json_t *in = json_object_get(root, "input");
    if (in) {
        int ok = json_is_array(in) && json_array_size(in) >= 1 && json_array_size(in) <= ADVML_MAX_RANK;
        int d[ADVML_MAX_RANK] = {0};
        for (size_t i = 0; ok && i < json_array_size(in); i++) {
            json_t *x = json_array_get(in, i);
            ok = json_is_integer(x) && json_integer_value(x) > 0 && json_integer_value(x) <= 1000000000;
            if (ok)
                d[i] = (int)json_integer_value(x);
        }
        if (!ok)
            return fail(p, "input", "expected the per-sample input shape as 1 to 3 positive integers "
                                    "([C, H, W] images, [T, F] sequences, [D] features), got %s",
                        show(in, b, sizeof b));
        size_t r = json_array_size(in);
        cfg->model.input = r == 3 ? advml_shape3(d[0], d[1], d[2]) : r == 2 ? advml_shape2(d[0], d[1])
                                                                            : advml_shape1(d[0]);
        cfg->has_input = 1;
    }

    json_t *model = json_object_get(root, "model");
    if (!model)
        return fail(p, "model", "missing (required): the list of layers, e.g. [{\"type\": \"dense\", \"units\": 10}]");
    if (!json_is_array(model) || json_array_size(model) == 0)
        return fail(p, "model", "expected a non-empty array of layers, got %s", show(model, b, sizeof b));
    if (json_array_size(model) > ADVML_MAX_LAYERS)
        return fail(p, "model", "%zu layers; at most %d are supported", json_array_size(model), ADVML_MAX_LAYERS);
    cfg->model.nlayers = (int)json_array_size(model);
    for (int i = 0; i < cfg->model.nlayers; i++)
        if ((s = parse_layer(p, json_array_get(model, (size_t)i), i, &cfg->model.layers[i])))
            return s;

    const char *loss = NULL;
    if ((s = get_str(p, root, "", "loss", 1, &loss)))
        return s;
    if (advml_loss_from_name(loss, &cfg->model.loss) != 0)
        return fail(p, "loss", "unknown loss \"%s\"; expected one of categorical_crossentropy, "
                               "binary_crossentropy, mse", loss);

    json_t *opt = json_object_get(root, "optimizer");
    if (opt && (s = parse_optimizer(p, opt, &cfg->optim, &cfg->schedule)))
        return s;
    json_t *tr = json_object_get(root, "training");
    if (tr && (s = parse_training(p, tr, cfg->model.nlayers, &cfg->train, &cfg->optim)))
        return s;
    return ADVML_OK;
}

advml_status advml_config_parse(advml_config *cfg, const char *text, const char *source, advml_error *err)
{
    advml_config_defaults(cfg);
    snprintf(cfg->source, sizeof cfg->source, "%s", source ? source : "<config>");
    pctx p = {cfg->source, err};
    json_error_t je;
    json_t *root = json_loads(text, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        if (json_error_code(&je) == json_error_duplicate_key)
            return advml_error_set(err, ADVML_ERR_CONFIG, "%.300s: line %d, column %d: %s", cfg->source, je.line,
                                   je.column, je.text);
        return advml_error_set(err, ADVML_ERR_CONFIG, "%.300s: line %d, column %d: invalid JSON: %s", cfg->source,
                               je.line, je.column, je.text);
    }
    advml_status s = parse_root(&p, root, cfg);
    json_decref(root);
    return s;
}

advml_status advml_config_load(advml_config *cfg, const char *path, advml_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return advml_error_set(err, ADVML_ERR_IO, "%s: cannot open the config file: %s", path, strerror(errno));
    char *text = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (cap - len < 4096) {
            cap = cap ? 2 * cap : 16384;
            if (cap > ((size_t)64 << 20)) {
                free(text);
                fclose(f);
                return advml_error_set(err, ADVML_ERR_CONFIG, "%s: larger than 64 MiB; not a config file", path);
            }
            char *t = realloc(text, cap + 1);
            if (!t) {
                free(text);
                fclose(f);
                return advml_error_set(err, ADVML_ERR_NOMEM, "%s: out of memory reading the config", path);
            }
            text = t;
        }
        size_t got = fread(text + len, 1, cap - len, f);
        len += got;
        if (got == 0)
            break;
    }
    int rerr = ferror(f);
    fclose(f);
    if (rerr) {
        free(text);
        return advml_error_set(err, ADVML_ERR_IO, "%s: read error", path);
    }
    text[len] = '\0';
    advml_status s = advml_config_parse(cfg, text, path, err);
    free(text);
    return s;
}

advml_status advml_config_validate(const advml_config *cfg, advml_error *err)
{
    const char *src = cfg->source;
    const advml_train_config *t = &cfg->train;
    if (t->epochs < 1)
        return advml_error_set(err, ADVML_ERR_CONFIG, "%s: training.epochs: expected a positive integer, got %d", src,
                               t->epochs);
    if (t->batch_size < 1)
        return advml_error_set(err, ADVML_ERR_CONFIG, "%s: training.batch_size: expected a positive integer, got %d",
                               src, t->batch_size);
    const advml_optim_setting *st = advml_optim_check(&cfg->optim);
    if (st && isinf(st->hi))
        return advml_error_set(err, ADVML_ERR_CONFIG, "%s: %s.%s: expected a number %s %g, got %g", src, st->section,
                               st->key, st->lo_open ? ">" : ">=", st->lo, (double)advml_optim_value(st, &cfg->optim));
    if (st)
        return advml_error_set(err, ADVML_ERR_CONFIG, "%s: %s.%s: expected a number in %c%g, %g%c, got %g", src,
                               st->section, st->key, st->lo_open ? '(' : '[', st->lo, st->hi, st->hi_open ? ')' : ']',
                               (double)advml_optim_value(st, &cfg->optim));
    if (t->max_steps < 0)
        return advml_error_set(err, ADVML_ERR_CONFIG, "%s: training.max_steps: expected an integer >= 0, got %lld",
                               src, (long long)t->max_steps);
    if (cfg->model.nlayers < 1)
        return advml_error_set(err, ADVML_ERR_CONFIG, "%s: model: no layers", src);
    const advml_schedule_config *sc = &cfg->schedule;
    if (sc->kind == ADVML_SCHED_COSINE && sc->min_lr > cfg->optim.lr)
        return advml_error_set(err, ADVML_ERR_CONFIG,
                               "%s: optimizer.schedule.min_lr: %g is above optimizer.lr %g, the rate the cosine "
                               "decays from",
                               src, sc->min_lr, (double)cfg->optim.lr);
    const int classify = cfg->model.loss != ADVML_LOSS_MSE;
    const struct {
        int on;
        const advml_monitor_config *m;
        const char *path;
    } mons[3] = {{sc->kind == ADVML_SCHED_PLATEAU, &sc->monitor, "optimizer.schedule.monitor"},
                 {t->has_early_stopping, &t->early_stopping, "training.early_stopping.monitor"},
                 {t->has_best_checkpoint, &t->best_checkpoint, "training.best_checkpoint.monitor"}};
    for (int i = 0; i < 3; i++)
        if (mons[i].on && !advml_metric_fits(mons[i].m->metric, classify))
            return advml_error_set(err, ADVML_ERR_CONFIG,
                                   "%s: %s: %s needs a %s, but this model's loss is %s (monitor %s)", src,
                                   mons[i].path, advml_metric_name(mons[i].m->metric),
                                   classify ? "regression (loss mse)" : "classifier",
                                   advml_loss_name(cfg->model.loss),
                                   classify ? "val_loss, val_accuracy or val_top_k_accuracy"
                                            : "val_loss, val_mae or val_r2");
    if (t->readout == ADVML_READOUT_RIDGE) {
        const advml_layer_spec *last = &cfg->model.layers[cfg->model.nlayers - 1];
        if (cfg->model.loss != ADVML_LOSS_MSE)
            return advml_error_set(err, ADVML_ERR_CONFIG,
                                   "%s: training.readout: \"ridge\" solves a least-squares problem and needs loss "
                                   "\"mse\", got \"%s\"",
                                   src, advml_loss_name(cfg->model.loss));
        if (last->type != ADVML_LAYER_DENSE || last->act != ADVML_ACT_IDENTITY)
            return advml_error_set(err, ADVML_ERR_CONFIG,
                                   "%s: training.readout: \"ridge\" solves for a linear readout, so the last layer "
                                   "(model[%d]) must be a dense layer without activation; it is %s%s%s",
                                   src, cfg->model.nlayers - 1, advml_layer_kind_of(last->type)->name,
                                   last->type == ADVML_LAYER_DENSE ? " with activation " : "",
                                   last->type == ADVML_LAYER_DENSE ? advml_act_name(last->act) : "");
        if (t->epochs != 1)
            return advml_error_set(err, ADVML_ERR_CONFIG,
                                   "%s: training.epochs: the ridge readout is solved in one pass over the data, so "
                                   "epochs must be 1, got %d",
                                   src, t->epochs);
        if (cfg->optim.l2 != 0.0f)
            return advml_error_set(err, ADVML_ERR_CONFIG,
                                   "%s: training.l2: with readout \"ridge\" the penalty is training.ridge_lambda; "
                                   "l2 must be 0, got %g",
                                   src, (double)cfg->optim.l2);
    }
    if (t->nclass_weight > 0 && !classify)
        return advml_error_set(err, ADVML_ERR_CONFIG,
                               "%s: training.class_weight: weights the cross-entropy losses, but this model's loss is "
                               "mse",
                               src);
    if (t->nclass_weight > 2 && cfg->model.loss == ADVML_LOSS_BCE)
        return advml_error_set(err, ADVML_ERR_CONFIG,
                               "%s: training.class_weight: binary_crossentropy takes 2 weights (of targets 0 and 1), "
                               "got %d",
                               src, t->nclass_weight);
    return ADVML_OK;
}

/* ---- canonical JSON -------------------------------------------------------- */

static json_t *jfloat(float f) { return json_real(advml_float_shortest(f)); }

/* Key k of L as JSON, or NULL when it is not written: a LEAKY_ONLY key
 * without leaky_relu, an OMIT_DEFAULT key at its default. */
static json_t *key_json(const advml_layer_key *k, const advml_layer_spec *L)
{
    if ((k->flags & ADVML_KEY_LEAKY_ONLY) && L->act != ADVML_ACT_LEAKY_RELU)
        return NULL;
    if ((k->flags & ADVML_KEY_OMIT_DEFAULT) && key_value(k, L, 0) == k->dflt &&
        (k->type != ADVML_KEY_PAIR || key_value(k, L, 1) == k->dflt))
        return NULL;
    const int v = (int)key_value(k, L, 0);
    switch (k->type) {
    case ADVML_KEY_POSINT: return json_integer(v);
    case ADVML_KEY_PAIR: return json_pack("[ii]", v, (int)key_value(k, L, 1));
    case ADVML_KEY_BOOL: return json_boolean(v);
    case ADVML_KEY_FLOAT: return jfloat((float)key_value(k, L, 0));
    case ADVML_KEY_ACT: return json_string(advml_act_name((advml_act)v));
    case ADVML_KEY_CHOICE: return json_string(choice_name(k->choices, v));
    case ADVML_KEY_INIT:
    case ADVML_KEY_BIAS_INIT: return json_string(advml_init_name((advml_init)v));
    }
    return NULL;
}

/* {"type": kind, then its keys in table order}. */
static json_t *layer_json(const advml_layer_spec *L)
{
    const advml_layer_kind *kind = advml_layer_kind_of(L->type);
    json_t *o = kind ? json_object() : NULL;
    if (!o)
        return NULL;
    json_object_set_new(o, "type", json_string(kind->name));
    for (const advml_layer_key *k = kind->keys; k->name; k++) {
        json_t *v = key_json(k, L);
        if (v)
            json_object_set_new(o, k->name, v);
    }
    return o;
}

char *advml_config_to_json(const advml_config *cfg)
{
    json_t *root = json_object();
    if (!root)
        return NULL;
    if (cfg->description[0])
        json_object_set_new(root, "description", json_string(cfg->description));
    if (cfg->has_input) {
        json_t *in = json_array();
        for (int i = 0; i < cfg->model.input.rank; i++)
            json_array_append_new(in, json_integer(cfg->model.input.d[i]));
        json_object_set_new(root, "input", in);
    }
    json_t *model = json_array();
    for (int i = 0; i < cfg->model.nlayers; i++)
        json_array_append_new(model, layer_json(&cfg->model.layers[i]));
    json_object_set_new(root, "model", model);
    json_object_set_new(root, "loss", json_string(advml_loss_name(cfg->model.loss)));

    const advml_optim_config *oc = &cfg->optim;
    json_t *opt = json_object();
    json_object_set_new(opt, "name", json_string(advml_optim_name(oc->kind)));
    for (const advml_optim_setting *st = advml_optim_settings; st->key; st++)
        if (!strcmp(st->section, "optimizer") && advml_optim_uses(st, oc->kind))
            json_object_set_new(opt, st->key, jfloat(advml_optim_value(st, oc)));
    const advml_schedule_config *sc = &cfg->schedule;
    if (sc->kind != ADVML_SCHED_CONSTANT || sc->warmup_steps > 0) {
        json_t *so = json_object();
        const advml_sched_kind k = sc->kind;
        json_object_set_new(so, "name", json_string(advml_schedule_name(k)));
        if (k != ADVML_SCHED_ONECYCLE)
            json_object_set_new(so, "warmup_steps", json_integer(sc->warmup_steps));
        if (k == ADVML_SCHED_STEP)
            json_object_set_new(so, "step_size", json_integer(sc->step_size));
        if (k == ADVML_SCHED_MULTISTEP) {
            json_t *ms = json_array();
            for (int i = 0; i < sc->nmilestones; i++)
                json_array_append_new(ms, json_integer(sc->milestones[i]));
            json_object_set_new(so, "milestones", ms);
        }
        if (k == ADVML_SCHED_STEP || k == ADVML_SCHED_MULTISTEP || k == ADVML_SCHED_EXPONENTIAL) {
            json_object_set_new(so, "gamma", json_real(sc->gamma));
            json_object_set_new(so, "unit", json_string(choice_name(unit_choices, sc->unit_steps)));
        }
        if (k == ADVML_SCHED_COSINE) {
            json_object_set_new(so, "min_lr", json_real(sc->min_lr));
            if (sc->decay_steps > 0)
                json_object_set_new(so, "decay_steps", json_integer(sc->decay_steps));
        }
        if (k == ADVML_SCHED_ONECYCLE) {
            if (sc->total_steps > 0)
                json_object_set_new(so, "total_steps", json_integer(sc->total_steps));
            json_object_set_new(so, "pct_start", json_real(sc->pct_start));
            json_object_set_new(so, "div_factor", json_real(sc->div_factor));
            json_object_set_new(so, "final_div_factor", json_real(sc->final_div_factor));
        }
        if (k == ADVML_SCHED_PLATEAU) {
            json_object_set_new(so, "monitor", json_string(advml_metric_name(sc->monitor.metric)));
            json_object_set_new(so, "mode", json_string(advml_mode_name(sc->monitor.mode)));
            json_object_set_new(so, "factor", json_real(sc->factor));
            json_object_set_new(so, "patience", json_integer(sc->monitor.patience));
            json_object_set_new(so, "cooldown", json_integer(sc->cooldown));
            json_object_set_new(so, "min_lr", json_real(sc->min_lr));
            json_object_set_new(so, "min_delta", json_real(sc->monitor.min_delta));
        }
        json_object_set_new(opt, "schedule", so);
    }
    json_object_set_new(root, "optimizer", opt);

    const advml_train_config *t = &cfg->train;
    json_t *tr = json_object();
    json_object_set_new(tr, "epochs", json_integer(t->epochs));
    json_object_set_new(tr, "batch_size", json_integer(t->batch_size));
    json_object_set_new(tr, "seed", json_integer((json_int_t)t->seed));
    json_object_set_new(tr, "data", json_string(t->data));
    json_object_set_new(tr, "out", json_string(t->out));
    json_object_set_new(tr, "l2", jfloat(oc->l2));
    json_object_set_new(tr, "clip_norm", jfloat(t->clip_norm));
    json_object_set_new(tr, "max_steps", json_integer(t->max_steps));
    json_object_set_new(tr, "checkpoint_steps", json_integer(t->checkpoint_steps));
    json_object_set_new(tr, "memory_budget_mb", json_real(t->memory_budget_mb));
    json_object_set_new(tr, "reproducible", json_boolean(t->reproducible));
    json_object_set_new(tr, "slots", json_integer(t->slots));
    json_object_set_new(tr, "validation_split", json_real(t->validation_split));
    json_object_set_new(tr, "test_every_epoch", json_boolean(t->test_every_epoch));
    json_object_set_new(tr, "top_k", json_integer(t->top_k));
    if (t->readout == ADVML_READOUT_RIDGE) { /* written only then: gradient runs' configs read back unchanged */
        json_object_set_new(tr, "readout", json_string("ridge"));
        json_object_set_new(tr, "ridge_lambda", json_real(t->ridge_lambda));
    }
    const struct {
        int on;
        const advml_monitor_config *m;
        const char *key;
    } mons[2] = {{t->has_early_stopping, &t->early_stopping, "early_stopping"},
                 {t->has_best_checkpoint, &t->best_checkpoint, "best_checkpoint"}};
    for (int i = 0; i < 2; i++) {
        if (!mons[i].on)
            continue;
        json_t *mo = json_object();
        json_object_set_new(mo, "monitor", json_string(advml_metric_name(mons[i].m->metric)));
        json_object_set_new(mo, "mode", json_string(advml_mode_name(mons[i].m->mode)));
        json_object_set_new(mo, "min_delta", json_real(mons[i].m->min_delta));
        if (i == 0) {
            json_object_set_new(mo, "patience", json_integer(mons[i].m->patience));
            json_object_set_new(mo, "restore_best_weights", json_boolean(t->restore_best_weights));
        }
        json_object_set_new(tr, mons[i].key, mo);
    }
    if (t->nclass_weight > 0) {
        json_t *cw = json_array();
        for (int i = 0; i < t->nclass_weight; i++)
            json_array_append_new(cw, jfloat(t->class_weight[i]));
        json_object_set_new(tr, "class_weight", cw);
    }
    const advml_augment_config *a = &t->augment;
    if (a->shift[0] || a->shift[1] || a->horizontal_flip || a->noise > 0) {
        json_t *ao = json_object();
        if (a->shift[0] || a->shift[1])
            json_object_set_new(ao, "shift", json_pack("[ii]", a->shift[0], a->shift[1]));
        json_object_set_new(ao, "horizontal_flip", json_boolean(a->horizontal_flip));
        json_object_set_new(ao, "noise", jfloat(a->noise));
        json_object_set_new(tr, "augment", ao);
    }
    if (t->init_from[0])
        json_object_set_new(tr, "init_from", json_string(t->init_from));
    if (t->ninit_layers > 0) {
        json_t *il = json_array();
        for (int i = 0; i < t->ninit_layers; i++)
            json_array_append_new(il, json_integer(t->init_layers[i]));
        json_object_set_new(tr, "init_layers", il);
    }
    json_object_set_new(root, "training", tr);

    /* One section per line and one layer per line: readable in HDFView and h5dump. */
    char *s = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&s, &len);
    if (f) {
        const size_t flags = JSON_REAL_PRECISION(9) | JSON_ENCODE_ANY;
        const char *key;
        json_t *v;
        int first = 1;
        fputs("{", f);
        json_object_foreach(root, key, v) {
            json_t *jk = json_string(key);
            char *ks = jk ? json_dumps(jk, JSON_ENCODE_ANY) : NULL;
            json_decref(jk);
            fprintf(f, "%s\n  %s: ", first ? "" : ",", ks ? ks : "\"?\"");
            free(ks);
            first = 0;
            if (json_is_array(v) && !strcmp(key, "model")) {
                fputs("[", f);
                for (size_t i = 0; i < json_array_size(v); i++) {
                    char *ls = json_dumps(json_array_get(v, i), flags);
                    fprintf(f, "%s\n    %s", i ? "," : "", ls ? ls : "null");
                    free(ls);
                }
                fputs("\n  ]", f);
            } else {
                char *vs = json_dumps(v, flags);
                fputs(vs ? vs : "null", f);
                free(vs);
            }
        }
        fputs("\n}\n", f);
        if (fclose(f) != 0) {
            free(s);
            s = NULL;
        }
    }
    json_decref(root);
    return s;
}

int advml_config_same_model(const advml_config *a, const advml_config *b, char *why, size_t n)
{
    char sa[64], sb[64];
    if (a->has_input && b->has_input && !advml_shape_equal(&a->model.input, &b->model.input)) {
        if (why)
            snprintf(why, n, "input %s vs %s", advml_shape_str(&a->model.input, sa, sizeof sa),
                     advml_shape_str(&b->model.input, sb, sizeof sb));
        return 0;
    }
    if (a->model.loss != b->model.loss) {
        if (why)
            snprintf(why, n, "loss %s vs %s", advml_loss_name(a->model.loss), advml_loss_name(b->model.loss));
        return 0;
    }
    if (a->model.nlayers != b->model.nlayers) {
        if (why)
            snprintf(why, n, "%d layers vs %d", a->model.nlayers, b->model.nlayers);
        return 0;
    }
    for (int i = 0; i < a->model.nlayers; i++) {
        const advml_layer_spec *x = &a->model.layers[i], *y = &b->model.layers[i];
        const advml_layer_kind *kind = advml_layer_kind_of(x->type);
        int same = x->type == y->type && kind;
        for (const advml_layer_key *k = same ? kind->keys : NULL; k && k->name; k++)
            if (!(k->flags & ADVML_KEY_NOT_MODEL))
                same = same && key_same(k, x, y);
        if (!same) {
            if (why) {
                json_t *jx = layer_json(x), *jy = layer_json(y);
                char *tx = jx ? json_dumps(jx, JSON_COMPACT | JSON_REAL_PRECISION(9)) : NULL;
                char *ty = jy ? json_dumps(jy, JSON_COMPACT | JSON_REAL_PRECISION(9)) : NULL;
                snprintf(why, n, "model[%d] %.200s vs %.200s", i, tx ? tx : "?", ty ? ty : "?");
                free(tx);
                free(ty);
                json_decref(jx);
                json_decref(jy);
            }
            return 0;
        }
    }
    return 1;
}

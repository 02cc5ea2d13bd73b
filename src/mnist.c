/* mnist.c - MNIST / Fashion-MNIST IDX files to an advml dataset file (see include/advml/mnist.h). */
#include "advml/mnist.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "advml/dataset_write.h"
#include "advml/idx.h"

#define NUM_CLASSES 10

/* The course's PyTorch example normalises MNIST with these. */
#define MNIST_MEAN 0.1307
#define MNIST_STD 0.3081

static const char *const digit_names[NUM_CLASSES] = {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};
static const char *const fashion_names[NUM_CLASSES] = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                                       "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};

typedef struct part {
    advml_idx images, labels;
    char ipath[ADVML_PATH_MAX], lpath[ADVML_PATH_MAX];
    int32_t *y;          /* (N) labels as int32 */
    int64_t counts[NUM_CLASSES];
} part;

static void part_free(part *p)
{
    advml_idx_free(&p->images);
    advml_idx_free(&p->labels);
    free(p->y);
}

/* Read and check one images/labels pair (prefix "train" or "t10k"). */
static advml_status read_part(const char *dir, const char *prefix, part *p, advml_error *err)
{
    char stem[64];
    advml_status st;
    snprintf(stem, sizeof stem, "%s-images-idx3-ubyte", prefix);
    if ((st = advml_idx_find(dir, stem, p->ipath, sizeof p->ipath, err)))
        return st;
    snprintf(stem, sizeof stem, "%s-labels-idx1-ubyte", prefix);
    if ((st = advml_idx_find(dir, stem, p->lpath, sizeof p->lpath, err)))
        return st;
    if ((st = advml_idx_read(p->ipath, 3, &p->images, err)) || (st = advml_idx_read(p->lpath, 1, &p->labels, err)))
        return st;
    int64_t n = p->images.dims[0];
    if (n != p->labels.dims[0])
        return advml_error_set(err, ADVML_ERR_FORMAT, "count mismatch: %s has %lld images but %s has %lld labels",
                               p->ipath, (long long)n, p->lpath, (long long)p->labels.dims[0]);
    if (n < 1 || p->images.dims[1] < 1 || p->images.dims[2] < 1 || p->images.dims[1] > INT_MAX ||
        p->images.dims[2] > INT_MAX)
        return advml_error_set(err, ADVML_ERR_FORMAT, "%s: no images (dimensions %lld x %lld x %lld)", p->ipath,
                               (long long)n, (long long)p->images.dims[1], (long long)p->images.dims[2]);
    p->y = malloc((size_t)n * sizeof *p->y);
    if (!p->y)
        return advml_error_set(err, ADVML_ERR_NOMEM, "%s: out of memory", p->lpath);
    for (int64_t i = 0; i < n; i++) {
        int c = p->labels.data[i];
        if (c >= NUM_CLASSES)
            return advml_error_set(err, ADVML_ERR_FORMAT, "%s: label %d of item %lld is outside 0..%d", p->lpath, c,
                                   (long long)i, NUM_CLASSES - 1);
        p->y[i] = c;
        p->counts[c]++;
    }
    return ADVML_OK;
}

static int balanced(const part *p, int64_t per_class)
{
    for (int c = 0; c < NUM_CLASSES; c++)
        if (p->counts[c] != per_class)
            return 0;
    return 1;
}

static int says_fashion(const char *dir)
{
    for (const char *s = dir; *s; s++)
        if (strncasecmp(s, "fashion", 7) == 0)
            return 1;
    return 0;
}

/* Mean and population std of pixel/255 over n images of len bytes (a histogram: exact and fast). */
static void pixel_stats(const uint8_t *px, size_t count, double *mean, double *std)
{
    uint64_t h[256] = {0};
    for (size_t i = 0; i < count; i++)
        h[px[i]]++;
    double s = 0.0, ss = 0.0;
    for (int v = 0; v < 256; v++) {
        double x = v / 255.0;
        s += (double)h[v] * x;
        ss += (double)h[v] * x * x;
    }
    *mean = s / (double)count;
    double var = ss / (double)count - *mean * *mean;
    *std = sqrt(var > 0 ? var : 0);
}

advml_status advml_mnist_convert(const advml_mnist_opts *o, advml_error *err)
{
    part tr, te;
    memset(&tr, 0, sizeof tr);
    memset(&te, 0, sizeof te);
    advml_dsw *out = NULL;
    advml_status st;
    if ((st = read_part(o->from, "train", &tr, err)) || (st = read_part(o->from, "t10k", &te, err)))
        goto done;
    if (tr.images.dims[1] != te.images.dims[1] || tr.images.dims[2] != te.images.dims[2]) {
        st = advml_error_set(err, ADVML_ERR_FORMAT, "%s has %lldx%lld images but %s has %lldx%lld", tr.ipath,
                             (long long)tr.images.dims[1], (long long)tr.images.dims[2], te.ipath,
                             (long long)te.images.dims[1], (long long)te.images.dims[2]);
        goto done;
    }
    int64_t ntr = tr.images.dims[0], nval = o->validation;
    if (nval < 0 || nval >= ntr) {
        st = advml_error_set(err, ADVML_ERR_ARG, "--validation %lld: must be between 0 and %lld (the training images in %s)",
                             (long long)nval, (long long)ntr - 1, tr.ipath);
        goto done;
    }
    int fashion = o->kind == ADVML_MNIST_FASHION ||
                  (o->kind == ADVML_MNIST_AUTO &&
                   (says_fashion(o->from) || (ntr == 60000 && balanced(&tr, 6000) && balanced(&te, 1000))));
    int h = (int)tr.images.dims[1], w = (int)tr.images.dims[2];
    size_t img = (size_t)h * (size_t)w;
    int64_t ntrain = ntr - nval;

    double mean = MNIST_MEAN, std = MNIST_STD;
    int computed = fashion || o->compute_stats;
    if (computed)
        pixel_stats(tr.images.data, (size_t)ntrain * img, &mean, &std);
    if (!(std > 0)) {
        st = advml_error_set(err, ADVML_ERR_FORMAT, "%s: every training pixel has the same value; cannot normalise",
                             tr.ipath);
        goto done;
    }

    char absdir[PATH_MAX];
    if (!realpath(o->from, absdir))
        snprintf(absdir, sizeof absdir, "%s", o->from);
    char source[PATH_MAX + 256], desc[512], norm[256];
    snprintf(source, sizeof source, "%s, converted from the IDX files in %s",
             fashion ? "Fashion-MNIST (Zalando Research: H. Xiao, K. Rasul, R. Vollgraf, 2017)"
                     : "MNIST handwritten digits (Y. LeCun, C. Cortes, C. J. C. Burges)",
             absdir);
    snprintf(norm, sizeof norm,
             computed ? "mean %.4f and std %.4f of the training pixels (scaled to [0, 1])"
                      : "mean %.4f and std %.4f as in the course's PyTorch example",
             mean, std);
    snprintf(desc, sizeof desc, "%s: %dx%d grayscale images, 10 classes; inputs normalised with %s",
             fashion ? "Fashion-MNIST" : "MNIST", h, w, norm);

    if ((st = advml_dsw_create(&out, o->out, o->force, err)))
        goto done;
    advml_dsw_meta meta = {"images", source, desc, o->command_line};
    if ((st = advml_dsw_root(out, &meta, err)))
        goto done;
    char d_train[160], d_val[160], d_test[160];
    snprintf(d_train, sizeof d_train, "official training images 0..%lld", (long long)ntrain - 1);
    snprintf(d_val, sizeof d_val, "official training images %lld..%lld (held out with --validation %lld)",
             (long long)ntrain, (long long)ntr - 1, (long long)nval);
    snprintf(d_test, sizeof d_test, "official test images 0..%lld (t10k)", (long long)te.images.dims[0] - 1);
    advml_dsw_split s = {0};
    s.sample = advml_shape3(1, h, w);
    s.inputs_u8 = 1;
    s.scale = 1.0 / 255.0;
    s.mean = mean;
    s.std = std;
    s.num_classes = NUM_CLASSES;
    s.class_names = fashion ? fashion_names : digit_names;

    s.name = "train";
    s.description = d_train;
    s.n = ntrain;
    s.inputs = tr.images.data;
    s.classes = tr.y;
    if ((st = advml_dsw_split_write(out, &s, err)))
        goto done;
    if (nval > 0) {
        s.name = "validation";
        s.description = d_val;
        s.n = nval;
        s.inputs = tr.images.data + (size_t)ntrain * img;
        s.classes = tr.y + ntrain;
        if ((st = advml_dsw_split_write(out, &s, err)))
            goto done;
    }
    s.name = "test";
    s.description = d_test;
    s.n = te.images.dims[0];
    s.inputs = te.images.data;
    s.classes = te.y;
    if ((st = advml_dsw_split_write(out, &s, err)))
        goto done;
    st = advml_dsw_commit(&out, err);
done:
    if (st && out)
        advml_error_prefix(err, "%s: ", o->out); /* the inputs were fine; writing failed */
    advml_dsw_abort(out);
    part_free(&tr);
    part_free(&te);
    return st;
}

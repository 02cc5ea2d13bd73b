/* test_dataset.c - reading advml dataset files: blocks, index lists, shards, preload, errors,
 * and (when scripts/fetch-data.sh has run) the real MNIST converted by the data_fixture test. */
#include "testutil.h"
#include "advml/dataset.h"
#include "advml/dataset_write.h"
#include "advml/h5io.h"
#include "advml/idx.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static char dir[64];
static char img_path[128], seq_path[128], big_path[128];

#define NI 103            /* image samples */
#define LI 24             /* (2, 3, 4) */
#define NCLS 7
#define NS 50             /* sequence samples */
#define LS 15             /* (5, 3) */
#define NB 300            /* big samples (1, 256, 256): several staging batches */
#define LB (256 * 256)

static uint8_t img_raw(int i, int k) { return k == 0 ? (uint8_t)(i & 255) : k == 1 ? (uint8_t)(i >> 8) : (uint8_t)((i * 7 + k * 13) & 255); }
static float img_x(int i, int k) { return (float)(((double)img_raw(i, k) / 255.0 - 0.5) / 0.25); }
static float seq_raw(int i, int k) { return (float)i + 0.01f * (float)k; }
static float seq_x(int i, int k, int identity)
{
    return identity ? seq_raw(i, k) : (float)(((double)seq_raw(i, k) * 2.0 - 1.0) / 4.0);
}
static uint8_t big_raw(int i, int k) { return k == 0 ? (uint8_t)i : k == 1 ? (uint8_t)(i >> 8) : (uint8_t)((i + k / 256) & 255); }

static void make_files(void)
{
    advml_error err = {0};
    advml_dsw *o = NULL;
    /* images: uint8 (N, 2, 3, 4), class ids i % 7 */
    snprintf(img_path, sizeof img_path, "%s/img.h5", dir);
    static uint8_t xi[NI * LI];
    static int32_t yi[NI];
    for (int i = 0; i < NI; i++) {
        for (int k = 0; k < LI; k++)
            xi[i * LI + k] = img_raw(i, k);
        yi[i] = i % NCLS;
    }
    if (advml_dsw_create(&o, img_path, 1, &err) != ADVML_OK)
        exit(2);
    advml_dsw_meta m = {"images", "test", "synthetic images", NULL};
    advml_dsw_split s = {0};
    s.name = "train";
    s.n = NI;
    s.sample = advml_shape3(2, 3, 4);
    s.inputs = xi;
    s.inputs_u8 = 1;
    s.scale = 1.0 / 255.0;
    s.mean = 0.5;
    s.std = 0.25;
    s.classes = yi;
    s.num_classes = NCLS;
    if (advml_dsw_root(o, &m, &err) || advml_dsw_split_write(o, &s, &err) || advml_dsw_commit(&o, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        exit(2);
    }
    /* sequences: float (N, 5, 3), targets (N, 2) = (i, -i); train normalised, test identity */
    snprintf(seq_path, sizeof seq_path, "%s/seq.h5", dir);
    static float xs[NS * LS], ys[NS * 2];
    for (int i = 0; i < NS; i++) {
        for (int k = 0; k < LS; k++)
            xs[i * LS + k] = seq_raw(i, k);
        ys[2 * i] = (float)i;
        ys[2 * i + 1] = (float)-i;
    }
    if (advml_dsw_create(&o, seq_path, 1, &err) != ADVML_OK)
        exit(2);
    advml_dsw_meta ms = {"sequences", "test", "synthetic sequences", NULL};
    advml_dsw_split q = {0};
    q.name = "train";
    q.n = NS;
    q.sample = advml_shape2(5, 3);
    q.inputs = xs;
    q.scale = 2.0;
    q.mean = 1.0;
    q.std = 4.0;
    q.values = ys;
    q.target_dim = 2;
    advml_status st = advml_dsw_root(o, &ms, &err);
    if (!st)
        st = advml_dsw_split_write(o, &q, &err);
    q.name = "test";
    q.scale = 1.0;
    q.mean = 0.0;
    q.std = 1.0;
    if (st || advml_dsw_split_write(o, &q, &err) || advml_dsw_commit(&o, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        exit(2);
    }
    /* big samples: reads are staged in several batches */
    snprintf(big_path, sizeof big_path, "%s/big.h5", dir);
    uint8_t *xb = malloc((size_t)NB * LB);
    static int32_t yb[NB];
    for (int i = 0; i < NB; i++) {
        for (int k = 0; k < LB; k++)
            xb[(size_t)i * LB + (size_t)k] = big_raw(i, k);
        yb[i] = i % 10;
    }
    if (advml_dsw_create(&o, big_path, 1, &err) != ADVML_OK)
        exit(2);
    advml_dsw_split b = {0};
    b.name = "train";
    b.n = NB;
    b.sample = advml_shape3(1, 256, 256);
    b.inputs = xb;
    b.inputs_u8 = 1;
    b.scale = 1.0;
    b.mean = 0.0;
    b.std = 1.0;
    b.classes = yb;
    b.num_classes = 10;
    if (advml_dsw_root(o, &m, &err) || advml_dsw_split_write(o, &b, &err) || advml_dsw_commit(&o, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        exit(2);
    }
    free(xb);
}

/* Sample id decoded from a read image (pixels 0 and 1 hold the id). */
static int img_id(const float *x)
{
    int lo = (int)lround((x[0] * 0.25 + 0.5) * 255.0), hi = (int)lround((x[1] * 0.25 + 0.5) * 255.0);
    return lo | hi << 8;
}

static int check_img(const float *x, const float *y, int i)
{
    int ok = 1;
    for (int k = 0; k < LI; k++)
        ok &= x[k] == img_x(i, k);
    if (y)
        ok &= y[0] == (float)(i % NCLS);
    return ok;
}

static void t_info(void)
{
    advml_dataset *ds;
    advml_error err = {0};
    CU_ASSERT_FATAL(advml_dataset_open(&ds, img_path, &err) == ADVML_OK);
    CU_ASSERT(strcmp(advml_dataset_path(ds), img_path) == 0);
    CU_ASSERT(advml_dataset_has_split(ds, "train"));
    CU_ASSERT(!advml_dataset_has_split(ds, "test"));
    advml_split_info in;
    CU_ASSERT(advml_dataset_info(ds, "train", &in, &err) == ADVML_OK);
    CU_ASSERT(in.n == NI && in.input.rank == 3 && in.input.d[0] == 2 && in.input.d[1] == 3 && in.input.d[2] == 4);
    CU_ASSERT(in.target_dim == 0 && in.num_classes == NCLS && in.is_sequence == 0);
    CU_ASSERT(advml_dataset_info(ds, "test", &in, &err) == ADVML_ERR_FORMAT);
    CU_ASSERT(strstr(err.msg, img_path) && strstr(err.msg, "\"test\""));
    double sc, me, sd;
    CU_ASSERT(advml_dataset_norm(ds, "train", &sc, &me, &sd, &err) == ADVML_OK);
    CU_ASSERT(sc == 1.0 / 255.0 && me == 0.5 && sd == 0.25);
    advml_dataset_close(ds);

    CU_ASSERT_FATAL(advml_dataset_open(&ds, seq_path, &err) == ADVML_OK);
    CU_ASSERT(advml_dataset_info(ds, "test", &in, &err) == ADVML_OK);
    CU_ASSERT(in.n == NS && in.input.rank == 2 && in.input.d[0] == 5 && in.input.d[1] == 3);
    CU_ASSERT(in.is_sequence == 1 && in.target_dim == 2 && in.num_classes == 0);
    advml_dataset_close(ds);
}

static void t_block_and_index(void)
{
    advml_dataset *ds;
    advml_error err = {0};
    CU_ASSERT_FATAL(advml_dataset_open(&ds, img_path, &err) == ADVML_OK);
    static float x[NI * LI], y[NI];
    /* every block of a few lengths */
    int ok = 1;
    for (int len = 1; len <= NI; len += 17)
        for (int start = 0; start + len <= NI; start += 13) {
            memset(x, 0, sizeof x);
            CU_ASSERT(advml_dataset_read_block(ds, "train", start, len, x, y, &err) == ADVML_OK);
            for (int p = 0; p < len; p++)
                ok &= check_img(x + p * LI, y + p, start + p);
        }
    CU_ASSERT(ok);
    /* unsorted index lists with repeats, runs and singletons */
    advml_rng r;
    advml_rng_seed(&r, 5);
    int64_t idx[200];
    for (int trial = 0; trial < 20; trial++) {
        int n = 1 + (int)advml_rng_below(&r, 200);
        for (int p = 0; p < n; p++)
            idx[p] = trial % 2 && p % 3 == 1 && p > 0 ? (idx[p - 1] + 1) % NI : (int64_t)advml_rng_below(&r, NI);
        static float xx[200 * LI], yy[200];
        CU_ASSERT(advml_dataset_read(ds, "train", idx, n, xx, yy, &err) == ADVML_OK);
        for (int p = 0; p < n; p++)
            ok &= check_img(xx + p * LI, yy + p, (int)idx[p]);
        /* x only and y only */
        float y2[200];
        CU_ASSERT(advml_dataset_read(ds, "train", idx, n, NULL, y2, &err) == ADVML_OK);
        ok &= memcmp(y2, yy, (size_t)n * sizeof(float)) == 0;
        static float x2[200 * LI];
        CU_ASSERT(advml_dataset_read(ds, "train", idx, n, x2, NULL, &err) == ADVML_OK);
        ok &= memcmp(x2, xx, (size_t)n * LI * sizeof(float)) == 0;
    }
    CU_ASSERT(ok);
    CU_ASSERT(advml_dataset_read(ds, "train", idx, 0, x, y, &err) == ADVML_OK);
    advml_dataset_close(ds);

    /* float sequences: normalised (train) and identity (test); (N, 2) targets */
    CU_ASSERT_FATAL(advml_dataset_open(&ds, seq_path, &err) == ADVML_OK);
    static float xs[NS * LS], ys[NS * 2];
    int64_t sidx[5] = {49, 0, 17, 17, 3};
    for (int identity = 0; identity < 2; identity++) {
        const char *sp = identity ? "test" : "train";
        CU_ASSERT(advml_dataset_read(ds, sp, sidx, 5, xs, ys, &err) == ADVML_OK);
        for (int p = 0; p < 5; p++) {
            for (int k = 0; k < LS; k++)
                ok &= xs[p * LS + k] == seq_x((int)sidx[p], k, identity);
            ok &= ys[2 * p] == (float)sidx[p] && ys[2 * p + 1] == (float)-sidx[p];
        }
        CU_ASSERT(advml_dataset_read_block(ds, sp, 10, 40, xs, ys, &err) == ADVML_OK);
        for (int p = 0; p < 40; p++)
            ok &= xs[p * LS + 7] == seq_x(10 + p, 7, identity) && ys[2 * p] == (float)(10 + p);
    }
    CU_ASSERT(ok);
    advml_dataset_close(ds);
}

/* Reads staged in several batches (a big sample size) keep the caller's order. */
static void t_batches(void)
{
    advml_dataset *ds;
    advml_error err = {0};
    CU_ASSERT_FATAL(advml_dataset_open(&ds, big_path, &err) == ADVML_OK);
    int64_t *idx = malloc(2 * NB * sizeof *idx);
    float *x = malloc((size_t)2 * NB * LB * sizeof *x), y[2 * NB];
    advml_rng r;
    advml_rng_seed(&r, 9);
    for (int p = 0; p < 2 * NB; p++)
        idx[p] = (int64_t)advml_rng_below(&r, NB);
    CU_ASSERT(advml_dataset_read(ds, "train", idx, 2 * NB, x, y, &err) == ADVML_OK);
    int ok = 1;
    for (int p = 0; p < 2 * NB; p++) {
        int i = (int)idx[p];
        const float *s = x + (size_t)p * LB;
        ok &= s[0] == (float)(uint8_t)i && s[1] == (float)(i >> 8) && s[777] == (float)big_raw(i, 777) &&
              s[LB - 1] == (float)big_raw(i, LB - 1) && y[p] == (float)(i % 10);
    }
    CU_ASSERT(ok);
    CU_ASSERT(advml_dataset_read_block(ds, "train", 0, NB, x, y, &err) == ADVML_OK);
    for (int i = 0; i < NB; i++)
        ok &= x[(size_t)i * LB + 5000] == (float)big_raw(i, 5000) && y[i] == (float)(i % 10);
    CU_ASSERT(ok);
    free(idx);
    free(x);
    advml_dataset_close(ds);
}

/* Shards of 1, 2, 3 and 4 ranks cover a split exactly once, by blocks and by index lists. */
static void t_shards(void)
{
    advml_dataset *ds;
    advml_error err = {0};
    CU_ASSERT_FATAL(advml_dataset_open(&ds, img_path, &err) == ADVML_OK);
    static float x[NI * LI], y[NI];
    for (int preload = 0; preload < 2; preload++) {
        if (preload) {
            int loaded = 0;
            CU_ASSERT(advml_dataset_preload(ds, "train", 1 << 20, &loaded, &err) == ADVML_OK);
            CU_ASSERT(loaded == 1);
        }
        for (int nr = 1; nr <= 4; nr++) {
            /* contiguous blocks (evaluation) */
            int seen[NI] = {0};
            int ok = 1;
            for (int rank = 0; rank < nr; rank++) {
                int64_t start, count;
                advml_dataset_shard(NI, rank, nr, &start, &count);
                CU_ASSERT(count == NI / nr || count == NI / nr + 1);
                CU_ASSERT(advml_dataset_read_block(ds, "train", start, count, x, y, &err) == ADVML_OK);
                for (int p = 0; p < count; p++) {
                    int id = img_id(x + p * LI);
                    ok &= id >= 0 && id < NI && check_img(x + p * LI, y + p, id);
                    if (id >= 0 && id < NI)
                        seen[id]++;
                }
            }
            for (int i = 0; i < NI; i++)
                ok &= seen[i] == 1;
            CU_ASSERT(ok);
            /* index lists: each global batch of a permutation split across the ranks (training) */
            int64_t perm[NI];
            advml_permutation(perm, NI, 42, (uint64_t)nr);
            memset(seen, 0, sizeof seen);
            const int B = 16;
            for (int b0 = 0; b0 < NI; b0 += B) {
                int bn = NI - b0 < B ? NI - b0 : B;
                for (int rank = 0; rank < nr; rank++) {
                    int64_t s, c;
                    advml_dataset_shard(bn, rank, nr, &s, &c);
                    CU_ASSERT(advml_dataset_read(ds, "train", perm + b0 + s, c, x, y, &err) == ADVML_OK);
                    for (int p = 0; p < c; p++) {
                        int id = img_id(x + p * LI);
                        ok &= id == (int)perm[b0 + s + p] && check_img(x + p * LI, y + p, id);
                        if (id >= 0 && id < NI)
                            seen[id]++;
                    }
                }
            }
            for (int i = 0; i < NI; i++)
                ok &= seen[i] == 1;
            CU_ASSERT(ok);
        }
    }
    advml_dataset_close(ds);
}

static void t_preload(void)
{
    advml_dataset *disk, *mem;
    advml_error err = {0};
    CU_ASSERT_FATAL(advml_dataset_open(&disk, img_path, &err) == ADVML_OK);
    CU_ASSERT_FATAL(advml_dataset_open(&mem, img_path, &err) == ADVML_OK);
    int loaded = 1;
    size_t need = NI * LI + NI * 4;
    CU_ASSERT(advml_dataset_preload(mem, "train", need - 1, &loaded, &err) == ADVML_OK);
    CU_ASSERT(loaded == 0);
    CU_ASSERT(advml_dataset_preload(mem, "train", need, &loaded, &err) == ADVML_OK);
    CU_ASSERT(loaded == 1);
    CU_ASSERT(advml_dataset_preload(mem, "train", 0, &loaded, &err) == ADVML_OK); /* already held */
    CU_ASSERT(loaded == 1);
    CU_ASSERT(advml_dataset_preload(mem, "nope", need, &loaded, &err) == ADVML_ERR_FORMAT);
    int64_t idx[64];
    advml_rng r;
    advml_rng_seed(&r, 3);
    for (int p = 0; p < 64; p++)
        idx[p] = (int64_t)advml_rng_below(&r, NI);
    static float a[64 * LI], b[64 * LI], ya[64], yb[64];
    CU_ASSERT(advml_dataset_read(disk, "train", idx, 64, a, ya, &err) == ADVML_OK);
    CU_ASSERT(advml_dataset_read(mem, "train", idx, 64, b, yb, &err) == ADVML_OK);
    CU_ASSERT(memcmp(a, b, sizeof a) == 0 && memcmp(ya, yb, sizeof ya) == 0);
    CU_ASSERT(advml_dataset_read_block(disk, "train", 40, 60, a, ya, &err) == ADVML_OK);
    CU_ASSERT(advml_dataset_read_block(mem, "train", 40, 60, b, yb, &err) == ADVML_OK);
    CU_ASSERT(memcmp(a, b, 60 * LI * sizeof(float)) == 0 && memcmp(ya, yb, 60 * sizeof(float)) == 0);
    advml_dataset_close(disk);
    advml_dataset_close(mem);
    /* float splits preload too */
    CU_ASSERT_FATAL(advml_dataset_open(&mem, seq_path, &err) == ADVML_OK);
    CU_ASSERT(advml_dataset_preload(mem, "train", 1 << 20, &loaded, &err) == ADVML_OK && loaded);
    static float xs[LS], ys[2];
    int i = (int)(idx[0] % NS);
    CU_ASSERT(advml_dataset_read(mem, "train", &(int64_t){i}, 1, xs, ys, &err) == ADVML_OK);
    CU_ASSERT(xs[4] == seq_x(i, 4, 0) && ys[1] == (float)-i);
    advml_dataset_close(mem);
}

/* A file written by hand with HDF5 (the layout without advml's writer). */
static void write_raw(const char *path, int n_in, int n_tg, int label)
{
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hid_t g = H5Gcreate2(f, "train", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    hsize_t di[2] = {(hsize_t)n_in, 3}, dt[1] = {(hsize_t)n_tg};
    hid_t s = H5Screate_simple(2, di, NULL);
    hid_t d = H5Dcreate2(g, "inputs", H5T_IEEE_F32LE, s, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    float v[30] = {0};
    H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, v);
    H5Dclose(d);
    H5Sclose(s);
    s = H5Screate_simple(1, dt, NULL);
    d = H5Dcreate2(g, "targets", H5T_STD_I32LE, s, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    int lab[10] = {0, 1, 2, 0, 1, 2, 0, 1, 2, 0};
    lab[4] = label;
    H5Dwrite(d, H5T_NATIVE_INT, H5S_ALL, H5S_ALL, H5P_DEFAULT, lab);
    advml_h5_attr_int64(d, "num_classes", 3, NULL);
    H5Dclose(d);
    H5Sclose(s);
    H5Gclose(g);
    H5Fclose(f);
}

static void t_errors(void)
{
    advml_dataset *ds;
    advml_error err = {0};
    char p[160];
    snprintf(p, sizeof p, "%s/missing.h5", dir);
    CU_ASSERT(advml_dataset_open(&ds, p, &err) == ADVML_ERR_IO);
    CU_ASSERT(strstr(err.msg, p) != NULL && ds == NULL);
    snprintf(p, sizeof p, "%s/text.h5", dir);
    FILE *f = fopen(p, "w");
    fputs("hello\n", f);
    fclose(f);
    CU_ASSERT(advml_dataset_open(&ds, p, &err) == ADVML_ERR_FORMAT);
    CU_ASSERT(strstr(err.msg, "not an HDF5 file") != NULL);

    CU_ASSERT_FATAL(advml_dataset_open(&ds, img_path, &err) == ADVML_OK);
    float x[LI], y[1];
    int64_t bad = NI;
    CU_ASSERT(advml_dataset_read(ds, "train", &bad, 1, x, y, &err) == ADVML_ERR_ARG);
    CU_ASSERT(strstr(err.msg, "103") != NULL && strstr(err.msg, "outside") != NULL);
    bad = -1;
    CU_ASSERT(advml_dataset_read(ds, "train", &bad, 1, x, y, &err) == ADVML_ERR_ARG);
    CU_ASSERT(advml_dataset_read(ds, "train", &bad, -1, x, y, &err) == ADVML_ERR_ARG);
    CU_ASSERT(advml_dataset_read_block(ds, "train", NI - 1, 2, x, y, &err) == ADVML_ERR_ARG);
    CU_ASSERT(advml_dataset_read_block(ds, "train", -1, 1, x, y, &err) == ADVML_ERR_ARG);
    CU_ASSERT(advml_dataset_read_block(ds, "validation", 0, 1, x, y, &err) == ADVML_ERR_FORMAT);
    CU_ASSERT(strstr(err.msg, "validation") != NULL);
    advml_dataset_close(ds);

    /* count mismatch between inputs and targets */
    snprintf(p, sizeof p, "%s/mismatch.h5", dir);
    write_raw(p, 10, 9, 1);
    CU_ASSERT_FATAL(advml_dataset_open(&ds, p, &err) == ADVML_OK);
    advml_split_info in;
    CU_ASSERT(advml_dataset_info(ds, "train", &in, &err) == ADVML_ERR_FORMAT);
    CU_ASSERT(strstr(err.msg, "10 inputs but 9 targets") != NULL);
    advml_dataset_close(ds);
    /* a class id outside num_classes: reads of it fail, preload fails */
    snprintf(p, sizeof p, "%s/badclass.h5", dir);
    write_raw(p, 10, 10, 5);
    CU_ASSERT_FATAL(advml_dataset_open(&ds, p, &err) == ADVML_OK);
    CU_ASSERT(advml_dataset_info(ds, "train", &in, &err) == ADVML_OK);
    CU_ASSERT(in.n == 10 && in.input.rank == 1 && in.input.d[0] == 3 && in.num_classes == 3);
    int64_t i3 = 3, i4 = 4;
    float xx[3], yy[1];
    CU_ASSERT(advml_dataset_read(ds, "train", &i3, 1, xx, yy, &err) == ADVML_OK);
    CU_ASSERT(advml_dataset_read(ds, "train", &i4, 1, xx, yy, &err) == ADVML_ERR_FORMAT);
    CU_ASSERT(strstr(err.msg, "sample 4 has class 5") != NULL && strstr(err.msg, p) != NULL);
    int loaded = 1;
    CU_ASSERT(advml_dataset_preload(ds, "train", 1 << 20, &loaded, &err) == ADVML_ERR_FORMAT);
    CU_ASSERT(loaded == 0);
    advml_dataset_close(ds);
}

/* ---- the real MNIST, converted once per test run by the data_fixture test ---- */

static const int64_t train_counts[10] = {5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949};
static const int64_t test_counts[10] = {980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009};

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void t_mnist(void)
{
#if defined(ADVML_TEST_SRC_DATA) && defined(ADVML_TEST_DATA_DIR)
    char raw[512], h5[512];
    snprintf(raw, sizeof raw, "%s/mnist/train-images-idx3-ubyte", ADVML_TEST_SRC_DATA);
    snprintf(h5, sizeof h5, "%s/mnist.h5", ADVML_TEST_DATA_DIR);
    if (access(raw, R_OK) != 0) {
        printf("\n  (no %s: run scripts/fetch-data.sh; MNIST checks skipped) ", raw);
        return;
    }
    advml_dataset *ds;
    advml_error err = {0};
    CU_ASSERT_FATAL(advml_dataset_open(&ds, h5, &err) == ADVML_OK);
    advml_split_info tr, te;
    CU_ASSERT_FATAL(advml_dataset_info(ds, "train", &tr, &err) == ADVML_OK);
    CU_ASSERT_FATAL(advml_dataset_info(ds, "test", &te, &err) == ADVML_OK);
    CU_ASSERT(tr.n == 60000 && te.n == 10000);
    CU_ASSERT(tr.input.rank == 3 && tr.input.d[0] == 1 && tr.input.d[1] == 28 && tr.input.d[2] == 28);
    CU_ASSERT(te.input.rank == 3 && te.input.d[0] == 1 && te.input.d[1] == 28 && te.input.d[2] == 28);
    CU_ASSERT(tr.num_classes == 10 && te.num_classes == 10 && !advml_dataset_has_split(ds, "validation"));
    float *y = malloc(60000 * sizeof *y);
    CU_ASSERT(advml_dataset_read_block(ds, "train", 0, 60000, NULL, y, &err) == ADVML_OK);
    int64_t c[10] = {0};
    for (int i = 0; i < 60000; i++)
        c[(int)y[i]]++;
    for (int k = 0; k < 10; k++)
        CU_ASSERT(c[k] == train_counts[k]);
    CU_ASSERT(advml_dataset_read_block(ds, "test", 0, 10000, NULL, y, &err) == ADVML_OK);
    memset(c, 0, sizeof c);
    for (int i = 0; i < 10000; i++)
        c[(int)y[i]]++;
    for (int k = 0; k < 10; k++)
        CU_ASSERT(c[k] == test_counts[k]);
    /* pixels equal the IDX bytes, normalised as the course's PyTorch example */
    advml_idx m;
    CU_ASSERT_FATAL(advml_idx_read(raw, 3, &m, &err) == ADVML_OK);
    int64_t idx[4] = {59999, 0, 31337, 7};
    float *x = malloc(64 * 784 * sizeof *x);
    CU_ASSERT(advml_dataset_read(ds, "train", idx, 4, x, NULL, &err) == ADVML_OK);
    double maxd = 0;
    for (int p = 0; p < 4; p++)
        for (int k = 0; k < 784; k++) {
            double want = (m.data[(size_t)idx[p] * 784 + (size_t)k] / 255.0 - 0.1307) / 0.3081;
            double d = fabs(x[p * 784 + k] - want);
            maxd = d > maxd ? d : maxd;
        }
    ADVML_CHECK_CLOSE(maxd, 0.0, 1e-6);
    advml_idx_free(&m);

    /* timing of the trainer's access pattern: 64 random samples per step */
    advml_rng r;
    advml_rng_seed(&r, 1);
    int64_t batch[64];
    const int steps = 200;
    double t_disk[2];
    for (int pass = 0; pass < 2; pass++) { /* the first pass fills the chunk cache */
        double t0 = now_s();
        for (int s = 0; s < steps; s++) {
            for (int p = 0; p < 64; p++)
                batch[p] = (int64_t)advml_rng_below(&r, 60000);
            CU_ASSERT(advml_dataset_read(ds, "train", batch, 64, x, y, &err) == ADVML_OK);
        }
        t_disk[pass] = (now_s() - t0) / steps;
    }
    int loaded = 0;
    double t0 = now_s();
    CU_ASSERT(advml_dataset_preload(ds, "train", (size_t)64 << 20, &loaded, &err) == ADVML_OK);
    double t_pre = now_s() - t0;
    CU_ASSERT(loaded == 1);
    t0 = now_s();
    for (int s = 0; s < 10 * steps; s++) {
        for (int p = 0; p < 64; p++)
            batch[p] = (int64_t)advml_rng_below(&r, 60000);
        CU_ASSERT(advml_dataset_read(ds, "train", batch, 64, x, y, &err) == ADVML_OK);
    }
    double t_mem = (now_s() - t0) / (10 * steps);
    printf("\n  MNIST 64-sample reads: %.3f ms from disk (first %d steps), %.3f ms (next %d, chunks cached), "
           "preload %.2f s, %.4f ms from memory ", 1e3 * t_disk[0], steps, 1e3 * t_disk[1], steps, t_pre, 1e3 * t_mem);
    free(x);
    free(y);
    advml_dataset_close(ds);
#else
    printf("\n  (built without the data fixture: MNIST checks skipped) ");
#endif
}

static void reg(void)
{
    advml_h5_quiet();
    make_files();
    static const advml_test_case c[] = {{"info", t_info},         {"block_and_index", t_block_and_index},
                                        {"batches", t_batches},   {"shards", t_shards},
                                        {"preload", t_preload},   {"errors", t_errors},
                                        {"mnist", t_mnist},       {NULL, NULL}};
    advml_test_add_suite("dataset", c);
}

int main(void) { return advml_test_main_in_dir(reg, "dataset_test", dir, sizeof dir); }

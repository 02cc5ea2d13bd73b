/* predict_file.c - the prediction file of advml-predict: predictions,
 * metrics, confusion matrix and forecast with provenance
 * (include/advml/predict_file.h, docs/predict-layout.md).
 */
#include "advml/predict_file.h"

#include <stdio.h>
#include <stdlib.h>

#include "advml/h5io.h"
#include "advml/numfmt.h"
#include "advml/version.h"

static advml_status write_ds(hid_t f, const char *name, hid_t mtype, hid_t ftype, int rank, hsize_t d0, hsize_t d1,
                             const void *data, const char *description, advml_error *err)
{
    hsize_t dims[2] = {d0, d1};
    hid_t d;
    advml_status s = advml_h5_write(f, name, mtype, ftype, rank, dims, data, 0, d0 * (rank > 1 ? d1 : 1) > 4096,
                                    &d, err);
    if (s)
        return s;
    s = advml_h5_attr_string(d, "description", description, err);
    H5Dclose(d);
    return s;
}

static advml_status write_file(hid_t f, const advml_predictor *p, const advml_predictions *pr,
                               const advml_forecast *fc, const advml_predict_meta *meta, advml_error *err)
{
    advml_status s;
    char now[32];
    advml_iso_time(now, sizeof now);
    const char *none = "";
    if ((s = advml_h5_attr_string(f, "format", "advml-predictions", err)) ||
        (s = advml_h5_attr_int64(f, "format_version", 1, err)) ||
        (s = advml_h5_attr_string(f, "task", advml_task_name(p->task), err)) ||
        (s = advml_h5_attr_string(f, "loss", advml_loss_name(p->cfg.model.loss), err)) ||
        (s = advml_h5_attr_string(f, "split", meta->split ? meta->split : none, err)) ||
        (s = advml_h5_attr_string(f, "checkpoint", meta->checkpoint ? meta->checkpoint : none, err)) ||
        (s = advml_h5_attr_string(f, "data", meta->data ? meta->data : none, err)) ||
        (s = advml_h5_attr_int64(f, "num_samples", pr->n, err)) ||
        (s = advml_h5_attr_int64(f, "num_outputs", pr->K, err)) ||
        (s = advml_h5_attr_int64(f, "checkpoint_epoch", p->state.epoch, err)) ||
        (s = advml_h5_attr_int64(f, "checkpoint_step", p->state.step, err)) ||
        (s = advml_h5_attr_string(f, "config_json", p->config_json ? p->config_json : none, err)) ||
        (s = advml_h5_attr_string(f, "command_line", meta->command_line ? meta->command_line : none, err)) ||
        (s = advml_h5_attr_int64(f, "nranks", meta->nranks, err)) ||
        (s = advml_h5_attr_string(f, "created", now, err)) ||
        (s = advml_h5_attr_string(f, "advml_version", ADVML_VERSION, err)) ||
        (s = advml_h5_attr_string(f, "git_commit", ADVML_GIT_COMMIT, err)))
        return s;

    advml_names cn = {0};
    if (p->task == ADVML_TASK_CLASSIFICATION && meta->data && meta->split) {
        char obj[64];
        snprintf(obj, sizeof obj, "/%s/targets", meta->split);
        advml_dataset_names(meta->data, obj, "class_names", &cn);
        if (cn.n != pr->K)
            advml_names_free(&cn);
        if (cn.n && (s = advml_h5_attr_strings(f, "class_names", (const char *const *)cn.v, (size_t)cn.n, err))) {
            advml_names_free(&cn);
            return s;
        }
    }

    if (p->task != ADVML_TASK_CLASSIFICATION && meta->data && meta->split) {
        /* what each output is ("x(i)", "v(i)"): the data's target names, for plots */
        advml_names tn = {0};
        char obj[64];
        snprintf(obj, sizeof obj, "/%s/targets", meta->split);
        advml_dataset_names(meta->data, obj, "names", &tn);
        if (tn.n == pr->K)
            s = advml_h5_attr_strings(f, "target_names", (const char *const *)tn.v, (size_t)tn.n, err);
        advml_names_free(&tn);
        if (s)
            goto out;
    }

    hid_t g;
    if ((s = advml_h5_group(f, "metrics", &g, err)))
        goto out;
    if (!(s = advml_h5_attr_double(g, "loss", pr->loss, err)) &&
        !(s = advml_h5_attr_double(g, "accuracy", pr->accuracy, err)) &&
        !(s = advml_h5_attr_double(g, "mse", pr->mse, err)))
        s = advml_h5_attr_int64(g, "num_samples", pr->n, err);
    H5Gclose(g);
    if (s)
        goto out;

    hsize_t n = (hsize_t)pr->n, K = (hsize_t)pr->K;
    if (p->task == ADVML_TASK_CLASSIFICATION) {
        int32_t *ids = malloc((size_t)n * sizeof *ids);
        if (!ids) {
            s = advml_error_set(err, ADVML_ERR_NOMEM, "out of memory");
            goto out;
        }
        for (size_t i = 0; i < (size_t)n; i++)
            ids[i] = (int32_t)pr->targets[i];
        s = write_ds(f, "targets", H5T_NATIVE_INT32, H5T_STD_I32LE, 1, n, 0, ids,
                     "true class id of each sample (N), from the data file", err);
        free(ids);
        if (!s)
            s = write_ds(f, "predicted", H5T_NATIVE_INT32, H5T_STD_I32LE, 1, n, 0, pr->predicted,
                         "predicted class id of each sample (N): the argmax of probabilities", err);
        if (!s)
            s = write_ds(f, "probabilities", H5T_NATIVE_FLOAT, H5T_IEEE_F32LE, 2, n, K, pr->outputs,
                         "softmax class probabilities (N, K)", err);
    } else if (p->task == ADVML_TASK_BINARY) {
        s = write_ds(f, "targets", H5T_NATIVE_FLOAT, H5T_IEEE_F32LE, 2, n, K, pr->targets,
                     "true 0/1 targets (N, K), from the data file", err);
        if (!s)
            s = write_ds(f, "predicted", H5T_NATIVE_INT32, H5T_STD_I32LE, 2, n, K, pr->predicted,
                         "predicted 0/1 (N, K): probability > 0.5", err);
        if (!s)
            s = write_ds(f, "probabilities", H5T_NATIVE_FLOAT, H5T_IEEE_F32LE, 2, n, K, pr->outputs,
                         "sigmoid probabilities (N, K)", err);
    } else {
        s = write_ds(f, "targets", H5T_NATIVE_FLOAT, H5T_IEEE_F32LE, 2, n, K, pr->targets,
                     "true values (N, K), from the data file", err);
        if (!s)
            s = write_ds(f, "predictions", H5T_NATIVE_FLOAT, H5T_IEEE_F32LE, 2, n, K, pr->outputs,
                         "predicted values (N, K), each from the true input window (one step ahead)", err);
    }
    if (!s && pr->confusion) {
        hsize_t c = (hsize_t)pr->confusion_k;
        hsize_t dims[2] = {c, c};
        hid_t d;
        if (!(s = advml_h5_write(f, "confusion_matrix", H5T_NATIVE_INT64, H5T_STD_I64LE, 2, dims, pr->confusion, 0,
                                 0, &d, err))) {
            if (!(s = advml_h5_attr_string(d, "description",
                                           "counts (K, K): row = true class, column = predicted class", err)) &&
                !(s = advml_h5_attr_string(d, "rows", "true class", err)) &&
                !(s = advml_h5_attr_string(d, "columns", "predicted class", err)) && cn.n)
                s = advml_h5_attr_strings(d, "class_names", (const char *const *)cn.v, (size_t)cn.n, err);
            H5Dclose(d);
        }
    }
    if (!s && fc) {
        hsize_t H = (hsize_t)fc->horizon;
        if ((s = advml_h5_group(f, "forecast", &g, err)))
            goto out;
        if (!(s = write_ds(g, "predicted", H5T_NATIVE_FLOAT, H5T_IEEE_F32LE, 2, H, K, fc->predicted,
                           "recursive forecast (H, K): prediction h is made from a window whose last h steps "
                           "are earlier predictions",
                           err)) &&
            !(s = write_ds(g, "truth", H5T_NATIVE_FLOAT, H5T_IEEE_F32LE, 2, H, K, fc->truth,
                           "targets of windows start .. start+H-1 (H, K); NaN past the end of the split", err)) &&
            !(s = advml_h5_attr_int64(g, "start", fc->start, err)) &&
            !(s = advml_h5_attr_int64(g, "horizon", fc->horizon, err)) &&
            !(s = advml_h5_attr_int64(g, "truth_points", fc->truth_points, err)) &&
            !(s = advml_h5_attr_double(g, "mse", fc->mse, err)) &&
            !(s = advml_h5_attr_string(g, "split", meta->split ? meta->split : none, err)))
            s = advml_h5_attr_string(g, "feedback", fc->feedback, err);
        H5Gclose(g);
    }
out:
    advml_names_free(&cn);
    return s;
}

advml_status advml_predictions_write(const char *path, int force, const advml_predictor *p,
                                     const advml_predictions *pr, const advml_forecast *fc,
                                     const advml_predict_meta *meta, advml_error *err)
{
    advml_h5out o;
    advml_status s = advml_h5out_create(&o, path, force, err);
    if (s)
        return s;
    if ((s = write_file(o.file, p, pr, fc, meta, err))) {
        advml_h5out_abort(&o);
        return advml_error_prefix(err, "%s: ", path);
    }
    return advml_h5out_commit(&o, err);
}

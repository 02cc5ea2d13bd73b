/* predict_file.h - the prediction file of advml-predict (layout:
 * docs/predict-layout.md): the predictions of a split, its metrics and
 * confusion matrix, and a forecast, with provenance.
 */
#ifndef ADVML_PREDICT_FILE_H
#define ADVML_PREDICT_FILE_H

#include "advml/forecast.h"
#include "advml/predict.h"
#include "advml/status.h"

/* Provenance recorded in the file's root attributes (strings may be NULL). */
typedef struct advml_predict_meta {
    const char *checkpoint, *data, *split, *command_line;
    int nranks;
} advml_predict_meta;

/* Write the prediction file atomically (h5io: PATH.tmp, then rename; an
 * existing file is replaced only with force). fc may be NULL (no /forecast).
 * A classifier's class names are copied from meta->data's meta->split when
 * it has them. Call on one rank only. */
advml_status advml_predictions_write(const char *path, int force, const advml_predictor *p,
                                     const advml_predictions *pr, const advml_forecast *fc,
                                     const advml_predict_meta *meta, advml_error *err);

#endif

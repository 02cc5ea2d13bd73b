/* forecast.h - recursive forecasting with a trained sequence model
 * (docs/predict-layout.md).
 *
 * From the input window of sample `start` of a split of consecutive windows
 * (window i+1 = window i shifted by one step, as advml-data cuts series),
 * predict, shift the window by one step, put the prediction into the new
 * step, and repeat horizon times, as the course forecasts the sine's
 * validation points. Which input feature receives which model output comes
 * from the names in the data file (docs/predict-layout.md):
 *  - steps layout (N, T, F): target "NAME(i)" feeds feature "NAME" of the new
 *    last step (the sine: "x(i)" -> "x"); other features of the new step
 *    (e.g. a known driving force "F") are taken from the data's next window;
 *  - lag layout (N, 1, F) with features "NAME(i-k)": "NAME(i-k)" takes the
 *    old "NAME(i-k+1)", and "NAME(i-1)" the prediction of "NAME(i)"
 *    (the noisy sine's windows of 4 as 4 features);
 *  - without names: F == K feeds output f into feature f (steps layout); a
 *    (N, 1, F) split with K == 1 is read as lags of one series, oldest first.
 * A fed-back value gets the inputs' normalisation (raw * scale - mean) / std:
 * targets are in the raw units of the inputs. */
#ifndef ADVML_FORECAST_H
#define ADVML_FORECAST_H

#include <stdint.h>
#include "advml/dataset.h"
#include "advml/predict.h"
#include "advml/status.h"

typedef struct advml_forecast {
    int64_t start;            /* first window (sample index in the split) */
    int64_t horizon;          /* H predictions */
    int K;
    float *predicted;         /* (H, K) the forecast */
    float *truth;             /* (H, K) the targets of windows start .. start+H-1; NaN past the split's end */
    int64_t truth_points;     /* rows of truth that hold data: min(H, n - start) */
    double mse;               /* over the rows with truth (NaN when none) */
    char feedback[512];       /* how outputs are fed back, e.g. "output x(i) -> feature x of the new step" */
} advml_forecast;

/* Forecast horizon steps from window start of split (every rank computes the
 * same; not collective, deterministic). Errors: a classifier, a model whose
 * output is not one value per output name, start outside the split, no
 * feature to feed back, exogenous features needed past the split's end, or
 * windows that are not consecutive. *fc owns its arrays (advml_forecast_free). */
advml_status advml_forecast_split(advml_predictor *p, advml_dataset *ds, const char *split, int64_t start,
                                  int64_t horizon, advml_forecast *fc, advml_error *err);
void advml_forecast_free(advml_forecast *fc);

#endif

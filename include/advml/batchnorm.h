/* batchnorm.h - batch normalisation over the GLOBAL batch (docs/layers.md,
 * "batchnorm").
 *
 * After a conv2d the statistics are per channel over the batch and the
 * positions (input (C, H, W)); after a dense layer per feature over the
 * batch (input (D), C = D, one position). In training, with M the samples
 * times positions of the whole global batch (every rank's),
 *
 *   mean_c = (1/M) sum x,  var_c = (1/M) sum x^2 - mean_c^2 (biased),
 *   xhat = (x - mean_c) / sqrt(var_c + eps),   z = gamma_c xhat + beta_c,
 *   running_mean = (1 - momentum) running_mean + momentum mean_c,
 *   running_var  = (1 - momentum) running_var + momentum var_c M / (M - 1)
 *
 * (PyTorch's BatchNorm2d and BatchNorm1d, with its momentum convention: Keras'
 * momentum 0.99 is 0.01 here). The sums come from every rank through the
 * model context's reduce hook (ctx->reduce, the trainer's allreduce), once in
 * the forward (sum x, sum x^2, M) and once in the backward (sum dz,
 * sum dz xhat):
 *
 *   dx = gamma / (M sqrt(var + eps)) (M dz - sum dz - xhat sum dz xhat),
 *   dgamma += sum dz xhat,  dbeta += sum dz  (this rank's samples: the
 *   gradient allreduce adds the ranks)
 *
 * The sums are double; each row (a sample's channel, or up to 64 samples of a
 * feature) is summed in float lanes first, the forward's as x - k with k the
 * row's first value and then added as sum x = sum d + n k, sum x^2 =
 * sum d^2 + k (2 sum d + n k) (so a mean large against the spread, 1e4 +
 * noise, keeps its variance; tests/test_batchnorm.c "large_mean").
 *
 * So the normalisation does not depend on how the batch is split over ranks,
 * unlike PyTorch DDP's default per-process statistics. With parts
 * (advml_ctx.nparts, reproducible mode) the sums, and dgamma and dbeta, are
 * taken per part from zero and staged with ctx->reduce_part; ctx->reduce then
 * adds every rank's parts in the global part order, so they are the same bits
 * for any number of ranks. At evaluation (and in
 * advml-predict) z = gamma (x - running_mean) / sqrt(running_var + eps) + beta.
 * The running statistics are parameters the optimizer never changes (views
 * with buffer set), so the checkpoint, --resume and advml-predict carry them
 * like the weights.
 */
#ifndef ADVML_BATCHNORM_H
#define ADVML_BATCHNORM_H

#endif

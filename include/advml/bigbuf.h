/* bigbuf.h - zeroed buffers for the training loop's large arrays (the model's
 * arena of parameters, gradients and activations; the optimizer's state).
 *
 * The loop streams these arrays every step: the gradient allreduce, the
 * optimizer and the fully connected layers' GEMMs each read or write all of
 * them. advml_bigbuf_alloc aligns a buffer of 2 MiB or more to 2 MiB and asks
 * Linux for transparent huge pages there (madvise MADV_HUGEPAGE, which takes
 * effect where /sys/kernel/mm/transparent_hugepage/enabled says "madvise" or
 * "always"); a 13 MB gradient then spans 7 TLB entries instead of 3,200. The
 * advice is a hint: where the kernel refuses it the buffer is an ordinary one.
 * Every page is written (zeroed) before return, so the training loop takes no
 * page faults.
 */
#ifndef ADVML_BIGBUF_H
#define ADVML_BIGBUF_H

#include <stddef.h>

/* A zeroed buffer of `bytes` bytes (at least 64-byte aligned; 1 byte when
 * bytes is 0), or NULL when memory is short. The caller owns it and releases
 * it with free(). */
void *advml_bigbuf_alloc(size_t bytes);

#endif

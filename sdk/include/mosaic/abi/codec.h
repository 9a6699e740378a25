/*
 * Mosaic plugin ABI v1, category MOSAIC_CATEGORY_CODEC: compression codecs
 * for the `records` of a Kafka record batch (attributes bits 0-2).
 *
 * Threading: an instance is shared. `compress` and `decompress` may be called
 * concurrently from any number of threads on the same instance, including
 * network threads, so they must not block on anything but CPU and memory.
 *
 * Ownership: `in` is borrowed for the call. `out` belongs to the caller; the
 * codec appends to it (see `mosaic_buffer_v1`) and never keeps a pointer to
 * it. On failure `out->size` may have advanced; the caller discards it.
 */
#ifndef MOSAIC_ABI_CODEC_H
#define MOSAIC_ABI_CODEC_H

#include "mosaic/abi/plugin.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Kafka's codec ids, as in the batch attributes. */
#define MOSAIC_CODEC_NONE 0
#define MOSAIC_CODEC_GZIP 1
#define MOSAIC_CODEC_SNAPPY 2 /* xerial framing as the Java client writes it, or raw */
#define MOSAIC_CODEC_LZ4 3    /* LZ4 frame format */
#define MOSAIC_CODEC_ZSTD 4

typedef struct mosaic_codec_vtable_v1 {
  uint32_t struct_size;
  /* The Kafka codec id this codec reads and writes (1..7). */
  int32_t codec_id;
  /* Appends the compressed form of in[0, in_len) to `out`. */
  mosaic_status_t (*compress)(void* instance, const uint8_t* in, size_t in_len, mosaic_buffer_v1* out,
                              mosaic_error_v1* err);
  /* Appends the decompressed form of in[0, in_len) to `out`. Grows `out` only
   * through `reserve`, so `out->limit` bounds the output: a result that would
   * be larger fails with MOSAIC_ERR_LIMIT (a decompression bomb), truncated or
   * corrupt input with MOSAIC_ERR_CORRUPT_INPUT. Never reads past `in_len`. */
  mosaic_status_t (*decompress)(void* instance, const uint8_t* in, size_t in_len, mosaic_buffer_v1* out,
                                mosaic_error_v1* err);
} mosaic_codec_vtable_v1;

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* MOSAIC_ABI_CODEC_H */

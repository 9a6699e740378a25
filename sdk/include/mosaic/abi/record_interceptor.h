/*
 * Mosaic plugin ABI v1, category MOSAIC_CATEGORY_RECORD_INTERCEPTOR: sees
 * each batch produced to the topics it is attached to, before the batch is
 * appended, and accepts it, rejects it, or adds headers to its records.
 *
 * Where it runs: `plugins.interceptors` in the broker's config attaches an
 * instance to topics (by name or by prefix). A topic's chain runs in the
 * order of that list, on the leader, for every batch of a client's produce
 * (Kafka's Produce, the HTTP adapter's produce); the kernel's own writes
 * (dead letters, offsets, internal topics) and replication do not pass
 * through it. Every interceptor of the chain sees the batch as the producer
 * sent it; the headers they add are applied once, after the last. The
 * first REJECT ends the chain: the whole batch is refused with
 * INVALID_RECORD and the reason, and nothing of it is appended.
 *
 * What it sees: the batch's header fields always; its records, decompressed
 * and parsed, only when the vtable's flags ask for them
 * (MOSAIC_INTERCEPTOR_READS_RECORDS): a chain of interceptors that do not
 * read records costs no decompression.
 *
 * Threading: an instance is shared. `intercept` is called concurrently from
 * the broker's network threads, for any topic of its chain; it must not
 * block on anything but CPU and memory (no I/O: read files at `create`).
 *
 * Ownership: `batch`, everything it points to and `result` are borrowed for
 * the call. `add_header` copies its arguments.
 */
#ifndef MOSAIC_ABI_RECORD_INTERCEPTOR_H
#define MOSAIC_ABI_RECORD_INTERCEPTOR_H

#include "mosaic/abi/plugin.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A header of a record, binary-safe (Kafka's header keys are strings, but
 * nothing stops a client sending any bytes). */
typedef struct mosaic_header_view_v1 {
  mosaic_bytes_v1 key;
  mosaic_bytes_v1 value; /* data NULL: a null value */
} mosaic_header_view_v1;

/* One record of the batch, decompressed. */
typedef struct mosaic_record_view_v1 {
  uint32_t struct_size;
  int32_t offset_delta; /* its place in the batch (0, 1, ...) */
  int64_t timestamp;    /* the batch's base timestamp plus the record's delta */
  mosaic_bytes_v1 key;  /* data NULL: a null key */
  mosaic_bytes_v1 value;
  const mosaic_header_view_v1* headers;
  size_t header_count;
} mosaic_record_view_v1;

/* The batch. Strings are not NUL-terminated: read them within `size`. */
typedef struct mosaic_produced_batch_v1 {
  uint32_t struct_size;
  mosaic_bytes_v1 topic;
  int32_t partition;
  mosaic_bytes_v1 principal; /* "User:alice"; "User:ANONYMOUS" on a listener without authentication */
  mosaic_bytes_v1 client_id; /* the producer's client.id, possibly empty */
  int64_t producer_id;       /* -1: not an idempotent producer */
  int16_t producer_epoch;
  int32_t base_sequence;
  int32_t codec; /* the batch's compression, MOSAIC_CODEC_* of mosaic/abi/codec.h */
  int64_t base_timestamp;
  int64_t max_timestamp;
  int32_t record_count;
  /* MOSAIC_INTERCEPTOR_READS_RECORDS: the records in order, `record_count`
   * of them; otherwise NULL. An array of pointers, so that the record view
   * may grow. */
  const mosaic_record_view_v1* const* records;
} mosaic_produced_batch_v1;

#define MOSAIC_INTERCEPT_ACCEPT 0
#define MOSAIC_INTERCEPT_REJECT 1

/* What `add_header` takes at most, per batch. */
#define MOSAIC_INTERCEPT_MAX_HEADERS 64
#define MOSAIC_INTERCEPT_MAX_HEADER_BYTES 65536

/* What the interceptor says. The host fills it with ACCEPT, record_index
 * -1 and an empty reason before the call. */
typedef struct mosaic_intercept_result_v1 {
  uint32_t struct_size;
  int32_t verdict;
  /* REJECT: the record at fault, by its index in the batch (KIP-467's
   * record_errors), or -1 for the batch as a whole. */
  int32_t record_index;
  /* REJECT: why, as the producer is told (the Produce response's error
   * message). The interceptor writes it, NUL-terminated, within capacity. */
  mosaic_error_v1 reason;
  void* host_ctx;
  /* ACCEPT: adds a header to every record of the batch. `replace` non-zero:
   * headers with this key that the records carry are removed first (so a
   * producer cannot forge what the interceptor stamps). MOSAIC_ERR_LIMIT
   * past MOSAIC_INTERCEPT_MAX_HEADERS headers or
   * MOSAIC_INTERCEPT_MAX_HEADER_BYTES bytes (keys and values) a batch. */
  mosaic_status_t (*add_header)(void* host_ctx, mosaic_bytes_v1 key, mosaic_bytes_v1 value, int32_t replace);
} mosaic_intercept_result_v1;

/* The interceptor reads the records (the host decompresses and parses the
 * batch for it, once for the whole chain). */
#define MOSAIC_INTERCEPTOR_READS_RECORDS (1u << 0)

typedef struct mosaic_record_interceptor_vtable_v1 {
  uint32_t struct_size;
  uint32_t flags;
  /* Judges one batch into `result`. MOSAIC_OK with the verdict set; any
   * other status is a failure of the interceptor, and the batch is refused
   * (UNKNOWN_SERVER_ERROR with `err`'s message): an interceptor that cannot
   * judge never lets a batch through unjudged. */
  mosaic_status_t (*intercept)(void* instance, const mosaic_produced_batch_v1* batch,
                               mosaic_intercept_result_v1* result, mosaic_error_v1* err);
} mosaic_record_interceptor_vtable_v1;

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* MOSAIC_ABI_RECORD_INTERCEPTOR_H */

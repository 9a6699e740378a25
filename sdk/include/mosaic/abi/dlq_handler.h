/*
 * Mosaic plugin ABI v1, category MOSAIC_CATEGORY_DLQ_HANDLER: where a share
 * group's dead letters go (KIP-1191). A record that is rejected, or that
 * reaches the delivery limit, while its group names a dead-letter topic
 * (errors.deadletterqueue.topic.name) enters ARCHIVING; the broker hands it
 * to the handler and marks it ARCHIVED once the handler reports it stored.
 * Until then it stays ARCHIVING, persisted, and is offered to the handler
 * again after a restart, so a handler must tolerate seeing a letter twice.
 *
 * The broker gives the handler a writer (its own produce path) with each
 * letter; a handler may use it, or send letters elsewhere.
 *
 * Threading: an instance is shared. `enqueue` is called from the share
 * manager's thread and must not block: it queues (a bounded queue) and
 * returns. `done` may be called from any thread, exactly once per letter
 * enqueued with MOSAIC_OK, also from inside `enqueue`. The writer's `write`
 * may be called from any thread and does not block.
 *
 * Ownership: `letter` and everything it points to are borrowed for the
 * call of `enqueue`; a handler copies what it keeps. `writer` stays valid
 * until `done` is called for the letter it came with. `write` copies its
 * arguments.
 */
#ifndef MOSAIC_ABI_DLQ_HANDLER_H
#define MOSAIC_ABI_DLQ_HANDLER_H

#include "mosaic/abi/plugin.h"
#include "mosaic/abi/share_policy.h"

#ifdef __cplusplus
extern "C" {
#endif

/* mosaic_bytes_v1 and mosaic_record_header_v1 are in mosaic/abi/plugin.h. */

typedef struct mosaic_dead_letter_v1 {
  uint32_t struct_size;
  const char* group_id;
  const char* topic; /* where the record came from */
  int32_t partition;
  int64_t offset;
  int32_t delivery_count;
  int32_t cause;         /* MOSAIC_SHARE_CAUSE_REJECT, or _RELEASE / _LOCK_TIMEOUT at the delivery limit */
  const char* dlq_topic; /* the group's errors.deadletterqueue.topic.name */
  /* errors.deadletterqueue.copy.record.enable: the original record's key,
   * value and timestamp follow (a record in a compressed batch is not
   * copied: has_record is 0 then). */
  int32_t copy_record;
  int32_t has_record;
  mosaic_bytes_v1 key;
  mosaic_bytes_v1 value;
  int64_t timestamp;
} mosaic_dead_letter_v1;

/* Called once per letter: MOSAIC_OK when it is stored (durably), another
 * status when the handler gave up on it (the broker offers it again later). */
typedef void (*mosaic_dlq_done_v1)(void* done_ctx, mosaic_status_t status, const char* message);

/* The broker's produce path. `write` appends one record to `topic`
 * (partition -1: the letter's own partition modulo the topic's), waits for
 * it to be durable without blocking the caller, and then calls `done`. A
 * topic that does not exist is created if the broker allows it
 * (errors.deadletterqueue.auto.create.topics.enable); otherwise `done` gets
 * MOSAIC_ERR_INVALID_ARGUMENT. */
typedef struct mosaic_dlq_writer_v1 {
  uint32_t struct_size;
  void* host_ctx;
  void (*write)(void* host_ctx, const char* topic, int32_t partition, mosaic_bytes_v1 key, mosaic_bytes_v1 value,
                int64_t timestamp, const mosaic_record_header_v1* headers, size_t header_count, mosaic_dlq_done_v1 done,
                void* done_ctx);
} mosaic_dlq_writer_v1;

typedef struct mosaic_dlq_handler_vtable_v1 {
  uint32_t struct_size;
  /* Takes one letter. MOSAIC_OK: `done` will be called. MOSAIC_ERR_LIMIT:
   * the handler's queue is full; nothing was taken and `done` is not
   * called (the broker offers the letter again later). */
  mosaic_status_t (*enqueue)(void* instance, const mosaic_dead_letter_v1* letter, const mosaic_dlq_writer_v1* writer,
                             mosaic_dlq_done_v1 done, void* done_ctx, mosaic_error_v1* err);
} mosaic_dlq_handler_vtable_v1;

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* MOSAIC_ABI_DLQ_HANDLER_H */

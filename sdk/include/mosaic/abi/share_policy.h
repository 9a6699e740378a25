/*
 * Mosaic plugin ABI v1, category MOSAIC_CATEGORY_SHARE_POLICY: what happens
 * to a share group's record (KIP-932) when its holder gives it up. The
 * broker asks on every RELEASE, REJECT, lock timeout and RENEW; the policy
 * answers with a decision. It never reinterprets the ack type a client sent,
 * and the broker holds every answer to these rules (a policy cannot bend
 * them): a REJECT is archived or dead-lettered, never redelivered; a RENEW
 * is granted or refused; a record at the delivery limit is never
 * redelivered; dead-lettering without a dead-letter topic archives.
 *
 * Threading: an instance is shared, and `decide` may be called concurrently
 * from several threads; it must not block (it runs on the share manager's
 * thread, between a request and its answer). It should be a pure function
 * of its input: no clock is needed, the host applies delays.
 *
 * Ownership: `event` is borrowed for the call; `out` is the caller's.
 */
#ifndef MOSAIC_ABI_SHARE_POLICY_H
#define MOSAIC_ABI_SHARE_POLICY_H

#include "mosaic/abi/plugin.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Why the record is being given up. */
#define MOSAIC_SHARE_CAUSE_RELEASE 0      /* the holder sent RELEASE */
#define MOSAIC_SHARE_CAUSE_REJECT 1       /* the holder sent REJECT */
#define MOSAIC_SHARE_CAUSE_LOCK_TIMEOUT 2 /* the acquisition lock ran out, or the holder left */
#define MOSAIC_SHARE_CAUSE_RENEW 3        /* the holder asks to keep it longer (KIP-1222) */

/* What becomes of it. */
#define MOSAIC_SHARE_REDELIVER 0   /* AVAILABLE again, after `delay_ms` */
#define MOSAIC_SHARE_ARCHIVE 1     /* ARCHIVED: never delivered again */
#define MOSAIC_SHARE_DEAD_LETTER 2 /* ARCHIVING: to the dead-letter topic, then ARCHIVED */
#define MOSAIC_SHARE_RENEW 3       /* RENEW granted: the lock restarts, the holder keeps it */
#define MOSAIC_SHARE_REFUSE 4      /* RENEW refused: the client gets INVALID_RECORD_STATE */

typedef struct mosaic_share_event_v1 {
  uint32_t struct_size;
  int32_t cause;             /* MOSAIC_SHARE_CAUSE_* */
  int32_t delivery_count;    /* deliveries so far, this one included */
  int32_t delivery_limit;    /* the group's share.delivery.count.limit */
  int32_t renewals;          /* RENEWs granted during this delivery */
  int64_t lock_ms;           /* the group's share.record.lock.duration.ms */
  int32_t dead_letter_topic; /* 1 if the group has errors.deadletterqueue.topic.name */
} mosaic_share_event_v1;

typedef struct mosaic_share_decision_v1 {
  uint32_t struct_size;
  int32_t decision; /* MOSAIC_SHARE_* */
  int64_t delay_ms; /* MOSAIC_SHARE_REDELIVER: not offered again before this much later */
} mosaic_share_decision_v1;

typedef struct mosaic_share_policy_vtable_v1 {
  uint32_t struct_size;
  /* Fills `out` for `event`. A failure status makes the host apply Kafka's
   * rules for this one decision (and log the message). */
  mosaic_status_t (*decide)(void* instance, const mosaic_share_event_v1* event, mosaic_share_decision_v1* out,
                            mosaic_error_v1* err);
} mosaic_share_policy_vtable_v1;

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* MOSAIC_ABI_SHARE_POLICY_H */

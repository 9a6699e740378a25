/*
 * Mosaic plugin ABI v1, category MOSAIC_CATEGORY_ASSIGNOR: server-side
 * partition assignors for consumer groups (KIP-848), and for share groups.
 *
 * An assignor is a pure function: from a read-only view of a group (its
 * members, what each subscribes to and holds now, the subscribed topics) to
 * a target assignment. Given the same view it must give the same answer:
 * no clocks, no randomness, no state kept between calls. The broker checks
 * every answer (each partition at most once, only to a member subscribed to
 * its topic, only partitions that exist) and refuses a bad one, keeping the
 * group's previous assignment.
 *
 * Threading: an instance is shared. `assign` may be called concurrently
 * from several threads on one instance (several groups rebalancing), never
 * from a network thread: the broker calls it from its group coordinator.
 *
 * Ownership: everything `group` points to is borrowed for the call. The
 * assignor reports its answer through `out->assign`, which copies what it
 * is given; it keeps no pointer into `group` or `out` after returning.
 */
#ifndef MOSAIC_ABI_ASSIGNOR_H
#define MOSAIC_ABI_ASSIGNOR_H

#include "mosaic/abi/plugin.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Some partitions of one topic, by the topic's index in the group's
 * `topics`. `partitions` is sorted and has no duplicates. */
typedef struct mosaic_topic_partitions_v1 {
  size_t topic_index;
  const int32_t* partitions;
  size_t partition_count;
} mosaic_topic_partitions_v1;

typedef struct mosaic_assignor_member_v1 {
  uint32_t struct_size;
  const char* member_id;   /* never NULL */
  const char* instance_id; /* static membership (group.instance.id), or NULL */
  const char* rack;        /* client.rack, or NULL */
  /* Indexes into the group's `topics` of the topics this member subscribes
   * to, sorted. Topics that do not exist are not listed. */
  const size_t* subscribed_topics;
  size_t subscribed_count;
  /* What the group's current target assignment gives this member (empty for
   * a new member), sorted by topic index: the assignor's input for
   * stickiness. Only topics still in `topics` appear. */
  const mosaic_topic_partitions_v1* current;
  size_t current_count;
} mosaic_assignor_member_v1;

typedef struct mosaic_assignor_topic_v1 {
  uint32_t struct_size;
  uint8_t id[16]; /* the topic id */
  const char* name;
  int32_t partition_count; /* partitions are 0 .. partition_count-1 */
  /* The racks holding each partition's replicas: `partition_racks[p]` is a
   * NULL-terminated list for partition p. NULL when no rack is known. */
  const char* const* const* partition_racks;
} mosaic_assignor_topic_v1;

typedef struct mosaic_assignor_group_v1 {
  uint32_t struct_size;
  const char* group_id;
  const mosaic_assignor_member_v1* members; /* sorted by member_id */
  size_t member_count;
  const mosaic_assignor_topic_v1* topics; /* the topics any member subscribes to, sorted by name */
  size_t topic_count;
} mosaic_assignor_group_v1;

/* Where the assignor writes its answer: each call gives `partition_count`
 * partitions of topics[topic_index] to members[member_index]. A partition
 * not given to anyone stays unassigned. Returns MOSAIC_ERR_INVALID_ARGUMENT
 * for an index out of range (the assignment is then refused). */
typedef struct mosaic_assignment_sink_v1 {
  uint32_t struct_size;
  void* host_ctx;
  mosaic_status_t (*assign)(void* host_ctx, size_t member_index, size_t topic_index, const int32_t* partitions,
                            size_t partition_count);
} mosaic_assignment_sink_v1;

typedef struct mosaic_assignor_vtable_v1 {
  uint32_t struct_size;
  /* The name clients choose it by (`group.remote.assignor`, the
   * ConsumerGroupHeartbeat ServerAssignor field): "uniform", "range". */
  const char* assignor_name;
  /* Computes the target assignment of `group` into `out`. */
  mosaic_status_t (*assign)(void* instance, const mosaic_assignor_group_v1* group, const mosaic_assignment_sink_v1* out,
                            mosaic_error_v1* err);
} mosaic_assignor_vtable_v1;

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* MOSAIC_ABI_ASSIGNOR_H */

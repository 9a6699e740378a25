/* librdkafka 2.15.1 consumer groups against a running mosaicd, with the
 * classic protocol or KIP-848's (group.protocol=consumer).
 *
 * Usage: rdkafka_group_check classic|consumer HOST:PORT TOPIC COUNT
 *
 * Creates TOPIC with 6 partitions and produces COUNT records (acks=all).
 * Then three consumers of one group, polled in turn from this thread, read
 * it as the seed's consumer does: offsets stored by hand after each record
 * (enable.auto.offset.store=false), committed every 100 records and,
 * synchronously, whenever partitions are revoked and before a consumer
 * closes. The second consumer joins once a quarter is read, the third at
 * half, and the second leaves at three quarters, so the group rebalances
 * three times while records flow. Every record must be consumed exactly
 * once, every consumer must have had partitions, and the committed offsets
 * must end at the end of each partition. Prints "group(PROTOCOL): ok ..."
 * and exits 0 then; on a failure, what the group went through (each
 * assignment, revocation and commit, the last record of each partition).
 *
 * MOSAIC_RDKAFKA_DEBUG=cgrp (any librdkafka `debug` list) turns on the
 * clients' debug log and prints what each revocation committed. */
#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "rdkafka_common.h"

enum { partitions = 6, consumers = 3 };

static const char* protocol;
static int errors = 0;

/* What happened to the group, kept to be printed if the check fails:
 * each revocation and assignment with what the revocation committed, and
 * per partition the last offset consumed and by whom. */
static char trace[16384];
static size_t traced = 0;
static int64_t last_offset[partitions];
static int last_consumer[partitions];

static void note(rd_kafka_t* rk, const char* what, const rd_kafka_topic_partition_list_t* parts, const char* result) {
  int n = snprintf(trace + traced, sizeof(trace) - traced, "%lld %s %s [", mosaic_wall_ms(), rd_kafka_name(rk), what);
  if (n > 0 && traced + (size_t)n < sizeof(trace)) traced += (size_t)n;
  for (int i = 0; parts && i < parts->cnt && traced < sizeof(trace); i++) {
    const rd_kafka_topic_partition_t* e = &parts->elems[i];
    n = snprintf(trace + traced, sizeof(trace) - traced, "%s%d@%" PRId64 "%s%s", i ? " " : "", e->partition, e->offset,
                 e->err ? ":" : "", e->err ? rd_kafka_err2name(e->err) : "");
    if (n > 0 && traced + (size_t)n < sizeof(trace)) traced += (size_t)n;
  }
  n = snprintf(trace + traced, sizeof(trace) - traced, "] %s\n", result ? result : "");
  if (n > 0 && traced + (size_t)n < sizeof(trace)) traced += (size_t)n;
}

static void on_rebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts,
                         void* opaque) {
  (void)opaque;
  const int cooperative = strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    note(rk, "assigned", parts, NULL);
    if (cooperative)
      rd_kafka_error_destroy(rd_kafka_incremental_assign(rk, parts));
    else
      rd_kafka_assign(rk, parts);
    return;
  }
  /* Revoked (or lost): what was processed is committed before letting go. */
  rd_kafka_topic_partition_list_t* stored = NULL;
  rd_kafka_assignment(rk, &stored);
  if (stored) rd_kafka_position(rk, stored);
  rd_kafka_resp_err_t c = rd_kafka_commit(rk, NULL, 0);
  note(rk, err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS ? "revoked" : "lost", parts, NULL);
  note(rk, "  positions then, commit:", stored, rd_kafka_err2str(c));
  if (stored) rd_kafka_topic_partition_list_destroy(stored);
  if (getenv("MOSAIC_RDKAFKA_DEBUG"))
    fprintf(stderr, "REVOKE %s: %d partitions, commit: %s\n", rd_kafka_name(rk), parts->cnt, rd_kafka_err2str(c));
  /* A revocation run by rd_kafka_consumer_close() may find the client's
   * own handle already terminating (__DESTROY, refused locally, nothing
   * sent); what was committed is checked at the end against each
   * partition's end, so only the broker's refusals count here. */
  if (c && c != RD_KAFKA_RESP_ERR__NO_OFFSET && c != RD_KAFKA_RESP_ERR__DESTROY && errors++ < 5)
    fprintf(stderr, "commit on revoke: %s\n", rd_kafka_err2str(c));
  if (cooperative)
    rd_kafka_error_destroy(rd_kafka_incremental_unassign(rk, parts));
  else
    rd_kafka_assign(rk, NULL);
}

/* Every commit's outcome, the asynchronous ones included. */
static void on_commit(rd_kafka_t* rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts, void* opaque) {
  (void)opaque;
  note(rk, "commit", parts, rd_kafka_err2str(err));
}

static rd_kafka_t* new_consumer(const char* bootstrap, const char* group, const char* topic) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  mosaic_set(conf, "bootstrap.servers", bootstrap);
  mosaic_set(conf, "group.id", group);
  mosaic_set(conf, "group.protocol", protocol);
  mosaic_set(conf, "auto.offset.reset", "earliest");
  mosaic_set(conf, "enable.auto.commit", "false");
  mosaic_set(conf, "enable.auto.offset.store", "false");
  if (strcmp(protocol, "classic") == 0) {
    mosaic_set(conf, "session.timeout.ms", "6000");
    mosaic_set(conf, "heartbeat.interval.ms", "500");
    mosaic_set(conf, "partition.assignment.strategy", "cooperative-sticky");
  }
  if (getenv("MOSAIC_RDKAFKA_DEBUG")) mosaic_set(conf, "debug", getenv("MOSAIC_RDKAFKA_DEBUG"));
  rd_kafka_conf_set_rebalance_cb(conf, on_rebalance);
  rd_kafka_conf_set_offset_commit_cb(conf, on_commit);
  return mosaic_subscribed_consumer(conf, topic);
}

/* Leaves the group as an application that shuts down does: what it
 * processed is committed first, then the consumer closes (and commits
 * again on the revocation). The revocation alone is not enough with
 * librdkafka 2.15.1's KIP-848 consumer: when the coordinator hands it more
 * partitions while it closes, it calls the revocation with its assignment
 * already emptied, so a commit there finds no stored offsets (twice in 35
 * runs: the group's last records stayed uncommitted). */
static void commit_and_close(rd_kafka_t* rk) {
  rd_kafka_resp_err_t c = rd_kafka_commit(rk, NULL, 0);
  note(rk, "commit before closing", NULL, rd_kafka_err2str(c));
  if (c && c != RD_KAFKA_RESP_ERR__NO_OFFSET && errors++ < 5)
    fprintf(stderr, "commit before closing: %s\n", rd_kafka_err2str(c));
  rd_kafka_consumer_close(rk);
}

/* Whether the consumer holds partitions now. */
static int has_assignment(rd_kafka_t* rk) {
  rd_kafka_topic_partition_list_t* a = NULL;
  if (rd_kafka_assignment(rk, &a) != RD_KAFKA_RESP_ERR_NO_ERROR || !a) return 0;
  const int n = a->cnt;
  rd_kafka_topic_partition_list_destroy(a);
  return n > 0;
}

int main(int argc, char** argv) {
  if (argc != 5 || (strcmp(argv[1], "classic") != 0 && strcmp(argv[1], "consumer") != 0))
    return fprintf(stderr, "usage: rdkafka_group_check classic|consumer HOST:PORT TOPIC COUNT\n"), 2;
  protocol = argv[1];
  const char *bootstrap = argv[2], *topic = argv[3];
  const int count = atoi(argv[4]);
  char group[256];
  snprintf(group, sizeof(group), "%s-group", topic);
  if (!mosaic_create_topic(bootstrap, topic, partitions)) return 1;
  if (!mosaic_produce_numbered(bootstrap, topic, partitions, count)) return 1;

  unsigned char* seen = calloc((size_t)count, 1);
  int got = 0, dups = 0, per[consumers] = {0};
  rd_kafka_t* rk[consumers] = {new_consumer(bootstrap, group, topic), NULL, NULL};
  int closed[consumers] = {0};
  time_t joined[consumers] = {time(NULL), 0, 0};
  time_t deadline = time(NULL) + 120, quiet_since = 0;
  while (time(NULL) < deadline) {
    if (got >= count / 4 && !rk[1]) {
      rk[1] = new_consumer(bootstrap, group, topic);
      joined[1] = time(NULL);
    }
    if (got >= count / 2 && !rk[2]) {
      rk[2] = new_consumer(bootstrap, group, topic);
      joined[2] = time(NULL);
    }
    if (got >= 3 * count / 4 && rk[1] && !closed[1]) {
      commit_and_close(rk[1]);
      closed[1] = 1;
    }
    int any = 0;
    for (int c = 0; c < consumers; c++) {
      if (!rk[c] || closed[c]) continue;
      rd_kafka_message_t* m = rd_kafka_consumer_poll(rk[c], 5);
      if (!m) continue;
      if (m->err) {
        if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF && errors++ < 5)
          fprintf(stderr, "consumer %d: %s\n", c, rd_kafka_message_errstr(m));
      } else {
        const int n = m->len < 16 ? atoi((const char*)m->payload) : -1;
        if (n < 0 || n >= count) {
          if (errors++ < 5) fprintf(stderr, "consumer %d: unexpected record\n", c);
        } else if (seen[n]++) {
          if (dups++ < 5) fprintf(stderr, "record %d delivered twice (consumer %d)\n", n, c);
        } else {
          got++;
          per[c]++;
        }
        if (m->partition >= 0 && m->partition < partitions) {
          last_offset[m->partition] = m->offset;
          last_consumer[m->partition] = c;
        }
        rd_kafka_offset_store_message(m);
        if (per[c] % 100 == 0) rd_kafka_commit(rk[c], NULL, 1);
        any = 1;
      }
      rd_kafka_message_destroy(m);
    }
    /* Paced, so that the rebalances happen while records flow; slower while
     * a member that just joined has no partitions yet (10 s at most), so
     * that the others do not drain the topic before the rebalance ends
     * (a rebalance takes a heartbeat or two; draining half the topic at
     * full pace takes about as long). */
    int waiting = 0;
    for (int c = 1; c < consumers; c++)
      if (rk[c] && !closed[c] && time(NULL) - joined[c] < 10 && !has_assignment(rk[c])) waiting = 1;
    usleep(waiting ? 20000 : 1000);
    if (got == count) {
      if (any) quiet_since = 0;
      if (!quiet_since) quiet_since = time(NULL);
      if (time(NULL) - quiet_since >= 3) break; /* 3 s with nothing more: no late duplicates */
    }
  }
  for (int c = 0; c < consumers; c++)
    if (rk[c]) {
      if (!closed[c]) commit_and_close(rk[c]);
      rd_kafka_destroy(rk[c]);
    }

  /* What the group committed, read by a fresh consumer of the group. */
  rd_kafka_t* check = new_consumer(bootstrap, group, topic);
  rd_kafka_topic_partition_list_t* parts = rd_kafka_topic_partition_list_new(partitions);
  for (int p = 0; p < partitions; p++) rd_kafka_topic_partition_list_add(parts, topic, p);
  rd_kafka_resp_err_t e = rd_kafka_committed(check, parts, 10000);
  int64_t committed = 0;
  for (int p = 0; p < parts->cnt; p++) committed += parts->elems[p].offset > 0 ? parts->elems[p].offset : 0;
  note(check, "committed at the end:", parts, rd_kafka_err2str(e));
  rd_kafka_topic_partition_list_destroy(parts);
  rd_kafka_consumer_close(check);
  rd_kafka_destroy(check);
  free(seen);

  int idle = 0;
  for (int c = 0; c < consumers; c++) idle += per[c] == 0;
  if (got != count || dups || errors || e || committed != count || idle) {
    fprintf(stderr,
            "FAIL: %d of %d consumed, %d duplicated, %d errors, committed %" PRId64 " (%s), per consumer %d/%d/%d\n",
            got, count, dups, errors, committed, rd_kafka_err2str(e), per[0], per[1], per[2]);
    for (int p = 0; p < partitions; p++)
      fprintf(stderr, "partition %d: last consumed offset %" PRId64 " by consumer %d\n", p, last_offset[p],
              last_consumer[p]);
    fprintf(stderr, "%s", trace);
    return 1;
  }
  printf("group(%s): ok %d records, no duplicates, per consumer %d/%d/%d, committed %" PRId64 "\n", protocol, count,
         per[0], per[1], per[2], committed);
  return 0;
}

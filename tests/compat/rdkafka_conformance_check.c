/* librdkafka 2.15.1 against a running mosaicd: group behaviour a Kafka
 * user's application relies on (issue 27's conformance items).
 *
 * Usage:
 *   rdkafka_conformance_check join HOST:PORT TOPIC N plain|orders|static
 *     Creates TOPIC (12 partitions) and starts N classic consumers of one
 *     group at once (eager "range"/"roundrobin" assignors; `orders`: every
 *     other consumer lists them the other way round; `static`: each has a
 *     group.instance.id). Every consumer must be assigned exactly once (one
 *     generation that has them all), the partitions split among them with
 *     none twice, and no consumer may ever see an error (such as
 *     INCONSISTENT_GROUP_PROTOCOL). Prints "join(N,VARIANT): ok".
 *   rdkafka_conformance_check assign-commit HOST:PORT TOPIC
 *     A KIP-848 consumer (group.protocol=consumer) that never subscribes:
 *     it assign()s the partitions itself, reads them and commits, as Kafka
 *     takes from a group with no members. Prints "assign-commit: ok". */
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rdkafka_common.h"

enum { partitions = 12, max_consumers = 16 };

struct member {
  rd_kafka_t* rk;
  int assigns;
  int errors;
  int held[partitions];
};
static struct member members[max_consumers];

static struct member* member_of(rd_kafka_t* rk) {
  for (int i = 0; i < max_consumers; i++)
    if (members[i].rk == rk) return &members[i];
  return NULL;
}

static void on_rebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts,
                         void* opaque) {
  (void)opaque;
  struct member* m = member_of(rk);
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    if (m) {
      m->assigns++;
      for (int i = 0; i < parts->cnt; i++)
        if (parts->elems[i].partition >= 0 && parts->elems[i].partition < partitions)
          m->held[parts->elems[i].partition] = 1;
    }
    rd_kafka_assign(rk, parts);
    return;
  }
  if (m) memset(m->held, 0, sizeof(m->held));
  rd_kafka_assign(rk, NULL);
}

static void on_error(rd_kafka_t* rk, int err, const char* reason, void* opaque) {
  (void)opaque;
  struct member* m = member_of(rk);
  if (m) m->errors++;
  fprintf(stderr, "%s: error %s: %s\n", rd_kafka_name(rk), rd_kafka_err2name((rd_kafka_resp_err_t)err), reason);
}

static rd_kafka_t* new_classic(const char* bootstrap, const char* group, const char* topic, const char* strategy,
                               const char* instance) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  mosaic_set(conf, "bootstrap.servers", bootstrap);
  mosaic_set(conf, "group.id", group);
  mosaic_set(conf, "group.protocol", "classic");
  mosaic_set(conf, "partition.assignment.strategy", strategy);
  mosaic_set(conf, "session.timeout.ms", "10000");
  mosaic_set(conf, "heartbeat.interval.ms", "500");
  mosaic_set(conf, "auto.offset.reset", "earliest");
  if (instance) mosaic_set(conf, "group.instance.id", instance);
  if (getenv("MOSAIC_RDKAFKA_DEBUG")) mosaic_set(conf, "debug", getenv("MOSAIC_RDKAFKA_DEBUG"));
  rd_kafka_conf_set_rebalance_cb(conf, on_rebalance);
  rd_kafka_conf_set_error_cb(conf, on_error);
  return mosaic_subscribed_consumer(conf, topic);
}

static int join(const char* bootstrap, const char* topic, int n, const char* variant) {
  if (n < 1 || n > max_consumers) return fprintf(stderr, "N must be 1..%d\n", max_consumers), 2;
  if (!mosaic_create_topic(bootstrap, topic, partitions)) return 1;
  char group[256];
  snprintf(group, sizeof(group), "%s-group", topic);
  for (int i = 0; i < n; i++) {
    const int flipped = strcmp(variant, "orders") == 0 && i % 2 == 1;
    char instance[64];
    snprintf(instance, sizeof(instance), "instance-%d", i);
    members[i].rk = new_classic(bootstrap, group, topic, flipped ? "roundrobin,range" : "range,roundrobin",
                                strcmp(variant, "static") == 0 ? instance : NULL);
  }
  /* Until every member holds partitions and that has lasted 3 s (a later
   * generation would show as a second assignment). */
  const time_t deadline = time(NULL) + 60;
  time_t settled = 0;
  while (time(NULL) < deadline) {
    for (int i = 0; i < n; i++) {
      rd_kafka_message_t* msg = rd_kafka_consumer_poll(members[i].rk, 20);
      if (!msg) continue;
      if (msg->err && msg->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        members[i].errors++;
        fprintf(stderr, "consumer %d: %s\n", i, rd_kafka_message_errstr(msg));
      }
      rd_kafka_message_destroy(msg);
    }
    int all = 1;
    for (int i = 0; i < n; i++) all = all && members[i].assigns > 0;
    if (!all) continue;
    if (!settled) settled = time(NULL);
    if (time(NULL) - settled >= 3) break;
  }
  int ok = 1, owners[partitions] = {0};
  for (int i = 0; i < n; i++) {
    if (members[i].assigns != 1) {
      fprintf(stderr, "consumer %d was assigned %d time(s), not once\n", i, members[i].assigns);
      ok = 0;
    }
    if (members[i].errors) {
      fprintf(stderr, "consumer %d saw %d error(s)\n", i, members[i].errors);
      ok = 0;
    }
    for (int p = 0; p < partitions; p++) owners[p] += members[i].held[p];
  }
  for (int p = 0; p < partitions; p++)
    if (owners[p] != 1) {
      fprintf(stderr, "partition %d has %d owner(s)\n", p, owners[p]);
      ok = 0;
    }
  for (int i = 0; i < n; i++) {
    rd_kafka_consumer_close(members[i].rk);
    rd_kafka_destroy(members[i].rk);
  }
  if (!ok) return 1;
  printf("join(%d,%s): ok\n", n, variant);
  return 0;
}

static int assign_commit(const char* bootstrap, const char* topic) {
  enum { parts = 2, records = 40 };
  if (!mosaic_create_topic(bootstrap, topic, parts)) return 1;
  if (!mosaic_produce_numbered(bootstrap, topic, parts, records)) return 1;
  char err[512], group[256];
  snprintf(group, sizeof(group), "%s-group", topic);
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  mosaic_set(conf, "bootstrap.servers", bootstrap);
  mosaic_set(conf, "group.id", group);
  mosaic_set(conf, "group.protocol", "consumer");
  mosaic_set(conf, "enable.auto.commit", "false");
  if (getenv("MOSAIC_RDKAFKA_DEBUG")) mosaic_set(conf, "debug", getenv("MOSAIC_RDKAFKA_DEBUG"));
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
  if (!rk) return fprintf(stderr, "consumer: %s\n", err), 1;
  rd_kafka_poll_set_consumer(rk);
  rd_kafka_topic_partition_list_t* mine = rd_kafka_topic_partition_list_new(parts);
  for (int p = 0; p < parts; p++) rd_kafka_topic_partition_list_add(mine, topic, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
  rd_kafka_assign(rk, mine);
  int got = 0;
  const time_t deadline = time(NULL) + 30;
  while (got < records && time(NULL) < deadline) {
    rd_kafka_message_t* msg = rd_kafka_consumer_poll(rk, 100);
    if (!msg) continue;
    if (!msg->err) got++;
    rd_kafka_message_destroy(msg);
  }
  int ok = got == records;
  if (!ok) fprintf(stderr, "read %d of %d records\n", got, records);
  rd_kafka_resp_err_t c = rd_kafka_commit(rk, NULL, 0);
  if (c) {
    fprintf(stderr, "commit: %s\n", rd_kafka_err2name(c));
    ok = 0;
  }
  rd_kafka_topic_partition_list_t* committed = rd_kafka_topic_partition_list_new(parts);
  for (int p = 0; p < parts; p++) rd_kafka_topic_partition_list_add(committed, topic, p);
  c = rd_kafka_committed(rk, committed, 10000);
  for (int p = 0; !c && p < parts; p++)
    if (committed->elems[p].offset != records / parts) {
      fprintf(stderr, "partition %d committed at %lld, not %d\n", p, (long long)committed->elems[p].offset,
              records / parts);
      ok = 0;
    }
  if (c) {
    fprintf(stderr, "committed: %s\n", rd_kafka_err2name(c));
    ok = 0;
  }
  rd_kafka_topic_partition_list_destroy(committed);
  rd_kafka_topic_partition_list_destroy(mine);
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
  if (!ok) return 1;
  printf("assign-commit: ok\n");
  return 0;
}

int main(int argc, char** argv) {
  if (argc == 6 && strcmp(argv[1], "join") == 0) return join(argv[2], argv[3], atoi(argv[4]), argv[5]);
  if (argc == 4 && strcmp(argv[1], "assign-commit") == 0) return assign_commit(argv[2], argv[3]);
  fprintf(stderr,
          "usage: rdkafka_conformance_check join HOST:PORT TOPIC N plain|orders|static\n"
          "       rdkafka_conformance_check assign-commit HOST:PORT TOPIC\n");
  return 2;
}

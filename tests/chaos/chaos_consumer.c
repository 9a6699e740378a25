/* The fault suite's KIP-848 consumer on librdkafka 2.15.1 (tools/chaos):
 * a member of GROUP (group.protocol=consumer) that reads TOPIC from the
 * earliest offset and commits its position every second, until STOP_FILE
 * exists and nothing new has come for 5 s (at most 120 s after). Lines of
 * OUT_FILE, times in wall-clock milliseconds:
 *   start TIME                             subscribed
 *   got PARTITION OFFSET                   a record handed to the application
 *   commit SENT ANSWERED ok|ERROR          a synchronous commit and its outcome
 *   committed SENT ANSWERED PARTITION OFFSET
 *                                          the group's committed offset read
 *                                          back (OffsetFetch) after each commit
 *                                          (-1: none)
 *
 * Usage: chaos_consumer BOOTSTRAP TOPIC GROUP STOP_FILE OUT_FILE [COMMIT_MS]
 * (COMMIT_MS: how often it commits, 1000 by default; the failover
 * benchmark, tools/bench/coordinator_failover, commits more often). */
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../compat/rdkafka_common.h"

static void commit_and_read_back(rd_kafka_t* rk, FILE* out) {
  long long sent = mosaic_wall_ms();
  rd_kafka_resp_err_t e = rd_kafka_commit(rk, NULL, 0);
  if (e == RD_KAFKA_RESP_ERR__NO_OFFSET) return; /* nothing consumed since the last commit */
  fprintf(out, "commit %lld %lld %s\n", sent, mosaic_wall_ms(), e ? rd_kafka_err2name(e) : "ok");
  rd_kafka_topic_partition_list_t* assigned = NULL;
  if (rd_kafka_assignment(rk, &assigned) != RD_KAFKA_RESP_ERR_NO_ERROR) return;
  if (assigned->cnt > 0) {
    sent = mosaic_wall_ms();
    if (rd_kafka_committed(rk, assigned, 5000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
      const long long answered = mosaic_wall_ms();
      for (int i = 0; i < assigned->cnt; ++i)
        if (!assigned->elems[i].err)  // none committed reads as -1: after a real one, that went back too
          fprintf(out, "committed %lld %lld %d %lld\n", sent, answered, (int)assigned->elems[i].partition,
                  assigned->elems[i].offset >= 0 ? (long long)assigned->elems[i].offset : -1LL);
    }
  }
  rd_kafka_topic_partition_list_destroy(assigned);
  fflush(out);
}

int main(int argc, char** argv) {
  if (argc != 6 && argc != 7) {
    fprintf(stderr, "usage: chaos_consumer BOOTSTRAP TOPIC GROUP STOP_FILE OUT_FILE [COMMIT_MS]\n");
    return 2;
  }
  const long long commit_ms = argc == 7 ? atoll(argv[6]) : 1000;
  FILE* out = fopen(argv[5], "w");
  if (!out) return 2;
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  mosaic_set(conf, "bootstrap.servers", argv[1]);
  mosaic_set(conf, "group.id", argv[3]);
  mosaic_set(conf, "group.protocol", "consumer");
  mosaic_set(conf, "enable.auto.commit", "false");
  mosaic_set(conf, "auto.offset.reset", "earliest");
  rd_kafka_t* rk = mosaic_subscribed_consumer(conf, argv[2]);
  fprintf(out, "start %lld\n", mosaic_wall_ms());
  long long last_commit = mosaic_wall_ms(), last_record = mosaic_wall_ms(), stop_seen = 0;
  for (;;) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk, 200);
    if (m) {
      if (!m->err) {
        fprintf(out, "got %d %lld\n", (int)m->partition, (long long)m->offset);
        last_record = mosaic_wall_ms();
      }
      rd_kafka_message_destroy(m);
    }
    const long long now = mosaic_wall_ms();
    if (now - last_commit >= commit_ms) {
      last_commit = now;
      commit_and_read_back(rk, out);
    }
    if (!stop_seen && access(argv[4], F_OK) == 0) stop_seen = now;
    if (stop_seen && (now - last_record > 5000 || now - stop_seen > 120000)) break;
  }
  commit_and_read_back(rk, out);
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
  fclose(out);
  return 0;
}

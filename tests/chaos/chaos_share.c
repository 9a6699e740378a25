/* The fault suite's share consumer on librdkafka 2.15.1 (tools/chaos): a
 * member of share GROUP (explicit acknowledgement) that accepts every
 * record of TOPIC and commits its acknowledgements after each poll, until
 * STOP_FILE exists and nothing new has come for 5 s (at most 120 s after).
 * Lines of OUT_FILE, times in wall-clock milliseconds:
 *   start TIME                             subscribed
 *   got TIME PARTITION OFFSET COUNT        a record handed to the application,
 *                                          with its delivery count
 *   accepted SENT ANSWERED PARTITION OFFSET
 *                                          an acceptance the broker confirmed
 *                                          (its partition had no error in the
 *                                          commit's answer)
 *
 * Usage: chaos_share BOOTSTRAP TOPIC GROUP STOP_FILE OUT_FILE */
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../compat/rdkafka_common.h"

#define MAX_BATCH 200

int main(int argc, char** argv) {
  if (argc != 6) {
    fprintf(stderr, "usage: chaos_share BOOTSTRAP TOPIC GROUP STOP_FILE OUT_FILE\n");
    return 2;
  }
  FILE* out = fopen(argv[5], "w");
  if (!out) return 2;
  rd_kafka_share_t* rk = mosaic_share_consumer(argv[1], argv[3], argv[2], 1, "100");
  fprintf(out, "start %lld\n", mosaic_wall_ms());
  long long last_record = mosaic_wall_ms(), stop_seen = 0;
  int parts[MAX_BATCH];
  long long offsets[MAX_BATCH];
  for (;;) {
    rd_kafka_messages_t* batch = mosaic_share_poll(rk, 200);
    size_t n = 0;
    if (batch) {
      const long long now = mosaic_wall_ms();
      for (size_t i = 0; i < rd_kafka_messages_count(batch) && n < MAX_BATCH; i++) {
        rd_kafka_message_t* m = rd_kafka_messages_get(batch, i);
        if (m->err) continue;
        fprintf(out, "got %lld %d %lld %d\n", now, (int)m->partition, (long long)m->offset,
                (int)rd_kafka_message_delivery_count(m));
        rd_kafka_share_acknowledge_type(rk, m, RD_KAFKA_SHARE_ACKNOWLEDGE_TYPE_ACCEPT);
        parts[n] = (int)m->partition;
        offsets[n] = (long long)m->offset;
        n++;
      }
      rd_kafka_messages_destroy(batch);
    }
    if (n > 0) {
      last_record = mosaic_wall_ms();
      const long long sent = mosaic_wall_ms();
      rd_kafka_topic_partition_list_t* results = NULL;
      rd_kafka_error_t* ce = rd_kafka_share_commit_sync(rk, 10000, &results);
      const long long answered = mosaic_wall_ms();
      if (ce) {
        rd_kafka_error_destroy(ce);
      } else {
        for (size_t i = 0; i < n; i++) {
          int ok = results == NULL; /* no list: no partition failed */
          for (int p = 0; results && p < results->cnt; p++)
            if (results->elems[p].partition == parts[i]) ok = !results->elems[p].err;
          if (ok) fprintf(out, "accepted %lld %lld %d %lld\n", sent, answered, parts[i], offsets[i]);
        }
      }
      if (results) rd_kafka_topic_partition_list_destroy(results);
      fflush(out);
    }
    const long long now = mosaic_wall_ms();
    if (!stop_seen && access(argv[4], F_OK) == 0) stop_seen = now;
    if (stop_seen && (now - last_record > 5000 || now - stop_seen > 120000)) break;
  }
  rd_kafka_share_consumer_close(rk);
  rd_kafka_share_destroy(rk);
  fclose(out);
  return 0;
}

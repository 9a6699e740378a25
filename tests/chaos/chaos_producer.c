/* The fault suite's producer on librdkafka 2.15.1 (tools/chaos): acks=all
 * and idempotent, with the client's default retries, it produces the
 * values NAME-0, NAME-1, ... (no key, so the partitioner spreads them) at
 * about RATE records/s until STOP_FILE exists, then waits for every
 * outstanding record. Each delivery report is a line of OUT_FILE:
 *   ok PARTITION OFFSET VALUE     acknowledged
 *   fail VALUE ERROR              not acknowledged (it may or may not be in the log)
 * and the last line is "sent N": the values NAME-0 .. NAME-(N-1) were handed
 * to the client, and no other.
 *
 * Usage: chaos_producer BOOTSTRAP TOPIC NAME RATE STOP_FILE OUT_FILE */
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../compat/rdkafka_common.h"

static FILE* out;

static void on_delivery(rd_kafka_t* rk, const rd_kafka_message_t* m, void* opaque) {
  (void)rk;
  (void)opaque;
  if (m->err)
    fprintf(out, "fail %.*s %s\n", (int)m->len, (const char*)m->payload, rd_kafka_err2name(m->err));
  else
    fprintf(out, "ok %d %lld %.*s\n", (int)m->partition, (long long)m->offset, (int)m->len, (const char*)m->payload);
  fflush(out);
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char** argv) {
  if (argc != 7) {
    fprintf(stderr, "usage: chaos_producer BOOTSTRAP TOPIC NAME RATE STOP_FILE OUT_FILE\n");
    return 2;
  }
  const char* name = argv[3];
  const double rate = atof(argv[4]);
  out = fopen(argv[6], "w");
  if (!out) return 2;
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  mosaic_set(conf, "bootstrap.servers", argv[1]);
  mosaic_set(conf, "acks", "all");
  mosaic_set(conf, "enable.idempotence", "true");
  mosaic_set(conf, "linger.ms", "5");
  mosaic_set(conf, "message.timeout.ms", "120000");
  rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (!rk) {
    fprintf(stderr, "%s\n", err);
    return 2;
  }
  long long sent = 0;
  const double start = now_s();
  while (access(argv[5], F_OK) != 0) {
    if (sent < (long long)((now_s() - start) * rate)) {
      char value[128];
      int n = snprintf(value, sizeof value, "%s-%lld", name, sent);
      rd_kafka_resp_err_t e = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(argv[2]), RD_KAFKA_V_VALUE(value, (size_t)n),
                                                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
      if (e == RD_KAFKA_RESP_ERR_NO_ERROR) {
        ++sent;
        continue;
      }
      if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        fprintf(stderr, "produce: %s\n", rd_kafka_err2str(e));
        return 1;
      }
    }
    rd_kafka_poll(rk, 2);
  }
  rd_kafka_flush(rk, 150000);
  fprintf(out, "sent %lld\n", sent);
  fclose(out);
  rd_kafka_destroy(rk);
  return 0;
}

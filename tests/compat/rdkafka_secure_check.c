/* librdkafka 2.15.1 on a secured listener of a running mosaicd: a producer
 * (acks=all) sends COUNT numbered records to TOPIC (one partition), then a
 * consumer group reads them back in order; every connection is made with
 * the librdkafka properties given as KEY=VALUE (security.protocol, ssl.*,
 * sasl.*).
 *
 * Usage: rdkafka_secure_check HOST:PORT TOPIC COUNT [KEY=VALUE...] [expect-refusal]
 * With expect-refusal, checks instead that the broker refuses the client
 * (an authentication or TLS failure) and nothing is delivered.
 * Prints "secure: ok N" (or "secure: refused: WHY") and exits 0 when the
 * check passes. */
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rdkafka_common.h"

static int delivered = 0, failed = 0;
static char first_error[512];

static void on_delivery(rd_kafka_t* rk, const rd_kafka_message_t* m, void* opaque) {
  (void)rk;
  (void)opaque;
  if (m->err) {
    if (failed++ < 3) fprintf(stderr, "delivery failed: %s\n", rd_kafka_err2str(m->err));
  } else {
    delivered++;
  }
}

static void on_error(rd_kafka_t* rk, int err, const char* reason, void* opaque) {
  (void)rk;
  (void)opaque;
  if (!first_error[0] && (err == RD_KAFKA_RESP_ERR__AUTHENTICATION || err == RD_KAFKA_RESP_ERR__SSL ||
                          err == RD_KAFKA_RESP_ERR__TRANSPORT || err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN))
    snprintf(first_error, sizeof(first_error), "%s: %s", rd_kafka_err2name((rd_kafka_resp_err_t)err), reason);
}

/* The client's properties: bootstrap and every KEY=VALUE argument. */
static rd_kafka_conf_t* secure_conf(const char* bootstrap, int argc, char** argv) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  mosaic_set(conf, "bootstrap.servers", bootstrap);
  for (int i = 0; i < argc; i++) {
    char* eq = strchr(argv[i], '=');
    if (!eq) continue;
    *eq = '\0';
    mosaic_set(conf, argv[i], eq + 1);
    *eq = '=';
  }
  rd_kafka_conf_set_error_cb(conf, on_error);
  return conf;
}

int main(int argc, char** argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: rdkafka_secure_check HOST:PORT TOPIC COUNT [KEY=VALUE...] [expect-refusal]\n");
    return 2;
  }
  const char *bootstrap = argv[1], *topic = argv[2];
  const int count = atoi(argv[3]);
  int refusal = 0;
  for (int i = 4; i < argc; i++)
    if (strcmp(argv[i], "expect-refusal") == 0) refusal = 1;
  char err[512];
  rd_kafka_conf_t* pconf = secure_conf(bootstrap, argc - 4, argv + 4);
  mosaic_set(pconf, "acks", "all");
  mosaic_set(pconf, "linger.ms", "5");
  mosaic_set(pconf, "message.timeout.ms", refusal ? "8000" : "30000");
  rd_kafka_conf_set_dr_msg_cb(pconf, on_delivery);
  rd_kafka_t* p = rd_kafka_new(RD_KAFKA_PRODUCER, pconf, err, sizeof(err));
  if (!p) {
    fprintf(stderr, "producer: %s\n", err);
    return 1;
  }
  for (int i = 0; i < count; i++) {
    char value[32], key[8];
    const int n = snprintf(value, sizeof(value), "secure-%06d", i);
    const int k = snprintf(key, sizeof(key), "k%d", i % 7);
    while (rd_kafka_producev(p, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, (size_t)k),
                             RD_KAFKA_V_VALUE(value, (size_t)n), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                             RD_KAFKA_V_END) == RD_KAFKA_RESP_ERR__QUEUE_FULL)
      rd_kafka_poll(p, 10);
    rd_kafka_poll(p, 0);
  }
  rd_kafka_flush(p, 40000);
  rd_kafka_destroy(p);
  if (refusal) {
    if (delivered == 0 && first_error[0]) {
      printf("secure: refused: %s\n", first_error);
      return 0;
    }
    printf("secure: not refused: delivered %d\n", delivered);
    return 1;
  }
  if (delivered != count || failed) {
    printf("secure: produce: delivered %d of %d, %d failed, %s\n", delivered, count, failed, first_error);
    return 1;
  }

  rd_kafka_conf_t* cconf = secure_conf(bootstrap, argc - 4, argv + 4);
  char group[256];
  snprintf(group, sizeof(group), "secure-c-%s", topic);
  mosaic_set(cconf, "group.id", group);
  mosaic_set(cconf, "auto.offset.reset", "earliest");
  rd_kafka_t* c = mosaic_subscribed_consumer(cconf, topic);
  int seen = 0, wrong = 0;
  const long long end = mosaic_wall_ms() + 60000;
  while (seen < count && mosaic_wall_ms() < end) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(c, 500);
    if (!m) continue;
    if (!m->err) {
      char want[32];
      const int n = snprintf(want, sizeof(want), "secure-%06d", seen);
      if (m->len != (size_t)n || memcmp(m->payload, want, (size_t)n) != 0) wrong++;
      seen++;
    }
    rd_kafka_message_destroy(m);
  }
  rd_kafka_consumer_close(c);
  rd_kafka_destroy(c);
  if (seen != count || wrong) {
    printf("secure: consumed %d of %d, %d out of order\n", seen, count, wrong);
    return 1;
  }
  printf("secure: ok %d\n", count);
  return 0;
}

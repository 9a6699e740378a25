/* librdkafka 2.15.1 over SASL for a while: a producer (acks=all) sends a
 * numbered record every 50 ms for SECONDS seconds on a SASL listener, then
 * a consumer reads them back, both authenticated with MECHANISM (PLAIN,
 * SCRAM-SHA-256, SCRAM-SHA-512). With the broker's
 * connections.max.reauth.ms shorter than the run, the client must
 * re-authenticate on its connections (KIP-368) as their sessions end;
 * debug=security logs each re-authentication, which are counted.
 *
 * Usage: rdkafka_sasl_check HOST:PORT MECHANISM USER PASSWORD TOPIC SECONDS
 * Prints "sasl: ok N records, R reauthentications" and exits 0 when every
 * record was delivered and read back in order. */
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rdkafka_common.h"

static int delivered = 0, failed = 0, reauths = 0;

static void on_delivery(rd_kafka_t* rk, const rd_kafka_message_t* m, void* opaque) {
  (void)rk;
  (void)opaque;
  if (m->err) {
    if (failed++ < 5) fprintf(stderr, "delivery failed: %s\n", rd_kafka_err2str(m->err));
  } else {
    delivered++;
  }
}

/* With debug=security librdkafka logs "Auth in state REAUTH" when it
 * re-authenticates a connection whose session is ending. */
static void on_log(const rd_kafka_t* rk, int level, const char* fac, const char* buf) {
  (void)rk;
  (void)level;
  (void)fac;
  if (strstr(buf, "Auth in state REAUTH")) reauths++;
  if (level <= 3 || getenv("SASL_CHECK_LOG")) fprintf(stderr, "%s\n", buf);
}

static rd_kafka_conf_t* sasl_conf(const char* bootstrap, const char* mechanism, const char* user, const char* pw) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  mosaic_set(conf, "bootstrap.servers", bootstrap);
  mosaic_set(conf, "security.protocol", "SASL_PLAINTEXT");
  mosaic_set(conf, "sasl.mechanism", mechanism);
  mosaic_set(conf, "sasl.username", user);
  mosaic_set(conf, "sasl.password", pw);
  mosaic_set(conf, "debug", "security");
  rd_kafka_conf_set_log_cb(conf, on_log);
  return conf;
}

int main(int argc, char** argv) {
  if (argc != 7) {
    fprintf(stderr, "usage: rdkafka_sasl_check HOST:PORT MECHANISM USER PASSWORD TOPIC SECONDS\n");
    return 2;
  }
  const char *bootstrap = argv[1], *mechanism = argv[2], *user = argv[3], *pw = argv[4], *topic = argv[5];
  const int seconds = atoi(argv[6]);
  char err[512];
  rd_kafka_conf_t* pconf = sasl_conf(bootstrap, mechanism, user, pw);
  mosaic_set(pconf, "acks", "all");
  mosaic_set(pconf, "linger.ms", "0");
  rd_kafka_conf_set_dr_msg_cb(pconf, on_delivery);
  rd_kafka_t* p = rd_kafka_new(RD_KAFKA_PRODUCER, pconf, err, sizeof(err));
  if (!p) {
    fprintf(stderr, "producer: %s\n", err);
    return 1;
  }
  int sent = 0;
  const long long end = mosaic_wall_ms() + seconds * 1000LL;
  while (mosaic_wall_ms() < end) {
    char value[32];
    int n = snprintf(value, sizeof(value), "record-%06d", sent);
    if (rd_kafka_producev(p, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(0), RD_KAFKA_V_VALUE(value, (size_t)n),
                          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END) == 0)
      sent++;
    rd_kafka_poll(p, 0);
    struct timespec pause = {0, 50 * 1000 * 1000};
    nanosleep(&pause, NULL);
  }
  rd_kafka_flush(p, 30000);
  rd_kafka_destroy(p);
  if (delivered != sent || failed) {
    fprintf(stderr, "sasl: %d of %d delivered, %d failed\n", delivered, sent, failed);
    return 1;
  }

  rd_kafka_conf_t* cconf = sasl_conf(bootstrap, mechanism, user, pw);
  rd_kafka_t* c = rd_kafka_new(RD_KAFKA_CONSUMER, cconf, err, sizeof(err));
  if (!c) {
    fprintf(stderr, "consumer: %s\n", err);
    return 1;
  }
  /* The simple (group-less) consumer, as kcat -C uses. */
  rd_kafka_topic_t* rkt = rd_kafka_topic_new(c, topic, NULL);
  rd_kafka_consume_start(rkt, 0, RD_KAFKA_OFFSET_BEGINNING);
  int got = 0;
  const long long deadline = mosaic_wall_ms() + 30000;
  while (got < sent && mosaic_wall_ms() < deadline) {
    rd_kafka_message_t* m = rd_kafka_consume(rkt, 0, 500);
    if (!m) continue;
    if (!m->err) {
      char want[32];
      int n = snprintf(want, sizeof(want), "record-%06d", got);
      if (m->len != (size_t)n || memcmp(m->payload, want, (size_t)n) != 0) {
        fprintf(stderr, "record %d is out of order\n", got);
        rd_kafka_message_destroy(m);
        return 1;
      }
      got++;
    }
    rd_kafka_message_destroy(m);
  }
  rd_kafka_consume_stop(rkt, 0);
  rd_kafka_topic_destroy(rkt);
  rd_kafka_destroy(c);
  if (got != sent) {
    fprintf(stderr, "sasl: read %d of %d\n", got, sent);
    return 1;
  }
  printf("sasl: ok %d records, %d reauthentications\n", sent, reauths);
  return 0;
}

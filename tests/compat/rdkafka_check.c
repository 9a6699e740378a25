/* librdkafka 2.15.1 (the C client) against a running mosaicd: creates a
 * topic with the Admin API, produces records with keys, headers and
 * timestamps (acks=all, lz4), consumes them back by assignment and checks
 * each one, and reports the Fetch and Produce versions the client chose.
 *
 * Usage: rdkafka_check HOST:PORT TOPIC COUNT
 * Prints "rdkafka: ok fetch=vN produce=vM" and exits 0 when every check passes.
 *
 * Usage: rdkafka_check --idempotent HOST:PORT TOPIC COUNT READY_FILE GO_FILE
 * The idempotent producer (enable.idempotence=true, acks=all) across a
 * restart of mosaicd: writes READY_FILE once half the records are
 * acknowledged, keeps producing into the outage (the test kills mosaicd with
 * SIGKILL and starts it again, then writes GO_FILE), produces the rest,
 * consumes the topic and checks that every record is there exactly once, in
 * order per key. Prints "idempotent: ok N records". */
#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rdkafka_common.h"

static int delivered_ok = 0;
static int delivery_failed = 0;
static int fetch_version = -1;
static int produce_version = -1;

static void on_delivery(rd_kafka_t* rk, const rd_kafka_message_t* m, void* opaque) {
  (void)rk;
  (void)opaque;
  if (m->err) {
    if (delivery_failed++ < 5) fprintf(stderr, "delivery failed: %s\n", rd_kafka_err2str(m->err));
  } else {
    delivered_ok++;
  }
}

/* With debug=protocol, librdkafka logs each request it sends with its
 * version: "Sent FetchRequest (v16, ...". */
static void on_log(const rd_kafka_t* rk, int level, const char* fac, const char* buf) {
  (void)rk;
  (void)level;
  (void)fac;
  const char* f = strstr(buf, "Sent FetchRequest (v");
  if (f) fetch_version = atoi(f + strlen("Sent FetchRequest (v"));
  const char* p = strstr(buf, "Sent ProduceRequest (v");
  if (p) produce_version = atoi(p + strlen("Sent ProduceRequest (v"));
}

static rd_kafka_conf_t* base_conf(const char* bootstrap) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  mosaic_set(conf, "bootstrap.servers", bootstrap);
  mosaic_set(conf, "debug", "protocol");
  rd_kafka_conf_set_log_cb(conf, on_log);
  return conf;
}

static int create_topic(const char* bootstrap, const char* topic) { return mosaic_create_topic(bootstrap, topic, 2); }

enum { idem_keys = 8 };
static int idem_errors = 0;

static void on_idempotent_delivery(rd_kafka_t* rk, const rd_kafka_message_t* m, void* opaque) {
  (void)rk;
  (void)opaque;
  if (m->err && idem_errors++ < 5) fprintf(stderr, "delivery failed: %s\n", rd_kafka_err2str(m->err));
}

static int file_exists(const char* path) {
  FILE* f = fopen(path, "r");
  if (f) fclose(f);
  return f != NULL;
}

static int idempotent_check(const char* bootstrap, const char* topic, int count, const char* ready, const char* go) {
  char err[512];
  if (!create_topic(bootstrap, topic)) return 1;
  rd_kafka_conf_t* pconf = rd_kafka_conf_new();
  mosaic_set(pconf, "bootstrap.servers", bootstrap);
  mosaic_set(pconf, "enable.idempotence", "true");
  mosaic_set(pconf, "acks", "all");
  mosaic_set(pconf, "linger.ms", "2");
  mosaic_set(pconf, "batch.num.messages", "50");
  mosaic_set(pconf, "message.timeout.ms", "60000");
  mosaic_set(pconf, "retry.backoff.ms", "100");
  mosaic_set(pconf, "reconnect.backoff.ms", "50");
  mosaic_set(pconf, "reconnect.backoff.max.ms", "500");
  rd_kafka_conf_set_dr_msg_cb(pconf, on_idempotent_delivery);
  rd_kafka_t* producer = rd_kafka_new(RD_KAFKA_PRODUCER, pconf, err, sizeof(err));
  if (!producer) return fprintf(stderr, "producer: %s\n", err), 1;
  for (int i = 0; i < count; i++) {
    char key[32], value[64];
    snprintf(key, sizeof(key), "key-%d", i % idem_keys);
    snprintf(value, sizeof(value), "%s:%d", key, i / idem_keys);
    rd_kafka_resp_err_t e;
    while ((e = rd_kafka_producev(producer, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(i % 2),
                                  RD_KAFKA_V_KEY(key, strlen(key)), RD_KAFKA_V_VALUE(value, strlen(value)),
                                  RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END)) ==
           RD_KAFKA_RESP_ERR__QUEUE_FULL)
      rd_kafka_poll(producer, 10);
    if (e) return fprintf(stderr, "produce: %s\n", rd_kafka_err2str(e)), 1;
    rd_kafka_poll(producer, 0);
    if (i == count / 2) {
      /* Half acknowledged: the broker is killed from here on. */
      rd_kafka_flush(producer, 30000);
      FILE* f = fopen(ready, "w");
      if (f) fputs("ready\n", f), fclose(f);
    }
    if (i > count / 2 && i % 500 == 0 && !file_exists(go)) {
      /* Keep producing into the outage for a while, then wait for the restart. */
      const time_t deadline = time(NULL) + 30;
      while (!file_exists(go) && time(NULL) < deadline) rd_kafka_poll(producer, 50);
    }
  }
  const rd_kafka_resp_err_t flushed = rd_kafka_flush(producer, 60000);
  char fatal[512] = "";
  const rd_kafka_resp_err_t fatal_err = rd_kafka_fatal_error(producer, fatal, sizeof(fatal));
  rd_kafka_destroy(producer);
  if (flushed || idem_errors || fatal_err) {
    fprintf(stderr, "FAIL: flush %s, %d delivery errors, fatal: %s\n", rd_kafka_err2str(flushed), idem_errors, fatal);
    return 1;
  }

  rd_kafka_t* consumer = rd_kafka_new(RD_KAFKA_CONSUMER, base_conf(bootstrap), err, sizeof(err));
  if (!consumer) return fprintf(stderr, "consumer: %s\n", err), 1;
  rd_kafka_topic_t* rkt = rd_kafka_topic_new(consumer, topic, NULL);
  for (int p = 0; p < 2; p++) rd_kafka_consume_start(rkt, p, RD_KAFKA_OFFSET_BEGINNING);
  int next[idem_keys] = {0}, total = 0, bad = 0;
  /* Until every record is in, then 2 s more: a duplicate would show up. */
  time_t deadline = time(NULL) + 30, quiet_until = 0;
  for (;;) {
    const time_t now = time(NULL);
    if (total >= count && quiet_until == 0) quiet_until = now + 2;
    if (now >= deadline || (quiet_until && now >= quiet_until)) break;
    for (int part = 0; part < 2; part++) {
      rd_kafka_message_t* m = rd_kafka_consume(rkt, part, 100);
      if (!m) continue;
      if (!m->err) {
        int k = -1, n = -1;
        char text[64] = "";
        if (m->len < sizeof(text)) memcpy(text, m->payload, m->len);
        if (sscanf(text, "key-%d:%d", &k, &n) != 2 || k < 0 || k >= idem_keys || n != next[k]) {
          if (bad++ < 5)
            fprintf(stderr, "partition %d offset %" PRId64 ": '%s', expected record %d of its key\n", part, m->offset,
                    text, k >= 0 && k < idem_keys ? next[k] : -1);
        } else {
          next[k]++;
        }
        total++;
      }
      rd_kafka_message_destroy(m);
    }
  }
  for (int p = 0; p < 2; p++) rd_kafka_consume_stop(rkt, p);
  rd_kafka_topic_destroy(rkt);
  rd_kafka_destroy(consumer);
  if (total != count || bad) {
    fprintf(stderr, "FAIL: %d records consumed for %d produced, %d out of order or duplicated\n", total, count, bad);
    return 1;
  }
  printf("idempotent: ok %d records\n", total);
  return 0;
}

int main(int argc, char** argv) {
  if (argc == 7 && strcmp(argv[1], "--idempotent") == 0)
    return idempotent_check(argv[2], argv[3], atoi(argv[4]), argv[5], argv[6]);
  if (argc != 4)
    return fprintf(stderr,
                   "usage: rdkafka_check HOST:PORT TOPIC COUNT\n"
                   "       rdkafka_check --idempotent HOST:PORT TOPIC COUNT READY_FILE GO_FILE\n"),
           2;
  const char *bootstrap = argv[1], *topic = argv[2];
  const int count = atoi(argv[3]);
  const int64_t base_ts = 1700000000000;
  char err[512];
  if (!create_topic(bootstrap, topic)) return 1;

  rd_kafka_conf_t* pconf = base_conf(bootstrap);
  mosaic_set(pconf, "acks", "all");
  mosaic_set(pconf, "compression.type", "lz4");
  mosaic_set(pconf, "linger.ms", "5");
  rd_kafka_conf_set_dr_msg_cb(pconf, on_delivery);
  rd_kafka_t* producer = rd_kafka_new(RD_KAFKA_PRODUCER, pconf, err, sizeof(err));
  if (!producer) return fprintf(stderr, "producer: %s\n", err), 1;
  for (int n = 0; n < count; n++) {
    char key[32], value[64], hdr[16];
    snprintf(key, sizeof(key), "key-%d", n);
    snprintf(value, sizeof(value), "rdkafka-%d", n);
    snprintf(hdr, sizeof(hdr), "%d", n);
    rd_kafka_resp_err_t e;
    while ((e = rd_kafka_producev(producer, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(n % 2),
                                  RD_KAFKA_V_KEY(key, strlen(key)), RD_KAFKA_V_VALUE(value, strlen(value)),
                                  RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_HEADER("n", hdr, -1),
                                  RD_KAFKA_V_TIMESTAMP(base_ts + n), RD_KAFKA_V_END)) == RD_KAFKA_RESP_ERR__QUEUE_FULL)
      rd_kafka_poll(producer, 10);
    if (e) return fprintf(stderr, "produce: %s\n", rd_kafka_err2str(e)), 1;
    rd_kafka_poll(producer, 0);
  }
  rd_kafka_flush(producer, 30000);
  rd_kafka_destroy(producer);
  if (delivered_ok != count) return fprintf(stderr, "%d of %d delivered\n", delivered_ok, count), 1;

  /* The simple (group-less) consumer, as kcat -C uses (groups have their
   * own driver, rdkafka_group_check). */
  rd_kafka_conf_t* cconf = base_conf(bootstrap);
  rd_kafka_t* consumer = rd_kafka_new(RD_KAFKA_CONSUMER, cconf, err, sizeof(err));
  if (!consumer) return fprintf(stderr, "consumer: %s\n", err), 1;
  rd_kafka_topic_t* rkt = rd_kafka_topic_new(consumer, topic, NULL);
  for (int p = 0; p < 2; p++) rd_kafka_consume_start(rkt, p, RD_KAFKA_OFFSET_BEGINNING);
  int next[2] = {0, 0}, bad = 0;
  time_t deadline = time(NULL) + 30;
  while (next[0] + next[1] < count && time(NULL) < deadline && bad < 20) {
    for (int part = 0; part < 2; part++) {
      rd_kafka_message_t* m = rd_kafka_consume(rkt, part, 100);
      if (!m) continue;
      if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        /* caught up with this partition for now */
      } else if (m->err) {
        fprintf(stderr, "consume: %s\n", rd_kafka_message_errstr(m));
        bad++;
      } else {
        const int p = m->partition, n = 2 * next[p] + p;
        char key[32], value[64], hdr[16];
        snprintf(key, sizeof(key), "key-%d", n);
        snprintf(value, sizeof(value), "rdkafka-%d", n);
        snprintf(hdr, sizeof(hdr), "%d", n);
        rd_kafka_timestamp_type_t tstype;
        const int64_t ts = rd_kafka_message_timestamp(m, &tstype);
        rd_kafka_headers_t* hs = NULL;
        const void* hv = NULL;
        size_t hl = 0;
        const int header_ok = rd_kafka_message_headers(m, &hs) == RD_KAFKA_RESP_ERR_NO_ERROR &&
                              rd_kafka_header_get_last(hs, "n", &hv, &hl) == RD_KAFKA_RESP_ERR_NO_ERROR &&
                              hl == strlen(hdr) && memcmp(hv, hdr, hl) == 0;
        if (m->offset != next[p] || m->key_len != strlen(key) || memcmp(m->key, key, m->key_len) != 0 ||
            m->len != strlen(value) || memcmp(m->payload, value, m->len) != 0 || ts != base_ts + n || !header_ok) {
          if (bad++ < 5) fprintf(stderr, "partition %d offset %" PRId64 ": not record %d as sent\n", p, m->offset, n);
        }
        next[p]++;
      }
      rd_kafka_message_destroy(m);
    }
  }
  for (int p = 0; p < 2; p++) rd_kafka_consume_stop(rkt, p);
  rd_kafka_topic_destroy(rkt);
  rd_kafka_destroy(consumer);
  if (next[0] + next[1] != count || bad) {
    fprintf(stderr, "consumed %d of %d, %d bad\n", next[0] + next[1], count, bad);
    return 1;
  }
  printf("rdkafka: ok fetch=v%d produce=v%d\n", fetch_version, produce_version);
  return 0;
}

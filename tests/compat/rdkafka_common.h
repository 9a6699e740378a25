/* Helpers shared by the librdkafka compat drivers and the fault suite's
 * clients: config, consumers and share consumers, topic creation through
 * the Admin API, producing numbered records, the wall clock. */
#ifndef MOSAIC_RDKAFKA_COMMON_H
#define MOSAIC_RDKAFKA_COMMON_H

#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Wall-clock milliseconds (what the clients' files record). */
static inline long long mosaic_wall_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline void mosaic_set(rd_kafka_conf_t* conf, const char* name, const char* value) {
  char err[512];
  if (rd_kafka_conf_set(conf, name, value, err, sizeof(err)) != RD_KAFKA_CONF_OK) {
    fprintf(stderr, "config %s: %s\n", name, err);
    exit(1);
  }
}

/* A consumer made from `conf` (taken), subscribed to `topic`; exits on
 * failure. */
static inline rd_kafka_t* mosaic_subscribed_consumer(rd_kafka_conf_t* conf, const char* topic) {
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
  if (!rk) {
    fprintf(stderr, "consumer: %s\n", err);
    exit(1);
  }
  rd_kafka_poll_set_consumer(rk);
  rd_kafka_topic_partition_list_t* sub = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(sub, topic, RD_KAFKA_PARTITION_UA);
  rd_kafka_resp_err_t e = rd_kafka_subscribe(rk, sub);
  rd_kafka_topic_partition_list_destroy(sub);
  if (e) {
    fprintf(stderr, "subscribe: %s\n", rd_kafka_err2str(e));
    exit(1);
  }
  return rk;
}

/* A share consumer of `group` subscribed to `topic` (explicit
 * acknowledgement when `explicit_ack`; max.poll.records when given); exits
 * on failure. */
static inline rd_kafka_share_t* mosaic_share_consumer(const char* bootstrap, const char* group, const char* topic,
                                                      int explicit_ack, const char* max_poll_records) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  mosaic_set(conf, "bootstrap.servers", bootstrap);
  mosaic_set(conf, "group.id", group);
  if (max_poll_records) mosaic_set(conf, "max.poll.records", max_poll_records);
  if (explicit_ack) mosaic_set(conf, "share.acknowledgement.mode", "explicit");
  rd_kafka_share_t* rk = rd_kafka_share_consumer_new(conf, err, sizeof(err));
  if (!rk) {
    fprintf(stderr, "share consumer: %s\n", err);
    exit(1);
  }
  rd_kafka_topic_partition_list_t* topics = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(topics, topic, RD_KAFKA_PARTITION_UA);
  rd_kafka_resp_err_t e = rd_kafka_share_subscribe(rk, topics);
  rd_kafka_topic_partition_list_destroy(topics);
  if (e) {
    fprintf(stderr, "subscribe: %s\n", rd_kafka_err2str(e));
    exit(1);
  }
  return rk;
}

/* One share poll: the batch it got, or NULL (nothing, or an error). */
static inline rd_kafka_messages_t* mosaic_share_poll(rd_kafka_share_t* rk, int timeout_ms) {
  rd_kafka_messages_t* batch = NULL;
  rd_kafka_error_t* e = rd_kafka_share_poll(rk, timeout_ms, &batch);
  if (e) {
    rd_kafka_error_destroy(e);
    return NULL;
  }
  return batch;
}

/* Creates `topic` with `partitions` partitions; 1 on success. */
static inline int mosaic_create_topic(const char* bootstrap, const char* topic, int partitions) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  mosaic_set(conf, "bootstrap.servers", bootstrap);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
  if (!rk) return fprintf(stderr, "admin client: %s\n", err), 0;
  rd_kafka_NewTopic_t* nt =
      rd_kafka_NewTopic_new(topic, partitions, -1, err, sizeof(err));  // the broker's default factor
  rd_kafka_NewTopic_set_config(nt, "retention.ms", "86400000");
  rd_kafka_queue_t* q = rd_kafka_queue_new(rk);
  rd_kafka_CreateTopics(rk, &nt, 1, NULL, q);
  rd_kafka_event_t* ev = rd_kafka_queue_poll(q, 15000);
  int ok = 0;
  if (ev && rd_kafka_event_error(ev) == RD_KAFKA_RESP_ERR_NO_ERROR) {
    size_t n = 0;
    const rd_kafka_topic_result_t** res =
        rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
    /* A topic made beforehand (with other settings) is used as it is. */
    ok = n == 1 && (rd_kafka_topic_result_error(res[0]) == RD_KAFKA_RESP_ERR_NO_ERROR ||
                    rd_kafka_topic_result_error(res[0]) == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS);
    if (!ok && n == 1) fprintf(stderr, "create: %s\n", rd_kafka_topic_result_error_string(res[0]));
  } else {
    fprintf(stderr, "create: %s\n", ev ? rd_kafka_event_error_string(ev) : "timed out");
  }
  if (ev) rd_kafka_event_destroy(ev);
  rd_kafka_NewTopic_destroy(nt);
  rd_kafka_queue_destroy(q);
  rd_kafka_destroy(rk);
  return ok;
}

static int mosaic_delivery_errors = 0;
static inline void mosaic_on_delivery(rd_kafka_t* rk, const rd_kafka_message_t* m, void* opaque) {
  (void)rk;
  (void)opaque;
  if (m->err && mosaic_delivery_errors++ < 5) fprintf(stderr, "delivery failed: %s\n", rd_kafka_err2str(m->err));
}

/* Produces records "0" .. "count-1" (value = the number, record n to
 * partition n % partitions) with acks=all; 1 when all are delivered. */
static inline int mosaic_produce_numbered(const char* bootstrap, const char* topic, int partitions, int count) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  mosaic_set(conf, "bootstrap.servers", bootstrap);
  mosaic_set(conf, "acks", "all");
  mosaic_set(conf, "linger.ms", "5");
  rd_kafka_conf_set_dr_msg_cb(conf, mosaic_on_delivery);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
  if (!rk) return fprintf(stderr, "producer: %s\n", err), 0;
  for (int n = 0; n < count; n++) {
    char value[16];
    snprintf(value, sizeof(value), "%d", n);
    rd_kafka_resp_err_t e;
    while ((e = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(n % partitions),
                                  RD_KAFKA_V_VALUE(value, strlen(value)), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                  RD_KAFKA_V_END)) == RD_KAFKA_RESP_ERR__QUEUE_FULL)
      rd_kafka_poll(rk, 10);
    if (e) return fprintf(stderr, "produce: %s\n", rd_kafka_err2str(e)), 0;
    rd_kafka_poll(rk, 0);
  }
  rd_kafka_flush(rk, 30000);
  rd_kafka_destroy(rk);
  return mosaic_delivery_errors == 0;
}

#endif

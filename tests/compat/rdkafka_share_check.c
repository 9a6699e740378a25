/* Share groups (KIP-932) with librdkafka 2.15.1's share consumer, against a
 * running broker. One scenario per run; prints what it saw and exits 0 when
 * the broker behaved as KIP-932 says.
 *
 *   rdkafka_share_check <bootstrap> distinct <topic> <group> <records> <consumers>
 *       <consumers> share consumers (implicit acknowledgement) on a
 *       one-partition topic: each gets records no other got, and together
 *       all of them, each once.
 *   rdkafka_share_check <bootstrap> hold <topic> <group> <records>
 *       A consumer (explicit mode) takes records and never acknowledges
 *       them, then prints "HELD <first> <last>" and waits to be killed.
 *   rdkafka_share_check <bootstrap> redeliver <topic> <group> <records> <min_wait_ms>
 *       A consumer that must get every record, those once held by a
 *       killed consumer with delivery count 2, no sooner than min_wait_ms.
 *   rdkafka_share_check <bootstrap> reject <topic> <group> <records>
 *       Accepts even records and rejects odd ones (explicit mode).
 *   rdkafka_share_check <bootstrap> release <topic> <group> <records>
 *       Releases every record until the broker stops offering any.
 *   rdkafka_share_check <bootstrap> work <topic> <group> <records> <reject_every> <ready_file> [<killed_file>]
 *       Three workers (explicit mode, a commit after each poll) accept every
 *       record but every reject_every-th, which they reject; <ready_file> is
 *       made once a third are done (the broker may then be killed). Ends when
 *       nothing comes for 8 s; prints what was confirmed, and any record
 *       delivered again after its ACCEPT was confirmed. With a sixth
 *       argument <killed_file> (made by the caller once it killed a
 *       broker), it also compares each record's delivery count after that
 *       with the highest seen before: "COUNT_JUMPS n" counts records whose
 *       count went up by more than one (a record never seen before may
 *       come with 2: its lock was held at the crash, its holder unknown).
 *   rdkafka_share_check <bootstrap> ackloop <topic> <group> <stop_file> <out_file>
 *       One consumer (explicit mode) accepts what it gets and commits after
 *       each poll, until <stop_file> exists; each commit that acknowledged
 *       records and was answered ok is a line "commit <sent> <answered> ok"
 *       (wall-clock ms) in <out_file> (tools/bench/coordinator_failover).
 *   rdkafka_share_check <bootstrap> accepted <topic> <group> <stop_file> <out_file>
 *       One consumer (explicit mode, 10 records a poll) accepts what it gets
 *       until <stop_file> exists; each record of a commit answered ok is a
 *       line "accepted <n>" in <out_file> (tests/integration/http_test.cc
 *       shares its group with an HTTP queue worker).
 *   rdkafka_share_check <bootstrap> closes <topic> <group> <records> <rounds>
 *       <rounds> consumers one after another (explicit mode, at most 5
 *       records a poll): each accepts one poll's records and closes
 *       without committing, so its close carries the last
 *       acknowledgements beside its leave. Prints "DELIVERED n AGAIN k":
 *       k records came again after an acceptance that close sent.
 *   rdkafka_share_check <bootstrap> produce <topic> <records> [partitions]
 *       Creates a topic (one partition unless said) and produces records
 *       "0".."records-1", record n to partition n % partitions.
 *   rdkafka_share_check <bootstrap> config <group> <name> <value>
 *       Sets a group config through IncrementalAlterConfigs (GROUP).
 */
#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include "rdkafka_common.h"

static long long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int set_group_config(const char* bootstrap, const char* group, const char* name, const char* value) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  mosaic_set(conf, "bootstrap.servers", bootstrap);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
  if (!rk) return fprintf(stderr, "admin: %s\n", err), 0;
  rd_kafka_ConfigResource_t* res = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_GROUP, group);
  rd_kafka_error_t* e =
      rd_kafka_ConfigResource_add_incremental_config(res, name, RD_KAFKA_ALTER_CONFIG_OP_TYPE_SET, value);
  if (e) return fprintf(stderr, "config: %s\n", rd_kafka_error_string(e)), 0;
  rd_kafka_queue_t* q = rd_kafka_queue_new(rk);
  rd_kafka_IncrementalAlterConfigs(rk, &res, 1, NULL, q);
  rd_kafka_event_t* ev = rd_kafka_queue_poll(q, 15000);
  int ok = 0;
  if (ev && rd_kafka_event_error(ev) == RD_KAFKA_RESP_ERR_NO_ERROR) {
    size_t n = 0;
    const rd_kafka_ConfigResource_t** out =
        rd_kafka_IncrementalAlterConfigs_result_resources(rd_kafka_event_IncrementalAlterConfigs_result(ev), &n);
    ok = n == 1 && rd_kafka_ConfigResource_error(out[0]) == RD_KAFKA_RESP_ERR_NO_ERROR;
    if (!ok && n == 1) fprintf(stderr, "config %s: %s\n", name, rd_kafka_ConfigResource_error_string(out[0]));
  } else {
    fprintf(stderr, "config: %s\n", ev ? rd_kafka_event_error_string(ev) : "timed out");
  }
  if (ev) rd_kafka_event_destroy(ev);
  rd_kafka_ConfigResource_destroy(res);
  rd_kafka_queue_destroy(q);
  rd_kafka_destroy(rk);
  return ok;
}

/* Sends the acknowledgements made so far and waits for the answers; 1 if
 * every partition took them. */
static int commit(rd_kafka_share_t* rk) {
  rd_kafka_topic_partition_list_t* results = NULL;
  rd_kafka_error_t* e = rd_kafka_share_commit_sync(rk, 10000, &results);
  int ok = e == NULL;
  if (e) {
    fprintf(stderr, "commit: %s\n", rd_kafka_error_string(e));
    rd_kafka_error_destroy(e);
  }
  for (int p = 0; results && p < results->cnt; p++)
    if (results->elems[p].err) {
      fprintf(stderr, "commit %s [%d]: %s\n", results->elems[p].topic, results->elems[p].partition,
              rd_kafka_err2str(results->elems[p].err));
      ok = 0;
    }
  if (results) rd_kafka_topic_partition_list_destroy(results);
  return ok;
}

static int record_number(const rd_kafka_message_t* m) {
  char buf[32];
  size_t n = m->len < sizeof(buf) - 1 ? m->len : sizeof(buf) - 1;
  memcpy(buf, m->payload, n);
  buf[n] = 0;
  return atoi(buf);
}

/* ---- distinct ---- */

/* Each worker accepts what it gets (explicit mode, committed after each
 * poll) in polls of at most 10 records, so the three share the partition. */

struct worker {
  const char* bootstrap;
  const char* topic;
  const char* group;
  int records;
  int index;
  int got;
  int* owner; /* record -> worker index + 1 */
  int* seen;  /* deliveries per record */
  pthread_mutex_t* mu;
  volatile int* done;
};

static void* distinct_worker(void* arg) {
  struct worker* w = arg;
  rd_kafka_share_t* rk = mosaic_share_consumer(w->bootstrap, w->group, w->topic, 1, "10");
  long long deadline = now_ms() + 60000;
  while (!*w->done && now_ms() < deadline) {
    rd_kafka_messages_t* batch = mosaic_share_poll(rk, 200);
    if (!batch) continue;
    for (size_t i = 0; i < rd_kafka_messages_count(batch); i++) {
      rd_kafka_message_t* m = rd_kafka_messages_get(batch, i);
      if (m->err) continue;
      rd_kafka_share_acknowledge_type(rk, m, RD_KAFKA_SHARE_ACKNOWLEDGE_TYPE_ACCEPT);
    }
    /* Counted once the broker has the acceptances: a record is done only
     * then (a consumer that stops before would see it offered again). */
    const int committed = commit(rk);
    for (size_t i = 0; committed && i < rd_kafka_messages_count(batch); i++) {
      rd_kafka_message_t* m = rd_kafka_messages_get(batch, i);
      if (m->err) continue;
      int n = record_number(m);
      pthread_mutex_lock(w->mu);
      if (n >= 0 && n < w->records) {
        w->seen[n]++;
        if (!w->owner[n]) w->owner[n] = w->index + 1;
      }
      w->got++;
      int all = 1;
      for (int k = 0; k < w->records && all; k++) all = w->seen[k] > 0;
      if (all) *w->done = 1;
      pthread_mutex_unlock(w->mu);
    }
    rd_kafka_messages_destroy(batch);
    /* Slow enough that the others get their share of the partition. */
    usleep(20000);
  }
  rd_kafka_share_consumer_close(rk);
  rd_kafka_share_destroy(rk);
  return NULL;
}

static int run_distinct(const char* bootstrap, const char* topic, const char* group, int records, int consumers) {
  int* owner = calloc((size_t)records, sizeof(int));
  int* seen = calloc((size_t)records, sizeof(int));
  pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
  volatile int done = 0;
  struct worker w[16];
  pthread_t t[16];
  if (consumers > 16) consumers = 16;
  for (int i = 0; i < consumers; i++) {
    w[i] = (struct worker){bootstrap, topic, group, records, i, 0, owner, seen, &mu, &done};
    pthread_create(&t[i], NULL, distinct_worker, &w[i]);
  }
  for (int i = 0; i < consumers; i++) pthread_join(t[i], NULL);
  int missing = 0, twice = 0, idle = 0;
  for (int k = 0; k < records; k++) {
    if (seen[k] == 0) missing++;
    if (seen[k] > 1) twice++;
  }
  for (int i = 0; i < consumers; i++) {
    printf("CONSUMER %d got %d\n", i, w[i].got);
    if (w[i].got == 0) idle++;
  }
  printf("MISSING %d TWICE %d IDLE %d\n", missing, twice, idle);
  free(owner);
  free(seen);
  return missing == 0 && twice == 0 && idle == 0 ? 0 : 1;
}

/* ---- work (across a broker restart) ---- */

struct shared_work {
  const char* bootstrap;
  const char* topic;
  const char* group;
  int records;
  int reject_every;
  const char* ready_file;
  pthread_mutex_t mu;
  int* accepted; /* confirmed ACCEPTs per record */
  int* rejected; /* confirmed REJECTs per record */
  int done_count;
  int ready;
  int after_accept; /* deliveries of a record whose ACCEPT was confirmed */
  long long last_record_ms;
  const char* killed_file; /* NULL: no comparison of delivery counts */
  int killed;              /* the file was seen */
  long long next_killed_check_ms;
  int16_t* count_before; /* highest delivery count seen before the kill, per record */
  int16_t* count_after;  /* and after it */
};

static void* work_worker(void* arg) {
  struct shared_work* w = arg;
  rd_kafka_share_t* rk = mosaic_share_consumer(w->bootstrap, w->group, w->topic, 1, "50");
  int* batch_n = calloc(64, sizeof(int));
  int8_t* batch_t = calloc(64, 1);
  for (;;) {
    pthread_mutex_lock(&w->mu);
    const int quiet = now_ms() - w->last_record_ms > 8000;
    pthread_mutex_unlock(&w->mu);
    if (quiet) break;
    rd_kafka_messages_t* batch = mosaic_share_poll(rk, 200);
    if (!batch) continue;
    size_t n = 0;
    for (size_t i = 0; i < rd_kafka_messages_count(batch) && n < 64; i++) {
      rd_kafka_message_t* m = rd_kafka_messages_get(batch, i);
      if (m->err) continue;
      int r = record_number(m);
      if (r < 0 || r >= w->records) continue;
      int reject = w->reject_every > 0 && r % w->reject_every == w->reject_every - 1;
      rd_kafka_share_acknowledge_type(
          rk, m, reject ? RD_KAFKA_SHARE_ACKNOWLEDGE_TYPE_REJECT : RD_KAFKA_SHARE_ACKNOWLEDGE_TYPE_ACCEPT);
      batch_n[n] = r;
      batch_t[n] = (int8_t)reject;
      n++;
    }
    pthread_mutex_lock(&w->mu);
    if (n > 0) w->last_record_ms = now_ms();
    for (size_t i = 0; i < n; i++)
      if (w->accepted[batch_n[i]]) w->after_accept++;
    if (w->killed_file && !w->killed && now_ms() >= w->next_killed_check_ms) {
      w->killed = access(w->killed_file, F_OK) == 0;
      w->next_killed_check_ms = now_ms() + 50;
    }
    if (w->killed_file)
      for (size_t i = 0; i < rd_kafka_messages_count(batch); i++) {
        rd_kafka_message_t* m = rd_kafka_messages_get(batch, i);
        const int r = m->err ? -1 : record_number(m);
        if (r < 0 || r >= w->records) continue;
        const int16_t c = rd_kafka_message_delivery_count(m);
        int16_t* seen = w->killed ? &w->count_after[r] : &w->count_before[r];
        if (c > *seen) *seen = c;
      }
    pthread_mutex_unlock(&w->mu);
    rd_kafka_messages_destroy(batch);
    if (n == 0) continue;
    const int ok = commit(rk);
    pthread_mutex_lock(&w->mu);
    for (size_t i = 0; ok && i < n; i++) {
      if (batch_t[i])
        w->rejected[batch_n[i]]++;
      else
        w->accepted[batch_n[i]]++;
      w->done_count++;
    }
    if (!w->ready && w->done_count >= w->records / 3) {
      w->ready = 1;
      FILE* f = fopen(w->ready_file, "w");
      if (f) fclose(f);
    }
    pthread_mutex_unlock(&w->mu);
  }
  rd_kafka_share_consumer_close(rk);
  rd_kafka_share_destroy(rk);
  free(batch_n);
  free(batch_t);
  return NULL;
}

static int run_ackloop(const char* bootstrap, const char* topic, const char* group, const char* stop_file,
                       const char* out_file) {
  FILE* out = fopen(out_file, "a");
  if (!out) return fprintf(stderr, "cannot write %s\n", out_file), 1;
  rd_kafka_share_t* rk = mosaic_share_consumer(bootstrap, group, topic, 1, "100");
  while (access(stop_file, F_OK) != 0) {
    rd_kafka_messages_t* batch = mosaic_share_poll(rk, 200);
    if (!batch) continue;
    size_t n = 0;
    for (size_t i = 0; i < rd_kafka_messages_count(batch); i++) {
      rd_kafka_message_t* m = rd_kafka_messages_get(batch, i);
      if (m->err) continue;
      rd_kafka_share_acknowledge_type(rk, m, RD_KAFKA_SHARE_ACKNOWLEDGE_TYPE_ACCEPT);
      n++;
    }
    rd_kafka_messages_destroy(batch);
    if (n == 0) continue;
    const long long sent = mosaic_wall_ms();
    if (commit(rk)) {
      fprintf(out, "commit %lld %lld ok\n", sent, mosaic_wall_ms());
      fflush(out);
    }
  }
  rd_kafka_share_consumer_close(rk);
  rd_kafka_share_destroy(rk);
  fclose(out);
  return 0;
}

static int run_work(const char* bootstrap, const char* topic, const char* group, int records, int reject_every,
                    const char* ready_file, const char* killed_file) {
  struct shared_work w = {bootstrap,
                          topic,
                          group,
                          records,
                          reject_every,
                          ready_file,
                          PTHREAD_MUTEX_INITIALIZER,
                          calloc((size_t)records, sizeof(int)),
                          calloc((size_t)records, sizeof(int)),
                          0,
                          0,
                          0,
                          now_ms() + 20000,
                          killed_file,
                          0,
                          0,
                          calloc((size_t)records, sizeof(int16_t)),
                          calloc((size_t)records, sizeof(int16_t))};
  pthread_t t[3];
  for (int i = 0; i < 3; i++) pthread_create(&t[i], NULL, work_worker, &w);
  for (int i = 0; i < 3; i++) pthread_join(t[i], NULL);
  int accepted = 0, rejected = 0, twice = 0;
  for (int r = 0; r < records; r++) {
    if (w.accepted[r]) accepted++;
    if (w.rejected[r]) rejected++;
    if (w.accepted[r] > 1 || w.rejected[r] > 1 || (w.accepted[r] && w.rejected[r])) twice++;
  }
  printf("CONFIRMED ACCEPTED %d REJECTED %d TWICE %d AFTER_ACCEPT %d\n", accepted, rejected, twice, w.after_accept);
  if (killed_file) {
    int jumps = 0, held = 0;
    for (int r = 0; r < records; r++) {
      const int before = w.count_before[r], after = w.count_after[r];
      if (after == 0) continue;
      if (after > (before > 0 ? before : 1) + 1) {
        if (jumps < 20) printf("JUMP %d from %d to %d\n", r, before, after);
        jumps++;
      }
      if (before > 0 && after == before + 1) held++;
    }
    printf("COUNT_JUMPS %d AGAIN_AFTER_KILL %d\n", jumps, held);
  }
  free(w.count_before);
  free(w.count_after);
  /* The unconfirmed rest: acknowledgements in flight when the broker died. */
  for (int r = 0; r < records; r++)
    if (!w.accepted[r] && !w.rejected[r]) printf("UNCONFIRMED %d\n", r);
  free(w.accepted);
  free(w.rejected);
  return 0;
}

/* ---- hold / redeliver ---- */

static int run_hold(const char* bootstrap, const char* topic, const char* group, int records) {
  rd_kafka_share_t* rk = mosaic_share_consumer(bootstrap, group, topic, 1, "50");
  long long deadline = now_ms() + 30000;
  while (now_ms() < deadline) {
    rd_kafka_messages_t* batch = NULL;
    rd_kafka_error_t* e = rd_kafka_share_poll(rk, 200, &batch);
    if (e) {
      rd_kafka_error_destroy(e);
      continue;
    }
    if (!batch || rd_kafka_messages_count(batch) == 0) {
      if (batch) rd_kafka_messages_destroy(batch);
      continue;
    }
    int first = records, last = -1;
    for (size_t i = 0; i < rd_kafka_messages_count(batch); i++) {
      rd_kafka_message_t* m = rd_kafka_messages_get(batch, i);
      if (m->err) continue;
      int n = record_number(m);
      if (n < first) first = n;
      if (n > last) last = n;
    }
    printf("HELD %d %d\n", first, last);
    fprintf(stderr, "HELD %d %d\n", first, last);
    fflush(stdout);
    for (;;) pause(); /* killed with SIGKILL, holding the locks */
  }
  fprintf(stderr, "hold: no records within 30 s\n");
  return 1;
}

static int run_redeliver(const char* bootstrap, const char* topic, const char* group, int records, int min_wait_ms) {
  long long start = now_ms();
  rd_kafka_share_t* rk = mosaic_share_consumer(bootstrap, group, topic, 1, NULL);
  int* seen = calloc((size_t)records, sizeof(int));
  int* count = calloc((size_t)records, sizeof(int));
  long long* at = calloc((size_t)records, sizeof(long long));
  int have = 0;
  long long deadline = now_ms() + 60000;
  while (have < records && now_ms() < deadline) {
    rd_kafka_messages_t* batch = mosaic_share_poll(rk, 200);
    if (!batch) continue;
    for (size_t i = 0; i < rd_kafka_messages_count(batch); i++) {
      rd_kafka_message_t* m = rd_kafka_messages_get(batch, i);
      if (m->err) continue;
      int n = record_number(m);
      if (n >= 0 && n < records) {
        if (!seen[n]++) have++;
        count[n] = rd_kafka_message_delivery_count(m);
        at[n] = now_ms() - start;
      }
      rd_kafka_share_acknowledge_type(rk, m, RD_KAFKA_SHARE_ACKNOWLEDGE_TYPE_ACCEPT);
    }
    rd_kafka_messages_destroy(batch);
  }
  commit(rk);
  int redelivered = 0, early = 0, twice = 0;
  for (int n = 0; n < records; n++) {
    if (count[n] >= 2) {
      redelivered++;
      if (at[n] < min_wait_ms) early++;
    }
    if (seen[n] > 1) twice++;
  }
  printf("GOT %d REDELIVERED %d EARLY %d TWICE %d\n", have, redelivered, early, twice);
  rd_kafka_share_consumer_close(rk);
  rd_kafka_share_destroy(rk);
  free(seen);
  free(count);
  free(at);
  return have == records && redelivered > 0 && early == 0 && twice == 0 ? 0 : 1;
}

/* ---- reject / release ---- */

static int run_ack(const char* bootstrap, const char* topic, const char* group, int records, int release_all) {
  rd_kafka_share_t* rk = mosaic_share_consumer(bootstrap, group, topic, 1, NULL);
  int* deliveries = calloc((size_t)records, sizeof(int));
  int* max_count = calloc((size_t)records, sizeof(int));
  long long quiet_since = now_ms(), deadline = now_ms() + 60000;
  int accepted = 0, rejected = 0;
  while (now_ms() < deadline) {
    rd_kafka_messages_t* batch = NULL;
    rd_kafka_error_t* e = rd_kafka_share_poll(rk, 200, &batch);
    if (e) {
      rd_kafka_error_destroy(e);
      continue;
    }
    size_t got = batch ? rd_kafka_messages_count(batch) : 0;
    if (got == 0) {
      if (batch) rd_kafka_messages_destroy(batch);
      /* Done when nothing more comes for 3 s (after something came). */
      if (now_ms() - quiet_since > 3000 && (accepted + rejected > 0 || release_all)) break;
      continue;
    }
    quiet_since = now_ms();
    for (size_t i = 0; i < got; i++) {
      rd_kafka_message_t* m = rd_kafka_messages_get(batch, i);
      if (m->err) continue;
      int n = record_number(m);
      if (n < 0 || n >= records) continue;
      deliveries[n]++;
      int c = rd_kafka_message_delivery_count(m);
      if (c > max_count[n]) max_count[n] = c;
      rd_kafka_share_AcknowledgeType_t type;
      if (release_all)
        type = RD_KAFKA_SHARE_ACKNOWLEDGE_TYPE_RELEASE;
      else if (n % 2 == 0)
        type = RD_KAFKA_SHARE_ACKNOWLEDGE_TYPE_ACCEPT, accepted++;
      else
        type = RD_KAFKA_SHARE_ACKNOWLEDGE_TYPE_REJECT, rejected++;
      rd_kafka_share_acknowledge_type(rk, m, type);
    }
    rd_kafka_messages_destroy(batch);
    commit(rk);
  }
  int most = 0;
  long total = 0;
  for (int n = 0; n < records; n++) {
    if (deliveries[n] > most) most = deliveries[n];
    total += deliveries[n];
  }
  printf("ACCEPTED %d REJECTED %d DELIVERIES %ld MOST %d\n", accepted, rejected, total, most);
  rd_kafka_share_consumer_close(rk);
  rd_kafka_share_destroy(rk);
  free(deliveries);
  free(max_count);
  return 0;
}

/* ---- closes ---- */

static int run_closes(const char* bootstrap, const char* topic, const char* group, int records, int rounds) {
  int* deliveries = calloc((size_t)records, sizeof(int));
  int delivered = 0, again = 0;
  for (int r = 0; r < rounds; r++) {
    rd_kafka_share_t* rk = mosaic_share_consumer(bootstrap, group, topic, 1, "5");
    long long deadline = now_ms() + 15000;
    int took = 0;
    while (!took && now_ms() < deadline) {
      rd_kafka_messages_t* batch = NULL;
      rd_kafka_error_t* e = rd_kafka_share_poll(rk, 200, &batch);
      if (e) {
        rd_kafka_error_destroy(e);
        continue;
      }
      for (size_t i = 0; batch && i < rd_kafka_messages_count(batch); i++) {
        rd_kafka_message_t* m = rd_kafka_messages_get(batch, i);
        if (m->err) continue;
        int n = record_number(m);
        if (n < 0 || n >= records) continue;
        if (deliveries[n]++) again++;
        delivered++;
        took++;
        rd_kafka_share_acknowledge_type(rk, m, RD_KAFKA_SHARE_ACKNOWLEDGE_TYPE_ACCEPT);
      }
      if (batch) rd_kafka_messages_destroy(batch);
    }
    /* No commit: the acceptances ride on the close. */
    rd_kafka_share_consumer_close(rk);
    rd_kafka_share_destroy(rk);
    if (!took) break;
  }
  printf("DELIVERED %d AGAIN %d\n", delivered, again);
  free(deliveries);
  return 0;
}

/* ---- accepted ---- */

/* One consumer (explicit mode, at most 10 records a poll) accepts what it
 * gets and commits after each poll, until <stop_file> exists; the records
 * of each commit answered ok are lines "accepted <n>" in <out_file>. */
static int run_accepted(const char* bootstrap, const char* topic, const char* group, const char* stop_file,
                        const char* out_file) {
  FILE* out = fopen(out_file, "a");
  if (!out) return fprintf(stderr, "cannot write %s\n", out_file), 1;
  rd_kafka_share_t* rk = mosaic_share_consumer(bootstrap, group, topic, 1, "10");
  int numbers[64];
  while (access(stop_file, F_OK) != 0) {
    rd_kafka_messages_t* batch = mosaic_share_poll(rk, 200);
    if (!batch) continue;
    size_t n = 0;
    for (size_t i = 0; i < rd_kafka_messages_count(batch) && n < 64; i++) {
      rd_kafka_message_t* m = rd_kafka_messages_get(batch, i);
      if (m->err) continue;
      rd_kafka_share_acknowledge_type(rk, m, RD_KAFKA_SHARE_ACKNOWLEDGE_TYPE_ACCEPT);
      numbers[n++] = record_number(m);
    }
    rd_kafka_messages_destroy(batch);
    if (n == 0) continue;
    if (commit(rk)) {
      for (size_t i = 0; i < n; i++) fprintf(out, "accepted %d\n", numbers[i]);
      fflush(out);
    }
  }
  rd_kafka_share_consumer_close(rk);
  rd_kafka_share_destroy(rk);
  fclose(out);
  return 0;
}

int main(int argc, char** argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: see the comment at the top of rdkafka_share_check.c\n");
    return 2;
  }
  const char* bootstrap = argv[1];
  const char* mode = argv[2];
  if (!strcmp(mode, "config") && argc == 6) return set_group_config(bootstrap, argv[3], argv[4], argv[5]) ? 0 : 1;
  if (!strcmp(mode, "produce") && (argc == 5 || argc == 6)) {
    const int partitions = argc == 6 ? atoi(argv[5]) : 1;
    return mosaic_create_topic(bootstrap, argv[3], partitions) &&
                   mosaic_produce_numbered(bootstrap, argv[3], partitions, atoi(argv[4]))
               ? 0
               : 1;
  }
  if (argc < 6) return 2;
  const char* topic = argv[3];
  const char* group = argv[4];
  int records = atoi(argv[5]);
  if (!strcmp(mode, "distinct") && argc == 7) return run_distinct(bootstrap, topic, group, records, atoi(argv[6]));
  if (!strcmp(mode, "work") && (argc == 8 || argc == 9))
    return run_work(bootstrap, topic, group, records, atoi(argv[6]), argv[7], argc == 9 ? argv[8] : NULL);
  if (!strcmp(mode, "hold")) return run_hold(bootstrap, topic, group, records);
  if (!strcmp(mode, "ackloop") && argc == 7) return run_ackloop(bootstrap, topic, group, argv[5], argv[6]);
  if (!strcmp(mode, "accepted") && argc == 7) return run_accepted(bootstrap, topic, group, argv[5], argv[6]);
  if (!strcmp(mode, "redeliver") && argc == 7) return run_redeliver(bootstrap, topic, group, records, atoi(argv[6]));
  if (!strcmp(mode, "reject")) return run_ack(bootstrap, topic, group, records, 0);
  if (!strcmp(mode, "closes") && argc == 7) return run_closes(bootstrap, topic, group, records, atoi(argv[6]));
  if (!strcmp(mode, "release")) return run_ack(bootstrap, topic, group, records, 1);
  fprintf(stderr, "unknown mode %s\n", mode);
  return 2;
}

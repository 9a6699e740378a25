// mosaic-queue-bench: Mosaic's share groups (KIP-932) beside RabbitMQ, as a
// work queue: 1 KiB persistent messages, W workers on one queue (RabbitMQ)
// or one single-partition topic (Mosaic), each message acknowledged on its
// own. Both sides through their C clients: librdkafka 2.15.1's share
// consumer, and librabbitmq (rabbitmq-c) for AMQP 0-9-1.
//
//   mosaic-queue-bench [--bootstrap HOST:PORT] [--amqp HOST:PORT] [--systems mosaic,rabbitmq]
//                      [--workers 1,2,4] [--records N] [--record-size BYTES] [--prefetch N]
//                      [--latency-records N] [--latency-rate N] [--json] [--quiet]
//
// For each system and worker count, two runs on a fresh queue or topic:
//   drain    N messages are written first (RabbitMQ with publisher confirms,
//            Mosaic with acks=all), then W workers take and acknowledge them
//            all: messages/s from the workers' start to the last
//            acknowledgement.
//   latency  W workers wait while a producer sends --latency-records messages
//            at --latency-rate a second, each stamped with its send time: the
//            end-to-end latency (send to receipt by a worker), p50/p99/p99.9.
#include <amqp.h>
#include <amqp_tcp_socket.h>
#include <librdkafka/rdkafka.h>
#include <unistd.h>
#include <csignal>

#include <atomic>
#include <chrono>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "tools/perf/report.h"

namespace {

using mosaic::perf::json_object;
using mosaic::perf::percentiles;
using mosaic::perf::summarize;

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

struct failure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct options {
  std::string bootstrap = "127.0.0.1:9092";
  std::string amqp = "127.0.0.1:5672";
  std::vector<std::string> systems{"mosaic", "rabbitmq"};
  std::vector<int> workers{1, 2, 4};
  int64_t records = 100000;
  int record_size = 1024;
  int prefetch = 100;
  int64_t latency_records = 5000;
  int64_t latency_rate = 1000;
  bool json = false;
  bool quiet = false;
};

struct run_result {
  std::string system;
  int workers = 0;
  int64_t drained = 0;
  double seconds = 0;
  percentiles latency;
  int64_t latency_received = 0;
  double per_sec() const { return seconds > 0 ? static_cast<double>(drained) / seconds : 0; }
};

// A message: the send time (ns, this machine's steady clock) then filler.
std::string payload(int size, int64_t sent_ns) {
  std::string p(static_cast<size_t>(std::max(size, 8)), 'x');
  std::memcpy(p.data(), &sent_ns, 8);
  return p;
}

int64_t stamp_of(const void* data, size_t len) {
  int64_t v = 0;
  if (len >= 8) std::memcpy(&v, data, 8);
  return v;
}

// What the workers of one run share.
struct tally {
  std::atomic<int64_t> acked{0};
  std::atomic<bool> stop{false};
  std::mutex mu;
  std::vector<int64_t> latencies;  // ns, latency runs only
  void add_latency(int64_t ns) {
    std::lock_guard g(mu);
    latencies.push_back(ns);
  }
};

void progress(const options& o, const std::string& what, const tally& t, int64_t target) {
  if (!o.quiet)
    std::fprintf(stderr, "%s: %lld/%lld\n", what.c_str(), static_cast<long long>(t.acked.load()),
                 static_cast<long long>(target));
}

// ---- Mosaic, through librdkafka ----

void rk_set(rd_kafka_conf_t* c, const char* k, const std::string& v) {
  char err[512];
  if (rd_kafka_conf_set(c, k, v.c_str(), err, sizeof(err)) != RD_KAFKA_CONF_OK)
    throw failure(std::string(k) + ": " + err);
}

rd_kafka_t* rk_client(rd_kafka_type_t type, rd_kafka_conf_t* conf) {
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(type, conf, err, sizeof(err));
  if (!rk) throw failure(std::string("librdkafka: ") + err);
  return rk;
}

// Creates the topic and sets the group's start to the earliest offset.
void mosaic_prepare(const options& o, const std::string& topic, const std::string& group) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rk_set(conf, "bootstrap.servers", o.bootstrap);
  rd_kafka_t* rk = rk_client(RD_KAFKA_PRODUCER, conf);
  rd_kafka_queue_t* q = rd_kafka_queue_new(rk);
  char err[512];
  rd_kafka_NewTopic_t* nt = rd_kafka_NewTopic_new(topic.c_str(), 1, 1, err, sizeof(err));
  rd_kafka_CreateTopics(rk, &nt, 1, nullptr, q);
  rd_kafka_event_t* ev = rd_kafka_queue_poll(q, 15000);
  if (ev) rd_kafka_event_destroy(ev);
  rd_kafka_NewTopic_destroy(nt);
  rd_kafka_ConfigResource_t* res = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_GROUP, group.c_str());
  if (rd_kafka_error_t* e = rd_kafka_ConfigResource_add_incremental_config(
          res, "share.auto.offset.reset", RD_KAFKA_ALTER_CONFIG_OP_TYPE_SET, "earliest"))
    rd_kafka_error_destroy(e);
  rd_kafka_IncrementalAlterConfigs(rk, &res, 1, nullptr, q);
  ev = rd_kafka_queue_poll(q, 15000);
  const bool ok = ev && rd_kafka_event_error(ev) == RD_KAFKA_RESP_ERR_NO_ERROR;
  if (ev) rd_kafka_event_destroy(ev);
  rd_kafka_ConfigResource_destroy(res);
  rd_kafka_queue_destroy(q);
  rd_kafka_destroy(rk);
  if (!ok) throw failure("cannot set share.auto.offset.reset on group " + group + " at " + o.bootstrap);
}

rd_kafka_t* mosaic_producer(const options& o, int linger_ms) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rk_set(conf, "bootstrap.servers", o.bootstrap);
  rk_set(conf, "acks", "all");
  rk_set(conf, "linger.ms", std::to_string(linger_ms));
  rk_set(conf, "batch.size", "65536");
  return rk_client(RD_KAFKA_PRODUCER, conf);
}

void mosaic_send(rd_kafka_t* rk, rd_kafka_topic_t* topic, const std::string& value) {
  while (rd_kafka_produce(topic, 0, RD_KAFKA_MSG_F_COPY, const_cast<char*>(value.data()), value.size(), nullptr, 0,
                          nullptr) != 0) {
    const rd_kafka_resp_err_t e = rd_kafka_last_error();
    if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL) throw failure(std::string("produce: ") + rd_kafka_err2str(e));
    rd_kafka_poll(rk, 5);
  }
  rd_kafka_poll(rk, 0);
}

void mosaic_worker(const options& o, const std::string& topic, const std::string& group, tally& t, bool latency) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rk_set(conf, "bootstrap.servers", o.bootstrap);
  rk_set(conf, "group.id", group);
  rk_set(conf, "share.acknowledgement.mode", "explicit");
  rk_set(conf, "max.poll.records", std::to_string(o.prefetch));
  char err[512];
  rd_kafka_share_t* rk = rd_kafka_share_consumer_new(conf, err, sizeof(err));
  if (!rk) throw failure(std::string("share consumer: ") + err);
  rd_kafka_topic_partition_list_t* topics = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(topics, topic.c_str(), RD_KAFKA_PARTITION_UA);
  rd_kafka_share_subscribe(rk, topics);
  rd_kafka_topic_partition_list_destroy(topics);
  while (!t.stop) {
    rd_kafka_messages_t* batch = nullptr;
    if (rd_kafka_error_t* e = rd_kafka_share_poll(rk, 100, &batch)) {
      rd_kafka_error_destroy(e);
      continue;
    }
    if (!batch) continue;
    const int64_t received = now_ns();
    for (size_t i = 0; i < rd_kafka_messages_count(batch); ++i) {
      rd_kafka_message_t* m = rd_kafka_messages_get(batch, i);
      if (m->err) continue;
      if (latency) t.add_latency(received - stamp_of(m->payload, m->len));
      rd_kafka_share_acknowledge_type(rk, m, RD_KAFKA_SHARE_ACKNOWLEDGE_TYPE_ACCEPT);
      t.acked.fetch_add(1);
    }
    rd_kafka_messages_destroy(batch);
  }
  rd_kafka_topic_partition_list_t* results = nullptr;
  if (rd_kafka_error_t* e = rd_kafka_share_commit_sync(rk, 10000, &results)) rd_kafka_error_destroy(e);
  if (results) rd_kafka_topic_partition_list_destroy(results);
  if (rd_kafka_error_t* e = rd_kafka_share_consumer_close(rk)) rd_kafka_error_destroy(e);
  rd_kafka_share_destroy(rk);
}

// ---- RabbitMQ, through librabbitmq ----

class amqp_link {
 public:
  explicit amqp_link(const std::string& address) {
    const auto colon = address.rfind(':');
    if (colon == std::string::npos) throw failure("--amqp expects HOST:PORT, got '" + address + "'");
    conn_ = amqp_new_connection();
    amqp_socket_t* sock = amqp_tcp_socket_new(conn_);
    if (!sock || amqp_socket_open(sock, address.substr(0, colon).c_str(), std::stoi(address.substr(colon + 1))) != 0)
      throw failure("cannot connect to RabbitMQ at " + address);
    check(amqp_login(conn_, "/", 0, 131072, 0, AMQP_SASL_METHOD_PLAIN, "guest", "guest"), "login");
    amqp_channel_open(conn_, 1);
    check(amqp_get_rpc_reply(conn_), "channel.open");
  }
  ~amqp_link() {
    amqp_channel_close(conn_, 1, AMQP_REPLY_SUCCESS);
    amqp_connection_close(conn_, AMQP_REPLY_SUCCESS);
    amqp_destroy_connection(conn_);
  }
  amqp_link(const amqp_link&) = delete;
  amqp_link& operator=(const amqp_link&) = delete;
  amqp_connection_state_t get() const { return conn_; }

  static void check(const amqp_rpc_reply_t& r, const char* what) {
    if (r.reply_type != AMQP_RESPONSE_NORMAL) throw failure(std::string("RabbitMQ ") + what + " failed");
  }
  void declare(const std::string& queue) {
    amqp_queue_declare(conn_, 1, amqp_cstring_bytes(queue.c_str()), 0, /*durable*/ 1, 0, 0, amqp_empty_table);
    check(amqp_get_rpc_reply(conn_), "queue.declare");
  }
  void remove(const std::string& queue) {
    amqp_queue_delete(conn_, 1, amqp_cstring_bytes(queue.c_str()), 0, 0);
    (void)amqp_get_rpc_reply(conn_);
  }
  void publish(const std::string& queue, const std::string& body) {
    amqp_basic_properties_t props{};
    props._flags = AMQP_BASIC_DELIVERY_MODE_FLAG;
    props.delivery_mode = 2;  // persistent
    amqp_bytes_t b{body.size(), const_cast<char*>(body.data())};
    if (amqp_basic_publish(conn_, 1, amqp_empty_bytes, amqp_cstring_bytes(queue.c_str()), 0, 0, &props, b) !=
        AMQP_STATUS_OK)
      throw failure("RabbitMQ basic.publish failed");
  }
  // Reads publisher confirms until `upto` messages are confirmed.
  void await_confirms(uint64_t& confirmed, uint64_t upto, bool block) {
    while (confirmed < upto) {
      amqp_frame_t frame;
      timeval zero{0, 0};
      const int r =
          block ? amqp_simple_wait_frame(conn_, &frame) : amqp_simple_wait_frame_noblock(conn_, &frame, &zero);
      if (r == AMQP_STATUS_TIMEOUT) return;
      if (r != AMQP_STATUS_OK) throw failure("RabbitMQ: waiting for confirms failed");
      if (frame.frame_type == AMQP_FRAME_METHOD && frame.payload.method.id == AMQP_BASIC_ACK_METHOD) {
        auto* ack = static_cast<amqp_basic_ack_t*>(frame.payload.method.decoded);
        confirmed = std::max<uint64_t>(confirmed, ack->delivery_tag);
      }
    }
  }

 private:
  amqp_connection_state_t conn_;
};

void rabbit_worker(const options& o, const std::string& queue, tally& t, bool latency) {
  amqp_link link(o.amqp);
  auto c = link.get();
  amqp_basic_qos(c, 1, 0, static_cast<uint16_t>(o.prefetch), 0);
  amqp_link::check(amqp_get_rpc_reply(c), "basic.qos");
  amqp_basic_consume(c, 1, amqp_cstring_bytes(queue.c_str()), amqp_empty_bytes, 0, /*no_ack*/ 0, 0, amqp_empty_table);
  amqp_link::check(amqp_get_rpc_reply(c), "basic.consume");
  while (!t.stop) {
    amqp_maybe_release_buffers(c);
    amqp_envelope_t env;
    timeval wait{0, 100000};
    const amqp_rpc_reply_t r = amqp_consume_message(c, &env, &wait, 0);
    if (r.reply_type != AMQP_RESPONSE_NORMAL) {
      if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION && r.library_error == AMQP_STATUS_TIMEOUT) continue;
      throw failure("RabbitMQ: consuming failed");
    }
    if (latency) t.add_latency(now_ns() - stamp_of(env.message.body.bytes, env.message.body.len));
    amqp_basic_ack(c, 1, env.delivery_tag, 0);  // this message only
    amqp_destroy_envelope(&env);
    t.acked.fetch_add(1);
  }
}

// ---- the runs ----

std::string fresh_name(const std::string& system, const char* what, int workers) {
  static int n = 0;
  return "qb-" + system + "-" + what + "-" + std::to_string(workers) + "-" + std::to_string(::getpid()) + "-" +
         std::to_string(++n);
}

void run_workers(const options& o, const std::string& system, const std::string& name, int workers, tally& t,
                 bool latency, std::vector<std::thread>& threads) {
  for (int i = 0; i < workers; ++i)
    threads.emplace_back([&, name, system] {
      try {
        if (system == "mosaic")
          mosaic_worker(o, name, name, t, latency);
        else
          rabbit_worker(o, name, t, latency);
      } catch (const std::exception& e) {
        std::fprintf(stderr, "worker: %s\n", e.what());
        t.stop = true;
      }
    });
}

void wait_for(const options& o, const std::string& what, tally& t, int64_t target, int64_t limit_s) {
  const int64_t start = now_ns();
  int64_t last_report = start;
  while (t.acked.load() < target && !t.stop) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    if (now_ns() - last_report > 1'000'000'000) {
      progress(o, what, t, target);
      last_report = now_ns();
    }
    if (now_ns() - start > limit_s * 1'000'000'000) throw failure(what + ": timed out");
  }
}

run_result run(const options& o, const std::string& system, int workers) {
  run_result res;
  res.system = system;
  res.workers = workers;
  const std::string body = payload(o.record_size, 0);
  // Drain: the queue filled first.
  {
    const std::string name = fresh_name(system, "drain", workers);
    if (system == "mosaic") {
      mosaic_prepare(o, name, name);
      rd_kafka_t* p = mosaic_producer(o, 5);
      rd_kafka_topic_t* rkt = rd_kafka_topic_new(p, name.c_str(), nullptr);
      for (int64_t i = 0; i < o.records; ++i) mosaic_send(p, rkt, body);
      if (rd_kafka_flush(p, 120000) != RD_KAFKA_RESP_ERR_NO_ERROR) throw failure("producing the backlog timed out");
      rd_kafka_topic_destroy(rkt);
      rd_kafka_destroy(p);
    } else {
      amqp_link link(o.amqp);
      link.declare(name);
      amqp_confirm_select(link.get(), 1);
      amqp_link::check(amqp_get_rpc_reply(link.get()), "confirm.select");
      uint64_t confirmed = 0;
      for (int64_t i = 0; i < o.records; ++i) {
        link.publish(name, body);
        if (i % 256 == 255) link.await_confirms(confirmed, static_cast<uint64_t>(i + 1), false);
      }
      link.await_confirms(confirmed, static_cast<uint64_t>(o.records), true);
    }
    tally t;
    std::vector<std::thread> threads;
    const int64_t start = now_ns();
    run_workers(o, system, name, workers, t, false, threads);
    wait_for(o, system + " drain x" + std::to_string(workers), t, o.records, 600);
    res.seconds = static_cast<double>(now_ns() - start) / 1e9;
    res.drained = t.acked.load();
    t.stop = true;
    for (auto& th : threads) th.join();
    if (system == "rabbitmq") amqp_link(o.amqp).remove(name);
  }
  // Latency: workers waiting, messages sent at a steady rate.
  {
    const std::string name = fresh_name(system, "latency", workers);
    std::unique_ptr<amqp_link> link;
    rd_kafka_t* p = nullptr;
    rd_kafka_topic_t* rkt = nullptr;
    if (system == "mosaic") {
      mosaic_prepare(o, name, name);
      p = mosaic_producer(o, 0);
      rkt = rd_kafka_topic_new(p, name.c_str(), nullptr);
    } else {
      link = std::make_unique<amqp_link>(o.amqp);
      link->declare(name);
    }
    tally t;
    std::vector<std::thread> threads;
    run_workers(o, system, name, workers, t, true, threads);
    std::this_thread::sleep_for(std::chrono::seconds(2));  // members joined, consumers attached
    const int64_t start = now_ns(), gap = 1'000'000'000 / o.latency_rate;
    for (int64_t i = 0; i < o.latency_records; ++i) {
      while (now_ns() < start + i * gap) std::this_thread::sleep_for(std::chrono::microseconds(50));
      const std::string m = payload(o.record_size, now_ns());
      if (p)
        mosaic_send(p, rkt, m);
      else
        link->publish(name, m);
    }
    wait_for(o, system + " latency x" + std::to_string(workers), t, o.latency_records, 120);
    t.stop = true;
    for (auto& th : threads) th.join();
    if (rkt) rd_kafka_topic_destroy(rkt);
    if (p) rd_kafka_destroy(p);
    if (link) link->remove(name);
    res.latency_received = static_cast<int64_t>(t.latencies.size());
    res.latency = summarize(t.latencies);
  }
  return res;
}

std::vector<std::string> split(const std::string& list) {
  std::vector<std::string> out;
  for (size_t at = 0; at <= list.size();) {
    const size_t comma = std::min(list.find(',', at), list.size());
    out.push_back(list.substr(at, comma - at));
    at = comma + 1;
  }
  return out;
}

const char* usage = R"(usage: mosaic-queue-bench [options]

Mosaic share groups beside RabbitMQ as a work queue: per system and worker
count, the messages/s of W workers draining a filled queue with one
acknowledgement per message, and the end-to-end latency at a steady rate.

  --bootstrap HOST:PORT     Mosaic (default $MOSAIC_BOOTSTRAP or 127.0.0.1:9092)
  --amqp HOST:PORT          RabbitMQ (127.0.0.1:5672; user guest)
  --systems LIST            mosaic,rabbitmq
  --workers LIST            1,2,4
  --records N               messages per drain run (100000)
  --record-size BYTES       (1024)
  --prefetch N              messages a worker may hold: max.poll.records / basic.qos (100)
  --latency-records N       (5000)
  --latency-rate N          messages/s of the latency runs (1000)
  --json                    one JSON object on stdout
  --quiet                   no progress lines
)";

options parse(int argc, char** argv) {
  options o;
  if (const char* b = std::getenv("MOSAIC_BOOTSTRAP")) o.bootstrap = b;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw failure(a + " needs a value");
      return argv[++i];
    };
    auto number = [&](int64_t lo) {
      const std::string v = value();
      char* end = nullptr;
      const long long n = std::strtoll(v.c_str(), &end, 10);
      if (v.empty() || *end != '\0' || n < lo) throw failure(a + " expects a number of at least " + std::to_string(lo));
      return static_cast<int64_t>(n);
    };
    if (a == "--bootstrap")
      o.bootstrap = value();
    else if (a == "--amqp")
      o.amqp = value();
    else if (a == "--systems") {
      o.systems = split(value());
      for (const auto& s : o.systems)
        if (s != "mosaic" && s != "rabbitmq") throw failure("--systems expects mosaic and/or rabbitmq");
    } else if (a == "--workers") {
      o.workers.clear();
      for (const auto& w : split(value())) o.workers.push_back(std::max(1, std::atoi(w.c_str())));
    } else if (a == "--records")
      o.records = number(1);
    else if (a == "--record-size")
      o.record_size = static_cast<int>(number(8));
    else if (a == "--prefetch")
      o.prefetch = static_cast<int>(number(1));
    else if (a == "--latency-records")
      o.latency_records = number(1);
    else if (a == "--latency-rate")
      o.latency_rate = number(1);
    else if (a == "--json")
      o.json = true;
    else if (a == "--quiet")
      o.quiet = true;
    else if (a == "--help" || a == "-h") {
      std::fputs(usage, stdout);
      std::exit(0);
    } else
      throw failure("unknown option '" + a + "' (see --help)");
  }
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);  // a broker that hangs up is an error to report, not a signal that kills
  options o;
  try {
    o = parse(argc, argv);
  } catch (const failure& e) {
    std::fprintf(stderr, "mosaic-queue-bench: %s\n", e.what());
    return 2;
  }
  try {
    std::vector<run_result> results;
    for (int w : o.workers)
      for (const auto& s : o.systems) results.push_back(run(o, s, w));
    std::map<int, std::map<std::string, double>> rate;
    for (const auto& r : results) rate[r.workers][r.system] = r.per_sec();
    if (o.json) {
      std::vector<json_object> runs;
      for (const auto& r : results) {
        json_object j;
        j.set("system", r.system)
            .set("workers", r.workers)
            .set("records", r.drained)
            .set("seconds", r.seconds)
            .set("records_per_sec", r.per_sec())
            .set("mb_per_sec", r.per_sec() * o.record_size / 1e6)
            .set("latency_records", r.latency_received)
            .set("latency_ms", r.latency);
        runs.push_back(j);
      }
      json_object out;
      out.set("record_size", o.record_size)
          .set("prefetch", o.prefetch)
          .set("latency_rate", o.latency_rate)
          .set("runs", runs);
      std::vector<json_object> ratios;
      for (auto& [w, by] : rate)
        if (by.count("mosaic") && by.count("rabbitmq") && by["rabbitmq"] > 0) {
          json_object j;
          j.set("workers", w).set("mosaic_over_rabbitmq", by["mosaic"] / by["rabbitmq"]);
          ratios.push_back(j);
        }
      out.set("ratios", ratios);
      std::printf("%s\n", out.str().c_str());
    } else {
      std::printf("%-9s %7s %10s %12s %9s %9s %9s %9s\n", "SYSTEM", "WORKERS", "MESSAGES", "MESSAGES/S", "MB/S",
                  "E2E-P50", "E2E-P99", "E2E-P99.9");
      for (const auto& r : results)
        std::printf("%-9s %7d %10lld %12.0f %9.1f %8.2fms %8.2fms %8.2fms\n", r.system.c_str(), r.workers,
                    static_cast<long long>(r.drained), r.per_sec(), r.per_sec() * o.record_size / 1e6, r.latency.p50,
                    r.latency.p99, r.latency.p999);
      for (auto& [w, by] : rate)
        if (by.count("mosaic") && by.count("rabbitmq") && by["rabbitmq"] > 0)
          std::printf("workers %d: mosaic/rabbitmq throughput %.2fx\n", w, by["mosaic"] / by["rabbitmq"]);
    }
    return 0;
  } catch (const failure& e) {
    std::fprintf(stderr, "mosaic-queue-bench: %s\n", e.what());
    return 1;
  }
}

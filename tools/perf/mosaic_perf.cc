// mosaic-perf: producer and consumer throughput and latency against any
// Kafka-protocol bootstrap, or against librdkafka's in-memory mock cluster
// (the reference for "the broker does nothing"), on librdkafka's C API; and
// the disk's own fdatasync latency, to put the broker's figures beside.
//
//   mosaic-perf produce  [target] [producer options]
//   mosaic-perf consume  [target] --topic T [--records N]
//   mosaic-perf fsync    --dir D [--count N] [--size BYTES]
//   mosaic-perf floor    --dir D [--records N --record-size BYTES]
//   mosaic-perf suite    --bootstrap HOST:PORT --dir D [options]
//   mosaic-perf sweep    --bootstrap HOST:PORT [--batch-sizes ...] [--partition-counts ...]
//   mosaic-perf rebalance --bootstrap HOST:PORT [--members 10,100] [--protocols consumer,classic]
//   mosaic-perf producers --bootstrap HOST:PORT [--producer-counts 1,10,100] [--keyed both] [--broker-pid P]
//
// Each command prints a progress line a second to stderr and its result to
// stdout: a table for people, or one JSON object with --json. MB is 10^6
// bytes; latencies are in milliseconds, from the produce call to the
// delivery report.
#include <arpa/inet.h>
#include <fcntl.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <malloc.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>
#include <csignal>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "tools/perf/report.h"

namespace {

using mosaic::perf::json_object;
using mosaic::perf::percentiles;
using mosaic::perf::summarize;

using steady = std::chrono::steady_clock;

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(steady::now().time_since_epoch()).count();
}

double seconds_since(int64_t start_ns) { return static_cast<double>(now_ns() - start_ns) / 1e9; }

struct failure : std::runtime_error {
  using std::runtime_error::runtime_error;
};
// A bad command line (exit 2), as against a failed run (exit 1).
struct usage_error : failure {
  using failure::failure;
};

[[noreturn]] void fail(const std::string& what) { throw failure(what); }
[[noreturn]] void bad_usage(const std::string& what) { throw usage_error(what); }

// ---- Options ----

struct options {
  std::string bootstrap;
  bool mock = false;
  std::string topic = "perf";
  int64_t records = 1 << 20;  // 1 GiB of 1 KiB records
  int record_size = 1024;
  std::string acks = "1";
  std::string compression = "none";
  int batch_size = 65536;
  int linger_ms = 5;
  int64_t throughput = -1;  // records/s; -1: as fast as it goes
  int partitions = 1;
  int replication_factor = -1;                                     // -1: the broker's default.replication.factor
  std::vector<std::pair<std::string, std::string>> topic_configs;  // --topic-config k=v
  std::vector<std::pair<std::string, std::string>> client_props;   // -X k=v
  bool json = false;
  bool quiet = false;
  std::string dir;       // fsync, suite
  int64_t count = 2000;  // fsync
  int size = 1024;       // fsync
  int64_t latency_records = 20'000;
  int64_t latency_rate = 1000;
  std::vector<int> members{10, 100};                            // rebalance
  std::vector<int> batch_sizes{16384, 65536, 262144, 1000000};  // sweep
  std::vector<int> partition_counts{1, 4};                      // sweep
  std::vector<std::string> protocols{"consumer", "classic"};    // rebalance
  int rounds = 3;                                               // rebalance
  int heartbeat_ms = 3000;                                      // rebalance: classic heartbeat.interval.ms
  bool partitions_given = false;
  std::vector<int> producer_counts{1, 10, 100};  // producers
  std::vector<bool> keyed{false, true};          // producers
  int broker_pid = 0;                            // produce, consume, producers
};

const char* usage = R"(usage: mosaic-perf COMMAND [options]

Commands:
  produce   produce --records records of --record-size bytes; report records/s,
            MB/s and delivery latency (avg, p50, p99, p99.9, max)
  consume   read --topic from the start until --records records or the end of
            every partition; report records/s, MB/s
  fsync     append --size bytes then fdatasync, --count times, in a file in --dir;
            report the latency of each (the disk's own figure)
  rebalance for each protocol and each --members N: N consumers of one group
            on a topic of 2N partitions (or --partitions), settled; then one more
            member joins, --rounds times; report the time from its subscribe until
            every member runs its new assignment (each partition owned by exactly
            one member, the newcomer with some). Start the broker with
            group.consumer.heartbeat.interval.ms equal to --heartbeat-ms, so that
            both protocols heartbeat at the same pace
  producers N producers at once (one client each, in threads of this process)
            on a topic of --partitions (100 unless given), for each
            --producer-counts value, keyed and not (--keyed): the mock, then
            --bootstrap, each on a topic of its own deleted after; --records in
            all, shared between them. Reports each side's MB/s and delivery
            latency p50/p99, and the CPU seconds per GiB of this process and,
            with --broker-pid, of the broker
  sweep     produce throughput over the shapes clients send: for each --batch-sizes
            and --partition-counts value, the mock then --bootstrap, each on a
            topic of its own that is deleted after (so every run reuses memory the
            page cache already had); report each side's MB/s, latency and the ratio
  floor     the CPU the kernel spends, per GiB, on what any broker must do with
            --records x --record-size bytes: receive them from a loopback socket,
            write them into a preallocated file in --dir, send them from it with
            sendfile (each the CPU of the one thread doing it)
  suite     the comparison BENCHMARKS.md reports, in one run: against librdkafka's
            mock cluster and against --bootstrap, produce with acks=1 and acks=all,
            compression none and lz4, and consume what the first wrote; then fsync
            in --dir, and produce latency at --latency-rate with acks=all, the
            broker fsyncing before each acknowledgement (flush.messages=1)

Target (produce, consume):
  --bootstrap HOST:PORT   a Kafka-protocol broker (default $MOSAIC_BOOTSTRAP or 127.0.0.1:9092)
  --mock                  librdkafka's in-memory mock cluster, in this process

Options:
  --topic NAME            (perf); created when missing, with --partitions and --topic-config
  --records N             (1048576: 1 GiB of 1 KiB records)
  --record-size BYTES     (1024)
  --acks 0|1|all          (1)
  --compression none|gzip|snappy|lz4|zstd   (none)
  --batch-size BYTES      (65536)
  --linger-ms MS          (5)
  --throughput N          records/s at most (-1: no limit)
  --partitions N          (1)
  --replication-factor N  of the created topic (the broker's default)
  --topic-config K=V      a config of the created topic (repeatable)
  -X K=V                  a librdkafka property (repeatable)
  --dir PATH              fsync, suite: where the file goes (the broker's log dir)
  --count N, --size BYTES fsync: how many appends, of what size (2000, 1024)
  --latency-records N     suite: records of the latency runs (20000)
  --latency-rate N        suite: their rate, records/s (1000)
  --batch-sizes B,B...    sweep: producer batch.size values (16384,65536,262144,1000000)
  --partition-counts N,N... sweep: partitions of the topics (1,4)
  --members N,N...        rebalance: group sizes (10,100)
  --protocols P,P...      rebalance: consumer (KIP-848) and/or classic (consumer,classic)
  --rounds N              rebalance: joins measured per size (3)
  --heartbeat-ms MS       rebalance: the classic members' heartbeat.interval.ms (3000)
  --producer-counts N,N.. producers: how many producers at once (1,10,100)
  --keyed no|yes|both     producers: records with keys (10,000 distinct), without, or both (both)
  --broker-pid PID        produce, consume, producers: the broker's process, whose CPU time is reported
  --json                  one JSON object on stdout instead of a table
  --quiet                 no progress lines
  --help
)";

std::pair<std::string, std::string> key_value(const std::string& s, const char* flag) {
  auto eq = s.find('=');
  if (eq == std::string::npos || eq == 0) bad_usage(std::string(flag) + " expects KEY=VALUE, got '" + s + "'");
  return {s.substr(0, eq), s.substr(eq + 1)};
}

int64_t number(const std::string& s, const char* flag, int64_t lo) {
  char* end = nullptr;
  errno = 0;
  const long long v = std::strtoll(s.c_str(), &end, 10);
  if (s.empty() || *end != '\0' || errno != 0 || v < lo)
    bad_usage(std::string(flag) + " expects a number of at least " + std::to_string(lo) + ", got '" + s + "'");
  return v;
}

// "1,4,16": each at least 1.
std::vector<int> numbers(const std::string& list, const char* flag) {
  std::vector<int> out;
  for (size_t at = 0; at <= list.size();) {
    const size_t comma = std::min(list.find(',', at), list.size());
    out.push_back(static_cast<int>(number(list.substr(at, comma - at), flag, 1)));
    at = comma + 1;
  }
  return out;
}

options parse(int argc, char** argv, int first) {
  options o;
  if (const char* b = std::getenv("MOSAIC_BOOTSTRAP")) o.bootstrap = b;
  for (int i = first; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) bad_usage(a + " needs a value");
      return argv[++i];
    };
    if (a == "--bootstrap")
      o.bootstrap = value();
    else if (a == "--mock")
      o.mock = true;
    else if (a == "--topic")
      o.topic = value();
    else if (a == "--records")
      o.records = number(value(), "--records", 1);
    else if (a == "--record-size")
      o.record_size = static_cast<int>(number(value(), "--record-size", 1));
    else if (a == "--acks") {
      o.acks = value();
      if (o.acks != "0" && o.acks != "1" && o.acks != "all" && o.acks != "-1")
        bad_usage("--acks expects 0, 1 or all, got '" + o.acks + "'");
    } else if (a == "--compression")
      o.compression = value();
    else if (a == "--batch-size")
      o.batch_size = static_cast<int>(number(value(), "--batch-size", 1));
    else if (a == "--linger-ms")
      o.linger_ms = static_cast<int>(number(value(), "--linger-ms", 0));
    else if (a == "--throughput")
      o.throughput = number(value(), "--throughput", -1);
    else if (a == "--partitions") {
      o.partitions = static_cast<int>(number(value(), "--partitions", 1));
      o.partitions_given = true;
    } else if (a == "--producer-counts")
      o.producer_counts = numbers(value(), "--producer-counts");
    else if (a == "--keyed") {
      const std::string k = value();
      if (k == "no")
        o.keyed = {false};
      else if (k == "yes")
        o.keyed = {true};
      else if (k == "both")
        o.keyed = {false, true};
      else
        bad_usage("--keyed expects no, yes or both, got '" + k + "'");
    } else if (a == "--broker-pid")
      o.broker_pid = static_cast<int>(number(value(), "--broker-pid", 1));
    else if (a == "--replication-factor")
      o.replication_factor = static_cast<int>(number(value(), "--replication-factor", 1));
    else if (a == "--topic-config")
      o.topic_configs.push_back(key_value(value(), "--topic-config"));
    else if (a == "-X")
      o.client_props.push_back(key_value(value(), "-X"));
    else if (a == "--dir")
      o.dir = value();
    else if (a == "--count")
      o.count = number(value(), "--count", 1);
    else if (a == "--size")
      o.size = static_cast<int>(number(value(), "--size", 1));
    else if (a == "--latency-records")
      o.latency_records = number(value(), "--latency-records", 1);
    else if (a == "--latency-rate")
      o.latency_rate = number(value(), "--latency-rate", 1);
    else if (a == "--members")
      o.members = numbers(value(), "--members");
    else if (a == "--batch-sizes")
      o.batch_sizes = numbers(value(), "--batch-sizes");
    else if (a == "--partition-counts")
      o.partition_counts = numbers(value(), "--partition-counts");
    else if (a == "--protocols") {
      o.protocols.clear();
      std::string list = value();
      for (size_t at = 0; at <= list.size();) {
        const size_t comma = std::min(list.find(',', at), list.size());
        o.protocols.push_back(list.substr(at, comma - at));
        if (o.protocols.back() != "consumer" && o.protocols.back() != "classic")
          bad_usage("--protocols expects consumer and/or classic, got '" + o.protocols.back() + "'");
        at = comma + 1;
      }
    } else if (a == "--rounds")
      o.rounds = static_cast<int>(number(value(), "--rounds", 1));
    else if (a == "--heartbeat-ms")
      o.heartbeat_ms = static_cast<int>(number(value(), "--heartbeat-ms", 1));
    else if (a == "--json")
      o.json = true;
    else if (a == "--quiet")
      o.quiet = true;
    else
      bad_usage("unknown option '" + a + "' (see --help)");
  }
  if (o.bootstrap.empty()) o.bootstrap = "127.0.0.1:9092";
  return o;
}

// ---- Results ----

struct produce_result {
  std::string target;
  options opts;
  int64_t delivered = 0;
  int64_t failed = 0;
  double seconds = 0;
  percentiles latency;
  double records_per_sec() const { return seconds > 0 ? static_cast<double>(delivered) / seconds : 0; }
  double mb_per_sec() const { return records_per_sec() * opts.record_size / 1e6; }
  json_object json() const {
    json_object o;
    o.set("kind", "produce")
        .set("target", target)
        .set("topic", opts.topic)
        .set("records", delivered)
        .set("failed", failed)
        .set("record_size", opts.record_size)
        .set("acks", opts.acks)
        .set("compression", opts.compression)
        .set("batch_size", opts.batch_size)
        .set("linger_ms", opts.linger_ms)
        .set("throughput_limit", opts.throughput)
        .set("seconds", seconds)
        .set("records_per_sec", records_per_sec())
        .set("mb_per_sec", mb_per_sec())
        .set("latency_ms", latency);
    return o;
  }
};

struct consume_result {
  std::string target;
  std::string topic;
  int64_t records = 0;
  int64_t bytes = 0;
  double seconds = 0;
  int64_t errors = 0;
  std::string first_error;
  double records_per_sec() const { return seconds > 0 ? static_cast<double>(records) / seconds : 0; }
  double mb_per_sec() const { return seconds > 0 ? static_cast<double>(bytes) / seconds / 1e6 : 0; }
  json_object json() const {
    json_object o;
    o.set("kind", "consume")
        .set("target", target)
        .set("topic", topic)
        .set("records", records)
        .set("bytes", bytes)
        .set("seconds", seconds)
        .set("records_per_sec", records_per_sec())
        .set("mb_per_sec", mb_per_sec());
    return o;
  }
};

struct fsync_result {
  std::string dir;
  int64_t count = 0;
  int size = 0;
  percentiles latency;
  json_object json() const {
    json_object o;
    o.set("kind", "fsync").set("dir", dir).set("count", count).set("write_size", size).set("latency_ms", latency);
    return o;
  }
};

// ---- librdkafka plumbing ----

struct rk_deleter {
  void operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }
};
using rk_ptr = std::unique_ptr<rd_kafka_t, rk_deleter>;

void set(rd_kafka_conf_t* conf, const std::string& k, const std::string& v) {
  char err[512];
  if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof(err)) != RD_KAFKA_CONF_OK)
    fail("librdkafka property " + k + "=" + v + ": " + err);
}

rk_ptr make_client(rd_kafka_type_t type, rd_kafka_conf_t* conf) {
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(type, conf, err, sizeof(err));
  if (!rk) fail(std::string("librdkafka: ") + err);
  return rk_ptr(rk);
}

// Where the clients connect: a bootstrap, or a mock cluster owned here.
class target {
 public:
  explicit target(const options& o) : bootstrap_(o.bootstrap) {
    if (!o.mock) return;
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    set(conf, "log_level", "3");
    mock_owner_ = make_client(RD_KAFKA_PRODUCER, conf);
    mock_ = rd_kafka_mock_cluster_new(mock_owner_.get(), 1);
    if (!mock_) fail("cannot create librdkafka's mock cluster");
    bootstrap_ = rd_kafka_mock_cluster_bootstraps(mock_);
  }
  ~target() {
    if (mock_) rd_kafka_mock_cluster_destroy(mock_);
  }
  target(const target&) = delete;
  target& operator=(const target&) = delete;

  const std::string& bootstrap() const noexcept { return bootstrap_; }
  std::string name() const { return mock_ ? "mock" : "broker"; }

  // Creates the topic unless it exists.
  void create_topic(const options& o) {
    if (mock_) {
      if (rd_kafka_mock_topic_create(mock_, o.topic.c_str(), o.partitions, 1))
        fail("mock: cannot create topic " + o.topic);
      return;
    }
    char err[512];
    rk_ptr admin = make_client(RD_KAFKA_PRODUCER, client_conf(o));
    rd_kafka_NewTopic_t* nt =
        rd_kafka_NewTopic_new(o.topic.c_str(), o.partitions, o.replication_factor, err, sizeof(err));
    if (!nt) fail(std::string("topic: ") + err);
    for (const auto& [k, v] : o.topic_configs) rd_kafka_NewTopic_set_config(nt, k.c_str(), v.c_str());
    rd_kafka_queue_t* q = rd_kafka_queue_new(admin.get());
    rd_kafka_CreateTopics(admin.get(), &nt, 1, nullptr, q);
    rd_kafka_event_t* ev = rd_kafka_queue_poll(q, 30000);
    std::string problem;
    if (!ev) {
      problem = "no answer in 30 s";
    } else if (rd_kafka_event_error(ev)) {
      problem = rd_kafka_event_error_string(ev);
    } else {
      size_t n = 0;
      const rd_kafka_topic_result_t** res =
          rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
      if (n == 1 && rd_kafka_topic_result_error(res[0]) != RD_KAFKA_RESP_ERR_NO_ERROR &&
          rd_kafka_topic_result_error(res[0]) != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
        problem = rd_kafka_topic_result_error_string(res[0]);
    }
    if (ev) rd_kafka_event_destroy(ev);
    rd_kafka_NewTopic_destroy(nt);
    rd_kafka_queue_destroy(q);
    if (!problem.empty()) fail("cannot create topic " + o.topic + ": " + problem);
  }

  void delete_topic(const options& o) {
    if (mock_) return;  // the mock goes with the target
    rk_ptr admin = make_client(RD_KAFKA_PRODUCER, client_conf(o));
    rd_kafka_DeleteTopic_t* dt = rd_kafka_DeleteTopic_new(o.topic.c_str());
    rd_kafka_queue_t* q = rd_kafka_queue_new(admin.get());
    rd_kafka_DeleteTopics(admin.get(), &dt, 1, nullptr, q);
    if (rd_kafka_event_t* ev = rd_kafka_queue_poll(q, 30000)) rd_kafka_event_destroy(ev);
    rd_kafka_DeleteTopic_destroy(dt);
    rd_kafka_queue_destroy(q);
  }

  // A client's config: `defaults` (this tool's choices for the kind of
  // client), then the user's -X properties over them.
  rd_kafka_conf_t* client_conf(const options& o,
                               const std::vector<std::pair<std::string, std::string>>& defaults = {}) const {
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    set(conf, "bootstrap.servers", bootstrap_);
    set(conf, "log_level", "4");
    for (const auto& [k, v] : defaults) set(conf, k, v);
    for (const auto& [k, v] : o.client_props) set(conf, k, v);
    return conf;
  }

 private:
  std::string bootstrap_;
  rk_ptr mock_owner_;
  rd_kafka_mock_cluster_t* mock_ = nullptr;
};

// A progress line on stderr at most once a second.
class progress {
 public:
  progress(bool quiet, std::string what) : quiet_(quiet), what_(std::move(what)), last_(now_ns()) {}
  void tick(int64_t records, int64_t bytes, const std::string& extra = {}) {
    const int64_t t = now_ns();
    if (quiet_ || t - last_ < 1'000'000'000) return;
    const double dt = static_cast<double>(t - last_) / 1e9;
    std::fprintf(stderr, "%s: %lld records, %.0f records/s, %.1f MB/s%s\n", what_.c_str(),
                 static_cast<long long>(records), static_cast<double>(records - records_) / dt,
                 static_cast<double>(bytes - bytes_) / dt / 1e6, extra.c_str());
    last_ = t;
    records_ = records;
    bytes_ = bytes;
  }

 private:
  bool quiet_;
  std::string what_;
  int64_t last_;
  int64_t records_ = 0, bytes_ = 0;
};

// ---- produce ----

struct produce_state {
  std::vector<int64_t> sent_ns;     // by record
  std::vector<int64_t> latency_ns;  // by delivery
  std::atomic<int64_t> delivered{0};
  std::atomic<int64_t> failed{0};
  int64_t last_delivery_ns = 0;
  std::string first_error;
};

void on_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
  auto* st = static_cast<produce_state*>(opaque);
  const int64_t t = now_ns();
  if (m->err) {
    if (st->failed++ == 0) st->first_error = rd_kafka_err2str(m->err);
    return;
  }
  st->latency_ns.push_back(t - *static_cast<const int64_t*>(m->_private));  // its send time
  st->last_delivery_ns = t;
  ++st->delivered;
}

// Payloads as kafka-producer-perf-test makes them: random upper-case
// letters (compressible, as text is), a few thousand distinct ones.
std::vector<std::string> payloads(int size) {
  std::mt19937 rng(42);
  std::uniform_int_distribution<int> letter('A', 'Z');
  std::vector<std::string> v(4096, std::string(static_cast<size_t>(size), 'A'));
  for (auto& p : v)
    for (auto& c : p) c = static_cast<char>(letter(rng));
  return v;
}

produce_result produce(target& t, const options& o) {
  t.create_topic(o);
  produce_state st;
  st.sent_ns.assign(static_cast<size_t>(o.records), 0);
  st.latency_ns.reserve(static_cast<size_t>(o.records));
  rd_kafka_conf_t* conf = t.client_conf(o, {{"acks", o.acks},
                                            {"compression.type", o.compression},
                                            {"batch.size", std::to_string(o.batch_size)},
                                            {"linger.ms", std::to_string(o.linger_ms)},
                                            {"queue.buffering.max.messages", "1000000"}});
  rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
  rd_kafka_conf_set_opaque(conf, &st);
  rk_ptr rk = make_client(RD_KAFKA_PRODUCER, conf);
  rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk.get(), o.topic.c_str(), nullptr);
  const auto pool = payloads(o.record_size);
  progress prog(o.quiet, "produce " + t.name());
  const int64_t start = now_ns();
  for (int64_t i = 0; i < o.records; ++i) {
    if (o.throughput > 0) {
      // Paced: record i goes at start + i / rate.
      const int64_t due = start + i * 1'000'000'000 / o.throughput;
      while (now_ns() < due) {
        rd_kafka_poll(rk.get(), 0);
        std::this_thread::sleep_for(std::chrono::microseconds(50));
      }
    }
    const auto& payload = pool[static_cast<size_t>(i) % pool.size()];
    st.sent_ns[static_cast<size_t>(i)] = now_ns();
    while (rd_kafka_produce(rkt, RD_KAFKA_PARTITION_UA, 0, const_cast<char*>(payload.data()), payload.size(), nullptr,
                            0, &st.sent_ns[static_cast<size_t>(i)]) != 0) {
      if (rd_kafka_last_error() != RD_KAFKA_RESP_ERR__QUEUE_FULL)
        fail(std::string("produce: ") + rd_kafka_err2str(rd_kafka_last_error()));
      rd_kafka_poll(rk.get(), 1);
      st.sent_ns[static_cast<size_t>(i)] = now_ns();  // the wait is the client's, not the broker's
    }
    rd_kafka_poll(rk.get(), 0);
    if ((i & 1023) == 0) prog.tick(st.delivered, st.delivered * o.record_size);
  }
  while (st.delivered + st.failed < o.records) {
    rd_kafka_poll(rk.get(), 100);
    prog.tick(st.delivered, st.delivered * o.record_size);
    if (seconds_since(start) > 600) break;
  }
  rd_kafka_topic_destroy(rkt);
  rk.reset();
  produce_result r;
  r.target = t.name();
  r.opts = o;
  r.delivered = st.delivered;
  r.failed = st.failed + (o.records - st.delivered - st.failed);
  r.seconds = static_cast<double>((st.last_delivery_ns ? st.last_delivery_ns : now_ns()) - start) / 1e9;
  r.latency = summarize(st.latency_ns);
  if (r.failed)
    std::fprintf(stderr, "produce: %lld records failed (%s)\n", static_cast<long long>(r.failed),
                 st.first_error.c_str());
  return r;
}

// ---- many producers ----

// The CPU time (user and system) process `pid` has used, in seconds.
double process_cpu_seconds(int pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  const size_t name_end = stat.rfind(')');
  if (name_end == std::string::npos) fail("cannot read /proc/" + std::to_string(pid) + "/stat");
  // After the name: state (field 3), ..., utime (14), stime (15).
  std::istringstream in(stat.substr(name_end + 1));
  std::string field;
  double ticks = 0;
  for (int i = 3; i <= 15 && in >> field; ++i)
    if (i >= 14) ticks += std::stod(field);
  return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// The CPU time (user and system) of this process (RUSAGE_SELF) or of the
// calling thread (RUSAGE_THREAD), in seconds.
double rusage_cpu_seconds(int who) {
  rusage ru{};
  getrusage(who, &ru);
  auto sec = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
  return sec(ru.ru_utime) + sec(ru.ru_stime);
}

double own_cpu_seconds() { return rusage_cpu_seconds(RUSAGE_SELF); }

// The CPU this process (the client, and the mock when it is the target)
// and --broker-pid use from its making on.
class cpu_meter {
 public:
  explicit cpu_meter(const options& o)
      : pid_(o.mock ? 0 : o.broker_pid), client0_(own_cpu_seconds()), broker0_(pid_ ? process_cpu_seconds(pid_) : 0) {}
  double client() const { return own_cpu_seconds() - client0_; }
  double broker() const { return pid_ ? process_cpu_seconds(pid_) - broker0_ : -1; }
  json_object add_to(json_object o, double gib) const {
    if (gib <= 0) return o;
    o.set("client_cpu_s_per_gib", client() / gib);
    if (pid_) o.set("broker_cpu_s_per_gib", broker() / gib);
    return o;
  }
  void print(double gib) const {
    if (gib <= 0) return;
    if (pid_)
      std::printf("CPU per GiB: client %.3f s, broker %.3f s\n", client() / gib, broker() / gib);
    else
      std::printf("CPU per GiB: this process (the mock's work included when it is the target) %.3f s\n",
                  client() / gib);
  }

 private:
  int pid_;
  double client0_;
  double broker0_;
};

struct producers_result {
  std::string target;
  int producers = 0;
  bool keyed = false;
  int partitions = 0;
  int record_size = 0;
  int64_t delivered = 0;
  int64_t failed = 0;
  double seconds = 0;
  percentiles latency;
  double client_cpu = 0;   // seconds, this process (the mock's work included when it is the target)
  double broker_cpu = -1;  // seconds, --broker-pid's; -1 unknown
  double gib() const { return static_cast<double>(delivered) * record_size / (1 << 30); }
  double mb_per_sec() const { return seconds > 0 ? static_cast<double>(delivered) * record_size / seconds / 1e6 : 0; }
  json_object json() const {
    json_object o;
    o.set("kind", "producers")
        .set("target", target)
        .set("producers", producers)
        .set("keyed", keyed ? "yes" : "no")
        .set("partitions", partitions)
        .set("records", delivered)
        .set("failed", failed)
        .set("seconds", seconds)
        .set("mb_per_sec", mb_per_sec())
        .set("latency_ms", latency)
        .set("client_cpu_s_per_gib", gib() > 0 ? client_cpu / gib() : 0.0);
    if (broker_cpu >= 0) o.set("broker_cpu_s_per_gib", gib() > 0 ? broker_cpu / gib() : 0.0);
    return o;
  }
};

// `n` producers, each a client of its own producing from a thread of its
// own (as n processes would, without their start-up), o.records in all;
// the clock starts once every client has the topic's metadata.
producers_result run_producers(target& t, const options& o, int n, bool keyed) {
  t.create_topic(o);
  const auto pool = payloads(o.record_size);
  std::vector<std::string> keys(10000);
  for (size_t i = 0; i < keys.size(); ++i) keys[i] = "key-" + std::to_string(i);
  struct producer {
    produce_state st;
    rk_ptr rk;
    rd_kafka_topic_t* rkt = nullptr;
    int64_t records = 0;
  };
  std::vector<std::unique_ptr<producer>> ps;
  for (int i = 0; i < n; ++i) {
    auto p = std::make_unique<producer>();
    p->records = o.records / n + (i < o.records % n ? 1 : 0);
    p->st.sent_ns.assign(static_cast<size_t>(p->records), 0);
    p->st.latency_ns.reserve(static_cast<size_t>(p->records));
    rd_kafka_conf_t* conf = t.client_conf(o, {{"acks", o.acks},
                                              {"compression.type", o.compression},
                                              {"batch.size", std::to_string(o.batch_size)},
                                              {"linger.ms", std::to_string(o.linger_ms)},
                                              {"queue.buffering.max.messages", "1000000"}});
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_conf_set_opaque(conf, &p->st);
    p->rk = make_client(RD_KAFKA_PRODUCER, conf);
    p->rkt = rd_kafka_topic_new(p->rk.get(), o.topic.c_str(), nullptr);
    const rd_kafka_metadata_t* md = nullptr;
    if (rd_kafka_metadata(p->rk.get(), 0, p->rkt, &md, 10000) != RD_KAFKA_RESP_ERR_NO_ERROR)
      fail("producers: no metadata for " + o.topic);
    rd_kafka_metadata_destroy(md);
    ps.push_back(std::move(p));
  }
  const cpu_meter cpu(o);
  const int64_t start = now_ns();
  std::vector<std::thread> threads;
  threads.reserve(ps.size());
  for (int i = 0; i < n; ++i)
    threads.emplace_back([&, i] {
      producer& p = *ps[static_cast<size_t>(i)];
      for (int64_t j = 0; j < p.records; ++j) {
        if (o.throughput > 0) {  // --throughput is the total: each producer has its share
          const int64_t due = start + j * n * 1'000'000'000 / o.throughput;
          while (now_ns() < due) {
            rd_kafka_poll(p.rk.get(), 0);
            std::this_thread::sleep_for(std::chrono::microseconds(200));
          }
        }
        const auto& payload = pool[static_cast<size_t>(j * n + i) % pool.size()];
        const std::string* key = keyed ? &keys[static_cast<size_t>(j * 7919 + i * 104729) % keys.size()] : nullptr;
        auto& sent = p.st.sent_ns[static_cast<size_t>(j)];
        sent = now_ns();
        while (rd_kafka_produce(p.rkt, RD_KAFKA_PARTITION_UA, 0, const_cast<char*>(payload.data()), payload.size(),
                                key ? key->data() : nullptr, key ? key->size() : 0, &sent) != 0) {
          if (rd_kafka_last_error() != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            ++p.st.failed;
            break;
          }
          rd_kafka_poll(p.rk.get(), 1);
          sent = now_ns();
        }
        rd_kafka_poll(p.rk.get(), 0);
      }
      while (p.st.delivered + p.st.failed < p.records && seconds_since(start) < 600) rd_kafka_poll(p.rk.get(), 50);
    });
  for (auto& th : threads) th.join();
  producers_result r;
  r.target = t.name();
  r.producers = n;
  r.keyed = keyed;
  r.partitions = o.partitions;
  r.record_size = o.record_size;
  r.client_cpu = cpu.client();
  r.broker_cpu = cpu.broker();
  int64_t last = start;
  std::vector<int64_t> latencies;
  for (auto& p : ps) {
    r.delivered += p->st.delivered;
    r.failed += p->records - p->st.delivered;
    last = std::max(last, p->st.last_delivery_ns);
    latencies.insert(latencies.end(), p->st.latency_ns.begin(), p->st.latency_ns.end());
    rd_kafka_topic_destroy(p->rkt);
  }
  r.seconds = static_cast<double>(last - start) / 1e9;
  r.latency = summarize(latencies);
  return r;
}

// Runs `run` against librdkafka's mock cluster, then against --bootstrap,
// each with `o` on a topic of its own deleted after (so every run reuses
// memory the page cache already had); the results by `mock`.
template <class Run>
auto mock_then_broker(options o, Run run) {
  std::map<bool, decltype(run(std::declval<target&>(), o))> got;
  for (const bool mock : {true, false}) {
    o.mock = mock;
    o.quiet = true;
    target t(o);
    got[mock] = run(t, o);
    t.delete_topic(o);
  }
  return got;
}

int producers_command(const options& base) {
  std::vector<json_object> runs;
  const auto stamp = std::to_string(::getpid());
  if (!base.json)
    std::printf("%9s %5s %10s %11s %6s %12s %13s %16s %17s\n", "producers", "keyed", "mock MB/s", "broker MB/s",
                "ratio", "mock p99 ms", "broker p99 ms", "broker CPU s/GiB", "client CPU s/GiB");
  for (const int n : base.producer_counts)
    for (const bool keyed : base.keyed) {
      options o = base;
      if (!o.partitions_given) o.partitions = 100;
      o.topic = "producers-" + stamp + "-" + std::to_string(n) + (keyed ? "-keyed" : "");
      auto got = mock_then_broker(o, [&](target& t, const options& on) { return run_producers(t, on, n, keyed); });
      runs.push_back(got[true].json());
      runs.push_back(got[false].json());
      const auto& m = got[true];
      const auto& b = got[false];
      const double ratio = m.mb_per_sec() > 0 ? b.mb_per_sec() / m.mb_per_sec() : 0.0;
      runs.back().set("broker_over_mock", ratio);
      if (!base.json) {
        char broker_cpu[32] = "-";
        if (b.broker_cpu >= 0 && b.gib() > 0)
          std::snprintf(broker_cpu, sizeof(broker_cpu), "%.2f", b.broker_cpu / b.gib());
        std::printf("%9d %5s %10.1f %11.1f %6.2f %12.1f %13.1f %16s %17.2f\n", n, keyed ? "yes" : "no", m.mb_per_sec(),
                    b.mb_per_sec(), ratio, m.latency.p99, b.latency.p99, broker_cpu,
                    b.gib() > 0 ? b.client_cpu / b.gib() : 0.0);
      }
      if (m.failed > 0 || b.failed > 0)
        fail("producers: deliveries failed with " + std::to_string(n) + " producers (mock " + std::to_string(m.failed) +
             ", broker " + std::to_string(b.failed) + ")");
    }
  if (base.json) std::printf("%s\n", json_object().set("runs", runs).str().c_str());
  return 0;
}

// ---- consume ----

consume_result consume(target& t, const options& o) {
  rd_kafka_conf_t* conf = t.client_conf(o, {{"fetch.wait.max.ms", "100"},
                                            {"queued.max.messages.kbytes", std::to_string(256 << 10)},
                                            {"enable.partition.eof", "true"}});
  rk_ptr rk = make_client(RD_KAFKA_CONSUMER, conf);
  const rd_kafka_metadata_t* md = nullptr;
  rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk.get(), o.topic.c_str(), nullptr);
  if (rd_kafka_metadata(rk.get(), 0, rkt, &md, 10000) != RD_KAFKA_RESP_ERR_NO_ERROR || md->topic_cnt != 1 ||
      md->topics[0].err) {
    if (md) rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(rkt);
    fail("consume: topic " + o.topic + " is not there");
  }
  const int parts = md->topics[0].partition_cnt;
  rd_kafka_metadata_destroy(md);
  rd_kafka_queue_t* q = rd_kafka_queue_new(rk.get());
  consume_result r;
  r.target = t.name();
  r.topic = o.topic;
  const int64_t start = now_ns();
  for (int p = 0; p < parts; ++p) rd_kafka_consume_start_queue(rkt, p, RD_KAFKA_OFFSET_BEGINNING, q);
  std::vector<rd_kafka_message_t*> batch(10000);
  progress prog(o.quiet, "consume " + t.name());
  int64_t last_ns = start, idle_since = now_ns();
  std::vector<bool> at_end(static_cast<size_t>(parts), false);
  int ended = 0;
  while (r.records < o.records && ended < parts) {
    const ssize_t n = rd_kafka_consume_batch_queue(q, 500, batch.data(), batch.size());
    if (n <= 0) {
      if (seconds_since(idle_since) > 15) break;  // nothing more is coming
      continue;
    }
    idle_since = now_ns();
    for (ssize_t i = 0; i < n; ++i) {
      rd_kafka_message_t* m = batch[static_cast<size_t>(i)];
      if (!m->err) {
        ++r.records;
        r.bytes += static_cast<int64_t>(m->len + m->key_len);
        last_ns = now_ns();
      } else if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        // The end of what is there now (consumption starts after producing).
        if (m->partition >= 0 && m->partition < parts && !at_end[static_cast<size_t>(m->partition)]) {
          at_end[static_cast<size_t>(m->partition)] = true;
          ++ended;
        }
      } else if (r.errors++ == 0) {
        r.first_error = rd_kafka_message_errstr(m);
      }
      rd_kafka_message_destroy(m);
    }
    prog.tick(r.records, r.bytes);
  }
  r.seconds = static_cast<double>(last_ns - start) / 1e9;
  if (r.errors)
    std::fprintf(stderr, "consume: %lld errors (%s)\n", static_cast<long long>(r.errors), r.first_error.c_str());
  for (int p = 0; p < parts; ++p) rd_kafka_consume_stop(rkt, p);
  rd_kafka_queue_destroy(q);
  rd_kafka_topic_destroy(rkt);
  return r;
}

// ---- fsync ----

fsync_result fsync_probe(const options& o) {
  if (o.dir.empty()) bad_usage("fsync: --dir is required");
  std::filesystem::create_directories(o.dir);
  const auto file = std::filesystem::path(o.dir) / ("mosaic-perf-fsync-" + std::to_string(::getpid()));
  const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) fail("fsync: cannot create " + file.string() + ": " + std::strerror(errno));
  const std::string block(static_cast<size_t>(o.size), 'x');
  std::vector<int64_t> ns;
  ns.reserve(static_cast<size_t>(o.count));
  progress prog(o.quiet, "fsync");
  std::string problem;
  for (int64_t i = 0; i < o.count && problem.empty(); ++i) {
    const int64_t t = now_ns();
    if (::write(fd, block.data(), block.size()) != static_cast<ssize_t>(block.size()) || ::fdatasync(fd) != 0)
      problem = std::strerror(errno);
    ns.push_back(now_ns() - t);
    prog.tick(i + 1, (i + 1) * o.size);
  }
  ::close(fd);
  std::filesystem::remove(file);
  if (!problem.empty()) fail("fsync: " + problem);
  fsync_result r;
  r.dir = o.dir;
  r.count = o.count;
  r.size = o.size;
  r.latency = summarize(ns);
  return r;
}

// ---- the kernel's floor ----

double thread_cpu_seconds() { return rusage_cpu_seconds(RUSAGE_THREAD); }

struct floor_result {
  int64_t bytes = 0;
  double receive = 0;   // CPU seconds of the receiving thread
  double write = 0;     // of the writing thread
  double sendfile = 0;  // of the sending thread
  double per_gib(double s) const { return bytes > 0 ? s / (static_cast<double>(bytes) / (1 << 30)) : 0; }
  json_object json() const {
    json_object o;
    o.set("kind", "floor")
        .set("bytes", bytes)
        .set("receive_cpu_s_per_gib", per_gib(receive))
        .set("write_cpu_s_per_gib", per_gib(write))
        .set("produce_floor_cpu_s_per_gib", per_gib(receive + write))
        .set("sendfile_cpu_s_per_gib", per_gib(sendfile));
    return o;
  }
};

// A connected pair of loopback TCP sockets: {the accepted end, the connecting end}.
std::pair<int, int> loopback_pair() {
  const int l = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(a);
  if (l < 0 || ::bind(l, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 || ::listen(l, 1) != 0 ||
      ::getsockname(l, reinterpret_cast<sockaddr*>(&a), &len) != 0)
    fail(std::string("floor: a loopback socket: ") + std::strerror(errno));
  const int c = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (c < 0 || ::connect(c, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0)
    fail(std::string("floor: connecting on loopback: ") + std::strerror(errno));
  const int s = ::accept4(l, nullptr, nullptr, SOCK_CLOEXEC);
  ::close(l);
  if (s < 0) fail(std::string("floor: accept: ") + std::strerror(errno));
  return {s, c};
}

// The CPU the kernel needs to persist and to serve --records x
// --record-size bytes at all, whatever the broker: receiving them from a
// loopback socket, writing them into the page cache of a preallocated file
// in --dir (1 MiB reads and writes, as mosaicd's), and sending them from that
// file with sendfile. Each is the CPU of the one thread doing it; the other
// end's is not counted.
floor_result floor_probe(const options& o) {
  if (o.dir.empty()) bad_usage("floor: --dir is required (the broker's log dir)");
  std::filesystem::create_directories(o.dir);
  floor_result r;
  r.bytes = o.records * o.record_size;
  const auto file = std::filesystem::path(o.dir) / ("mosaic-perf-floor-" + std::to_string(::getpid()));
  const int fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) fail("floor: cannot create " + file.string() + ": " + std::strerror(errno));
  if (::posix_fallocate(fd, 0, r.bytes) != 0) fail("floor: cannot preallocate " + file.string());
  std::vector<char> buf(1 << 20);
  const auto pool = payloads(1024);  // the records' bytes, as produce sends them
  for (size_t i = 0; i < buf.size(); ++i) buf[i] = pool[(i / 1024) % pool.size()][i % 1024];
  {  // receive: a thread sends, this thread reads
    auto [in, out] = loopback_pair();
    std::thread sender([out = out, bytes = r.bytes, &buf] {
      std::vector<char> mine(buf);
      for (int64_t done = 0; done < bytes;) {
        const ssize_t m = ::write(out, mine.data(), static_cast<size_t>(std::min<int64_t>(bytes - done, mine.size())));
        if (m <= 0) return;
        done += m;
      }
    });
    std::vector<char> rbuf(buf.size());
    const double t0 = thread_cpu_seconds();
    for (int64_t done = 0; done < r.bytes;) {
      const ssize_t n = ::read(in, rbuf.data(), rbuf.size());
      if (n <= 0) fail("floor: the receive ended early");
      done += n;
    }
    r.receive = thread_cpu_seconds() - t0;
    sender.join();
    ::close(in);
    ::close(out);
  }
  {  // write into the page cache
    const double t0 = thread_cpu_seconds();
    for (int64_t done = 0; done < r.bytes;) {
      const ssize_t m =
          ::pwrite(fd, buf.data(), static_cast<size_t>(std::min<int64_t>(r.bytes - done, buf.size())), done);
      if (m <= 0) fail(std::string("floor: write: ") + std::strerror(errno));
      done += m;
    }
    r.write = thread_cpu_seconds() - t0;
  }
  {  // sendfile from the page cache: a thread drains
    auto [in, out] = loopback_pair();
    std::thread drain([in = in, bytes = r.bytes] {
      std::vector<char> sink(1 << 20);
      for (int64_t done = 0; done < bytes;) {
        const ssize_t n = ::read(in, sink.data(), sink.size());
        if (n <= 0) return;
        done += n;
      }
    });
    const double t0 = thread_cpu_seconds();
    off_t at = 0;
    while (at < r.bytes) {
      const ssize_t m = ::sendfile(out, fd, &at, static_cast<size_t>(std::min<int64_t>(r.bytes - at, 1 << 20)));
      if (m <= 0) fail(std::string("floor: sendfile: ") + std::strerror(errno));
    }
    r.sendfile = thread_cpu_seconds() - t0;
    drain.join();
    ::close(in);
    ::close(out);
  }
  ::close(fd);
  std::filesystem::remove(file);
  return r;
}

// ---- printing ----

void print_produce(const produce_result& r) {
  std::printf(
      "produce %-6s acks=%-3s %-6s %lld x %d B: %10.0f records/s %8.1f MB/s  latency ms avg %.2f p50 %.2f p99 %.2f "
      "p99.9 %.2f max %.2f%s\n",
      r.target.c_str(), r.opts.acks.c_str(), r.opts.compression.c_str(), static_cast<long long>(r.delivered),
      r.opts.record_size, r.records_per_sec(), r.mb_per_sec(), r.latency.avg, r.latency.p50, r.latency.p99,
      r.latency.p999, r.latency.max, r.failed ? " (some failed)" : "");
}

void print_consume(const consume_result& r) {
  std::printf("consume %-6s %lld records, %lld bytes in %.2f s: %10.0f records/s %8.1f MB/s\n", r.target.c_str(),
              static_cast<long long>(r.records), static_cast<long long>(r.bytes), r.seconds, r.records_per_sec(),
              r.mb_per_sec());
}

void print_fsync(const fsync_result& r) {
  std::printf(
      "fsync   %s: %lld x (write %d B + fdatasync)  latency ms avg %.3f p50 %.3f p99 %.3f p99.9 %.3f max %.3f\n",
      r.dir.c_str(), static_cast<long long>(r.count), r.size, r.latency.avg, r.latency.p50, r.latency.p99,
      r.latency.p999, r.latency.max);
}

// ---- suite ----

// ---- rebalance ----

// One member of the measured group: its handle and what it owns now, kept
// by its rebalance callback.
struct member {
  rk_ptr rk;
  std::vector<int32_t> owned;
};

void on_rebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts, void* opaque) {
  auto* m = static_cast<member*>(opaque);
  const bool cooperative = std::strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    if (cooperative)
      rd_kafka_error_destroy(rd_kafka_incremental_assign(rk, parts));
    else
      rd_kafka_assign(rk, parts);
    for (int i = 0; i < parts->cnt; ++i) m->owned.push_back(parts->elems[i].partition);
    return;
  }
  if (cooperative) {
    rd_kafka_error_destroy(rd_kafka_incremental_unassign(rk, parts));
    for (int i = 0; i < parts->cnt; ++i) std::erase(m->owned, parts->elems[i].partition);
  } else {
    rd_kafka_assign(rk, nullptr);
    m->owned.clear();
  }
}

struct rebalance_result {
  std::string protocol;
  int members = 0;
  int partitions = 0;
  std::vector<double> ms;  // one per join
  double median() const {
    auto v = ms;
    std::sort(v.begin(), v.end());
    return v.empty() ? 0 : v[v.size() / 2];
  }
  json_object json() const {
    json_object o;
    std::string list;
    for (double x : ms) list += (list.empty() ? "" : ",") + std::to_string(static_cast<int64_t>(x));
    o.set("kind", "rebalance").set("protocol", protocol).set("members", members).set("partitions", partitions);
    o.set("join_to_settled_ms_median", median()).set("join_to_settled_ms_each", list);
    return o;
  }
};

// Every partition owned by exactly one member, and the last member with some.
bool settled(const std::vector<std::unique_ptr<member>>& ms, int partitions) {
  std::vector<int> owners(static_cast<size_t>(partitions), 0);
  for (const auto& m : ms)
    for (int32_t p : m->owned)
      if (p >= 0 && p < partitions) ++owners[static_cast<size_t>(p)];
  for (int n : owners)
    if (n != 1) return false;
  return !ms.back()->owned.empty();
}

rebalance_result rebalance(target& t, const options& base, const std::string& protocol, int members) {
  options o = base;
  o.partitions = base.partitions > 1 ? base.partitions : 2 * (members + base.rounds);
  o.topic = "perf-rebalance-" + std::to_string(::getpid()) + "-" + protocol + "-" + std::to_string(members);
  t.create_topic(o);
  const std::string group = o.topic + "-group";
  std::vector<std::unique_ptr<member>> ms;
  auto add = [&] {
    auto m = std::make_unique<member>();
    std::vector<std::pair<std::string, std::string>> defaults = {
        {"group.id", group}, {"group.protocol", protocol}, {"enable.auto.commit", "false"}, {"log_level", "3"}};
    if (protocol == "classic") {
      defaults.emplace_back("heartbeat.interval.ms", std::to_string(base.heartbeat_ms));
      defaults.emplace_back("session.timeout.ms", std::to_string(std::max(45000, 10 * base.heartbeat_ms)));
    }
    rd_kafka_conf_t* conf = t.client_conf(o, defaults);
    rd_kafka_conf_set_rebalance_cb(conf, on_rebalance);
    rd_kafka_conf_set_opaque(conf, m.get());
    m->rk = make_client(RD_KAFKA_CONSUMER, conf);
    rd_kafka_poll_set_consumer(m->rk.get());
    rd_kafka_topic_partition_list_t* sub = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(sub, o.topic.c_str(), RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t e = rd_kafka_subscribe(m->rk.get(), sub);
    rd_kafka_topic_partition_list_destroy(sub);
    if (e) fail(std::string("subscribe: ") + rd_kafka_err2str(e));
    ms.push_back(std::move(m));
  };
  auto poll_until_settled = [&](int64_t limit_ms) {
    const int64_t deadline = now_ns() + limit_ms * 1'000'000;
    while (now_ns() < deadline) {
      for (auto& m : ms)
        if (rd_kafka_message_t* msg = rd_kafka_consumer_poll(m->rk.get(), 0)) rd_kafka_message_destroy(msg);
      if (settled(ms, o.partitions)) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return false;
  };
  progress prog(base.quiet, "rebalance");
  for (int i = 0; i < members; ++i) add();
  if (!poll_until_settled(180'000))
    fail(protocol + ": the first " + std::to_string(members) + " members never settled");
  rebalance_result r;
  r.protocol = protocol;
  r.members = members;
  r.partitions = o.partitions;
  for (int round = 0; round < base.rounds; ++round) {
    const int64_t start = now_ns();
    add();
    if (!poll_until_settled(180'000)) fail(protocol + ": the group never settled after a member joined");
    r.ms.push_back(static_cast<double>(now_ns() - start) / 1e6);
    if (!base.quiet)
      std::fprintf(stderr, "rebalance %s: %zu members, settled %.0f ms after the last joined\n", protocol.c_str(),
                   ms.size(), r.ms.back());
  }
  for (auto& m : ms) rd_kafka_destroy_flags(m->rk.release(), RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
  t.delete_topic(o);
  return r;
}

int rebalance_command(const options& o) {
  target t(o);
  std::vector<rebalance_result> results;
  for (int n : o.members)
    for (const auto& protocol : o.protocols) results.push_back(rebalance(t, o, protocol, n));
  if (o.json) {
    std::vector<json_object> runs;
    runs.reserve(results.size());
    for (const auto& r : results) runs.push_back(r.json());
    json_object all;
    all.set("runs", runs);
    std::printf("%s\n", all.str().c_str());
    return 0;
  }
  std::printf("%-10s %8s %11s %12s  %s\n", "PROTOCOL", "MEMBERS", "PARTITIONS", "MEDIAN MS", "EACH JOIN (MS)");
  for (const auto& r : results) {
    std::string each;
    for (double x : r.ms) each += (each.empty() ? "" : " ") + std::to_string(static_cast<int64_t>(x));
    std::printf("%-10s %8d %11d %12.0f  %s\n", r.protocol.c_str(), r.members, r.partitions, r.median(), each.c_str());
  }
  return 0;
}

int suite(const options& base) {
  if (base.dir.empty()) bad_usage("suite: --dir is required (the broker's log dir, for the fsync figure)");
  std::vector<json_object> runs;
  auto report = [&](const json_object& j, const std::function<void()>& print) {
    runs.push_back(j);
    if (!base.json) print();
  };
  std::map<std::string, double> produce_rate;  // "target acks codec" -> records/s
  std::map<std::string, double> consume_mb;
  const auto stamp = std::to_string(::getpid());

  // Throughput: the mock, then the broker, each config on a topic of its own.
  for (const bool mock : {true, false}) {
    options o = base;
    o.mock = mock;
    target t(o);
    std::string consume_topic;
    for (const char* acks : {"1", "all"})
      for (const char* codec : {"none", "lz4"}) {
        options p = o;
        p.acks = acks;
        p.compression = codec;
        p.topic = "perf-" + stamp + "-" + acks + "-" + codec;
        auto r = produce(t, p);
        report(r.json(), [&] { print_produce(r); });
        produce_rate[t.name() + "_acks_" + acks + "_" + codec] = r.records_per_sec();
        if (consume_topic.empty())
          consume_topic = p.topic;
        else
          t.delete_topic(p);
      }
    // The mock keeps only the last 5 MiB of each partition: it is consumed
    // to its end, the broker to --records. The kernel's write-back of what
    // was produced runs first, so that it does not share the consumer's time.
    ::sync();
    options c = o;
    c.topic = consume_topic;
    auto cr = consume(t, c);
    report(cr.json(), [&] { print_consume(cr); });
    consume_mb[t.name()] = cr.mb_per_sec();
    t.delete_topic(c);
  }

  // Latency at a steady rate with acks=all, the broker syncing before each
  // acknowledgement (flush.messages=1), and no linger: the broker's and the
  // disk's share of the wait. Written-back first, so that the disk is as
  // quiet for the broker as for the fsync figure measured just before.
  ::sync();
  const fsync_result disk = fsync_probe(base);
  report(disk.json(), [&] { print_fsync(disk); });
  std::map<std::string, percentiles> latency;
  for (const bool mock : {true, false}) {
    options l = base;
    l.mock = mock;
    target t(l);
    l.acks = "all";
    l.linger_ms = 0;
    l.records = base.latency_records;
    l.throughput = base.latency_rate;
    l.topic = "perf-" + stamp + "-latency";
    l.topic_configs.emplace_back("flush.messages", "1");
    auto r = produce(t, l);
    report(r.json().set("fsync_on_ack", mock ? "no" : "yes"), [&] { print_produce(r); });
    latency[t.name()] = r.latency;
    t.delete_topic(l);
  }

  json_object ratios;
  for (const char* key : {"acks_1_none", "acks_1_lz4", "acks_all_none", "acks_all_lz4"}) {
    const double m = produce_rate[std::string("mock_") + key];
    ratios.set(std::string("produce_broker_over_mock_") + key,
               m > 0 ? produce_rate[std::string("broker_") + key] / m : 0.0);
  }
  ratios.set("consume_broker_mb_per_sec", consume_mb["broker"]);
  ratios.set("latency_p99_broker_over_disk_fsync_p99",
             disk.latency.p99 > 0 ? latency["broker"].p99 / disk.latency.p99 : 0.0);
  if (base.json) {
    json_object all;
    all.set("runs", runs).set("ratios", ratios);
    std::printf("%s\n", all.str().c_str());
  } else {
    std::printf("ratios %s\n", ratios.str().c_str());
  }
  return 0;
}

// Batch sizes and partition counts, the mock beside the broker for each,
// one after the other: a cliff at some shape shows the day it appears.
int sweep(const options& base) {
  std::vector<json_object> runs;
  const auto stamp = std::to_string(::getpid());
  if (!base.json)
    std::printf("%10s %5s %12s %12s %7s %14s\n", "batch.size", "parts", "mock MB/s", "broker MB/s", "ratio",
                "broker p50 ms");
  for (const int batch : base.batch_sizes)
    for (const int parts : base.partition_counts) {
      options o = base;
      o.batch_size = batch;
      o.partitions = parts;
      o.topic = "sweep-" + stamp + "-" + std::to_string(batch) + "-" + std::to_string(parts);
      auto got = mock_then_broker(o, produce);
      runs.push_back(got[true].json().set("partitions", parts));
      runs.push_back(got[false].json().set("partitions", parts));
      const double m = got[true].mb_per_sec(), b = got[false].mb_per_sec();
      const double ratio = m > 0 ? b / m : 0.0;
      runs.back().set("broker_over_mock", ratio);
      if (!base.json)
        std::printf("%10d %5d %12.1f %12.1f %7.2f %14.1f\n", batch, parts, m, b, ratio, got[false].latency.p50);
      if (got[false].failed > 0 || got[true].failed > 0)
        fail("sweep: deliveries failed at batch.size " + std::to_string(batch));
    }
  if (base.json) std::printf("%s\n", json_object().set("runs", runs).str().c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);  // a broker that hangs up is an error to report, not a signal that kills
  if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h") {
    std::fputs(usage, argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  // librdkafka allocates a buffer per fetch response (a megabyte or more)
  // and frees it once its records are consumed. glibc serves such sizes with
  // mmap and munmap, and the page faults of fresh mappings cost this process
  // more than the broker spends on the whole fetch (measured: 1.75 s of
  // system time per GiB against 0.4 s with this). Keeping them in the heap
  // changes only the client's cost, and the same for every target.
  mallopt(M_MMAP_THRESHOLD, 256 << 20);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  mallopt(M_TOP_PAD, 256 << 20);
  const std::string cmd = argv[1];
  for (int i = 2; i < argc; ++i)
    if (std::string(argv[i]) == "--help") return std::fputs(usage, stdout), 0;
  try {
    const options o = parse(argc, argv, 2);
    if (cmd == "produce") {
      target t(o);
      cpu_meter cpu(o);
      auto r = produce(t, o);
      const double gib = static_cast<double>(r.delivered) * o.record_size / (1 << 30);
      if (o.json)
        std::printf("%s\n", cpu.add_to(r.json(), gib).str().c_str());
      else
        print_produce(r), cpu.print(gib);
      return r.failed ? 1 : 0;
    }
    if (cmd == "consume") {
      target t(o);
      cpu_meter cpu(o);
      auto r = consume(t, o);
      const double gib = static_cast<double>(r.bytes) / (1 << 30);
      if (o.json)
        std::printf("%s\n", cpu.add_to(r.json(), gib).str().c_str());
      else
        print_consume(r), cpu.print(gib);
      return r.records < o.records ? 1 : 0;
    }
    if (cmd == "fsync") {
      auto r = fsync_probe(o);
      if (o.json)
        std::printf("%s\n", r.json().str().c_str());
      else
        print_fsync(r);
      return 0;
    }
    if (cmd == "suite") return suite(o);
    if (cmd == "sweep") return sweep(o);
    if (cmd == "producers") return producers_command(o);
    if (cmd == "floor") {
      auto r = floor_probe(o);
      if (o.json)
        std::printf("%s\n", r.json().str().c_str());
      else
        std::printf(
            "kernel floor, CPU s/GiB: receive %.3f, page-cache write %.3f (produce floor %.3f), sendfile %.3f\n",
            r.per_gib(r.receive), r.per_gib(r.write), r.per_gib(r.receive + r.write), r.per_gib(r.sendfile));
      return 0;
    }
    if (cmd == "rebalance") return rebalance_command(o);
    std::fprintf(stderr, "mosaic-perf: unknown command '%s' (see --help)\n", cmd.c_str());
    return 2;
  } catch (const usage_error& e) {
    std::fprintf(stderr, "mosaic-perf: %s\n", e.what());
    return 2;
  } catch (const failure& e) {
    std::fprintf(stderr, "mosaic-perf: %s\n", e.what());
    return 1;
  }
}

// The broker's produce and fetch paths over loopback TCP beside the log
// calls they end in, in one run: a whole node in the process (metadata log,
// broker service, Kafka adapter, network layer) and a client sending
// pre-encoded Kafka requests, pipelined. The figures that matter are the
// ratios: produce over TCP / direct partition_log append of the same
// batches, and fetch over TCP (sendfile) / direct partition_log read+copy.
#include <benchmark/benchmark.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "kafka_messages.h"
#include "kernel/app/builtins.h"
#include "kernel/app/node.h"
#include "kernel/base/log.h"
#include "kernel/base/metrics.h"
#include "kernel/log/batch_builder.h"
#include "kernel/log/partition_log.h"
#include "plugins/protocol_kafka/protocol/request.h"
#include "tests/support/frame_client.h"

namespace {

using namespace mosaic;
namespace msg = mosaic::kafka::msg;

const std::filesystem::path& scratch() {
  static const std::filesystem::path dir = [] {
    std::string tmpl = (std::filesystem::temp_directory_path() / "mosaic_broker_bench_XXXXXX").string();
    return std::filesystem::path(::mkdtemp(tmpl.data()));
  }();
  return dir;
}

std::vector<uint8_t> make_batch(size_t bytes) {
  log::batch_builder b(1'764'000'000'000);
  std::string value(1000, 'v');
  for (size_t i = 0; i < bytes / 1024; ++i) {
    value.replace(0, 8, std::to_string(10000000 + i));
    b.add("key-" + std::to_string(i), value);
  }
  return b.finish();
}

template <class Request>
std::vector<uint8_t> encode(int16_t key, int16_t version, bool flexible, const Request& req) {
  std::vector<uint8_t> out;
  kafka::writer w(out);
  kafka::write_request_header(w, key, version, flexible ? 2 : 1, 1, "bench");
  req.encode(w, version);
  return out;
}

// One node for the whole run, in its own folder.
struct bench_node {
  std::unique_ptr<app::node> node;
  uint16_t port = 0;
  uint16_t metrics_port = 0;  // with a metrics listener (requests timed)
  uint16_t http_port = 0;     // the HTTP adapter's listener
  int topics = 0;
  // `interceptors`: topics named schema-* pass the JSON Schema
  // interceptor, stamp-* the header stamp (produce_intercepted).
  explicit bench_node(bool metrics = false, bool interceptors = false) {
    log::set_level(std::getenv("BENCH_DEBUG") ? log::level::debug : log::level::warn);
    std::vector<std::string> settings = {
        "log.dirs=[" +
            (scratch() / (metrics        ? "node-metrics"
                          : interceptors ? "node-intercepted"
                                         : "node"))
                .string() +
            "]",
        std::string("listeners=[{name: PLAINTEXT, host: 127.0.0.1, port: 0, adapter: kafka}, ") +
            "{name: HTTP, host: 127.0.0.1, port: 0, adapter: http}" +
            (metrics ? ", {name: METRICS, host: 127.0.0.1, port: 0, adapter: metrics}]" : "]"),
        "log.segment.bytes=134217728",
        std::string("num.network.threads=") + (std::getenv("NET_THREADS") ? std::getenv("NET_THREADS") : "2")};
    if (interceptors) {
      const auto schema = scratch() / "order.schema.json";
      std::ofstream(schema) << R"({"type": "object", "required": ["id", "amount", "currency", "note"],
        "properties": {"id": {"type": "integer", "minimum": 1}, "amount": {"type": "number", "minimum": 0},
                       "currency": {"enum": ["EUR", "USD", "GBP"]}, "note": {"type": "string", "maxLength": 2000}},
        "additionalProperties": false})";
      settings.push_back(
          "plugins.interceptors=[{name: mosaic.interceptor.json_schema, config: {schema.file: " + schema.string() +
          "}, prefixes: [schema-]}, {name: mosaic.interceptor.header_stamp, config: {headers: "
          "['x-producer=${principal}']}, prefixes: [stamp-]}]");
    }
    auto cfg = config::parse_broker_config("", "<bench>", settings, scratch());
    node = std::make_unique<app::node>(*cfg, app::builtin_plugins());
    if (auto s = node->open_data_dirs(); !s) std::fprintf(stderr, "broker_bench: %s\n", s.message().c_str());
    if (auto s = node->load_plugins(); !s) std::fprintf(stderr, "broker_bench: %s\n", s.message().c_str());
    if (auto s = node->start_services(); !s)
      std::fprintf(stderr, "broker_bench: the node did not start: %s\n", s.message().c_str());
    port = node->bound_port("PLAINTEXT");
    http_port = node->bound_port("HTTP");
    if (metrics) metrics_port = node->bound_port("METRICS");
  }
  std::string new_topic(const std::string& prefix = "bench-") {
    std::string name = prefix + std::to_string(topics++);
    testing::frame_client c(port);
    msg::create_topics_request req;
    auto& t = req.topics.emplace_back();
    t.name = name;
    t.num_partitions = 1;
    t.replication_factor = 1;
    c.send(encode(19, 7, true, req));
    (void)c.receive();
    return name;
  }
};

bench_node& the_node() {
  static bench_node n;
  return n;
}

std::unique_ptr<bench_node>& metrics_node_holder() {
  static std::unique_ptr<bench_node> n;
  return n;
}

bench_node& the_intercepted_node() {
  static bench_node n(false, true);
  return n;
}

bench_node& the_metrics_node() {
  auto& n = metrics_node_holder();
  if (!n) n = std::make_unique<bench_node>(true);
  return *n;
}

// One GET /metrics over a fresh connection: the bytes of the answer.
size_t scrape(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  size_t got = 0;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0) {
    const std::string req = "GET /metrics HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n";
    (void)::send(fd, req.data(), req.size(), MSG_NOSIGNAL);
    char buf[16384];
    for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) got += static_cast<size_t>(n);
  }
  ::close(fd);
  return got;
}

const int pipeline = std::getenv("PIPELINE") ? std::atoi(std::getenv("PIPELINE")) : 8;

// A Produce v9 frame (acks=1) of `batch` to partition 0 of `topic`.
std::vector<uint8_t> produce_frame(const std::string& topic, const std::vector<uint8_t>& batch) {
  msg::produce_request req;
  req.acks = 1;
  req.timeout_ms = 30000;
  auto& t = req.topic_data.emplace_back();
  t.name = topic;
  t.partition_data.emplace_back().records = kafka::bytes_ref::of(batch);
  return encode(0, 9, true, req);
}

// A Fetch v12 frame for up to 1 MiB of partition 0 of `topic` from `offset`,
// answered at once.
std::vector<uint8_t> fetch_frame(const std::string& topic, int64_t offset) {
  msg::fetch_request req;
  req.max_wait_ms = 0;
  req.min_bytes = 1;
  req.max_bytes = 1 << 20;
  auto& t = req.topics.emplace_back();
  t.topic = topic;
  auto& p = t.partitions.emplace_back();
  p.fetch_offset = offset;
  p.partition_max_bytes = 1 << 20;
  return encode(1, 12, true, req);
}

// Sends `frame` `pipeline` times, then reads the answers, per iteration.
void produce_pipelined(benchmark::State& state, testing::frame_client& c, const std::vector<uint8_t>& frame) {
  for (auto _ : state) {
    for (int i = 0; i < pipeline; ++i) c.send(frame);
    for (int i = 0; i < pipeline; ++i)
      if (!c.receive()) state.SkipWithError("no produce response");
  }
}

void produce_over_tcp(benchmark::State& state) {
  ::sync();  // nothing dirty left by the benchmark before (write-back would slow this one)
  auto& n = the_node();
  const auto batch = make_batch(static_cast<size_t>(state.range(0)));
  const auto frame = produce_frame(n.new_topic(), batch);
  testing::frame_client c(n.port);
  produce_pipelined(state, c, frame);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * pipeline * static_cast<int64_t>(batch.size()));
}

// A 64 KiB batch of about 1 KiB JSON orders (valid for the schema), to a
// topic with no interceptor (arg 0), with the JSON Schema interceptor (1:
// every record parsed and checked), or with the header stamp (2: every
// batch rewritten with a header in each record), on one node, in one run.
void produce_intercepted(benchmark::State& state) {
  ::sync();
  auto& n = the_intercepted_node();
  const int64_t mode = state.range(0);
  log::batch_builder b;
  const std::string note(900, 'n');
  for (int i = 1; b.record_count() < 64; ++i)
    b.add(std::nullopt, "{\"id\": " + std::to_string(i) + ", \"amount\": " + std::to_string(i * 3) +
                            ".25, \"currency\": \"EUR\", \"note\": \"" + note + "\"}");
  const auto batch = b.finish();
  const auto frame = produce_frame(n.new_topic(mode == 0 ? "plain-" : mode == 1 ? "schema-" : "stamp-"), batch);
  testing::frame_client c(n.port);
  // The first answer says whether the interceptors took the batch.
  c.send(frame);
  auto first = c.receive();
  if (!first) return state.SkipWithError("no produce response");
  msg::produce_response resp;
  try {
    kafka::reader r(*first);
    msg::response_header rh;
    rh.decode(r, 1);
    resp.decode(r, 9);
  } catch (const std::exception&) {
    return state.SkipWithError("the produce response does not decode");
  }
  if (resp.responses.empty() || resp.responses[0].partition_responses.empty() ||
      resp.responses[0].partition_responses[0].error_code != 0)
    return state.SkipWithError("the batch was refused");
  produce_pipelined(state, c, frame);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * pipeline * static_cast<int64_t>(batch.size()));
  state.counters["records/s"] =
      benchmark::Counter(static_cast<double>(state.iterations()) * pipeline * 64, benchmark::Counter::kIsRate);
}

// produce_over_tcp's traffic to a node without a metrics listener (arg 1 =
// 0: requests untimed) and to one with (1: every request timed into its
// API's histogram, and /metrics scraped once a second meanwhile), in the
// same run: what the metrics cost.
void produce_metrics(benchmark::State& state) {
  ::sync();
  const bool on = state.range(1) != 0;
  auto& n = on ? the_metrics_node() : the_node();
  const auto batch = make_batch(static_cast<size_t>(state.range(0)));
  const auto frame = produce_frame(n.new_topic(), batch);
  std::atomic<bool> done{false};
  std::atomic<uint64_t> scraped{0};
  std::thread scraper([&] {
    while (on && !done.load()) {
      scraped += scrape(n.metrics_port) > 0 ? 1 : 0;
      for (int i = 0; i < 100 && !done.load(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  });
  {
    testing::frame_client c(n.port);
    produce_pipelined(state, c, frame);
  }
  done = true;
  scraper.join();
  if (on && scraped.load() == 0) state.SkipWithError("no scrape answered");
  state.counters["scrapes"] = static_cast<double>(scraped.load());
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * pipeline);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * pipeline * static_cast<int64_t>(batch.size()));
}

// What the metrics add to one request, alone: the network layer's two
// clock reads and the histogram's observation (the work a timed request
// does that an untimed one does not), beside the produce requests above.
void request_timing_cost(benchmark::State& state) {
  metrics::histogram h;
  for (auto _ : state) {
    const auto began = std::chrono::steady_clock::now();
    benchmark::ClobberMemory();
    h.observe(std::chrono::steady_clock::now() - began);
  }
  benchmark::DoNotOptimize(h.snapshot().count);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

// The machine's own ceiling for this traffic: the same frames, pipelined the
// same way, to a plain blocking server thread that reads each frame into a
// reused buffer and answers 60 bytes (a produce response's size).
void frames_over_raw_tcp(benchmark::State& state) {
  ::sync();  // nothing dirty left by the benchmark before (write-back would slow this one)
  int lfd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  (void)::bind(lfd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  (void)::listen(lfd, 1);
  socklen_t len = sizeof(a);
  (void)::getsockname(lfd, reinterpret_cast<sockaddr*>(&a), &len);
  std::thread server([lfd] {
    int fd = ::accept(lfd, nullptr, nullptr);
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    std::vector<uint8_t> buf(1 << 20);
    const std::vector<uint8_t> reply = {0, 0, 0, 60, 0};
    std::vector<uint8_t> answer(64, 0);
    answer[3] = 60;
    auto read_exact = [&](uint8_t* p, size_t n) {
      while (n > 0) {
        ssize_t r = ::recv(fd, p, n, 0);
        if (r <= 0) return false;
        p += r;
        n -= static_cast<size_t>(r);
      }
      return true;
    };
    for (;;) {
      uint8_t h[4];
      if (!read_exact(h, 4)) break;
      const size_t n = (size_t{h[0]} << 24) | (size_t{h[1]} << 16) | (size_t{h[2]} << 8) | h[3];
      if (!read_exact(buf.data(), n)) break;
      if (::send(fd, answer.data(), answer.size(), MSG_NOSIGNAL) <= 0) break;
    }
    ::close(fd);
  });
  const auto batch = make_batch(static_cast<size_t>(state.range(0)));
  std::vector<uint8_t> frame(batch.size() + 100, 'x');
  {
    testing::frame_client c(ntohs(a.sin_port));
    for (auto _ : state) {
      for (int i = 0; i < pipeline; ++i) c.send(frame);
      for (int i = 0; i < pipeline; ++i)
        if (!c.receive()) state.SkipWithError("no response");
    }
  }
  server.join();
  ::close(lfd);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * pipeline * static_cast<int64_t>(batch.size()));
}

void append_direct(benchmark::State& state) {
  ::sync();  // nothing dirty left by the benchmark before (write-back would slow this one)
  const auto dir = scratch() / ("direct-" + std::to_string(state.range(0)) + "-" + std::to_string(state.threads()));
  std::filesystem::remove_all(dir);
  log::log_config cfg;
  cfg.segment_bytes = 128ull << 20;
  auto plog = log::partition_log::open(dir, cfg);
  const auto batch = make_batch(static_cast<size_t>(state.range(0)));
  std::vector<uint8_t> copy(batch.size());
  for (auto _ : state) {
    for (int i = 0; i < pipeline; ++i) {
      copy = batch;  // a request's bytes arrive in a fresh buffer
      auto r = (*plog)->append(copy, 0);
      if (!r.ok()) state.SkipWithError("append failed");
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * pipeline * static_cast<int64_t>(batch.size()));
  (void)(*plog)->close();
}

// Fetches through the whole topic, 1 MiB at a time, starting over at its end.
void fetch_over_tcp(benchmark::State& state) {
  ::sync();  // nothing dirty left by the benchmark before (write-back would slow this one)
  auto& n = the_node();
  const auto topic = n.new_topic();
  const auto batch = make_batch(64 << 10);
  {
    msg::produce_request req;
    req.acks = 1;
    auto& t = req.topic_data.emplace_back();
    t.name = topic;
    t.partition_data.emplace_back().records = kafka::bytes_ref::of(batch);
    const auto frame = encode(0, 9, true, req);
    testing::frame_client c(n.port);
    for (int i = 0; i < 4096; ++i) {  // 256 MiB
      c.send(frame);
      (void)c.receive();
    }
  }
  testing::frame_client c(n.port);
  int64_t offset = 0, bytes = 0;
  for (auto _ : state) {
    c.send(fetch_frame(topic, offset));
    auto resp = c.receive();
    if (!resp) {
      state.SkipWithError("no fetch response");
      break;
    }
    bytes += static_cast<int64_t>(resp->size());
    offset += (1 << 20) / 1024 - 64;  // about a response's worth of records
    if (offset >= 4096 * 64 - 1100) offset = 0;
  }
  state.SetBytesProcessed(bytes);
}

// A keep-alive HTTP/1.1 connection: requests written back to back, answers
// read by their Content-Length.
struct http_connection {
  int fd = -1;
  std::string in;
  explicit http_connection(uint16_t port) {
    fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) fd = -1;
    int one = 1;
    if (fd >= 0) ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  ~http_connection() {
    if (fd >= 0) ::close(fd);
  }
  bool send(const std::string& request) const {
    for (size_t at = 0; at < request.size();) {
      const ssize_t n = ::send(fd, request.data() + at, request.size() - at, MSG_NOSIGNAL);
      if (n <= 0) return false;
      at += static_cast<size_t>(n);
    }
    return true;
  }
  // The next answer's body; nothing when the connection broke or the
  // status is not 200.
  std::optional<std::string> receive() {
    char buf[65536];
    for (;;) {
      const auto end = in.find("\r\n\r\n");
      if (end != std::string::npos) {
        const auto cl = in.find("Content-Length: ");
        const size_t length = cl < end ? std::stoul(in.substr(cl + 16)) : 0;
        if (in.size() >= end + 4 + length) {
          const bool ok = in.rfind("HTTP/1.1 200", 0) == 0;
          std::string body = in.substr(end + 4, length);
          in.erase(0, end + 4 + length);
          if (!ok) return std::nullopt;
          return body;
        }
      }
      const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) return std::nullopt;
      in.append(buf, static_cast<size_t>(n));
    }
  }
};

std::string http_request(const std::string& method, const std::string& target, const std::string& body = "") {
  std::string r = method + " " + target + " HTTP/1.1\r\nHost: bench\r\n";
  if (!body.empty()) r += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  return r + "\r\n" + body;
}

// The same records produced through either adapter, in one run (arg 0:
// Kafka, 1: HTTP): 64 records of 1 KiB a request, `pipeline` requests in
// flight on one connection, acks=1. HTTP's bytes are JSON (the values as
// strings), parsed by the adapter and built into a batch by the broker;
// Kafka's are the client's batch as it is.
void produce_kafka_or_http(benchmark::State& state) {
  ::sync();
  auto& n = the_node();
  const auto topic = n.new_topic();
  const int64_t records = 64, value_bytes = 1000;
  if (state.range(0) == 0) {
    const auto batch = make_batch(static_cast<size_t>(records) * 1024);
    const auto frame = produce_frame(topic, batch);
    testing::frame_client c(n.port);
    produce_pipelined(state, c, frame);
  } else {
    std::string body = R"({"records": [)";
    std::string value(value_bytes, 'v');
    for (int64_t i = 0; i < records; ++i) {
      value.replace(0, 8, std::to_string(10000000 + i));
      body += std::string(i ? "," : "") + R"({"key": "key-)" + std::to_string(i) + R"(", "value": ")" + value + "\"}";
    }
    body += "]}";
    const std::string request = http_request("POST", "/v1/topics/" + topic + "/records?acks=1&partition=0", body);
    std::string burst;
    for (int i = 0; i < pipeline; ++i) burst += request;
    http_connection c(n.http_port);
    for (auto _ : state) {
      if (!c.send(burst)) state.SkipWithError("the HTTP connection broke");
      for (int i = 0; i < pipeline; ++i)
        if (!c.receive()) state.SkipWithError("no produce answer");
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * pipeline * records);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * pipeline * records * value_bytes);
  state.SetLabel(state.range(0) == 0 ? "kafka" : "http");
}

// Reads the same 64 MiB of 1 KiB records through either adapter (arg 0:
// Kafka Fetch, 1 MiB at a time; 1: HTTP GET of 1,000 records at a time, as
// JSON), from the start again at the end.
void consume_kafka_or_http(benchmark::State& state) {
  ::sync();
  auto& n = the_node();
  const auto topic = n.new_topic();
  const int64_t total = 64 * 1024;  // records
  {
    const auto frame = produce_frame(topic, make_batch(64 << 10));
    testing::frame_client c(n.port);
    for (int64_t i = 0; i < total / 64; ++i) {
      c.send(frame);
      (void)c.receive();
    }
  }
  int64_t offset = 0, records = 0;
  testing::frame_client kafka(n.port);
  http_connection http(n.http_port);
  for (auto _ : state) {
    if (state.range(0) == 0) {
      kafka.send(fetch_frame(topic, offset));
      if (!kafka.receive()) {
        state.SkipWithError("no fetch response");
        break;
      }
      offset += 960;  // about a response's worth (1 MiB of 1 KiB records, by whole batches)
      records += 960;
    } else {
      if (!http.send(http_request("GET", "/v1/topics/" + topic + "/partitions/0/records?offset=" +
                                             std::to_string(offset) + "&max_records=1000&max_bytes=1048576"))) {
        state.SkipWithError("the HTTP connection broke");
        break;
      }
      auto body = http.receive();
      if (!body) {
        state.SkipWithError("no fetch answer");
        break;
      }
      const auto next = body->find("\"next_offset\":");
      const int64_t got = next == std::string::npos ? offset + 1000 : std::stoll(body->substr(next + 14));
      records += got - offset;
      offset = got;
    }
    if (offset >= total - 1100) offset = 0;
  }
  state.SetItemsProcessed(records);
  state.SetBytesProcessed(records * 1000);
  state.SetLabel(state.range(0) == 0 ? "kafka" : "http");
}

void read_direct(benchmark::State& state) {
  ::sync();  // nothing dirty left by the benchmark before (write-back would slow this one)
  const auto dir = scratch() / "read-direct";
  std::filesystem::remove_all(dir);
  log::log_config cfg;
  cfg.segment_bytes = 128ull << 20;
  auto plog = log::partition_log::open(dir, cfg);
  const auto batch = make_batch(64 << 10);
  std::vector<uint8_t> copy;
  for (int i = 0; i < 4096; ++i) {
    copy = batch;
    (void)(*plog)->append(copy, 0);
  }
  int64_t offset = 0, bytes = 0;
  std::vector<uint8_t> out;
  for (auto _ : state) {
    auto r = (*plog)->read(offset, 1 << 20, (*plog)->log_end_offset());
    out.clear();
    (void)r->copy_to(out);
    bytes += static_cast<int64_t>(out.size());
    offset += (1 << 20) / 1024 - 64;
    if (offset >= 4096 * 64 - 1100) offset = 0;
  }
  state.SetBytesProcessed(bytes);
  (void)(*plog)->close();
}

BENCHMARK(produce_over_tcp)->Arg(16 << 10)->Arg(64 << 10)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(produce_metrics)
    ->ArgsProduct({{1 << 10, 64 << 10}, {0, 1}})
    ->ArgNames({"batch", "metrics"})
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(request_timing_cost);
BENCHMARK(produce_intercepted)->Arg(0)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(frames_over_raw_tcp)->Arg(16 << 10)->Arg(64 << 10)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(append_direct)->Arg(16 << 10)->Arg(64 << 10)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(fetch_over_tcp)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(produce_kafka_or_http)->Arg(0)->Arg(1)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(consume_kafka_or_http)->Arg(0)->Arg(1)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(read_direct)->UseRealTime()->Unit(benchmark::kMicrosecond);

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  if (the_node().node) (void)the_node().node->shutdown();
  if (auto& m = metrics_node_holder(); m && m->node) (void)m->node->shutdown();
  std::filesystem::remove_all(scratch());
  return 0;
}

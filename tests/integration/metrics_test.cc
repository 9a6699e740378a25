// The metrics listener of real mosaicd processes, driven with curl, kcat
// and promtool: /health, /ready and /metrics, their JSON errors, consumer
// lag in offsets and in time, and a cluster's controller and replica counts.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <thread>

#include "tests/integration/cluster.h"
#include "tests/integration/process.h"
#include "tests/integration/sasl_broker.h"
#include "tests/support/ports.h"
#include "tests/support/share_calls.h"
#include "tests/support/shell.h"
#include "tests/support/temp_dir.h"

namespace mosaic::testing {
namespace {

using namespace std::chrono_literals;

// The port a node's METRICS listener got (it binds port 0), from its log.
uint16_t metrics_port(process& p) {
  if (!p.wait_for_log("listening on METRICS 127.0.0.1:", 20s)) return 0;
  return port_in(p.err(), "METRICS");
}

struct http_answer {
  int status = 0;
  std::string headers;
  std::string body;
};

// One request with curl: `extra` are more curl arguments.
http_answer http(uint16_t port, const std::string& path, const std::string& extra = "") {
  temp_dir d("mosaic_http");
  const auto head = d.path() / "head";
  const auto body = d.path() / "body";
  auto r = run_command("curl -s -m 10 -o " + body.string() + " -D " + head.string() + " -w '%{http_code}' " + extra +
                       " 'http://127.0.0.1:" + std::to_string(port) + path + "'");
  http_answer a;
  a.status = std::atoi(r.out.c_str());
  a.headers = slurp(head);
  a.body = slurp(body);
  return a;
}

std::string scrape(uint16_t port) { return http(port, "/metrics").body; }

// The value of the sample `series` (its name and labels exactly as written), if present.
std::optional<double> value_of(const std::string& text, const std::string& series) {
  const std::string line_start = series + " ";
  for (size_t at = 0; (at = text.find(line_start, at)) != std::string::npos; at += line_start.size())
    if (at == 0 || text[at - 1] == '\n') return std::strtod(text.c_str() + at + line_start.size(), nullptr);
  return std::nullopt;
}

bool promtool_accepts(const std::string& text, std::string& why) {
  temp_dir d("mosaic_promtool");
  const auto f = d.path() / "metrics.txt";
  std::ofstream(f) << text;
  auto r = run_command("promtool check metrics < " + f.string());
  why = r.out;
  return r.code == 0;
}

class single_node : public ::testing::Test {
 protected:
  void SetUp() override {
    kafka_ = free_ports(1).at(0);
    node_ = std::make_unique<process>(
        MOSAICD_PATH,
        std::vector<std::string>{"--config", "/dev/null", "--set", "log.dirs=[data]", "--set",
                                 "listeners=[{name: PLAINTEXT, host: 127.0.0.1, port: " + std::to_string(kafka_) +
                                     ", adapter: kafka}, {name: METRICS, host: 127.0.0.1, port: 0, adapter: metrics}]"},
        dir_.path());
    port_ = metrics_port(*node_);
    ASSERT_NE(port_, 0) << node_->err();
    ASSERT_TRUE(node_->wait_for_log("mosaicd started", 20s)) << node_->err();
  }
  std::string bootstrap() const { return "127.0.0.1:" + std::to_string(kafka_); }
  void produce(const std::string& topic, int n, const std::string& prefix = "r") {
    std::string lines;
    for (int i = 0; i < n; ++i) lines += prefix + std::to_string(i) + "\n";
    temp_dir d("mosaic_in");
    std::ofstream(d.path() / "in") << lines;
    auto r = run_command("kcat -b " + bootstrap() + " -P -t " + topic + " < " + (d.path() / "in").string());
    ASSERT_EQ(r.code, 0) << r.out;
  }
  // Consumes `n` records of `topic` in group `group` (python3-confluent-kafka)
  // and commits them before it leaves.
  void consume(const std::string& group, const std::string& topic, int n) {
    const std::string script =
        "from confluent_kafka import Consumer\n"
        "import sys\n"
        "c = Consumer({'bootstrap.servers': '" +
        bootstrap() + "', 'group.id': '" + group +
        "', 'auto.offset.reset': 'earliest', 'enable.auto.commit': False})\n"
        "c.subscribe(['" +
        topic +
        "'])\n"
        "got = 0\n"
        "while got < " +
        std::to_string(n) +
        ":\n"
        "    m = c.poll(20.0)\n"
        "    if m is None: sys.exit('timed out after %d records' % got)\n"
        "    if m.error(): continue\n"
        "    got += 1\n"
        "    c.commit(message=m, asynchronous=False)\n"
        "c.close()\n"
        "print('consumed', got)\n";
    temp_dir d("mosaic_py");
    std::ofstream(d.path() / "consume.py") << script;
    auto r = run_command("timeout 60 /usr/bin/python3 " + (d.path() / "consume.py").string());
    ASSERT_EQ(r.code, 0) << r.out;
    ASSERT_NE(r.out.find("consumed " + std::to_string(n)), std::string::npos) << r.out;
  }

  temp_dir dir_{"mosaic_metrics"};
  uint16_t kafka_ = 0;
  uint16_t port_ = 0;
  std::unique_ptr<process> node_;
};

TEST_F(single_node, serves_health_ready_and_metrics_that_promtool_accepts) {
  auto h = http(port_, "/health");
  EXPECT_EQ(h.status, 200);
  EXPECT_EQ(h.body, "{\"status\":\"alive\"}\n");
  EXPECT_NE(h.headers.find("Content-Type: application/json"), std::string::npos) << h.headers;
  auto r = http(port_, "/ready");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, "{\"status\":\"ready\"}\n");

  produce("m1", 20);
  auto m = http(port_, "/metrics");
  EXPECT_EQ(m.status, 200);
  EXPECT_NE(m.headers.find("Content-Type: text/plain; version=0.0.4"), std::string::npos) << m.headers;
  std::string why;
  EXPECT_TRUE(promtool_accepts(m.body, why)) << why << "\n" << m.body;
  // kcat's produce: ApiVersions, Metadata and Produce, counted and timed.
  EXPECT_GE(value_of(m.body, R"(mosaic_request_duration_seconds_count{listener="PLAINTEXT",api="Produce",version="7"})")
                .value_or(0),
            1)
      << m.body;
  EXPECT_GT(value_of(m.body, R"(mosaic_network_received_bytes_total{listener="PLAINTEXT"})").value_or(0), 100);
  EXPECT_EQ(value_of(m.body, "mosaic_active_controller"), 1);
  EXPECT_EQ(value_of(m.body, "mosaic_ready"), 1);
  EXPECT_EQ(value_of(m.body, "mosaic_under_replicated_partitions"), 0);
  EXPECT_EQ(value_of(m.body, "mosaic_offline_partitions"), 0);
  EXPECT_GE(value_of(m.body, "mosaic_leader_partitions").value_or(0), 1);
  EXPECT_GE(value_of(m.body, "mosaic_metadata_commit_duration_seconds_count").value_or(0), 1);
  EXPECT_NE(m.body.find(R"(mosaic_plugin_info{slot="group.share.policy",plugin="mosaic.share_policy.default"} 1)"),
            std::string::npos);

  // HEAD: the headers of a GET, no body (curl -I writes the headers where
  // a body would go: nothing else may be there).
  auto head = http(port_, "/health", "-I");
  EXPECT_EQ(head.status, 200);
  EXPECT_NE(head.headers.find("Content-Length: 19"), std::string::npos) << head.headers;
  EXPECT_EQ(head.body, head.headers);
}

TEST_F(single_node, bad_requests_get_json_errors_and_nothing_else_changes) {
  const std::string before = scrape(port_);
  auto post = http(port_, "/metrics", "-X POST -H 'Content-Type: application/json' --data '{\"a\":1}'");
  EXPECT_EQ(post.status, 405);
  EXPECT_NE(post.body.find("\"code\":\"method_not_allowed\""), std::string::npos) << post.body;
  EXPECT_NE(post.headers.find("Allow: GET, HEAD"), std::string::npos) << post.headers;
  auto del = http(port_, "/ready", "-X DELETE");
  EXPECT_EQ(del.status, 405);

  auto missing = http(port_, "/topics");
  EXPECT_EQ(missing.status, 404);
  EXPECT_NE(missing.body.find("\"code\":\"not_found\""), std::string::npos) << missing.body;
  EXPECT_NE(missing.headers.find("Content-Type: application/json"), std::string::npos);

  temp_dir d("mosaic_big");
  std::ofstream(d.path() / "big") << std::string(200 * 1024, 'x');
  auto big = http(port_, "/metrics", "-X POST --data-binary @" + (d.path() / "big").string());
  EXPECT_EQ(big.status, 413);
  EXPECT_NE(big.body.find("\"code\":\"body_too_large\""), std::string::npos) << big.body;

  auto fat = http(port_, "/health", "-H 'X-Padding: " + std::string(20 * 1024, 'p') + "'");
  EXPECT_EQ(fat.status, 431);
  EXPECT_NE(fat.body.find("\"code\":\"headers_too_large\""), std::string::npos) << fat.body;

  // Not HTTP at all: a 400, and the connection ends.
  auto garbage =
      run_command("printf 'HELLO\\x01\\x02 nonsense\\r\\n\\r\\n' | timeout 10 bash -c 'exec 3<>/dev/tcp/127.0.0.1/" +
                  std::to_string(port_) + "; cat >&3; cat <&3'");
  EXPECT_NE(garbage.out.find("HTTP/1.1 400 Bad Request"), std::string::npos) << garbage.out;
  EXPECT_NE(garbage.out.find("\"code\":\"bad_request\""), std::string::npos) << garbage.out;

  // The listener and the broker carry on; the topic list is as it was.
  EXPECT_EQ(http(port_, "/health").status, 200);
  EXPECT_EQ(value_of(scrape(port_), "mosaic_partitions"), value_of(before, "mosaic_partitions"));
  auto list = run_command("kcat -b " + bootstrap() + " -L");
  EXPECT_EQ(list.code, 0) << list.out;
}

TEST_F(single_node, consumer_lag_in_offsets_and_in_time_grows_while_a_consumer_stalls) {
  produce("lagged", 10);
  consume("slow", "lagged", 4);
  produce("lagged", 6, "later");
  const std::string series = R"({group="slow",topic="lagged",partition="0"})";
  std::string first;
  ASSERT_TRUE(eventually(
      [&] {
        first = scrape(port_);
        return value_of(first, "mosaic_consumer_group_lag_offsets" + series) == 12;
      },
      10s))
      << first;
  const double age1 = value_of(first, "mosaic_consumer_group_lag_seconds" + series).value_or(-1);
  EXPECT_GE(age1, 0) << first;
  // The consumer stalls: the oldest unconsumed record (offset 4, produced
  // before the first scrape) ages by the stall; the offsets lag stays.
  std::this_thread::sleep_for(2500ms);
  const std::string second = scrape(port_);
  EXPECT_EQ(value_of(second, "mosaic_consumer_group_lag_offsets" + series), 12) << second;
  const double age2 = value_of(second, "mosaic_consumer_group_lag_seconds" + series).value_or(-1);
  EXPECT_GE(age2, age1 + 2.0) << first << "\n----\n" << second;
  EXPECT_LT(age2, age1 + 10.0);
  std::string why;
  EXPECT_TRUE(promtool_accepts(second, why)) << why;

  // It catches up: no lag in offsets or in time.
  consume("slow", "lagged", 12);
  std::string third;
  EXPECT_TRUE(eventually(
      [&] {
        third = scrape(port_);
        return value_of(third, "mosaic_consumer_group_lag_offsets" + series) == 0;
      },
      10s))
      << third;
  EXPECT_EQ(value_of(third, "mosaic_consumer_group_lag_seconds" + series), 0) << third;
}

TEST_F(single_node, share_groups_report_lag_redeliveries_and_rejections) {
  frame_client c(kafka_);
  const auto t = create_share_topic(c, "work");
  ASSERT_EQ(set_group_config(c, "sg", "share.auto.offset.reset", "earliest"), 0);
  produce_values(c, "work", 10);
  share_heartbeat(c, "sg", "m1", 0, std::vector<std::string>{"work"});
  ASSERT_EQ(acquired_offsets(share_fetch(c, "sg", "m1", 0, t)).size(), 10u);
  // Accept 0-4, release 5-7 (handed out again below), reject 8-9.
  auto ack = share_acknowledge(c, "sg", "m1", 1, t, {{0, 4, {1}}, {5, 7, {2}}, {8, 9, {3}}});
  ASSERT_TRUE(ack);
  ASSERT_EQ(acquired_offsets(share_fetch(c, "sg", "m1", 2, t)), (std::set<int64_t>{5, 6, 7}));
  const std::string series = R"({group="sg",topic="work",partition="0"})";
  std::string text;
  EXPECT_TRUE(eventually(
      [&] {
        text = scrape(port_);
        return value_of(text, "mosaic_share_group_redelivered_records_total" + series) == 3;
      },
      10s))
      << text;
  EXPECT_EQ(value_of(text, "mosaic_share_group_rejected_records_total" + series), 2) << text;
  EXPECT_EQ(value_of(text, "mosaic_share_group_acquired_records" + series), 3) << text;
  EXPECT_EQ(value_of(text, "mosaic_share_group_lag_records" + series), 3) << text;
  EXPECT_GE(value_of(text, "mosaic_share_group_lag_seconds" + series).value_or(-1), 0) << text;
  // The share policy plugin decided each release and rejection, each call
  // counted and timed under its slot and generation.
  const std::string policy = R"({slot="group.share.policy",plugin="mosaic.share_policy.default",generation="1"})";
  EXPECT_GE(value_of(text, "mosaic_plugin_calls_total" + policy).value_or(0), 5) << text;
  EXPECT_EQ(value_of(text, "mosaic_plugin_call_errors_total" + policy), 0) << text;
  EXPECT_GE(value_of(text, "mosaic_plugin_call_duration_seconds_count" + policy).value_or(0), 5) << text;
  std::string why;
  EXPECT_TRUE(promtool_accepts(text, why)) << why;
  // Finished: no lag left.
  ASSERT_TRUE(share_acknowledge(c, "sg", "m1", 3, t, {{5, 7, {1}}}));
  EXPECT_TRUE(eventually(
      [&] {
        text = scrape(port_);
        return value_of(text, "mosaic_share_group_lag_records" + series) == 0 &&
               value_of(text, "mosaic_share_group_lag_seconds" + series) == 0;
      },
      10s))
      << text;
}

TEST(metrics_cluster, one_active_controller_and_under_replicated_partitions_when_a_broker_dies) {
  cluster c(false, {"broker.session.timeout.ms=1500", "replica.lag.time.max.ms=2000", "replica.fetch.wait.max.ms=200"},
            "{name: METRICS, host: 127.0.0.1, port: 0, adapter: metrics}");
  std::map<int, uint16_t> ports;
  for (int id = 1; id <= 3; ++id) {
    ports[id] = metrics_port(c.node(id));
    ASSERT_NE(ports[id], 0) << c.node(id).err();
  }
  for (int id = 1; id <= 3; ++id) ASSERT_TRUE(c.ready(id)) << c.node(id).err();
  auto sum = [&](const std::string& series, const std::vector<int>& ids) {
    double total = 0;
    for (int id : ids) total += value_of(scrape(ports[id]), series).value_or(0);
    return total;
  };
  EXPECT_TRUE(eventually([&] { return sum("mosaic_active_controller", {1, 2, 3}) == 1; }, 10s));
  ASSERT_EQ(c.create(1, "spread", 3, 6), 0);
  EXPECT_TRUE(eventually([&] { return sum("mosaic_leader_partitions", {1, 2, 3}) == 6; }, 20s));
  EXPECT_TRUE(eventually([&] { return sum("mosaic_under_replicated_partitions", {1, 2, 3}) == 0; }, 20s));
  for (int id = 1; id <= 3; ++id) {
    std::string why;
    const std::string text = scrape(ports[id]);
    EXPECT_TRUE(promtool_accepts(text, why)) << "node " << id << ": " << why;
  }

  // Node 3 dies: the partitions it led move, every partition is under-
  // replicated on the survivors, none is offline, and still one node leads
  // the quorum.
  c.kill(3);
  EXPECT_TRUE(eventually(
      [&] {
        return sum("mosaic_under_replicated_partitions", {1, 2}) == 6;
      },
      30s))
      << scrape(ports[1]) << scrape(ports[2]);
  EXPECT_EQ(sum("mosaic_leader_partitions", {1, 2}), 6);
  EXPECT_EQ(value_of(scrape(ports[1]), "mosaic_offline_partitions"), 0);
  EXPECT_TRUE(eventually([&] { return sum("mosaic_active_controller", {1, 2}) == 1; }, 10s));
  // The leader of the quorum sees voter 3 fall behind in contact.
  const int leader = value_of(scrape(ports[1]), "mosaic_active_controller") == 1 ? 1 : 2;
  EXPECT_TRUE(eventually(
      [&] {
        return value_of(scrape(ports[leader]), R"(mosaic_raft_voter_last_contact_seconds{node_id="3",voter="true"})")
                   .value_or(0) > 1.0;
      },
      10s));
}

TEST(metrics_listener, answers_health_while_the_quorum_cannot_form_and_ready_only_once_it_serves) {
  temp_dir dir("mosaic_metrics_wait");
  const auto p = free_ports(3);
  // One voter of three: it cannot form a quorum alone.
  process n(MOSAICD_PATH,
            {"--config", "/dev/null", "--set", "node.id=1", "--set", "log.dirs=[data]", "--set",
             "controller.quorum.voters=[1@127.0.0.1:" + std::to_string(p[0]) + ", 2@127.0.0.1:" + std::to_string(p[1]) +
                 ", 3@127.0.0.1:" + std::to_string(p[2]) + "]",
             "--set",
             "listeners=[{name: PLAINTEXT, host: 127.0.0.1, port: 0, adapter: kafka}, {name: METRICS, host: "
             "127.0.0.1, port: 0, adapter: metrics}]"},
            dir.path());
  const uint16_t port = metrics_port(n);
  ASSERT_NE(port, 0) << n.err();
  EXPECT_EQ(http(port, "/health").status, 200);
  auto r = http(port, "/ready");
  EXPECT_EQ(r.status, 503);
  EXPECT_NE(r.body.find("\"status\":\"not ready\""), std::string::npos) << r.body;
  EXPECT_EQ(value_of(scrape(port), "mosaic_ready"), 0);
  std::string why;
  EXPECT_TRUE(promtool_accepts(scrape(port), why)) << why;
  n.signal(SIGTERM);
  EXPECT_TRUE(n.wait(20s).has_value());
}

TEST(metrics_listener, counts_authentications_by_listener_and_result) {
  temp_dir dir("mosaic_metrics_sasl");
  const auto users = dir.path() / "users.txt";
  std::ofstream(users) << user_line("alice", "alice-secret");
  std::ofstream(dir.path() / "m.yaml")
      << "log.dirs: [data]\nlisteners:\n"
      << "  - {name: SASL, host: 127.0.0.1, port: 0, adapter: kafka, security.protocol: SASL_PLAINTEXT}\n"
      << "  - {name: METRICS, host: 127.0.0.1, port: 0, adapter: metrics}\n"
      << "connection.failed.authentication.delay.ms: 50\n"
      << "plugins:\n  load:\n    - name: mosaic.authn.plain\n      config: {users.file: " << users.string() << "}\n";
  process n(MOSAICD_PATH, {"--config", (dir.path() / "m.yaml").string()}, dir.path());
  ASSERT_TRUE(n.wait_for_log("mosaicd started", 20s)) << n.err();
  const uint16_t port = metrics_port(n);
  const std::string sasl = "127.0.0.1:" + std::to_string(port_in(n.err(), "SASL"));
  EXPECT_EQ(run_command(kcat_sasl(sasl, "alice", "alice-secret") + " -L -m 10").code, 0);
  EXPECT_NE(run_command(kcat_sasl(sasl, "alice", "a-guess") + " -L -m 3").code, 0);
  EXPECT_NE(run_command(kcat_sasl(sasl, "mallory", "x") + " -L -m 3").code, 0);
  std::string text;
  EXPECT_TRUE(eventually(
      [&] {
        text = scrape(port);
        return value_of(text, R"(mosaic_authentications_total{listener="SASL",result="failure"})").value_or(0) >= 2;
      },
      10s))
      << text;
  EXPECT_GE(value_of(text, R"(mosaic_authentications_total{listener="SASL",result="success"})").value_or(0), 1) << text;
  std::string why;
  EXPECT_TRUE(promtool_accepts(text, why)) << why;
}

TEST(metrics_listener, a_librdkafka_producer_s_pushed_metrics_appear_on_metrics) {
#ifndef MOSAIC_RDKAFKA_TELEMETRY_CHECK
  FAIL() << "librdkafka 2.15.1 was not built (tools/librdkafka): the KIP-714 client cannot run";
#else
  temp_dir dir("mosaic_metrics_telemetry");
  const auto kafka = free_ports(1).at(0);
  process n(MOSAICD_PATH,
            {"--config", "/dev/null", "--set", "log.dirs=[data]", "--set",
             "listeners=[{name: PLAINTEXT, host: 127.0.0.1, port: " + std::to_string(kafka) +
                 ", adapter: kafka}, {name: METRICS, host: 127.0.0.1, port: 0, adapter: metrics}]",
             "--set", "telemetry.metrics=[org.apache.kafka.producer.]", "--set", "telemetry.push.interval.ms=500"},
            dir.path());
  ASSERT_TRUE(n.wait_for_log("mosaicd started", 20s)) << n.err();
  const uint16_t port = metrics_port(n);
  process producer(MOSAIC_RDKAFKA_TELEMETRY_CHECK, {"127.0.0.1:" + std::to_string(kafka), "pushed", "8"}, dir.path());
  // While it produces, its pushes show on /metrics under its client id.
  std::string text;
  EXPECT_TRUE(eventually(
      [&] {
        text = scrape(port);
        return text.find(R"(client_id="telemetry-check",metric="org.apache.kafka.producer.)") != std::string::npos;
      },
      15s))
      << text << "\n"
      << n.err();
  EXPECT_EQ(value_of(text, "mosaic_client_telemetry_clients"), 1) << text;
  EXPECT_EQ(text.find(R"(metric="org.apache.kafka.consumer.)"), std::string::npos) << "only what is asked for";
  std::string why;
  EXPECT_TRUE(promtool_accepts(text, why)) << why;
  // Closing, it says so: the broker forgets it.
  ASSERT_EQ(producer.wait(30s), 0) << producer.err() << producer.out();
  EXPECT_TRUE(eventually([&] { return value_of(scrape(port), "mosaic_client_telemetry_clients") == 0; }, 10s))
      << scrape(port);
#endif
}

TEST(metrics_listener, refuses_a_tls_metrics_listener_at_start_with_a_clear_message) {
  temp_dir dir("mosaic_metrics_tls");
  process n(MOSAICD_PATH,
            {"--config", "/dev/null", "--set", "log.dirs=[data]", "--set",
             "listeners=[{name: PLAINTEXT, host: 127.0.0.1, port: 0, adapter: kafka}, {name: METRICS, host: "
             "127.0.0.1, port: 0, adapter: metrics, security.protocol: SASL_PLAINTEXT}]"},
            dir.path());
  auto code = n.wait(20s);
  ASSERT_TRUE(code.has_value());
  EXPECT_NE(*code, 0);
  EXPECT_NE(n.err().find("a metrics listener is PLAINTEXT only"), std::string::npos) << n.err();
}

}  // namespace
}  // namespace mosaic::testing

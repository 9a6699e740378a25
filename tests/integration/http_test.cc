// The HTTP adapter (plugins/protocol_http) on a real mosaicd beside the
// Kafka listener: every endpoint with curl, records crossing between HTTP
// and kcat both ways, each kind of bad input refused with a JSON error and
// nothing written, keep-alive and pipelining, an HTTP queue worker sharing
// a share group with librdkafka's share consumer, and Basic authentication
// on a SASL listener.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "tests/integration/process.h"
#include "tests/integration/sasl_broker.h"
#include "tests/support/frame_client.h"
#include "tests/support/shell.h"
#include "tests/support/temp_dir.h"

namespace mosaic::testing {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;

const std::string mosaicd = MOSAICD_PATH;

struct answer {
  int status = 0;
  json body;
  std::string text;
  std::string headers;
};

// mosaicd with a Kafka listener and an HTTP one (bodies up to 64 KiB).
class http_broker {
 public:
  explicit http_broker(const temp_dir& dir, const std::string& more_listeners = "",
                       const std::string& more_plugins = "") {
    dir.write("node.yaml",
              "log.dirs: [data]\n"
              "group.share.heartbeat.interval.ms: 500\n"
              "group.share.min.record.lock.duration.ms: 1000\n"
              "plugins:\n"
              "  load:\n"
              "    - mosaic.codec.zstd\n"
              "    - {name: mosaic.protocol.http, config: {max.body.bytes: 65536, max.wait.ms: 5000}}\n" +
                  more_plugins +
                  "listeners:\n"
                  "  - {name: PLAINTEXT, host: 127.0.0.1, port: 0, adapter: kafka}\n"
                  "  - {name: HTTP, host: 127.0.0.1, port: 0, adapter: http}\n" +
                  more_listeners);
    p_ = std::make_unique<process>(mosaicd, std::vector<std::string>{"--config", "node.yaml"}, dir.path());
    EXPECT_TRUE(p_->wait_for_log("mosaicd started")) << p_->err();
    bootstrap_ = "127.0.0.1:" + std::to_string(port_in(p_->err(), "PLAINTEXT"));
    http_port_ = port_in(p_->err(), "HTTP");
    base_ = "http://127.0.0.1:" + std::to_string(http_port_);
  }
  const std::string& bootstrap() const { return bootstrap_; }
  const std::string& base() const { return base_; }
  uint16_t http_port() const { return http_port_; }
  process& proc() { return *p_; }

  // One request with curl; `extra` are more curl arguments.
  answer call(const std::string& method, const std::string& path, const std::string& body = "",
              const std::string& content_type = "application/json", const std::string& extra = "") const {
    temp_dir scratch("mosaic_curl");
    const auto in = scratch / "in", out = scratch / "out", head = scratch / "head";
    std::ofstream(in, std::ios::binary) << body;
    std::string cmd = "curl -s -m 20 -X " + method + " -o " + out.string() + " -D " + head.string() +
                      " -w '%{http_code}' -H 'Expect:' " + extra;
    if (!body.empty() || method == "POST")
      cmd += " -H 'Content-Type: " + content_type + "' --data-binary @" + in.string();
    cmd += " '" + base_ + path + "'";
    auto r = run_command(cmd);
    answer a;
    a.status = std::atoi(r.out.c_str());
    a.text = slurp(out);
    a.headers = slurp(head);
    a.body = json::parse(a.text, nullptr, false);
    return a;
  }

 private:
  std::unique_ptr<process> p_;
  std::string bootstrap_, base_;
  uint16_t http_port_ = 0;
};

// The error's stable code.
std::string code(const answer& a) {
  return a.body.is_object() && a.body.contains("error") ? a.body["error"].value("code", "") : "(no JSON error)";
}

// Commits `offset` of partition 0 of `topic` for consumer group `group`
// (python3-confluent-kafka, as a consumer that read that far would).
void commit(const http_broker& b, const std::string& group, const std::string& topic, int64_t offset) {
  auto r = run_command(
      "/usr/bin/python3 -c \"\nfrom confluent_kafka import Consumer, TopicPartition\n"
      "c = Consumer({'bootstrap.servers': '" +
      b.bootstrap() + "', 'group.id': '" + group +
      "', 'enable.auto.commit': False})\n"
      "c.commit(offsets=[TopicPartition('" +
      topic + "', 0, " + std::to_string(offset) + ")], asynchronous=False)\nc.close()\n\" 2>&1");
  ASSERT_EQ(r.code, 0) << r.out;
}

int64_t latest(const http_broker& b, const std::string& topic, int partition) {
  auto t = b.call("GET", "/v1/topics/" + topic);
  return t.body["partitions"][partition]["latest_offset"].get<int64_t>();
}

TEST(http, records_cross_between_http_and_kcat_both_ways) {
  temp_dir dir;
  http_broker b(dir);
  auto created = b.call("POST", "/v1/topics", R"({"name": "orders", "partitions": 3})");
  ASSERT_EQ(created.status, 201) << created.text;
  EXPECT_EQ(created.body["partitions"], 3);

  // HTTP in, kcat out: keys, values, headers, the partition by the key's
  // hash as Kafka's Java producer (and librdkafka's murmur2_random) puts it.
  auto produced = b.call("POST", "/v1/topics/orders/records",
                         R"({"records": [{"key": "alice", "value": "first", "headers": {"source": "http"}},
                                         {"key": "bob", "value": "second"},
                                         {"value": "third", "partition": 1}]})");
  ASSERT_EQ(produced.status, 200) << produced.text;
  ASSERT_EQ(produced.body["offsets"].size(), 3u);
  EXPECT_EQ(produced.body["offsets"][2]["partition"], 1);
  auto kcat = run_command("kcat -C -b " + b.bootstrap() + " -t orders -e -q -f '%k=%s %h p%p\\n' 2>&1");
  ASSERT_EQ(kcat.code, 0) << kcat.out;
  EXPECT_NE(kcat.out.find("alice=first source=http"), std::string::npos) << kcat.out;
  EXPECT_NE(kcat.out.find("bob=second"), std::string::npos) << kcat.out;
  EXPECT_NE(kcat.out.find("=third  p1"), std::string::npos) << kcat.out;
  for (const std::string key : {"alice", "bob"}) {
    // The same key through librdkafka's murmur2 partitioner lands beside it.
    run_command("echo '" + key + ":again' | kcat -P -b " + b.bootstrap() +
                " -t orders -K: -X topic.partitioner=murmur2_random");
    const int http_partition = produced.body["offsets"][key == "alice" ? 0 : 1]["partition"].get<int>();
    auto again = run_command("kcat -C -b " + b.bootstrap() + " -t orders -p " + std::to_string(http_partition) +
                             " -e -q -f '%k=%s\\n'");
    EXPECT_NE(again.out.find(key + "=again"), std::string::npos) << key << " went elsewhere: " << kcat.out;
  }

  // kcat in, HTTP out, by offset and by time.
  const int64_t before =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  ASSERT_EQ(
      run_command("printf 'k1:one\\nk2:two\\n' | kcat -P -b " + b.bootstrap() + " -t orders -p 0 -K: -z zstd").code, 0);
  auto fetched = b.call("GET", "/v1/topics/orders/partitions/0/records?offset=earliest&max_records=100");
  ASSERT_EQ(fetched.status, 200) << fetched.text;
  std::set<std::string> values;
  for (const auto& r : fetched.body["records"]) values.insert(r["value"].get<std::string>());
  EXPECT_TRUE(values.count("one") && values.count("two")) << fetched.text;
  auto by_time = b.call(
      "GET", "/v1/topics/orders/partitions/0/records?timestamp=" + std::to_string(before - 1) + "&max_records=1");
  ASSERT_EQ(by_time.status, 200) << by_time.text;
  ASSERT_EQ(by_time.body["records"].size(), 1u) << by_time.text;
  EXPECT_EQ(by_time.body["records"][0]["key"], "k1");
  EXPECT_EQ(by_time.body["next_offset"], by_time.body["records"][0]["offset"].get<int64_t>() + 1);

  // Binary: a body as one value, and base64 both ways.
  const std::string binary("\x00\x01\xfe\xff", 4);
  auto raw = b.call("POST", "/v1/topics/orders/records?partition=2&key=bin", binary, "application/octet-stream");
  ASSERT_EQ(raw.status, 200) << raw.text;
  const int64_t at = raw.body["offsets"][0]["offset"];
  auto back = b.call("GET", "/v1/topics/orders/partitions/2/records?offset=" + std::to_string(at) + "&format=base64");
  ASSERT_EQ(back.status, 200);
  EXPECT_EQ(back.body["records"][0]["value"], "AAH+/w==");
  EXPECT_EQ(back.body["records"][0]["key"], "Ymlu");
  auto b64 = b.call("POST", "/v1/topics/orders/records",
                    R"({"format": "base64", "records": [{"value": "AAH+/w==", "partition": 2}]})");
  ASSERT_EQ(b64.status, 200) << b64.text;
  auto dump =
      run_command("kcat -C -b " + b.bootstrap() + " -t orders -p 2 -o " +
                  std::to_string(b64.body["offsets"][0]["offset"].get<int64_t>()) + " -c 1 -e -q | od -An -tx1");
  EXPECT_NE(dump.out.find("00 01 fe ff"), std::string::npos) << dump.out;
  // JSON values are stored as their JSON text and read back as JSON.
  auto js = b.call("POST", "/v1/topics/orders/records",
                   R"({"format": "json", "records": [{"value": {"n": 7, "tags": ["a"]}, "partition": 1}]})");
  ASSERT_EQ(js.status, 200) << js.text;
  auto js_back = b.call("GET", "/v1/topics/orders/partitions/1/records?offset=" +
                                   std::to_string(js.body["offsets"][0]["offset"].get<int64_t>()) + "&format=json");
  EXPECT_EQ(js_back.body["records"][0]["value"]["n"], 7) << js_back.text;
}

TEST(http, every_endpoint_answers_and_openapi_describes_them_all) {
  temp_dir dir;
  http_broker b(dir);
  auto doc = b.call("GET", "/openapi.json");
  ASSERT_EQ(doc.status, 200);
  EXPECT_EQ(doc.body["openapi"], "3.0.3");
  for (const char* path : {"/v1/cluster", "/v1/topics", "/v1/topics/{topic}", "/v1/topics/{topic}/records",
                           "/v1/topics/{topic}/partitions/{partition}/records", "/v1/groups", "/v1/groups/{group}",
                           "/v1/queues/{group}/receive", "/v1/queues/{group}/acknowledge"})
    EXPECT_TRUE(doc.body["paths"].contains(path)) << path;

  auto cluster = b.call("GET", "/v1/cluster");
  ASSERT_EQ(cluster.status, 200) << cluster.text;
  EXPECT_EQ(cluster.body["controller_id"], 1);
  EXPECT_EQ(cluster.body["brokers"].size(), 1u);
  EXPECT_EQ(cluster.body["quorum"]["leader_id"], 1);

  // Topics in pages, filtered by prefix.
  for (int i = 0; i < 5; ++i)
    ASSERT_EQ(b.call("POST", "/v1/topics", R"({"name": "page-)" + std::to_string(i) + R"(", "partitions": 1})").status,
              201);
  ASSERT_EQ(b.call("POST", "/v1/topics", R"({"name": "other", "partitions": 2, "configs": {"retention.ms": "60000"}})")
                .status,
            201);
  auto first = b.call("GET", "/v1/topics?prefix=page-&limit=2");
  ASSERT_EQ(first.status, 200);
  ASSERT_EQ(first.body["topics"].size(), 2u);
  EXPECT_EQ(first.body["topics"][0]["name"], "page-0");
  EXPECT_EQ(first.body["next"], "page-1");
  auto second = b.call("GET", "/v1/topics?prefix=page-&limit=2&after=page-1");
  EXPECT_EQ(second.body["topics"][0]["name"], "page-2");
  auto last = b.call("GET", "/v1/topics?prefix=page-&limit=2&after=page-3");
  EXPECT_EQ(last.body["topics"].size(), 1u);
  EXPECT_TRUE(last.body["next"].is_null());
  auto other = b.call("GET", "/v1/topics/other");
  ASSERT_EQ(other.status, 200);
  EXPECT_EQ(other.body["partitions"].size(), 2u);
  EXPECT_EQ(other.body["partitions"][1]["leader"], 1);
  EXPECT_EQ(other.body["partitions"][1]["latest_offset"], 0);

  // A consumer group's committed offsets and lag.
  ASSERT_EQ(run_command("seq 1 10 | kcat -P -b " + b.bootstrap() + " -t other -p 0").code, 0);
  commit(b, "readers", "other", 4);
  auto groups = b.call("GET", "/v1/groups");
  ASSERT_EQ(groups.status, 200) << groups.text;
  EXPECT_NE(groups.text.find("\"readers\""), std::string::npos) << groups.text;
  answer group;
  for (int i = 0; i < 50; ++i) {
    group = b.call("GET", "/v1/groups/readers");
    if (group.status == 200) break;
    std::this_thread::sleep_for(100ms);  // the offsets partition loading
  }
  ASSERT_EQ(group.status, 200) << group.text;
  EXPECT_EQ(group.body["type"], "consumer");
  EXPECT_EQ(group.body["lag"], 6) << group.text;
  EXPECT_EQ(group.body["partitions"][0]["committed_offset"], 4);
  EXPECT_EQ(group.body["partitions"][0]["end_offset"], 10);

  // HEAD is GET without the body.
  auto head = b.call("HEAD", "/v1/cluster", "", "", "-I");
  EXPECT_EQ(head.status, 200);
  EXPECT_NE(head.text.find("Content-Length: "), std::string::npos) << head.text;
  EXPECT_EQ(head.text.find('{'), std::string::npos) << head.text;
}

TEST(http, bad_input_gets_a_json_error_and_writes_nothing) {
  temp_dir dir;
  http_broker b(dir);
  ASSERT_EQ(b.call("POST", "/v1/topics", R"({"name": "kept", "partitions": 1})").status, 201);
  ASSERT_EQ(b.call("POST", "/v1/topics/kept/records", R"({"records": [{"value": "the only one"}]})").status, 200);
  struct bad {
    std::string what, method, path, body, type;
    int status;
    std::string code;
  };
  const bad cases[] = {
      {"malformed JSON", "POST", "/v1/topics/kept/records", R"({"records": [{"value": "x"})", "application/json", 400,
       "invalid_json"},
      {"JSON that is not an object", "POST", "/v1/topics/kept/records", "[1, 2]", "application/json", 400,
       "invalid_json"},
      {"a wrong content type", "POST", "/v1/topics/kept/records", R"({"records": [{"value": "x"}]})", "text/plain", 415,
       "unsupported_media_type"},
      {"an unknown topic", "POST", "/v1/topics/nope/records", R"({"records": [{"value": "x"}]})", "application/json",
       404, "unknown_topic_or_partition"},
      {"an unknown partition", "POST", "/v1/topics/kept/records", R"({"records": [{"value": "x", "partition": 9}]})",
       "application/json", 404, "unknown_topic_or_partition"},
      {"no records", "POST", "/v1/topics/kept/records", R"({"records": []})", "application/json", 400,
       "invalid_request"},
      {"a value of the wrong type", "POST", "/v1/topics/kept/records", R"({"records": [{"value": 5}]})",
       "application/json", 400, "invalid_record"},
      {"bad base64", "POST", "/v1/topics/kept/records", R"({"format": "base64", "records": [{"value": "!!"}]})",
       "application/json", 400, "invalid_record"},
      {"an unknown format", "POST", "/v1/topics/kept/records", R"({"format": "xml", "records": [{"value": "x"}]})",
       "application/json", 400, "invalid_request"},
      {"an oversized body", "POST", "/v1/topics/kept/records",
       R"({"records": [{"value": ")" + std::string(70000, 'x') + "\"}]}", "application/json", 413, "body_too_large"},
      {"POST to a read-only endpoint", "POST", "/v1/cluster", "{}", "application/json", 405, "method_not_allowed"},
      {"DELETE of records", "DELETE", "/v1/topics/kept/records", "", "", 405, "method_not_allowed"},
      {"a path that is nothing", "GET", "/v2/anything", "", "", 404, "not_found"},
      {"a bad offset", "GET", "/v1/topics/kept/partitions/0/records?offset=soon", "", "", 400, "invalid_parameter"},
      {"a wait past the limit", "GET", "/v1/topics/kept/partitions/0/records?wait_ms=999999", "", "", 400,
       "invalid_parameter"},
      {"a partition that is not a number", "GET", "/v1/topics/kept/partitions/x/records", "", "", 404,
       "unknown_topic_or_partition"},
      {"a topic without a name", "POST", "/v1/topics", R"({"partitions": 1})", "application/json", 400,
       "invalid_request"},
      {"a topic that exists", "POST", "/v1/topics", R"({"name": "kept"})", "application/json", 409,
       "topic_already_exists"},
      {"a bad receipt handle", "POST", "/v1/queues/g/acknowledge",
       R"({"acks": [{"receipt": "AAAAbad", "type": "accept"}]})", "application/json", 400, "invalid_receipt"},
      {"an unknown ack type", "POST", "/v1/queues/g/acknowledge", R"({"acks": [{"receipt": "x", "type": "maybe"}]})",
       "application/json", 400, "invalid_request"},
      {"a receive without a topic", "POST", "/v1/queues/g/receive", R"({"max_records": 1})", "application/json", 400,
       "invalid_request"},
  };
  for (const auto& c : cases) {
    auto a = b.call(c.method, c.path, c.body, c.type);
    EXPECT_EQ(a.status, c.status) << c.what << ": " << a.text;
    EXPECT_EQ(code(a), c.code) << c.what << ": " << a.text;
    EXPECT_FALSE(a.body["error"].value("message", "").empty()) << c.what;
    if (c.status == 405) {
      EXPECT_NE(a.headers.find("Allow: "), std::string::npos) << c.what;
    }
  }
  // A header past 16 KiB, and bytes that are not HTTP: an error, then the
  // connection closes; the broker serves on.
  auto big = b.call("GET", "/v1/cluster", "", "", "-H 'X-Big: " + std::string(20000, 'h') + "'");
  EXPECT_EQ(big.status, 431) << big.text;
  frame_client raw(b.http_port());
  const std::string junk = "\x16\x03\x01 this is not HTTP\r\n\r\n";
  ASSERT_TRUE(raw.send_raw(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(junk.data()), junk.size())));
  std::string got;
  char buf[512];
  for (ssize_t n; (n = ::recv(raw.fd(), buf, sizeof buf, 0)) > 0;) got.append(buf, static_cast<size_t>(n));
  EXPECT_EQ(got.rfind("HTTP/1.1 400 ", 0), 0u) << got;
  EXPECT_NE(got.find("\"bad_request\""), std::string::npos) << got;
  // Nothing was written by any of them.
  EXPECT_EQ(latest(b, "kept", 0), 1);
  auto t = b.call("GET", "/v1/topics?prefix=nope");
  EXPECT_TRUE(t.body["topics"].empty());
  EXPECT_EQ(b.call("GET", "/v1/cluster").status, 200);
}

TEST(http, keep_alive_connections_answer_pipelined_requests_in_order) {
  temp_dir dir;
  http_broker b(dir);
  ASSERT_EQ(b.call("POST", "/v1/topics", R"({"name": "p", "partitions": 1})").status, 201);
  frame_client c(b.http_port());
  const std::string body = R"({"records": [{"value": "piped"}]})";
  const std::string two =
      "POST /v1/topics/p/records HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
      "Content-Length: " +
      std::to_string(body.size()) + "\r\n\r\n" + body +
      "GET /v1/topics/p HTTP/1.1\r\nHost: x\r\n\r\n"
      "GET /openapi.json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  ASSERT_TRUE(c.send_raw(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(two.data()), two.size())));
  std::string got;
  char buf[4096];
  for (ssize_t n; (n = ::recv(c.fd(), buf, sizeof buf, 0)) > 0;) got.append(buf, static_cast<size_t>(n));
  const auto first = got.find("HTTP/1.1 200 OK"), second = got.find("HTTP/1.1 200 OK", first + 1),
             third = got.find("HTTP/1.1 200 OK", second + 1);
  ASSERT_NE(third, std::string::npos) << got;
  EXPECT_NE(got.find("\"offsets\"", first), std::string::npos);
  EXPECT_LT(got.find("\"offsets\""), second);
  // Answers in request order (the requests themselves may run side by
  // side, as HTTP allows).
  EXPECT_NE(got.find("\"name\":\"p\"", second), std::string::npos) << got;
  EXPECT_LT(got.find("\"name\":\"p\"", second), third) << got;
  EXPECT_NE(got.find("\"openapi\"", third), std::string::npos) << got;
  EXPECT_NE(got.find("Connection: close", third), std::string::npos) << got;
}

TEST(http, queue_receive_and_each_kind_of_acknowledgement) {
  temp_dir dir;
  http_broker b(dir);
  ASSERT_EQ(b.call("POST", "/v1/topics", R"({"name": "jobs", "partitions": 1})").status, 201);
#ifndef MOSAIC_RDKAFKA_SHARE_CHECK
  FAIL() << "librdkafka 2.15.1 was not built: run tools/librdkafka";
#else
  // The group reads from the start of the topic, with 1 s locks.
  const std::string check = std::string(MOSAIC_RDKAFKA_SHARE_CHECK) + " " + b.bootstrap() + " config workers ";
  ASSERT_EQ(run_command(check + "share.auto.offset.reset earliest 2>&1").out, "");
  ASSERT_EQ(run_command(check + "share.record.lock.duration.ms 1000 2>&1").out, "");
#endif
  ASSERT_EQ(b.call("POST", "/v1/topics/jobs/records",
                   R"({"records": [{"value": "a"}, {"value": "b"}, {"value": "c"}, {"value": "d"}]})")
                .status,
            200);
  auto got = b.call("POST", "/v1/queues/workers/receive", R"({"topic": "jobs", "max_records": 4, "wait_ms": 5000})");
  ASSERT_EQ(got.status, 200) << got.text;
  ASSERT_EQ(got.body["records"].size(), 4u) << got.text;
  EXPECT_EQ(got.body["lock_ms"], 1000);
  const auto& r = got.body["records"];
  EXPECT_EQ(r[0]["delivery_count"], 1);
  // A receipt altered by one character is refused, and nothing is acked.
  std::string altered = r[0]["receipt"];
  altered[10] = altered[10] == 'A' ? 'B' : 'A';
  auto forged = b.call(
      "POST", "/v1/queues/workers/acknowledge",
      json({{"acks", {{{"receipt", r[1]["receipt"]}, {"type", "accept"}}, {{"receipt", altered}, {"type", "accept"}}}}})
          .dump());
  EXPECT_EQ(forged.status, 400);
  EXPECT_EQ(code(forged), "invalid_receipt");
  auto acked = b.call("POST", "/v1/queues/workers/acknowledge",
                      json({{"acks",
                             {{{"receipt", r[0]["receipt"]}, {"type", "accept"}},
                              {{"receipt", r[1]["receipt"]}, {"type", "release"}},
                              {{"receipt", r[2]["receipt"]}, {"type", "reject"}},
                              {{"receipt", r[3]["receipt"]}, {"type", "renew"}}}}})
                          .dump());
  ASSERT_EQ(acked.status, 200) << acked.text;
  for (const auto& one : acked.body["results"]) EXPECT_TRUE(one["acknowledged"].get<bool>()) << acked.text;
  // b comes again (released); c never (rejected); d is still locked
  // (renewed), then comes again once its lock lapses.
  auto again = b.call("POST", "/v1/queues/workers/receive", R"({"topic": "jobs", "max_records": 4, "wait_ms": 3000})");
  ASSERT_EQ(again.status, 200) << again.text;
  std::set<std::string> values;
  for (const auto& one : again.body["records"]) values.insert(one["value"].get<std::string>());
  EXPECT_TRUE(values.count("b")) << again.text;
  EXPECT_FALSE(values.count("a") || values.count("c")) << again.text;
  auto group = b.call("GET", "/v1/groups/workers");
  EXPECT_EQ(group.body["type"], "share") << group.text;
  EXPECT_EQ(group.body["partitions"][0]["rejected"], 1) << group.text;
}

TEST(http, an_http_queue_worker_and_a_librdkafka_share_consumer_share_a_group_and_finish_no_record_twice) {
#ifndef MOSAIC_RDKAFKA_SHARE_CHECK
  FAIL() << "librdkafka 2.15.1 was not built: run tools/librdkafka";
#else
  temp_dir dir;
  http_broker b(dir);
  const std::string check = std::string("timeout 120 ") + MOSAIC_RDKAFKA_SHARE_CHECK + " " + b.bootstrap() + " ";
  ASSERT_EQ(run_command(check + "produce mixed 400 2 2>&1").out, "");
  ASSERT_EQ(run_command(check + "config mixed-group share.auto.offset.reset earliest 2>&1").out, "");
  const auto stop = dir / "stop", out = dir / "rdkafka.txt";
  process rdkafka(MOSAIC_RDKAFKA_SHARE_CHECK,
                  {b.bootstrap(), "accepted", "mixed", "mixed-group", stop.string(), out.string()}, dir.path());
  auto worker =
      run_command("timeout 120 /usr/bin/python3 " MOSAIC_SOURCE_DIR "/tests/integration/http_queue_worker.py " +
                  b.base() + " mixed-group mixed 4 2>&1");
  std::ofstream(stop) << "";
  EXPECT_TRUE(rdkafka.wait(30s).has_value());
  std::set<int> by_http, by_rdkafka;
  int twice = 0;
  for (const auto& line : lines(worker.out)) {
    ASSERT_EQ(line.rfind("accepted ", 0), 0u) << worker.out;
    twice += !by_http.insert(std::stoi(line.substr(9))).second;
  }
  for (const auto& line : lines(slurp(out))) twice += !by_rdkafka.insert(std::stoi(line.substr(9))).second;
  for (int v : by_http) twice += by_rdkafka.count(v);
  EXPECT_EQ(twice, 0);
  EXPECT_GT(by_http.size(), 0u);
  EXPECT_GT(by_rdkafka.size(), 0u);
  EXPECT_EQ(by_http.size() + by_rdkafka.size(), 400u)
      << "http " << by_http.size() << ", librdkafka " << by_rdkafka.size() << "\n"
      << worker.out.substr(0, 2000);
#endif
}

TEST(http, a_sasl_listener_takes_basic_credentials_and_acls_decide_what_they_may_do) {
  temp_dir dir;
  dir.write("users.txt", user_line("alice", "alice-secret") + user_line("bob", "bob-secret"));
  http_broker b(dir,
                "  - {name: SECURE, host: 127.0.0.1, port: 0, adapter: http, security.protocol: SASL_PLAINTEXT, "
                "sasl.enabled.mechanisms: [PLAIN]}\n"
                "authorizer: acl\n"
                "super.users: [User:alice, User:ANONYMOUS]\n",
                "    - {name: mosaic.authn.plain, config: {users.file: users.txt}}\n");
  const std::string secure = "http://127.0.0.1:" + std::to_string(port_in(b.proc().err(), "SECURE"));
  ASSERT_EQ(b.call("POST", "/v1/topics", R"({"name": "guarded", "partitions": 1})").status, 201);
  auto curl = [&](const std::string& auth, const std::string& path) {
    return run_command("curl -s -m 10 -o /dev/null -w '%{http_code}' " + auth + " '" + secure + path + "'").out;
  };
  // No credentials, a wrong password, a scheme it does not take: 401.
  EXPECT_EQ(curl("", "/v1/topics/guarded"), "401");
  EXPECT_EQ(curl("-u alice:wrong", "/v1/topics/guarded"), "401");
  EXPECT_EQ(curl("-H 'Authorization: Digest x'", "/v1/topics/guarded"), "401");
  auto challenge = run_command("curl -s -m 10 -D - -o /dev/null '" + secure + "/v1/cluster'");
  EXPECT_NE(challenge.out.find("WWW-Authenticate: Basic"), std::string::npos) << challenge.out;
  // alice is a super user; bob has no ACL on the topic: 403.
  EXPECT_EQ(curl("-u alice:alice-secret", "/v1/topics/guarded"), "200");
  EXPECT_EQ(curl("-u bob:bob-secret", "/v1/topics/guarded"), "403");
  auto acl = run_command(MOSAIC_CLI_PATH " --bootstrap " + b.bootstrap() +
                         " acl add --allow --principal User:bob --operation Describe --topic guarded 2>&1");
  ASSERT_EQ(acl.code, 0) << acl.out;
  EXPECT_EQ(curl("-u bob:bob-secret", "/v1/topics/guarded"), "200");
  EXPECT_EQ(curl("-u bob:bob-secret -X POST -H 'Content-Type: application/json' -d '{\"records\": [{\"value\": "
                 "\"x\"}]}'",
                 "/v1/topics/guarded/records"),
            "403");
  EXPECT_EQ(latest(b, "guarded", 0), 0);
}

TEST(http, tls_listeners_encrypt_http_and_sasl_ssl_takes_basic_credentials) {
  temp_dir dir;
  auto certs =
      run_command(std::string(MOSAIC_SOURCE_DIR) + "/tools/make-test-certs " + (dir / "certs").string() + " alice");
  ASSERT_EQ(certs.code, 0) << certs.out;
  dir.write("users.txt", user_line("alice", "alice-secret"));
  http_broker b(dir,
                "  - {name: HTTPS, host: 127.0.0.1, port: 0, adapter: http, security.protocol: SSL}\n"
                "  - {name: SECURE, host: 127.0.0.1, port: 0, adapter: http, security.protocol: SASL_SSL, "
                "sasl.enabled.mechanisms: [PLAIN]}\n"
                "ssl.keystore.location: certs/broker.pem\n"
                "ssl.truststore.location: certs/ca.pem\n",
                "    - {name: mosaic.authn.plain, config: {users.file: users.txt}}\n");
  const std::string ca = (dir / "certs" / "ca.pem").string();
  const std::string https = "https://127.0.0.1:" + std::to_string(port_in(b.proc().err(), "HTTPS"));
  const std::string secure = "https://127.0.0.1:" + std::to_string(port_in(b.proc().err(), "SECURE"));
  auto ok = run_command("curl -s -m 10 --cacert " + ca +
                        " -X POST -H 'Content-Type: application/json' -d "
                        "'{\"name\": \"sealed\"}' -w ' %{http_code}' " +
                        https + "/v1/topics");
  EXPECT_NE(ok.out.find("\"name\":\"sealed\""), std::string::npos) << ok.out;
  EXPECT_NE(ok.out.find(" 201"), std::string::npos) << ok.out;
  // Plain HTTP to the TLS port gets no HTTP answer; an unknown CA, no
  // connection.
  auto plain = run_command("curl -s -m 10 -o /dev/null -w '%{http_code}' http" + https.substr(5) + "/v1/cluster");
  EXPECT_NE(plain.out, "200") << plain.out;
  auto untrusted = run_command("curl -s -m 10 -o /dev/null -w '%{http_code}' " + https + "/v1/cluster");
  EXPECT_EQ(untrusted.out, "000") << untrusted.out;
  auto code = [&](const std::string& auth) {
    return run_command("curl -s -m 10 --cacert " + ca + " -o /dev/null -w '%{http_code}' " + auth + " " + secure +
                       "/v1/topics/sealed")
        .out;
  };
  EXPECT_EQ(code(""), "401");
  EXPECT_EQ(code("-u alice:nope"), "401");
  EXPECT_EQ(code("-u alice:alice-secret"), "200");
  EXPECT_EQ(b.call("GET", "/v1/cluster").status, 200);  // the broker serves on
}

TEST(http, the_web_console_in_headless_chromium_shows_topics_groups_and_lag_at_a_thousand_topics) {
  temp_dir dir;
  http_broker b(dir);
  // A thousand topics (over one keep-alive connection), and a group that
  // committed 30 of 100 records.
  auto made =
      run_command("/usr/bin/python3 -c \"\nimport http.client, json\nc = http.client.HTTPConnection('127.0.0.1', " +
                  std::to_string(b.http_port()) +
                  ")\nfor i in range(1000):\n  c.request('POST', '/v1/topics', json.dumps({'name': 'topic-%04d' % i, "
                  "'partitions': 1}), {'Content-Type': 'application/json'})\n  r = c.getresponse(); r.read()\n"
                  "  assert r.status == 201, r.status\n\" 2>&1");
  ASSERT_EQ(made.code, 0) << made.out;
  ASSERT_EQ(run_command("seq 1 100 | kcat -P -b " + b.bootstrap() + " -t topic-0500 -p 0").code, 0);
  commit(b, "billing", "topic-0500", 30);
  const std::string shots = MOSAIC_ARTIFACT_DIR;
  auto out = run_command("timeout 120 /usr/bin/python3 " MOSAIC_SOURCE_DIR "/tests/integration/console_check.py " +
                         b.base() + " topic-0777 billing 1000 " + shots + " 2>&1");
  EXPECT_EQ(out.code, 0) << out.out;
  EXPECT_EQ(out.out.find("FAIL"), std::string::npos) << out.out;
  EXPECT_NE(out.out.find("ok the group's lag is shown (70 records"), std::string::npos) << out.out;
  EXPECT_TRUE(std::filesystem::exists(shots + "/console-group.png"));
  // The console's files come from this broker alone, with a policy that
  // says so.
  auto page = b.call("GET", "/console/");
  EXPECT_EQ(page.status, 200);
  EXPECT_NE(page.headers.find("Content-Security-Policy: default-src 'self'"), std::string::npos) << page.headers;
  EXPECT_EQ(page.text.find("http://"), std::string::npos);
  EXPECT_EQ(page.text.find("https://"), std::string::npos);
  EXPECT_EQ(b.call("GET", "/console/console.js").text.find("https://"), std::string::npos);
  EXPECT_EQ(b.call("GET", "/console/nothing.js").status, 404);
  auto root = b.call("GET", "/");
  EXPECT_EQ(root.status, 302);
  EXPECT_NE(root.headers.find("Location: /console/"), std::string::npos);
}

}  // namespace
}  // namespace mosaic::testing

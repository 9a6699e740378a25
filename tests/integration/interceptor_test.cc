// Record interceptors on a real mosaicd: a JSON Schema on one topic and a
// header stamp on every topic, with kcat, python3-confluent-kafka and a
// hand-made Produce (to read the error message and the record at fault on
// the wire, which librdkafka does not show its application); a failing
// interceptor refusing batches while the broker serves on; a reload that
// reads an edited schema, and one that is refused and keeps the chain; and
// the configurations refused at start.
#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <string>

#include "kernel/log/batch_builder.h"
#include "tests/integration/process.h"
#include "tests/support/kafka_call.h"
#include "tests/support/shell.h"
#include "tests/support/temp_dir.h"

namespace mosaic::testing {
namespace {

using namespace std::chrono_literals;

const std::string mosaicd = MOSAICD_PATH;
const std::string faulty_lib = MOSAIC_FIXTURE_DIR "/libfaulty_interceptor.so";

const char* const order_schema = R"({"type": "object",
  "properties": {"id": {"type": "integer", "minimum": 1}, "amount": {"type": "number"}},
  "required": ["id", "amount"]})";

std::string node_yaml(const std::string& interceptors) {
  return "log.dirs: [data]\n"
         "listeners: [{name: PLAINTEXT, host: 127.0.0.1, port: 0, adapter: kafka}]\n"
         "plugins:\n"
         "  search_paths: [" MOSAIC_PLUGIN_DIR
         "]\n"
         "  interceptors:\n" +
         interceptors;
}

const std::string chain =
    "    - {name: mosaic.interceptor.json_schema, config: {schema.file: order.json}, topics: [orders]}\n"
    "    - {name: mosaic.interceptor.header_stamp, prefixes: ['']," +
    std::string(" config: {headers: ['x-producer=${principal}', 'x-client=${client.id}']}}\n") +
    "    - {name: test.interceptor.faulty, library: " + faulty_lib + ", config: {fail.every: 2}, topics: [flaky]}\n";

// What kcat reads back: "offset value headers" lines.
std::vector<std::string> read_back(const std::string& bootstrap, const std::string& topic) {
  auto r = run_command("kcat -C -b " + bootstrap + " -t " + topic + " -e -q -f '%o %s %h\\n' 2>&1");
  EXPECT_EQ(r.code, 0) << r.out;
  return lines(r.out);
}

TEST(interceptors, a_schema_refuses_whole_batches_and_a_stamp_adds_unforgeable_headers) {
  temp_dir dir;
  dir.write("order.json", order_schema);
  dir.write("node.yaml", node_yaml(chain));
  process p(mosaicd, {"--config", "node.yaml"}, dir.path());
  ASSERT_TRUE(p.wait_for_log("mosaicd started")) << p.err();
  EXPECT_NE(p.err().find("plugin mosaic.interceptor.json_schema"), std::string::npos) << p.err();
  EXPECT_NE(p.err().find("intercepts orders"), std::string::npos) << p.err();
  EXPECT_NE(p.err().find("intercepts every topic"), std::string::npos) << p.err();
  const uint16_t port = port_in(p.err(), "PLAINTEXT");
  const std::string bootstrap = "127.0.0.1:" + std::to_string(port);

  // kcat: a good record in, with a forged header that the stamp replaces;
  // a bad one refused, the broker's refusal reported.
  auto good = run_command("echo '{\"id\": 1, \"amount\": 5}' | kcat -P -b " + bootstrap +
                          " -t orders -X client.id=shop -H x-producer=forged 2>&1");
  ASSERT_EQ(good.code, 0) << good.out;
  auto bad = run_command("echo '{\"id\": 0, \"amount\": 5}' | kcat -P -b " + bootstrap + " -t orders 2>&1");
  EXPECT_NE(bad.code, 0) << bad.out;
  EXPECT_NE(bad.out.find("Broker failed to validate record"), std::string::npos) << bad.out;

  // python3-confluent-kafka, lz4: three records in one batch, the second
  // bad: all three refused with INVALID_RECORD; then a good batch of two.
  dir.write("produce.py", R"(import sys
from confluent_kafka import Producer
p = Producer({"bootstrap.servers": sys.argv[1], "linger.ms": 100, "compression.type": "lz4",
              "client.id": "py-shop", "enable.idempotence": True})
out = []
def cb(err, msg):
    out.append("ERR %s" % err.name() if err else "OK %d" % msg.offset())
for v in ['{"id": 3, "amount": 1}', '{"id": "three", "amount": 1}', '{"id": 4, "amount": 2}']:
    p.produce("orders", v.encode(), headers=[("x-producer", b"forged")], on_delivery=cb)
p.flush(20)
for v in ['{"id": 5, "amount": 1}', '{"id": 6, "amount": 1.5}']:
    p.produce("orders", v.encode(), on_delivery=cb)
p.flush(20)
print("\n".join(out))
)");
  auto py = run_command("cd " + dir.path().string() + " && /usr/bin/python3 produce.py " + bootstrap + " 2>&1");
  ASSERT_EQ(py.code, 0) << py.out;
  EXPECT_EQ(lines(py.out), (std::vector<std::string>{"ERR INVALID_RECORD", "ERR INVALID_RECORD", "ERR INVALID_RECORD",
                                                     "OK 1", "OK 2"}))
      << py.out;

  // Nothing of a refused batch was stored; the stamps are there, forged
  // ones replaced, also in the lz4 batch the broker rewrote.
  EXPECT_EQ(read_back(bootstrap, "orders"),
            (std::vector<std::string>{"0 {\"id\": 1, \"amount\": 5} x-producer=User:ANONYMOUS,x-client=shop",
                                      "1 {\"id\": 5, \"amount\": 1} x-producer=User:ANONYMOUS,x-client=py-shop",
                                      "2 {\"id\": 6, \"amount\": 1.5} x-producer=User:ANONYMOUS,x-client=py-shop"}));

  // On the wire: the reason and the record at fault (KIP-467).
  frame_client c(port);
  ASSERT_TRUE(c.connected());
  log::batch_builder b;
  b.add("k", std::string(R"({"id": 7, "amount": 1})"));
  b.add("k", std::string(R"({"amount": 1})"));
  const auto records = b.finish();
  auto r = call<kafka::msg::produce_response>(c, 0, 9, produce_request("orders", 0, records));
  ASSERT_TRUE(r);
  const auto& part = r->responses.at(0).partition_responses.at(0);
  EXPECT_EQ(part.error_code, 87);  // INVALID_RECORD
  ASSERT_TRUE(part.error_message.has_value());
  EXPECT_NE(part.error_message->find("record 1 of the batch does not match the schema"), std::string::npos)
      << *part.error_message;
  EXPECT_NE(part.error_message->find("the required property 'id' is missing"), std::string::npos)
      << *part.error_message;
  ASSERT_EQ(part.record_errors.size(), 1u);
  EXPECT_EQ(part.record_errors[0].batch_index, 1);
  EXPECT_EQ(read_back(bootstrap, "orders").size(), 3u);

  // A topic the schema is not attached to takes anything, stamped.
  auto free_form = run_command("echo 'not json' | kcat -P -b " + bootstrap + " -t notes 2>&1");
  ASSERT_EQ(free_form.code, 0) << free_form.out;
  EXPECT_EQ(read_back(bootstrap, "notes"),
            (std::vector<std::string>{"0 not json x-producer=User:ANONYMOUS,x-client=rdkafka"}));
  p.signal(SIGTERM);
  EXPECT_EQ(p.wait(10s), 0) << p.err();
}

TEST(interceptors, a_failing_interceptor_refuses_its_batches_and_the_broker_serves_on) {
  temp_dir dir;
  dir.write("order.json", order_schema);
  dir.write("node.yaml", node_yaml(chain));
  process p(mosaicd, {"--config", "node.yaml"}, dir.path());
  ASSERT_TRUE(p.wait_for_log("mosaicd started")) << p.err();
  const uint16_t port = port_in(p.err(), "PLAINTEXT");
  const std::string bootstrap = "127.0.0.1:" + std::to_string(port);
  ASSERT_EQ(run_command("kcat -L -b " + bootstrap + " -t flaky >/dev/null 2>&1").code, 0);  // creates it
  frame_client c(port);
  ASSERT_TRUE(c.connected());
  // fail.every 2: every second produce to 'flaky' fails in the plugin.
  int stored = 0, failed = 0;
  for (int i = 0; i < 10; ++i) {
    log::batch_builder b;
    b.add(std::nullopt, "record " + std::to_string(i));
    const auto records = b.finish();
    auto r = call<kafka::msg::produce_response>(c, 0, 9, produce_request("flaky", 0, records));
    ASSERT_TRUE(r);
    const auto& part = r->responses.at(0).partition_responses.at(0);
    if (part.error_code == 0) {
      ++stored;
    } else {
      ++failed;
      EXPECT_EQ(part.error_code, -1);  // UNKNOWN_SERVER_ERROR: the batch was not judged, so not taken
      ASSERT_TRUE(part.error_message.has_value());
      EXPECT_NE(part.error_message->find("record interceptor test.interceptor.faulty failed: call"), std::string::npos)
          << *part.error_message;
    }
  }
  EXPECT_EQ(stored, 5);
  EXPECT_EQ(failed, 5);
  EXPECT_EQ(read_back(bootstrap, "flaky").size(), 5u);
  // Other topics are untouched by it.
  auto other = run_command("seq 1 20 | kcat -P -b " + bootstrap + " -t other 2>&1");
  EXPECT_EQ(other.code, 0) << other.out;
  EXPECT_EQ(read_back(bootstrap, "other").size(), 20u);
  p.signal(SIGTERM);
  EXPECT_EQ(p.wait(10s), 0) << p.err();
}

TEST(interceptors, a_reload_reads_an_edited_schema_and_a_bad_one_keeps_the_chain) {
  temp_dir dir;
  dir.write("order.json", order_schema);
  dir.write("node.yaml", node_yaml(chain));
  process p(mosaicd, {"--config", "node.yaml"}, dir.path());
  ASSERT_TRUE(p.wait_for_log("mosaicd started")) << p.err();
  const std::string bootstrap = "127.0.0.1:" + std::to_string(port_in(p.err(), "PLAINTEXT"));
  auto produce = [&](const std::string& json) {
    return run_command("echo '" + json + "' | kcat -P -b " + bootstrap + " -t orders 2>&1").code;
  };
  ASSERT_EQ(produce(R"({"id": 1, "amount": 5})"), 0);
  // The schema file edited in place, the config unchanged: SIGHUP reads it.
  dir.write("order.json", R"({"type": "object", "required": ["id", "amount", "currency"]})");
  p.signal(SIGHUP);
  ASSERT_TRUE(p.wait_for_log("intercepts orders: schema.file=order.json, null.values=accept, generation 2")) << p.err();
  EXPECT_NE(produce(R"({"id": 2, "amount": 5})"), 0);
  EXPECT_EQ(produce(R"({"id": 2, "amount": 5, "currency": "EUR"})"), 0);
  // A schema outside the subset: the reload is refused, the chain stays.
  dir.write("order.json", R"({"type": "object", "patternProperties": {"^x": {}}})");
  p.signal(SIGHUP);
  ASSERT_TRUE(p.wait_for_log("the running interceptors stay")) << p.err();
  EXPECT_NE(p.err().find("keyword 'patternProperties' is not in the supported subset"), std::string::npos) << p.err();
  EXPECT_NE(produce(R"({"id": 3, "amount": 5})"), 0);
  EXPECT_EQ(produce(R"({"id": 3, "amount": 5, "currency": "EUR"})"), 0);
  EXPECT_EQ(read_back(bootstrap, "orders").size(), 3u);
  p.signal(SIGTERM);
  EXPECT_EQ(p.wait(10s), 0) << p.err();
}

TEST(interceptors, configurations_that_cannot_work_are_refused_at_start) {
  struct refusal {
    std::string interceptors;
    std::string says;
  };
  const std::vector<refusal> cases = {
      {"    - {name: mosaic.codec.lz4, topics: [t]}\n", "a codec plugin, not a record interceptor"},
      {"    - {name: com.example.interceptor.nowhere, topics: [t]}\n", "cannot be loaded"},
      {"    - {name: mosaic.interceptor.header_stamp, config: {headers: ['x=${who}']}, topics: [t]}\n",
       "unknown placeholder ${who}"},
      {"    - {name: mosaic.interceptor.json_schema, config: {schema.file: missing.json}, topics: [t]}\n",
       "cannot read 'missing.json'"},
      {"    - {name: mosaic.interceptor.json_schema, config: {schema.file: order.json}}\n",
       "a record interceptor needs topics or prefixes"},
      {"    - {name: mosaic.interceptor.json_schema, config: {schema.file: order.json}, topics: [t], when: x}\n",
       "unknown key (name, library, config, topics, prefixes)"},
      {"    - {name: mosaic.interceptor.json_schema, config: {schema: order.json}, topics: [t]}\n", "schema"},
  };
  for (const auto& c : cases) {
    temp_dir dir;
    dir.write("order.json", order_schema);
    dir.write("node.yaml", node_yaml(c.interceptors));
    process check(mosaicd, {"--validate-config", "node.yaml"}, dir.path());
    EXPECT_NE(check.wait(20s), std::optional<int>(0)) << c.interceptors;
    EXPECT_NE(check.err().find(c.says), std::string::npos) << c.interceptors << check.err();
    process p(mosaicd, {"--config", "node.yaml"}, dir.path());
    EXPECT_NE(p.wait(20s), std::optional<int>(0)) << c.interceptors;
    EXPECT_NE(p.err().find(c.says), std::string::npos) << c.interceptors << p.err();
  }
}

// plugins.trust on a real mosaicd, with the CLI's keys and signatures: a
// signed library loads, an unsigned one stops the start, and a reload that
// names an unsigned one is refused while the running chain serves on.
TEST(interceptors, libraries_load_only_as_plugins_trust_allows) {
  temp_dir dir;
  const std::string cli = MOSAIC_CLI_PATH;
  const auto trusted = dir.path() / "trusted";
  std::filesystem::create_directories(trusted);
  std::filesystem::permissions(trusted, std::filesystem::perms(0755));
  for (const char* lib : {"libmosaic_interceptor_header_stamp.so", "libmosaic_interceptor_json_schema.so"})
    std::filesystem::copy_file(std::string(MOSAIC_PLUGIN_DIR) + "/" + lib, trusted / lib);
  auto keygen = run_command("cd " + dir.path().string() + " && " + cli + " plugin keygen ops 2>/dev/null");
  ASSERT_EQ(keygen.code, 0) << keygen.out;
  std::string public_key;
  std::getline(std::ifstream(dir.path() / "ops.pub"), public_key);
  EXPECT_NE(keygen.out.find(public_key), std::string::npos) << keygen.out;  // printed too
  EXPECT_EQ(std::filesystem::status(dir.path() / "ops.key").permissions(), std::filesystem::perms(0600));
  auto sign = run_command(cli + " plugin sign --key " + (dir.path() / "ops.key").string() + " " +
                          (trusted / "libmosaic_interceptor_header_stamp.so").string() + " 2>&1");
  ASSERT_EQ(sign.code, 0) << sign.out;
  auto verify = run_command(cli + " plugin verify --public-key " + (dir.path() / "ops.pub").string() + " " +
                            (trusted / "libmosaic_interceptor_header_stamp.so").string() + " 2>&1");
  EXPECT_EQ(verify.code, 0) << verify.out;
  auto unsigned_one = run_command(cli + " plugin verify --public-key " + public_key + " " +
                                  (trusted / "libmosaic_interceptor_json_schema.so").string() + " 2>&1");
  EXPECT_EQ(unsigned_one.code, 1) << unsigned_one.out;
  EXPECT_NE(unsigned_one.out.find("it is not signed"), std::string::npos) << unsigned_one.out;
  const std::string trust = "  trust: {folders: [" + trusted.string() + "], require_signatures: true, " +
                            "public_keys: ['" + public_key + "']}\n";
  auto yaml = [&](const std::string& library) {
    return "log.dirs: [data]\n"
           "listeners: [{name: PLAINTEXT, host: 127.0.0.1, port: 0, adapter: kafka}]\n"
           "plugins:\n" +
           trust + "  interceptors:\n    - {name: mosaic.interceptor.header_stamp, library: " + library +
           ", config: {headers: ['x-who=${principal}']}, prefixes: ['']}\n";
  };
  // Unsigned, or from outside the trusted folder: refused at start.
  dir.write("json.yaml", yaml((trusted / "libmosaic_interceptor_json_schema.so").string()) +
                             "    - {name: mosaic.interceptor.json_schema, library: " +
                             (trusted / "libmosaic_interceptor_json_schema.so").string() +
                             ", config: {schema.file: x.json}, topics: [t]}\n");
  process refused(mosaicd, {"--config", "json.yaml"}, dir.path());
  EXPECT_NE(refused.wait(20s), std::optional<int>(0));
  EXPECT_NE(refused.err().find("refused by plugins.trust: it is not signed"), std::string::npos) << refused.err();
  dir.write("outside.yaml", yaml(std::string(MOSAIC_PLUGIN_DIR) + "/libmosaic_interceptor_header_stamp.so"));
  process outside(mosaicd, {"--config", "outside.yaml"}, dir.path());
  EXPECT_NE(outside.wait(20s), std::optional<int>(0));
  EXPECT_NE(outside.err().find("it is not in a trusted folder"), std::string::npos) << outside.err();
  // Signed, from the trusted folder: loaded and serving.
  dir.write("node.yaml", yaml((trusted / "libmosaic_interceptor_header_stamp.so").string()));
  process p(mosaicd, {"--config", "node.yaml"}, dir.path());
  ASSERT_TRUE(p.wait_for_log("mosaicd started")) << p.err();
  const std::string bootstrap = "127.0.0.1:" + std::to_string(port_in(p.err(), "PLAINTEXT"));
  ASSERT_EQ(run_command("echo one | kcat -P -b " + bootstrap + " -t t 2>&1").code, 0);
  // A reload naming the unsigned library: refused, the running stamp stays.
  dir.write("node.yaml", yaml((trusted / "libmosaic_interceptor_json_schema.so").string()) +
                             "    - {name: mosaic.interceptor.json_schema, library: " +
                             (trusted / "libmosaic_interceptor_json_schema.so").string() +
                             ", config: {schema.file: x.json}, topics: [t]}\n");
  p.signal(SIGHUP);
  ASSERT_TRUE(p.wait_for_log("the running interceptors stay")) << p.err();
  ASSERT_EQ(run_command("echo two | kcat -P -b " + bootstrap + " -t t 2>&1").code, 0);
  EXPECT_EQ(read_back(bootstrap, "t"),
            (std::vector<std::string>{"0 one x-who=User:ANONYMOUS", "1 two x-who=User:ANONYMOUS"}));
  p.signal(SIGTERM);
  EXPECT_EQ(p.wait(10s), 0) << p.err();

  // The audit log (kept across the runs in the data folder): the refusals,
  // and the signed library put in service, with its digest.
  std::ifstream in(dir.path() / "data" / "plugin-audit.log");
  const std::string audit((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto digest = run_command(cli + " plugin digest " + (trusted / "libmosaic_interceptor_header_stamp.so").string());
  ASSERT_EQ(digest.code, 0);
  const std::string sha = digest.out.substr(0, 64);
  auto has = [&](const std::string& line_part) {
    for (const auto& l : lines(audit))
      if (l.find(line_part) != std::string::npos) return true;
    return false;
  };
  EXPECT_TRUE(has(R"("action":"refuse","cause":"start","plugin":")" +
                  (trusted / "libmosaic_interceptor_json_schema.so").string() +
                  R"(","reason":"refused by plugins.trust: it is not signed)"))
      << audit;
  EXPECT_TRUE(has(R"("reason":"refused by plugins.trust: it is not in a trusted folder)")) << audit;
  EXPECT_TRUE(
      has(R"("action":"load","cause":"start","slot":"interceptor.0","plugin":"mosaic.interceptor.header_stamp",)"
          R"("library":")" +
          (trusted / "libmosaic_interceptor_header_stamp.so").string() + R"(","sha256":")" + sha +
          R"(","generation":1,"config":"headers=[x-who=${principal}], replace=true"})"))
      << audit;
  EXPECT_TRUE(has(R"("action":"refuse","cause":"reload","reason":")")) << audit;
}

}  // namespace
}  // namespace mosaic::testing

// Real Kafka clients against a real mosaicd process (CLIENTS.md): kcat,
// python3-confluent-kafka, kafkajs and @platformatic/kafka. Each produces
// records with keys, headers and timestamps, and they must come back intact
// and in order.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <sstream>
#include <thread>

#include "tests/integration/process.h"
#include "tests/support/shell.h"

namespace mosaic::testing {
namespace {

using namespace std::chrono_literals;

const std::string mosaicd = MOSAICD_PATH;
const std::string single_node = MOSAIC_SOURCE_DIR "/configs/single-node.yaml";
const std::string compat_dir = MOSAIC_SOURCE_DIR "/tests/compat";

std::string run(const std::string& cmd) { return mosaic::testing::run_command(cmd).out; }

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);)
    if (!l.empty() && l[0] != '%') out.push_back(l);
  return out;
}

// mosaicd with the single-node config, in a folder of its own, listening on
// a port picked at run time.
class broker {
 public:
  explicit broker(const temp_dir& dir, std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"--config", single_node, "--set",
                                     "listeners=[{name: PLAINTEXT, host: 127.0.0.1, port: 0, adapter: kafka}]"};
    for (auto& e : extra) args.insert(args.end(), {"--set", e});
    p_ = std::make_unique<process>(mosaicd, args, dir.path());
    EXPECT_TRUE(p_->wait_for_log("mosaicd started")) << p_->err();
    // "listening on PLAINTEXT 127.0.0.1:PORT (kafka)"
    const std::string err = p_->err();
    const std::string mark = "listening on PLAINTEXT 127.0.0.1:";
    if (auto at = err.find(mark); at != std::string::npos) {
      const auto digits = err.substr(at + mark.size(), err.find(' ', at + mark.size()) - at - mark.size());
      bootstrap_ = "127.0.0.1:" + digits;
    }
    EXPECT_FALSE(bootstrap_.empty()) << err;
  }
  const std::string& bootstrap() const { return bootstrap_; }
  process& proc() { return *p_; }

 private:
  std::unique_ptr<process> p_;
  std::string bootstrap_;
};

// Consumes a whole topic with kcat: "partition|offset|key|value|headers|timestamp".
std::vector<std::string> consume(const broker& b, const std::string& topic) {
  return lines(run("timeout 30 kcat -C -b " + b.bootstrap() + " -t " + topic + " -e -q -f '%p|%o|%k|%s|%h|%T\\n'"));
}

TEST(compat, kcat_produces_and_consumes_with_every_codec) {
  temp_dir dir;
  broker b(dir);
  std::vector<std::string> want;
  int n = 0;
  for (const char* codec : {"none", "gzip", "snappy", "lz4", "zstd"}) {
    std::string input;
    for (int i = 0; i < 20; ++i, ++n)
      input += "key-" + std::to_string(n) + ":" + codec + "-" + std::to_string(n) + "\n";
    dir.write("in.txt", input);
    const std::string out = run("timeout 30 kcat -P -b " + b.bootstrap() + " -t kc -p 0 -K: -z " + codec +
                                " -H codec=" + codec + " -X request.required.acks=-1 -l " + (dir / "in.txt").string());
    EXPECT_EQ(out, "") << codec;
  }
  auto got = consume(b, "kc");
  ASSERT_EQ(got.size(), 100u);
  const char* codecs[] = {"none", "gzip", "snappy", "lz4", "zstd"};
  for (int i = 0; i < 100; ++i) {
    const std::string codec = codecs[i / 20];
    const std::string prefix = "0|" + std::to_string(i) + "|key-" + std::to_string(i) + "|" + codec + "-" +
                               std::to_string(i) + "|codec=" + codec + "|";
    EXPECT_EQ(got[i].rfind(prefix, 0), 0u) << got[i] << " vs " << prefix;
  }
  const std::string md = run("timeout 20 kcat -L -b " + b.bootstrap() + " -t kc");
  EXPECT_NE(md.find("topic \"kc\" with 1 partitions"), std::string::npos) << md;
}

TEST(compat, python_confluent_kafka_producer_consumer_and_admin) {
  temp_dir dir;
  broker b(dir);
  const std::string out =
      run("timeout 120 /usr/bin/python3 " + compat_dir + "/confluent_kafka_check.py " + b.bootstrap());
  EXPECT_NE(out.find("confluent-kafka: ok"), std::string::npos) << out;
}

// The records the JavaScript checks produce: n = 0..count-1 over two
// partitions, key-n, <prefix>-n, header n=<n>, timestamp 1700000000000+n.
void expect_js_records(const broker& b, const std::string& topic, const std::string& prefix, int count) {
  auto got = consume(b, topic);
  ASSERT_EQ(static_cast<int>(got.size()), count);
  std::map<int, std::vector<std::string>> by_partition;
  for (const auto& l : got) by_partition[l[0] - '0'].push_back(l);
  for (int p = 0; p < 2; ++p) {
    const auto& recs = by_partition[p];
    ASSERT_EQ(static_cast<int>(recs.size()), count / 2);
    for (int i = 0; i < count / 2; ++i) {
      const int n = 2 * i + p;
      const std::string want = std::to_string(p) + "|" + std::to_string(i) + "|key-" + std::to_string(n) + "|" +
                               prefix + "-" + std::to_string(n) + "|n=" + std::to_string(n) + "|" +
                               std::to_string(1700000000000LL + n);
      EXPECT_EQ(recs[i], want);
    }
  }
}

TEST(compat, kafkajs_producer_and_admin) {
  temp_dir dir;
  broker b(dir);
  const std::string out =
      run("cd " + compat_dir + "/node && timeout 120 node kafkajs_check.js " + b.bootstrap() + " js");
  EXPECT_NE(out.find("kafkajs: ok"), std::string::npos) << out;
  expect_js_records(b, "js", "kafkajs", 100);
}

TEST(compat, platformatic_kafka_producer_admin_and_metadata_on_flexible_versions) {
  temp_dir dir;
  broker b(dir);
  const std::string out =
      run("cd " + compat_dir + "/node && timeout 120 node platformatic_check.mjs " + b.bootstrap() + " pl");
  EXPECT_NE(out.find("platformatic: ok"), std::string::npos) << out;
  expect_js_records(b, "pl", "platformatic", 100);
}

TEST(compat, librdkafka_2_15_produces_and_consumes_on_the_newest_versions) {
#ifndef MOSAIC_RDKAFKA_CHECK
  FAIL() << "librdkafka 2.15.1 was not built: run tools/librdkafka, then configure again";
#else
  temp_dir dir;
  broker b(dir);
  const std::string out = run(std::string("timeout 120 ") + MOSAIC_RDKAFKA_CHECK + " " + b.bootstrap() + " rdk 1000");
  EXPECT_NE(out.find("rdkafka: ok fetch=v16 produce=v"), std::string::npos) << out;
#endif
}

// Runs `check` (a client's idempotence check, given the bootstrap, topic,
// record count, ready and go files) against a mosaicd that is killed with
// SIGKILL once the check reports half its records acknowledged, and started
// again on the same port and data; returns what the check printed.
std::string across_a_kill_9(const std::string& check, int records) {
  temp_dir dir;
  // A fixed port, so that the producer reconnects to the restarted broker:
  // picked free now, on loopback.
  std::unique_ptr<broker> b = std::make_unique<broker>(dir);
  const std::string bootstrap = b->bootstrap();
  const std::string port = bootstrap.substr(bootstrap.find(':') + 1);
  b.reset();  // stopped cleanly (SIGKILL in the destructor is after the wait)
  const std::string listener = "listeners=[{name: PLAINTEXT, host: 127.0.0.1, port: " + port + ", adapter: kafka}]";
  b = std::make_unique<broker>(dir, std::vector<std::string>{listener});
  const auto ready = dir / "ready", go = dir / "go";
  const std::string cmd = "timeout 150 " + check + " " + bootstrap + " idem " + std::to_string(records) + " " +
                          ready.string() + " " + go.string();
  FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
  if (!p) return "cannot run " + cmd;
  for (int i = 0; i < 600 && !std::filesystem::exists(ready); ++i) std::this_thread::sleep_for(100ms);
  if (std::filesystem::exists(ready)) {
    b->proc().signal(SIGKILL);
    b->proc().wait(5s);
    b.reset();
    std::this_thread::sleep_for(500ms);  // the producer keeps trying meanwhile
    b = std::make_unique<broker>(dir, std::vector<std::string>{listener});
  }
  std::ofstream(go) << "go\n";
  std::string out;
  std::array<char, 4096> buf{};
  while (size_t n = std::fread(buf.data(), 1, buf.size(), p)) out.append(buf.data(), n);
  ::pclose(p);
  return out;
}

TEST(compat, idempotent_producer_across_a_kill_9_writes_every_record_exactly_once) {
  const std::string out = across_a_kill_9("/usr/bin/python3 " + compat_dir + "/idempotent_restart_check.py", 20000);
  EXPECT_NE(out.find("idempotent: ok 20000 records"), std::string::npos) << out;
}

TEST(compat, librdkafka_2_15_idempotent_producer_across_a_kill_9_writes_every_record_exactly_once) {
#ifndef MOSAIC_RDKAFKA_CHECK
  FAIL() << "librdkafka 2.15.1 was not built: run tools/librdkafka";
#else
  const std::string out = across_a_kill_9(std::string(MOSAIC_RDKAFKA_CHECK) + " --idempotent", 20000);
  EXPECT_NE(out.find("idempotent: ok 20000 records"), std::string::npos) << out;
#endif
}

TEST(compat, acknowledged_records_survive_kill_9) {
  temp_dir dir;
  std::string input;
  for (int i = 0; i < 2000; ++i) input += "k" + std::to_string(i) + ":v" + std::to_string(i) + "\n";
  dir.write("in.txt", input);
  {
    broker b(dir);
    const std::string out = run("timeout 60 kcat -P -b " + b.bootstrap() + " -t durable -p 0 -K: -z lz4 " +
                                "-X request.required.acks=-1 -l " + (dir / "in.txt").string());
    EXPECT_EQ(out, "");
    b.proc().signal(SIGKILL);
    b.proc().wait(5s);
  }
  broker again(dir);
  auto got = consume(again, "durable");
  ASSERT_EQ(got.size(), 2000u);
  for (int i = 0; i < 2000; ++i)
    EXPECT_EQ(got[i].rfind("0|" + std::to_string(i) + "|k" + std::to_string(i) + "|v" + std::to_string(i) + "|", 0), 0u)
        << got[i];
}

}  // namespace
}  // namespace mosaic::testing

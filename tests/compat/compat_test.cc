// Real Kafka clients against a real mosaicd process (CLIENTS.md): kcat,
// python3-confluent-kafka, kafkajs, @platformatic/kafka and librdkafka
// 2.15.1. Each produces records with keys, headers and timestamps, and they
// must come back intact and in order; each consumes in a consumer group
// (classic, and KIP-848 where the client speaks it) that rebalances while
// it reads, and every record must be consumed once.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <set>
#include <sstream>
#include <thread>

#include "tests/compat/single_broker.h"

namespace mosaic::testing {
namespace {

using namespace std::chrono_literals;

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

// A listener on a fixed port, so that clients reconnect to a restarted
// broker: a port picked free now (by a broker started and stopped), on
// loopback.
std::string fixed_listener(const temp_dir& dir) {
  std::string port;
  {
    broker probe(dir);
    port = probe.bootstrap().substr(probe.bootstrap().find(':') + 1);
  }  // stopped cleanly (SIGKILL in the destructor is after the wait)
  return "listeners=[{name: PLAINTEXT, host: 127.0.0.1, port: " + port + ", adapter: kafka}]";
}

// Runs `check` (a client's idempotence check, given the bootstrap, topic,
// record count, ready and go files) against a mosaicd that is killed with
// SIGKILL once the check reports half its records acknowledged, and started
// again on the same port and data; returns what the check printed.
std::string across_a_kill_9(const std::string& check, int records) {
  temp_dir dir;
  const std::string listener = fixed_listener(dir);
  auto b = std::make_unique<broker>(dir, std::vector<std::string>{listener});
  const std::string bootstrap = b->bootstrap();
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

// Group tests: a new classic group waits 200 ms for more members instead
// of 3 s, and KIP-848 members send heartbeats every 500 ms instead of 5 s.
const std::vector<std::string> group_settings = {"group.initial.rebalance.delay.ms=200",
                                                 "group.consumer.heartbeat.interval.ms=500"};

// librdkafka 2.15.1's group driver with `protocol` (classic or consumer):
// three members, three rebalances while 3000 records are read.
void expect_rdkafka_group(const std::string& protocol) {
#ifndef MOSAIC_RDKAFKA_GROUP_CHECK
  FAIL() << "librdkafka 2.15.1 was not built: run tools/librdkafka";
#else
  temp_dir dir;
  broker b(dir, group_settings);
  const std::string out = run(std::string("timeout 150 ") + MOSAIC_RDKAFKA_GROUP_CHECK + " " + protocol + " " +
                              b.bootstrap() + " rg-" + protocol + " 3000 2>&1");
  EXPECT_NE(out.find("group(" + protocol + "): ok 3000 records"), std::string::npos) << out;
#endif
}

TEST(compat, librdkafka_2_15_classic_consumer_group_consumes_every_record_once) { expect_rdkafka_group("classic"); }

TEST(compat, librdkafka_2_15_kip848_consumer_group_consumes_every_record_once) { expect_rdkafka_group("consumer"); }

// ---- share groups (KIP-932), librdkafka 2.15.1's share consumer ----

// Locks as short as 1 s may be configured, so that timeouts can be watched.
const std::vector<std::string> share_settings = {"group.share.min.record.lock.duration.ms=1000",
                                                 "group.share.heartbeat.interval.ms=500"};

#ifdef MOSAIC_RDKAFKA_SHARE_CHECK
std::string share_check(const broker& b, const std::string& args) {
  return run("timeout 120 " + std::string(MOSAIC_RDKAFKA_SHARE_CHECK) + " " + b.bootstrap() + " " + args + " 2>&1");
}
#endif

TEST(compat, librdkafka_2_15_share_consumers_get_distinct_records_and_together_all_on_1_2_and_3_partitions) {
#ifndef MOSAIC_RDKAFKA_SHARE_CHECK
  FAIL() << "librdkafka 2.15.1 was not built: run tools/librdkafka";
#else
  temp_dir dir;
  broker b(dir, share_settings);
  // One partition shared by all three; two partitions, one of them shared;
  // three partitions, one each.
  for (const std::string partitions : {"1", "2", "3"}) {
    const std::string topic = "q" + partitions, group = "sg" + partitions;
    ASSERT_EQ(share_check(b, "produce " + topic + " 300 " + partitions), "");
    ASSERT_EQ(share_check(b, "config " + group + " share.auto.offset.reset earliest"), "");
    const std::string out = share_check(b, "distinct " + topic + " " + group + " 300 3");
    EXPECT_NE(out.find("MISSING 0 TWICE 0 IDLE 0"), std::string::npos) << partitions << " partition(s): " << out;
  }
#endif
}

TEST(compat, librdkafka_2_15_share_consumer_that_dies_holding_locks_has_them_redelivered_after_the_lock) {
#ifndef MOSAIC_RDKAFKA_SHARE_CHECK
  FAIL() << "librdkafka 2.15.1 was not built: run tools/librdkafka";
#else
  temp_dir dir;
  broker b(dir, share_settings);
  const int lock_ms = 3000;
  ASSERT_EQ(share_check(b, "produce q 50"), "");
  ASSERT_EQ(share_check(b, "config sg share.auto.offset.reset earliest"), "");
  ASSERT_EQ(share_check(b, "config sg share.record.lock.duration.ms " + std::to_string(lock_ms)), "");
  process holder(MOSAIC_RDKAFKA_SHARE_CHECK, {b.bootstrap(), "hold", "q", "sg", "50"}, dir.path());
  ASSERT_TRUE(holder.wait_for_log("HELD", 30s)) << holder.err();
  const auto held_at = std::chrono::steady_clock::now();
  holder.signal(SIGKILL);
  holder.wait(5s);
  // The records it held come back only once the lock has run out (less
  // what passed since they were taken, and a margin for the poll).
  const auto since = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - held_at);
  const auto min_wait = std::max<int64_t>(0, lock_ms - since.count() - 500);
  const std::string out = share_check(b, "redeliver q sg 50 " + std::to_string(min_wait));
  EXPECT_NE(out.find("GOT 50 REDELIVERED"), std::string::npos) << out;
  EXPECT_NE(out.find("EARLY 0 TWICE 0"), std::string::npos) << out;
  EXPECT_EQ(out.find("REDELIVERED 0 "), std::string::npos) << out;
#endif
}

TEST(compat, librdkafka_2_15_share_rejects_and_the_delivery_limit_land_in_the_dead_letter_topic) {
#ifndef MOSAIC_RDKAFKA_SHARE_CHECK
  FAIL() << "librdkafka 2.15.1 was not built: run tools/librdkafka";
#else
  temp_dir dir;
  std::vector<std::string> settings = share_settings;
  settings.push_back("errors.deadletterqueue.auto.create.topics.enable=true");
  broker b(dir, settings);
  ASSERT_EQ(share_check(b, "produce q 20"), "");
  ASSERT_EQ(share_check(b, "config sg share.auto.offset.reset earliest"), "");
  ASSERT_EQ(share_check(b, "config sg errors.deadletterqueue.topic.name dlq.q"), "");
  const std::string out = share_check(b, "reject q sg 20");
  EXPECT_NE(out.find("ACCEPTED 10 REJECTED 10 DELIVERIES 20 MOST 1"), std::string::npos) << out;
  auto dlq = consume(b, "dlq.q");
  ASSERT_EQ(dlq.size(), 10u);
  for (size_t i = 0; i < dlq.size(); ++i) {
    const std::string offset = std::to_string(2 * i + 1);  // the odd records were rejected
    EXPECT_NE(dlq[i].find("__dlq.errors.topic=q,__dlq.errors.partition=0,__dlq.errors.offset=" + offset +
                          ",__dlq.errors.group=sg,__dlq.errors.delivery.count=1,"
                          "__dlq.errors.message=record rejected by the consumer"),
              std::string::npos)
        << dlq[i];
  }
  // Released every time: the fourth delivery is the last (limit 4), then
  // the record is dead-lettered, with a copy of the record.
  ASSERT_EQ(share_check(b, "produce r 5"), "");
  ASSERT_EQ(share_check(b, "config rg share.auto.offset.reset earliest"), "");
  ASSERT_EQ(share_check(b, "config rg share.delivery.count.limit 4"), "");
  ASSERT_EQ(share_check(b, "config rg errors.deadletterqueue.topic.name dlq.r"), "");
  ASSERT_EQ(share_check(b, "config rg errors.deadletterqueue.copy.record.enable true"), "");
  const std::string released = share_check(b, "release r rg 5");
  EXPECT_NE(released.find("DELIVERIES 20 MOST 4"), std::string::npos) << released;
  auto limited = consume(b, "dlq.r");
  ASSERT_EQ(limited.size(), 5u);
  for (size_t i = 0; i < limited.size(); ++i) {
    EXPECT_NE(limited[i].find("|" + std::to_string(i) + "|"), std::string::npos)
        << "the value is copied: " << limited[i];
    EXPECT_NE(limited[i].find("__dlq.errors.delivery.count=4,__dlq.errors.message=delivery count limit reached"),
              std::string::npos)
        << limited[i];
  }
#endif
}

// Three share consumers accept records (and reject every tenth, into the
// DLQ) while the broker is killed with SIGKILL and started again: no record
// whose acceptance was confirmed is delivered again, and in the end every
// record is finished (SPSO at the end, no lag) and every rejected one is in
// the dead-letter topic. Records acquired at the kill stay locked after the
// restart until their lock would have ended (2 s here), then are offered
// again.
TEST(compat, librdkafka_2_15_share_workers_across_a_kill_9_finish_every_record_once_or_in_the_dlq) {
#ifndef MOSAIC_RDKAFKA_SHARE_CHECK
  FAIL() << "librdkafka 2.15.1 was not built: run tools/librdkafka";
#else
  temp_dir dir;
  std::vector<std::string> settings = share_settings;
  settings.push_back(fixed_listener(dir));
  auto b = std::make_unique<broker>(dir, settings);
  const int records = 20000;
  ASSERT_EQ(share_check(*b, "produce q " + std::to_string(records)), "");
  ASSERT_EQ(share_check(*b, "produce dlq.q 0"), "");
  ASSERT_EQ(share_check(*b, "config sg share.auto.offset.reset earliest"), "");
  ASSERT_EQ(share_check(*b, "config sg errors.deadletterqueue.topic.name dlq.q"), "");
  ASSERT_EQ(share_check(*b, "config sg share.record.lock.duration.ms 2000"), "");
  const auto ready = dir / "ready";
  const std::string cmd = "timeout 240 " + std::string(MOSAIC_RDKAFKA_SHARE_CHECK) + " " + b->bootstrap() +
                          " work q sg " + std::to_string(records) + " 10 " + ready.string() + " 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  for (int i = 0; i < 1200 && !std::filesystem::exists(ready); ++i) std::this_thread::sleep_for(50ms);
  EXPECT_TRUE(std::filesystem::exists(ready));
  b->proc().signal(SIGKILL);
  b->proc().wait(5s);
  b.reset();
  std::this_thread::sleep_for(500ms);  // the workers keep trying meanwhile
  b = std::make_unique<broker>(dir, settings);
  std::string out;
  std::array<char, 4096> buf{};
  while (size_t n = std::fread(buf.data(), 1, buf.size(), p)) out.append(buf.data(), n);
  ::pclose(p);
  EXPECT_NE(out.find("TWICE 0 AFTER_ACCEPT 0"), std::string::npos) << out.substr(0, 4000);
  // Every record finished: the share-partition start offset is at the end.
  const std::string cli = std::filesystem::path(mosaicd).parent_path() / "mosaic";
  const std::string described = run(cli + " -b " + b->bootstrap() + " share describe sg 2>&1");
  std::vector<std::string> row;  // TOPIC PARTITION START-OFFSET END-OFFSET IN-FLIGHT ... LAG
  for (const auto& line : lines(described))
    if (line.rfind("q ", 0) == 0) {
      std::istringstream in(line);
      for (std::string f; in >> f;) row.push_back(f);
    }
  ASSERT_EQ(row.size(), 10u) << described;
  EXPECT_EQ(row[2], std::to_string(records)) << described;
  EXPECT_EQ(row[9], "0") << described;
  // Every rejected record is in the dead-letter topic (some maybe twice:
  // a letter written just before the kill is written again after it).
  std::set<int> dead;
  for (const auto& line : lines(run("timeout 30 kcat -C -b " + b->bootstrap() + " -t dlq.q -e -q -f '%h\\n'"))) {
    const std::string mark = "__dlq.errors.offset=";
    const auto at = line.find(mark);
    if (at != std::string::npos) dead.insert(std::stoi(line.substr(at + mark.size())));
  }
  EXPECT_EQ(dead.size(), static_cast<size_t>(records / 10));
  for (int r = 9; r < records; r += 10) EXPECT_TRUE(dead.count(r)) << "rejected record " << r << " is not in the DLQ";
#endif
}

TEST(compat, python_confluent_kafka_consumer_group) {
  temp_dir dir;
  broker b(dir, group_settings);
  const std::string out = run("timeout 150 /usr/bin/python3 " + compat_dir + "/confluent_kafka_group_check.py group " +
                              b.bootstrap() + " pyg 2>&1");
  EXPECT_NE(out.find("confluent-kafka-group: ok 400 records"), std::string::npos) << out;
}

TEST(compat, kafkajs_consumer_group_and_group_admin) {
  temp_dir dir;
  broker b(dir, group_settings);
  const std::string out =
      run("cd " + compat_dir + "/node && timeout 150 node kafkajs_group_check.js " + b.bootstrap() + " jsg 2>&1");
  EXPECT_NE(out.find("kafkajs-group: ok 400 records"), std::string::npos) << out;
}

TEST(compat, platformatic_kafka_kip848_and_classic_consumer_groups) {
  temp_dir dir;
  broker b(dir, group_settings);
  for (const std::string protocol : {"consumer", "classic"}) {
    const std::string out = run("cd " + compat_dir + "/node && timeout 150 node platformatic_group_check.mjs " +
                                b.bootstrap() + " plg-" + protocol + " " + protocol + " 2>&1");
    EXPECT_NE(out.find("platformatic-group(" + protocol + "): ok 400 records"), std::string::npos) << out;
  }
}

TEST(compat, kcat_balanced_consumer_commits_and_a_second_run_resumes_after_them) {
  temp_dir dir;
  broker b(dir, group_settings);
  std::string input;
  for (int i = 0; i < 100; ++i) input += "v" + std::to_string(i) + "\n";
  dir.write("in.txt", input);
  EXPECT_EQ(run("timeout 30 kcat -P -b " + b.bootstrap() + " -t kg -X request.required.acks=-1 -l " +
                (dir / "in.txt").string()),
            "");
  const std::string consume_group =
      "timeout 60 kcat -b " + b.bootstrap() + " -G kcat-group kg -X auto.offset.reset=earliest -e -q -f '%s\\n'";
  EXPECT_EQ(lines(run(consume_group)).size(), 100u);
  EXPECT_EQ(lines(run(consume_group)).size(), 0u);  // everything was committed
}

TEST(compat, committed_offsets_survive_kill_9) {
  temp_dir dir;
  const std::string script = "timeout 60 /usr/bin/python3 " + compat_dir + "/confluent_kafka_group_check.py ";
  {
    broker b(dir);
    EXPECT_NE(run(script + "commit " + b.bootstrap() + " durable-offsets g 2>&1").find("committed"), std::string::npos);
    b.proc().signal(SIGKILL);
    b.proc().wait(5s);
  }
  broker again(dir);
  const std::string out = run(script + "committed " + again.bootstrap() + " durable-offsets g 2>&1");
  EXPECT_NE(out.find("committed: 10 20 30 40"), std::string::npos) << out;
}

}  // namespace
}  // namespace mosaic::testing

// The `mosaic` command line as an operator runs it: the real binary against
// a real mosaicd on a port picked at run time.
#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <sstream>
#include <thread>

#include "tests/integration/process.h"
#include "tests/support/shell.h"

namespace mosaic::testing {
namespace {

const std::string mosaicd = MOSAICD_PATH;
const std::string cli = MOSAIC_CLI_PATH;
const std::string single_node = MOSAIC_SOURCE_DIR "/configs/single-node.yaml";

using outcome = command_result;
outcome run(const std::string& cmd) { return run_command(cmd); }

class cli_test : public ::testing::Test {
 protected:
  void SetUp() override {
    node_ = std::make_unique<process>(
        mosaicd,
        std::vector<std::string>{
            "--config", single_node, "--set", "listeners=[{name: PLAINTEXT, host: 127.0.0.1, port: 0, adapter: kafka}]",
            "--set", "group.initial.rebalance.delay.ms=200", "--set", "group.consumer.heartbeat.interval.ms=500",
            // Share group locks as short as 1 s, so that a renewal can be watched.
            "--set", "group.share.min.record.lock.duration.ms=1000"},
        dir_.path());
    ASSERT_TRUE(node_->wait_for_log("mosaicd started")) << node_->err();
    const std::string err = node_->err(), mark = "listening on PLAINTEXT 127.0.0.1:";
    const auto at = err.find(mark);
    ASSERT_NE(at, std::string::npos);
    port_ = err.substr(at + mark.size(), err.find(' ', at + mark.size()) - at - mark.size());
  }
  outcome mosaic(const std::string& args, const std::string& input = "") {
    const std::string feed = input.empty() ? "" : "printf '" + input + "' | ";
    return run(feed + "timeout 60 " + cli + " --bootstrap 127.0.0.1:" + port_ + " " + args);
  }
  temp_dir dir_;
  std::unique_ptr<process> node_;
  std::string port_;
};

TEST_F(cli_test, topics_are_created_listed_described_altered_and_deleted) {
  auto created = mosaic("topic create orders -p 3 -c retention.ms=3600000");
  EXPECT_EQ(created.code, 0) << created.out;
  EXPECT_NE(created.out.find("created topic orders with 3 partition(s)"), std::string::npos) << created.out;
  auto again = mosaic("topic create orders");
  EXPECT_EQ(again.code, 1);
  EXPECT_NE(again.out.find("topic 'orders' already exists"), std::string::npos) << again.out;
  auto list = mosaic("topic list");
  EXPECT_EQ(list.code, 0);
  EXPECT_NE(list.out.find("orders"), std::string::npos) << list.out;
  EXPECT_EQ(mosaic("topic alter-config orders --set retention.ms=42000").code, 0);
  auto bad = mosaic("topic alter-config orders --set retention.ms=soon");
  EXPECT_EQ(bad.code, 1);
  EXPECT_NE(bad.out.find("INVALID_CONFIG"), std::string::npos) << bad.out;
  auto describe = mosaic("topic describe orders");
  EXPECT_EQ(describe.code, 0) << describe.out;
  EXPECT_NE(describe.out.find("PARTITIONS  3"), std::string::npos) << describe.out;
  EXPECT_NE(describe.out.find("retention.ms               42000                  topic"), std::string::npos)
      << describe.out;
  EXPECT_EQ(mosaic("topic delete orders").code, 0);
  auto gone = mosaic("topic describe orders");
  EXPECT_EQ(gone.code, 1);
  EXPECT_NE(gone.out.find("topic 'orders' does not exist"), std::string::npos) << gone.out;
}

TEST_F(cli_test, a_compacted_topic_is_described_with_its_dirty_ratio) {
  // Tiny segments: the second produce rolls the first segment, which is
  // then all dirty (the cleaner, at its 15 s backoff, has not been by).
  ASSERT_EQ(mosaic("topic create state -p 1 -c cleanup.policy=compact -c segment.bytes=14").code, 0);
  EXPECT_EQ(mosaic("produce state -K :", "a:1\\nb:1\\n").code, 0);
  EXPECT_EQ(mosaic("produce state -K :", "a:2\\n").code, 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // the log's tick seals the rolled segment
  auto describe = mosaic("topic describe state");
  EXPECT_EQ(describe.code, 0) << describe.out;
  EXPECT_NE(describe.out.find("DIRTY-RATIO"), std::string::npos) << describe.out;
  EXPECT_NE(describe.out.find(" 100%"), std::string::npos) << describe.out;
  EXPECT_NE(describe.out.find("cleanup.policy             compact"), std::string::npos) << describe.out;
  ASSERT_EQ(mosaic("topic create plain -p 1").code, 0);
  EXPECT_EQ(mosaic("topic describe plain").out.find("DIRTY-RATIO"), std::string::npos);
}

TEST_F(cli_test, produce_from_stdin_and_consume_with_a_format) {
  ASSERT_EQ(mosaic("topic create events -p 2").code, 0);
  auto produced = mosaic("produce events -K : -H source=cli", "k1:one\\nk2:two\\nk1:three\\n");
  EXPECT_EQ(produced.code, 0) << produced.out;
  EXPECT_NE(produced.out.find("produced 3 record(s) to events"), std::string::npos) << produced.out;
  // Keys keep their order within their partition (murmur2, as Java clients place them).
  auto k1 = mosaic("consume events -f '%k=%s %h\\n'");
  EXPECT_EQ(k1.code, 0) << k1.out;
  const auto one = k1.out.find("k1=one source=cli\n"), three = k1.out.find("k1=three source=cli\n");
  EXPECT_NE(one, std::string::npos) << k1.out;
  EXPECT_NE(three, std::string::npos) << k1.out;
  EXPECT_LT(one, three) << k1.out;
  EXPECT_NE(k1.out.find("k2=two source=cli\n"), std::string::npos) << k1.out;
  // One partition, from an offset, a count.
  ASSERT_EQ(mosaic("produce events -p 1", "a\\nb\\nc\\nd\\n").code, 0);
  auto some = mosaic("consume events -p 1 -o -2 -f '%o:%s\\n'");
  EXPECT_EQ(some.code, 0) << some.out;
  EXPECT_NE(some.out.find(":c\n"), std::string::npos) << some.out;
  EXPECT_NE(some.out.find(":d\n"), std::string::npos) << some.out;
  EXPECT_EQ(some.out.find(":b\n"), std::string::npos) << some.out;
  auto two = mosaic("consume events -n 2");
  EXPECT_EQ(std::count(two.out.begin(), two.out.end(), '\n'), 2) << two.out;
}

TEST_F(cli_test, consume_reads_what_kcat_compressed) {
  ASSERT_EQ(mosaic("topic create packed -p 1").code, 0);
  auto sent = run("printf 'x\\ny\\n' | timeout 30 kcat -P -b 127.0.0.1:" + port_ + " -t packed -z zstd");
  EXPECT_EQ(sent.code, 0) << sent.out;
  auto got = mosaic("consume packed");
  EXPECT_EQ(got.out, "x\ny\n");
}

TEST_F(cli_test, groups_list_describe_with_lag_reset_offsets_and_delete) {
  ASSERT_EQ(mosaic("topic create lagged -p 2").code, 0);
  std::string lines;
  for (int i = 0; i < 40; ++i) lines += "v" + std::to_string(i) + "\\n";
  ASSERT_EQ(mosaic("produce lagged -p 0", lines).code, 0);
  ASSERT_EQ(mosaic("produce lagged -p 1", lines).code, 0);
  // kcat as a classic group member reads 30 records and commits them.
  const std::string bootstrap = "127.0.0.1:" + port_;
  auto read = run("timeout 60 kcat -b " + bootstrap +
                  " -G readers lagged -X auto.offset.reset=earliest -o beginning -c 30 -q -e -f '%s\\n'");
  ASSERT_EQ(read.code, 0) << read.out;

  auto list = mosaic("groups list");
  EXPECT_EQ(list.code, 0) << list.out;
  EXPECT_NE(list.out.find("readers"), std::string::npos) << list.out;
  EXPECT_NE(list.out.find("classic"), std::string::npos) << list.out;
  EXPECT_EQ(mosaic("groups list --type consumer").out.find("readers"), std::string::npos);
  auto described = mosaic("groups describe readers");
  EXPECT_EQ(described.code, 0) << described.out;
  EXPECT_NE(described.out.find("STATE        Empty"), std::string::npos) << described.out;
  EXPECT_NE(described.out.find("COORDINATOR  broker 1 (127.0.0.1:"), std::string::npos) << described.out;
  EXPECT_NE(described.out.find("TOTAL LAG    10"), std::string::npos) << described.out;  // 30 of partition 0 read

  // While a member is in the group: it is shown with its partitions, and
  // offsets can be neither reset nor deleted.
  process member("/usr/bin/kcat",
                 {"-b", bootstrap, "-G", "readers", "lagged", "-q", "-X", "auto.offset.reset=earliest", "-o", "end"},
                 dir_.path());
  bool seen = false;
  for (int i = 0; i < 100 && !seen; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    seen = mosaic("groups describe readers").out.find("STATE        Stable") != std::string::npos;
  }
  ASSERT_TRUE(seen) << mosaic("groups describe readers").out;
  auto busy = mosaic("groups describe readers");
  EXPECT_NE(busy.out.find("rdkafka"), std::string::npos) << busy.out;  // kcat's client id
  auto refused = mosaic("groups reset-offsets readers --topic lagged --to earliest");
  EXPECT_EQ(refused.code, 1);
  EXPECT_NE(refused.out.find("has active members"), std::string::npos) << refused.out;
  auto not_empty = mosaic("groups delete readers");
  EXPECT_EQ(not_empty.code, 1);
  EXPECT_NE(not_empty.out.find("still has members"), std::string::npos) << not_empty.out;
  member.signal(SIGTERM);
  member.wait(std::chrono::seconds(10));
  for (int i = 0; i < 100 && mosaic("groups describe readers").out.find("STATE        Empty") == std::string::npos; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));

  auto dry = mosaic("groups reset-offsets readers --topic lagged --to latest --dry-run");
  EXPECT_EQ(dry.code, 0) << dry.out;
  EXPECT_NE(dry.out.find("dry run"), std::string::npos) << dry.out;
  EXPECT_EQ(mosaic("groups reset-offsets readers --topic lagged --to latest").code, 0);
  EXPECT_NE(mosaic("groups describe readers").out.find("TOTAL LAG    0"), std::string::npos);
  EXPECT_EQ(mosaic("groups reset-offsets readers --topic lagged -p 1 --to 5").code, 0);
  EXPECT_NE(mosaic("groups describe readers").out.find("TOTAL LAG    35"), std::string::npos);
  EXPECT_EQ(mosaic("groups reset-offsets readers --topic lagged").code, 2);  // no --to
  EXPECT_EQ(mosaic("groups reset-offsets readers --topic nosuch --to earliest").code, 1);

  auto deleted = mosaic("groups delete readers");
  EXPECT_EQ(deleted.code, 0) << deleted.out;
  auto gone = mosaic("groups describe readers");
  EXPECT_EQ(gone.code, 1);
  EXPECT_NE(gone.out.find("no group 'readers'"), std::string::npos) << gone.out;
  EXPECT_EQ(mosaic("groups frobnicate").code, 2);
  EXPECT_EQ(mosaic("groups --help").code, 0);
}

// The row of `share describe` for TOPIC partition 0: TOPIC PARTITION
// START-OFFSET END-OFFSET IN-FLIGHT AVAILABLE ACQUIRED ACKNOWLEDGED ARCHIVED LAG.
std::vector<std::string> share_row(const std::string& described, const std::string& topic) {
  std::istringstream in(described);
  for (std::string line; std::getline(in, line);)
    if (line.rfind(topic + " ", 0) == 0) {
      std::vector<std::string> row;
      std::istringstream fields(line);
      for (std::string f; fields >> f;) row.push_back(f);
      return row;
    }
  return {};
}

TEST_F(cli_test, share_consume_acknowledges_by_rule_and_describe_shows_the_share_partition) {
  ASSERT_EQ(mosaic("topic create work -p 1").code, 0);
  ASSERT_EQ(mosaic("produce work", "v1\\nv2\\nv3\\nv4\\nv5\\nv6\\nv7\\nv8\\nv9\\nv10\\n").code, 0);
  auto got = mosaic("share consume work -g sg --reset earliest -n 6 --reject-if v3 --release-if v5 2>&1");
  EXPECT_EQ(got.code, 0) << got.out;
  EXPECT_EQ(got.out, "0\t1\tv1\n1\t1\tv2\n2\t1\tv3\n3\t1\tv4\n4\t1\tv5\n5\t1\tv6\n");
  // 0-3 done (2 archived), 4 released, 5 accepted, 6-9 never handed out.
  auto described = mosaic("share describe sg");
  EXPECT_EQ(described.code, 0) << described.out;
  EXPECT_NE(described.out.find("GROUP sg  COORDINATOR 1 (127.0.0.1:"), std::string::npos) << described.out;
  EXPECT_NE(described.out.find("STATE Empty"), std::string::npos) << described.out;
  EXPECT_EQ(share_row(described.out, "work"),
            (std::vector<std::string>{"work", "0", "4", "6", "2", "1", "0", "1", "0", "5"}))
      << described.out;
  // The released record comes back first, with its delivery count up.
  auto again = mosaic("share consume work -g sg -n 2 -f '%o:%d:%s\\n'");
  EXPECT_EQ(again.out, "4:2:v5\n6:1:v7\n") << again.out;
  auto groups = mosaic("groups list --type share");
  EXPECT_NE(groups.out.find("sg"), std::string::npos) << groups.out;
}

TEST_F(cli_test, share_renew_keeps_a_slow_workers_records_and_without_it_they_return) {
  ASSERT_EQ(mosaic("topic create slow -p 1").code, 0);
  ASSERT_EQ(mosaic("produce slow", "a\\nb\\n").code, 0);
  ASSERT_EQ(mosaic("share alter-config rg --set share.record.lock.duration.ms=1000 --set "
                   "share.auto.offset.reset=earliest")
                .code,
            0);
  // Each record held 2.5 s against a 1 s lock, renewed every 300 ms: each is
  // delivered once and its acceptance is taken.
  auto renewed = mosaic("share consume slow -g rg -n 2 --max-records 1 --hold 2500 --renew-every 300 2>&1");
  EXPECT_EQ(renewed.code, 0) << renewed.out;
  EXPECT_EQ(renewed.out, "0\t1\ta\n1\t1\tb\n");
  ASSERT_EQ(mosaic("produce slow", "c\\n").code, 0);
  // Without renewing, the lock runs out while the worker holds the record:
  // it is delivered again, and the late acceptance is refused.
  auto lapsed = mosaic("share consume slow -g rg -n 2 --max-records 1 --hold 1500 2>&1");
  const auto first = lapsed.out.find("2\t1\tc\n"), second = lapsed.out.find("2\t2\tc\n");
  EXPECT_NE(first, std::string::npos) << lapsed.out;
  EXPECT_NE(second, std::string::npos) << lapsed.out;
  EXPECT_LT(first, second) << lapsed.out;
  EXPECT_EQ(lapsed.code, 1) << "the last acceptance came too late too";
  EXPECT_NE(lapsed.out.find("not acquired by this member"), std::string::npos) << lapsed.out;
}

TEST_F(cli_test, share_configs_reset_offsets_and_mistakes) {
  ASSERT_EQ(mosaic("topic create r -p 1").code, 0);
  ASSERT_EQ(mosaic("produce r", "x\\ny\\nz\\n").code, 0);
  auto bad = mosaic("share alter-config g --set share.delivery.count.limit=99");
  EXPECT_EQ(bad.code, 1);
  EXPECT_NE(bad.out.find("share.delivery.count.limit must be an integer from 2 to 10"), std::string::npos) << bad.out;
  EXPECT_EQ(mosaic("share consume r").code, 2) << "no --group";
  auto missing = mosaic("share describe nobody");
  EXPECT_EQ(missing.code, 1);
  EXPECT_NE(missing.out.find("share group 'nobody' does not exist"), std::string::npos) << missing.out;
  ASSERT_EQ(mosaic("share consume r -g g --reset latest --idle-exit 300").code, 0);
  EXPECT_EQ(share_row(mosaic("share describe g").out, "r").at(2), "3");
  auto reset = mosaic("share reset-offsets g --topic r --to earliest");
  EXPECT_EQ(reset.code, 0) << reset.out;
  EXPECT_EQ(share_row(mosaic("share describe g").out, "r").at(2), "0");
  EXPECT_EQ(mosaic("share consume r -g g -n 3 -f '%s'").out, "xyz");
}

TEST_F(cli_test, cluster_info_help_and_exit_codes) {
  auto info = mosaic("cluster info");
  EXPECT_EQ(info.code, 0);
  EXPECT_NE(info.out.find("127.0.0.1:" + port_), std::string::npos) << info.out;
  for (const char* command : {"topic", "produce", "consume", "cluster"}) {
    auto help = mosaic(std::string(command) + " --help");
    EXPECT_EQ(help.code, 0) << command;
    EXPECT_NE(help.out.find("mosaic " + std::string(command)), std::string::npos) << help.out;
  }
  EXPECT_EQ(mosaic("--help").code, 0);
  EXPECT_EQ(mosaic("frobnicate").code, 2);
  EXPECT_EQ(mosaic("topic create").code, 2) << "a missing name is a usage error";
  EXPECT_EQ(mosaic("consume nope").code, 1);
  auto nobody = run("timeout 30 " + cli + " --bootstrap 127.0.0.1:1 topic list");
  EXPECT_EQ(nobody.code, 3);
  EXPECT_NE(nobody.out.find("cannot connect to 127.0.0.1:1"), std::string::npos) << nobody.out;
}

TEST_F(cli_test, quorum_describe_shows_the_one_voter_quorum) {
  ASSERT_EQ(mosaic("topic create q").code, 0);  // an entry or two past the start
  auto q = mosaic("quorum describe");
  ASSERT_EQ(q.code, 0) << q.out;
  EXPECT_NE(q.out.find("LEADER          1\n"), std::string::npos) << q.out;
  EXPECT_NE(q.out.find("VOTERS          1\n"), std::string::npos) << q.out;
  EXPECT_NE(q.out.find("leader"), std::string::npos) << q.out;
  EXPECT_EQ(mosaic("quorum frobnicate").code, 2);
  auto help = mosaic("quorum --help");
  EXPECT_EQ(help.code, 0);
  EXPECT_NE(help.out.find("mosaic quorum describe"), std::string::npos);
}

// ---- mosaic-perf ----

#ifdef MOSAIC_PERF_PATH
outcome perf(const std::string& args) { return run("timeout 120 " MOSAIC_PERF_PATH " " + args); }

// A field of mosaic-perf's JSON output, as text ("" when absent).
std::string field(const std::string& json, const std::string& name) {
  const auto at = json.find("\"" + name + "\": ");
  if (at == std::string::npos) return "";
  const auto start = at + name.size() + 4;
  return json.substr(start, json.find_first_of(",}", start) - start);
}

TEST_F(cli_test, perf_produces_and_consumes_against_mosaicd_and_reports_json) {
  const std::string target = "--bootstrap 127.0.0.1:" + port_;
  auto p = perf("produce " + target +
                " --topic perf --records 5000 --record-size 512 --acks all --compression lz4 "
                "--partitions 2 --json --quiet");
  ASSERT_EQ(p.code, 0) << p.out;
  EXPECT_EQ(field(p.out, "kind"), "\"produce\"") << p.out;
  EXPECT_EQ(field(p.out, "target"), "\"broker\"") << p.out;
  EXPECT_EQ(field(p.out, "records"), "5000") << p.out;
  EXPECT_EQ(field(p.out, "failed"), "0") << p.out;
  EXPECT_GT(std::stod(field(p.out, "records_per_sec")), 0) << p.out;
  EXPECT_GT(std::stod(field(p.out, "p99")), 0) << p.out;
  EXPECT_LE(std::stod(field(p.out, "p50")), std::stod(field(p.out, "p99_9"))) << p.out;
  // What it wrote is there: the CLI sees the two partitions' ends.
  auto described = mosaic("topic describe perf");
  EXPECT_NE(described.out.find("PARTITIONS  2"), std::string::npos) << described.out;

  auto c = perf("consume " + target + " --topic perf --records 5000 --json --quiet");
  ASSERT_EQ(c.code, 0) << c.out;
  EXPECT_EQ(field(c.out, "records"), "5000") << c.out;
  EXPECT_EQ(field(c.out, "bytes"), std::to_string(5000 * 512)) << c.out;
  auto short_of = perf("consume " + target + " --topic perf --records 6000 --json --quiet");
  EXPECT_EQ(short_of.code, 1) << "fewer records than asked for: " << short_of.out;
  EXPECT_EQ(field(short_of.out, "records"), "5000") << short_of.out;
}

TEST_F(cli_test, perf_runs_against_librdkafkas_mock_cluster_and_measures_fsync) {
  auto m = perf("produce --mock --records 3000 --json --quiet");
  ASSERT_EQ(m.code, 0) << m.out;
  EXPECT_EQ(field(m.out, "target"), "\"mock\"") << m.out;
  EXPECT_EQ(field(m.out, "records"), "3000") << m.out;
  auto f = perf("fsync --dir " + (dir_.path() / "probe").string() + " --count 50 --json --quiet");
  ASSERT_EQ(f.code, 0) << f.out;
  EXPECT_EQ(field(f.out, "count"), "50") << f.out;
  EXPECT_GT(std::stod(field(f.out, "p50")), 0) << f.out;
  EXPECT_TRUE(std::filesystem::is_empty(dir_.path() / "probe")) << "the probe file is removed";
}

TEST_F(cli_test, perf_suite_reports_every_run_and_the_ratios) {
  auto s = perf("suite --bootstrap 127.0.0.1:" + port_ + " --dir " + dir_.path().string() +
                " --records 2000 --latency-records 200 --json --quiet");
  ASSERT_EQ(s.code, 0) << s.out;
  size_t produces = 0, at = 0;
  while ((at = s.out.find("\"kind\": \"produce\"", at)) != std::string::npos) ++produces, ++at;
  EXPECT_EQ(produces, 10u) << "4 configs and a latency run, on each target: " << s.out;
  EXPECT_NE(s.out.find("\"kind\": \"fsync\""), std::string::npos) << s.out;
  EXPECT_NE(field(s.out, "produce_broker_over_mock_acks_all_lz4"), "") << s.out;
  EXPECT_NE(field(s.out, "latency_p99_broker_over_disk_fsync_p99"), "") << s.out;
  EXPECT_EQ(mosaic("topic list").out.find("perf-"), std::string::npos) << "the suite deletes its topics";
}

TEST_F(cli_test, perf_sweep_runs_each_batch_size_and_partition_count_beside_the_mock) {
  auto s = perf("sweep --bootstrap 127.0.0.1:" + port_ +
                " --records 3000 --batch-sizes 16384,1000000 --partition-counts 1,4 --json");
  ASSERT_EQ(s.code, 0) << s.out;
  size_t mock = 0, broker = 0, at = 0;
  while ((at = s.out.find("\"target\": \"mock\"", at)) != std::string::npos) ++mock, ++at;
  at = 0;
  while ((at = s.out.find("\"target\": \"broker\"", at)) != std::string::npos) ++broker, ++at;
  EXPECT_EQ(mock, 4u) << s.out;
  EXPECT_EQ(broker, 4u) << s.out;
  EXPECT_NE(s.out.find("\"batch_size\": 1000000"), std::string::npos) << s.out;
  EXPECT_NE(s.out.find("\"partitions\": 4"), std::string::npos) << s.out;
  EXPECT_NE(field(s.out, "broker_over_mock"), "") << s.out;
  EXPECT_EQ(mosaic("topic list").out.find("sweep-"), std::string::npos) << "the sweep deletes its topics";
  auto bad = perf("sweep --bootstrap 127.0.0.1:" + port_ + " --batch-sizes 0");
  EXPECT_EQ(bad.code, 2) << bad.out;
}

TEST_F(cli_test, perf_rebalance_times_a_join_with_both_group_protocols) {
  // KIP-848 last, so that its group is still there to describe below.
  auto r = perf("rebalance --bootstrap 127.0.0.1:" + port_ +
                " --members 2 --rounds 2 --heartbeat-ms 500 --protocols classic,consumer --json --quiet");
  ASSERT_EQ(r.code, 0) << r.out;
  for (const char* protocol : {"\"protocol\": \"consumer\"", "\"protocol\": \"classic\""})
    EXPECT_NE(r.out.find(protocol), std::string::npos) << r.out;
  // Each join settles within a few heartbeat intervals of 500 ms.
  const std::string key = "\"join_to_settled_ms_median\": ";
  for (size_t at = r.out.find(key); at != std::string::npos; at = r.out.find(key, at + 1)) {
    const double ms = std::stod(r.out.substr(at + key.size()));
    EXPECT_GT(ms, 0);
    EXPECT_LT(ms, 5000);
  }
  // The tool leaves without saying goodbye, so its KIP-848 group still has
  // its four members (until their sessions run out): the CLI shows them.
  auto listed = mosaic("groups list --type consumer");
  ASSERT_EQ(listed.code, 0) << listed.out;
  const auto at = listed.out.find("perf-rebalance-");
  ASSERT_NE(at, std::string::npos) << listed.out;
  const std::string group = listed.out.substr(at, listed.out.find(' ', at) - at);
  auto described = mosaic("groups describe " + group);
  EXPECT_EQ(described.code, 0) << described.out;
  EXPECT_NE(described.out.find("TYPE         consumer"), std::string::npos) << described.out;
  EXPECT_NE(described.out.find("ASSIGNOR     uniform"), std::string::npos) << described.out;
  EXPECT_NE(described.out.find("MEMBERS      4"), std::string::npos) << described.out;
}

TEST_F(cli_test, perf_refuses_bad_options_with_exit_code_2) {
  for (const char* args :
       {"produce --records none", "produce --acks 3", "produce --bogus", "fsync", "launch",
        "produce --topic-config novalue", "rebalance --members ten", "rebalance --protocols eager"}) {
    auto r = perf(args);
    EXPECT_EQ(r.code, 2) << args << ": " << r.out;
    EXPECT_NE(r.out.find("mosaic-perf: "), std::string::npos) << args << ": " << r.out;
  }
  auto unreachable = perf(
      "produce --bootstrap 127.0.0.1:1 --records 10 --quiet -X message.timeout.ms=1000 "
      "-X socket.timeout.ms=2000");
  EXPECT_EQ(unreachable.code, 1) << unreachable.out;
  EXPECT_EQ(perf("--help").code, 0);
}
#else
TEST_F(cli_test, perf_tool_is_built) {
  FAIL() << "mosaic-perf was not built: librdkafka 2.15.1 is missing (tools/librdkafka)";
}
#endif

}  // namespace
}  // namespace mosaic::testing

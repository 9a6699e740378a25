// Kafka behaviour that applications rely on, checked with real clients
// against a real mosaicd: consumers joining one group together, fetch size
// limits, commits from consumers that assign partitions themselves, errors
// where Kafka gives them, topic and broker configs, transactions refused at
// once, share consumers' last acknowledgements. (Issue 27; each of these
// failed before it.)
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include "tests/compat/single_broker.h"

namespace mosaic::testing {
namespace {

using namespace std::chrono_literals;

std::string python_check(const broker& b, const std::string& check) {
  return run("timeout 120 /usr/bin/python3 " + compat_dir + "/conformance_check.py " + check + " " + b.bootstrap() +
             " 2>&1");
}

#ifdef MOSAIC_RDKAFKA_CONFORMANCE_CHECK
std::string rdkafka_check(const broker& b, const std::string& args) {
  return run("timeout 120 " MOSAIC_RDKAFKA_CONFORMANCE_CHECK " " + args.substr(0, args.find(' ')) + " " +
             b.bootstrap() + args.substr(args.find(' ')) + " 2>&1");
}
#endif

TEST(conformance, classic_consumers_started_together_share_one_generation_whatever_their_assignor_order) {
#ifndef MOSAIC_RDKAFKA_CONFORMANCE_CHECK
  FAIL() << "librdkafka 2.15.1 was not built: run tools/librdkafka";
#else
  // The broker's default group.initial.rebalance.delay.ms (3 s): members
  // that start together join the first generation, as in Kafka.
  temp_dir dir;
  broker b(dir);
  for (const auto& [n, variant] :
       std::vector<std::pair<int, std::string> >{{2, "plain"}, {5, "plain"}, {5, "orders"}, {3, "static"}}) {
    const std::string topic = "join-" + std::to_string(n) + "-" + variant;
    const std::string out = rdkafka_check(b, "join " + topic + " " + std::to_string(n) + " " + variant);
    EXPECT_NE(out.find("join(" + std::to_string(n) + "," + variant + "): ok"), std::string::npos) << out;
    EXPECT_EQ(out.find("INCONSISTENT_GROUP_PROTOCOL"), std::string::npos) << out;
  }
#endif
}

TEST(conformance, a_kip848_consumer_that_assigns_partitions_itself_commits_outside_the_group) {
#ifndef MOSAIC_RDKAFKA_CONFORMANCE_CHECK
  FAIL() << "librdkafka 2.15.1 was not built: run tools/librdkafka";
#else
  temp_dir dir;
  broker b(dir);
  const std::string out = rdkafka_check(b, "assign-commit assigned");
  EXPECT_NE(out.find("assign-commit: ok"), std::string::npos) << out;
#endif
}

TEST(conformance, a_fetch_answer_stays_within_fetch_max_bytes_past_its_first_batch) {
  // Four partitions of one 400 KB record each: 1.6 MB in all. A consumer
  // whose answers may be at most about 1 MB (receive.message.max.bytes)
  // reads them all, a few partitions an answer.
  temp_dir dir;
  broker b(dir);
  const std::string value(400 * 1024, 'x');
  dir.write("big.txt", value + "\n");
  ASSERT_EQ(run("timeout 30 /usr/bin/python3 -c \"from confluent_kafka.admin import AdminClient, NewTopic; "
                "a = AdminClient({'bootstrap.servers': '" +
                b.bootstrap() + "'}); a.create_topics([NewTopic('wide', 4, 1)])['wide'].result(15)\" 2>&1"),
            "");
  for (int p = 0; p < 4; ++p)
    ASSERT_EQ(run("timeout 30 kcat -P -b " + b.bootstrap() + " -t wide -p " + std::to_string(p) +
                  " -X message.max.bytes=1000000 -l " + (dir / "big.txt").string() + " 2>&1"),
              "");
  const std::string out = run("timeout 60 kcat -C -b " + b.bootstrap() +
                              " -t wide -o beginning -e -q -X fetch.max.bytes=1000000"
                              " -X receive.message.max.bytes=1000512 -f '%p %S\\n' 2>&1");
  auto got = lines(out);
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, (std::vector<std::string>{"0 409600", "1 409600", "2 409600", "3 409600"})) << out;
}

TEST(conformance, commits_for_topics_that_do_not_exist_are_refused_per_partition) {
  temp_dir dir;
  broker b(dir);
  const std::string out = python_check(b, "commits");
  EXPECT_NE(out.find("commits: ok"), std::string::npos) << out;
}

TEST(conformance, every_topic_config_kafka_defines_is_accepted_and_described) {
  temp_dir dir;
  broker b(dir);
  const std::string out = python_check(b, "configs");
  EXPECT_NE(out.find("configs: ok"), std::string::npos) << out;
}

TEST(conformance, init_transactions_fails_at_once_with_a_final_error) {
  temp_dir dir;
  broker b(dir);
  const std::string out = python_check(b, "transactions");
  EXPECT_NE(out.find("transactions: ok"), std::string::npos) << out;
}

TEST(conformance, dynamic_broker_configs_change_the_topic_defaults_at_run_time) {
  temp_dir dir;
  broker b(dir);
  const std::string out = python_check(b, "broker");
  EXPECT_NE(out.find("broker: ok"), std::string::npos) << out;
}

TEST(conformance, a_share_consumers_last_acknowledgements_survive_its_leave_sent_beside_them) {
#ifndef MOSAIC_RDKAFKA_SHARE_CHECK
  FAIL() << "librdkafka 2.15.1 was not built: run tools/librdkafka";
#else
  temp_dir dir;
  broker b(dir, {"group.share.heartbeat.interval.ms=500"});
  const std::string check = MOSAIC_RDKAFKA_SHARE_CHECK " " + b.bootstrap() + " ";
  ASSERT_EQ(run("timeout 60 " + check + "produce closing 200 2>&1"), "");
  ASSERT_EQ(run("timeout 60 " + check + "config closers share.auto.offset.reset earliest 2>&1"), "");
  // Twenty consumers one after another, each closing with acceptances not
  // yet sent: none of those records may come again.
  const std::string out = run("timeout 300 " + check + "closes closing closers 200 20 2>&1");
  EXPECT_NE(out.find("DELIVERED "), std::string::npos) << out;
  EXPECT_NE(out.find(" AGAIN 0"), std::string::npos) << out;
  std::printf("%s", out.c_str());
#endif
}

}  // namespace
}  // namespace mosaic::testing

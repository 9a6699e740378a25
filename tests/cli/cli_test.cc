// The `mosaic` command line as an operator runs it: the real binary against
// a real mosaicd on a port picked at run time.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>

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
        std::vector<std::string>{"--config", single_node, "--set",
                                 "listeners=[{name: PLAINTEXT, host: 127.0.0.1, port: 0, adapter: kafka}]"},
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

}  // namespace
}  // namespace mosaic::testing

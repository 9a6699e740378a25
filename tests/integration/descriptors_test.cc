// A broker with ten times more partitions than it has file descriptors
// (mosaicd under `ulimit -n 256`): every partition is created, produced to
// in random order, and read back after a kill -9 and a restart under the same
// limit. Segment files beyond log.max.open.files (half the limit by default)
// are closed when least recently used and opened again at their next use.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string_view>

#include "kafka_messages.h"
#include "kernel/log/batch_builder.h"
#include "tests/integration/process.h"
#include "tests/support/frame_client.h"
#include "tests/support/kafka_call.h"
#include "tests/support/ports.h"

namespace mosaic::testing {
namespace {

using namespace std::chrono_literals;
namespace msg = mosaic::kafka::msg;

constexpr int descriptor_limit = 256;
constexpr int topics = 10;
constexpr int partitions = 256;  // 2,560 in all: ten times the limit

std::unique_ptr<process> start(const temp_dir& dir, uint16_t port) {
  const std::string cmd = "ulimit -n " + std::to_string(descriptor_limit) + " && exec " + std::string(MOSAICD_PATH) +
                          " --config " MOSAIC_SOURCE_DIR
                          "/configs/single-node.yaml --set "
                          "'listeners=[{name: PLAINTEXT, host: 127.0.0.1, port: " +
                          std::to_string(port) + ", adapter: kafka}]'";
  auto p = std::make_unique<process>("/bin/bash", std::vector<std::string>{"-c", cmd}, dir.path());
  return p;
}

std::string topic_name(int t) { return "wide-" + std::to_string(t); }
// Unique in the partition's bytes: no value is a prefix of another.
std::string value_of(int t, int p) { return "<" + topic_name(t) + "/" + std::to_string(p) + ">"; }

TEST(descriptors, ten_times_more_partitions_than_descriptors_are_all_served_across_a_kill_9) {
  temp_dir dir;
  const uint16_t port = free_ports(1).at(0);
  auto broker = start(dir, port);
  ASSERT_TRUE(broker->wait_for_log("mosaicd started", 30s)) << broker->err();
  frame_client c(port);
  ASSERT_TRUE(c.connected());

  msg::create_topics_request create;
  create.timeout_ms = 60000;
  for (int t = 0; t < topics; ++t) {
    auto& topic = create.topics.emplace_back();
    topic.name = topic_name(t);
    topic.num_partitions = partitions;
    topic.replication_factor = 1;
  }
  auto created = call<msg::create_topics_response>(c, 19, 7, create);
  ASSERT_TRUE(created);
  for (const auto& t : created->topics) ASSERT_EQ(t.error_code, 0) << t.name << ": " << t.error_message.value_or("");

  // One record for every partition, in random order (each append may need
  // a file another just closed). A partition's leader opens its log when the
  // metadata reaches it, so the first answer may be a retriable error.
  std::vector<std::pair<int, int>> order;
  for (int t = 0; t < topics; ++t)
    for (int p = 0; p < partitions; ++p) order.emplace_back(t, p);
  std::shuffle(order.begin(), order.end(), std::mt19937(2026));
  for (const auto& [t, p] : order) {
    log::batch_builder b(1000);
    b.add("k", value_of(t, p), 1000);
    const auto records = b.finish();
    int16_t code = -1;
    for (int attempt = 0; attempt < 50 && code != 0; ++attempt) {
      auto r = call<msg::produce_response>(c, 0, 11, produce_request(topic_name(t), p, records, 1));
      ASSERT_TRUE(r) << "no answer for " << value_of(t, p) << "\n" << broker->err();
      code = r->responses.at(0).partition_responses.at(0).error_code;
      if (code != 0) std::this_thread::sleep_for(100ms);
    }
    ASSERT_EQ(code, 0) << value_of(t, p) << "\n" << broker->err();
  }
  EXPECT_EQ(broker->err().find("Too many open files"), std::string::npos) << broker->err();

  broker->signal(SIGKILL);
  (void)broker->wait(5s);
  broker = start(dir, port);
  ASSERT_TRUE(broker->wait_for_log("mosaicd started", 30s)) << broker->err();
  frame_client r(port);
  ASSERT_TRUE(r.connected());
  int found = 0;
  for (int t = 0; t < topics; ++t) {
    msg::fetch_request f;
    f.max_wait_ms = 0;
    f.session_epoch = -1;
    f.max_bytes = 64 << 20;
    auto& ft = f.topics.emplace_back();
    ft.topic = topic_name(t);
    for (int p = 0; p < partitions; ++p) {
      auto& fp = ft.partitions.emplace_back();
      fp.partition = p;
      fp.partition_max_bytes = 1 << 16;
    }
    auto got = call<msg::fetch_response>(r, 1, 12, f);
    ASSERT_TRUE(got) << topic_name(t);
    for (const auto& part : got->responses.at(0).partitions) {
      ASSERT_EQ(part.error_code, 0) << topic_name(t) << "-" << part.partition_index;
      EXPECT_EQ(part.high_watermark, 1) << topic_name(t) << "-" << part.partition_index;
      const auto bytes = part.records.span();
      const std::string want = value_of(t, part.partition_index);
      const std::string_view seen(reinterpret_cast<const char*>(bytes.data()), bytes.size());
      if (seen.find(want) != std::string_view::npos) ++found;
    }
  }
  EXPECT_EQ(found, topics * partitions) << broker->err();
  EXPECT_EQ(broker->err().find("Too many open files"), std::string::npos) << broker->err();
}

}  // namespace
}  // namespace mosaic::testing

// Three whole brokers in one process (tests/support/test_broker.h), each a
// voter of the metadata quorum, so that the replication shell's threads
// (the rpc endpoint's, the control thread, the network and I/O threads
// that produce) run together under ThreadSanitizer (label concurrency):
// acks=all through the leader reaches every replica, a controlled shutdown
// of a follower shrinks the ISR and acks=all goes on with two, and the
// broker coming back catches up.
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "kafka_messages.h"
#include "tests/support/frame_client.h"
#include "tests/support/kafka_call.h"
#include "tests/support/ports.h"
#include "tests/support/share_calls.h"
#include "tests/support/test_broker.h"

namespace mosaic::testing {
namespace {

using namespace std::chrono_literals;
namespace msg = mosaic::kafka::msg;

class trio {
 public:
  trio() : raft_(free_ports(3)) {
    for (int i = 1; i <= 3; ++i) start(i);
    for (int i = 1; i <= 3; ++i) wait(i);
  }
  void start(int id) {
    std::string voters = "controller.quorum.voters=[";
    for (int i = 0; i < 3; ++i)
      voters += (i ? ", " : "") + std::to_string(i + 1) + "@127.0.0.1:" + std::to_string(raft_[i]);
    voters += "]";
    std::vector<std::string> settings = {"node.id=" + std::to_string(id), voters,
                                         "controller.quorum.election.timeout.ms=500", "broker.session.timeout.ms=1500",
                                         "replica.lag.time.max.ms=2000"};
    // Each start blocks until the quorum forms: the three start together.
    pending_[id - 1] = std::async(std::launch::async, [this, id, settings] {
      brokers_[static_cast<size_t>(id - 1)] = std::make_unique<test_broker>(settings, &dirs_[id - 1]);
    });
  }
  void wait(int id) { pending_[id - 1].get(); }
  void stop(int id) { brokers_[static_cast<size_t>(id - 1)].reset(); }
  test_broker& operator[](int id) { return *brokers_[static_cast<size_t>(id - 1)]; }

 private:
  std::vector<uint16_t> raft_;
  temp_dir dirs_[3] = {temp_dir{"mosaic_rm1"}, temp_dir{"mosaic_rm2"}, temp_dir{"mosaic_rm3"}};
  std::unique_ptr<test_broker> brokers_[3];
  std::future<void> pending_[3];
};

msg::metadata_response_metadata_response_partition partition_of(test_broker& b, const std::string& topic) {
  frame_client c(b.port());
  msg::metadata_request req;
  req.topics.emplace();
  req.topics->emplace_back().name = topic;
  req.allow_auto_topic_creation = false;
  auto r = call<msg::metadata_response>(c, 3, 12, req);
  if (r && !r->topics.empty() && !r->topics[0].partitions.empty()) return r->topics[0].partitions[0];
  msg::metadata_response_metadata_response_partition none;
  none.leader_id = -1;
  return none;
}

template <class F>
bool eventually(F cond, std::chrono::milliseconds limit) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    if (cond()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return cond();
}

int64_t log_end(test_broker& b, const std::string& topic) {
  auto log = b.node().logs()->get(topic, 0);
  return log ? (*log)->log_end_offset() : -1;
}

TEST(replica_manager, acks_all_reaches_every_replica_and_survives_a_follower_leaving_and_coming_back) {
  trio t;
  {
    frame_client c(t[1].port());
    msg::create_topics_request req;
    auto& topic = req.topics.emplace_back();
    topic.name = "r";
    topic.num_partitions = 1;
    topic.replication_factor = 3;
    auto& cfg = topic.configs.emplace_back();
    cfg.name = "min.insync.replicas";
    cfg.value = "2";
    auto r = call<msg::create_topics_response>(c, 19, 7, req);
    ASSERT_TRUE(r);
    ASSERT_EQ(r->topics.at(0).error_code, 0);
  }
  ASSERT_TRUE(eventually([&] { return partition_of(t[1], "r").isr_nodes.size() == 3; }, 10s));
  const int leader = partition_of(t[1], "r").leader_id;
  ASSERT_GE(leader, 1);
  // The leader's own replica takes up the partition a moment after its
  // metadata says so (NOT_LEADER_OR_FOLLOWER meanwhile, as Kafka answers).
  ASSERT_TRUE(eventually(
      [&] {
        frame_client c(t[leader].port());
        log::batch_builder b(1700000000000);
        b.add(std::nullopt, "first");
        auto records = b.finish();
        auto r = call<msg::produce_response>(c, 0, 9, produce_request("r", 0, records));
        return r && r->responses.at(0).partition_responses.at(0).error_code == 0;
      },
      10s));
  {
    frame_client c(t[leader].port());
    for (int i = 0; i < 20; ++i) produce_values(c, "r", 50, "a" + std::to_string(i) + "-");
  }
  // acks=all answered: every ISR member has the 1 + 1,000 records.
  for (int id = 1; id <= 3; ++id)
    EXPECT_TRUE(eventually([&] { return log_end(t[id], "r") == 1001; }, 5s)) << "broker " << id;

  // A follower stops (a controlled shutdown): the ISR is two, still min ISR.
  const int follower = leader == 3 ? 2 : 3;
  t.stop(follower);
  ASSERT_TRUE(eventually([&] { return partition_of(t[leader], "r").isr_nodes.size() == 2; }, 10s));
  {
    frame_client c(t[leader].port());
    produce_values(c, "r", 100, "b-");
  }
  // Back: it catches up from the leader and rejoins the ISR.
  t.start(follower);
  t.wait(follower);
  EXPECT_TRUE(eventually([&] { return partition_of(t[leader], "r").isr_nodes.size() == 3; }, 15s));
  EXPECT_TRUE(eventually([&] { return log_end(t[follower], "r") == 1101; }, 10s));
}

}  // namespace
}  // namespace mosaic::testing

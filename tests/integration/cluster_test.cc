// Three real mosaicd processes on loopback forming a metadata quorum, each
// a broker and a voter with its own ports and data folder
// (tests/integration/cluster.h). Topics created through any node reach
// every node's Metadata; the quorum's leader killed
// with SIGKILL is replaced and the quorum commits again within two
// election timeouts; restarted, the old leader catches up by snapshot.
#include <gtest/gtest.h>

#include "tests/integration/cluster.h"

namespace mosaic::testing {
namespace {

TEST(cluster, three_nodes_share_metadata_survive_the_leaders_death_and_catch_up) {
  cluster c;
  for (int id = 1; id <= 3; ++id) ASSERT_TRUE(c.ready(id)) << "node " << id << ":\n" << c.node(id).err();

  // A topic created through a follower's listener goes to the leader, and
  // shows in Metadata on every node, with every broker listed.
  ASSERT_TRUE(eventually([&] { return c.controller(1) > 0; }, 10s));
  const int leader = c.controller(1);
  const int follower = leader == 1 ? 2 : 1;
  ASSERT_EQ(c.create(follower, "before"), 0);
  EXPECT_EQ(c.create(leader == 3 ? 2 : 3, "before"), 36);  // TOPIC_ALREADY_EXISTS, from any node
  for (int id = 1; id <= 3; ++id) {
    ASSERT_TRUE(eventually([&] { return c.topics(id).count("before") == 1; }, 5s)) << "node " << id;
    auto md = c.metadata(id);
    ASSERT_TRUE(md);
    EXPECT_EQ(md->brokers.size(), 3u) << "node " << id;
    EXPECT_EQ(md->controller_id, leader) << "node " << id;
    EXPECT_EQ(md->cluster_id, "three-nodes");
    // One replica, on one of the brokers, the same everywhere.
    for (const auto& t : md->topics) {
      if (t.name == "before") {
        EXPECT_GE(t.partitions.at(0).leader_id, 1);
        EXPECT_LE(t.partitions.at(0).leader_id, 3);
        EXPECT_EQ(t.partitions.at(0).replica_nodes, std::vector<int32_t>{t.partitions.at(0).leader_id});
      }
    }
  }

  // A real client finds the partition's broker through any node: kcat
  // produces through one node and consumes through another.
  const int elsewhere = 6 - leader - follower;
  auto produced = run_command("printf 'one\\ntwo\\nthree\\n' | timeout 30 kcat -P -b 127.0.0.1:" +
                              std::to_string(c.port(elsewhere)) + " -t before 2>&1");
  EXPECT_EQ(produced.code, 0) << produced.out;
  auto consumed = run_command("timeout 30 kcat -C -e -q -b 127.0.0.1:" + std::to_string(c.port(leader)) +
                              " -t before -f '%s\\n' 2>&1");
  EXPECT_EQ(consumed.code, 0) << consumed.out;
  EXPECT_EQ(consumed.out, "one\ntwo\nthree\n");

  // DescribeQuorum: the leader sees three voters; a follower points at it.
  auto q = c.quorum(leader);
  ASSERT_TRUE(q);
  const auto& part = q->topics.at(0).partitions.at(0);
  EXPECT_EQ(part.error_code, 0);
  EXPECT_EQ(part.leader_id, leader);
  EXPECT_EQ(part.current_voters.size(), 3u);
  EXPECT_GT(part.high_watermark, 0);
  EXPECT_EQ(q->nodes.size(), 3u);
  auto fq = c.quorum(follower);
  ASSERT_TRUE(fq);
  EXPECT_EQ(fq->topics.at(0).partitions.at(0).error_code, 6);  // NOT_LEADER_OR_FOLLOWER
  EXPECT_EQ(fq->topics.at(0).partitions.at(0).leader_id, leader);

  // kill -9 the leader: the others elect a new one and commit.
  const auto killed_at = clock_type::now();
  c.kill(leader);
  const int survivor = leader == 1 ? 2 : 1;
  ASSERT_TRUE(eventually([&] { return c.create(survivor, "after") == 0; }, 20s));
  const auto failover = std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - killed_at);
  std::printf("failover: %lld ms from kill -9 to the first commit (election timeout %lld ms)\n",
              static_cast<long long>(failover.count()), static_cast<long long>(election_timeout_ms));
  // Two election timeouts, with room for a loaded (sanitized) run.
  EXPECT_LT(failover.count(), 2 * election_timeout_ms + 2000);
  const int new_leader = c.controller(survivor);
  EXPECT_NE(new_leader, leader);
  EXPECT_GT(new_leader, 0);

  // Far behind: enough changes while it is down that the new leader has
  // snapshotted past what the old one holds.
  for (int i = 0; i < 120; ++i) ASSERT_EQ(c.create(survivor, "while-down-" + std::to_string(i)), 0) << i;

  c.start(leader);
  ASSERT_TRUE(c.ready(leader));
  ASSERT_TRUE(eventually([&] { return c.topics(leader).size() == 122; }, 20s)) << c.topics(leader).size();
  EXPECT_TRUE(c.node(leader).wait_for_log("installed a snapshot", 5s)) << c.node(leader).err();
  for (int id = 1; id <= 3; ++id) {
    auto t = c.topics(id);
    EXPECT_TRUE(t.count("before") && t.count("after") && t.count("while-down-119")) << "node " << id;
  }
  // And it takes part again: a change made through it commits everywhere.
  ASSERT_EQ(c.create(leader, "back"), 0);
  for (int id = 1; id <= 3; ++id) EXPECT_TRUE(eventually([&] { return c.topics(id).count("back") == 1; }, 5s));

  // SIGTERM to the leader is a controlled shutdown: it hands leadership
  // over before it goes, and the log says so.
  const int current = c.controller(leader);
  ASSERT_GT(current, 0);
  c.node(current).signal(SIGTERM);
  EXPECT_EQ(c.node(current).wait(10s), 0);
  EXPECT_NE(c.node(current).err().find("hands leadership to node"), std::string::npos) << c.node(current).err();
  const int asked = current == 1 ? 2 : 1;
  EXPECT_TRUE(eventually([&] { return c.create(asked, "after-sigterm") == 0; }, 10s));
}

TEST(cluster, a_broker_only_node_observes_the_quorum_and_serves_clients) {
  cluster c(true);
  for (int id = 1; id <= 4; ++id) ASSERT_TRUE(c.ready(id)) << "node " << id << ":\n" << c.node(id).err();
  EXPECT_NE(c.node(4).err().find("observing the voters 1,2,3"), std::string::npos) << c.node(4).err();
  // Changes made through the observer go to the leader; every node lists
  // four brokers and places the partition on one of them.
  ASSERT_EQ(c.create(4, "from-the-observer"), 0);
  ASSERT_TRUE(eventually([&] { return c.controller(1) > 0; }, 10s));
  const int leader = c.controller(1);
  for (int id = 1; id <= 4; ++id) {
    ASSERT_TRUE(eventually([&] { return c.topics(id).count("from-the-observer") == 1; }, 5s)) << "node " << id;
    auto md = c.metadata(id);
    ASSERT_TRUE(md);
    EXPECT_EQ(md->brokers.size(), 4u) << "node " << id;
    for (const auto& t : md->topics) {
      if (t.name == "from-the-observer") {
        EXPECT_GE(t.partitions.at(0).leader_id, 1);
        EXPECT_LE(t.partitions.at(0).leader_id, 4);
      }
    }
  }
  auto q = c.quorum(leader);
  ASSERT_TRUE(q);
  const auto& part = q->topics.at(0).partitions.at(0);
  EXPECT_EQ(part.current_voters.size(), 3u);
  ASSERT_EQ(part.observers.size(), 1u);
  EXPECT_EQ(part.observers[0].replica_id, 4);
  // The leader dies: the observer finds the next one and keeps up.
  c.kill(leader);
  const int survivor = leader == 1 ? 2 : 1;
  ASSERT_TRUE(eventually([&] { return c.create(survivor, "after-the-leader") == 0; }, 20s));
  EXPECT_TRUE(eventually([&] { return c.topics(4).count("after-the-leader") == 1; }, 10s));
  EXPECT_EQ(c.create(4, "from-the-observer-again"), 0);
  EXPECT_TRUE(eventually([&] { return c.topics(survivor).count("from-the-observer-again") == 1; }, 5s));
}

}  // namespace
}  // namespace mosaic::testing

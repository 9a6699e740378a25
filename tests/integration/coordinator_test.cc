// Group coordinators on three real mosaicd processes (tests/integration/
// cluster.h), spoken to with hand-made requests: a group's coordinator is
// the leader of its __consumer_offsets partition on every broker's word;
// the others say NOT_COORDINATOR; when the coordinator's broker is killed
// (SIGKILL), another takes the partition up with the group's committed
// offsets and its KIP-848 members at their epochs, so the group carries on
// without a rebalance; the killed broker, back, is a follower and says
// NOT_COORDINATOR; an idempotent producer's retry after a leader change
// is still recognised as a duplicate; and a share group of librdkafka
// share consumers keeps its records' states when the share-partition
// leader is killed, and the share group itself moves with its
// __consumer_offsets partition as a consumer group does.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "kernel/log/batch_builder.h"
#include "tests/integration/cluster.h"
#include "tests/support/shell.h"
#include "tests/support/temp_dir.h"

namespace mosaic::testing {
namespace {

constexpr int16_t not_coordinator = 16, load_in_progress = 14;

std::vector<std::string> fast() {
  return {"broker.session.timeout.ms=1500",
          "replica.lag.time.max.ms=2000",
          "replica.fetch.wait.max.ms=200",
          "group.consumer.session.timeout.ms=30000",
          "group.consumer.heartbeat.interval.ms=1000",
          "offsets.topic.num.partitions=10"};
}

// FindCoordinator for `group` asked of node `asked`: the coordinator's id,
// or -error.
int32_t coordinator_of(cluster& c, int asked, const std::string& group) {
  frame_client fc(c.port(asked));
  if (!fc.connected()) return -1000;
  msg::find_coordinator_request req;
  req.key = group;
  auto r = call<msg::find_coordinator_response>(fc, 10, 3, req);
  if (!r) return -1000;
  return r->error_code != 0 ? -r->error_code : r->node_id;
}

msg::consumer_group_heartbeat_request heartbeat_req(const std::string& group, const std::string& member,
                                                    int32_t epoch) {
  return consumer_heartbeat_request(group, member, epoch, epoch == 0 ? std::optional<std::string>("t") : std::nullopt);
}

std::optional<msg::consumer_group_heartbeat_response> heartbeat(cluster& c, int id,
                                                                const msg::consumer_group_heartbeat_request& req) {
  frame_client fc(c.port(id));
  if (!fc.connected()) return std::nullopt;
  auto r = call<msg::consumer_group_heartbeat_response>(fc, 68, 1, req);
  if (!r) return std::nullopt;
  return static_cast<msg::consumer_group_heartbeat_response>(*r);
}

// OffsetCommit v9 at `epoch`; the first partition's error.
int16_t commit(cluster& c, int id, const std::string& group, const std::string& member, int32_t epoch,
               const std::vector<int64_t>& offsets) {
  frame_client fc(c.port(id));
  if (!fc.connected()) return -2;
  msg::offset_commit_request req;
  req.group_id = group;
  req.generation_id_or_member_epoch = epoch;
  req.member_id = member;
  auto& t = req.topics.emplace_back();
  t.name = "t";
  for (size_t p = 0; p < offsets.size(); ++p) {
    auto& rp = t.partitions.emplace_back();
    rp.partition_index = static_cast<int32_t>(p);
    rp.committed_offset = offsets[p];
  }
  auto r = call<msg::offset_commit_response>(fc, 8, 9, req);
  if (!r) return -2;
  for (const auto& p : r->topics.at(0).partitions)
    if (p.error_code != 0) return p.error_code;
  return 0;
}

// OffsetFetch v8: the committed offsets of t/0..n-1, or the group's error.
std::pair<int16_t, std::vector<int64_t>> committed(cluster& c, int id, const std::string& group, int32_t n) {
  frame_client fc(c.port(id));
  if (!fc.connected()) return {-2, {}};
  msg::offset_fetch_request req;
  auto& g = req.groups.emplace_back();
  g.group_id = group;
  auto& t = g.topics.emplace().emplace_back();
  t.name = "t";
  for (int32_t p = 0; p < n; ++p) t.partition_indexes.push_back(p);
  auto r = call<msg::offset_fetch_response>(fc, 9, 8, req);
  if (!r) return {-2, {}};
  std::vector<int64_t> out;
  if (r->groups.at(0).error_code != 0) return {r->groups.at(0).error_code, {}};
  for (const auto& p : r->groups.at(0).topics.at(0).partitions) out.push_back(p.committed_offset);
  return {0, out};
}

size_t owned_count(const msg::consumer_group_heartbeat_response& r) {
  size_t n = 0;
  if (r.assignment)
    for (const auto& tp : r.assignment->topic_partitions) n += tp.partitions.size();
  return n;
}

TEST(coordinator, a_group_moves_with_its_partition_across_a_kill_9_keeping_offsets_and_member_epochs) {
  cluster c(false, fast());
  for (int id = 1; id <= 3; ++id) ASSERT_TRUE(c.ready(id)) << c.node(id).err();
  ASSERT_EQ(c.create(1, "t", 3, 3), 0);

  // Every broker names the same coordinator: the partition's leader.
  int32_t x = -1;
  ASSERT_TRUE(eventually([&] { return (x = coordinator_of(c, 1, "g")) > 0; }, 10s)) << x;
  for (int id = 2; id <= 3; ++id) EXPECT_EQ(coordinator_of(c, id, "g"), x);
  const int other = x == 1 ? 2 : 1;
  auto refused = heartbeat(c, other, heartbeat_req("g", "m1", 0));
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->error_code, not_coordinator);

  // A KIP-848 member takes all three partitions and commits.
  std::optional<msg::consumer_group_heartbeat_response> j;
  ASSERT_TRUE(eventually(
      [&] {
        j = heartbeat(c, x, heartbeat_req("g", "m1", 0));
        return j && j->error_code == 0;
      },
      10s));
  int32_t epoch = j->member_epoch;
  if (owned_count(*j) < 3) {
    auto again = heartbeat(c, x, heartbeat_req("g", "m1", epoch));
    ASSERT_TRUE(again);
    j = again;
    epoch = j->member_epoch;
  }
  ASSERT_EQ(owned_count(*j), 3u);
  ASSERT_EQ(commit(c, x, "g", "m1", epoch, {5, 6, 7}), 0);

  // The operator's view from any broker: the coordinator, the member and
  // its commits; every broker's groups listed.
  const std::string cli = std::string(MOSAIC_CLI_PATH) + " -b 127.0.0.1:" + std::to_string(c.port(other));
  auto described = run_command(cli + " groups describe g 2>&1");
  EXPECT_EQ(described.code, 0) << described.out;
  EXPECT_NE(described.out.find("COORDINATOR  broker " + std::to_string(x) + " (127.0.0.1:" + std::to_string(c.port(x))),
            std::string::npos)
      << described.out;
  EXPECT_NE(described.out.find("m1"), std::string::npos) << described.out;
  EXPECT_NE(described.out.find("TOTAL LAG"), std::string::npos) << described.out;
  int32_t e = -1;  // another group, most likely coordinated by another broker
  ASSERT_TRUE(eventually([&] { return (e = coordinator_of(c, 1, "elsewhere")) > 0; }, 10s)) << e;
  ASSERT_EQ(commit(c, e, "elsewhere", "", -1, {1, 1, 1}), 0);
  auto listed = run_command(cli + " groups list 2>&1");
  EXPECT_EQ(listed.code, 0) << listed.out;
  EXPECT_NE(listed.out.find("g "), std::string::npos) << listed.out;
  EXPECT_NE(listed.out.find("elsewhere"), std::string::npos) << listed.out;

  // Its broker dies: another leads the partition and coordinates the group.
  const auto killed_at = clock_type::now();
  c.kill(x);
  const int survivor = x == 3 ? 2 : 3;
  int32_t y = -1;
  ASSERT_TRUE(eventually([&] { return (y = coordinator_of(c, survivor, "g")) > 0 && y != x; }, 15s)) << y;
  std::pair<int16_t, std::vector<int64_t>> got;
  ASSERT_TRUE(eventually(
      [&] {
        got = committed(c, y, "g", 3);
        return got.first == 0;
      },
      10s))
      << got.first;
  const auto moved_ms = std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - killed_at).count();
  std::printf("coordinator moved from broker %d to %d in %lld ms\n", x, y, static_cast<long long>(moved_ms));
  EXPECT_EQ(got.second, (std::vector<int64_t>{5, 6, 7}));

  // The member carries on at its epoch with its partitions: no rebalance.
  auto h = heartbeat_req("g", "m1", epoch);
  h.topic_partitions.emplace();
  for (const auto& tp : j->assignment->topic_partitions) {
    auto& o = h.topic_partitions->emplace_back();
    o.topic_id = tp.topic_id;
    o.partitions = tp.partitions;
  }
  std::optional<msg::consumer_group_heartbeat_response> after;
  ASSERT_TRUE(eventually(
      [&] {
        after = heartbeat(c, y, h);
        return after && after->error_code != load_in_progress;
      },
      5s));
  EXPECT_EQ(after->error_code, 0) << (after->error_message ? *after->error_message : "");
  EXPECT_EQ(after->member_epoch, epoch);
  EXPECT_EQ(commit(c, y, "g", "m1", epoch, {8, 9, 10}), 0);

  // Back, the killed broker follows; it does not coordinate the group.
  c.start(x);
  ASSERT_TRUE(c.ready(x)) << c.node(x).err();
  EXPECT_EQ(coordinator_of(c, x, "g"), y);
  auto stale = heartbeat(c, x, h);
  ASSERT_TRUE(stale);
  EXPECT_EQ(stale->error_code, not_coordinator);
  EXPECT_EQ(committed(c, y, "g", 3).second, (std::vector<int64_t>{8, 9, 10}));
}

std::optional<msg::share_group_heartbeat_response> share_heartbeat(cluster& c, int id, const std::string& group,
                                                                   const std::string& member, int32_t epoch) {
  frame_client fc(c.port(id));
  if (!fc.connected()) return std::nullopt;
  msg::share_group_heartbeat_request req;
  req.group_id = group;
  req.member_id = member;
  req.member_epoch = epoch;
  if (epoch == 0) req.subscribed_topic_names = std::vector<std::string>{"t"};
  auto r = call<msg::share_group_heartbeat_response>(fc, 76, 1, req);
  if (!r) return std::nullopt;
  return static_cast<msg::share_group_heartbeat_response>(*r);
}

struct share_view {
  int16_t code = -2;
  std::string state;
  int32_t epoch = -1;
  size_t members = 0;
};
share_view share_describe(cluster& c, int id, const std::string& group) {
  frame_client fc(c.port(id));
  share_view v;
  if (!fc.connected()) return v;
  msg::share_group_describe_request req;
  req.group_ids = {group};
  auto r = call<msg::share_group_describe_response>(fc, 77, 1, req);
  if (!r || r->groups.empty()) return v;
  v.code = r->groups[0].error_code;
  v.state = r->groups[0].group_state;
  v.epoch = r->groups[0].group_epoch;
  v.members = r->groups[0].members.size();
  return v;
}

// A share group lives where its consumer group would: in its
// __consumer_offsets partition, served by that partition's leader. The
// other brokers say NOT_COORDINATOR; when the coordinator dies, the new
// one has the group (its epoch, the topics it was assigned) and its
// members, not persisted, join again there.
TEST(coordinator, a_share_group_moves_with_its_partition_across_a_kill_9) {
  cluster c(false, fast());
  for (int id = 1; id <= 3; ++id) ASSERT_TRUE(c.ready(id)) << c.node(id).err();
  ASSERT_EQ(c.create(1, "t", 3, 3), 0);
  int32_t x = -1;
  ASSERT_TRUE(eventually([&] { return (x = coordinator_of(c, 1, "sg")) > 0; }, 10s)) << x;
  const int other = x == 1 ? 2 : 1;
  auto refused = share_heartbeat(c, other, "sg", "m1", 0);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->error_code, not_coordinator);

  // A member joins at the coordinator and is given the three partitions.
  std::optional<msg::share_group_heartbeat_response> j;
  ASSERT_TRUE(eventually(
      [&] {
        j = share_heartbeat(c, x, "sg", "m1", 0);
        return j && j->error_code == 0;
      },
      10s))
      << (j ? j->error_code : -1);
  const int32_t joined_epoch = j->member_epoch;
  EXPECT_GT(joined_epoch, 0);
  auto here = share_describe(c, x, "sg");
  EXPECT_EQ(here.code, 0);
  EXPECT_EQ(here.state, "Stable");
  EXPECT_EQ(here.members, 1u);
  EXPECT_EQ(share_describe(c, other, "sg").code, not_coordinator);

  // The coordinator dies: the group is at the next one, without members.
  c.kill(x);
  const int survivor = x == 3 ? 2 : 3;
  int32_t y = -1;
  ASSERT_TRUE(eventually([&] { return (y = coordinator_of(c, survivor, "sg")) > 0 && y != x; }, 15s)) << y;
  share_view moved;
  ASSERT_TRUE(eventually(
      [&] {
        moved = share_describe(c, y, "sg");
        return moved.code != load_in_progress && moved.code != not_coordinator && moved.code != -2;
      },
      10s))
      << moved.code;
  EXPECT_EQ(moved.code, 0) << "the share group was not found at its new coordinator";
  EXPECT_EQ(moved.state, "Empty");
  EXPECT_GE(moved.epoch, joined_epoch);
  EXPECT_EQ(moved.members, 0u);
  const std::string cli = std::string(MOSAIC_CLI_PATH) + " -b 127.0.0.1:" + std::to_string(c.port(survivor));
  auto described = run_command(cli + " share describe sg 2>&1");
  EXPECT_EQ(described.code, 0) << described.out;
  EXPECT_NE(described.out.find("COORDINATOR " + std::to_string(y) + " "), std::string::npos) << described.out;

  // The member is told it is unknown there, and joins again at a later epoch.
  auto unknown = share_heartbeat(c, y, "sg", "m1", joined_epoch);
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->error_code, 25);  // UNKNOWN_MEMBER_ID
  auto rejoined = share_heartbeat(c, y, "sg", "m1", 0);
  ASSERT_TRUE(rejoined);
  EXPECT_EQ(rejoined->error_code, 0);
  EXPECT_GT(rejoined->member_epoch, moved.epoch);

  // Back, the killed broker follows: not the group's coordinator.
  c.start(x);
  ASSERT_TRUE(c.ready(x)) << c.node(x).err();
  EXPECT_EQ(coordinator_of(c, x, "sg"), y);
  auto stale = share_heartbeat(c, x, "sg", "m1", rejoined->member_epoch);
  ASSERT_TRUE(stale);
  EXPECT_EQ(stale->error_code, not_coordinator);
  EXPECT_EQ(share_describe(c, y, "sg").members, 1u);
}

// The idempotent producer's state is on every replica (followers keep the
// producers' sequences as they copy batches): a retry sent to the new
// leader after a failover is recognised as the batch it already has.
TEST(coordinator, an_idempotent_retry_after_a_leader_change_is_still_a_duplicate) {
  cluster c(false, fast());
  for (int id = 1; id <= 3; ++id) ASSERT_TRUE(c.ready(id)) << c.node(id).err();
  ASSERT_EQ(c.create(1, "idem", 3, 1), 0);
  auto leader_of = [&](int asked) {
    auto md = c.metadata(asked);
    if (md)
      for (const auto& t : md->topics)
        if (t.name == "idem" && !t.partitions.empty() && t.partitions[0].isr_nodes.size() == 3)
          return t.partitions[0].leader_id;
    return -1;
  };
  int32_t first = -1;
  ASSERT_TRUE(eventually([&] { return (first = leader_of(1)) > 0; }, 10s));
  int64_t pid = -1;
  int16_t epoch = -1;
  {
    frame_client fc(c.port(1));
    msg::init_producer_id_request init;
    init.transaction_timeout_ms = 60000;
    auto id = call<msg::init_producer_id_response>(fc, 22, 4, init);
    ASSERT_TRUE(id);
    ASSERT_EQ(id->error_code, 0);
    pid = id->producer_id;
    epoch = id->producer_epoch;
  }
  // Produces the batch of `n` records at sequence `seq` to broker `to`;
  // the error and the base offset.
  auto send = [&](int to, int32_t seq, int n) -> std::pair<int16_t, int64_t> {
    log::batch_builder b(1700000000000);
    b.producer(pid, epoch, seq);
    for (int i = 0; i < n; ++i) b.add("k", "v" + std::to_string(seq + i));
    auto records = b.finish();
    frame_client fc(c.port(to));
    if (!fc.connected()) return {-2, -1};
    auto r = call<msg::produce_response>(fc, 0, 11, produce_request("idem", 0, records, -1));
    if (!r) return {-2, -1};
    const auto& p = r->responses.at(0).partition_responses.at(0);
    return {p.error_code, p.base_offset};
  };
  ASSERT_EQ(send(first, 0, 3), (std::pair<int16_t, int64_t>{0, 0}));
  ASSERT_EQ(send(first, 3, 2), (std::pair<int16_t, int64_t>{0, 3}));

  c.kill(first);
  const int other = first == 1 ? 2 : 1;
  int32_t next = -1;
  ASSERT_TRUE(eventually(
      [&] {
        auto md = c.metadata(other);
        if (md)
          for (const auto& t : md->topics)
            if (t.name == "idem" && !t.partitions.empty()) next = t.partitions[0].leader_id;
        return next > 0 && next != first;
      },
      15s));
  std::pair<int16_t, int64_t> retry;
  ASSERT_TRUE(eventually(
      [&] {
        retry = send(next, 3, 2);  // the client did not hear the answer: it sends the batch again
        return retry.first != 6;   // NOT_LEADER_OR_FOLLOWER while the new leader takes over
      },
      10s));
  EXPECT_EQ(retry, (std::pair<int16_t, int64_t>{0, 3})) << "a duplicate: the offsets it was written at";
  EXPECT_EQ(send(next, 5, 1), (std::pair<int16_t, int64_t>{0, 5})) << "nothing was written twice before it";
  EXPECT_EQ(send(next, 9, 1).first, 45) << "a gap in the sequence: OUT_OF_ORDER_SEQUENCE_NUMBER";
}

// Three librdkafka 2.15.1 share consumers accept records (rejecting every
// tenth, into the DLQ) while the leader of the topic's one partition, the
// share-partition leader, is killed: the new leader takes the share-partition
// up from the share coordinator's state, no record whose acceptance was
// confirmed is delivered again, every record ends accepted or in the DLQ,
// and no delivery count goes up by more than the one delivery the crash cut
// short.
TEST(coordinator, a_share_group_keeps_its_records_states_across_a_kill_9_of_the_share_partition_leader) {
#ifndef MOSAIC_RDKAFKA_SHARE_CHECK
  FAIL() << "librdkafka 2.15.1 was not built: run tools/librdkafka";
#else
  auto settings = fast();
  settings.insert(settings.end(),
                  {"group.share.min.record.lock.duration.ms=1000", "group.share.heartbeat.interval.ms=500",
                   "share.coordinator.state.topic.num.partitions=10"});
  cluster c(false, settings);
  for (int id = 1; id <= 3; ++id) ASSERT_TRUE(c.ready(id)) << c.node(id).err();
  ASSERT_EQ(c.create(1, "q", 3, 1), 0);
  ASSERT_EQ(c.create(1, "dlq.q", 3, 1), 0);
  std::string bootstrap;
  for (int id = 1; id <= 3; ++id)
    bootstrap += (id > 1 ? "," : "") + std::string("127.0.0.1:") + std::to_string(c.port(id));
  auto share_check = [&](const std::string& args, const std::string& brokers) {
    return run_command("timeout 120 " + std::string(MOSAIC_RDKAFKA_SHARE_CHECK) + " " + brokers + " " + args + " 2>&1");
  };
  auto in_sync = [&](const std::string& topic) {
    auto md = c.metadata(1);
    if (md)
      for (const auto& t : md->topics)
        if (t.name == topic && !t.partitions.empty()) return t.partitions[0].isr_nodes.size() == 3;
    return false;
  };
  auto isr_seen = [&] {
    std::string seen;
    if (auto md = c.metadata(1))
      for (const auto& t : md->topics)
        seen += t.name.value_or("?") + ":" + std::to_string(t.error_code) + ":" +
                std::to_string(t.partitions.empty() ? -1 : static_cast<int>(t.partitions[0].isr_nodes.size())) + " ";
    return seen;
  };
  ASSERT_TRUE(eventually([&] { return in_sync("q") && in_sync("dlq.q"); }, 15s)) << isr_seen();
  const int records = 6000;
  auto produced = share_check("produce q " + std::to_string(records), bootstrap);
  ASSERT_EQ(produced.code, 0) << produced.out;
  for (const char* config : {"share.auto.offset.reset earliest", "errors.deadletterqueue.topic.name dlq.q",
                             "share.record.lock.duration.ms 2000"}) {
    auto r = share_check(std::string("config sg ") + config, bootstrap);
    ASSERT_EQ(r.code, 0) << r.out;
  }
  auto leader_of_q = [&](int asked) {
    auto md = c.metadata(asked);
    if (md)
      for (const auto& t : md->topics)
        if (t.name == "q" && !t.partitions.empty()) return t.partitions[0].leader_id;
    return -1;
  };
  int32_t leader = -1;
  ASSERT_TRUE(eventually([&] { return (leader = leader_of_q(1)) > 0; }, 10s));

  temp_dir files;
  const auto ready = files.path() / "ready";
  const auto killed = files.path() / "killed";
  const std::string cmd = "timeout 240 " + std::string(MOSAIC_RDKAFKA_SHARE_CHECK) + " " + bootstrap + " work q sg " +
                          std::to_string(records) + " 10 " + ready.string() + " " + killed.string() + " 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  for (int i = 0; i < 1200 && !std::filesystem::exists(ready); ++i) std::this_thread::sleep_for(50ms);
  EXPECT_TRUE(std::filesystem::exists(ready));
  c.kill(leader);
  std::ofstream(killed.string()).put('\n');
  std::string out;
  std::array<char, 4096> buf{};
  while (size_t n = std::fread(buf.data(), 1, buf.size(), p)) out.append(buf.data(), n);
  ::pclose(p);
  std::istringstream summary(out);
  for (std::string line; std::getline(summary, line);)
    if (line.rfind("CONFIRMED", 0) == 0 || line.rfind("COUNT_JUMPS", 0) == 0)
      std::printf("broker %d killed: %s\n", leader, line.c_str());
  EXPECT_NE(out.find("TWICE 0 AFTER_ACCEPT 0"), std::string::npos) << out.substr(0, 4000);
  EXPECT_NE(out.find("COUNT_JUMPS 0 "), std::string::npos) << out.substr(0, 4000);

  // Every record finished, as the group's coordinator (which reads the
  // share-partition's state from its share coordinator) describes it.
  const int survivor = leader == 1 ? 2 : 1;
  const std::string cli = std::string(MOSAIC_CLI_PATH) + " -b 127.0.0.1:" + std::to_string(c.port(survivor));
  std::vector<std::string> row;  // TOPIC PARTITION START-OFFSET END-OFFSET IN-FLIGHT ... LAG
  std::string described;
  ASSERT_TRUE(eventually(
      [&] {
        described = run_command(cli + " share describe sg 2>&1").out;
        row.clear();
        std::istringstream lines(described);
        for (std::string line; std::getline(lines, line);)
          if (line.rfind("q ", 0) == 0) {
            std::istringstream in(line);
            for (std::string f; in >> f;) row.push_back(f);
          }
        return row.size() == 10u && row[2] == std::to_string(records);
      },
      20s))
      << described;
  EXPECT_EQ(row[9], "0") << described;
  // Every rejected record is in the dead-letter topic.
  std::set<int> dead;
  std::string alive;
  for (int id = 1; id <= 3; ++id)
    if (id != leader) alive += (alive.empty() ? "" : ",") + std::string("127.0.0.1:") + std::to_string(c.port(id));
  std::istringstream letters(run_command("timeout 30 kcat -C -b " + alive + " -t dlq.q -e -q -f '%h\\n'").out);
  for (std::string line; std::getline(letters, line);) {
    const std::string mark = "__dlq.errors.offset=";
    const auto at = line.find(mark);
    if (at != std::string::npos) dead.insert(std::stoi(line.substr(at + mark.size())));
  }
  EXPECT_EQ(dead.size(), static_cast<size_t>(records / 10));
  int missing = 0;
  for (int r = 9; r < records; r += 10) missing += dead.count(r) ? 0 : 1;
  EXPECT_EQ(missing, 0);
#endif
}

}  // namespace
}  // namespace mosaic::testing

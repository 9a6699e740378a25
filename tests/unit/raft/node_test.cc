// raft::node in small hand-made clusters whose messages are delivered at
// once and in order, unless a test blocks a link or stops a node. The
// simulation (tests/sim) covers the adversarial schedules; these tests pin
// down each mechanism by name.
#include <gtest/gtest.h>

#include <deque>
#include <map>
#include <memory>
#include <set>
#include <string>

#include "kernel/raft/node.h"

namespace mosaic::raft {
namespace {

std::vector<uint8_t> bytes(const std::string& s) { return {s.begin(), s.end()}; }

class list_sm final : public state_machine {
 public:
  void apply(const entry& e) override {
    if (e.type == entry_type::command) commands.emplace_back(e.data.begin(), e.data.end());
    last = e.index;
  }
  std::vector<uint8_t> take_snapshot() override {
    std::string all;
    for (const auto& c : commands) all += c + "\n";
    return bytes(all);
  }
  void restore(const snapshot_meta& meta, std::span<const uint8_t> data) override {
    commands.clear();
    std::string cur;
    for (uint8_t c : data) {
      if (c == '\n') {
        commands.push_back(cur);
        cur.clear();
      } else {
        cur.push_back(static_cast<char>(c));
      }
    }
    last = meta.index;
    ++restores;
  }
  std::vector<std::string> commands;
  index_t last = 0;
  int restores = 0;
};

struct member {
  std::unique_ptr<memory_storage> store = std::make_unique<memory_storage>();
  std::unique_ptr<list_sm> sm;
  std::unique_ptr<node> n;
  options opts;
};

class cluster {
 public:
  explicit cluster(std::vector<node_id> voters, options base = {}) {
    base.election_ticks = 10;
    base.heartbeat_ticks = 1;
    base.bootstrap.voters = voters;
    base_ = base;
    for (node_id id : voters) add(id, true);
  }
  void add(node_id id, bool founder) {
    member& m = members_[id];
    m.opts = base_;
    m.opts.id = id;
    m.opts.seed = 7;
    if (!founder) m.opts.bootstrap = {};
    start(id);
  }
  void start(node_id id) {
    member& m = members_.at(id);
    m.sm = std::make_unique<list_sm>();
    m.n = std::make_unique<node>(m.opts, *m.store, *m.sm);
    down_.erase(id);
  }
  // A crash: unsynced writes are lost.
  void crash(node_id id) {
    member& m = members_.at(id);
    m.store->crash(0);
    m.n.reset();
    m.sm.reset();
    down_.insert(id);
  }
  node& operator[](node_id id) { return *members_.at(id).n; }
  list_sm& sm(node_id id) { return *members_.at(id).sm; }
  memory_storage& store(node_id id) { return *members_.at(id).store; }

  void block(node_id a, node_id b) {
    blocked_.insert({a, b});
    blocked_.insert({b, a});
  }
  void isolate(node_id a) {
    for (auto& [id, m] : members_)
      if (id != a) block(a, id);
  }
  void heal() { blocked_.clear(); }

  // Flushes every node and delivers until nothing is in flight.
  void settle() {
    for (int round = 0; round < 10000; ++round) {
      for (auto& [id, m] : members_)
        if (!down_.count(id))
          for (auto& msg : m.n->flush()) queue_.push_back(std::move(msg));
      if (queue_.empty()) return;
      while (!queue_.empty()) {
        message msg = std::move(queue_.front());
        queue_.pop_front();
        ++delivered_;
        if (down_.count(msg.to) || blocked_.count({msg.from, msg.to}) || !members_.count(msg.to)) continue;
        members_.at(msg.to).n->step(msg);
      }
    }
    FAIL() << "the cluster did not settle";
  }
  void ticks(int n) {
    for (int i = 0; i < n; ++i) {
      for (auto& [id, m] : members_)
        if (!down_.count(id)) m.n->tick();
      settle();
    }
  }
  // Ticks until some node leads; returns it.
  node_id elect(int max_ticks = 200) {
    for (int i = 0; i < max_ticks; ++i) {
      ticks(1);
      if (node_id l = leader(); l != no_node) return l;
    }
    return no_node;
  }
  node_id leader() {
    node_id best = no_node;
    term_t t = -1;
    for (auto& [id, m] : members_)
      if (!down_.count(id) && m.n->is_leader() && m.n->term() > t) {
        best = id;
        t = m.n->term();
      }
    return best;
  }
  uint64_t delivered() const { return delivered_; }

 private:
  options base_;
  std::map<node_id, member> members_;
  std::set<node_id> down_;
  std::set<std::pair<node_id, node_id>> blocked_;
  std::deque<message> queue_;
  uint64_t delivered_ = 0;
};

TEST(raft_node, a_single_voter_elects_itself_and_commits_with_one_sync) {
  cluster c({1});
  ASSERT_EQ(c.elect(), 1);
  auto idx = c[1].propose(bytes("a"));
  ASSERT_TRUE(idx);
  c.settle();
  EXPECT_EQ(c[1].commit_index(), *idx);
  EXPECT_EQ(c.sm(1).commands, std::vector<std::string>{"a"});
  // The read is ready at once: the quorum is this node.
  ASSERT_TRUE(c[1].read_index(9).ok());
  c.settle();
  auto reads = c[1].take_reads();
  ASSERT_EQ(reads.size(), 1u);
  EXPECT_EQ(reads[0].id, 9u);
  EXPECT_EQ(reads[0].index, *idx);
}

TEST(raft_node, proposals_between_two_flushes_share_one_fsync) {
  cluster c({1});
  ASSERT_EQ(c.elect(), 1);
  const size_t before = c.store(1).syncs();
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(c[1].propose(bytes(std::to_string(i))));
  c.settle();
  EXPECT_EQ(c.store(1).syncs() - before, 1u);
  EXPECT_EQ(c.sm(1).commands.size(), 100u);
}

TEST(raft_node, three_voters_elect_one_leader_and_replicate_to_all) {
  cluster c({1, 2, 3});
  node_id l = c.elect();
  ASSERT_NE(l, no_node);
  int leaders = 0;
  for (node_id id : {1, 2, 3}) leaders += c[id].is_leader() ? 1 : 0;
  EXPECT_EQ(leaders, 1);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(c[l].propose(bytes("x" + std::to_string(i))));
  c.settle();
  c.ticks(2);  // followers learn the commit index with the next heartbeat at the latest
  for (node_id id : {1, 2, 3}) {
    EXPECT_EQ(c.sm(id).commands.size(), 10u) << "node " << id;
    EXPECT_EQ(c[id].leader(), l);
    EXPECT_EQ(c[id].term(), c[l].term());
  }
}

TEST(raft_node, a_stale_leaders_uncommitted_entries_are_replaced) {
  cluster c({1, 2, 3});
  node_id old = c.elect();
  ASSERT_NE(old, no_node);
  ASSERT_TRUE(c[old].propose(bytes("kept")));
  c.settle();
  c.ticks(1);
  c.isolate(old);
  // Appended on the isolated leader only: never committed.
  ASSERT_TRUE(c[old].propose(bytes("lost-1")));
  ASSERT_TRUE(c[old].propose(bytes("lost-2")));
  c.settle();
  const index_t stale_last = c[old].last_index();
  node_id fresh = no_node;
  for (int i = 0; i < 300 && fresh == no_node; ++i) {
    c.ticks(1);
    for (node_id id : {1, 2, 3})
      if (id != old && c[id].is_leader()) fresh = id;
  }
  ASSERT_NE(fresh, no_node);
  ASSERT_TRUE(c[fresh].propose(bytes("new")));
  c.settle();
  c.heal();
  c.ticks(5);
  EXPECT_FALSE(c[old].is_leader());
  EXPECT_EQ(c.sm(old).commands, (std::vector<std::string>{"kept", "new"}));
  EXPECT_EQ(c[old].last_index(), c[fresh].last_index());
  EXPECT_NE(c[old].term_at(stale_last), term_t{-1});
  EXPECT_EQ(c[old].term_at(stale_last), c[fresh].term_at(stale_last));
}

TEST(raft_node, with_pre_vote_a_partitioned_node_neither_bumps_its_term_nor_disrupts) {
  cluster c({1, 2, 3});
  node_id l = c.elect();
  ASSERT_NE(l, no_node);
  const term_t t = c[l].term();
  node_id other = l == 3 ? 2 : 3;
  c.isolate(other);
  c.ticks(100);  // five election timeouts and more
  EXPECT_EQ(c[other].term(), t);
  c.heal();
  c.ticks(20);
  EXPECT_EQ(c.leader(), l);
  EXPECT_EQ(c[l].term(), t);
}

TEST(raft_node, without_pre_vote_the_same_partition_bumps_terms) {
  options o;
  o.pre_vote = false;
  o.check_quorum = false;
  cluster c({1, 2, 3}, o);
  node_id l = c.elect();
  ASSERT_NE(l, no_node);
  const term_t t = c[l].term();
  node_id other = l == 3 ? 2 : 3;
  c.isolate(other);
  c.ticks(100);
  EXPECT_GT(c[other].term(), t + 2);  // the disruption pre-vote exists to prevent
}

TEST(raft_node, check_quorum_makes_an_isolated_leader_step_down) {
  cluster c({1, 2, 3});
  node_id l = c.elect();
  ASSERT_NE(l, no_node);
  c.isolate(l);
  c.ticks(25);  // at most two election timeouts
  EXPECT_FALSE(c[l].is_leader());
  // Reads asked of it while it thought it led could not be confirmed.
}

TEST(raft_node, a_read_asked_of_an_isolated_leader_never_completes) {
  cluster c({1, 2, 3});
  node_id l = c.elect();
  ASSERT_NE(l, no_node);
  c.isolate(l);
  ASSERT_TRUE(c[l].read_index(1).ok());
  c.ticks(30);
  EXPECT_TRUE(c[l].take_reads().empty());
  auto failed = c[l].take_failed_reads();
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0], 1u);
}

TEST(raft_node, a_read_waits_for_a_quorum_to_confirm_leadership) {
  cluster c({1, 2, 3});
  node_id l = c.elect();
  ASSERT_NE(l, no_node);
  auto idx = c[l].propose(bytes("w"));
  ASSERT_TRUE(idx);
  c.settle();
  ASSERT_TRUE(c[l].read_index(5).ok());
  EXPECT_TRUE(c[l].take_reads().empty());  // nobody confirmed yet
  c.settle();
  auto reads = c[l].take_reads();
  ASSERT_EQ(reads.size(), 1u);
  EXPECT_GE(reads[0].index, *idx);
}

TEST(raft_node, a_follower_far_behind_catches_up_by_snapshot_in_chunks) {
  options o;
  o.snapshot_entries = 20;
  o.snapshot_trailing = 2;
  o.snapshot_chunk_bytes = 16;
  cluster c({1, 2, 3}, o);
  node_id l = c.elect();
  ASSERT_NE(l, no_node);
  node_id lagging = l == 3 ? 2 : 3;
  c.crash(lagging);
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(c[l].propose(bytes("entry-" + std::to_string(i))));
    c.settle();
  }
  ASSERT_GT(c[l].snapshot_info().index, 50);
  ASSERT_GT(c[l].first_index(), 50);  // the log behind the snapshot is gone
  c.start(lagging);
  c.ticks(5);
  EXPECT_EQ(c.sm(lagging).restores, 1);
  EXPECT_EQ(c.sm(lagging).commands.size(), 100u);
  EXPECT_EQ(c.sm(lagging).commands.back(), "entry-99");
  EXPECT_EQ(c[lagging].applied(), c[l].applied());
  // It restarts from its own snapshot; the commit index is not durable, so
  // what follows the snapshot is applied once the leader says it is
  // committed.
  c.crash(lagging);
  c.start(lagging);
  EXPECT_EQ(c.sm(lagging).restores, 1);
  EXPECT_EQ(c.sm(lagging).last, c[lagging].snapshot_info().index);
  c.ticks(2);
  EXPECT_EQ(c.sm(lagging).commands.size(), 100u);
}

// With `snapshot_bytes_scale`, a snapshot waits for as many bytes of log
// as the last one held: each costs the whole state, so the state's size
// sets the pace, and the work stays linear in what was written.
TEST(raft_node, a_large_state_is_snapshotted_after_as_much_log_as_it_holds) {
  auto snapshots = [](bool scale) {
    options o;
    o.snapshot_entries = 0;
    o.snapshot_bytes = 100;
    o.snapshot_bytes_scale = scale;
    cluster c({1, 2, 3}, o);
    node_id l = c.elect();
    EXPECT_NE(l, no_node);
    std::vector<size_t> at;  // commands in each snapshot taken
    index_t last = c[l].snapshot_info().index;
    for (int i = 0; i < 200; ++i) {
      EXPECT_TRUE(c[l].propose(std::vector<uint8_t>(49, 'x')));
      c.settle();
      if (c[l].snapshot_info().index != last) {
        last = c[l].snapshot_info().index;
        at.push_back(c.sm(l).commands.size());
      }
    }
    return at;
  };
  const auto plain = snapshots(false);
  const auto scaled = snapshots(true);
  EXPECT_GE(plain.size(), 60u);  // every 100 bytes: every third command
  ASSERT_GE(scaled.size(), 3u);
  EXPECT_LE(scaled.size(), 10u);
  for (size_t i = 1; i < scaled.size(); ++i) {
    // The log between two snapshots (49 bytes a command) held at least the
    // earlier one (50 bytes a command in the state's encoding).
    EXPECT_GE((scaled[i] - scaled[i - 1]) * 49, scaled[i - 1] * 50) << i;
  }
}

// `snapshot_trailing_bytes` keeps fewer entries behind a snapshot when
// they are large, but never those a voter still lacks.
TEST(raft_node, large_entries_behind_a_snapshot_go_unless_a_voter_lacks_them) {
  options o;
  o.snapshot_entries = 5;
  o.snapshot_trailing = 8;
  o.snapshot_trailing_bytes = 100;
  cluster c({1, 2, 3}, o);
  node_id l = c.elect();
  ASSERT_NE(l, no_node);
  const std::vector<uint8_t> big(60, 'b');
  index_t snap = c[l].snapshot_info().index;
  for (int i = 0; i < 20 && c[l].snapshot_info().index == snap; ++i) {
    ASSERT_TRUE(c[l].propose(big));
    c.settle();
  }
  // Everyone has everything: one 60-byte entry fits under 100 bytes, the
  // count alone would have kept eight.
  ASSERT_NE(c[l].snapshot_info().index, snap);
  EXPECT_EQ(c[l].first_index(), c[l].snapshot_info().index);

  // A voter down: what it lacks stays, within the count.
  const node_id lagging = l == 3 ? 2 : 3;
  const index_t had = c[lagging].last_index();
  c.crash(lagging);
  snap = c[l].snapshot_info().index;
  for (int i = 0; i < 20 && c[l].snapshot_info().index == snap; ++i) {
    ASSERT_TRUE(c[l].propose(big));
    c.settle();
  }
  ASSERT_NE(c[l].snapshot_info().index, snap);
  EXPECT_LE(c[l].first_index(), had);
  c.start(lagging);
  c.ticks(5);
  EXPECT_EQ(c.sm(lagging).restores, 0);  // entries, not the snapshot
  EXPECT_EQ(c[lagging].applied(), c[l].applied());
}

TEST(raft_node, leadership_transfer_hands_over_to_the_chosen_voter) {
  cluster c({1, 2, 3});
  node_id l = c.elect();
  ASSERT_NE(l, no_node);
  const term_t t = c[l].term();
  node_id to = l == 1 ? 2 : 1;
  ASSERT_TRUE(c[l].transfer_leadership(to).ok());
  EXPECT_FALSE(c[l].propose(bytes("refused during transfer")).ok());
  c.settle();
  EXPECT_EQ(c.leader(), to);
  EXPECT_EQ(c[to].term(), t + 1);
  EXPECT_FALSE(c[l].is_leader());
}

TEST(raft_node, a_new_voter_is_caught_up_before_it_counts) {
  options o;
  o.snapshot_entries = 10;
  cluster c({1, 2, 3}, o);
  node_id l = c.elect();
  ASSERT_NE(l, no_node);
  for (int i = 0; i < 30; ++i) ASSERT_TRUE(c[l].propose(bytes(std::to_string(i))));
  c.settle();
  c.add(4, false);
  EXPECT_FALSE(c[4].config().contains(4));
  ASSERT_TRUE(c[l].add_voter(4).ok());
  EXPECT_EQ(c[l].pending_voter(), std::optional<node_id>(4));
  EXPECT_FALSE(c[l].config().contains(4));  // not before it has caught up
  EXPECT_FALSE(c[l].add_voter(5).ok());     // one change at a time
  c.ticks(5);
  EXPECT_TRUE(c[l].config().contains(4));
  EXPECT_TRUE(c[4].config().contains(4));
  EXPECT_EQ(c.sm(4).commands.size(), 30u);
  EXPECT_EQ(c[l].config().quorum(), 3u);
  // Now four voters: two down and nothing commits.
  c.crash(l == 1 ? 2 : 1);
  c.crash(l == 3 ? 2 : 3);
  auto idx = c[l].propose(bytes("needs three"));
  ASSERT_TRUE(idx);
  c.ticks(3);
  EXPECT_LT(c[l].commit_index(), *idx);
}

TEST(raft_node, a_removed_leader_steps_down_once_the_change_commits) {
  cluster c({1, 2, 3});
  node_id l = c.elect();
  ASSERT_NE(l, no_node);
  c.ticks(1);
  ASSERT_TRUE(c[l].remove_voter(l).ok());
  c.settle();
  EXPECT_FALSE(c[l].is_leader());
  node_id next = c.elect();
  ASSERT_NE(next, no_node);
  EXPECT_NE(next, l);
  EXPECT_EQ(c[next].config().voters.size(), 2u);
  EXPECT_FALSE(c[next].config().contains(l));
  // The removed node does not campaign, however long it waits.
  const term_t t = c[next].term();
  c.isolate(l);
  c.ticks(60);
  EXPECT_EQ(c[l].current_role(), role::follower);
  c.heal();
  c.ticks(5);
  EXPECT_EQ(c.leader(), next);
  EXPECT_EQ(c[next].term(), t);
}

TEST(raft_node, an_observer_follows_the_log_but_neither_votes_nor_counts) {
  cluster c({1, 2, 3});
  node_id l = c.elect();
  ASSERT_NE(l, no_node);
  c.add(4, false);
  ASSERT_TRUE(c[l].add_observer(4).ok());
  EXPECT_EQ(c[l].add_observer(l == 1 ? 2 : 1).code(), errc::already_exists);  // a voter
  ASSERT_TRUE(c[l].propose(bytes("seen by the observer")));
  c.settle();
  c.ticks(2);
  EXPECT_EQ(c.sm(4).commands, std::vector<std::string>{"seen by the observer"});
  EXPECT_FALSE(c[4].config().contains(4));
  // It does not count: with both other voters down nothing commits, though
  // the observer has the entry.
  c.crash(l == 1 ? 2 : 1);
  c.crash(l == 3 ? 2 : 3);
  auto idx = c[l].propose(bytes("needs a voter"));
  ASSERT_TRUE(idx);
  c.ticks(3);
  EXPECT_LT(c[l].commit_index(), *idx);
  EXPECT_GE(c[4].last_index(), *idx);
  // And it never campaigns, however long it hears nothing.
  c.isolate(4);
  c.ticks(60);
  EXPECT_EQ(c[4].current_role(), role::follower);
}

TEST(raft_node, membership_changes_are_refused_where_they_would_be_unsafe) {
  cluster c({1});
  ASSERT_EQ(c.elect(), 1);
  EXPECT_EQ(c[1].remove_voter(1).code(), errc::invalid_argument);
  EXPECT_EQ(c[1].remove_voter(7).code(), errc::not_found);
  EXPECT_EQ(c[1].add_voter(1).code(), errc::already_exists);
  cluster d({1, 2, 3});
  node_id l = d.elect();
  node_id f = l == 1 ? 2 : 1;
  EXPECT_EQ(d[f].add_voter(9).code(), errc::unsupported);  // not the leader
  EXPECT_EQ(d[f].propose(bytes("x")).error().code(), errc::unsupported);
}

TEST(raft_node, a_vote_is_durable_before_it_is_sent) {
  cluster c({1, 2, 3});
  // Node 2 votes for 1 at term 1; the answer leaves only with flush, after
  // the vote was synced.
  node& n2 = c[2];
  n2.step(message{1, 2, vote_request{1, 0, 0, false, false}});
  EXPECT_EQ(c.store(2).durable().hard.voted_for, no_node);  // not yet synced
  auto out = n2.flush();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(std::get<vote_response>(out[0].body).granted);
  EXPECT_EQ(c.store(2).durable().hard, (hard_state{1, 1}));
  // After a crash it still refuses another candidate in the same term.
  c.crash(2);
  c.start(2);
  c[2].step(message{3, 2, vote_request{1, 0, 0, false, false}});
  out = c[2].flush();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_FALSE(std::get<vote_response>(out[0].body).granted);
}

TEST(raft_node, a_candidate_with_a_shorter_log_is_refused) {
  cluster c({1, 2, 3});
  node_id l = c.elect();
  ASSERT_TRUE(c[l].propose(bytes("x")));
  c.settle();
  node_id f = l == 1 ? 2 : 1;
  const term_t t = c[f].term();
  // A vote request as if from a node with an empty log, in a newer term,
  // past the lease (no heartbeats for a while).
  c.isolate(f);
  c.ticks(12);
  c[f].step(message{9, f, vote_request{t + 5, 0, 0, false, false}});
  auto out = c[f].flush();
  bool answered = false;
  for (auto& m : out)
    if (auto* v = std::get_if<vote_response>(&m.body); v && m.to == 9) {
      answered = true;
      EXPECT_FALSE(v->granted);
      EXPECT_EQ(v->term, t + 5);
    }
  EXPECT_TRUE(answered);
}

TEST(raft_node, a_stale_leader_is_told_the_newer_term) {
  cluster c({1, 2, 3});
  node_id l = c.elect();
  node_id f = l == 1 ? 2 : 1;
  const term_t t = c[f].term();
  c[f].step(message{7, f, append_request{t - 1 < 0 ? 0 : t - 1, 0, 0, 0, 0, {}}});
  auto out = c[f].flush();
  ASSERT_FALSE(out.empty());
  auto* r = std::get_if<append_response>(&out.back().body);
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->term, t);
  EXPECT_FALSE(r->success);
}

TEST(raft_node, state_survives_a_restart_of_every_node) {
  cluster c({1, 2, 3});
  node_id l = c.elect();
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(c[l].propose(bytes(std::to_string(i))));
  c.settle();
  const term_t t = c[l].term();
  for (node_id id : {1, 2, 3}) c.crash(id);
  for (node_id id : {1, 2, 3}) c.start(id);
  node_id again = c.elect();
  ASSERT_NE(again, no_node);
  EXPECT_GT(c[again].term(), t);
  c.settle();
  c.ticks(2);
  for (node_id id : {1, 2, 3}) EXPECT_EQ(c.sm(id).commands.size(), 5u) << "node " << id;
}

}  // namespace
}  // namespace mosaic::raft

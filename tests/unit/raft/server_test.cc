// raft::server: real nodes on loopback TCP, each with its folder, in one
// process. Elections, commits on every node, a leader stopped and another
// elected, a restarted node catching up by snapshot, reads by read index,
// and garbage sent to a node's port.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <condition_variable>
#include <cstdio>
#include <map>
#include <mutex>
#include <thread>

#include "kernel/raft/server.h"
#include "kernel/rpc/endpoint.h"
#include "tests/support/ports.h"
#include "tests/support/temp_dir.h"

namespace mosaic::raft {
namespace {

using namespace std::chrono_literals;
using mosaic::testing::free_ports;

class counting_sm final : public state_machine {
 public:
  void apply(const entry& e) override {
    std::lock_guard g(mu_);
    if (e.type == entry_type::command) ++commands_;
  }
  std::vector<uint8_t> take_snapshot() override {
    std::lock_guard g(mu_);
    return {static_cast<uint8_t>(commands_ >> 8), static_cast<uint8_t>(commands_)};
  }
  void restore(const snapshot_meta&, std::span<const uint8_t> d) override {
    std::lock_guard g(mu_);
    commands_ = d.size() == 2 ? (d[0] << 8 | d[1]) : 0;
    ++restores_;
  }
  int commands() const {
    std::lock_guard g(mu_);
    return commands_;
  }
  int restores() const {
    std::lock_guard g(mu_);
    return restores_;
  }

 private:
  mutable std::mutex mu_;
  int commands_ = 0;
  int restores_ = 0;
};

// Free loopback ports for three nodes, chosen now.

class trio {
 public:
  explicit trio(index_t snapshot_entries = 4096, int tick_ms = 20) : ports_(free_ports(3)) {
    for (node_id id = 1; id <= 3; ++id) {
      server_options o;
      o.raft.id = id;
      o.raft.bootstrap.voters = {1, 2, 3};
      o.raft.election_ticks = 10;
      o.raft.heartbeat_ticks = 1;
      o.raft.snapshot_entries = snapshot_entries;
      o.raft.snapshot_trailing = 2;
      o.raft.seed = 1000 + static_cast<uint64_t>(id);
      o.tick_ms = tick_ms;  // elections after 10-20 ticks: 200-400 ms by default
      o.dir = dir_.path() / std::to_string(id);
      o.port = ports_[static_cast<size_t>(id - 1)];
      for (node_id p = 1; p <= 3; ++p)
        o.peers.push_back(peer_address{p, "127.0.0.1", ports_[static_cast<size_t>(p - 1)]});
      opts_[id] = o;
      start(id);
    }
  }
  void start(node_id id) {
    sms_[id] = std::make_unique<counting_sm>();
    auto s = server::start(opts_[id], *sms_[id]);
    ASSERT_TRUE(s) << s.error().message();
    servers_[id] = std::move(*s);
  }
  // As a crash looks to the others; `hand_over` for a controlled shutdown.
  void stop(node_id id, bool hand_over = false) {
    servers_[id]->stop(hand_over);
    servers_.erase(id);
  }
  server& operator[](node_id id) { return *servers_.at(id); }
  counting_sm& sm(node_id id) { return *sms_.at(id); }
  uint16_t port(node_id id) const { return ports_[static_cast<size_t>(id - 1)]; }

  // The leader all running nodes agree on, waiting up to `limit`.
  node_id leader(std::chrono::milliseconds limit = 5s) {
    auto until = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < until) {
      // A leader that every running node follows.
      std::map<node_id, size_t> followers;
      for (auto& [id, s] : servers_) ++followers[s->describe().leader];
      for (auto& [l, n] : followers)
        if (l != no_node && n == servers_.size() && servers_.count(l) &&
            servers_.at(l)->describe().current == role::leader)
          return l;
      std::this_thread::sleep_for(10ms);
    }
    return no_node;
  }
  bool eventually(const std::function<bool()>& cond, std::chrono::milliseconds limit = 5s) {
    auto until = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < until) {
      if (cond()) return true;
      std::this_thread::sleep_for(10ms);
    }
    return cond();
  }

 private:
  testing::temp_dir dir_;
  std::vector<uint16_t> ports_;
  std::map<node_id, server_options> opts_;
  std::map<node_id, std::unique_ptr<counting_sm>> sms_;
  std::map<node_id, std::unique_ptr<server>> servers_;
};

TEST(raft_server, three_nodes_elect_a_leader_and_commit_on_every_node) {
  trio t;
  node_id l = t.leader();
  ASSERT_NE(l, no_node);
  for (int i = 0; i < 50; ++i) {
    auto r = t[l].replicate_wait({static_cast<uint8_t>(i)}, 5s);
    ASSERT_TRUE(r) << r.error().message();
  }
  EXPECT_EQ(t.sm(l).commands(), 50);
  for (node_id id = 1; id <= 3; ++id)
    EXPECT_TRUE(t.eventually([&] { return t.sm(id).commands() == 50; })) << "node " << id;
  // A follower forwards to the leader, and answers once it has applied the
  // entry itself.
  node_id f = l == 1 ? 2 : 1;
  auto r = t[f].replicate_wait({1}, 5s);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(t.sm(f).commands(), 51);
  EXPECT_TRUE(t[l].barrier(5s).ok());
  // A read index is the leader's to give; a follower names it.
  auto b = t[f].barrier(5s);
  ASSERT_FALSE(b.ok());
  EXPECT_NE(b.message().find("node " + std::to_string(l) + " leads"), std::string::npos) << b.message();
  auto q = t[l].describe();
  EXPECT_EQ(q.voters, (std::vector<node_id>{1, 2, 3}));
  ASSERT_EQ(q.peers.size(), 2u);
  for (const auto& p : q.peers)
    EXPECT_TRUE(t.eventually([&] {
      for (const auto& x : t[l].describe().peers)
        if (x.id == p.id) return x.match == t[l].describe().last_index;
      return false;
    }));
}

TEST(raft_server, a_new_leader_follows_a_stopped_one_and_the_old_one_catches_up_by_snapshot) {
  trio t(16);
  node_id l = t.leader();
  ASSERT_NE(l, no_node);
  ASSERT_TRUE(t[l].replicate_wait({1}, 5s));
  const term_t before = t[l].term();
  const auto stopped_at = std::chrono::steady_clock::now();
  t.stop(l);
  node_id next = t.leader(5s);
  ASSERT_NE(next, no_node);
  ASSERT_NE(next, l);
  auto first = t[next].replicate_wait({2}, 5s);
  ASSERT_TRUE(first) << first.error().message();
  const auto failover = std::chrono::steady_clock::now() - stopped_at;
  // Two election timeouts of 400 ms at most, with room for a loaded machine.
  EXPECT_LT(failover, 3s);
  EXPECT_GT(t[next].term(), before);
  for (int i = 0; i < 60; ++i) ASSERT_TRUE(t[next].replicate_wait({3}, 5s));
  EXPECT_GT(t[next].describe().snap.index, 16);
  t.start(l);
  EXPECT_TRUE(t.eventually([&] { return t.sm(l).commands() == 62; }, 10s)) << t.sm(l).commands();
  EXPECT_GE(t.sm(l).restores(), 1);  // from its own folder at least, and the leader's snapshot
  EXPECT_EQ(t.leader(), next);

  // Now the other two must elect each other: the restarted node's peer
  // still holds a connection to its previous incarnation, which must not
  // swallow the votes (it once cost a whole extra election timeout).
  const auto second_stop = std::chrono::steady_clock::now();
  t.stop(next);
  node_id third = t.leader(5s);
  ASSERT_NE(third, no_node);
  ASSERT_TRUE(t[third].replicate_wait({4}, 5s));
  EXPECT_LT(std::chrono::steady_clock::now() - second_stop, 2s);
}

TEST(raft_server, a_forwarded_entry_whose_leader_dies_fails_instead_of_waiting_forever) {
  trio t;
  node_id l = t.leader();
  ASSERT_NE(l, no_node);
  node_id f = l == 1 ? 2 : 1;
  node_id other = 6 - l - f;
  t.stop(other);
  t.stop(l);
  // `f` still believes in `l` for up to an election timeout: the forward is
  // sent into the void, then failed once `f` sees the leader is gone.
  auto r = t[f].replicate_wait({9}, 10s);
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().code() == errc::internal || r.error().code() == errc::unsupported) << r.error().message();
  // Without a leader, a call says so at once.
  ASSERT_TRUE(t.eventually([&] { return t[f].leader() == no_node; }));
  auto again = t[f].replicate_wait({9}, 10s);
  ASSERT_FALSE(again);
  EXPECT_NE(again.error().message().find("no leader is known"), std::string::npos) << again.error().message();
}

TEST(raft_server, a_controlled_stop_hands_leadership_over_without_an_election_timeout) {
  trio t(4096, 100);  // elections after 1-2 s
  node_id l = t.leader();
  ASSERT_NE(l, no_node);
  ASSERT_TRUE(t[l].replicate_wait({1}, 5s));
  const term_t before = t[l].term();
  const auto at = std::chrono::steady_clock::now();
  t.stop(l, true);
  node_id next = no_node;
  for (node_id id = 1; id <= 3; ++id)
    if (id != l && t[id].leader() != l && t[id].leader() != no_node) next = t[id].leader();
  ASSERT_NE(next, no_node) << "the stop returned before leadership moved";
  ASSERT_TRUE(t[next].replicate_wait({2}, 5s));
  // Well under the 1 s the others would otherwise wait at the least.
  EXPECT_LT(std::chrono::steady_clock::now() - at, 600ms);
  EXPECT_EQ(t[next].term(), before + 1);
}

TEST(raft_server, garbage_on_the_raft_port_closes_that_connection_only) {
  trio t;
  node_id l = t.leader();
  ASSERT_NE(l, no_node);
  for (node_id target = 1; target <= 3; ++target) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(t.port(target));
    ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    // An oversized frame, then a well-framed message of an unknown kind.
    const uint8_t huge[] = {0x7f, 0xff, 0xff, 0xff, 1, 2, 3};
    ASSERT_EQ(::write(fd, huge, sizeof huge), static_cast<ssize_t>(sizeof huge));
    ::close(fd);
    fd = ::socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    const uint8_t unknown[] = {0, 0, 0, 12, 0, 99, 0, 0, 0, 0, 0, 9, 0, 0, 0, static_cast<uint8_t>(target)};
    ASSERT_EQ(::write(fd, unknown, sizeof unknown), static_cast<ssize_t>(sizeof unknown));
    ::close(fd);
  }
  std::this_thread::sleep_for(100ms);
  node_id now = t.leader();
  ASSERT_NE(now, no_node);
  auto r = t[now].replicate_wait({7}, 5s);
  EXPECT_TRUE(r) << r.error().message();
}

TEST(raft_server, a_single_voter_commits_alone_and_keeps_it_across_a_restart) {
  testing::temp_dir dir;
  server_options o;
  o.raft.id = 1;
  o.raft.bootstrap.voters = {1};
  o.tick_ms = 10;
  o.dir = dir.path();
  counting_sm sm;
  {
    auto s = server::start(o, sm);
    ASSERT_TRUE(s) << s.error().message();
    auto deadline = std::chrono::steady_clock::now() + 5s;
    while ((*s)->leader() != 1 && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(5ms);
    for (int i = 0; i < 10; ++i) ASSERT_TRUE((*s)->replicate_wait({1}, 5s));
    EXPECT_TRUE((*s)->barrier(5s).ok());
  }
  counting_sm again;
  auto s = server::start(o, again);
  ASSERT_TRUE(s);
  auto deadline = std::chrono::steady_clock::now() + 5s;
  while (again.commands() < 10 && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(5ms);
  EXPECT_EQ(again.commands(), 10);
  // After stop, calls fail instead of waiting.
  (*s)->stop();
  EXPECT_FALSE((*s)->replicate_wait({1}, 1s));
  EXPECT_FALSE((*s)->barrier(1s).ok());
}

// A peer that restarts on the same port gets the very next frame: the old
// connection to its previous incarnation is noticed closed, not written
// into.
TEST(rpc_endpoint, the_first_frame_after_a_peer_restarts_arrives) {
  auto ports = free_ports(1);
  std::mutex mu;
  std::condition_variable cv;
  std::vector<int16_t> got;
  auto receiver = [&] {
    rpc::endpoint_options o;
    o.node_id = 2;
    o.port = ports[0];
    auto e = rpc::endpoint::start(o, [&](rpc::frame f) {
      std::lock_guard g(mu);
      got.push_back(f.header.kind);
      cv.notify_all();
    });
    EXPECT_TRUE(e) << e.error().message();
    (*e)->accept_frames();
    return std::move(*e);
  };
  auto wait_for = [&](size_t n) {
    std::unique_lock g(mu);
    return cv.wait_for(g, 2s, [&] { return got.size() >= n; });
  };
  rpc::endpoint_options so;
  so.node_id = 1;
  auto sender = rpc::endpoint::start(so, [](rpc::frame) {});
  ASSERT_TRUE(sender);
  auto send = [&](int16_t kind) {
    std::vector<uint8_t> f;
    rpc::write_frame(rpc::frame_header{kind, 0, 1, 2}, {}, f);
    (*sender)->post([&, f] { (*sender)->send(2, f); });
  };
  (*sender)->set_peer(2, "127.0.0.1", ports[0]);
  auto b = receiver();
  send(1);
  ASSERT_TRUE(wait_for(1));
  b->stop();
  b.reset();
  b = receiver();
  std::this_thread::sleep_for(50ms);  // the sender's side has seen the close by now
  send(2);
  ASSERT_TRUE(wait_for(2)) << "the frame after the restart was lost";
  EXPECT_EQ(got, (std::vector<int16_t>{1, 2}));
  // A frame for another node is dropped, not delivered.
  std::vector<uint8_t> f;
  rpc::write_frame(rpc::frame_header{3, 0, 1, 7}, {}, f);
  (*sender)->post([&, f] { (*sender)->send(2, f); });
  send(4);
  ASSERT_TRUE(wait_for(3));
  EXPECT_EQ(got.back(), 4);
  (*sender)->stop();
}

}  // namespace
}  // namespace mosaic::raft

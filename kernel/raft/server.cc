#include "kernel/raft/server.h"

#include <atomic>
#include <future>
#include <map>
#include <thread>

#include "kernel/base/bytes.h"
#include "kernel/base/log.h"
#include "kernel/raft/file_storage.h"
#include "kernel/raft/wire.h"
#include "kernel/rpc/endpoint.h"

namespace mosaic::raft {

namespace {

class server_impl;

// Sees every applied entry on its way to the user's state machine, to
// answer the calls waiting for it.
class applier final : public state_machine {
 public:
  applier(server_impl& s, state_machine& user) : s_(s), user_(user) {}
  void apply(const entry& e) override;
  std::vector<uint8_t> take_snapshot() override { return user_.take_snapshot(); }
  void restore(const snapshot_meta& meta, std::span<const uint8_t> data) override;

 private:
  server_impl& s_;
  state_machine& user_;
};

class server_impl final : public server {
 public:
  server_impl(server_options o, state_machine& sm) : opts_(std::move(o)), applier_(*this, sm) {}
  ~server_impl() override { stop(false); }

  status open() {
    auto st = file_storage::open(opts_.dir);
    if (!st) return st.error();
    store_ = std::move(*st);
    if (store_->torn_bytes() > 0)
      log::warn("raft: cut a torn tail of {} bytes from {}", store_->torn_bytes(), (opts_.dir / "log").string());
    node_ = std::make_unique<node>(opts_.raft, *store_, applier_);
    running_ = true;  // restores from here on come from the leader
    publish();
    rpc::endpoint_options eo;
    eo.node_id = opts_.raft.id;
    eo.host = opts_.host;
    eo.port = opts_.port;
    eo.security = opts_.security;
    auto ep = rpc::endpoint::start(eo, [this](rpc::frame f) { on_frame(std::move(f)); });
    if (!ep) return ep.error();
    ep_ = std::move(*ep);
    for (const auto& p : opts_.peers)
      if (p.id != opts_.raft.id) ep_->set_peer(p.id, p.host, p.port);
    ep_->every(std::chrono::milliseconds(opts_.tick_ms), [this] {
      if (halted_) return;
      node_->tick();
      expire_forwards();
      announce();
      schedule_flush();
    });
    ep_->accept_frames();  // on_frame uses ep_
    return {};
  }

  void stop(bool hand_over) override {
    if (!ep_ || stopped_.exchange(true)) return;
    if (hand_over) transfer_before_stopping();
    ep_->post([this] { halt(status(errc::unsupported, "the raft server stopped")); });
    ep_->stop();
  }

  void transfer_before_stopping() {
    auto p = std::make_shared<std::promise<node_id>>();
    auto f = p->get_future();
    ep_->post([this, p] {
      node_id best = no_node;
      index_t match = -1;
      if (!halted_ && node_->is_leader())
        for (const auto& pr : node_->progress())
          if (pr.voter && pr.match > match) {
            best = pr.id;
            match = pr.match;
          }
      if (best != no_node && node_->transfer_leadership(best).ok()) {
        log::info("raft: node {} hands leadership to node {} before stopping", opts_.raft.id, best);
        schedule_flush();
      } else {
        best = no_node;
      }
      p->set_value(best);
    });
    if (f.get() == no_node) return;
    const auto until = std::chrono::steady_clock::now() +
                       std::chrono::milliseconds(int64_t{opts_.raft.election_ticks} * opts_.tick_ms);
    // Until this node hears from the new leader (stepping down alone comes
    // a round trip earlier, when the transferee asks for votes).
    auto moved = [&] {
      const node_id l = leader_.load();
      return l != opts_.raft.id && l != no_node;
    };
    while (!moved() && std::chrono::steady_clock::now() < until)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }

  uint16_t port() const override { return ep_ ? ep_->port() : 0; }
  void set_peer(const peer_address& p) override { ep_->set_peer(p.id, p.host, p.port); }
  node_id leader() const override { return leader_.load(); }
  term_t term() const override { return term_.load(); }

  void replicate(std::vector<uint8_t> data, done_fn done) override {
    if (stopped_) return done(status(errc::unsupported, "the raft server stopped"));
    ep_->post([this, data = std::move(data), done = std::move(done)]() mutable {
      if (halted_) return done(halt_reason_);
      if (!node_->is_leader() && node_->leader() != no_node) return forward(std::move(data), std::move(done));
      auto idx = node_->propose(std::move(data));
      if (!idx) return done(not_leader(idx.error()));
      waiters_[*idx] = waiter{node_->term(), std::move(done)};
      schedule_flush();
    });
  }

  result<index_t> replicate_wait(std::vector<uint8_t> data, std::chrono::milliseconds timeout) override {
    auto p = std::make_shared<std::promise<result<index_t>>>();
    auto f = p->get_future();
    replicate(std::move(data), [p](result<index_t> r) { p->set_value(std::move(r)); });
    if (f.wait_for(timeout) != std::future_status::ready)
      return status(errc::io, "no quorum committed the entry in time");
    return f.get();
  }

  status barrier(std::chrono::milliseconds timeout) override {
    if (stopped_) return status(errc::unsupported, "the raft server stopped");
    auto p = std::make_shared<std::promise<status>>();
    auto f = p->get_future();
    ep_->post([this, p] {
      if (halted_) return p->set_value(halt_reason_);
      const uint64_t id = next_read_++;
      if (auto s = node_->read_index(id); !s) return p->set_value(not_leader(s));
      reads_[id] = [p](status s) { p->set_value(std::move(s)); };
      schedule_flush();
    });
    if (f.wait_for(timeout) != std::future_status::ready)
      return status(errc::io, "no quorum confirmed the read in time");
    return f.get();
  }

  quorum_state describe() override {
    if (stopped_)
      return quorum_state{opts_.raft.id, role::follower, no_node, term_.load(), 0, 0, 0, 0, {}, {}, {}, true};
    auto p = std::make_shared<std::promise<quorum_state>>();
    auto f = p->get_future();
    ep_->post([this, p] {
      quorum_state q;
      q.id = node_->id();
      q.current = node_->current_role();
      q.leader = node_->leader();
      q.term = node_->term();
      q.commit = node_->commit_index();
      q.applied = node_->applied();
      q.first_index = node_->first_index();
      q.last_index = node_->last_index();
      q.snap = node_->snapshot_info();
      q.voters = node_->config().voters;
      for (const auto& pr : node_->progress())
        q.peers.push_back(peer_state{pr.id, pr.voter, pr.match, int64_t{pr.ticks_since_ack} * opts_.tick_ms});
      q.halted = halted_;
      p->set_value(std::move(q));
    });
    return f.get();
  }

  status transfer_leadership(node_id to) override {
    return run([this, to] { return node_->transfer_leadership(to); });
  }
  status add_voter(node_id id) override {
    return run([this, id] { return node_->add_voter(id); });
  }
  status remove_voter(node_id id) override {
    return run([this, id] { return node_->remove_voter(id); });
  }

  // From the applier, on the server's thread.
  void applied(const entry& e) {
    release_applied(e.index);
    auto it = waiters_.find(e.index);
    if (it == waiters_.end()) return;
    done_fn done = std::move(it->second.done);
    const bool ours = it->second.term == e.term;
    waiters_.erase(it);
    if (ours) {
      done(e.index);
    } else {
      done(status(errc::internal, "another leader's entry took its place; it was not committed"));
    }
  }
  void restored(const snapshot_meta& meta) {
    const index_t through = meta.index;
    if (running_)
      log::info("raft: node {} installed a snapshot from the leader at {} (term {})", opts_.raft.id, meta.index,
                meta.term);
    release_applied(through);
    while (!waiters_.empty() && waiters_.begin()->first <= through) {
      done_fn done = std::move(waiters_.begin()->second.done);
      waiters_.erase(waiters_.begin());
      done(status(errc::internal, "a snapshot replaced the log before the entry was applied; its outcome is unknown"));
    }
  }

 private:
  // The server's own frame kinds, beside Raft's 1-7.
  static constexpr int16_t forward_request_kind = 20;
  static constexpr int16_t forward_response_kind = 21;
  static constexpr int16_t observer_kind = 22;

  // A node that is not a voter and hears no leader tells every voter it
  // knows where it listens; the leader then replicates to it as an
  // observer. Every quarter of an election timeout until one does.
  void announce() {
    if (node_->config().contains(opts_.raft.id)) return;
    const bool orphan = node_->leader() == no_node || node_->ticks_since_leader() >= opts_.raft.election_ticks;
    if (!orphan || ++announce_ticks_ < std::max(1, opts_.raft.election_ticks / 4)) return;
    announce_ticks_ = 0;
    std::vector<uint8_t> body;
    byte_writer w(body);
    w.str(opts_.host);
    w.i32(ep_->port());
    for (const auto& p : opts_.peers)
      if (p.id != opts_.raft.id) send_frame(observer_kind, p.id, body);
  }

  // The server's own frames (not Raft messages), at version 0.
  void send_frame(int16_t kind, node_id to, std::span<const uint8_t> body) {
    std::vector<uint8_t> frame;
    rpc::write_frame(rpc::frame_header{kind, 0, opts_.raft.id, to}, body, frame);
    ep_->send(to, std::move(frame));
  }

  // Runs `done` once this node has applied `index` (at once if it has).
  void when_applied(index_t index, done_fn done) {
    if (node_->applied() >= index) return done(index);
    until_applied_.emplace(index, std::move(done));
  }

  void on_observer(const rpc::frame& f) {
    std::string host;
    int32_t port = 0;
    try {
      byte_reader r(f.body);
      host = r.str();
      port = r.i32();
      if (!r.done() || f.header.version != 0 || port <= 0 || port > 65535) throw truncated_input{};
    } catch (const truncated_input&) {
      log::warn("raft: dropped a malformed announcement from node {}", f.header.from);
      return;
    }
    ep_->set_peer(f.header.from, host, static_cast<uint16_t>(port));
    if (node_->is_leader() && node_->add_observer(f.header.from).ok()) schedule_flush();
  }

  // Forwarding: a follower sends what it is asked to replicate to the
  // leader (as Kafka brokers forward admin requests to the controller), and
  // answers once it has applied the entry itself, so that its caller reads
  // its own write.
  struct forwarded {
    done_fn done;
    node_id to;
    int ticks = 0;
  };

  void forward(std::vector<uint8_t> data, done_fn done) {
    const uint64_t id = next_forward_++;
    const node_id to = node_->leader();
    std::vector<uint8_t> body;
    byte_writer w(body);
    w.i64(static_cast<int64_t>(id));
    w.bytes(data);
    forwards_[id] = forwarded{std::move(done), to, 0};
    send_frame(forward_request_kind, to, body);
  }

  void answer_forward(node_id to, uint64_t id, const result<index_t>& r) {
    std::vector<uint8_t> body;
    byte_writer w(body);
    w.i64(static_cast<int64_t>(id));
    w.i64(r ? r.value() : -1);
    w.i16(r ? 0 : static_cast<int16_t>(r.error().code()));
    w.str(r ? std::string() : r.error().message());
    send_frame(forward_response_kind, to, body);
  }

  void on_forward_request(const rpc::frame& f) {
    uint64_t id = 0;
    std::vector<uint8_t> data;
    try {
      byte_reader r(f.body);
      id = static_cast<uint64_t>(r.i64());
      data = r.bytes();
      if (!r.done() || f.header.version != 0) throw truncated_input{};
    } catch (const truncated_input&) {
      log::warn("raft: dropped a malformed forwarded entry from node {}", f.header.from);
      return;
    }
    const node_id from = f.header.from;
    auto idx = node_->propose(std::move(data));
    if (!idx) return answer_forward(from, id, not_leader(idx.error()));
    waiters_[*idx] = waiter{node_->term(), [this, from, id](const result<index_t>& r) { answer_forward(from, id, r); }};
    schedule_flush();
  }

  void on_forward_response(const rpc::frame& f) {
    uint64_t id = 0;
    index_t index = -1;
    int16_t code = 0;
    std::string message;
    try {
      byte_reader r(f.body);
      id = static_cast<uint64_t>(r.i64());
      index = r.i64();
      code = r.i16();
      message = r.str();
      if (!r.done() || f.header.version != 0 || code < 0 || code > static_cast<int16_t>(errc::internal))
        throw truncated_input{};
    } catch (const truncated_input&) {
      log::warn("raft: dropped a malformed answer to a forwarded entry from node {}", f.header.from);
      return;
    }
    auto it = forwards_.find(id);
    if (it == forwards_.end()) return;
    done_fn done = std::move(it->second.done);
    forwards_.erase(it);
    if (code != 0) return done(status(static_cast<errc>(code), message));
    when_applied(index, std::move(done));
  }

  void release_applied(index_t through) {
    while (!until_applied_.empty() && until_applied_.begin()->first <= through) {
      auto n = until_applied_.extract(until_applied_.begin());
      n.mapped()(n.key());
    }
  }

  // Forwards the leader never answered (it died, the frame was lost) fail
  // after ten election timeouts; so do those sent to a leader that is no
  // longer the leader.
  void expire_forwards() {
    for (auto it = forwards_.begin(); it != forwards_.end();) {
      const bool lost = ++it->second.ticks > 10 * opts_.raft.election_ticks;
      const bool moved = node_->leader() != it->second.to;
      if (!lost && !moved) {
        ++it;
        continue;
      }
      done_fn done = std::move(it->second.done);
      it = forwards_.erase(it);
      done(status(errc::internal, lost ? "the quorum's leader did not answer; the outcome is unknown"
                                       : "the quorum's leader changed meanwhile; the outcome is unknown"));
    }
  }

  struct waiter {
    term_t term;
    done_fn done;
  };

  template <class F>
  status run(F fn) {
    if (stopped_) return status(errc::unsupported, "the raft server stopped");
    auto p = std::make_shared<std::promise<status>>();
    auto f = p->get_future();
    ep_->post([this, p, fn] {
      if (halted_) return p->set_value(halt_reason_);
      status s = fn();
      schedule_flush();
      p->set_value(s.ok() ? s : not_leader(s));
    });
    return f.get();
  }

  status not_leader(const status& s) const {
    if (node_->is_leader() || s.message() != "not the leader") return s;
    const node_id l = node_->leader();
    return status(errc::unsupported, l == no_node ? "not the leader; no leader is known"
                                                  : "not the leader; node " + std::to_string(l) + " leads");
  }

  void on_frame(rpc::frame f) {
    if (halted_) return;
    if (f.header.kind == forward_request_kind) return on_forward_request(f);
    if (f.header.kind == forward_response_kind) return on_forward_response(f);
    if (f.header.kind == observer_kind) return on_observer(f);
    auto m = decode(f);
    if (!m) {
      if (++bad_frames_ <= 10 || bad_frames_ % 1000 == 0)
        log::warn("raft: dropped a frame from node {}: {}", f.header.from, m.error().message());
      return;
    }
    node_->step(*m);
    schedule_flush();
  }

  void schedule_flush() {
    if (flush_posted_) return;
    flush_posted_ = true;
    ep_->post([this] {
      flush_posted_ = false;
      flush();
    });
  }

  void flush() {
    if (halted_) return;
    auto out = node_->flush();
    if (auto h = store_->health(); !h) {
      log::error("raft: halting node {}: {}", opts_.raft.id, h.message());
      return halt(h);
    }
    for (const auto& m : out) ep_->send(m.to, encode(m));
    for (auto& r : node_->take_reads()) {
      auto it = reads_.find(r.id);
      if (it == reads_.end()) continue;
      // Confirmed: readable once the read index is applied here.
      when_applied(r.index, [fn = std::move(it->second)](const result<index_t>& a) { fn(a ? status{} : a.error()); });
      reads_.erase(it);
    }
    for (uint64_t id : node_->take_failed_reads()) {
      auto it = reads_.find(id);
      if (it == reads_.end()) continue;
      auto fn = std::move(it->second);
      reads_.erase(it);
      fn(status(errc::unsupported, "leadership was lost before the read was confirmed"));
    }
    publish();
  }

  void publish() {
    const node_id l = node_->leader();
    const term_t t = node_->term();
    if (node_->current_role() != last_role_) {
      last_role_ = node_->current_role();
      log::debug("raft: node {} is {} in term {} (log {}..{}@{}, commit {})", opts_.raft.id, role_name(last_role_), t,
                 node_->first_index(), node_->last_index(), node_->term_at(node_->last_index()), node_->commit_index());
    }
    if (l != leader_.load() || t != term_.load()) {
      if (l == opts_.raft.id) {
        log::info("raft: node {} leads term {} (log {}..{}, commit {})", l, t, node_->first_index(),
                  node_->last_index(), node_->commit_index());
      } else if (l != no_node) {
        log::info("raft: node {} follows node {} in term {}", opts_.raft.id, l, t);
      } else {
        log::debug("raft: node {} in term {} has no leader ({})", opts_.raft.id, t, role_name(node_->current_role()));
      }
    }
    leader_.store(l);
    term_.store(t);
  }

  void halt(const status& why) {
    halted_ = true;
    halt_reason_ = why;
    auto waiting = std::move(waiters_);
    waiters_.clear();
    for (auto& [i, w] : waiting) w.done(why);
    auto reads = std::move(reads_);
    reads_.clear();
    for (auto& [id, fn] : reads) fn(why);
    auto fw = std::move(forwards_);
    forwards_.clear();
    for (auto& [id, f] : fw) f.done(why);
    auto until = std::move(until_applied_);
    until_applied_.clear();
    for (auto& [i, fn] : until) fn(why);
  }

  server_options opts_;
  applier applier_;
  std::unique_ptr<file_storage> store_;
  std::unique_ptr<node> node_;
  std::unique_ptr<rpc::endpoint> ep_;
  std::atomic<node_id> leader_{no_node};
  std::atomic<term_t> term_{0};
  std::atomic<bool> stopped_{false};
  // The rest: the endpoint's thread only.
  bool running_ = false;
  bool flush_posted_ = false;
  role last_role_ = role::follower;
  bool halted_ = false;
  status halt_reason_;
  std::map<index_t, waiter> waiters_;
  uint64_t next_read_ = 1;
  std::map<uint64_t, std::function<void(status)>> reads_;
  uint64_t bad_frames_ = 0;
  uint64_t next_forward_ = 1;
  int announce_ticks_ = 0;
  std::map<uint64_t, forwarded> forwards_;
  // Committed (a forwarded entry) or confirmed (a read), not yet applied here.
  std::multimap<index_t, done_fn> until_applied_;
};

void applier::apply(const entry& e) {
  user_.apply(e);
  s_.applied(e);
}

void applier::restore(const snapshot_meta& meta, std::span<const uint8_t> data) {
  user_.restore(meta, data);
  s_.restored(meta);
}

}  // namespace

result<std::unique_ptr<server>> server::start(server_options opts, state_machine& sm) {
  auto s = std::make_unique<server_impl>(std::move(opts), sm);
  if (auto st = s->open(); !st) return st;
  return std::unique_ptr<server>(std::move(s));
}

}  // namespace mosaic::raft

#include "tests/sim/raft_sim.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <vector>

#include "kernel/base/bytes.h"
#include "kernel/raft/node.h"
#include "kernel/raft/wire.h"
#include "kernel/rpc/memory_network.h"

namespace mosaic::sim {

using raft::entry;
using raft::index_t;
using raft::node_id;
using raft::term_t;

namespace {

constexpr int64_t tick_ms = 10;

uint64_t mix(uint64_t h, uint64_t v) {
  h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
  return h * 0xff51afd7ed558ccdULL;
}

uint64_t hash_bytes(uint64_t h, std::span<const uint8_t> b) {
  for (uint8_t c : b) h = (h ^ c) * 0x100000001b3ULL;
  return h;
}

uint64_t hash_entry(uint64_t h, const entry& e) {
  h = mix(h, static_cast<uint64_t>(e.index));
  h = mix(h, static_cast<uint64_t>(e.term));
  h = mix(h, static_cast<uint64_t>(e.type));
  return hash_bytes(h, e.data);
}

struct sim_failure {
  std::string what;
};

class world;

// The replicated state: a chain hash over every applied entry, which makes
// "same entries in the same order" a single comparison per index.
class chain_sm final : public raft::state_machine {
 public:
  chain_sm(world& w, node_id id) : w_(w), id_(id) {}
  void apply(const entry& e) override;
  std::vector<uint8_t> take_snapshot() override;
  void restore(const raft::snapshot_meta& meta, std::span<const uint8_t> data) override;
  index_t last() const { return last_; }

 private:
  world& w_;
  node_id id_;
  index_t last_ = 0;
  uint64_t hash_ = 0;
};

struct pending_read {
  uint64_t id;
  index_t need;  // the highest acknowledged write when the read was asked
  std::optional<index_t> at;
};

struct slot {
  node_id id = 0;
  bool founder = false;
  bool alive = false;
  std::unique_ptr<raft::memory_storage> store = std::make_unique<raft::memory_storage>();
  std::unique_ptr<chain_sm> sm;
  std::unique_ptr<raft::node> n;
  int64_t next_tick = 0;
  index_t commit_seen = 0;
  std::map<index_t, uint64_t> proposals;  // index -> write id, made at this node
  std::vector<pending_read> reads;
};

class world {
 public:
  explicit world(const sim_options& o) : o_(o), rng_(o.seed), net_(o.seed ^ 0x5eed) {}

  sim_result run();

  // Called by the state machines.
  void on_apply(node_id id, const entry& e, uint64_t hash);
  void on_restore(node_id id, index_t index, uint64_t hash);

  template <class... A>
  [[noreturn]] void fail(fmt::format_string<A...> f, A&&... args) {
    throw sim_failure{fmt::format("t={}ms: {}", now_, fmt::format(f, std::forward<A>(args)...))};
  }

 private:
  uint64_t rand(uint64_t n) { return n == 0 ? 0 : rng_() % n; }
  bool coin(double p) { return std::uniform_real_distribution<double>(0, 1)(rng_) < p; }
  template <class... A>
  void trace(fmt::format_string<A...> f, A&&... args) {
    if (o_.trace)
      std::printf("%8lld %s\n", static_cast<long long>(now_), fmt::format(f, std::forward<A>(args)...).c_str());
  }

  raft::options node_options(const slot& s) const;
  void start(slot& s);
  void crash(slot& s);
  void flush(slot& s);
  void deliver(const rpc::delivery& d);
  void check_after_flush(slot& s);
  void check_logs();
  void chaos();
  void client();
  slot* leader();
  void step_until(int64_t t);

  sim_options o_;
  std::mt19937_64 rng_;
  rpc::memory_network net_;
  int64_t now_ = 0;
  std::vector<slot> slots_;
  raft::options base_;
  std::set<slot*> touched_;

  // What every node must agree on.
  std::map<index_t, uint64_t> chain_;    // index -> chain hash after applying it
  std::map<index_t, term_t> committed_;  // index -> term, as any node reported it committed
  std::map<term_t, node_id> leaders_;    // term -> its leader
  index_t acked_ = 0;                    // the highest index of an acknowledged write
  uint64_t next_write_ = 1;
  uint64_t next_read_ = 1;
  uint64_t trace_hash_ = 0xcbf29ce484222325ULL;
  sim_stats stats_;
  int64_t next_chaos_ = 0;
  int64_t next_client_ = 0;
};

void chain_sm::apply(const entry& e) {
  if (e.index != last_ + 1) w_.fail("node {} applied index {} after {}", id_, e.index, last_);
  last_ = e.index;
  hash_ = hash_entry(hash_, e);
  w_.on_apply(id_, e, hash_);
}

std::vector<uint8_t> chain_sm::take_snapshot() {
  std::vector<uint8_t> out;
  byte_writer w(out);
  w.i64(last_);
  w.i64(static_cast<int64_t>(hash_));
  // Some bulk, so that snapshots travel in several chunks.
  const size_t pad = 40 + hash_ % 200;
  for (size_t i = 0; i < pad; ++i) out.push_back(static_cast<uint8_t>(hash_ >> (i % 8) * 8) ^ static_cast<uint8_t>(i));
  return out;
}

void chain_sm::restore(const raft::snapshot_meta& meta, std::span<const uint8_t> data) {
  if (data.size() < 16) w_.fail("node {} got a snapshot of {} bytes", id_, data.size());
  byte_reader r(data);
  const index_t idx = r.i64();
  const auto h = static_cast<uint64_t>(r.i64());
  if (idx != meta.index) w_.fail("node {}: snapshot at {} holds state of {}", id_, meta.index, idx);
  const size_t pad = 40 + h % 200;
  if (data.size() != 16 + pad) w_.fail("node {}: snapshot at {} has {} bytes, not {}", id_, idx, data.size(), 16 + pad);
  for (size_t i = 0; i < pad; ++i)
    if (data[16 + i] != (static_cast<uint8_t>(h >> (i % 8) * 8) ^ static_cast<uint8_t>(i)))
      w_.fail("node {}: snapshot at {} is corrupt at byte {}", id_, idx, 16 + i);
  last_ = idx;
  hash_ = h;
  w_.on_restore(id_, idx, h);
}

void world::on_apply(node_id id, const entry& e, uint64_t hash) {
  auto [it, added] = chain_.emplace(e.index, hash);
  if (!added && it->second != hash)
    fail("state machine safety: node {} applied a different entry at index {} (term {})", id, e.index, e.term);
  auto& s = slots_[static_cast<size_t>(id - 1)];
  auto p = s.proposals.find(e.index);
  if (p != s.proposals.end()) {
    // The write is acknowledged if the entry applied is the one proposed.
    if (e.type == raft::entry_type::command && e.data.size() == 8) {
      byte_reader r(e.data);
      if (static_cast<uint64_t>(r.i64()) == p->second) {
        acked_ = std::max(acked_, e.index);
        ++stats_.acked_writes;
      }
    }
    s.proposals.erase(p);
  }
}

void world::on_restore(node_id id, index_t index, uint64_t hash) {
  if (index == 0) return;
  auto it = chain_.find(index);
  if (it == chain_.end()) fail("node {} restored a snapshot at {} that no node has applied", id, index);
  if (it->second != hash)
    fail("state machine safety: node {}'s snapshot at {} differs from the applied state", id, index);
}

raft::options world::node_options(const slot& s) const {
  raft::options o = base_;
  o.id = s.id;
  o.seed = o_.seed * 31 + static_cast<uint64_t>(s.id) + stats_.crashes * 1000003;
  if (!s.founder) o.bootstrap = {};
  return o;
}

void world::start(slot& s) {
  s.sm = std::make_unique<chain_sm>(*this, s.id);
  s.n = std::make_unique<raft::node>(node_options(s), *s.store, *s.sm);
  s.alive = true;
  s.commit_seen = s.n->commit_index();
  s.next_tick = now_ + 1 + static_cast<int64_t>(rand(tick_ms));
  trace("node {} starts (term {}, log {}..{}, snapshot {})", s.id, s.n->term(), s.n->first_index(), s.n->last_index(),
        s.n->snapshot_info().index);
}

void world::crash(slot& s) {
  const size_t keep = rand(s.store->unsynced() + 1);
  trace("node {} crashes, keeping {} of {} unsynced writes", s.id, keep, s.store->unsynced());
  s.store->crash(keep);
  s.n.reset();
  s.sm.reset();
  s.alive = false;
  s.proposals.clear();
  s.reads.clear();
  net_.forget(s.id);
  ++stats_.crashes;
}

void world::deliver(const rpc::delivery& d) {
  slot& s = slots_[static_cast<size_t>(d.to - 1)];
  if (!s.alive) return;
  trace_hash_ = hash_bytes(trace_hash_, d.frame);
  auto m = raft::decode(d.frame);
  if (!m) fail("a frame from {} to {} did not decode: {}", d.from, d.to, m.error().message());
  if (m->from != d.from || m->to != d.to)
    fail("a frame's header names {} -> {}, sent {} -> {}", m->from, m->to, d.from, d.to);
  if (o_.trace) trace("deliver {}", raft::describe(*m));
  const index_t snap_before = s.n->snapshot_info().index;
  s.n->step(*m);
  if (s.n->snapshot_info().index != snap_before && std::holds_alternative<raft::snapshot_request>(m->body))
    ++stats_.snapshots_installed;
  touched_.insert(&s);
}

void world::flush(slot& s) {
  for (auto& m : s.n->flush()) {
    ++stats_.messages;
    net_.send(now_, m.from, m.to, raft::encode(m));
  }
  for (auto& r : s.n->take_reads()) {
    for (auto& p : s.reads)
      if (p.id == r.id) p.at = r.index;
  }
  for (uint64_t id : s.n->take_failed_reads())
    std::erase_if(s.reads, [&](const pending_read& p) { return p.id == id; });
  check_after_flush(s);
}

void world::check_after_flush(slot& s) {
  raft::node& n = *s.n;
  // Commit never moves back (within an incarnation: commit is not durable).
  if (n.commit_index() < s.commit_seen)
    fail("node {}'s commit index moved back from {} to {}", s.id, s.commit_seen, n.commit_index());
  for (index_t i = std::max(s.commit_seen + 1, n.first_index()); i <= n.commit_index(); ++i) {
    term_t t = n.term_at(i);
    if (t < 0) continue;
    auto [it, added] = committed_.emplace(i, t);
    if (!added && it->second != t)
      fail("node {} committed term {} at index {}, another committed term {}", s.id, t, i, it->second);
  }
  s.commit_seen = n.commit_index();
  stats_.committed = std::max<uint64_t>(stats_.committed, static_cast<uint64_t>(n.commit_index()));

  if (n.is_leader()) {
    auto [it, added] = leaders_.emplace(n.term(), s.id);
    if (!added && it->second != s.id) fail("two leaders in term {}: nodes {} and {}", n.term(), it->second, s.id);
    if (added) {
      ++stats_.elections;
      trace("node {} leads term {} (log {}..{}, commit {})", s.id, n.term(), n.first_index(), n.last_index(),
            n.commit_index());
      // Leader completeness: every committed entry is in the new leader's
      // log (or behind its snapshot).
      for (auto c = committed_.upper_bound(n.snapshot_info().index); c != committed_.end(); ++c) {
        if (n.term_at(c->first) != c->second)
          fail("leader completeness: node {} leads term {} without committed entry {} (term {})", s.id, n.term(),
               c->first, c->second);
      }
    }
  }
  // Reads: served once the node has applied the read index.
  for (auto it = s.reads.begin(); it != s.reads.end();) {
    if (!it->at || n.applied() < *it->at) {
      ++it;
      continue;
    }
    if (*it->at < it->need)
      fail("linearizability: node {}'s read {} at index {} misses a write acknowledged at {}", s.id, it->id, *it->at,
           it->need);
    ++stats_.reads;
    it = s.reads.erase(it);
  }
}

void world::check_logs() {
  // Log matching: if two logs hold an entry with the same index and term,
  // they are identical up to it.
  for (size_t a = 0; a < slots_.size(); ++a) {
    for (size_t b = a + 1; b < slots_.size(); ++b) {
      if (!slots_[a].alive || !slots_[b].alive) continue;
      const raft::node& x = *slots_[a].n;
      const raft::node& y = *slots_[b].n;
      const index_t lo = std::max(x.first_index(), y.first_index());
      const index_t hi = std::min(x.last_index(), y.last_index());
      bool matched = false;
      for (index_t i = hi; i >= lo; --i) {
        const entry* ex = x.entry_at(i);
        const entry* ey = y.entry_at(i);
        if (!matched) {
          matched = ex->term == ey->term;
          if (!matched) continue;
        }
        if (!(*ex == *ey))
          fail("log matching: nodes {} and {} agree at a later index but differ at {} (terms {} and {})", x.id(),
               y.id(), i, ex->term, ey->term);
      }
    }
  }
}

slot* world::leader() {
  slot* best = nullptr;
  for (auto& s : slots_)
    if (s.alive && s.n->is_leader() && (!best || s.n->term() > best->n->term())) best = &s;
  return best;
}

void world::chaos() {
  const uint64_t what = rand(100);
  slot* l = leader();
  if (what < 16) {
    // Partition into two random sides.
    std::vector<node_id> a, b;
    for (auto& s : slots_) (coin(0.5) ? a : b).push_back(s.id);
    trace("partition {} | {}", fmt::join(a, ","), fmt::join(b, ","));
    net_.partition({a, b});
  } else if (what < 22) {
    // Isolate the leader.
    if (!l) return;
    std::vector<node_id> rest;
    for (auto& s : slots_)
      if (&s != l) rest.push_back(s.id);
    trace("isolate leader {}", l->id);
    net_.partition({{l->id}, rest});
  } else if (what < 28) {
    node_id x = static_cast<node_id>(1 + rand(slots_.size()));
    node_id y = static_cast<node_id>(1 + rand(slots_.size()));
    trace("cut {} -> {}", x, y);
    net_.cut(x, y);
  } else if (what < 45) {
    trace("heal");
    net_.heal();
  } else if (what < 62) {
    // Crash someone (the leader a third of the time), keeping a majority
    // of the slots up now and then.
    slot* victim = l && coin(0.33) ? l : &slots_[rand(slots_.size())];
    if (victim->alive) crash(*victim);
  } else if (what < 80) {
    for (auto& s : slots_)
      if (!s.alive) {
        start(s);
        break;
      }
  } else if (what < 86) {
    if (!l) return;
    const auto& voters = l->n->config().voters;
    node_id to = voters[rand(voters.size())];
    trace("leader {} transfers to {}", l->id, to);
    if (l->n->transfer_leadership(to)) ++stats_.transfers;
    touched_.insert(l);
  } else if (what < 90) {
    // A spare follows the log without voting.
    if (!l) return;
    for (auto& s : slots_)
      if (s.alive && !l->n->config().contains(s.id) && coin(0.5)) {
        trace("leader {} adds observer {}", l->id, s.id);
        if (l->n->add_observer(s.id)) ++stats_.observers_added;
        touched_.insert(l);
        break;
      }
  } else if (what < 95) {
    if (!l) return;
    std::vector<node_id> others;
    for (auto& s : slots_)
      if (s.alive && !l->n->config().contains(s.id)) others.push_back(s.id);
    if (others.empty()) return;
    node_id id = others[rand(others.size())];
    trace("leader {} adds voter {}", l->id, id);
    if (l->n->add_voter(id)) ++stats_.config_changes;
    touched_.insert(l);
  } else {
    if (!l || l->n->config().voters.size() <= 2) return;
    const auto& voters = l->n->config().voters;
    node_id id = voters[rand(voters.size())];
    trace("leader {} removes voter {}", l->id, id);
    if (l->n->remove_voter(id)) ++stats_.config_changes;
    touched_.insert(l);
  }
}

void world::client() {
  slot* l = leader();
  if (!l) return;
  if (coin(0.7)) {
    const uint64_t id = next_write_++;
    std::vector<uint8_t> data;
    byte_writer(data).i64(static_cast<int64_t>(id));
    auto idx = l->n->propose(std::move(data));
    if (idx) l->proposals[*idx] = id;
  } else {
    const uint64_t id = next_read_++;
    if (l->n->read_index(id)) l->reads.push_back(pending_read{id, acked_, std::nullopt});
  }
  touched_.insert(l);
}

void world::step_until(int64_t until) {
  while (true) {
    int64_t t = until;
    for (auto& s : slots_)
      if (s.alive) t = std::min(t, s.next_tick);
    if (int64_t n = net_.next_time(); n >= 0) t = std::min(t, n);
    t = std::min({t, next_chaos_, next_client_});
    if (t > until) return;
    now_ = t;
    ++stats_.events;
    for (auto& d : net_.take_due(now_)) deliver(d);
    for (auto& s : slots_) {
      if (s.alive && s.next_tick <= now_) {
        s.n->tick();
        s.next_tick += tick_ms;
        touched_.insert(&s);
      }
    }
    if (now_ >= next_chaos_) {
      if (now_ < o_.chaos_ms) chaos();
      next_chaos_ = now_ + 50 + static_cast<int64_t>(rand(400));
    }
    if (now_ >= next_client_) {
      client();
      next_client_ = now_ + 1 + static_cast<int64_t>(rand(15));
    }
    for (slot* s : touched_)
      if (s->alive) flush(*s);
    touched_.clear();
    if (stats_.events % 64 == 0) check_logs();
    if (t == until) return;
  }
}

sim_result world::run() {
  sim_result out;
  try {
    const size_t voters = rand(2) == 0 ? 3 : 5;
    const size_t spares = rand(3);
    base_.election_ticks = 10;
    base_.heartbeat_ticks = 1 + static_cast<int>(rand(3));
    base_.pre_vote = rand(4) != 0;
    base_.check_quorum = rand(4) != 0;
    base_.max_inflight = 1 + static_cast<int>(rand(8));
    base_.max_append_bytes = 16 + rand(256);
    base_.snapshot_entries = 5 + static_cast<index_t>(rand(60));
    if (coin(0.3)) {
      // By bytes instead (commands are 8 bytes).
      base_.snapshot_entries = 0;
      base_.snapshot_bytes = 40 + rand(400);
      base_.snapshot_bytes_scale = coin(0.5);  // paced by the state's size
    }
    base_.snapshot_trailing = static_cast<index_t>(rand(6));
    if (coin(0.3)) base_.snapshot_trailing_bytes = 8 + rand(40);  // fewer large trailing entries
    base_.snapshot_chunk_bytes = 16 + rand(128);
    for (size_t i = 1; i <= voters; ++i) base_.bootstrap.voters.push_back(static_cast<node_id>(i));
    rpc::network_faults f;
    f.drop = coin(0.2) ? 0 : 0.1 * std::uniform_real_distribution<double>(0, 1)(rng_);
    f.duplicate = coin(0.5) ? 0 : 0.05;
    f.min_delay = 1;
    f.max_delay = 2 + static_cast<int64_t>(rand(30));
    net_.set_faults(f);
    trace(
        "seed {}: {} voters, {} spares, heartbeat {} ticks, pre-vote {}, check-quorum {}, inflight {}, "
        "snapshot every {} (or {} bytes{}, +{} entries, at most {} bytes), chunks of {}, drop {:.3f}, duplicate "
        "{:.2f}, "
        "delay 1..{} ms",
        o_.seed, voters, spares, base_.heartbeat_ticks, base_.pre_vote, base_.check_quorum, base_.max_inflight,
        base_.snapshot_entries, base_.snapshot_bytes, base_.snapshot_bytes_scale ? ", scaled" : "",
        base_.snapshot_trailing, base_.snapshot_trailing_bytes, base_.snapshot_chunk_bytes, f.drop, f.duplicate,
        f.max_delay);

    slots_.resize(voters + spares);
    for (size_t i = 0; i < slots_.size(); ++i) {
      slots_[i].id = static_cast<node_id>(i + 1);
      slots_[i].founder = i < voters;
    }
    for (auto& s : slots_) start(s);
    next_chaos_ = 200;
    step_until(o_.chaos_ms);

    // Heal: every node back, no faults; a new command must commit on every
    // voter of the leader's configuration.
    trace("heal for good");
    net_.heal();
    net_.set_faults(rpc::network_faults{});
    for (auto& s : slots_)
      if (!s.alive) start(s);
    const int64_t deadline = now_ + o_.heal_ms;
    std::optional<std::pair<node_id, index_t>> final_write;
    while (now_ < deadline) {
      step_until(std::min(deadline, now_ + tick_ms));
      slot* l = leader();
      if (!l) continue;
      if (!final_write || final_write->first != l->id || l->n->term_at(final_write->second) < 0) {
        std::vector<uint8_t> data;
        byte_writer(data).i64(-1);
        if (auto idx = l->n->propose(std::move(data))) {
          final_write = {l->id, *idx};
          touched_.insert(l);
        }
        continue;
      }
      const index_t idx = final_write->second;
      const term_t t = l->n->term_at(idx);
      bool everywhere = l->n->commit_index() >= idx;
      for (node_id v : l->n->config().voters) {
        const slot& s = slots_[static_cast<size_t>(v - 1)];
        everywhere = everywhere && s.alive && s.n->applied() >= idx &&
                     (s.n->term_at(idx) == t || s.n->snapshot_info().index >= idx);
      }
      if (everywhere) {
        check_logs();
        out.stats = stats_;
        out.stats.dropped = net_.dropped();
        out.trace_hash = trace_hash_;
        return out;
      }
    }
    std::string state;
    for (auto& s : slots_)
      state +=
          fmt::format(" [node {}: {} term {} leader {} log {}..{} commit {} applied {} voters {}]", s.id,
                      raft::role_name(s.n->current_role()), s.n->term(), s.n->leader(), s.n->first_index(),
                      s.n->last_index(), s.n->commit_index(), s.n->applied(), fmt::join(s.n->config().voters, ","));
    fail("liveness: no new command committed on every voter within {} ms of healing:{}", o_.heal_ms, state);
  } catch (const sim_failure& f) {
    out.ok = false;
    out.failure = f.what;
  }
  out.stats = stats_;
  out.trace_hash = trace_hash_;
  return out;
}

}  // namespace

sim_result run_simulation(const sim_options& opts) {
  world w(opts);
  return w.run();
}

}  // namespace mosaic::sim

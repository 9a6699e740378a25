#include "tests/sim/replication_sim.h"

#include <algorithm>
#include <cstdio>
#include <functional>
#include <iterator>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <tuple>
#include <variant>
#include <vector>

#include "kernel/replication/partition_state.h"
#include "kernel/replication/replica.h"

namespace mosaic::sim {

namespace {

namespace rep = mosaic::replication;

constexpr int controller_id = 100;
constexpr int client_base = 200;
constexpr int64_t tick_ms = 10;

// ---- a memory log: one record per batch, (offset, epoch, value) ----

struct record {
  int64_t offset = 0;
  int32_t epoch = 0;
  int64_t value = 0;
};

void put64(std::vector<uint8_t>& b, int64_t v) {
  for (int s = 56; s >= 0; s -= 8) b.push_back(static_cast<uint8_t>(static_cast<uint64_t>(v) >> s));
}
int64_t get64(std::span<const uint8_t> b, size_t at) {
  uint64_t v = 0;
  for (size_t i = 0; i < 8; ++i) v = (v << 8) | b[at + i];
  return static_cast<int64_t>(v);
}

class memory_log : public rep::replica_log {
 public:
  int64_t log_start_offset() const override { return lso_; }
  int64_t log_end_offset() const override { return lso_ + static_cast<int64_t>(records_.size()); }
  int32_t last_epoch() const override { return epochs_.empty() ? -1 : epochs_.back().first; }
  std::pair<int32_t, int64_t> end_offset_for_epoch(int32_t epoch) const override {
    if (epochs_.empty()) return {-1, -1};
    if (epoch < epochs_.front().first) return {epoch, epochs_.front().second};
    for (size_t i = epochs_.size(); i-- > 0;)
      if (epochs_[i].first <= epoch)
        return {epochs_[i].first, i + 1 < epochs_.size() ? epochs_[i + 1].second : log_end_offset()};
    return {-1, -1};
  }
  void start_epoch(int32_t epoch, int64_t start) override {
    if (epochs_.empty() || epoch > epochs_.back().first) epochs_.emplace_back(epoch, start);
  }
  void truncate_to(int64_t offset) override {
    std::erase_if(epochs_, [&](const auto& e) { return e.second >= offset; });
    if (offset >= log_end_offset()) return;
    records_.resize(static_cast<size_t>(std::max<int64_t>(0, offset - lso_)));
    std::erase_if(epochs_, [&](const auto& e) { return e.second >= offset; });
    flushed_ = std::min(flushed_, offset);
  }
  void reset_to(int64_t offset) override {
    records_.clear();
    epochs_.clear();
    lso_ = offset;
    flushed_ = offset;
  }
  std::vector<uint8_t> read(int64_t offset, size_t max_bytes) const override {
    std::vector<uint8_t> out;
    for (int64_t o = offset; o < log_end_offset() && (out.empty() || out.size() + 20 <= max_bytes); ++o) {
      const record& r = at(o);
      put64(out, r.offset);
      put64(out, r.epoch);
      put64(out, r.value);
    }
    return out;
  }
  status append_replicated(std::span<const uint8_t> batches) override {
    for (size_t at = 0; at + 24 <= batches.size(); at += 24) {
      record r{get64(batches, at), static_cast<int32_t>(get64(batches, at + 8)), get64(batches, at + 16)};
      if (r.offset != log_end_offset()) return status(errc::invalid_argument, "not at the log end");
      start_epoch(r.epoch, r.offset);
      records_.push_back(r);
    }
    return {};
  }

  int64_t append(int32_t epoch, int64_t value) {
    const int64_t offset = log_end_offset();
    start_epoch(epoch, offset);
    records_.push_back({offset, epoch, value});
    return offset;
  }
  const record& at(int64_t offset) const { return records_[static_cast<size_t>(offset - lso_)]; }
  bool holds(int64_t offset) const { return offset >= lso_ && offset < log_end_offset(); }
  void flush() { flushed_ = log_end_offset(); }
  // A crash: what was not flushed may be gone, any part of it.
  bool crash(std::mt19937_64& rng) {
    const int64_t end = log_end_offset();
    if (flushed_ >= end) return false;
    const int64_t cut = std::uniform_int_distribution<int64_t>(flushed_, end)(rng);
    truncate_to(cut);
    return cut < end;
  }

 private:
  int64_t lso_ = 0;
  int64_t flushed_ = 0;
  std::vector<record> records_;
  std::vector<std::pair<int32_t, int64_t>> epochs_;
};

// ---- messages ----

struct fetch_req {
  int partition;
  rep::fetch_request req;
};
struct fetch_resp {
  int partition;
  rep::fetch_response resp;
};
struct alter_req {
  int partition;
  rep::alter_isr_request req;
};
struct alter_resp {
  int partition;
  rep::change_error error;
};
struct heartbeat {
  int64_t broker_epoch;
};
struct produce_req {
  int partition;
  int64_t value;
};
struct produce_resp {
  int partition;
  int64_t value;
  rep::replica_error error;
  int64_t offset;
};
using payload = std::variant<fetch_req, fetch_resp, alter_req, alter_resp, heartbeat, produce_req, produce_resp>;

struct message {
  int from, to;
  payload body;
};

// What the controller publishes: every partition, and each broker's epoch.
struct snapshot {
  std::vector<rep::partition_state> parts;
  std::map<rep::broker_id, int64_t> epochs;
};

struct broker {
  bool alive = true;
  bool paused = false;
  int64_t epoch = 0;
  bool registered_seen = false;  // has applied a snapshot with its own epoch
  size_t cursor = 0;             // snapshots delivered
  std::vector<std::unique_ptr<memory_log>> logs;
  std::vector<std::unique_ptr<rep::replica>> replicas;
  int64_t next_heartbeat = 0;
  int64_t restart_at = -1;
  int64_t resume_at = -1;
};

struct pending_produce {
  int broker;
  int partition;
  int64_t value;
  int64_t offset;
};

class simulation {
 public:
  explicit simulation(const replication_sim_options& o) : opts_(o), rng_(o.seed) {
    n_ = static_cast<int>(pick(3, 5));
    partitions_ = static_cast<int>(pick(1, 3));
    policy_.min_insync = pick(0, 3) == 0 ? 1 : 2;
    drop_ = static_cast<double>(pick(0, 5)) / 100.0;
    session_ms_ = pick(200, 500);
    ropts_.replica_lag_time_max_ms = pick(100, 400);
    ropts_.min_insync = policy_.min_insync;
    ropts_.fetch_timeout_ms = 100;
    ropts_.fetch_max_bytes = static_cast<size_t>(pick(1, 8)) * 24;
    for (int b = 0; b < n_; ++b) {
      brokers_.emplace_back();
      auto& br = brokers_.back();
      br.epoch = ++epoch_counter_;
      for (int p = 0; p < partitions_; ++p) br.logs.push_back(std::make_unique<memory_log>());
      registered_[b] = br.epoch;
      view_.epochs[b] = br.epoch;
      heard_[b] = 0;
      view_.unfenced.insert(b);
    }
    for (int p = 0; p < partitions_; ++p) {
      std::vector<rep::broker_id> replicas;
      for (int i = 0; i < std::min(3, n_); ++i) replicas.push_back((p + i) % n_);
      parts_.push_back(rep::initial_state(replicas, view_));
      parts_.back().leader_epoch = 1;
      committed_.emplace_back();
      committed_order_.emplace_back();
      acked_.emplace_back();
      outstanding_.push_back(-1);
      sent_at_.push_back(0);
      last_ack_at_.push_back(-1);
    }
    for (int b = 0; b < n_; ++b) make_replicas(b);
    publish();
  }

  replication_sim_result run() {
    int64_t next_chaos = 100;
    const int64_t end_chaos = opts_.chaos_ms, end = opts_.chaos_ms + opts_.heal_ms;
    for (now_ = 0; now_ <= end && result_.ok; now_ += tick_ms) {
      if (now_ < end_chaos && now_ >= next_chaos) {
        chaos();
        next_chaos = now_ + pick(50, 400);
      }
      if (now_ >= end_chaos && heal_start_ == 0) heal();
      deliver_until(now_);
      controller_tick();
      for (int b = 0; b < n_; ++b) broker_tick(b);
      clients_tick();
    }
    if (result_.ok) final_checks();
    return result_;
  }

 private:
  int64_t pick(int64_t lo, int64_t hi) { return std::uniform_int_distribution<int64_t>(lo, hi)(rng_); }
  bool chance(double p) { return std::uniform_real_distribution<double>(0, 1)(rng_) < p; }

  void fail(const std::string& why) {
    if (!result_.ok) return;
    result_.ok = false;
    result_.failure = "at " + std::to_string(now_) + " ms: " + why;
  }
  void trace(const std::string& s) {
    if (opts_.trace) std::printf("%6lld  %s\n", static_cast<long long>(now_), s.c_str());
  }

  // ---- network ----

  bool cut(int a, int b) const { return cuts_.count({std::min(a, b), std::max(a, b)}) != 0; }
  void send(int from, int to, payload body) {
    ++result_.stats.messages;
    if (chance(drop_) || cut(from, to)) {
      ++result_.stats.dropped;
      return;
    }
    queue_.emplace(std::make_pair(now_ + pick(1, 20), seq_++), message{from, to, std::move(body)});
  }
  // Messages in order of arrival time (then of sending).
  void deliver_until(int64_t t) {
    while (!queue_.empty() && queue_.begin()->first.first <= t && result_.ok) {
      auto node = queue_.extract(queue_.begin());
      const int64_t at = node.key().first;
      message& m = node.mapped();
      if (m.to < n_) {
        broker& br = brokers_[static_cast<size_t>(m.to)];
        if (!br.alive) continue;
        if (br.paused && now_ >= br.resume_at) br.paused = false;
        if (br.paused) {  // a stopped process: the bytes wait in its socket
          node.key() = std::make_pair(std::max(br.resume_at, t) + 1, seq_++);
          queue_.insert(std::move(node));
          continue;
        }
      }
      if (cut(m.from, m.to)) continue;  // cut while in flight
      ++result_.stats.events;
      result_.trace_hash =
          result_.trace_hash * 1099511628211ull + static_cast<uint64_t>(at * 131 + m.from * 7 + m.to) + m.body.index();
      if (m.to == controller_id)
        to_controller(m);
      else if (m.to >= client_base)
        to_client(m);
      else
        to_broker(m);
    }
  }

  // ---- controller ----

  void publish() { snapshots_.push_back({parts_, registered_}); }

  void apply_change(int p, const rep::change& c, const char* why) {
    if (c.error != rep::change_error::none || !c.changed) return;
    const rep::partition_state& old = parts_[static_cast<size_t>(p)];
    if (c.next.leader != old.leader && c.next.leader != rep::no_leader) {
      ++result_.stats.leader_changes;
      if (std::find(old.isr.begin(), old.isr.end(), c.next.leader) == old.isr.end()) ++result_.stats.elr_elections;
    }
    if (c.unclean) fail("an unclean election happened with unclean elections off");
    trace("controller p" + std::to_string(p) + " " + why + ": " + rep::to_string(c.next));
    if (c.next.leader_epoch != old.leader_epoch) elected_at_[{p, c.next.leader_epoch}] = ++order_;
    parts_[static_cast<size_t>(p)] = c.next;
  }

  void to_controller(const message& m) {
    const int b = m.from;
    if (const auto* h = std::get_if<heartbeat>(&m.body)) {
      if (h->broker_epoch < registered_[b]) return;  // an old incarnation's
      if (h->broker_epoch > registered_[b]) {
        // A new incarnation: its log may have lost what it had not flushed.
        registered_[b] = h->broker_epoch;
        view_.epochs[b] = h->broker_epoch;
        for (int p = 0; p < partitions_; ++p)
          apply_change(p, rep::on_unclean_restart(parts_[static_cast<size_t>(p)], b, view_, policy_),
                       "unclean restart");
        view_.unfenced.erase(b);
      }
      heard_[b] = now_;
      bool changed = h->broker_epoch != last_published_epoch_[b];
      last_published_epoch_[b] = h->broker_epoch;
      if (!view_.live(b)) {
        view_.unfenced.insert(b);
        for (int p = 0; p < partitions_; ++p)
          apply_change(p, rep::on_broker_back(parts_[static_cast<size_t>(p)], view_, policy_), "broker back");
        changed = true;
      }
      if (changed) publish();
    } else if (const auto* a = std::get_if<alter_req>(&m.body)) {
      const auto& old = parts_[static_cast<size_t>(a->partition)];
      auto c = rep::on_alter_isr(old, a->req.leader, a->req.leader_epoch, a->req.partition_epoch, a->req.isr, view_,
                                 policy_);
      if (c.error == rep::change_error::none && c.changed) {
        if (c.next.isr.size() < old.isr.size()) ++result_.stats.isr_shrinks;
        if (c.next.isr.size() > old.isr.size()) ++result_.stats.isr_expands;
      }
      apply_change(a->partition, c, "alter isr");
      publish();
      send(controller_id, b, alter_resp{a->partition, c.error});
    }
  }

  void controller_tick() {
    bool changed = false;
    for (int b = 0; b < n_; ++b)
      if (view_.live(b) && now_ - heard_[b] > session_ms_) {
        view_.unfenced.erase(b);
        for (int p = 0; p < partitions_; ++p)
          apply_change(p, rep::on_broker_gone(parts_[static_cast<size_t>(p)], b, view_, policy_), "fenced");
        changed = true;
      }
    if (changed) publish();
  }

  // ---- brokers ----

  void make_replicas(int b) {
    broker& br = brokers_[static_cast<size_t>(b)];
    br.replicas.clear();
    for (int p = 0; p < partitions_; ++p) {
      rep::replica_options o = ropts_;
      o.self = b;
      br.replicas.push_back(std::make_unique<rep::replica>(o, *br.logs[static_cast<size_t>(p)]));
      br.replicas.back()->set_broker_epoch(br.epoch);
    }
  }

  void broker_tick(int b) {
    broker& br = brokers_[static_cast<size_t>(b)];
    if (!br.alive) {
      if (br.restart_at >= 0 && now_ >= br.restart_at) restart(b);
      return;
    }
    if (br.paused) {
      if (now_ >= br.resume_at) br.paused = false;
      return;
    }
    if (now_ >= br.next_heartbeat) {
      send(b, controller_id, heartbeat{br.epoch});
      br.next_heartbeat = now_ + 50;
    }
    // Metadata arrives in order, a little late, unless cut off.
    if (!cut(b, controller_id) && br.cursor < snapshots_.size() && chance(0.5)) {
      br.cursor = std::min(snapshots_.size(), br.cursor + static_cast<size_t>(pick(1, 3)));
      apply_metadata(b, snapshots_[br.cursor - 1]);
    }
    for (int p = 0; p < partitions_; ++p) {
      br.replicas[static_cast<size_t>(p)]->tick(now_);
      if (chance(0.05)) br.logs[static_cast<size_t>(p)]->flush();
      drain(b, p);
    }
  }

  void apply_metadata(int b, const snapshot& s) {
    broker& br = brokers_[static_cast<size_t>(b)];
    // A restarted broker acts on partitions only once the metadata has
    // taken in its new registration (which took it out of every ISR).
    auto mine = s.epochs.find(b);
    if (mine == s.epochs.end() || mine->second != br.epoch) return;
    br.registered_seen = true;
    for (int p = 0; p < partitions_; ++p) {
      auto& r = *br.replicas[static_cast<size_t>(p)];
      const bool was_leader = r.role() == rep::replica_role::leader;
      const int32_t was_epoch = r.leader_epoch();
      r.apply(s.parts[static_cast<size_t>(p)], s.epochs, now_);
      if (r.role() == rep::replica_role::leader && (!was_leader || r.leader_epoch() != was_epoch)) became_leader(b, p);
      drain(b, p);
    }
  }

  void became_leader(int b, int p) {
    auto& r = *brokers_[static_cast<size_t>(b)].replicas[static_cast<size_t>(p)];
    trace("broker " + std::to_string(b) + " leads p" + std::to_string(p) + " at epoch " +
          std::to_string(r.leader_epoch()));
    auto [it, fresh] = leader_of_.try_emplace({p, r.leader_epoch()}, b);
    if (!fresh && it->second != b)
      fail("p" + std::to_string(p) + " epoch " + std::to_string(r.leader_epoch()) +
           " has two leaders: " + std::to_string(it->second) + " and " + std::to_string(b));
    // KIP-966: a leader chosen cleanly holds every offset committed before
    // the controller chose it (a broker that learns late that it led an
    // epoch long gone cannot commit anything in it, so later commits do
    // not count).
    const memory_log& log = *brokers_[static_cast<size_t>(b)].logs[static_cast<size_t>(p)];
    const uint64_t chosen = elected_at_[{p, r.leader_epoch()}];
    for (const auto& [offset, value] : committed_[static_cast<size_t>(p)]) {
      if (committed_order_[static_cast<size_t>(p)][offset] > chosen) continue;
      if (!log.holds(offset) || log.at(offset).value != value)
        fail("new leader " + std::to_string(b) + " of p" + std::to_string(p) + " (epoch " +
             std::to_string(r.leader_epoch()) + ") lacks committed offset " + std::to_string(offset));
    }
  }

  void drain(int b, int p) {
    broker& br = brokers_[static_cast<size_t>(b)];
    auto& r = *br.replicas[static_cast<size_t>(p)];
    note_high_watermark(b, p);
    auto out = r.take();
    if (out.fetch && r.state().leader != rep::no_leader) send(b, r.state().leader, fetch_req{p, *out.fetch});
    if (out.alter_isr) send(b, controller_id, alter_req{p, *out.alter_isr});
    for (const auto& d : out.produced) {
      auto it = pending_.find(d.id);
      if (it == pending_.end()) continue;
      send(b, client_base + p, produce_resp{p, it->second.value, d.error, it->second.offset});
      pending_.erase(it);
    }
  }

  // The high watermark on a leader: never back, and what it covers is
  // committed (the same value at each offset, whoever committed it).
  void note_high_watermark(int b, int p) {
    broker& br = brokers_[static_cast<size_t>(b)];
    auto& r = *br.replicas[static_cast<size_t>(p)];
    if (r.role() != rep::replica_role::leader) return;
    const auto key = std::make_tuple(b, br.epoch, p, r.leader_epoch());
    auto [it, fresh] = hw_seen_.try_emplace(key, r.high_watermark());
    if (!fresh && r.high_watermark() < it->second) fail("the high watermark moved back on leader " + std::to_string(b));
    it->second = r.high_watermark();
    const memory_log& log = *br.logs[static_cast<size_t>(p)];
    auto& committed = committed_[static_cast<size_t>(p)];
    for (int64_t o = committed.empty() ? log.log_start_offset() : committed.rbegin()->first + 1; o < r.high_watermark();
         ++o) {
      if (!log.holds(o)) continue;
      committed[o] = log.at(o).value;
      committed_order_[static_cast<size_t>(p)][o] = ++order_;
    }
  }

  void to_broker(const message& m) {
    const int b = m.to;
    broker& br = brokers_[static_cast<size_t>(b)];
    if (!br.registered_seen) return;
    if (const auto* f = std::get_if<fetch_req>(&m.body)) {
      auto resp = br.replicas[static_cast<size_t>(f->partition)]->on_fetch(f->req, now_);
      if (opts_.trace && (resp.error != rep::replica_error::none || resp.diverging))
        trace("fetch p" + std::to_string(f->partition) + " " + std::to_string(m.from) + "->" + std::to_string(b) +
              " at " + std::to_string(f->req.fetch_offset) + " epoch " + std::to_string(f->req.last_fetched_epoch) +
              ": error " + std::to_string(static_cast<int>(resp.error)) +
              (resp.diverging ? " diverging at epoch " + std::to_string(resp.diverging->first) + " end " +
                                    std::to_string(resp.diverging->second)
                              : ""));
      send(b, m.from, fetch_resp{f->partition, resp});
      drain(b, f->partition);
    } else if (const auto* fr = std::get_if<fetch_resp>(&m.body)) {
      auto& log = *br.logs[static_cast<size_t>(fr->partition)];
      const int64_t before = log.log_end_offset();
      br.replicas[static_cast<size_t>(fr->partition)]->on_fetch_response(fr->resp, now_);
      if (log.log_end_offset() < before) ++result_.stats.truncations;
      drain(b, fr->partition);
    } else if (const auto* a = std::get_if<alter_resp>(&m.body)) {
      br.replicas[static_cast<size_t>(a->partition)]->on_alter_isr_response(a->error);
      drain(b, a->partition);
    } else if (const auto* pr = std::get_if<produce_req>(&m.body)) {
      auto& r = *br.replicas[static_cast<size_t>(pr->partition)];
      const auto err = r.can_append_all();
      if (err != rep::replica_error::none) {
        send(b, m.from, produce_resp{pr->partition, pr->value, err, -1});
        return;
      }
      const int64_t offset = br.logs[static_cast<size_t>(pr->partition)]->append(r.leader_epoch(), pr->value);
      const uint64_t id = next_produce_++;
      pending_[id] = {b, pr->partition, pr->value, offset};
      r.on_appended(now_);
      r.await(id, offset + 1, now_ + 1000);
      drain(b, pr->partition);
    }
  }

  // ---- clients: one producer per partition, acks=all, one request at a time ----

  void clients_tick() {
    for (int p = 0; p < partitions_; ++p) {
      if (outstanding_[static_cast<size_t>(p)] >= 0 && now_ - sent_at_[static_cast<size_t>(p)] < 1500) continue;
      if (!chance(0.3)) continue;
      const auto& part = parts_[static_cast<size_t>(p)];
      int target = part.leader;
      if (target == rep::no_leader || chance(0.1)) target = static_cast<int>(pick(0, n_ - 1));
      const int64_t value = next_value_++;
      outstanding_[static_cast<size_t>(p)] = value;
      sent_at_[static_cast<size_t>(p)] = now_;
      send(client_base + p, target, produce_req{p, value});
    }
  }

  void to_client(const message& m) {
    const auto* r = std::get_if<produce_resp>(&m.body);
    if (r == nullptr) return;
    const size_t p = static_cast<size_t>(r->partition);
    if (outstanding_[p] == r->value) outstanding_[p] = -1;
    if (r->error != rep::replica_error::none) {
      ++result_.stats.refused;
      return;
    }
    ++result_.stats.acked;
    last_ack_at_[p] = now_;
    // Acknowledged records keep the order they were sent in: offsets grow
    // with the values (a late answer to an older request included).
    auto& acked = acked_[p];
    auto after = acked.lower_bound(r->offset);
    const bool taken = after != acked.end() && after->first == r->offset;
    const bool before_ok = after == acked.begin() || std::prev(after)->second < r->value;
    const bool after_ok = after == acked.end() || taken || after->second > r->value;
    if (taken || !before_ok || !after_ok)
      fail("p" + std::to_string(p) + ": record " + std::to_string(r->value) + " acknowledged at offset " +
           std::to_string(r->offset) + (taken ? ", which another acknowledged record has" : ", out of order"));
    acked[r->offset] = r->value;
    auto c = committed_[p].find(r->offset);
    if (c == committed_[p].end() || c->second != r->value)
      fail("p" + std::to_string(p) + ": acknowledged offset " + std::to_string(r->offset) + " is not committed");
  }

  // ---- faults ----

  void crash(int b) {
    broker& br = brokers_[static_cast<size_t>(b)];
    br.alive = false;
    br.paused = false;
    br.replicas.clear();
    br.registered_seen = false;
    br.cursor = 0;
    for (auto& log : br.logs)
      if (log->crash(rng_)) ++result_.stats.lost_unflushed;
    br.restart_at = now_ + pick(100, 800);
    ++result_.stats.crashes;
    std::erase_if(pending_, [&](const auto& kv) { return kv.second.broker == b; });
    trace("crash broker " + std::to_string(b));
  }

  void restart(int b) {
    broker& br = brokers_[static_cast<size_t>(b)];
    br.alive = true;
    br.restart_at = -1;
    br.epoch = ++epoch_counter_;
    br.next_heartbeat = now_;
    make_replicas(b);
    trace("restart broker " + std::to_string(b) + " epoch " + std::to_string(br.epoch));
  }

  void chaos() {
    const int b = static_cast<int>(pick(0, n_ - 1));
    int leader = parts_[0].leader;
    const int victim = leader != rep::no_leader && chance(0.33) ? leader : b;
    int dead = 0;
    for (const auto& br : brokers_) dead += br.alive ? 0 : 1;
    switch (pick(0, 6)) {
      case 0:
      case 1:
        if (brokers_[static_cast<size_t>(victim)].alive && dead < n_ - 1) crash(victim);
        break;
      case 2:
        if (brokers_[static_cast<size_t>(victim)].alive && !brokers_[static_cast<size_t>(victim)].paused) {
          brokers_[static_cast<size_t>(victim)].paused = true;
          brokers_[static_cast<size_t>(victim)].resume_at = now_ + pick(100, 700);
          ++result_.stats.pauses;
          trace("pause broker " + std::to_string(victim));
        }
        break;
      case 3: {
        const int other = static_cast<int>(pick(0, n_));
        const int to = other == n_ ? controller_id : other;
        if (to != victim) cuts_.insert({std::min(victim, to), std::max(victim, to)});
        trace("cut " + std::to_string(victim) + " from " + std::to_string(to));
        break;
      }
      case 4:
        cuts_.clear();
        trace("heal the network");
        break;
      default: break;
    }
  }

  void heal() {
    cuts_.clear();
    drop_ = 0;
    heal_start_ = now_;
    for (auto& br : brokers_) {
      if (!br.alive && br.restart_at < 0) br.restart_at = now_;
      br.paused = false;
    }
    trace("heal: no more faults");
  }

  // ---- the end ----

  void final_checks() {
    for (int p = 0; p < partitions_; ++p) {
      const auto& part = parts_[static_cast<size_t>(p)];
      if (part.leader == rep::no_leader && !rep::has_eligible_leader(part, view_)) {
        ++result_.stats.offline_at_end;
        continue;
      }
      if (part.leader == rep::no_leader) {
        fail("p" + std::to_string(p) +
             " has an eligible replica but no leader after the heal: " + rep::to_string(part));
        return;
      }
      if (last_ack_at_[static_cast<size_t>(p)] < heal_start_ + 2000) {
        fail("p" + std::to_string(p) + " acknowledged nothing in the heal (" + rep::to_string(part) + ")");
        return;
      }
      const memory_log& log = *brokers_[static_cast<size_t>(part.leader)].logs[static_cast<size_t>(p)];
      for (const auto& [offset, value] : acked_[static_cast<size_t>(p)])
        if (!log.holds(offset) || log.at(offset).value != value) {
          fail("p" + std::to_string(p) + ": acknowledged record " + std::to_string(value) + " at offset " +
               std::to_string(offset) + " is not in the leader's log");
          return;
        }
    }
  }

  replication_sim_options opts_;
  std::mt19937_64 rng_;
  replication_sim_result result_;
  int n_ = 3;
  int partitions_ = 1;
  double drop_ = 0;
  int64_t session_ms_ = 300;
  int64_t now_ = 0;
  int64_t heal_start_ = 0;
  rep::partition_policy policy_;
  rep::replica_options ropts_;
  rep::broker_view view_;
  std::vector<rep::partition_state> parts_;
  std::map<rep::broker_id, int64_t> registered_;
  std::map<rep::broker_id, int64_t> heard_;
  std::map<rep::broker_id, int64_t> last_published_epoch_;
  std::vector<snapshot> snapshots_;
  std::vector<broker> brokers_;
  int64_t epoch_counter_ = 0;
  std::map<std::pair<int64_t, uint64_t>, message> queue_;
  uint64_t seq_ = 0;
  std::set<std::pair<int, int>> cuts_;
  std::map<uint64_t, pending_produce> pending_;
  uint64_t next_produce_ = 1;
  int64_t next_value_ = 1;
  std::vector<int64_t> outstanding_, sent_at_, last_ack_at_;
  std::vector<std::map<int64_t, int64_t>> committed_;  // per partition: offset -> value
  std::vector<std::map<int64_t, int64_t>> acked_;
  std::map<std::pair<int, int32_t>, int> leader_of_;
  // The order of commits and elections, to tell which came first.
  uint64_t order_ = 0;
  std::map<std::pair<int, int32_t>, uint64_t> elected_at_;
  std::vector<std::map<int64_t, uint64_t>> committed_order_;
  std::map<std::tuple<int, int64_t, int, int32_t>, int64_t> hw_seen_;
};

}  // namespace

replication_sim_result run_replication_simulation(const replication_sim_options& opts) {
  return simulation(opts).run();
}

}  // namespace mosaic::sim

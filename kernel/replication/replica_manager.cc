#include <utility>  // before Asio's headers (rpc): Boost 1.74 with C++20

#include "kernel/replication/replica_manager.h"

#include <algorithm>
#include <set>

#include "kernel/base/bytes.h"
#include "kernel/base/log.h"

namespace mosaic::replication {

using adapter::error;

namespace {

// Mosaic's replication frames (kernel/rpc numbers: Raft has 1-7, 20-22).
constexpr int16_t fetch_kind = 30;
constexpr int16_t fetch_response_kind = 31;
constexpr int64_t tick_ms = 10;
constexpr auto controller_period = std::chrono::milliseconds(100);

void encode_fetch(const std::string& topic, int32_t partition, const fetch_request& r, std::vector<uint8_t>& body) {
  byte_writer w(body);
  w.str(topic);
  w.i32(partition);
  w.i32(r.replica);
  w.i64(r.broker_epoch);
  w.i32(r.current_leader_epoch);
  w.i64(r.fetch_offset);
  w.i32(r.last_fetched_epoch);
  w.i32(static_cast<int32_t>(std::min<size_t>(r.max_bytes, INT32_MAX)));
  w.i64(static_cast<int64_t>(r.id));
}

void decode_fetch(std::span<const uint8_t> body, std::string& topic, int32_t& partition, fetch_request& r) {
  byte_reader in(body);
  topic = in.str();
  partition = in.i32();
  r.replica = in.i32();
  r.broker_epoch = in.i64();
  r.current_leader_epoch = in.i32();
  r.fetch_offset = in.i64();
  r.last_fetched_epoch = in.i32();
  const int32_t max = in.i32();
  r.id = static_cast<uint64_t>(in.i64());
  if (!in.done() || max <= 0 || r.fetch_offset < 0) throw truncated_input{};
  r.max_bytes = static_cast<size_t>(max);
}

void encode_response(const std::string& topic, int32_t partition, const fetch_response& r, std::vector<uint8_t>& body) {
  byte_writer w(body);
  w.str(topic);
  w.i32(partition);
  w.i16(static_cast<int16_t>(r.error));
  w.i32(r.leader_epoch);
  w.i64(r.high_watermark);
  w.i64(r.log_start_offset);
  w.u8(r.diverging ? 1 : 0);
  if (r.diverging) {
    w.i32(r.diverging->first);
    w.i64(r.diverging->second);
  }
  w.i64(static_cast<int64_t>(r.id));
  w.bytes(r.records);
}

void decode_response(std::span<const uint8_t> body, std::string& topic, int32_t& partition, fetch_response& r) {
  byte_reader in(body);
  topic = in.str();
  partition = in.i32();
  r.error = static_cast<error>(in.i16());
  r.leader_epoch = in.i32();
  r.high_watermark = in.i64();
  r.log_start_offset = in.i64();
  if (in.u8() != 0) {
    const int32_t epoch = in.i32();
    r.diverging = std::pair{epoch, in.i64()};
  }
  r.id = static_cast<uint64_t>(in.i64());
  r.records = in.bytes();
  if (!in.done()) throw truncated_input{};
}

std::vector<uint8_t> frame_of(int16_t kind, int32_t from, int32_t to, std::span<const uint8_t> body) {
  std::vector<uint8_t> out;
  rpc::write_frame(rpc::frame_header{kind, 0, from, to}, body, out);
  return out;
}

}  // namespace

struct replica_manager::slot {
  std::string topic;
  int32_t partition = 0;
  log::partition_log* log = nullptr;
  std::unique_ptr<partition_replica_log> rlog;
  std::unique_ptr<replica> rep;
  // Held by appends (produce) and by every call into the replica, so a
  // produce never appends while the replica changes role or truncates.
  std::mutex mu;
  // Published under `mu` after each call into the replica.
  bool leading = false;
  int32_t leader_epoch = -1;
  error append_all = error::not_enough_replicas;
  // Endpoint thread only.
  std::vector<held_fetch> held;
  int64_t hw = -1;
  bool reported_error = false;

  void publish() {
    leading = rep->role() == replica_role::leader;
    leader_epoch = rep->leader_epoch();
    append_all = rep->can_append_all();
  }
};

replica_manager::replica_manager(manager_options opts, log::log_manager* logs, metadata::metadata_store* store,
                                 std::shared_mutex* logs_mu)
    : opts_(std::move(opts)), logs_(logs), store_(store), logs_mu_(logs_mu) {}

result<std::unique_ptr<replica_manager>> replica_manager::start(manager_options opts, log::log_manager* logs,
                                                                metadata::metadata_store* store,
                                                                std::shared_mutex* logs_mu) {
  std::unique_ptr<replica_manager> m(new replica_manager(std::move(opts), logs, store, logs_mu));
  rpc::endpoint_options eo;
  eo.node_id = m->opts_.self;
  eo.host = m->opts_.host;
  eo.port = m->opts_.port;
  eo.security = m->opts_.security;
  auto ep = rpc::endpoint::start(eo, [p = m.get()](const rpc::frame& f) { p->on_frame(f); });
  if (!ep) return status(ep.error().code(), "the replication port: " + ep.error().message());
  m->ep_ = std::move(*ep);
  m->ep_->every(std::chrono::milliseconds(tick_ms), [p = m.get()] { p->tick(); });
  m->control_ = std::thread([p = m.get()] { p->control_loop(); });
  store->on_applied(m.get(), [p = m.get()](int64_t) { p->ep_->post([p] { p->refresh(); }); });
  m->ep_->accept_frames();  // on_frame uses ep_
  return m;
}

replica_manager::~replica_manager() { stop(); }

void replica_manager::serve(int16_t first, int16_t last, frame_handler handler) {
  std::lock_guard g(served_mu_);
  served_first_ = first;
  served_last_ = last;
  served_ = std::move(handler);
}

void replica_manager::send(int32_t to, int16_t kind, std::vector<uint8_t> body) {
  ep_->post([this, to, kind, body = std::move(body)] { ep_->send(to, frame_of(kind, opts_.self, to, body)); });
}

void replica_manager::stop() {
  {
    std::lock_guard g(control_mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  store_->on_applied(this, nullptr);
  control_cv_.notify_all();
  if (control_.joinable()) control_.join();
  if (ep_) ep_->stop();
  // The endpoint's thread is gone: what waits is answered from here.
  for (auto& [id, w] : waiters_)
    w.done({error::not_leader_or_follower, "the broker is shutting down; the write may or may not be replicated"});
  waiters_.clear();
}

uint16_t replica_manager::port() const { return ep_->port(); }

int64_t replica_manager::now_ms() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start_).count();
}

void replica_manager::registered(int64_t broker_epoch) {
  ep_->post([this, broker_epoch] {
    broker_epoch_ = broker_epoch;
    refresh();
  });
}

std::shared_ptr<replica_manager::slot> replica_manager::find_slot(const key& k) const {
  std::shared_lock g(slots_mu_);
  auto it = slots_.find(k);
  return it == slots_.end() ? nullptr : it->second;
}

manager_stats replica_manager::stats() const {
  std::lock_guard g(stats_mu_);
  return published_;
}

// ---- metadata ----

void replica_manager::refresh() {
  if (broker_epoch_ < 0) return;
  struct wanted {
    metadata::partition_record rec;
    int min_insync;
  };
  // What this pass looks at: the partitions that changed since the last
  // one (all of them on the first pass, after a snapshot, or when the
  // brokers changed: their epochs go to every replica).
  std::map<key, wanted> want;
  std::vector<std::pair<key, bool>> gone;  // slots to drop, and whether the log goes too
  std::vector<std::string> removed;
  bool brokers_changed = false;
  std::map<int32_t, int64_t> epochs;
  std::map<int32_t, std::pair<std::string, int32_t>> peers;
  bool acting = false;
  store_->read([&](const metadata::image& img) {
    auto me = img.brokers().find(opts_.self);
    acting = me != img.brokers().end() && me->second.epoch == broker_epoch_;
    // A broker acts on its partitions only once the metadata has taken in
    // its current registration (and with it, what its restart changed).
    if (!acting) return;
    const auto changes = img.changes_since(acting_ ? seen_ : 0);
    seen_ = changes.version;
    brokers_changed = changes.brokers;
    removed = changes.removed;
    for (const auto& [id, b] : img.brokers()) {
      epochs[id] = b.epoch;
      if (b.replication_port > 0) peers[id] = {b.host, b.replication_port};
    }
    // Slots change on this (the endpoint) thread only; others read them.
    std::shared_lock g(slots_mu_);
    // Wanted: a replica here and others elsewhere. A slot no longer wanted
    // goes, and its log with it unless this broker still holds a replica
    // (down to one replica, the broker's plain path serves it).
    auto look = [&](const metadata::topic_state& t, size_t p, int min_insync) {
      const auto& pr = t.partitions[p];
      const key k{t.name, pr.partition};
      const bool here = std::find(pr.replicas.begin(), pr.replicas.end(), opts_.self) != pr.replicas.end();
      if (here && pr.replicas.size() > 1)
        want[k] = wanted{pr, min_insync};
      else if (!changes.everything && slots_.count(k) != 0)
        gone.emplace_back(k, !here);
    };
    for (const auto& name : changes.topics) {
      const auto* t = img.find(name);
      if (t == nullptr) continue;
      const int min_insync = policy_for(*t, opts_.controller).min_insync;
      for (size_t p = 0; p < t->partitions.size(); ++p)
        if (t->changed_since(p, changes.since)) look(*t, p, min_insync);
    }
    auto current = [&](const key& k) -> const metadata::partition_record* {
      const auto* t = img.find(k.first);
      if (t == nullptr || k.second < 0 || k.second >= static_cast<int32_t>(t->partitions.size())) return nullptr;
      return &t->partitions[static_cast<size_t>(k.second)];
    };
    if (changes.everything) {
      // Every slot not wanted goes, those of topics that are gone included.
      for (const auto& [k, sl] : slots_) {
        if (want.count(k) != 0) continue;
        const auto* pr = current(k);
        gone.emplace_back(
            k, pr == nullptr || std::find(pr->replicas.begin(), pr->replicas.end(), opts_.self) == pr->replicas.end());
      }
      return;
    }
    if (!changes.brokers) return;
    // New broker epochs: every replica here hears of them.
    for (const auto& [k, sl] : slots_)
      if (want.count(k) == 0 && current(k) != nullptr) {
        const auto* t = img.find(k.first);
        look(*t, static_cast<size_t>(k.second), policy_for(*t, opts_.controller).min_insync);
      }
  });
  if (!acting) return;
  acting_ = true;
  if (brokers_changed)
    for (const auto& [id, addr] : peers) {
      auto it = peers_.find(id);
      if (it != peers_.end() && it->second == addr) continue;
      peers_[id] = addr;
      if (id != opts_.self) ep_->set_peer(id, addr.first, static_cast<uint16_t>(addr.second));
    }
  // Removed topics first (a name made again comes back below, anew).
  for (const auto& topic : removed) {
    std::vector<key> of_topic;
    {
      std::shared_lock g(slots_mu_);
      for (auto it = slots_.lower_bound({topic, INT32_MIN}); it != slots_.end() && it->first.first == topic; ++it)
        of_topic.push_back(it->first);
    }
    for (const auto& k : of_topic) drop(k, true);
  }
  const int64_t now = now_ms();
  for (const auto& [k, w] : want) {
    std::shared_ptr<slot> s = find_slot(k);
    if (!s) {
      s = std::make_shared<slot>();
      s->topic = k.first;
      s->partition = k.second;
      {
        std::unique_lock logs_lock(*logs_mu_);
        const auto config = opts_.log_config(k.first);
        auto opened = logs_->create(k.first, k.second, config);
        if (!opened) {
          log::error("replica {}-{}: cannot open its log: {}", k.first, k.second, opened.error().message());
          continue;
        }
        logs_->set_config(k.first, k.second, config);
        s->log = *opened;
      }
      s->rlog = std::make_unique<partition_replica_log>(*s->log);
      replica_options ro;
      ro.self = opts_.self;
      ro.replica_lag_time_max_ms = opts_.lag_time_max_ms;
      ro.min_insync = w.min_insync;
      ro.fetch_max_bytes = opts_.fetch_max_bytes;
      ro.fetch_timeout_ms = opts_.fetch_wait_max_ms + 1500;
      s->rep = std::make_unique<replica>(ro, *s->rlog);
      s->rep->set_broker_epoch(broker_epoch_);
      std::unique_lock g(slots_mu_);
      slots_[k] = s;
    }
    {
      std::lock_guard g(s->mu);
      s->rep->set_min_insync(w.min_insync);
      s->rep->apply(to_state(w.rec), epochs, now);
      s->publish();
    }
    drain(s);
  }
  for (const auto& [k, remove_log] : gone) drop(k, remove_log);
  if (opts_.on_metadata) opts_.on_metadata();
}

void replica_manager::drop(const key& k, bool remove_log) {
  std::shared_ptr<slot> s;
  {
    std::unique_lock g(slots_mu_);
    auto it = slots_.find(k);
    if (it == slots_.end()) return;
    s = it->second;
    slots_.erase(it);
  }
  {
    std::lock_guard g(s->mu);
    s->leading = false;
  }
  for (auto it = waiters_.begin(); it != waiters_.end();) {
    if (it->second.s != s) {
      ++it;
      continue;
    }
    it->second.done({error::not_leader_or_follower, "this broker no longer holds the partition"});
    it = waiters_.erase(it);
  }
  if (!remove_log) return;
  std::unique_lock logs_lock(*logs_mu_);
  if (auto st = logs_->remove(k.first, k.second); !st)
    log::warn("deleting replica {}-{}: {}", k.first, k.second, st.message());
}

// ---- frames ----

void replica_manager::on_frame(const rpc::frame& f) {
  if (f.header.version != 0) {
    ++stats_.bad_frames;
    return;
  }
  if (f.header.kind == fetch_kind) return on_fetch_request(f);
  if (f.header.kind == fetch_response_kind) return on_fetch_response(f);
  {
    std::lock_guard g(served_mu_);
    if (served_ && f.header.kind >= served_first_ && f.header.kind <= served_last_)
      return served_(f.header.from, f.header.kind, f.body);
  }
  ++stats_.bad_frames;
}

void replica_manager::on_fetch_request(const rpc::frame& f) {
  std::string topic;
  int32_t partition = 0;
  fetch_request req;
  try {
    decode_fetch(f.body, topic, partition, req);
  } catch (const truncated_input&) {
    ++stats_.bad_frames;
    log::warn("replication: dropped a malformed fetch from node {}", f.header.from);
    return;
  }
  if (req.replica != f.header.from) {
    ++stats_.bad_frames;
    log::warn("replication: a fetch from node {} names replica {}; dropped", f.header.from, req.replica);
    return;
  }
  std::shared_ptr<slot> s = find_slot({topic, partition});
  if (!s || !acting_) {
    fetch_response resp;
    resp.error = error::not_leader_or_follower;
    resp.leader_epoch = req.current_leader_epoch;
    resp.id = req.id;
    send_response(f.header.from, topic, partition, resp);
    return;
  }
  held_fetch h{f.header.from, req, now_ms() + opts_.fetch_wait_max_ms};
  fetch_response resp;
  {
    std::lock_guard g(s->mu);
    resp = s->rep->on_fetch(req, now_ms());
    s->publish();
  }
  // Nothing new for it: hold the fetch until an append or its deadline
  // (it is answered anew then).
  if (opts_.fetch_wait_max_ms > 0 && s->leading && resp.error == error::none && !resp.diverging &&
      resp.records.empty()) {
    std::erase_if(s->held, [&](const held_fetch& o) { return o.from == h.from; });  // superseded
    s->held.push_back(h);
  } else {
    send_response(h.from, s->topic, s->partition, resp);
  }
  drain(s);
}

void replica_manager::answer(const std::shared_ptr<slot>& s, const held_fetch& h) {
  fetch_response resp;
  {
    std::lock_guard g(s->mu);
    resp = s->rep->on_fetch(h.req, now_ms());
    s->publish();
  }
  send_response(h.from, s->topic, s->partition, resp);
}

void replica_manager::send_response(int32_t to, const std::string& topic, int32_t partition,
                                    const fetch_response& resp) {
  if (resp.error != error::none) ++stats_.fetches_refused;
  ++stats_.fetches_answered;
  std::vector<uint8_t> body;
  encode_response(topic, partition, resp, body);
  ep_->send(to, frame_of(fetch_response_kind, opts_.self, to, body));
}

void replica_manager::answer_held(const std::shared_ptr<slot>& s) {
  if (s->held.empty()) return;
  const int64_t now = now_ms();
  const int64_t leo = s->log->log_end_offset();
  std::vector<held_fetch> due;
  for (auto it = s->held.begin(); it != s->held.end();) {
    if (it->deadline <= now || leo > it->req.fetch_offset || !s->leading) {
      due.push_back(*it);
      it = s->held.erase(it);
    } else {
      ++it;
    }
  }
  for (const auto& h : due) answer(s, h);
}

void replica_manager::on_fetch_response(const rpc::frame& f) {
  std::string topic;
  int32_t partition = 0;
  fetch_response resp;
  try {
    decode_response(f.body, topic, partition, resp);
  } catch (const truncated_input&) {
    ++stats_.bad_frames;
    log::warn("replication: dropped a malformed fetch response from node {}", f.header.from);
    return;
  }
  std::shared_ptr<slot> s = find_slot({topic, partition});
  if (!s) return;
  {
    std::lock_guard g(s->mu);
    if (s->rep->state().leader != f.header.from) {
      ++stats_.bad_frames;  // not from its leader: ignored
      return;
    }
    s->rep->on_fetch_response(resp, now_ms());
    s->publish();
  }
  drain(s);
}

void replica_manager::tick() {
  std::vector<std::shared_ptr<slot>> all;
  {
    std::shared_lock g(slots_mu_);
    for (const auto& [k, s] : slots_) all.push_back(s);
  }
  const int64_t now = now_ms();
  size_t leading = 0;
  for (const auto& s : all) {
    {
      std::lock_guard g(s->mu);
      s->rep->tick(now);
      s->publish();
      leading += s->leading ? 1 : 0;
    }
    answer_held(s);
    drain(s);
  }
  std::lock_guard g(stats_mu_);
  published_ = stats_;
  published_.controller_proposals = controller_proposals_.load(std::memory_order_relaxed);
  published_.replicas = all.size();
  published_.leading = leading;
}

void replica_manager::drain(const std::shared_ptr<slot>& s) {
  replica_outbox out;
  int64_t hw = 0;
  bool leading = false;
  int32_t leader = no_leader;
  {
    std::lock_guard g(s->mu);
    out = s->rep->take();
    s->publish();
    hw = s->rep->high_watermark();
    leading = s->leading;
    leader = s->rep->state().leader;
  }
  if (!s->rlog->error().ok() && !s->reported_error) {
    s->reported_error = true;
    log::error("replica {}-{}: its log failed: {}", s->topic, s->partition, s->rlog->error().message());
  }
  if (out.fetch && leader != no_leader && leader != opts_.self) {
    std::vector<uint8_t> body;
    encode_fetch(s->topic, s->partition, *out.fetch, body);
    ep_->send(leader, frame_of(fetch_kind, opts_.self, leader, body));
    ++stats_.fetches_sent;
  }
  if (out.alter_isr) {
    ++stats_.isr_proposals;
    control([this, k = key{s->topic, s->partition}, req = *out.alter_isr] { propose_isr(k, req); });
  }
  for (const auto& d : out.produced) {
    auto it = waiters_.find(d.id);
    if (it == waiters_.end()) continue;
    if (d.error == error::none)
      it->second.done(it->second.result);
    else
      it->second.done({d.error, d.error == error::request_timed_out
                                    ? "the in-sync replicas did not all have the batch in time"
                                    : "the batch was written, but not to min.insync.replicas replicas"});
    waiters_.erase(it);
  }
  if (hw != s->hw) {
    if (leading)
      s->log->advance_high_watermark(hw);
    else
      s->log->set_high_watermark(std::min(hw, s->log->log_end_offset()));
    const bool up = hw > s->hw;
    s->hw = hw;
    if (up && opts_.on_high_watermark) opts_.on_high_watermark(s->topic, s->partition);
  }
}

// ---- produce ----

std::optional<int32_t> replica_manager::leading(const std::string& topic, int32_t partition) const {
  std::shared_ptr<slot> s = find_slot({topic, partition});
  if (!s) return std::nullopt;
  std::lock_guard g(s->mu);
  if (!s->leading) return std::nullopt;
  return s->leader_epoch;
}

void replica_manager::produce(const std::string& topic, int32_t partition, int16_t acks, int32_t timeout_ms,
                              const append_fn& append, std::function<void(adapter::produce_result)> done) {
  std::shared_ptr<slot> s = find_slot({topic, partition});
  if (!s) return done({error::not_leader_or_follower, "This server does not host this topic-partition."});
  std::pair<adapter::produce_result, int64_t> r;
  {
    std::lock_guard g(s->mu);
    if (!s->leading) return done({error::not_leader_or_follower, "this broker does not lead the partition now"});
    if (acks == -1 && s->append_all != error::none)
      return done({s->append_all, "the partition has fewer in-sync replicas than min.insync.replicas"});
    r = append(s->leader_epoch);
  }
  if (r.first.code != error::none) return done(r.first);
  if (acks != -1) {
    ep_->post([this, s] {
      {
        std::lock_guard g(s->mu);
        s->rep->on_appended(now_ms());
      }
      answer_held(s);
      drain(s);
    });
    return done(r.first);
  }
  ep_->post([this, s, r, timeout_ms, done = std::move(done)]() mutable {
    const uint64_t id = next_wait_++;
    waiters_[id] = waiter{s, r.first, std::move(done)};
    {
      std::lock_guard g(s->mu);
      const int64_t now = now_ms();
      s->rep->on_appended(now);
      s->rep->await(id, r.second, now + std::max<int64_t>(timeout_ms, 0));
    }
    answer_held(s);
    drain(s);
  });
}

// ---- the control thread: AlterPartition and the active controller ----

void replica_manager::control(std::function<void()> task) {
  {
    std::lock_guard g(control_mu_);
    if (stopping_) return;
    control_tasks_.push_back(std::move(task));
  }
  control_cv_.notify_one();
}

void replica_manager::control_loop() {
  auto next_pass = std::chrono::steady_clock::now();
  for (;;) {
    std::function<void()> task;
    {
      std::unique_lock g(control_mu_);
      control_cv_.wait_until(g, next_pass, [&] { return stopping_ || !control_tasks_.empty(); });
      if (stopping_) return;
      if (!control_tasks_.empty()) {
        task = std::move(control_tasks_.front());
        control_tasks_.pop_front();
      }
    }
    try {
      if (task) {
        task();
      } else {
        next_pass = std::chrono::steady_clock::now() + controller_period;
        controller_pass();
      }
    } catch (const std::exception& e) {
      log::error("replication control thread: a task failed ({}); the node carries on", e.what());
    }
  }
}

void replica_manager::propose_isr(key k, alter_isr_request req) {
  std::optional<metadata::record> change_rec;
  error answer = store_->read([&](const metadata::image& img) {
    const metadata::topic_state* t = img.find(k.first);
    if (!t || k.second < 0 || static_cast<size_t>(k.second) >= t->partitions.size())
      return error::unknown_topic_or_partition;
    const auto& p = t->partitions[static_cast<size_t>(k.second)];
    change c = on_alter_isr(to_state(p), req.leader, req.leader_epoch, req.partition_epoch, req.isr, view_of(img),
                            policy_for(*t, opts_.controller));
    if (c.error != error::none) return c.error;
    if (!c.changed) return error::invalid_request;  // nothing to change: the replica reconsiders
    c.next.partition_epoch = p.partition_epoch + 1;
    change_rec = metadata::partition_change_record{to_record(p, c.next)};
    return error::none;
  });
  if (change_rec) {
    auto r = store_->propose({*change_rec}, std::chrono::milliseconds(opts_.session_timeout_ms));
    if (!r)
      answer = r.error().code() == errc::already_exists || r.error().code() == errc::not_found
                   ? error::invalid_update_version
                   : error::request_timed_out;
  }
  ep_->post([this, k, answer] {
    std::shared_ptr<slot> s = find_slot(k);
    if (!s) return;
    {
      std::lock_guard g(s->mu);
      s->rep->on_alter_isr_response(answer);
    }
    drain(s);
  });
}

void replica_manager::controller_pass() {
  raft::server* q = store_->log().quorum();
  if (q == nullptr || q->leader() != opts_.self) {
    quorum_term_ = 0;
    return;
  }
  const raft::quorum_state st = q->describe();
  if (st.current != raft::role::leader) return;
  const auto now = std::chrono::steady_clock::now();
  if (st.term != quorum_term_) {
    quorum_term_ = st.term;
    leading_since_ = now;
    next_rebalance_ = now + std::chrono::milliseconds(opts_.rebalance_interval_ms);
  }
  // Each node's last answer to the Raft leader is its heartbeat. A node
  // this leader has not heard from yet (an observer that has not
  // announced itself since the election) is unknown until a session has
  // passed.
  contact c;
  c.self = opts_.self;
  std::set<int32_t> listed;
  for (const auto& p : st.peers) {
    listed.insert(p.id);
    if (p.since_contact_ms < opts_.session_timeout_ms) c.heard.insert(p.id);
  }
  const bool settled = now - leading_since_ >= std::chrono::milliseconds(opts_.session_timeout_ms);
  const bool rebalance = opts_.auto_rebalance && settled && now >= next_rebalance_;
  if (rebalance) next_rebalance_ = now + std::chrono::milliseconds(opts_.rebalance_interval_ms);
  auto records = store_->read([&](const metadata::image& img) {
    if (!settled)
      for (const auto& [id, b] : img.brokers())
        if (!listed.count(id)) c.unknown.insert(id);
    // What reconcile decides follows from the image and who answers: when
    // neither changed since a pass that decided nothing, this one would
    // not either (and it reads every partition).
    const quiet now_seen{img.version(), c.heard, c.unknown};
    if (!rebalance && quiet_ && *quiet_ == now_seen) return std::vector<metadata::record>{};
    auto out = reconcile(img, c, opts_.controller);
    if (out.empty())
      quiet_ = now_seen;
    else
      quiet_.reset();
    // Preferred leaders lead again, in a pass of their own (never mixed
    // with fencing, whose changes name the same partition epochs).
    if (out.empty() && rebalance) {
      out = preferred_elections(img, opts_.imbalance_percent, opts_.controller);
      if (!out.empty()) log::info("controller: {} preferred leader election(s) to balance leadership", out.size());
    }
    return out;
  });
  if (records.empty()) return;
  // Each decision is logged once, not again on every pass that proposes
  // it while it has not applied.
  for (const auto& r : records)
    if (const auto* f = std::get_if<metadata::broker_fence_record>(&r)) {
      if (!logged_.insert({f->id, f->epoch, f->fenced}).second) continue;
      log::info("controller: {} broker {} (broker epoch {}){}", f->fenced ? "fencing" : "unfencing", f->id, f->epoch,
                f->fenced ? ": not heard from within broker.session.timeout.ms" : "");
    }
  if (logged_.size() > 4096) logged_.clear();
  controller_proposals_.fetch_add(1, std::memory_order_relaxed);
  auto r = store_->propose(records, std::chrono::milliseconds(opts_.session_timeout_ms));
  if (!r) log::debug("controller: the change was not applied ({}); the next pass decides again", r.error().message());
}

void replica_manager::controlled_shutdown(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (int attempt = 0; attempt < 5 && std::chrono::steady_clock::now() < deadline; ++attempt) {
    size_t moved = 0;
    auto records = store_->read([&](const metadata::image& img) {
      auto me = img.brokers().find(opts_.self);
      if (me == img.brokers().end() || me->second.fenced) return std::vector<metadata::record>{};
      // Alone, there is nowhere to move leadership to.
      bool others = false;
      for (const auto& [id, b] : img.brokers()) others = others || (id != opts_.self && !b.fenced);
      if (!others) return std::vector<metadata::record>{};
      auto out = controlled_shutdown_records(img, opts_.self, me->second.epoch, opts_.controller);
      moved = out.size() - 1;
      return out;
    });
    if (records.empty()) return;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    auto r = store_->propose(records, std::max(left, std::chrono::milliseconds(1)));
    if (r) {
      log::info("controlled shutdown: fenced, {} partition(s) handed over", moved);
      return;
    }
    if (r.error().code() != errc::already_exists && r.error().code() != errc::not_found) {
      log::warn("controlled shutdown: {} (stopping anyway)", r.error().message());
      return;
    }
  }
}

}  // namespace mosaic::replication

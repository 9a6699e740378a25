#include "kernel/groups/share_coordinator.h"

#include <algorithm>

#include "kernel/base/bytes.h"
#include "kernel/base/log.h"
#include "kernel/groups/follow_leadership.h"
#include "kernel/groups/group_partition.h"

namespace mosaic::groups {

using adapter::error;
using clock = std::chrono::steady_clock;

std::string share_coordinator_key(const sp_key& k) {
  return k.group + ":" + base64url(k.topic) + ":" + std::to_string(k.partition);
}

// ---- the coordinator ---------------------------------------------------------

struct share_coordinator::shard {
  int32_t epoch = -1;
  share_state_log log;  // detached: records queued for the next flush
  std::map<sp_key, persisted_share> states;
  std::vector<pending_answer> after_write;  // answered once the queued records are replicated
};

// What a partition's log held, decoded on the loader thread.
struct share_coordinator::loaded {
  std::map<sp_key, persisted_share> states;
  std::set<sp_key> legacy;  // written by an earlier version (no epochs, updates laid over)
  std::map<std::string, std::pair<int32_t, share_overrides>> groups;
  size_t records = 0;
  status st;
};

share_coordinator::share_coordinator(group_io* io, const config::group_settings* cfg, post_fn post)
    : io_(io), cfg_(cfg), post_(std::move(post)), loader_(1, [](const std::exception& e) {
        log::error("share coordinator: a partition load failed: {}", e.what());
      }) {}

share_coordinator::~share_coordinator() { stop(); }

void share_coordinator::stop() { loader_.stop(); }

int32_t share_coordinator::partition_of(const sp_key& k) const {
  return partition_for(share_coordinator_key(k), partitions_);
}

error share_coordinator::gate(int32_t p) {
  if (shards_.count(p)) return error::none;
  if (loading_.count(p)) return error::coordinator_load_in_progress;
  sync_leadership();  // a leadership change may not have been looked at yet
  if (shards_.count(p)) return error::none;
  return loading_.count(p) ? error::coordinator_load_in_progress : error::not_coordinator;
}

void share_coordinator::serve(const share_state_request& req, share_state_done done) {
  if (partitions_ == 0) sync_leadership();
  if (partitions_ == 0) return done({error::not_coordinator, std::nullopt});
  const int32_t p = partition_of(req.key);
  if (auto e = gate(p); e != error::none) return done({e, std::nullopt});
  shard& sh = shards_.at(p);
  auto it = sh.states.find(req.key);
  if (it == sh.states.end()) {
    // A state of an earlier version's log, not yet in its own partition.
    auto s = strays_.find(req.key);
    if (s != strays_.end() && shards_.count(s->second.first)) {
      adopt_strays(sh, p);
      it = sh.states.find(req.key);
    } else if (req.op == share_state_op::read && !loading_.empty()) {
      // Another partition's load may still bring it (as a stray).
      return done({error::coordinator_load_in_progress, std::nullopt});
    }
  }
  persisted_share* cur = it == sh.states.end() ? nullptr : &it->second;
  if (cur && req.leader_epoch >= 0 && req.leader_epoch < cur->leader_epoch)
    return done({error::fenced_leader_epoch, std::nullopt});
  share_state_answer a;
  switch (req.op) {
    case share_state_op::read:
      if (cur == nullptr) return done(std::move(a));
      if (req.leader_epoch <= cur->leader_epoch) {
        a.state = *cur;
        return done(std::move(a));
      }
      cur->leader_epoch = req.leader_epoch;  // taken up: older leaders are fenced from now on
      a.state = *cur;
      break;
    case share_state_op::write: {
      if ((cur ? cur->state_epoch : 0) != req.state_epoch) return done({error::fenced_state_epoch, std::nullopt});
      const int32_t leader = std::max(req.leader_epoch, cur ? cur->leader_epoch : -1);
      cur = &sh.states[req.key];
      *cur = req.state;
      cur->leader_epoch = leader;
      cur->state_epoch = req.state_epoch;
      break;
    }
    case share_state_op::replace: {
      const int32_t next_state = cur ? cur->state_epoch + 1 : 1;
      const int32_t leader = cur ? cur->leader_epoch : -1;
      cur = &sh.states[req.key];
      *cur = req.state;
      cur->leader_epoch = leader;
      cur->state_epoch = next_state;
      a.state = *cur;
      break;
    }
    case share_state_op::erase:
      if (cur == nullptr) return done(std::move(a));
      sh.log.delete_partition(req.key);
      sh.states.erase(req.key);
      sh.after_write.push_back({std::move(done), std::move(a)});
      return;
  }
  sh.log.put_state(req.key, cur->start, cur->runs, cur->leader_epoch, cur->state_epoch);
  sh.after_write.push_back({std::move(done), std::move(a)});
}

void share_coordinator::flush() {
  for (auto& [p, sh] : shards_) {
    if (!sh.log.pending()) continue;
    auto batch = std::make_shared<std::vector<uint8_t>>(sh.log.take());
    auto answers = std::exchange(sh.after_write, {});
    io_->write(
        share_state_topic_name, p, batch, static_cast<int32_t>(cfg_->offsets_commit_timeout_ms),
        [post = post_, this, p = p, answers = std::make_shared<std::vector<pending_answer>>(std::move(answers))](
            const adapter::produce_result& r) { post([this, p, r, answers] { written(p, r, std::move(*answers)); }); },
        sh.epoch);
  }
}

void share_coordinator::written(int32_t p, const adapter::produce_result& r, std::vector<pending_answer> answers) {
  for (auto& a : answers) {
    if (r.code != error::none) a.answer = {r.code == error::request_timed_out ? r.code : error::not_coordinator, {}};
    a.done(std::move(a.answer));
  }
  if (r.code == error::none) return;
  log::warn("share coordinator: writing partition {} of {} failed: {}", p, share_state_topic_name, r.message);
  // What is in memory may be ahead of the log: read it again.
  unload(p, "its records could not be written");
  sync_leadership();
}

void share_coordinator::sync_leadership() {
  if (partitions_ == 0) {
    auto t = io_->find_topic(share_state_topic_name);
    if (!t) return;
    partitions_ = static_cast<int32_t>(t->partitions.size());
  }
  const auto changes = follow_leadership(io_->led_partitions(share_state_topic_name), shards_, loading_);
  for (int32_t p : changes.drop) unload(p, "its leadership moved");
  for (const auto& [p, epoch] : changes.load) start_load(p, epoch);
}

void share_coordinator::start_load(int32_t p, int32_t epoch) {
  const uint64_t id = next_id_++;
  loading_[p] = {epoch, id};
  loader_.post([this, p, epoch, id] {
    auto l = std::make_shared<loaded>();
    share_state_log reader;
    share_state_log::visitor v;
    v.group = [&](const std::string& g, int32_t ge, share_overrides c, const std::set<uuid>&) {
      l->groups[g] = {ge, std::move(c)};
    };
    v.group_deleted = [&](const std::string& g) { l->groups.erase(g); };
    v.snapshot = [&](const sp_key& k, int64_t start, std::vector<state_batch> runs, int32_t le, int32_t se) {
      auto& s = l->states[k];
      s.start = start;
      s.runs = std::move(runs);
      s.leader_epoch = le;
      s.state_epoch = std::max(se, 0);
      if (se < 0) l->legacy.insert(k);
    };
    v.update = [&](const sp_key& k, int64_t start, std::vector<state_batch> runs) {
      // Earlier versions laid updates over the snapshot.
      auto it = l->states.find(k);
      if (it == l->states.end()) return;
      share_partition sp(it->second.start);
      sp.restore(it->second.start, it->second.runs);
      sp.restore(start, runs);
      it->second.start = sp.start_offset();
      it->second.runs = sp.snapshot();
      l->legacy.insert(k);
    };
    v.partition_deleted = [&](const sp_key& k) { l->states.erase(k); };
    auto n = reader.read(
        [&](const std::function<bool(std::span<const uint8_t>)>& chunk) {
          return io_->scan(share_state_topic_name, p, chunk);
        },
        v);
    if (n)
      l->records = *n;
    else
      l->st = n.error();
    post_([this, p, epoch, id, l] { install(p, epoch, id, l); });
  });
}

void share_coordinator::install(int32_t p, int32_t epoch, uint64_t id, const std::shared_ptr<loaded>& l) {
  auto it = loading_.find(p);
  if (it == loading_.end() || it->second.id != id) return;  // leadership moved meanwhile
  loading_.erase(it);
  if (!l->st) {
    log::error("share coordinator: partition {} of {} cannot be loaded: {}", p, share_state_topic_name,
               l->st.message());
    return;  // tried again at the next check
  }
  shard& sh = shards_[p];
  sh.epoch = epoch;
  for (auto& [k, s] : l->states) {
    if (partition_of(k) != p) {
      strays_[k] = {p, std::move(s)};
      continue;
    }
    // An earlier version's snapshot and updates, written again as one
    // state: compaction keeps one record per key, and would keep only the
    // last update.
    if (l->legacy.count(k)) sh.log.put_state(k, s.start, s.runs, s.leader_epoch, s.state_epoch);
    sh.states.emplace(k, std::move(s));
  }
  if (on_legacy_group)
    for (auto& [g, v] : l->groups) on_legacy_group(g, v.first, std::move(v.second));
  log::at(l->records > 0 ? log::level::info : log::level::debug, "mosaic",
          "share coordinator: partition {} loaded at leader epoch {}: {} share-partition(s) ({} records)", p, epoch,
          sh.states.size(), l->records);
}

void share_coordinator::adopt_strays(shard& home, int32_t p) {
  for (auto it = strays_.begin(); it != strays_.end();) {
    auto from = shards_.find(it->second.first);
    if (partition_of(it->first) != p || from == shards_.end()) {
      ++it;
      continue;
    }
    from->second.log.delete_partition(it->first);
    if (!home.states.count(it->first)) {
      const auto& s = it->second.second;
      home.log.put_state(it->first, s.start, s.runs, s.leader_epoch, s.state_epoch);
      home.states.emplace(it->first, s);
      log::info("share coordinator: share-partition {} moved from partition {} to its own, {}",
                share_coordinator_key(it->first), it->second.first, p);
    }
    it = strays_.erase(it);
  }
}

void share_coordinator::unload(int32_t p, const char* why) {
  auto it = shards_.find(p);
  if (it == shards_.end()) return;
  auto answers = std::exchange(it->second.after_write, {});
  const size_t n = it->second.states.size();
  shards_.erase(it);
  std::erase_if(strays_, [p](const auto& kv) { return kv.second.first == p; });
  log::at(n > 0 ? log::level::info : log::level::debug, "mosaic",
          "share coordinator: partition {} of {} unloaded ({}): {} share-partition(s) dropped", p,
          share_state_topic_name, why, n);
  // Answered once the partition is gone: an answer may call in again (a
  // share-partition leader writing its state once more), which must find
  // it unloaded, not be queued behind writes that will never be made.
  for (auto& a : answers) a.done({error::not_coordinator, std::nullopt});
}

// ---- the frames ----------------------------------------------------------------

namespace share_state_wire {

namespace {
void put_state(byte_writer& w, const persisted_share& s) {
  w.i64(s.start);
  w.i32(s.leader_epoch);
  w.i32(s.state_epoch);
  write_runs(w, s.runs);
}

persisted_share get_state(byte_reader& r) {
  persisted_share s;
  s.start = r.i64();
  s.leader_epoch = r.i32();
  s.state_epoch = r.i32();
  s.runs = read_runs(r);
  return s;
}
}  // namespace

std::vector<uint8_t> encode_request(uint64_t id, const share_state_request& req) {
  std::vector<uint8_t> out;
  byte_writer w(out);
  w.i64(static_cast<int64_t>(id));
  w.u8(static_cast<uint8_t>(req.op));
  w.str(req.key.group);
  w.id(req.key.topic);
  w.i32(req.key.partition);
  w.i32(req.leader_epoch);
  w.i32(req.state_epoch);
  put_state(w, req.state);
  return out;
}

std::vector<uint8_t> encode_answer(uint64_t id, const share_state_answer& a) {
  std::vector<uint8_t> out;
  byte_writer w(out);
  w.i64(static_cast<int64_t>(id));
  w.i16(static_cast<int16_t>(a.code));
  w.u8(a.state ? 1 : 0);
  if (a.state) put_state(w, *a.state);
  return out;
}

share_state_request decode_request(std::span<const uint8_t> body, uint64_t& id) {
  byte_reader r(body);
  share_state_request req;
  id = static_cast<uint64_t>(r.i64());
  const uint8_t op = r.u8();
  if (op > static_cast<uint8_t>(share_state_op::erase)) throw truncated_input{};
  req.op = static_cast<share_state_op>(op);
  req.key.group = r.str();
  req.key.topic = r.id();
  req.key.partition = r.i32();
  req.leader_epoch = r.i32();
  req.state_epoch = r.i32();
  req.state = get_state(r);
  return req;
}

share_state_answer decode_answer(std::span<const uint8_t> body, uint64_t& id) {
  byte_reader r(body);
  share_state_answer a;
  id = static_cast<uint64_t>(r.i64());
  a.code = static_cast<error>(r.i16());
  if (r.u8() != 0) a.state = get_state(r);
  return a;
}

}  // namespace share_state_wire

// ---- the client ------------------------------------------------------------------

share_state_client::share_state_client(group_io* io, const config::group_settings* cfg, int32_t self,
                                       share_coordinator* local)
    : io_(io), cfg_(cfg), self_(self), local_(local) {}

std::optional<adapter::topic_info> share_state_client::state_topic(std::string& why) {
  if (auto t = io_->find_topic(share_state_topic_name)) return t;
  group_io::internal_topic want;
  want.name = share_state_topic_name;
  want.partitions = static_cast<int32_t>(cfg_->share_state_topic_partitions);
  want.replication_factor = static_cast<int32_t>(cfg_->share_state_topic_replication_factor);
  want.configs = {{"cleanup.policy", "compact"}, {"segment.bytes", "104857600"}, {"max.message.bytes", "16777216"}};
  auto made = io_->ensure_internal_topic(want);
  if (!made) {
    why = made.error().message();
    return std::nullopt;
  }
  return *made;
}

void share_state_client::call(const share_state_request& req, share_state_done done) {
  std::string why;
  auto t = state_topic(why);
  if (!t || t->partitions.empty()) return done({error::coordinator_not_available, std::nullopt});
  const auto p =
      static_cast<size_t>(partition_for(share_coordinator_key(req.key), static_cast<int32_t>(t->partitions.size())));
  const int32_t leader = t->partitions[p].leader;
  if (leader < 0) return done({error::coordinator_not_available, std::nullopt});
  if (leader == self_) return local_->serve(req, std::move(done));
  const uint64_t id = next_id_++;
  waiting_[id] = {std::move(done), clock::now() + std::chrono::milliseconds(cfg_->offsets_commit_timeout_ms + 1000),
                  leader, p};
  io_->send_frame(leader, share_state_wire::request_kind, share_state_wire::encode_request(id, req));
}

void share_state_client::on_frame(int32_t from, int16_t kind, std::span<const uint8_t> body) {
  uint64_t id = 0;
  try {
    if (kind == share_state_wire::request_kind) {
      auto req = share_state_wire::decode_request(body, id);
      local_->serve(req, [this, from, id](const share_state_answer& a) {
        io_->send_frame(from, share_state_wire::answer_kind, share_state_wire::encode_answer(id, a));
      });
      return;
    }
    if (kind != share_state_wire::answer_kind) return;
    auto a = share_state_wire::decode_answer(body, id);
    auto it = waiting_.find(id);
    if (it == waiting_.end() || it->second.to != from) return;  // timed out already, or not the broker asked
    auto done = std::move(it->second.done);
    waiting_.erase(it);
    done(std::move(a));
  } catch (const truncated_input&) {
    log::warn("share coordinator: a malformed frame (kind {}) from broker {}; dropped", kind, from);
  }
}

void share_state_client::expire(clock::time_point now) {
  if (waiting_.empty()) return;
  const auto t = io_->find_topic(share_state_topic_name);
  auto moved = [&](const waiting& w) {
    return t && w.partition < t->partitions.size() && t->partitions[w.partition].leader != w.to;
  };
  for (auto it = waiting_.begin(); it != waiting_.end();) {
    const bool late = it->second.deadline <= now;
    if (!late && !moved(it->second)) {
      ++it;
      continue;
    }
    auto done = std::move(it->second.done);
    it = waiting_.erase(it);
    done({late ? error::request_timed_out : error::not_coordinator, std::nullopt});
  }
}

}  // namespace mosaic::groups

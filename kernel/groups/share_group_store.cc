#include "kernel/groups/share_group_store.h"

#include "kernel/base/bytes.h"
#include "kernel/base/log.h"
#include "kernel/groups/follow_leadership.h"
#include "kernel/groups/group_partition.h"

namespace mosaic::groups {

using adapter::error;

namespace {
// A failed write is made again after this long (the partition still led).
constexpr std::chrono::seconds rewrite_delay{1};

// A group's record (none: its deletion) queued in a partition's log.
void put_record(keyed_log& log, const std::string& group, const std::optional<stored_share_group>& g) {
  log.put(share_group_key(group), g ? std::optional(encode_share_group(*g)) : std::nullopt);
}
}  // namespace

// What a partition's log held, decoded on the loader thread.
struct share_group_store::loaded {
  std::map<std::string, stored_share_group> groups;
  size_t records = 0;
  status st;
};

share_group_store::share_group_store(group_io* io, int32_t commit_timeout_ms, post_fn post)
    : io_(io),
      commit_timeout_ms_(commit_timeout_ms),
      post_(std::move(post)),
      loader_(1, [](const std::exception& e) { log::error("share groups: a partition load failed: {}", e.what()); }) {}

share_group_store::~share_group_store() { stop(); }

void share_group_store::stop() { loader_.stop(); }

int32_t share_group_store::partition_of(const std::string& group) const {
  return partitions_ == 0 ? -1 : partition_for(group, partitions_);
}

error share_group_store::gate(const std::string& group) {
  auto known = [&]() -> std::optional<error> {
    const int32_t p = partition_of(group);
    if (shards_.count(p)) return error::none;
    if (loading_.count(p)) return error::coordinator_load_in_progress;
    return std::nullopt;
  };
  if (auto e = known()) return *e;
  sync_leadership();  // a leadership change may not have been looked at yet
  if (auto e = known()) return *e;
  return error::not_coordinator;
}

void share_group_store::queue(const std::string& group, std::optional<stored_share_group> g) {
  auto it = shards_.find(partition_of(group));
  if (it == shards_.end()) return;  // not served here: nothing to write
  shard& sh = it->second;
  put_record(sh.log, group, g);
  sh.latest[group] = std::move(g);
  sh.unwritten[group] = ++sh.seq;
}

void share_group_store::put(const std::string& group, const stored_share_group& g) { queue(group, g); }

void share_group_store::erase(const std::string& group) { queue(group, std::nullopt); }

void share_group_store::flush(clock::time_point now, const std::function<std::function<void()>()>& waiter) {
  for (auto& [p, sh] : shards_) {
    if (sh.log.pending() && waiter) sh.waiting.push_back(waiter());
    if (sh.writing) continue;  // one write out per partition: records land in order
    if (sh.retry_at != clock::time_point::max()) {
      if (sh.retry_at > now) continue;  // a failed write's records wait for its retry
      // A write failed: what it carried is made again from the latest records.
      sh.retry_at = clock::time_point::max();
      for (const auto& [g, seq] : sh.unwritten) put_record(sh.log, g, sh.latest.at(g));
    }
    if (sh.log.pending()) write(p, sh);
  }
}

void share_group_store::write(int32_t p, shard& sh) {
  auto batch = std::make_shared<std::vector<uint8_t>>(sh.log.take());
  sh.writing = true;
  io_->write(
      offsets_topic_name, p, batch, commit_timeout_ms_,
      [post = post_, this, p, epoch = sh.epoch, carried = sh.unwritten,
       waiters = std::exchange(sh.waiting, {})](const adapter::produce_result& r) {
        post([this, p, epoch, carried, ok = r.code == error::none, why = r.message, waiters] {
          written(p, epoch, carried, ok, why, waiters);
        });
      },
      sh.epoch);
}

void share_group_store::written(int32_t p, int32_t epoch, const std::map<std::string, uint64_t>& carried, bool ok,
                                const std::string& why, const std::vector<std::function<void()>>& waiters) {
  for (const auto& w : waiters) w();
  auto it = shards_.find(p);
  if (it == shards_.end() || it->second.epoch != epoch) return;  // dropped meanwhile: the next leader's now
  shard& sh = it->second;
  sh.writing = false;
  if (ok) {
    // A group put again since stays to be written.
    for (const auto& [g, seq] : carried) {
      auto u = sh.unwritten.find(g);
      if (u == sh.unwritten.end() || u->second != seq) continue;
      sh.unwritten.erase(u);
      if (auto l = sh.latest.find(g); l != sh.latest.end() && !l->second) sh.latest.erase(l);
    }
    return;
  }
  log::warn("share groups: writing partition {} of {} failed ({}); written again in {} s", p, offsets_topic_name, why,
            rewrite_delay.count());
  sh.retry_at = clock::now() + rewrite_delay;
}

void share_group_store::sync_leadership() {
  if (partitions_ == 0) {
    auto t = io_->find_topic(offsets_topic_name);
    if (!t || t->partitions.empty()) return;
    partitions_ = static_cast<int32_t>(t->partitions.size());
  }
  const auto changes = follow_leadership(io_->led_partitions(offsets_topic_name), shards_, loading_);
  for (int32_t p : changes.drop) unload(p, "its leadership moved");
  for (const auto& [p, epoch] : changes.load) start_load(p, epoch);
}

void share_group_store::start_load(int32_t p, int32_t epoch) {
  const uint64_t id = next_id_++;
  loading_[p] = {epoch, id};
  loader_.post([this, p, epoch, id] {
    auto l = std::make_shared<loaded>();
    keyed_log reader("share-group records");
    auto n = reader.read(
        [&](const std::function<bool(std::span<const uint8_t>)>& chunk) {
          return io_->scan(offsets_topic_name, p, chunk);
        },
        [&](std::span<const uint8_t> key, const std::optional<std::span<const uint8_t>>& value) {
          std::string group;
          std::optional<stored_share_group> g;
          if (!read_share_group(key, value, group, g)) return;  // a consumer group's or an offset
          if (g)
            l->groups[group] = std::move(*g);
          else
            l->groups.erase(group);
        });
    if (n)
      l->records = *n;
    else
      l->st = n.error();
    post_([this, p, epoch, id, l] { install(p, epoch, id, l); });
  });
}

void share_group_store::install(int32_t p, int32_t epoch, uint64_t id, const std::shared_ptr<loaded>& l) {
  auto it = loading_.find(p);
  if (it == loading_.end() || it->second.id != id) return;  // leadership moved meanwhile
  loading_.erase(it);
  if (!l->st) {
    log::error("share groups: partition {} of {} cannot be loaded: {}", p, offsets_topic_name, l->st.message());
    return;  // tried again at the next check
  }
  shard& sh = shards_[p];
  sh.epoch = epoch;
  for (const auto& [g, v] : l->groups) sh.latest[g] = v;
  if (!l->groups.empty())
    log::info("share groups: partition {} of {} loaded at leader epoch {}: {} share group(s)", p, offsets_topic_name,
              epoch, l->groups.size());
  if (on_load) on_load(p, std::move(l->groups));
}

void share_group_store::unload(int32_t p, const char* why) {
  auto it = shards_.find(p);
  if (it == shards_.end()) return;
  const size_t n = it->second.latest.size();
  auto waiters = std::exchange(it->second.waiting, {});
  shards_.erase(it);
  for (const auto& w : waiters) w();
  if (n > 0)
    log::info("share groups: partition {} of {} unloaded ({}): its share groups are served elsewhere", p,
              offsets_topic_name, why);
  if (on_unload) on_unload(p);
}

}  // namespace mosaic::groups

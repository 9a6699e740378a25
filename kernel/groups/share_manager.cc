#include "kernel/groups/share_manager.h"

#include <algorithm>
#include <future>

#include "kernel/base/log.h"
#include "kernel/groups/group_partition.h"
#include "kernel/groups/share_manager_impl.h"

namespace mosaic::groups {

using adapter::error;
using std::chrono::milliseconds;

void share_manager::impl::begin_round(clock::time_point t) {
  ctx.now = t;
  ctx.wall_ms = wall_ms();
  policy_ref = opts.policy ? opts.policy() : nullptr;
  led.clear();
  refresh_configs();
}

share_group* share_manager::impl::get_or_create(const std::string& id) {
  auto it = groups.find(id);
  if (it != groups.end()) return &it->second;
  if (!claim(id)) return nullptr;
  auto& g = groups.try_emplace(id, id, cfg()).first->second;
  g.set_configs(io().group_configs(id), cfg());
  return &g;
}

share_group* share_manager::impl::find_group(const std::string& id) {
  auto it = groups.find(id);
  return it == groups.end() ? nullptr : &it->second;
}

uint32_t share_manager::impl::holder_of(const std::string& member) {
  auto [it, fresh] = holders.emplace(member, next_holder);
  if (fresh) ++next_holder;
  return it->second;
}

std::optional<int32_t> share_manager::impl::leads(const std::string& topic, int32_t partition) {
  auto it = led.find(topic);
  if (it == led.end()) it = led.emplace(topic, io().led_partitions(topic)).first;
  auto p = it->second.find(partition);
  if (p == it->second.end()) return std::nullopt;
  return p->second;
}

void share_manager::impl::call_in_round(const share_state_request& req,
                                        std::function<void(const share_state_answer&)> then) {
  auto b = barrier;
  ++b->left;
  client.call(req, [b, then = std::move(then)](const share_state_answer& a) {
    if (then) then(a);
    b->one_done(a.code == error::none);
  });
}

void share_manager::impl::end_round() {
  bool durable = true;
  if (slog.pending()) {
    if (auto st = slog.flush(); !st) {
      log::error("share groups: writing the share-group log failed: {}", st.message());
      durable = false;
    }
  }
  auto b = std::exchange(barrier, std::make_shared<round_barrier>());
  b->ok = durable;
  b->answers = std::exchange(after_flush, {});
  // Taken out first: an answer run by a write answered at once (a round
  // before this one) may mark a share-partition for the next round.
  for (const auto& k : std::exchange(dirty, {})) {
    auto it = parts.find(k);
    if (it == parts.end()) continue;
    ++b->left;
    it->second.next_write.push_back(b);
    if (!it->second.writing) start_write(k, it->second);
  }
  // The group records of the round (a member joined, say): answered once
  // replicated, as Kafka's coordinator answers.
  store.flush(now(), [&b] {
    ++b->left;
    return [b] { b->waited(); };
  });
  b->sealed = true;
  b->finish();
  coord.flush();
  if (durable && slog.wants_compaction()) {
    if (auto st = slog.compact([this] { write_all(); }); !st)
      log::error("share groups: compacting the share-group log failed: {}", st.message());
  }
}

void share_manager::impl::start_write(const sp_key& k, sp_entry& e) {
  (void)e.part.take_changes();
  share_state_request req;
  req.op = share_state_op::write;
  req.key = k;
  req.leader_epoch = e.leader_epoch;
  req.state_epoch = e.state_epoch;
  req.state.start = e.part.start_offset();
  req.state.runs = e.part.snapshot();
  e.writing = true;
  client.call(req, [this, k, epoch = e.leader_epoch, rounds = std::exchange(e.next_write, {})](
                       const share_state_answer& a) { state_written(k, epoch, a, rounds); });
}

void share_manager::impl::state_written(const sp_key& k, int32_t leader_epoch, const share_state_answer& a,
                                        const std::vector<std::shared_ptr<round_barrier>>& rounds) {
  auto it = parts.find(k);
  const bool same = it != parts.end() && it->second.leader_epoch == leader_epoch;
  if (same) {
    // Before the answers run: they may take acquisitions back (withhold).
    it->second.writing = false;
    if (a.code == error::none && it->second.unsynced()) {
      it->second.rewrite_delay = milliseconds(0);
      it->second.rewrite_at = clock::time_point::max();
      wake = true;  // records can be handed out again
    }
  }
  for (auto& b : rounds) b->key_done(k, a.code == error::none && same);
  it = parts.find(k);
  if (!same || it == parts.end()) return;  // dropped (or read again) meanwhile
  sp_entry& e = it->second;
  if (a.code == error::fenced_leader_epoch || a.code == error::fenced_state_epoch) {
    unload(k, a.code == error::fenced_leader_epoch ? "a newer leader took it up" : "its offsets were altered");
    return;
  }
  if (a.code != error::none) {
    e.rewrite_delay = std::clamp(e.rewrite_delay * 2, first_rewrite_delay, last_rewrite_delay);
    e.rewrite_at = now() + e.rewrite_delay;
    log::debug("share groups: writing the state of {} failed ({}); written again in {} ms", share_coordinator_key(k),
               adapter::error_name(a.code), e.rewrite_delay.count());
  }
  if (!e.next_write.empty() && !e.writing) start_write(k, e);
}

void share_manager::impl::start_read(const sp_key& k, const std::string& topic, int32_t epoch) {
  reading[k] = epoch;
  share_state_request req;
  req.op = share_state_op::read;
  req.key = k;
  req.leader_epoch = epoch;
  client.call(req, [this, k, topic, epoch](const share_state_answer& a) { state_read(k, topic, epoch, a); });
}

void share_manager::impl::state_read(const sp_key& k, const std::string& topic, int32_t epoch,
                                     const share_state_answer& a) {
  auto r = reading.find(k);
  if (r == reading.end() || r->second != epoch) return;
  reading.erase(r);
  wake = true;  // parked fetches try again (and read again if this failed)
  if (a.code != error::none) {
    log::debug("share groups: reading the state of {} failed ({})", share_coordinator_key(k),
               adapter::error_name(a.code));
    read_again.insert(k);
    return;
  }
  if (parts.count(k) || leads(topic, k.partition) != epoch) return;
  if (!a.state) {
    (void)initialise(k, topic, epoch);
    first_start.erase(k);
    return;
  }
  first_start.erase(k);
  auto& e = parts[k];
  e.topic = topic;
  e.leader_epoch = epoch;
  e.state_epoch = a.state->state_epoch;
  e.part = share_partition(a.state->start);
  e.part.restore(a.state->start, a.state->runs, mono_ms(now()), conf(k.group).limits.lock_ms);
  log::info("share groups: share-partition {} {}-{} taken up at leader epoch {}: start {}, {} in flight", k.group,
            topic, k.partition, epoch, e.part.start_offset(), e.part.end_offset() - e.part.start_offset());
  if (!e.part.archiving(conf(k.group).limits).empty()) retry_dead_letters = true;  // resume dead letters cut short
}

std::optional<int64_t> share_manager::impl::reset_start(const sp_key& k, const std::string& topic) {
  auto found = io().list_offset(topic, k.partition, conf(k.group).reset_timestamp(ctx.wall_ms));
  if (found.code != error::none) return std::nullopt;
  int64_t start = found.offset;
  if (start < 0) start = io().list_offset(topic, k.partition, adapter::latest_timestamp).offset;
  return std::max<int64_t>(start, 0);
}

sp_entry* share_manager::impl::initialise(const sp_key& k, const std::string& topic, int32_t epoch) {
  auto first = first_start.find(k);
  auto start = first != first_start.end() ? std::optional<int64_t>(first->second) : reset_start(k, topic);
  if (!start) return nullptr;
  auto& e = parts[k];
  e.part = share_partition(*start);
  e.topic = topic;
  e.leader_epoch = epoch;
  dirty.insert(k);
  return &e;
}

void share_manager::impl::follow_leadership() {
  std::vector<sp_key> gone;
  for (const auto& [k, e] : parts)
    if (leads(e.topic, k.partition) != e.leader_epoch) gone.push_back(k);
  for (const auto& k : gone) unload(k, "its partition's leadership moved");
}

void share_manager::impl::unload(const sp_key& k, const char* why) {
  auto it = parts.find(k);
  if (it == parts.end()) return;
  log::info("share groups: share-partition {} {}-{} dropped here ({})", k.group, it->second.topic, k.partition, why);
  auto rounds = std::exchange(it->second.next_write, {});
  dirty.erase(k);
  parts.erase(it);
  for (auto& b : rounds) b->key_done(k, false);
}

std::map<sp_key, sp_entry>::iterator share_manager::impl::erase_state(std::map<sp_key, sp_entry>::iterator it) {
  share_state_request req;
  req.op = share_state_op::erase;
  req.key = it->first;
  call_in_round(req);
  const sp_key k = it->first;
  auto rounds = std::exchange(it->second.next_write, {});
  dirty.erase(k);
  auto next = parts.erase(it);
  for (auto& b : rounds) b->key_done(k, false);
  return next;
}

void share_manager::impl::write_all() {
  for (const auto& [id, g] : local_groups) slog.put_group(id, g.epoch, {}, g.topics);
}

share_state_log::visitor share_manager::impl::loader() {
  share_state_log::visitor v;
  v.group = [this](const std::string& id, int32_t epoch, share_overrides configs, std::set<uuid> topics) {
    local_groups[id] = {epoch, std::move(topics)};
    local_configs[id] = std::move(configs);  // an earlier version's (they are in the metadata now): moved by restored()
  };
  v.group_deleted = [this](const std::string& id) {
    local_groups.erase(id);
    local_configs.erase(id);
  };
  // Share-partition states are the share coordinator's (this log holds
  // groups only).
  v.snapshot = [](const sp_key&, int64_t, const std::vector<state_batch>&, int32_t, int32_t) {};
  v.update = [](const sp_key&, int64_t, const std::vector<state_batch>&) {};
  v.partition_deleted = [](const sp_key&) {};
  return v;
}

void share_manager::impl::legacy_group(const std::string& id, int32_t epoch, const share_overrides& configs) {
  migrate_configs(id, configs);
  if (share_group* g = find_group(id)) {  // served here already
    if (epoch > g->epoch) {
      g->epoch = epoch;
      put_group(*g);
    }
    return;
  }
  auto& l = local_groups[id];
  l.epoch = std::max(l.epoch, epoch);
  slog.put_group(id, l.epoch, {}, l.topics);
}

void share_manager::impl::groups_loaded(int32_t p, std::map<std::string, stored_share_group> stored) {
  // This broker's own records of the partition's groups: moved in (merged
  // with what is there: the higher epoch, every topic).
  for (auto it = local_groups.begin(); it != local_groups.end();) {
    if (store.partition_of(it->first) != p) {
      ++it;
      continue;
    }
    auto& into = stored[it->first];
    const stored_share_group before = into;
    into.epoch = std::max(into.epoch, it->second.epoch);
    into.topics.insert(it->second.topics.begin(), it->second.topics.end());
    if (into.epoch != before.epoch || into.topics != before.topics) {
      store.put(it->first, into);
      log::info("share group {}: its record moved from this broker's log into {}-{}", it->first, offsets_topic_name, p);
    }
    slog.delete_group(it->first);
    it = local_groups.erase(it);
  }
  for (auto& [id, rec] : stored) {
    if (!claim(id)) {
      log::warn("share group {}: its id is a consumer group's here; its share-group record is left alone", id);
      continue;
    }
    auto& g = groups.try_emplace(id, id, cfg()).first->second;
    g.epoch = std::max(g.epoch, rec.epoch);
    g.state_topics.insert(rec.topics.begin(), rec.topics.end());
    g.set_configs(io().group_configs(id), cfg());
  }
}

void share_manager::impl::groups_unloaded(int32_t p) {
  for (auto it = groups.begin(); it != groups.end();) {
    if (store.partition_of(it->first) != p) {
      ++it;
      continue;
    }
    log::info("share group {}: coordinated elsewhere now; its {} member(s) join again there", it->first,
              it->second.members.size());
    if (opts.kinds) opts.kinds->release(it->first, group_kinds::kind::share);
    it = groups.erase(it);
  }
}

void share_manager::impl::migrate_configs(const std::string& id, const share_overrides& configs) {
  if (configs.empty() || !io().group_configs(id).empty()) return;
  std::vector<std::pair<std::string, std::optional<std::string>>> changes(configs.begin(), configs.end());
  if (auto st = io().set_group_configs(id, changes); !st)
    log::warn("share group {}: its configs could not be moved into the metadata: {}", id, st.message());
  else
    log::info("share group {}: {} config(s) moved into the metadata", id, configs.size());
}

void share_manager::impl::refresh_configs() {
  const uint64_t v = io().config_version();
  if (v == config_seen) return;
  config_seen = v;
  config_cache.clear();
  for (auto& [id, g] : groups) g.set_configs(io().group_configs(id), cfg());
}

const share_group_config& share_manager::impl::conf(const std::string& group) {
  if (const share_group* g = find_group(group)) return g->config;
  auto it = config_cache.find(group);
  if (it == config_cache.end())
    it = config_cache.emplace(group, resolve_share_configs(io().group_configs(group), cfg())).first;
  return it->second;
}

share_inputs share_manager::impl::inputs() {
  return {[this](const std::string& name) { return io().find_topic(name); }, assign};
}

void share_manager::impl::apply(share_group& g, const share_effects& fx) {
  bool persist = fx.persist;
  for (const auto& [topic, partition] : fx.assigned) {
    error code = error::none;
    (void)share_state({g.id, topic, partition}, code);
    if (g.state_topics.insert(topic).second) persist = true;
  }
  if (persist) put_group(g);
}

void share_manager::impl::remove_member(share_group& g, const std::string& member, bool leaving) {
  share_effects fx;
  auto in = inputs();
  const uint32_t holder = g.remove(member, ctx, in, fx);
  if (holder == 0) return;
  if (!leaving || !sessions.close_by(g.id, member, now() + leaving_session_grace)) {
    release_member(g.id, holder);
    sessions.close(g.id, member);
  }
  apply(g, fx);
}

void share_manager::impl::release_member(const std::string& group, uint32_t holder) {
  const auto& lim = conf(group).limits;
  const auto& pol = policy();
  for (auto it = parts.lower_bound({group, {}, INT32_MIN}); it != parts.end() && it->first.group == group; ++it) {
    if (it->second.part.release_holder(holder, mono_ms(now()), lim, pol) > 0) {
      dirty.insert(it->first);
      collect_dead_letters(it->first, it->second);
      wake = true;
    }
  }
}

adapter::share_heartbeat_result share_manager::impl::heartbeat(const adapter::share_heartbeat_request& req) {
  if (auto refused = share_group::check_heartbeat(req)) return *refused;
  adapter::share_heartbeat_result r;
  r.member_id = req.member_id;
  if (auto e = coordinates(req.group_id); e != error::none) {
    r.code = e;
    r.message = "this broker does not coordinate share group " + req.group_id + " now";
    return r;
  }
  share_group* g = find_group(req.group_id);
  if (req.member_epoch == -1) {
    if (g != nullptr) remove_member(*g, req.member_id, /*leaving=*/true);
    r.member_epoch = -1;
    return r;
  }
  if (g == nullptr && req.member_epoch == 0) {
    g = get_or_create(req.group_id);
    if (g == nullptr) {
      r.code = error::group_id_not_found;
      r.message = "group " + req.group_id + " is not a share group";
      return r;
    }
  }
  if (g == nullptr) {
    r.code = error::unknown_member_id;
    r.message = "member " + req.member_id + " is not in share group " + req.group_id;
    return r;
  }
  share_effects fx;
  auto in = inputs();
  r = g->heartbeat(req, holder_of(req.member_id), ctx, in, fx);
  apply(*g, fx);
  return r;
}

void share_manager::impl::forget_deleted_topics() {
  std::map<uuid, bool> exists;
  for (auto it = parts.begin(); it != parts.end();) {
    auto [e, fresh] = exists.emplace(it->first.topic, false);
    if (fresh) e->second = io().find_topic(it->first.topic).has_value();
    if (e->second || it->second.part.count().acquired > 0) {
      ++it;
      continue;
    }
    it = erase_state(it);
  }
}

void share_manager::impl::expire() {
  if (++ticks % 500 == 0) forget_deleted_topics();  // every 10 s at the default tick
  client.expire(now());
  for (const auto& k : std::exchange(read_again, {})) {
    error code = error::none;
    (void)share_state(k, code);
  }
  for (auto& d : std::exchange(deferred, {})) describe_offsets(std::move(d.reqs), std::move(d.done), d.until);
  if (now() >= next_leadership_check) {
    next_leadership_check = now() + std::chrono::seconds(1);
    follow_leadership();
    coord.sync_leadership();
    store.sync_leadership();
  }
  const int64_t now_ms = mono_ms(now());
  if (!waiting.empty()) wake = true;  // parked fetches that no broker fetch watches are retried here
  for (auto& [k, e] : parts) {
    if (e.rewrite_at <= now()) {  // a failed write's turn to be tried again
      e.rewrite_at = clock::time_point::max();
      dirty.insert(k);
    }
    if (e.part.next_deadline() > now_ms) continue;
    if (e.part.expire(now_ms, conf(k.group).limits, policy()) > 0) {
      dirty.insert(k);
      collect_dead_letters(k, e);
    }
    wake = true;  // a lock ended or a redelivery delay passed
  }
  for (auto& [id, g] : groups)
    for (const auto& mid : g.expired(ctx)) {
      log::info("share group {}: member {} sent no heartbeat in time; removed", id, mid);
      remove_member(g, mid);
    }
  // Sessions whose member left and whose final request never came.
  for (const auto& [group, member] : sessions.overdue(now())) close_session(group, member);
  if (retry_dead_letters && dead_letters_in_flight == 0 && now() >= next_dead_letter_retry) {
    retry_dead_letters = false;
    next_dead_letter_retry = now() + std::chrono::seconds(1);
    for (auto& [k, e] : parts) {
      auto pending = e.part.archiving(conf(k.group).limits);
      if (!pending.empty()) send_dead_letters(k, e, pending);
    }
  }
}

adapter::share_partition_offsets share_manager::impl::describe_partition(const sp_key& k, const sp_entry& e) {
  adapter::share_partition_offsets o;
  o.topic = e.topic;
  o.partition = k.partition;
  o.start_offset = e.part.start_offset();
  o.end_offset = e.part.end_offset();
  const auto c = e.part.count();
  o.in_flight = c.in_flight;
  o.available = c.available;
  o.acquired = c.acquired;
  o.acknowledged = c.acknowledged;
  o.archived = c.archived;
  o.redelivered = e.part.total().redelivered;
  o.rejected = e.part.total().rejected;
  o.dead_lettered = e.part.total().dead_lettered;
  if (!e.topic.empty()) {
    auto hw = io().list_offset(e.topic, k.partition, adapter::latest_timestamp);
    if (hw.code == error::none) o.lag = std::max<int64_t>(0, hw.offset - o.start_offset - c.acknowledged - c.archived);
  }
  return o;
}

bool share_manager::impl::states_pending(const std::vector<adapter::share_offsets_request>& reqs) {
  return std::any_of(reqs.begin(), reqs.end(), [&](const adapter::share_offsets_request& req) {
    const sp_key first{req.group_id, {}, INT32_MIN};
    auto r = reading.lower_bound(first);
    if (r != reading.end() && r->first.group == req.group_id) return true;
    // A read that failed (its coordinator still loading, say) is asked
    // again at the next tick: pending too.
    auto a = read_again.lower_bound(first);
    return a != read_again.end() && a->group == req.group_id;
  });
}

void share_manager::impl::read_states(const std::vector<adapter::share_offsets_request>& reqs) {
  for (const auto& req : reqs)
    if (const share_group* group = find_group(req.group_id)) {
      adapter::share_offsets_result unused;
      for (const auto& [t, p] : offsets_wanted(req, *group, unused)) {
        error code = error::none;
        (void)share_state({req.group_id, t.id, p}, code);
      }
    }
}

std::vector<std::pair<adapter::topic_info, int32_t>> share_manager::impl::offsets_wanted(
    const adapter::share_offsets_request& req, const share_group& group, adapter::share_offsets_result& r) {
  // The named partitions, or those of the topics the group was assigned,
  // its members consume, or that are led here.
  std::vector<std::pair<adapter::topic_info, int32_t>> want;
  if (req.topics) {
    for (const auto& [name, ps] : *req.topics) {
      auto t = io().find_topic(name);
      for (int32_t p : ps) {
        if (t && p >= 0 && p < static_cast<int32_t>(t->partitions.size())) {
          want.emplace_back(*t, p);
          continue;
        }
        adapter::share_partition_offsets o;
        o.topic = name;
        o.partition = p;
        o.code = error::unknown_topic_or_partition;
        r.partitions.push_back(std::move(o));
      }
    }
    return want;
  }
  forget_deleted_topics();  // a deleted topic is not reported
  std::set<uuid> ids = group.state_topics;
  for (const auto& [id, n] : group.topics_seen) ids.insert(id);
  for (auto it = parts.lower_bound({req.group_id, {}, INT32_MIN}); it != parts.end() && it->first.group == req.group_id;
       ++it)
    ids.insert(it->first.topic);
  for (const auto& id : ids)
    if (auto t = io().find_topic(id))
      for (int32_t p = 0; p < static_cast<int32_t>(t->partitions.size()); ++p) want.emplace_back(*t, p);
  return want;
}

void share_manager::impl::describe_offsets(std::vector<adapter::share_offsets_request> reqs,
                                           std::function<void(std::vector<adapter::share_offsets_result>)> done,
                                           clock::time_point until) {
  if (until == clock::time_point{}) {
    until = now() + state_wait;
    read_states(reqs);
  }
  if (now() < until && states_pending(reqs)) {
    // A state being read here (the group's partitions were just assigned)
    // is described once read.
    deferred.push_back({std::move(reqs), std::move(done), until});
    return;
  }
  // Share-partitions led elsewhere are read from their coordinators; the
  // answer goes once every read is back.
  struct gather {
    std::vector<adapter::share_offsets_result> out;
    size_t left = 1;
    std::function<void(std::vector<adapter::share_offsets_result>)> done;
    void one() {
      if (--left == 0) done(std::move(out));
    }
  };
  auto g = std::make_shared<gather>();
  g->done = std::move(done);
  g->out.resize(reqs.size());
  for (size_t i = 0; i < reqs.size(); ++i) {
    const auto& req = reqs[i];
    auto& r = g->out[i];
    r.group_id = req.group_id;
    const error served = coordinates(req.group_id);
    const share_group* group = served == error::none ? find_group(req.group_id) : nullptr;
    if (group == nullptr) {
      r.code = served == error::none ? error::group_id_not_found : served;
      r.message = "no share group " + req.group_id + " here";
      continue;
    }
    auto want = offsets_wanted(req, *group, r);
    for (const auto& [t, p] : want) {
      const size_t at = r.partitions.size();
      sp_key k{req.group_id, t.id, p};
      error code = error::none;
      if (sp_entry* e = share_state(k, code)) {  // led here
        r.partitions.push_back(describe_partition(k, *e));
        continue;
      }
      adapter::share_partition_offsets o;  // no state: start offset -1
      o.topic = t.name;
      o.partition = p;
      r.partitions.push_back(std::move(o));
      share_state_request rq;
      rq.op = share_state_op::read;
      rq.key = k;
      ++g->left;
      client.call(rq, [this, g, i, at, k, name = t.name, listed = req.topics.has_value()](share_state_answer a) {
        auto& slot = g->out[i].partitions[at];
        if (a.code != error::none) {
          slot.code = a.code;
        } else if (a.state) {
          sp_entry e;
          e.topic = name;
          e.part = share_partition(a.state->start);
          e.part.restore(a.state->start, a.state->runs);
          slot = describe_partition(k, e);
        } else if (!listed) {
          slot.partition = -1;  // never consumed: left out
        }
        g->one();
      });
    }
  }
  // Partitions of all-topics requests with no state are left out.
  auto finish = g->done;
  g->done = [finish](std::vector<adapter::share_offsets_result> out) {
    for (auto& r : out) std::erase_if(r.partitions, [](const auto& o) { return o.partition < 0; });
    finish(std::move(out));
  };
  g->one();
}

adapter::share_group_description share_manager::impl::describe(const std::string& id) {
  adapter::share_group_description d;
  d.group_id = id;
  if (auto e = coordinates(id); e != error::none) {
    d.code = e;
    d.state = "Dead";
    return d;
  }
  if (const share_group* g = find_group(id)) return g->describe(cfg());
  d.code = error::group_id_not_found;
  d.message = "no share group " + id;
  d.state = "Dead";
  return d;
}

adapter::share_offsets_result share_manager::impl::alter_offsets(
    const std::string& group_id, std::vector<adapter::share_partition_offsets> offsets) {
  adapter::share_offsets_result r;
  r.group_id = group_id;
  if (auto e = coordinates(group_id); e != error::none) {
    r.code = e;
    return r;
  }
  share_group* g = find_group(group_id);
  if (g != nullptr && g->has_members()) {
    r.code = error::non_empty_group;
    r.message = "share group " + group_id + " has members; offsets can be altered only while it is empty";
    return r;
  }
  if (g == nullptr) {
    g = get_or_create(group_id);
    if (g == nullptr) {
      r.code = error::group_id_not_found;
      r.message = "group " + group_id + " is not a share group";
      return r;
    }
    put_group(*g);
  }
  for (auto& o : offsets) {
    auto t = io().find_topic(o.topic);
    if (!t || o.partition < 0 || o.partition >= static_cast<int32_t>(t->partitions.size())) {
      o.code = error::unknown_topic_or_partition;
      r.partitions.push_back(o);
      continue;
    }
    // The state replaced at its coordinator (a new state epoch); a leader
    // holding the old one is fenced at its next write and reads it again.
    sp_key k{group_id, t->id, o.partition};
    if (g->state_topics.insert(t->id).second) put_group(*g);
    unload(k, "its offsets were altered");
    share_state_request req;
    req.op = share_state_op::replace;
    req.key = k;
    req.state.start = std::max<int64_t>(0, o.start_offset);
    call_in_round(req);
    r.partitions.push_back(o);
  }
  return r;
}

std::pair<error, std::vector<std::pair<std::string, error>>> share_manager::impl::delete_offsets(
    const std::string& group_id, const std::vector<std::string>& topics) {
  if (auto e = coordinates(group_id); e != error::none) return {e, {}};
  share_group* g = find_group(group_id);
  if (g == nullptr) return {error::group_id_not_found, {}};
  if (g->has_members()) return {error::non_empty_group, {}};
  std::vector<std::pair<std::string, error>> out;
  for (const auto& name : topics) {
    auto t = io().find_topic(name);
    if (!t) {
      out.emplace_back(name, error::unknown_topic_or_partition);
      continue;
    }
    erase_states(group_id, *t);
    if (g->state_topics.erase(t->id)) put_group(*g);
    out.emplace_back(name, error::none);
  }
  return {error::none, std::move(out)};
}

std::vector<adapter::config_value> share_manager::impl::describe_configs(const std::string& group_id,
                                                                         const std::vector<std::string>& names) {
  const share_overrides set = io().group_configs(group_id);
  std::vector<adapter::config_value> out;
  auto describe = [&](const share_config_field& f) {
    adapter::config_value v;
    v.name = f.name;
    v.value = share_config_value(set, f, cfg());
    v.source = set.count(f.name) ? adapter::config_source::group : adapter::config_source::default_value;
    v.type = f.type;
    v.doc = f.doc;
    out.push_back(std::move(v));
  };
  if (names.empty())
    for (const auto& f : share_config_fields()) describe(f);
  for (const auto& n : names)
    if (const auto* f = find_share_config(n)) describe(*f);
  return out;
}

adapter::outcome share_manager::impl::check_configs(const std::string& group_id,
                                                    const std::vector<adapter::config_change>& changes) const {
  if (group_id.empty()) return adapter::outcome::fail(error::invalid_group_id, "the group id is empty");
  for (const auto& c : changes) {
    if (c.op == adapter::alter_op::append || c.op == adapter::alter_op::subtract)
      return adapter::outcome::fail(error::invalid_config, c.name + " is not a list");
    const auto* f = find_share_config(c.name);
    if (f == nullptr)
      return adapter::outcome::fail(error::invalid_config, "unknown share group config '" + c.name + "'");
    if (c.op == adapter::alter_op::set)
      if (auto why = f->check(cfg(), c.name, c.value.value_or("")); !why.empty())
        return adapter::outcome::fail(error::invalid_config, why);
  }
  return {};
}

error share_manager::impl::remove_group(const std::string& id) {
  // Not served here: the group coordinator answers for the id (it says
  // NOT_COORDINATOR too).
  if (auto e = coordinates(id); e != error::none)
    return e == error::coordinator_load_in_progress ? e : error::group_id_not_found;
  auto git = groups.find(id);
  if (git == groups.end()) return error::group_id_not_found;
  if (git->second.has_members()) return error::non_empty_group;
  std::set<uuid> topics = git->second.state_topics;
  for (const auto& [t, n] : git->second.topics_seen) topics.insert(t);
  for (auto it = parts.lower_bound({id, {}, INT32_MIN}); it != parts.end() && it->first.group == id; ++it)
    topics.insert(it->first.topic);
  for (const auto& t : topics)
    if (auto info = io().find_topic(t)) erase_states(id, *info);
  for (auto it = parts.lower_bound({id, {}, INT32_MIN}); it != parts.end() && it->first.group == id;)
    it = erase_state(it);
  store.erase(id);
  groups.erase(git);
  if (opts.kinds) opts.kinds->release(id, group_kinds::kind::share);
  return error::none;
}

void share_manager::impl::erase_states(const std::string& group, const adapter::topic_info& t) {
  for (int32_t p = 0; p < static_cast<int32_t>(t.partitions.size()); ++p) {
    auto it = parts.find({group, t.id, p});
    if (it != parts.end()) {
      erase_state(it);
      continue;
    }
    share_state_request req;
    req.op = share_state_op::erase;
    req.key = {group, t.id, p};
    call_in_round(req);
  }
}

void share_manager::impl::restored() {
  for (auto& [id, c] : std::exchange(local_configs, {})) migrate_configs(id, c);
  for (auto& [id, v] : opts.legacy_groups) legacy_group(id, v.first, v.second);
  refresh_configs();
}

// ---- the thread ----------------------------------------------------------

share_manager::share_manager(log::partition_log* log, const plugin::assignor_set* assignors, options opts)
    : impl_(std::make_unique<impl>(gate_, log, assignors, std::move(opts))) {
  gate_->target = this;
}

result<std::unique_ptr<share_manager>> share_manager::start(log::partition_log* log,
                                                            const plugin::assignor_set* assignors, options opts) {
  if (opts.settings.share_assignors.empty())
    return status(errc::config, "group.share.assignors: needs at least one assignor");
  for (const auto& name : opts.settings.share_assignors)
    if (!assignors->has(name))
      return status(errc::config,
                    "group.share.assignors names '" + name + "', but no loaded assignor plugin has that name");
  std::unique_ptr<share_manager> m(new share_manager(log, assignors, std::move(opts)));
  auto& s = *m->impl_;
  auto n = s.slog.load(s.loader());
  if (!n) return status(n.error().code(), "reading the share-group log: " + n.error().message());
  s.restored();
  if (!s.local_groups.empty())
    log::info("share groups: {} group(s) in this broker's own log, moved into {} as their partitions load here",
              s.local_groups.size(), offsets_topic_name);
  impl* state = m->impl_.get();
  s.coord.on_legacy_group = [state](const std::string& id, int32_t epoch, const share_overrides& configs) {
    state->legacy_group(id, epoch, configs);
  };
  s.store.on_load = [state](int32_t p, std::map<std::string, stored_share_group> groups) {
    state->groups_loaded(p, std::move(groups));
  };
  s.store.on_unload = [state](int32_t p) { state->groups_unloaded(p); };
  // Share groups are taken up as soon as their partition is led here (the
  // consumer groups of the same partition at the same moment).
  state->opts.io->on_leadership(m.get(),
                                [gate = m->gate_, state] { gate->post([state] { state->store.sync_leadership(); }); });
  state->opts.io->serve_frames(
      share_state_wire::request_kind, share_state_wire::answer_kind,
      [gate = m->gate_, state](int32_t from, int16_t kind, std::vector<uint8_t> body) {
        gate->post([state, from, kind, body = std::move(body)] { state->client.on_frame(from, kind, body); });
      });
  m->loop_.start(state->opts.tick_ms,
                 {[state](clock::time_point now) { state->begin_round(now); }, [state] { state->expire(); },
                  [state] {
                    state->retry_parked(std::exchange(state->wake, false));
                    state->end_round();
                  }});
  if (state->opts.legacy_state) {
    // A share-state log of an earlier version is on disk: the topic takes
    // it over as its partition 0, read at once.
    m->post([state] {
      std::string why;
      if (!state->client.state_topic(why))
        log::warn("share groups: {} cannot be made yet: {}", share_state_topic_name, why);
      state->coord.sync_leadership();
    });
  }
  return m;
}

share_manager::~share_manager() { stop(); }

void share_manager::stop() {
  if (impl_->opts.io != nullptr) {
    impl_->opts.io->serve_frames(0, -1, {});
    impl_->opts.io->on_leadership(this, {});
  }
  {
    std::lock_guard g(gate_->mu);
    gate_->target = nullptr;
  }
  impl_->coord.stop();  // a load under way posts to the loop: it goes first
  impl_->store.stop();
  loop_.stop();
}

// ---- the calls: each posts its work to the manager's thread --------------

void share_manager::heartbeat(adapter::share_heartbeat_request req,
                              std::function<void(adapter::share_heartbeat_result)> done) {
  post([this, req = std::move(req), done = std::move(done)]() mutable {
    auto r = impl_->heartbeat(req);
    impl_->later([r = std::move(r), done = std::move(done)](bool) mutable { done(std::move(r)); });
  });
}

void share_manager::describe(std::vector<std::string> group_ids,
                             std::function<void(std::vector<adapter::share_group_description>)> done) {
  post([this, ids = std::move(group_ids), done = std::move(done)] {
    std::vector<adapter::share_group_description> out;
    for (const auto& id : ids) out.push_back(impl_->describe(id));
    done(std::move(out));
  });
}

void share_manager::fetch(adapter::share_fetch_request req, std::function<void(adapter::share_fetch_result)> done) {
  post([this, req = std::move(req), done = std::move(done)]() mutable {
    impl_->start_fetch(std::move(req), std::move(done));
  });
}

void share_manager::acknowledge(adapter::share_ack_request req, std::function<void(adapter::share_ack_result)> done) {
  post([this, req = std::move(req), done = std::move(done)]() mutable {
    auto r = impl_->acknowledge(req);
    impl_->later_round(
        [group = req.group_id, r = std::move(r), done = std::move(done)](const round_barrier& b) mutable {
          for (auto& p : r.partitions)
            if (p.code == error::none && !b.durable({group, p.topic_id, p.partition}))
              p.code = error::kafka_storage_error;
          done(std::move(r));
        });
  });
}

void share_manager::describe_offsets(std::vector<adapter::share_offsets_request> reqs,
                                     std::function<void(std::vector<adapter::share_offsets_result>)> done) {
  post([this, reqs = std::move(reqs), done = std::move(done)]() mutable {
    impl_->describe_offsets(std::move(reqs), std::move(done));
  });
}

void share_manager::alter_offsets(std::string group_id, std::vector<adapter::share_partition_offsets> offsets,
                                  std::function<void(adapter::share_offsets_result)> done) {
  post([this, group_id = std::move(group_id), offsets = std::move(offsets), done = std::move(done)]() mutable {
    auto r = impl_->alter_offsets(group_id, std::move(offsets));
    if (r.code != error::none) return done(std::move(r));
    impl_->later([r = std::move(r), done = std::move(done)](bool durable) mutable {
      if (!durable) r.code = error::kafka_storage_error;
      done(std::move(r));
    });
  });
}

void share_manager::delete_offsets(
    std::string group_id, std::vector<std::string> topics,
    std::function<void(adapter::error, std::vector<std::pair<std::string, adapter::error>>)> done) {
  post([this, group_id = std::move(group_id), topics = std::move(topics), done = std::move(done)]() mutable {
    auto [e, out] = impl_->delete_offsets(group_id, topics);
    if (e != error::none) return done(e, {});
    impl_->later([out = std::move(out), done = std::move(done)](bool durable) mutable {
      done(durable ? error::none : error::kafka_storage_error, std::move(out));
    });
  });
}

void share_manager::describe_group_configs(
    std::string group_id, std::vector<std::string> names,
    std::function<void(adapter::outcome, std::vector<adapter::config_value>)> done) {
  post([this, group_id = std::move(group_id), names = std::move(names), done = std::move(done)] {
    done({}, impl_->describe_configs(group_id, names));
  });
}

void share_manager::alter_group_configs(std::string group_id, std::vector<adapter::config_change> changes,
                                        bool validate_only, std::function<void(adapter::outcome)> done) {
  // Checked here; the group id claimed on the manager's thread; the configs
  // proposed to the metadata from this (the admin) thread, which may wait
  // for the quorum where the manager's may not.
  auto checked = impl_->check_configs(group_id, changes);
  if (!checked.ok() || validate_only) return done(std::move(checked));
  auto claimed = std::make_shared<std::promise<bool>>();
  auto answer = claimed->get_future();
  post([this, group_id, claimed] {
    // The group is made where it is coordinated; elsewhere only its
    // configs are set (its coordinator checks the id's kind).
    if (impl_->coordinates(group_id) != error::none) return claimed->set_value(true);
    share_group* g = impl_->get_or_create(group_id);
    if (g != nullptr) impl_->put_group(*g);
    claimed->set_value(g != nullptr);
  });
  if (answer.wait_for(std::chrono::seconds(10)) != std::future_status::ready)
    return done(adapter::outcome::fail(error::coordinator_not_available, "the share manager did not answer"));
  if (!answer.get())
    return done(adapter::outcome::fail(error::group_id_not_found, "group " + group_id + " is not a share group"));
  std::vector<std::pair<std::string, std::optional<std::string>>> set;
  set.reserve(changes.size());
  for (const auto& c : changes)
    set.emplace_back(c.name, c.op == adapter::alter_op::set ? std::optional(c.value.value_or("")) : std::nullopt);
  if (auto st = impl_->opts.io->set_group_configs(group_id, set); !st)
    return done(adapter::outcome::fail(error::request_timed_out, "the configs could not be written: " + st.message()));
  done({});
}

void share_manager::list(std::vector<std::string> states,
                         std::function<void(std::vector<adapter::group_listing>)> done) {
  post([this, states = std::move(states), done = std::move(done)] {
    std::vector<adapter::group_listing> all;
    for (const auto& [id, g] : impl_->groups) all.push_back({id, "share", g.state_name(), "share"});
    done(filter_listings(std::move(all), states, {}));
  });
}

void share_manager::remove(std::vector<std::string> group_ids, std::function<void(std::vector<adapter::error>)> done) {
  post([this, ids = std::move(group_ids), done = std::move(done)]() mutable {
    std::vector<error> out;
    for (const auto& id : ids) out.push_back(impl_->remove_group(id));
    impl_->later([out = std::move(out), done = std::move(done)](bool durable) mutable {
      if (!durable)
        for (auto& e : out)
          if (e == error::none) e = error::kafka_storage_error;
      done(std::move(out));
    });
  });
}

}  // namespace mosaic::groups

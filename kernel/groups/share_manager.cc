#include "kernel/groups/share_manager.h"

#include <algorithm>

#include "kernel/base/log.h"
#include "kernel/groups/share_manager_impl.h"

namespace mosaic::groups {

using adapter::error;
using std::chrono::milliseconds;

void share_manager::impl::begin_round(clock::time_point t) {
  ctx.now = t;
  ctx.wall_ms = wall_ms();
  policy_ref = opts.policy ? opts.policy() : nullptr;
}

share_group* share_manager::impl::get_or_create(const std::string& id) {
  auto it = groups.find(id);
  if (it != groups.end()) return &it->second;
  if (!claim(id)) return nullptr;
  return &groups.try_emplace(id, id, cfg()).first->second;
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

void share_manager::impl::put_snapshot(const sp_key& k, sp_entry& e) {
  (void)e.part.take_changes();
  slog.put_snapshot(k, e.part.start_offset(), e.part.snapshot());
  e.updates = 0;
}

void share_manager::impl::write_changes() {
  for (const auto& k : dirty) {
    auto it = parts.find(k);
    if (it == parts.end() || !it->second.part.has_changes()) continue;
    auto& e = it->second;
    if (++e.updates >= opts.updates_per_snapshot) {
      put_snapshot(k, e);
    } else {
      auto runs = e.part.take_changes();
      slog.put_update(k, e.part.start_offset(), runs);
    }
  }
  dirty.clear();
}

std::map<sp_key, sp_entry>::iterator share_manager::impl::erase_state(std::map<sp_key, sp_entry>::iterator it) {
  slog.delete_partition(it->first);
  dirty.erase(it->first);
  return parts.erase(it);
}

void share_manager::impl::write_all() {
  for (const auto& [id, g] : groups) put_group(g);
  for (auto& [k, e] : parts) put_snapshot(k, e);
}

share_state_log::visitor share_manager::impl::loader() {
  share_state_log::visitor v;
  v.group = [this](const std::string& id, int32_t epoch, share_overrides configs) {
    auto& g = groups.try_emplace(id, id, cfg()).first->second;
    g.epoch = epoch;
    g.set_configs(std::move(configs), cfg());
  };
  v.group_deleted = [this](const std::string& id) { groups.erase(id); };
  v.snapshot = [this](const sp_key& k, int64_t start, std::vector<state_batch> runs) {
    auto& e = parts[k];
    e.part = share_partition(start);
    e.part.restore(start, runs);
    e.updates = 0;
  };
  v.update = [this](const sp_key& k, int64_t start, std::vector<state_batch> runs) {
    auto it = parts.find(k);
    if (it == parts.end()) return;  // an update of deleted state
    it->second.part.restore(start, runs);
    ++it->second.updates;
  };
  v.partition_deleted = [this](const sp_key& k) { parts.erase(k); };
  return v;
}

share_inputs share_manager::impl::inputs() {
  return {[this](const std::string& name) { return io().find_topic(name); }, assign};
}

void share_manager::impl::apply(const share_group& g, const share_effects& fx) {
  for (const auto& [topic, partition] : fx.assigned) {
    error code = error::none;
    (void)share_state({g.id, topic, partition}, code);
  }
  if (fx.persist) put_group(g);
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
  const int64_t now_ms = mono_ms(now());
  if (!waiting.empty()) wake = true;  // parked fetches that no broker fetch watches are retried here
  for (auto& [k, e] : parts) {
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
  if (!e.topic.empty()) {
    auto hw = io().list_offset(e.topic, k.partition, adapter::latest_timestamp);
    if (hw.code == error::none) o.lag = std::max<int64_t>(0, hw.offset - o.start_offset - c.acknowledged - c.archived);
  }
  return o;
}

adapter::share_offsets_result share_manager::impl::describe_offsets(const adapter::share_offsets_request& req) {
  adapter::share_offsets_result r;
  r.group_id = req.group_id;
  if (!groups.count(req.group_id)) {
    r.code = error::group_id_not_found;
    r.message = "no share group " + req.group_id;
    return r;
  }
  if (!req.topics) {
    forget_deleted_topics();  // a deleted topic is not reported
    for (auto it = parts.lower_bound({req.group_id, {}, INT32_MIN});
         it != parts.end() && it->first.group == req.group_id; ++it)
      r.partitions.push_back(describe_partition(it->first, it->second));
    return r;
  }
  for (const auto& [name, ps] : *req.topics) {
    auto t = io().find_topic(name);
    for (int32_t p : ps) {
      auto it = t ? parts.find({req.group_id, t->id, p}) : parts.end();
      if (it != parts.end()) {
        r.partitions.push_back(describe_partition(it->first, it->second));
        continue;
      }
      adapter::share_partition_offsets o;  // not initialised: start offset -1
      o.topic = name;
      o.partition = p;
      if (!t) o.code = error::unknown_topic_or_partition;
      r.partitions.push_back(std::move(o));
    }
  }
  return r;
}

adapter::share_group_description share_manager::impl::describe(const std::string& id) {
  if (const share_group* g = find_group(id)) return g->describe(cfg());
  adapter::share_group_description d;
  d.group_id = id;
  d.code = error::group_id_not_found;
  d.message = "no share group " + id;
  d.state = "Dead";
  return d;
}

adapter::share_offsets_result share_manager::impl::alter_offsets(
    const std::string& group_id, std::vector<adapter::share_partition_offsets> offsets) {
  adapter::share_offsets_result r;
  r.group_id = group_id;
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
    sp_key k{group_id, t->id, o.partition};
    error code = error::none;
    sp_entry* e = share_state(k, code);
    if (e) {
      e->part = share_partition(std::max<int64_t>(0, o.start_offset));
      put_snapshot(k, *e);
    } else {
      o.code = code;
    }
    r.partitions.push_back(o);
  }
  return r;
}

std::pair<error, std::vector<std::pair<std::string, error>>> share_manager::impl::delete_offsets(
    const std::string& group_id, const std::vector<std::string>& topics) {
  const share_group* g = find_group(group_id);
  if (g == nullptr) return {error::group_id_not_found, {}};
  if (g->has_members()) return {error::non_empty_group, {}};
  std::vector<std::pair<std::string, error>> out;
  for (const auto& name : topics) {
    auto t = io().find_topic(name);
    if (!t) {
      out.emplace_back(name, error::unknown_topic_or_partition);
      continue;
    }
    for (auto it = parts.lower_bound({group_id, t->id, INT32_MIN});
         it != parts.end() && it->first.group == group_id && it->first.topic == t->id;)
      it = erase_state(it);
    out.emplace_back(name, error::none);
  }
  return {error::none, std::move(out)};
}

std::vector<adapter::config_value> share_manager::impl::describe_configs(const std::string& group_id,
                                                                         const std::vector<std::string>& names) {
  const share_group* g = find_group(group_id);
  static const share_overrides none;
  const share_overrides& set = g ? g->configs : none;
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

adapter::outcome share_manager::impl::alter_configs(const std::string& group_id,
                                                    const std::vector<adapter::config_change>& changes,
                                                    bool validate_only) {
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
  if (validate_only) return {};
  share_group* g = get_or_create(group_id);
  if (g == nullptr)
    return adapter::outcome::fail(error::group_id_not_found, "group " + group_id + " is not a share group");
  share_overrides next = g->configs;
  for (const auto& c : changes) {
    if (c.op == adapter::alter_op::set)
      next[c.name] = c.value.value_or("");
    else
      next.erase(c.name);
  }
  g->set_configs(std::move(next), cfg());
  put_group(*g);
  return {};
}

error share_manager::impl::remove_group(const std::string& id) {
  auto git = groups.find(id);
  if (git == groups.end()) return error::group_id_not_found;
  if (git->second.has_members()) return error::non_empty_group;
  for (auto it = parts.lower_bound({id, {}, INT32_MIN}); it != parts.end() && it->first.group == id;)
    it = erase_state(it);
  slog.delete_group(id);
  groups.erase(git);
  if (opts.kinds) opts.kinds->release(id, group_kinds::kind::share);
  return error::none;
}

void share_manager::impl::restored() {
  for (const auto& [id, g] : groups) claim(id);
  for (auto& [k, e] : parts)  // names, for reading the log (a deleted topic's stay empty, and are forgotten)
    if (auto t = io().find_topic(k.topic)) e.topic = t->name;
  size_t archiving = 0;
  for (auto& [k, e] : parts) archiving += e.part.archiving(conf(k.group).limits).size();
  if (archiving > 0) retry_dead_letters = true;  // resume dead-letter writes cut short
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
  if (!n) return status(n.error().code(), "reading the share-state log: " + n.error().message());
  s.restored();
  log::info("share groups: {} group(s), {} share-partition(s) ({} records read)", s.groups.size(), s.parts.size(), *n);
  impl* state = m->impl_.get();
  m->loop_.start(state->opts.tick_ms,
                 {[state](clock::time_point now) { state->begin_round(now); }, [state] { state->expire(); },
                  [state] {
                    state->retry_parked(std::exchange(state->wake, false));
                    state->write_changes();
                    commit_round(
                        state->slog, state->after_flush, [state] { state->write_all(); },
                        "share groups: the share-state log");
                  }});
  return m;
}

share_manager::~share_manager() { stop(); }

void share_manager::stop() {
  {
    std::lock_guard g(gate_->mu);
    gate_->target = nullptr;
  }
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
    impl_->later([r = std::move(r), done = std::move(done)](bool durable) mutable {
      if (!durable)
        for (auto& p : r.partitions)
          if (p.code == error::none) p.code = error::kafka_storage_error;
      done(std::move(r));
    });
  });
}

void share_manager::describe_offsets(std::vector<adapter::share_offsets_request> reqs,
                                     std::function<void(std::vector<adapter::share_offsets_result>)> done) {
  post([this, reqs = std::move(reqs), done = std::move(done)] {
    std::vector<adapter::share_offsets_result> out;
    for (const auto& r : reqs) out.push_back(impl_->describe_offsets(r));
    done(std::move(out));
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
  post([this, group_id = std::move(group_id), changes = std::move(changes), validate_only,
        done = std::move(done)]() mutable {
    auto r = impl_->alter_configs(group_id, changes, validate_only);
    if (!r.ok() || validate_only) return done(std::move(r));
    impl_->later([done = std::move(done)](bool durable) {
      done(durable ? adapter::outcome{} : adapter::outcome::fail(error::kafka_storage_error, "the write failed"));
    });
  });
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

#include "kernel/groups/coordinator.h"

#include <algorithm>
#include <chrono>
#include <random>
#include <set>

#include "kernel/base/log.h"
#include "kernel/base/numbers.h"
#include "kernel/groups/offsets.h"

namespace mosaic::groups {

using adapter::error;
using std::chrono::milliseconds;

// ---------------------------------------------------------------------------
//
// The shell around the group kinds (classic_group.h, consumer_group.h,
// offsets.h): the maps by group id, the waiting answers, the held
// heartbeats, the group log and the timers. The rules are in the kinds.

struct coordinator::impl {
  using join_done = std::function<void(adapter::join_result)>;
  using sync_done = std::function<void(adapter::sync_result)>;

  impl(log::partition_log* l, const plugin::assignor_set* a, options o)
      : glog(l),
        assignors(a),
        opts(std::move(o)),
        rng(std::random_device{}()),
        ctx{clock::now(), wall_ms(), opts.settings, [this](const std::string& p) { return new_member_id(p); }},
        assign([this](const std::string& name, const sdk::assignor_input& in, std::string* served_by) {
          return assignors->run(name, in, served_by);
        }) {}

  group_log glog;
  const plugin::assignor_set* assignors;
  options opts;
  std::mt19937_64 rng;
  group_context ctx;  // the round's time; every call on a group gets it
  assignor_fn assign;
  offset_store offsets;
  std::map<std::string, classic_group> classic;
  std::map<std::string, consumer_group> consumer;
  topic_patterns patterns;
  // Answers that wait for this round's records to be on disk.
  std::vector<std::function<void(bool durable)>> after_flush;
  // Requests a classic group answers later, by the waiter id it was given.
  waiter_id next_waiter = 1;
  std::map<waiter_id, join_done> join_waiters;
  std::map<waiter_id, sync_done> sync_waiters;
  int64_t next_offsets_check = 0;  // wall time

  const config::group_settings& cfg() const { return opts.settings; }

  void later(std::function<void(bool durable)> f) { after_flush.push_back(std::move(f)); }

  void begin_round(clock::time_point now) {
    ctx.now = now;
    ctx.wall_ms = wall_ms();
  }

  // Claims a group id for this coordinator; false if it is a share group's.
  bool claim(const std::string& id) {
    return opts.kinds == nullptr || opts.kinds->claim(id, group_kinds::kind::coordinator);
  }

  std::string new_member_id(const std::string& prefix) {
    static const char* hex = "0123456789abcdef";
    std::string id = prefix.empty() ? std::string() : prefix + "-";
    for (int i = 0; i < 2; ++i) {
      uint64_t v = rng();
      for (int k = 0; k < 16; ++k, v >>= 4) id += hex[v & 15];
    }
    return id;
  }

  classic_group* find_classic(const std::string& id) {
    auto it = classic.find(id);
    return it == classic.end() ? nullptr : &it->second;
  }

  consumer_group* find_consumer(const std::string& id) {
    auto it = consumer.find(id);
    return it == consumer.end() ? nullptr : &it->second;
  }

  void write(const std::vector<offset_change>& changes) {
    for (const auto& c : changes) {
      if (c.value)
        glog.put_offset(c.group, c.key, *c.value);
      else
        glog.delete_offset(c.group, c.key);
    }
  }

  // When a group lost its last member, for the expiry of its offsets.
  template <class Group>
  void note_members(Group& g) {
    if (g.has_members())
      g.empty_since_ms = 0;
    else if (g.empty_since_ms == 0)
      g.empty_since_ms = ctx.wall_ms;
  }

  // ---- classic groups -----------------------------------------------------

  // Sends the answers of one kind to their waiters: at once, or once the
  // round's records are on disk (`unwritten` turns one into
  // COORDINATOR_NOT_AVAILABLE if the write failed).
  template <class Answers, class Waiters, class Unwritten>
  void send_answers(Answers& answers, Waiters& waiters, Unwritten unwritten) {
    for (auto& a : answers) {
      auto w = waiters.extract(a.to);
      if (w.empty()) continue;
      if (!a.after_write) {
        w.mapped()(std::move(a.result));
        continue;
      }
      later([done = std::move(w.mapped()), r = std::move(a.result), unwritten](bool durable) mutable {
        if (!durable) unwritten(r);
        done(std::move(r));
      });
    }
  }

  // Does what a classic group's call asked: its record written, its answers
  // sent (now, or once the record is on disk).
  void apply(classic_group& g, classic_effects& fx) {
    if (fx.persist) glog.put_group(g);
    send_answers(fx.joins, join_waiters, [](adapter::join_result& r) { r.code = error::coordinator_not_available; });
    send_answers(fx.syncs, sync_waiters, [](adapter::sync_result& r) {
      r.code = error::coordinator_not_available;
      r.assignment.clear();
    });
    note_members(g);
  }

  void join(const adapter::join_request& req, join_done done) {
    auto fail = [&](error e) {
      adapter::join_result r;
      r.code = e;
      r.member_id = req.member_id;
      done(std::move(r));
    };
    if (auto e = classic_group::check_join(req, cfg()); e != error::none) return fail(e);
    if (auto c = consumer.find(req.group_id); c != consumer.end()) {
      if (c->second.has_members()) return fail(error::inconsistent_group_protocol);
      consumer.erase(c);  // an empty consumer group becomes a classic one; its offsets stay
      glog.delete_group(req.group_id);
    }
    auto it = classic.find(req.group_id);
    if (it == classic.end()) {
      if (!req.member_id.empty()) return fail(error::unknown_member_id);
      if (!claim(req.group_id)) return fail(error::group_id_not_found);  // a share group's id
      it = classic.emplace(req.group_id, classic_group(req.group_id)).first;
    }
    const waiter_id w = next_waiter++;
    join_waiters.emplace(w, std::move(done));
    classic_effects fx;
    it->second.join(req, w, ctx, fx);
    apply(it->second, fx);
  }

  void sync(const adapter::sync_request& req, sync_done done) {
    classic_group* g = find_classic(req.group_id);
    if (g == nullptr) {
      adapter::sync_result r;
      r.code = error::unknown_member_id;
      return done(std::move(r));
    }
    const waiter_id w = next_waiter++;
    sync_waiters.emplace(w, std::move(done));
    classic_effects fx;
    g->sync(req, w, ctx, fx);
    apply(*g, fx);
  }

  error heartbeat(const std::string& group_id, int32_t generation, const adapter::member_identity& who) {
    classic_group* g = find_classic(group_id);
    return g == nullptr ? error::unknown_member_id : g->heartbeat(generation, who, ctx);
  }

  std::vector<error> leave(const std::string& group_id, const std::vector<adapter::member_identity>& who) {
    classic_group* g = find_classic(group_id);
    if (g == nullptr) return std::vector<error>(who.size(), error::unknown_member_id);
    classic_effects fx;
    auto out = g->leave(who, ctx, fx);
    apply(*g, fx);
    return out;
  }

  // ---- consumer groups --------------------------------------------------

  // `replay`: the request of a held heartbeat, run again to see whether the
  // member has news; it does not count as a new sign of life.
  adapter::consumer_heartbeat_result consumer_heartbeat(const adapter::consumer_heartbeat_request& req,
                                                        bool replay = false) {
    if (auto refused = consumer_group::check_heartbeat(req, cfg(), patterns)) return *refused;
    auto refuse = [&](error e, std::string why) { return consumer_group::refusal(req, cfg(), e, std::move(why)); };
    if (auto c = classic.find(req.group_id); c != classic.end()) {
      if (c->second.has_members())
        return refuse(error::group_id_not_found, "group " + req.group_id + " is a classic group with members");
      classic.erase(c);  // an empty classic group becomes a consumer group; its offsets stay
      glog.delete_group(req.group_id);
    }
    consumer_group* g = find_consumer(req.group_id);
    if (g == nullptr) {
      if (req.member_epoch != 0)
        return refuse(error::unknown_member_id, "group " + req.group_id + " has no member " + req.member_id);
      if (!claim(req.group_id)) return refuse(error::group_id_not_found, "group " + req.group_id + " is a share group");
      g = &consumer.emplace(req.group_id, consumer_group(req.group_id)).first->second;
    }
    const auto topics = opts.io->topics();
    consumer_inputs in{topics, assign, patterns};
    auto r = g->heartbeat(req, replay, ctx, in);
    if (r.code == error::none) glog.put_group(*g);
    note_members(*g);
    return r;
  }

  // ---- held heartbeats (a long poll) --------------------------------------
  //
  // A KIP-848 member learns of a new assignment only from the answer to a
  // heartbeat. Answered at once, a member that must give partitions up to a
  // newcomer hears of it up to a whole interval later. So a heartbeat that
  // brings a settled member nothing new is held, and answered as soon as it
  // must give partitions up (see `urgent`) or is fenced or removed, when
  // the adapter releases it (the connection sent another request), or
  // at its hold time: `group.consumer.heartbeat.hold.ms` (4 s by default:
  // @platformatic/kafka times a request out after 5 s), and under the
  // interval the member was last told by a tenth, at least 100 ms, since
  // librdkafka times a heartbeat out after that interval (and sends the
  // next one an interval after the last).

  using heartbeat_done = std::function<void(adapter::consumer_heartbeat_result)>;
  struct held_heartbeat {
    adapter::consumer_heartbeat_request req;
    heartbeat_done done;
    clock::time_point deadline;
  };
  std::map<std::string, std::map<uint64_t, held_heartbeat>> holding;  // by group, then hold id
  std::map<uint64_t, std::string> held_in;                            // hold id -> group
  std::set<std::string> touched;                                      // groups that may have changed this round
  clock::time_point next_hold_deadline = clock::time_point::max();

  // The answer goes once the round's records are on disk.
  void answer(const heartbeat_done& done, adapter::consumer_heartbeat_result r) {
    later([done, r = std::move(r)](bool durable) mutable {
      if (!durable && r.code == error::none) {
        r = {};
        r.code = error::coordinator_not_available;
        r.message = "the group log could not be written";
      }
      done(std::move(r));
    });
  }

  consumer_member* member_of(const std::string& group, const std::string& member) {
    consumer_group* g = find_consumer(group);
    return g == nullptr ? nullptr : g->member(member);
  }

  // The answer can wait: it gives a settled member no partition and takes
  // none away. A new member epoch alone can wait too: the member learns it
  // with the answer, whenever that goes.
  static bool can_wait(const adapter::consumer_heartbeat_request& req, const adapter::consumer_heartbeat_result& r,
                       const consumer_member& m) {
    return r.code == error::none && req.member_epoch > 0 && !r.assignment && m.state == member_state::stable &&
           !m.left_static;
  }

  // A held heartbeat is answered before its hold time only when the member
  // must give partitions up (another member waits for them) or the answer
  // is an error. Partitions it gains wait for the end of the hold, as they
  // would wait for its next heartbeat without one: librdkafka 2.15.1, handed
  // new partitions just as the application closes it, drops their stored
  // offsets before the application's revocation callback can commit them.
  static bool urgent(const adapter::consumer_heartbeat_result& r, const consumer_member& m) {
    return r.code != error::none || m.state == member_state::unrevoked_partitions || m.left_static;
  }

  // How long a heartbeat may be held (see above); also well within the
  // session, so that a held member never expires.
  int64_t hold_ms(const consumer_member& m) const {
    const int64_t told = m.told_interval_ms;
    return std::min({cfg().consumer_heartbeat_hold_ms, told - std::max<int64_t>(told / 10, 100),
                     cfg().consumer_session_timeout_ms / 2});
  }

  void consumer_heartbeat(adapter::consumer_heartbeat_request req, heartbeat_done done) {
    touched.insert(req.group_id);
    auto r = consumer_heartbeat(req);
    const consumer_member* m = req.hold != 0 ? member_of(req.group_id, r.member_id) : nullptr;
    if (m != nullptr && can_wait(req, r, *m)) {
      const int64_t ms = hold_ms(*m);
      if (ms > 0) {
        req.member_epoch = r.member_epoch;  // where the member stands now, for the checks and replays to come
        const uint64_t id = req.hold;
        const auto deadline = ctx.now + milliseconds(ms);
        next_hold_deadline = std::min(next_hold_deadline, deadline);
        log::debug("group {}: heartbeat of {} held for up to {} ms", req.group_id, req.member_id, ms);
        held_in[id] = req.group_id;
        auto& slot = holding[req.group_id][id];  // before `req` is moved from
        slot = {std::move(req), std::move(done), deadline};
        return;
      }
    }
    answer(done, std::move(r));
  }

  void release_heartbeat(uint64_t id) {
    auto g = held_in.find(id);
    if (g == held_in.end()) return;
    auto& in_group = holding[g->second];
    auto h = in_group.find(id);
    log::debug("group {}: heartbeat of {} released (its connection sent another request)", g->second,
               h->second.req.member_id);
    answer(h->second.done, consumer_heartbeat(h->second.req, true));
    in_group.erase(h);
    if (in_group.empty()) holding.erase(g->second);
    held_in.erase(g);
  }

  // Whether something may have changed for the member of a held heartbeat.
  bool may_have_news(const std::string& group, const adapter::consumer_heartbeat_request& req) {
    const consumer_group* g = find_consumer(group);
    return g == nullptr || g->may_have_news(req.member_id, req.member_epoch);
  }

  // The held heartbeats of one group: answered if their hold is up or there
  // is news that cannot wait; true if any is left.
  bool recheck_group(const std::string& group, std::map<uint64_t, held_heartbeat>& in_group, bool due) {
    for (auto it = in_group.begin(); it != in_group.end();) {
      held_heartbeat& h = it->second;
      const bool expired = ctx.now >= h.deadline;
      if (!expired && !may_have_news(group, h.req)) {
        if (due) next_hold_deadline = std::min(next_hold_deadline, h.deadline);
        ++it;
        continue;
      }
      auto r = consumer_heartbeat(h.req, true);
      consumer_member* m = member_of(group, r.member_id);
      if (!expired && m != nullptr && !urgent(r, *m)) {
        if (r.assignment) m->send_assignment = true;  // still to be told, when the hold ends
        h.req.member_epoch = r.member_epoch;
        if (due) next_hold_deadline = std::min(next_hold_deadline, h.deadline);
        ++it;
        continue;
      }
      log::debug("group {}: held heartbeat of {} answered ({})", group, h.req.member_id,
                 expired ? "its hold time is up" : "news for it");
      answer(h.done, std::move(r));
      held_in.erase(it->first);
      it = in_group.erase(it);
    }
    return !in_group.empty();
  }

  // At the end of each round: the held heartbeats of groups touched in it,
  // and those whose hold time is up.
  void recheck_held() {
    if (holding.empty()) {
      touched.clear();
      return;
    }
    const bool due = ctx.now >= next_hold_deadline;
    std::vector<std::string> groups;
    if (due) {
      next_hold_deadline = clock::time_point::max();
      for (const auto& [id, hs] : holding) groups.push_back(id);
    } else {
      for (const auto& id : touched)
        if (holding.count(id)) groups.push_back(id);
    }
    touched.clear();
    for (const auto& group : groups)
      if (!recheck_group(group, holding[group], due)) holding.erase(group);
  }

  adapter::consumer_group_description describe_consumer(const std::string& id) {
    const consumer_group* g = find_consumer(id);
    if (g != nullptr) return g->describe(cfg());
    adapter::consumer_group_description d;
    d.group_id = id;
    d.code = error::group_id_not_found;
    d.message = "group " + id + " is not a consumer group";
    d.state = "Dead";
    return d;
  }

  // ---- offsets ------------------------------------------------------------

  // The topics a commit names, each looked up once.
  named_topics topics_of(const adapter::commit_request& req) const {
    named_topics out;
    for (const auto& o : req.offsets)
      if (!out.count(o.topic)) out[o.topic] = opts.io->find_topic(o.topic);
    return out;
  }

  std::vector<error> commit(const adapter::commit_request& req) {
    auto all = [&](error e) { return std::vector<error>(req.offsets.size(), e); };
    if (req.group_id.empty()) return all(error::invalid_group_id);
    const named_topics topics = topics_of(req);
    std::vector<bool> stale;
    // A negative generation is an admin client's or a consumer's that
    // assigns partitions itself: taken, whatever the member id, by a group
    // that is absent or has no members (as Kafka takes it).
    const bool simple = req.generation_or_epoch < 0;
    if (const consumer_group* g = find_consumer(req.group_id)) {
      if (!simple || g->has_members())
        if (auto e = g->check_commit(req, topics, stale); e != error::none) return all(e);
    } else if (const classic_group* cg = find_classic(req.group_id)) {
      if (!simple || cg->has_members())
        if (auto e = cg->check_commit(req); e != error::none) return all(e);
    } else if (!simple) {
      return all(error::illegal_generation);
    }
    if (!claim(req.group_id)) return all(error::group_id_not_found);  // a share group's id
    std::vector<offset_change> changes;
    auto out = offsets.commit(req, topics, stale, ctx.wall_ms, cfg().offset_metadata_max_bytes, changes);
    write(changes);
    return out;
  }

  adapter::offset_fetch_result fetch(const adapter::offset_fetch_request& req) {
    if (req.member_id)
      if (const consumer_group* g = find_consumer(req.group_id))
        if (auto e = g->check_fetch(*req.member_id, req.member_epoch); e != error::none) {
          adapter::offset_fetch_result r;
          r.code = e;
          return r;
        }
    return offsets.fetch(req);
  }

  // The topics a group's members consume now (OffsetDelete keeps theirs).
  std::set<std::string> subscribed_topics(const std::string& group) {
    std::set<std::string> out;
    if (const classic_group* g = find_classic(group)) out = g->subscribed_topics();
    if (const consumer_group* g = find_consumer(group)) {
      auto s = g->subscribed_topics(opts.io->topics(), patterns);
      out.insert(s.begin(), s.end());
    }
    return out;
  }

  bool exists(const std::string& group) const {
    return classic.count(group) || consumer.count(group) || offsets.has(group);
  }

  bool has_members(const std::string& group) {
    if (const classic_group* g = find_classic(group)) return g->has_members();
    if (const consumer_group* g = find_consumer(group)) return g->has_members();
    return false;
  }

  std::pair<error, std::vector<error>> delete_offsets(const std::string& group, const std::vector<offset_key>& parts) {
    if (!exists(group)) return {error::group_id_not_found, {}};
    const auto busy = has_members(group) ? subscribed_topics(group) : std::set<std::string>{};
    std::vector<offset_change> changes;
    auto out = offsets.erase(group, parts, busy, changes);
    write(changes);
    return {error::none, std::move(out)};
  }

  // What a group says about the expiry of its offsets.
  retention_view retention_of(const std::string& group, std::optional<std::vector<adapter::topic_info>>& topics) {
    retention_view v;
    if (const classic_group* g = find_classic(group)) {
      v.has_members = g->has_members();
      v.expires_while_active = g->listed_type() == "consumer";
      v.subscribed = g->subscribed_topics();
      v.empty_since_ms = g->empty_since_ms;
    } else if (const consumer_group* cg = find_consumer(group)) {
      v.has_members = cg->has_members();
      v.expires_while_active = true;
      if (v.has_members) {
        if (!topics) topics = opts.io->topics();
        v.subscribed = cg->subscribed_topics(*topics, patterns);
      }
      v.empty_since_ms = cg->empty_since_ms;
    }
    return v;
  }

  // Every `offsets.retention.check.interval.ms`: offsets past
  // `offsets.retention.minutes` are deleted, and then groups left without
  // members or offsets (Kafka's cleanup).
  void expire_offsets() {
    if (ctx.wall_ms < next_offsets_check) return;
    next_offsets_check = ctx.wall_ms + cfg().offsets_retention_check_interval_ms;
    const int64_t retention_ms = cfg().offsets_retention_ms;
    std::optional<std::vector<adapter::topic_info>> topics;  // read once, if needed
    std::vector<offset_change> changes;
    std::vector<std::string> ids;
    for (const auto& [id, o] : offsets.all()) ids.push_back(id);
    for (const auto& id : ids)
      if (size_t n = offsets.expire(id, retention_of(id, topics), ctx.wall_ms, retention_ms, changes); n > 0)
        log::info("group {}: {} committed offset(s) expired", id, n);
    write(changes);
    std::vector<std::string> gone;
    for (const auto& [id, g] : classic)
      if (g.state == classic_state::empty && g.pending.empty() && !offsets.has(id)) gone.push_back(id);
    for (const auto& [id, g] : consumer)
      if (!g.has_members() && !offsets.has(id)) gone.push_back(id);
    for (const auto& id : gone) {
      log::info("group {} has no members and no offsets and is removed", id);
      forget(id);
    }
  }

  // ---- administration -----------------------------------------------------

  std::vector<adapter::group_listing> list(const std::vector<std::string>& states,
                                           const std::vector<std::string>& types) {
    std::vector<adapter::group_listing> all;
    for (const auto& [id, g] : classic) all.push_back({id, g.listed_type(), state_name(g.state), "classic"});
    for (const auto& [id, g] : consumer) all.push_back({id, "consumer", g.state_name(), "consumer"});
    for (const auto& [id, o] : offsets.all())
      if (!classic.count(id) && !consumer.count(id)) all.push_back({id, "", "Empty", "classic"});
    return filter_listings(std::move(all), states, types);
  }

  adapter::classic_group_description describe_classic(const std::string& id) {
    if (const classic_group* g = find_classic(id)) return g->describe();
    adapter::classic_group_description d;
    d.group_id = id;
    if (!consumer.count(id) && offsets.has(id)) {
      d.state = "Empty";
      return d;
    }
    d.code = error::group_id_not_found;
    d.message = consumer.count(id) ? "group " + id + " is not a classic group" : "group " + id + " not found";
    d.state = "Dead";
    return d;
  }

  // Removes a group and its offsets, here and in the group log.
  void forget(const std::string& id) {
    classic.erase(id);
    consumer.erase(id);
    touched.insert(id);
    std::vector<offset_change> changes;
    offsets.erase_group(id, changes);
    write(changes);
    glog.delete_group(id);
    if (opts.kinds) opts.kinds->release(id, group_kinds::kind::coordinator);
  }

  error delete_group(const std::string& id) {
    if (!exists(id)) return error::group_id_not_found;
    if (has_members(id)) return error::non_empty_group;
    forget(id);
    log::info("group {} deleted", id);
    return error::none;
  }

  // ---- timers -------------------------------------------------------------

  void expire() {
    for (auto& [id, g] : classic) {
      classic_effects fx;
      g.expire(ctx, fx);
      apply(g, fx);
    }
    for (auto& [id, g] : consumer) {
      if (g.expire(ctx).empty()) continue;
      glog.put_group(g);
      touched.insert(id);
      note_members(g);
    }
    expire_offsets();
  }

  // Members get a fresh session from the restart, as if they had just sent
  // a heartbeat; a group without members counts as empty from then on.
  void restore(loaded_state&& s) {
    offsets.restore(std::move(s.offsets));
    classic = std::move(s.classic);
    consumer = std::move(s.consumer);
    begin_round(clock::now());
    for (const auto& [id, o] : offsets.all()) claim(id);
    for (auto& [id, g] : classic) {
      claim(id);
      g.restored(ctx);
      note_members(g);
    }
    for (auto& [id, g] : consumer) {
      claim(id);
      g.restored(ctx);
      note_members(g);
    }
    next_offsets_check = ctx.wall_ms + cfg().offsets_retention_check_interval_ms;
  }

  void write_all() {
    for (const auto& [id, g] : classic) glog.put_group(g, true);
    for (const auto& [id, g] : consumer) glog.put_group(g, true);
    for (const auto& [group, o] : offsets.all())
      for (const auto& [k, c] : o) glog.put_offset(group, k, c);
  }
};

// ---------------------------------------------------------------------------

coordinator::coordinator(log::partition_log* log, const plugin::assignor_set* assignors, options opts)
    : impl_(std::make_unique<impl>(log, assignors, std::move(opts))) {}

result<std::unique_ptr<coordinator>> coordinator::start(log::partition_log* log, const plugin::assignor_set* assignors,
                                                        options opts) {
  if (opts.settings.consumer_assignors.empty())
    return status(errc::config, "group.consumer.assignors: needs at least one assignor");
  for (const auto& name : opts.settings.consumer_assignors)
    if (!assignors->has(name))
      return status(errc::config,
                    "group.consumer.assignors names '" + name + "', but no loaded assignor plugin has that name");
  std::unique_ptr<coordinator> c(new coordinator(log, assignors, std::move(opts)));
  loaded_state s;
  if (auto st = c->impl_->glog.load(s); !st) return status(st.code(), "reading the group log: " + st.message());
  log::info("groups: {} classic, {} consumer, offsets of {} group(s) ({} records read)", s.classic.size(),
            s.consumer.size(), s.offsets.size(), s.records);
  c->impl_->restore(std::move(s));
  impl* state = c->impl_.get();
  c->loop_.start(state->opts.tick_ms,
                 {[state](clock::time_point now) { state->begin_round(now); }, [state] { state->expire(); },
                  [state] {
                    state->recheck_held();
                    commit_round(
                        state->glog, state->after_flush, [state] { state->write_all(); }, "groups: the group log");
                  }});
  return c;
}

coordinator::~coordinator() { stop(); }

void coordinator::stop() { loop_.stop(); }

// ---- the calls: each posts its work to the coordinator's thread ----------

void coordinator::join_group(adapter::join_request req, std::function<void(adapter::join_result)> done) {
  post([this, req = std::move(req), done = std::move(done)]() mutable { impl_->join(req, std::move(done)); });
}

void coordinator::sync_group(adapter::sync_request req, std::function<void(adapter::sync_result)> done) {
  post([this, req = std::move(req), done = std::move(done)]() mutable { impl_->sync(req, std::move(done)); });
}

void coordinator::heartbeat(std::string group_id, int32_t generation, adapter::member_identity member,
                            std::function<void(adapter::error)> done) {
  post([this, group_id = std::move(group_id), generation, member = std::move(member), done = std::move(done)] {
    done(impl_->heartbeat(group_id, generation, member));
  });
}

void coordinator::leave_group(std::string group_id, std::vector<adapter::member_identity> members,
                              std::function<void(std::vector<adapter::error>)> done) {
  post([this, group_id = std::move(group_id), members = std::move(members), done = std::move(done)] {
    auto out = impl_->leave(group_id, members);
    impl_->later([done, out = std::move(out)](bool) mutable { done(std::move(out)); });
  });
}

void coordinator::consumer_heartbeat(adapter::consumer_heartbeat_request req,
                                     std::function<void(adapter::consumer_heartbeat_result)> done) {
  post([this, req = std::move(req), done = std::move(done)]() mutable {
    impl_->consumer_heartbeat(std::move(req), std::move(done));
  });
}

void coordinator::release_heartbeat(uint64_t hold) {
  post([this, hold] { impl_->release_heartbeat(hold); });
}

void coordinator::describe_consumer_groups(std::vector<std::string> group_ids,
                                           std::function<void(std::vector<adapter::consumer_group_description>)> done) {
  post([this, group_ids = std::move(group_ids), done = std::move(done)] {
    std::vector<adapter::consumer_group_description> out;
    for (const auto& id : group_ids) out.push_back(impl_->describe_consumer(id));
    done(std::move(out));
  });
}

void coordinator::commit_offsets(adapter::commit_request req, std::function<void(std::vector<adapter::error>)> done) {
  post([this, req = std::move(req), done = std::move(done)] {
    auto out = impl_->commit(req);
    impl_->later([done, out = std::move(out)](bool durable) mutable {
      if (!durable)
        for (auto& e : out)
          if (e == error::none) e = error::coordinator_not_available;
      done(std::move(out));
    });
  });
}

void coordinator::fetch_offsets(std::vector<adapter::offset_fetch_request> reqs,
                                std::function<void(std::vector<adapter::offset_fetch_result>)> done) {
  post([this, reqs = std::move(reqs), done = std::move(done)] {
    std::vector<adapter::offset_fetch_result> out;
    for (const auto& r : reqs) out.push_back(impl_->fetch(r));
    done(std::move(out));
  });
}

void coordinator::delete_offsets(std::string group_id, std::vector<std::pair<std::string, int32_t>> partitions,
                                 std::function<void(adapter::error, std::vector<adapter::error>)> done) {
  post([this, group_id = std::move(group_id), partitions = std::move(partitions), done = std::move(done)] {
    auto [e, out] = impl_->delete_offsets(group_id, partitions);
    impl_->later([done, e = e, out = std::move(out)](bool durable) mutable {
      done(durable ? e : error::coordinator_not_available, std::move(out));
    });
  });
}

void coordinator::list_groups(std::vector<std::string> states, std::vector<std::string> types,
                              std::function<void(std::vector<adapter::group_listing>)> done) {
  post([this, states = std::move(states), types = std::move(types), done = std::move(done)] {
    done(impl_->list(states, types));
  });
}

void coordinator::describe_classic_groups(std::vector<std::string> group_ids,
                                          std::function<void(std::vector<adapter::classic_group_description>)> done) {
  post([this, group_ids = std::move(group_ids), done = std::move(done)] {
    std::vector<adapter::classic_group_description> out;
    for (const auto& id : group_ids) out.push_back(impl_->describe_classic(id));
    done(std::move(out));
  });
}

void coordinator::delete_groups(std::vector<std::string> group_ids,
                                std::function<void(std::vector<adapter::error>)> done) {
  post([this, group_ids = std::move(group_ids), done = std::move(done)] {
    std::vector<adapter::error> out;
    for (const auto& id : group_ids) out.push_back(impl_->delete_group(id));
    impl_->later([done, out = std::move(out)](bool durable) mutable {
      if (!durable)
        for (auto& e : out)
          if (e == error::none) e = error::coordinator_not_available;
      done(std::move(out));
    });
  });
}

}  // namespace mosaic::groups

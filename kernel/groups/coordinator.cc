#include "kernel/groups/coordinator.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <iterator>
#include <mutex>
#include <random>
#include <set>

#include "kernel/base/log.h"
#include "kernel/base/numbers.h"
#include "kernel/groups/follow_leadership.h"
#include "kernel/groups/offsets.h"
#include "mosaic/sdk/task_queue.h"

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

  impl(const plugin::assignor_set* a, options o)
      : assignors(a),
        opts(std::move(o)),
        rng(std::random_device{}()),
        ctx{clock::now(), wall_ms(), opts.settings, [this](const std::string& p) { return new_member_id(p); }},
        assign([this](const std::string& name, const sdk::assignor_input& in, std::string* served_by) {
          return assignors->run(name, in, served_by);
        }) {}

  // A partition of __consumer_offsets this broker leads, loaded.
  struct shard {
    int32_t epoch = -1;  // the leader epoch it was loaded at; writes are made at it
    group_log log;
  };
  std::map<int32_t, shard> shards;
  int32_t partitions = 0;  // of __consumer_offsets, once it exists
  const plugin::assignor_set* assignors;
  options opts;
  std::mt19937_64 rng;
  group_context ctx;  // the round's time; every call on a group gets it
  assignor_fn assign;
  offset_store offsets;
  std::map<std::string, classic_group> classic;
  std::map<std::string, consumer_group> consumer;
  topic_patterns patterns;
  // Answers that wait for this round's records to be replicated, with the
  // groups whose partitions' writes they need.
  struct waiting_answer {
    std::vector<std::string> groups;
    std::function<void(bool durable)> send;
  };
  std::vector<waiting_answer> after_write;
  // Requests a classic group answers later, by the waiter id it was given.
  template <class Done>
  struct waiter {
    std::string group;
    Done done;
  };
  waiter_id next_waiter = 1;
  std::map<waiter_id, waiter<join_done>> join_waiters;
  std::map<waiter_id, waiter<sync_done>> sync_waiters;
  int64_t next_offsets_check = 0;  // wall time
  clock::time_point next_leadership_check{};

  const config::group_settings& cfg() const { return opts.settings; }

  void later(const std::string& group, std::function<void(bool durable)> f) {
    after_write.push_back({{group}, std::move(f)});
  }
  void later(std::vector<std::string> groups, std::function<void(bool durable)> f) {
    after_write.push_back({std::move(groups), std::move(f)});
  }

  int32_t partition_of(const std::string& group) const { return partition_for(group, partitions); }

  // The log of the group's partition (loaded: every call is gated first).
  group_log& log_of(const std::string& group) { return shards.at(partition_of(group)).log; }

  void begin_round(clock::time_point now) {
    ctx.now = now;
    ctx.wall_ms = wall_ms();
    follow_default_assignor();
  }

  // A cluster swap of the default assignor (slot group.consumer.assignor):
  // it goes first in the list, where groups whose members name none take
  // it from; their epochs move at their next heartbeat
  // (consumer_group::refresh_target).
  std::vector<std::string> configured_assignors;
  void follow_default_assignor() {
    if (configured_assignors.empty()) configured_assignors = opts.settings.consumer_assignors;
    std::vector<std::string> list = configured_assignors;
    if (const std::string d = assignors->default_name(); !d.empty()) {
      list.erase(std::remove(list.begin(), list.end(), d), list.end());
      list.insert(list.begin(), d);
    }
    if (list != opts.settings.consumer_assignors) opts.settings.consumer_assignors = std::move(list);
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
        log_of(c.group).put_offset(c.group, c.key, *c.value);
      else
        log_of(c.group).delete_offset(c.group, c.key);
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
        w.mapped().done(std::move(a.result));
        continue;
      }
      later(w.mapped().group,
            [done = std::move(w.mapped().done), r = std::move(a.result), unwritten](bool durable) mutable {
              if (!durable) unwritten(r);
              done(std::move(r));
            });
    }
  }

  // Does what a classic group's call asked: its record written, its answers
  // sent (now, or once the record is on disk).
  void apply(classic_group& g, classic_effects& fx) {
    if (fx.persist) log_of(g.id).put_group(g);
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
    if (auto e = gate(req.group_id); e != error::none) return fail(e);
    if (auto e = classic_group::check_join(req, cfg()); e != error::none) return fail(e);
    if (auto c = consumer.find(req.group_id); c != consumer.end()) {
      if (c->second.has_members()) return fail(error::inconsistent_group_protocol);
      consumer.erase(c);  // an empty consumer group becomes a classic one; its offsets stay
      log_of(req.group_id).delete_group(req.group_id);
    }
    auto it = classic.find(req.group_id);
    if (it == classic.end()) {
      if (!req.member_id.empty()) return fail(error::unknown_member_id);
      if (!claim(req.group_id)) return fail(error::group_id_not_found);  // a share group's id
      it = classic.emplace(req.group_id, classic_group(req.group_id)).first;
    }
    const waiter_id w = next_waiter++;
    join_waiters.emplace(w, waiter<join_done>{req.group_id, std::move(done)});
    classic_effects fx;
    it->second.join(req, w, ctx, fx);
    apply(it->second, fx);
  }

  void sync(const adapter::sync_request& req, sync_done done) {
    const error e = gate(req.group_id);
    classic_group* g = e == error::none ? find_classic(req.group_id) : nullptr;
    if (g == nullptr) {
      adapter::sync_result r;
      r.code = e == error::none ? error::unknown_member_id : e;
      return done(std::move(r));
    }
    const waiter_id w = next_waiter++;
    sync_waiters.emplace(w, waiter<sync_done>{req.group_id, std::move(done)});
    classic_effects fx;
    g->sync(req, w, ctx, fx);
    apply(*g, fx);
  }

  error heartbeat(const std::string& group_id, int32_t generation, const adapter::member_identity& who) {
    if (auto e = gate(group_id); e != error::none) return e;
    classic_group* g = find_classic(group_id);
    return g == nullptr ? error::unknown_member_id : g->heartbeat(generation, who, ctx);
  }

  std::vector<error> leave(const std::string& group_id, const std::vector<adapter::member_identity>& who) {
    if (auto e = gate(group_id); e != error::none) return std::vector<error>(who.size(), e);
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
      log_of(req.group_id).delete_group(req.group_id);
    }
    consumer_group* g = find_consumer(req.group_id);
    if (g == nullptr) {
      if (req.member_epoch != 0)
        return refuse(error::unknown_member_id, "group " + req.group_id + " has no member " + req.member_id);
      if (!claim(req.group_id)) return refuse(error::group_id_not_found, "group " + req.group_id + " is a share group");
      g = &consumer.emplace(req.group_id, consumer_group(req.group_id)).first->second;
    }
    const auto topics = opts.io->summaries();
    consumer_inputs in{*topics, assign, patterns,
                       [this](const std::string& name) { return assignors->generation(name); }};
    auto r = g->heartbeat(req, replay, ctx, in);
    if (r.code == error::none) log_of(g->id).put_group(*g);
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

  // The answer goes once the round's records are replicated.
  void answer(const std::string& group, const heartbeat_done& done, adapter::consumer_heartbeat_result r) {
    later(group, [done, r = std::move(r)](bool durable) mutable {
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
    if (auto e = gate(req.group_id); e != error::none)
      return done(consumer_group::refusal(req, cfg(), e, "this broker does not coordinate group " + req.group_id));
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
    answer(req.group_id, done, std::move(r));
  }

  void release_heartbeat(uint64_t id) {
    auto g = held_in.find(id);
    if (g == held_in.end()) return;
    auto& in_group = holding[g->second];
    auto h = in_group.find(id);
    log::debug("group {}: heartbeat of {} released (its connection sent another request)", g->second,
               h->second.req.member_id);
    answer(g->second, h->second.done, consumer_heartbeat(h->second.req, true));
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
      answer(group, h.done, std::move(r));
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
    adapter::consumer_group_description d;
    d.group_id = id;
    if (auto e = gate(id); e != error::none) {
      d.code = e;
      d.state = "Dead";
      return d;
    }
    const consumer_group* g = find_consumer(id);
    if (g != nullptr) return g->describe(cfg());
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
    if (auto e = gate(req.group_id); e != error::none) return all(e);
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
    if (auto e = gate(req.group_id); e != error::none) {
      adapter::offset_fetch_result r;
      r.code = e;
      return r;
    }
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
      auto s = g->subscribed_topics(*opts.io->summaries(), patterns);
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
    if (auto e = gate(group); e != error::none) return {e, {}};
    if (!exists(group)) return {error::group_id_not_found, {}};
    const auto busy = has_members(group) ? subscribed_topics(group) : std::set<std::string>{};
    std::vector<offset_change> changes;
    auto out = offsets.erase(group, parts, busy, changes);
    write(changes);
    return {error::none, std::move(out)};
  }

  // What a group says about the expiry of its offsets.
  retention_view retention_of(const std::string& group, std::shared_ptr<const topic_summaries>& topics) {
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
        if (!topics) topics = opts.io->summaries();
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
    std::shared_ptr<const topic_summaries> topics;  // read once, if needed
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
    adapter::classic_group_description d;
    d.group_id = id;
    if (auto e = gate(id); e != error::none) {
      d.code = e;
      d.state = "Dead";
      return d;
    }
    if (const classic_group* g = find_classic(id)) return g->describe();
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
    log_of(id).delete_group(id);
    if (opts.kinds) opts.kinds->release(id, group_kinds::kind::coordinator);
  }

  error delete_group(const std::string& id) {
    if (auto e = gate(id); e != error::none) return e;
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
      log_of(id).put_group(g);
      touched.insert(id);
      note_members(g);
    }
    expire_offsets();
  }

  // ---- partitions: loaded as leadership comes, dropped as it goes --------

  // Whether this broker serves `group` now: NOT_COORDINATOR when another
  // broker leads its partition (or none does), COORDINATOR_LOAD_IN_PROGRESS
  // while this one is taking it up.
  error gate(const std::string& group) {
    // What this coordinator knows of the group's partition, if anything.
    auto known = [&]() -> std::optional<error> {
      if (partitions == 0) return std::nullopt;
      const int32_t p = partition_of(group);
      if (shards.count(p)) return error::none;
      if (loading.count(p)) return error::coordinator_load_in_progress;
      return std::nullopt;
    };
    if (auto e = known()) return *e;
    sync_leadership();  // a notice may be on its way: look now
    if (auto e = known()) return *e;
    auto t = opts.io->find_topic(offsets_topic_name);
    if (!t || t->partitions.empty()) return error::not_coordinator;
    const auto p = static_cast<size_t>(partition_for(group, static_cast<int32_t>(t->partitions.size())));
    return t->partitions[p].leader == opts.self ? error::coordinator_load_in_progress : error::not_coordinator;
  }

  // Loads the partitions this broker has come to lead, drops those it no
  // longer leads (or leads at another epoch: another leader may have
  // written in between).
  void sync_leadership() {
    if (partitions == 0) {
      auto t = opts.io->find_topic(offsets_topic_name);
      if (!t) return;
      partitions = static_cast<int32_t>(t->partitions.size());
    }
    const auto changes = follow_leadership(opts.io->led_partitions(offsets_topic_name), shards, loading);
    for (int32_t p : changes.drop) unload(p, "its leadership moved");
    for (const auto& [p, epoch] : changes.load) start_load(p, epoch);
  }

  // ---- loading, off the coordinator's thread ---------------------------------
  //
  // A partition's log is read and decoded by the loader thread, so that the
  // other partitions' groups are served meanwhile; its own groups' requests
  // get COORDINATOR_LOAD_IN_PROGRESS until it is installed.

  struct load_under_way {
    int32_t epoch = -1;
    uint64_t id = 0;
  };
  std::map<int32_t, load_under_way> loading;
  uint64_t next_load = 1;
  sdk::task_queue loader{1,
                         [](const std::exception& e) { log::error("groups: a partition load failed: {}", e.what()); }};
  // Posts a task to the coordinator's thread (set by `start`).
  std::function<void(std::function<void()>)> post_here;

  void start_load(int32_t p, int32_t epoch) {
    const uint64_t id = next_load++;
    loading[p] = {epoch, id};
    loader.post([this, p, epoch, id] {
      const auto began = clock::now();
      auto s = std::make_shared<loaded_state>();
      group_log reader;
      auto st = reader.load(
          [&](const std::function<bool(std::span<const uint8_t>)>& chunk) {
            return opts.io->scan(offsets_topic_name, p, chunk);
          },
          *s);
      post_here([this, p, epoch, id, s, st, began] { install(p, epoch, id, std::move(*s), st, began); });
    });
  }

  void install(int32_t p, int32_t epoch, uint64_t id, loaded_state&& s, const status& st, clock::time_point began) {
    auto l = loading.find(p);
    if (l == loading.end() || l->second.id != id) return;  // leadership moved meanwhile
    loading.erase(l);
    if (!st) {
      log::error("groups: partition {} of {} cannot be loaded: {}", p, offsets_topic_name, st.message());
      return;  // tried again at the next check
    }
    shard sh;
    sh.epoch = epoch;
    shards.emplace(p, std::move(sh));
    take_strays(p, s);
    const size_t n_classic = s.classic.size(), n_consumer = s.consumer.size(), n_offsets = s.offsets.size();
    const size_t records = s.records;
    restore(std::move(s));
    adopt_strays();
    // Fifty partitions come and go together: the empty ones quietly.
    log::at(records > 0 ? log::level::info : log::level::debug, "mosaic",
            "groups: partition {} loaded at leader epoch {}: {} classic, {} consumer, offsets of {} group(s) ({} "
            "records, {} ms)",
            p, epoch, n_classic, n_consumer, n_offsets, records,
            std::chrono::duration_cast<milliseconds>(clock::now() - began).count());
  }

  // Members get a fresh session from the load, as if they had just sent a
  // heartbeat; a group without members counts as empty from then on.
  void restore(loaded_state&& s) {
    begin_round(clock::now());
    for (const auto& [id, o] : s.offsets) claim(id);
    offsets.merge(std::move(s.offsets));
    for (auto& [id, g] : s.classic) {
      claim(id);
      g.restored(ctx);
      note_members(g);
      classic.insert_or_assign(id, std::move(g));
    }
    for (auto& [id, g] : s.consumer) {
      claim(id);
      g.restored(ctx);
      note_members(g);
      consumer.insert_or_assign(id, std::move(g));
    }
    if (next_offsets_check == 0) next_offsets_check = ctx.wall_ms + cfg().offsets_retention_check_interval_ms;
  }

  // Answers the waiting requests of a partition's groups NOT_COORDINATOR.
  template <class Result, class Waiters>
  void refuse_waiters(Waiters& waiters, int32_t p) {
    for (auto it = waiters.begin(); it != waiters.end();) {
      if (partition_of(it->second.group) != p) {
        ++it;
        continue;
      }
      Result r;
      r.code = error::not_coordinator;
      it->second.done(std::move(r));
      it = waiters.erase(it);
    }
  }

  // Drops a partition's groups: their waiting requests and held heartbeats
  // are told NOT_COORDINATOR, and their clients find the new coordinator.
  void unload(int32_t p, const char* why) {
    std::set<std::string> ids;
    for (const auto& [id, g] : classic)
      if (partition_of(id) == p) ids.insert(id);
    for (const auto& [id, g] : consumer)
      if (partition_of(id) == p) ids.insert(id);
    for (const auto& [id, o] : offsets.all())
      if (partition_of(id) == p) ids.insert(id);
    refuse_waiters<adapter::join_result>(join_waiters, p);
    refuse_waiters<adapter::sync_result>(sync_waiters, p);
    for (const auto& id : ids) {
      if (auto h = holding.find(id); h != holding.end()) {
        for (auto& [hold, held] : h->second) {
          held_in.erase(hold);
          held.done(consumer_group::refusal(held.req, cfg(), error::not_coordinator,
                                            "this broker no longer coordinates group " + id));
        }
        holding.erase(h);
      }
      classic.erase(id);
      consumer.erase(id);
      offsets.drop(id);
      touched.erase(id);
      if (opts.kinds) opts.kinds->release(id, group_kinds::kind::coordinator);
    }
    // Answers waiting for this round's write of the partition: it will not
    // be made (its records go with the partition).
    auto elsewhere = [&](const waiting_answer& w) {
      return std::none_of(w.groups.begin(), w.groups.end(), [&](const std::string& g) { return partition_of(g) == p; });
    };
    auto cut = std::stable_partition(after_write.begin(), after_write.end(), elsewhere);
    std::vector<waiting_answer> unwritten(std::make_move_iterator(cut), std::make_move_iterator(after_write.end()));
    after_write.erase(cut, after_write.end());
    for (auto& w : unwritten) w.send(false);
    std::erase_if(strays, [p](const auto& kv) { return kv.second.from == p; });
    shards.erase(p);
    log::at(ids.empty() ? log::level::debug : log::level::info, "mosaic",
            "groups: partition {} of {} unloaded ({}): {} group(s) dropped", p, offsets_topic_name, why, ids.size());
  }

  // ---- groups found in another partition than their own ------------------
  //
  // Before groups lived on partitions of their own, every group's records
  // were in one log, `__consumer_offsets-0` (the partition that takes its
  // place). A group found in a partition it does not hash to is moved when
  // this broker also leads its own: its records written there (unless that
  // partition has the group already) and deleted where they were.

  struct stray {
    int32_t from = 0;
    std::optional<classic_group> classic;
    std::optional<consumer_group> consumer;
    offset_store::group_offsets offsets;
  };
  std::map<std::string, stray> strays;

  void take_strays(int32_t p, loaded_state& s) {
    // Moves the entries of `loaded` that belong elsewhere into `strays`.
    auto take = [&](auto& loaded, auto keep) {
      for (auto it = loaded.begin(); it != loaded.end();) {
        if (partition_of(it->first) == p) {
          ++it;
          continue;
        }
        auto& st = strays[it->first];
        st.from = p;
        keep(st, std::move(it->second));
        it = loaded.erase(it);
      }
    };
    take(s.classic, [](stray& st, classic_group&& g) { st.classic.emplace(std::move(g)); });
    take(s.consumer, [](stray& st, consumer_group&& g) { st.consumer.emplace(std::move(g)); });
    take(s.offsets, [](stray& st, offset_store::group_offsets&& o) { st.offsets = std::move(o); });
  }

  void adopt_strays() {
    for (auto it = strays.begin(); it != strays.end();) {
      const std::string id = it->first;
      stray& st = it->second;
      auto home = shards.find(partition_of(id));
      auto from = shards.find(st.from);
      if (home == shards.end() || from == shards.end()) {
        ++it;
        continue;
      }
      from->second.log.delete_group(id);
      for (const auto& [k, c] : st.offsets) from->second.log.delete_offset(id, k);
      if (!exists(id)) {
        loaded_state one;
        if (st.classic) one.classic.emplace(id, std::move(*st.classic));
        if (st.consumer) one.consumer.emplace(id, std::move(*st.consumer));
        if (!st.offsets.empty()) one.offsets.emplace(id, std::move(st.offsets));
        restore(std::move(one));
        if (auto* g = find_classic(id)) home->second.log.put_group(*g, true);
        if (auto* g = find_consumer(id)) home->second.log.put_group(*g, true);
        if (auto o = offsets.all().find(id); o != offsets.all().end())
          for (const auto& [k, c] : o->second) home->second.log.put_offset(id, k, c);
        log::info("groups: group {} moved from partition {} to its own, {}", id, st.from, home->first);
      }
      it = strays.erase(it);
    }
  }

  // ---- the end of a round ---------------------------------------------------

  // Appends each loaded partition's queued records at the epoch it was
  // loaded at (acks=all, every partition at once) and waits for them;
  // returns the partitions whose write failed.
  std::set<int32_t> write_shards() {
    struct outcomes {
      std::mutex mu;
      std::condition_variable cv;
      size_t left = 0;
      std::map<int32_t, adapter::produce_result> results;
    };
    auto out = std::make_shared<outcomes>();
    std::vector<int32_t> written;
    const auto timeout = static_cast<int32_t>(cfg().offsets_commit_timeout_ms);
    for (auto& [p, sh] : shards) {
      if (!sh.log.pending()) continue;
      auto batch = std::make_shared<std::vector<uint8_t>>(sh.log.take());
      {
        std::lock_guard g(out->mu);
        ++out->left;
      }
      written.push_back(p);
      opts.io->write(
          offsets_topic_name, p, batch, timeout,
          [out, p = p](const adapter::produce_result& r) {
            std::lock_guard g(out->mu);
            out->results[p] = r;
            --out->left;
            out->cv.notify_all();
          },
          sh.epoch);
    }
    std::set<int32_t> failed;
    if (written.empty()) return failed;
    std::unique_lock g(out->mu);
    out->cv.wait_for(g, milliseconds(timeout + 1000), [&] { return out->left == 0; });
    for (int32_t p : written) {
      auto r = out->results.find(p);
      if (r != out->results.end() && r->second.code == error::none) continue;
      failed.insert(p);
      log::warn("groups: writing partition {} of {} failed: {}", p, offsets_topic_name,
                r == out->results.end() ? std::string("no answer in time") : r->second.message);
    }
    return failed;
  }

  // Held heartbeats rechecked, the round's records written, then the
  // answers that waited for them. A partition whose write failed is loaded
  // again from its log (if this broker still leads it): what is in memory
  // must be what the log says.
  void end_round() {
    recheck_held();
    const std::set<int32_t> failed = write_shards();
    for (auto& w : std::exchange(after_write, {})) {
      bool durable = true;
      for (const auto& g : w.groups)
        if (failed.count(partition_of(g))) durable = false;
      w.send(durable);
    }
    if (failed.empty()) return;
    for (int32_t p : failed) unload(p, "its records could not be written");
    sync_leadership();
  }
};

// ---------------------------------------------------------------------------

coordinator::coordinator(const plugin::assignor_set* assignors, options opts)
    : impl_(std::make_unique<impl>(assignors, std::move(opts))) {}

result<std::unique_ptr<coordinator>> coordinator::start(const plugin::assignor_set* assignors, options opts) {
  if (opts.settings.consumer_assignors.empty())
    return status(errc::config, "group.consumer.assignors: needs at least one assignor");
  for (const auto& name : opts.settings.consumer_assignors)
    if (!assignors->has(name))
      return status(errc::config,
                    "group.consumer.assignors names '" + name + "', but no loaded assignor plugin has that name");
  std::unique_ptr<coordinator> c(new coordinator(assignors, std::move(opts)));
  impl* state = c->impl_.get();
  coordinator* self = c.get();
  state->post_here = [self](std::function<void()> task) { self->post(std::move(task)); };
  c->loop_.start(state->opts.tick_ms, {[state](clock::time_point now) { state->begin_round(now); },
                                       [state] {
                                         state->expire();
                                         if (state->ctx.now >= state->next_leadership_check) {
                                           state->next_leadership_check = state->ctx.now + std::chrono::seconds(1);
                                           state->sync_leadership();
                                         }
                                       },
                                       [state] { state->end_round(); }});
  state->opts.io->on_leadership(self, [self] { self->post([self] { self->impl_->sync_leadership(); }); });
  c->post([state] { state->sync_leadership(); });
  return c;
}

adapter::coordinator_location coordinator::locate(const std::string& group_id) {
  adapter::coordinator_location out;
  const auto& cfg = impl_->opts.settings;
  auto t = impl_->opts.io->find_topic(offsets_topic_name);
  if (!t) {
    group_io::internal_topic want;
    want.name = offsets_topic_name;
    want.partitions = static_cast<int32_t>(cfg.offsets_topic_partitions);
    want.replication_factor = static_cast<int32_t>(cfg.offsets_topic_replication_factor);
    want.configs = {{"cleanup.policy", "compact"}, {"segment.bytes", "104857600"}, {"max.message.bytes", "16777216"}};
    auto made = impl_->opts.io->ensure_internal_topic(want);
    if (!made) {
      out.code = error::coordinator_not_available;
      out.message = made.error().message();
      return out;
    }
    t = *made;
  }
  if (t->partitions.empty()) {
    out.code = error::coordinator_not_available;
    out.message = std::string(offsets_topic_name) + " has no partitions";
    return out;
  }
  const int32_t p = partition_for(group_id, static_cast<int32_t>(t->partitions.size()));
  out.node_id = t->partitions[static_cast<size_t>(p)].leader;
  if (out.node_id < 0) {
    out.code = error::coordinator_not_available;
    out.message = "partition " + std::to_string(p) + " of " + offsets_topic_name + " has no leader now";
  }
  return out;
}

coordinator::~coordinator() { stop(); }

void coordinator::stop() {
  if (impl_->opts.io != nullptr) impl_->opts.io->on_leadership(this, {});  // no more notices to a coordinator that goes
  impl_->loader.stop();  // a load under way posts to the loop: it goes first
  loop_.stop();
}

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
    impl_->later(group_id, [done, out = std::move(out)](bool) mutable { done(std::move(out)); });
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
    impl_->later(req.group_id, [done, out = std::move(out)](bool durable) mutable {
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
    std::vector<std::string> groups;
    for (const auto& r : reqs) {
      out.push_back(impl_->fetch(r));
      groups.push_back(r.group_id);
    }
    // Answered with the round's writes: an offset committed in this round
    // is shown only once it is replicated (if its write fails, the
    // partition is loaded again and the offset may not be there).
    impl_->later(std::move(groups), [done, out = std::move(out)](bool durable) mutable {
      if (!durable)
        for (auto& r : out) {
          r = {};
          r.code = error::coordinator_not_available;
        }
      done(std::move(out));
    });
  });
}

void coordinator::delete_offsets(std::string group_id, std::vector<std::pair<std::string, int32_t>> partitions,
                                 std::function<void(adapter::error, std::vector<adapter::error>)> done) {
  post([this, group_id = std::move(group_id), partitions = std::move(partitions), done = std::move(done)] {
    auto [e, out] = impl_->delete_offsets(group_id, partitions);
    impl_->later(group_id, [done, e = e, out = std::move(out)](bool durable) mutable {
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
    impl_->later(group_ids, [done, out = std::move(out)](bool durable) mutable {
      if (!durable)
        for (auto& e : out)
          if (e == error::none) e = error::coordinator_not_available;
      done(std::move(out));
    });
  });
}

}  // namespace mosaic::groups

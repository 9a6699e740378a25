// The share manager's insides (share_manager.h), shared by its two files:
// share_manager.cc (membership, persistence, timers, administration, the
// thread) and share_delivery.cc (acquisition, acknowledgement, parked
// fetches, dead letters). Not for use elsewhere.
#pragma once

#include <chrono>
#include <list>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "kernel/base/numbers.h"
#include "kernel/groups/dead_letters.h"
#include "kernel/groups/dlq_handler_slot.h"
#include "kernel/groups/share_coordinator.h"
#include "kernel/groups/share_group.h"
#include "kernel/groups/share_group_store.h"
#include "kernel/groups/share_manager.h"
#include "kernel/groups/share_partition.h"
#include "kernel/groups/share_sessions.h"
#include "kernel/groups/share_state_log.h"

namespace mosaic::groups {

// Dead-letter writes in flight at once; more wait in ARCHIVING.
inline constexpr size_t max_dead_letter_writes = 256;
// How long a session outlives its member's leave, waiting for the final
// acknowledgements.
inline constexpr std::chrono::milliseconds leaving_session_grace{5000};

// The answers of one round, sent once the share-state writes and deletes
// the round made are answered. A failed write of one share-partition's
// state fails that share-partition only (`failed`): its acquisitions are
// not handed out and its acknowledgements not confirmed; anything else
// that failed (the share-group log, a delete) fails the whole round (`ok`).
struct round_barrier {
  std::vector<std::function<void(const round_barrier&)>> answers;
  std::set<sp_key> failed;
  size_t left = 0;
  bool ok = true;
  bool sealed = false;  // the round is over: no more calls join it
  void one_done(bool fine) {
    ok = ok && fine;
    --left;
    finish();
  }
  // A write the answers wait for whose outcome does not matter to them
  // (a share group's record).
  void waited() {
    --left;
    finish();
  }
  void key_done(const sp_key& k, bool fine) {
    if (!fine) failed.insert(k);
    --left;
    finish();
  }
  bool durable() const { return ok && failed.empty(); }
  bool durable(const sp_key& k) const { return ok && failed.count(k) == 0; }
  void finish() {
    if (!sealed || left > 0) return;
    for (auto& f : std::exchange(answers, {})) f(*this);
  }
};

// A share-partition this broker leads (it leads the topic-partition).
struct sp_entry {
  share_partition part;
  std::string topic;
  int32_t leader_epoch = -1;  // of the topic-partition, when its state was read
  int32_t state_epoch = 0;    // of the persisted state
  bool writing = false;       // a write of its state is out
  // While its last write failed: the delay before the next try (doubled
  // after each failure) and when that try is due. Nothing is acquired from
  // it meanwhile (what a consumer is handed must be in the persisted state
  // first).
  std::chrono::milliseconds rewrite_delay{0};
  clock::time_point rewrite_at = clock::time_point::max();
  bool unsynced() const { return rewrite_delay.count() > 0; }
  // Rounds waiting for the next write (made when the one out is answered).
  std::vector<std::shared_ptr<round_barrier>> next_write;
};

// A ShareFetch waiting for records (MaxWaitMs).
struct parked_fetch {
  uint64_t id = 0;
  adapter::share_fetch_request req;
  adapter::share_fetch_result result;  // acknowledgement outcomes so far
  std::function<void(adapter::share_fetch_result)> done;
  clock::time_point deadline{};
  bool armed = false;  // a broker fetch waits for new data on its behalf
  // A partition's state was being read at the last try: a fetch that would
  // not wait (MaxWaitMs 0) waits for it, at most `state_wait`.
  bool state_pending = false;
  bool until_ready = false;
};

// How long a fetch that would not wait waits for its partitions' states.
inline constexpr std::chrono::milliseconds state_wait{2000};

// How long after a failed state write the share-partition is written
// again: the first delay, doubled after each failure up to the last.
inline constexpr std::chrono::milliseconds first_rewrite_delay{100};
inline constexpr std::chrono::milliseconds last_rewrite_delay{2000};

// The shell around share_group (membership), share_sessions, the
// share-partitions (share_partition.h), the share coordinator and the
// share-group log: the maps,
// the parked fetches, the dead-letter writes and the timers.
struct share_manager::impl {
  using error = adapter::error;

  impl(std::shared_ptr<gate> g, log::partition_log* l, const plugin::assignor_set* a, options op)
      : owner(std::move(g)),
        slog(l),
        assignors(a),
        opts(std::move(op)),
        coord(opts.io, &opts.settings, [g = owner](std::function<void()> f) { g->post(std::move(f)); }),
        client(opts.io, &opts.settings, opts.self, &coord),
        store(opts.io, static_cast<int32_t>(opts.settings.offsets_commit_timeout_ms),
              [g = owner](std::function<void()> f) { g->post(std::move(f)); }),
        defaults(resolve_share_configs({}, opts.settings)),
        ctx{clock::now(), wall_ms(), opts.settings, [](const std::string& p) { return p; }},
        assign([this](const std::string& name, const sdk::assignor_input& in, std::string* served_by) {
          return assignors->run(name, in, served_by, /*shared=*/true);
        }),
        writer(opts.io, &opts.settings) {}

  std::shared_ptr<gate> owner;
  // This broker's own log of group records, from versions that kept share
  // groups here: each is taken into __consumer_offsets when its partition
  // is first loaded here (`local_groups` until then).
  share_state_log slog;
  const plugin::assignor_set* assignors;
  options opts;
  share_coordinator coord;      // the __share_group_state partitions this broker leads
  share_state_client client;    // how share-partition states are read and written
  share_group_store store;      // the share groups this broker coordinates (__consumer_offsets)
  share_group_config defaults;  // a group's configs when it sets none
  group_context ctx;            // the round's time (share members choose their own ids)
  assignor_fn assign;
  io_dead_letter_writer writer;
  kafka_share_policy kafka_policy;
  std::map<std::string, share_group> groups;  // those of the partitions `store` has loaded
  // Groups of this broker's own log not yet in __consumer_offsets, and the
  // configs an earlier version kept with them (moved to the metadata at start).
  std::map<std::string, stored_share_group> local_groups;
  std::map<std::string, share_overrides> local_configs;
  std::map<sp_key, sp_entry> parts;
  std::map<sp_key, int32_t> reading;  // states being read, at the leader epoch they were asked at
  std::set<sp_key> read_again;        // reads that failed: asked again at the next tick
  // Where a share-partition with no state starts (share.auto.offset.reset),
  // as of when it was first asked for: a state read that takes a while
  // does not move it.
  std::map<sp_key, int64_t> first_start;
  // DescribeShareGroupOffsets waiting for states being read here (tried
  // again each tick, at most `state_wait`).
  struct deferred_describe {
    std::vector<adapter::share_offsets_request> reqs;
    std::function<void(std::vector<adapter::share_offsets_result>)> done;
    clock::time_point until;
  };
  std::vector<deferred_describe> deferred;
  std::set<sp_key> dirty;
  std::shared_ptr<round_barrier> barrier = std::make_shared<round_barrier>();  // this round's
  std::map<std::string, std::map<int32_t, int32_t>> led;  // this round's view: topic -> partition -> leader epoch
  clock::time_point next_leadership_check{};
  share_sessions sessions;
  std::map<std::string, uint32_t> holders;  // member id -> holder number
  uint32_t next_holder = 1;
  std::list<parked_fetch> waiting;
  uint64_t next_parked = 1;
  bool wake = false;  // something may have become acquirable
  size_t dead_letters_in_flight = 0;
  bool retry_dead_letters = false;
  clock::time_point next_dead_letter_retry{};
  int ticks = 0;
  std::vector<std::function<void(const round_barrier&)>> after_flush;

  const config::group_settings& cfg() const { return opts.settings; }
  group_io& io() const { return *opts.io; }
  // Runs `f` when the round's writes are answered: with whether all of
  // them succeeded, or with the round's outcome per share-partition.
  void later(std::function<void(bool durable)> f) {
    after_flush.push_back([f = std::move(f)](const round_barrier& b) { f(b.durable()); });
  }
  void later_round(std::function<void(const round_barrier&)> f) { after_flush.push_back(std::move(f)); }
  clock::time_point now() const { return ctx.now; }

  // The policy generation of this round, taken as it begins: a swap never
  // splits a round between two policies.
  std::shared_ptr<const share_policy> policy_ref;
  const share_policy& policy() const { return policy_ref ? *policy_ref : kafka_policy; }
  void begin_round(clock::time_point t);

  // Claims a group id for a share group; false if the group coordinator's.
  bool claim(const std::string& id) { return opts.kinds == nullptr || opts.kinds->claim(id, group_kinds::kind::share); }

  // The share group `id`, made if it does not exist; null if the id is a
  // consumer or classic group's.
  share_group* get_or_create(const std::string& id);

  share_group* find_group(const std::string& id);

  const share_group_config& conf(const share_group* g) const { return g ? g->config : defaults; }
  // A group's configs (in the metadata), known here as a group or not (a
  // share-partition leader serves groups whose members are elsewhere).
  const share_group_config& conf(const std::string& group);
  std::map<std::string, share_group_config> config_cache;  // groups not known here
  uint64_t config_seen = UINT64_MAX;                       // the metadata's config version they are of
  // Takes up config changes (each round, when the metadata's moved).
  void refresh_configs();
  // Configs an earlier version kept in its own log, proposed to the metadata.
  void migrate_configs(const std::string& id, const share_overrides& configs);

  uint32_t holder_of(const std::string& member);

  // ---- persistence ----

  // The group's configs are in the metadata, not in its record.
  void put_group(const share_group& g) { store.put(g.id, {g.epoch, g.state_topics}); }
  // A partition of __consumer_offsets loaded here: its share groups taken
  // up, and this broker's own records of groups that hash to it moved in.
  void groups_loaded(int32_t p, std::map<std::string, stored_share_group> stored);
  // A partition no longer served here: its groups forgotten (their members
  // join again at the new coordinator; share-partitions are not touched).
  void groups_unloaded(int32_t p);
  // Whether this broker coordinates the group now (NOT_COORDINATOR or
  // COORDINATOR_LOAD_IN_PROGRESS if not), for the coordinator's requests.
  error coordinates(const std::string& group) { return store.gate(group); }

  // The leader epoch this broker leads a topic-partition at, if it does.
  std::optional<int32_t> leads(const std::string& topic, int32_t partition);

  // Sends a share-state request whose answer the round's answers wait for.
  void call_in_round(const share_state_request& req, std::function<void(const share_state_answer&)> then = {});

  // Writes the state of the share-partitions the round changed (one write
  // out per share-partition at a time) and seals the round's barrier.
  void end_round();
  void start_write(const sp_key& k, sp_entry& e);
  void state_written(const sp_key& k, int32_t leader_epoch, const share_state_answer& a,
                     const std::vector<std::shared_ptr<round_barrier>>& rounds);

  // Reads a share-partition's state from its coordinator (this broker
  // leads the topic-partition at `epoch`).
  void start_read(const sp_key& k, const std::string& topic, int32_t epoch);
  void state_read(const sp_key& k, const std::string& topic, int32_t epoch, const share_state_answer& a);
  // A new share-partition: its start from share.auto.offset.reset.
  sp_entry* initialise(const sp_key& k, const std::string& topic, int32_t epoch);
  std::optional<int64_t> reset_start(const sp_key& k, const std::string& topic);
  // Drops the share-partitions whose topic-partition this broker no longer
  // leads (or leads at another epoch); their states stay with the coordinator.
  void follow_leadership();
  void unload(const sp_key& k, const char* why);

  // Forgets a share-partition's state, at its coordinator too; returns the next entry.
  std::map<sp_key, sp_entry>::iterator erase_state(std::map<sp_key, sp_entry>::iterator it);

  void write_all();

  share_state_log::visitor loader();
  // A group record of an earlier version's share-state log.
  void legacy_group(const std::string& id, int32_t epoch, const share_overrides& configs);

  // ---- share-partitions ----

  // The share-partition of `k` if its state is here. Otherwise null, with
  // `code` set if this broker does not lead the partition (or it does not
  // exist), or none while its state is being read (asked for here).
  sp_entry* share_state(const sp_key& k, error& code);

  // Reads a partition from `offset` without waiting (whole batches,
  // copied); nothing if the broker answered nothing.
  std::optional<adapter::fetched_partition> read_now(const std::string& topic, int32_t partition, int64_t offset,
                                                     int32_t max_bytes);

  // Acquires records of one share-partition for `holder` into `out`.
  // Acquisition is record by record, so MaxRecords holds exactly in both
  // acquire modes (batch_optimized may exceed it in Kafka; here it need
  // not, and workers sharing a partition get even shares).
  void acquire_from(const sp_key& k, sp_entry& e, uint32_t holder, int32_t& budget, size_t& bytes_left, bool& taken_any,
                    adapter::share_fetched_partition& out);

  // Acquires from the batches of one read; the number of records taken.
  int32_t take_batches(const sp_key& k, sp_entry& e, const adapter::fetched_partition& f, int64_t from, int64_t limit,
                       uint32_t holder, int32_t& budget, size_t& bytes_left, bool& taken_any,
                       adapter::share_fetched_partition& out);

  // ---- dead letters (KIP-1191) ----

  // Hands records that entered ARCHIVING to the DLQ handler plugin. Never
  // blocks: a handler that is full, or a write that fails, leaves the
  // record ARCHIVING, and it is offered again a second later.
  void send_dead_letters(const sp_key& k, sp_entry& e, const std::vector<dead_letter>& letters);

  void dead_letter_written(const sp_key& k, int64_t offset, bool ok, const std::string& why);

  void collect_dead_letters(const sp_key& k, sp_entry& e);

  // ---- membership ----

  share_inputs inputs();

  // What a membership call asked: the share-partitions it assigned made to
  // exist, the group's record written.
  void apply(share_group& g, const share_effects& fx);

  // `leaving`: the member said so (a leave heartbeat); its open session
  // stays a moment for the final acknowledgements. Otherwise (expired,
  // removed) what it holds is released now.
  void remove_member(share_group& g, const std::string& member, bool leaving = false);

  // Gives up every record `holder` holds in the group's share-partitions.
  void release_member(const std::string& group, uint32_t holder);

  adapter::share_heartbeat_result heartbeat(const adapter::share_heartbeat_request& req);

  // ---- acknowledgements and fetches ----

  // Applies one partition's acknowledgements; the outcome is the partition's
  // acknowledgement error.
  std::pair<error, std::string> apply_acks(const std::string& group, uint32_t holder,
                                           const adapter::share_partition_acks& a);

  void close_session(const std::string& group, const std::string& member);

  void start_fetch(adapter::share_fetch_request req, std::function<void(adapter::share_fetch_result)> done);

  static adapter::share_fetched_partition& slot_for(adapter::share_fetch_result& res, const uuid& topic,
                                                    int32_t partition);

  // Acquires records for a fetch across its session's partitions. True if
  // any were acquired (or the fetch failed): then it is answered.
  bool fill(parked_fetch& f);

  // Asks the broker to tell us when a parked fetch's partitions get new
  // records (a long-polling broker fetch from each share-partition's end).
  // Only partitions that wait for new records: one whose in-flight bound is
  // reached, or that reads committed records only (the broker's fetch
  // counts up to the high watermark), would wake it at once and for
  // nothing; those are retried on the timer tick instead.
  void arm(parked_fetch& f);

  // Answers a ShareFetch of `member` of `group` once the round's writes
  // are answered. A share-partition whose write failed has its
  // acknowledgements answered KAFKA_STORAGE_ERROR and its acquisitions
  // withheld.
  void later_answer(const std::string& group, const std::string& member, adapter::share_fetch_result res,
                    std::function<void(adapter::share_fetch_result)> done);
  // Takes back the acquisitions of `p` (their state write failed): they
  // are not handed out, and go back to the available set as if never
  // delivered (a new leader, reading the state persisted before, would
  // hand them out at the same delivery count).
  void withhold(const sp_key& k, uint32_t holder, adapter::share_fetched_partition& p);

  // Retries parked fetches (something may be acquirable) and answers
  // those whose wait is over.
  void retry_parked(bool all);

  adapter::share_ack_result acknowledge(const adapter::share_ack_request& req);

  // ---- timers ----

  // Forgets the share state of topics that were deleted (their ids are
  // never reused), now and then: a deleted topic's share-partitions would
  // otherwise stay in the log until their group is deleted.
  void forget_deleted_topics();

  void expire();

  // ---- inspection and admin ----

  adapter::share_partition_offsets describe_partition(const sp_key& k, const sp_entry& e);

  void describe_offsets(std::vector<adapter::share_offsets_request> reqs,
                        std::function<void(std::vector<adapter::share_offsets_result>)> done,
                        clock::time_point until = {});
  bool states_pending(const std::vector<adapter::share_offsets_request>& reqs);
  // Asks for the states led here that a request is about and that are not
  // loaded, so that its answer can wait for them (after a restart, say)
  // instead of answering no state while they are read.
  void read_states(const std::vector<adapter::share_offsets_request>& reqs);
  // The share-partitions a DescribeShareGroupOffsets request is about
  // (those of unknown topics go straight into `r`).
  std::vector<std::pair<adapter::topic_info, int32_t>> offsets_wanted(const adapter::share_offsets_request& req,
                                                                      const share_group& group,
                                                                      adapter::share_offsets_result& r);
  // Forgets the states of every partition of a topic for a group, here and
  // at their coordinators.
  void erase_states(const std::string& group, const adapter::topic_info& t);

  adapter::share_group_description describe(const std::string& id);

  // AlterShareGroupOffsets: only while the group has no members; a new
  // start throws away every in-flight state, the share-partition restarts
  // there.
  adapter::share_offsets_result alter_offsets(const std::string& group_id,
                                              std::vector<adapter::share_partition_offsets> offsets);

  // DeleteShareGroupOffsets: the named topics' share-partitions forgotten.
  std::pair<error, std::vector<std::pair<std::string, error>>> delete_offsets(const std::string& group_id,
                                                                              const std::vector<std::string>& topics);

  std::vector<adapter::config_value> describe_configs(const std::string& group_id,
                                                      const std::vector<std::string>& names);

  // IncrementalAlterConfigs on a GROUP resource: every change checked
  // before any is made (any thread: it reads the settings only).
  adapter::outcome check_configs(const std::string& group_id, const std::vector<adapter::config_change>& changes) const;

  // DeleteGroups for share groups: only those without members.
  error remove_group(const std::string& id);

  // At start-up, after the log is read.
  void restored();

  static int64_t mono_ms(clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  }
};

}  // namespace mosaic::groups

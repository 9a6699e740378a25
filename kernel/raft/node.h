// One Raft node: a deterministic state machine with no threads, no clock
// and no I/O of its own. Its driver feeds it events (`tick`, `step`,
// `propose`, `read_index`, ...) and then calls `flush()`, which syncs the
// storage once for everything those events wrote, applies what is
// committed, and hands back the messages to send. Many events between two
// flushes share one fsync: that is the group commit that makes batched
// commits cheap.
//
// What it implements (README.md has the why of each):
// - elections with randomised timeouts and pre-vote, leader stickiness
//   (a voter that hears a leader ignores vote requests), check-quorum (a
//   leader that has not heard from a majority for an election timeout
//   steps down);
// - replication with conflict truncation, pipelined appends, a hint that
//   skips a whole conflicting term, commit by majority of the current term;
// - snapshots taken from the state machine every `snapshot_entries` applied
//   entries, the log compacted behind them, and sent in chunks to a
//   follower whose next entry is no longer in the log;
// - leadership transfer (TimeoutNow), for controlled shutdown;
// - membership changes one voter at a time, a new voter first caught up;
// - linearizable reads by read index (see `read_index`).
//
// Threading: none. Every call must come from one thread at a time.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "kernel/base/status.h"
#include "kernel/raft/storage.h"
#include "kernel/raft/types.h"

namespace mosaic::raft {

// The replicated state machine. Called from `flush()`.
class state_machine {
 public:
  virtual ~state_machine() = default;
  // A committed entry, in index order, each exactly once per incarnation
  // (config and noop entries too: a state machine may ignore them).
  virtual void apply(const entry& e) = 0;
  // The state as of the last applied entry.
  virtual std::vector<uint8_t> take_snapshot() = 0;
  // Replaces the state with a snapshot's (at start-up, or one received).
  virtual void restore(const snapshot_meta& meta, std::span<const uint8_t> data) = 0;
};

struct options {
  node_id id = no_node;
  // The voters a brand-new cluster starts with. Used only when the storage
  // is empty; a node joining an existing cluster leaves it empty and learns
  // the configuration from the leader.
  configuration bootstrap;
  // The state machine's state a new cluster starts from (a snapshot at
  // index 0), with `bootstrap`; empty: the empty state.
  std::vector<uint8_t> bootstrap_state;
  int election_ticks = 10;  // timeouts are drawn from [election_ticks, 2 * election_ticks)
  int heartbeat_ticks = 1;
  bool pre_vote = true;
  bool check_quorum = true;
  size_t max_append_bytes = 256 * 1024;  // entries per append request
  int max_inflight = 32;                 // append requests in flight per follower
  index_t snapshot_entries = 4096;       // applied entries between snapshots; 0: never
  uint64_t snapshot_bytes = 0;           // or this many bytes of entries applied; 0: no byte trigger
  // The byte trigger waits for at least the last snapshot's size of
  // entries: taking a snapshot costs the whole image, so a large image is
  // snapshotted after the log has grown by as much (the work stays linear
  // in what was written, and a restart replays at most that much).
  bool snapshot_bytes_scale = false;
  index_t snapshot_trailing = 64;  // entries kept behind a snapshot for slow followers
  // And at most this many bytes of them (0: no cap), except what a voter
  // still needs.
  uint64_t snapshot_trailing_bytes = 0;
  size_t snapshot_chunk_bytes = 1024 * 1024;
  uint64_t seed = 0;  // for the election timeouts
};

enum class role : uint8_t { follower, pre_candidate, candidate, leader };
const char* role_name(role r);

// What the leader knows of another node.
struct peer_progress {
  node_id id = no_node;
  bool voter = false;
  index_t match = 0;
  index_t next = 1;
  int ticks_since_ack = 0;  // ticks since a response from it
};

// A read confirmed by a quorum: linearizable once `applied >= index`.
struct read_ready {
  uint64_t id = 0;
  index_t index = 0;
};

class node {
 public:
  node(options opts, storage& store, state_machine& sm);

  // Events.
  void tick();
  void step(const message& m);
  // Appends a command as leader. Returns its index; it is committed once
  // `applied() >= index` with the entry at that index of the same term
  // (the state machine sees it). Errors: not the leader, a transfer in
  // progress.
  result<index_t> propose(std::vector<uint8_t> data, entry_type type = entry_type::command);
  // Asks for a linearizable read: once a quorum has confirmed this node was
  // still the leader after the call, `flush()` reports `id` with the commit
  // index of the call, and a read of the state machine after it has applied
  // that index sees every write acknowledged before the call. Leader only.
  status read_index(uint64_t id);
  // Hands leadership to `to` (a voter): brings it up to date, then tells it
  // to start an election. Proposals are refused meanwhile; it gives up after
  // an election timeout.
  status transfer_leadership(node_id to);
  // One voter at a time; refused while another change is uncommitted or
  // before the leader has committed an entry of its term. A new voter is
  // first replicated to until it has caught up, then the change is
  // appended.
  status add_voter(node_id id);
  status remove_voter(node_id id);
  // Replicates to `id` without counting it (an observer: a broker-only
  // node following the metadata). Leader only; a new leader knows no
  // observers until they announce themselves again.
  status add_observer(node_id id);

  // Syncs the storage if anything was written, applies committed entries,
  // and returns the messages to send (in order).
  std::vector<message> flush();
  // Reads confirmed since the last call (after `flush()`).
  std::vector<read_ready> take_reads();
  // Reads that can no longer complete (leadership lost) since the last call.
  std::vector<uint64_t> take_failed_reads();

  // State.
  node_id id() const { return opts_.id; }
  role current_role() const { return role_; }
  bool is_leader() const { return role_ == role::leader; }
  term_t term() const { return hard_.term; }
  node_id leader() const { return leader_; }
  node_id voted_for() const { return hard_.voted_for; }
  index_t commit_index() const { return commit_; }
  index_t applied() const { return applied_; }
  index_t first_index() const { return log_first_; }
  index_t last_index() const { return log_first_ + static_cast<index_t>(log_.size()) - 1; }
  term_t term_at(index_t i) const;  // -1 if unknown (compacted or past the end)
  const entry* entry_at(index_t i) const;
  const snapshot_meta& snapshot_info() const { return snap_.meta; }
  const configuration& config() const { return config_; }
  std::optional<node_id> pending_voter() const;
  // The leader's view of the others (empty on a follower).
  std::vector<peer_progress> progress() const;
  int ticks_since_leader() const { return elapsed_; }

 private:
  struct peer {
    bool voter = false;
    index_t match = 0;
    index_t next = 1;
    enum class mode : uint8_t { probe, replicate, snapshot } state = mode::probe;
    int inflight = 0;
    bool active = false;  // heard from since the last check-quorum
    int ticks_since_ack = 0;
    int ticks_since_send = 0;
    int ticks_since_progress = 0;  // ticks since `match` last moved
    uint64_t read_ack = 0;
    uint64_t snap_offset = 0;  // snapshot mode: the next chunk
    index_t snap_index = 0;
  };
  struct pending_read {
    uint64_t id;
    index_t index;
    uint64_t seq;
  };
  struct catch_up {
    node_id id = no_node;
    int ticks = 0;
  };

  // Roles.
  void become_follower(term_t term, node_id leader);
  void become_pre_candidate();
  void become_candidate();
  void become_leader();
  void campaign(bool pre, bool transfer);
  void reset_timeout();

  // Handlers.
  void on_vote_request(node_id from, const vote_request& r);
  void on_vote_response(node_id from, const vote_response& r);
  void on_append_request(node_id from, const append_request& r);
  void on_append_response(node_id from, const append_response& r);
  void on_snapshot_request(node_id from, const snapshot_request& r);
  void on_snapshot_response(node_id from, const snapshot_response& r);
  void on_timeout_now(node_id from, const timeout_now& r);

  // Leader side.
  void replicate_to(node_id id, peer& p, bool heartbeat);
  // A fresh peer, probed from the end of the log (a joining voter, an
  // observer).
  void start_replicating(node_id id);
  // The peer a response came from, marked as heard from (leader only;
  // null otherwise or for a stranger).
  peer* heard_from(node_id from);
  void send_snapshot_chunk(node_id id, peer& p);
  void broadcast(bool heartbeat);
  void maybe_commit();
  void confirm_reads();
  void after_config_change();
  void reset_peers();
  void tick_leader();
  void fail_reads();

  // Log.
  void append_local(std::vector<entry> entries);  // as leader: at the end
  void truncate_from(index_t i);
  bool log_up_to_date(index_t last_index, term_t last_term) const;
  void recompute_config();
  // The configuration in force at entry `i`, and (in `from`) where it was
  // set.
  configuration config_as_of(index_t i, index_t* from) const;
  // The last entry a new snapshot lets the log drop (see the options).
  index_t trailing_from() const;
  void apply_committed();
  void maybe_snapshot();
  void install_snapshot(snapshot snap);
  void persist_hard_state();
  void send(node_id to, message_body body);
  bool can_vote() const { return config_.contains(opts_.id); }

  options opts_;
  storage& store_;
  state_machine& sm_;
  std::mt19937_64 rng_;

  hard_state hard_;
  role role_ = role::follower;
  node_id leader_ = no_node;
  index_t commit_ = 0;
  index_t applied_ = 0;
  index_t synced_ = 0;  // the last index known durable here
  bool dirty_ = false;  // written since the last sync

  // The log after the snapshot (entries log_first_ .. last_index()).
  snapshot snap_;
  index_t log_first_ = 1;
  std::vector<entry> log_;
  configuration config_;
  index_t config_index_ = 0;  // the entry the configuration came from (0: snapshot)

  int elapsed_ = 0;  // ticks since the last election event or leader contact
  int timeout_ = 0;  // the current randomised election timeout
  int heartbeat_elapsed_ = 0;
  uint64_t applied_bytes_ = 0;  // of entries applied since the last snapshot
  int quorum_elapsed_ = 0;
  std::map<node_id, bool> votes_;

  // Leader state.
  std::map<node_id, peer> peers_;
  node_id transferee_ = no_node;
  int transfer_elapsed_ = 0;
  std::optional<catch_up> joining_;
  std::set<node_id> observers_;
  uint64_t read_seq_ = 0;
  std::vector<pending_read> reads_;
  bool term_committed_ = false;  // an entry of this term is committed
  bool read_round_ = false;      // reads wait for the next heartbeat round

  // Follower side of a snapshot transfer.
  std::optional<snapshot> incoming_;

  std::vector<message> outbox_;
  std::vector<read_ready> ready_reads_;
  std::vector<uint64_t> failed_reads_;
};

}  // namespace mosaic::raft

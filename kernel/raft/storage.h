// What Raft keeps on disk: the hard state (term, vote), the log after the
// snapshot, and the latest snapshot.
//
// The node calls the writing methods in order and then `sync()`; nothing it
// wrote may be taken as durable before `sync()` returns, and a crash may keep
// any prefix of the writes since the last sync (never a later write without
// the earlier ones). The node sends no message that depends on a write until
// that sync, which is how a vote or an acknowledged entry survives a crash.
//
// `memory_storage` keeps it all in memory with exactly those crash rules, for
// unit tests and the simulation (`crash()` drops a random suffix of the
// unsynced writes). A file-backed implementation backs mosaicd.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <span>
#include <variant>
#include <vector>

#include "kernel/raft/types.h"

namespace mosaic::raft {

// What a node starts from.
struct persistent_state {
  hard_state hard;
  std::optional<snapshot> snap;  // absent: nothing yet (a new node)
  std::vector<entry> entries;    // consecutive, after the snapshot's index
};

class storage {
 public:
  virtual ~storage() = default;
  virtual persistent_state load() = 0;
  virtual void save_hard_state(const hard_state& hs) = 0;
  // Removes every entry at `entries.front().index` or later, then appends
  // `entries` (consecutive). An empty span with `from` removes from `from`.
  virtual void append(index_t from, std::span<const entry> entries) = 0;
  // Stores `snap` as the latest snapshot and removes the entries up to
  // `compact_through` (at most the snapshot's index).
  virtual void save_snapshot(const snapshot& snap, index_t compact_through) = 0;
  virtual void sync() = 0;
};

class memory_storage final : public storage {
 public:
  persistent_state load() override { return durable_; }
  void save_hard_state(const hard_state& hs) override { pending_.emplace_back(hs); }
  void append(index_t from, std::span<const entry> entries) override {
    pending_.emplace_back(append_op{from, {entries.begin(), entries.end()}});
  }
  void save_snapshot(const snapshot& snap, index_t compact_through) override {
    pending_.emplace_back(snapshot_op{snap, compact_through});
  }
  void sync() override;

  // A crash: the first `keep` unsynced writes reach the disk, the rest are
  // lost.
  void crash(size_t keep);
  size_t unsynced() const { return pending_.size(); }
  size_t syncs() const { return syncs_; }
  const persistent_state& durable() const { return durable_; }

 private:
  struct append_op {
    index_t from;
    std::vector<entry> entries;
  };
  struct snapshot_op {
    snapshot snap;
    index_t compact_through;
  };
  using op = std::variant<hard_state, append_op, snapshot_op>;
  void apply(op& o);

  persistent_state durable_;
  std::deque<op> pending_;
  size_t syncs_ = 0;
};

}  // namespace mosaic::raft

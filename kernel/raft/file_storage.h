// Raft's storage on disk, in one folder of its own:
//
//   quorum-state  the hard state (term, vote), replaced whole
//   snapshot      the latest snapshot (its index, term, voters and the
//                 state machine's bytes), replaced whole
//   log           the entries after the snapshot, appended; each record is
//                 [u32 length][u32 CRC-32C][i64 term][i64 index][u8 type][data]
//
// `sync()` makes every write since the last one durable: the log is
// fdatasync'd, then a changed hard state replaces its file (write, sync,
// rename). A snapshot is written at once (the log first synced, so order is
// kept), and the log is then rewritten without the entries it covers. At
// start-up a torn or corrupt tail of the log (a crash mid-append) is cut
// off; a corrupt snapshot or quorum-state file is an error, since they are
// only ever replaced whole.
//
// A disk error is sticky: `health()` reports it and the owner stops the
// node (nothing written after a failed sync may be acknowledged).
//
// Threading: one thread at a time, the Raft node's.
#pragma once

#include <filesystem>
#include <vector>

#include "kernel/base/status.h"
#include "kernel/raft/storage.h"

namespace mosaic::raft {

class file_storage final : public storage {
 public:
  // Opens (or creates) the folder and reads what it holds.
  static result<std::unique_ptr<file_storage>> open(const std::filesystem::path& dir);
  ~file_storage() override;
  file_storage(const file_storage&) = delete;
  file_storage& operator=(const file_storage&) = delete;

  persistent_state load() override { return loaded_; }
  void save_hard_state(const hard_state& hs) override;
  void append(index_t from, std::span<const entry> entries) override;
  void save_snapshot(const snapshot& snap, index_t compact_through) override;
  void sync() override;

  status health() const { return error_; }
  // Bytes cut from a torn tail when the log was opened.
  uint64_t torn_bytes() const { return torn_; }
  uint64_t log_bytes() const { return end_; }

 private:
  explicit file_storage(std::filesystem::path dir) : dir_(std::move(dir)) {}
  status read_all();
  status rewrite_log(index_t keep_after);
  void fail(status s);

  std::filesystem::path dir_;
  int fd_ = -1;
  uint64_t end_ = 0;               // bytes of whole records in the log file
  index_t first_ = 0;              // index of the first record in the file (0: none)
  std::vector<uint64_t> offsets_;  // of each record, from first_
  bool log_dirty_ = false;
  bool hard_dirty_ = false;
  hard_state hard_;
  persistent_state loaded_;
  uint64_t torn_ = 0;
  status error_;
};

}  // namespace mosaic::raft

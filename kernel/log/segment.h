// One segment of a partition log: `<base offset>.log` holding whole record
// batches back to back, with a sparse offset index and a time index kept in
// memory and written beside it (`.index`, `.timeindex`) when the segment is
// sealed or the log closes.
//
// Threading: the owning partition_log serialises appends, truncation and
// sealing. Readers may look things up at any time: the indexes are behind
// their own mutex, and the file bytes below `size()` never change while the
// segment is the active one (truncation happens only under the partition's
// lock, with no reader past the new end).
#pragma once

#include <sys/uio.h>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "kernel/base/status.h"
#include "kernel/log/open_files.h"

namespace mosaic::log {

// A byte range of a segment file, for sendfile. Holds the descriptor open
// (past an eviction from open_files, or the segment's deletion).
struct file_slice {
  std::shared_ptr<const file_handle> owner;
  int fd = -1;
  uint64_t position = 0;
  uint64_t length = 0;
};

class segment {
 public:
  struct offset_entry {
    uint32_t relative_offset;
    uint32_t position;
  };
  struct time_entry {
    int64_t timestamp;
    uint32_t relative_offset;
  };
  // What an append tells the segment about one batch it wrote.
  struct appended_batch {
    int64_t base_offset;
    int64_t last_offset;
    int64_t max_timestamp;
    uint64_t position;
    uint64_t size;
  };

  static std::string file_name(int64_t base_offset, const char* suffix);

  // A new, empty segment (fails if the file exists).
  static result<std::shared_ptr<segment>> create(const std::filesystem::path& dir, int64_t base_offset,
                                                 size_t index_interval_bytes);
  // An existing segment. Its size is the file's; `recover` must run before
  // it is trusted. The file itself is opened when first needed: a sealed
  // segment whose indexes are whole costs no descriptor until it is read.
  // Any segment's file may be closed again by open_files (the descriptor
  // bound) and opened at its next use.
  static result<std::shared_ptr<segment>> open(const std::filesystem::path& dir, int64_t base_offset,
                                               size_t index_interval_bytes);
  ~segment();
  segment(const segment&) = delete;
  segment& operator=(const segment&) = delete;

  struct recovery {
    uint64_t valid_bytes = 0;      // whole, valid batches from the start
    uint64_t truncated_bytes = 0;  // the torn or corrupt tail cut off
    std::string reason;            // why it was cut, if it was
  };
  // Loads the index files if they are whole and agree with the log file;
  // otherwise (or with `full_scan`) rebuilds them by reading every batch and
  // checking its CRC. From the last indexed batch on, every batch is read and
  // checked; the file is cut at the first batch that is torn or corrupt.
  result<recovery> recover(bool full_scan);

  // Writes `iov` (whole, patched batches) at the end with writev. With
  // `preallocate_bytes`, disk blocks are first reserved past the end, in
  // steps that large, without changing the file's size (see README.md).
  status append(std::span<const iovec> iov, std::span<const appended_batch> batches, uint64_t preallocate_bytes = 0);
  // Gives back the blocks reserved past the end (a sealed segment's).
  status release_preallocation();
  // Forces data to disk (opening the file again if it was closed with
  // unsynced writes: a sync covers the file, whichever descriptor asks).
  status flush() const;
  // Writes the index files (temp file, fsync, rename).
  status write_indexes() const;
  // Removes every batch whose last offset is >= `offset`; returns the new
  // next offset.
  result<int64_t> truncate_from(int64_t offset);
  // Deletes the segment's files. A descriptor it has open stays open
  // (pinned) for readers still holding the segment, until the segment goes.
  status remove_files();
  // Keeps the file open until the segment goes, never evicted: for a
  // segment whose name is about to point elsewhere (a compaction swap).
  // False if it cannot be opened.
  bool pin_file() const;

  // The position of the first batch that holds `offset` or a later one, and
  // that batch's base offset; nullopt if the segment ends before it.
  struct located {
    uint64_t position;
    int64_t base_offset;
  };
  std::optional<located> locate(int64_t offset, uint64_t size_limit) const;
  // The position just after the last whole batch that starts before
  // `position_limit`, scanning from an indexed position at or below it.
  uint64_t whole_batches_end(uint64_t from, uint64_t position_limit) const;
  // The size of the whole batch at `position` if it ends by `limit`, else 0.
  uint64_t batch_size_at(uint64_t position, uint64_t limit) const {
    auto h = read_header(position, limit);
    return h ? h->size : 0;
  }
  // The first offset whose batch has max timestamp >= `ts`, if any.
  std::optional<int64_t> offset_for_timestamp(int64_t ts, uint64_t size_limit) const;

  int64_t base_offset() const noexcept { return base_offset_; }
  int64_t next_offset() const noexcept { return next_offset_.load(std::memory_order_acquire); }
  uint64_t size() const noexcept { return size_.load(std::memory_order_acquire); }
  int64_t max_timestamp() const noexcept { return max_timestamp_.load(std::memory_order_acquire); }
  // When the segment got its first batch (wall clock, ms), for segment.ms.
  int64_t first_append_ms() const noexcept { return first_append_ms_; }
  void set_first_append_ms(int64_t ms) noexcept { first_append_ms_ = ms; }
  // The file's descriptor, opening it if need be (marks the segment used,
  // for open_files); null if it cannot be opened (errno says why). Hold it
  // for as long as the descriptor is used.
  std::shared_ptr<const file_handle> file() const;
  bool file_open() const;
  const std::filesystem::path& path() const noexcept { return log_path_; }
  size_t index_entries() const;

 private:
  segment(std::filesystem::path dir, int64_t base_offset, std::shared_ptr<file_handle> file, uint64_t size,
          size_t index_interval_bytes);
  // Reads a batch header at `position`: base offset, framed size, last
  // offset, max timestamp; nullopt if not whole below `limit`.
  struct header_info {
    int64_t base_offset;
    uint64_t size;
    int64_t last_offset;
    int64_t max_timestamp;
  };
  std::optional<header_info> read_header(uint64_t position, uint64_t limit) const;
  std::optional<header_info> read_header(int fd, uint64_t position, uint64_t limit) const;
  // open_files' side: closes the file if nobody holds it and it is not
  // pinned (under open_files' lock); false if it stays.
  friend class open_files;
  static constexpr size_t not_in_ring = SIZE_MAX;
  bool drop_file() const;
  bool load_indexes();
  void add_to_index(const appended_batch& b);

  std::filesystem::path dir_;
  std::filesystem::path log_path_;
  int64_t base_offset_;
  // The open file (null while closed), under fd_mu_; used_ and ring_pos_
  // belong to open_files (ring_pos_ under its lock).
  mutable std::mutex fd_mu_;
  mutable std::shared_ptr<file_handle> file_;
  mutable bool pinned_ = false;
  mutable std::atomic<bool> used_{true};
  mutable size_t ring_pos_ = not_in_ring;
  // Written since the last flush: a flush must sync even if the file was
  // closed meanwhile.
  mutable std::atomic<bool> dirty_{false};
  size_t index_interval_bytes_;
  std::atomic<uint64_t> size_;
  std::atomic<int64_t> next_offset_;
  std::atomic<int64_t> max_timestamp_{-1};
  int64_t first_append_ms_ = 0;
  uint64_t bytes_since_index_ = 0;
  // Blocks are reserved up to here (written by the appender, under the
  // partition's lock; 0 after a reopen: nothing known).
  uint64_t preallocated_to_ = 0;
  bool preallocate_ = true;  // false once the file system refused

  mutable std::mutex index_mu_;
  std::vector<offset_entry> offset_index_;
  std::vector<time_entry> time_index_;
};

}  // namespace mosaic::log

// The segment files a process holds open, bounded (`log.max.open.files`).
//
// A descriptor is the one resource every partition would otherwise keep
// for its whole life: a broker with more partitions than its descriptor
// limit could not create, append to or checkpoint the next one, and its
// sockets would starve too. Segments open their file on demand and register
// here; past the limit the least recently used are closed (the CLOCK
// approximation: a segment marks itself used on each access, the hand skips
// marked ones once and clears the mark). A closed segment opens again on its
// next access. The bound is the process's because the descriptor limit is.
//
// A descriptor is a shared `file_handle`: whoever holds one (a read's file
// slice on its way to sendfile, an append's writev) keeps the descriptor
// valid past an eviction, which only drops the segment's own reference. So
// the bound is soft by the handles in flight, never a closed descriptor in
// use.
//
// Threading: thread-safe. Lock order: this cache's lock, then a segment's
// file lock (a segment registers after releasing its own).
#pragma once

#include <atomic>
#include <cstddef>
#include <mutex>
#include <vector>

namespace mosaic::log {

class segment;

// One open descriptor, closed when the last holder lets go.
class file_handle {
 public:
  explicit file_handle(int fd) noexcept;
  ~file_handle();
  file_handle(const file_handle&) = delete;
  file_handle& operator=(const file_handle&) = delete;
  int fd() const noexcept { return fd_; }

 private:
  int fd_;
};

class open_files {
 public:
  // The process's cache.
  static open_files& instance();

  // The most segment files open at once; 0: half the process's descriptor
  // limit (RLIMIT_NOFILE's soft value), at least 16.
  void set_limit(size_t limit);
  size_t limit() const noexcept { return limit_.load(std::memory_order_relaxed); }
  // How many segments hold their file open now.
  size_t open_count() const;
  // Segment file descriptors open now: the segments' own and those only
  // readers still hold (a fetch's file slices waiting for sendfile).
  static size_t descriptors() noexcept { return live_.load(std::memory_order_relaxed); }
  // At or past the limit: a reader that would hold descriptors for long
  // should copy the bytes instead.
  bool crowded() const noexcept { return descriptors() >= limit(); }
  // Descriptors closed to keep within the limit since start-up.
  uint64_t evictions() const noexcept { return evictions_.load(std::memory_order_relaxed); }

  // A segment opened its file: it joins the ring, and others are closed if
  // the count is past the limit.
  void opened(const segment* s);
  // A segment closed its file itself (or is going away).
  void closed(const segment* s);
  // The system refused a descriptor (EMFILE, ENFILE): closes up to `n`
  // unused segment files whatever the limit says; returns how many.
  size_t make_room(size_t n);

 private:
  open_files();
  // Closes one unused, unpinned file, moving the hand; false if none could go.
  bool evict_one_locked();
  // Closes files until the count is within the limit (or none can go).
  void trim_locked();
  void remove_locked(const segment* s);

  friend class file_handle;
  static inline std::atomic<size_t> live_{0};
  std::atomic<size_t> limit_;
  std::atomic<uint64_t> evictions_{0};
  mutable std::mutex mu_;
  std::vector<const segment*> ring_;
  size_t hand_ = 0;
};

}  // namespace mosaic::log

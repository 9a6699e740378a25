#include "kernel/log/open_files.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>

#include "kernel/log/segment.h"

namespace mosaic::log {

namespace {

size_t default_limit() {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) return 1 << 16;
  return std::max<size_t>(16, static_cast<size_t>(rl.rlim_cur) / 2);
}

}  // namespace

file_handle::file_handle(int fd) noexcept : fd_(fd) { open_files::live_.fetch_add(1, std::memory_order_relaxed); }

file_handle::~file_handle() {
  if (fd_ >= 0) ::close(fd_);
  open_files::live_.fetch_sub(1, std::memory_order_relaxed);
}

open_files& open_files::instance() {
  // Never destroyed: a segment may outlive static destruction's turn.
  static open_files* cache = new open_files();
  return *cache;
}

open_files::open_files() : limit_(default_limit()) {}

void open_files::set_limit(size_t limit) {
  limit_.store(limit == 0 ? default_limit() : std::max<size_t>(limit, 1), std::memory_order_relaxed);
  std::lock_guard lock(mu_);
  trim_locked();
}

size_t open_files::open_count() const {
  std::lock_guard lock(mu_);
  return ring_.size();
}

void open_files::opened(const segment* s) {
  std::lock_guard lock(mu_);
  if (s->ring_pos_ == segment::not_in_ring) {
    s->ring_pos_ = ring_.size();
    ring_.push_back(s);
  }
  trim_locked();
}

void open_files::trim_locked() {
  const size_t cap = limit_.load(std::memory_order_relaxed);
  while (ring_.size() > cap)
    if (!evict_one_locked()) break;  // every other file is in use: over the limit for now
}

void open_files::closed(const segment* s) {
  std::lock_guard lock(mu_);
  remove_locked(s);
}

size_t open_files::make_room(size_t n) {
  std::lock_guard lock(mu_);
  size_t done = 0;
  while (done < n && evict_one_locked()) ++done;
  return done;
}

void open_files::remove_locked(const segment* s) {
  const size_t at = s->ring_pos_;
  if (at == segment::not_in_ring) return;
  ring_[at] = ring_.back();
  ring_[at]->ring_pos_ = at;
  ring_.pop_back();
  s->ring_pos_ = segment::not_in_ring;
  if (hand_ >= ring_.size()) hand_ = 0;
}

bool open_files::evict_one_locked() {
  // Two turns of the hand: the first may only clear the marks.
  for (size_t looked = 0, n = ring_.size(); looked < 2 * n && !ring_.empty(); ++looked) {
    if (hand_ >= ring_.size()) hand_ = 0;
    const segment* s = ring_[hand_];
    if (s->used_.exchange(false, std::memory_order_relaxed)) {
      ++hand_;
      continue;
    }
    if (!s->drop_file()) {
      ++hand_;
      continue;
    }
    remove_locked(s);  // the hand now points at the one moved into its place
    evictions_.fetch_add(1, std::memory_order_relaxed);
    return true;
  }
  return false;
}

}  // namespace mosaic::log

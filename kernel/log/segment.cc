#include "kernel/log/segment.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstring>

#include "kernel/base/crc32c.h"
#include "kernel/base/file.h"
#include "kernel/log/record_batch.h"

namespace mosaic::log {

namespace {

constexpr uint32_t index_magic = 0x4D4F5349;  // "MOSI"
constexpr uint32_t index_version = 1;
// A segment reserves disk ahead only once it holds this much (see append).
constexpr uint64_t min_preallocation = 64 << 10;

status io_error(const std::string& what, const std::filesystem::path& p) {
  return status(errc::io, what + " " + p.string() + ": " + std::strerror(errno));
}

bool pread_all(int fd, void* buf, size_t n, uint64_t pos) {
  auto* p = static_cast<uint8_t*>(buf);
  while (n > 0) {
    ssize_t r = ::pread(fd, p, n, static_cast<off_t>(pos));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    p += r;
    n -= static_cast<size_t>(r);
    pos += static_cast<uint64_t>(r);
  }
  return true;
}

// An index file: magic, version, the log bytes and next offset it covers,
// the entry count, the entries, and a CRC-32C of all that.
struct index_file_header {
  uint32_t magic;
  uint32_t version;
  uint64_t covered_bytes;
  int64_t next_offset;
  uint64_t count;
};

template <class Entry>
status write_index_file(const std::filesystem::path& path, const index_file_header& h,
                        const std::vector<Entry>& entries) {
  std::vector<uint8_t> buf(sizeof(h) + entries.size() * sizeof(Entry) + 4);
  std::memcpy(buf.data(), &h, sizeof(h));
  if (!entries.empty()) std::memcpy(buf.data() + sizeof(h), entries.data(), entries.size() * sizeof(Entry));
  uint32_t crc = crc32c::extend(0, buf.data(), buf.size() - 4);
  std::memcpy(buf.data() + buf.size() - 4, &crc, 4);
  return replace_file(path, buf);
}

template <class Entry>
bool read_index_file(const std::filesystem::path& path, index_file_header& h, std::vector<Entry>& entries) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  struct stat st {};
  bool ok = ::fstat(fd, &st) == 0 && static_cast<size_t>(st.st_size) >= sizeof(h) + 4;
  std::vector<uint8_t> buf(ok ? static_cast<size_t>(st.st_size) : 0);
  ok = ok && pread_all(fd, buf.data(), buf.size(), 0);
  ::close(fd);
  if (!ok) return false;
  std::memcpy(&h, buf.data(), sizeof(h));
  if (h.magic != index_magic || h.version != index_version) return false;
  if (buf.size() != sizeof(h) + h.count * sizeof(Entry) + 4) return false;
  uint32_t stored = 0;
  std::memcpy(&stored, buf.data() + buf.size() - 4, 4);
  if (stored != crc32c::extend(0, buf.data(), buf.size() - 4)) return false;
  entries.resize(h.count);
  if (h.count > 0) std::memcpy(entries.data(), buf.data() + sizeof(h), h.count * sizeof(Entry));
  return true;
}

}  // namespace

std::string segment::file_name(int64_t base_offset, const char* suffix) {
  char name[64];
  std::snprintf(name, sizeof(name), "%020" PRId64 "%s", base_offset, suffix);
  return name;
}

namespace {

// open(2), with room made in open_files when the process is out of
// descriptors (a few unused segment files closed, then one more try).
int open_file(const std::filesystem::path& path, int flags, mode_t mode = 0) {
  int fd = ::open(path.c_str(), flags, mode);
  if (fd < 0 && (errno == EMFILE || errno == ENFILE) && open_files::instance().make_room(8) > 0)
    fd = ::open(path.c_str(), flags, mode);
  return fd;
}

}  // namespace

segment::segment(std::filesystem::path dir, int64_t base_offset, std::shared_ptr<file_handle> file, uint64_t size,
                 size_t index_interval_bytes)
    : dir_(std::move(dir)),
      log_path_(dir_ / file_name(base_offset, ".log")),
      base_offset_(base_offset),
      file_(std::move(file)),
      index_interval_bytes_(index_interval_bytes),
      size_(size),
      next_offset_(base_offset) {}

segment::~segment() { open_files::instance().closed(this); }

std::shared_ptr<const file_handle> segment::file() const {
  used_.store(true, std::memory_order_relaxed);
  {
    std::lock_guard lock(fd_mu_);
    if (file_) return file_;
  }
  const int fd = open_file(log_path_, O_RDWR | O_CLOEXEC | O_APPEND);
  if (fd < 0) return nullptr;
  auto opened = std::make_shared<file_handle>(fd);
  {
    std::lock_guard lock(fd_mu_);
    if (file_) return file_;  // another thread opened it first; ours closes here
    file_ = opened;
  }
  open_files::instance().opened(this);
  return opened;
}

bool segment::file_open() const {
  std::lock_guard lock(fd_mu_);
  return file_ != nullptr;
}

bool segment::drop_file() const {
  std::lock_guard lock(fd_mu_);
  // One in use stays: closing it would not give its descriptor back yet.
  if (pinned_ || (file_ && file_.use_count() > 1)) return false;
  file_.reset();
  return true;
}

bool segment::pin_file() const {
  auto f = file();
  std::lock_guard lock(fd_mu_);
  if (!f) return false;
  if (!file_) file_ = std::const_pointer_cast<file_handle>(f);  // evicted just now: take it back
  pinned_ = true;
  return true;
}

result<std::shared_ptr<segment>> segment::create(const std::filesystem::path& dir, int64_t base_offset,
                                                 size_t index_interval_bytes) {
  const auto path = dir / file_name(base_offset, ".log");
  int fd = open_file(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_APPEND, 0644);
  if (fd < 0) return io_error("cannot create segment", path);
  std::shared_ptr<segment> s(new segment(dir, base_offset, std::make_shared<file_handle>(fd), 0, index_interval_bytes));
  open_files::instance().opened(s.get());
  return s;
}

result<std::shared_ptr<segment>> segment::open(const std::filesystem::path& dir, int64_t base_offset,
                                               size_t index_interval_bytes) {
  const auto path = dir / file_name(base_offset, ".log");
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return io_error("cannot stat segment", path);
  return std::shared_ptr<segment>(
      new segment(dir, base_offset, nullptr, static_cast<uint64_t>(st.st_size), index_interval_bytes));
}

std::optional<segment::header_info> segment::read_header(uint64_t position, uint64_t limit) const {
  auto f = file();
  return f ? read_header(f->fd(), position, limit) : std::nullopt;
}

std::optional<segment::header_info> segment::read_header(int fd, uint64_t position, uint64_t limit) const {
  uint8_t h[batch_layout::header_size];
  if (position + batch_layout::header_size > limit || !pread_all(fd, h, sizeof(h), position)) return std::nullopt;
  size_t framed = framed_size({h, sizeof(h)});
  if (framed == 0 || position + framed > limit) return std::nullopt;
  batch_view v{{h, sizeof(h)}};
  return header_info{v.base_offset(), framed, v.last_offset(), v.max_timestamp()};
}

bool segment::load_indexes() {
  index_file_header oh{}, th{};
  std::vector<offset_entry> offsets;
  std::vector<time_entry> times;
  if (!read_index_file(dir_ / file_name(base_offset_, ".index"), oh, offsets)) return false;
  if (!read_index_file(dir_ / file_name(base_offset_, ".timeindex"), th, times)) return false;
  if (oh.covered_bytes != th.covered_bytes || oh.covered_bytes > size()) return false;
  for (size_t i = 0; i < offsets.size(); ++i)
    if (offsets[i].position >= oh.covered_bytes ||
        (i > 0 && (offsets[i].position <= offsets[i - 1].position ||
                   offsets[i].relative_offset < offsets[i - 1].relative_offset)))
      return false;
  std::lock_guard lock(index_mu_);
  offset_index_ = std::move(offsets);
  time_index_ = std::move(times);
  size_.store(oh.covered_bytes, std::memory_order_release);
  next_offset_.store(oh.next_offset, std::memory_order_release);
  if (!time_index_.empty()) max_timestamp_.store(time_index_.back().timestamp, std::memory_order_release);
  return true;
}

void segment::add_to_index(const appended_batch& b) {
  bytes_since_index_ += b.size;
  const bool first = offset_index_.empty();
  if (!first && bytes_since_index_ < index_interval_bytes_) {
    if (b.max_timestamp > max_timestamp_.load(std::memory_order_relaxed))
      max_timestamp_.store(b.max_timestamp, std::memory_order_release);
    return;
  }
  bytes_since_index_ = 0;
  const auto rel = static_cast<uint32_t>(b.base_offset - base_offset_);
  std::lock_guard lock(index_mu_);
  offset_index_.push_back({rel, static_cast<uint32_t>(b.position)});
  // The time index records the running maximum at index points.
  int64_t running = std::max(max_timestamp_.load(std::memory_order_relaxed), b.max_timestamp);
  if (time_index_.empty() || running > time_index_.back().timestamp) time_index_.push_back({running, rel});
  max_timestamp_.store(running, std::memory_order_release);
}

result<segment::recovery> segment::recover(bool full_scan) {
  const uint64_t file_size = size();
  recovery r;
  uint64_t pos = 0;
  if (!full_scan && load_indexes()) {
    pos = size();  // resume after what the index covers
  } else {
    std::lock_guard lock(index_mu_);
    offset_index_.clear();
    time_index_.clear();
    next_offset_.store(base_offset_, std::memory_order_release);
    max_timestamp_.store(-1, std::memory_order_release);
  }
  bytes_since_index_ = index_interval_bytes_;  // the next batch gets an entry
  if (pos >= file_size) {
    r.valid_bytes = pos;
    size_.store(pos, std::memory_order_release);
    return r;  // the indexes cover it all: the file is not even opened
  }
  auto f = file();
  if (!f) return io_error("cannot open segment", log_path_);
  std::vector<uint8_t> buf;
  while (pos < file_size) {
    auto h = read_header(f->fd(), pos, file_size);
    if (!h) {
      r.reason = "torn batch at position " + std::to_string(pos);
      break;
    }
    buf.resize(h->size);
    if (!pread_all(f->fd(), buf.data(), buf.size(), pos)) {
      r.reason = "cannot read position " + std::to_string(pos);
      break;
    }
    auto check = validate_batch(buf, SIZE_MAX, batch_origin::log);
    if (!check.ok()) {
      r.reason = "batch at position " + std::to_string(pos) + ": " + check.message;
      break;
    }
    if (h->base_offset < next_offset() || h->last_offset - base_offset_ > UINT32_MAX) {
      r.reason = "batch at position " + std::to_string(pos) + " has offset " + std::to_string(h->base_offset) +
                 " out of order";
      break;
    }
    add_to_index({h->base_offset, h->last_offset, h->max_timestamp, pos, h->size});
    pos += h->size;
    next_offset_.store(h->last_offset + 1, std::memory_order_release);
  }
  r.valid_bytes = pos;
  r.truncated_bytes = file_size - pos;
  if (r.truncated_bytes > 0 && ::ftruncate(f->fd(), static_cast<off_t>(pos)) != 0)
    return io_error("cannot truncate", log_path_);
  size_.store(pos, std::memory_order_release);
  return r;
}

status segment::append(std::span<const iovec> iov, std::span<const appended_batch> batches,
                       uint64_t preallocate_bytes) {
  uint64_t total = 0;
  for (const auto& v : iov) total += v.iov_len;
  auto f = file();
  if (!f) return io_error("cannot open segment", log_path_);
  const int fd = f->fd();
  dirty_.store(true, std::memory_order_relaxed);
  // Blocks reserved ahead spare ext4 its per-page delayed-allocation work in
  // each write (a third of the write's CPU, measured). KEEP_SIZE: the file's
  // size stays what was written, so readers and recovery see no difference.
  // The reserve never passes what the segment already holds (so it at most
  // doubles the disk a segment takes) and starts at 64 KiB written: a step
  // for every partition with a record would hold 4 MiB x partitions of
  // disk (100,000 partitions of a few records filled a 250 GB disk).
  const uint64_t end = size() + total;
  if (preallocate_bytes > 0 && preallocate_ && end > preallocated_to_ && end >= min_preallocation) {
    const uint64_t to = end + std::min<uint64_t>(preallocate_bytes, end);
    if (::fallocate(fd, FALLOC_FL_KEEP_SIZE, static_cast<off_t>(size()), static_cast<off_t>(to - size())) == 0)
      preallocated_to_ = to;
    else
      preallocate_ = false;  // not supported here, or no space (the write says so then)
  }
  // One writev normally takes it all; only a short write needs a copy of the
  // vector to step through, so the usual append allocates nothing here.
  std::span<const iovec> todo = iov;
  std::vector<iovec> rest;
  uint64_t done = 0;
  while (done < total) {
    ssize_t n = ::writev(fd, todo.data(), static_cast<int>(std::min<size_t>(todo.size(), IOV_MAX)));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      // Leave no partial batch behind: cut back to where this append began.
      const int saved = errno;
      [[maybe_unused]] const int cut = ::ftruncate(fd, static_cast<off_t>(size()));
      errno = saved;
      return io_error("cannot append to", log_path_);
    }
    done += static_cast<uint64_t>(n);
    if (done == total) break;
    if (rest.empty()) rest.assign(todo.begin(), todo.end());
    auto left = static_cast<size_t>(n);
    size_t first = 0;
    while (left >= rest[first].iov_len) left -= rest[first++].iov_len;
    rest[first].iov_base = static_cast<uint8_t*>(rest[first].iov_base) + left;
    rest[first].iov_len -= left;
    rest.erase(rest.begin(), rest.begin() + static_cast<std::ptrdiff_t>(first));
    todo = rest;
  }
  for (const auto& b : batches) add_to_index(b);
  if (!batches.empty()) next_offset_.store(batches.back().last_offset + 1, std::memory_order_release);
  size_.fetch_add(total, std::memory_order_acq_rel);
  return {};
}

status segment::release_preallocation() {
  // Truncating to the size it has frees the blocks past the end (and any
  // reserved before a crash, which this segment does not know of: a file
  // opened here since start-up may hold some).
  if (preallocated_to_ == 0 && !file_open()) return {};
  auto f = file();
  if (!f) return io_error("cannot open segment", log_path_);
  if (::ftruncate(f->fd(), static_cast<off_t>(size())) != 0) return io_error("cannot trim", log_path_);
  preallocated_to_ = 0;
  return {};
}

status segment::flush() const {
  std::shared_ptr<const file_handle> f;
  {
    std::lock_guard lock(fd_mu_);
    f = file_;
  }
  // Closed and nothing written since the last sync: nothing of ours to sync.
  if (!f && !dirty_.load(std::memory_order_relaxed)) return {};
  dirty_.store(false, std::memory_order_relaxed);
  if (!f) f = file();
  if (!f || ::fdatasync(f->fd()) != 0) {
    dirty_.store(true, std::memory_order_relaxed);
    return io_error("cannot sync", log_path_);
  }
  return {};
}

status segment::write_indexes() const {
  std::vector<offset_entry> offsets;
  std::vector<time_entry> times;
  {
    std::lock_guard lock(index_mu_);
    offsets = offset_index_;
    times = time_index_;
  }
  index_file_header h{index_magic, index_version, size(), next_offset(), offsets.size()};
  if (auto s = write_index_file(dir_ / file_name(base_offset_, ".index"), h, offsets); !s.ok()) return s;
  h.count = times.size();
  return write_index_file(dir_ / file_name(base_offset_, ".timeindex"), h, times);
}

std::optional<segment::located> segment::locate(int64_t offset, uint64_t size_limit) const {
  uint64_t pos = 0;
  {
    std::lock_guard lock(index_mu_);
    if (offset > base_offset_) {
      const auto rel = static_cast<uint64_t>(offset - base_offset_);
      auto it = std::upper_bound(offset_index_.begin(), offset_index_.end(), rel,
                                 [](uint64_t r, const offset_entry& e) { return r < e.relative_offset; });
      if (it != offset_index_.begin()) pos = std::prev(it)->position;
    }
  }
  auto f = pos < size_limit ? file() : nullptr;  // once for the whole walk
  if (!f) return std::nullopt;
  while (pos < size_limit) {
    auto h = read_header(f->fd(), pos, size_limit);
    if (!h) return std::nullopt;
    if (h->last_offset >= offset) return located{pos, h->base_offset};
    pos += h->size;
  }
  return std::nullopt;
}

uint64_t segment::whole_batches_end(uint64_t from, uint64_t position_limit) const {
  uint64_t pos = from;
  {
    std::lock_guard lock(index_mu_);
    auto it = std::upper_bound(offset_index_.begin(), offset_index_.end(), position_limit,
                               [](uint64_t p, const offset_entry& e) { return p < e.position; });
    if (it != offset_index_.begin() && std::prev(it)->position > from) pos = std::prev(it)->position;
  }
  const uint64_t limit = std::min(position_limit, size());
  auto f = pos < limit ? file() : nullptr;  // once for the whole walk
  if (!f) return pos;
  while (pos < limit) {
    auto h = read_header(f->fd(), pos, limit);
    if (!h) break;
    pos += h->size;
  }
  return pos;
}

std::optional<int64_t> segment::offset_for_timestamp(int64_t ts, uint64_t size_limit) const {
  uint64_t pos = 0;
  {
    std::lock_guard lock(index_mu_);
    auto it = std::lower_bound(time_index_.begin(), time_index_.end(), ts,
                               [](const time_entry& e, int64_t t) { return e.timestamp < t; });
    // Start from the index point before the first that reaches `ts`.
    if (it != time_index_.begin()) {
      const uint32_t rel = std::prev(it)->relative_offset;
      auto oi = std::lower_bound(offset_index_.begin(), offset_index_.end(), rel,
                                 [](const offset_entry& e, uint32_t r) { return e.relative_offset < r; });
      if (oi != offset_index_.end()) pos = oi->position;
    }
  }
  auto f = pos < size_limit ? file() : nullptr;  // once for the whole walk
  if (!f) return std::nullopt;
  std::vector<uint8_t> buf;
  while (pos < size_limit) {
    auto h = read_header(f->fd(), pos, size_limit);
    if (!h) return std::nullopt;
    if (h->max_timestamp >= ts) {
      // Uncompressed: the first record at or after `ts`. Compressed: the
      // batch's base offset (records are not decompressed here).
      buf.resize(h->size);
      if (!pread_all(f->fd(), buf.data(), buf.size(), pos)) return h->base_offset;
      batch_view b{buf};
      if (b.codec() != 0 || b.log_append_time()) return h->base_offset;
      int64_t found = h->base_offset;
      const int64_t base_ts = b.base_timestamp();
      auto rec = b.records();
      const uint8_t* p = rec.data();
      const uint8_t* end = p + rec.size();
      for (int32_t i = 0; i < b.records_count(); ++i) {
        int64_t len = 0, ts_delta = 0;
        if (!read_varlong(p, end, len) || len < 1 || len > end - p) break;
        const uint8_t* rec_end = p + len;
        ++p;  // attributes
        if (!read_varlong(p, rec_end, ts_delta)) break;
        if (base_ts + ts_delta >= ts) {
          found = h->base_offset + i;
          break;
        }
        p = rec_end;
      }
      return found;
    }
    pos += h->size;
  }
  return std::nullopt;
}

result<int64_t> segment::truncate_from(int64_t offset) {
  auto at = locate(offset, size());
  if (!at) return next_offset();
  auto f = file();
  if (!f || ::ftruncate(f->fd(), static_cast<off_t>(at->position)) != 0) return io_error("cannot truncate", log_path_);
  dirty_.store(true, std::memory_order_relaxed);
  {
    std::lock_guard lock(index_mu_);
    while (!offset_index_.empty() && offset_index_.back().position >= at->position) offset_index_.pop_back();
    const auto rel = static_cast<uint32_t>(at->base_offset - base_offset_);
    while (!time_index_.empty() && time_index_.back().relative_offset >= rel) time_index_.pop_back();
    max_timestamp_.store(time_index_.empty() ? -1 : time_index_.back().timestamp, std::memory_order_release);
  }
  size_.store(at->position, std::memory_order_release);
  preallocated_to_ = 0;  // the truncation freed what was reserved
  next_offset_.store(at->base_offset, std::memory_order_release);
  bytes_since_index_ = index_interval_bytes_;
  // Stale index files would disagree with the file; they are rewritten later.
  std::error_code ec;
  std::filesystem::remove(dir_ / file_name(base_offset_, ".index"), ec);
  std::filesystem::remove(dir_ / file_name(base_offset_, ".timeindex"), ec);
  return at->base_offset;
}

status segment::remove_files() {
  {
    // An open file stays open for the readers still holding the segment.
    std::lock_guard lock(fd_mu_);
    if (file_) pinned_ = true;
  }
  std::error_code ec;
  for (const char* suffix : {".log", ".index", ".timeindex"})
    std::filesystem::remove(dir_ / file_name(base_offset_, suffix), ec);
  return {};
}

size_t segment::index_entries() const {
  std::lock_guard lock(index_mu_);
  return offset_index_.size();
}

}  // namespace mosaic::log

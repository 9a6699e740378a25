#include "kernel/raft/file_storage.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "kernel/base/bytes.h"
#include "kernel/base/crc32c.h"
#include "kernel/base/file.h"

namespace mosaic::raft {

namespace {

constexpr size_t record_header = 8;          // length, crc
constexpr size_t entry_fixed = 8 + 8 + 1;    // term, index, type
constexpr uint32_t max_record = 256u << 20;  // a record larger than this is corruption
constexpr int32_t snapshot_version = 0;
constexpr int32_t state_version = 0;

status errno_status(const std::string& what) { return status(errc::io, what + ": " + std::strerror(errno)); }

std::vector<uint8_t> encode_entry(const entry& e) {
  std::vector<uint8_t> payload;
  payload.reserve(entry_fixed + e.data.size());
  byte_writer w(payload);
  w.i64(e.term);
  w.i64(e.index);
  w.u8(static_cast<uint8_t>(e.type));
  payload.insert(payload.end(), e.data.begin(), e.data.end());
  std::vector<uint8_t> out;
  out.reserve(record_header + payload.size());
  byte_writer h(out);
  h.i32(static_cast<int32_t>(payload.size()));
  h.i32(static_cast<int32_t>(crc32c::value(payload)));
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
}

// A file written whole: [i32 version][u32 crc of the rest][rest].
std::vector<uint8_t> sealed(int32_t version, const std::vector<uint8_t>& body) {
  std::vector<uint8_t> out;
  byte_writer w(out);
  w.i32(version);
  w.i32(static_cast<int32_t>(crc32c::value(body)));
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

result<std::optional<std::vector<uint8_t>>> read_sealed(const std::filesystem::path& p, int32_t version) {
  auto read = read_file(p);
  if (!read && read.error().code() == errc::not_found) return std::optional<std::vector<uint8_t>>{};
  if (!read) return read.error();
  const std::vector<uint8_t>& bytes = *read;
  if (bytes.size() < 8) return status(errc::corrupt, p.string() + " is truncated");
  byte_reader r(std::span<const uint8_t>(bytes).first(8));
  const int32_t v = r.i32();
  const auto crc = static_cast<uint32_t>(r.i32());
  if (v != version) return status(errc::unsupported, p.string() + " is of version " + std::to_string(v));
  std::vector<uint8_t> body(bytes.begin() + 8, bytes.end());
  if (crc32c::value(body) != crc) return status(errc::corrupt, p.string() + " fails its checksum");
  return std::optional<std::vector<uint8_t>>{std::move(body)};
}

status write_all(int fd, const uint8_t* p, size_t n, uint64_t at) {
  while (n > 0) {
    ssize_t w = ::pwrite(fd, p, n, static_cast<off_t>(at));
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return errno_status("cannot write the raft log");
    p += w;
    n -= static_cast<size_t>(w);
    at += static_cast<uint64_t>(w);
  }
  return {};
}

}  // namespace

result<std::unique_ptr<file_storage>> file_storage::open(const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return status(errc::io, "cannot create " + dir.string() + ": " + ec.message());
  std::unique_ptr<file_storage> s(new file_storage(dir));
  if (auto st = s->read_all(); !st) return st;
  return s;
}

file_storage::~file_storage() {
  if (fd_ >= 0) ::close(fd_);
}

status file_storage::read_all() {
  // The hard state.
  auto hs = read_sealed(dir_ / "quorum-state", state_version);
  if (!hs) return hs.error();
  if (*hs) {
    try {
      byte_reader r(**hs);
      hard_.term = r.i64();
      hard_.voted_for = r.i32();
    } catch (const truncated_input&) {
      return status(errc::corrupt, (dir_ / "quorum-state").string() + " is malformed");
    }
  }
  loaded_.hard = hard_;

  // The snapshot.
  auto sn = read_sealed(dir_ / "snapshot", snapshot_version);
  if (!sn) return sn.error();
  if (*sn) {
    try {
      byte_reader r(**sn);
      snapshot s;
      s.meta = read_meta(r);
      s.data = r.bytes();
      loaded_.snap = std::move(s);
    } catch (const truncated_input&) {
      return status(errc::corrupt, (dir_ / "snapshot").string() + " is malformed");
    }
  }

  // The log: whole records with good checksums and consecutive indexes; the
  // first that is not ends it.
  const auto path = dir_ / "log";
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) return errno_status("cannot open " + path.string());
  auto read = read_file(path);
  if (!read) return read.error();
  const std::vector<uint8_t>& bytes = *read;
  size_t at = 0;
  while (bytes.size() - at >= record_header) {
    byte_reader h(std::span<const uint8_t>(bytes).subspan(at, record_header));
    const auto len = static_cast<uint32_t>(h.i32());
    const auto crc = static_cast<uint32_t>(h.i32());
    if (len < entry_fixed || len > max_record || bytes.size() - at - record_header < len) break;
    std::span<const uint8_t> payload(bytes.data() + at + record_header, len);
    if (crc32c::value(payload) != crc) break;
    byte_reader r(payload);
    entry e;
    e.term = r.i64();
    e.index = r.i64();
    const uint8_t type = r.u8();
    if (type > static_cast<uint8_t>(entry_type::noop)) break;
    e.type = static_cast<entry_type>(type);
    if (!loaded_.entries.empty() && e.index != loaded_.entries.back().index + 1) break;
    e.data.assign(payload.begin() + entry_fixed, payload.end());
    if (first_ == 0) first_ = e.index;
    offsets_.push_back(at);
    loaded_.entries.push_back(std::move(e));
    at += record_header + len;
  }
  end_ = at;
  torn_ = bytes.size() - at;
  if (torn_ > 0) {
    if (::ftruncate(fd_, static_cast<off_t>(end_)) != 0)
      return errno_status("cannot cut the torn tail of " + path.string());
    if (::fdatasync(fd_) != 0) return errno_status("cannot sync " + path.string());
  }
  return {};
}

void file_storage::fail(status s) {
  if (error_.ok()) error_ = std::move(s);
}

void file_storage::save_hard_state(const hard_state& hs) {
  hard_ = hs;
  hard_dirty_ = true;
}

void file_storage::append(index_t from, std::span<const entry> entries) {
  if (!error_.ok()) return;
  // Cut everything at `from` or later.
  if (first_ != 0 && from < first_ + static_cast<index_t>(offsets_.size())) {
    const index_t keep = std::max<index_t>(0, from - first_);
    end_ = keep < static_cast<index_t>(offsets_.size()) ? offsets_[static_cast<size_t>(keep)] : end_;
    offsets_.resize(static_cast<size_t>(keep));
    if (offsets_.empty()) first_ = 0;
    if (::ftruncate(fd_, static_cast<off_t>(end_)) != 0) return fail(errno_status("cannot truncate the raft log"));
    log_dirty_ = true;
  }
  if (entries.empty()) return;
  std::vector<uint8_t> buf;
  for (const entry& e : entries) {
    if (first_ == 0) first_ = e.index;
    offsets_.push_back(end_ + buf.size());
    auto rec = encode_entry(e);
    buf.insert(buf.end(), rec.begin(), rec.end());
  }
  if (auto s = write_all(fd_, buf.data(), buf.size(), end_); !s) return fail(s);
  end_ += buf.size();
  log_dirty_ = true;
}

void file_storage::sync() {
  if (!error_.ok()) return;
  if (log_dirty_) {
    if (::fdatasync(fd_) != 0) return fail(errno_status("cannot sync the raft log"));
    log_dirty_ = false;
  }
  if (hard_dirty_) {
    std::vector<uint8_t> body;
    byte_writer w(body);
    w.i64(hard_.term);
    w.i32(hard_.voted_for);
    if (auto s = replace_file(dir_ / "quorum-state", sealed(state_version, body)); !s) return fail(s);
    hard_dirty_ = false;
  }
}

void file_storage::save_snapshot(const snapshot& snap, index_t compact_through) {
  if (!error_.ok()) return;
  // The log up to now first, so that the snapshot never lands before the
  // entries written ahead of it.
  sync();
  if (!error_.ok()) return;
  // Sealed as `sealed` does, built in place: a snapshot of a large image
  // is copied once, not three times.
  std::vector<uint8_t> file;
  file.reserve(snap.data.size() + 4096);
  byte_writer w(file);
  w.i32(snapshot_version);
  w.i32(0);  // the CRC, below
  write_meta(w, snap.meta);
  w.bytes(snap.data);
  const uint32_t crc = crc32c::value(std::span<const uint8_t>(file).subspan(8));
  for (int i = 0; i < 4; ++i) file[4 + static_cast<size_t>(i)] = static_cast<uint8_t>(crc >> (24 - 8 * i));
  if (auto s = replace_file(dir_ / "snapshot", std::span<const uint8_t>(file)); !s) return fail(s);
  if (auto s = rewrite_log(compact_through); !s) fail(s);
}

status file_storage::rewrite_log(index_t keep_after) {
  if (first_ == 0 || keep_after < first_) return {};
  const index_t last = first_ + static_cast<index_t>(offsets_.size()) - 1;
  const auto path = dir_ / "log";
  // The records kept, and where they start in the old file.
  const size_t keep_from = keep_after < last ? static_cast<size_t>(keep_after + 1 - first_) : offsets_.size();
  const uint64_t from = keep_from < offsets_.size() ? offsets_[keep_from] : end_;
  std::vector<uint8_t> rest(end_ - from);
  size_t got = 0;
  while (got < rest.size()) {
    ssize_t n = ::pread(fd_, rest.data() + got, rest.size() - got, static_cast<off_t>(from + got));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return errno_status("cannot read the raft log");
    got += static_cast<size_t>(n);
  }
  if (auto s = replace_file(path, std::span<const uint8_t>(rest)); !s) return s;
  ::close(fd_);
  fd_ = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd_ < 0) return errno_status("cannot reopen " + path.string());
  std::vector<uint64_t> kept;
  for (size_t i = keep_from; i < offsets_.size(); ++i) kept.push_back(offsets_[i] - from);
  offsets_ = std::move(kept);
  end_ = rest.size();
  first_ = offsets_.empty() ? 0 : keep_after + 1;
  return {};
}

}  // namespace mosaic::raft

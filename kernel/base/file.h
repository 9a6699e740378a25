// Small files written whole: checkpoints, indexes, snapshots.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string_view>
#include <vector>

#include "kernel/base/status.h"

namespace mosaic {

// Replaces `path` with `bytes`: written to `path.tmp`, then renamed over
// `path`. With `sync`, the bytes are synced (fdatasync) before the rename and
// the folder after it, so that a crash leaves either the old file or the new
// one, and the new one once the call has returned; without it, a
// crash may leave a torn file, for callers that check their files (a CRC).
status replace_file(const std::filesystem::path& path, std::span<const uint8_t> bytes, bool sync = true);
status replace_file(const std::filesystem::path& path, std::string_view text, bool sync = true);

// The whole of `path` (one fstat and large reads): errc::not_found if it is
// missing, errc::io if it cannot be read.
result<std::vector<uint8_t>> read_file(const std::filesystem::path& path);

// Makes renames and removals in `dir` durable.
status sync_dir(const std::filesystem::path& dir);

// A new file written front to back, then synced and closed by `finish`
// (the cleaner's compacted segments: too large to build in memory).
class file_writer {
 public:
  explicit file_writer(const std::filesystem::path& path);
  ~file_writer();
  file_writer(const file_writer&) = delete;
  file_writer& operator=(const file_writer&) = delete;
  status write(std::span<const uint8_t> bytes);
  status finish();
  uint64_t written() const noexcept { return written_; }

 private:
  std::filesystem::path path_;
  int fd_ = -1;
  status error_;
  uint64_t written_ = 0;
};

}  // namespace mosaic

// Small files written whole: checkpoints, indexes, snapshots.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string_view>

#include "kernel/base/status.h"

namespace mosaic {

// Replaces `path` with `bytes`: written to `path.tmp`, then renamed over
// `path`. With `sync`, the bytes are synced (fdatasync) before the rename and
// the folder after it, so that a crash leaves either the old file or the new
// one, and the new one once the call has returned; without it, a
// crash may leave a torn file, for callers that check their files (a CRC).
status replace_file(const std::filesystem::path& path, std::span<const uint8_t> bytes, bool sync = true);
status replace_file(const std::filesystem::path& path, std::string_view text, bool sync = true);

}  // namespace mosaic

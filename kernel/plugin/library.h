// A plugin library: a shared object opened with Boost.DLL, or a plugin
// linked into the binary ("built-in"). Both are reached through the same
// entry function and pass the same checks before anything in them is used.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "kernel/base/status.h"
#include "mosaic/abi/plugin.h"

namespace mosaic::plugin {

// A plugin linked into the binary: the name of its library (as the shared
// build would be called, without lib/.so: "mosaic_codec_zstd") and its entry.
struct builtin_plugin {
  const char* library_name;
  mosaic_plugin_entry_fn_v1 entry;
};

class library {
 public:
  // Opens `path`, finds the entry symbol and checks the descriptor. Refusals
  // name the file and the reason.
  // `sha256`: the file's digest, if the caller read it (kept for the audit).
  static result<std::shared_ptr<const library>> open(const std::filesystem::path& path, std::string sha256 = {});
  static result<std::shared_ptr<const library>> from_builtin(const builtin_plugin& builtin);

  ~library();
  library(const library&) = delete;
  library& operator=(const library&) = delete;

  const mosaic_plugin_descriptor_v1& descriptor() const noexcept { return *descriptor_; }
  // The file, or "builtin:<name>".
  const std::string& origin() const noexcept { return origin_; }
  bool builtin() const noexcept { return handle_ == nullptr; }
  // The file's SHA-256 in hex, as read before it was opened ("" for a
  // built-in).
  const std::string& sha256() const noexcept { return sha256_; }

 private:
  struct dll;  // Boost.DLL's shared_library, kept out of this header
  library(std::string origin, std::unique_ptr<dll> handle, const mosaic_plugin_descriptor_v1* d);

  std::string origin_;
  std::string sha256_;
  std::unique_ptr<dll> handle_;
  const mosaic_plugin_descriptor_v1* descriptor_;
};

// The load checks, on a descriptor: ABI version, struct sizes, categories,
// names, function pointers, config field declarations. `origin` prefixes
// the message.
status check_descriptor(const mosaic_plugin_descriptor_v1* d, const std::string& origin);

// "codec", "assignor", ... or "unknown".
const char* category_name(int32_t category) noexcept;
// Whether this host can use plugins of `category` (has its function table).
bool category_supported(int32_t category) noexcept;

}  // namespace mosaic::plugin

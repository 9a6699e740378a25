// A plugin library's manifest (sdk/include/mosaic/sdk/plugin.h, "the
// manifest"), read from the file's ".mosaic_manifest" section: what its
// descriptor declares (the library's name, version and ABI, each factory's
// id, category and description, each config field), without loading the
// library or running any of its code. For `mosaic plugin inspect`.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "kernel/base/status.h"

namespace mosaic::plugin {

struct manifest_field {
  std::string name;
  int32_t type = 0;
  uint32_t flags = 0;
  std::string default_value;  // "-" for none
  int64_t min = 0, max = 0;
  std::string description;
};

struct manifest_factory {
  std::string id;
  int32_t category = 0;
  std::string description;
  std::vector<manifest_field> fields;
};

struct manifest {
  std::string library, version, abi;
  std::vector<manifest_factory> factories;
};

// Every manifest in the file (a shared library has one; a binary with
// built-in plugins, one per plugin). not_found: an ELF file without the
// section (a library built before the manifest, or a C plugin, whose
// descriptor is written by hand); corrupt: not a 64-bit little-endian ELF
// file, or a section or manifest that does not read.
result<std::vector<manifest>> read_manifests(const std::filesystem::path& file);

// The manifests in a section's bytes (tests feed it odd ones).
result<std::vector<manifest>> parse_manifests(const std::string& bytes);

}  // namespace mosaic::plugin

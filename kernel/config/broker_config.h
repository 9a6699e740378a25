// The broker's configuration: the YAML file, checked, with `--set`
// overrides applied. yaml-cpp stays inside broker_config.cc.
//
// Every error names where the bad value came from: "FILE:LINE:COLUMN" for
// the file, "--set KEY" for an override, then the key and what is wrong.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "kernel/base/status.h"
#include "mosaic/sdk/config_validation.h"

namespace mosaic::config {

struct listener_config {
  std::string name;
  std::string host;
  uint16_t port = 0;
  std::string adapter;
};

// One entry of `plugins.load`: a plugin id to instantiate, optionally the
// library to take it from, and its config block (checked later, against the
// fields the plugin declares).
struct plugin_entry {
  std::string name;
  std::optional<std::string> library;  // "builtin", a file name or a path
  std::vector<sdk::raw_value> config;
  std::string where;
};

struct broker_config {
  std::filesystem::path source;  // the file it was read from
  int32_t node_id = 1;
  std::vector<std::string> process_roles{"broker", "controller"};
  std::vector<std::filesystem::path> log_dirs{"data"};  // relative to the working directory
  std::string log_level = "info";
  std::vector<listener_config> listeners;
  std::vector<std::filesystem::path> plugin_search_paths;  // relative to the config file's folder
  std::vector<plugin_entry> plugins;
};

// One documented key: for `--help` and the README's table.
struct key_doc {
  const char* key;
  const char* type;
  const char* default_value;
  const char* description;
};
const std::vector<key_doc>& documented_keys();

// Reads `file`, applies `overrides` ("key=value", the value read as YAML),
// and checks the result. `origin` replaces "$ORIGIN" in plugin search paths
// (the folder of the mosaicd binary).
result<broker_config> load_broker_config(const std::filesystem::path& file, const std::vector<std::string>& overrides,
                                         const std::filesystem::path& origin);

// The same, from YAML text; `source_name` stands for the file in messages
// and its folder anchors relative plugin search paths.
result<broker_config> parse_broker_config(const std::string& yaml_text, const std::string& source_name,
                                          const std::vector<std::string>& overrides,
                                          const std::filesystem::path& origin);

}  // namespace mosaic::config

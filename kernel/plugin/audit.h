// The plugin audit log: one JSON object per line for every plugin a node
// puts in service (at start, swapped in by a reload or by a cluster swap)
// and every refusal (a library plugins.trust refused, a reload, a start or a
// cluster swap that failed, here or when it was asked), with the time, the
// node, the slot, the plugin, its library and that library's SHA-256, the
// generation and the config (secrets masked); a cluster swap adds who asked,
// the cluster's generation and the metadata offset. Appended to a
// file that survives restarts (`<first log dir>/plugin-audit.log`); never
// rewritten by the broker.
//
// Threading: `record` may be called from any thread.
#pragma once

#include <cstdint>
#include <filesystem>
#include <mutex>
#include <string>

#include "kernel/base/status.h"

namespace mosaic::plugin {

struct audit_event {
  std::string action;  // load, swap, refuse, rollback
  std::string cause;   // start, reload, cluster
  std::string slot;    // codec.lz4, assignor.uniform, group.share.policy, interceptor.0, ...
  std::string plugin;
  std::string library;  // builtin:..., or the file
  std::string sha256;   // a shared library's
  uint64_t generation = 0;
  std::string config;
  std::string reason;  // a refusal's
  // A cluster swap's (cause "cluster"): who asked, the cluster's
  // generation, and the metadata offset every broker applied it at.
  std::string principal;
  int64_t cluster_generation = -1;
  int64_t offset = -1;
};

class audit_log {
 public:
  audit_log() = default;
  ~audit_log();
  audit_log(const audit_log&) = delete;
  audit_log& operator=(const audit_log&) = delete;

  status open(const std::filesystem::path& file, int32_t node_id);
  // Writes one line (nothing while no file is open).
  void record(const audit_event& e);
  const std::filesystem::path& file() const noexcept { return file_; }

 private:
  std::mutex mu_;
  int fd_ = -1;
  int32_t node_ = 0;
  std::filesystem::path file_;
};

}  // namespace mosaic::plugin

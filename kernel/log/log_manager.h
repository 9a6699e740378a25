// All the partition logs of a node, across its log.dirs. Partitions are
// found by listing folders at start-up and opened only when first used, so
// a node with many idle partitions starts fast and holds little memory for
// them. A background thread runs each open log's periodic work: segment.ms
// rolls, flush.ms flushes and retention.
//
// Threading: every public function is thread-safe. `get` may open (and so
// recover) a log; it does so outside the manager's lock, under the
// partition's own.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "kernel/base/status.h"
#include "kernel/log/partition_log.h"

namespace mosaic::log {

struct log_manager_options {
  std::vector<std::filesystem::path> dirs;
  log_config defaults;
  int64_t tick_ms = 1000;                      // how often open logs get their periodic work
  int64_t retention_check_ms = 5 * 60 * 1000;  // log.retention.check.interval.ms
  bool background = true;                      // run the background thread
};

class log_manager {
 public:
  static result<std::unique_ptr<log_manager>> open(log_manager_options options);
  ~log_manager();
  log_manager(const log_manager&) = delete;
  log_manager& operator=(const log_manager&) = delete;

  // The log of an existing partition, opened on first use.
  result<partition_log*> get(const std::string& topic, int32_t partition);
  // Creates the partition's folder (in the log dir holding the fewest
  // partitions) and opens it; an existing partition is returned as is.
  result<partition_log*> create(const std::string& topic, int32_t partition, const log_config& config);
  // Closes the log and deletes its folder.
  status remove(const std::string& topic, int32_t partition);
  // Topic configs: applied now if open, else when it opens.
  void set_config(const std::string& topic, int32_t partition, const log_config& config);

  size_t partition_count() const;
  // Every partition with its log dir and its size on disk (DescribeLogDirs).
  struct partition_usage {
    std::filesystem::path log_dir;
    std::string folder;  // <topic>-<partition>
    uint64_t bytes = 0;
  };
  std::vector<partition_usage> usage() const;
  const std::vector<std::filesystem::path>& dirs() const noexcept { return options_.dirs; }
  size_t open_count() const;
  // Runs every open log's periodic work once (the background thread's body).
  void run_periodic(bool with_retention);
  // Closes every open log cleanly; the manager is unusable after.
  status close_all();

  static std::string folder_name(const std::string& topic, int32_t partition);

 private:
  struct entry {
    std::filesystem::path dir;
    log_config config;
    std::mutex open_mu;  // serialises the first open
    std::unique_ptr<partition_log> log;
  };
  explicit log_manager(log_manager_options options);
  result<partition_log*> open_entry(entry& e);
  void background_loop();

  log_manager_options options_;
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<entry>> partitions_;  // by folder name
  std::map<std::filesystem::path, size_t> per_dir_;
  bool stopping_ = false;
  std::condition_variable wake_;
  std::thread background_;
};

}  // namespace mosaic::log

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
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "kernel/base/status.h"
#include "kernel/log/log_cleaner.h"
#include "kernel/log/partition_log.h"

namespace mosaic::log {

struct log_manager_options {
  std::vector<std::filesystem::path> dirs;
  log_config defaults;
  int64_t tick_ms = 1000;                      // how often open logs get their periodic work
  int64_t retention_check_ms = 5 * 60 * 1000;  // log.retention.check.interval.ms
  bool background = true;                      // run the background thread
  cleaner_options cleaner;                     // compaction: a thread of its own when enabled
};

// What the cleaner has done since start-up.
struct cleaner_stats {
  uint64_t passes = 0;
  uint64_t bytes_read = 0;
  uint64_t bytes_written = 0;
  uint64_t records_removed = 0;
  uint64_t segments_replaced = 0;
  double busy_seconds = 0;
};

class log_manager {
 public:
  static result<std::unique_ptr<log_manager>> open(log_manager_options options);
  ~log_manager();
  log_manager(const log_manager&) = delete;
  log_manager& operator=(const log_manager&) = delete;

  // How the node's metadata answers for a partition this manager has no
  // entry for (or found on disk and has not heard of since start): the
  // config of a partition this node holds alone, or nullopt.
  struct holding {
    log_config config;
    bool alone = true;
  };
  using resolver = std::function<std::optional<holding>(const std::string& topic, int32_t partition)>;
  // Set by the broker once it can answer; empty: none. Called without the
  // manager's locks held.
  void set_resolver(resolver r);

  // The log of a partition, opened on first use: one with an entry (found
  // on disk, declared or created), or one the resolver says this node
  // holds (its folder made now). So a broker that leads a million
  // partitions holds entries only for those used.
  result<partition_log*> get(const std::string& topic, int32_t partition);
  // The partitions with an entry (found on disk at start, declared,
  // created or used since).
  std::vector<std::pair<std::string, int32_t>> held() const;
  // Creates the partition's folder (in the log dir holding the fewest
  // partitions) and opens it; an existing partition is returned as is.
  result<partition_log*> create(const std::string& topic, int32_t partition, const log_config& config);
  // Makes a partition known, with its config, without opening it or
  // touching the disk: its folder and files are made at its first use
  // (`get`), so a broker that holds many partitions pays for those that
  // are used. `alone`: no other replica, so its high watermark is its log
  // end (set when it opens, and now if it is open and had a replica).
  void declare(const std::string& topic, int32_t partition, const log_config& config, bool alone);
  // Whether the partition is known (declared, created or found on disk).
  bool known(const std::string& topic, int32_t partition) const;
  // Closes the log and deletes its folder.
  status remove(const std::string& topic, int32_t partition);
  // Removes every partition of `topic` held here; returns how many.
  size_t remove_topic(const std::string& topic);
  // Removes the partitions of `topic` whose folder is stamped with another
  // topic id than `topic_id`: a topic of that name deleted and made again;
  // returns how many.
  size_t remove_other_topic(const std::string& topic, const std::string& topic_id);

  // A partition folder's stamp, `partition.metadata` as Kafka writes it
  // ("version: 0" and "topic_id: <id>" lines): the id of the topic whose
  // records it holds; nullopt when there is none (a folder of an earlier
  // version). A folder opened with a config naming a topic id is stamped;
  // one stamped with another id held a deleted topic of the same name, and
  // its records are removed before it opens.
  static std::optional<std::string> stamp_of(const std::filesystem::path& dir);
  // Topic configs: applied now if open (and different), else when it opens.
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
  // Runs every open log's periodic work once (the background thread's
  // body): a partition never opened costs it nothing.
  void run_periodic(bool with_retention);
  // Runs a cleaner pass over every compacted log that is due, dirtiest
  // first (the cleaner thread's body; tests call it directly). A compacted
  // log not open yet is opened to be looked at. Returns how many logs were
  // cleaned.
  size_t run_cleaner();
  cleaner_stats cleaner() const;
  // Closes every open log cleanly; the manager is unusable after.
  status close_all();

  static std::string folder_name(const std::string& topic, int32_t partition);
  // The topic and partition a folder name stands for; nullopt if it is
  // not one ("<topic>-<digits>", the topic not empty).
  static std::optional<std::pair<std::string, int32_t>> parse_folder(const std::string& name);

 private:
  struct entry {
    std::string name;  // <topic>-<partition>
    std::filesystem::path dir;
    log_config config;
    std::mutex open_mu;  // serialises the first open
    std::unique_ptr<partition_log> log;
    bool alone = false;     // the high watermark is the log end (`declare`)
    bool resolved = false;  // config and `alone` come from the broker (declared, created or resolved)
    // Held by the cleaner while it works on the log (not open_mu: appends
    // call `get`). `remove` sets `gone`, which ends a pass, then takes it.
    std::mutex clean_mu;
    std::atomic<bool> gone{false};
  };
  explicit log_manager(log_manager_options options);
  result<partition_log*> open_entry(const std::shared_ptr<entry>& e);
  // Removes the partitions of `topic` whose folder `which` picks.
  size_t remove_topic_if(const std::string& topic, const std::function<bool(const std::filesystem::path& dir)>& which);
  // Before a folder opens: checked against its topic id and stamped.
  static status check_stamp(const entry& e);
  // The partition's entry, made (in the emptiest log dir) if it is new.
  result<std::shared_ptr<entry>> entry_for(const std::string& name, const log_config& config);
  void background_loop();
  void cleaner_loop();

  log_manager_options options_;
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<entry>> partitions_;  // by folder name
  std::map<std::string, std::shared_ptr<entry>> open_;        // those opened, for the periodic work
  std::map<std::string, std::shared_ptr<entry>> compacted_;   // those whose config compacts, for the cleaner
  resolver resolver_;
  // Keeps `compacted_` in step with an entry's config (call without the
  // entry's lock; takes mu_).
  void note_config(const std::shared_ptr<entry>& e, bool compact);
  std::map<std::filesystem::path, size_t> per_dir_;
  bool stopping_ = false;
  std::condition_variable wake_;
  std::thread background_;

  // The cleaner (compaction): its thread, its map (made at the first pass
  // that needs it), its throttle and what it did.
  std::thread cleaner_;
  std::atomic<bool> cleaner_stop_{false};
  std::unique_ptr<offset_map> offset_map_;
  io_throttle throttle_;
  mutable std::mutex cleaner_mu_;
  cleaner_stats cleaner_stats_;
};

}  // namespace mosaic::log

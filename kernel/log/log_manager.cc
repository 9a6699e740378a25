#include "kernel/log/log_manager.h"

#include <chrono>
#include <fstream>

#include "kernel/base/log.h"

namespace mosaic::log {

std::string log_manager::folder_name(const std::string& topic, int32_t partition) {
  return topic + "-" + std::to_string(partition);
}

std::optional<std::pair<std::string, int32_t>> log_manager::parse_folder(const std::string& name) {
  const size_t dash = name.rfind('-');
  if (dash == std::string::npos || dash == 0 || dash + 1 == name.size() || name.size() - dash - 1 > 10 ||
      name.find_first_not_of("0123456789", dash + 1) != std::string::npos)
    return std::nullopt;
  const long long partition = std::stoll(name.substr(dash + 1));
  if (partition > INT32_MAX) return std::nullopt;
  return std::pair{name.substr(0, dash), static_cast<int32_t>(partition)};
}

log_manager::log_manager(log_manager_options options)
    : options_(std::move(options)), throttle_(options_.cleaner.io_bytes_per_second) {}

std::vector<log_manager::partition_usage> log_manager::usage() const {
  std::vector<std::pair<std::string, std::shared_ptr<entry>>> all;
  {
    std::lock_guard g(mu_);
    all.assign(partitions_.begin(), partitions_.end());
  }
  std::vector<partition_usage> out;
  for (const auto& [name, e] : all) {
    partition_usage u;
    u.log_dir = e->dir.parent_path();
    u.folder = name;
    std::error_code ec;
    for (const auto& f : std::filesystem::directory_iterator(e->dir, ec))
      if (f.path().extension() == ".log") u.bytes += f.file_size(ec);
    out.push_back(std::move(u));
  }
  return out;
}

log_manager::~log_manager() { (void)close_all(); }

result<std::unique_ptr<log_manager>> log_manager::open(log_manager_options options) {
  if (options.dirs.empty()) return status(errc::config, "log manager: no log.dirs");
  std::unique_ptr<log_manager> m(new log_manager(std::move(options)));
  for (const auto& dir : m->options_.dirs) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) return status(errc::io, "cannot create " + dir.string() + ": " + ec.message());
    size_t& count = m->per_dir_[dir];
    for (const auto& d : std::filesystem::directory_iterator(dir, ec)) {
      if (!d.is_directory()) continue;
      const std::string name = d.path().filename().string();
      if (!parse_folder(name)) continue;
      auto e = std::make_shared<entry>();
      e->name = name;
      e->dir = d.path();
      e->config = m->options_.defaults;
      if (!m->partitions_.emplace(name, std::move(e)).second)
        return status(errc::corrupt, "partition " + name + " is in two log dirs");
      ++count;
    }
  }
  if (m->options_.background) m->background_ = std::thread([p = m.get()] { p->background_loop(); });
  if (m->options_.background && m->options_.cleaner.enabled)
    m->cleaner_ = std::thread([p = m.get()] { p->cleaner_loop(); });
  return m;
}

namespace {
constexpr const char* stamp_name = "partition.metadata";
}  // namespace

std::optional<std::string> log_manager::stamp_of(const std::filesystem::path& dir) {
  std::ifstream in(dir / stamp_name);
  if (!in) return std::nullopt;
  for (std::string line; std::getline(in, line);)
    if (line.starts_with("topic_id: ")) return line.substr(10);
  return std::nullopt;
}

status log_manager::check_stamp(const entry& e) {
  const std::string& id = e.config.topic_id;
  if (id.empty()) return {};
  const auto stamped = stamp_of(e.dir);
  if (stamped == id) return {};
  std::error_code ec;
  if (stamped) {
    log::warn(
        "log {}: its folder holds topic id {}, a deleted topic of the same name (the topic's id is {} now): "
        "its records are removed",
        e.name, *stamped, id);
    std::filesystem::remove_all(e.dir, ec);
    if (ec) return status(errc::io, "cannot delete " + e.dir.string() + ": " + ec.message());
  }
  std::filesystem::create_directories(e.dir, ec);
  if (ec) return status(errc::io, "cannot create " + e.dir.string() + ": " + ec.message());
  const auto tmp = e.dir / (std::string(stamp_name) + ".tmp");
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << "version: 0\ntopic_id: " << id << "\n";
    if (!out.flush()) return status(errc::io, "cannot write " + tmp.string());
  }
  std::filesystem::rename(tmp, e.dir / stamp_name, ec);
  if (ec) return status(errc::io, "cannot write " + (e.dir / stamp_name).string() + ": " + ec.message());
  return {};
}

result<partition_log*> log_manager::open_entry(const std::shared_ptr<entry>& e) {
  {
    std::lock_guard lock(e->open_mu);
    if (e->log) return e->log.get();
    if (auto st = check_stamp(*e); !st) return st;
    auto l = partition_log::open(e->dir, e->config);
    if (!l) return l.error();
    if (e->alone) (*l)->set_high_watermark((*l)->log_end_offset());
    e->log = std::move(*l);
  }
  // Listed for the periodic work, unless `remove` took it away meanwhile
  // (it marks the entry gone under mu_).
  std::lock_guard lock(mu_);
  if (!e->gone) open_[e->name] = e;
  return e->log.get();
}

void log_manager::set_resolver(resolver r) {
  std::lock_guard lock(mu_);
  resolver_ = std::move(r);
}

result<partition_log*> log_manager::get(const std::string& topic, int32_t partition) {
  const std::string name = folder_name(topic, partition);
  std::shared_ptr<entry> e;
  resolver ask;
  {
    std::lock_guard lock(mu_);
    auto it = partitions_.find(name);
    if (it != partitions_.end()) e = it->second;
    ask = resolver_;
  }
  bool unresolved = false;
  if (e) {
    std::lock_guard lock(e->open_mu);
    unresolved = !e->resolved;
  }
  if ((!e || unresolved) && ask) {
    auto held_here = ask(topic, partition);
    if (held_here) {
      declare(topic, partition, held_here->config, held_here->alone);
      std::lock_guard lock(mu_);
      auto it = partitions_.find(name);
      if (it != partitions_.end()) e = it->second;
    } else if (e) {
      std::lock_guard lock(e->open_mu);
      e->resolved = true;  // not one the broker holds alone: a replica's, opened as it is
    }
  }
  if (!e) return status(errc::not_found, "no log for partition " + name);
  return open_entry(e);
}

std::vector<std::pair<std::string, int32_t>> log_manager::held() const {
  std::vector<std::pair<std::string, int32_t>> out;
  std::lock_guard lock(mu_);
  out.reserve(partitions_.size());
  for (const auto& [name, e] : partitions_)
    if (auto tp = parse_folder(name)) out.push_back(std::move(*tp));
  return out;
}

bool log_manager::known(const std::string& topic, int32_t partition) const {
  std::lock_guard lock(mu_);
  return partitions_.count(folder_name(topic, partition)) != 0;
}

result<std::shared_ptr<log_manager::entry>> log_manager::entry_for(const std::string& name, const log_config& config) {
  std::lock_guard lock(mu_);
  if (stopping_) return status(errc::io, "log manager is closed");
  auto it = partitions_.find(name);
  if (it == partitions_.end()) {
    auto least = std::min_element(per_dir_.begin(), per_dir_.end(),
                                  [](const auto& a, const auto& b) { return a.second < b.second; });
    auto fresh = std::make_shared<entry>();
    fresh->name = name;
    fresh->dir = least->first / name;
    fresh->config = config;
    ++least->second;
    it = partitions_.emplace(name, std::move(fresh)).first;
  }
  return it->second;
}

void log_manager::note_config(const std::shared_ptr<entry>& e, bool compact) {
  std::lock_guard lock(mu_);
  if (compact && !e->gone)
    compacted_[e->name] = e;
  else if (!compact)
    compacted_.erase(e->name);
}

result<partition_log*> log_manager::create(const std::string& topic, int32_t partition, const log_config& config) {
  auto e = entry_for(folder_name(topic, partition), config);
  if (!e) return e.error();
  bool compact = false;
  {
    std::lock_guard lock((*e)->open_mu);
    (*e)->alone = false;  // its replica keeps the high watermark
    (*e)->resolved = true;
    // Found on disk: the folder is checked against the topic's id as it opens.
    if (!(*e)->log && !config.topic_id.empty()) (*e)->config.topic_id = config.topic_id;
    compact = (*e)->config.cleanup_compact;
  }
  note_config(*e, compact);
  return open_entry(*e);
}

namespace {
// A config without a topic id keeps the one known (a topic config change
// does not say which topic it is).
log_config keeping_id(log_config next, const log_config& now) {
  if (next.topic_id.empty()) next.topic_id = now.topic_id;
  return next;
}
}  // namespace

void log_manager::declare(const std::string& topic, int32_t partition, const log_config& given, bool alone) {
  auto e = entry_for(folder_name(topic, partition), given);
  if (!e) return;
  {
    std::lock_guard lock((*e)->open_mu);
    const log_config config = keeping_id(given, (*e)->config);
    if (!((*e)->config == config)) {
      (*e)->config = config;
      if ((*e)->log) (*e)->log->set_config(config);
    }
    // A log that had another replica (whose replica kept the watermark)
    // now has none; one already alone keeps what its appends set.
    if (alone && !(*e)->alone && (*e)->log) (*e)->log->set_high_watermark((*e)->log->log_end_offset());
    (*e)->alone = alone;
    (*e)->resolved = true;
  }
  note_config(*e, given.cleanup_compact);
}

status log_manager::remove(const std::string& topic, int32_t partition) {
  std::shared_ptr<entry> e;
  {
    std::lock_guard lock(mu_);
    auto it = partitions_.find(folder_name(topic, partition));
    if (it == partitions_.end()) return status(errc::not_found, "no log for " + folder_name(topic, partition));
    e = std::move(it->second);
    partitions_.erase(it);
    open_.erase(e->name);
    compacted_.erase(e->name);
    --per_dir_[e->dir.parent_path()];
    e->gone = true;  // a cleaner pass on it ends at its next step; open_entry lists it no more
  }
  std::lock_guard cleaning(e->clean_mu);
  std::lock_guard lock(e->open_mu);
  if (e->log) (void)e->log->close();
  e->log.reset();
  std::error_code ec;
  std::filesystem::remove_all(e->dir, ec);
  if (ec) return status(errc::io, "cannot delete " + e->dir.string() + ": " + ec.message());
  return {};
}

size_t log_manager::remove_topic_if(const std::string& topic,
                                    const std::function<bool(const std::filesystem::path& dir)>& which) {
  std::vector<std::pair<int32_t, std::filesystem::path>> partitions;
  {
    std::lock_guard lock(mu_);
    const std::string prefix = topic + "-";
    // "t-x-1" starts with "t-" too: it is topic "t-x"'s.
    for (auto it = partitions_.lower_bound(prefix); it != partitions_.end() && it->first.starts_with(prefix); ++it)
      if (auto tp = parse_folder(it->first); tp && tp->first == topic)
        partitions.emplace_back(tp->second, it->second->dir);
  }
  size_t removed = 0;
  for (const auto& [p, dir] : partitions)
    if (which(dir)) removed += remove(topic, p).ok() ? 1 : 0;
  return removed;
}

size_t log_manager::remove_topic(const std::string& topic) {
  return remove_topic_if(topic, [](const std::filesystem::path&) { return true; });
}

size_t log_manager::remove_other_topic(const std::string& topic, const std::string& topic_id) {
  return remove_topic_if(topic, [&](const std::filesystem::path& dir) {
    auto stamped = stamp_of(dir);
    return stamped && *stamped != topic_id;
  });
}

void log_manager::set_config(const std::string& topic, int32_t partition, const log_config& given) {
  std::shared_ptr<entry> e;
  {
    std::lock_guard lock(mu_);
    auto it = partitions_.find(folder_name(topic, partition));
    if (it == partitions_.end()) return;
    e = it->second;
  }
  const bool compact = given.cleanup_compact;
  {
    std::lock_guard lock(e->open_mu);
    const log_config config = keeping_id(given, e->config);
    if (e->config == config) return;  // an append may be reading it
    e->config = config;
    if (e->log) e->log->set_config(config);
  }
  note_config(e, compact);
}

size_t log_manager::partition_count() const {
  std::lock_guard lock(mu_);
  return partitions_.size();
}

size_t log_manager::open_count() const {
  std::lock_guard lock(mu_);
  return open_.size();
}

void log_manager::run_periodic(bool with_retention) {
  std::vector<std::shared_ptr<entry>> all;
  {
    std::lock_guard lock(mu_);
    all.reserve(open_.size());
    for (const auto& [name, e] : open_) all.push_back(e);
  }
  for (const auto& e : all) {
    // Under the entry's lock, so that `remove` cannot close it meanwhile.
    std::lock_guard el(e->open_mu);
    if (!e->log) continue;
    if (auto s = e->log->tick(); !s.ok()) log::error("{}: {}", e->dir.string(), s.message());
    if (with_retention) {
      size_t gone = e->log->enforce_retention();
      if (gone > 0) log::info("{}: retention deleted {} segments", e->dir.string(), gone);
    }
  }
}

void log_manager::background_loop() {
  auto next_retention = std::chrono::steady_clock::now() + std::chrono::milliseconds(options_.retention_check_ms);
  std::unique_lock lock(mu_);
  while (!stopping_) {
    wake_.wait_for(lock, std::chrono::milliseconds(options_.tick_ms));
    if (stopping_) break;
    const bool retention = std::chrono::steady_clock::now() >= next_retention;
    if (retention)
      next_retention = std::chrono::steady_clock::now() + std::chrono::milliseconds(options_.retention_check_ms);
    lock.unlock();
    run_periodic(retention);
    lock.lock();
  }
}

size_t log_manager::run_cleaner() {
  std::vector<std::shared_ptr<entry>> all;
  {
    std::lock_guard lock(mu_);
    for (const auto& [name, e] : compacted_) all.push_back(e);
  }
  // The logs that are due, dirtiest first.
  std::vector<std::pair<double, std::shared_ptr<entry>>> due;
  for (const auto& e : all) {
    if (cleaner_stop_) break;
    if (!open_entry(e)) continue;
    std::lock_guard el(e->open_mu);
    if (!e->log || !e->log->config().cleanup_compact) continue;
    const auto view = e->log->cleaning_view();
    if (view.due(e->log->config().min_cleanable_dirty_ratio)) due.emplace_back(view.dirty_ratio, e);
  }
  std::sort(due.begin(), due.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  size_t cleaned = 0;
  for (const auto& candidate : due) {
    const std::shared_ptr<entry>& e = candidate.second;
    if (cleaner_stop_) break;
    std::lock_guard cleaning(e->clean_mu);
    if (e->gone) continue;
    partition_log* log = nullptr;
    {
      std::lock_guard el(e->open_mu);
      log = e->log.get();
    }
    if (log == nullptr) continue;
    if (!offset_map_) offset_map_ = std::make_unique<offset_map>(options_.cleaner.dedupe_buffer_bytes);
    // A pass ends early when the manager stops or the log is removed.
    const auto started = std::chrono::steady_clock::now();
    auto r = clean_log(*log, *offset_map_, throttle_, options_.cleaner.codecs,
                       [&] { return cleaner_stop_.load() || e->gone.load(); });
    const double busy = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    if (!r) {
      log::error("{}: the cleaner failed: {}", e->dir.string(), r.error().message());
      continue;
    }
    ++cleaned;
    std::lock_guard g(cleaner_mu_);
    ++cleaner_stats_.passes;
    cleaner_stats_.bytes_read += r->bytes_read;
    cleaner_stats_.bytes_written += r->bytes_written;
    cleaner_stats_.records_removed += r->records.records_read - r->records.records_kept;
    cleaner_stats_.segments_replaced += static_cast<uint64_t>(r->segments_replaced);
    cleaner_stats_.busy_seconds += busy;
    if (r->segments_replaced > 0)
      log::info(
          "{}: compacted {} segment(s) to offset {}: {} of {} records kept, {} tombstones removed; read {:.1f} MB, "
          "wrote {:.1f} MB in {:.2f} s ({:.0f} MB/s read)",
          e->dir.string(), r->segments_replaced, r->cleaned_to, r->records.records_kept, r->records.records_read,
          r->records.tombstones_removed, static_cast<double>(r->bytes_read) / 1e6,
          static_cast<double>(r->bytes_written) / 1e6, busy, static_cast<double>(r->bytes_read) / 1e6 / busy);
  }
  return cleaned;
}

cleaner_stats log_manager::cleaner() const {
  std::lock_guard g(cleaner_mu_);
  return cleaner_stats_;
}

void log_manager::cleaner_loop() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    wake_.wait_for(lock, std::chrono::milliseconds(options_.cleaner.backoff_ms));
    if (stopping_) break;
    lock.unlock();
    run_cleaner();
    lock.lock();
  }
}

status log_manager::close_all() {
  {
    std::lock_guard lock(mu_);
    if (stopping_ && !background_.joinable() && !cleaner_.joinable() && partitions_.empty()) return {};
    stopping_ = true;
  }
  cleaner_stop_ = true;
  wake_.notify_all();
  if (background_.joinable()) background_.join();
  if (cleaner_.joinable()) cleaner_.join();
  status first;
  std::lock_guard lock(mu_);
  for (auto& [name, e] : partitions_) {
    std::lock_guard el(e->open_mu);
    if (!e->log) continue;
    if (auto s = e->log->close(); !s.ok() && first.ok()) first = s;
    e->log.reset();
  }
  partitions_.clear();
  open_.clear();
  compacted_.clear();
  return first;
}

}  // namespace mosaic::log

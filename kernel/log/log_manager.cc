#include "kernel/log/log_manager.h"

#include <chrono>

#include "kernel/base/log.h"

namespace mosaic::log {

std::string log_manager::folder_name(const std::string& topic, int32_t partition) {
  return topic + "-" + std::to_string(partition);
}

log_manager::log_manager(log_manager_options options) : options_(std::move(options)) {}

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
      const size_t dash = name.rfind('-');
      if (dash == std::string::npos || dash == 0 || dash + 1 == name.size() ||
          name.find_first_not_of("0123456789", dash + 1) != std::string::npos)
        continue;
      auto e = std::make_shared<entry>();
      e->dir = d.path();
      e->config = m->options_.defaults;
      if (!m->partitions_.emplace(name, std::move(e)).second)
        return status(errc::corrupt, "partition " + name + " is in two log dirs");
      ++count;
    }
  }
  if (m->options_.background) m->background_ = std::thread([p = m.get()] { p->background_loop(); });
  return m;
}

result<partition_log*> log_manager::open_entry(entry& e) {
  std::lock_guard lock(e.open_mu);
  if (e.log) return e.log.get();
  auto l = partition_log::open(e.dir, e.config);
  if (!l) return l.error();
  e.log = std::move(*l);
  return e.log.get();
}

result<partition_log*> log_manager::get(const std::string& topic, int32_t partition) {
  entry* e = nullptr;
  {
    std::lock_guard lock(mu_);
    auto it = partitions_.find(folder_name(topic, partition));
    if (it == partitions_.end())
      return status(errc::not_found, "no log for partition " + folder_name(topic, partition));
    e = it->second.get();
  }
  return open_entry(*e);
}

result<partition_log*> log_manager::create(const std::string& topic, int32_t partition, const log_config& config) {
  const std::string name = folder_name(topic, partition);
  entry* e = nullptr;
  {
    std::lock_guard lock(mu_);
    if (stopping_) return status(errc::io, "log manager is closed");
    auto it = partitions_.find(name);
    if (it == partitions_.end()) {
      auto least = std::min_element(per_dir_.begin(), per_dir_.end(),
                                    [](const auto& a, const auto& b) { return a.second < b.second; });
      auto fresh = std::make_shared<entry>();
      fresh->dir = least->first / name;
      fresh->config = config;
      ++least->second;
      it = partitions_.emplace(name, std::move(fresh)).first;
    }
    e = it->second.get();
  }
  return open_entry(*e);
}

status log_manager::remove(const std::string& topic, int32_t partition) {
  std::shared_ptr<entry> e;
  {
    std::lock_guard lock(mu_);
    auto it = partitions_.find(folder_name(topic, partition));
    if (it == partitions_.end()) return status(errc::not_found, "no log for " + folder_name(topic, partition));
    e = std::move(it->second);
    partitions_.erase(it);
    --per_dir_[e->dir.parent_path()];
  }
  std::lock_guard lock(e->open_mu);
  if (e->log) (void)e->log->close();
  e->log.reset();
  std::error_code ec;
  std::filesystem::remove_all(e->dir, ec);
  if (ec) return status(errc::io, "cannot delete " + e->dir.string() + ": " + ec.message());
  return {};
}

void log_manager::set_config(const std::string& topic, int32_t partition, const log_config& config) {
  entry* e = nullptr;
  {
    std::lock_guard lock(mu_);
    auto it = partitions_.find(folder_name(topic, partition));
    if (it == partitions_.end()) return;
    e = it->second.get();
  }
  std::lock_guard lock(e->open_mu);
  e->config = config;
  if (e->log) e->log->set_config(config);
}

size_t log_manager::partition_count() const {
  std::lock_guard lock(mu_);
  return partitions_.size();
}

size_t log_manager::open_count() const {
  std::lock_guard lock(mu_);
  size_t n = 0;
  for (const auto& [name, e] : partitions_) {
    std::lock_guard el(e->open_mu);
    n += e->log ? 1 : 0;
  }
  return n;
}

void log_manager::run_periodic(bool with_retention) {
  std::vector<std::shared_ptr<entry>> all;
  {
    std::lock_guard lock(mu_);
    all.reserve(partitions_.size());
    for (const auto& [name, e] : partitions_) all.push_back(e);
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

status log_manager::close_all() {
  {
    std::lock_guard lock(mu_);
    if (stopping_ && !background_.joinable() && partitions_.empty()) return {};
    stopping_ = true;
  }
  wake_.notify_all();
  if (background_.joinable()) background_.join();
  status first;
  std::lock_guard lock(mu_);
  for (auto& [name, e] : partitions_) {
    std::lock_guard el(e->open_mu);
    if (!e->log) continue;
    if (auto s = e->log->close(); !s.ok() && first.ok()) first = s;
    e->log.reset();
  }
  partitions_.clear();
  return first;
}

}  // namespace mosaic::log

#include "kernel/app/node.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "kernel/base/log.h"

namespace mosaic::app {

node::node(config::broker_config cfg, std::vector<plugin::builtin_plugin> builtins)
    : cfg_(std::move(cfg)), host_(cfg_.plugin_search_paths, std::move(builtins)) {}

node::~node() {
  (void)shutdown();
  for (int fd : lock_fds_) ::close(fd);
}

// The broker-wide log defaults, as the log takes them.
log::log_config to_log_config(const config::log_defaults& d) {
  log::log_config c;
  c.segment_bytes = static_cast<uint64_t>(d.segment_bytes);
  c.segment_ms = d.roll_ms;
  c.index_interval_bytes = static_cast<size_t>(d.index_interval_bytes);
  c.max_message_bytes = static_cast<size_t>(d.message_max_bytes);
  c.retention_ms = d.retention_ms;
  c.retention_bytes = d.retention_bytes;
  c.flush_messages = d.flush_interval_messages;
  c.flush_ms = d.flush_interval_ms;
  c.log_append_time = d.log_append_time;
  return c;
}

status node::shutdown() {
  if (!logs_) return {};
  auto s = logs_->close_all();
  logs_.reset();
  return s;
}

namespace {

// What a running plugin was made from; a reload swaps it when this changes.
std::string fingerprint(const config::plugin_entry& e, const sdk::validated_config& checked) {
  return e.library.value_or("") + "|" + checked.describe(true);
}

}  // namespace

status node::start_plugin(const config::plugin_entry& e, bool dry_run) {
  if (auto s = host_.ensure(e.name, e.library); !s.ok()) return status(s.code(), e.where + ": " + s.message());
  auto inst = host_.create(e.name, e.config, e.where);
  if (!inst) return inst.error();
  if (dry_run) return {};
  auto& f = (*inst)->factory();
  const auto& lib = (*inst)->lib();
  const std::string settings = (*inst)->config().describe();
  if (f.category == MOSAIC_CATEGORY_CODEC) {
    auto gen = codecs_.install(*inst);
    if (!gen) return gen.error();
    log::info("plugin {} ({} {}, {}) is codec {} generation {}{}{}", f.name, lib.descriptor().name,
              lib.descriptor().version, lib.origin(), static_cast<const mosaic_codec_vtable_v1*>(f.vtable)->codec_id,
              *gen, settings.empty() ? "" : ": ", settings);
  }
  running_[e.name] = fingerprint(e, (*inst)->config());
  return {};
}

status node::load_plugins(bool dry_run) {
  for (const auto& e : cfg_.plugins)
    if (auto s = start_plugin(e, dry_run); !s.ok()) return s;
  return {};
}

status node::reload_plugins(const config::broker_config& fresh) {
  status first_error;
  for (const auto& e : fresh.plugins) {
    auto it = running_.find(e.name);
    if (it != running_.end()) {
      // An unchanged entry keeps its generation.
      auto checked = host_.check_config(e.name, e.config, e.where);
      if (checked && it->second == fingerprint(e, **checked)) continue;
    }
    if (auto s = start_plugin(e, false); !s.ok()) {
      log::error("reload: {} (the running generation stays)", s.message());
      if (first_error.ok()) first_error = s;
    }
  }
  return first_error;
}

status node::open_data_dirs() {
  for (const auto& dir : cfg_.log_dirs) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) return status(errc::io, "log.dirs: cannot create '" + dir.string() + "': " + ec.message());
    const auto lock_path = dir / ".lock";
    int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return status(errc::io, "log.dirs: cannot open '" + lock_path.string() + "': " + std::strerror(errno));
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      ::close(fd);
      return status(errc::already_exists, "log.dirs: '" + dir.string() + "' is in use by another mosaicd (locked " +
                                              lock_path.string() + ")");
    }
    lock_fds_.push_back(fd);
    log::info("data folder {}", std::filesystem::absolute(dir).lexically_normal().string());
  }
  log::log_manager_options opts;
  opts.dirs = cfg_.log_dirs;
  opts.defaults = to_log_config(cfg_.log);
  opts.retention_check_ms = cfg_.log.retention_check_interval_ms;
  auto logs = log::log_manager::open(opts);
  if (!logs) return logs.error();
  logs_ = std::move(*logs);
  log::info("{} partition logs found (each opened when first used)", logs_->partition_count());
  return {};
}

}  // namespace mosaic::app

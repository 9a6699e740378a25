#include "kernel/base/log.h"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <memory>

namespace mosaic::log {

namespace {

std::atomic<level> current_level{level::info};

spdlog::logger& logger() {
  // Logs go to stderr so that a command's stdout stays its output.
  static std::shared_ptr<spdlog::logger> l = [] {
    auto made = spdlog::stderr_color_mt("mosaic");
    made->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%-5l%$ %v");
    made->set_level(spdlog::level::trace);  // filtering happens in `enabled`
    return made;
  }();
  return *l;
}

spdlog::level::level_enum to_spdlog(level lv) {
  switch (lv) {
    case level::trace: return spdlog::level::trace;
    case level::debug: return spdlog::level::debug;
    case level::info: return spdlog::level::info;
    case level::warn: return spdlog::level::warn;
    case level::error: return spdlog::level::err;
    case level::off: return spdlog::level::off;
  }
  return spdlog::level::info;
}

}  // namespace

std::optional<level> parse_level(std::string_view name) {
  if (name == "trace") return level::trace;
  if (name == "debug") return level::debug;
  if (name == "info") return level::info;
  if (name == "warn" || name == "warning") return level::warn;
  if (name == "error") return level::error;
  if (name == "off") return level::off;
  return std::nullopt;
}

void set_level(level lv) { current_level.store(lv, std::memory_order_relaxed); }

bool enabled(level lv) noexcept { return lv >= current_level.load(std::memory_order_relaxed) && lv != level::off; }

void write(level lv, std::string_view source, std::string_view message) {
  if (!enabled(lv)) return;
  logger().log(to_spdlog(lv), "[{}] {}", source, message);
}

}  // namespace mosaic::log

// The kernel's logging facade. spdlog stays behind it (in log.cc), so this
// header costs only fmt's. Messages are formatted only when their level is
// enabled.
#pragma once

#include <fmt/format.h>

#include <optional>
#include <string_view>
#include <utility>

namespace mosaic::log {

enum class level { trace = 0, debug, info, warn, error, off };

std::optional<level> parse_level(std::string_view name);
void set_level(level lv);
bool enabled(level lv) noexcept;
// `source` names who speaks: "mosaicd", "plugin", a plugin's id...
void write(level lv, std::string_view source, std::string_view message);

template <class... A>
void at(level lv, std::string_view source, fmt::format_string<A...> f, A&&... args) {
  if (enabled(lv)) write(lv, source, fmt::format(f, std::forward<A>(args)...));
}
template <class... A>
void debug(fmt::format_string<A...> f, A&&... args) {
  at(level::debug, "mosaic", f, std::forward<A>(args)...);
}
template <class... A>
void info(fmt::format_string<A...> f, A&&... args) {
  at(level::info, "mosaic", f, std::forward<A>(args)...);
}
template <class... A>
void warn(fmt::format_string<A...> f, A&&... args) {
  at(level::warn, "mosaic", f, std::forward<A>(args)...);
}
template <class... A>
void error(fmt::format_string<A...> f, A&&... args) {
  at(level::error, "mosaic", f, std::forward<A>(args)...);
}

}  // namespace mosaic::log

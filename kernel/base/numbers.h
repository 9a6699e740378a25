// Small conversions used across the kernel: a decimal integer from text
// (all of it, or nothing), and the wall clock in milliseconds.
#pragma once

#include <charconv>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

namespace mosaic {

// The integer `text` spells, whole; nullopt for anything else (empty,
// trailing characters, out of range).
inline std::optional<int64_t> parse_int64(std::string_view text) {
  int64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return v;
}

// Milliseconds since the Unix epoch (timestamps kept or compared with
// clients'; steady_clock for timers).
inline int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace mosaic

// Which partition of `__consumer_offsets` holds a group, as Kafka computes
// it: Java's String.hashCode of the group id (over its UTF-16 code units),
// made non-negative by Kafka's Utils.abs (Integer.MIN_VALUE becomes 0),
// modulo the partition count. A client that computes its coordinator the
// way Kafka does finds the same partition here.
//
// Threading: pure functions.
#pragma once

#include <cstdint>
#include <string_view>

namespace mosaic::groups {

// The name of the coordinator's internal topic.
inline constexpr const char* offsets_topic_name = "__consumer_offsets";

// Java's String.hashCode of the string whose UTF-8 bytes are `s`. Java
// hashes UTF-16 code units: a code point above U+FFFF counts as its two
// surrogates, and a byte that is not valid UTF-8 as U+FFFD, as Java's
// decoder replaces it.
inline int32_t java_string_hash(std::string_view s) {
  uint32_t h = 0;
  auto unit = [&h](uint32_t u) { h = 31 * h + u; };
  size_t i = 0;
  while (i < s.size()) {
    const auto b = static_cast<unsigned char>(s[i]);
    uint32_t cp = 0xFFFD;
    size_t len = 1;
    uint32_t min = 0;
    if (b < 0x80) {
      cp = b;
    } else if ((b & 0xE0) == 0xC0) {
      len = 2, cp = b & 0x1Fu, min = 0x80;
    } else if ((b & 0xF0) == 0xE0) {
      len = 3, cp = b & 0x0Fu, min = 0x800;
    } else if ((b & 0xF8) == 0xF0) {
      len = 4, cp = b & 0x07u, min = 0x10000;
    } else {
      len = 0;  // a stray continuation byte or an invalid lead byte
    }
    if (len > 1) {
      bool ok = i + len <= s.size();
      for (size_t k = 1; ok && k < len; ++k) {
        const auto c = static_cast<unsigned char>(s[i + k]);
        ok = (c & 0xC0) == 0x80;
        cp = (cp << 6) | (c & 0x3Fu);
      }
      if (!ok || cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
        cp = 0xFFFD;
        len = 1;
      }
    } else if (len == 0) {
      len = 1;
    }
    if (cp >= 0x10000) {
      cp -= 0x10000;
      unit(0xD800 + (cp >> 10));
      unit(0xDC00 + (cp & 0x3FF));
    } else {
      unit(cp);
    }
    i += len;
  }
  return static_cast<int32_t>(h);
}

// Kafka's Utils.abs(groupId.hashCode()) % partitions.
inline int32_t partition_for(std::string_view group_id, int32_t partitions) {
  const int32_t h = java_string_hash(group_id);
  const int32_t positive = h == INT32_MIN ? 0 : (h < 0 ? -h : h);
  return partitions <= 0 ? 0 : positive % partitions;
}

}  // namespace mosaic::groups

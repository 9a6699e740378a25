// Tagged fields of Mosaic's own in Kafka responses. Flexible versions let a
// broker add tagged fields that clients which do not know them skip; Mosaic
// uses tags from 10000 up, far from the ones Kafka's schemas number from 0.
//
//   DescribeLogDirs (v2+), partition: 10000 = the dirty ratio of a compacted
//   topic's partition (float64), what `mosaic topic describe` shows.
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <vector>

#include "plugins/protocol_kafka/protocol/codec.h"

namespace mosaic::kafka {

inline constexpr uint32_t dirty_ratio_tag = 10000;

// A float64 as Kafka writes one: IEEE 754, big-endian.
inline tagged_field float64_tag(uint32_t tag, double value) {
  uint64_t bits = 0;
  std::memcpy(&bits, &value, sizeof(bits));
  tagged_field f{tag, std::vector<uint8_t>(8)};
  for (size_t i = 0; i < 8; ++i) f.data[i] = static_cast<uint8_t>(bits >> (56 - 8 * i));
  return f;
}

inline std::optional<double> float64_tag_value(const std::vector<tagged_field>& tags, uint32_t tag) {
  for (const auto& f : tags) {
    if (f.tag != tag || f.data.size() != 8) continue;
    uint64_t bits = 0;
    for (uint8_t b : f.data) bits = (bits << 8) | b;
    double value = 0;
    std::memcpy(&value, &bits, sizeof(value));
    return value;
  }
  return std::nullopt;
}

}  // namespace mosaic::kafka

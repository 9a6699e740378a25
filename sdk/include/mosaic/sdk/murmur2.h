// Kafka's default partitioner for keyed records: murmur2 of the key bytes
// (the seed and constants of Java's Utils.murmur2), so a key lands where
// Java's producer and librdkafka's murmur2_random partitioner put it. The
// CLI's producer and the HTTP adapter place keys with it.
#pragma once

#include <cstdint>
#include <string_view>

namespace mosaic::sdk {

inline int32_t murmur2(std::string_view key) {
  const uint32_t m = 0x5bd1e995;
  const int r = 24;
  const auto* data = reinterpret_cast<const uint8_t*>(key.data());
  uint32_t h = 0x9747b28c ^ static_cast<uint32_t>(key.size());
  size_t i = 0;
  for (; i + 4 <= key.size(); i += 4) {
    uint32_t k = uint32_t{data[i]} | (uint32_t{data[i + 1]} << 8) | (uint32_t{data[i + 2]} << 16) |
                 (uint32_t{data[i + 3]} << 24);
    k *= m;
    k ^= k >> r;
    k *= m;
    h *= m;
    h ^= k;
  }
  switch (key.size() - i) {
    case 3: h ^= uint32_t{data[i + 2]} << 16; [[fallthrough]];
    case 2: h ^= uint32_t{data[i + 1]} << 8; [[fallthrough]];
    case 1: h ^= uint32_t{data[i]}; h *= m;
  }
  h ^= h >> 13;
  h *= m;
  h ^= h >> 15;
  return static_cast<int32_t>(h);
}

// The partition of `key` among `partitions` (> 0): the hash made positive,
// modulo the count, as Kafka's producers do.
inline int32_t key_partition(std::string_view key, int32_t partitions) {
  return (murmur2(key) & 0x7fffffff) % partitions;
}

}  // namespace mosaic::sdk

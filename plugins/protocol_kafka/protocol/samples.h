// Helpers for the generated round-trip checks (test code only).
#pragma once

#include <string>
#include <vector>

#include "plugins/protocol_kafka/protocol/codec.h"

namespace mosaic::kafka::msg {

inline bytes_ref sample_bytes(int seed) {
  static const uint8_t data[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
  return bytes_ref{data, static_cast<size_t>(1 + seed % 15), false};
}

inline uuid sample_uuid(int seed) {
  uuid u{};
  for (size_t i = 0; i < u.size(); ++i) u[i] = static_cast<uint8_t>(seed * 7 + static_cast<int>(i));
  return u;
}

// encode(sample) -> decode -> encode must give the same bytes, and every
// strict prefix of them must fail to decode (or decode to less).
template <class M>
bool roundtrip(int16_t v, std::string& why) {
  try {
    M original;
    fill(original, v, 1);
    std::vector<uint8_t> first;
    writer w1(first);
    original.encode(w1, v);
    M decoded;
    reader r(first);
    decoded.decode(r, v);
    if (!r.done()) {
      why = "bytes left over after decoding";
      return false;
    }
    std::vector<uint8_t> second;
    writer w2(second);
    decoded.encode(w2, v);
    if (first != second) {
      why = "re-encoding differs";
      return false;
    }
    for (size_t cut = 0; cut < first.size(); ++cut) {
      M partial;
      reader pr(std::span<const uint8_t>(first.data(), cut));
      try {
        partial.decode(pr, v);
      } catch (const decode_error&) {
        continue;
      }
      why = "a prefix of " + std::to_string(cut) + " bytes decoded without error";
      return false;
    }
  } catch (const std::exception& e) {
    why = e.what();
    return false;
  }
  return true;
}

}  // namespace mosaic::kafka::msg

#include "kernel/base/crc32c.h"

#include <gtest/gtest.h>

#include <random>
#include <string_view>
#include <vector>

namespace mosaic::crc32c {
namespace {

struct vector_case {
  std::vector<uint8_t> data;
  uint32_t crc;
};

// Known answers: the "123456789" check value, and the iSCSI vectors of
// RFC 3720, appendix B.4.
std::vector<vector_case> known() {
  std::vector<vector_case> v;
  std::string_view check = "123456789";
  v.push_back({{check.begin(), check.end()}, 0xE3069283});
  v.push_back({std::vector<uint8_t>(32, 0x00), 0x8A9136AA});
  v.push_back({std::vector<uint8_t>(32, 0xFF), 0x62A8AB43});
  std::vector<uint8_t> up(32), down(32);
  for (int i = 0; i < 32; ++i) {
    up[i] = static_cast<uint8_t>(i);
    down[i] = static_cast<uint8_t>(31 - i);
  }
  v.push_back({up, 0x46DD794E});
  v.push_back({down, 0x113FDB5C});
  v.push_back({{}, 0x00000000});
  return v;
}

TEST(crc32c, portable_matches_known_vectors) {
  for (const auto& c : known()) EXPECT_EQ(extend_portable(0, c.data.data(), c.data.size()), c.crc);
}

TEST(crc32c, hardware_matches_known_vectors) {
  if (!hardware_available()) GTEST_SKIP() << "no SSE 4.2 on this CPU; the portable path is what runs";
  for (const auto& c : known()) EXPECT_EQ(extend_hardware(0, c.data.data(), c.data.size()), c.crc);
}

TEST(crc32c, both_agree_on_every_length_and_alignment_and_extend_in_pieces) {
  std::mt19937 rng(5);
  std::vector<uint8_t> buf(100000 + 16);
  for (auto& b : buf) b = static_cast<uint8_t>(rng());
  for (size_t off = 0; off < 8; ++off)
    for (size_t len : {0u, 1u, 7u, 8u, 9u, 63u, 64u, 65u, 1000u, 3071u, 3072u, 3073u, 4096u, 16384u, 99999u}) {
      uint32_t p = extend_portable(0, buf.data() + off, len);
      EXPECT_EQ(extend(0, buf.data() + off, len), p) << off << "/" << len;
      uint32_t split = extend(extend(0, buf.data() + off, len / 3), buf.data() + off + len / 3, len - len / 3);
      EXPECT_EQ(split, p);
    }
}

}  // namespace
}  // namespace mosaic::crc32c

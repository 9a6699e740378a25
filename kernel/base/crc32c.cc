#include "kernel/base/crc32c.h"

#include <array>
#include <cstring>

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

namespace mosaic::crc32c {

namespace {

constexpr uint32_t poly = 0x82F63B78;  // reflected Castagnoli polynomial

constexpr std::array<std::array<uint32_t, 256>, 8> make_tables() {
  std::array<std::array<uint32_t, 256>, 8> t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ poly : c >> 1;
    t[0][i] = c;
  }
  for (uint32_t i = 0; i < 256; ++i)
    for (size_t s = 1; s < 8; ++s) t[s][i] = (t[s - 1][i] >> 8) ^ t[0][t[s - 1][i] & 0xFF];
  return t;
}

constexpr auto tables = make_tables();

}  // namespace

uint32_t extend_portable(uint32_t crc, const void* data, size_t n) noexcept {
  const auto* p = static_cast<const uint8_t*>(data);
  uint32_t c = ~crc;
  while (n >= 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);  // little-endian load
    w ^= c;
    c = tables[7][w & 0xFF] ^ tables[6][(w >> 8) & 0xFF] ^ tables[5][(w >> 16) & 0xFF] ^ tables[4][(w >> 24) & 0xFF] ^
        tables[3][(w >> 32) & 0xFF] ^ tables[2][(w >> 40) & 0xFF] ^ tables[1][(w >> 48) & 0xFF] ^ tables[0][w >> 56];
    p += 8;
    n -= 8;
  }
  while (n-- > 0) c = tables[0][(c ^ *p++) & 0xFF] ^ (c >> 8);
  return ~c;
}

#if defined(__x86_64__)

namespace {

__attribute__((target("sse4.2"))) uint64_t hw_stream(uint64_t c, const uint8_t* p, size_t n) noexcept {
  while (n >= 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    c = _mm_crc32_u64(c, w);
    p += 8;
    n -= 8;
  }
  while (n-- > 0) c = _mm_crc32_u8(static_cast<uint32_t>(c), *p++);
  return c;
}

// The crc32 instruction has a latency of three cycles and a throughput of
// one, so three independent streams over three blocks run about three times
// as fast as one. The blocks' results are joined by "shifting" a CRC state
// over `block` zero bytes, a linear map applied here with four tables.
constexpr size_t block = 1024;

struct shift_tables {
  uint32_t t[4][256];
};

__attribute__((target("sse4.2"))) shift_tables make_shift_tables() {
  uint32_t column[32];
  for (int i = 0; i < 32; ++i) {
    uint64_t c = uint64_t{1} << i;
    for (size_t k = 0; k < block / 8; ++k) c = _mm_crc32_u64(c, 0);
    column[i] = static_cast<uint32_t>(c);
  }
  shift_tables s{};
  for (int k = 0; k < 4; ++k)
    for (uint32_t b = 0; b < 256; ++b) {
      uint32_t v = 0;
      for (int bit = 0; bit < 8; ++bit)
        if ((b >> bit) & 1) v ^= column[k * 8 + bit];
      s.t[k][b] = v;
    }
  return s;
}

uint32_t shift(const shift_tables& s, uint32_t c) noexcept {
  return s.t[0][c & 0xFF] ^ s.t[1][(c >> 8) & 0xFF] ^ s.t[2][(c >> 16) & 0xFF] ^ s.t[3][c >> 24];
}

}  // namespace

__attribute__((target("sse4.2"))) uint32_t extend_hardware(uint32_t crc, const void* data, size_t n) noexcept {
  static const shift_tables tables = make_shift_tables();
  const auto* p = static_cast<const uint8_t*>(data);
  uint64_t c = ~crc;
  while (n >= 3 * block) {
    uint64_t a = c, b = 0, d = 0;
    for (size_t i = 0; i < block; i += 8) {
      uint64_t wa, wb, wd;
      std::memcpy(&wa, p + i, 8);
      std::memcpy(&wb, p + block + i, 8);
      std::memcpy(&wd, p + 2 * block + i, 8);
      a = _mm_crc32_u64(a, wa);
      b = _mm_crc32_u64(b, wb);
      d = _mm_crc32_u64(d, wd);
    }
    const uint32_t ab = shift(tables, static_cast<uint32_t>(a)) ^ static_cast<uint32_t>(b);
    c = shift(tables, ab) ^ static_cast<uint32_t>(d);
    p += 3 * block;
    n -= 3 * block;
  }
  return ~static_cast<uint32_t>(hw_stream(c, p, n));
}

bool hardware_available() noexcept {
  static const bool yes = __builtin_cpu_supports("sse4.2");
  return yes;
}

#else

uint32_t extend_hardware(uint32_t crc, const void* data, size_t n) noexcept { return extend_portable(crc, data, n); }
bool hardware_available() noexcept { return false; }

#endif

uint32_t extend(uint32_t crc, const void* data, size_t n) noexcept {
  return hardware_available() ? extend_hardware(crc, data, n) : extend_portable(crc, data, n);
}

}  // namespace mosaic::crc32c

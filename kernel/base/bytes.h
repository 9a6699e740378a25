// Big-endian writing and reading of the broker's own record encodings (the
// metadata records, the group log): fixed-width integers, strings and byte
// strings with a 32-bit length (-1 for null), 16-byte ids.
//
// `byte_reader` throws `truncated_input` when the input ends early; callers
// turn that into a status at their edge.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace mosaic {

struct truncated_input {};

class byte_writer {
 public:
  explicit byte_writer(std::vector<uint8_t>& b) : b_(b) {}
  void u8(uint8_t v) { b_.push_back(v); }
  void i16(int16_t v) { be(static_cast<uint16_t>(v), 2); }
  void i32(int32_t v) { be(static_cast<uint32_t>(v), 4); }
  void i64(int64_t v) { be(static_cast<uint64_t>(v), 8); }
  void str(const std::string& s) {
    i32(static_cast<int32_t>(s.size()));
    b_.insert(b_.end(), s.begin(), s.end());
  }
  void opt_str(const std::optional<std::string>& s) {
    if (!s) return i32(-1);
    str(*s);
  }
  void bytes(std::span<const uint8_t> s) {
    i32(static_cast<int32_t>(s.size()));
    b_.insert(b_.end(), s.begin(), s.end());
  }
  void id(const std::array<uint8_t, 16>& u) { b_.insert(b_.end(), u.begin(), u.end()); }

 private:
  void be(uint64_t v, int width) {
    for (int s = (width - 1) * 8; s >= 0; s -= 8) b_.push_back(static_cast<uint8_t>(v >> s));
  }
  std::vector<uint8_t>& b_;
};

class byte_reader {
 public:
  explicit byte_reader(std::span<const uint8_t> b) : p_(b.data()), end_(b.data() + b.size()) {}
  bool done() const { return p_ == end_; }
  uint8_t u8() {
    need(1);
    return *p_++;
  }
  int16_t i16() { return static_cast<int16_t>(be(2)); }
  int32_t i32() { return static_cast<int32_t>(be(4)); }
  int64_t i64() { return static_cast<int64_t>(be(8)); }
  std::optional<std::string> opt_str() {
    int32_t n = i32();
    if (n < 0) return std::nullopt;
    need(static_cast<size_t>(n));
    std::string s(reinterpret_cast<const char*>(p_), static_cast<size_t>(n));
    p_ += n;
    return s;
  }
  std::string str() {
    auto s = opt_str();
    if (!s) throw truncated_input{};
    return *s;
  }
  std::vector<uint8_t> bytes() {
    int32_t n = i32();
    if (n < 0) throw truncated_input{};
    need(static_cast<size_t>(n));
    std::vector<uint8_t> v(p_, p_ + n);
    p_ += n;
    return v;
  }
  std::array<uint8_t, 16> id() {
    need(16);
    std::array<uint8_t, 16> u;
    std::copy(p_, p_ + 16, u.begin());
    p_ += 16;
    return u;
  }
  // A count read before that many items: refused if it cannot fit in
  // what is left (each item takes at least `min_item` bytes).
  size_t count(size_t min_item = 1) {
    const int32_t n = i32();
    if (n < 0 || static_cast<size_t>(n) * min_item > static_cast<size_t>(end_ - p_)) throw truncated_input{};
    return static_cast<size_t>(n);
  }

 private:
  uint64_t be(int width) {
    need(static_cast<size_t>(width));
    uint64_t v = 0;
    for (int i = 0; i < width; ++i) v = (v << 8) | *p_++;
    return v;
  }
  void need(size_t n) const {
    if (static_cast<size_t>(end_ - p_) < n) throw truncated_input{};
  }
  const uint8_t* p_;
  const uint8_t* end_;
};

// Base64url without padding, as Kafka prints a Uuid (its toString).
inline std::string base64url(std::span<const uint8_t> bytes) {
  static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string s;
  uint32_t acc = 0;
  int bits = 0;
  for (uint8_t b : bytes) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      s.push_back(alphabet[(acc >> bits) & 0x3F]);
    }
  }
  if (bits > 0) s.push_back(alphabet[(acc << (6 - bits)) & 0x3F]);
  return s;
}

}  // namespace mosaic

// Primitive encoding of the Kafka protocol, for the generated message code:
// big-endian integers, classic and compact (flexible-version) strings, bytes
// and arrays, unsigned varints, UUIDs, and tagged-field sections.
//
// The reader never trusts a length: every read is bounds-checked and throws
// decode_error past the end. `bytes` and `records` fields are views into the
// decoded buffer (no copy); the buffer must outlive the message.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace mosaic::kafka {

struct decode_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};
struct encode_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

using uuid = std::array<uint8_t, 16>;

// A possibly-null span of bytes that the message does not own.
struct bytes_ref {
  const uint8_t* data = nullptr;
  size_t size = 0;
  bool null = false;
  // >= 0: the bytes are not in memory; the transport splices `size` bytes
  // in where the writer noted this id (file ranges sent with sendfile).
  int32_t splice = -1;
  static bytes_ref of(std::span<const uint8_t> s) { return {s.data(), s.size(), false, -1}; }
  static bytes_ref none() { return {nullptr, 0, true, -1}; }
  static bytes_ref spliced(int32_t id, size_t size) { return {nullptr, size, false, id}; }
  std::span<const uint8_t> span() const { return {data, size}; }
  bool operator==(const bytes_ref& o) const {
    return null == o.null && size == o.size && splice == o.splice &&
           (size == 0 || splice >= 0 || std::memcmp(data, o.data, size) == 0);
  }
};

// A tagged field this code does not know, kept so that it can be written back.
struct tagged_field {
  uint32_t tag;
  std::vector<uint8_t> data;
  bool operator==(const tagged_field&) const = default;
};

class writer {
 public:
  explicit writer(std::vector<uint8_t>& out) : out_(out) {}
  // Where spliced bytes go: (position in the output, splice id), in order.
  void note_splices(std::vector<std::pair<size_t, int32_t>>* splices) { splices_ = splices; }

  template <class T>
  void integer(T v) {
    using U = std::make_unsigned_t<T>;
    auto u = static_cast<U>(v);
    for (int shift = (sizeof(T) - 1) * 8; shift >= 0; shift -= 8) out_.push_back(static_cast<uint8_t>(u >> shift));
  }
  void boolean(bool b) { out_.push_back(b ? 1 : 0); }
  void float64(double d) {
    uint64_t bits;
    std::memcpy(&bits, &d, 8);
    integer<uint64_t>(bits);
  }
  void uuid(const kafka::uuid& u) { out_.insert(out_.end(), u.begin(), u.end()); }
  void uvarint(uint64_t v) {
    while (v >= 0x80) {
      out_.push_back(static_cast<uint8_t>(v | 0x80));
      v >>= 7;
    }
    out_.push_back(static_cast<uint8_t>(v));
  }
  void raw(std::span<const uint8_t> b) { out_.insert(out_.end(), b.begin(), b.end()); }

  void string(const std::string& s, bool compact) {
    length(static_cast<int64_t>(s.size()), compact, false);
    out_.insert(out_.end(), s.begin(), s.end());
  }
  void nullable_string(const std::optional<std::string>& s, bool compact) {
    if (!s) return length(-1, compact, false);
    string(*s, compact);
  }
  void bytes(const bytes_ref& b, bool compact) {
    if (b.null) return length(-1, compact, true);
    length(static_cast<int64_t>(b.size), compact, true);
    if (b.splice >= 0) {
      if (splices_ == nullptr) throw encode_error("spliced bytes need a writer that notes splices");
      splices_->emplace_back(out_.size(), b.splice);
      return;
    }
    raw(b.span());
  }
  void array_length(size_t n, bool compact) {
    if (compact) return uvarint(n + 1);
    integer<int32_t>(static_cast<int32_t>(n));
  }
  void null_array(bool compact) {
    if (compact) return uvarint(0);
    integer<int32_t>(-1);
  }
  size_t size() const { return out_.size(); }
  std::vector<uint8_t>& buffer() { return out_; }

 private:
  // Strings have int16 lengths, bytes int32; compact forms are uvarint(n+1).
  void length(int64_t n, bool compact, bool wide) {
    if (compact) return uvarint(static_cast<uint64_t>(n + 1));
    if (wide) return integer<int32_t>(static_cast<int32_t>(n));
    if (n > INT16_MAX) throw encode_error("string longer than 32767 bytes");
    integer<int16_t>(static_cast<int16_t>(n));
  }
  std::vector<uint8_t>& out_;
  std::vector<std::pair<size_t, int32_t>>* splices_ = nullptr;
};

class reader {
 public:
  explicit reader(std::span<const uint8_t> in) : p_(in.data()), end_(in.data() + in.size()) {}

  template <class T>
  T integer() {
    need(sizeof(T));
    std::make_unsigned_t<T> u = 0;
    for (size_t i = 0; i < sizeof(T); ++i) u = static_cast<std::make_unsigned_t<T>>((u << 8) | p_[i]);
    p_ += sizeof(T);
    return static_cast<T>(u);
  }
  bool boolean() { return integer<uint8_t>() != 0; }
  double float64() {
    uint64_t bits = integer<uint64_t>();
    double d;
    std::memcpy(&d, &bits, 8);
    return d;
  }
  kafka::uuid uuid() {
    need(16);
    kafka::uuid u;
    std::memcpy(u.data(), p_, 16);
    p_ += 16;
    return u;
  }
  uint64_t uvarint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      need(1);
      uint8_t b = *p_++;
      v |= uint64_t{b & 0x7Fu} << shift;
      if ((b & 0x80) == 0) return v;
    }
    throw decode_error("varint too long");
  }
  uint32_t uvarint32() {
    uint64_t v = uvarint();
    if (v > UINT32_MAX) throw decode_error("varint out of range");
    return static_cast<uint32_t>(v);
  }

  std::string string(bool compact) {
    auto s = nullable_string(compact);
    if (!s) throw decode_error("null string where none is allowed");
    return std::move(*s);
  }
  std::optional<std::string> nullable_string(bool compact) {
    int64_t n = length(compact, false);
    if (n < 0) return std::nullopt;
    need(static_cast<size_t>(n));
    std::string s(reinterpret_cast<const char*>(p_), static_cast<size_t>(n));
    p_ += n;
    return s;
  }
  bytes_ref bytes(bool compact) {
    int64_t n = length(compact, true);
    if (n < 0) return bytes_ref::none();
    need(static_cast<size_t>(n));
    bytes_ref b{p_, static_cast<size_t>(n), false};
    p_ += n;
    return b;
  }
  // The element count, or -1 for null. Checked against what is left (each
  // element takes at least one byte), so a forged count cannot make the
  // decoder allocate more than the frame could hold.
  int64_t array_length(bool compact) {
    int64_t n = compact ? static_cast<int64_t>(uvarint()) - 1 : integer<int32_t>();
    if (n < -1) throw decode_error("negative array length");
    if (n > static_cast<int64_t>(remaining())) throw decode_error("array length beyond the frame");
    return n;
  }
  // A reader over the next `n` bytes, which this one skips.
  reader sub(size_t n) {
    need(n);
    reader r({p_, n});
    p_ += n;
    return r;
  }
  std::vector<uint8_t> rest_copy() {
    std::vector<uint8_t> v(p_, end_);
    p_ = end_;
    return v;
  }
  size_t remaining() const { return static_cast<size_t>(end_ - p_); }
  bool done() const { return p_ == end_; }

 private:
  void need(size_t n) const {
    if (n > remaining()) throw decode_error("message ends early");
  }
  int64_t length(bool compact, bool wide) {
    if (compact) return static_cast<int64_t>(uvarint()) - 1;
    return wide ? integer<int32_t>() : integer<int16_t>();
  }
  const uint8_t* p_;
  const uint8_t* end_;
};

// Writes a tagged-field section: known fields (in tag order) merged with
// the unknown ones kept from decoding, each as tag, size, data.
class tag_writer {
 public:
  tag_writer(writer& w, const std::vector<tagged_field>& unknown) : w_(w), unknown_(unknown), scratch_w_(scratch_) {}
  // Starts a known field: its bytes go to a scratch buffer until end().
  void begin(uint32_t tag) {
    tag_ = tag;
    scratch_.clear();
  }
  writer& out() { return scratch_w_; }
  void end() { fields_.push_back({tag_, scratch_}); }
  void finish() {
    std::vector<const tagged_field*> all;
    for (const auto& f : fields_) all.push_back(&f);
    for (const auto& f : unknown_) all.push_back(&f);
    std::sort(all.begin(), all.end(), [](const tagged_field* a, const tagged_field* b) { return a->tag < b->tag; });
    w_.uvarint(all.size());
    for (const auto* f : all) {
      w_.uvarint(f->tag);
      w_.uvarint(f->data.size());
      w_.raw(f->data);
    }
  }

 private:
  writer& w_;
  const std::vector<tagged_field>& unknown_;
  std::vector<uint8_t> scratch_;
  writer scratch_w_;
  uint32_t tag_ = 0;
  std::vector<tagged_field> fields_;
};

}  // namespace mosaic::kafka

// The codecs the broker can use, one hot-swappable slot per Kafka codec id,
// and the byte buffers that carry their output.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <span>
#include <string>

#include "kernel/base/status.h"
#include "kernel/plugin/slot.h"
#include "mosaic/abi/codec.h"

namespace mosaic::plugin {

// A growable byte buffer that a plugin can append to through
// `mosaic_buffer_v1`. Reusable: `clear` keeps the memory.
class byte_buffer {
 public:
  explicit byte_buffer(size_t limit = SIZE_MAX);
  ~byte_buffer();
  byte_buffer(const byte_buffer&) = delete;
  byte_buffer& operator=(const byte_buffer&) = delete;

  void clear() noexcept { b_.size = 0; }
  void set_limit(size_t limit) noexcept { b_.limit = limit; }
  mosaic_buffer_v1* abi() noexcept { return &b_; }
  std::span<const uint8_t> bytes() const noexcept { return {b_.data, b_.size}; }
  size_t size() const noexcept { return b_.size; }
  size_t capacity() const noexcept { return b_.capacity; }

 private:
  static mosaic_status_t grow(mosaic_buffer_v1* self, size_t min_capacity);
  mosaic_buffer_v1 b_;
};

using codec_slot = slot<mosaic_codec_vtable_v1>;

// A codec's slot by Kafka's name of its id: "codec.lz4" ("codec.5" past zstd).
std::string codec_slot_name(int32_t codec_id);

class codec_set {
 public:
  // Publishes a codec instance in the slot of its codec id (a swap if the
  // slot had one). Returns the generation number.
  result<uint64_t> install(std::shared_ptr<instance> inst);

  codec_slot& at(int32_t codec_id) { return slots_[codec_id & 7]; }
  bool has(int32_t codec_id) const { return codec_id >= 1 && codec_id <= 7 && slots_[codec_id].current() != nullptr; }

  // Appends the compressed / decompressed form of `in` to `out`; a
  // decompression stops with errc::limit at out's limit.
  status compress(int32_t codec_id, std::span<const uint8_t> in, byte_buffer& out) const;
  status decompress(int32_t codec_id, std::span<const uint8_t> in, byte_buffer& out) const;
  // Each loaded codec's calls, as slot "codec.<Kafka's name>".
  void visit(const meter_visitor& fn) const;

 private:
  status call(int32_t codec_id, bool compress, std::span<const uint8_t> in, byte_buffer& out) const;
  codec_slot slots_[8];
};

}  // namespace mosaic::plugin

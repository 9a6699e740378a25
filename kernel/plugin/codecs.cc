#include "kernel/plugin/codecs.h"

#include <new>

namespace mosaic::plugin {

byte_buffer::byte_buffer(size_t limit) : b_{sizeof(mosaic_buffer_v1), nullptr, 0, 0, limit, this, &grow} {}

byte_buffer::~byte_buffer() { std::free(b_.data); }

mosaic_status_t byte_buffer::grow(mosaic_buffer_v1* self, size_t min_capacity) {
  if (min_capacity <= self->capacity) return MOSAIC_OK;
  if (min_capacity > self->limit) return MOSAIC_ERR_LIMIT;
  auto* data = static_cast<uint8_t*>(std::realloc(self->data, min_capacity));
  if (data == nullptr) return MOSAIC_ERR_NO_MEMORY;
  self->data = data;
  self->capacity = min_capacity;
  return MOSAIC_OK;
}

result<uint64_t> codec_set::install(std::shared_ptr<instance> inst) {
  if (inst->factory().category != MOSAIC_CATEGORY_CODEC)
    return status(errc::invalid_argument, std::string("'") + inst->factory().name + "' is not a codec");
  int32_t id = static_cast<const mosaic_codec_vtable_v1*>(inst->vtable())->codec_id;
  return slots_[id].publish(std::move(inst));
}

status codec_set::compress(int32_t codec_id, std::span<const uint8_t> in, byte_buffer& out) const {
  return call(codec_id, true, in, out);
}

status codec_set::decompress(int32_t codec_id, std::span<const uint8_t> in, byte_buffer& out) const {
  return call(codec_id, false, in, out);
}

status codec_set::call(int32_t codec_id, bool compress, std::span<const uint8_t> in, byte_buffer& out) const {
  if (codec_id < 1 || codec_id > 7) return status(errc::unsupported, "codec id " + std::to_string(codec_id));
  auto gen = slots_[codec_id].current();
  if (!gen) return status(errc::unsupported, "no codec is loaded for codec id " + std::to_string(codec_id));
  char message[256];
  message[0] = '\0';
  mosaic_error_v1 err{message, sizeof(message)};
  auto fn = compress ? gen->vt().compress : gen->vt().decompress;
  const auto began = call_meter::start();
  mosaic_status_t rc = fn(gen->handle, in.data(), in.size(), out.abi(), &err);
  // A decompression stopped at its bound is the input's fault, not the codec's.
  gen->meter.done(began, rc == MOSAIC_OK || rc == MOSAIC_ERR_LIMIT || rc == MOSAIC_ERR_CORRUPT_INPUT);
  if (rc == MOSAIC_OK) return {};
  errc code = rc == MOSAIC_ERR_LIMIT           ? errc::limit
              : rc == MOSAIC_ERR_CORRUPT_INPUT ? errc::corrupt
              : rc == MOSAIC_ERR_UNSUPPORTED   ? errc::unsupported
                                               : errc::internal;
  return status(code, std::string(gen->inst->factory().name) + ": " + message);
}

std::string codec_slot_name(int32_t codec_id) {
  static const char* const names[8] = {"none", "gzip", "snappy", "lz4", "zstd", "5", "6", "7"};
  return std::string("codec.") + names[codec_id & 7];
}

void codec_set::visit(const meter_visitor& fn) const {
  for (int id = 1; id <= 7; ++id) slots_[id].visit(codec_slot_name(id), fn);
}

}  // namespace mosaic::plugin

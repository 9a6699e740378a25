// C++ side of the codec category: derive from `codec<T>` and provide
// `codec_id`, `compress` and `decompress` (see mosaic/sdk/plugin.h for a
// whole example). Both functions must be safe to call concurrently on one
// instance; throw `mosaic::sdk::error` for a specific status
// (MOSAIC_ERR_CORRUPT_INPUT for bad input). `output::reserve` already throws
// MOSAIC_ERR_LIMIT when the caller's bound is reached.
#pragma once

#include <span>

#include "mosaic/abi/codec.h"
#include "mosaic/sdk/plugin.h"

namespace mosaic::sdk {

template <class T>
struct codec_binding {
  static mosaic_status_t compress(void* instance, const uint8_t* in, size_t in_len, mosaic_buffer_v1* out,
                                  mosaic_error_v1* err) noexcept {
    return barrier(err, [&] {
      output o(out);
      static_cast<T*>(instance)->compress(std::span<const uint8_t>(in, in_len), o);
    });
  }
  static mosaic_status_t decompress(void* instance, const uint8_t* in, size_t in_len, mosaic_buffer_v1* out,
                                    mosaic_error_v1* err) noexcept {
    return barrier(err, [&] {
      output o(out);
      static_cast<T*>(instance)->decompress(std::span<const uint8_t>(in, in_len), o);
    });
  }
  static constexpr mosaic_codec_vtable_v1 table = {sizeof(mosaic_codec_vtable_v1), T::codec_id, &compress, &decompress};
};

template <class T>
struct codec {
  static constexpr int32_t category = MOSAIC_CATEGORY_CODEC;
  using binding = codec_binding<T>;
};

// Shorthand for the error a codec raises on undecodable input.
[[noreturn]] inline void corrupt_input(const std::string& what) { throw error(MOSAIC_ERR_CORRUPT_INPUT, what); }

}  // namespace mosaic::sdk

// mosaic.codec.lz4: Kafka codec 3, the LZ4 frame format. Writes frames as
// the Java client does (64 KiB independent blocks, no block checksums);
// reads any valid frame, including several frames back to back.
#include <lz4frame.h>

#include <algorithm>
#include <string>

#include "mosaic/sdk/codec.h"
#include "mosaic/sdk/object_pool.h"

namespace mosaic::plugins::codec_lz4 {

namespace {

LZ4F_dctx* make_dctx() {
  LZ4F_dctx* d = nullptr;
  return LZ4F_isError(LZ4F_createDecompressionContext(&d, LZ4F_VERSION)) ? nullptr : d;
}

}  // namespace

class lz4_codec : public sdk::codec<lz4_codec> {
 public:
  static constexpr const char* name = "mosaic.codec.lz4";
  static constexpr const char* description = "LZ4 frame (Kafka codec 3)";
  static constexpr int32_t codec_id = MOSAIC_CODEC_LZ4;
  static constexpr sdk::field config_fields[] = {
      sdk::int_field("level", "0", "0 is the fast compressor; 3 to 12 use LZ4 HC", 0, 12, MOSAIC_CONFIG_RECONFIGURABLE),
      sdk::bool_field("content_checksum", "false", "append a checksum of the whole content to each frame"),
  };

  lz4_codec(const sdk::config& cfg, sdk::host /*host*/) {
    prefs_.frameInfo.blockSizeID = LZ4F_max64KB;
    prefs_.frameInfo.blockMode = LZ4F_blockIndependent;
    prefs_.frameInfo.contentChecksumFlag =
        cfg.get_bool("content_checksum") ? LZ4F_contentChecksumEnabled : LZ4F_noContentChecksum;
    prefs_.compressionLevel = static_cast<int>(cfg.get_int("level"));
  }

  void compress(std::span<const uint8_t> in, sdk::output& out) {
    LZ4F_preferences_t prefs = prefs_;
    prefs.frameInfo.contentSize = in.size();
    auto room = out.reserve(LZ4F_compressFrameBound(in.size(), &prefs));
    size_t n = LZ4F_compressFrame(room.data(), room.size(), in.data(), in.size(), &prefs);
    if (LZ4F_isError(n)) throw sdk::error(MOSAIC_ERR_INTERNAL, std::string("lz4: ") + LZ4F_getErrorName(n));
    out.commit(n);
  }

  void decompress(std::span<const uint8_t> in, sdk::output& out) {
    auto dctx = dctx_pool_.acquire();
    LZ4F_resetDecompressionContext(dctx.get());
    const uint8_t* src = in.data();
    size_t left = in.size();
    size_t hint = 1;  // nonzero while a frame is unfinished
    while (left > 0) {
      size_t want = std::max<size_t>(64 * 1024, left * 2);
      auto room = out.reserve_some(want);
      size_t dst_len = room.size();
      size_t src_len = left;
      hint = LZ4F_decompress(dctx.get(), room.data(), &dst_len, src, &src_len, nullptr);
      if (LZ4F_isError(hint)) {
        sdk::corrupt_input(std::string("lz4: ") + LZ4F_getErrorName(hint));
      }
      out.commit(dst_len);
      src += src_len;
      left -= src_len;
      if (src_len == 0 && dst_len == 0) break;
    }
    // The decoder may still hold output after the last input byte.
    while (hint != 0) {
      auto room = out.reserve_some(64 * 1024);
      size_t dst_len = room.size();
      size_t src_len = 0;
      hint = LZ4F_decompress(dctx.get(), room.data(), &dst_len, src, &src_len, nullptr);
      if (LZ4F_isError(hint)) {
        sdk::corrupt_input(std::string("lz4: ") + LZ4F_getErrorName(hint));
      }
      out.commit(dst_len);
      if (dst_len == 0) break;
    }
    if (hint != 0 || left != 0) {
      sdk::corrupt_input("lz4: input ends inside a frame");
    }
  }

 private:
  LZ4F_preferences_t prefs_{};
  sdk::object_pool<LZ4F_dctx> dctx_pool_{&make_dctx, [](LZ4F_dctx* d) { LZ4F_freeDecompressionContext(d); }};
};

}  // namespace mosaic::plugins::codec_lz4

MOSAIC_PLUGIN("mosaic-codec-lz4", "0.1.0", mosaic::plugins::codec_lz4::lz4_codec)

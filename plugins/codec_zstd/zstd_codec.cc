// mosaic.codec.zstd: Kafka codec 4. Contexts are pooled so that a shared
// instance serves concurrent callers without allocating per batch.
#include <zstd.h>

#include <algorithm>
#include <string>

#include "mosaic/sdk/codec.h"
#include "mosaic/sdk/object_pool.h"

namespace mosaic::plugins::codec_zstd {

class zstd_codec : public sdk::codec<zstd_codec> {
 public:
  static constexpr const char* name = "mosaic.codec.zstd";
  static constexpr const char* description = "Zstandard (Kafka codec 4)";
  static constexpr int32_t codec_id = MOSAIC_CODEC_ZSTD;
  static constexpr sdk::field config_fields[] = {
      sdk::int_field("level", "3", "compression level; negative levels trade ratio for speed", -7, 22,
                     MOSAIC_CONFIG_RECONFIGURABLE),
  };

  zstd_codec(const sdk::config& cfg, sdk::host /*host*/) : level_(static_cast<int>(cfg.get_int("level", 3))) {}

  void compress(std::span<const uint8_t> in, sdk::output& out) {
    auto cctx = cctx_pool_.acquire();
    auto room = out.reserve(ZSTD_compressBound(in.size()));
    size_t n = ZSTD_compressCCtx(cctx.get(), room.data(), room.size(), in.data(), in.size(), level_);
    if (ZSTD_isError(n)) {
      cctx.discard();
      throw sdk::error(MOSAIC_ERR_INTERNAL, std::string("zstd: ") + ZSTD_getErrorName(n));
    }
    out.commit(n);
  }

  void decompress(std::span<const uint8_t> in, sdk::output& out) {
    auto dctx = dctx_pool_.acquire();
    // One frame that states its size: refuse a bomb before any work, then
    // decompress in one call.
    unsigned long long declared = ZSTD_getFrameContentSize(in.data(), in.size());
    if (declared != ZSTD_CONTENTSIZE_ERROR && declared != ZSTD_CONTENTSIZE_UNKNOWN &&
        ZSTD_findFrameCompressedSize(in.data(), in.size()) == in.size()) {
      if (declared > out.room_to_limit())
        throw sdk::error(MOSAIC_ERR_LIMIT,
                         "zstd frame declares " + std::to_string(declared) + " bytes, above the output limit");
      auto room = declared == 0 ? std::span<uint8_t>() : out.reserve(declared);
      size_t n = ZSTD_decompressDCtx(dctx.get(), room.data(), declared, in.data(), in.size());
      if (ZSTD_isError(n) || n != declared) {
        sdk::corrupt_input(std::string("zstd: ") + (ZSTD_isError(n) ? ZSTD_getErrorName(n) : "size mismatch"));
      }
      out.commit(n);
      return;
    }
    // Streaming: frames without a size, or several frames back to back.
    ZSTD_DCtx_reset(dctx.get(), ZSTD_reset_session_only);
    ZSTD_inBuffer src{in.data(), in.size(), 0};
    size_t pending = 0;
    for (;;) {
      size_t want = std::max<size_t>(ZSTD_DStreamOutSize(), in.size() * 2);
      auto room = out.reserve_some(want);
      ZSTD_outBuffer dst{room.data(), room.size(), 0};
      size_t before = src.pos;
      pending = ZSTD_decompressStream(dctx.get(), &dst, &src);
      if (ZSTD_isError(pending)) {
        sdk::corrupt_input(std::string("zstd: ") + ZSTD_getErrorName(pending));
      }
      out.commit(dst.pos);
      if (pending == 0 && src.pos == src.size) break;
      if (dst.pos == 0 && src.pos == before) break;  // no progress: input ends inside a frame
    }
    if (pending != 0 || src.pos != src.size || in.empty()) {
      sdk::corrupt_input("zstd: input ends inside a frame");
    }
  }

 private:
  int level_;
  sdk::object_pool<ZSTD_CCtx> cctx_pool_{&ZSTD_createCCtx, [](ZSTD_CCtx* c) { ZSTD_freeCCtx(c); }};
  sdk::object_pool<ZSTD_DCtx> dctx_pool_{&ZSTD_createDCtx, [](ZSTD_DCtx* d) { ZSTD_freeDCtx(d); }};
};

}  // namespace mosaic::plugins::codec_zstd

MOSAIC_PLUGIN("mosaic-codec-zstd", "0.1.0", mosaic::plugins::codec_zstd::zstd_codec)

// mosaic.codec.gzip: Kafka codec 1, gzip (RFC 1952) through zlib. Reads
// several gzip members back to back, as `cat a.gz b.gz` makes. Streams are
// pooled: a deflate state costs about 256 KiB to set up.
#include <zlib.h>

#include <algorithm>
#include <string>

#include "mosaic/sdk/codec.h"
#include "mosaic/sdk/object_pool.h"

namespace mosaic::plugins::codec_gzip {

namespace {

constexpr int gzip_window = 15 + 16;  // 32 KiB window, gzip wrapper

z_stream* make_inflate() {
  auto* z = new z_stream{};
  if (inflateInit2(z, gzip_window) != Z_OK) {
    delete z;
    return nullptr;
  }
  return z;
}

void free_inflate(z_stream* z) {
  inflateEnd(z);
  delete z;
}

void free_deflate(z_stream* z) {
  deflateEnd(z);
  delete z;
}

}  // namespace

class gzip_codec : public sdk::codec<gzip_codec> {
 public:
  static constexpr const char* name = "mosaic.codec.gzip";
  static constexpr const char* description = "gzip (Kafka codec 1)";
  static constexpr int32_t codec_id = MOSAIC_CODEC_GZIP;
  static constexpr sdk::field config_fields[] = {
      sdk::int_field("level", "6", "deflate level, 1 (fastest) to 9 (smallest)", 1, 9, MOSAIC_CONFIG_RECONFIGURABLE),
  };

  gzip_codec(const sdk::config& cfg, sdk::host /*host*/) : level_(static_cast<int>(cfg.get_int("level", 6))) {}

  void compress(std::span<const uint8_t> in, sdk::output& out) {
    auto lease = deflate_pool_.acquire();
    z_stream* z = lease.get();
    if (z->state == nullptr) {
      if (deflateInit2(z, level_, Z_DEFLATED, gzip_window, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
        lease.discard();
        throw sdk::error(MOSAIC_ERR_NO_MEMORY, "gzip: deflateInit2 failed");
      }
    } else {
      deflateReset(z);
    }
    auto room = out.reserve(deflateBound(z, in.size()));
    z->next_in = const_cast<Bytef*>(in.data());
    z->avail_in = static_cast<uInt>(in.size());
    z->next_out = room.data();
    z->avail_out = static_cast<uInt>(room.size());
    int rc = deflate(z, Z_FINISH);
    if (rc != Z_STREAM_END) {
      lease.discard();
      throw sdk::error(MOSAIC_ERR_INTERNAL, "gzip: deflate did not finish");
    }
    out.commit(room.size() - z->avail_out);
  }

  void decompress(std::span<const uint8_t> in, sdk::output& out) {
    auto lease = inflate_pool_.acquire();
    z_stream* z = lease.get();
    inflateReset(z);
    z->next_in = const_cast<Bytef*>(in.data());
    z->avail_in = static_cast<uInt>(in.size());
    bool ended = false;  // the last member ended cleanly
    while (true) {
      size_t want = std::max<size_t>(64 * 1024, in.size() * 4);
      auto room = out.reserve_some(want);
      size_t chunk = std::min<size_t>(room.size(), UINT32_MAX);
      z->next_out = room.data();
      z->avail_out = static_cast<uInt>(chunk);
      int rc = inflate(z, Z_NO_FLUSH);
      out.commit(chunk - z->avail_out);
      if (rc == Z_STREAM_END) {
        ended = true;
        if (z->avail_in == 0) break;
        inflateReset(z);  // another member follows
        continue;
      }
      ended = false;
      if (rc == Z_BUF_ERROR && z->avail_in == 0) break;  // input ends inside a member
      if (rc != Z_OK && rc != Z_BUF_ERROR)               // the stream is reset on its next use
        sdk::corrupt_input(std::string("gzip: ") + (z->msg != nullptr ? z->msg : "invalid data"));
      if (z->avail_in == 0 && z->avail_out != 0) break;  // all input read, member unfinished
    }
    if (!ended) sdk::corrupt_input("gzip: input ends inside a member");
  }

 private:
  int level_;
  sdk::object_pool<z_stream> deflate_pool_{[] { return new z_stream{}; }, &free_deflate};
  sdk::object_pool<z_stream> inflate_pool_{&make_inflate, &free_inflate};
};

}  // namespace mosaic::plugins::codec_gzip

MOSAIC_PLUGIN("mosaic-codec-gzip", "0.1.0", mosaic::plugins::codec_gzip::gzip_codec)

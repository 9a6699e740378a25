// mosaic.codec.snappy: Kafka codec 2. The Java client writes snappy in
// xerial's framing (a 16-byte header, then blocks each preceded by its
// compressed length); librdkafka writes one raw snappy block. Both are read;
// `framing` chooses what compress writes.
#include <snappy.h>

#include <algorithm>
#include <cstring>
#include <string>

#include "mosaic/sdk/codec.h"

namespace mosaic::plugins::codec_snappy {

namespace {

// 0x82 "SNAPPY" 0x00, then version 1 and compatible version 1 (big-endian).
constexpr uint8_t xerial_header[16] = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0, 0, 0, 0, 1, 0, 0, 0, 1};
constexpr size_t xerial_magic_len = 8;
constexpr size_t xerial_block = 32 * 1024;  // the Java client's block size

uint32_t load_be32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

void store_be32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}

void compress_block(std::span<const uint8_t> in, sdk::output& out) {
  auto room = out.reserve(snappy::MaxCompressedLength(in.size()));
  size_t n = 0;
  snappy::RawCompress(reinterpret_cast<const char*>(in.data()), in.size(), reinterpret_cast<char*>(room.data()), &n);
  out.commit(n);
}

void decompress_block(std::span<const uint8_t> in, sdk::output& out) {
  const char* src = reinterpret_cast<const char*>(in.data());
  size_t len = 0;
  if (!snappy::GetUncompressedLength(src, in.size(), &len)) sdk::corrupt_input("snappy: bad block header");
  if (len > out.room_to_limit())
    throw sdk::error(MOSAIC_ERR_LIMIT,
                     "snappy block declares " + std::to_string(len) + " bytes, above the output limit");
  if (len == 0) {
    if (!snappy::IsValidCompressedBuffer(src, in.size())) sdk::corrupt_input("snappy: invalid block");
    return;
  }
  auto room = out.reserve(len);
  if (!snappy::RawUncompress(src, in.size(), reinterpret_cast<char*>(room.data())))
    sdk::corrupt_input("snappy: invalid block");
  out.commit(len);
}

}  // namespace

class snappy_codec : public sdk::codec<snappy_codec> {
 public:
  static constexpr const char* name = "mosaic.codec.snappy";
  static constexpr const char* description = "Snappy, xerial-framed or raw (Kafka codec 2)";
  static constexpr int32_t codec_id = MOSAIC_CODEC_SNAPPY;
  static constexpr sdk::field config_fields[] = {
      sdk::string_field("framing", "xerial", "what compress writes: 'xerial' (as the Java client) or 'raw'"),
  };

  snappy_codec(const sdk::config& cfg, sdk::host /*host*/) {
    std::string framing = cfg.get_string("framing", "xerial");
    if (framing != "xerial" && framing != "raw")
      throw sdk::error(MOSAIC_ERR_CONFIG, "framing must be 'xerial' or 'raw', not '" + framing + "'");
    xerial_ = framing == "xerial";
  }

  void compress(std::span<const uint8_t> in, sdk::output& out) const {
    if (!xerial_) return compress_block(in, out);
    out.append(xerial_header);
    for (size_t at = 0; at < in.size(); at += xerial_block) {
      auto block = in.subspan(at, std::min(xerial_block, in.size() - at));
      out.reserve(4);
      size_t length_at = out.size();
      out.commit(4);
      compress_block(block, out);
      store_be32(out.written().data() + length_at, static_cast<uint32_t>(out.size() - length_at - 4));
    }
  }

  void decompress(std::span<const uint8_t> in, sdk::output& out) const {
    if (in.size() < xerial_magic_len || std::memcmp(in.data(), xerial_header, xerial_magic_len) != 0)
      return decompress_block(in, out);
    if (in.size() < sizeof(xerial_header)) sdk::corrupt_input("snappy: truncated xerial header");
    for (size_t at = sizeof(xerial_header); at < in.size();) {
      if (in.size() - at < 4) sdk::corrupt_input("snappy: truncated xerial block length");
      size_t len = load_be32(in.data() + at);
      at += 4;
      if (len > in.size() - at) sdk::corrupt_input("snappy: xerial block runs past the input");
      decompress_block(in.subspan(at, len), out);
      at += len;
    }
  }

 private:
  bool xerial_ = true;
};

}  // namespace mosaic::plugins::codec_snappy

MOSAIC_PLUGIN("mosaic-codec-snappy", "0.1.0", mosaic::plugins::codec_snappy::snappy_codec)

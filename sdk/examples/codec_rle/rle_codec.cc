// com.acme.codec.rle: a run-length codec for Kafka's unused codec id 5,
// written as a third party would: one class, one MOSAIC_PLUGIN line.
//
// Format: a 4-byte magic "RLE1", then tokens. A byte below 0x80 is a literal
// run of (byte + 1) bytes that follow; a byte of 0x80 or more is a repeat of
// the next byte, (byte - 0x80 + min_run) times.
#include <mosaic/sdk/codec.h>

#include <cstring>

namespace acme {

class rle_codec : public mosaic::sdk::codec<rle_codec> {
 public:
  static constexpr const char* name = "com.acme.codec.rle";
  static constexpr const char* description = "run-length encoding (example plugin)";
  static constexpr int32_t codec_id = 5;
  static constexpr mosaic::sdk::field config_fields[] = {
      mosaic::sdk::int_field("min_run", "4", "shortest run worth a repeat token", 3, 16),
  };

  rle_codec(const mosaic::sdk::config& cfg, mosaic::sdk::host host)
      : min_run_(static_cast<size_t>(cfg.get_int("min_run"))),
        compressed_(host.counter("bytes_in", "bytes compressed")) {
    host.info("rle codec ready, min_run " + std::to_string(min_run_));
  }

  void compress(std::span<const uint8_t> in, mosaic::sdk::output& out) const {
    // Worst case: a literal token per 128 bytes, plus the magic.
    auto room = out.reserve(4 + in.size() + in.size() / 128 + 1);
    uint8_t* w = room.data();
    std::memcpy(w, magic, 4);
    w += 4;
    size_t i = 0, literal_start = 0;
    auto flush_literals = [&](size_t end) {
      while (literal_start < end) {
        size_t n = std::min<size_t>(128, end - literal_start);
        *w++ = static_cast<uint8_t>(n - 1);
        std::memcpy(w, in.data() + literal_start, n);
        w += n;
        literal_start += n;
      }
    };
    while (i < in.size()) {
      size_t run = 1;
      while (i + run < in.size() && in[i + run] == in[i] && run < 127 + min_run_) ++run;
      if (run >= min_run_) {
        flush_literals(i);
        *w++ = static_cast<uint8_t>(0x80 + run - min_run_);
        *w++ = in[i];
        i += run;
        literal_start = i;
      } else {
        i += run;
      }
    }
    flush_literals(in.size());
    out.commit(static_cast<size_t>(w - room.data()));
    compressed_.add(in.size());
  }

  void decompress(std::span<const uint8_t> in, mosaic::sdk::output& out) const {
    if (in.size() < 4 || std::memcmp(in.data(), magic, 4) != 0) mosaic::sdk::corrupt_input("rle: bad magic");
    size_t i = 4;
    while (i < in.size()) {
      uint8_t token = in[i++];
      if (token < 0x80) {
        size_t n = size_t{token} + 1;
        if (n > in.size() - i) mosaic::sdk::corrupt_input("rle: literal run past the end");
        out.append(in.subspan(i, n));
        i += n;
      } else {
        if (i >= in.size()) mosaic::sdk::corrupt_input("rle: repeat without its byte");
        size_t n = token - 0x80 + min_run_;
        auto room = out.reserve(n);
        std::memset(room.data(), in[i++], n);
        out.commit(n);
      }
    }
  }

 private:
  static constexpr uint8_t magic[4] = {'R', 'L', 'E', '1'};
  size_t min_run_;
  mosaic::sdk::counter compressed_;
};

}  // namespace acme

MOSAIC_PLUGIN("acme-rle", "1.0.0", acme::rle_codec)

// What the plugin boundary costs a codec: each codec compresses and
// decompresses 16 KiB batches of ~1 KiB JSON-like records twice in the same
// run, once through mosaicd's path (the shared .so loaded by the plugin
// host, called through its slot) and once by calling the library directly
// with the same settings. The table at the end gives plugin/direct ratios.
#include <benchmark/benchmark.h>
#include <lz4frame.h>
#include <snappy.h>
#include <zlib.h>
#include <zstd.h>

#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "kernel/plugin/codecs.h"
#include "kernel/plugin/host.h"
#include "mosaic/testing/data.h"

namespace {

using mosaic::plugin::byte_buffer;
constexpr size_t batch_size = 16 * 1024;
constexpr int batch_count = 64;

// Distinct batches, so that nothing is served from a warm repeat.
const std::vector<std::vector<uint8_t>>& batches() {
  static const auto b = [] {
    std::vector<std::vector<uint8_t>> v;
    v.reserve(batch_count);
    for (int i = 0; i < batch_count; ++i) v.push_back(mosaic::testing::json_records(batch_size, 100 + i));
    return v;
  }();
  return b;
}

struct plugins {
  mosaic::plugin::plugin_host host{{MOSAIC_PLUGIN_DIR}, {}};
  mosaic::plugin::codec_set codecs;
  plugins() {
    for (const char* name : {"mosaic.codec.gzip", "mosaic.codec.snappy", "mosaic.codec.lz4", "mosaic.codec.zstd"}) {
      auto s = host.ensure(name, std::nullopt);  // the shared build: no built-ins linked here
      auto inst = s.ok() ? host.create(name, {}) : mosaic::result<std::shared_ptr<mosaic::plugin::instance>>(s);
      if (!inst.ok()) {
        std::fprintf(stderr, "cannot load %s: %s\n", name, inst.error().message().c_str());
        std::exit(1);
      }
      (void)codecs.install(*inst);
    }
  }
};

plugins& loaded() {
  static plugins p;
  return p;
}

// ---- the same work, calling each library directly -------------------------

struct direct {
  virtual ~direct() = default;
  virtual size_t compress(const std::vector<uint8_t>& in, std::vector<uint8_t>& out) = 0;
  virtual size_t decompress(const uint8_t* in, size_t n, std::vector<uint8_t>& out) = 0;
};

struct direct_gzip : direct {
  z_stream d{}, i{};
  direct_gzip() {
    deflateInit2(&d, 6, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY);
    inflateInit2(&i, 31);
  }
  ~direct_gzip() override {
    deflateEnd(&d);
    inflateEnd(&i);
  }
  size_t compress(const std::vector<uint8_t>& in, std::vector<uint8_t>& out) override {
    deflateReset(&d);
    d.next_in = const_cast<Bytef*>(in.data());
    d.avail_in = static_cast<uInt>(in.size());
    d.next_out = out.data();
    d.avail_out = static_cast<uInt>(out.size());
    deflate(&d, Z_FINISH);
    return out.size() - d.avail_out;
  }
  size_t decompress(const uint8_t* in, size_t n, std::vector<uint8_t>& out) override {
    inflateReset(&i);
    i.next_in = const_cast<Bytef*>(in);
    i.avail_in = static_cast<uInt>(n);
    i.next_out = out.data();
    i.avail_out = static_cast<uInt>(out.size());
    inflate(&i, Z_FINISH);
    return out.size() - i.avail_out;
  }
};

struct direct_snappy : direct {  // xerial framing, one 32 KiB block per 16 KiB batch
  static constexpr uint8_t header[16] = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0, 0, 0, 0, 1, 0, 0, 0, 1};
  size_t compress(const std::vector<uint8_t>& in, std::vector<uint8_t>& out) override {
    std::memcpy(out.data(), header, 16);
    size_t n = 0;
    snappy::RawCompress(reinterpret_cast<const char*>(in.data()), in.size(), reinterpret_cast<char*>(out.data() + 20),
                        &n);
    for (int b = 0; b < 4; ++b) out[16 + b] = static_cast<uint8_t>(n >> (24 - 8 * b));
    return 20 + n;
  }
  size_t decompress(const uint8_t* in, size_t, std::vector<uint8_t>& out) override {
    size_t len = (size_t{in[16]} << 24) | (size_t{in[17]} << 16) | (size_t{in[18]} << 8) | in[19];
    size_t raw = 0;
    snappy::GetUncompressedLength(reinterpret_cast<const char*>(in + 20), len, &raw);
    snappy::RawUncompress(reinterpret_cast<const char*>(in + 20), len, reinterpret_cast<char*>(out.data()));
    return raw;
  }
};

struct direct_lz4 : direct {
  LZ4F_preferences_t prefs{};
  LZ4F_dctx* dctx = nullptr;
  direct_lz4() {
    prefs.frameInfo.blockSizeID = LZ4F_max64KB;
    prefs.frameInfo.blockMode = LZ4F_blockIndependent;
    LZ4F_createDecompressionContext(&dctx, LZ4F_VERSION);
  }
  ~direct_lz4() override { LZ4F_freeDecompressionContext(dctx); }
  size_t compress(const std::vector<uint8_t>& in, std::vector<uint8_t>& out) override {
    LZ4F_preferences_t p = prefs;
    p.frameInfo.contentSize = in.size();
    return LZ4F_compressFrame(out.data(), out.size(), in.data(), in.size(), &p);
  }
  size_t decompress(const uint8_t* in, size_t n, std::vector<uint8_t>& out) override {
    LZ4F_resetDecompressionContext(dctx);
    size_t dst = out.size(), src = n;
    LZ4F_decompress(dctx, out.data(), &dst, in, &src, nullptr);
    return dst;
  }
};

struct direct_zstd : direct {
  ZSTD_CCtx* c = ZSTD_createCCtx();
  ZSTD_DCtx* d = ZSTD_createDCtx();
  ~direct_zstd() override {
    ZSTD_freeCCtx(c);
    ZSTD_freeDCtx(d);
  }
  size_t compress(const std::vector<uint8_t>& in, std::vector<uint8_t>& out) override {
    return ZSTD_compressCCtx(c, out.data(), out.size(), in.data(), in.size(), 3);
  }
  size_t decompress(const uint8_t* in, size_t n, std::vector<uint8_t>& out) override {
    unsigned long long size = ZSTD_getFrameContentSize(in, n);
    return ZSTD_decompressDCtx(d, out.data(), size, in, n);
  }
};

std::unique_ptr<direct> make_direct(int codec) {
  switch (codec) {
    case MOSAIC_CODEC_GZIP: return std::make_unique<direct_gzip>();
    case MOSAIC_CODEC_SNAPPY: return std::make_unique<direct_snappy>();
    case MOSAIC_CODEC_LZ4: return std::make_unique<direct_lz4>();
    default: return std::make_unique<direct_zstd>();
  }
}

// Each batch compressed once by the plugin, for the decompression runs.
const std::vector<std::vector<uint8_t>>& compressed(int codec) {
  static std::map<int, std::vector<std::vector<uint8_t>>> cache;
  auto& v = cache[codec];
  if (v.empty())
    for (const auto& b : batches()) {
      byte_buffer out;
      (void)loaded().codecs.compress(codec, b, out);
      v.emplace_back(out.bytes().begin(), out.bytes().end());
    }
  return v;
}

void plugin_compress(benchmark::State& state) {
  int codec = static_cast<int>(state.range(0));
  auto& codecs = loaded().codecs;
  byte_buffer out;
  size_t i = 0;
  for (auto _ : state) {
    out.clear();
    auto s = codecs.compress(codec, batches()[i++ % batch_count], out);
    if (!s.ok()) state.SkipWithError(s.message().c_str());
    benchmark::DoNotOptimize(out.bytes().data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * batch_size));
}

void direct_compress(benchmark::State& state) {
  auto d = make_direct(static_cast<int>(state.range(0)));
  std::vector<uint8_t> out(2 * batch_size + 1024);
  size_t i = 0;
  for (auto _ : state) {
    size_t n = d->compress(batches()[i++ % batch_count], out);
    benchmark::DoNotOptimize(n);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * batch_size));
}

void plugin_decompress(benchmark::State& state) {
  int codec = static_cast<int>(state.range(0));
  auto& codecs = loaded().codecs;
  const auto& in = compressed(codec);
  byte_buffer out(4 * batch_size);
  size_t i = 0;
  for (auto _ : state) {
    out.clear();
    auto s = codecs.decompress(codec, in[i++ % batch_count], out);
    if (!s.ok()) state.SkipWithError(s.message().c_str());
    benchmark::DoNotOptimize(out.bytes().data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * batch_size));
}

void direct_decompress(benchmark::State& state) {
  int codec = static_cast<int>(state.range(0));
  auto d = make_direct(codec);
  const auto& in = compressed(codec);
  std::vector<uint8_t> out(4 * batch_size);
  size_t i = 0;
  for (auto _ : state) {
    const auto& c = in[i++ % batch_count];
    size_t n = d->decompress(c.data(), c.size(), out);
    if (n != batch_size) state.SkipWithError("direct decompression gave the wrong size");
    benchmark::DoNotOptimize(n);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * batch_size));
}

const char* codec_name(int64_t c) {
  static const char* names[] = {"none", "gzip", "snappy", "lz4", "zstd"};
  return names[c];
}

// Pairs each plugin run with its direct twin, run back to back.
void register_all() {
  for (int64_t c = 1; c <= 4; ++c) {
    const std::string n = codec_name(c);
    benchmark::RegisterBenchmark(("compress/" + n + "/plugin").c_str(), plugin_compress)->Arg(c);
    benchmark::RegisterBenchmark(("compress/" + n + "/direct").c_str(), direct_compress)->Arg(c);
    benchmark::RegisterBenchmark(("decompress/" + n + "/plugin").c_str(), plugin_decompress)->Arg(c);
    benchmark::RegisterBenchmark(("decompress/" + n + "/direct").c_str(), direct_decompress)->Arg(c);
  }
}

// Prints the usual table, then plugin throughput as a share of direct.
class ratio_reporter : public benchmark::ConsoleReporter {
 public:
  ratio_reporter() : ConsoleReporter(::isatty(STDOUT_FILENO) ? OO_Defaults : OO_Tabular) {}
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const auto& r : runs) {
      if (r.error_occurred || (r.run_type == Run::RT_Aggregate && r.aggregate_name != "median")) continue;
      std::string name = r.run_name.function_name;
      rates_[name] = r.counters.count("bytes_per_second") ? double(r.counters.at("bytes_per_second")) : 0;
    }
  }
  void Finalize() override {
    ConsoleReporter::Finalize();
    std::printf("\n%-22s %12s %12s %8s\n", "codec op", "plugin MB/s", "direct MB/s", "ratio");
    for (const auto& [name, rate] : rates_) {
      if (name.size() < 7 || name.compare(name.size() - 7, 7, "/plugin") != 0) continue;
      const std::string base = name.substr(0, name.size() - 7);
      auto d = rates_.find(base + "/direct");
      if (d == rates_.end() || d->second == 0) continue;
      std::printf("%-22s %12.1f %12.1f %7.3f\n", base.c_str(), rate / 1e6, d->second / 1e6, rate / d->second);
    }
  }

 private:
  std::map<std::string, double> rates_;
};

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  register_all();
  ratio_reporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
}

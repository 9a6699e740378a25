// The SDK's codec conformance suite, run on the shared build of every
// in-tree codec, through the SDK's fake host (as a plugin author would).
#include "mosaic/testing/codec_conformance.h"

namespace {

using mosaic::testing::codec_case;
using mosaic::testing::codec_conformance;

std::string lib(const std::string& name) { return std::string(MOSAIC_PLUGIN_DIR) + "/libmosaic_" + name + ".so"; }

INSTANTIATE_TEST_SUITE_P(
    codecs, codec_conformance,
    ::testing::Values(codec_case{lib("codec_gzip"), "mosaic.codec.gzip", {}},
                      codec_case{lib("codec_gzip"), "mosaic.codec.gzip", {{"level", "1"}}},
                      codec_case{lib("codec_snappy"), "mosaic.codec.snappy", {}},
                      codec_case{lib("codec_snappy"), "mosaic.codec.snappy", {{"framing", "raw"}}},
                      codec_case{lib("codec_lz4"), "mosaic.codec.lz4", {}},
                      codec_case{lib("codec_lz4"), "mosaic.codec.lz4", {{"level", "9"}, {"content_checksum", "true"}}},
                      codec_case{lib("codec_zstd"), "mosaic.codec.zstd", {}},
                      codec_case{lib("codec_zstd"), "mosaic.codec.zstd", {{"level", "-3"}}}),
    [](const ::testing::TestParamInfo<codec_case>& p) {
      std::string n = p.param.factory_name.substr(p.param.factory_name.rfind('.') + 1);
      for (const auto& [k, v] : p.param.config) n += "_" + k + "_" + v;
      for (char& c : n)
        if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
      return n;
    });

}  // namespace

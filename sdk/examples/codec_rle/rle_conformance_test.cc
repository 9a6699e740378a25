#include <mosaic/testing/codec_conformance.h>

using mosaic::testing::codec_case;
using mosaic::testing::codec_conformance;

INSTANTIATE_TEST_SUITE_P(rle, codec_conformance,
                         ::testing::Values(codec_case{RLE_PLUGIN, "com.acme.codec.rle", {}},
                                           codec_case{RLE_PLUGIN, "com.acme.codec.rle", {{"min_run", "8"}}}));

// The codecs against the reference command-line tools (gzip, lz4, zstd):
// what the tools write, the plugins read, and the other way round. Runs
// through the kernel's plugin host with the built-in copies, as mosaicd does.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "kernel/app/builtins.h"
#include "kernel/plugin/codecs.h"
#include "kernel/plugin/host.h"
#include "mosaic/testing/data.h"

namespace mosaic::plugin {
namespace {

class cross_check : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("mosaic_xcheck_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    for (const char* name : {"mosaic.codec.gzip", "mosaic.codec.snappy", "mosaic.codec.lz4", "mosaic.codec.zstd"}) {
      ASSERT_TRUE(host_.ensure(name, "builtin").ok());
      auto inst = host_.create(name, {});
      ASSERT_TRUE(inst.ok()) << inst.error().message();
      ASSERT_TRUE(codecs_.install(*inst).ok());
    }
    input_ = testing::json_records(300 * 1000, 21);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::vector<uint8_t> read(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
  }
  void write(const std::filesystem::path& p, std::span<const uint8_t> bytes) {
    std::ofstream(p, std::ios::binary)
        .write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  }
  int sh(const std::string& cmd) { return std::system(cmd.c_str()); }

  // The plugin decompresses `file` back to the input.
  void decompresses_to_input(int32_t codec, const std::filesystem::path& file) {
    auto compressed = read(file);
    byte_buffer out;
    auto s = codecs_.decompress(codec, compressed, out);
    ASSERT_TRUE(s.ok()) << s.message();
    EXPECT_TRUE(std::equal(out.bytes().begin(), out.bytes().end(), input_.begin(), input_.end()));
  }

  // The tool compresses, the plugin decompresses.
  void tool_to_plugin(int32_t codec, const std::string& tool_compress) {
    write(dir_ / "in", input_);
    ASSERT_EQ(sh(tool_compress + " < " + (dir_ / "in").string() + " > " + (dir_ / "in.z").string()), 0);
    decompresses_to_input(codec, dir_ / "in.z");
  }

  // The plugin compresses, the tool decompresses.
  void plugin_to_tool(int32_t codec, const std::string& tool_decompress) {
    byte_buffer out;
    ASSERT_TRUE(codecs_.compress(codec, input_, out).ok());
    write(dir_ / "out.z", out.bytes());
    ASSERT_EQ(sh(tool_decompress + " < " + (dir_ / "out.z").string() + " > " + (dir_ / "out").string()), 0);
    EXPECT_TRUE(read(dir_ / "out") == input_);
  }

  std::filesystem::path dir_;
  plugin_host host_{{}, app::builtin_plugins()};
  codec_set codecs_;
  std::vector<uint8_t> input_;
};

TEST_F(cross_check, gzip_reads_and_writes_what_the_gzip_tool_does) {
  tool_to_plugin(MOSAIC_CODEC_GZIP, "gzip -c -9");
  plugin_to_tool(MOSAIC_CODEC_GZIP, "gzip -d -c");
}

TEST_F(cross_check, gzip_reads_concatenated_members) {
  write(dir_ / "in", input_);
  const std::string in = (dir_ / "in").string();
  ASSERT_EQ(sh("(head -c 1000 " + in + " | gzip -c; tail -c +1001 " + in + " | gzip -c) > " + in + ".gz"), 0);
  decompresses_to_input(MOSAIC_CODEC_GZIP, in + ".gz");
}

TEST_F(cross_check, lz4_reads_and_writes_what_the_lz4_tool_does) {
  tool_to_plugin(MOSAIC_CODEC_LZ4, "lz4 -c -q");
  tool_to_plugin(MOSAIC_CODEC_LZ4, "lz4 -c -q -B4 --no-frame-crc -BD");
  plugin_to_tool(MOSAIC_CODEC_LZ4, "lz4 -d -c -q");
}

TEST_F(cross_check, zstd_reads_and_writes_what_the_zstd_tool_does) {
  tool_to_plugin(MOSAIC_CODEC_ZSTD, "zstd -c -q");
  tool_to_plugin(MOSAIC_CODEC_ZSTD, "zstd -c -q --no-content-size");  // streaming frames
  plugin_to_tool(MOSAIC_CODEC_ZSTD, "zstd -d -c -q");
}

TEST_F(cross_check, every_codec_compresses_json_records_at_least_2_to_1) {
  for (int32_t codec : {MOSAIC_CODEC_GZIP, MOSAIC_CODEC_SNAPPY, MOSAIC_CODEC_LZ4, MOSAIC_CODEC_ZSTD}) {
    byte_buffer out;
    ASSERT_TRUE(codecs_.compress(codec, input_, out).ok());
    EXPECT_LT(out.size(), input_.size() / 2) << "codec " << codec;
  }
}

TEST_F(cross_check, snappy_writes_the_xerial_framing_of_the_java_client) {
  byte_buffer out;
  ASSERT_TRUE(codecs_.compress(MOSAIC_CODEC_SNAPPY, input_, out).ok());
  auto b = out.bytes();
  const uint8_t header[16] = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0, 0, 0, 0, 1, 0, 0, 0, 1};
  ASSERT_GT(b.size(), 20u);
  EXPECT_TRUE(std::equal(header, header + 16, b.begin()));
  // Blocks of at most 32 KiB of input, each behind its big-endian length.
  size_t at = 16, blocks = 0;
  while (at < b.size()) {
    uint32_t len = (uint32_t{b[at]} << 24) | (uint32_t{b[at + 1]} << 16) | (uint32_t{b[at + 2]} << 8) | b[at + 3];
    at += 4 + len;
    ++blocks;
  }
  EXPECT_EQ(at, b.size());
  EXPECT_EQ(blocks, (input_.size() + 32767) / 32768);
}

}  // namespace
}  // namespace mosaic::plugin

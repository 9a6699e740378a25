#include "kernel/plugin/host.h"

#include <gtest/gtest.h>

#include "kernel/app/builtins.h"
#include "kernel/plugin/codecs.h"

namespace mosaic::plugin {
namespace {

plugin_host make_host(std::vector<builtin_plugin> builtins = {}) {
  return plugin_host({MOSAIC_FIXTURE_DIR, MOSAIC_PLUGIN_DIR}, std::move(builtins));
}

sdk::raw_value scalar(const std::string& name, const std::string& value, bool quoted = false) {
  sdk::raw_value v;
  v.name = name;
  v.scalar = value;
  v.quoted = quoted;
  v.where = "test.yaml:3:5";
  return v;
}

TEST(plugin_host, resolves_names_through_search_paths) {
  auto host = make_host();
  auto p = host.resolve("fixture_tag_a");
  ASSERT_TRUE(p.ok()) << p.error().message();
  EXPECT_EQ(*p, std::filesystem::path(MOSAIC_FIXTURE_DIR) / "libfixture_tag_a.so");
  EXPECT_TRUE(host.resolve("libmosaic_codec_zstd.so").ok());
  auto missing = host.resolve("nothing_here");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message().find("'libnothing_here.so': no such file in the search paths"),
            std::string::npos);
}

TEST(plugin_host, loads_a_library_once) {
  auto host = make_host();
  auto a = host.load_shared("fixture_tag_a");
  ASSERT_TRUE(a.ok()) << a.error().message();
  auto again = host.load_shared(std::string(MOSAIC_FIXTURE_DIR) + "/libfixture_tag_a.so");
  ASSERT_TRUE(again.ok()) << again.error().message();
  EXPECT_EQ(a->get(), again->get());
  ASSERT_NE(host.find("fixture.codec.tag_a"), nullptr);
}

TEST(plugin_host, refuses_a_duplicate_factory_name) {
  auto host = make_host();
  ASSERT_TRUE(host.load_shared("mosaic_codec_gzip").ok());
  auto dup = host.load_shared("fixture_duplicate_name");
  ASSERT_FALSE(dup.ok());
  EXPECT_NE(
      dup.error().message().find("libfixture_duplicate_name.so': factory 'mosaic.codec.gzip' is already provided by"),
      std::string::npos)
      << dup.error().message();
  // The refused library registered nothing.
  EXPECT_NE(host.find("mosaic.codec.gzip")->lib->origin().find("libmosaic_codec_gzip.so"), std::string::npos);
}

TEST(plugin_host, a_shared_copy_of_a_builtin_is_a_duplicate) {
  auto host = make_host(app::builtin_plugins());
  ASSERT_TRUE(host.ensure("mosaic.codec.zstd", std::nullopt).ok());
  EXPECT_TRUE(host.find("mosaic.codec.zstd")->lib->builtin());
  auto s = host.ensure("mosaic.codec.zstd", "mosaic_codec_zstd");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("is already provided by 'builtin:mosaic_codec_zstd'"), std::string::npos) << s.message();
}

TEST(plugin_host, ensure_finds_builtin_then_implied_library) {
  auto host = make_host(app::builtin_plugins());
  ASSERT_TRUE(host.ensure("mosaic.codec.lz4", std::nullopt).ok());
  EXPECT_EQ(host.find("mosaic.codec.lz4")->lib->origin(), "builtin:mosaic_codec_lz4");
  auto no_builtins = make_host();
  ASSERT_TRUE(no_builtins.ensure("mosaic.codec.lz4", std::nullopt).ok());
  EXPECT_NE(no_builtins.find("mosaic.codec.lz4")->lib->origin().find("libmosaic_codec_lz4.so"), std::string::npos);
  auto s = no_builtins.ensure("mosaic.codec.lz4", "builtin");
  EXPECT_FALSE(s.ok());
  auto wrong = no_builtins.ensure("fixture.codec.tag_b", "fixture_tag_a");
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.message().find("libfixture_tag_a.so' does not offer it"), std::string::npos) << wrong.message();
}

TEST(plugin_host, builtin_and_shared_builds_behave_the_same) {
  auto builtin = make_host(app::builtin_plugins());
  auto shared = make_host();
  ASSERT_TRUE(builtin.ensure("mosaic.codec.snappy", "builtin").ok());
  ASSERT_TRUE(shared.ensure("mosaic.codec.snappy", "mosaic_codec_snappy").ok());
  auto a = builtin.create("mosaic.codec.snappy", {});
  auto b = shared.create("mosaic.codec.snappy", {});
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_TRUE(a->get()->lib().builtin());
  EXPECT_FALSE(b->get()->lib().builtin());
  codec_set ca, cb;
  ASSERT_TRUE(ca.install(*a).ok());
  ASSERT_TRUE(cb.install(*b).ok());
  std::string text(10000, 'x');
  std::span<const uint8_t> in(reinterpret_cast<const uint8_t*>(text.data()), text.size());
  byte_buffer oa, ob;
  ASSERT_TRUE(ca.compress(MOSAIC_CODEC_SNAPPY, in, oa).ok());
  ASSERT_TRUE(cb.compress(MOSAIC_CODEC_SNAPPY, in, ob).ok());
  EXPECT_TRUE(std::equal(oa.bytes().begin(), oa.bytes().end(), ob.bytes().begin(), ob.bytes().end()));
  // Config checks apply to both.
  EXPECT_FALSE(builtin.create("mosaic.codec.snappy", std::vector{scalar("frame", "raw")}).ok());
  EXPECT_FALSE(shared.create("mosaic.codec.snappy", std::vector{scalar("frame", "raw")}).ok());
}

class tag_host : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(host_.ensure("fixture.codec.tag_a", "fixture_tag_a").ok()); }
  std::string refusal(std::vector<sdk::raw_value> cfg) {
    auto r = host_.create("fixture.codec.tag_a", cfg, "test.yaml:2:1");
    EXPECT_FALSE(r.ok());
    return r.ok() ? "" : r.error().message();
  }
  plugin_host host_ = make_host();
};

TEST_F(tag_host, refuses_an_unknown_key) {
  EXPECT_EQ(refusal({scalar("tag", "t"), scalar("colour", "red")}),
            "test.yaml:3:5: plugin 'fixture.codec.tag_a': unknown config key 'colour' (its keys are: tag, repeat, "
            "shout, ratio, labels, password)");
}

TEST_F(tag_host, refuses_a_wrong_type) {
  EXPECT_EQ(refusal({scalar("tag", "t"), scalar("repeat", "lots")}),
            "test.yaml:3:5: plugin 'fixture.codec.tag_a': config key 'repeat': expected an integer, got 'lots'");
  EXPECT_EQ(refusal({scalar("tag", "t"), scalar("repeat", "3", true)}),
            "test.yaml:3:5: plugin 'fixture.codec.tag_a': config key 'repeat' expects an integer, got a quoted string");
  EXPECT_NE(refusal({scalar("tag", "t"), scalar("shout", "maybe")}).find("expected a boolean"), std::string::npos);
  EXPECT_NE(refusal({scalar("tag", "t"), scalar("ratio", "half")}).find("expected a number"), std::string::npos);
  EXPECT_NE(refusal({scalar("tag", "t"), scalar("labels", "x")}).find("expects a list, got a scalar"),
            std::string::npos);
}

TEST_F(tag_host, refuses_out_of_range) {
  EXPECT_NE(refusal({scalar("tag", "t"), scalar("repeat", "11")}).find("'repeat': must be between 1 and 10"),
            std::string::npos);
}

TEST_F(tag_host, refuses_a_missing_required_key) {
  EXPECT_EQ(refusal({scalar("repeat", "2")}),
            "test.yaml:2:1: plugin 'fixture.codec.tag_a': missing required config key 'tag'");
}

TEST_F(tag_host, an_exception_in_create_becomes_a_refusal) {
  EXPECT_NE(refusal({scalar("tag", "throw")}).find("refused to start: the tag 'throw' makes create throw"),
            std::string::npos);
}

TEST_F(tag_host, creates_with_defaults_and_masks_secrets) {
  auto inst = host_.create("fixture.codec.tag_a", std::vector{scalar("tag", "t"), scalar("shout", "true")});
  ASSERT_TRUE(inst.ok()) << inst.error().message();
  EXPECT_EQ((*inst)->config().describe(), "tag=t, repeat=1, shout=true, ratio=0.5, labels=[x,y], password=<secret>");
  codec_set codecs;
  ASSERT_TRUE(codecs.install(*inst).ok());
  byte_buffer out;
  std::string data = "payload";
  ASSERT_TRUE(codecs.compress(7, {reinterpret_cast<const uint8_t*>(data.data()), data.size()}, out).ok());
  EXPECT_EQ(std::string(out.bytes().begin(), out.bytes().end()), "T:payload");
  EXPECT_EQ(host_.counters().snapshot().at("fixture.codec.tag_a.calls"), 1u);
}

TEST_F(tag_host, plugin_errors_and_exceptions_become_statuses) {
  auto inst = host_.create("fixture.codec.tag_a", std::vector{scalar("tag", "t")});
  ASSERT_TRUE(inst.ok());
  codec_set codecs;
  ASSERT_TRUE(codecs.install(*inst).ok());
  byte_buffer out;
  std::string bad = "nope";
  auto s = codecs.decompress(7, {reinterpret_cast<const uint8_t*>(bad.data()), bad.size()}, out);
  EXPECT_EQ(s.code(), errc::corrupt);
  EXPECT_EQ(s.message(), "fixture.codec.tag_a: input does not start with t:");
  std::string throws = "t:throw";
  s = codecs.decompress(7, {reinterpret_cast<const uint8_t*>(throws.data()), throws.size()}, out);
  EXPECT_EQ(s.code(), errc::internal);
  EXPECT_EQ(s.message(), "fixture.codec.tag_a: asked to throw");
  EXPECT_EQ(codecs.compress(5, {}, out).code(), errc::unsupported);
}

}  // namespace
}  // namespace mosaic::plugin

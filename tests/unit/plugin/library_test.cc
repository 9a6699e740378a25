// Each load check, with a real .so built to break it (tests/fixtures/plugins).
#include "kernel/plugin/library.h"

#include "mosaic/adapter/table.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

namespace mosaic::plugin {
namespace {

std::string fixture(const std::string& name) { return std::string(MOSAIC_FIXTURE_DIR) + "/libfixture_" + name + ".so"; }

// Opens the fixture and returns the refusal, which must name the file.
std::string refusal(const std::string& name) {
  auto lib = library::open(fixture(name));
  EXPECT_FALSE(lib.ok()) << name << " should be refused";
  if (lib.ok()) return "";
  EXPECT_NE(lib.error().message().find(fixture(name)), std::string::npos) << lib.error().message();
  return lib.error().message();
}

TEST(library, loads_a_valid_c_plugin) {
  auto lib = library::open(fixture("c_ok"));
  ASSERT_TRUE(lib.ok()) << lib.error().message();
  EXPECT_STREQ((*lib)->descriptor().name, "c-fixture");
  EXPECT_EQ((*lib)->descriptor().factory_count, 1u);
  EXPECT_FALSE((*lib)->builtin());
}

TEST(library, refuses_a_missing_file) {
  auto lib = library::open("/nonexistent/libnothing.so");
  ASSERT_FALSE(lib.ok());
  EXPECT_EQ(lib.error().message(), "plugin library '/nonexistent/libnothing.so': no such file");
  EXPECT_EQ(lib.error().code(), errc::not_found);
}

TEST(library, refuses_a_file_that_is_not_a_library) {
  auto path = std::filesystem::temp_directory_path() / ("libjunk_" + std::to_string(::getpid()) + ".so");
  std::ofstream(path) << "this is not an ELF file";
  auto lib = library::open(path);
  std::filesystem::remove(path);
  ASSERT_FALSE(lib.ok());
  EXPECT_NE(lib.error().message().find("cannot be loaded"), std::string::npos) << lib.error().message();
}

TEST(library, refuses_no_entry_symbol) {
  EXPECT_NE(refusal("no_entry").find("has no entry symbol 'mosaic_plugin_entry_v1'"), std::string::npos);
}

TEST(library, refuses_another_abi_major) {
  EXPECT_NE(refusal("abi_major").find("built for plugin ABI 2.0, but this host speaks ABI major 1"), std::string::npos);
}

TEST(library, refuses_a_newer_minor) {
  EXPECT_NE(refusal("abi_minor").find("built for plugin ABI 1.1, newer than this host's 1.0"), std::string::npos);
}

TEST(library, refuses_an_unknown_category) {
  EXPECT_NE(refusal("unknown_category").find("has unknown category 99"), std::string::npos);
}

TEST(library, refuses_a_c_table_declared_as_a_protocol_adapter) {
  // The C fixture's codec table, declared as the C++ tier's: not read.
  EXPECT_NE(refusal("c_adapter").find("a protocol adapter's table is not an adapter table"), std::string::npos);
}

TEST(library, refuses_a_record_interceptor_table_with_flags_it_does_not_know) {
  // The C fixture's codec table read as an interceptor's: its codec id (6)
  // lands in `flags`, bits the ABI does not define.
  EXPECT_NE(refusal("c_interceptor").find("record interceptor table has unknown flags 6"), std::string::npos);
}

TEST(library, loads_the_record_interceptors) {
  for (const char* name : {"/libmosaic_interceptor_json_schema.so", "/libmosaic_interceptor_header_stamp.so"}) {
    auto lib = library::open(std::string(MOSAIC_PLUGIN_DIR) + name);
    ASSERT_TRUE(lib.ok()) << lib.error().message();
    EXPECT_EQ((*lib)->descriptor().factories[0]->category, MOSAIC_CATEGORY_RECORD_INTERCEPTOR);
    EXPECT_STREQ(category_name(MOSAIC_CATEGORY_RECORD_INTERCEPTOR), "record_interceptor");
  }
}

TEST(library, loads_a_protocol_adapter_built_as_this_host_is) {
  auto lib = library::open(std::string(MOSAIC_FIXTURE_DIR) + "/libecho_adapter.so");
  ASSERT_TRUE(lib.ok()) << lib.error().message();
  EXPECT_EQ((*lib)->descriptor().factories[0]->category, MOSAIC_CATEGORY_PROTOCOL_ADAPTER);
}

TEST(library, refuses_a_protocol_adapter_built_another_way_naming_both_builds) {
  const std::string path = std::string(MOSAIC_FIXTURE_DIR) + "/libecho_adapter_other_build.so";
  auto lib = library::open(path);
  ASSERT_FALSE(lib.ok());
  const auto& m = lib.error().message();
  EXPECT_NE(m.find(path), std::string::npos) << m;
  EXPECT_NE(m.find("factory 'com.example.protocol.echo': a protocol adapter built as [mosaic 0.1.0 adapter-rev 1; "
                   "g++ 9.9.9; libstdc++ 20190101 cxx11-abi=0; C++ 201703L; sanitizer none], but this mosaicd is [" +
                   std::string(MOSAIC_ADAPTER_BUILD_SIGNATURE) + "]"),
            std::string::npos)
      << m;
}

TEST(library, refuses_a_null_or_truncated_descriptor) {
  EXPECT_NE(refusal("null_descriptor").find("the entry returned no descriptor"), std::string::npos);
  EXPECT_NE(refusal("small_descriptor").find("descriptor is smaller than ABI v1 defines"), std::string::npos);
}

TEST(library, refuses_bad_declarations) {
  EXPECT_NE(refusal("bad_codec_id").find("codec id 0 is outside 1..7"), std::string::npos);
  EXPECT_NE(refusal("bad_default").find("config field 'level' has an invalid default: expected an integer"),
            std::string::npos);
}

TEST(library, builtin_goes_through_the_same_checks) {
  // A built-in entry that returns a descriptor from another ABI major is
  // refused exactly like a shared library would be.
  static const mosaic_plugin_descriptor_v1 bad = {sizeof(mosaic_plugin_descriptor_v1), 2, 0, "b", "1", nullptr, 0};
  builtin_plugin b{"mosaic_bad", [] { return &bad; }};
  auto lib = library::from_builtin(b);
  ASSERT_FALSE(lib.ok());
  EXPECT_EQ(lib.error().message(),
            "plugin library 'builtin:mosaic_bad': built for plugin ABI 2.0, but this host speaks ABI major 1");
}

}  // namespace
}  // namespace mosaic::plugin

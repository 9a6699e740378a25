// A plugin library's manifest read from the file, never loaded: what the SDK
// wrote at compile time comes back field by field; a file that is not ELF,
// one cut short, one without the section, and manifests that do not read are
// refused with why, never a crash.
#include "kernel/plugin/manifest.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "mosaic/abi/plugin.h"
#include "tests/support/temp_dir.h"

namespace mosaic::plugin {
namespace {

const std::string fixtures = MOSAIC_FIXTURE_DIR;

TEST(plugin_manifest, what_the_sdk_wrote_reads_back_from_the_file) {
  auto ms = read_manifests(fixtures + "/libfaulty_interceptor.so");
  ASSERT_TRUE(ms.ok()) << ms.error().message();
  ASSERT_EQ(ms->size(), 1u);
  const auto& m = (*ms)[0];
  EXPECT_EQ(m.library, "fixture-faulty-interceptor");
  EXPECT_EQ(m.version, "1.0.0");
  EXPECT_EQ(m.abi, std::to_string(MOSAIC_ABI_VERSION_MAJOR) + "." + std::to_string(MOSAIC_ABI_VERSION_MINOR));
  ASSERT_EQ(m.factories.size(), 1u);
  EXPECT_EQ(m.factories[0].id, "test.interceptor.faulty");
  EXPECT_EQ(m.factories[0].category, MOSAIC_CATEGORY_RECORD_INTERCEPTOR);
  ASSERT_EQ(m.factories[0].fields.size(), 4u);
  const auto& f = m.factories[0].fields[2];
  EXPECT_EQ(f.name, "crash.every");
  EXPECT_EQ(f.type, MOSAIC_CONFIG_INT);
  EXPECT_EQ(f.default_value, "0");
  EXPECT_EQ(f.min, 0);
  EXPECT_EQ(f.max, 1000000);
  EXPECT_EQ(f.description, "every Nth call crashes the process (0: never)");
}

TEST(plugin_manifest, odd_files_and_manifests_are_refused_with_why) {
  testing::temp_dir dir;
  auto write = [&](const std::string& name, const std::string& bytes) {
    std::ofstream(dir.path() / name, std::ios::binary) << bytes;
    return dir.path() / name;
  };
  auto refused = read_manifests(write("text.so", "not a library at all"));
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message().find("not an ELF file"), std::string::npos);
  EXPECT_FALSE(read_manifests(dir.path() / "missing.so").ok());
  // The fixture cut short at every 4 KiB: refused or read, never a crash.
  std::ifstream in(fixtures + "/libfaulty_interceptor.so", std::ios::binary);
  const std::string whole((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  for (size_t cut = 0; cut < whole.size(); cut += 4096) {
    auto r = read_manifests(write("cut.so", whole.substr(0, cut)));
    EXPECT_FALSE(r.ok()) << cut;
  }
  // A C plugin writes its descriptor by hand: no manifest, and it says so.
  auto c = read_manifests(fixtures + "/libfixture_c_ok.so");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code(), errc::not_found);
  EXPECT_NE(c.error().message().find("has no manifest"), std::string::npos);
  // Manifests that do not read.
  for (const std::string& bad :
       {std::string("hello\n"), std::string("mosaic-plugin-manifest-v1\nlibrary\tx\t1\t1.0\n"),
        std::string("mosaic-plugin-manifest-v1\nlibrary\tx\t1\t1.0\nfield\ta\t2\t0\t1\t0\t9\td\nend\n"),
        std::string("mosaic-plugin-manifest-v1\nlibrary\tx\t1\t1.0\nfactory\tf\tseven\t\nend\n")})
    EXPECT_FALSE(parse_manifests(bad).ok()) << bad;
  // Two manifests with padding between them (a binary with built-ins).
  const std::string one = "mosaic-plugin-manifest-v1\nlibrary\tx\t1\t1.0\nfactory\tf\t1\td\nend\n";
  auto two = parse_manifests(one + std::string("\0\0\0", 3) + one + std::string("\0", 1));
  ASSERT_TRUE(two.ok()) << two.error().message();
  EXPECT_EQ(two->size(), 2u);
}

}  // namespace
}  // namespace mosaic::plugin

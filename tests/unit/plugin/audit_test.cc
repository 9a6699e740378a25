// The plugin audit log: one JSON line per event, appended, strings escaped.
#include "kernel/plugin/audit.h"

#include <gtest/gtest.h>

#include <fstream>

#include "tests/support/temp_dir.h"

namespace mosaic::plugin {
namespace {

TEST(audit_log, one_escaped_json_line_per_event_appended_across_opens) {
  testing::temp_dir dir;
  const auto file = dir.path() / "plugin-audit.log";
  {
    audit_log a;
    a.record({"load", "start", "codec.lz4", "x", "", "", 1, "", "", "", -1, -1});  // not open yet: nothing
    ASSERT_TRUE(a.open(file, 3).ok());
    a.record({"load", "start", "codec.lz4", "mosaic.codec.lz4", "builtin:mosaic_codec_lz4", "", 1, "level=0", "", "",
              -1, -1});
  }
  audit_log again;
  ASSERT_TRUE(again.open(file, 3).ok());
  again.record({"refuse", "reload", "", "/p/lib\"x\".so", "", "", 0, "", "line one\nline two\t\x01", "", -1, -1});
  again.record({"swap", "cluster", "group.share.policy", "mosaic.share.backoff", "builtin:b", "", 4, "", "", "User:ops",
                2, 117});
  std::ifstream in(file);
  std::string first, second, third, fourth;
  ASSERT_TRUE(std::getline(in, first));
  ASSERT_TRUE(std::getline(in, second));
  ASSERT_TRUE(std::getline(in, third));
  EXPECT_FALSE(std::getline(in, fourth));
  // A cluster swap's line says who asked, the cluster's generation and the
  // metadata offset.
  EXPECT_NE(third.find(R"("generation":4,"principal":"User:ops","cluster_generation":2,"offset":117})"),
            std::string::npos)
      << third;
  EXPECT_NE(first.find(R"("node":3,"action":"load","cause":"start","slot":"codec.lz4","plugin":"mosaic.codec.lz4",)"
                       R"("library":"builtin:mosaic_codec_lz4","generation":1,"config":"level=0"})"),
            std::string::npos)
      << first;
  EXPECT_EQ(first.rfind(R"({"time":")", 0), 0u) << first;
  EXPECT_NE(second.find(R"("plugin":"/p/lib\"x\".so","reason":"line one\nline two\t\u0001"})"), std::string::npos)
      << second;
  EXPECT_FALSE(audit_log().open(dir.path() / "missing" / "audit.log", 1).ok());
}

}  // namespace
}  // namespace mosaic::plugin

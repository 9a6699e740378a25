// The SDK's assignor conformance suite, run on the shared build of every
// in-tree assignor, through the SDK's fake host; then what the suite cannot
// say in general: range's co-partitioning, and the host's refusal of a bad
// answer (a fixture assignor that misbehaves on purpose).
#include "mosaic/testing/assignor_conformance.h"

namespace {

using mosaic::testing::assignor_case;
using mosaic::testing::assignor_conformance;

std::string lib(const std::string& name) { return std::string(MOSAIC_PLUGIN_DIR) + "/libmosaic_" + name + ".so"; }

INSTANTIATE_TEST_SUITE_P(
    assignors, assignor_conformance,
    ::testing::Values(
        assignor_case{lib("assignor_uniform"), "mosaic.assignor.uniform", {}, true, assignor_case::balance::per_member},
        assignor_case{lib("assignor_range"), "mosaic.assignor.range", {}, false, assignor_case::balance::per_topic}),
    [](const ::testing::TestParamInfo<assignor_case>& p) {
      return p.param.factory_name.substr(p.param.factory_name.rfind('.') + 1);
    });

class assignor_call : public ::testing::Test {
 protected:
  mosaic::sdk::assignor_outcome run(const std::string& library, const std::string& factory,
                                    const std::map<std::string, std::string>& config,
                                    const mosaic::sdk::assignor_input& in) {
    libs_.push_back(std::make_unique<mosaic::testing::plugin_library>(library));
    insts_.push_back(host_.create(libs_.back()->factory(factory), config));
    return mosaic::sdk::call_assignor(insts_.back()->vtable<mosaic_assignor_vtable_v1>(), insts_.back()->handle(), in);
  }
  static mosaic::sdk::assignor_input two_topics(size_t members, int32_t partitions) {
    mosaic::sdk::assignor_input in;
    for (int t = 0; t < 2; ++t)
      in.topics.push_back({{static_cast<uint8_t>(t + 1)}, "t" + std::to_string(t), partitions});
    for (size_t m = 0; m < members; ++m) in.members.push_back({"m" + std::to_string(m), {}, {}, {0, 1}, {}});
    return in;
  }
  mosaic::testing::fake_host host_;
  std::vector<std::unique_ptr<mosaic::testing::plugin_library>> libs_;
  std::vector<std::unique_ptr<mosaic::testing::fake_instance>> insts_;
};

TEST_F(assignor_call, range_co_partitions_topics_with_the_same_subscribers) {
  auto in = two_topics(3, 7);
  auto out = run(lib("assignor_range"), "mosaic.assignor.range", {}, in);
  ASSERT_TRUE(out.ok()) << out.message;
  for (size_t m = 0; m < 3; ++m) EXPECT_EQ(out.members[m].at(0), out.members[m].at(1)) << m;
  // Contiguous ranges, the first member one longer: 0-2, 3-4, 5-6.
  EXPECT_EQ(out.members[0].at(0), (std::vector<int32_t>{0, 1, 2}));
  EXPECT_EQ(out.members[1].at(0), (std::vector<int32_t>{3, 4}));
  EXPECT_EQ(out.members[2].at(0), (std::vector<int32_t>{5, 6}));
}

TEST_F(assignor_call, the_host_refuses_a_malformed_answer) {
  const std::string bad = std::string(MOSAIC_FIXTURE_DIR) + "/libbad_assignor.so";
  const auto in = two_topics(2, 4);
  const std::pair<const char*, const char*> cases[] = {
      {"twice", "t0-0 twice"},
      {"unknown_member", "member index 2 of 2"},
      {"unknown_topic", "topic index 2 of 2"},
      {"phantom", "t0-4, which does not exist"},
      {"stranger", "does not subscribe to it"},
      {"fail", "deliberate failure"},
  };
  for (const auto& [mode, why] : cases) {
    auto in2 = in;
    if (std::string(mode) == "stranger") in2.members[1].topics = {1};
    auto out = run(bad, "test.assignor.bad", {{"mode", mode}}, in2);
    EXPECT_FALSE(out.ok()) << mode;
    EXPECT_NE(out.message.find(why), std::string::npos) << mode << ": " << out.message;
  }
}

}  // namespace

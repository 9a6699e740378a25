// The set of record interceptors (kernel/plugin/interceptors.h): which
// entries a topic's chain holds and in what order, and what a reload does
// to each entry's generation.
#include "kernel/plugin/interceptors.h"

#include <gtest/gtest.h>

#include "kernel/plugin/host.h"

namespace mosaic::plugin {
namespace {

class interceptor_set_test : public ::testing::Test {
 protected:
  std::shared_ptr<instance> make(const std::string& name, const std::string& fail_every = "0") {
    sdk::raw_value v;
    v.name = "fail.every";
    v.scalar = fail_every;
    v.where = "test.yaml:1:1";
    if (name == "faulty") {
      auto inst = host_.create("test.interceptor.faulty", std::vector{v});
      EXPECT_TRUE(inst.ok()) << inst.error().message();
      return *inst;
    }
    sdk::raw_value headers;
    headers.name = "headers";
    headers.type = sdk::raw_value::kind::list;
    headers.items = {"x=1"};
    headers.where = "test.yaml:1:1";
    auto inst = host_.create("mosaic.interceptor.header_stamp", std::vector{headers});
    EXPECT_TRUE(inst.ok()) << inst.error().message();
    return *inst;
  }
  std::vector<std::string> chain(const interceptor_set& s, const std::string& topic) {
    std::vector<std::string> out;
    for (const auto& l : s.chain_for(topic).links)
      out.push_back(std::to_string(l.index) + ":" + l.gen->inst->factory().name);
    return out;
  }
  void SetUp() override {
    ASSERT_TRUE(
        host_.ensure("test.interceptor.faulty", std::string(MOSAIC_FIXTURE_DIR) + "/libfaulty_interceptor.so").ok());
    ASSERT_TRUE(host_.ensure("mosaic.interceptor.header_stamp", std::nullopt).ok());
  }
  plugin_host host_{{MOSAIC_FIXTURE_DIR, MOSAIC_PLUGIN_DIR}, {}};
};

TEST_F(interceptor_set_test, a_topic_chain_is_every_matching_entry_in_order) {
  interceptor_set s;
  EXPECT_FALSE(s.any());
  EXPECT_TRUE(s.chain_for("orders").empty());
  s.set({{{"orders"}, {}, make("faulty")}, {{}, {""}, make("stamp")}, {{}, {"audit."}, make("faulty")}});
  EXPECT_TRUE(s.any());
  EXPECT_EQ(chain(s, "orders"),
            (std::vector<std::string>{"0:test.interceptor.faulty", "1:mosaic.interceptor.header_stamp"}));
  EXPECT_EQ(chain(s, "audit.2026"),
            (std::vector<std::string>{"1:mosaic.interceptor.header_stamp", "2:test.interceptor.faulty"}));
  EXPECT_EQ(chain(s, "orders-eu"), (std::vector<std::string>{"1:mosaic.interceptor.header_stamp"}));
  EXPECT_FALSE(s.chain_for("orders").reads_records);  // neither reads records
  s.set({});
  EXPECT_FALSE(s.any());
  EXPECT_TRUE(s.chain_for("orders").empty());
}

TEST_F(interceptor_set_test, a_reload_is_the_next_generation_of_the_same_plugin_in_the_same_place) {
  interceptor_set s;
  EXPECT_EQ(s.set({{{"a"}, {}, make("faulty")}, {{"a"}, {}, make("stamp")}}), (std::vector<uint64_t>{1, 1}));
  auto held = s.chain_for("a");  // a call under way keeps its generations
  EXPECT_EQ(s.set({{{"a"}, {}, make("faulty", "3")}, {{"a"}, {}, make("faulty")}}), (std::vector<uint64_t>{2, 1}));
  EXPECT_EQ(held.links[1].gen->inst->factory().name, std::string("mosaic.interceptor.header_stamp"));
  auto now = s.chain_for("a");
  EXPECT_EQ(now.links[0].gen->number, 2u);
  EXPECT_EQ(now.links[1].gen->inst->factory().name, std::string("test.interceptor.faulty"));
  std::vector<std::string> slots;
  s.visit([&](const std::string& slot, const instance& inst, uint64_t gen, const call_meter&) {
    slots.push_back(slot + "=" + inst.factory().name + "#" + std::to_string(gen));
  });
  EXPECT_EQ(slots, (std::vector<std::string>{"interceptor.0=test.interceptor.faulty#2",
                                             "interceptor.1=test.interceptor.faulty#1"}));
}

}  // namespace
}  // namespace mosaic::plugin

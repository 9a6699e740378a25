// The authorizer slot (kernel/security/authorizer_slot.h) with real plugin
// libraries: mosaic.authz.rules deferring to the real ACL authorizer, a
// faulty plugin failing closed, and swaps under concurrent checks (run
// under TSan in the suite).
#include "kernel/security/authorizer_slot.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "kernel/security/acls.h"

namespace mosaic::security {
namespace {

using adapter::acl_operation;
using adapter::acl_resource;

sdk::raw_value scalar(const std::string& name, const std::string& value) {
  sdk::raw_value v;
  v.name = name;
  v.scalar = value;
  return v;
}
sdk::raw_value list(const std::string& name, std::vector<std::string> items) {
  sdk::raw_value v;
  v.name = name;
  v.type = sdk::raw_value::kind::list;
  v.items = std::move(items);
  return v;
}

const adapter::principal alice{"User", "alice"}, bob{"User", "bob"};

class authorizer_slot_test : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(host_.ensure("mosaic.authz.rules", "libmosaic_authz_rules.so").ok());
    ASSERT_TRUE(host_.ensure("test.authz.faulty", MOSAIC_FIXTURE_DIR "/libfaulty_authorizer.so").ok());
    // The ACLs: bob may read topic t.
    acl_authorizer::source from;
    from.version = [] { return uint64_t{1}; };
    from.load = [] {
      return std::vector<acl_binding>{{acl_resource::topic, "t", adapter::acl_pattern::literal, "User:bob", "*",
                                       acl_operation::read, adapter::acl_permission::allow}};
    };
    slot_.set_acls(std::make_shared<acl_authorizer>(authorizer_options{}, std::move(from)));
  }
  std::shared_ptr<plugin::instance> rules(std::vector<std::string> r) {
    auto inst = host_.create("mosaic.authz.rules", std::vector{list("rules", std::move(r))});
    EXPECT_TRUE(inst.ok()) << inst.error().message();
    return std::move(*inst);
  }
  std::shared_ptr<plugin::instance> faulty(const std::string& mode) {
    auto inst = host_.create("test.authz.faulty", std::vector{scalar("mode", mode)});
    EXPECT_TRUE(inst.ok()) << inst.error().message();
    return std::move(*inst);
  }
  bool reads(const adapter::principal& who, const std::string& topic) const {
    return slot_.allowed(who, "127.0.0.1", acl_operation::read, acl_resource::topic, topic);
  }

  plugin::plugin_host host_{{MOSAIC_PLUGIN_DIR}, {}};
  authorizer_slot slot_;
};

TEST_F(authorizer_slot_test, an_empty_slot_denies) {
  EXPECT_FALSE(reads(bob, "t"));
  EXPECT_EQ(slot_.current_name(), "");
}

TEST_F(authorizer_slot_test, a_plugin_decides_and_may_defer_to_the_acls) {
  EXPECT_EQ(slot_.install(rules({"allow User:alice Read topic:*", "deny User:bob Read topic:secret"})), 1u);
  EXPECT_EQ(slot_.current_name(), "mosaic.authz.rules");
  EXPECT_TRUE(reads(alice, "anything"));
  EXPECT_FALSE(reads(bob, "secret"));
  EXPECT_TRUE(reads(bob, "t"));    // no rule: the ACLs allow it
  EXPECT_FALSE(reads(bob, "t2"));  // nor do the ACLs
  EXPECT_FALSE(slot_.allowed(bob, "127.0.0.1", acl_operation::write, acl_resource::topic, "t"));
  EXPECT_TRUE(slot_.allowed_on_some(alice, "127.0.0.1", acl_operation::read, acl_resource::topic));
  EXPECT_TRUE(slot_.allowed_on_some(bob, "127.0.0.1", acl_operation::read, acl_resource::topic));  // via the ACLs
  EXPECT_FALSE(slot_.allowed_on_some(bob, "127.0.0.1", acl_operation::write, acl_resource::topic));
  EXPECT_EQ(slot_.faults(), 0u);
}

TEST_F(authorizer_slot_test, a_faulting_plugin_is_denied_and_counted) {
  for (const char* mode : {"throw", "garbage"}) {
    const uint64_t before = slot_.faults();
    slot_.install(faulty(mode));
    EXPECT_FALSE(reads(alice, "t")) << mode;
    EXPECT_FALSE(slot_.allowed_on_some(alice, "127.0.0.1", acl_operation::read, acl_resource::topic)) << mode;
    EXPECT_TRUE(reads(bob, "t")) << mode;  // the plugin allows everyone else
    EXPECT_EQ(slot_.faults(), before + 2) << mode;
    // Each generation's meter: three calls, the two faults among them.
    uint64_t calls = 0, errors = 0, seen = 0;
    slot_.visit([&](const std::string& slot, const plugin::instance&, uint64_t, const plugin::call_meter& m) {
      EXPECT_EQ(slot, "authorizer");
      calls = m.calls();
      errors = m.errors();
      ++seen;
    });
    EXPECT_EQ(seen, 1u);
    EXPECT_EQ(calls, 3u) << mode;
    EXPECT_EQ(errors, 2u) << mode;
  }
}

TEST_F(authorizer_slot_test, swaps_under_concurrent_checks_give_one_generation_s_answer_each) {
  slot_.install(rules({"allow User:alice Read topic:t"}));
  std::atomic<bool> stop{false};
  std::atomic<int> allowed{0}, denied{0}, wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t)
    threads.emplace_back([&] {
      while (!stop.load()) {
        (reads(alice, "t") ? allowed : denied)++;
        if (reads(alice, "other")) ++wrong;  // no generation allows it
      }
    });
  // At least 200 swaps, and on until the checkers have been at it a while
  // (on a loaded machine they may not have started before the 200th); an
  // even count, so the last generation allows.
  for (int i = 0; i < 200 || allowed.load() + denied.load() < 1000 || i % 2 != 0; ++i)
    slot_.install(i % 2 == 0 ? rules({"deny User:alice Read topic:t"}) : rules({"allow User:alice Read topic:t"}));
  stop = true;
  for (auto& t : threads) t.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_GT(allowed.load() + denied.load(), 0);
  EXPECT_TRUE(reads(alice, "t"));  // the last generation allows it
  EXPECT_EQ(slot_.faults(), 0u);
}

}  // namespace
}  // namespace mosaic::security

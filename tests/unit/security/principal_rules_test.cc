// ssl.principal.mapping.rules (kernel/security/principal_rules.h): Kafka's
// rule forms, their order, case folding, and the rules refused.
#include "kernel/security/principal_rules.h"

#include <gtest/gtest.h>

namespace mosaic::security {
namespace {

TEST(principal_rules, no_rules_or_default_keep_the_subject) {
  auto none = principal_rules::parse({});
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->apply("CN=alice,O=Mosaic"), "CN=alice,O=Mosaic");
  auto d = principal_rules::parse({"DEFAULT"});
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->apply("CN=bob"), "CN=bob");
}

TEST(principal_rules, the_first_rule_matching_the_whole_subject_names_the_principal) {
  auto r = principal_rules::parse({"RULE:^CN=([^,]+),OU=admins,O=Mosaic$/$1-admin/U",
                                   "RULE:^CN=([^,]+),OU=([^,]+),O=Mosaic$/$1@$2/L", "RULE:^CN=svc$/service/"});
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->apply("CN=Root,OU=admins,O=Mosaic"), "ROOT-ADMIN");
  EXPECT_EQ(r->apply("CN=Alice,OU=Clients,O=Mosaic"), "alice@clients");
  EXPECT_EQ(r->apply("CN=svc"), "service");
  // The whole subject must match: a longer one does not.
  EXPECT_EQ(r->apply("CN=svc,O=Other"), std::nullopt);
  EXPECT_EQ(r->apply("CN=x,OU=y,O=Other"), std::nullopt);
  auto with_default = principal_rules::parse({"RULE:^CN=svc$/service/", "DEFAULT"});
  EXPECT_EQ(with_default->apply("CN=other"), "CN=other");
}

TEST(principal_rules, malformed_rules_are_refused_with_their_text) {
  for (const char* bad : {"CN", "RULE:", "RULE:abc", "RULE:abc/def", "RULE:(/x/", "RULE:a/b/X", "RULE:a/b/LU"}) {
    auto r = principal_rules::parse({bad});
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.error().message().find(bad), std::string::npos) << r.error().message();
  }
}

}  // namespace
}  // namespace mosaic::security

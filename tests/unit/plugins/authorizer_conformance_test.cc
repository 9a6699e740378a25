// mosaic.authz.rules through the SDK's authorizer conformance suite, loaded
// from its shared build as a third party would test theirs, and its own
// rules: first match wins, prefixes, CIDR hosts, the implied DESCRIBE,
// "some resource of the type", what decides when no rule matches (the
// host's ACLs among them), and rule lists refused with the rule at fault.
#include "mosaic/testing/authorizer_conformance.h"

#include <string>
#include <vector>

namespace {

using mosaic::testing::authorizer_case;
using mosaic::testing::authorizer_conformance;
using mosaic::testing::authz_caller;
using mosaic::testing::authz_request;
using mosaic::testing::fake_host;
using mosaic::testing::plugin_library;

const std::string rules_lib = std::string(MOSAIC_PLUGIN_DIR) + "/libmosaic_authz_rules.so";

authz_request ask(const std::string& who, int32_t op, int32_t type, const std::string& name,
                  const std::string& host = "127.0.0.1") {
  return {"User", who, host, op, type, name, false};
}

INSTANTIATE_TEST_SUITE_P(rules, authorizer_conformance,
                         ::testing::Values(authorizer_case{
                             rules_lib,
                             "mosaic.authz.rules",
                             {{"otherwise", "acls"}},
                             {{"rules", {"deny * Write topic:audit-*", "allow User:alice Read,Write topic:orders"}}},
                             ask("alice", MOSAIC_AUTHZ_OP_WRITE, MOSAIC_AUTHZ_RESOURCE_TOPIC, "orders"),
                             ask("alice", MOSAIC_AUTHZ_OP_WRITE, MOSAIC_AUTHZ_RESOURCE_TOPIC, "audit-2026")}));

class rules : public ::testing::Test {
 protected:
  // An instance with these rules; `otherwise` as given.
  void make(const std::vector<std::string>& list, const std::string& otherwise = "deny") {
    inst_ = host_.create(lib_.factory("mosaic.authz.rules"), {{"otherwise", otherwise}}, {{"rules", list}});
    caller_ = std::make_unique<authz_caller>(inst_->vtable<mosaic_authorizer_vtable_v1>(), inst_->handle());
  }
  // The refusal `list` gets.
  std::string refusal(const std::vector<std::string>& list, const std::string& otherwise = "deny") {
    try {
      make(list, otherwise);
    } catch (const std::exception& e) {
      return e.what();
    }
    return "";
  }
  bool allows(const authz_request& r, int32_t acls = MOSAIC_AUTHZ_DENY) {
    auto a = caller_->ask(r, acls);
    EXPECT_EQ(a.status, MOSAIC_OK) << a.message;
    return a.decision == MOSAIC_AUTHZ_ALLOW;
  }

  fake_host host_;
  plugin_library lib_{rules_lib};
  std::unique_ptr<mosaic::testing::fake_instance> inst_;
  std::unique_ptr<authz_caller> caller_;
};

constexpr int32_t topic = MOSAIC_AUTHZ_RESOURCE_TOPIC, group = MOSAIC_AUTHZ_RESOURCE_GROUP,
                  cluster = MOSAIC_AUTHZ_RESOURCE_CLUSTER;

TEST_F(rules, the_first_rule_that_matches_decides) {
  make({"deny User:bob All topic:*", "allow * Read topic:orders", "deny * Read topic:orders"});
  EXPECT_TRUE(allows(ask("alice", MOSAIC_AUTHZ_OP_READ, topic, "orders")));
  EXPECT_FALSE(allows(ask("bob", MOSAIC_AUTHZ_OP_READ, topic, "orders")));
  EXPECT_FALSE(allows(ask("alice", MOSAIC_AUTHZ_OP_WRITE, topic, "orders")));  // no rule: otherwise deny
  EXPECT_FALSE(allows(ask("alice", MOSAIC_AUTHZ_OP_READ, group, "orders")));   // another resource type
}

TEST_F(rules, prefixes_wildcards_and_principals) {
  make({"allow User:* Describe topic:*", "allow User:alice Write topic:orders-*", "allow * Read group:g1"});
  EXPECT_TRUE(allows(ask("alice", MOSAIC_AUTHZ_OP_WRITE, topic, "orders-eu")));
  EXPECT_TRUE(allows(ask("alice", MOSAIC_AUTHZ_OP_WRITE, topic, "orders-")));
  EXPECT_FALSE(allows(ask("alice", MOSAIC_AUTHZ_OP_WRITE, topic, "order")));
  EXPECT_FALSE(allows(ask("carol", MOSAIC_AUTHZ_OP_WRITE, topic, "orders-eu")));
  EXPECT_TRUE(allows(ask("carol", MOSAIC_AUTHZ_OP_DESCRIBE, topic, "anything")));
  EXPECT_TRUE(allows(ask("ANONYMOUS", MOSAIC_AUTHZ_OP_READ, group, "g1")));
  EXPECT_FALSE(allows(ask("ANONYMOUS", MOSAIC_AUTHZ_OP_READ, group, "g10")));  // a literal is not a prefix
  auto other_type = ask("alice", MOSAIC_AUTHZ_OP_DESCRIBE, topic, "x");
  other_type.principal_type = "Group";
  EXPECT_FALSE(allows(other_type));  // User:* is users only
}

TEST_F(rules, hosts_are_addresses_or_cidr_ranges) {
  make({"allow * Read topic:t from 10.1.0.0/16", "allow * Write topic:t from ::1",
        "allow * Alter topic:t from 2001:db8::/32"});
  EXPECT_TRUE(allows(ask("a", MOSAIC_AUTHZ_OP_READ, topic, "t", "10.1.200.3")));
  EXPECT_TRUE(allows(ask("a", MOSAIC_AUTHZ_OP_READ, topic, "t", "::ffff:10.1.0.9")));  // IPv4-mapped
  EXPECT_FALSE(allows(ask("a", MOSAIC_AUTHZ_OP_READ, topic, "t", "10.2.0.1")));
  EXPECT_FALSE(allows(ask("a", MOSAIC_AUTHZ_OP_READ, topic, "t", "not an address")));
  EXPECT_TRUE(allows(ask("a", MOSAIC_AUTHZ_OP_WRITE, topic, "t", "::1")));
  EXPECT_FALSE(allows(ask("a", MOSAIC_AUTHZ_OP_WRITE, topic, "t", "127.0.0.1")));
  EXPECT_TRUE(allows(ask("a", MOSAIC_AUTHZ_OP_ALTER, topic, "t", "2001:db8:1::5")));
  EXPECT_FALSE(allows(ask("a", MOSAIC_AUTHZ_OP_ALTER, topic, "t", "2001:db9::5")));
}

TEST_F(rules, allowing_an_operation_allows_describing_as_kafka_acls_do) {
  make({"deny * Read topic:secret", "allow * Read topic:*", "allow * AlterConfigs topic:*"});
  EXPECT_TRUE(allows(ask("a", MOSAIC_AUTHZ_OP_DESCRIBE, topic, "public")));
  EXPECT_TRUE(allows(ask("a", MOSAIC_AUTHZ_OP_DESCRIBE_CONFIGS, topic, "public")));
  // A deny of READ does not deny DESCRIBE: the next rule allows it.
  EXPECT_TRUE(allows(ask("a", MOSAIC_AUTHZ_OP_DESCRIBE, topic, "secret")));
  EXPECT_FALSE(allows(ask("a", MOSAIC_AUTHZ_OP_READ, topic, "secret")));
  EXPECT_FALSE(allows(ask("a", MOSAIC_AUTHZ_OP_WRITE, topic, "public")));
}

TEST_F(rules, some_resource_of_the_type) {
  make({"deny * Write topic:audit", "allow User:alice Write topic:orders-*", "deny User:bob All topic:*"});
  auto some = [](const std::string& who) {
    authz_request r{"User", who, "127.0.0.1", MOSAIC_AUTHZ_OP_WRITE, topic, "", true};
    return r;
  };
  EXPECT_TRUE(allows(some("alice")));  // denying one topic does not deny all
  EXPECT_FALSE(allows(some("bob")));   // a deny of every topic does
  EXPECT_FALSE(allows(some("carol")));
}

TEST_F(rules, the_cluster_and_what_decides_when_no_rule_matches) {
  make({"allow User:admin All cluster"}, "acls");
  EXPECT_TRUE(allows(ask("admin", MOSAIC_AUTHZ_OP_ALTER, cluster, "kafka-cluster")));
  // No rule: the host's ACLs decide.
  EXPECT_FALSE(allows(ask("alice", MOSAIC_AUTHZ_OP_ALTER, cluster, "kafka-cluster"), MOSAIC_AUTHZ_DENY));
  EXPECT_TRUE(allows(ask("alice", MOSAIC_AUTHZ_OP_ALTER, cluster, "kafka-cluster"), MOSAIC_AUTHZ_ALLOW));
  make({"deny * All topic:x"}, "allow");
  EXPECT_TRUE(allows(ask("alice", MOSAIC_AUTHZ_OP_READ, topic, "y")));
  EXPECT_FALSE(allows(ask("alice", MOSAIC_AUTHZ_OP_READ, topic, "x"), MOSAIC_AUTHZ_ALLOW));
}

TEST_F(rules, a_bad_rule_list_is_refused_naming_the_rule) {
  EXPECT_NE(refusal({"allow * Read topic:a", "permit * Read topic:b"}).find("rules[1] 'permit * Read topic:b'"),
            std::string::npos);
  EXPECT_NE(refusal({"allow alice Read topic:a"}).find("Type:name"), std::string::npos);
  EXPECT_NE(refusal({"allow * Fly topic:a"}).find("unknown operation 'Fly'"), std::string::npos);
  EXPECT_NE(refusal({"allow * Read table:a"}).find("unknown resource type"), std::string::npos);
  EXPECT_NE(refusal({"allow * Read topic:"}).find("type:name"), std::string::npos);
  EXPECT_NE(refusal({"allow * Read topic:a from 10.0.0.0/33"}).find("prefix length"), std::string::npos);
  EXPECT_NE(refusal({"allow * Read topic:a from nowhere"}).find("not an address"), std::string::npos);
  EXPECT_NE(refusal({"allow * Read topic:a to 10.0.0.1"}).find("expected"), std::string::npos);
  EXPECT_NE(refusal({"allow * Read cluster:other"}).find("kafka-cluster"), std::string::npos);
  EXPECT_NE(refusal({"allow * Read topic:a"}, "maybe").find("otherwise must be"), std::string::npos);
  EXPECT_EQ(refusal({"allow * Read,Write,IdempotentWrite topic:a from 10.0.0.0/8", "deny User:x All cluster"}), "");
}

}  // namespace

// The ACL authorizer's rules (kernel/security/acls.h): patterns, principals,
// hosts and CIDR ranges, implied operations, DENY first, super users, the
// no-ACL default, filters, and an index rebuilt when the bindings change.
#include "kernel/security/acls.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

namespace mosaic::security {
namespace {

using adapter::acl_operation;
using adapter::acl_pattern;
using adapter::acl_permission;
using adapter::acl_resource;

acl_binding allow(acl_resource type, std::string name, std::string principal, acl_operation op,
                  acl_pattern pattern = acl_pattern::literal, std::string host = "*") {
  return {type, std::move(name), pattern, std::move(principal), std::move(host), op, acl_permission::allow};
}
acl_binding deny(acl_resource type, std::string name, std::string principal, acl_operation op, std::string host = "*") {
  return {type, std::move(name), acl_pattern::literal, std::move(principal), std::move(host), op, acl_permission::deny};
}

// An authorizer over `bindings`, which a test may change (bumping the version).
struct fixture {
  std::vector<acl_binding> bindings;
  uint64_t version = 1;
  int loads = 0;
  std::shared_ptr<acl_authorizer> make(authorizer_options o = {}) {
    acl_authorizer::source from;
    from.version = [this] { return version; };
    from.load = [this] {
      ++loads;
      return bindings;
    };
    return std::make_shared<acl_authorizer>(std::move(o), std::move(from));
  }
};

adapter::principal user(const std::string& name) { return {"User", name}; }

TEST(acls, literal_wildcard_and_prefixed_patterns_cover_the_names_they_should) {
  fixture f;
  f.bindings = {allow(acl_resource::topic, "orders", "User:alice", acl_operation::read),
                allow(acl_resource::topic, "*", "User:bob", acl_operation::read),
                allow(acl_resource::topic, "logs.", "User:carol", acl_operation::read, acl_pattern::prefixed)};
  auto a = f.make();
  const auto read = acl_operation::read;
  EXPECT_TRUE(a->allowed(user("alice"), "127.0.0.1", read, acl_resource::topic, "orders"));
  EXPECT_FALSE(a->allowed(user("alice"), "127.0.0.1", read, acl_resource::topic, "orders2"));
  EXPECT_FALSE(a->allowed(user("alice"), "127.0.0.1", read, acl_resource::group, "orders"));
  EXPECT_TRUE(a->allowed(user("bob"), "127.0.0.1", read, acl_resource::topic, "anything"));
  EXPECT_TRUE(a->allowed(user("carol"), "127.0.0.1", read, acl_resource::topic, "logs.app"));
  EXPECT_TRUE(a->allowed(user("carol"), "127.0.0.1", read, acl_resource::topic, "logs."));
  EXPECT_FALSE(a->allowed(user("carol"), "127.0.0.1", read, acl_resource::topic, "logs"));
  EXPECT_FALSE(a->allowed(user("carol"), "127.0.0.1", read, acl_resource::topic, "xlogs.app"));
  EXPECT_FALSE(a->allowed(user("dave"), "127.0.0.1", read, acl_resource::topic, "orders"));
  EXPECT_FALSE(a->allowed({"Group", "alice"}, "127.0.0.1", read, acl_resource::topic, "orders"));
}

TEST(acls, implied_operations_all_and_deny_first) {
  fixture f;
  f.bindings = {allow(acl_resource::topic, "t", "User:alice", acl_operation::write),
                allow(acl_resource::topic, "t", "User:bob", acl_operation::all),
                deny(acl_resource::topic, "t", "User:bob", acl_operation::remove),
                allow(acl_resource::topic, "c", "User:alice", acl_operation::alter_configs),
                allow(acl_resource::topic, "u", "User:*", acl_operation::read),
                deny(acl_resource::topic, "u", "User:mallory", acl_operation::all)};
  auto a = f.make();
  const std::string h = "10.1.2.3";
  // WRITE implies DESCRIBE, nothing else.
  EXPECT_TRUE(a->allowed(user("alice"), h, acl_operation::describe, acl_resource::topic, "t"));
  EXPECT_FALSE(a->allowed(user("alice"), h, acl_operation::read, acl_resource::topic, "t"));
  // ALTER_CONFIGS implies DESCRIBE_CONFIGS.
  EXPECT_TRUE(a->allowed(user("alice"), h, acl_operation::describe_configs, acl_resource::topic, "c"));
  EXPECT_FALSE(a->allowed(user("alice"), h, acl_operation::describe, acl_resource::topic, "c"));
  // ALL allows everything but what a DENY names.
  EXPECT_TRUE(a->allowed(user("bob"), h, acl_operation::alter, acl_resource::topic, "t"));
  EXPECT_FALSE(a->allowed(user("bob"), h, acl_operation::remove, acl_resource::topic, "t"));
  // A DENY of ALL beats the wildcard principal's ALLOW.
  EXPECT_TRUE(a->allowed(user("eve"), h, acl_operation::read, acl_resource::topic, "u"));
  EXPECT_FALSE(a->allowed(user("mallory"), h, acl_operation::read, acl_resource::topic, "u"));
  EXPECT_FALSE(a->allowed(user("mallory"), h, acl_operation::describe, acl_resource::topic, "u"));
  // The operations bit set.
  EXPECT_EQ(a->authorized_operations(user("alice"), h, acl_resource::topic, "t",
                                     {acl_operation::read, acl_operation::write, acl_operation::describe}),
            (1 << 4) | (1 << 8));
  // Some topic writable: alice and bob yes, eve no.
  EXPECT_TRUE(a->allowed_on_some(user("alice"), h, acl_operation::write, acl_resource::topic));
  EXPECT_FALSE(a->allowed_on_some(user("eve"), h, acl_operation::write, acl_resource::topic));
}

TEST(acls, hosts_are_addresses_or_cidr_ranges) {
  EXPECT_TRUE(host_matches("*", "192.168.1.1"));
  EXPECT_TRUE(host_matches("192.168.1.1", "192.168.1.1"));
  EXPECT_FALSE(host_matches("192.168.1.1", "192.168.1.2"));
  EXPECT_TRUE(host_matches("192.168.0.0/16", "192.168.200.7"));
  EXPECT_FALSE(host_matches("192.168.0.0/16", "192.169.0.1"));
  EXPECT_TRUE(host_matches("10.0.0.0/7", "11.255.0.1"));
  EXPECT_FALSE(host_matches("10.0.0.0/7", "12.0.0.1"));
  EXPECT_TRUE(host_matches("0.0.0.0/0", "8.8.8.8"));
  EXPECT_TRUE(host_matches("127.0.0.1/32", "127.0.0.1"));
  EXPECT_TRUE(host_matches("::1", "::1"));
  EXPECT_TRUE(host_matches("0:0:0:0:0:0:0:1", "::1"));  // compared as addresses
  EXPECT_TRUE(host_matches("2001:db8::/32", "2001:db8:1::5"));
  EXPECT_FALSE(host_matches("2001:db8::/32", "2001:db9::5"));
  EXPECT_TRUE(host_matches("10.0.0.0/8", "::ffff:10.1.1.1"));  // an IPv4-mapped client
  EXPECT_FALSE(host_matches("10.0.0.0/8", "::1"));
  EXPECT_FALSE(host_matches("10.0.0.0/8", "not-an-address"));
  for (const char* bad : {"", "host.example", "10.0.0.0/33", "10.0.0.0/", "10.0.0.0/x", "/8", "::/129", "1.2.3"})
    EXPECT_FALSE(valid_host(bad)) << bad;
  for (const char* good : {"*", "1.2.3.4", "1.2.3.0/24", "::1", "fe80::/10"}) EXPECT_TRUE(valid_host(good)) << good;

  fixture f;
  f.bindings = {allow(acl_resource::group, "g", "User:alice", acl_operation::read, acl_pattern::literal, "10.0.0.0/8"),
                deny(acl_resource::group, "g", "User:alice", acl_operation::read, "10.9.0.0/16")};
  auto a = f.make();
  EXPECT_TRUE(a->allowed(user("alice"), "10.1.0.1", acl_operation::read, acl_resource::group, "g"));
  EXPECT_FALSE(a->allowed(user("alice"), "10.9.0.1", acl_operation::read, acl_resource::group, "g"));
  EXPECT_FALSE(a->allowed(user("alice"), "127.0.0.1", acl_operation::read, acl_resource::group, "g"));
}

TEST(acls, super_users_and_the_no_acl_default) {
  fixture f;
  f.bindings = {allow(acl_resource::topic, "named", "User:alice", acl_operation::read)};
  authorizer_options open;
  open.super_users = {"User:admin"};
  open.allow_if_no_acl = true;
  auto a = f.make(open);
  EXPECT_TRUE(a->allowed(user("admin"), "1.1.1.1", acl_operation::remove, acl_resource::topic, "named"));
  // A resource no ACL names is open; one that any ACL names is not.
  EXPECT_TRUE(a->allowed(user("bob"), "1.1.1.1", acl_operation::write, acl_resource::topic, "unnamed"));
  EXPECT_FALSE(a->allowed(user("bob"), "1.1.1.1", acl_operation::write, acl_resource::topic, "named"));
  auto closed = f.make({});
  EXPECT_FALSE(closed->allowed(user("bob"), "1.1.1.1", acl_operation::write, acl_resource::topic, "unnamed"));
  EXPECT_FALSE(closed->allowed(user("admin"), "1.1.1.1", acl_operation::read, acl_resource::topic, "named"));
}

TEST(acls, the_index_is_rebuilt_only_when_the_bindings_change) {
  fixture f;
  auto a = f.make();
  EXPECT_FALSE(a->allowed(user("alice"), "h", acl_operation::read, acl_resource::topic, "t"));
  EXPECT_FALSE(a->allowed(user("alice"), "h", acl_operation::read, acl_resource::topic, "t"));
  EXPECT_EQ(f.loads, 1);
  f.bindings.push_back(allow(acl_resource::topic, "t", "User:alice", acl_operation::read));
  ++f.version;
  EXPECT_TRUE(a->allowed(user("alice"), "h", acl_operation::read, acl_resource::topic, "t"));
  EXPECT_EQ(f.loads, 2);
}

TEST(acls, bindings_are_checked_before_they_are_stored_and_filters_match_as_kafkas) {
  EXPECT_FALSE(invalid_binding(allow(acl_resource::topic, "t", "User:a", acl_operation::read)));
  EXPECT_TRUE(invalid_binding(allow(acl_resource::any, "t", "User:a", acl_operation::read)));
  EXPECT_TRUE(invalid_binding(allow(acl_resource::topic, "t", "User:a", acl_operation::any)));
  EXPECT_TRUE(invalid_binding(allow(acl_resource::topic, "t", "User:a", acl_operation::read, acl_pattern::match)));
  EXPECT_TRUE(invalid_binding(allow(acl_resource::topic, "t", "a", acl_operation::read)));
  EXPECT_TRUE(invalid_binding(allow(acl_resource::topic, "t", "User:", acl_operation::read)));
  EXPECT_TRUE(invalid_binding(allow(acl_resource::cluster, "c", "User:a", acl_operation::alter)));
  EXPECT_FALSE(invalid_binding(allow(acl_resource::cluster, "kafka-cluster", "User:a", acl_operation::alter)));

  const auto literal = allow(acl_resource::topic, "orders", "User:a", acl_operation::read);
  const auto wildcard = allow(acl_resource::topic, "*", "User:a", acl_operation::read);
  const auto prefix = allow(acl_resource::topic, "ord", "User:a", acl_operation::read, acl_pattern::prefixed);
  const auto other = allow(acl_resource::topic, "x", "User:a", acl_operation::read, acl_pattern::prefixed);
  acl_filter any;
  for (const auto& b : {literal, wildcard, prefix, other}) EXPECT_TRUE(matches(any, b));
  acl_filter match;
  match.resource_name = "orders";
  match.pattern = acl_pattern::match;
  EXPECT_TRUE(matches(match, literal));
  EXPECT_TRUE(matches(match, wildcard));
  EXPECT_TRUE(matches(match, prefix));
  EXPECT_FALSE(matches(match, other));
  acl_filter exact;
  exact.resource_name = "ord";
  exact.pattern = acl_pattern::prefixed;
  EXPECT_TRUE(matches(exact, prefix));
  EXPECT_FALSE(matches(exact, literal));
  acl_filter by_principal;
  by_principal.principal = "User:b";
  EXPECT_FALSE(matches(by_principal, literal));
  acl_filter denies;
  denies.permission = acl_permission::deny;
  EXPECT_FALSE(matches(denies, literal));
}

TEST(acls, many_threads_check_while_the_bindings_change) {
  std::atomic<uint64_t> version{1};
  acl_authorizer::source from;
  from.version = [&] { return version.load(); };
  from.load = [&] {
    std::vector<acl_binding> b;
    if (version.load() % 2 == 0) b.push_back(allow(acl_resource::topic, "t", "User:a", acl_operation::read));
    return b;
  };
  acl_authorizer a({}, from);
  std::atomic<bool> stop{false};
  std::vector<std::thread> readers;
  std::atomic<long> checks{0};
  for (int k = 0; k < 4; ++k)
    readers.emplace_back([&] {
      while (!stop.load()) {
        (void)a.allowed(user("a"), "h", acl_operation::read, acl_resource::topic, "t");
        checks.fetch_add(1);
      }
    });
  // The bindings change at least 200 times, and until the readers have
  // checked a thousand times (a loaded machine may start them late).
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  for (int k = 0; (k < 200 || checks.load() < 1000) && std::chrono::steady_clock::now() < until; ++k) {
    version.fetch_add(1);
    std::this_thread::yield();
  }
  stop = true;
  for (auto& t : readers) t.join();
  EXPECT_GT(checks.load(), 0);
}

}  // namespace
}  // namespace mosaic::security

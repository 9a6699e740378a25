// The conformance suite every authorizer plugin passes. Include it in
// exactly one test file and instantiate it for your plugin with its config,
// an action it allows and one it denies (while the host's ACLs deny
// everything):
//
//   #include "mosaic/testing/authorizer_conformance.h"
//   using mosaic::testing::authz_request;
//   INSTANTIATE_TEST_SUITE_P(hours, authorizer_conformance, ::testing::Values(mosaic::testing::authorizer_case{
//       "/path/libhours.so", "com.acme.authz.hours", {{"open", "08:00"}}, {},
//       authz_request{"User", "alice", "10.0.0.7", MOSAIC_AUTHZ_OP_READ, MOSAIC_AUTHZ_RESOURCE_TOPIC, "orders"},
//       authz_request{"User", "mallory", "10.0.0.7", MOSAIC_AUTHZ_OP_WRITE, MOSAIC_AUTHZ_RESOURCE_TOPIC, "orders"}}));
//
// The suite checks what the broker relies on: every action, however odd
// (unknown operation or resource codes, empty or huge names, bytes that are
// not UTF-8, addresses that are not addresses), gets ALLOW or DENY and
// never a fault status or a crash; codes the ABI does not define are
// denied; strings are read within their lengths (they are not
// NUL-terminated: run it under AddressSanitizer); the same action gets the
// same answer every time and on many threads at once; and the stated
// actions are allowed and denied.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "mosaic/abi/authorizer.h"
#include "mosaic/testing/fake_host.h"

namespace mosaic::testing {

struct authz_request {
  std::string principal_type = "User";
  std::string principal_name;
  std::string host = "127.0.0.1";
  int32_t operation = MOSAIC_AUTHZ_OP_READ;
  int32_t resource_type = MOSAIC_AUTHZ_RESOURCE_TOPIC;
  std::string resource_name;
  bool on_some = false;
};

struct authorizer_case {
  std::string library_path;
  std::string factory_name;
  std::map<std::string, std::string> config;
  std::map<std::string, std::vector<std::string>> lists;  // list fields whose items hold commas
  authz_request allowed;
  authz_request denied;
};

inline void PrintTo(const authorizer_case& c, std::ostream* os) { *os << c.factory_name; }

// Asks an authorizer instance, with strings copied into buffers of exactly
// their size (no terminating NUL) so that a read past a length is caught
// by AddressSanitizer, and a host whose ACLs answer `acl_answer`.
class authz_caller {
 public:
  authz_caller(const mosaic_authorizer_vtable_v1& vt, void* handle) : vt_(vt), handle_(handle) {}

  struct answer {
    mosaic_status_t status = MOSAIC_ERR_INTERNAL;
    int32_t decision = -1;
    std::string message;
  };

  answer ask(const authz_request& r, int32_t acl_answer = MOSAIC_AUTHZ_DENY) const {
    auto copy = [](const std::string& s) {
      auto p = std::make_unique<char[]>(s.size() + 1);  // never empty, read only within size()
      std::memcpy(p.get(), s.data(), s.size());
      return p;
    };
    auto type = copy(r.principal_type), name = copy(r.principal_name), host = copy(r.host),
         resource = copy(r.resource_name);
    const mosaic_authz_action_v1 a{sizeof(a),
                                   type.get(),
                                   r.principal_type.size(),
                                   name.get(),
                                   r.principal_name.size(),
                                   host.get(),
                                   r.host.size(),
                                   r.operation,
                                   r.resource_type,
                                   r.on_some ? 1 : 0,
                                   resource.get(),
                                   r.resource_name.size()};
    int32_t acls = acl_answer;
    const mosaic_authz_host_v1 h{sizeof(h), &acls, &acl_decision};
    char message[256] = {0};
    mosaic_error_v1 err{message, sizeof(message)};
    answer out;
    out.status = vt_.authorize(handle_, &h, &a, &out.decision, &err);
    out.message = message;
    return out;
  }

 private:
  static int32_t acl_decision(void* ctx, const mosaic_authz_action_v1* a) {
    if (a == nullptr || a->struct_size < sizeof(mosaic_authz_action_v1)) return MOSAIC_AUTHZ_DENY;
    return *static_cast<const int32_t*>(ctx);
  }

  const mosaic_authorizer_vtable_v1& vt_;
  void* handle_;
};

class authorizer_conformance : public ::testing::TestWithParam<authorizer_case> {
 protected:
  void SetUp() override {
    lib_ = std::make_unique<plugin_library>(GetParam().library_path);
    const mosaic_factory_v1& f = lib_->factory(GetParam().factory_name);
    ASSERT_EQ(f.category, MOSAIC_CATEGORY_AUTHORIZER);
    inst_ = host_.create(f, GetParam().config, GetParam().lists);
    caller_ = std::make_unique<authz_caller>(inst_->vtable<mosaic_authorizer_vtable_v1>(), inst_->handle());
  }

  // Odd and ordinary actions, each a variation of the stated ones.
  std::vector<authz_request> odd_actions() const {
    std::vector<authz_request> out;
    for (const authz_request& base : {GetParam().allowed, GetParam().denied}) {
      out.push_back(base);
      for (const char* name : {"", "ANONYMOUS", "*", "\xff\xfe not utf-8", "a\0b"}) {
        auto r = base;
        r.principal_name = std::string(name, std::strlen(name) + (name[0] == 'a' ? 2 : 0));
        out.push_back(r);
      }
      for (const char* type : {"", "Group", "User:"}) {
        auto r = base;
        r.principal_type = type;
        out.push_back(r);
      }
      for (const char* host : {"", "::1", "::ffff:10.0.0.7", "256.1.1.1", "not an address", "10.0.0.0/8"}) {
        auto r = base;
        r.host = host;
        out.push_back(r);
      }
      for (const std::string& name : {std::string(), std::string("*"), std::string(100000, 'x'),
                                      std::string("with\0nul", 8), base.resource_name + "-suffix"}) {
        auto r = base;
        r.resource_name = name;
        out.push_back(r);
      }
      for (int32_t op = -1; op <= 16; ++op) {
        auto r = base;
        r.operation = op;
        out.push_back(r);
      }
      for (int32_t type : {-1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 99}) {
        auto r = base;
        r.resource_type = type;
        out.push_back(r);
        r.on_some = true;
        r.resource_name.clear();
        out.push_back(r);
      }
    }
    return out;
  }

  fake_host host_;
  std::unique_ptr<plugin_library> lib_;
  std::unique_ptr<fake_instance> inst_;
  std::unique_ptr<authz_caller> caller_;
};

TEST_P(authorizer_conformance, the_stated_actions_are_allowed_and_denied) {
  auto yes = caller_->ask(GetParam().allowed);
  EXPECT_EQ(yes.status, MOSAIC_OK) << yes.message;
  EXPECT_EQ(yes.decision, MOSAIC_AUTHZ_ALLOW);
  auto no = caller_->ask(GetParam().denied);
  EXPECT_EQ(no.status, MOSAIC_OK) << no.message;
  EXPECT_EQ(no.decision, MOSAIC_AUTHZ_DENY);
}

TEST_P(authorizer_conformance, every_action_gets_allow_or_deny_and_never_a_fault) {
  for (int32_t acls : {MOSAIC_AUTHZ_DENY, MOSAIC_AUTHZ_ALLOW})
    for (const auto& r : odd_actions()) {
      auto a = caller_->ask(r, acls);
      EXPECT_EQ(a.status, MOSAIC_OK) << a.message << " (operation " << r.operation << ", resource " << r.resource_type
                                     << ")";
      EXPECT_TRUE(a.decision == MOSAIC_AUTHZ_ALLOW || a.decision == MOSAIC_AUTHZ_DENY) << a.decision;
    }
}

TEST_P(authorizer_conformance, codes_the_abi_does_not_define_are_denied) {
  for (int32_t acls : {MOSAIC_AUTHZ_DENY, MOSAIC_AUTHZ_ALLOW})
    for (const authz_request& base : {GetParam().allowed, GetParam().denied}) {
      for (int32_t op : {-1, 0, 1, 15, 99}) {
        auto r = base;
        r.operation = op;
        EXPECT_EQ(caller_->ask(r, acls).decision, MOSAIC_AUTHZ_DENY) << "operation " << op;
      }
      for (int32_t type : {-1, 0, 1, 8, 99}) {
        auto r = base;
        r.resource_type = type;
        EXPECT_EQ(caller_->ask(r, acls).decision, MOSAIC_AUTHZ_DENY) << "resource type " << type;
      }
    }
}

TEST_P(authorizer_conformance, the_same_action_gets_the_same_answer_on_many_threads) {
  const auto actions = odd_actions();
  std::vector<int32_t> first;
  for (const auto& r : actions) first.push_back(caller_->ask(r).decision);
  std::atomic<int> differ{0}, faults{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int round = 0; round < 20; ++round)
        for (size_t i = 0; i < actions.size(); ++i) {
          auto a = caller_->ask(actions[i]);
          if (a.status != MOSAIC_OK) ++faults;
          if (a.decision != first[i]) ++differ;
        }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(faults.load(), 0);
  EXPECT_EQ(differ.load(), 0);
}

}  // namespace mosaic::testing

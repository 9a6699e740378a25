// The conformance suite every authenticator plugin passes. Include it in
// exactly one test file and instantiate it for your plugin with a client
// exchange that succeeds (the messages a client sends, in order) and the
// principal it must end in:
//
//   #include "mosaic/testing/authenticator_conformance.h"
//   INSTANTIATE_TEST_SUITE_P(otp, authenticator_conformance, ::testing::Values(mosaic::testing::authenticator_case{
//       "/path/libotp.so", "com.acme.authn.otp", {{"secret.file", "..."}}, "OTP", {"alice\0 123456"}, "alice"}));
//
// The suite checks what the broker relies on: the instance names at least
// one mechanism, and only non-empty ones; the good exchange succeeds with
// the principal, on a fresh exchange each time; a garbled, empty, truncated
// or oversized message ends in a failure with a reason, never in a fault
// status or a crash; nothing is stepped after the end; an exchange ended
// half-way is released cleanly; and exchanges run on several threads at
// once (each stepped by one thread) all come out right. A reason never
// holds the client's bytes (secrets stay out of logs).
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "mosaic/abi/authenticator.h"
#include "mosaic/sdk/authenticator.h"
#include "mosaic/testing/auth_client.h"
#include "mosaic/testing/fake_host.h"

namespace mosaic::testing {

struct authenticator_case {
  std::string library_path;
  std::string factory_name;
  std::map<std::string, std::string> config;
  std::string mechanism;
  std::vector<std::string> good_messages;  // a successful exchange, the client's side
  std::string principal;
  scram_store credentials;  // what the host's credential store holds
  // Builds the client's next message from the server's last answer (for
  // mechanisms whose messages depend on it, as SCRAM's do); empty: send
  // good_messages as they are.
  std::function<std::string(size_t step, const std::string& server_message)> respond;
};

inline void PrintTo(const authenticator_case& c, std::ostream* os) { *os << c.factory_name << " " << c.mechanism; }

class authenticator_conformance : public ::testing::TestWithParam<authenticator_case> {
 protected:
  void SetUp() override {
    lib_ = std::make_unique<plugin_library>(GetParam().library_path);
    const mosaic_factory_v1& f = lib_->factory(GetParam().factory_name);
    ASSERT_EQ(f.category, MOSAIC_CATEGORY_AUTHENTICATOR);
    inst_ = host_.create(f, GetParam().config);
    vt_ = &inst_->vtable<mosaic_authenticator_vtable_v1>();
  }
  auth_client client() const { return auth_client(*vt_, inst_->handle(), GetParam().mechanism, credentials_.abi()); }
  auth_client::outcome run_good(auth_client& c) const { return c.run(GetParam().good_messages, GetParam().respond); }
  void expect_failure(const auth_client::outcome& o, const std::string& sent) const {
    EXPECT_EQ(o.status, MOSAIC_OK) << o.reason;
    EXPECT_EQ(o.state, MOSAIC_AUTH_FAILURE);
    EXPECT_FALSE(o.reason.empty());
    if (sent.size() >= 4) {
      EXPECT_EQ(o.reason.find(sent), std::string::npos) << "the reason repeats the client's bytes";
    }
  }

  fake_host host_;
  fake_credentials credentials_{&GetParam().credentials};
  std::unique_ptr<plugin_library> lib_;
  std::unique_ptr<fake_instance> inst_;
  const mosaic_authenticator_vtable_v1* vt_ = nullptr;
};

TEST_P(authenticator_conformance, names_its_mechanisms) {
  const size_t n = vt_->mechanism_count(inst_->handle());
  ASSERT_GT(n, 0u);
  bool has = false;
  for (size_t i = 0; i < n; ++i) {
    const char* m = vt_->mechanism(inst_->handle(), i);
    ASSERT_NE(m, nullptr);
    EXPECT_NE(*m, '\0');
    has = has || GetParam().mechanism == m;
  }
  EXPECT_TRUE(has) << GetParam().mechanism << " is not among the instance's mechanisms";
}

TEST_P(authenticator_conformance, the_good_exchange_succeeds_every_time) {
  for (int i = 0; i < 3; ++i) {
    auto c = client();
    ASSERT_TRUE(c.begun());
    auto o = run_good(c);
    EXPECT_EQ(o.status, MOSAIC_OK) << o.reason;
    EXPECT_EQ(o.state, MOSAIC_AUTH_SUCCESS) << o.reason;
    EXPECT_EQ(o.principal, GetParam().principal);
  }
}

TEST_P(authenticator_conformance, garbage_fails_with_a_reason_and_never_faults) {
  const std::string first = GetParam().good_messages.front();
  std::vector<std::string> bad = {"",
                                  std::string(1, '\0'),
                                  std::string(3, '\0'),
                                  first.substr(0, first.size() / 2),
                                  std::string(70000, 'A'),
                                  "\xff\xfe\xfd garbage"};
  std::string flipped = first;
  if (!flipped.empty()) flipped.back() = static_cast<char>(flipped.back() ^ 0x5a);
  bad.push_back(flipped);
  for (const auto& m : bad) {
    auto c = client();
    ASSERT_TRUE(c.begun());
    auto o = c.step(m);
    if (o.state == MOSAIC_AUTH_CONTINUE) continue;  // a multi-step mechanism may only refuse later
    expect_failure(o, m);
  }
}

TEST_P(authenticator_conformance, an_exchange_ended_half_way_is_released) {
  for (int i = 0; i < 10; ++i) {
    auto c = client();  // begun, never stepped: `end` alone
    ASSERT_TRUE(c.begun());
  }
  if (GetParam().good_messages.size() > 1) {
    auto c = client();
    ASSERT_TRUE(c.begun());
    EXPECT_EQ(c.step(GetParam().good_messages.front()).state, MOSAIC_AUTH_CONTINUE);
  }
}

TEST_P(authenticator_conformance, exchanges_on_several_threads_all_come_out_right) {
  std::atomic<int> good{0}, refused{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 3; ++i) {
        auto c = client();
        if (!c.begun()) continue;
        if ((t + i) % 2 == 0) {
          auto o = run_good(c);
          if (o.state == MOSAIC_AUTH_SUCCESS && o.principal == GetParam().principal) ++good;
        } else {
          auto o = c.step("\x01\x02not a valid message");
          if (o.status == MOSAIC_OK && (o.state == MOSAIC_AUTH_FAILURE || o.state == MOSAIC_AUTH_CONTINUE)) ++refused;
        }
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(good.load(), 6);
  EXPECT_EQ(refused.load(), 6);
}

}  // namespace mosaic::testing

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
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "mosaic/abi/authenticator.h"
#include "mosaic/testing/fake_host.h"

namespace mosaic::testing {

struct authenticator_case {
  std::string library_path;
  std::string factory_name;
  std::map<std::string, std::string> config;
  std::string mechanism;
  std::vector<std::string> good_messages;  // a successful exchange, the client's side
  std::string principal;
};

inline void PrintTo(const authenticator_case& c, std::ostream* os) { *os << c.factory_name << " " << c.mechanism; }

// One exchange on the host side of the ABI.
class auth_client {
 public:
  auth_client(const mosaic_authenticator_vtable_v1& vt, void* inst, const std::string& mechanism)
      : vt_(vt), inst_(inst) {
    mosaic_auth_peer_v1 peer{sizeof(peer), mechanism.c_str(), "127.0.0.1:1", "TEST", nullptr};
    char message[256] = {0};
    mosaic_error_v1 err{message, sizeof(message)};
    status_ = vt_.begin(inst_, &peer, &x_, &err);
  }
  ~auth_client() {
    if (x_ != nullptr) vt_.end(inst_, x_);
  }
  auth_client(const auth_client&) = delete;
  auth_client& operator=(const auth_client&) = delete;

  bool begun() const { return status_ == MOSAIC_OK && x_ != nullptr; }

  struct outcome {
    mosaic_status_t status = MOSAIC_OK;
    int32_t state = -1;
    std::string response, principal, reason;
  };
  outcome step(const std::string& in) {
    mosaic_buffer_v1 resp = buffer(), principal = buffer();
    mosaic_auth_step_v1 s{sizeof(s), reinterpret_cast<const uint8_t*>(in.data()), in.size(), &resp, &principal, -1, 0};
    char message[512] = {0};
    mosaic_error_v1 err{message, sizeof(message)};
    outcome o;
    o.status = vt_.step(inst_, x_, &s, &err);
    o.state = s.state;
    o.response.assign(reinterpret_cast<const char*>(resp.data), resp.size);
    o.principal.assign(reinterpret_cast<const char*>(principal.data), principal.size);
    o.reason = message;
    std::free(resp.data);
    std::free(principal.data);
    return o;
  }
  outcome run(const std::vector<std::string>& messages) {
    outcome o;
    for (const auto& m : messages) {
      o = step(m);
      if (o.status != MOSAIC_OK || o.state != MOSAIC_AUTH_CONTINUE) break;
    }
    return o;
  }

 private:
  static mosaic_buffer_v1 buffer() { return {sizeof(mosaic_buffer_v1), nullptr, 0, 0, 1 << 20, nullptr, &grow}; }
  static mosaic_status_t grow(mosaic_buffer_v1* b, size_t want) {
    if (want > b->limit) return MOSAIC_ERR_LIMIT;
    void* p = std::realloc(b->data, want);
    if (p == nullptr) return MOSAIC_ERR_NO_MEMORY;
    b->data = static_cast<uint8_t*>(p);
    b->capacity = want;
    return MOSAIC_OK;
  }

  const mosaic_authenticator_vtable_v1& vt_;
  void* inst_;
  void* x_ = nullptr;
  mosaic_status_t status_ = MOSAIC_ERR_INTERNAL;
};

class authenticator_conformance : public ::testing::TestWithParam<authenticator_case> {
 protected:
  void SetUp() override {
    lib_ = std::make_unique<plugin_library>(GetParam().library_path);
    const mosaic_factory_v1& f = lib_->factory(GetParam().factory_name);
    ASSERT_EQ(f.category, MOSAIC_CATEGORY_AUTHENTICATOR);
    inst_ = host_.create(f, GetParam().config);
    vt_ = &inst_->vtable<mosaic_authenticator_vtable_v1>();
  }
  auth_client client() const { return auth_client(*vt_, inst_->handle(), GetParam().mechanism); }
  void expect_failure(const auth_client::outcome& o, const std::string& sent) const {
    EXPECT_EQ(o.status, MOSAIC_OK) << o.reason;
    EXPECT_EQ(o.state, MOSAIC_AUTH_FAILURE);
    EXPECT_FALSE(o.reason.empty());
    if (sent.size() >= 4) {
      EXPECT_EQ(o.reason.find(sent), std::string::npos) << "the reason repeats the client's bytes";
    }
  }

  fake_host host_;
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
    auto o = c.run(GetParam().good_messages);
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
          auto o = c.run(GetParam().good_messages);
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

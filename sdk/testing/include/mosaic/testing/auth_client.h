// The host's side of an authentication, for tests and benchmarks of
// authenticator plugins: a credential store (`fake_credentials`) and one
// exchange driven through the C ABI as the broker drives it
// (`auth_client`). No test framework: the conformance suite
// (authenticator_conformance.h) and tools/bench/auth_bench.cc share it.
#pragma once

#include <algorithm>
#include <cstdlib>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "mosaic/abi/authenticator.h"
#include "mosaic/sdk/authenticator.h"

namespace mosaic::testing {

// SCRAM credentials the fake host keeps, by (user, mechanism).
using scram_store = std::map<std::pair<std::string, std::string>, sdk::scram_credential>;

// The host's credential store, as mosaic_auth_credentials_v1.
class fake_credentials {
 public:
  explicit fake_credentials(const scram_store* store) : store_(store) { table_ = {sizeof(table_), this, &scram_fn}; }
  const mosaic_auth_credentials_v1* abi() const { return &table_; }

 private:
  static mosaic_status_t scram_fn(void* ctx, const char* user, size_t len, const char* mechanism,
                                  mosaic_scram_credential_v1* out) {
    const auto* self = static_cast<fake_credentials*>(ctx);
    auto it = self->store_->find({std::string(user, len), mechanism});
    if (it == self->store_->end()) return MOSAIC_ERR_NOT_FOUND;
    for (auto [to, from] : {std::pair{out->salt, &it->second.salt}, std::pair{out->stored_key, &it->second.stored_key},
                            std::pair{out->server_key, &it->second.server_key}}) {
      if (to->reserve(to, from->size()) != MOSAIC_OK) return MOSAIC_ERR_NO_MEMORY;
      std::copy(from->begin(), from->end(), to->data);
      to->size = from->size();
    }
    out->iterations = it->second.iterations;
    return MOSAIC_OK;
  }
  const scram_store* store_;
  mosaic_auth_credentials_v1 table_{};
};

// One exchange on the host side of the ABI.
class auth_client {
 public:
  auth_client(const mosaic_authenticator_vtable_v1& vt, void* inst, const std::string& mechanism,
              const mosaic_auth_credentials_v1* credentials = nullptr)
      : vt_(vt), inst_(inst) {
    mosaic_auth_peer_v1 peer{sizeof(peer), mechanism.c_str(), "127.0.0.1:1", "TEST", nullptr, credentials};
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
    int64_t lifetime_ms = 0;  // on success: the session's lifetime the plugin gave (0: none)
  };
  outcome step(const std::string& in) {
    mosaic_buffer_v1 resp = buffer(), principal = buffer();
    mosaic_auth_step_v1 s{sizeof(s), reinterpret_cast<const uint8_t*>(in.data()), in.size(), &resp, &principal, -1, 0};
    char message[512] = {0};
    mosaic_error_v1 err{message, sizeof(message)};
    outcome o;
    o.status = vt_.step(inst_, x_, &s, &err);
    o.state = s.state;
    o.lifetime_ms = s.session_lifetime_ms;
    o.response.assign(reinterpret_cast<const char*>(resp.data), resp.size);
    o.principal.assign(reinterpret_cast<const char*>(principal.data), principal.size);
    o.reason = message;
    std::free(resp.data);
    std::free(principal.data);
    return o;
  }
  outcome run(const std::vector<std::string>& messages,
              const std::function<std::string(size_t, const std::string&)>& respond = {}) {
    outcome o;
    for (size_t i = 0; i < messages.size(); ++i) {
      o = step(respond && i > 0 ? respond(i, o.response) : messages[i]);
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

}  // namespace mosaic::testing

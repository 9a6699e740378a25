// C++ side of the authenticator category (SASL mechanisms): derive from
// `authenticator<T>`, list the mechanisms and begin exchanges:
//
//   class my_auth : public mosaic::sdk::authenticator<my_auth> {
//    public:
//     static constexpr const char* name = "com.acme.authn.otp";
//     my_auth(const mosaic::sdk::config& cfg, mosaic::sdk::host host);
//     const std::vector<std::string>& mechanisms() const;  // a member, fixed for the instance's life
//     std::unique_ptr<mosaic::sdk::auth_exchange> begin(const mosaic::sdk::auth_peer& peer);
//   };
//
// An exchange answers each client message with `auth_exchange::step`:
// `challenge(bytes)` to go on, `success(principal)` or `failure(reason)`.
// Several exchanges may run at once on different threads; one exchange is
// stepped by one thread at a time (see mosaic/abi/authenticator.h).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mosaic/abi/authenticator.h"
#include "mosaic/sdk/plugin.h"

namespace mosaic::sdk {

struct scram_credential {
  std::vector<uint8_t> salt, stored_key, server_key;
  int32_t iterations = 0;
};

// The host's credential store, as an exchange may ask it (valid while the
// exchange lives; copy it into the exchange).
class auth_credentials {
 public:
  auth_credentials() = default;
  explicit auth_credentials(const mosaic_auth_credentials_v1* c) : c_(c) {}
  bool available() const noexcept { return c_ != nullptr && c_->scram != nullptr; }
  // Nothing when the user has no credential for `mechanism`.
  std::optional<scram_credential> scram(std::string_view user, const char* mechanism) const;

 private:
  const mosaic_auth_credentials_v1* c_ = nullptr;
};

struct auth_peer {
  std::string_view mechanism;
  std::string_view address;
  std::string_view listener;
  std::string_view reauthenticating_principal;  // empty unless re-authenticating
  auth_credentials credentials;
};

// What a step leads to.
struct auth_step {
  int32_t state = MOSAIC_AUTH_CONTINUE;
  std::string response;   // bytes for the client
  std::string principal;  // on success
  std::string reason;     // on failure: what the client is told, no secrets
  int64_t session_lifetime_ms = 0;

  static auth_step challenge(std::string bytes) { return {MOSAIC_AUTH_CONTINUE, std::move(bytes), {}, {}, 0}; }
  static auth_step success(std::string principal, std::string final_message = {}, int64_t lifetime_ms = 0) {
    return {MOSAIC_AUTH_SUCCESS, std::move(final_message), std::move(principal), {}, lifetime_ms};
  }
  static auth_step failure(std::string reason) { return {MOSAIC_AUTH_FAILURE, {}, {}, std::move(reason), 0}; }
};

class auth_exchange {
 public:
  virtual ~auth_exchange() = default;
  virtual auth_step step(std::span<const uint8_t> client_message) = 0;
};

namespace detail {
inline void append_to(mosaic_buffer_v1* b, std::string_view bytes) {
  output out(b);
  out.append({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()});
}

// A growable buffer of the plugin's own, for the host to fill.
struct owned_buffer {
  std::vector<uint8_t> bytes;
  mosaic_buffer_v1 abi{sizeof(mosaic_buffer_v1), nullptr, 0, 0, 1 << 16, this, &grow};
  static mosaic_status_t grow(mosaic_buffer_v1* b, size_t want) {
    if (want > b->limit) return MOSAIC_ERR_LIMIT;
    auto* self = static_cast<owned_buffer*>(b->host_ctx);
    self->bytes.resize(want);
    b->data = self->bytes.data();
    b->capacity = want;
    return MOSAIC_OK;
  }
  std::vector<uint8_t> take() {
    bytes.resize(abi.size);
    return std::move(bytes);
  }
};
}  // namespace detail

inline std::optional<scram_credential> auth_credentials::scram(std::string_view user, const char* mechanism) const {
  if (!available()) return std::nullopt;
  detail::owned_buffer salt, stored, server;
  mosaic_scram_credential_v1 out{sizeof(out), &salt.abi, &stored.abi, &server.abi, 0};
  if (c_->scram(c_->host_ctx, user.data(), user.size(), mechanism, &out) != MOSAIC_OK) return std::nullopt;
  return scram_credential{salt.take(), stored.take(), server.take(), out.iterations};
}

template <class T>
struct authenticator_binding {
  static size_t mechanism_count(void* instance) noexcept {
    return static_cast<const T*>(instance)->mechanisms().size();
  }
  static const char* mechanism(void* instance, size_t i) noexcept {
    const std::vector<std::string>& names = static_cast<const T*>(instance)->mechanisms();
    return i < names.size() ? names[i].c_str() : nullptr;
  }
  static mosaic_status_t begin(void* instance, const mosaic_auth_peer_v1* p, void** out,
                               mosaic_error_v1* err) noexcept {
    return barrier(err, [&] {
      auth_peer peer{p->mechanism ? p->mechanism : "", p->address ? p->address : "", p->listener ? p->listener : "",
                     p->reauthenticating_principal ? p->reauthenticating_principal : "",
                     auth_credentials(p->struct_size >= sizeof(mosaic_auth_peer_v1) ? p->credentials : nullptr)};
      std::unique_ptr<auth_exchange> x = static_cast<T*>(instance)->begin(peer);
      if (!x) throw error(MOSAIC_ERR_INTERNAL, "the authenticator began no exchange");
      *out = x.release();
    });
  }
  static mosaic_status_t step(void*, void* exchange, mosaic_auth_step_v1* s, mosaic_error_v1* err) noexcept {
    return barrier(err, [&] {
      auth_step r = static_cast<auth_exchange*>(exchange)->step({s->input, s->input_size});
      s->state = r.state;
      s->session_lifetime_ms = r.session_lifetime_ms;
      detail::append_to(s->response, r.response);
      if (r.state == MOSAIC_AUTH_SUCCESS) {
        if (r.principal.empty()) throw error(MOSAIC_ERR_INTERNAL, "an authentication succeeded without a principal");
        detail::append_to(s->principal, r.principal);
      } else if (r.state == MOSAIC_AUTH_FAILURE) {
        write_error(err, r.reason);
      }
    });
  }
  static void end(void*, void* exchange) noexcept { delete static_cast<auth_exchange*>(exchange); }

  static constexpr mosaic_authenticator_vtable_v1 table = {
      sizeof(mosaic_authenticator_vtable_v1), &mechanism_count, &mechanism, &begin, &step, &end};
};

template <class T>
struct authenticator {
  static constexpr int32_t category = MOSAIC_CATEGORY_AUTHENTICATOR;
  using binding = authenticator_binding<T>;
};

}  // namespace mosaic::sdk

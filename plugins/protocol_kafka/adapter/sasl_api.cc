// SASL on a Kafka connection: SaslHandshake (17) and SaslAuthenticate (36),
// the authentication gate, and re-authentication (KIP-368).
//
// A client on a SASL listener sends ApiVersions (optionally), then
// SaslHandshake naming a mechanism, then the mechanism's messages: wrapped
// in SaslAuthenticate requests after a v1 handshake, as bare size-prefixed
// tokens after a v0 one. Until an exchange succeeds only those three APIs
// are served; anything else closes the connection, as Kafka does. Each
// step runs on the adapter's auth worker (a password hash takes
// milliseconds); a failure is answered after
// connection.failed.authentication.delay.ms with SASL_AUTHENTICATION_FAILED
// and the connection closes.
//
// An authenticated session lasts until the earlier of
// connections.max.reauth.ms and the credential's own lifetime (the
// SessionLifetimeMs of the answer, v1+). The client re-authenticates on
// the same connection with a new handshake and exchange, which must end in
// the same principal; a request other than those after the session
// expired closes the connection.
#include <string.h>

#include <algorithm>
#include <chrono>

#include "plugins/protocol_kafka/adapter/connection.h"

namespace mosaic::kafka {

namespace {

constexpr int16_t sasl_handshake_key = 17;
constexpr int16_t sasl_authenticate_key = 36;

int64_t steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

bool connection::admits(int16_t api_key) const {
  if (!state_->security.sasl()) return true;
  if (api_key == msg::api_versions_request_api_key || api_key == sasl_handshake_key || api_key == sasl_authenticate_key)
    return true;
  if (!authenticated_.load(std::memory_order_acquire)) return false;
  const int64_t expiry = session_expiry_ms_.load(std::memory_order_relaxed);
  return expiry == 0 || steady_ms() < expiry;
}

bool connection::expects_raw_token() const {
  std::lock_guard lock(sasl_mu_);
  return phase_ == sasl_phase::raw_token;
}

size_t connection::max_frame_bytes() const {
  if (!state_->security.sasl() || authenticated_.load(std::memory_order_acquire)) return SIZE_MAX;
  return state_->security.max_receive_bytes;
}

void connection::sasl_handshake(const request_context& rc, const msg::sasl_handshake_request& req) {
  msg::sasl_handshake_response resp;
  if (!state_->security.sasl()) {
    resp.error_code = code(error::illegal_sasl_state);
    rc.send(resp);
    return rc.reply->close();
  }
  resp.mechanisms = state_->security.mechanisms->enabled();
  std::unique_lock lock(sasl_mu_);
  const bool reauth = authenticated_.load(std::memory_order_acquire);
  // One handshake per exchange; a re-authentication (after success) must
  // use SaslAuthenticate (v1 handshake) and the same mechanism.
  if (phase_ != sasl_phase::idle || (reauth && (rc.version == 0 || req.mechanism != mechanism_))) {
    phase_ = sasl_phase::failed;
    lock.unlock();
    resp.error_code = code(error::illegal_sasl_state);
    rc.send(resp);
    return rc.reply->close();
  }
  auto x = std::find(resp.mechanisms.begin(), resp.mechanisms.end(), req.mechanism) == resp.mechanisms.end()
               ? nullptr
               : state_->security.mechanisms->begin(req.mechanism, peer_, reauth ? principal_.name : std::string());
  if (!x) {
    phase_ = sasl_phase::failed;
    lock.unlock();
    resp.error_code = code(error::unsupported_sasl_mechanism);
    rc.send(resp);
    return rc.reply->close();
  }
  exchange_ = std::move(x);
  mechanism_ = req.mechanism;
  phase_ = rc.version == 0 ? sasl_phase::raw_token : sasl_phase::authenticate;
  lock.unlock();
  rc.send(resp);
}

void connection::sasl_authenticate(const request_context& rc, const msg::sasl_authenticate_request& req) {
  {
    std::lock_guard lock(sasl_mu_);
    if (!state_->security.sasl() || phase_ != sasl_phase::authenticate) {
      phase_ = sasl_phase::failed;
      msg::sasl_authenticate_response resp;
      resp.error_code = code(error::illegal_sasl_state);
      resp.error_message = state_->security.sasl() ? "SaslAuthenticate without a SaslHandshake before it"
                                                   : "this listener does not use SASL";
      rc.send(resp);
      return rc.reply->close();
    }
    phase_ = sasl_phase::stepping;
  }
  const auto in = req.auth_bytes.span();
  sasl_step(std::vector<uint8_t>(in.begin(), in.end()), rc, false);
}

void connection::sasl_raw_token(std::vector<uint8_t> frame, const std::shared_ptr<adapter::responder>& reply) {
  {
    std::lock_guard lock(sasl_mu_);
    phase_ = sasl_phase::stepping;
  }
  request_context rc;
  rc.reply = reply;
  sasl_step(std::move(frame), rc, true);
}

void connection::sasl_step(std::vector<uint8_t> token, const request_context& rc, bool raw) {
  state_->auth->post([self = shared_from_this(), token = std::move(token), rc, raw]() mutable {
    // The exchange is stepped outside the lock (the network thread may
    // look at the phase meanwhile) and put back if it goes on.
    std::unique_ptr<adapter::sasl_exchange> x;
    {
      std::lock_guard lock(self->sasl_mu_);
      x = std::move(self->exchange_);
    }
    adapter::sasl_step out = x ? x->step(token) : adapter::sasl_step{};
    explicit_bzero(token.data(), token.size());  // it may hold a password
    const bool reauth = self->authenticated_.load(std::memory_order_acquire);
    if (out.st == adapter::sasl_step::state::success && reauth && out.principal != self->principal_.name) {
      out.st = adapter::sasl_step::state::failure;
      out.message = "re-authentication must keep the principal of the session";
    }
    shared_state& st = *self->state_;
    if (out.st == adapter::sasl_step::state::failure) {
      st.auth_failures.fetch_add(1);
      {
        std::lock_guard lock(self->sasl_mu_);
        self->phase_ = sasl_phase::failed;
      }
      st.log(adapter::log_level::info, "authentication failed: " + self->peer_.address + " on listener " +
                                           self->peer_.listener + " with " + self->mechanism_ + ": " + out.message);
      // Answered late, then closed: a client guessing passwords gets one
      // guess per connection and per delay.
      st.delays->post_after(std::chrono::milliseconds(st.security.failed_auth_delay_ms), [rc, raw, out] {
        if (!raw) {
          msg::sasl_authenticate_response resp;
          resp.error_code = code(error::sasl_authentication_failed);
          resp.error_message = "Authentication failed: " + out.message;
          rc.send(resp);
        }
        rc.reply->close();
      });
      return;
    }
    if (out.st == adapter::sasl_step::state::success) {
      int64_t lifetime = st.security.max_reauth_ms;
      if (out.session_lifetime_ms > 0 && (lifetime == 0 || out.session_lifetime_ms < lifetime))
        lifetime = out.session_lifetime_ms;
      {
        std::lock_guard lock(self->sasl_mu_);
        self->phase_ = sasl_phase::idle;
        if (!reauth) self->principal_.name = out.principal;
      }
      self->session_expiry_ms_.store(lifetime > 0 ? steady_ms() + lifetime : 0, std::memory_order_relaxed);
      self->authenticated_.store(true, std::memory_order_release);
      st.auth_successes.fetch_add(1);
      st.log(adapter::log_level::debug, self->peer_.address + " authenticated as User:" + out.principal + " with " +
                                            self->mechanism_ + (reauth ? " (re-authentication)" : ""));
      if (raw) return rc.reply->respond(std::move(out.response));
      msg::sasl_authenticate_response resp;
      resp.auth_bytes = bytes_ref::of(out.response);
      resp.session_lifetime_ms = lifetime;
      return rc.send(resp);
    }
    {
      std::lock_guard lock(self->sasl_mu_);
      self->exchange_ = std::move(x);
      self->phase_ = raw ? sasl_phase::raw_token : sasl_phase::authenticate;
    }
    if (raw) return rc.reply->respond(std::move(out.response));
    msg::sasl_authenticate_response resp;
    resp.auth_bytes = bytes_ref::of(out.response);
    rc.send(resp);
  });
}

std::vector<api_handler> sasl_apis() {
  return {
      {sasl_handshake_key, 0, 1, 99, &answer_now<msg::sasl_handshake_request, &connection::sasl_handshake>},
      {sasl_authenticate_key, 0, 2, 2, &answer_now<msg::sasl_authenticate_request, &connection::sasl_authenticate>},
  };
}

}  // namespace mosaic::kafka

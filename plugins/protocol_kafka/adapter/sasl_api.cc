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
#include <map>

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
    return rc.send_then_close(resp);
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
    return rc.send_then_close(resp);
  }
  auto x = std::find(resp.mechanisms.begin(), resp.mechanisms.end(), req.mechanism) == resp.mechanisms.end()
               ? nullptr
               : state_->security.mechanisms->begin(req.mechanism, peer_, reauth ? principal_.name : std::string());
  if (!x) {
    phase_ = sasl_phase::failed;
    lock.unlock();
    resp.error_code = code(error::unsupported_sasl_mechanism);
    return rc.send_then_close(resp);
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
      return rc.send_then_close(resp);
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
    if (!token.empty()) explicit_bzero(token.data(), token.size());  // it may hold a password
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
        if (raw) return rc.reply->close();
        msg::sasl_authenticate_response resp;
        resp.error_code = code(error::sasl_authentication_failed);
        resp.error_message = "Authentication failed: " + out.message;
        rc.send_then_close(resp);
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

// ---- SCRAM credentials (DescribeUserScramCredentials 50, AlterUserScramCredentials 51) ----

void connection::describe_scram(const request_context& rc, const msg::describe_user_scram_credentials_request& req) {
  msg::describe_user_scram_credentials_response resp;
  if (!may_on_cluster(adapter::acl_operation::describe)) {
    resp.error_code = code(error::cluster_authorization_failed);
    resp.error_message = "Describing credentials needs DESCRIBE on the cluster";
    return rc.send(resp);
  }
  const auto users = broker().scram_users();
  auto add = [&](const adapter::broker::scram_user& u) {
    auto& r = resp.results.emplace_back();
    r.user = u.name;
    for (const auto& [m, iterations] : u.mechanisms) {
      auto& c = r.credential_infos.emplace_back();
      c.mechanism = m;
      c.iterations = iterations;
    }
  };
  if (!req.users || req.users->empty()) {
    for (const auto& u : users) add(u);
    return rc.send(resp);
  }
  std::map<std::string, int> asked;
  for (const auto& u : *req.users) ++asked[u.name];
  for (const auto& entry : asked) {
    const std::string& name = entry.first;
    if (entry.second > 1) {
      auto& r = resp.results.emplace_back();
      r.user = name;
      r.error_code = code(error::duplicate_resource);
      r.error_message = "Cannot describe SCRAM credentials for the same user twice in a single request";
      continue;
    }
    auto it = std::find_if(users.begin(), users.end(), [&](const auto& u) { return u.name == name; });
    if (it != users.end()) {
      add(*it);
      continue;
    }
    auto& r = resp.results.emplace_back();
    r.user = name;
    r.error_code = code(error::resource_not_found);
    r.error_message = "Attempt to describe a user credential that does not exist";
  }
  rc.send(resp);
}

void connection::alter_scram(const request_context& rc, const msg::alter_user_scram_credentials_request& req) {
  msg::alter_user_scram_credentials_response resp;
  // One result per user, in the order users first appear; a user whose
  // mechanism is named twice is refused whole.
  std::vector<std::string> order;
  std::map<std::string, std::map<int8_t, int>> named;
  auto note = [&](const std::string& user, int8_t m) {
    if (!named.count(user)) order.push_back(user);
    ++named[user][m];
  };
  for (const auto& d : req.deletions) note(d.name, d.mechanism);
  for (const auto& u : req.upsertions) note(u.name, u.mechanism);
  std::map<std::string, adapter::outcome> failed;
  if (!may_on_cluster(adapter::acl_operation::alter)) {
    // Refused whole, before anything else is looked at.
    for (const auto& user : order) {
      auto& r = resp.results.emplace_back();
      r.user = user;
      r.error_code = code(error::cluster_authorization_failed);
      r.error_message = "Altering credentials needs ALTER on the cluster";
    }
    return rc.send(resp);
  }
  for (const auto& [user, mechanisms] : named)
    for (const auto& [m, times] : mechanisms)
      if (times > 1)
        failed[user] = adapter::outcome::fail(error::duplicate_resource,
                                              "A user credential cannot be altered twice in the same request");
  for (const auto& d : req.deletions) {
    if (failed.count(d.name)) continue;
    if (auto o = d.name.empty() ? adapter::outcome::fail(error::unacceptable_credential, "Username must not be empty")
                                : broker().delete_scram_credential(d.name, d.mechanism);
        !o.ok())
      failed[d.name] = o;
  }
  for (const auto& u : req.upsertions) {
    if (failed.count(u.name)) continue;
    if (auto o = broker().upsert_scram_credential(u.name, u.mechanism, u.iterations, u.salt.span(),
                                                  u.salted_password.span());
        !o.ok())
      failed[u.name] = o;
  }
  for (const auto& user : order) {
    auto& r = resp.results.emplace_back();
    r.user = user;
    if (auto f = failed.find(user); f != failed.end()) {
      r.error_code = code(f->second.code);
      r.error_message = f->second.message;
    }
  }
  rc.send(resp);
}

namespace {

// AlterUserScramCredentials waits for the metadata log: the admin thread,
// with the frame kept alive (its salts and salted passwords are views).
void answer_alter_scram(connection& c, const request_context& rc, reader& r, const frame_ptr& frame) {
  auto req = decode<msg::alter_user_scram_credentials_request>(r, rc.version);
  c.on_admin_thread_with(
      rc, [self = c.shared_from_this(), rc, req = std::move(req), frame] { self->alter_scram(rc, req); });
}

}  // namespace

std::vector<api_handler> sasl_apis() {
  return {
      {sasl_handshake_key, 0, 1, 99, &answer_now<msg::sasl_handshake_request, &connection::sasl_handshake>},
      {sasl_authenticate_key, 0, 2, 2, &answer_now<msg::sasl_authenticate_request, &connection::sasl_authenticate>},
      {msg::describe_user_scram_credentials_request_api_key, 0, 0, 0,
       &answer_now<msg::describe_user_scram_credentials_request, &connection::describe_scram>},
      {msg::alter_user_scram_credentials_request_api_key, 0, 0, 0, &answer_alter_scram},
  };
}

}  // namespace mosaic::kafka

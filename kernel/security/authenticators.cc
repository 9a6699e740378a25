#include "kernel/security/authenticators.h"

#include <algorithm>
#include <utility>

#include "kernel/base/log.h"
#include "kernel/plugin/codecs.h"
#include "mosaic/sdk/scram.h"

namespace mosaic::security {

namespace {

// One exchange of one generation: the generation stays alive (and its
// library loaded) until the exchange ends.
class plugin_exchange final : public adapter::sasl_exchange {
 public:
  plugin_exchange(authenticators::slot::generation_ptr gen, void* x) : gen_(std::move(gen)), x_(x) {}
  ~plugin_exchange() override { gen_->vt().end(gen_->handle, x_); }
  plugin_exchange(const plugin_exchange&) = delete;
  plugin_exchange& operator=(const plugin_exchange&) = delete;

  adapter::sasl_step step(std::span<const uint8_t> in) override {
    adapter::sasl_step out;
    if (done_) {
      out.message = "the authentication is over";
      return out;
    }
    // Bounds keep a faulty plugin from growing the answers without end.
    plugin::byte_buffer response(1 << 20);
    plugin::byte_buffer principal(4096);
    mosaic_auth_step_v1 s{sizeof(s), in.data(), in.size(), response.abi(), principal.abi(), MOSAIC_AUTH_FAILURE, 0};
    char message[512] = {0};
    mosaic_error_v1 err{message, sizeof(message)};
    const mosaic_status_t st = gen_->vt().step(gen_->handle, x_, &s, &err);
    if (st != MOSAIC_OK || s.state < MOSAIC_AUTH_CONTINUE || s.state > MOSAIC_AUTH_FAILURE ||
        (s.state == MOSAIC_AUTH_SUCCESS && principal.size() == 0)) {
      log::error("authenticator {} failed a step: {}", gen_->inst->factory().name,
                 st != MOSAIC_OK ? std::string(message) : "an answer the ABI does not allow");
      done_ = true;
      out.message = "the authenticator failed";
      return out;
    }
    out.response.assign(response.bytes().begin(), response.bytes().end());
    if (s.state == MOSAIC_AUTH_CONTINUE) {
      out.st = adapter::sasl_step::state::challenge;
    } else if (s.state == MOSAIC_AUTH_SUCCESS) {
      done_ = true;
      out.st = adapter::sasl_step::state::success;
      out.principal.assign(principal.bytes().begin(), principal.bytes().end());
      out.session_lifetime_ms = std::max<int64_t>(0, s.session_lifetime_ms);
    } else {
      done_ = true;
      out.message = message[0] != 0 ? message : "authentication failed";
    }
    return out;
  }

 private:
  authenticators::slot::generation_ptr gen_;
  void* x_;
  bool done_ = false;
};

class listener_view final : public adapter::sasl_mechanisms {
 public:
  listener_view(const authenticators* all, std::vector<std::string> enabled)
      : all_(all), enabled_(std::move(enabled)) {}

  std::vector<std::string> enabled() const override {
    std::vector<std::string> served = all_->mechanisms();
    if (enabled_.empty()) return served;
    std::vector<std::string> out;
    for (const auto& m : enabled_)
      if (std::find(served.begin(), served.end(), m) != served.end()) out.push_back(m);
    return out;
  }

  std::unique_ptr<adapter::sasl_exchange> begin(const std::string& mechanism, const adapter::peer& p,
                                                const std::string& reauthenticating) const override {
    if (!enabled_.empty() && std::find(enabled_.begin(), enabled_.end(), mechanism) == enabled_.end()) return nullptr;
    return all_->begin(mechanism, p, reauthenticating);
  }

 private:
  const authenticators* all_;  // the node's, which outlives its listeners
  std::vector<std::string> enabled_;
};

}  // namespace

authenticators::authenticators() : credentials_{sizeof(mosaic_auth_credentials_v1), this, &scram_fn} {}

void authenticators::set_credentials(scram_lookup lookup) {
  std::lock_guard lock(lookup_mu_);
  lookup_ = std::move(lookup);
}

mosaic_status_t authenticators::scram_fn(void* ctx, const char* user, size_t user_len, const char* mechanism,
                                         mosaic_scram_credential_v1* out) {
  auto* self = static_cast<authenticators*>(ctx);
  scram_lookup lookup;
  {
    std::lock_guard lock(self->lookup_mu_);
    lookup = self->lookup_;
  }
  const int8_t m = mechanism != nullptr ? sdk::scram::mechanism_number(mechanism) : 0;
  if (!lookup || m == 0 || user == nullptr) return MOSAIC_ERR_NOT_FOUND;
  std::optional<scram_secret> found;
  try {
    found = lookup(std::string(user, user_len), m);
  } catch (const std::exception&) {
    return MOSAIC_ERR_INTERNAL;
  }
  if (!found) return MOSAIC_ERR_NOT_FOUND;
  for (auto [to, from] : {std::pair{out->salt, &found->salt}, std::pair{out->stored_key, &found->stored_key},
                          std::pair{out->server_key, &found->server_key}}) {
    if (to == nullptr) continue;
    if (to->capacity - to->size < from->size())
      if (auto st = to->reserve(to, to->size + from->size()); st != MOSAIC_OK) return st;
    std::copy(from->begin(), from->end(), to->data + to->size);
    to->size += from->size();
  }
  out->iterations = found->iterations;
  return MOSAIC_OK;
}

result<uint64_t> authenticators::install(const std::shared_ptr<plugin::instance>& inst) {
  const auto& f = inst->factory();
  if (f.category != MOSAIC_CATEGORY_AUTHENTICATOR)
    return status(errc::invalid_argument, std::string(f.name) + " is not an authenticator");
  const auto* vt = static_cast<const mosaic_authenticator_vtable_v1*>(f.vtable);
  std::vector<std::string> names;
  const size_t n = vt->mechanism_count(inst->handle());
  for (size_t i = 0; i < n; ++i) {
    const char* m = vt->mechanism(inst->handle(), i);
    if (m == nullptr || *m == '\0') return status(errc::invalid_argument, std::string(f.name) + " names no mechanism");
    names.emplace_back(m);
  }
  if (names.empty()) return status(errc::config, std::string(f.name) + " serves no SASL mechanism");
  std::lock_guard lock(mu_);
  for (const auto& m : names) {
    auto it = slots_.find(m);
    if (it == slots_.end()) continue;
    auto gen = it->second->current();
    if (gen && std::string_view(gen->inst->factory().name) != f.name)
      return status(errc::config,
                    std::string(f.name) + " serves " + m + ", which " + gen->inst->factory().name + " serves already");
  }
  // A swap that serves fewer mechanisms stops serving the others.
  for (auto& [m, s] : slots_) {
    auto gen = s->current();
    if (gen && std::string_view(gen->inst->factory().name) == f.name &&
        std::find(names.begin(), names.end(), m) == names.end())
      s->clear();
  }
  uint64_t first = 0;
  for (const auto& m : names) {
    auto& s = slots_[m];
    if (!s) s = std::make_unique<slot>();
    const uint64_t g = s->publish(inst);
    if (first == 0) first = g;
  }
  return first;
}

std::vector<std::string> authenticators::mechanisms() const {
  std::lock_guard lock(mu_);
  std::vector<std::string> out;
  for (const auto& [name, s] : slots_)
    if (s->current()) out.push_back(name);
  return out;
}

void authenticators::visit(const plugin::meter_visitor& fn) const {
  std::vector<const slot*> all;
  {
    std::lock_guard lock(mu_);
    for (const auto& [m, s] : slots_) all.push_back(s.get());
  }
  std::vector<std::string> seen;
  for (const slot* s : all) {
    auto gen = s->current();
    if (!gen) continue;
    const std::string id = gen->inst->factory().name;
    if (std::find(seen.begin(), seen.end(), id) != seen.end()) continue;
    seen.push_back(id);
    s->visit("authenticator." + id, fn);
  }
}

std::string authenticators::provider(const std::string& mechanism) const {
  const slot* s = find(mechanism);
  auto gen = s != nullptr ? s->current() : nullptr;
  return gen ? gen->inst->factory().name : "";
}

const authenticators::slot* authenticators::find(const std::string& mechanism) const {
  std::lock_guard lock(mu_);
  auto it = slots_.find(mechanism);
  return it == slots_.end() ? nullptr : it->second.get();
}

std::unique_ptr<adapter::sasl_exchange> authenticators::begin(const std::string& mechanism, const adapter::peer& p,
                                                              const std::string& reauthenticating) const {
  const slot* s = find(mechanism);
  auto gen = s != nullptr ? s->current() : nullptr;
  if (!gen) return nullptr;
  mosaic_auth_peer_v1 peer{sizeof(peer),
                           mechanism.c_str(),
                           p.address.c_str(),
                           p.listener.c_str(),
                           reauthenticating.empty() ? nullptr : reauthenticating.c_str(),
                           &credentials_};
  void* x = nullptr;
  char message[512] = {0};
  mosaic_error_v1 err{message, sizeof(message)};
  if (gen->vt().begin(gen->handle, &peer, &x, &err) != MOSAIC_OK || x == nullptr) {
    log::error("authenticator {} could not begin a {} exchange: {}", gen->inst->factory().name, mechanism, message);
    return nullptr;
  }
  return std::make_unique<plugin_exchange>(std::move(gen), x);
}

std::shared_ptr<const adapter::sasl_mechanisms> authenticators::for_listener(std::vector<std::string> enabled) const {
  return std::make_shared<listener_view>(this, std::move(enabled));
}

}  // namespace mosaic::security

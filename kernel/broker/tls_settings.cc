#include "kernel/broker/tls_settings.h"

#include <algorithm>
#include <memory>
#include <utility>

#include "kernel/security/principal_rules.h"

namespace mosaic::broker {

result<net::tls_settings> tls_settings_of(const config::tls_config& c) {
  net::tls_settings t;
  t.keystore = c.keystore.value_or("");
  t.key_password = c.key_password.value_or("");
  t.truststore = c.truststore.value_or("");
  t.client_auth = c.client_auth.value_or("none");
  if (c.protocols) t.protocols = *c.protocols;
  t.ciphers = c.cipher_suites.value_or("");
  auto rules = security::principal_rules::parse(c.principal_rules.value_or(std::vector<std::string>{}));
  if (!rules) return rules.error();
  t.principal_of = [r = std::make_shared<const security::principal_rules>(std::move(*rules))](
                       const std::string& subject) { return r->apply(subject); };
  return t;
}

result<rpc::endpoint_security> inter_broker_security(const config::broker_config& cfg) {
  rpc::endpoint_security out;
  if (cfg.server.inter_broker_protocol != "SSL") return out;
  auto t = tls_settings_of(cfg.server.tls);
  if (!t) return status(errc::config, "security.inter.broker.protocol SSL: " + t.error().message());
  const auto& allowed = cfg.server.inter_broker_peer_principals;
  if (!allowed.empty())
    out.accept_peer = [allowed, principal_of = t->principal_of](const std::string& subject) {
      const auto name = principal_of(subject);
      if (!name) return false;
      return std::find(allowed.begin(), allowed.end(), "User:" + *name) != allowed.end();
    };
  t->principal_of = nullptr;
  out.tls = std::move(*t);
  return out;
}

}  // namespace mosaic::broker

// SASL OAUTHBEARER (RFC 7628), the server's side, as Kafka's broker serves
// it (KIP-255, KIP-768): the client sends a JWT its identity provider
// signed, and the broker checks it against the provider's public keys (a
// JWKS file), with no call to the provider.
//
//   client message  gs2-header \x01 auth=Bearer <JWT> \x01 [key=value \x01]... \x01
//
// A token is accepted when:
//   - it is three base64url parts, header and claims JSON objects;
//   - its header's alg is RS256 or ES256 (never "none", never HMAC: the
//     keys here are public), and the key its kid names in the JWKS (or the
//     one key of that type when it names none) verifies its signature;
//   - exp is present and not passed, nbf (if present) not to come, both
//     with clock.skew.seconds of slack; iss is the configured issuer and
//     aud holds a configured audience, when those are configured;
//   - the principal claim (sub unless configured) is a non-empty string.
// The principal is that claim; the session lasts until exp (KIP-368: the
// client re-authenticates with a fresh token before then). The JWKS file
// is read again when it changes (key rotation); a file that does not read
// keeps the keys read before.
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <sys/stat.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mosaic/sdk/authenticator.h"

namespace {

namespace sdk = mosaic::sdk;
using json = nlohmann::json;

constexpr size_t max_message = 16384;  // a token with its framing

std::optional<std::vector<uint8_t>> unbase64url(std::string_view in) {
  static const auto table = [] {
    std::array<int8_t, 256> t{};
    t.fill(-1);
    const char* a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    for (int i = 0; i < 64; ++i) t[static_cast<uint8_t>(a[i])] = static_cast<int8_t>(i);
    return t;
  }();
  while (!in.empty() && in.back() == '=') in.remove_suffix(1);
  if (in.size() % 4 == 1) return std::nullopt;
  std::vector<uint8_t> out;
  out.reserve(in.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    const int8_t v = table[static_cast<uint8_t>(c)];
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<uint8_t>(acc >> bits));
    }
  }
  return out;
}

struct pkey_free {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using pkey = std::shared_ptr<EVP_PKEY>;

// A JWK's public key: RSA (n, e) or EC P-256 (x, y).
std::optional<pkey> key_from_jwk(const json& k, std::string& why) {
  const std::string kty = k.value("kty", "");
  std::unique_ptr<OSSL_PARAM_BLD, decltype(&OSSL_PARAM_BLD_free)> bld(OSSL_PARAM_BLD_new(), OSSL_PARAM_BLD_free);
  std::vector<BIGNUM*> bns;
  auto field = [&](const char* name) -> std::optional<std::vector<uint8_t>> {
    if (!k.contains(name) || !k[name].is_string()) return std::nullopt;
    return unbase64url(k[name].get<std::string>());
  };
  const char* type = nullptr;
  std::vector<uint8_t> point;
  if (kty == "RSA") {
    auto n = field("n"), e = field("e");
    if (!n || !e || n->empty() || e->empty()) {
      why = "an RSA key needs n and e";
      return std::nullopt;
    }
    BIGNUM* bn_n = BN_bin2bn(n->data(), static_cast<int>(n->size()), nullptr);
    BIGNUM* bn_e = BN_bin2bn(e->data(), static_cast<int>(e->size()), nullptr);
    bns = {bn_n, bn_e};
    OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, bn_n);
    OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, bn_e);
    type = "RSA";
  } else if (kty == "EC") {
    auto x = field("x"), y = field("y");
    if (k.value("crv", "") != "P-256" || !x || !y || x->size() != 32 || y->size() != 32) {
      why = "an EC key must be P-256 with 32-byte x and y";
      return std::nullopt;
    }
    point.push_back(0x04);
    point.insert(point.end(), x->begin(), x->end());
    point.insert(point.end(), y->begin(), y->end());
    OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0);
    OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size());
    type = "EC";
  } else {
    why = "key type '" + kty + "' is not RSA or EC";
    return std::nullopt;
  }
  OSSL_PARAM* params = OSSL_PARAM_BLD_to_param(bld.get());
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr);
  EVP_PKEY* key = nullptr;
  const bool ok = params && ctx && EVP_PKEY_fromdata_init(ctx) == 1 &&
                  EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params) == 1;
  EVP_PKEY_CTX_free(ctx);
  OSSL_PARAM_free(params);
  for (BIGNUM* bn : bns) BN_free(bn);
  if (!ok) {
    why = "the key's numbers do not make a " + std::string(type) + " key";
    return std::nullopt;
  }
  return pkey(key, pkey_free{});
}

struct jwk {
  std::string kid;
  std::string kty;  // RSA or EC
  pkey key;
};

// Reads a JWKS file ({"keys": [...]}); throws sdk::error naming what is wrong.
std::vector<jwk> read_jwks(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw sdk::error(MOSAIC_ERR_CONFIG, "jwks.file '" + path + "' cannot be read");
  json doc = json::parse(in, nullptr, false);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("keys") || !doc["keys"].is_array())
    throw sdk::error(MOSAIC_ERR_CONFIG, "jwks.file '" + path + "' is not a JSON Web Key Set ({\"keys\": [...]})");
  std::vector<jwk> out;
  for (const auto& k : doc["keys"]) {
    if (!k.is_object()) continue;
    if (k.contains("use") && k["use"] != "sig") continue;
    std::string why;
    auto key = key_from_jwk(k, why);
    if (!key) throw sdk::error(MOSAIC_ERR_CONFIG, "jwks.file '" + path + "': key '" + k.value("kid", "") + "': " + why);
    out.push_back({k.value("kid", ""), k.value("kty", ""), std::move(*key)});
  }
  if (out.empty()) throw sdk::error(MOSAIC_ERR_CONFIG, "jwks.file '" + path + "' holds no signing key");
  return out;
}

// Verifies `sig` over `signed_part` with SHA-256; ES256 signatures are
// r||s (32 bytes each) and go to OpenSSL as DER.
bool verify(const pkey& key, bool ecdsa, std::string_view signed_part, const std::vector<uint8_t>& sig) {
  std::vector<uint8_t> der;
  const uint8_t* s = sig.data();
  size_t n = sig.size();
  if (ecdsa) {
    if (sig.size() != 64) return false;
    ECDSA_SIG* es = ECDSA_SIG_new();
    ECDSA_SIG_set0(es, BN_bin2bn(sig.data(), 32, nullptr), BN_bin2bn(sig.data() + 32, 32, nullptr));
    const int len = i2d_ECDSA_SIG(es, nullptr);
    if (len > 0) {
      der.resize(static_cast<size_t>(len));
      uint8_t* p = der.data();
      i2d_ECDSA_SIG(es, &p);
    }
    ECDSA_SIG_free(es);
    if (der.empty()) return false;
    s = der.data();
    n = der.size();
  }
  EVP_MD_CTX* md = EVP_MD_CTX_new();
  const bool ok =
      md && EVP_DigestVerifyInit(md, nullptr, EVP_sha256(), nullptr, key.get()) == 1 &&
      EVP_DigestVerify(md, s, n, reinterpret_cast<const uint8_t*>(signed_part.data()), signed_part.size()) == 1;
  EVP_MD_CTX_free(md);
  return ok;
}

struct file_stamp {
  off_t size = -1;
  struct timespec mtime {};
  bool operator==(const file_stamp& o) const {
    return size == o.size && mtime.tv_sec == o.mtime.tv_sec && mtime.tv_nsec == o.mtime.tv_nsec;
  }
};

class oauthbearer_authenticator;

class oauthbearer_exchange final : public sdk::auth_exchange {
 public:
  oauthbearer_exchange(const oauthbearer_authenticator* owner, std::string reauthenticating)
      : owner_(owner), reauthenticating_(std::move(reauthenticating)) {}
  sdk::auth_step step(std::span<const uint8_t> message) override;

 private:
  const oauthbearer_authenticator* owner_;
  std::string reauthenticating_;
  bool done_ = false;
};

class oauthbearer_authenticator : public sdk::authenticator<oauthbearer_authenticator> {
 public:
  static constexpr const char* name = "mosaic.authn.oauthbearer";
  static constexpr const char* description =
      "SASL OAUTHBEARER: JWTs signed with RS256 or ES256, checked against a JWKS file";
  static constexpr sdk::field config_fields[] = {
      sdk::string_field("jwks.file", "",
                        "the identity provider's public keys, a JSON Web Key Set (re-read when it "
                        "changes)"),
      sdk::string_field("issuer", "", "the iss a token must carry (empty: not checked)"),
      sdk::list_field("audience", "", "audiences of which a token's aud must hold one (empty: not checked)"),
      sdk::int_field("clock.skew.seconds", "30", "slack on exp and nbf for clocks that differ", 0, 3600),
      sdk::string_field("principal.claim", "sub", "the claim that names the principal"),
  };

  oauthbearer_authenticator(const sdk::config& cfg, sdk::host host)
      : host_(host),
        path_(cfg.get_string("jwks.file")),
        issuer_(cfg.get_string("issuer")),
        audience_(cfg.get_list("audience")),
        skew_s_(cfg.get_int("clock.skew.seconds", 30)),
        claim_(cfg.get_string("principal.claim", "sub")) {
    if (path_.empty()) throw sdk::error(MOSAIC_ERR_CONFIG, "jwks.file: name the JSON Web Key Set file");
    if (claim_.empty()) throw sdk::error(MOSAIC_ERR_CONFIG, "principal.claim: name a claim");
    keys_ = std::make_shared<const std::vector<jwk>>(read_jwks(path_));
    stamp_ = stamp_of(path_);
  }

  const std::vector<std::string>& mechanisms() const { return mechanisms_; }

  std::unique_ptr<sdk::auth_exchange> begin(const sdk::auth_peer& peer) const {
    return std::make_unique<oauthbearer_exchange>(this, std::string(peer.reauthenticating_principal));
  }

  // Checks a token; the principal and the seconds left before it expires,
  // or the reason it is refused.
  struct verdict {
    std::string principal;
    int64_t lifetime_ms = 0;
    std::string refusal;
  };
  verdict check(std::string_view token) const;

 private:
  static file_stamp stamp_of(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return {};
    return {st.st_size, st.st_mtim};
  }
  std::shared_ptr<const std::vector<jwk>> keys() const {
    const file_stamp now = stamp_of(path_);
    {
      std::lock_guard g(mu_);
      if (now == stamp_) return keys_;
      stamp_ = now;
    }
    try {
      auto fresh = std::make_shared<const std::vector<jwk>>(read_jwks(path_));
      host_.info("jwks.file " + path_ + " changed: " + std::to_string(fresh->size()) + " key(s)");
      std::lock_guard g(mu_);
      keys_ = std::move(fresh);
    } catch (const std::exception& e) {
      host_.warn(std::string(e.what()) + " (the keys read before stay)");
    }
    std::lock_guard g(mu_);
    return keys_;
  }

  sdk::host host_;
  std::string path_, issuer_;
  std::vector<std::string> audience_;
  int64_t skew_s_;
  std::string claim_;
  std::vector<std::string> mechanisms_{"OAUTHBEARER"};
  mutable std::mutex mu_;
  mutable std::shared_ptr<const std::vector<jwk>> keys_;
  mutable file_stamp stamp_;
};

oauthbearer_authenticator::verdict oauthbearer_authenticator::check(std::string_view token) const {
  verdict v;
  auto refuse = [&](std::string why) {
    v.refusal = std::move(why);
    return v;
  };
  const auto dot1 = token.find('.');
  const auto dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos)
    return refuse("the token is not a JWS in compact form (three parts)");
  auto header_bytes = unbase64url(token.substr(0, dot1));
  auto claims_bytes = unbase64url(token.substr(dot1 + 1, dot2 - dot1 - 1));
  auto sig = unbase64url(token.substr(dot2 + 1));
  if (!header_bytes || !claims_bytes || !sig) return refuse("the token is not base64url");
  const json header = json::parse(header_bytes->begin(), header_bytes->end(), nullptr, false);
  const json claims = json::parse(claims_bytes->begin(), claims_bytes->end(), nullptr, false);
  if (header.is_discarded() || !header.is_object() || claims.is_discarded() || !claims.is_object())
    return refuse("the token's header or claims are not JSON objects");
  const auto alg = header.contains("alg") && header["alg"].is_string() ? header["alg"].get<std::string>() : "";
  if (alg != "RS256" && alg != "ES256")
    return refuse("the token's alg '" + alg + "' is not accepted (RS256 or ES256; unsigned tokens never are)");
  if (sig->empty()) return refuse("the token has no signature");
  const std::string kty = alg == "RS256" ? "RSA" : "EC";
  const std::string kid = header.contains("kid") && header["kid"].is_string() ? header["kid"].get<std::string>() : "";
  const auto ks = keys();
  const jwk* key = nullptr;
  int of_type = 0;
  for (const auto& k : *ks) {
    if (k.kty != kty) continue;
    ++of_type;
    if (!kid.empty() && k.kid == kid) key = &k;
    if (kid.empty() && of_type == 1) key = &k;
  }
  if (kid.empty() && of_type > 1) key = nullptr;  // ambiguous without a kid
  if (key == nullptr) return refuse("no key in the JWKS for the token's kid '" + kid + "'");
  if (!verify(key->key, alg == "ES256", token.substr(0, dot2), *sig)) return refuse("the token's signature is wrong");

  const auto now =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  if (!claims.contains("exp") || !claims["exp"].is_number()) return refuse("the token has no exp");
  const auto exp = claims["exp"].get<double>();
  if (exp + static_cast<double>(skew_s_) <= static_cast<double>(now)) return refuse("the token has expired");
  if (claims.contains("nbf")) {
    if (!claims["nbf"].is_number()) return refuse("the token's nbf is not a number");
    if (claims["nbf"].get<double>() > static_cast<double>(now + skew_s_)) return refuse("the token is not valid yet");
  }
  if (!issuer_.empty() && (!claims.contains("iss") || claims["iss"] != issuer_))
    return refuse("the token's issuer is not " + issuer_);
  if (!audience_.empty()) {
    bool found = false;
    if (claims.contains("aud")) {
      const auto& aud = claims["aud"];
      for (const auto& want : audience_) {
        if (aud.is_string() && aud == want) found = true;
        if (aud.is_array())
          for (const auto& a : aud)
            if (a.is_string() && a == want) found = true;
      }
    }
    if (!found) return refuse("the token is not for this audience");
  }
  if (!claims.contains(claim_) || !claims[claim_].is_string() || claims[claim_].get<std::string>().empty())
    return refuse("the token's " + claim_ + " claim is not a name");
  v.principal = claims[claim_].get<std::string>();
  v.lifetime_ms = std::max<int64_t>(1, static_cast<int64_t>((exp - static_cast<double>(now)) * 1000));
  return v;
}

sdk::auth_step oauthbearer_exchange::step(std::span<const uint8_t> message) {
  if (done_) return sdk::auth_step::failure("OAUTHBEARER takes one message");
  done_ = true;
  const std::string_view m(reinterpret_cast<const char*>(message.data()), message.size());
  if (m.size() > max_message) return sdk::auth_step::failure("an OAUTHBEARER message is at most 16 KiB");
  // gs2-header "n,," or "n,a=authzid," then \x01-separated key=value pairs
  // ending in \x01\x01.
  const auto first = m.find(',');
  const auto second = first == std::string_view::npos ? first : m.find(',', first + 1);
  if (second == std::string_view::npos || m.substr(0, first) != "n")
    return sdk::auth_step::failure("a malformed OAUTHBEARER message (gs2 header)");
  const auto authzid = m.substr(first + 1, second - first - 1);
  auto rest = m.substr(second + 1);
  if (rest.size() < 2 || rest.front() != '\x01' || !rest.ends_with("\x01\x01"))
    return sdk::auth_step::failure("a malformed OAUTHBEARER message (key/value pairs)");
  rest = rest.substr(1, rest.size() - 3);
  std::optional<std::string_view> token;
  while (!rest.empty()) {
    const auto end = rest.find('\x01');
    const auto kv = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
    if (kv.rfind("auth=", 0) == 0) {
      const auto value = kv.substr(5);
      if (value.size() < 8 || (value.substr(0, 7) != "Bearer " && value.substr(0, 7) != "bearer "))
        return sdk::auth_step::failure("the auth value is not 'Bearer <token>'");
      token = value.substr(7);
    }
  }
  if (!token || token->empty()) return sdk::auth_step::failure("the OAUTHBEARER message carries no token");
  auto v = owner_->check(*token);
  if (!v.refusal.empty()) return sdk::auth_step::failure(v.refusal);
  if (!authzid.empty() && authzid != "a=" + v.principal)
    return sdk::auth_step::failure("the authorization id is not the token's principal");
  if (!reauthenticating_.empty() && reauthenticating_ != v.principal)
    return sdk::auth_step::failure("a re-authentication must keep the principal");
  return sdk::auth_step::success(v.principal, {}, v.lifetime_ms);
}

}  // namespace

MOSAIC_PLUGIN("mosaic-authn-oauthbearer", "0.1.0", oauthbearer_authenticator)

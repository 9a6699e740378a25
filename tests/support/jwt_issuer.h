// A test identity provider: RSA and EC P-256 key pairs made with OpenSSL,
// their public halves as a JSON Web Key Set, and JWTs signed with RS256 or
// ES256 (or forged: alg none, HS256, a wrong key) for the OAUTHBEARER
// tests. Link OpenSSL::Crypto and nlohmann_json where this is included.
#pragma once

#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rsa.h>

#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernel/base/bytes.h"

namespace mosaic::testing {

// Base64url without padding: the kernel's (a Kafka Uuid's text form).
inline std::string base64url(const std::vector<uint8_t>& in) { return mosaic::base64url(in); }
inline std::string base64url(const std::string& s) { return base64url(std::vector<uint8_t>(s.begin(), s.end())); }

inline int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

class jwt_key {
 public:
  // "RS256" (RSA 2048) or "ES256" (P-256).
  jwt_key(std::string alg, std::string kid) : alg_(std::move(alg)), kid_(std::move(kid)) {
    EVP_PKEY* k = alg_ == "RS256" ? EVP_RSA_gen(2048) : EVP_EC_gen("P-256");
    if (k == nullptr) throw std::runtime_error("key generation failed");
    key_.reset(k, EVP_PKEY_free);
  }
  const std::string& alg() const { return alg_; }
  const std::string& kid() const { return kid_; }

  // The public key as a JWK.
  nlohmann::json jwk() const {
    nlohmann::json j = {{"kid", kid_}, {"use", "sig"}, {"alg", alg_}};
    if (alg_ == "RS256") {
      j["kty"] = "RSA";
      j["n"] = base64url(bn(OSSL_PKEY_PARAM_RSA_N, 0));
      j["e"] = base64url(bn(OSSL_PKEY_PARAM_RSA_E, 0));
    } else {
      j["kty"] = "EC";
      j["crv"] = "P-256";
      j["x"] = base64url(bn(OSSL_PKEY_PARAM_EC_PUB_X, 32));
      j["y"] = base64url(bn(OSSL_PKEY_PARAM_EC_PUB_Y, 32));
    }
    return j;
  }

  // A token with these claims, signed with this key; `header` adds to or
  // overrides the header.
  std::string sign(const nlohmann::json& claims, const nlohmann::json& header = nlohmann::json::object()) const {
    nlohmann::json h = {{"alg", alg_}, {"typ", "JWT"}, {"kid", kid_}};
    for (auto it = header.begin(); it != header.end(); ++it) h[it.key()] = it.value();
    const std::string input = base64url(h.dump()) + "." + base64url(claims.dump());
    return input + "." + base64url(signature(input));
  }

  std::vector<uint8_t> signature(const std::string& input) const {
    EVP_MD_CTX* md = EVP_MD_CTX_new();
    size_t n = 0;
    EVP_DigestSignInit(md, nullptr, EVP_sha256(), nullptr, key_.get());
    EVP_DigestSign(md, nullptr, &n, reinterpret_cast<const uint8_t*>(input.data()), input.size());
    std::vector<uint8_t> sig(n);
    EVP_DigestSign(md, sig.data(), &n, reinterpret_cast<const uint8_t*>(input.data()), input.size());
    sig.resize(n);
    EVP_MD_CTX_free(md);
    if (alg_ == "RS256") return sig;
    // DER to r||s.
    const uint8_t* p = sig.data();
    ECDSA_SIG* es = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(sig.size()));
    std::vector<uint8_t> raw(64);
    BN_bn2binpad(ECDSA_SIG_get0_r(es), raw.data(), 32);
    BN_bn2binpad(ECDSA_SIG_get0_s(es), raw.data() + 32, 32);
    ECDSA_SIG_free(es);
    return raw;
  }

 private:
  std::vector<uint8_t> bn(const char* name, int pad) const {
    BIGNUM* b = nullptr;
    EVP_PKEY_get_bn_param(key_.get(), name, &b);
    std::vector<uint8_t> out(pad > 0 ? static_cast<size_t>(pad) : static_cast<size_t>(BN_num_bytes(b)));
    if (pad > 0)
      BN_bn2binpad(b, out.data(), pad);
    else
      BN_bn2bin(b, out.data());
    BN_free(b);
    return out;
  }

  std::string alg_, kid_;
  std::shared_ptr<EVP_PKEY> key_;
};

inline std::string jwks(const std::vector<const jwt_key*>& keys) {
  nlohmann::json j = {{"keys", nlohmann::json::array()}};
  for (const auto* k : keys) j["keys"].push_back(k->jwk());
  return j.dump(2);
}

// Claims for `sub`, valid for `seconds` from now.
inline nlohmann::json claims_for(const std::string& sub, int64_t seconds = 3600) {
  const int64_t now = unix_now();
  return {{"sub", sub}, {"iat", now}, {"exp", now + seconds}, {"iss", "https://idp.test"}, {"aud", "mosaic"}};
}

// The OAUTHBEARER client message (RFC 7628) carrying `token`.
inline std::string oauthbearer_message(const std::string& token, const std::string& authzid = "") {
  return "n," + (authzid.empty() ? std::string() : "a=" + authzid) +
         ",\x01"
         "auth=Bearer " +
         token + "\x01\x01";
}

}  // namespace mosaic::testing

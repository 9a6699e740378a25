// The client's side of SCRAM (RFC 5802) for tests: the first message, and
// the final one computed from the server's first answer. It keeps its
// last salted password (under a lock: exchanges may run on several threads).
#pragma once

#include <sodium.h>

#include <mutex>
#include <string>
#include <vector>

#include "mosaic/sdk/scram.h"

namespace mosaic::testing {

class scram_client {
 public:
  scram_client(sdk::scram::hash h, std::string user, std::string password,
               std::string nonce = "fyko+d2lbbFgONRv9qkxdawL")
      : h_(h), user_(std::move(user)), password_(std::move(password)), nonce_(std::move(nonce)) {}

  std::string first() const { return "n,," + bare(); }

  // The client-final message for the server-first `server`; empty if it
  // does not parse.
  std::string final_for(const std::string& server) const {
    std::string r, s;
    int iterations = 0;
    size_t start = 0;
    while (start <= server.size()) {
      auto comma = server.find(',', start);
      const std::string attr = server.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      if (attr.rfind("r=", 0) == 0) r = attr.substr(2);
      if (attr.rfind("s=", 0) == 0) s = attr.substr(2);
      if (attr.rfind("i=", 0) == 0) iterations = std::stoi(attr.substr(2));
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
    std::vector<uint8_t> salt(s.size());
    size_t n = 0;
    if (r.empty() || sodium_base642bin(salt.data(), salt.size(), s.data(), s.size(), nullptr, &n, nullptr,
                                       sodium_base64_VARIANT_ORIGINAL) != 0)
      return {};
    salt.resize(n);
    // Salting is the client's slow part; the same salt and count give the
    // same result, so it is done once (benchmarks time the server).
    std::vector<uint8_t> salted;
    {
      std::lock_guard lock(mu_);
      if (salt != salt_ || iterations != iterations_) {
        salted_ = sdk::scram::salted_password(h_, password_, salt, iterations);
        salt_ = salt;
        iterations_ = iterations;
      }
      salted = salted_;
    }
    const std::string without_proof = "c=biws,r=" + r;
    const std::string auth_message = bare() + "," + server + "," + without_proof;
    const auto client_key = sdk::scram::client_key(h_, salted);
    const auto stored = sdk::scram::digest(h_, client_key);
    const auto signature = sdk::scram::hmac(h_, stored, auth_message);
    std::vector<uint8_t> proof(client_key.size());
    for (size_t i = 0; i < proof.size(); ++i) proof[i] = client_key[i] ^ signature[i];
    std::string b64(sodium_base64_encoded_len(proof.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
    sodium_bin2base64(b64.data(), b64.size(), proof.data(), proof.size(), sodium_base64_VARIANT_ORIGINAL);
    b64.resize(b64.size() - 1);
    return without_proof + ",p=" + b64;
  }

 private:
  std::string bare() const { return "n=" + user_ + ",r=" + nonce_; }

  sdk::scram::hash h_;
  std::string user_, password_, nonce_;
  mutable std::mutex mu_;  // the conformance suite steps exchanges on several threads
  mutable std::vector<uint8_t> salt_, salted_;
  mutable int iterations_ = 0;
};

}  // namespace mosaic::testing

// SCRAM's key derivations (RFC 5802 section 3, with SHA-256 as RFC 7677 and
// SHA-512 as Kafka uses them), on libsodium: the one copy the broker (which
// turns a salted password into stored keys), the SCRAM authenticator and the
// CLI (which salts a password) share. Include it only where libsodium is
// linked; call sodium_init() first.
//
//   SaltedPassword = Hi(password, salt, i)     (PBKDF2 with HMAC-H)
//   ClientKey = HMAC(SaltedPassword, "Client Key"); StoredKey = H(ClientKey)
//   ServerKey = HMAC(SaltedPassword, "Server Key")
#pragma once

#include <sodium.h>

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace mosaic::sdk::scram {

enum class hash { sha256, sha512 };

inline size_t size_of(hash h) { return h == hash::sha256 ? 32 : 64; }

inline std::vector<uint8_t> hmac(hash h, std::span<const uint8_t> key, std::span<const uint8_t> data) {
  std::vector<uint8_t> out(size_of(h));
  if (h == hash::sha256) {
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, key.data(), key.size());
    crypto_auth_hmacsha256_update(&st, data.data(), data.size());
    crypto_auth_hmacsha256_final(&st, out.data());
  } else {
    crypto_auth_hmacsha512_state st;
    crypto_auth_hmacsha512_init(&st, key.data(), key.size());
    crypto_auth_hmacsha512_update(&st, data.data(), data.size());
    crypto_auth_hmacsha512_final(&st, out.data());
  }
  return out;
}

inline std::vector<uint8_t> hmac(hash h, std::span<const uint8_t> key, std::string_view data) {
  return hmac(h, key, {reinterpret_cast<const uint8_t*>(data.data()), data.size()});
}

inline std::vector<uint8_t> digest(hash h, std::span<const uint8_t> data) {
  std::vector<uint8_t> out(size_of(h));
  if (h == hash::sha256)
    crypto_hash_sha256(out.data(), data.data(), data.size());
  else
    crypto_hash_sha512(out.data(), data.data(), data.size());
  return out;
}

// Hi(password, salt, iterations): PBKDF2 with HMAC-H, one block.
inline std::vector<uint8_t> salted_password(hash h, std::string_view password, std::span<const uint8_t> salt,
                                            int32_t iterations) {
  const std::span<const uint8_t> key(reinterpret_cast<const uint8_t*>(password.data()), password.size());
  std::vector<uint8_t> first(salt.begin(), salt.end());
  first.insert(first.end(), {0, 0, 0, 1});
  std::vector<uint8_t> u = hmac(h, key, first);
  std::vector<uint8_t> result = u;
  for (int32_t i = 1; i < iterations; ++i) {
    u = hmac(h, key, u);
    for (size_t j = 0; j < result.size(); ++j) result[j] ^= u[j];
  }
  return result;
}

inline std::vector<uint8_t> client_key(hash h, std::span<const uint8_t> salted) {
  return hmac(h, salted, "Client Key");
}
inline std::vector<uint8_t> stored_key(hash h, std::span<const uint8_t> salted) {
  return digest(h, client_key(h, salted));
}
inline std::vector<uint8_t> server_key(hash h, std::span<const uint8_t> salted) {
  return hmac(h, salted, "Server Key");
}

}  // namespace mosaic::sdk::scram

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

#include <charconv>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace mosaic::sdk::scram {

enum class hash { sha256, sha512 };

inline size_t size_of(hash h) { return h == hash::sha256 ? 32 : 64; }

// Kafka's numbers for the mechanisms (AlterUserScramCredentials and the
// metadata records): 1 SCRAM-SHA-256, 2 SCRAM-SHA-512; 0 for another name.
inline int8_t mechanism_number(std::string_view name) {
  return name == "SCRAM-SHA-256" ? 1 : name == "SCRAM-SHA-512" ? 2 : 0;
}
inline const char* mechanism_name(int8_t number) {
  return number == 1 ? "SCRAM-SHA-256" : number == 2 ? "SCRAM-SHA-512" : "UNKNOWN";
}
inline std::optional<hash> hash_of(int8_t number) {
  if (number == 1) return hash::sha256;
  if (number == 2) return hash::sha512;
  return std::nullopt;
}

// Base64 as SCRAM writes it (RFC 4648, with padding).
inline std::string base64(std::span<const uint8_t> bin) {
  std::string out(sodium_base64_encoded_len(bin.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), bin.data(), bin.size(), sodium_base64_VARIANT_ORIGINAL);
  out.resize(out.size() - 1);  // the NUL
  return out;
}
// Nothing unless all of `text` is base64.
inline std::optional<std::vector<uint8_t>> unbase64(std::string_view text) {
  // Empty is empty (libsodium must not be handed a null buffer: UBSan
  // stopped on it when a mutated message named an empty value).
  if (text.empty()) return std::vector<uint8_t>{};
  // Only the alphabet itself: libsodium's decoder (1.0.18) took the byte
  // 0xAF for '/', so one proof could be written two ways (the mutation
  // test found it).
  for (const char c : text) {
    const bool alphabet =
        (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/' || c == '=';
    if (!alphabet) return std::nullopt;
  }
  std::vector<uint8_t> out(text.size());
  size_t n = 0;
  const char* end = nullptr;
  if (sodium_base642bin(out.data(), out.size(), text.data(), text.size(), nullptr, &n, &end,
                        sodium_base64_VARIANT_ORIGINAL) != 0 ||
      end != text.data() + text.size())
    return std::nullopt;
  out.resize(n);
  return out;
}

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

// ---- the client's side ----

// What a client reads in a server-first message (r=, s=, i=).
struct server_first {
  std::string nonce;
  std::vector<uint8_t> salt;
  int32_t iterations = 0;
};
// Nothing when a field is missing or malformed.
inline std::optional<server_first> parse_server_first(std::string_view text) {
  server_first out;
  std::optional<std::vector<uint8_t>> salt;
  for (size_t start = 0; start <= text.size();) {
    const auto comma = text.find(',', start);
    const auto attr = text.substr(start, comma == std::string_view::npos ? comma : comma - start);
    if (attr.rfind("r=", 0) == 0) out.nonce = std::string(attr.substr(2));
    if (attr.rfind("s=", 0) == 0) salt = unbase64(attr.substr(2));
    if (attr.rfind("i=", 0) == 0) std::from_chars(attr.data() + 2, attr.data() + attr.size(), out.iterations);
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  if (out.nonce.empty() || !salt || out.iterations < 1) return std::nullopt;
  out.salt = std::move(*salt);
  return out;
}

// The client-final message (without channel binding: "c=biws") for a
// client whose first message was "n,," + `client_first_bare`, and the
// server-final message a server that holds the credential answers.
struct client_final {
  std::string message;
  std::string expected_server_final;
};
inline client_final finish(hash h, std::span<const uint8_t> salted, std::string_view client_first_bare,
                           std::string_view server_first_text, std::string_view server_nonce) {
  const std::string without_proof = "c=biws,r=" + std::string(server_nonce);
  std::string auth_message(client_first_bare);
  auth_message.append(",").append(server_first_text).append(",").append(without_proof);
  const auto key = client_key(h, salted);
  const auto signature = hmac(h, digest(h, key), auth_message);
  std::vector<uint8_t> proof(key.size());
  for (size_t i = 0; i < proof.size(); ++i) proof[i] = key[i] ^ signature[i];
  return {without_proof + ",p=" + base64(proof), "v=" + base64(hmac(h, server_key(h, salted), auth_message))};
}

}  // namespace mosaic::sdk::scram

#include "kernel/plugin/trust.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cctype>
#include <fstream>
#include <optional>
#include <sstream>

namespace mosaic::plugin {

namespace {

constexpr const char* signed_prefix = "mosaic-plugin-signature-v1 ";

std::string hex(const uint8_t* data, size_t n) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  out.reserve(n * 2);
  for (size_t i = 0; i < n; ++i) {
    out += digits[data[i] >> 4];
    out += digits[data[i] & 15];
  }
  return out;
}

std::string base64(const uint8_t* data, size_t n) {
  std::string out(sodium_base64_encoded_len(n, sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), data, n, sodium_base64_VARIANT_ORIGINAL);
  out.resize(out.size() - 1);  // the terminating NUL
  return out;
}

// Exactly `size` bytes, or nothing.
std::optional<std::vector<uint8_t>> unbase64(const std::string& text, size_t size) {
  std::vector<uint8_t> out(size + 1);
  size_t got = 0;
  const char* end = nullptr;
  std::string trimmed = text;
  while (!trimmed.empty() && (trimmed.back() == '\n' || trimmed.back() == '\r' || trimmed.back() == ' '))
    trimmed.pop_back();
  for (char c : trimmed)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '/' || c == '=')) return std::nullopt;
  if (sodium_base642bin(out.data(), out.size(), trimmed.data(), trimmed.size(), nullptr, &got, &end,
                        sodium_base64_VARIANT_ORIGINAL) != 0 ||
      end != trimmed.data() + trimmed.size() || got != size)
    return std::nullopt;
  out.resize(size);
  return out;
}

// Only its owner (or root) may write it.
status private_to_its_owner(const std::filesystem::path& p, const char* what) {
  struct stat st {};
  if (::stat(p.c_str(), &st) != 0)
    return status(errc::not_found, std::string(what) + " '" + p.string() + "' is not there");
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0)
    return status(
        errc::config, std::string(what) + " '" + p.string() + "' may be written by " +
                          ((st.st_mode & S_IWOTH) != 0 ? "anyone" : "its group") + " (mode " +
                          [&] {
                            std::ostringstream o;
                            o << std::oct << (st.st_mode & 07777);
                            return o.str();
                          }() +
                          ")");
  return {};
}

bool inside(const std::filesystem::path& file, const std::filesystem::path& folder) {
  auto f = file.begin();
  for (auto d = folder.begin(); d != folder.end(); ++d, ++f) {
    if (d->empty()) continue;  // a trailing separator
    if (f == file.end() || *f != *d) return false;
  }
  return true;
}

std::string message_for(const std::string& digest) { return std::string(signed_prefix) + digest; }

}  // namespace

result<std::string> file_sha256(const std::filesystem::path& file) {
  if (sodium_init() < 0) return status(errc::internal, "libsodium could not start");
  int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return status(errc::not_found, "cannot read '" + file.string() + "'");
  crypto_hash_sha256_state st;
  crypto_hash_sha256_init(&st);
  std::array<uint8_t, 65536> buf{};
  for (;;) {
    const ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      ::close(fd);
      return status(errc::io, "cannot read '" + file.string() + "'");
    }
    if (n == 0) break;
    crypto_hash_sha256_update(&st, buf.data(), static_cast<unsigned long long>(n));
  }
  ::close(fd);
  std::array<uint8_t, crypto_hash_sha256_BYTES> digest{};
  crypto_hash_sha256_final(&st, digest.data());
  return hex(digest.data(), digest.size());
}

status validate_trust(const trust_policy& policy) {
  if (sodium_init() < 0) return status(errc::internal, "libsodium could not start");
  for (const auto& k : policy.public_keys)
    if (!unbase64(k, crypto_sign_PUBLICKEYBYTES))
      return status(errc::config, "plugins.trust.public_keys: '" + k +
                                      "' is not a base64 Ed25519 public key (mosaic plugin keygen makes one)");
  for (const auto& d : policy.sha256) {
    bool ok = d.size() == 64;
    for (char c : d) ok = ok && ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'));
    if (!ok) return status(errc::config, "plugins.trust.sha256: '" + d + "' is not a SHA-256 in lowercase hex");
  }
  if (policy.require_signatures && policy.public_keys.empty())
    return status(errc::config, "plugins.trust.require_signatures needs plugins.trust.public_keys");
  for (const auto& f : policy.folders)
    if (!f.is_absolute()) return status(errc::config, "plugins.trust.folders: '" + f.string() + "' is not absolute");
  return {};
}

status check_trust(const std::filesystem::path& file, const trust_policy& policy) {
  if (!policy.active()) return {};
  auto digest = file_sha256(file);
  return check_trust(file, digest ? *digest : std::string(), policy);
}

status check_trust(const std::filesystem::path& file, const std::string& sha256, const trust_policy& policy) {
  if (!policy.active()) return {};
  std::error_code ec;
  const auto real = std::filesystem::canonical(file, ec);
  if (ec) return status(errc::not_found, "it is not there");
  if (!policy.folders.empty()) {
    const std::filesystem::path* trusted = nullptr;
    std::string listed;
    for (const auto& f : policy.folders) {
      const auto folder = std::filesystem::weakly_canonical(f, ec);
      if (trusted == nullptr && !ec && inside(real, folder)) trusted = &f;
      listed += (listed.empty() ? "" : ", ") + f.string();
    }
    if (trusted == nullptr) return status(errc::config, "it is not in a trusted folder (" + listed + ")");
    if (auto s = private_to_its_owner(*trusted, "the trusted folder"); !s.ok()) return s;
  }
  if (auto s = private_to_its_owner(real.parent_path(), "its folder"); !s.ok()) return s;
  if (auto s = private_to_its_owner(real, "the library"); !s.ok()) return s;
  if (sha256.empty()) return status(errc::io, "cannot read '" + real.string() + "'");
  if (!policy.sha256.empty() && !policy.sha256.count(sha256))
    return status(errc::config, "its SHA-256 " + sha256 + " is not on plugins.trust.sha256");
  if (policy.require_signatures) {
    const auto sig_file = real.string() + ".sig";
    std::ifstream in(sig_file);
    if (!in) return status(errc::config, "it is not signed (no " + sig_file + ")");
    std::string signature;
    std::getline(in, signature);
    if (auto s = verify_digest(sha256, signature, policy.public_keys); !s.ok()) return s;
  }
  return {};
}

signing_key make_signing_key() {
  if (sodium_init() < 0) return {};
  std::array<uint8_t, crypto_sign_PUBLICKEYBYTES> pk{};
  std::array<uint8_t, crypto_sign_SECRETKEYBYTES> sk{};
  crypto_sign_keypair(pk.data(), sk.data());
  signing_key k{base64(pk.data(), pk.size()), base64(sk.data(), sk.size())};
  sodium_memzero(sk.data(), sk.size());
  return k;
}

result<std::string> sign_library(const std::filesystem::path& file, const std::string& secret_key) {
  if (sodium_init() < 0) return status(errc::internal, "libsodium could not start");
  auto sk = unbase64(secret_key, crypto_sign_SECRETKEYBYTES);
  if (!sk) return status(errc::invalid_argument, "the secret key is not a base64 Ed25519 secret key");
  auto digest = file_sha256(file);
  if (!digest) return digest.error();
  const std::string m = message_for(*digest);
  std::array<uint8_t, crypto_sign_BYTES> sig{};
  crypto_sign_detached(sig.data(), nullptr, reinterpret_cast<const uint8_t*>(m.data()), m.size(), sk->data());
  sodium_memzero(sk->data(), sk->size());
  return base64(sig.data(), sig.size());
}

status verify_library(const std::filesystem::path& file, const std::string& signature,
                      const std::vector<std::string>& public_keys) {
  auto digest = file_sha256(file);
  if (!digest) return digest.error();
  return verify_digest(*digest, signature, public_keys);
}

status verify_digest(const std::string& sha256, const std::string& signature,
                     const std::vector<std::string>& public_keys) {
  if (sodium_init() < 0) return status(errc::internal, "libsodium could not start");
  auto sig = unbase64(signature, crypto_sign_BYTES);
  if (!sig) return status(errc::config, "its signature is not a base64 Ed25519 signature");
  const std::string m = message_for(sha256);
  for (const auto& k : public_keys) {
    auto pk = unbase64(k, crypto_sign_PUBLICKEYBYTES);
    if (pk &&
        crypto_sign_verify_detached(sig->data(), reinterpret_cast<const uint8_t*>(m.data()), m.size(), pk->data()) == 0)
      return {};
  }
  return status(errc::config, "its signature is not by a trusted key (plugins.trust.public_keys)");
}

}  // namespace mosaic::plugin

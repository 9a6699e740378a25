// Which plugin libraries a broker agrees to load (`plugins.trust`): only
// from named folders, never from a folder or file that others than its
// owner may write, only libraries whose SHA-256 is on a pin list, only
// libraries signed with a trusted Ed25519 key (`mosaic plugin sign`). Each
// rule applies when it is configured; built-in libraries are part of
// mosaicd and are not checked.
//
// A signature is the `.sig` file beside the library: the base64 Ed25519
// signature (libsodium's crypto_sign_detached) of the text
// "mosaic-plugin-signature-v1 " followed by the library's SHA-256 in hex.
#pragma once

#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "kernel/base/status.h"

namespace mosaic::plugin {

struct trust_policy {
  std::vector<std::filesystem::path> folders;  // libraries only from these (empty: from any folder)
  std::set<std::string> sha256;                // pinned digests, lowercase hex (empty: any digest)
  bool require_signatures = false;
  std::vector<std::string> public_keys;  // base64 Ed25519 public keys
  bool active() const noexcept { return !folders.empty() || !sha256.empty() || require_signatures; }
};

// The SHA-256 of a file, lowercase hex.
result<std::string> file_sha256(const std::filesystem::path& file);

// Whether `policy` lets `file` be loaded; the refusal names the rule.
// `sha256`: the file's digest as the caller read it ("" if it could not).
status check_trust(const std::filesystem::path& file, const std::string& sha256, const trust_policy& policy);
// The same, reading the digest.
status check_trust(const std::filesystem::path& file, const trust_policy& policy);

// Checks a policy as read from the config (keys that decode to Ed25519
// keys, digests that are SHA-256 in hex, signatures required only with
// keys).
status validate_trust(const trust_policy& policy);

// Signing, for the operator's CLI.
struct signing_key {
  std::string public_key;  // base64, for plugins.trust.public_keys
  std::string secret_key;  // base64, kept by whoever signs
};
signing_key make_signing_key();
// The signature of `file` (base64), for its `.sig`.
result<std::string> sign_library(const std::filesystem::path& file, const std::string& secret_key);
// Whether `signature` (base64) is `file`'s by one of `public_keys`.
status verify_library(const std::filesystem::path& file, const std::string& signature,
                      const std::vector<std::string>& public_keys);
// The same, for a file whose SHA-256 (hex) is `sha256`.
status verify_digest(const std::string& sha256, const std::string& signature,
                     const std::vector<std::string>& public_keys);

}  // namespace mosaic::plugin

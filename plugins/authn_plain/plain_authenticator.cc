// SASL PLAIN (RFC 4616) against a users file, the cluster's SCRAM
// credentials, or both. The users file has one user per line,
//
//   alice:$argon2id$v=19$m=65536,t=2,p=1$...
//
// the password stored as an argon2id hash string (libsodium's
// crypto_pwhash_str; `mosaic user hash-password` prints one). Blank lines
// and lines starting with '#' are skipped. The file is read at start and
// again when its size or modification time changes (checked when an
// authentication begins); a changed file that does not parse keeps the
// users read before, and says why in the log.
//
// A user not in the file (or every user, without a file) is checked
// against the SCRAM credentials in the metadata log (`mosaic user
// set-password`): the password is salted with the stored salt and
// iterations and its StoredKey compared, SHA-512's first if both exist.
//
// PLAIN sends the password in the clear: use it on TLS listeners, or on
// loopback. A user that does not exist costs the same hash as a wrong
// password (a hash made at start stands in), so timing does not tell which
// names exist; the client is told only "invalid username or password".
#include <sodium.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "mosaic/sdk/authenticator.h"
#include "mosaic/sdk/scram.h"

namespace {

namespace sdk = mosaic::sdk;

constexpr size_t max_field = 255;  // RFC 4616: authcid and passwd are at most 255 octets

struct file_stamp {
  off_t size = -1;
  struct timespec mtime {};
  bool operator==(const file_stamp& o) const {
    return size == o.size && mtime.tv_sec == o.mtime.tv_sec && mtime.tv_nsec == o.mtime.tv_nsec;
  }
};

using user_map = std::map<std::string, std::string, std::less<>>;  // name -> argon2id hash string

// Reads the users file; throws sdk::error with the line that is wrong.
user_map read_users(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw sdk::error(MOSAIC_ERR_CONFIG, "users.file '" + path + "' cannot be read: " + std::strerror(errno));
  user_map users;
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    const std::string where = path + ":" + std::to_string(n) + ": ";
    const auto colon = line.find(':');
    if (colon == std::string::npos || colon == 0)
      throw sdk::error(MOSAIC_ERR_CONFIG, where + "expected user:argon2id-hash");
    std::string name = line.substr(0, colon);
    std::string hash = line.substr(colon + 1);
    if (name.size() > max_field) throw sdk::error(MOSAIC_ERR_CONFIG, where + "a user name is at most 255 bytes");
    if (hash.rfind("$argon2id$", 0) != 0 || hash.size() >= crypto_pwhash_STRBYTES)
      throw sdk::error(MOSAIC_ERR_CONFIG,
                       where + "the password must be an argon2id hash string (see `mosaic user hash-password`)");
    if (!users.emplace(std::move(name), std::move(hash)).second)
      throw sdk::error(MOSAIC_ERR_CONFIG, where + "user '" + line.substr(0, colon) + "' is listed twice");
  }
  return users;
}

class plain_authenticator;

class plain_exchange final : public sdk::auth_exchange {
 public:
  plain_exchange(const plain_authenticator* owner, sdk::auth_credentials credentials)
      : owner_(owner), credentials_(credentials) {}
  sdk::auth_step step(std::span<const uint8_t> message) override;

 private:
  const plain_authenticator* owner_;
  sdk::auth_credentials credentials_;
};

class plain_authenticator : public sdk::authenticator<plain_authenticator> {
 public:
  static constexpr const char* name = "mosaic.authn.plain";
  static constexpr const char* description =
      "SASL PLAIN: users and argon2id password hashes from a file, or the cluster's SCRAM credentials";
  static constexpr sdk::field config_fields[] = {
      sdk::string_field("users.file", nullptr,
                        "the users file: one 'name:argon2id-hash' per line; re-read when it changes (a relative path "
                        "is taken from the directory mosaicd starts in); without it, users are the cluster's SCRAM "
                        "credentials"),
      sdk::bool_field("users.scram", "true",
                      "check users the file does not list against the cluster's SCRAM credentials")};

  plain_authenticator(const sdk::config& cfg, sdk::host host)
      : host_(host), path_(cfg.get_string("users.file")), scram_(cfg.get_bool("users.scram", true)) {
    if (sodium_init() < 0) throw sdk::error(MOSAIC_ERR_INTERNAL, "libsodium could not start");
    if (path_.empty() && !scram_)
      throw sdk::error(MOSAIC_ERR_CONFIG, "without users.file, users.scram must be true: there would be no users");
    users_ = std::make_shared<const user_map>(path_.empty() ? user_map{} : read_users(path_));
    stamp_ = path_.empty() ? file_stamp{} : stamp_of(path_);
    // The stand-in hash for unknown users: the parameters of the file's
    // first hash if there is one, else libsodium's interactive ones.
    char decoy[crypto_pwhash_STRBYTES];
    randombytes_buf(decoy_password_, sizeof(decoy_password_));
    if (crypto_pwhash_str(decoy, reinterpret_cast<const char*>(decoy_password_), sizeof(decoy_password_),
                          crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
      throw sdk::error(MOSAIC_ERR_NO_MEMORY, "making the stand-in password hash ran out of memory");
    decoy_ = decoy;
    if (!path_.empty()) host_.info("users.file " + path_ + ": " + std::to_string(users_->size()) + " user(s)");
  }

  const std::vector<std::string>& mechanisms() const { return mechanisms_; }

  std::unique_ptr<sdk::auth_exchange> begin(const sdk::auth_peer& peer) {
    if (!path_.empty()) refresh();
    return std::make_unique<plain_exchange>(this, scram_ ? peer.credentials : sdk::auth_credentials());
  }

  // Checks a password: the file's hash, else a SCRAM credential, else the
  // stand-in hash (the same work as a wrong password for a listed user).
  bool verify(std::string_view user, std::string_view password, const sdk::auth_credentials& credentials) const {
    std::shared_ptr<const user_map> users;
    {
      std::lock_guard lock(mu_);
      users = users_;
    }
    auto it = users->find(user);
    if (it == users->end()) {
      for (auto [mechanism, h] : {std::pair{"SCRAM-SHA-512", sdk::scram::hash::sha512},
                                  std::pair{"SCRAM-SHA-256", sdk::scram::hash::sha256}}) {
        auto c = credentials.scram(user, mechanism);
        if (!c || c->stored_key.size() != sdk::scram::size_of(h) || c->iterations < 1) continue;
        auto salted = sdk::scram::salted_password(h, password, c->salt, c->iterations);
        const auto stored = sdk::scram::stored_key(h, salted);
        sodium_memzero(salted.data(), salted.size());
        return sodium_memcmp(stored.data(), c->stored_key.data(), stored.size()) == 0;
      }
    }
    const std::string& hash = it != users->end() ? it->second : decoy_;
    const bool ok = crypto_pwhash_str_verify(hash.c_str(), password.data(), password.size()) == 0;
    return ok && it != users->end();
  }

 private:
  static file_stamp stamp_of(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return {};
    return {st.st_size, st.st_mtim};
  }

  // Re-reads the file when it changed.
  void refresh() {
    const file_stamp now = stamp_of(path_);
    {
      std::lock_guard lock(mu_);
      if (now == stamp_) return;
      stamp_ = now;  // one reading per change, even when it fails
    }
    try {
      auto fresh = std::make_shared<const user_map>(read_users(path_));
      host_.info("users.file " + path_ + " changed: " + std::to_string(fresh->size()) + " user(s)");
      std::lock_guard lock(mu_);
      users_ = std::move(fresh);
    } catch (const std::exception& e) {
      host_.warn(std::string(e.what()) + " (the users read before stay)");
    }
  }

  sdk::host host_;
  std::string path_;
  bool scram_;
  std::vector<std::string> mechanisms_{"PLAIN"};
  mutable std::mutex mu_;
  std::shared_ptr<const user_map> users_;
  file_stamp stamp_;
  uint8_t decoy_password_[32];
  std::string decoy_;
};

sdk::auth_step plain_exchange::step(std::span<const uint8_t> message) {
  // authzid NUL authcid NUL passwd
  const std::string_view m(reinterpret_cast<const char*>(message.data()), message.size());
  const auto first = m.find('\0');
  const auto second = first == std::string_view::npos ? first : m.find('\0', first + 1);
  if (second == std::string_view::npos || m.find('\0', second + 1) != std::string_view::npos)
    return sdk::auth_step::failure("a PLAIN message is authzid, NUL, username, NUL, password");
  const std::string_view authzid = m.substr(0, first);
  const std::string_view user = m.substr(first + 1, second - first - 1);
  const std::string_view password = m.substr(second + 1);
  if (user.empty() || password.empty()) return sdk::auth_step::failure("the username and the password must be given");
  if (user.size() > max_field || password.size() > max_field || authzid.size() > max_field)
    return sdk::auth_step::failure("a PLAIN username or password is at most 255 bytes");
  if (!authzid.empty() && authzid != user)
    return sdk::auth_step::failure("the authorization id must be empty or the username");
  if (!owner_->verify(user, password, credentials_)) return sdk::auth_step::failure("invalid username or password");
  return sdk::auth_step::success(std::string(user));
}

}  // namespace

MOSAIC_PLUGIN("mosaic-authn-plain", "0.1.0", plain_authenticator)

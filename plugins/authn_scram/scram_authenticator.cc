// SASL SCRAM-SHA-256 and SCRAM-SHA-512 (RFC 5802, RFC 7677), the server's
// side, against the credentials the broker keeps in its metadata log
// (salt, iterations, StoredKey, ServerKey; set with Kafka's
// AlterUserScramCredentials or `mosaic user set-password`).
//
//   client-first  n,[a=authzid],n=user,r=cnonce[,ext]
//   server-first  r=cnonce+snonce,s=salt,i=iterations
//   client-final  c=base64(gs2 header),r=cnonce+snonce,p=proof
//   server-final  v=ServerSignature
//
// The proof is checked as the RFC says: ClientKey = proof XOR
// HMAC(StoredKey, AuthMessage), then H(ClientKey) against StoredKey, in
// constant time. A user without a credential gets a made-up salt (the same
// one each time) and the usual iteration count, and fails at the proof, so
// the exchange does not tell which names exist. Channel binding (-PLUS) and
// delegation tokens (tokenauth) are refused; other extensions are ignored.
#include <sodium.h>

#include <algorithm>
#include <array>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mosaic/sdk/authenticator.h"
#include "mosaic/sdk/scram.h"

namespace {

namespace sdk = mosaic::sdk;
namespace scram = mosaic::sdk::scram;

constexpr int32_t decoy_iterations = 4096;
constexpr size_t max_message = 4096;  // SCRAM messages are short; anything longer is refused

using scram::base64;
using scram::unbase64;

// A saslname ("=2C" is ',', "=3D" is '='; no other '=').
std::optional<std::string> unescape(std::string_view name) {
  std::string out;
  for (size_t i = 0; i < name.size(); ++i) {
    if (name[i] != '=') {
      out.push_back(name[i]);
      continue;
    }
    const auto code = name.substr(i + 1, 2);
    if (code == "2C")
      out.push_back(',');
    else if (code == "3D")
      out.push_back('=');
    else
      return std::nullopt;
    i += 2;
  }
  return out;
}

// "k=v" attributes split at ','.
std::vector<std::string_view> split(std::string_view s) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (;;) {
    const auto comma = s.find(',', start);
    out.push_back(s.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start));
    if (comma == std::string_view::npos) return out;
    start = comma + 1;
  }
}

std::string_view value_of(std::string_view attr, char key) {
  return attr.size() >= 2 && attr[0] == key && attr[1] == '=' ? attr.substr(2) : std::string_view();
}

class scram_authenticator;

class scram_exchange final : public sdk::auth_exchange {
 public:
  scram_exchange(const scram_authenticator* owner, scram::hash h, std::string mechanism, sdk::auth_credentials creds)
      : owner_(owner), hash_(h), mechanism_(std::move(mechanism)), credentials_(creds) {}

  sdk::auth_step step(std::span<const uint8_t> message) override {
    const std::string_view m(reinterpret_cast<const char*>(message.data()), message.size());
    if (m.size() > max_message) return sdk::auth_step::failure("a SCRAM message is at most 4096 bytes");
    if (m.find('\0') != std::string_view::npos) return sdk::auth_step::failure("a SCRAM message holds no NUL");
    return first_done_ ? client_final(m) : client_first(m);
  }

 private:
  sdk::auth_step client_first(std::string_view m);
  sdk::auth_step client_final(std::string_view m);

  const scram_authenticator* owner_;
  scram::hash hash_;
  std::string mechanism_;
  sdk::auth_credentials credentials_;
  bool first_done_ = false;
  std::string user_, gs2_header_, client_first_bare_, server_first_, nonce_;
  sdk::scram_credential credential_;
  bool known_ = false;
};

class scram_authenticator : public sdk::authenticator<scram_authenticator> {
 public:
  static constexpr const char* name = "mosaic.authn.scram";
  static constexpr const char* description =
      "SASL SCRAM-SHA-256 and SCRAM-SHA-512 against the credentials in the metadata log";
  static constexpr sdk::field config_fields[] = {sdk::list_field(
      "mechanisms", "SCRAM-SHA-256,SCRAM-SHA-512", "the SCRAM mechanisms served (SCRAM-SHA-256, SCRAM-SHA-512)")};

  scram_authenticator(const sdk::config& cfg, sdk::host) {
    if (sodium_init() < 0) throw sdk::error(MOSAIC_ERR_INTERNAL, "libsodium could not start");
    for (const auto& m : cfg.get_list("mechanisms")) {
      if (m != "SCRAM-SHA-256" && m != "SCRAM-SHA-512")
        throw sdk::error(MOSAIC_ERR_CONFIG, "mechanisms: '" + m + "' is not SCRAM-SHA-256 or SCRAM-SHA-512");
      if (std::find(mechanisms_.begin(), mechanisms_.end(), m) == mechanisms_.end()) mechanisms_.push_back(m);
    }
    if (mechanisms_.empty()) throw sdk::error(MOSAIC_ERR_CONFIG, "mechanisms: name at least one");
    randombytes_buf(decoy_key_.data(), decoy_key_.size());
  }

  const std::vector<std::string>& mechanisms() const { return mechanisms_; }

  std::unique_ptr<sdk::auth_exchange> begin(const sdk::auth_peer& peer) const {
    const scram::hash h = peer.mechanism == "SCRAM-SHA-512" ? scram::hash::sha512 : scram::hash::sha256;
    return std::make_unique<scram_exchange>(this, h, std::string(peer.mechanism), peer.credentials);
  }

  // The salt an unknown user is given: the same for a name every time.
  std::vector<uint8_t> decoy_salt(std::string_view user) const {
    auto mac = scram::hmac(scram::hash::sha256, decoy_key_, user);
    mac.resize(16);
    return mac;
  }

 private:
  std::vector<std::string> mechanisms_;
  std::array<uint8_t, 32> decoy_key_{};
};

sdk::auth_step scram_exchange::client_first(std::string_view m) {
  first_done_ = true;
  // gs2-header: cbind flag, authzid, then the bare message.
  const auto first_comma = m.find(',');
  const auto second_comma = first_comma == std::string_view::npos ? first_comma : m.find(',', first_comma + 1);
  if (second_comma == std::string_view::npos) return sdk::auth_step::failure("a malformed SCRAM client-first message");
  const auto flag = m.substr(0, first_comma);
  if (flag.rfind("p=", 0) == 0) return sdk::auth_step::failure("channel binding is not supported");
  if (flag != "n" && flag != "y") return sdk::auth_step::failure("a malformed SCRAM client-first message");
  const auto authzid = m.substr(first_comma + 1, second_comma - first_comma - 1);
  if (!authzid.empty() && authzid.rfind("a=", 0) != 0)
    return sdk::auth_step::failure("a malformed SCRAM client-first message");
  gs2_header_ = std::string(m.substr(0, second_comma + 1));
  client_first_bare_ = std::string(m.substr(second_comma + 1));
  const auto attrs = split(client_first_bare_);
  if (attrs.size() < 2 || value_of(attrs[0], 'n').empty() || value_of(attrs[1], 'r').empty())
    return sdk::auth_step::failure("a SCRAM client-first message needs n=user,r=nonce");
  for (size_t i = 2; i < attrs.size(); ++i) {
    if (attrs[i].rfind("m=", 0) == 0) return sdk::auth_step::failure("mandatory SCRAM extensions are not supported");
    if (attrs[i] == "tokenauth=true") return sdk::auth_step::failure("delegation tokens are not supported");
  }
  auto user = unescape(value_of(attrs[0], 'n'));
  if (!user || user->empty()) return sdk::auth_step::failure("a malformed SCRAM user name");
  user_ = std::move(*user);
  if (!authzid.empty()) {
    auto az = unescape(authzid.substr(2));
    if (!az || *az != user_) return sdk::auth_step::failure("the authorization id must be the user name");
  }
  const auto client_nonce = value_of(attrs[1], 'r');
  if (client_nonce.find_first_of(" \t") != std::string_view::npos)
    return sdk::auth_step::failure("a malformed SCRAM nonce");
  std::array<uint8_t, 24> random{};
  randombytes_buf(random.data(), random.size());
  nonce_ = std::string(client_nonce) + base64(random);
  if (auto c = credentials_.scram(user_, mechanism_.c_str()); c && c->iterations > 0 && !c->salt.empty()) {
    credential_ = std::move(*c);
    known_ = true;
  } else {
    credential_.salt = owner_->decoy_salt(user_);
    credential_.iterations = decoy_iterations;
  }
  server_first_ = "r=" + nonce_ + ",s=" + base64(credential_.salt) + ",i=" + std::to_string(credential_.iterations);
  return sdk::auth_step::challenge(server_first_);
}

sdk::auth_step scram_exchange::client_final(std::string_view m) {
  const auto proof_at = m.rfind(",p=");
  if (proof_at == std::string_view::npos) return sdk::auth_step::failure("a SCRAM client-final message needs p=proof");
  const auto without_proof = m.substr(0, proof_at);
  const auto attrs = split(without_proof);
  if (attrs.size() < 2) return sdk::auth_step::failure("a malformed SCRAM client-final message");
  auto binding = unbase64(value_of(attrs[0], 'c'));
  if (!binding || std::string_view(reinterpret_cast<const char*>(binding->data()), binding->size()) != gs2_header_)
    return sdk::auth_step::failure("the SCRAM channel binding does not match the client-first message");
  // The RFC wants the server's nonce back as it was; Kafka's broker takes
  // any nonce that ends with it, and librdkafka (2.0 at least) sends its
  // own nonce again in front of it. The proof covers what was sent either
  // way.
  if (!value_of(attrs[1], 'r').ends_with(nonce_)) return sdk::auth_step::failure("the SCRAM nonce does not match");
  auto proof = unbase64(m.substr(proof_at + 3));
  if (!proof || proof->size() != scram::size_of(hash_)) return sdk::auth_step::failure("a malformed SCRAM proof");
  const std::string auth_message = client_first_bare_ + "," + server_first_ + "," + std::string(without_proof);
  bool ok = known_ && credential_.stored_key.size() == scram::size_of(hash_);
  if (ok) {
    const auto signature = scram::hmac(hash_, credential_.stored_key, auth_message);
    std::vector<uint8_t> client_key(proof->size());
    for (size_t i = 0; i < client_key.size(); ++i) client_key[i] = (*proof)[i] ^ signature[i];
    const auto stored = scram::digest(hash_, client_key);
    ok = sodium_memcmp(stored.data(), credential_.stored_key.data(), stored.size()) == 0;
    sodium_memzero(client_key.data(), client_key.size());
  }
  if (!ok)
    return sdk::auth_step::failure(
        "Authentication failed during authentication due to invalid credentials with SASL "
        "mechanism " +
        mechanism_);
  const auto server_signature = scram::hmac(hash_, credential_.server_key, auth_message);
  return sdk::auth_step::success(user_, "v=" + base64(server_signature));
}

}  // namespace

MOSAIC_PLUGIN("mosaic-authn-scram", "0.1.0", scram_authenticator)

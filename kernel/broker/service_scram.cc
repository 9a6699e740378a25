// SCRAM credentials in the metadata log (Kafka's AlterUserScramCredentials
// and DescribeUserScramCredentials): the broker turns the salted password a
// client derived into RFC 5802's stored key and server key and writes
// those, with the salt and the iterations, as one record; every node's
// SCRAM authenticator reads them from its image.
#include <sodium.h>

#include "kernel/broker/service.h"
#include "mosaic/sdk/scram.h"

namespace mosaic::broker {

using adapter::error;
using adapter::outcome;

namespace {

// Kafka's bounds on a credential's iterations.
constexpr int32_t min_iterations = 4096;
constexpr int32_t max_iterations = 16384;

}  // namespace

std::vector<adapter::broker::scram_user> service::scram_users() const {
  return store_->read([](const metadata::image& i) {
    std::vector<scram_user> out;
    for (const auto& [name, by_mechanism] : i.scram_credentials()) {
      auto& u = out.emplace_back();
      u.name = name;
      for (const auto& [m, c] : by_mechanism) u.mechanisms.emplace_back(m, c.iterations);
    }
    return out;
  });
}

outcome service::upsert_scram_credential(const std::string& user, int8_t mechanism, int32_t iterations,
                                         std::span<const uint8_t> salt, std::span<const uint8_t> salted_password) {
  const auto h = sdk::scram::hash_of(mechanism);
  if (!h) return outcome::fail(error::unsupported_sasl_mechanism, "Unknown SCRAM mechanism");
  if (user.empty()) return outcome::fail(error::unacceptable_credential, "Username must not be empty");
  if (iterations < min_iterations) return outcome::fail(error::unacceptable_credential, "Too few iterations");
  if (iterations > max_iterations) return outcome::fail(error::unacceptable_credential, "Too many iterations");
  if (salt.empty()) return outcome::fail(error::unacceptable_credential, "Salt must not be empty");
  if (salted_password.size() != sdk::scram::size_of(*h))
    return outcome::fail(error::unacceptable_credential,
                         "The salted password must be " + std::to_string(sdk::scram::size_of(*h)) + " bytes");
  if (sodium_init() < 0) return outcome::fail(error::unknown_server_error, "libsodium could not start");
  metadata::scram_credential_record r;
  r.name = user;
  r.mechanism = mechanism;
  r.salt.assign(salt.begin(), salt.end());
  r.stored_key = sdk::scram::stored_key(*h, salted_password);
  r.server_key = sdk::scram::server_key(*h, salted_password);
  r.iterations = iterations;
  std::lock_guard admin(admin_mu_);
  if (auto s = store_->propose({metadata::record(std::move(r))}); !s)
    return refused(s.error(), error::unknown_server_error, "The credential could not be stored");
  return {};
}

outcome service::delete_scram_credential(const std::string& user, int8_t mechanism) {
  if (!sdk::scram::hash_of(mechanism))
    return outcome::fail(error::unsupported_sasl_mechanism, "Unknown SCRAM mechanism");
  std::lock_guard admin(admin_mu_);
  const bool exists = store_->read([&](const metadata::image& i) {
    auto u = i.scram_credentials().find(user);
    return u != i.scram_credentials().end() && u->second.count(mechanism) > 0;
  });
  if (!exists)
    return outcome::fail(error::resource_not_found, "Attempt to delete a user credential that does not exist");
  if (auto s = store_->propose({metadata::remove_scram_credential_record{user, mechanism}}); !s)
    return refused(s.error(), error::resource_not_found, "The credential could not be deleted");
  return {};
}

}  // namespace mosaic::broker

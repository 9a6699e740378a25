// The SASL mechanisms this broker serves: every authenticator plugin
// instance, one hot-swappable slot per mechanism name. A listener sees the
// mechanisms it enables (`for_listener`); an exchange keeps the generation
// that began it, so a swap (a SIGHUP with a changed config block) applies to
// authentications begun after it and never cuts one under way.
//
// Threading: `install` on the control thread; everything else from any
// thread. Exchanges are stepped off the network threads (the Kafka adapter
// has a worker for them): a password hash takes milliseconds.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kernel/base/status.h"
#include "kernel/plugin/slot.h"
#include "mosaic/abi/authenticator.h"
#include "mosaic/adapter/security.h"

namespace mosaic::security {

// A SCRAM credential as the metadata keeps it.
struct scram_secret {
  std::vector<uint8_t> salt, stored_key, server_key;
  int32_t iterations = 0;
};
// Looks a user's credential up (mechanism 1 SCRAM-SHA-256, 2 SCRAM-SHA-512).
using scram_lookup = std::function<std::optional<scram_secret>(const std::string& user, int8_t mechanism)>;

class authenticators {
 public:
  using slot = plugin::slot<mosaic_authenticator_vtable_v1>;

  authenticators();
  authenticators(const authenticators&) = delete;
  authenticators& operator=(const authenticators&) = delete;

  // Where exchanges find SCRAM credentials (the metadata image, once it is
  // up); until it is set, none are found.
  void set_credentials(scram_lookup lookup);

  // Publishes an authenticator instance for each mechanism it serves (a
  // swap for those already served). Refuses an instance that serves none,
  // or a mechanism another plugin already serves. Returns the generation
  // number of its first mechanism.
  result<uint64_t> install(const std::shared_ptr<plugin::instance>& inst);

  // Every mechanism served, sorted.
  std::vector<std::string> mechanisms() const;
  // The plugin id serving `mechanism` ("" for none).
  std::string provider(const std::string& mechanism) const;
  // Each authenticator plugin's current generation, once per plugin (its
  // first mechanism's slot), as slot "authenticator.<plugin id>".
  void visit(const plugin::meter_visitor& fn) const;

  std::unique_ptr<adapter::sasl_exchange> begin(const std::string& mechanism, const adapter::peer& p,
                                                const std::string& reauthenticating) const;

  // The view a listener offers: `enabled`, in its order, of those served
  // when an authentication begins (an empty list enables every one).
  std::shared_ptr<const adapter::sasl_mechanisms> for_listener(std::vector<std::string> enabled) const;

 private:
  const slot* find(const std::string& mechanism) const;
  static mosaic_status_t scram_fn(void* ctx, const char* user, size_t user_len, const char* mechanism,
                                  mosaic_scram_credential_v1* out);

  mosaic_auth_credentials_v1 credentials_{};
  mutable std::mutex lookup_mu_;
  scram_lookup lookup_;

  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<slot>> slots_;  // slots are never removed
};

}  // namespace mosaic::security

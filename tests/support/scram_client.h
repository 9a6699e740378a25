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
    const auto parsed = sdk::scram::parse_server_first(server);
    if (!parsed) return {};
    // Salting is the client's slow part; the same salt and count give the
    // same result, so it is done once (benchmarks time the server).
    std::vector<uint8_t> salted;
    {
      std::lock_guard lock(mu_);
      if (parsed->salt != salt_ || parsed->iterations != iterations_) {
        salted_ = sdk::scram::salted_password(h_, password_, parsed->salt, parsed->iterations);
        salt_ = parsed->salt;
        iterations_ = parsed->iterations;
      }
      salted = salted_;
    }
    return sdk::scram::finish(h_, salted, bare(), server, parsed->nonce).message;
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

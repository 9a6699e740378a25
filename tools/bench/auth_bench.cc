// What an authentication costs the broker, per mechanism, through the
// plugins' C ABI as the broker calls them (the SDK's fake host): PLAIN
// against an argon2id users file, PLAIN against a SCRAM credential (the
// password salted with the stored iterations), and a whole SCRAM-SHA-256 /
// SCRAM-SHA-512 exchange (the client's key derivation done once, outside
// the loop, as a client that keeps its salted password does).
#include <benchmark/benchmark.h>
#include <sodium.h>

#include <memory>
#include <string>

#include "mosaic/testing/auth_client.h"
#include "mosaic/testing/fake_host.h"
#include "tests/support/scram_client.h"

namespace {

namespace scram = mosaic::sdk::scram;
using mosaic::testing::auth_client;

const std::string plugins = MOSAIC_PLUGIN_DIR;
const std::string users = std::string(MOSAIC_SOURCE_DIR) + "/tests/fixtures/authn/users.txt";

std::string plain(const std::string& user, const std::string& password) {
  return std::string(1, '\0') + user + std::string(1, '\0') + password;
}

mosaic::sdk::scram_credential credential(scram::hash h, int32_t iterations) {
  std::vector<uint8_t> salt(16, 3);
  const auto salted = scram::salted_password(h, "alice-secret", salt, iterations);
  return {salt, scram::stored_key(h, salted), scram::server_key(h, salted), iterations};
}

struct rig {
  explicit rig(const std::string& lib, const std::string& factory,
               const std::map<std::string, std::string>& config = {})
      : library(plugins + "/" + lib), instance(host.create(library.factory(factory), config)) {}
  const mosaic_authenticator_vtable_v1& vt() const { return instance->vtable<mosaic_authenticator_vtable_v1>(); }
  mosaic::testing::fake_host host;
  mosaic::testing::plugin_library library;
  std::unique_ptr<mosaic::testing::fake_instance> instance;
  mosaic::testing::scram_store store;
  mosaic::testing::fake_credentials credentials{&store};
};

void plain_argon2id_file(benchmark::State& state) {
  rig r("libmosaic_authn_plain.so", "mosaic.authn.plain", {{"users.file", users}});
  for (auto _ : state) {
    auth_client c(r.vt(), r.instance->handle(), "PLAIN", r.credentials.abi());
    if (c.step(plain("alice", "alice-secret")).state != MOSAIC_AUTH_SUCCESS) state.SkipWithError("refused");
  }
}
BENCHMARK(plain_argon2id_file)->Unit(benchmark::kMillisecond);

void plain_over_scram_8192(benchmark::State& state) {
  rig r("libmosaic_authn_plain.so", "mosaic.authn.plain");
  r.store[{"alice", "SCRAM-SHA-512"}] = credential(scram::hash::sha512, 8192);
  for (auto _ : state) {
    auth_client c(r.vt(), r.instance->handle(), "PLAIN", r.credentials.abi());
    if (c.step(plain("alice", "alice-secret")).state != MOSAIC_AUTH_SUCCESS) state.SkipWithError("refused");
  }
}
BENCHMARK(plain_over_scram_8192)->Unit(benchmark::kMillisecond);

void scram_exchange(benchmark::State& state, scram::hash h, const char* mechanism) {
  rig r("libmosaic_authn_scram.so", "mosaic.authn.scram");
  r.store[{"alice", mechanism}] = credential(h, 8192);
  const mosaic::testing::scram_client client(h, "alice", "alice-secret");
  // The client salts its password once (scram_client keeps it), so what
  // is timed is the broker's two steps and the client's proof (two HMACs
  // and a hash, about what the broker does).
  for (auto _ : state) {
    auth_client c(r.vt(), r.instance->handle(), mechanism, r.credentials.abi());
    auto first = c.step(client.first());
    if (c.step(client.final_for(first.response)).state != MOSAIC_AUTH_SUCCESS) state.SkipWithError("refused");
  }
}
BENCHMARK_CAPTURE(scram_exchange, sha256, scram::hash::sha256, "SCRAM-SHA-256")->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(scram_exchange, sha512, scram::hash::sha512, "SCRAM-SHA-512")->Unit(benchmark::kMicrosecond);

}  // namespace

int main(int argc, char** argv) {
  if (sodium_init() < 0) return 1;
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  return 0;
}

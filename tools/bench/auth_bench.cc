// What an authentication costs the broker, per mechanism, through the
// plugins' C ABI as the broker calls them (the SDK's fake host): PLAIN
// against an argon2id users file, PLAIN against a SCRAM credential (the
// password salted with the stored iterations), and a whole SCRAM-SHA-256 /
// SCRAM-SHA-512 exchange (the client's key derivation done once, outside
// the loop, as a client that keeps its salted password does). And what an
// authorization check costs, per resource of a request: the built-in ACL
// authorizer, and the authorizer slot with mosaic.authz.rules (a rule that
// matches, and no rule, so the ACLs decide through the host).
#include <benchmark/benchmark.h>
#include <sodium.h>

#include <memory>
#include <string>

#include "kernel/plugin/host.h"
#include "kernel/security/acls.h"
#include "kernel/security/authorizer_slot.h"
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

// 1,000 topics, an ALLOW of READ for alice on each, and 100 prefixed ones.
std::shared_ptr<mosaic::security::acl_authorizer> thousand_acls() {
  using namespace mosaic::adapter;
  std::vector<mosaic::security::acl_binding> bindings;
  bindings.reserve(1100);
  for (int i = 0; i < 1000; ++i)
    bindings.push_back({acl_resource::topic, "t-" + std::to_string(i), acl_pattern::literal, "User:alice", "*",
                        acl_operation::read, acl_permission::allow});
  for (int i = 0; i < 100; ++i)
    bindings.push_back({acl_resource::topic, "p" + std::to_string(i) + "-", acl_pattern::prefixed, "User:bob", "*",
                        acl_operation::write, acl_permission::allow});
  mosaic::security::acl_authorizer::source from;
  from.version = [] { return uint64_t{1}; };
  from.load = [bindings] { return bindings; };
  return std::make_shared<mosaic::security::acl_authorizer>(mosaic::security::authorizer_options{}, std::move(from));
}

const mosaic::adapter::principal alice{"User", "alice"};

void authz_acls(benchmark::State& state) {
  auto acls = thousand_acls();
  for (auto _ : state)
    benchmark::DoNotOptimize(acls->allowed(alice, "127.0.0.1", mosaic::adapter::acl_operation::read,
                                           mosaic::adapter::acl_resource::topic, "t-500"));
}
BENCHMARK(authz_acls);

// The slot with mosaic.authz.rules: ten rules, the last of which matches
// (`match`), or none (the ACLs decide).
void authz_rules_plugin(benchmark::State& state, bool match) {
  mosaic::plugin::plugin_host host({plugins}, {});
  if (!host.ensure("mosaic.authz.rules", "libmosaic_authz_rules.so").ok()) return state.SkipWithError("no plugin");
  mosaic::sdk::raw_value rules;
  rules.name = "rules";
  rules.type = mosaic::sdk::raw_value::kind::list;
  for (int i = 0; i < 9; ++i) rules.items.push_back("deny User:u" + std::to_string(i) + " Write topic:audit-*");
  rules.items.push_back(match ? "allow User:alice Read topic:t-* from 127.0.0.0/8" : "allow User:carol Read topic:*");
  auto inst = host.create("mosaic.authz.rules", std::vector{rules});
  if (!inst) return state.SkipWithError(inst.error().message().c_str());
  mosaic::security::authorizer_slot slot;
  slot.set_acls(thousand_acls());
  slot.install(*inst);
  for (auto _ : state)
    benchmark::DoNotOptimize(slot.allowed(alice, "127.0.0.1", mosaic::adapter::acl_operation::read,
                                          mosaic::adapter::acl_resource::topic, "t-500"));
  if (!slot.allowed(alice, "127.0.0.1", mosaic::adapter::acl_operation::read, mosaic::adapter::acl_resource::topic,
                    "t-500"))
    state.SkipWithError("the check was denied");
}
BENCHMARK_CAPTURE(authz_rules_plugin, tenth_rule_matches, true);
BENCHMARK_CAPTURE(authz_rules_plugin, no_rule_then_the_acls, false);

}  // namespace

int main(int argc, char** argv) {
  if (sodium_init() < 0) return 1;
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  return 0;
}

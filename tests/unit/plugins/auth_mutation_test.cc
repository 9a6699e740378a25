// The SASL decoders under a seeded mutator: good SCRAM (client-first and
// client-final) and OAUTHBEARER messages, each mutated thousands of ways
// (bits flipped, bytes inserted, deleted, duplicated and cut, separators
// and escapes sprinkled in), fed to the plugins loaded from their shared
// builds. Nothing may fault, hang or leak (the ASan build runs this too);
// every answer is a failure with a reason or, for a message the mutation
// left meaningful, a success naming the right user; no mutated SCRAM
// proof passes. Seeds are fixed, so a failure repeats.
#include <sodium.h>

#include <filesystem>
#include <fstream>
#include <random>

#include <gtest/gtest.h>

#include "mosaic/testing/auth_client.h"
#include "mosaic/testing/fake_host.h"
#include "tests/support/jwt_issuer.h"
#include "tests/support/scram_client.h"

namespace {

using mosaic::testing::auth_client;
using mosaic::testing::fake_credentials;
using mosaic::testing::fake_host;
using mosaic::testing::plugin_library;
using mosaic::testing::scram_client;
using mosaic::testing::scram_store;
namespace scram = mosaic::sdk::scram;

constexpr int rounds = 3000;

std::string mutate(std::string m, std::mt19937& rng) {
  static constexpr char raw[] = ",=.\x01\0\xff~nrpcsia";  // a NUL among them
  static const std::string specials(raw, sizeof raw - 1);
  std::uniform_int_distribution<int> op(0, 6);
  const int n = 1 + static_cast<int>(rng() % 4);
  for (int k = 0; k < n; ++k) {
    const size_t at = m.empty() ? 0 : rng() % m.size();
    switch (op(rng)) {
      case 0:
        if (!m.empty()) m[at] = static_cast<char>(m[at] ^ (1 << (rng() % 8)));
        break;
      case 1: m.insert(at, 1, specials[rng() % specials.size()]); break;
      case 2:
        if (!m.empty()) m.erase(at, 1 + rng() % 8);
        break;
      case 3: m.resize(at); break;
      case 4:
        if (!m.empty()) m.insert(at, m.substr(at, 1 + rng() % 32));
        break;
      case 5: m.insert(at, std::string(1 + rng() % 300, static_cast<char>(rng()))); break;
      default:
        if (!m.empty()) m[at] = specials[rng() % specials.size()];
    }
  }
  return m;
}

TEST(auth_mutation, scram_survives_mutated_first_and_final_messages) {
  ASSERT_GE(sodium_init(), 0);
  plugin_library lib(std::string(MOSAIC_PLUGIN_DIR) + "/libmosaic_authn_scram.so");
  fake_host host;
  auto inst = host.create(lib.factory("mosaic.authn.scram"), {});
  const auto& vt = inst->vtable<mosaic_authenticator_vtable_v1>();
  scram_store store;
  std::vector<uint8_t> salt = {9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 1, 2, 3, 4, 5, 6};
  const auto salted = scram::salted_password(scram::hash::sha256, "alice-secret", salt, 4096);
  store[{"alice", "SCRAM-SHA-256"}] = {salt, scram::stored_key(scram::hash::sha256, salted),
                                       scram::server_key(scram::hash::sha256, salted), 4096};
  fake_credentials creds(&store);
  std::mt19937 rng(20261206);
  int passed = 0;
  const scram_client client(scram::hash::sha256, "alice", "alice-secret");  // salts once
  for (int i = 0; i < rounds; ++i) {
    auth_client x(vt, inst->handle(), "SCRAM-SHA-256", creds.abi());
    ASSERT_TRUE(x.begun());
    const bool mutate_first = i % 2 == 0;
    const std::string first = mutate_first ? mutate(client.first(), rng) : client.first();
    auto o = x.step(first);
    if (o.state == MOSAIC_AUTH_FAILURE) {
      EXPECT_FALSE(o.reason.empty());
      continue;
    }
    ASSERT_EQ(o.state, MOSAIC_AUTH_CONTINUE) << i;
    const std::string final_message = client.final_for(o.response);
    if (final_message.empty()) continue;  // a server-first the client cannot use
    const std::string sent = mutate_first ? final_message : mutate(final_message, rng);
    auto f = x.step(sent);
    if (f.state == MOSAIC_AUTH_SUCCESS) {
      EXPECT_EQ(f.principal, "alice");
      // Only a final message the mutation left as it was (or with
      // ignorable changes outside the proof) may pass.
      const auto proof = sent.rfind(",p=");
      ASSERT_NE(proof, std::string::npos);
      EXPECT_EQ(sent.substr(proof), final_message.substr(final_message.rfind(",p="))) << i;
      ++passed;
    } else {
      EXPECT_EQ(f.state, MOSAIC_AUTH_FAILURE) << i;
      EXPECT_FALSE(f.reason.empty());
    }
  }
  EXPECT_LT(passed, rounds / 2);
}

TEST(auth_mutation, oauthbearer_survives_mutated_messages_and_tokens) {
  mosaic::testing::jwt_key rsa("RS256", "r"), ec("ES256", "e");
  const auto jwks = std::filesystem::temp_directory_path() / ("fuzz_jwks_" + std::to_string(::getpid()) + ".json");
  std::ofstream(jwks) << mosaic::testing::jwks({&rsa, &ec});
  plugin_library lib(std::string(MOSAIC_PLUGIN_DIR) + "/libmosaic_authn_oauthbearer.so");
  fake_host host;
  auto inst = host.create(lib.factory("mosaic.authn.oauthbearer"), {{"jwks.file", jwks.string()}});
  const auto& vt = inst->vtable<mosaic_authenticator_vtable_v1>();
  const std::string good[] = {mosaic::testing::oauthbearer_message(rsa.sign(mosaic::testing::claims_for("alice"))),
                              mosaic::testing::oauthbearer_message(ec.sign(mosaic::testing::claims_for("alice")))};
  std::mt19937 rng(7);
  for (int i = 0; i < rounds; ++i) {
    const std::string m = mutate(good[i % 2], rng);
    auth_client x(vt, inst->handle(), "OAUTHBEARER");
    auto o = x.step(m);
    if (o.state == MOSAIC_AUTH_SUCCESS) {
      // Only a change outside the token (the gs2 header's flag, say) may pass.
      EXPECT_EQ(o.principal, "alice");
      EXPECT_NE(m.find(good[i % 2].substr(good[i % 2].find("auth=Bearer ") + 12, 40)), std::string::npos);
    } else {
      EXPECT_EQ(o.state, MOSAIC_AUTH_FAILURE) << i;
      EXPECT_FALSE(o.reason.empty());
    }
  }
  std::filesystem::remove(jwks);
}

}  // namespace

// The authenticator plugins through the SDK's conformance suite, loaded
// from their shared builds as a third party would test theirs, and
// mosaic.authn.plain's own rules: its users file refused with the line at
// fault, and what a PLAIN message may hold.
#include "mosaic/testing/authenticator_conformance.h"

#include <sodium.h>

#include <filesystem>
#include <fstream>
#include <memory>

#include "tests/support/scram_client.h"

namespace {

using mosaic::testing::auth_client;
using mosaic::testing::authenticator_case;
using mosaic::testing::authenticator_conformance;
using mosaic::testing::fake_host;
using mosaic::testing::plugin_library;
using mosaic::testing::scram_client;
namespace scram = mosaic::sdk::scram;

const std::string plain_lib = std::string(MOSAIC_PLUGIN_DIR) + "/libmosaic_authn_plain.so";
const std::string users = std::string(MOSAIC_SOURCE_DIR) + "/tests/fixtures/authn/users.txt";

std::string plain(const std::string& authzid, const std::string& user, const std::string& password) {
  return authzid + std::string(1, '\0') + user + std::string(1, '\0') + password;
}

INSTANTIATE_TEST_SUITE_P(plain, authenticator_conformance,
                         ::testing::Values(authenticator_case{plain_lib,
                                                              "mosaic.authn.plain",
                                                              {{"users.file", users}},
                                                              "PLAIN",
                                                              {plain("", "alice", "alice-secret")},
                                                              "alice",
                                                              {},
                                                              {}}));

// SCRAM: alice's credentials as the broker would store them, and a client
// that answers the server's first message.
const std::string scram_lib = std::string(MOSAIC_PLUGIN_DIR) + "/libmosaic_authn_scram.so";

mosaic::sdk::scram_credential credential(scram::hash h, const std::string& password, int32_t iterations) {
  if (sodium_init() < 0) throw std::runtime_error("libsodium");
  std::vector<uint8_t> salt = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
  const auto salted = scram::salted_password(h, password, salt, iterations);
  return {salt, scram::stored_key(h, salted), scram::server_key(h, salted), iterations};
}

authenticator_case scram_case(scram::hash h, const std::string& mechanism) {
  auto client = std::make_shared<scram_client>(h, "alice", "alice-secret");
  authenticator_case c{scram_lib, "mosaic.authn.scram", {}, mechanism, {client->first(), "(computed)"}, "alice", {},
                       {}};
  c.credentials[{"alice", mechanism}] = credential(h, "alice-secret", 4096);
  c.respond = [client](size_t, const std::string& server) { return client->final_for(server); };
  return c;
}

// PLAIN against the SCRAM credentials alone (no users file).
authenticator_case plain_over_scram() {
  authenticator_case c{plain_lib, "mosaic.authn.plain", {}, "PLAIN", {plain("", "alice", "alice-secret")}, "alice", {},
                       {}};
  c.credentials[{"alice", "SCRAM-SHA-256"}] = credential(scram::hash::sha256, "alice-secret", 4096);
  return c;
}

INSTANTIATE_TEST_SUITE_P(plain_over_scram, authenticator_conformance, ::testing::Values(plain_over_scram()));

INSTANTIATE_TEST_SUITE_P(scram, authenticator_conformance,
                         ::testing::Values(scram_case(scram::hash::sha256, "SCRAM-SHA-256"),
                                           scram_case(scram::hash::sha512, "SCRAM-SHA-512")));

class plain_rules : public ::testing::Test {
 protected:
  std::unique_ptr<mosaic::testing::fake_instance> make(const std::string& users_file) {
    return host_.create(lib_.factory("mosaic.authn.plain"), {{"users.file", users_file}});
  }
  static std::string refusal(const std::string& text) {
    const auto path = std::filesystem::temp_directory_path() / ("authn_plain_" + std::to_string(::getpid()));
    std::ofstream(path) << text;
    fake_host host;
    plugin_library lib(plain_lib);
    try {
      host.create(lib.factory("mosaic.authn.plain"), {{"users.file", path.string()}});
    } catch (const std::exception& e) {
      std::filesystem::remove(path);
      return e.what();
    }
    std::filesystem::remove(path);
    return "";
  }

  fake_host host_;
  plugin_library lib_{plain_lib};
};

TEST_F(plain_rules, a_bad_users_file_is_refused_naming_the_line) {
  EXPECT_NE(refusal("# ok\nalice\n").find(":2: expected user:argon2id-hash"), std::string::npos);
  EXPECT_NE(refusal("alice:secret\n").find(":1: the password must be an argon2id hash string"), std::string::npos);
  const std::string line = "alice:$argon2id$v=19$m=65536,t=2,p=1$fWIA9O3PSM3prn1/zd5wGw$x\n";
  EXPECT_NE(refusal(line + line).find(":2: user 'alice' is listed twice"), std::string::npos);
  EXPECT_NE(refusal("").find(""), std::string::npos);  // an empty file is a file without users
  EXPECT_THROW(make("/nonexistent/users.txt"), std::runtime_error);
  // Without a file the users are the SCRAM credentials; with neither, none.
  EXPECT_NO_THROW(host_.create(lib_.factory("mosaic.authn.plain"), {}));
  EXPECT_THROW(host_.create(lib_.factory("mosaic.authn.plain"), {{"users.scram", "false"}}), std::runtime_error);
}

TEST_F(plain_rules, a_plain_message_is_authzid_user_and_password) {
  auto inst = make(users);
  const auto& vt = inst->vtable<mosaic_authenticator_vtable_v1>();
  auto run = [&](const std::string& m) {
    auth_client c(vt, inst->handle(), "PLAIN");
    return c.step(m);
  };
  EXPECT_EQ(run(plain("alice", "alice", "alice-secret")).state, MOSAIC_AUTH_SUCCESS);
  EXPECT_EQ(run(plain("", "alice", "alice-secret")).principal, "alice");
  EXPECT_EQ(run(plain("bob", "alice", "alice-secret")).reason, "the authorization id must be empty or the username");
  EXPECT_EQ(run(plain("", "alice", "wrong")).reason, "invalid username or password");
  EXPECT_EQ(run(plain("", "nobody", "alice-secret")).reason, "invalid username or password");
  EXPECT_EQ(run(plain("", "alice", std::string(256, 'x'))).reason, "a PLAIN username or password is at most 255 bytes");
  EXPECT_EQ(run(plain("", "alice", "a") + std::string(1, '\0')).state, MOSAIC_AUTH_FAILURE);
}

TEST(scram_base64, only_the_alphabet_decodes) {
  ASSERT_GE(sodium_init(), 0);
  const std::vector<uint8_t> bytes = {0xfc, 0x89, 0x4b};  // "/IlL"
  EXPECT_EQ(scram::base64(bytes), "/IlL");
  EXPECT_EQ(scram::unbase64("/IlL"), bytes);
  EXPECT_FALSE(
      scram::unbase64("\xaf"
                      "IlL"));               // the top bit set on '/'
  EXPECT_FALSE(scram::unbase64("\xc1IlL"));  // on 'A'
  EXPECT_FALSE(scram::unbase64("/Il L"));
  EXPECT_FALSE(scram::unbase64(std::string("/Il\0L", 5)));
  EXPECT_FALSE(scram::unbase64("/Il"));  // not a whole quantum
  EXPECT_EQ(scram::unbase64(""), std::vector<uint8_t>{});
}

}  // namespace

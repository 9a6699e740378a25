// SASL OAUTHBEARER on a real mosaicd (mosaic.authn.oauthbearer with a JWKS
// file) with a real client: python3-confluent-kafka (librdkafka) takes its
// token from oauth_cb, produces and consumes as the token's subject, which
// the ACLs then govern; a forged, an unsigned and an expired token are
// refused, and the broker carries on.
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "tests/integration/sasl_broker.h"
#include "tests/support/jwt_issuer.h"

namespace mosaic::testing {
namespace {

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

TEST(oauthbearer, a_librdkafka_client_with_a_signed_token_is_its_subject_and_forged_tokens_are_refused) {
  temp_dir dir("oauth");
  jwt_key idp("RS256", "idp-1");
  std::ofstream(dir.path() / "jwks.json") << jwks({&idp});
  std::ofstream(dir.path() / "broker.yaml")
      << "node.id: 1\nlog.dirs: [data]\nauthorizer: acl\nsuper.users: [User:ANONYMOUS]\n"
      << "listeners:\n"
      << "  - {name: OAUTH, host: 127.0.0.1, port: 0, adapter: kafka, security.protocol: SASL_PLAINTEXT}\n"
      << "  - {name: PLAIN_TEXT, host: 127.0.0.1, port: 0, adapter: kafka}\n"
      << "plugins:\n  load:\n    - name: mosaic.authn.oauthbearer\n"
      << "      config: {jwks.file: jwks.json, issuer: 'https://idp.test', audience: [mosaic]}\n";
  process b(MOSAICD_PATH, {"--config", "broker.yaml"}, dir.path());
  ASSERT_TRUE(b.wait_for_log("mosaicd started", 20s)) << b.err();
  const std::string oauth = "127.0.0.1:" + std::to_string(port_in(b.err(), "OAUTH"));
  const std::string plain = "127.0.0.1:" + std::to_string(port_in(b.err(), "PLAIN_TEXT"));
  ASSERT_EQ(run_command(cli + " -b " + plain + " topic create tokens").code, 0);
  ASSERT_EQ(run_command(cli + " -b " + plain +
                        " acl add --allow --principal User:alice --operation Read,Write --topic "
                        "tokens")
                .code,
            0);
  ASSERT_EQ(run_command(cli + " -b " + plain +
                        " acl add --allow --principal User:alice --operation Read --group oauth-readers")
                .code,
            0);
  const std::string check = "timeout 120 /usr/bin/python3 " + std::string(MOSAIC_SOURCE_DIR) +
                            "/tests/compat/oauthbearer_check.py " + oauth + " tokens ";

  auto ok = run_command(check + idp.sign(claims_for("alice")));
  EXPECT_EQ(ok.code, 0) << ok.out;
  EXPECT_TRUE(has(ok.out, "oauthbearer: ok")) << ok.out;

  // bob's token is good, but bob has no ACL: authenticated, not authorized.
  auto bob = run_command(check + idp.sign(claims_for("bob")));
  EXPECT_NE(bob.code, 0) << bob.out;
  EXPECT_TRUE(has(bob.out, "TOPIC_AUTHORIZATION_FAILED") || has(bob.out, "authorization")) << bob.out;

  // A token from another key, an unsigned one, an expired one.
  jwt_key forger("RS256", "idp-1");
  const auto claims = claims_for("alice");
  const std::string unsigned_token = base64url(std::string(R"({"alg":"none"})")) + "." + base64url(claims.dump()) + ".";
  for (const auto& bad : {forger.sign(claims), unsigned_token, idp.sign(claims_for("alice", -3600))}) {
    auto refused = run_command(check + "'" + bad + "' expect-refusal");
    EXPECT_EQ(refused.code, 0) << refused.out;
  }
  EXPECT_TRUE(has(b.err(), "the token's signature is wrong")) << b.err();
  EXPECT_TRUE(has(b.err(), "alg 'none' is not accepted")) << b.err();
  EXPECT_TRUE(has(b.err(), "the token has expired")) << b.err();
  EXPECT_FALSE(b.wait(0ms).has_value());
}

}  // namespace
}  // namespace mosaic::testing

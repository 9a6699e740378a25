// mosaic.authn.oauthbearer through the SDK's conformance suite (loaded from
// its shared build), and its rules: RS256 and ES256 tokens from a JWKS,
// forged and stale tokens refused (alg none, HS256 with the public key as
// secret, a wrong key, a changed payload, expired, not yet valid, another
// issuer or audience, no subject), clock skew, the session lifetime from
// exp, key rotation by rewriting the JWKS file, malformed messages.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "mosaic/testing/authenticator_conformance.h"
#include "tests/support/jwt_issuer.h"

namespace {

using mosaic::testing::auth_client;
using mosaic::testing::authenticator_case;
using mosaic::testing::authenticator_conformance;
using mosaic::testing::claims_for;
using mosaic::testing::fake_host;
using mosaic::testing::jwt_key;
using mosaic::testing::oauthbearer_message;
using mosaic::testing::plugin_library;
using nlohmann::json;

const std::string lib_path = std::string(MOSAIC_PLUGIN_DIR) + "/libmosaic_authn_oauthbearer.so";

struct provider {
  jwt_key rsa{"RS256", "rsa-1"}, ec{"ES256", "ec-1"};
  std::filesystem::path file;
  provider() {
    file = std::filesystem::temp_directory_path() /
           ("jwks_" + std::to_string(::getpid()) + "_" + std::to_string(counter()++) + ".json");
    write({&rsa, &ec});
  }
  ~provider() { std::filesystem::remove(file); }
  void write(const std::vector<const jwt_key*>& keys) const { std::ofstream(file) << mosaic::testing::jwks(keys); }
  static int& counter() {
    static int n = 0;
    return n;
  }
};

provider& shared_provider() {
  static provider p;
  return p;
}

INSTANTIATE_TEST_SUITE_P(oauthbearer, authenticator_conformance,
                         ::testing::Values(authenticator_case{
                             lib_path,
                             "mosaic.authn.oauthbearer",
                             {{"jwks.file", shared_provider().file.string()}},
                             "OAUTHBEARER",
                             {oauthbearer_message(shared_provider().ec.sign(claims_for("alice")))},
                             "alice",
                             {},
                             {}}));

class oauthbearer_rules : public ::testing::Test {
 protected:
  std::unique_ptr<mosaic::testing::fake_instance> make(std::map<std::string, std::string> cfg = {}) {
    cfg.emplace("jwks.file", idp_.file.string());
    return host_.create(lib_.factory("mosaic.authn.oauthbearer"), cfg);
  }
  static auth_client::outcome run(mosaic::testing::fake_instance& inst, const std::string& message) {
    auth_client c(inst.vtable<mosaic_authenticator_vtable_v1>(), inst.handle(), "OAUTHBEARER");
    return c.step(message);
  }
  std::string refusal(mosaic::testing::fake_instance& inst, const std::string& token) {
    auto o = run(inst, oauthbearer_message(token));
    EXPECT_EQ(o.state, MOSAIC_AUTH_FAILURE) << token;
    return o.reason;
  }

  provider idp_;
  fake_host host_;
  plugin_library lib_{lib_path};
};

TEST_F(oauthbearer_rules, rs256_and_es256_tokens_name_their_subject_for_as_long_as_they_last) {
  auto inst = make({{"issuer", "https://idp.test"}, {"audience", "[other, mosaic]"}});
  for (const jwt_key* k : {&idp_.rsa, &idp_.ec}) {
    auto o = run(*inst, oauthbearer_message(k->sign(claims_for("alice", 600))));
    EXPECT_EQ(o.state, MOSAIC_AUTH_SUCCESS) << k->alg() << " " << o.reason;
    EXPECT_EQ(o.principal, "alice");
    EXPECT_GT(o.lifetime_ms, 590000);
    EXPECT_LE(o.lifetime_ms, 600000);
  }
  // An audience list, the authzid naming the subject, the principal claim.
  auto c = claims_for("bob");
  c["aud"] = json::array({"x", "mosaic"});
  EXPECT_EQ(run(*inst, oauthbearer_message(idp_.rsa.sign(c), "bob")).principal, "bob");
  auto by_claim = make({{"principal.claim", "preferred_username"}});
  c["preferred_username"] = "robert";
  EXPECT_EQ(run(*by_claim, oauthbearer_message(idp_.rsa.sign(c))).principal, "robert");
  // Without a kid, the one key of the alg's type; with two, none.
  const auto no_kid = idp_.ec.sign(claims_for("carol"), {{"kid", nullptr}});
  EXPECT_EQ(run(*inst, oauthbearer_message(no_kid)).principal, "carol");
  jwt_key second("ES256", "ec-2");
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  idp_.write({&idp_.rsa, &idp_.ec, &second});
  EXPECT_NE(run(*inst, oauthbearer_message(no_kid)).reason.find("no key in the JWKS"), std::string::npos);
}

TEST_F(oauthbearer_rules, forged_and_stale_tokens_are_refused) {
  auto inst = make({{"issuer", "https://idp.test"}, {"audience", "[mosaic]"}, {"clock.skew.seconds", "30"}});
  const std::string good = idp_.ec.sign(claims_for("alice"));
  const auto dot = good.find('.');
  const auto dot2 = good.find('.', dot + 1);
  // alg none, with or without a signature.
  const std::string none_header = mosaic::testing::base64url(json({{"alg", "none"}}).dump());
  EXPECT_NE(refusal(*inst, none_header + good.substr(dot, dot2 - dot) + ".").find("alg 'none' is not accepted"),
            std::string::npos);
  EXPECT_NE(refusal(*inst, none_header + good.substr(dot)).find("is not accepted"), std::string::npos);
  // HS256 "signed" with the public key as its secret (the classic confusion).
  EXPECT_NE(refusal(*inst, idp_.rsa.sign(claims_for("alice"), {{"alg", "HS256"}})).find("'HS256' is not accepted"),
            std::string::npos);
  // A key the JWKS does not hold, under a kid it does.
  jwt_key stranger("ES256", "ec-1");
  EXPECT_EQ(refusal(*inst, stranger.sign(claims_for("alice"))), "the token's signature is wrong");
  EXPECT_NE(refusal(*inst, stranger.sign(claims_for("alice"), {{"kid", "nope"}})).find("no key in the JWKS"),
            std::string::npos);
  // The payload changed after signing.
  auto c = claims_for("mallory");
  const std::string swapped = good.substr(0, dot) + "." + mosaic::testing::base64url(c.dump()) + good.substr(dot2);
  EXPECT_EQ(refusal(*inst, swapped), "the token's signature is wrong");
  // An RS256 header over an ES256 signature.
  EXPECT_NE(refusal(*inst, idp_.ec.sign(claims_for("alice"), {{"alg", "RS256"}, {"kid", "rsa-1"}})), "");
  // Time: expired past the skew, within it, not yet valid.
  EXPECT_EQ(refusal(*inst, idp_.ec.sign(claims_for("alice", -60))), "the token has expired");
  EXPECT_EQ(run(*inst, oauthbearer_message(idp_.ec.sign(claims_for("alice", -10)))).state, MOSAIC_AUTH_SUCCESS);
  auto later = claims_for("alice");
  later["nbf"] = mosaic::testing::unix_now() + 600;
  EXPECT_EQ(refusal(*inst, idp_.ec.sign(later)), "the token is not valid yet");
  auto no_exp = claims_for("alice");
  no_exp.erase("exp");
  EXPECT_EQ(refusal(*inst, idp_.ec.sign(no_exp)), "the token has no exp");
  // Issuer, audience, subject.
  auto iss = claims_for("alice");
  iss["iss"] = "https://evil.test";
  EXPECT_EQ(refusal(*inst, idp_.ec.sign(iss)), "the token's issuer is not https://idp.test");
  auto aud = claims_for("alice");
  aud["aud"] = "someone-else";
  EXPECT_EQ(refusal(*inst, idp_.ec.sign(aud)), "the token is not for this audience");
  auto nosub = claims_for("");
  EXPECT_EQ(refusal(*inst, idp_.ec.sign(nosub)), "the token's sub claim is not a name");
  // The authzid must be the subject.
  EXPECT_EQ(run(*inst, oauthbearer_message(good, "root")).reason, "the authorization id is not the token's principal");
}

TEST_F(oauthbearer_rules, malformed_messages_and_tokens_are_refused) {
  auto inst = make();
  for (const std::string& m : {std::string(), std::string("n,,"),
                               std::string("y,,\x01"
                                           "auth=Bearer x\x01\x01"),
                               std::string("n,,auth=Bearer x\x01\x01"),
                               std::string("n,,\x01"
                                           "auth=Basic x\x01\x01"),
                               std::string("n,,\x01"
                                           "host=x\x01\x01"),
                               std::string(20000, 'n')}) {
    auto o = run(*inst, m);
    EXPECT_EQ(o.state, MOSAIC_AUTH_FAILURE) << m.substr(0, 40);
  }
  for (const std::string& t : {std::string("abc"), std::string("a.b"), std::string("a.b.c.d"), std::string("!!.??.**"),
                               mosaic::testing::base64url(std::string("[]")) + ".e30.c2ln"}) {
    EXPECT_FALSE(refusal(*inst, t).empty()) << t;
  }
}

TEST_F(oauthbearer_rules, a_rewritten_jwks_file_rotates_the_keys_and_a_broken_one_keeps_them) {
  auto inst = make();
  jwt_key next("ES256", "ec-2");
  EXPECT_EQ(run(*inst, oauthbearer_message(next.sign(claims_for("alice")))).state, MOSAIC_AUTH_FAILURE);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));  // a new mtime
  idp_.write({&next});
  EXPECT_EQ(run(*inst, oauthbearer_message(next.sign(claims_for("alice")))).principal, "alice");
  EXPECT_EQ(run(*inst, oauthbearer_message(idp_.ec.sign(claims_for("alice")))).state, MOSAIC_AUTH_FAILURE);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  std::ofstream(idp_.file) << "{not json";
  EXPECT_EQ(run(*inst, oauthbearer_message(next.sign(claims_for("alice")))).principal, "alice");
}

TEST_F(oauthbearer_rules, a_bad_configuration_is_refused) {
  EXPECT_THROW(host_.create(lib_.factory("mosaic.authn.oauthbearer"), {}), std::runtime_error);
  EXPECT_THROW(host_.create(lib_.factory("mosaic.authn.oauthbearer"), {{"jwks.file", "/nonexistent.json"}}),
               std::runtime_error);
  std::ofstream(idp_.file) << R"({"keys": [{"kty": "EC", "crv": "P-384", "x": "AA", "y": "AA"}]})";
  EXPECT_THROW(make(), std::runtime_error);
  std::ofstream(idp_.file) << R"({"keys": [{"kty": "oct", "k": "c2VjcmV0"}]})";
  EXPECT_THROW(make(), std::runtime_error);
}

}  // namespace

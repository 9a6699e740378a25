// SASL on a real mosaicd: a SASL_PLAINTEXT listener served by the
// mosaic.authn.plain plugin (users in a file, argon2id hashes made by
// `mosaic user hash-password`) beside a PLAINTEXT one. Real clients (kcat
// on Debian's librdkafka, the mosaic CLI) and hand-made frames: requests
// before authentication, bad handshakes, malformed and wrong credentials,
// oversized frames, SaslHandshake v0's bare tokens, re-authentication
// (KIP-368) and session expiry, a users file that changes.
#include <gtest/gtest.h>
#include <signal.h>
#include <sodium.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/process.h"
#include "tests/integration/sasl_broker.h"
#include "tests/support/kafka_call.h"
#include "tests/support/scram_client.h"
#include "tests/support/shell.h"
#include "tests/support/temp_dir.h"

namespace mosaic::testing {
namespace {

namespace msg = kafka::msg;
using namespace std::chrono_literals;

constexpr int16_t handshake_key = 17, authenticate_key = 36;
constexpr int16_t unsupported_sasl_mechanism = 33, illegal_sasl_state = 34, sasl_authentication_failed = 58;

std::vector<uint8_t> plain_token(const std::string& authzid, const std::string& user, const std::string& password) {
  std::string t = authzid + '\0' + user + '\0' + password;
  return {t.begin(), t.end()};
}

msg::sasl_handshake_request handshake(const std::string& mechanism) {
  msg::sasl_handshake_request r;
  r.mechanism = mechanism;
  return r;
}

// Handshake v1 and one SaslAuthenticate v2 with `token`.
std::optional<reply<msg::sasl_authenticate_response>> authenticate(frame_client& c, const std::vector<uint8_t>& token) {
  auto hs = call<msg::sasl_handshake_response>(c, handshake_key, 1, handshake("PLAIN"));
  EXPECT_TRUE(hs);
  if (!hs) return std::nullopt;
  EXPECT_EQ(hs->error_code, 0);
  msg::sasl_authenticate_request req;
  req.auth_bytes = kafka::bytes_ref::of(token);
  return call<msg::sasl_authenticate_response>(c, authenticate_key, 2, req);
}

// A Metadata request; nullopt when the connection closed instead.
std::optional<reply<msg::metadata_response>> metadata(frame_client& c) {
  msg::metadata_request md;
  md.topics.reset();  // every topic
  return call<msg::metadata_response>(c, 3, 12, md);
}

TEST(sasl, real_clients_authenticate_with_plain_and_wrong_credentials_are_refused) {
  sasl_broker b;
  const std::string good = kcat_sasl(b.sasl_address(), "alice", "alice-secret");
  auto produced = run_command("printf 'one\\ntwo\\nthree\\n' | timeout 30 " + good + " -t secured -P");
  ASSERT_EQ(produced.code, 0) << produced.out;
  auto consumed = run_command("timeout 30 " + good + " -t secured -C -e -f '%s\\n'");
  ASSERT_EQ(consumed.code, 0) << consumed.out;
  EXPECT_EQ(lines(consumed.out), (std::vector<std::string>{"one", "two", "three"}));

  // A wrong password, an unknown user, a mechanism the listener lacks.
  auto wrong = run_command("timeout 20 " + kcat_sasl(b.sasl_address(), "alice", "guess") + " -L -m 3");
  EXPECT_NE(wrong.code, 0);
  EXPECT_NE(wrong.out.find("invalid username or password"), std::string::npos) << wrong.out;
  auto nobody = run_command("timeout 20 " + kcat_sasl(b.sasl_address(), "mallory", "alice-secret") + " -L -m 3");
  EXPECT_NE(nobody.out.find("invalid username or password"), std::string::npos) << nobody.out;
  // A client that does not authenticate is cut off.
  auto bare = run_command("timeout 20 kcat -b " + b.sasl_address() + " -L -m 3");
  EXPECT_NE(bare.code, 0) << bare.out;

  // The plaintext listener beside it serves the same data without SASL.
  auto plain = run_command("timeout 30 kcat -b " + b.plain_address() + " -t secured -C -e -f '%s\\n'");
  EXPECT_EQ(lines(plain.out).size(), 3u) << plain.out;

  // The CLI authenticates with --command-config.
  const auto props = b.dir().path() / "client.properties";
  std::ofstream(props) << "security.protocol=SASL_PLAINTEXT\nsasl.mechanism=PLAIN\nsasl.username=alice\n"
                       << "sasl.password=alice-secret\n";
  auto listed = run_command(cli + " -b " + b.sasl_address() + " --command-config " + props.string() + " topic list");
  EXPECT_EQ(listed.code, 0) << listed.out;
  EXPECT_NE(listed.out.find("secured"), std::string::npos) << listed.out;
  std::ofstream(props) << "security.protocol=SASL_PLAINTEXT\nsasl.username=alice\nsasl.password=nope\n";
  auto refused = run_command(cli + " -b " + b.sasl_address() + " --command-config " + props.string() + " topic list");
  EXPECT_EQ(refused.code, 1) << refused.out;
  EXPECT_NE(refused.out.find("invalid username or password"), std::string::npos) << refused.out;
  // Failures are logged without the password.
  EXPECT_NE(b.proc().err().find("authentication failed"), std::string::npos);
  EXPECT_EQ(b.proc().err().find("guess"), std::string::npos);
}

TEST(sasl, nothing_but_sasl_is_served_before_authentication) {
  sasl_broker b;
  {
    // ApiVersions is answered and names both SASL APIs.
    frame_client c(b.sasl_port);
    auto v = call<msg::api_versions_response>(c, 18, 3, msg::api_versions_request{});
    ASSERT_TRUE(v);
    int found = 0;
    for (const auto& k : v->api_keys) found += k.api_key == handshake_key || k.api_key == authenticate_key;
    EXPECT_EQ(found, 2);
    // Metadata is not: the connection closes.
    EXPECT_FALSE(metadata(c));
  }
  {
    frame_client c(b.sasl_port);
    msg::sasl_authenticate_request req;
    const auto token = plain_token("", "alice", "alice-secret");
    req.auth_bytes = kafka::bytes_ref::of(token);
    auto r = call<msg::sasl_authenticate_response>(c, authenticate_key, 2, req);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->error_code, illegal_sasl_state);
    EXPECT_TRUE(c.closed_by_server());
  }
  {
    frame_client c(b.sasl_port);
    auto r = call<msg::sasl_handshake_response>(c, handshake_key, 1, handshake("GSSAPI"));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->error_code, unsupported_sasl_mechanism);
    EXPECT_EQ(r->mechanisms, (std::vector<std::string>{"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"}));
    EXPECT_TRUE(c.closed_by_server());
  }
  {
    // A second handshake in one exchange.
    frame_client c(b.sasl_port);
    ASSERT_TRUE(call<msg::sasl_handshake_response>(c, handshake_key, 1, handshake("PLAIN")));
    auto r = call<msg::sasl_handshake_response>(c, handshake_key, 1, handshake("PLAIN"));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->error_code, illegal_sasl_state);
  }
  {
    // A frame above sasl.server.max.receive.size before authentication
    // closes the connection before it is read.
    frame_client c(b.sasl_port);
    std::vector<uint8_t> big(600000, 'x');
    c.send(big);
    EXPECT_TRUE(c.closed_by_server());
  }
  // Malformed and wrong PLAIN messages: each refused late, then closed.
  for (const auto& token :
       {plain_token("", "alice", "wrong"), plain_token("bob", "alice", "alice-secret"),
        plain_token("", "alice", std::string(300, 'p')), std::vector<uint8_t>{'a', 'l', 'i', 'c', 'e'},
        plain_token("", "", "alice-secret"), std::vector<uint8_t>{}}) {
    SCOPED_TRACE("a PLAIN message of " + std::to_string(token.size()) + " bytes");
    frame_client c(b.sasl_port);
    const auto start = std::chrono::steady_clock::now();
    auto r = authenticate(c, token);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->error_code, sasl_authentication_failed);
    EXPECT_TRUE(r->error_message && r->error_message->find("Authentication failed") != std::string::npos);
    EXPECT_GE(std::chrono::steady_clock::now() - start, 290ms);  // connection.failed.authentication.delay.ms
    EXPECT_TRUE(c.closed_by_server());
  }
  // Through all that the broker kept serving.
  frame_client ok(b.sasl_port);
  auto r = authenticate(ok, plain_token("alice", "alice", "alice-secret"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->error_code, 0);
  EXPECT_EQ(r->session_lifetime_ms, 0);  // connections.max.reauth.ms is 0: no expiry
  EXPECT_TRUE(metadata(ok));
}

TEST(sasl, a_v0_handshake_takes_bare_tokens) {
  sasl_broker b;
  frame_client c(b.sasl_port);
  auto hs = call<msg::sasl_handshake_response>(c, handshake_key, 0, handshake("PLAIN"));
  ASSERT_TRUE(hs);
  ASSERT_EQ(hs->error_code, 0);
  c.send(plain_token("", "alice", "alice-secret"));
  auto answer = c.receive(5000);
  ASSERT_TRUE(answer);
  EXPECT_TRUE(answer->empty());  // PLAIN's server message is empty
  EXPECT_TRUE(metadata(c));

  // A wrong bare token closes the connection without an answer.
  frame_client bad(b.sasl_port);
  ASSERT_TRUE(call<msg::sasl_handshake_response>(bad, handshake_key, 0, handshake("PLAIN")));
  bad.send(plain_token("", "alice", "nope"));
  EXPECT_TRUE(bad.closed_by_server());
}

TEST(sasl, sessions_expire_unless_the_client_reauthenticates_as_itself) {
  sasl_broker b({"connections.max.reauth.ms=1500"});
  b.add_user("bob", "bob-secret");
  frame_client c(b.sasl_port);
  auto first = authenticate(c, plain_token("", "alice", "alice-secret"));
  ASSERT_TRUE(first);
  ASSERT_EQ(first->error_code, 0);
  EXPECT_EQ(first->session_lifetime_ms, 1500);
  EXPECT_TRUE(metadata(c));
  // Re-authenticated within the session: a new session of the same length.
  std::this_thread::sleep_for(1000ms);
  auto again = authenticate(c, plain_token("", "alice", "alice-secret"));
  ASSERT_TRUE(again);
  EXPECT_EQ(again->error_code, 0);
  std::this_thread::sleep_for(1000ms);  // past the first session's end
  EXPECT_TRUE(metadata(c));
  // Once the session is over, requests close the connection.
  std::this_thread::sleep_for(700ms);
  EXPECT_FALSE(metadata(c));

  // Re-authenticating as someone else fails and closes.
  frame_client d(b.sasl_port);
  ASSERT_EQ(authenticate(d, plain_token("", "alice", "alice-secret"))->error_code, 0);
  auto other = authenticate(d, plain_token("", "bob", "bob-secret"));
  ASSERT_TRUE(other);
  EXPECT_EQ(other->error_code, sasl_authentication_failed);
  EXPECT_NE(other->error_message->find("principal"), std::string::npos);
  EXPECT_TRUE(d.closed_by_server());
}

TEST(sasl, a_changed_users_file_applies_to_the_next_authentication) {
  sasl_broker b;
  {
    frame_client c(b.sasl_port);
    EXPECT_EQ(authenticate(c, plain_token("", "carol", "carol-secret"))->error_code, sasl_authentication_failed);
  }
  b.add_user("carol", "carol-secret");
  frame_client c(b.sasl_port);
  auto r = authenticate(c, plain_token("", "carol", "carol-secret"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->error_code, 0);
  EXPECT_TRUE(b.proc().wait_for_log("changed: 2 user(s)", 5s)) << b.proc().err();
}

TEST(sasl, a_sasl_listener_without_an_authenticator_is_a_start_up_error) {
  temp_dir dir("sasl_none");
  process p(MOSAICD_PATH,
            {"--config", MOSAIC_SOURCE_DIR "/configs/single-node.yaml", "--set",
             "listeners=[{name: S, host: 127.0.0.1, port: 0, adapter: kafka, security.protocol: SASL_PLAINTEXT}]"},
            dir.path());
  auto code = p.wait(20s);
  ASSERT_TRUE(code);
  EXPECT_NE(*code, 0);
  EXPECT_NE(p.err().find("no authenticator plugin serves"), std::string::npos) << p.err();
}

std::string kcat_scram(const std::string& address, const std::string& mechanism, const std::string& user,
                       const std::string& password) {
  return "kcat -b " + address + " -X security.protocol=SASL_PLAINTEXT -X sasl.mechanism=" + mechanism +
         " -X sasl.username=" + user + " -X sasl.password=" + password;
}

TEST(sasl, scram_credentials_live_in_the_metadata_and_real_clients_authenticate_with_them) {
  sasl_broker b;
  const std::string m = cli + " -b " + b.plain_address();
  auto set = run_command("printf 'bob-secret\\n' | " + m + " user set-password bob");
  ASSERT_EQ(set.code, 0) << set.out;
  auto carol = run_command("printf 'carol-pw\\n' | " + m + " user set-password carol -m SCRAM-SHA-512 -i 4096");
  ASSERT_EQ(carol.code, 0) << carol.out;
  auto listed = run_command(m + " user list");
  EXPECT_NE(listed.out.find("SCRAM-SHA-256 (8192), SCRAM-SHA-512 (8192)"), std::string::npos) << listed.out;
  EXPECT_NE(listed.out.find("SCRAM-SHA-512 (4096)"), std::string::npos) << listed.out;

  for (const std::string mechanism : {"SCRAM-SHA-256", "SCRAM-SHA-512"}) {
    auto produced = run_command("printf '" + mechanism + "\\n' | timeout 30 " +
                                kcat_scram(b.sasl_address(), mechanism, "bob", "bob-secret") + " -t scrammed -P");
    EXPECT_EQ(produced.code, 0) << produced.out;
    auto wrong = run_command("timeout 20 " + kcat_scram(b.sasl_address(), mechanism, "bob", "bob-guess") + " -L -m 3");
    EXPECT_NE(wrong.out.find("invalid credentials"), std::string::npos) << wrong.out;
  }
  auto consumed = run_command("timeout 30 " + kcat_scram(b.sasl_address(), "SCRAM-SHA-256", "bob", "bob-secret") +
                              " -t scrammed -C -e -f '%s\\n'");
  EXPECT_EQ(lines(consumed.out), (std::vector<std::string>{"SCRAM-SHA-256", "SCRAM-SHA-512"})) << consumed.out;
  // carol has SHA-512 only; an unknown user fails like a wrong password.
  auto no256 =
      run_command("timeout 20 " + kcat_scram(b.sasl_address(), "SCRAM-SHA-256", "carol", "carol-pw") + " -L -m 3");
  EXPECT_NE(no256.out.find("invalid credentials"), std::string::npos) << no256.out;
  auto nobody = run_command("timeout 20 " + kcat_scram(b.sasl_address(), "SCRAM-SHA-256", "nobody", "x") + " -L -m 3");
  EXPECT_NE(nobody.out.find("invalid credentials"), std::string::npos) << nobody.out;

  // PLAIN checks users the file does not list against the same credentials.
  auto plain_bob = run_command("timeout 20 " + kcat_sasl(b.sasl_address(), "bob", "bob-secret") + " -L -m 5");
  EXPECT_EQ(plain_bob.code, 0) << plain_bob.out;
  auto plain_wrong = run_command("timeout 20 " + kcat_sasl(b.sasl_address(), "bob", "guess") + " -L -m 3");
  EXPECT_NE(plain_wrong.out.find("invalid username or password"), std::string::npos) << plain_wrong.out;

  // The CLI authenticates with SCRAM too (and checks the broker's signature).
  const auto props = b.dir().path() / "carol.properties";
  std::ofstream(props) << "security.protocol=SASL_PLAINTEXT\nsasl.mechanism=SCRAM-SHA-512\nsasl.username=carol\n"
                       << "sasl.password=carol-pw\n";
  const std::string as_carol = cli + " -b " + b.sasl_address() + " --command-config " + props.string();
  auto topics = run_command(as_carol + " topic list");
  EXPECT_EQ(topics.code, 0) << topics.out;
  EXPECT_NE(topics.out.find("scrammed"), std::string::npos) << topics.out;

  // Credentials outlive a restart (they are metadata records), and a
  // deletion takes effect for the next authentication.
  b.restart();
  const std::string as_carol_now = cli + " -b " + b.sasl_address() + " --command-config " + props.string();
  auto after = run_command("timeout 30 " + kcat_scram(b.sasl_address(), "SCRAM-SHA-512", "bob", "bob-secret") +
                           " -t scrammed -C -e -f '%s\\n'");
  EXPECT_EQ(lines(after.out).size(), 2u) << after.out;
  auto deleted = run_command(cli + " -b " + b.plain_address() + " user delete carol");
  EXPECT_EQ(deleted.code, 0) << deleted.out;
  auto refused = run_command(as_carol_now + " topic list");
  EXPECT_EQ(refused.code, 1) << refused.out;
  EXPECT_NE(refused.out.find("invalid credentials"), std::string::npos) << refused.out;
}

TEST(sasl, bad_scram_credential_changes_get_kafkas_errors_and_change_nothing) {
  sasl_broker b;
  frame_client c(b.plain_port);
  std::vector<uint8_t> salt(16, 7), salted32(32, 1), salted64(64, 1), short_salted(20, 1);
  auto upsert = [&](const std::string& user, int8_t mechanism, int32_t iterations, const std::vector<uint8_t>& sp) {
    msg::alter_user_scram_credentials_request req;
    auto& u = req.upsertions.emplace_back();
    u.name = user;
    u.mechanism = mechanism;
    u.iterations = iterations;
    u.salt = kafka::bytes_ref::of(salt);
    u.salted_password = kafka::bytes_ref::of(sp);
    auto r = call<msg::alter_user_scram_credentials_response>(c, 51, 0, req);
    EXPECT_TRUE(r && r->results.size() == 1);
    return r && !r->results.empty() ? r->results[0]
                                    : msg::alter_user_scram_credentials_response_alter_user_scram_credentials_result{};
  };
  EXPECT_EQ(upsert("u", 1, 100, salted32).error_code, 93);  // UNACCEPTABLE_CREDENTIAL
  EXPECT_EQ(*upsert("u", 1, 100, salted32).error_message, "Too few iterations");
  EXPECT_EQ(*upsert("u", 1, 20000, salted32).error_message, "Too many iterations");
  EXPECT_EQ(upsert("u", 3, 4096, salted32).error_code, 33);  // UNSUPPORTED_SASL_MECHANISM
  EXPECT_EQ(upsert("u", 2, 4096, short_salted).error_code, 93);
  EXPECT_EQ(upsert("", 1, 4096, salted32).error_code, 93);
  {
    // The same user and mechanism twice in one request: the user is refused.
    msg::alter_user_scram_credentials_request req;
    for (int i = 0; i < 2; ++i) {
      auto& u = req.upsertions.emplace_back();
      u.name = "twice";
      u.mechanism = 1;
      u.iterations = 4096;
      u.salt = kafka::bytes_ref::of(salt);
      u.salted_password = kafka::bytes_ref::of(salted32);
    }
    auto r = call<msg::alter_user_scram_credentials_response>(c, 51, 0, req);
    ASSERT_TRUE(r && r->results.size() == 1);
    EXPECT_EQ(r->results[0].error_code, 92);  // DUPLICATE_RESOURCE
  }
  {
    msg::alter_user_scram_credentials_request req;
    req.deletions.push_back({"ghost", 1, {}});
    auto r = call<msg::alter_user_scram_credentials_response>(c, 51, 0, req);
    ASSERT_TRUE(r && r->results.size() == 1);
    EXPECT_EQ(r->results[0].error_code, 91);  // RESOURCE_NOT_FOUND
  }
  // None of it stored anything.
  msg::describe_user_scram_credentials_request all;
  auto d = call<msg::describe_user_scram_credentials_response>(c, 50, 0, all);
  ASSERT_TRUE(d);
  EXPECT_TRUE(d->results.empty());
  // A good one, then Describe's own errors.
  EXPECT_EQ(upsert("dora", 2, 4096, salted64).error_code, 0);
  msg::describe_user_scram_credentials_request named;
  named.users.emplace();
  named.users->push_back({"dora", {}});
  named.users->push_back({"ghost", {}});
  named.users->push_back({"twin", {}});
  named.users->push_back({"twin", {}});
  d = call<msg::describe_user_scram_credentials_response>(c, 50, 0, named);
  ASSERT_TRUE(d);
  ASSERT_EQ(d->results.size(), 3u);
  for (const auto& r : d->results) {
    if (r.user == "dora") {
      ASSERT_EQ(r.credential_infos.size(), 1u);
      EXPECT_EQ(r.credential_infos[0].mechanism, 2);
      EXPECT_EQ(r.credential_infos[0].iterations, 4096);
    } else {
      EXPECT_EQ(r.error_code, r.user == "ghost" ? 91 : 92) << r.user;
    }
  }
}

// A SCRAM exchange by hand on one connection: the client-first, then the
// client-final `final_for` makes from the server-first.
std::optional<reply<msg::sasl_authenticate_response>> scram_exchange(
    frame_client& c, const scram_client& client, const std::function<std::string(const std::string&)>& final_for) {
  auto hs = call<msg::sasl_handshake_response>(c, handshake_key, 1, handshake("SCRAM-SHA-256"));
  if (!hs || hs->error_code != 0) return std::nullopt;
  const std::string first = client.first();
  msg::sasl_authenticate_request req;
  req.auth_bytes = kafka::bytes_ref::of({reinterpret_cast<const uint8_t*>(first.data()), first.size()});
  auto server_first = call<msg::sasl_authenticate_response>(c, authenticate_key, 2, req);
  if (!server_first || server_first->error_code != 0) return server_first;
  const auto sf = server_first->auth_bytes.span();
  const std::string final_message = final_for(std::string(sf.begin(), sf.end()));
  req.auth_bytes = kafka::bytes_ref::of({reinterpret_cast<const uint8_t*>(final_message.data()), final_message.size()});
  return call<msg::sasl_authenticate_response>(c, authenticate_key, 2, req);
}

TEST(sasl, a_tampered_or_replayed_scram_exchange_is_refused) {
  ASSERT_GE(sodium_init(), 0);
  sasl_broker b;
  auto set = run_command("printf 'eve-secret\\n' | " + cli + " -b " + b.plain_address() +
                         " user set-password eve -m SCRAM-SHA-256");
  ASSERT_EQ(set.code, 0) << set.out;
  const scram_client good(sdk::scram::hash::sha256, "eve", "eve-secret");
  std::string recorded;  // a valid client-final, for the replay below
  {
    frame_client c(b.sasl_port);
    auto r = scram_exchange(c, good, [&](const std::string& sf) { return recorded = good.final_for(sf); });
    ASSERT_TRUE(r);
    EXPECT_EQ(r->error_code, 0) << r->error_message.value_or("");
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(r->auth_bytes.data), 2), "v=");
    EXPECT_TRUE(metadata(c));
  }
  // Replayed on a new exchange: the server's nonce differs.
  {
    frame_client c(b.sasl_port);
    auto r = scram_exchange(c, good, [&](const std::string&) { return recorded; });
    ASSERT_TRUE(r);
    EXPECT_EQ(r->error_code, sasl_authentication_failed);
    EXPECT_TRUE(c.closed_by_server());
  }
  // A flipped bit in the proof; a channel binding that does not match.
  for (auto tamper : std::vector<std::function<std::string(std::string)>>{
           [](std::string f) {
             f[f.size() - 5] = f[f.size() - 5] == 'A' ? 'B' : 'A';
             return f;
           },
           [](std::string f) { return f.replace(0, f.find(','), "c=eSws"); }}) {
    frame_client c(b.sasl_port);
    auto r = scram_exchange(c, good, [&](const std::string& sf) { return tamper(good.final_for(sf)); });
    ASSERT_TRUE(r);
    EXPECT_EQ(r->error_code, sasl_authentication_failed);
  }
  // Garbage as the client-first message.
  frame_client c(b.sasl_port);
  ASSERT_EQ(call<msg::sasl_handshake_response>(c, handshake_key, 1, handshake("SCRAM-SHA-512"))->error_code, 0);
  msg::sasl_authenticate_request req;
  const std::string junk = "p=tls-unique,,n=eve,r=abc";
  req.auth_bytes = kafka::bytes_ref::of({reinterpret_cast<const uint8_t*>(junk.data()), junk.size()});
  auto r = call<msg::sasl_authenticate_response>(c, authenticate_key, 2, req);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->error_code, sasl_authentication_failed);
  EXPECT_NE(r->error_message->find("channel binding is not supported"), std::string::npos);
}

#ifdef MOSAIC_RDKAFKA_SASL_CHECK
// librdkafka 2.15.1 re-authenticates (KIP-368) when its sessions end, with
// every mechanism, and loses nothing across it.
TEST(sasl, librdkafka_2_15_reauthenticates_as_sessions_expire_and_loses_nothing) {
  sasl_broker b({"connections.max.reauth.ms=1500"});
  auto set = run_command("printf 'rita-secret\\n' | " + cli + " -b " + b.plain_address() + " user set-password rita");
  ASSERT_EQ(set.code, 0) << set.out;
  for (const std::string mechanism : {"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"}) {
    const bool plain = mechanism == "PLAIN";
    auto r =
        run_command(std::string("timeout 90 ") + MOSAIC_RDKAFKA_SASL_CHECK + " " + b.sasl_address() + " " + mechanism +
                    (plain ? " alice alice-secret " : " rita rita-secret ") + "reauth-" + mechanism + " 4");
    EXPECT_EQ(r.code, 0) << r.out;
    EXPECT_NE(r.out.find("sasl: ok"), std::string::npos) << r.out;
    // Four seconds of 1.5 s sessions: at least one re-authentication.
    EXPECT_EQ(r.out.find(", 0 reauthentications"), std::string::npos) << r.out;
  }
}
#endif

}  // namespace
}  // namespace mosaic::testing

// TLS on real mosaicd processes, with certificates from
// tools/make-test-certs (the openssl command): kcat (librdkafka) and the
// mosaic CLI over SSL, mTLS with principals mapped from certificates and
// checked by ACLs, SASL_SSL; clients without a certificate or with one
// from another CA refused; plaintext and garbage on a TLS port costing
// only their connection; certificates reloaded when their files change and
// on SIGHUP (a broken new file keeps the old one); TLS versions; and the
// configuration errors a TLS listener can have.
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/sasl_broker.h"
#include "tests/support/frame_client.h"
#include "tests/support/kafka_call.h"

namespace mosaic::testing {
namespace {

namespace fs = std::filesystem;
namespace msg = kafka::msg;

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// A CA with broker and client certificates in `dir`.
void make_certs(const fs::path& dir, const std::string& clients) {
  auto r = run_command(std::string(MOSAIC_SOURCE_DIR) + "/tools/make-test-certs " + dir.string() + " " + clients);
  ASSERT_EQ(r.code, 0) << r.out;
}

// mosaicd from a YAML config in its own folder; the ports of its listeners.
class tls_broker {
 public:
  tls_broker(const temp_dir& dir, const std::string& yaml) : dir_(dir) {
    std::ofstream(dir.path() / "broker.yaml") << yaml;
    p_ = std::make_unique<process>(MOSAICD_PATH, std::vector<std::string>{"--config", "broker.yaml"}, dir.path());
  }
  bool started() { return p_->wait_for_log("mosaicd started", 20s); }
  uint16_t port(const std::string& listener) { return port_in(p_->err(), listener); }
  std::string address(const std::string& listener) { return "127.0.0.1:" + std::to_string(port(listener)); }
  process& proc() { return *p_; }

 private:
  const temp_dir& dir_;
  std::unique_ptr<process> p_;
};

std::string kcat_tls(const std::string& address, const fs::path& certs, const std::string& client = "") {
  std::string k =
      "timeout 30 kcat -b " + address + " -X security.protocol=SSL -X ssl.ca.location=" + (certs / "ca.pem").string();
  if (!client.empty())
    k += " -X ssl.certificate.location=" + (certs / (client + ".pem")).string() +
         " -X ssl.key.location=" + (certs / (client + ".key")).string();
  return k;
}

// `mosaic` with a properties file.
command_result mosaic_with(const fs::path& props, const std::string& address, const std::string& args) {
  return run_command(cli + " -b " + address + " --command-config " + props.string() + " " + args);
}

fs::path props(const fs::path& dir, const std::string& name, const std::string& text) {
  const auto p = dir / (name + ".properties");
  std::ofstream(p) << text;
  return p;
}

TEST(tls, clients_over_tls_mtls_and_sasl_ssl_with_principals_from_certificates_and_acls) {
  temp_dir dir("tls");
  const auto certs = dir.path() / "certs";
  make_certs(certs, "alice admin mallory");
  const auto other = dir.path() / "other";
  make_certs(other, "alice");
  std::ofstream(dir.path() / "users.txt") << user_line("carol", "carol-secret");
  tls_broker b(dir,
               "node.id: 1\nlog.dirs: [data]\n"
               "authorizer: acl\nsuper.users: [User:admin]\n"
               "ssl.keystore.location: certs/broker.pem\nssl.truststore.location: certs/ca.pem\n"
               "ssl.principal.mapping.rules: ['RULE:^CN=([^,]+),OU=clients,O=Mosaic$/$1/']\n"
               "listeners:\n"
               "  - {name: MTLS, host: 127.0.0.1, port: 0, adapter: kafka, security.protocol: SSL,"
               " ssl.client.auth: required}\n"
               "  - {name: TLS, host: 127.0.0.1, port: 0, adapter: kafka, security.protocol: SSL}\n"
               "  - {name: SASL, host: 127.0.0.1, port: 0, adapter: kafka, security.protocol: SASL_SSL,"
               " sasl.enabled.mechanisms: [PLAIN, SCRAM-SHA-512]}\n"
               "plugins:\n  load:\n    - name: mosaic.authn.plain\n      config: {users.file: users.txt}\n"
               "    - mosaic.authn.scram\n");
  ASSERT_TRUE(b.started()) << b.proc().err();
  const auto mtls = b.address("MTLS"), tls = b.address("TLS"), sasl = b.address("SASL");

  // The admin's certificate maps to User:admin, a super user.
  const auto admin = props(dir.path(), "admin",
                           "security.protocol=SSL\nssl.truststore.location=" + (certs / "ca.pem").string() +
                               "\nssl.keystore.location=" + (certs / "admin.keystore.pem").string() + "\n");
  ASSERT_EQ(mosaic_with(admin, mtls, "topic create secure -p 2").code, 0);
  auto granted =
      mosaic_with(admin, mtls, "acl add --allow --principal User:alice --operation Read,Write --topic secure");
  ASSERT_EQ(granted.code, 0) << granted.out;
  ASSERT_EQ(mosaic_with(admin, mtls, "acl add --allow --principal User:carol --operation All --topic secure").code, 0);

  // alice, by her certificate, produces and consumes; records go out
  // through TLS (read from the log and encrypted, not sendfile).
  auto produced = run_command("seq 1 500 | " + kcat_tls(mtls, certs, "alice") + " -t secure -P");
  ASSERT_EQ(produced.code, 0) << produced.out;
  auto consumed = run_command(kcat_tls(mtls, certs, "alice") + " -t secure -C -e -f '%s\\n'");
  ASSERT_EQ(consumed.code, 0) << consumed.out;
  EXPECT_EQ(lines(consumed.out).size(), 500u);
  // mallory's certificate is good, her principal has no ACL.
  auto mallory = run_command(kcat_tls(mtls, certs, "mallory") + " -t secure -C -e -f '%s\\n'");
  EXPECT_NE(mallory.code, 0);
  EXPECT_TRUE(has(mallory.out, "authorization failed") || has(mallory.out, "AUTHORIZATION")) << mallory.out;
  // No certificate, or one from another CA: no connection at all.
  auto bare = run_command(kcat_tls(mtls, certs) + " -L -m 3");
  EXPECT_NE(bare.code, 0) << bare.out;
  auto foreign = run_command(kcat_tls(mtls, certs) + " -X ssl.certificate.location=" + (other / "alice.pem").string() +
                             " -X ssl.key.location=" + (other / "alice.key").string() + " -L -m 3");
  EXPECT_NE(foreign.code, 0) << foreign.out;
  EXPECT_FALSE(has(foreign.out, "\"secure\"")) << foreign.out;
  // A client that does not trust the broker's CA refuses it.
  auto distrust = run_command("timeout 30 kcat -b " + mtls + " -X security.protocol=SSL -X ssl.ca.location=" +
                              (other / "ca.pem").string() + " -L -m 3");
  EXPECT_NE(distrust.code, 0) << distrust.out;

  // The TLS listener without client certificates: User:ANONYMOUS, who
  // has no ACL and sees no topic.
  auto anonymous = run_command(kcat_tls(tls, certs) + " -L -m 5");
  EXPECT_FALSE(has(anonymous.out, "\"secure\"")) << anonymous.out;

  // SASL over TLS: carol by password.
  const std::string carol = "timeout 30 kcat -b " + sasl +
                            " -X security.protocol=SASL_SSL -X ssl.ca.location=" + (certs / "ca.pem").string() +
                            " -X sasl.mechanism=PLAIN -X sasl.username=carol -X sasl.password=carol-secret";
  auto over_sasl = run_command(carol + " -t secure -C -e -f '%s\\n'");
  EXPECT_EQ(over_sasl.code, 0) << over_sasl.out;
  EXPECT_EQ(lines(over_sasl.out).size(), 500u);
  const auto carol_cli = props(dir.path(), "carol",
                               "security.protocol=SASL_SSL\nssl.truststore.location=" + (certs / "ca.pem").string() +
                                   "\nsasl.mechanism=PLAIN\nsasl.username=carol\nsasl.password=carol-secret\n");
  // SCRAM-SHA-512 over TLS: dave's credentials set by the admin (over mTLS).
  auto dave = run_command("printf 'dave-secret\\n' | " + cli + " -b " + mtls + " --command-config " + admin.string() +
                          " user set-password dave -m SCRAM-SHA-512");
  ASSERT_EQ(dave.code, 0) << dave.out;
  ASSERT_EQ(mosaic_with(admin, mtls, "acl add --allow --principal User:dave --operation Read --topic secure").code, 0);
  auto over_scram = run_command("timeout 30 kcat -b " + sasl +
                                " -X security.protocol=SASL_SSL -X ssl.ca.location=" + (certs / "ca.pem").string() +
                                " -X sasl.mechanism=SCRAM-SHA-512 -X sasl.username=dave -X sasl.password=dave-secret"
                                " -t secure -C -e -f '%s\\n'");
  EXPECT_EQ(over_scram.code, 0) << over_scram.out;
  EXPECT_EQ(lines(over_scram.out).size(), 500u);
  auto listed = mosaic_with(carol_cli, sasl, "topic list");
  EXPECT_EQ(listed.code, 0) << listed.out;
  EXPECT_TRUE(has(listed.out, "secure")) << listed.out;
  EXPECT_TRUE(b.proc().wait(0ms) == std::nullopt);
}

TEST(tls, plaintext_and_garbage_on_a_tls_port_cost_only_their_connection) {
  temp_dir dir("tls");
  make_certs(dir.path() / "certs", "alice");
  tls_broker b(dir,
               "node.id: 1\nlog.dirs: [data]\nlisteners:\n"
               "  - {name: TLS, host: 127.0.0.1, port: 0, adapter: kafka, security.protocol: SSL,"
               " ssl.keystore.location: certs/broker.pem}\n");
  ASSERT_TRUE(b.started()) << b.proc().err();
  // A Kafka request in the clear.
  {
    frame_client c(b.port("TLS"));
    ASSERT_TRUE(c.connected());
    msg::api_versions_request req;
    req.client_software_name = "plain";
    req.client_software_version = "1";
    EXPECT_FALSE(call<msg::api_versions_response>(c, 18, 3, req).has_value());
    EXPECT_TRUE(c.closed_by_server(5000));
  }
  // Random bytes, a truncated ClientHello, a connection that says nothing.
  for (const std::vector<uint8_t>& junk :
       {std::vector<uint8_t>(4096, 0xAB), std::vector<uint8_t>{0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00}}) {
    frame_client c(b.port("TLS"));
    ASSERT_TRUE(c.connected());
    c.send_raw(junk);
    if (junk.size() > 100) {
      EXPECT_TRUE(c.closed_by_server(5000));
    }
  }
  frame_client silent(b.port("TLS"));
  // The listener still serves TLS clients.
  auto ok = run_command(kcat_tls(b.address("TLS"), dir.path() / "certs") + " -L -m 5");
  EXPECT_EQ(ok.code, 0) << ok.out;
  EXPECT_TRUE(has(b.proc().err(), "a TLS handshake failed")) << b.proc().err();
  EXPECT_TRUE(b.proc().wait(0ms) == std::nullopt);
}

TEST(tls, certificates_are_reloaded_when_their_files_change_and_on_sighup) {
  temp_dir dir("tls");
  const auto first = dir.path() / "first", second = dir.path() / "second";
  make_certs(first, "alice");
  make_certs(second, "alice");
  fs::copy_file(first / "broker.pem", dir.path() / "broker.pem");
  tls_broker b(dir,
               "node.id: 1\nlog.dirs: [data]\nssl.keystore.location: broker.pem\nlisteners:\n"
               "  - {name: TLS, host: 127.0.0.1, port: 0, adapter: kafka, security.protocol: SSL}\n");
  ASSERT_TRUE(b.started()) << b.proc().err();
  const auto trusts_first = props(
      dir.path(), "first", "security.protocol=SSL\nssl.truststore.location=" + (first / "ca.pem").string() + "\n");
  const auto trusts_second = props(
      dir.path(), "second", "security.protocol=SSL\nssl.truststore.location=" + (second / "ca.pem").string() + "\n");
  const auto addr = b.address("TLS");
  ASSERT_EQ(mosaic_with(trusts_first, addr, "topic list").code, 0);
  EXPECT_EQ(mosaic_with(trusts_second, addr, "topic list").code, 3);

  // The file is replaced (as a renewal would): new connections get the
  // new certificate within a second or so; no restart.
  fs::copy_file(second / "broker.pem", dir.path() / "broker.pem.new");
  fs::rename(dir.path() / "broker.pem.new", dir.path() / "broker.pem");
  bool moved = false;
  for (int k = 0; k < 50 && !moved; ++k) {
    std::this_thread::sleep_for(200ms);
    moved = mosaic_with(trusts_second, addr, "topic list").code == 0;
  }
  EXPECT_TRUE(moved) << b.proc().err();
  EXPECT_EQ(mosaic_with(trusts_first, addr, "topic list").code, 3);
  EXPECT_TRUE(has(b.proc().err(), "certificate reloaded")) << b.proc().err();

  // A broken file: the listener keeps the certificate it has.
  std::ofstream(dir.path() / "broker.pem") << "-----BEGIN CERTIFICATE-----\nnot base64\n";
  std::this_thread::sleep_for(1200ms);
  EXPECT_EQ(mosaic_with(trusts_second, addr, "topic list").code, 0);
  EXPECT_TRUE(b.proc().wait_for_log("do not load, the old ones stay", 5s)) << b.proc().err();

  // SIGHUP reads the files again at once.
  fs::copy_file(first / "broker.pem", dir.path() / "broker.pem", fs::copy_options::overwrite_existing);
  b.proc().signal(SIGHUP);
  EXPECT_TRUE(b.proc().wait_for_log("reload done", 10s)) << b.proc().err();
  EXPECT_EQ(mosaic_with(trusts_first, addr, "topic list").code, 0);
}

TEST(tls, tls_versions_are_what_the_listener_enables) {
  temp_dir dir("tls");
  make_certs(dir.path() / "certs", "alice");
  tls_broker b(dir,
               "node.id: 1\nlog.dirs: [data]\nlisteners:\n"
               "  - {name: V13, host: 127.0.0.1, port: 0, adapter: kafka, security.protocol: SSL,"
               " ssl.keystore.location: certs/broker.pem, ssl.enabled.protocols: [TLSv1.3]}\n"
               "  - {name: V12, host: 127.0.0.1, port: 0, adapter: kafka, security.protocol: SSL,"
               " ssl.keystore.location: certs/broker.pem, ssl.enabled.protocols: [TLSv1.2],"
               " ssl.cipher.suites: ECDHE-ECDSA-AES256-GCM-SHA384}\n");
  ASSERT_TRUE(b.started()) << b.proc().err();
  auto s_client = [&](const std::string& listener, const std::string& flags) {
    return run_command("timeout 20 openssl s_client -connect " + b.address(listener) + " -CAfile " +
                       (dir.path() / "certs" / "ca.pem").string() + " " + flags + " </dev/null");
  };
  EXPECT_EQ(s_client("V13", "-tls1_3").code, 0);
  EXPECT_NE(s_client("V13", "-tls1_2").code, 0);
  auto v12 = s_client("V12", "-tls1_2");
  EXPECT_EQ(v12.code, 0) << v12.out;
  EXPECT_TRUE(has(v12.out, "ECDHE-ECDSA-AES256-GCM-SHA384")) << v12.out;
  EXPECT_NE(s_client("V12", "-tls1_3").code, 0);
  EXPECT_NE(s_client("V12", "-tls1_2 -cipher ECDHE-ECDSA-AES128-GCM-SHA256").code, 0);
}

TEST(tls, bad_tls_settings_stop_mosaicd_with_a_message_that_names_them) {
  temp_dir dir("tls");
  make_certs(dir.path() / "certs", "alice");
  const std::string head =
      "node.id: 1\nlog.dirs: [data]\nlisteners:\n  - {name: L, host: 127.0.0.1, port: 0, "
      "adapter: kafka, security.protocol: SSL";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"}", "needs ssl.keystore.location"},
      {", ssl.keystore.location: certs/nothing.pem}", "no certificate chain"},
      {", ssl.keystore.location: certs/ca.pem}", "no usable private key"},
      {", ssl.keystore.location: certs/broker.pem, ssl.enabled.protocols: [TLSv1.1]}", "is not TLSv1.2 or TLSv1.3"},
      {", ssl.keystore.location: certs/broker.pem, ssl.cipher.suites: NOT-A-CIPHER}", "no cipher OpenSSL knows"},
      {", ssl.keystore.location: certs/broker.pem, ssl.client.auth: required}", "needs ssl.truststore.location"},
      {", ssl.keystore.location: certs/broker.pem, ssl.client.auth: maybe}", "must be required, requested or none"},
      {", ssl.keystore.location: certs/broker.pem, ssl.principal.mapping.rules: ['RULE:(/x/']}", "does not compile"},
      {", ssl.keystore.location: certs/broker.pem, ssl.principal.mapping.rules: [CN]}", "neither DEFAULT nor RULE"},
  };
  for (const auto& [tail, expected] : cases) {
    tls_broker b(dir, head + tail + "\n");
    const auto code = b.proc().wait(20s);
    ASSERT_TRUE(code.has_value()) << tail;
    EXPECT_NE(*code, 0) << tail;
    EXPECT_TRUE(has(b.proc().err(), expected)) << tail << "\n" << b.proc().err();
  }
}

}  // namespace
}  // namespace mosaic::testing

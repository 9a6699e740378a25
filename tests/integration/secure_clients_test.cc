// The Kafka clients users run, on the secured listeners of a real mosaicd
// with certificates from tools/make-test-certs: librdkafka 2.15.1 (C),
// python3-confluent-kafka and kafkajs each produce (acks=all) and consume
// through a consumer group over SASL_SSL with SCRAM-SHA-512, over
// SASL_PLAINTEXT with PLAIN, and over mTLS. The ACL authorizer is on and
// only the three authenticated users may do anything, so a client that
// works got its principal from its credentials; a wrong password or a
// missing client certificate is refused. (kcat and OAUTHBEARER: tls_test
// and oauth_test.)
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "tests/integration/sasl_broker.h"

namespace mosaic::testing {
namespace {

namespace fs = std::filesystem;

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// One way to connect, in each client's words.
struct security_mode {
  std::string name, listener;
  std::string librdkafka;  // KEY=VALUE properties (librdkafka, confluent-kafka)
  std::string kafkajs;     // the kafkajs check's KEY=VALUE options
};

class secure_clients : public ::testing::Test {
 protected:
  void SetUp() override {
    certs_ = dir_.path() / "certs";
    auto made = run_command(std::string(MOSAIC_SOURCE_DIR) + "/tools/make-test-certs " + certs_.string() +
                            " alice admin mallory");
    ASSERT_EQ(made.code, 0) << made.out;
    std::ofstream(dir_.path() / "users.txt") << user_line("pat", "pat-secret");
    std::ofstream(dir_.path() / "broker.yaml")
        << "node.id: 1\nlog.dirs: [data]\n"
           "authorizer: acl\nsuper.users: [User:admin, User:sam, User:pat, User:alice]\n"
           "ssl.keystore.location: certs/broker.pem\nssl.truststore.location: certs/ca.pem\n"
           "ssl.principal.mapping.rules: ['RULE:^CN=([^,]+),OU=clients,O=Mosaic$/$1/']\n"
           "listeners:\n"
           "  - {name: MTLS, host: 127.0.0.1, port: 0, adapter: kafka, security.protocol: SSL,"
           " ssl.client.auth: required}\n"
           "  - {name: SCRAM_TLS, host: 127.0.0.1, port: 0, adapter: kafka, security.protocol: SASL_SSL,"
           " sasl.enabled.mechanisms: [SCRAM-SHA-512]}\n"
           "  - {name: PLAIN_SASL, host: 127.0.0.1, port: 0, adapter: kafka, security.protocol: SASL_PLAINTEXT,"
           " sasl.enabled.mechanisms: [PLAIN]}\n"
           "plugins:\n  load:\n    - name: mosaic.authn.plain\n      config: {users.file: users.txt}\n"
           "    - mosaic.authn.scram\n";
    broker_ = std::make_unique<process>(MOSAICD_PATH, std::vector<std::string>{"--config", "broker.yaml"}, dir_.path());
    ASSERT_TRUE(broker_->wait_for_log("mosaicd started", 20s)) << broker_->err();
    for (const char* l : {"MTLS", "SCRAM_TLS", "PLAIN_SASL"})
      address_[l] = "127.0.0.1:" + std::to_string(port_in(broker_->err(), l));
    admin_ = dir_.path() / "admin.properties";
    std::ofstream(admin_) << "security.protocol=SSL\nssl.truststore.location=" << pem("ca")
                          << "\nssl.keystore.location=" << pem("admin.keystore") << "\n";
    // sam's SCRAM-SHA-512 credentials, set by the admin over mTLS.
    auto sam = run_command("printf 'sam-secret\\n' | " + admin_cli() + " user set-password sam -m SCRAM-SHA-512");
    ASSERT_EQ(sam.code, 0) << sam.out;
  }
  void TearDown() override {
    if (broker_) {
      EXPECT_TRUE(broker_->wait(0ms) == std::nullopt) << broker_->err();
    }
  }

  std::string pem(const std::string& name) const { return (certs_ / (name + ".pem")).string(); }
  std::string admin_cli() const { return cli + " -b " + address_.at("MTLS") + " --command-config " + admin_.string(); }
  void create_topic(const std::string& topic) {
    auto r = run_command(admin_cli() + " topic create " + topic + " -p 1");
    ASSERT_EQ(r.code, 0) << r.out;
  }

  std::vector<security_mode> modes() const {
    const std::string ca = pem("ca"), cert = pem("alice"), key = (certs_ / "alice.key").string();
    return {
        {"scram", "SCRAM_TLS",
         "security.protocol=SASL_SSL ssl.ca.location=" + ca +
             " sasl.mechanism=SCRAM-SHA-512 sasl.username=sam sasl.password=sam-secret",
         "ca=" + ca + " mechanism=scram-sha-512 username=sam password=sam-secret"},
        {"plain", "PLAIN_SASL",
         "security.protocol=SASL_PLAINTEXT sasl.mechanism=PLAIN sasl.username=pat"
         " sasl.password=pat-secret",
         "mechanism=plain username=pat password=pat-secret"},
        {"mtls", "MTLS",
         "security.protocol=SSL ssl.ca.location=" + ca + " ssl.certificate.location=" + cert +
             " ssl.key.location=" + key,
         "ca=" + ca + " cert=" + cert + " key=" + key},
    };
  }

  // The command line of each client's check.
  static std::string python(const std::string& address, const std::string& topic, const std::string& props) {
    return "timeout 120 /usr/bin/python3 " + std::string(MOSAIC_SOURCE_DIR) + "/tests/compat/secure_clients_check.py " +
           address + " " + topic + " 300 " + props + " 2>&1";
  }
  static std::string kafkajs(const std::string& address, const std::string& topic, const std::string& opts) {
    return "cd " + std::string(MOSAIC_SOURCE_DIR) + "/tests/compat/node && timeout 120 node kafkajs_secure_check.js " +
           address + " " + topic + " 300 " + opts + " 2>&1";
  }
  static std::string librdkafka(const std::string& address, const std::string& topic, const std::string& props) {
    return std::string("timeout 120 ") + MOSAIC_RDKAFKA_SECURE_CHECK + " " + address + " " + topic + " 300 " + props +
           " 2>&1";
  }

  temp_dir dir_{"secure_clients"};
  fs::path certs_, admin_;
  std::map<std::string, std::string> address_;
  std::unique_ptr<process> broker_;
};

TEST_F(secure_clients, librdkafka_confluent_kafka_and_kafkajs_produce_and_consume_over_scram_tls_plain_and_mtls) {
  for (const auto& mode : modes()) {
    const auto& address = address_.at(mode.listener);
    struct run {
      std::string client, command;
    };
    const std::vector<run> runs = {
        {"librdkafka", librdkafka(address, "c-" + mode.name, mode.librdkafka)},
        {"confluent-kafka", python(address, "py-" + mode.name, mode.librdkafka)},
        {"kafkajs", kafkajs(address, "js-" + mode.name, mode.kafkajs)},
    };
    for (const auto& r : runs) {
      SCOPED_TRACE(r.client + " over " + mode.name);
      const std::string topic = r.command.substr(r.command.find(address) + address.size() + 1);
      create_topic(topic.substr(0, topic.find(' ')));
      auto out = run_command(r.command);
      EXPECT_EQ(out.code, 0) << out.out;
      EXPECT_TRUE(has(out.out, "secure: ok 300")) << out.out;
    }
  }
}

TEST_F(secure_clients, a_wrong_password_or_a_missing_client_certificate_is_refused_and_delivers_nothing) {
  create_topic("refused");
  const std::string ca = pem("ca");
  struct run {
    std::string what, command, why;  // why: what the client's refusal says
  };
  const std::vector<run> runs = {
      {"librdkafka, PLAIN with a wrong password",
       librdkafka(address_.at("PLAIN_SASL"), "refused",
                  "security.protocol=SASL_PLAINTEXT sasl.mechanism=PLAIN sasl.username=pat sasl.password=guess"
                  " expect-refusal"),
       "invalid username or password"},
      {"confluent-kafka, SCRAM-SHA-512 with a wrong password",
       python(address_.at("SCRAM_TLS"), "refused",
              "security.protocol=SASL_SSL ssl.ca.location=" + ca +
                  " sasl.mechanism=SCRAM-SHA-512 sasl.username=sam sasl.password=guess expect-refusal"),
       "invalid credentials"},
      {"confluent-kafka, mTLS without a certificate",
       python(address_.at("MTLS"), "refused", "security.protocol=SSL ssl.ca.location=" + ca + " expect-refusal"),
       "certificate required"},
      {"kafkajs, SCRAM-SHA-512 with a wrong password",
       kafkajs(address_.at("SCRAM_TLS"), "refused",
               "ca=" + ca + " mechanism=scram-sha-512 username=sam password=guess expect-refusal"),
       "invalid credentials"},
      {"kafkajs, mTLS without a certificate", kafkajs(address_.at("MTLS"), "refused", "ca=" + ca + " expect-refusal"),
       "certificate required"},
  };
  for (const auto& r : runs) {
    SCOPED_TRACE(r.what);
    auto out = run_command(r.command);
    EXPECT_EQ(out.code, 0) << out.out;
    EXPECT_TRUE(has(out.out, "secure: refused")) << out.out;
    EXPECT_TRUE(has(out.out, r.why)) << out.out;
  }
  // Nothing reached the topic: partition 0's high watermark is 0.
  auto described = run_command(admin_cli() + " topic describe refused");
  ASSERT_EQ(described.code, 0) << described.out;
  std::istringstream rows(described.out);
  std::string row;
  std::vector<std::string> fields;  // PARTITION LEADER EPOCH REPLICAS ISR ELR LOG-START HIGH-WATERMARK
  while (std::getline(rows, row))
    if (row.rfind("0 ", 0) == 0) {
      std::istringstream cells(row);
      for (std::string f; cells >> f;) fields.push_back(f);
    }
  ASSERT_EQ(fields.size(), 8u) << described.out;
  EXPECT_EQ(fields[7], "0") << described.out;
  // The secret never appears in the broker's log.
  EXPECT_FALSE(has(broker_->err(), "guess")) << broker_->err();
}

}  // namespace
}  // namespace mosaic::testing

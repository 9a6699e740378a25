#include "kernel/config/broker_config.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <fstream>
#include <set>

namespace mosaic::config {
namespace {

result<broker_config> parse(const std::string& yaml, std::vector<std::string> overrides = {}) {
  return parse_broker_config(yaml, "/etc/mosaic/test.yaml", overrides, "/opt/mosaic/bin");
}

std::string error_of(const std::string& yaml, std::vector<std::string> overrides = {}) {
  auto r = parse(yaml, std::move(overrides));
  EXPECT_FALSE(r.ok()) << "expected a refusal for:\n" << yaml;
  return r.ok() ? "" : r.error().message();
}

TEST(broker_config, empty_file_gives_defaults) {
  auto r = parse("");
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->node_id, 1);
  EXPECT_EQ(r->process_roles, (std::vector<std::string>{"broker", "controller"}));
  ASSERT_EQ(r->log_dirs.size(), 1u);
  EXPECT_EQ(r->log_dirs[0], "data");
  ASSERT_EQ(r->plugin_search_paths.size(), 1u);
  EXPECT_EQ(r->plugin_search_paths[0], "/opt/mosaic/lib/mosaic/plugins");
}

TEST(broker_config, reads_every_key) {
  auto r = parse(R"(
node.id: 7
process.roles: [broker]
log.dirs: [/var/lib/mosaic, extra]
log_level: debug
listeners:
  - {name: PLAINTEXT, host: 127.0.0.1, port: 9092, adapter: kafka}
  - {name: HTTP, host: 127.0.0.1, port: 0, adapter: http}
plugins:
  search_paths: [plugins, /abs/plugins]
  load:
    - mosaic.codec.lz4
    - name: mosaic.codec.zstd
      library: libmosaic_codec_zstd.so
      config: {level: 5, name: "quoted", list: [a, b]}
controller.quorum.voters: [1@127.0.0.1:19091]
)");
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->node_id, 7);
  EXPECT_EQ(r->process_roles, (std::vector<std::string>{"broker"}));
  EXPECT_EQ(r->log_dirs[1], "extra");
  EXPECT_EQ(r->log_level, "debug");
  ASSERT_EQ(r->listeners.size(), 2u);
  EXPECT_EQ(r->listeners[0].port, 9092);
  EXPECT_EQ(r->listeners[1].adapter, "http");
  EXPECT_EQ(r->plugin_search_paths[0], "/etc/mosaic/plugins");  // relative to the config file
  EXPECT_EQ(r->plugin_search_paths[1], "/abs/plugins");
  ASSERT_EQ(r->plugins.size(), 2u);
  EXPECT_EQ(r->plugins[0].name, "mosaic.codec.lz4");
  EXPECT_FALSE(r->plugins[0].library);
  EXPECT_EQ(*r->plugins[1].library, "libmosaic_codec_zstd.so");
  ASSERT_EQ(r->plugins[1].config.size(), 3u);
  EXPECT_EQ(r->plugins[1].config[0].scalar, "5");
  EXPECT_FALSE(r->plugins[1].config[0].quoted);
  EXPECT_TRUE(r->plugins[1].config[1].quoted);
  EXPECT_EQ(r->plugins[1].config[2].items, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(r->plugins[1].config[0].where, "/etc/mosaic/test.yaml:15:23");
}

TEST(broker_config, reads_listener_security) {
  auto r = parse(
      "listeners:\n  - {name: S, host: 127.0.0.1, port: 9094, adapter: kafka, security.protocol: SASL_PLAINTEXT,"
      " sasl.enabled.mechanisms: [PLAIN]}\n  - {name: P, host: 127.0.0.1, port: 9092, adapter: kafka}\n"
      "sasl.enabled.mechanisms: [PLAIN, SCRAM-SHA-256]\nconnections.max.reauth.ms: 60000\n"
      "connection.failed.authentication.delay.ms: 250\nsasl.server.max.receive.size: 4096\n");
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->listeners[0].security_protocol, "SASL_PLAINTEXT");
  EXPECT_EQ(r->listeners[0].sasl_mechanisms, (std::vector<std::string>{"PLAIN"}));
  EXPECT_EQ(r->listeners[1].security_protocol, "PLAINTEXT");
  EXPECT_EQ(r->server.sasl_enabled_mechanisms, (std::vector<std::string>{"PLAIN", "SCRAM-SHA-256"}));
  EXPECT_EQ(r->server.connections_max_reauth_ms, 60000);
  EXPECT_EQ(r->server.failed_authentication_delay_ms, 250);
  EXPECT_EQ(r->server.sasl_server_max_receive_size, 4096);
}

TEST(broker_config, reads_tls_and_authorizer_keys_and_a_listener_takes_the_brokers_tls_defaults) {
  auto r = parse(
      "ssl.keystore.location: /etc/k.pem\nssl.truststore.location: ca.pem\nssl.client.auth: requested\n"
      "ssl.enabled.protocols: [TLSv1.3]\nssl.cipher.suites: HIGH\nssl.principal.mapping.rules: [DEFAULT]\n"
      "authorizer: acl\nsuper.users: 'User:a;User:b'\nallow.everyone.if.no.acl.found: true\n"
      "listeners:\n  - {name: S, host: 127.0.0.1, port: 1, adapter: kafka, security.protocol: SSL,"
      " ssl.client.auth: required, ssl.key.password: pw}\n"
      "  - {name: P, host: 127.0.0.1, port: 2, adapter: kafka}\n");
  ASSERT_TRUE(r.ok()) << r.error().message();
  const auto& t = r->listeners[0].tls;
  EXPECT_TRUE(r->listeners[0].tls_enabled());
  EXPECT_EQ(t.keystore, "/etc/k.pem");
  EXPECT_EQ(t.truststore, "/etc/mosaic/ca.pem");  // beside the config
  EXPECT_EQ(t.client_auth, "required");           // its own
  EXPECT_EQ(t.key_password, "pw");
  EXPECT_EQ(t.protocols, (std::vector<std::string>{"TLSv1.3"}));
  EXPECT_EQ(t.cipher_suites, "HIGH");
  EXPECT_FALSE(r->listeners[1].tls_enabled());
  EXPECT_EQ(r->server.authorizer, "acl");
  EXPECT_EQ(r->server.super_users, (std::vector<std::string>{"User:a", "User:b"}));
  EXPECT_TRUE(r->server.allow_everyone_if_no_acl);
  EXPECT_NE(error_of("super.users: [alice]").find("not a principal of the form Type:name"), std::string::npos);
  EXPECT_NE(error_of("authorizer: opa").find("must be none, acl or an authorizer plugin id"), std::string::npos);
  EXPECT_NE(error_of("authorizer: 'com.acme/authz'").find("must be none, acl or an authorizer plugin id"),
            std::string::npos);
  auto plugin = parse("authorizer: com.acme.authz.opa", {});
  ASSERT_TRUE(plugin.ok()) << plugin.error().message();
  EXPECT_EQ(plugin->server.authorizer, "com.acme.authz.opa");
}

TEST(broker_config, the_secure_single_node_config_in_the_repo_is_valid) {
  auto r = load_broker_config(MOSAIC_SOURCE_DIR "/configs/secure-single-node.yaml", {}, "/bin");
  ASSERT_TRUE(r.ok()) << r.error().message();
  ASSERT_EQ(r->listeners.size(), 3u);
  EXPECT_EQ(r->listeners[1].security_protocol, "SASL_SSL");
  EXPECT_EQ(r->listeners[2].tls.client_auth, "required");
  EXPECT_EQ(*r->listeners[2].tls.keystore, MOSAIC_SOURCE_DIR "/configs/certs/broker.pem");
  EXPECT_EQ(r->server.authorizer, "acl");
}

TEST(broker_config, reads_log_defaults_under_kafka_names) {
  auto r = parse(
      "log.segment.bytes: 1048576\nlog.retention.ms: -1\nlog.flush.interval.messages: 1\n"
      "message.max.bytes: 2000000\nlog.message.timestamp.type: LogAppendTime\n");
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->log.segment_bytes, 1048576);
  EXPECT_EQ(r->log.retention_ms, -1);
  EXPECT_EQ(r->log.flush_interval_messages, 1);
  EXPECT_EQ(r->log.message_max_bytes, 2000000);
  EXPECT_TRUE(r->log.log_append_time);
  EXPECT_EQ(parse("")->log.retention_ms, 7LL * 24 * 3600 * 1000);
  EXPECT_NE(error_of("log.segment.bytes: 10").find("must be between 14 and"), std::string::npos);
  EXPECT_NE(error_of("log.retention.ms: -2").find("must be between -1 and"), std::string::npos);
  EXPECT_NE(error_of("log.message.timestamp.type: WallClock").find("must be CreateTime or LogAppendTime"),
            std::string::npos);
}

TEST(broker_config, errors_name_file_line_and_key) {
  EXPECT_EQ(error_of("node.id: 1\nlog.dris: [x]\n"),
            "/etc/mosaic/test.yaml:2:1: key 'log.dris': unknown key (see `mosaicd --help` for the keys)");
  EXPECT_EQ(error_of("node.id: one\n"), "/etc/mosaic/test.yaml:1:10: key 'node.id': expects an integer, got 'one'");
  EXPECT_EQ(error_of("node.id: -1\n"),
            "/etc/mosaic/test.yaml:1:10: key 'node.id': must be between 0 and 2147483647, got -1");
  EXPECT_NE(error_of("listeners:\n  - {name: A, host: h, port: 70000, adapter: kafka}\n")
                .find("test.yaml:2:30: key 'listeners.port': must be between 0 and 65535"),
            std::string::npos);
}

TEST(broker_config, refuses_bad_values) {
  EXPECT_NE(error_of("process.roles: [broker, zookeeper]").find("unknown role 'zookeeper'"), std::string::npos);
  EXPECT_NE(error_of("process.roles: []").find("needs at least one"), std::string::npos);
  EXPECT_NE(error_of("log_level: loud").find("unknown level 'loud'"), std::string::npos);
  EXPECT_NE(error_of("listeners: [{name: A, host: h, adapter: k}]").find("needs a port"), std::string::npos);
  EXPECT_NE(error_of("listeners: [{name: A, host: h, port: 1, adapter: k}, {name: A, host: h, port: 2, adapter: k}]")
                .find("used twice"),
            std::string::npos);
  EXPECT_NE(error_of("listeners: [{name: A, host: h, port: 1, adapter: k, tls: yes}]").find("unknown listener key"),
            std::string::npos);
  EXPECT_NE(error_of("listeners: [{name: A, host: h, port: 1, adapter: k, security.protocol: SSL}]")
                .find("listener A is SSL and needs ssl.keystore.location"),
            std::string::npos);
  EXPECT_NE(error_of("listeners: [{name: A, host: h, port: 1, adapter: k, security.protocol: KERBEROS}]")
                .find("must be PLAINTEXT, SASL_PLAINTEXT, SSL or SASL_SSL, got 'KERBEROS'"),
            std::string::npos);
  EXPECT_NE(error_of("ssl.keystore.password: x").find("unknown key"), std::string::npos);
  EXPECT_NE(error_of("ssl.enabled.protocols: [SSLv3]").find("'SSLv3' is not TLSv1.2 or TLSv1.3"), std::string::npos);
  EXPECT_NE(error_of("connection.failed.authentication.delay.ms: -1").find("must be between 0 and 60000"),
            std::string::npos);
  EXPECT_NE(error_of("plugins: {load: [a.b, a.b]}").find("listed twice"), std::string::npos);
  EXPECT_NE(error_of("plugins: {load: [{library: x.so}]}").find("needs a name"), std::string::npos);
  EXPECT_NE(error_of("plugins: {load: [{name: a, confg: {}}]}").find("unknown key (name, library, config)"),
            std::string::npos);
  EXPECT_NE(error_of("- just\n- a list\n").find("must be a map"), std::string::npos);
}

TEST(broker_config, yaml_syntax_errors_have_a_line) {
  std::string e = error_of("node.id: 1\nlisteners: [\n");
  EXPECT_EQ(e.rfind("/etc/mosaic/test.yaml:", 0), 0u) << e;
  EXPECT_NE(e.find("YAML syntax error"), std::string::npos) << e;
}

TEST(broker_config, set_overrides_dotted_and_nested_keys) {
  auto r = parse("node.id: 1\nplugins:\n  search_paths: [a]\n",
                 {"node.id=3", "log.dirs=[/tmp/x]", "plugins.search_paths=[/p]", "log_level=warn"});
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->node_id, 3);
  EXPECT_EQ(r->log_dirs[0], "/tmp/x");
  EXPECT_EQ(r->plugin_search_paths[0], "/p");
  EXPECT_EQ(r->log_level, "warn");
  auto created = parse("", {"plugins.load=[mosaic.codec.gzip]"});
  ASSERT_TRUE(created.ok()) << created.error().message();
  EXPECT_EQ(created->plugins.at(0).name, "mosaic.codec.gzip");
}

TEST(broker_config, record_interceptors_by_topic_and_prefix) {
  auto r = parse(
      "plugins:\n"
      "  interceptors:\n"
      "    - name: mosaic.interceptor.json_schema\n"
      "      config: {schema.file: /etc/mosaic/orders.json}\n"
      "      topics: [orders, refunds]\n"
      "    - {name: com.acme.interceptor.x, library: libx.so, prefixes: ['', audit.]}\n");
  ASSERT_TRUE(r.ok()) << r.error().message();
  ASSERT_EQ(r->interceptors.size(), 2u);
  EXPECT_EQ(r->interceptors[0].plugin.name, "mosaic.interceptor.json_schema");
  EXPECT_EQ(r->interceptors[0].topics, (std::vector<std::string>{"orders", "refunds"}));
  ASSERT_EQ(r->interceptors[0].plugin.config.size(), 1u);
  EXPECT_EQ(r->interceptors[0].plugin.config[0].name, "schema.file");
  EXPECT_EQ(r->interceptors[1].plugin.library, std::optional<std::string>("libx.so"));
  EXPECT_EQ(r->interceptors[1].prefixes, (std::vector<std::string>{"", "audit."}));
  auto set = parse("", {"plugins.interceptors=[{name: a.b.c, topics: [t]}]"});
  ASSERT_TRUE(set.ok()) << set.error().message();
  EXPECT_EQ(set->interceptors.at(0).plugin.name, "a.b.c");
  EXPECT_NE(error_of("plugins:\n  interceptors:\n    - {name: a.b.c}\n").find("needs topics or prefixes"),
            std::string::npos);
  EXPECT_NE(error_of("plugins:\n  interceptors:\n    - a.b.c\n").find("each record interceptor is a map"),
            std::string::npos);
  EXPECT_NE(error_of("plugins:\n  interceptors:\n    - {topics: [t]}\n").find("needs a name"), std::string::npos);
  EXPECT_NE(error_of("plugins:\n  interceptors:\n    - {name: a.b.c, topics: ['']}\n").find("not empty"),
            std::string::npos);
  EXPECT_NE(error_of("plugins:\n  interceptors: {a: 1}\n").find("expects a list of record interceptors"),
            std::string::npos);
}

TEST(broker_config, plugin_trust) {
  auto r = parse(
      "plugins:\n"
      "  trust:\n"
      "    folders: [/opt/mosaic/plugins]\n"
      "    sha256: [0123]\n"
      "    require_signatures: true\n"
      "    public_keys: [abc=]\n");
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->plugin_trust.folders.at(0), "/opt/mosaic/plugins");
  EXPECT_EQ(r->plugin_trust.sha256, (std::vector<std::string>{"0123"}));  // checked when the node starts
  EXPECT_TRUE(r->plugin_trust.require_signatures);
  EXPECT_EQ(r->plugin_trust.public_keys, (std::vector<std::string>{"abc="}));
  EXPECT_NE(error_of("plugins:\n  trust: {require_signatures: maybe}\n").find("expects true or false"),
            std::string::npos);
  EXPECT_NE(error_of("plugins:\n  trust: {keys: [a]}\n").find("unknown key (folders, sha256"), std::string::npos);
}

TEST(broker_config, set_errors_name_the_override) {
  EXPECT_EQ(error_of("node.id: 1", {"node.id=abc"}), "--set node.id: key 'node.id': expects an integer, got 'abc'");
  EXPECT_EQ(error_of("", {"nonsense"}), "--set nonsense: expects key=value");
  EXPECT_NE(error_of("", {"bogus.key=1"}).find("--set bogus.key: key 'bogus.key': unknown key"), std::string::npos);
  EXPECT_NE(error_of("", {"node.id=[unclosed"}).find("--set node.id: the value is not valid YAML"), std::string::npos);
}

TEST(broker_config, reads_a_file_and_reports_a_missing_one) {
  auto path = std::filesystem::temp_directory_path() / ("mosaic_cfg_" + std::to_string(::getpid()) + ".yaml");
  std::ofstream(path) << "node.id: 9\n";
  auto r = load_broker_config(path, {}, "/bin");
  std::filesystem::remove(path);
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->node_id, 9);
  auto missing = load_broker_config("/nonexistent/mosaic.yaml", {}, "/bin");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().message(), "/nonexistent/mosaic.yaml: cannot read the config file");
}

TEST(broker_config, single_node_config_in_the_repo_is_valid) {
  auto r = load_broker_config(MOSAIC_SOURCE_DIR "/configs/single-node.yaml", {}, "/bin");
  ASSERT_TRUE(r.ok()) << r.error().message();
  ASSERT_EQ(r->listeners.size(), 1u);
  EXPECT_EQ(r->listeners[0].host, "127.0.0.1");
  EXPECT_EQ(r->listeners[0].port, 9092);
  EXPECT_TRUE(r->log_dirs[0].is_relative());
  EXPECT_EQ(r->plugins.size(), 6u);  // four codecs, two assignors
}

TEST(broker_config, the_three_node_configs_in_the_repo_are_valid_and_agree) {
  std::set<uint16_t> kafka_ports;
  for (int n = 1; n <= 3; ++n) {
    auto r = load_broker_config(MOSAIC_SOURCE_DIR "/configs/cluster/node-" + std::to_string(n) + ".yaml", {}, "/bin");
    ASSERT_TRUE(r.ok()) << r.error().message();
    EXPECT_EQ(r->node_id, n);
    ASSERT_EQ(r->quorum.voters.size(), 3u);
    EXPECT_EQ(r->quorum.voters[static_cast<size_t>(n - 1)].id, n);
    EXPECT_EQ(r->log_dirs.at(0), "data-" + std::to_string(n));
    ASSERT_EQ(r->listeners.size(), 1u);
    kafka_ports.insert(r->listeners[0].port);
  }
  EXPECT_EQ(kafka_ports.size(), 3u);
}

TEST(broker_config, group_keys_and_their_bounds) {
  auto r = parse(
      "group.consumer.session.timeout.ms: 10000\ngroup.consumer.assignors: [range]\n"
      "group.initial.rebalance.delay.ms: 0\noffset.metadata.max.bytes: 100\n");
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->groups.consumer_session_timeout_ms, 10000);
  EXPECT_EQ(r->groups.consumer_assignors, std::vector<std::string>{"range"});
  EXPECT_EQ(r->groups.initial_rebalance_delay_ms, 0);
  EXPECT_EQ(r->groups.offset_metadata_max_bytes, 100);
  EXPECT_EQ(r->groups.consumer_heartbeat_interval_ms, 5000);  // Kafka's default
  EXPECT_EQ(r->groups.consumer_heartbeat_hold_ms, 4000);
  EXPECT_EQ(r->groups.offsets_retention_ms, 7 * 24 * 3600 * 1000LL);  // Kafka's 10080 minutes
  auto retention = parse("offsets.retention.minutes: 2\noffsets.retention.check.interval.ms: 1000\n");
  ASSERT_TRUE(retention.ok()) << retention.error().message();
  EXPECT_EQ(retention->groups.offsets_retention_ms, 120000);
  EXPECT_EQ(retention->groups.offsets_retention_check_interval_ms, 1000);
  EXPECT_FALSE(parse("offsets.retention.minutes: 0\n").ok());
  auto off = parse("group.consumer.heartbeat.hold.ms: 0\n");
  ASSERT_TRUE(off.ok()) << off.error().message();
  EXPECT_EQ(off->groups.consumer_heartbeat_hold_ms, 0);
  auto negative = parse("group.consumer.heartbeat.hold.ms: -1\n");
  ASSERT_FALSE(negative.ok());
  EXPECT_NE(negative.error().message().find("group.consumer.heartbeat.hold.ms"), std::string::npos)
      << negative.error().message();
  auto inverted = parse("group.min.session.timeout.ms: 9000\ngroup.max.session.timeout.ms: 8000\n");
  ASSERT_FALSE(inverted.ok());
  EXPECT_NE(inverted.error().message().find("group.min.session.timeout.ms (9000) is above"), std::string::npos)
      << inverted.error().message();
  auto none = parse("group.consumer.assignors: []\n");
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.error().message().find("needs at least one assignor"), std::string::npos);
  auto zero = parse("group.consumer.heartbeat.interval.ms: 0\n");
  ASSERT_FALSE(zero.ok());
  EXPECT_NE(zero.error().message().find("must be between 1 and"), std::string::npos) << zero.error().message();
}

TEST(broker_config, quorum_keys_in_kafkas_forms) {
  auto r = parse(
      "node.id: 2\ncontroller.quorum.voters: [1@127.0.0.1:19093, 2@localhost:19094, 3@10.0.0.3:19095]\n"
      "controller.quorum.election.timeout.ms: 500\nmetadata.log.max.record.bytes.between.snapshots: 4096\n");
  ASSERT_TRUE(r.ok()) << r.error().message();
  ASSERT_EQ(r->quorum.voters.size(), 3u);
  EXPECT_EQ(r->quorum.voters[1].id, 2);
  EXPECT_EQ(r->quorum.voters[1].host, "localhost");
  EXPECT_EQ(r->quorum.voters[1].port, 19094);
  EXPECT_EQ(r->quorum.election_timeout_ms, 500);
  EXPECT_EQ(r->quorum.snapshot_bytes, 4096);
  auto defaults = parse("");
  ASSERT_TRUE(defaults.ok());
  EXPECT_TRUE(defaults->quorum.voters.empty());  // this node alone
  EXPECT_EQ(defaults->quorum.election_timeout_ms, 1000);
  EXPECT_EQ(defaults->quorum.snapshot_bytes, 20 << 20);

  for (const char* bad : {"[1@host]", "[x@host:9093]", "[1@:9093]", "[1@host:0]", "[1@host:70000]", "[host:9093]"})
    EXPECT_NE(error_of(std::string("controller.quorum.voters: ") + bad).find("is not id@host:port"), std::string::npos)
        << bad;
  EXPECT_NE(error_of("controller.quorum.voters: [1@a:1, 1@b:2]").find("node 1 is listed twice"), std::string::npos);
  EXPECT_NE(error_of("node.id: 4\ncontroller.quorum.voters: [1@a:1, 2@b:2]").find("does not list node.id 4"),
            std::string::npos);
  EXPECT_NE(error_of("controller.quorum.election.timeout.ms: 5").find("must be between 10 and"), std::string::npos);
  // The roles and the voters must agree.
  EXPECT_NE(error_of("process.roles: [broker]").find("needs controller.quorum.voters"), std::string::npos);
  EXPECT_NE(error_of("process.roles: [broker]\ncontroller.quorum.voters: [1@a:1]").find("has no controller"),
            std::string::npos);
  EXPECT_TRUE(parse("node.id: 4\nprocess.roles: [broker]\ncontroller.quorum.voters: [1@a:1]").ok());
  EXPECT_NE(error_of("process.roles: [controller]\nlisteners: [{name: P, host: 127.0.0.1, port: 1, adapter: kafka}]")
                .find("serves no clients"),
            std::string::npos);
  EXPECT_TRUE(parse("process.roles: [controller]").ok());
  // An operator's metrics listener is not a client listener.
  EXPECT_TRUE(
      parse("process.roles: [controller]\nlisteners: [{name: M, host: 127.0.0.1, port: 1, adapter: metrics}]").ok());
}

}  // namespace
}  // namespace mosaic::config

namespace mosaic::config {
namespace {

// One row of README.md's key table, as the key table makes it.
std::string readme_row(const property& k) {
  return std::string("| `") + k.name + "` | " + k.type + " | " + k.default_value + " | " + (k.dynamic ? "yes" : "no") +
         " | " + k.doc + " |";
}

// The README's table of keys is the key table (the one --help prints and
// the parser reads integers by), row for row; on a mismatch the message
// holds the table as it should read.
TEST(broker_config, the_readmes_key_table_is_the_key_table) {
  std::ifstream in(MOSAIC_SOURCE_DIR "/README.md");
  ASSERT_TRUE(in.good());
  std::string line, actual;
  bool inside = false;
  while (std::getline(in, line)) {
    if (line == "| key | type | default | dynamic | meaning |") {
      inside = true;
      std::getline(in, line);  // the separator
      continue;
    }
    if (!inside) continue;
    if (line.rfind("|", 0) != 0) break;
    actual += line + "\n";
  }
  std::string expected;
  for (const auto& k : documented_keys()) expected += readme_row(k) + "\n";
  EXPECT_EQ(actual, expected) << "README.md's key table should read:\n| key | type | default | dynamic | meaning |\n"
                              << "|---|---|---|---|---|\n"
                              << expected;
}

}  // namespace
}  // namespace mosaic::config

// Three real mosaicd nodes whose quorum and replication ports speak mutual
// TLS (security.inter.broker.protocol: SSL, certificates from
// tools/make-test-certs, peers limited by inter.broker.peer.principals): the
// quorum forms, a partition replicated three ways takes acks=all records,
// survives a kill -9 of its leader, and serves every record from the new
// leader; plaintext on a quorum port is refused and the node goes on. Each
// node also has an SSL listener: a client is told of the other brokers on
// the listener of the name it came in on (KRaft's endpoints). And the
// configuration errors SSL between nodes can have.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "tests/integration/cluster.h"

namespace mosaic::testing {
namespace {

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

uint16_t port_in(const std::string& log, const std::string& listener) {
  const std::string mark = "listening on " + listener + " 127.0.0.1:";
  const auto at = log.find(mark);
  return at == std::string::npos ? 0 : static_cast<uint16_t>(std::stoi(log.substr(at + mark.size())));
}

std::string numbers(int from, int to) {
  std::string out;
  for (int i = from; i <= to; ++i) out += std::to_string(i) + "\n";
  return out;
}

std::string bootstrap(cluster& c, const std::vector<int>& ids) {
  std::string out;
  for (int id : ids) out += (out.empty() ? "" : ",") + std::string("127.0.0.1:") + std::to_string(c.port(id));
  return out;
}

// The leader and ISR of `topic`'s partition 0, as node `asked` says.
std::pair<int32_t, size_t> leader_and_isr(cluster& c, int asked, const std::string& topic) {
  if (auto md = c.metadata(asked))
    for (const auto& t : md->topics)
      if (t.name == topic && !t.partitions.empty())
        return {t.partitions[0].leader_id, t.partitions[0].isr_nodes.size()};
  return {-1, 0};
}

std::vector<std::string> mtls(const std::filesystem::path& certs) {
  return {"security.inter.broker.protocol=SSL",
          "ssl.keystore.location=" + (certs / "broker.pem").string(),
          "ssl.truststore.location=" + (certs / "ca.pem").string(),
          "ssl.principal.mapping.rules=['RULE:^CN=([^,]+),OU=brokers,O=Mosaic$/$1/', DEFAULT]",
          "inter.broker.peer.principals=[User:localhost]",
          "broker.session.timeout.ms=1500",
          "replica.lag.time.max.ms=2000",
          "replica.fetch.wait.max.ms=200"};
}

TEST(inter_broker_tls, a_cluster_replicates_over_mutual_tls_and_fails_over) {
  temp_dir dir("inter_broker_tls");
  const auto certs = dir.path() / "certs";
  auto made = run_command(std::string(MOSAIC_SOURCE_DIR) + "/tools/make-test-certs " + certs.string());
  ASSERT_EQ(made.code, 0) << made.out;
  cluster c(false, mtls(certs), "{name: SECURE, host: 127.0.0.1, port: 0, adapter: kafka, security.protocol: SSL}");
  for (int id = 1; id <= 3; ++id) ASSERT_TRUE(c.ready(id, 30s)) << c.node(id).err();
  ASSERT_EQ(c.create(1, "r3", 3), 0);
  ASSERT_TRUE(eventually([&] { return leader_and_isr(c, 2, "r3").second == 3; }, 15s));

  // Each client learns the other brokers' address on its own listener.
  std::map<int, std::string> secure;
  for (int id = 1; id <= 3; ++id) secure[id] = "127.0.0.1:" + std::to_string(port_in(c.node(id).err(), "SECURE"));
  const std::string tls = " -X security.protocol=SSL -X ssl.ca.location=" + (certs / "ca.pem").string();
  auto listed = run_command("timeout 30 kcat -L -b " + secure[1] + tls + " 2>&1");
  ASSERT_EQ(listed.code, 0) << listed.out;
  auto plain = c.metadata(1);
  ASSERT_TRUE(plain);
  for (int id = 1; id <= 3; ++id) {
    EXPECT_TRUE(has(listed.out, "broker " + std::to_string(id) + " at " + secure[id])) << listed.out;
    bool found = false;
    for (const auto& b : plain->brokers) found = found || (b.node_id == id && b.port == c.port(id));
    EXPECT_TRUE(found) << "broker " << id << " on its PLAINTEXT port";
  }

  // acks=all over the SSL listeners, wherever the leader is: every
  // follower fetched each record over TLS before its ack.
  auto first = run_command("printf '" + numbers(1, 1000) + "' | timeout 60 kcat -P -b " + secure[2] + tls +
                           " -t r3 -X acks=all 2>&1");
  ASSERT_EQ(first.code, 0) << first.out;
  EXPECT_EQ(leader_and_isr(c, 1, "r3").second, 3u);

  // The leader dies; another takes over (elected through the quorum, over
  // TLS) with every acknowledged record.
  const int leader = leader_and_isr(c, 1, "r3").first;
  ASSERT_GE(leader, 1);
  c.kill(leader);
  std::vector<int> rest;
  for (int id = 1; id <= 3; ++id)
    if (id != leader) rest.push_back(id);
  ASSERT_TRUE(eventually(
      [&] {
        const auto [now, isr] = leader_and_isr(c, rest[0], "r3");
        return now >= 1 && now != leader;
      },
      20s))
      << c.node(rest[0]).err();
  auto second = run_command("printf '" + numbers(1001, 1500) + "' | timeout 60 kcat -P -b " + bootstrap(c, rest) +
                            " -t r3 -X acks=all 2>&1");
  ASSERT_EQ(second.code, 0) << second.out;
  auto consumed =
      run_command("timeout 60 kcat -C -e -q -b " + bootstrap(c, rest) + " -t r3 -o beginning -f '%s\\n' 2>&1");
  ASSERT_EQ(consumed.code, 0) << consumed.out;
  EXPECT_EQ(consumed.out, numbers(1, 1500));

  // Plaintext on a quorum port: refused at the handshake, the node goes on.
  const int probe = rest[0];
  {
    frame_client raw(c.quorum_port(probe));
    ASSERT_TRUE(raw.connected());
    const std::vector<uint8_t> bytes = {0, 0, 0, 12, 0, 1, 0, 0, 0, 0, 0, 9, 0, 0, 0, static_cast<uint8_t>(probe)};
    raw.send_raw(bytes);
    EXPECT_TRUE(raw.closed_by_server(5000));
  }
  EXPECT_TRUE(eventually([&] { return has(c.node(probe).err(), "refusing a connection from another node"); }, 5s))
      << c.node(probe).err();
  // The killed node comes back and catches up, over TLS.
  c.start(leader);
  ASSERT_TRUE(c.ready(leader, 30s)) << c.node(leader).err();
  EXPECT_TRUE(eventually([&] { return leader_and_isr(c, rest[0], "r3").second == 3; }, 20s)) << c.node(leader).err();
}

TEST(inter_broker_tls, ssl_between_nodes_needs_its_files_and_peers_need_ssl) {
  temp_dir dir("inter_broker_tls");
  auto no_trust = run_command(std::string(MOSAICD_PATH) +
                              " --config /dev/null --set security.inter.broker.protocol=SSL"
                              " --set ssl.keystore.location=broker.pem 2>&1");
  EXPECT_NE(no_trust.code, 0);
  EXPECT_TRUE(has(no_trust.out, "security.inter.broker.protocol is SSL and needs")) << no_trust.out;
  auto sasl =
      run_command(std::string(MOSAICD_PATH) + " --config /dev/null --set security.inter.broker.protocol=SASL_SSL 2>&1");
  EXPECT_NE(sasl.code, 0);
  EXPECT_TRUE(has(sasl.out, "must be PLAINTEXT or SSL")) << sasl.out;
  auto peers = run_command(std::string(MOSAICD_PATH) +
                           " --config /dev/null --set 'inter.broker.peer.principals=[User:broker]' 2>&1");
  EXPECT_NE(peers.code, 0);
  EXPECT_TRUE(has(peers.out, "inter.broker.peer.principals needs security.inter.broker.protocol: SSL")) << peers.out;
  // A keystore that is not there: the node says so and stops.
  auto missing = run_command("cd " + dir.path().string() + " && timeout 20 " + MOSAICD_PATH +
                             " --config /dev/null --set 'log.dirs=[data]' --set security.inter.broker.protocol=SSL"
                             " --set ssl.keystore.location=nowhere.pem --set ssl.truststore.location=nowhere.pem"
                             " --set 'listeners=[{name: P, host: 127.0.0.1, port: 0, adapter: kafka}]' 2>&1");
  EXPECT_NE(missing.code, 0);
  EXPECT_TRUE(has(missing.out, "ssl.keystore.location")) << missing.out;
}

}  // namespace
}  // namespace mosaic::testing

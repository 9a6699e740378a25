// Mutual TLS between rpc endpoints on loopback, with certificates from
// tools/make-test-certs: frames flow when both ends trust each other; a
// peer with a certificate from another CA, one whose subject the receiver
// does not accept, and one speaking plaintext deliver nothing, are counted,
// and the receiver goes on serving the good peer; a certificate replaced on
// disk is the next link's, without a restart; a peer that never finishes
// its handshake is given up and tried again.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>

#include "kernel/rpc/endpoint.h"
#include "tests/support/shell.h"
#include "tests/support/temp_dir.h"

namespace mosaic::rpc {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

// A CA and a broker certificate (valid for 127.0.0.1) in `dir`.
void make_certs(const fs::path& dir) {
  auto r = testing::run_command(std::string(MOSAIC_SOURCE_DIR) + "/tools/make-test-certs " + dir.string() + " alice");
  ASSERT_EQ(r.code, 0) << r.out;
}

endpoint_security mtls(const fs::path& certs, const fs::path& trusted) {
  endpoint_security s;
  s.tls.emplace();
  s.tls->keystore = (certs / "broker.pem").string();
  s.tls->truststore = (trusted / "ca.pem").string();
  return s;
}

// An endpoint for node `id` that counts the frames it is given.
struct node {
  std::unique_ptr<endpoint> ep;
  std::atomic<int> received{0};
  node(int32_t id, endpoint_security security, const std::string& host = "127.0.0.1", int connect_timeout_ms = 10000) {
    endpoint_options o;
    o.node_id = id;
    o.host = host;
    o.reconnect_ms = 20;
    o.connect_timeout_ms = connect_timeout_ms;
    o.security = std::move(security);
    auto e = endpoint::start(o, [this](const frame&) { received.fetch_add(1); });
    EXPECT_TRUE(e) << e.error().message();
    if (e) ep = std::move(*e);
    if (ep) ep->accept_frames();
  }
  ~node() {
    if (ep) ep->stop();
  }
  // Sends a frame to `to` every 20 ms until `to` has `want` of them or
  // `limit` passes.
  void send_until(int32_t to, const std::atomic<int>& count, int want, std::chrono::milliseconds limit) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (count.load() < want && std::chrono::steady_clock::now() < end) {
      ep->post([this, to] {
        std::vector<uint8_t> bytes;
        const uint8_t body[] = {1, 2, 3};
        write_frame(frame_header{50, 0, -1, to}, body, bytes);
        ep->send(to, std::move(bytes));
      });
      std::this_thread::sleep_for(20ms);
    }
  }
};

class endpoint_tls : public ::testing::Test {
 protected:
  void SetUp() override {
    make_certs(dir_.path() / "certs");
    make_certs(dir_.path() / "other");
  }
  fs::path certs() const { return dir_.path() / "certs"; }
  fs::path other() const { return dir_.path() / "other"; }
  testing::temp_dir dir_{"endpoint_tls"};
};

TEST_F(endpoint_tls, frames_flow_between_nodes_that_trust_each_other) {
  node a(1, mtls(certs(), certs())), b(2, mtls(certs(), certs()));
  a.ep->set_peer(2, "127.0.0.1", b.ep->port());
  b.ep->set_peer(1, "127.0.0.1", a.ep->port());
  a.send_until(2, b.received, 5, 10s);
  b.send_until(1, a.received, 5, 10s);
  EXPECT_GE(b.received.load(), 5);
  EXPECT_GE(a.received.load(), 5);
  EXPECT_EQ(a.ep->stats().tls_refused + b.ep->stats().tls_refused, 0u);
}

TEST_F(endpoint_tls, a_certificate_from_another_ca_a_refused_subject_and_plaintext_deliver_nothing) {
  // The receiver accepts only subjects with OU=brokers.
  auto security = mtls(certs(), certs());
  std::atomic<int> asked{0};
  security.accept_peer = [&asked](const std::string& subject) {
    asked.fetch_add(1);
    return subject.find("OU=brokers") != std::string::npos && subject.find("O=Mosaic") != std::string::npos;
  };
  node receiver(2, std::move(security));
  const uint16_t port = receiver.ep->port();

  // A node whose certificate another CA signed (and which does not trust
  // the receiver's): the handshake fails on both ends.
  node foreign(3, mtls(other(), other()));
  foreign.ep->set_peer(2, "127.0.0.1", port);
  foreign.send_until(2, receiver.received, 1, 1500ms);
  EXPECT_EQ(receiver.received.load(), 0);
  EXPECT_GT(foreign.ep->stats().tls_refused, 0u);

  // A node trusting the receiver, with the receiver's CA's certificate for
  // a client (CN=alice,OU=clients): verified, then refused by subject.
  auto client = mtls(certs(), certs());
  client.tls->keystore = (certs() / "alice.keystore.pem").string();
  node impostor(4, std::move(client));
  impostor.ep->set_peer(2, "127.0.0.1", port);
  impostor.send_until(2, receiver.received, 1, 1500ms);
  EXPECT_EQ(receiver.received.load(), 0);
  EXPECT_GT(asked.load(), 0);

  // A node speaking plaintext to the TLS port.
  node plain(5, endpoint_security{});
  plain.ep->set_peer(2, "127.0.0.1", port);
  plain.send_until(2, receiver.received, 1, 1500ms);
  EXPECT_EQ(receiver.received.load(), 0);
  EXPECT_GT(receiver.ep->stats().tls_refused, 0u);

  // The receiver still serves a good peer.
  node good(1, mtls(certs(), certs()));
  good.ep->set_peer(2, "127.0.0.1", port);
  good.send_until(2, receiver.received, 3, 10s);
  EXPECT_GE(receiver.received.load(), 3);
}

TEST_F(endpoint_tls, a_peer_certificate_must_name_the_host_it_is_reached_at) {
  // make-test-certs names localhost and 127.0.0.1; 127.0.0.2 is loopback
  // too, but not in the certificate.
  node receiver(2, mtls(certs(), certs()), "127.0.0.2");
  node sender(1, mtls(certs(), certs()));
  sender.ep->set_peer(2, "127.0.0.2", receiver.ep->port());
  sender.send_until(2, receiver.received, 1, 1500ms);
  EXPECT_EQ(receiver.received.load(), 0);
  EXPECT_GT(sender.ep->stats().tls_refused, 0u);
}

TEST_F(endpoint_tls, a_missing_keystore_or_truststore_is_a_clear_error) {
  endpoint_options o;
  o.node_id = 1;
  o.security = mtls(certs(), certs());
  o.security.tls->truststore.clear();
  auto e = endpoint::start(o, [](const frame&) {});
  ASSERT_FALSE(e);
  EXPECT_NE(e.error().message().find("ssl.truststore.location"), std::string::npos) << e.error().message();
  o.security = mtls(certs(), certs());
  o.security.tls->keystore = (dir_.path() / "missing.pem").string();
  auto f = endpoint::start(o, [](const frame&) {});
  ASSERT_FALSE(f);
  EXPECT_NE(f.error().message().find("ssl.keystore.location"), std::string::npos) << f.error().message();
}

TEST_F(endpoint_tls, a_node_certificate_replaced_on_disk_serves_the_next_link_without_a_restart) {
  // The receiver starts with a certificate from a CA the sender does not
  // trust (an expired one, say, in real life).
  const fs::path live = dir_.path() / "live";
  fs::create_directories(live);
  fs::copy_file(other() / "broker.pem", live / "broker.pem");
  auto security = mtls(certs(), certs());
  security.tls->keystore = (live / "broker.pem").string();
  node receiver(2, std::move(security));
  node sender(1, mtls(certs(), certs()));
  sender.ep->set_peer(2, "127.0.0.1", receiver.ep->port());
  sender.send_until(2, receiver.received, 1, 1500ms);
  ASSERT_EQ(receiver.received.load(), 0);
  EXPECT_GT(sender.ep->stats().tls_refused, 0u);
  // The operator puts a good one in its place (written aside, renamed in).
  fs::copy_file(certs() / "broker.pem", live / "broker.pem.new");
  fs::rename(live / "broker.pem.new", live / "broker.pem");
  sender.send_until(2, receiver.received, 3, 10s);
  EXPECT_GE(receiver.received.load(), 3);
}

TEST_F(endpoint_tls, a_peer_that_never_finishes_its_handshake_is_given_up_and_tried_again) {
  // A port that accepts TCP (the kernel's backlog) and never speaks TLS.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(::listen(fd, 16), 0);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  node sender(1, mtls(certs(), certs()), "127.0.0.1", 300);
  sender.ep->set_peer(2, "127.0.0.1", ntohs(addr.sin_port));
  std::atomic<int> never{0};
  sender.send_until(2, never, 1, 1500ms);
  const auto st = sender.ep->stats();
  EXPECT_GE(st.timeouts, 2u);  // given up, tried again, given up
  EXPECT_EQ(st.connects, 0u);
  ::close(fd);
}

}  // namespace
}  // namespace mosaic::rpc

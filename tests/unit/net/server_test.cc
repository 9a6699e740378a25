// The network layer over real loopback sockets, with a small adapter that
// answers each frame with the frame reversed; frames starting with a command
// ("slow", "none", "bye", "hold") exercise ordering, no-response, close and
// backpressure.
#include "kernel/net/server.h"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "tests/support/frame_client.h"
#include "tests/support/temp_dir.h"

namespace mosaic::net {
namespace {

struct test_adapter : adapter::protocol_adapter {
  std::atomic<int> frames{0};
  std::mutex mu;
  std::vector<std::shared_ptr<adapter::responder>> held;
  std::vector<std::thread> later;

  ~test_adapter() override {
    for (auto& t : later) t.join();
  }
  size_t held_count() {
    std::lock_guard lock(mu);
    return held.size();
  }
  void release_held() {
    std::lock_guard lock(mu);
    for (auto& r : held) r->respond({'o', 'k'});
    held.clear();
  }

  struct sess : adapter::session {
    test_adapter& a;
    explicit sess(test_adapter& owner) : a(owner) {}
    void on_frame(std::vector<uint8_t> frame, std::shared_ptr<adapter::responder> reply) override {
      a.frames.fetch_add(1);
      std::string text(frame.begin(), frame.end());
      if (text.rfind("slow", 0) == 0) {
        std::lock_guard lock(a.mu);
        a.later.emplace_back([reply, text] {
          std::this_thread::sleep_for(std::chrono::milliseconds(100));
          reply->respond(std::vector<uint8_t>(text.rbegin(), text.rend()));
        });
        return;
      }
      if (text.rfind("file:", 0) == 0) {
        // "file:PATH": "<" + the file, spliced in as a file range + ">".
        int fd = ::open(text.c_str() + 5, O_RDONLY | O_CLOEXEC);
        auto owner = std::shared_ptr<const void>(nullptr, [fd](const void*) { ::close(fd); });
        adapter::response r;
        r.bytes = {'<', '>'};
        r.files.push_back({1, {fd, 0, static_cast<uint64_t>(::lseek(fd, 0, SEEK_END)), owner}});
        return reply->respond(std::move(r));
      }
      if (text == "throw") throw std::runtime_error("an adapter bug");
      if (text == "none") return reply->no_response();
      if (text == "bye") return reply->close();
      if (text == "last") return reply->respond_then_close(adapter::response{{'l', 'a', 's', 't'}, {}});
      if (text.rfind("hold", 0) == 0) {
        std::lock_guard lock(a.mu);
        a.held.push_back(reply);
        return;
      }
      reply->respond(std::vector<uint8_t>(text.rbegin(), text.rend()));
    }
  };
  std::unique_ptr<adapter::session> open_session(const adapter::peer&) override {
    return std::make_unique<sess>(*this);
  }
};

using client = mosaic::testing::frame_client;

struct fixture {
  std::shared_ptr<test_adapter> adapter = std::make_shared<test_adapter>();
  std::unique_ptr<server> srv;
  uint16_t port = 0;
  explicit fixture(server_options o = {}) {
    auto s = server::start({{"TEST", "127.0.0.1", 0, adapter, std::nullopt}}, o);
    EXPECT_TRUE(s.ok()) << s.error().message();
    srv = std::move(*s);
    port = srv->bound_port("TEST");
  }
};

TEST(net_server, answers_frames_on_a_port_chosen_at_run_time) {
  fixture f;
  ASSERT_NE(f.port, 0);
  client c(f.port);
  ASSERT_TRUE(c.connected());
  c.send("hello");
  EXPECT_EQ(c.receive_text(), "olleh");
  c.send("");
  EXPECT_EQ(c.receive_text(), "");
}

TEST(net_server, file_ranges_are_spliced_into_responses_in_order) {
  mosaic::testing::temp_dir dir;
  std::string big(8 << 20, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>('a' + i % 26);
  dir.write("small", "xyz");
  dir.write("big", big);
  fixture f;
  client c(f.port);
  c.send("file:" + (dir / "small").string());
  c.send("file:" + (dir / "big").string());  // more than a socket buffer: sendfile waits for the reader
  c.send("after");
  EXPECT_EQ(c.receive_text(), "<xyz>");
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // a slow reader
  auto got = c.receive_text(10000);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->size(), big.size() + 2);
  EXPECT_TRUE(*got == "<" + big + ">");
  EXPECT_EQ(c.receive_text(), "retfa");
}

// A client that asks for a response larger than its socket takes and then
// resets the connection: the server is inside sendfile when the peer goes.
// Without SIGPIPE ignored this ends the whole process (this test's too).
TEST(net_server, clients_that_hang_up_during_a_sendfile_cost_their_own_connection_only) {
  mosaic::testing::temp_dir dir;
  dir.write("big", std::string(4 << 20, 'x'));
  fixture f;
  client steady(f.port);
  for (int i = 0; i < 50; ++i) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    const int small = 4096;
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(f.port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
    const std::string req = "file:" + (dir / "big").string();
    const auto n = static_cast<uint32_t>(req.size());
    std::string framed = {static_cast<char>(n >> 24), static_cast<char>(n >> 16), static_cast<char>(n >> 8),
                          static_cast<char>(n)};
    framed += req;
    ASSERT_EQ(::write(fd, framed.data(), framed.size()), static_cast<ssize_t>(framed.size()));
    std::this_thread::sleep_for(std::chrono::milliseconds(i % 2 == 0 ? 0 : 5));
    linger l{1, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
    ::close(fd);
    steady.send("ping");
    ASSERT_EQ(steady.receive_text(), "gnip") << "after hang-up " << i;
  }
  // Wait for the last writes to notice.
  for (int i = 0; i < 200 && f.srv->stats().open > 1; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(f.srv->stats().open, 1u);
  EXPECT_GE(f.srv->stats().write_failed, 25u) << "hang-ups should have been caught mid-write";
}

TEST(net_server, request_bytes_held_are_bounded_across_connections_and_reading_waits_for_room) {
  server_options o;
  o.max_queued_request_bytes = 1 << 20;
  fixture f(o);
  const std::string big = "hold" + std::string(600000, 'x');
  client a(f.port), b(f.port), c(f.port);
  a.send(big);
  for (int i = 0; i < 200 && f.adapter->frames < 1; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  b.send(big);  // 1.2 MB would be held: b waits before reading its body
  c.send("small");
  EXPECT_EQ(c.receive_text(), "llams") << "a frame that fits is still served";
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(f.adapter->frames, 2) << "b's frame waits for room";
  EXPECT_EQ(f.srv->stats().queued_request_bytes, big.size());
  EXPECT_GE(f.srv->stats().request_waits, 1u);
  f.adapter->release_held();  // a is answered: its bytes come back, b's frame is read
  EXPECT_EQ(a.receive_text(), "ok");
  for (int i = 0; i < 1000 && f.adapter->held_count() < 1; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(f.adapter->frames, 3);
  f.adapter->release_held();
  EXPECT_EQ(b.receive_text(), "ok");
  // A frame larger than the whole bound still gets through when nothing else is held.
  a.send(std::string(1500000, 'y'));
  auto got = a.receive_text(10000);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->size(), 1500000u);
  for (int i = 0; i < 200 && f.srv->stats().queued_request_bytes > 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(f.srv->stats().queued_request_bytes, 0u);
}

TEST(net_server, an_adapter_that_throws_costs_its_connection_only) {
  fixture f;
  client bad(f.port), good(f.port);
  bad.send("throw");
  EXPECT_TRUE(bad.closed_by_server());
  good.send("still");
  EXPECT_EQ(good.receive_text(), "llits");
  client again(f.port);
  again.send("here");
  EXPECT_EQ(again.receive_text(), "ereh");
}

TEST(net_server, pipelined_responses_come_back_in_request_order) {
  fixture f;
  client c(f.port);
  c.send("slow-1");
  c.send("fast-2");
  c.send("none");
  c.send("fast-3");
  EXPECT_EQ(c.receive_text(), "1-wols");
  EXPECT_EQ(c.receive_text(), "2-tsaf");
  EXPECT_EQ(c.receive_text(), "3-tsaf") << "no response for 'none', and nothing out of order";
}

TEST(net_server, an_oversized_or_negative_frame_closes_that_connection_only) {
  server_options o;
  o.max_request_bytes = 1024;
  fixture f(o);
  client good(f.port);
  client big(f.port);
  big.send(std::string(1025, 'x'));
  EXPECT_TRUE(big.closed_by_server());
  client negative(f.port);
  negative.send_raw(std::vector<uint8_t>{0xff, 0xff, 0xff, 0xf0});
  EXPECT_TRUE(negative.closed_by_server());
  good.send("still here");
  EXPECT_EQ(good.receive_text(), "ereh llits");
  EXPECT_EQ(f.srv->stats().oversized_frames, 2u);
  client exact(f.port);
  exact.send(std::string(1024, 'y'));
  EXPECT_EQ(exact.receive_text()->size(), 1024u);
}

TEST(net_server, a_truncated_frame_and_a_vanished_client_harm_no_one) {
  fixture f;
  {
    client gone(f.port);
    gone.send_raw(std::vector<uint8_t>{0, 0, 0, 100, 'p', 'a', 'r', 't'});
  }
  client c(f.port);
  c.send("ok?");
  EXPECT_EQ(c.receive_text(), "?ko");
}

TEST(net_server, close_from_the_adapter_and_connection_limits) {
  server_options o;
  o.max_connections = 2;
  fixture f(o);
  client a(f.port), b(f.port);
  a.send("x");
  ASSERT_EQ(a.receive_text(), "x");
  b.send("y");
  ASSERT_EQ(b.receive_text(), "y");
  client third(f.port);
  EXPECT_TRUE(third.closed_by_server()) << "over max.connections";
  EXPECT_GE(f.srv->stats().refused, 1u);
  a.send("bye");
  EXPECT_TRUE(a.closed_by_server());
}

TEST(net_server, a_last_response_goes_out_before_the_connection_closes) {
  fixture f;
  client c(f.port);
  c.send("first");
  c.send("last");
  c.send("after");  // read, but never answered: the connection is gone
  EXPECT_EQ(c.receive_text(), "tsrif");
  EXPECT_EQ(c.receive_text(), "last");
  EXPECT_TRUE(c.closed_by_server());
}

// The session may hold a connection's frames to less than the server's
// bound (a connection that has not authenticated yet).
TEST(net_server, a_session_may_bound_its_own_frames) {
  struct small_adapter : adapter::protocol_adapter {
    struct sess : adapter::session {
      void on_frame(std::vector<uint8_t>, std::shared_ptr<adapter::responder> reply) override {
        reply->respond({'o', 'k'});
      }
      size_t max_frame_bytes() const override { return 16; }
    };
    std::unique_ptr<adapter::session> open_session(const adapter::peer&) override { return std::make_unique<sess>(); }
  };
  auto s = server::start({{"SMALL", "127.0.0.1", 0, std::make_shared<small_adapter>(), std::nullopt}}, {});
  ASSERT_TRUE(s.ok());
  client fits((*s)->bound_port("SMALL"));
  fits.send(std::string(16, 'x'));
  EXPECT_EQ(fits.receive_text(), "ok");
  client big((*s)->bound_port("SMALL"));
  big.send(std::string(17, 'x'));
  EXPECT_TRUE(big.closed_by_server());
  EXPECT_EQ((*s)->stats().oversized_frames, 1u);
}

TEST(net_server, closes_idle_connections) {
  server_options o;
  o.idle_timeout_ms = 200;
  fixture f(o);
  client c(f.port);
  c.send("a");
  ASSERT_EQ(c.receive_text(), "a");
  EXPECT_TRUE(c.closed_by_server(3000));
  EXPECT_EQ(f.srv->stats().idle_closed, 1u);
}

TEST(net_server, stops_reading_while_too_many_requests_are_in_flight) {
  server_options o;
  o.max_inflight_per_connection = 2;
  fixture f(o);
  client c(f.port);
  c.send("hold-1");
  c.send("hold-2");
  c.send("after");
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_EQ(f.adapter->frames.load(), 2) << "the third frame waits until a response is written";
  f.adapter->release_held();
  EXPECT_EQ(c.receive_text(), "ok");
  EXPECT_EQ(c.receive_text(), "ok");
  EXPECT_EQ(c.receive_text(), "retfa");
  EXPECT_EQ(f.adapter->frames.load(), 3);
}

TEST(net_server, refuses_a_listener_it_cannot_bind) {
  fixture f;
  auto clash = server::start({{"AGAIN", "127.0.0.1", f.port, f.adapter, std::nullopt}}, {});
  ASSERT_FALSE(clash.ok());
  EXPECT_NE(clash.error().message().find("listener AGAIN on 127.0.0.1:"), std::string::npos) << clash.error().message();
  auto bad = server::start({{"BAD", "not-an-address", 0, f.adapter, std::nullopt}}, {});
  ASSERT_FALSE(bad.ok());
}

// A session that delimits its own requests (framing::by_session): lines,
// answered in upper case, as they are (no size prefix); a line starting
// with '!' is not a request: answered, then the connection closes.
struct line_adapter : adapter::protocol_adapter {
  std::atomic<int> scans{0};
  struct sess : adapter::session {
    line_adapter& a;
    explicit sess(line_adapter& owner) : a(owner) {}
    adapter::framing frames() const override { return adapter::framing::by_session; }
    adapter::frame_scan scan(std::span<const uint8_t> buffered) override {
      a.scans.fetch_add(1);
      if (buffered[0] == '!') return {adapter::frame_scan::state::refuse, 0};
      for (size_t i = 0; i < buffered.size(); ++i)
        if (buffered[i] == '\n') return {adapter::frame_scan::state::frame, i + 1};
      return {};
    }
    size_t max_frame_bytes() const override { return 64; }
    void on_frame(std::vector<uint8_t> frame, std::shared_ptr<adapter::responder> reply) override {
      std::string text(frame.begin(), frame.end());
      if (text[0] == '!') return reply->respond_then_close(adapter::response{{'n', 'o', '\n'}, {}});
      for (auto& c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      reply->respond(std::vector<uint8_t>(text.begin(), text.end()));
    }
  };
  std::unique_ptr<adapter::session> open_session(const adapter::peer&) override {
    return std::make_unique<sess>(*this);
  }
};

// Reads what arrives until `want` bytes or the peer closes.
std::string read_upto(client& c, size_t want) {
  std::string got;
  while (got.size() < want) {
    uint8_t b[256];
    const ssize_t n = ::recv(c.fd(), b, std::min(sizeof b, want - got.size()), 0);
    if (n <= 0) break;
    got.append(reinterpret_cast<const char*>(b), static_cast<size_t>(n));
  }
  return got;
}

TEST(net_server, a_session_that_delimits_its_requests_gets_them_whole_and_in_order) {
  auto a = std::make_shared<line_adapter>();
  auto srv = server::start({{"LINES", "127.0.0.1", 0, a, std::nullopt}}, {});
  ASSERT_TRUE(srv.ok()) << srv.error().message();
  client c((*srv)->bound_port("LINES"));
  ASSERT_TRUE(c.connected());
  // Pipelined, and one request split across two writes.
  const std::string first = "one\ntwo\nthr";
  ASSERT_TRUE(c.send_raw(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(first.data()), first.size())));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  const std::string rest = "ee\n";
  ASSERT_TRUE(c.send_raw(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(rest.data()), rest.size())));
  EXPECT_EQ(read_upto(c, 14), "ONE\nTWO\nTHREE\n");
  // Not a request: its answer, then the close.
  const std::string bad = "!x\nfour\n";
  ASSERT_TRUE(c.send_raw(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(bad.data()), bad.size())));
  EXPECT_EQ(read_upto(c, 100), "no\n");
  for (int i = 0; i < 200 && (*srv)->stats().open != 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ((*srv)->stats().open, 0u);  // the connection ended on the server's side too
  // A request longer than the session allows (64) closes the connection.
  client d((*srv)->bound_port("LINES"));
  const std::string big(100, 'x');
  ASSERT_TRUE(d.send_raw(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(big.data()), big.size())));
  EXPECT_TRUE(d.closed_by_server());
  EXPECT_GE((*srv)->stats().oversized_frames, 1u);
  EXPECT_GE(a->scans.load(), 4);
}

}  // namespace
}  // namespace mosaic::net

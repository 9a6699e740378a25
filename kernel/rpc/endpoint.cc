#include "kernel/rpc/endpoint.h"

#include <utility>
// Boost 1.74's Asio needs <utility> first under C++20 coroutines.
#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <deque>
#include <map>
#include <mutex>
#include <thread>

#include "kernel/base/log.h"

namespace mosaic::rpc {

namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using clock_type = std::chrono::steady_clock;
using tls_stream = asio::ssl::stream<tcp::socket>;

// A connection between two nodes: TCP, or TLS over it (with a context).
class link {
 public:
  // The link keeps its context: a reload makes a new one for the links
  // after it.
  link(tcp::socket s, std::shared_ptr<asio::ssl::context> ctx) : ctx_(std::move(ctx)) {
    if (ctx_)
      tls_ = std::make_unique<tls_stream>(std::move(s), *ctx_);
    else
      plain_ = std::make_unique<tcp::socket>(std::move(s));
  }
  tcp::socket& socket() { return tls_ ? tls_->next_layer() : *plain_; }
  tls_stream* tls() { return tls_.get(); }
  template <class Buffers, class Handler>
  void read_some(const Buffers& b, Handler h) {
    if (tls_)
      tls_->async_read_some(b, std::move(h));
    else
      plain_->async_read_some(b, std::move(h));
  }
  template <class Buffers, class Handler>
  void write(const Buffers& b, Handler h) {
    if (tls_)
      asio::async_write(*tls_, b, std::move(h));
    else
      asio::async_write(*plain_, b, std::move(h));
  }
  void close() {
    boost::system::error_code ec;
    socket().close(ec);
  }

 private:
  std::shared_ptr<asio::ssl::context> ctx_;  // declared first: the stream uses it to the end
  std::unique_ptr<tcp::socket> plain_;
  std::unique_ptr<tls_stream> tls_;
};

class endpoint_impl;

// One connection from another node: frames in, nothing out.
class inbound : public std::enable_shared_from_this<inbound> {
 public:
  inbound(link l, endpoint_impl& owner, size_t max_frame, std::chrono::milliseconds handshake_timeout)
      : link_(std::move(l)),
        owner_(owner),
        reader_(max_frame),
        deadline_(link_.socket().get_executor()),
        timeout_(handshake_timeout) {}
  void start();
  void close() { link_.close(); }

 private:
  void read();
  link link_;
  endpoint_impl& owner_;
  frame_reader reader_;
  asio::steady_timer deadline_;  // of the TLS handshake
  std::chrono::milliseconds timeout_;
  std::array<uint8_t, 64 * 1024> buf_{};
};

// The connection to one peer: frames out.
struct outbound {
  std::string host;
  uint16_t port = 0;
  // Shared with the handlers of its pending operations: a TLS stream must
  // outlive them (its composed operations touch it after the socket's part
  // completes), so a reset only closes it and lets go.
  std::shared_ptr<link> sock;
  bool warned = false;  // a TLS failure or a timeout was logged (once until a link is made)
  bool connecting = false;
  bool writing = false;
  clock_type::time_point next_attempt{};
  std::deque<std::vector<uint8_t>> queue;
  size_t queued = 0;
  std::vector<uint8_t> in_flight;                // what the current write sends
  std::shared_ptr<asio::steady_timer> deadline;  // of connecting and the handshake
};

class endpoint_impl final : public endpoint {
 public:
  endpoint_impl(const endpoint_options& o, frame_handler h)
      : opts_(o), on_frame_(std::move(h)), work_(asio::make_work_guard(io_)), acceptor_(io_) {}
  ~endpoint_impl() override { stop(); }

  status listen() {
    if (opts_.security.tls) {
      auto mutual = *opts_.security.tls;
      mutual.client_auth = "required";  // nodes show each other certificates
      auto server = net::tls_context_source::make(mutual, net::tls_role::server, "node links (accepting)");
      if (!server) return server.error();
      auto client =
          net::tls_context_source::make(*opts_.security.tls, net::tls_role::client, "node links (connecting)");
      if (!client) return client.error();
      server_tls_ = std::move(*server);
      client_tls_ = std::move(*client);
    }
    boost::system::error_code ec;
    auto addr = asio::ip::make_address(opts_.host == "localhost" ? "127.0.0.1" : opts_.host, ec);
    if (ec) return status(errc::config, "cannot listen on '" + opts_.host + "': " + ec.message());
    tcp::endpoint ep(addr, opts_.port);
    acceptor_.open(ep.protocol(), ec);
    if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) acceptor_.bind(ep, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec)
      return status(errc::io,
                    "cannot listen on " + opts_.host + ":" + std::to_string(opts_.port) + ": " + ec.message());
    port_ = acceptor_.local_endpoint().port();
    thread_ = std::thread([this] {
      thread_id_.store(std::this_thread::get_id());
      // An exception out of a handler would end the thread and terminate
      // the node: it is logged, counted, and the endpoint goes on.
      for (;;) {
        try {
          io_.run();
          return;
        } catch (const std::exception& e) {
          count(&endpoint_stats::handler_failures);
          log::error("rpc: a handler failed ({}); the endpoint carries on", e.what());
        }
      }
    });
    return {};
  }

  void stop() override {
    std::call_once(stopped_, [this] {
      asio::post(io_, [this] {
        // Handlers already queued (a timer that fired) must not re-arm or
        // connect anew, or the loop would never run out of work.
        stopping_ = true;
        boost::system::error_code ec;
        acceptor_.close(ec);
        for (auto& [id, p] : peers_)
          if (p.sock) p.sock->close();
        for (auto& w : inbound_)
          if (auto c = w.lock()) c->close();
        for (auto& t : timers_) t->cancel();
        work_.reset();
      });
      if (thread_.joinable()) thread_.join();
    });
  }

  uint16_t port() const override { return port_; }

  void set_peer(int32_t id, const std::string& host, uint16_t port) override {
    asio::post(io_, [this, id, host, port] {
      auto& p = peers_[id];
      if (p.host == host && p.port == port) return;
      p.host = host;
      p.port = port;
      reset(p);
    });
  }

  void post(std::function<void()> fn) override { asio::post(io_, std::move(fn)); }

  void every(std::chrono::milliseconds period, std::function<void()> fn) override {
    auto t = std::make_shared<asio::steady_timer>(io_);
    timers_.push_back(t);
    arm(t, period, std::make_shared<std::function<void()>>(std::move(fn)));
  }

  bool on_thread() const override { return std::this_thread::get_id() == thread_id_.load(); }

  endpoint_stats stats() const override {
    std::lock_guard g(stats_mu_);
    return stats_;
  }

  void send(int32_t to, std::vector<uint8_t> bytes) override {
    if (stopping_) return;
    auto it = peers_.find(to);
    if (it == peers_.end() || it->second.port == 0 || it->second.queued + bytes.size() > opts_.max_queued_bytes) {
      count(&endpoint_stats::frames_dropped);
      return;
    }
    outbound& p = it->second;
    if (!p.sock && !p.connecting) {
      if (clock_type::now() < p.next_attempt) {
        count(&endpoint_stats::frames_dropped);
        return;
      }
      connect(to, p);
    }
    p.queued += bytes.size();
    p.queue.push_back(std::move(bytes));
    count(&endpoint_stats::frames_sent);
    if (p.sock && !p.connecting) write(to, p);
  }

  // From inbound connections.
  void deliver(frame f) {
    count(&endpoint_stats::frames_received);
    if (f.header.to != opts_.node_id) return;
    on_frame_(std::move(f));
  }
  void bad_stream(const status& s) {
    count(&endpoint_stats::bad_streams);
    log::warn("rpc: closing a connection from another node: {}", s.message());
  }
  // An inbound TLS handshake failed, or its certificate is refused.
  // Logged at most every ten seconds: a misconfigured peer retries often.
  void refused_peer(const std::string& why) {
    count(&endpoint_stats::tls_refused);
    const auto now = clock_type::now();
    if (now < next_refusal_log_) {
      ++refusals_unlogged_;
      return;
    }
    if (refusals_unlogged_ > 0)
      log::warn("rpc: refusing a connection from another node: {} ({} more refused since the last warning)", why,
                refusals_unlogged_);
    else
      log::warn("rpc: refusing a connection from another node: {}", why);
    refusals_unlogged_ = 0;
    next_refusal_log_ = now + std::chrono::seconds(10);
  }
  // Whether an inbound connection's verified certificate may send frames.
  bool accepts(const std::string& subject) const {
    return !opts_.security.accept_peer || opts_.security.accept_peer(subject);
  }

 private:
  void count(uint64_t endpoint_stats::*field, uint64_t n = 1) {
    std::lock_guard g(stats_mu_);
    stats_.*field += n;
  }

  void arm(const std::shared_ptr<asio::steady_timer>& t, std::chrono::milliseconds period,
           const std::shared_ptr<std::function<void()>>& fn) {
    t->expires_after(period);
    t->async_wait([this, t, period, fn](const boost::system::error_code& ec) {
      if (ec || stopping_) return;
      (*fn)();
      arm(t, period, fn);
    });
  }

  void accept_frames() override {
    std::call_once(accepting_, [this] { asio::post(io_, [this] { accept(); }); });
  }

  void accept() {
    acceptor_.async_accept([this](const boost::system::error_code& ec, tcp::socket s) {
      if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
      if (!ec) {
        boost::system::error_code ignore;
        s.set_option(tcp::no_delay(true), ignore);
        auto c = std::make_shared<inbound>(link(std::move(s), server_tls_ ? server_tls_->current() : nullptr), *this,
                                           opts_.max_frame, std::chrono::milliseconds(opts_.connect_timeout_ms));
        std::erase_if(inbound_, [](const std::weak_ptr<inbound>& w) { return w.expired(); });
        inbound_.push_back(c);
        c->start();
      }
      accept();
    });
  }

  void reset(outbound& p) {
    if (p.deadline) p.deadline->cancel();
    p.deadline.reset();
    if (p.sock) p.sock->close();
    p.sock.reset();
    p.connecting = false;
    p.writing = false;
    count(&endpoint_stats::frames_dropped, p.queue.size());
    p.queue.clear();
    p.queued = 0;
  }

  // Connecting failed: wait before the next attempt.
  void failed(outbound& p) {
    reset(p);
    p.next_attempt = clock_type::now() + std::chrono::milliseconds(opts_.reconnect_ms);
  }

  void connect(int32_t to, outbound& p) {
    boost::system::error_code ec;
    auto addr = asio::ip::make_address(p.host == "localhost" ? "127.0.0.1" : p.host, ec);
    if (ec) {
      tcp::resolver r(io_);
      auto found = r.resolve(p.host, std::to_string(p.port), ec);
      if (ec || found.empty()) return failed(p);
      addr = found.begin()->endpoint().address();
    }
    p.sock = std::make_shared<link>(tcp::socket(io_), client_tls_ ? client_tls_->current() : nullptr);
    p.connecting = true;
    std::shared_ptr<link> s = p.sock;
    // A peer that never answers (a host gone, a TLS handshake stalled) is
    // given up after the timeout and tried again, not waited on for the
    // kernel's minutes of SYN retries.
    p.deadline = std::make_shared<asio::steady_timer>(io_, std::chrono::milliseconds(opts_.connect_timeout_ms));
    p.deadline->async_wait([this, to, s](const boost::system::error_code& e) {
      if (e) return;  // cancelled: connected, or given up already
      auto it = peers_.find(to);
      if (it == peers_.end() || it->second.sock != s || !it->second.connecting) return;
      outbound& q = it->second;
      count(&endpoint_stats::timeouts);
      if (!q.warned)
        log::warn("rpc: connecting to node {} at {}:{} took over {} ms (retrying quietly)", to, q.host, q.port,
                  opts_.connect_timeout_ms);
      q.warned = true;
      failed(q);
    });
    s->socket().async_connect(tcp::endpoint(addr, p.port), [this, to, s](const boost::system::error_code& e) {
      auto it = peers_.find(to);
      if (it == peers_.end() || it->second.sock != s) return;  // replaced meanwhile
      outbound& q = it->second;
      if (e) return failed(q);
      boost::system::error_code ignore;
      s->socket().set_option(tcp::no_delay(true), ignore);
      if (s->tls() == nullptr) return established(to, q);
      // The peer's certificate must chain to the truststore and name the
      // host this node reaches it at.
      s->tls()->set_verify_callback(asio::ssl::host_name_verification(q.host));
      s->tls()->async_handshake(asio::ssl::stream_base::client, [this, to, s](const boost::system::error_code& he) {
        auto at = peers_.find(to);
        if (at == peers_.end() || at->second.sock != s) return;
        outbound& r = at->second;
        if (he) {
          count(&endpoint_stats::tls_refused);
          if (!r.warned)
            log::warn("rpc: TLS with node {} at {}:{} failed: {} (retrying quietly)", to, r.host, r.port,
                      net::openssl_error(he.message()));
          r.warned = true;
          return failed(r);
        }
        established(to, r);
      });
    });
  }

  // Connected (and through the TLS handshake): frames may go.
  void established(int32_t to, outbound& p) {
    p.connecting = false;
    p.warned = false;
    if (p.deadline) p.deadline->cancel();
    p.deadline.reset();
    count(&endpoint_stats::connects);
    watch(to, p.sock);
    write(to, p);
  }

  // The peer never writes on this connection, so a read that completes
  // means it closed (it restarted, say): forget the socket now, so that the
  // next frame reconnects instead of vanishing into a dead connection.
  void watch(int32_t to, const std::shared_ptr<link>& s) {
    auto sink = std::make_shared<std::array<uint8_t, 64>>();
    s->read_some(asio::buffer(*sink), [this, to, s, sink](const boost::system::error_code& e, size_t) {
      auto it = peers_.find(to);
      if (it == peers_.end() || it->second.sock != s) return;
      if (!e) return watch(to, s);
      reset(it->second);  // established before: reconnect at once
    });
  }

  void write(int32_t to, outbound& p) {
    if (p.writing || p.queue.empty()) return;
    p.writing = true;
    // Everything queued goes in one write.
    p.in_flight.clear();
    while (!p.queue.empty()) {
      auto& f = p.queue.front();
      p.in_flight.insert(p.in_flight.end(), f.begin(), f.end());
      p.queued -= f.size();
      p.queue.pop_front();
    }
    std::shared_ptr<link> s = p.sock;
    s->write(asio::buffer(p.in_flight), [this, to, s](const boost::system::error_code& e, size_t) {
      auto it = peers_.find(to);
      if (it == peers_.end() || it->second.sock != s) return;
      outbound& q = it->second;
      q.writing = false;
      if (e) {
        reset(q);  // established before: reconnect at once
        return;
      }
      write(to, q);
    });
  }

  endpoint_options opts_;
  frame_handler on_frame_;
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  tcp::acceptor acceptor_;
  // With TLS: the contexts, made again when their files change.
  std::unique_ptr<net::tls_context_source> server_tls_, client_tls_;
  std::atomic<uint16_t> port_{0};
  std::thread thread_;
  std::once_flag accepting_;
  std::atomic<std::thread::id> thread_id_{};
  std::once_flag stopped_;
  bool stopping_ = false;                      // the endpoint's thread only
  clock_type::time_point next_refusal_log_{};  // the endpoint's thread only
  uint64_t refusals_unlogged_ = 0;
  std::map<int32_t, outbound> peers_;
  std::vector<std::weak_ptr<inbound>> inbound_;
  std::vector<std::shared_ptr<asio::steady_timer>> timers_;
  mutable std::mutex stats_mu_;
  endpoint_stats stats_;
};

void inbound::start() {
  tls_stream* tls = link_.tls();
  if (tls == nullptr) return read();
  auto self = shared_from_this();
  deadline_.expires_after(timeout_);
  deadline_.async_wait([self](const boost::system::error_code& ec) {
    if (!ec) self->close();  // a handshake this slow is no peer's
  });
  tls->async_handshake(asio::ssl::stream_base::server, [self, tls](const boost::system::error_code& ec) {
    self->deadline_.cancel();
    if (ec) {
      self->owner_.refused_peer("TLS handshake failed: " + net::openssl_error(ec.message()));
      return self->close();
    }
    const std::string subject = net::peer_subject(tls->native_handle());
    if (!self->owner_.accepts(subject)) {
      self->owner_.refused_peer("its certificate (" + subject + ") is not among the peers accepted");
      return self->close();
    }
    self->read();
  });
}

void inbound::read() {
  auto self = shared_from_this();
  link_.read_some(asio::buffer(buf_), [self](const boost::system::error_code& ec, size_t n) {
    if (ec) return;
    self->reader_.feed(std::span<const uint8_t>(self->buf_.data(), n));
    while (true) {
      auto f = self->reader_.next();
      if (!f) {
        self->owner_.bad_stream(f.error());
        self->close();
        return;
      }
      if (!*f) break;
      self->owner_.deliver(std::move(**f));
    }
    self->read();
  });
}

}  // namespace

result<std::unique_ptr<endpoint>> endpoint::start(const endpoint_options& opts, frame_handler on_frame) {
  auto e = std::make_unique<endpoint_impl>(opts, std::move(on_frame));
  if (auto s = e->listen(); !s) return s;
  return std::unique_ptr<endpoint>(std::move(e));
}

}  // namespace mosaic::rpc

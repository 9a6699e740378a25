#include "kernel/net/server.h"

#include <utility>
// Boost 1.74's Asio needs <utility> first under C++20 coroutines.
#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <cerrno>
#include <csignal>
#include <cstring>

#include "kernel/base/log.h"

namespace mosaic::net {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

struct counters {
  std::atomic<uint64_t> accepted{0}, refused{0}, oversized{0}, idle_closed{0}, open{0}, write_failed{0},
      handler_failed{0}, tls_failed{0};
};

using tls_stream = asio::ssl::stream<tcp::socket&>;
// A handshake not done in this time closes its connection.
constexpr auto tls_handshake_timeout = std::chrono::seconds(10);

// A peer that hangs up while its response is going out must cost that one
// connection. Asio sends with MSG_NOSIGNAL, but sendfile(2) has no such
// flag: the write to a closed socket raises SIGPIPE, which by default ends
// the process. So the server ignores it process-wide (mosaicd does so too,
// before any thread starts) and takes the EPIPE the call then returns.
void ignore_sigpipe() { std::signal(SIGPIPE, SIG_IGN); }

// Runs one network thread's io_context. An exception that escapes a
// handler (one that should have been caught nearer its connection) would
// otherwise leave the thread and std::terminate the whole broker: it is
// logged and counted, and the loop goes on serving the other connections.
void run_network_thread(asio::io_context& ioc, counters& stats) {
  for (;;) {
    try {
      ioc.run();
      return;
    } catch (const std::exception& e) {
      stats.handler_failed.fetch_add(1);
      log::error("network thread: a handler failed ({}); the node carries on", e.what());
    }
  }
}

class connection;

// One listener's traffic: bytes, connections, and a latency histogram per
// request kind and version, made the first time one is seen (a
// compare-and-swap; they live as long as the server).
struct listener_meter {
  static constexpr int kinds = 128;
  static constexpr int versions = 32;
  std::atomic<uint64_t> bytes_in{0}, bytes_out{0}, accepted{0}, open{0};
  std::array<std::atomic<metrics::histogram*>, static_cast<size_t>(kinds) * versions> requests{};

  listener_meter() = default;
  listener_meter(const listener_meter&) = delete;
  listener_meter& operator=(const listener_meter&) = delete;
  ~listener_meter() {
    for (auto& h : requests) delete h.load();
  }

  void observe(int16_t kind, int16_t version, std::chrono::nanoseconds took) {
    if (kind < 0 || kind >= kinds || version < 0 || version >= versions) return;
    auto& slot = requests[static_cast<size_t>(kind) * versions + static_cast<size_t>(version)];
    metrics::histogram* h = slot.load(std::memory_order_acquire);
    if (h == nullptr) {
      auto fresh = std::make_unique<metrics::histogram>();
      if (slot.compare_exchange_strong(h, fresh.get(), std::memory_order_acq_rel)) h = fresh.release();
    }
    h->observe(took);
  }
};

// queued.max.request.bytes: the bytes of request frames read and not yet
// answered, every connection together. A connection that cannot take what
// its next frame needs registers as a waiter and is woken (on its own
// thread) when bytes are given back.
class request_budget {
 public:
  explicit request_budget(size_t limit) : limit_(limit) {}
  // Takes `n` bytes, or registers `waiter` to be woken when some are given
  // back. Always succeeds when nothing is held.
  bool take_or_wait(size_t n, const std::shared_ptr<connection>& waiter);
  void give(size_t n);
  uint64_t used() const {
    std::lock_guard g(mu_);
    return used_;
  }
  uint64_t waits() const {
    std::lock_guard g(mu_);
    return waits_;
  }

 private:
  size_t limit_;
  mutable std::mutex mu_;
  size_t used_ = 0;
  uint64_t waits_ = 0;
  std::vector<std::weak_ptr<connection>> waiters_;
};

// The connection whose session is inside on_frame on this thread: a
// response given synchronously completes at once, on the thread it is
// already on, instead of a round trip through the io_context.
thread_local connection* in_frame_of = nullptr;

class connection : public std::enable_shared_from_this<connection> {
 public:
  connection(tcp::socket sock, const server_options& opts, counters& stats, listener_meter& meter,
             request_budget& budget, std::shared_ptr<asio::ssl::context> tls = nullptr)
      : sock_(std::move(sock)),
        opts_(opts),
        stats_(stats),
        meter_(meter),
        budget_(budget),
        resume_(sock_.get_executor()),
        idle_(sock_.get_executor()),
        tls_ctx_(std::move(tls)) {
    resume_.expires_at(std::chrono::steady_clock::time_point::max());
    if (tls_ctx_) tls_ = std::make_unique<tls_stream>(sock_, *tls_ctx_);
  }

  // On a TLS listener: the handshake first (in tls_handshake_timeout),
  // then the session `open` makes from the client certificate's subject
  // ("" for none); a null session refuses the connection.
  using session_for = std::function<std::unique_ptr<adapter::session>(const std::string& subject)>;
  void start_tls(session_for open) {
    auto self = shared_from_this();
    asio::co_spawn(
        sock_.get_executor(), [self, open = std::move(open)]() { return self->handshake(open); }, asio::detached);
  }

  void start(std::unique_ptr<adapter::session> s) {
    session_ = std::move(s);
    last_activity_ = std::chrono::steady_clock::now();
    auto self = shared_from_this();
    asio::co_spawn(
        sock_.get_executor(), [self]() { return self->read_loop(); }, asio::detached);
    if (opts_.idle_timeout_ms > 0)
      asio::co_spawn(
          sock_.get_executor(), [self]() { return self->idle_loop(); }, asio::detached);
  }

  // Called on the connection's thread.
  void complete(uint64_t seq, adapter::response payload, bool none, bool close_after) {
    for (auto& s : pending_)
      if (s.seq == seq && !s.done) {
        s.done = true;
        s.none = none;
        s.close_after = close_after;
        s.size = payload.size();
        queued_bytes_ += s.size;
        s.payload = std::move(payload);
        break;
      }
    write_next();
  }

  void shut() {
    if (closed_) return;
    closed_ = true;
    boost::system::error_code ec;
    sock_.shutdown(tcp::socket::shutdown_both, ec);
    sock_.close(ec);
    resume_.cancel();
    idle_.cancel();
  }

  asio::any_io_executor executor() { return sock_.get_executor(); }
  // Reads no frame before `until` (a throttled client); on this thread.
  void mute_until(std::chrono::steady_clock::time_point until) { muted_until_ = std::max(muted_until_, until); }
  // The request budget has room again: the reader re-checks (on this thread).
  void wake() { resume_.cancel(); }
  ~connection() {
    if (held_bytes_ > 0) budget_.give(held_bytes_);
    stats_.open.fetch_sub(1);
    meter_.open.fetch_sub(1, std::memory_order_relaxed);
  }

 private:
  struct slot {
    uint64_t seq = 0;
    bool done = false;
    bool none = false;
    bool close_after = false;
    uint64_t size = 0;
    uint64_t frame_bytes = 0;  // taken from the request budget
    adapter::response payload;
  };

  class reply : public adapter::responder {
   public:
    reply(std::shared_ptr<connection> c, uint64_t seq) : c_(std::move(c)), seq_(seq) {}
    ~reply() override {
      // A request dropped without an answer must not stall the ones behind it.
      if (!answered_.exchange(true)) post({}, true, false);
    }
    void respond(adapter::response payload) override {
      if (!answered_.exchange(true)) post(std::move(payload), false, false);
    }
    void no_response() override {
      if (!answered_.exchange(true)) post({}, true, false);
    }
    void close() override {
      if (!answered_.exchange(true)) post({}, true, true);
    }
    void respond_then_close(adapter::response payload) override {
      if (!answered_.exchange(true)) post(std::move(payload), false, true);
    }
    void throttle(int64_t ms) override {
      if (ms <= 0) return;
      const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
      auto c = c_;
      if (in_frame_of == c.get()) return c->mute_until(until);
      asio::post(c->executor(), [c, until] { c->mute_until(until); });
    }

    // The session names the request as it starts on it (on_frame, right
    // after the frame was read): the clock starts here.
    void describe(int16_t kind, int16_t version) override {
      if (!c_->opts_.time_requests) return;
      kind_ = kind;
      version_ = version;
      began_ = std::chrono::steady_clock::now();
    }

   private:
    void post(adapter::response payload, bool none, bool close_after) {
      if (kind_ >= 0) c_->meter_.observe(kind_, version_, std::chrono::steady_clock::now() - began_);
      if (in_frame_of == c_.get()) return c_->complete(seq_, std::move(payload), none, close_after);
      auto c = c_;
      const uint64_t seq = seq_;
      asio::post(c->executor(), [c, seq, p = std::move(payload), none, close_after]() mutable {
        c->complete(seq, std::move(p), none, close_after);
      });
    }
    std::shared_ptr<connection> c_;
    uint64_t seq_;
    std::chrono::steady_clock::time_point began_;
    // Set by the session before it answers (describe's contract), read by
    // whichever thread answers: the answer is handed over after it.
    int16_t kind_ = -1;
    int16_t version_ = 0;
    std::atomic<bool> answered_{false};
  };

  bool must_pause() const {
    return pending_.size() >= opts_.max_inflight_per_connection || queued_bytes_ > opts_.max_queued_response_bytes;
  }

  asio::awaitable<void> handshake(session_for open) {
    idle_.expires_after(tls_handshake_timeout);
    idle_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      if (!ec && !self->session_) {
        self->stats_.tls_failed.fetch_add(1);
        log::info("closing a connection whose TLS handshake did not finish in {} s",
                  std::chrono::duration_cast<std::chrono::seconds>(tls_handshake_timeout).count());
        self->shut();
      }
    });
    boost::system::error_code ec;
    co_await tls_->async_handshake(asio::ssl::stream_base::server, asio::redirect_error(asio::use_awaitable, ec));
    if (closed_) co_return;
    if (ec) {
      stats_.tls_failed.fetch_add(1);
      log::info("a TLS handshake failed: {}", openssl_error(ec.message()));
      co_return shut();
    }
    auto s = open(peer_subject(tls_->native_handle()));
    idle_.cancel();
    if (!s) {
      stats_.tls_failed.fetch_add(1);
      co_return shut();
    }
    start(std::move(s));
  }

  // Reads exactly `b`'s bytes, through TLS on a TLS listener.
  asio::awaitable<void> read_exact(asio::mutable_buffer b) {
    if (tls_)
      co_await asio::async_read(*tls_, b, asio::use_awaitable);
    else
      co_await asio::async_read(sock_, b, asio::use_awaitable);
  }
  template <class Buffers>
  asio::awaitable<void> write_all(const Buffers& b) {
    if (tls_)
      co_await asio::async_write(*tls_, b, asio::use_awaitable);
    else
      co_await asio::async_write(sock_, b, asio::use_awaitable);
  }

  // Waits while too much is in flight on this connection; false once it
  // closed.
  asio::awaitable<bool> wait_for_turn() {
    while (must_pause() && !closed_) {
      boost::system::error_code ec;
      resume_.expires_at(std::chrono::steady_clock::time_point::max());
      co_await resume_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    co_return !closed_;
  }
  // Takes `size` bytes from the request budget, waiting for room (a client
  // sending large requests faster than they are answered waits here, in
  // the kernel's socket buffers, then its own, not in our heap); false
  // once the connection closed.
  asio::awaitable<bool> take_budget(size_t size) {
    while (!budget_.take_or_wait(size, shared_from_this()) && !closed_) {
      boost::system::error_code ec;
      resume_.expires_at(std::chrono::steady_clock::time_point::max());
      co_await resume_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    if (closed_) co_return false;
    held_bytes_ += size;
    co_return true;
  }
  // A throttled client's request waits until its mute ends (KIP-219's
  // muted channel: it may have been read already when the mute began);
  // false once the connection closed.
  asio::awaitable<bool> wait_out_mute() {
    while (std::chrono::steady_clock::now() < muted_until_ && !closed_) {
      boost::system::error_code ec;
      resume_.expires_at(muted_until_);
      co_await resume_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    co_return !closed_;
  }
  // Gives a whole request to the session, its answer's place kept in line.
  void hand_over(std::vector<uint8_t> frame, size_t size) {
    last_activity_ = std::chrono::steady_clock::now();
    const uint64_t seq = next_seq_++;
    slot s;
    s.seq = seq;
    s.frame_bytes = size;
    pending_.push_back(std::move(s));
    struct in_frame {
      explicit in_frame(connection* c) { in_frame_of = c; }
      ~in_frame() { in_frame_of = nullptr; }
    } mark(this);
    session_->on_frame(std::move(frame), std::make_shared<reply>(shared_from_this(), seq));
  }

  asio::awaitable<void> read_loop() {
    if (session_->frames() == adapter::framing::by_session) {
      prefix_len_ = 0;
      co_return co_await scan_loop();
    }
    try {
      for (;;) {
        if (!co_await wait_for_turn()) co_return;
        uint8_t size_bytes[4];
        co_await read_exact(asio::buffer(size_bytes));
        const int32_t size = static_cast<int32_t>((uint32_t{size_bytes[0]} << 24) | (uint32_t{size_bytes[1]} << 16) |
                                                  (uint32_t{size_bytes[2]} << 8) | uint32_t{size_bytes[3]});
        // The session may hold its frames to less (a connection that has
        // not authenticated yet).
        const size_t limit = std::min(opts_.max_request_bytes, session_->max_frame_bytes());
        if (size < 0 || static_cast<size_t>(size) > limit) {
          stats_.oversized.fetch_add(1);
          log::debug("closing a connection that sent a frame of {} bytes (limit {})", size, limit);
          shut();
          co_return;
        }
        // Room in the request budget before the body is read.
        if (!co_await take_budget(static_cast<size_t>(size))) co_return;
        std::vector<uint8_t> frame(static_cast<size_t>(size));
        co_await read_exact(asio::buffer(frame));
        meter_.bytes_in.fetch_add(4 + static_cast<uint64_t>(size), std::memory_order_relaxed);
        if (!co_await wait_out_mute()) co_return;
        hand_over(std::move(frame), static_cast<size_t>(size));
      }
    } catch (const std::exception&) {
      // The peer went away or sent a truncated frame: this connection ends.
    }
    shut();
  }

  // framing::by_session: reads what arrives and hands over each request
  // the session finds in it (HTTP's pipelined requests among them).
  asio::awaitable<void> scan_loop() {
    std::vector<uint8_t> in;  // read and not yet handed over: [0, used)
    size_t used = 0;
    try {
      for (;;) {
        if (!co_await wait_for_turn()) co_return;
        const auto found =
            used == 0 ? adapter::frame_scan{} : session_->scan(std::span<const uint8_t>(in.data(), used));
        if (found.st == adapter::frame_scan::state::more ||
            (found.st == adapter::frame_scan::state::frame && (found.length == 0 || found.length > used))) {
          const size_t limit = std::min(opts_.max_request_bytes, session_->max_frame_bytes());
          if (used >= limit) {
            stats_.oversized.fetch_add(1);
            log::debug("closing a connection that sent {} bytes without a whole request (limit {})", used, limit);
            shut();
            co_return;
          }
          if (in.size() - used < 4096)
            in.resize(std::min(std::max(in.size() * 2, used + 16384), limit == SIZE_MAX ? limit : limit + 1));
          size_t n = 0;
          if (tls_)
            n = co_await tls_->async_read_some(asio::buffer(in.data() + used, in.size() - used), asio::use_awaitable);
          else
            n = co_await sock_.async_read_some(asio::buffer(in.data() + used, in.size() - used), asio::use_awaitable);
          used += n;
          meter_.bytes_in.fetch_add(n, std::memory_order_relaxed);
          last_activity_ = std::chrono::steady_clock::now();
          continue;
        }
        const bool last = found.st == adapter::frame_scan::state::refuse;
        const size_t size = last ? used : found.length;
        if (!co_await take_budget(size)) co_return;
        if (!co_await wait_out_mute()) co_return;
        std::vector<uint8_t> frame(in.begin(), in.begin() + static_cast<std::ptrdiff_t>(size));
        std::memmove(in.data(), in.data() + size, used - size);
        used -= size;
        if (in.size() > 65536 && used < in.size() / 4) in.resize(std::max<size_t>(used, 16384));
        hand_over(std::move(frame), size);
        if (last) co_return;  // the session's answer closes the connection
      }
    } catch (const std::exception&) {
      // The peer went away: this connection ends.
    }
    shut();
  }

  asio::awaitable<void> idle_loop() {
    const auto timeout = std::chrono::milliseconds(opts_.idle_timeout_ms);
    while (!closed_) {
      boost::system::error_code ec;
      idle_.expires_after(timeout);
      co_await idle_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      if (closed_) co_return;
      if (pending_.empty() && std::chrono::steady_clock::now() - last_activity_ >= timeout) {
        stats_.idle_closed.fetch_add(1);
        shut();
      }
    }
  }

  // Writes completed responses in request order, one at a time.
  void write_next() {
    while (!writing_ && !pending_.empty() && pending_.front().done) {
      slot& s = pending_.front();
      if (s.none) {
        const bool close_after = s.close_after;
        release(s);
        pending_.pop_front();
        if (close_after) return shut();
        continue;
      }
      writing_ = true;
      const auto n = static_cast<uint32_t>(s.size);
      prefix_ = {static_cast<uint8_t>(n >> 24), static_cast<uint8_t>(n >> 16), static_cast<uint8_t>(n >> 8),
                 static_cast<uint8_t>(n)};
      auto self = shared_from_this();
      if (!s.payload.files.empty()) {
        asio::co_spawn(
            sock_.get_executor(), [self]() { return self->write_spliced(); }, asio::detached);
        return;
      }
      std::array<asio::const_buffer, 2> bufs{asio::buffer(prefix_.data(), prefix_len_), asio::buffer(s.payload.bytes)};
      auto done = [self](const boost::system::error_code& ec, size_t) {
        if (ec) return self->write_failed(ec.message());
        self->written();
      };
      if (tls_)
        asio::async_write(*tls_, bufs, done);
      else
        asio::async_write(sock_, bufs, done);
      return;
    }
    if (!must_pause()) resume_.cancel();
  }

  // A request is answered: its frame's bytes go back to the budget.
  void release(slot& s) {
    if (s.frame_bytes == 0) return;
    held_bytes_ -= s.frame_bytes;
    budget_.give(s.frame_bytes);
    s.frame_bytes = 0;
  }

  // A response could not be written (the peer closed or reset the
  // connection): this connection ends, counted, and nothing else does.
  // (Counted also when the reader saw the hang-up first and closed the
  // socket under the write.)
  void write_failed(const std::string& why) {
    stats_.write_failed.fetch_add(1);
    log::debug("closing a connection whose response could not be written: {}", why);
    shut();
  }

  // The front response is on the wire: on to the next one.
  void written() {
    writing_ = false;
    meter_.bytes_out.fetch_add(prefix_len_ + pending_.front().size, std::memory_order_relaxed);
    queued_bytes_ -= pending_.front().size;
    const bool close_after = pending_.front().close_after;
    release(pending_.front());
    pending_.pop_front();
    if (close_after) return shut();
    last_activity_ = std::chrono::steady_clock::now();
    if (!must_pause()) resume_.cancel();
    write_next();
  }

  // The front response, with file ranges: bytes by async_write, ranges by
  // sendfile, waiting for the socket to drain when it would block.
  // The socket is corked for the whole frame, so the size prefix, the
  // header and the bytes between ranges ride in full segments with the
  // file's data instead of each going out (and waking the client) as a
  // small packet of its own; uncorking sends the frame's last segment.
  asio::awaitable<void> write_spliced() {
    auto self = shared_from_this();  // kept alive for the whole write
    const adapter::response& r = pending_.front().payload;
    if (tls_) co_return co_await write_spliced_tls();
    try {
      cork(true);
      size_t at = r.files.front().at;
      co_await asio::async_write(sock_,
                                 std::array<asio::const_buffer, 2>{asio::buffer(prefix_.data(), prefix_len_),
                                                                   asio::buffer(r.bytes.data(), at)},
                                 asio::use_awaitable);
      for (const auto& f : r.files) {
        if (f.at > at)
          co_await asio::async_write(sock_, asio::buffer(r.bytes.data() + at, f.at - at), asio::use_awaitable);
        at = f.at;
        if (!co_await send_file(f.range)) co_return;
      }
      if (r.bytes.size() > at)
        co_await asio::async_write(sock_, asio::buffer(r.bytes.data() + at, r.bytes.size() - at), asio::use_awaitable);
      cork(false);
    } catch (const std::exception& e) {
      co_return write_failed(e.what());
    }
    if (closed_) co_return;
    written();
  }

  // The same through TLS: the file ranges are read and encrypted here
  // (sendfile cannot encrypt), a chunk at a time.
  asio::awaitable<void> write_spliced_tls() {
    const adapter::response& r = pending_.front().payload;
    try {
      size_t at = r.files.front().at;
      co_await write_all(std::array<asio::const_buffer, 2>{asio::buffer(prefix_.data(), prefix_len_),
                                                           asio::buffer(r.bytes.data(), at)});
      std::vector<uint8_t> chunk;
      for (const auto& f : r.files) {
        if (f.at > at) co_await write_all(asio::buffer(r.bytes.data() + at, f.at - at));
        at = f.at;
        uint64_t offset = f.range.offset;
        uint64_t left = f.range.length;
        while (left > 0) {
          chunk.resize(static_cast<size_t>(std::min<uint64_t>(left, 256 * 1024)));
          const ssize_t n = ::pread(f.range.fd, chunk.data(), chunk.size(), static_cast<off_t>(offset));
          if (n <= 0) {
            if (n < 0 && errno == EINTR) continue;
            log::warn("reading {} bytes for a TLS response stopped with {} left: {}", f.range.length, left,
                      n == 0 ? "end of file" : std::strerror(errno));
            shut();
            co_return;
          }
          co_await write_all(asio::buffer(chunk.data(), static_cast<size_t>(n)));
          offset += static_cast<uint64_t>(n);
          left -= static_cast<uint64_t>(n);
        }
      }
      if (r.bytes.size() > at) co_await write_all(asio::buffer(r.bytes.data() + at, r.bytes.size() - at));
    } catch (const std::exception& e) {
      co_return write_failed(e.what());
    }
    if (closed_) co_return;
    written();
  }

  void cork(bool on) {
    const int v = on ? 1 : 0;
    (void)::setsockopt(sock_.native_handle(), IPPROTO_TCP, TCP_CORK, &v, sizeof v);
  }

  asio::awaitable<bool> send_file(const adapter::file_range& range) {
    sock_.native_non_blocking(true);
    off_t offset = static_cast<off_t>(range.offset);
    uint64_t left = range.length;
    while (left > 0) {
      const ssize_t n = ::sendfile(sock_.native_handle(), range.fd, &offset, left);
      if (n > 0) {
        left -= static_cast<uint64_t>(n);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        co_await sock_.async_wait(tcp::socket::wait_write, asio::use_awaitable);
        continue;
      }
      if (n < 0 && (errno == EPIPE || errno == ECONNRESET)) {
        write_failed(std::strerror(errno));  // the client hung up mid-response
        co_return false;
      }
      // n == 0: the file is shorter than the range (it was truncated or
      // deleted under us); the frame cannot be completed.
      log::warn("sendfile of {} bytes stopped with {} left: {}", range.length, left,
                n == 0 ? "end of file" : std::strerror(errno));
      shut();
      co_return false;
    }
    co_return true;
  }

  tcp::socket sock_;
  const server_options& opts_;
  counters& stats_;
  listener_meter& meter_;
  request_budget& budget_;
  size_t held_bytes_ = 0;  // taken from budget_ and not yet given back
  std::unique_ptr<adapter::session> session_;
  asio::steady_timer resume_;
  asio::steady_timer idle_;
  std::deque<slot> pending_;
  uint64_t next_seq_ = 0;
  size_t queued_bytes_ = 0;
  bool writing_ = false;
  bool closed_ = false;
  std::array<uint8_t, 4> prefix_{};
  size_t prefix_len_ = 4;  // 0 with framing::by_session: responses go out as they are
  std::chrono::steady_clock::time_point last_activity_;
  std::chrono::steady_clock::time_point muted_until_{};  // a throttled client's next frame waits until then
  std::shared_ptr<asio::ssl::context> tls_ctx_;          // kept while the stream uses it
  std::unique_ptr<tls_stream> tls_;                      // on a TLS listener
};

bool request_budget::take_or_wait(size_t n, const std::shared_ptr<connection>& waiter) {
  std::lock_guard g(mu_);
  if (used_ == 0 || (used_ + n >= used_ && used_ + n <= limit_)) {
    used_ += n;
    return true;
  }
  ++waits_;
  waiters_.push_back(waiter);
  return false;
}

void request_budget::give(size_t n) {
  std::vector<std::weak_ptr<connection>> wake;
  {
    std::lock_guard g(mu_);
    used_ -= std::min(n, used_);
    wake.swap(waiters_);
  }
  // Each waiter re-checks on its own thread; one that still does not fit
  // registers again.
  for (auto& w : wake)
    if (auto c = w.lock()) asio::post(c->executor(), [c] { c->wake(); });
}

}  // namespace

struct server::impl {
  // Declared before the io_context: connections destroyed with it use them.
  server_options opts;
  counters stats;
  std::unique_ptr<request_budget> budget;
  std::vector<std::unique_ptr<listener_meter>> meters;  // one per listener
  // One io_context per network thread: a connection lives on one of them
  // (round robin at accept) and all its work runs on that thread, so its
  // reads, on_frame calls and writes never hand over between threads.
  // Listeners accept on the first.
  std::vector<std::unique_ptr<asio::io_context>> iocs;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> work;
  size_t next_ioc = 0;
  struct bound {
    listener_spec spec;
    std::unique_ptr<tcp::acceptor> acceptor;
    std::unique_ptr<tls_context_source> tls;  // on an SSL or SASL_SSL listener
    listener_meter* meter = nullptr;          // in meters
  };
  std::vector<bound> listeners;
  std::vector<std::thread> threads;
  std::mutex conns_mu;
  std::vector<std::weak_ptr<connection>> conns;
  bool stopped = false;

  asio::awaitable<void> accept_loop(bound& b) {
    for (;;) {
      boost::system::error_code ec;
      auto& target = *iocs[next_ioc++ % iocs.size()];
      tcp::socket sock = co_await b.acceptor->async_accept(target, asio::redirect_error(asio::use_awaitable, ec));
      if (ec) {
        if (ec == asio::error::operation_aborted || !b.acceptor->is_open()) co_return;
        continue;
      }
      if (stats.open.load() >= opts.max_connections) {
        stats.refused.fetch_add(1);
        sock.close(ec);
        continue;
      }
      stats.accepted.fetch_add(1);
      stats.open.fetch_add(1);
      sock.set_option(tcp::no_delay(true), ec);
      adapter::peer p;
      auto remote = sock.remote_endpoint(ec);
      p.address = ec ? "?" : remote.address().to_string() + ":" + std::to_string(remote.port());
      p.listener = b.spec.name;
      auto local = b.acceptor->local_endpoint(ec);
      p.local_host = b.spec.host;
      p.local_port = ec ? b.spec.port : local.port();
      b.meter->accepted.fetch_add(1, std::memory_order_relaxed);
      b.meter->open.fetch_add(1, std::memory_order_relaxed);
      auto c = std::make_shared<connection>(std::move(sock), opts, stats, *b.meter, *budget,
                                            b.tls ? b.tls->current() : nullptr);
      {
        std::lock_guard lock(conns_mu);
        std::erase_if(conns, [](const auto& w) { return w.expired(); });
        conns.push_back(c);
      }
      if (!b.tls) {
        c->start(b.spec.adapter->open_session(p));
        continue;
      }
      p.tls = true;
      c->start_tls([p, adapter = b.spec.adapter, map = b.tls->settings().principal_of](
                       const std::string& subject) mutable -> std::unique_ptr<adapter::session> {
        if (!subject.empty()) {
          auto name = map ? map(subject) : std::optional<std::string>(subject);
          if (!name) {
            log::info("listener {}: refusing {}: no ssl.principal.mapping.rules rule matches certificate subject {}",
                      p.listener, p.address, subject);
            return nullptr;
          }
          p.tls_principal = *name;
        }
        return adapter->open_session(p);
      });
    }
  }
};

server::server(std::unique_ptr<impl> i) : impl_(std::move(i)) {}

server::~server() { stop(); }

result<std::unique_ptr<server>> server::start(std::vector<listener_spec> listeners, server_options options) {
  ignore_sigpipe();
  auto i = std::make_unique<impl>();
  i->opts = options;
  i->budget = std::make_unique<request_budget>(options.max_queued_request_bytes);
  for (auto& spec : listeners) {
    boost::system::error_code ec;
    auto address = asio::ip::make_address(spec.host, ec);
    if (ec) return status(errc::config, "listener " + spec.name + ": bad host '" + spec.host + "'");
    if (i->iocs.empty())
      for (int t = 0; t < std::max(1, options.network_threads); ++t)
        i->iocs.push_back(std::make_unique<asio::io_context>(1));
    auto acceptor = std::make_unique<tcp::acceptor>(*i->iocs[0]);
    tcp::endpoint ep(address, spec.port);
    acceptor->open(ep.protocol(), ec);
    if (!ec) acceptor->set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) acceptor->bind(ep, ec);
    if (!ec) acceptor->listen(asio::socket_base::max_listen_connections, ec);
    if (ec)
      return status(errc::io, "listener " + spec.name + " on " + spec.host + ":" + std::to_string(spec.port) + ": " +
                                  ec.message());
    std::unique_ptr<tls_context_source> tls;
    if (spec.tls) {
      auto source = tls_context_source::make(*spec.tls, tls_role::server, "listener " + spec.name);
      if (!source) return status(source.error().code(), "listener " + spec.name + ": " + source.error().message());
      tls = std::move(*source);
    }
    i->meters.push_back(std::make_unique<listener_meter>());
    i->listeners.push_back({std::move(spec), std::move(acceptor), std::move(tls), i->meters.back().get()});
  }
  if (i->iocs.empty()) i->iocs.push_back(std::make_unique<asio::io_context>(1));
  for (auto& b : i->listeners) asio::co_spawn(*i->iocs[0], i->accept_loop(b), asio::detached);
  for (auto& ioc : i->iocs) {
    i->work.push_back(asio::make_work_guard(*ioc));
    i->threads.emplace_back([ioc = ioc.get(), stats = &i->stats] { run_network_thread(*ioc, *stats); });
  }
  return std::unique_ptr<server>(new server(std::move(i)));
}

uint16_t server::bound_port(const std::string& listener) const {
  for (const auto& b : impl_->listeners)
    if (b.spec.name == listener) {
      boost::system::error_code ec;
      auto ep = b.acceptor->local_endpoint(ec);
      return ec ? 0 : ep.port();
    }
  return 0;
}

server_stats server::stats() const {
  return {impl_->stats.accepted.load(),
          impl_->stats.refused.load(),
          impl_->stats.oversized.load(),
          impl_->stats.idle_closed.load(),
          impl_->stats.open.load(),
          impl_->stats.write_failed.load(),
          impl_->stats.handler_failed.load(),
          impl_->budget->used(),
          impl_->budget->waits(),
          impl_->stats.tls_failed.load(),
          tls_reloads()};
}

std::vector<listener_metrics> server::metrics() const {
  std::vector<listener_metrics> out;
  for (const auto& b : impl_->listeners) {
    const listener_meter& m = *b.meter;
    listener_metrics l;
    l.listener = b.spec.name;
    l.adapter = b.spec.adapter;
    l.bytes_received = m.bytes_in.load(std::memory_order_relaxed);
    l.bytes_sent = m.bytes_out.load(std::memory_order_relaxed);
    l.connections_accepted = m.accepted.load(std::memory_order_relaxed);
    l.connections_open = m.open.load(std::memory_order_relaxed);
    for (size_t i = 0; i < m.requests.size(); ++i)
      if (const auto* h = m.requests[i].load(std::memory_order_acquire))
        l.requests.push_back({static_cast<int16_t>(i / listener_meter::versions),
                              static_cast<int16_t>(i % listener_meter::versions), h->snapshot()});
    out.push_back(std::move(l));
  }
  return out;
}

uint64_t server::tls_reloads() const {
  uint64_t n = 0;
  for (const auto& b : impl_->listeners)
    if (b.tls) n += b.tls->reloads();
  return n;
}

status server::reload_tls() {
  status first;
  for (auto& b : impl_->listeners)
    if (b.tls)
      if (auto s = b.tls->reload(); !s.ok() && first.ok()) first = s;
  return first;
}

void server::stop() {
  if (!impl_ || impl_->stopped) return;
  impl_->stopped = true;
  for (auto& b : impl_->listeners) {
    auto* a = b.acceptor.get();
    asio::post(*impl_->iocs[0], [a] {
      boost::system::error_code ec;
      a->close(ec);
    });
  }
  {
    std::lock_guard lock(impl_->conns_mu);
    for (auto& w : impl_->conns)
      if (auto c = w.lock()) asio::post(c->executor(), [c] { c->shut(); });
  }
  impl_->work.clear();
  // Give the closes a moment to run, then stop whatever is left.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (impl_->stats.open.load() > 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  for (auto& ioc : impl_->iocs) ioc->stop();
  for (auto& t : impl_->threads) t.join();
  impl_->threads.clear();
}

}  // namespace mosaic::net

// The HTTP adapter: each connection's session finds its requests with the
// scanner (framing::by_session), authenticates them on the listener's
// terms, and hands them to the API on the adapter's workers.
#include "plugins/protocol_http/http_adapter.h"

#include <algorithm>
#include <chrono>
#include <memory>
#include <mutex>
#include <utility>

#include "mosaic/sdk/delay_queue.h"
#include "mosaic/sdk/task_queue.h"
#include "plugins/protocol_http/base64.h"

namespace mosaic::http {

namespace {

// What the adapter shares with its sessions.
struct shared_state {
  adapter::adapter_context ctx;
  options opts;
  std::unique_ptr<api> routes;
  std::unique_ptr<sdk::task_queue> workers;
  std::unique_ptr<sdk::task_queue> auth;  // password hashes, off the network threads
  std::unique_ptr<sdk::delay_queue> delays;
  std::atomic<uint64_t> authentications{0}, authentication_failures{0};
};

class http_session : public adapter::session {
 public:
  http_session(std::shared_ptr<shared_state> s, const adapter::peer& p)
      : state_(std::move(s)),
        peer_(p),
        scanner_({state_->opts.max_header_bytes, state_->opts.max_body_bytes}),
        host_(p.address.substr(0, p.address.rfind(':'))) {
    if (!peer_.tls_principal.empty()) auth_->who.name = peer_.tls_principal;
  }

  adapter::framing frames() const override { return adapter::framing::by_session; }

  adapter::frame_scan scan(std::span<const uint8_t> buffered) override {
    auto r = scanner_.scan(buffered);
    if (r.what == scanner::found::request) {
      ready_ = scanner_.take();
      return {adapter::frame_scan::state::frame, r.length};
    }
    if (r.what == scanner::found::bad) return {adapter::frame_scan::state::refuse, 0};
    return {};
  }

  size_t max_frame_bytes() const override { return state_->opts.max_body_bytes + state_->opts.max_header_bytes + 1024; }

  void on_frame(std::vector<uint8_t> frame, std::shared_ptr<adapter::responder> reply) override {
    (void)frame;  // the scanner kept what it parsed
    if (!ready_) {
      auto r = scanner_.refusal();
      reply->describe(0, 0);
      return reply->respond_then_close(adapter::response{serialize(r, false), {}});
    }
    auto c = std::make_shared<call>();
    c->req = std::move(*ready_);
    ready_.reset();
    c->host = host_;
    reply->describe(kind_of(c->req.method), 0);
    const bool head = c->req.head, keep_alive = c->req.keep_alive;
    auto answer = [reply, head, keep_alive](http::reply r) {
      if (!keep_alive) r.close = true;
      const bool close = r.close;
      auto bytes = serialize(r, head);
      if (close)
        reply->respond_then_close(adapter::response{std::move(bytes), {}});
      else
        reply->respond(std::move(bytes));
    };
    if (!state_->ctx.security.sasl()) {
      c->who = auth_->who;
      return dispatch(state_, c, std::move(answer));
    }
    authenticate(c, std::move(answer));
  }

 private:
  // Request kinds for the metrics: one per method.
  static int16_t kind_of(const std::string& m) {
    if (m == "GET") return 0;
    if (m == "HEAD") return 1;
    if (m == "POST") return 2;
    if (m == "PUT") return 3;
    if (m == "DELETE") return 4;
    return 5;
  }

  static void dispatch(const std::shared_ptr<shared_state>& s, const std::shared_ptr<call>& c, done_fn answer) {
    s->workers->post([s, c, answer = std::move(answer)]() mutable {
      try {
        s->routes->serve(c, std::move(answer));
      } catch (const std::exception& e) {
        answer(error_reply(500, "unknown_server_error", e.what()));
      }
    });
  }

  // SASL listeners: Basic credentials go to the PLAIN authenticator, a
  // Bearer token to OAUTHBEARER's. A connection remembers the last
  // credentials that passed, so keep-alive requests are not hashed again.
  void authenticate(const std::shared_ptr<call>& c, done_fn answer) {
    const std::string& header = c->req.authorization;
    auto challenge = [s = state_](const std::string& why) {
      auto r = error_reply(401, "unauthenticated", why);
      const auto enabled = s->ctx.security.mechanisms->enabled();
      if (std::find(enabled.begin(), enabled.end(), "PLAIN") != enabled.end())
        r.headers.emplace_back("WWW-Authenticate", "Basic realm=\"mosaic\"");
      if (std::find(enabled.begin(), enabled.end(), "OAUTHBEARER") != enabled.end())
        r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"mosaic\"");
      return r;
    };
    {
      std::lock_guard g(auth_->mu);
      if (!header.empty() && header == auth_->passed_header) {
        c->who = auth_->who;
        return dispatch(state_, c, std::move(answer));
      }
    }
    std::string mechanism, message;
    if (header.rfind("Basic ", 0) == 0) {
      auto decoded = base64_decode(header.substr(6));
      const auto colon = decoded ? decoded->find(':') : std::string::npos;
      if (colon == std::string::npos) return answer(challenge("malformed Basic credentials"));
      mechanism = "PLAIN";
      message = std::string(1, '\0') + decoded->substr(0, colon) + '\0' + decoded->substr(colon + 1);
    } else if (header.rfind("Bearer ", 0) == 0) {
      mechanism = "OAUTHBEARER";
      message =
          "n,,\x01"
          "auth=Bearer " +
          header.substr(7) + "\x01\x01";
    } else {
      return answer(challenge(header.empty() ? "this listener needs credentials (Basic or Bearer)"
                                             : "Authorization is Basic or Bearer"));
    }
    auto exchange = state_->ctx.security.mechanisms->begin(mechanism, peer_, "");
    if (!exchange) return answer(challenge(mechanism + " is not enabled on this listener"));
    auto s = state_;
    std::shared_ptr<adapter::sasl_exchange> ex(std::move(exchange));
    auto a = auth_;
    s->auth->post([a, s, ex, c, header, message, challenge, answer = std::move(answer)]() mutable {
      auto step = ex->step(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(message.data()), message.size()));
      if (step.st != adapter::sasl_step::state::success) {
        s->authentication_failures.fetch_add(1, std::memory_order_relaxed);
        const std::string why = step.message.empty() ? "authentication failed" : step.message;
        // Late, as Kafka answers a failed authentication: guessing is slow.
        return s->delays->post_after(std::chrono::milliseconds(s->ctx.security.failed_auth_delay_ms),
                                     [answer = std::move(answer), r = challenge(why)]() mutable { answer(r); });
      }
      s->authentications.fetch_add(1, std::memory_order_relaxed);
      {
        std::lock_guard g(a->mu);
        a->who.name = step.principal;
        a->passed_header = header;
        c->who = a->who;
      }
      dispatch(s, c, std::move(answer));
    });
  }

  std::shared_ptr<shared_state> state_;
  adapter::peer peer_;
  scanner scanner_;
  std::optional<request> ready_;  // what scan() found, for on_frame
  std::string host_;
  // Who the connection acts for; set on the auth worker, which may still
  // run after the connection closed (hence shared).
  struct auth_state {
    std::mutex mu;
    adapter::principal who;
    std::string passed_header;  // the last Authorization that passed
  };
  std::shared_ptr<auth_state> auth_ = std::make_shared<auth_state>();
};

class http_adapter : public adapter::protocol_adapter {
 public:
  http_adapter(const adapter::adapter_context& ctx, options o) : state_(std::make_shared<shared_state>()) {
    state_->ctx = ctx;
    state_->opts = o;
    state_->routes = std::make_unique<api>(ctx, o);
    state_->workers = std::make_unique<sdk::task_queue>(o.workers);
    state_->auth = std::make_unique<sdk::task_queue>(1);
    state_->delays = std::make_unique<sdk::delay_queue>();
  }
  ~http_adapter() override {
    // The workers first (they call into the API), then the API.
    state_->workers->stop();
    state_->auth->stop();
    state_->delays->stop();
    state_->routes.reset();
  }

  std::unique_ptr<adapter::session> open_session(const adapter::peer& p) override {
    return std::make_unique<http_session>(state_, p);
  }
  const char* request_name(int16_t kind) const override {
    static constexpr const char* names[] = {"GET", "HEAD", "POST", "PUT", "DELETE", "OTHER"};
    return kind >= 0 && kind < 6 ? names[kind] : nullptr;
  }
  adapter::adapter_stats stats() const override {
    return {state_->authentications.load(std::memory_order_relaxed),
            state_->authentication_failures.load(std::memory_order_relaxed)};
  }

 private:
  std::shared_ptr<shared_state> state_;
};

}  // namespace

std::shared_ptr<adapter::protocol_adapter> make_adapter(const adapter::adapter_context& context, options o) {
  return std::make_shared<http_adapter>(context, o);
}

}  // namespace mosaic::http

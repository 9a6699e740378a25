#include "kernel/app/ops_http.h"

#include <utility>
// Boost 1.74's Asio needs <utility> first under C++20 coroutines.
#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <mutex>
#include <thread>

#include "kernel/base/log.h"

namespace mosaic::app {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;

namespace {

constexpr size_t max_body_bytes = 64 * 1024;
constexpr size_t max_header_bytes = 16 * 1024;
constexpr auto idle_timeout = std::chrono::seconds(30);
constexpr uint64_t max_connections = 128;

std::string json_escaped(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += c;
        }
    }
  }
  return out;
}

std::string json_error(std::string_view code, std::string_view message) {
  return R"({"error":{"code":")" + json_escaped(code) + R"(","message":")" + json_escaped(message) + "\"}}\n";
}

using response = http::response<http::string_body>;

response make(http::status st, std::string_view type, std::string body, unsigned version, bool keep_alive) {
  response r{st, version};
  r.set(http::field::server, "mosaicd");
  r.set(http::field::content_type, beast::string_view(type.data(), type.size()));
  r.set(http::field::cache_control, "no-store");
  r.keep_alive(keep_alive);
  r.body() = std::move(body);
  r.prepare_payload();
  return r;
}

}  // namespace

struct ops_http::impl {
  ops_routes routes;
  asio::io_context ioc{1};
  std::vector<std::pair<std::string, std::unique_ptr<tcp::acceptor>>> acceptors;
  std::thread thread;
  std::atomic<uint64_t> open{0};  // connections now
  std::mutex conns_mu;
  std::vector<std::weak_ptr<beast::tcp_stream>> conns;
  bool stopped = false;

  response answer(const http::request<http::string_body>& req) {
    const unsigned v = req.version();
    const bool keep = req.keep_alive();
    const std::string target(req.target());
    const std::string path = target.substr(0, target.find('?'));
    const bool known = path == "/metrics" || path == "/health" || path == "/ready";
    if (!known)
      return make(http::status::not_found, "application/json",
                  json_error("not_found", "no endpoint " + path + " (this listener serves /metrics, /health, /ready)"),
                  v, keep);
    if (req.method() != http::verb::get && req.method() != http::verb::head) {
      auto r = make(http::status::method_not_allowed, "application/json",
                    json_error("method_not_allowed", path + " is read-only: use GET or HEAD"), v, keep);
      r.set(http::field::allow, "GET, HEAD");
      return r;
    }
    if (path == "/health") return make(http::status::ok, "application/json", "{\"status\":\"alive\"}\n", v, keep);
    if (path == "/ready") {
      auto [ok, why] = routes.ready();
      if (ok) return make(http::status::ok, "application/json", "{\"status\":\"ready\"}\n", v, keep);
      return make(http::status::service_unavailable, "application/json",
                  R"({"status":"not ready","reason":")" + json_escaped(why) + "\"}\n", v, keep);
    }
    return make(http::status::ok, "text/plain; version=0.0.4; charset=utf-8", routes.metrics(), v, keep);
  }

  asio::awaitable<void> serve(std::shared_ptr<beast::tcp_stream> stream) {
    beast::flat_buffer buffer;
    for (;;) {
      http::request_parser<http::string_body> parser;
      parser.body_limit(max_body_bytes);
      parser.header_limit(max_header_bytes);
      stream->expires_after(idle_timeout);
      beast::error_code ec;
      co_await http::async_read(*stream, buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
      if (ec == http::error::end_of_stream || ec == beast::error::timeout || ec == asio::error::operation_aborted ||
          ec == asio::error::connection_reset || ec == asio::error::eof)
        break;
      response r;
      bool close_after = false;
      if (ec) {
        // What did not parse gets its 4xx, then the connection ends (the
        // stream's framing cannot be trusted past it).
        close_after = true;
        if (ec == http::error::body_limit)
          r = make(http::status::payload_too_large, "application/json",
                   json_error("body_too_large", "request bodies are limited to 64 KiB"), 11, false);
        else if (ec == http::error::header_limit)
          r = make(http::status::request_header_fields_too_large, "application/json",
                   json_error("headers_too_large", "request headers are limited to 16 KiB"), 11, false);
        else
          r = make(http::status::bad_request, "application/json", json_error("bad_request", ec.message()), 11, false);
      } else {
        const auto& req = parser.get();
        r = answer(req);
        if (req.method() == http::verb::head) {
          // The same headers, Content-Length of the GET, no body.
          const auto length = r.body().size();
          r.body().clear();
          r.content_length(length);
        }
        close_after = !r.keep_alive();
      }
      stream->expires_after(idle_timeout);
      co_await http::async_write(*stream, r, asio::redirect_error(asio::use_awaitable, ec));
      if (ec || close_after) break;
    }
    beast::error_code ignored;
    stream->socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream->close();
  }

  asio::awaitable<void> accept_loop(tcp::acceptor& acceptor) {
    for (;;) {
      boost::system::error_code ec;
      tcp::socket sock = co_await acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
      if (ec) {
        if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
        continue;
      }
      if (open.load() >= max_connections) {
        sock.close(ec);
        continue;
      }
      auto stream = std::make_shared<beast::tcp_stream>(std::move(sock));
      {
        std::lock_guard g(conns_mu);
        std::erase_if(conns, [](const auto& w) { return w.expired(); });
        conns.push_back(stream);
      }
      open.fetch_add(1);
      asio::co_spawn(
          ioc,
          [this, stream]() -> asio::awaitable<void> {
            try {
              co_await serve(stream);
            } catch (const std::exception& e) {
              log::debug("metrics listener: a connection ended: {}", e.what());
            }
            open.fetch_sub(1);
          },
          asio::detached);
    }
  }
};

ops_http::ops_http(std::unique_ptr<impl> i) : impl_(std::move(i)) {}

ops_http::~ops_http() { stop(); }

result<std::unique_ptr<ops_http>> ops_http::start(const std::vector<ops_listener>& listeners, ops_routes routes) {
  auto i = std::make_unique<impl>();
  i->routes = std::move(routes);
  for (const auto& l : listeners) {
    boost::system::error_code ec;
    auto address = asio::ip::make_address(l.host, ec);
    if (ec) return status(errc::config, "listener " + l.name + ": bad host '" + l.host + "'");
    auto acceptor = std::make_unique<tcp::acceptor>(i->ioc);
    tcp::endpoint ep(address, l.port);
    acceptor->open(ep.protocol(), ec);
    if (!ec) acceptor->set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) acceptor->bind(ep, ec);
    if (!ec) acceptor->listen(asio::socket_base::max_listen_connections, ec);
    if (ec)
      return status(errc::io,
                    "listener " + l.name + " on " + l.host + ":" + std::to_string(l.port) + ": " + ec.message());
    i->acceptors.emplace_back(l.name, std::move(acceptor));
  }
  for (auto& [name, a] : i->acceptors) asio::co_spawn(i->ioc, i->accept_loop(*a), asio::detached);
  auto* raw = i.get();
  i->thread = std::thread([raw] {
    for (;;) {
      try {
        raw->ioc.run();
        return;
      } catch (const std::exception& e) {
        log::error("metrics listener: a handler failed ({}); it carries on", e.what());
      }
    }
  });
  return std::unique_ptr<ops_http>(new ops_http(std::move(i)));
}

uint16_t ops_http::bound_port(const std::string& listener) const {
  for (const auto& [name, a] : impl_->acceptors)
    if (name == listener) {
      boost::system::error_code ec;
      auto ep = a->local_endpoint(ec);
      return ec ? 0 : ep.port();
    }
  return 0;
}

void ops_http::stop() {
  if (!impl_ || impl_->stopped) return;
  impl_->stopped = true;
  asio::post(impl_->ioc, [i = impl_.get()] {
    for (auto& [name, a] : i->acceptors) {
      boost::system::error_code ec;
      a->close(ec);
    }
    std::lock_guard g(i->conns_mu);
    for (auto& w : i->conns)
      if (auto s = w.lock()) s->cancel(), s->close();
  });
  // Give the closes a moment, then stop whatever is left.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (impl_->open.load() > 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  impl_->ioc.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

}  // namespace mosaic::app

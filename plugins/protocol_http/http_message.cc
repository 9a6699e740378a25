#include "plugins/protocol_http/http_message.h"

#include <utility>  // before Asio's headers (Boost 1.74 with C++20)

#include <algorithm>
#include <cctype>

#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <nlohmann/json.hpp>

namespace mosaic::http {

namespace beast_http = boost::beast::http;

namespace {

const char* reason(int status) {
  switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 302: return "Found";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 413: return "Content Too Large";
    case 415: return "Unsupported Media Type";
    case 421: return "Misdirected Request";
    case 422: return "Unprocessable Content";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "Status";
  }
}

int hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

reply error_reply(int status, const std::string& code, const std::string& message) {
  nlohmann::json j = {{"error", {{"code", code}, {"message", message}}}};
  return json_reply(status, j.dump());
}

reply json_reply(int status, std::string json) {
  reply r;
  r.status = status;
  r.body = std::move(json);
  return r;
}

std::vector<uint8_t> serialize(const reply& r, bool head) {
  std::string out = "HTTP/1.1 " + std::to_string(r.status) + " " + reason(r.status) + "\r\n";
  if (!r.body.empty() || r.status != 204) {
    out += "Content-Type: " + r.content_type + "\r\n";
    out += "Content-Length: " + std::to_string(r.body.size()) + "\r\n";
  }
  for (const auto& [k, v] : r.headers) out += k + ": " + v + "\r\n";
  if (r.close) out += "Connection: close\r\n";
  out += "\r\n";
  if (!head) out += r.body;
  return {out.begin(), out.end()};
}

std::optional<std::string> percent_decode(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%') {
      if (i + 2 >= s.size()) return std::nullopt;
      const int hi = hex(s[i + 1]), lo = hex(s[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (s[i] == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

struct scanner::parser_state {
  beast_http::request_parser<beast_http::string_body> parser;
};

scanner::scanner(limits l) : limits_(l) { reset(); }
scanner::~scanner() = default;

void scanner::reset() {
  p_ = std::make_unique<parser_state>();
  p_->parser.header_limit(static_cast<std::uint32_t>(limits_.max_header_bytes));
  p_->parser.body_limit(limits_.max_body_bytes);
  p_->parser.eager(true);
  fed_ = 0;
}

scanner::result scanner::scan(std::span<const uint8_t> buffered) {
  auto& parser = p_->parser;
  while (!parser.is_done() && fed_ < buffered.size()) {
    boost::system::error_code ec;
    const size_t n = parser.put(boost::asio::const_buffer(buffered.data() + fed_, buffered.size() - fed_), ec);
    fed_ += n;
    if (ec == beast_http::error::need_more) {
      // A header that is not whole yet is given again, longer, next time;
      // one already past the limit never will be.
      if (!parser.is_header_done() && buffered.size() > limits_.max_header_bytes) {
        refusal_ = error_reply(431, "header_too_large",
                               "the request's header is over " + std::to_string(limits_.max_header_bytes) + " bytes");
        refusal_.close = true;
        return {found::bad, 0};
      }
      return {found::more, 0};
    }
    if (ec == beast_http::error::body_limit) {
      refusal_ = error_reply(413, "body_too_large",
                             "the request's body is over " + std::to_string(limits_.max_body_bytes) + " bytes");
      refusal_.close = true;
      return {found::bad, 0};
    }
    if (ec == beast_http::error::header_limit) {
      refusal_ = error_reply(431, "header_too_large",
                             "the request's header is over " + std::to_string(limits_.max_header_bytes) + " bytes");
      refusal_.close = true;
      return {found::bad, 0};
    }
    if (ec) {
      refusal_ = error_reply(400, "bad_request", "not an HTTP/1.1 request: " + ec.message());
      refusal_.close = true;
      return {found::bad, 0};
    }
    if (n == 0) break;
  }
  if (parser.is_done()) return {found::request, fed_};
  return {found::more, 0};
}

request scanner::take() {
  auto m = p_->parser.release();
  reset();
  request r;
  r.method = std::string(m.method_string());
  r.head = m.method() == beast_http::verb::head;
  const std::string_view target(m.target().data(), m.target().size());
  const auto q = target.find('?');
  r.path = percent_decode(target.substr(0, q), false).value_or(std::string(target.substr(0, q)));
  if (q != std::string_view::npos) {
    std::string_view rest = target.substr(q + 1);
    while (!rest.empty()) {
      const auto amp = rest.find('&');
      const std::string_view pair = rest.substr(0, amp);
      const auto eq = pair.find('=');
      auto k = percent_decode(pair.substr(0, eq), true);
      auto v =
          eq == std::string_view::npos ? std::optional<std::string>("") : percent_decode(pair.substr(eq + 1), true);
      if (k && v && !k->empty()) r.query[*k] = *v;
      if (amp == std::string_view::npos) break;
      rest = rest.substr(amp + 1);
    }
  }
  const auto ct = m[beast_http::field::content_type];
  std::string_view type(ct.data(), ct.size());
  type = type.substr(0, type.find(';'));
  while (!type.empty() && type.back() == ' ') type.remove_suffix(1);
  r.content_type = lower(type);
  const auto auth = m[beast_http::field::authorization];
  r.authorization = std::string(auth.data(), auth.size());
  r.keep_alive = m.keep_alive();
  r.body = std::move(m.body());
  return r;
}

}  // namespace mosaic::http

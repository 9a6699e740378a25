// HTTP/1.1 requests and responses for the HTTP adapter: a scanner that
// finds where each request ends in the bytes a connection read (Beast's
// parser, fed as bytes arrive), and the replies, JSON errors among them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace mosaic::http {

struct request {
  std::string method;  // "GET", "POST", ...
  std::string path;    // decoded, without the query
  std::map<std::string, std::string> query;
  std::string content_type;  // the media type alone, lower case ("application/json")
  std::string authorization;
  std::string body;
  bool keep_alive = true;
  bool head = false;  // a HEAD: the reply goes without its body
};

struct reply {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  bool close = false;  // Connection: close, then the connection ends
};

// A JSON error: {"error": {"code": "<code>", "message": "<message>"}}.
// `code` is stable (clients branch on it); the message is for people.
reply error_reply(int status, const std::string& code, const std::string& message);
// A JSON body.
reply json_reply(int status, std::string json);

// The bytes of `r` on the wire (status line, headers, body).
std::vector<uint8_t> serialize(const reply& r, bool head);

// Finds requests in a connection's bytes. scan() is given the bytes read
// from the start of the next request on; it feeds what it has not seen
// to its parser and says whether the request is whole.
class scanner {
 public:
  struct limits {
    size_t max_header_bytes = 16384;
    size_t max_body_bytes = 8u << 20;
  };
  explicit scanner(limits l);
  ~scanner();
  scanner(const scanner&) = delete;
  scanner& operator=(const scanner&) = delete;

  enum class found { more, request, bad };
  struct result {
    found what = found::more;
    size_t length = 0;  // request: its bytes
  };
  result scan(std::span<const uint8_t> buffered);
  // After `request`: the request, and the scanner starts on the next one.
  request take();
  // After `bad`: the error the client is told (400, 413 or 431).
  reply refusal() const { return refusal_; }

 private:
  struct parser_state;
  void reset();
  limits limits_;
  std::unique_ptr<parser_state> p_;
  size_t fed_ = 0;  // bytes of the current request the parser has consumed
  reply refusal_;
};

// Percent-decoding of a path or query part; nullopt for a bad escape.
std::optional<std::string> percent_decode(std::string_view s, bool plus_is_space);

}  // namespace mosaic::http

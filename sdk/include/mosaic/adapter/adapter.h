// Protocol adapters: the unstable C++ tier of the SDK (ARCHITECTURE.md).
// An adapter turns a wire protocol into calls on the broker; the network
// layer (kernel/net) owns the sockets and hands each connection's frames
// to a session of the adapter. Built against this exact header and host;
// loaded at start-up only, never hot-swapped.
//
// Framing: by default frames are prefixed by a 4-byte big-endian size, as
// Kafka's are, and so are responses. A session may delimit its requests
// itself instead (`framing::by_session`: HTTP): the network layer reads
// what arrives, asks the session where the next request ends (`scan`) and
// writes responses as they are. The network layer enforces its size limit
// either way.
//
// Threading: a session's on_frame is called for one connection's frames in
// order, one at a time, from a network thread; it must not block (hand slow
// work to another thread). A responder may be completed from any thread,
// exactly once. Responses go out in request order whatever order they
// complete in.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace mosaic::adapter {

struct peer {
  std::string address;     // "127.0.0.1:53412"
  std::string listener;    // the listener's name
  std::string local_host;  // the listener's address and port, as bound
  uint16_t local_port = 0;
  bool tls = false;           // the connection is encrypted (an SSL or SASL_SSL listener)
  std::string tls_principal;  // from the client's certificate, mapped ("" without one)
};

// A byte range of an open file. `owner` keeps the file open until the
// range has been written.
struct file_range {
  int fd = -1;
  uint64_t offset = 0;
  uint64_t length = 0;
  std::shared_ptr<const void> owner;
};

// A response frame's payload: `bytes`, with file ranges spliced in at
// positions of `bytes` (in order; several may share a position). The
// network layer sends the ranges with sendfile on plaintext connections,
// so record data goes from the page cache to the socket without a copy.
struct response {
  std::vector<uint8_t> bytes;
  struct splice {
    size_t at = 0;
    file_range range;
  };
  std::vector<splice> files;
  uint64_t size() const noexcept {
    uint64_t n = bytes.size();
    for (const auto& f : files) n += f.range.length;
    return n;
  }
};

class responder {
 public:
  virtual ~responder() = default;
  // The response frame's payload (the network layer adds the size prefix).
  virtual void respond(response r) = 0;
  void respond(std::vector<uint8_t> payload) { respond(response{std::move(payload), {}}); }
  // This request gets no response (Kafka's acks=0).
  virtual void no_response() = 0;
  // Closes the connection once earlier responses are written.
  virtual void close() = 0;
  // Sends this response, then closes the connection (a refused
  // authentication: the client reads why, then the connection ends).
  virtual void respond_then_close(response r) = 0;
  // Reads nothing more from the connection for `ms` from now (a client
  // over its quota: Kafka's KIP-219 mutes its channel for the throttle
  // time its response carries). Any thread, before or after answering.
  virtual void throttle(int64_t ms) { (void)ms; }
  // Names the request this answers (its API and version, in the adapter's
  // numbering: Kafka's api key), so the network layer can count it and
  // time it from the frame's arrival to this answer, per listener, API and
  // version (the /metrics request families). Kinds from 0 to 127 and
  // versions from 0 to 31 are counted; a request never named is not.
  virtual void describe(int16_t kind, int16_t version) {
    (void)kind;
    (void)version;
  }
};

// How a connection's requests are delimited on the wire.
enum class framing {
  size_prefixed,  // a 4-byte big-endian size, then the frame; responses the same (Kafka)
  by_session,     // the session finds each request's end (session::scan); responses go out as they are (HTTP)
};

// What a session found at the start of the bytes read and not yet handed
// over (framing::by_session).
struct frame_scan {
  enum class state {
    more,    // no whole request yet: read on
    frame,   // the first `length` bytes are a request
    refuse,  // not a request: everything read is handed over as the last one (the session answers it with an
             // error and closes), and nothing more is read
  } st = state::more;
  size_t length = 0;
};

class session {
 public:
  virtual ~session() = default;
  // Asked once, before the first read.
  virtual framing frames() const { return framing::size_prefixed; }
  // framing::by_session: where the next request ends in `buffered` (bytes
  // from the start of the next request). Called on the network thread
  // whenever bytes arrive or a request was handed over; it may remember
  // what it parsed for the on_frame that follows. With `more`, the network
  // layer closes the connection once `buffered` reaches its size limit.
  virtual frame_scan scan(std::span<const uint8_t> buffered) {
    (void)buffered;
    return {frame_scan::state::refuse, 0};
  }
  // `frame` is the request without its size prefix; the session owns it
  // from here (it may patch it in place, or keep it while a reply waits).
  virtual void on_frame(std::vector<uint8_t> frame, std::shared_ptr<responder> reply) = 0;
  // The largest frame the session takes now: the network layer closes the
  // connection, before reading it, on a frame above this or above its own
  // limit. Asked before each frame, on the network thread.
  virtual size_t max_frame_bytes() const { return SIZE_MAX; }
};

// What an adapter counts beyond the network layer's counts, for /metrics.
struct adapter_stats {
  uint64_t authentications = 0;          // SASL exchanges that succeeded (re-authentications included)
  uint64_t authentication_failures = 0;  // and those that failed
};

class protocol_adapter {
 public:
  virtual ~protocol_adapter() = default;
  virtual std::unique_ptr<session> open_session(const peer& p) = 0;
  // The name of a request kind responders are told of ("Produce"), for the
  // metrics' `api` label; nullptr: its number is used.
  virtual const char* request_name(int16_t kind) const {
    (void)kind;
    return nullptr;
  }
  // Any thread.
  virtual adapter_stats stats() const { return {}; }
};

}  // namespace mosaic::adapter

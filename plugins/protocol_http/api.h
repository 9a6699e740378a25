// The HTTP adapter's API: one request (a `call`, authenticated) in, one
// reply out, through `done` (once, from any thread). Handlers run on the
// adapter's workers and never block on the broker: produce, fetch and the
// group calls answer through callbacks.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "mosaic/adapter/broker.h"
#include "mosaic/adapter/groups.h"
#include "mosaic/adapter/shares.h"
#include "plugins/protocol_http/http_message.h"

namespace mosaic::http {

struct options {
  size_t max_body_bytes = 8u << 20;
  size_t max_header_bytes = 16384;
  int32_t max_wait_ms = 20000;  // the longest long poll (fetch, receive)
  int32_t max_records = 10000;  // per fetch or receive
  int32_t produce_timeout_ms = 30000;
  size_t workers = 2;
};

struct call {
  request req;
  adapter::principal who;
  std::string host;  // the client's address, without the port
};

using done_fn = std::function<void(reply)>;

class queues;

class api {
 public:
  api(const adapter::adapter_context& ctx, options o);
  ~api();
  api(const api&) = delete;
  api& operator=(const api&) = delete;

  // Routes one call; `done` gets the reply.
  void serve(const std::shared_ptr<call>& c, done_fn done);

 private:
  // Whether the caller may; the reply for `done` if not.
  bool allowed(const call& c, adapter::acl_operation op, adapter::acl_resource type, const std::string& name) const;

  void cluster(const std::shared_ptr<call>& c, const done_fn& done);
  void list_topics(const std::shared_ptr<call>& c, const done_fn& done);
  void plugins(const std::shared_ptr<call>& c, const done_fn& done);
  void create_topic(const std::shared_ptr<call>& c, const done_fn& done);
  void describe_topic(const std::shared_ptr<call>& c, const std::string& topic, const done_fn& done);
  void produce(const std::shared_ptr<call>& c, const std::string& topic, done_fn done);
  void fetch(const std::shared_ptr<call>& c, const std::string& topic, const std::string& partition, done_fn done);
  void list_groups(const std::shared_ptr<call>& c, done_fn done);
  void describe_group(const std::shared_ptr<call>& c, const std::string& group, done_fn done);

  adapter::adapter_context ctx_;
  options opts_;
  std::atomic<uint64_t> round_robin_{0};
  std::unique_ptr<queues> queues_;
};

// The HTTP status for a Kafka error, and the stable code clients see
// (Kafka's error name, lower case: "unknown_topic_or_partition").
int status_of(adapter::error e);
std::string code_of(adapter::error e);
reply kafka_error(adapter::error e, const std::string& message);

// Shared by the endpoints and the queues: JSON text (bytes that are not
// UTF-8 become U+FFFD); whether `f` is a record format (string, json,
// base64); a record as JSON in that format; the reply for a group this
// broker does not coordinate.
std::string dump(const nlohmann::json& j);
bool valid_format(const std::string& f);
nlohmann::json record_json(const adapter::plain_record& r, const std::string& format);
reply not_coordinator(int32_t node, const std::string& group);

// The OpenAPI 3.0 description of every endpoint (openapi.cc).
const std::string& openapi_json();

// The web console's files (console/, built in): "" is its page.
reply console_file(const std::string& name);

}  // namespace mosaic::http

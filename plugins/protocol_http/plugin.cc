// The HTTP adapter as a plugin (mosaic.protocol.http): built into mosaicd
// and as libmosaic_protocol_http.so; a listener names it `adapter: http`.
#include "mosaic/adapter/plugin.h"

#include "plugins/protocol_http/http_adapter.h"

namespace {

class http_protocol : public mosaic::sdk::protocol_adapter_plugin<http_protocol> {
 public:
  static constexpr const char* name = "mosaic.protocol.http";
  static constexpr const char* description =
      "Kafka data over HTTP/1.1 and JSON: topics, records, groups, and queues on share groups "
      "(plugins/protocol_http/README.md)";
  static constexpr mosaic::sdk::field config_fields[] = {
      mosaic::sdk::int_field("max.body.bytes", "8388608", "the largest request body; past it 413", 1024, 1 << 30),
      mosaic::sdk::int_field("max.header.bytes", "16384", "the largest request header; past it 431", 1024, 1 << 20),
      mosaic::sdk::int_field("max.wait.ms", "20000", "the longest long poll a fetch or receive may ask for", 0, 300000),
      mosaic::sdk::int_field("max.records", "10000", "the most records one fetch or receive returns", 1, 1000000),
      mosaic::sdk::int_field("produce.timeout.ms", "30000", "how long a produce waits for the in-sync replicas", 1,
                             600000),
      mosaic::sdk::int_field("workers", "2", "threads that serve requests (none blocks on the broker)", 1, 64)};

  http_protocol(const mosaic::sdk::config& cfg, mosaic::sdk::host host) {
    (void)host;
    o_.max_body_bytes = static_cast<size_t>(cfg.get_int("max.body.bytes", 8 << 20));
    o_.max_header_bytes = static_cast<size_t>(cfg.get_int("max.header.bytes", 16384));
    o_.max_wait_ms = static_cast<int32_t>(cfg.get_int("max.wait.ms", 20000));
    o_.max_records = static_cast<int32_t>(cfg.get_int("max.records", 10000));
    o_.produce_timeout_ms = static_cast<int32_t>(cfg.get_int("produce.timeout.ms", 30000));
    o_.workers = static_cast<size_t>(cfg.get_int("workers", 2));
  }
  std::shared_ptr<mosaic::adapter::protocol_adapter> open(const mosaic::adapter::adapter_context& context) {
    return mosaic::http::make_adapter(context, o_);
  }

 private:
  mosaic::http::options o_;
};

}  // namespace

MOSAIC_PLUGIN("mosaic-protocol-http", MOSAIC_VERSION, http_protocol)

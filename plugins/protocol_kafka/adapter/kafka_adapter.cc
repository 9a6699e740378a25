#include "plugins/protocol_kafka/adapter/kafka_adapter.h"

#include "kafka_messages.h"

namespace mosaic::kafka {

namespace {

constexpr int16_t unsupported_version = 35;  // UNSUPPORTED_VERSION
constexpr int16_t unknown_topic = 3;         // UNKNOWN_TOPIC_OR_PARTITION

const api_range* find_api(int16_t key) {
  for (const auto& a : supported_apis())
    if (a.api_key == key) return &a;
  return nullptr;
}

class session final : public adapter::session {
 public:
  session(adapter_config config, adapter::peer peer) : config_(std::move(config)), peer_(std::move(peer)) {}

  void on_frame(std::span<const uint8_t> frame, std::shared_ptr<adapter::responder> reply) override {
    try {
      reader peek(frame);
      const int16_t key = peek.integer<int16_t>();
      const int16_t version = peek.integer<int16_t>();
      const int32_t correlation = peek.integer<int32_t>();
      const api_range* api = find_api(key);
      if (api == nullptr) return reply->close();  // an API this broker does not serve
      if (version < api->min_version || version > api->max_version) {
        // The ApiVersions rule: answer in version 0 with the error and our
        // ranges, so the client can pick a version it shares with us.
        if (key == msg::api_versions_request_api_key) return reply->respond(unsupported_api_versions(correlation));
        return reply->close();
      }
      const bool flexible = version >= api->first_flexible;
      reader r(frame);
      msg::request_header header;
      header.decode(r, flexible ? 2 : 1);
      std::vector<uint8_t> out;
      writer w(out);
      msg::response_header rh;
      rh.correlation_id = header.correlation_id;
      // ApiVersions responses always use header v0 (KIP-511).
      rh.encode(w, flexible && key != msg::api_versions_request_api_key ? 1 : 0);
      if (key == msg::api_versions_request_api_key) {
        msg::api_versions_request req;
        req.decode(r, version);
        api_versions(version, w);
      } else if (key == msg::metadata_request_api_key) {
        msg::metadata_request req;
        req.decode(r, version);
        metadata(req, version, w);
      }
      reply->respond(std::move(out));
    } catch (const decode_error&) {
      reply->close();  // a malformed request: Kafka closes the connection too
    }
  }

 private:
  static void fill_versions(msg::api_versions_response& resp) {
    for (const auto& a : supported_apis()) {
      auto& k = resp.api_keys.emplace_back();
      k.api_key = a.api_key;
      k.min_version = a.min_version;
      k.max_version = a.max_version;
    }
  }

  static std::vector<uint8_t> unsupported_api_versions(int32_t correlation) {
    std::vector<uint8_t> out;
    writer w(out);
    msg::response_header rh;
    rh.correlation_id = correlation;
    rh.encode(w, 0);
    msg::api_versions_response resp;
    resp.error_code = unsupported_version;
    fill_versions(resp);
    resp.encode(w, 0);
    return out;
  }

  static void api_versions(int16_t version, writer& w) {
    msg::api_versions_response resp;
    fill_versions(resp);
    resp.encode(w, version);
  }

  void metadata(const msg::metadata_request& req, int16_t version, writer& w) const {
    msg::metadata_response resp;
    auto& b = resp.brokers.emplace_back();
    b.node_id = config_.node_id;
    b.host = peer_.local_host;
    b.port = peer_.local_port;
    resp.cluster_id = config_.cluster_id;
    resp.controller_id = config_.node_id;
    if (req.topics)
      for (const auto& t : *req.topics) {
        auto& out = resp.topics.emplace_back();
        out.error_code = unknown_topic;
        out.name = t.name;
        out.topic_id = t.topic_id;
      }
    resp.encode(w, version);
  }

  adapter_config config_;
  adapter::peer peer_;
};

class kafka_adapter final : public adapter::protocol_adapter {
 public:
  explicit kafka_adapter(adapter_config c) : config_(std::move(c)) {}
  std::unique_ptr<adapter::session> open_session(const adapter::peer& p) override {
    return std::make_unique<session>(config_, p);
  }

 private:
  adapter_config config_;
};

}  // namespace

const std::vector<api_range>& supported_apis() {
  // Kafka 4.2's ranges for the APIs implemented so far.
  static const std::vector<api_range> apis = {
      {msg::metadata_request_api_key, 0, 13, 9},
      {msg::api_versions_request_api_key, 0, 4, 3},
  };
  return apis;
}

std::shared_ptr<adapter::protocol_adapter> make_adapter(adapter_config config) {
  return std::make_shared<kafka_adapter>(std::move(config));
}

}  // namespace mosaic::kafka

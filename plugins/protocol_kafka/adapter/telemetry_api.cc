// Client telemetry (KIP-714): GetTelemetrySubscriptions (71) tells a client
// which of its metrics to push and how often (telemetry.metrics, a
// broker-wide subscription); PushTelemetry (72) takes them, as OTLP
// MetricsData (otlp.h), and hands them to the broker for /metrics. Pushes
// are not compressed (no compression type is offered). Both are served
// (and advertised) only while telemetry.metrics asks for something
// (connection::serves), so state_->telemetry is set here.
#include <random>

#include "plugins/protocol_kafka/adapter/connection.h"
#include "plugins/protocol_kafka/adapter/otlp.h"

namespace mosaic::kafka {

using adapter::error;

namespace {

// A client's metric points kept per push, at most.
constexpr size_t max_points_per_push = 1000;

uuid random_instance_id() {
  thread_local std::mt19937_64 gen{std::random_device{}()};
  uuid id{};
  for (size_t i = 0; i < id.size(); i += 8) {
    const uint64_t v = gen();
    for (size_t j = 0; j < 8; ++j) id[i + j] = static_cast<uint8_t>(v >> (8 * j));
  }
  id[6] = static_cast<uint8_t>((id[6] & 0x0f) | 0x40);  // version 4
  id[8] = static_cast<uint8_t>((id[8] & 0x3f) | 0x80);  // the RFC 4122 variant
  return id;
}

}  // namespace

void connection::get_telemetry_subscriptions(const request_context& rc,
                                             const msg::get_telemetry_subscriptions_request& req) {
  msg::get_telemetry_subscriptions_response resp;
  resp.client_instance_id = req.client_instance_id == uuid{} ? random_instance_id() : uuid{};
  const auto sub = state_->telemetry->subscription();
  resp.subscription_id = sub.id;
  resp.push_interval_ms = sub.push_interval_ms;
  resp.telemetry_max_bytes = sub.max_bytes;
  resp.delta_temporality = false;  // cumulative: a scrape reads the latest value as it is
  resp.requested_metrics = sub.metrics;
  rc.send(resp);
}

void connection::push_telemetry(const request_context& rc, const msg::push_telemetry_request& req) {
  msg::push_telemetry_response resp;
  auto refuse = [&](error e) {
    resp.error_code = code(e);
    rc.send(resp);
  };
  if (req.client_instance_id == uuid{}) return refuse(error::invalid_request);
  const auto sub = state_->telemetry->subscription();
  if (req.subscription_id != sub.id) return refuse(error::unknown_subscription_id);
  if (req.metrics.size > static_cast<size_t>(sub.max_bytes)) return refuse(error::telemetry_too_large);
  if (req.compression_type != 0) return refuse(error::unsupported_compression_type);
  adapter::telemetry_push p;
  p.client_instance_id = req.client_instance_id;
  p.client_id = rc.client_id;
  p.principal = principal().str();
  p.terminating = req.terminating;
  if (req.metrics.size > 0) {
    std::string why;
    auto data = otlp::decode(req.metrics.span(), max_points_per_push, why);
    if (!data) {
      if (state_->log_to)
        state_->log_to(adapter::log_level::debug,
                       "a telemetry push from " + peer_.address + " does not decode: " + why);
      return refuse(error::invalid_record);
    }
    p.resource = std::move(data->resource);
    p.points = std::move(data->points);
  }
  state_->telemetry->push(std::move(p));
  rc.send(resp);
}

std::vector<api_handler> telemetry_apis() {
  return {
      {msg::get_telemetry_subscriptions_request_api_key, 0, 0, 0,
       &answer_now<msg::get_telemetry_subscriptions_request, &connection::get_telemetry_subscriptions>},
      {msg::push_telemetry_request_api_key, 0, 0, 0,
       &answer_now<msg::push_telemetry_request, &connection::push_telemetry>},
  };
}

}  // namespace mosaic::kafka

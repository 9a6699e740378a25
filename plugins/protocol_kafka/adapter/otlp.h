// Reads the metrics a client pushes (KIP-714): an OpenTelemetry MetricsData
// v1 message in protobuf's wire format. Only what the broker exports is
// kept: each gauge's and sum's data points (their latest value and
// attributes), the resource's attributes; histograms and summaries are
// skipped whole. Bounded: at most `max_points` points, attribute values cut
// at 256 bytes, nesting as deep as the schema's.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "mosaic/adapter/telemetry.h"

namespace mosaic::kafka::otlp {

struct metrics_data {
  std::vector<std::pair<std::string, std::string>> resource;
  std::vector<adapter::telemetry_point> points;
};

// nullopt (with why) when the bytes are not a MetricsData message.
std::optional<metrics_data> decode(std::span<const uint8_t> bytes, size_t max_points, std::string& why);

}  // namespace mosaic::kafka::otlp

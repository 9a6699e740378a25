#include "plugins/protocol_kafka/adapter/otlp.h"

#include <cstring>

namespace mosaic::kafka::otlp {

namespace {

constexpr size_t max_value_bytes = 256;

// One field of a protobuf message: its number, wire type and payload.
struct field {
  uint32_t number = 0;
  uint32_t wire = 0;
  uint64_t varint = 0;             // wire type 0
  uint64_t fixed = 0;              // wire types 1 and 5
  std::span<const uint8_t> bytes;  // wire type 2
};

class reader {
 public:
  explicit reader(std::span<const uint8_t> b) : p_(b.data()), end_(b.data() + b.size()) {}
  bool done() const { return p_ == end_; }

  // The next field, or false at the end or on a malformed one (`bad()`).
  bool next(field& f) {
    if (p_ == end_) return false;
    uint64_t key = 0;
    if (!varint(key)) return fail();
    f.number = static_cast<uint32_t>(key >> 3);
    f.wire = static_cast<uint32_t>(key & 7);
    if (f.number == 0) return fail();
    switch (f.wire) {
      case 0: return varint(f.varint) || fail();
      case 1: return fixed(8, f.fixed) || fail();
      case 5: return fixed(4, f.fixed) || fail();
      case 2: {
        uint64_t n = 0;
        if (!varint(n) || n > static_cast<uint64_t>(end_ - p_)) return fail();
        f.bytes = {p_, static_cast<size_t>(n)};
        p_ += n;
        return true;
      }
      default: return fail();  // groups (3, 4) are not in these messages; 6 and 7 do not exist
    }
  }
  bool bad() const { return bad_; }

 private:
  bool varint(uint64_t& out) {
    out = 0;
    for (int shift = 0; shift < 64 && p_ < end_; shift += 7) {
      const uint8_t b = *p_++;
      out |= uint64_t{b & 0x7fu} << shift;
      if ((b & 0x80u) == 0) return true;
    }
    return false;
  }
  bool fixed(size_t n, uint64_t& out) {
    if (static_cast<size_t>(end_ - p_) < n) return false;
    out = 0;
    for (size_t i = 0; i < n; ++i) out |= uint64_t{p_[i]} << (8 * i);  // little-endian
    p_ += n;
    return true;
  }
  bool fail() {
    bad_ = true;
    return false;
  }
  const uint8_t* p_;
  const uint8_t* end_;
  bool bad_ = false;
};

std::string text(std::span<const uint8_t> b) {
  return {reinterpret_cast<const char*>(b.data()), std::min(b.size(), max_value_bytes)};
}

double as_double(uint64_t bits) {
  double d = 0;
  std::memcpy(&d, &bits, sizeof d);
  return d;
}

// AnyValue, as text: strings, booleans, integers and doubles; others "".
bool any_value(std::span<const uint8_t> b, std::string& out) {
  reader r(b);
  field f;
  while (r.next(f)) {
    if (f.number == 1 && f.wire == 2) out = text(f.bytes);
    if (f.number == 2 && f.wire == 0) out = f.varint != 0 ? "true" : "false";
    if (f.number == 3 && f.wire == 0) out = std::to_string(static_cast<int64_t>(f.varint));
    if (f.number == 4 && f.wire == 1) out = std::to_string(as_double(f.fixed));
  }
  return !r.bad();
}

// KeyValue.
bool key_value(std::span<const uint8_t> b, std::vector<std::pair<std::string, std::string>>& out) {
  reader r(b);
  field f;
  std::string key, value;
  while (r.next(f)) {
    if (f.number == 1 && f.wire == 2) key = text(f.bytes);
    if (f.number == 2 && f.wire == 2 && !any_value(f.bytes, value)) return false;
  }
  if (r.bad()) return false;
  if (!key.empty() && out.size() < 32) out.emplace_back(std::move(key), std::move(value));
  return true;
}

struct context {
  size_t max_points;
  metrics_data* out;
  std::string* why;
  bool failed(const char* what) const {
    *why = what;
    return false;
  }
};

// NumberDataPoint.
bool data_point(std::span<const uint8_t> b, const std::string& name, bool monotonic, const context& cx) {
  reader r(b);
  field f;
  adapter::telemetry_point p;
  p.name = name;
  p.monotonic = monotonic;
  bool has_value = false;
  while (r.next(f)) {
    if (f.number == 4 && f.wire == 1) {
      p.value = as_double(f.fixed);
      has_value = true;
    } else if (f.number == 6 && f.wire == 1) {
      p.value = static_cast<double>(static_cast<int64_t>(f.fixed));
      has_value = true;
    } else if (f.number == 7 && f.wire == 2 && !key_value(f.bytes, p.attributes)) {
      return cx.failed("a data point's attribute does not decode");
    }
  }
  if (r.bad()) return cx.failed("a data point does not decode");
  if (has_value && cx.out->points.size() < cx.max_points) cx.out->points.push_back(std::move(p));
  return true;
}

// Gauge (field 5 of Metric) or Sum (7): their data points (1); a Sum's
// is_monotonic (3).
bool number_series(std::span<const uint8_t> b, const std::string& name, bool sum, const context& cx) {
  bool monotonic = false;
  {
    reader r(b);
    field f;
    while (r.next(f))
      if (sum && f.number == 3 && f.wire == 0) monotonic = f.varint != 0;
    if (r.bad()) return cx.failed("a gauge or sum does not decode");
  }
  reader r(b);
  field f;
  while (r.next(f))
    if (f.number == 1 && f.wire == 2 && !data_point(f.bytes, name, monotonic, cx)) return false;
  return true;
}

// Metric.
bool metric(std::span<const uint8_t> b, const context& cx) {
  std::string name;
  {
    reader r(b);
    field f;
    while (r.next(f))
      if (f.number == 1 && f.wire == 2) name = text(f.bytes);
    if (r.bad()) return cx.failed("a metric does not decode");
  }
  if (name.empty()) return cx.failed("a metric has no name");
  reader r(b);
  field f;
  while (r.next(f))
    if ((f.number == 5 || f.number == 7) && f.wire == 2 && !number_series(f.bytes, name, f.number == 7, cx))
      return false;
  return true;
}

// The messages that only hold others: ScopeMetrics (metrics: 2),
// ResourceMetrics (resource: 1, scope_metrics: 2), MetricsData
// (resource_metrics: 1).
bool scope_metrics(std::span<const uint8_t> b, const context& cx) {
  reader r(b);
  field f;
  while (r.next(f))
    if (f.number == 2 && f.wire == 2 && !metric(f.bytes, cx)) return false;
  return !r.bad() || cx.failed("scope metrics do not decode");
}

bool resource_metrics(std::span<const uint8_t> b, const context& cx) {
  reader r(b);
  field f;
  while (r.next(f)) {
    if (f.number == 1 && f.wire == 2) {
      reader res(f.bytes);
      field a;
      while (res.next(a))
        if (a.number == 1 && a.wire == 2 && !key_value(a.bytes, cx.out->resource))
          return cx.failed("a resource attribute does not decode");
      if (res.bad()) return cx.failed("a resource does not decode");
    } else if (f.number == 2 && f.wire == 2 && !scope_metrics(f.bytes, cx)) {
      return false;
    }
  }
  return !r.bad() || cx.failed("resource metrics do not decode");
}

}  // namespace

std::optional<metrics_data> decode(std::span<const uint8_t> bytes, size_t max_points, std::string& why) {
  metrics_data out;
  const context cx{max_points, &out, &why};
  reader r(bytes);
  field f;
  while (r.next(f))
    if (f.number == 1 && f.wire == 2 && !resource_metrics(f.bytes, cx)) return std::nullopt;
  if (r.bad()) {
    why = "not a protobuf MetricsData message";
    return std::nullopt;
  }
  return out;
}

}  // namespace mosaic::kafka::otlp

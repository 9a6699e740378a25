#include "kernel/base/metrics.h"

#include <fmt/format.h>

#include <cmath>

namespace mosaic::metrics {

namespace {

// The bucket bounds in nanoseconds, for the observing side's integer compare.
const std::array<uint64_t, duration_buckets.size()> bounds_ns = [] {
  std::array<uint64_t, duration_buckets.size()> out{};
  for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<uint64_t>(std::llround(duration_buckets[i] * 1e9));
  return out;
}();

void append_number(std::string& out, double v) {
  if (std::isnan(v)) {
    out += "NaN";
  } else if (std::isinf(v)) {
    out += v > 0 ? "+Inf" : "-Inf";
  } else {
    fmt::format_to(std::back_inserter(out), "{}", v);
  }
}

}  // namespace

histogram_snapshot& histogram_snapshot::operator+=(const histogram_snapshot& o) {
  for (size_t i = 0; i < counts.size(); ++i) counts[i] += o.counts[i];
  count += o.count;
  sum_seconds += o.sum_seconds;
  return *this;
}

size_t histogram::bucket_of(uint64_t ns) noexcept {
  size_t i = 0;
  while (i < bounds_ns.size() && ns > bounds_ns[i]) ++i;
  return i;
}

histogram_snapshot histogram::snapshot() const noexcept {
  histogram_snapshot s;
  for (size_t i = 0; i < counts_.size(); ++i) {
    s.counts[i] = counts_[i].load(std::memory_order_relaxed);
    s.count += s.counts[i];
  }
  s.sum_seconds = static_cast<double>(sum_ns_.load(std::memory_order_relaxed)) / 1e9;
  return s;
}

void exposition::append_escaped(std::string& out, std::string_view value) {
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
}

void exposition::family(std::string_view name, std::string_view type, std::string_view help) {
  fmt::format_to(std::back_inserter(out_), "# HELP {} ", name);
  // HELP text escapes backslash and newline only.
  for (char c : help) {
    if (c == '\\') {
      out_ += "\\\\";
    } else if (c == '\n') {
      out_ += "\\n";
    } else {
      out_ += c;
    }
  }
  fmt::format_to(std::back_inserter(out_), "\n# TYPE {} {}\n", name, type);
}

void exposition::head(std::string_view name, std::string_view suffix, labels l, std::string_view extra_name,
                      std::string_view extra_value) {
  out_ += name;
  out_ += suffix;
  if (l.size() == 0 && extra_name.empty()) {
    out_ += ' ';
    return;
  }
  out_ += '{';
  bool first = true;
  for (const auto& [k, v] : l) {
    if (!first) out_ += ',';
    first = false;
    out_ += k;
    out_ += "=\"";
    append_escaped(out_, v);
    out_ += '"';
  }
  if (!extra_name.empty()) {
    if (!first) out_ += ',';
    out_ += extra_name;
    out_ += "=\"";
    out_ += extra_value;
    out_ += '"';
  }
  out_ += "} ";
}

void exposition::sample(std::string_view name, labels l, double value) {
  head(name, {}, l);
  append_number(out_, value);
  out_ += '\n';
}

void exposition::raw(std::string_view head, double value) {
  out_ += head;
  append_number(out_, value);
  out_ += '\n';
}

void exposition::sample(std::string_view name, labels l, uint64_t value) {
  head(name, {}, l);
  fmt::format_to(std::back_inserter(out_), "{}\n", value);
}

void exposition::sample(std::string_view name, labels l, int64_t value) {
  head(name, {}, l);
  fmt::format_to(std::back_inserter(out_), "{}\n", value);
}

void exposition::histogram(std::string_view name, labels l, const histogram_snapshot& s) {
  uint64_t cumulative = 0;
  for (size_t i = 0; i < duration_buckets.size(); ++i) {
    cumulative += s.counts[i];
    const std::string le = fmt::format("{}", duration_buckets[i]);
    head(name, "_bucket", l, "le", le);
    fmt::format_to(std::back_inserter(out_), "{}\n", cumulative);
  }
  cumulative += s.counts.back();
  head(name, "_bucket", l, "le", "+Inf");
  fmt::format_to(std::back_inserter(out_), "{}\n", cumulative);
  head(name, "_sum", l);
  append_number(out_, s.sum_seconds);
  out_ += '\n';
  head(name, "_count", l);
  fmt::format_to(std::back_inserter(out_), "{}\n", cumulative);
}

}  // namespace mosaic::metrics

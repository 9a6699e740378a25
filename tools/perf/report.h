// What the perf tools report: latency percentiles and flat JSON objects,
// shared by mosaic-perf and mosaic-queue-bench.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace mosaic::perf {

struct percentiles {
  double avg = 0, p50 = 0, p99 = 0, p999 = 0, max = 0;
};

// Nearest-rank percentiles of `ns` (sorted here), in milliseconds.
inline percentiles summarize(std::vector<int64_t>& ns) {
  percentiles p;
  if (ns.empty()) return p;
  std::sort(ns.begin(), ns.end());
  auto at = [&](double q) {
    size_t rank = static_cast<size_t>(q * static_cast<double>(ns.size()) + 0.999999);
    return static_cast<double>(ns[std::clamp<size_t>(rank, 1, ns.size()) - 1]) / 1e6;
  };
  double sum = 0;
  for (int64_t v : ns) sum += static_cast<double>(v);
  p.avg = sum / static_cast<double>(ns.size()) / 1e6;
  p.p50 = at(0.50);
  p.p99 = at(0.99);
  p.p999 = at(0.999);
  p.max = static_cast<double>(ns.back()) / 1e6;
  return p;
}

// A flat JSON object, its fields in the order they were set.
class json_object {
 public:
  json_object& set(const std::string& k, const std::string& v) { return raw(k, quote(v)); }
  json_object& set(const std::string& k, const char* v) { return raw(k, quote(v)); }
  json_object& set(const std::string& k, double v) {
    char buf[64];
    std::snprintf(buf, sizeof(buf), "%.3f", v);
    return raw(k, buf);
  }
  json_object& set(const std::string& k, int64_t v) { return raw(k, std::to_string(v)); }
  json_object& set(const std::string& k, int v) { return raw(k, std::to_string(v)); }
  json_object& set(const std::string& k, const percentiles& p) {
    json_object o;
    o.set("avg", p.avg).set("p50", p.p50).set("p99", p.p99).set("p99_9", p.p999).set("max", p.max);
    return raw(k, o.str());
  }
  json_object& set(const std::string& k, const json_object& o) { return raw(k, o.str()); }
  json_object& set(const std::string& k, const std::vector<json_object>& list) {
    std::string s = "[";
    for (size_t i = 0; i < list.size(); ++i) s += (i ? ", " : "") + list[i].str();
    return raw(k, s + "]");
  }
  std::string str() const { return "{" + body_ + "}"; }

 private:
  json_object& raw(const std::string& k, const std::string& v) {
    body_ += (body_.empty() ? "" : ", ") + quote(k) + ": " + v;
    return *this;
  }
  static std::string quote(const std::string& s) {
    std::string q = "\"";
    for (char c : s) {
      if (c == '"' || c == '\\') q += '\\';
      if (static_cast<unsigned char>(c) < 0x20) {
        char buf[8];
        std::snprintf(buf, sizeof(buf), "\\u%04x", c);
        q += buf;
      } else {
        q += c;
      }
    }
    return q + "\"";
  }
  std::string body_;
};

}  // namespace mosaic::perf

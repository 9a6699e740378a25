// Test data shaped like Kafka payloads, reproducible from a seed.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace mosaic::testing {

// About 1 KiB JSON records with a fixed schema and values drawn from small
// vocabularies and ranges, as event streams usually look; `bytes` long.
inline std::vector<uint8_t> json_records(size_t bytes, uint32_t seed = 1) {
  std::mt19937 rng(seed);
  auto pick = [&](std::initializer_list<const char*> words) {
    return std::string(words.begin()[rng() % words.size()]);
  };
  auto num = [&](uint32_t range) { return std::to_string(rng() % range); };
  std::string out;
  out.reserve(bytes + 2048);
  while (out.size() < bytes) {
    std::string r =
        "{\"event_id\":\"" + num(1000000000) + "-" + num(100000) + "\",\"type\":\"" +
        pick({"page_view", "click", "add_to_cart", "purchase", "signup", "logout"}) +
        "\",\"ts\":" + std::to_string(1764000000000ULL + rng() % 100000000) + ",\"user\":{\"id\":" + num(50000) +
        ",\"name\":\"" + pick({"alice", "bob", "carol", "dave", "erin", "frank", "grace"}) + "\",\"country\":\"" +
        pick({"DE", "FR", "US", "JP", "BR", "IN", "GB", "NL"}) + "\",\"plan\":\"" +
        pick({"free", "pro", "team", "enterprise"}) + "\"},\"page\":\"/products/" + num(500) + "\",\"referrer\":\"" +
        pick({"https://search.example.com/?q=shoes", "https://social.example.net/feed", "direct",
              "https://news.example.org/article/42"}) +
        "\",\"user_agent\":\"" +
        pick({"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0",
              "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 Mobile",
              "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0"}) +
        "\",\"cart\":[";
    int items = 1 + static_cast<int>(rng() % 4);
    for (int i = 0; i < items; ++i)
      r += std::string(i ? "," : "") + "{\"sku\":\"SKU-" + num(2000) + "\",\"qty\":" + num(5) +
           ",\"price\":" + num(10000) + "." + num(100) + ",\"currency\":\"EUR\"}";
    r += "],\"session\":{\"id\":\"" + num(1000000) + "\",\"duration_ms\":" + num(600000) +
         ",\"screen\":\"1920x1080\",\"lang\":\"" + pick({"en-US", "de-DE", "fr-FR", "ja-JP"}) + "\"}";
    while (r.size() < 1000) r += ",\"flag_" + num(40) + "\":" + pick({"true", "false"});
    r += "}\n";
    out += r;
  }
  out.resize(bytes);
  return {out.begin(), out.end()};
}

inline std::vector<uint8_t> random_bytes(size_t n, uint32_t seed = 7) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> v(n);
  for (auto& b : v) b = static_cast<uint8_t>(rng());
  return v;
}

}  // namespace mosaic::testing

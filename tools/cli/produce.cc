// mosaic produce: records from standard input.
#include "tools/cli/client.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <iostream>
#include <map>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "kernel/log/batch_builder.h"
#include "mosaic/sdk/murmur2.h"

namespace mosaic::cli {

// ---- produce ----

int produce_command(connection& c, args a) {
  const std::string topic = a.positional("topic");
  const auto partition = a.option("--partition", "-p");
  const auto fixed_key = a.option("--key", "-k");
  const auto separator = a.option("--key-separator", "-K");
  std::vector<mosaic::log::record_header> headers;
  std::vector<std::pair<std::string, std::string>> header_text;
  for (const auto& kv : a.options("--header", "-H")) header_text.push_back(key_value(kv, "--header"));
  headers.reserve(header_text.size());
  for (const auto& [k, v] : header_text) headers.push_back({k, v});
  const std::string acks_text = a.option("--acks").value_or("all");
  a.done();
  const int16_t acks =
      acks_text == "all" || acks_text == "-1" ? int16_t{-1} : static_cast<int16_t>(integer(acks_text, "--acks"));
  if (acks != -1 && acks != 1) usage_error("--acks is all or 1");
  const auto parts = partitions_of(c, topic);

  std::map<int32_t, mosaic::log::batch_builder> batches;
  size_t pending = 0, total = 0, round_robin = 0;
  auto now_ms = [] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
  };
  leaders route(c, topic);
  auto flush = [&] {
    if (batches.empty()) return;
    // One request per leader.
    std::map<int32_t, std::vector<int32_t>> by_leader;
    for (auto& [p, b] : batches) by_leader[route.leader(p)].push_back(p);
    std::map<int32_t, std::vector<uint8_t>> bytes;
    for (auto& [p, b] : batches) bytes[p] = b.finish();
    for (const auto& [leader, ps] : by_leader) {
      msg::produce_request req;
      req.acks = acks;
      req.timeout_ms = 30000;
      auto& t = req.topic_data.emplace_back();
      t.name = topic;
      for (int32_t p : ps) {
        auto& pd = t.partition_data.emplace_back();
        pd.index = p;
        pd.records = bytes_ref::of(bytes[p]);
      }
      auto resp = route.of(ps.front()).call<msg::produce_response>(0, 9, req);
      for (const auto& rt : resp.responses)
        for (const auto& rp : rt.partition_responses)
          if (rp.error_code != 0) refused(rp.error_code, topic, rp.error_message);
    }
    total += pending;
    pending = 0;
    batches.clear();
  };
  std::string line;
  while (std::getline(std::cin, line)) {
    std::optional<std::string> key = fixed_key;
    std::string value = line;
    if (separator) {
      const auto at = line.find(*separator);
      if (at != std::string::npos) {
        key = line.substr(0, at);
        value = line.substr(at + separator->size());
      }
    }
    int32_t p = 0;
    if (partition)
      p = static_cast<int32_t>(integer(*partition, "--partition"));
    else if (key)
      p = parts[static_cast<size_t>(sdk::key_partition(*key, static_cast<int32_t>(parts.size())))];
    else
      p = parts[(round_robin++ / 100) % parts.size()];  // 100 records at a time per partition
    auto [it, fresh] = batches.try_emplace(p, now_ms());
    (void)fresh;
    it->second.add(key ? std::optional<std::string_view>(*key) : std::nullopt, value, now_ms(), headers);
    if (++pending >= 1000) flush();
  }
  flush();
  std::fprintf(stderr, "produced %zu record(s) to %s\n", total, topic.c_str());
  return 0;
}

}  // namespace mosaic::cli

// mosaic consume: records to standard output.
#include "tools/cli/records.h"

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

namespace mosaic::cli {

// ---- consume ----

int consume_command(connection& c, args a) {
  const std::string topic = a.positional("topic");
  const auto only = a.option("--partition", "-p");
  const std::string from = a.option("--offset", "-o").value_or("earliest");
  const auto from_time = a.option("--from-timestamp", "-t");
  const auto count_text = a.option("--count", "-n");
  const std::string format = a.option("--format", "-f").value_or("%s\\n");
  const bool follow = a.flag("--follow");
  a.done();
  const int64_t count = count_text ? integer(*count_text, "--count") : -1;
  std::vector<int32_t> parts = partitions_of(c, topic);
  if (only) parts = {static_cast<int32_t>(integer(*only, "--partition"))};

  // Where each partition starts and (without --follow) where it ends.
  std::map<int32_t, std::pair<int64_t, int64_t>> range;
  for (int32_t p : parts) {
    int64_t start = 0;
    if (from_time) {
      start = list_offset(c, topic, p, integer(*from_time, "--from-timestamp"));
      if (start < 0) start = list_offset(c, topic, p, -1);
    } else if (from == "earliest" || from == "beginning") {
      start = list_offset(c, topic, p, -2);
    } else if (from == "latest" || from == "end") {
      start = list_offset(c, topic, p, -1);
    } else {
      const int64_t n = integer(from, "--offset");
      start = n >= 0 ? n : std::max(list_offset(c, topic, p, -1) + n, list_offset(c, topic, p, -2));
    }
    range[p] = {start, follow ? INT64_MAX : list_offset(c, topic, p, -1)};
  }

  record_reader reader;
  leaders route(c, topic);

  int64_t printed = 0;
  for (;;) {
    // A fetch per leader, each for the partitions it leads.
    std::map<int32_t, std::vector<int32_t>> by_leader;
    for (auto& [p, r] : range)
      if (r.first < r.second) by_leader[route.leader(p)].push_back(p);
    if (by_leader.empty() || (count >= 0 && printed >= count)) break;
    for (const auto& [leader, ps] : by_leader) {
      msg::fetch_request req;
      req.max_wait_ms = by_leader.size() > 1 ? 100 : 500;
      req.min_bytes = 1;
      req.max_bytes = 16 << 20;
      req.session_epoch = -1;
      auto& t = req.topics.emplace_back();
      t.topic = topic;
      for (int32_t p : ps) {
        auto& fp = t.partitions.emplace_back();
        fp.partition = p;
        fp.fetch_offset = range[p].first;
        fp.partition_max_bytes = 4 << 20;
      }
      std::vector<uint8_t> raw;
      auto resp = route.of(ps.front()).call<msg::fetch_response>(1, 12, req, &raw);
      for (const auto& rt : resp.responses)
        for (const auto& rp : rt.partitions) {
          if (rp.error_code == 6 || rp.error_code == 74) {
            route.refresh();  // leadership moved: ask again where it is
            continue;
          }
          if (rp.error_code != 0) refused(rp.error_code, topic, std::nullopt);
          auto& r = range[rp.partition_index];
          reader.read(
              rp.records.span(),
              [&](int64_t offset, int64_t ts, const mosaic::log::record_view& rec) {
                if (offset < r.first || offset >= r.second || (count >= 0 && printed >= count)) return;
                print_record(format, topic, rp.partition_index, offset, ts, rec);
                ++printed;
              },
              [&](const mosaic::log::batch_view& b) { r.first = std::max(r.first, b.last_offset() + 1); });
        }
    }
    std::fflush(stdout);
  }
  return 0;
}

}  // namespace mosaic::cli

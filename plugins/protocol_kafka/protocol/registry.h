// Every generated message, for tests and tools.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace mosaic::kafka::msg {

struct message_info {
  const char* name;
  const char* type;  // request, response, header, data
  int api_key;       // -1 for headers and data
  int16_t min_version;
  int16_t max_version;
  int16_t first_flexible;  // 99: never flexible
  // Fills a sample of this message for version v, encodes, decodes and
  // encodes again; false (with why) if anything differs or throws.
  bool (*roundtrip)(int16_t v, std::string& why);
};

const std::vector<message_info>& all_messages();

}  // namespace mosaic::kafka::msg

// What a Kafka client writes before a request body, for the project's own
// clients (the `mosaic` CLI, tests, benchmarks).
#pragma once

#include <string>

#include "request_header.h"

namespace mosaic::kafka {

// The request header: version 2 for a flexible request version, 1 before.
inline void write_request_header(writer& w, int16_t key, int16_t version, int16_t header_version, int32_t correlation,
                                 std::string client_id) {
  msg::request_header h;
  h.request_api_key = key;
  h.request_api_version = version;
  h.correlation_id = correlation;
  h.client_id = std::move(client_id);
  h.encode(w, header_version);
}

}  // namespace mosaic::kafka

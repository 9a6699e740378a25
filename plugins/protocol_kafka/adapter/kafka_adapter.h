// The Kafka protocol adapter: decodes request frames with the generated
// message code, turns them into calls on the broker service API, and
// advertises in ApiVersions exactly the APIs it answers (README.md lists
// them). Fetch sessions (KIP-227) live here: they are Kafka's, not the
// broker's.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "mosaic/adapter/adapter.h"
#include "mosaic/adapter/broker.h"

namespace mosaic::kafka {

std::shared_ptr<adapter::protocol_adapter> make_adapter(const adapter::adapter_context& context);

// An implemented API and the versions it is served at.
struct api_range {
  int16_t api_key;
  int16_t min_version;
  int16_t max_version;
  int16_t first_flexible;
};
const std::vector<api_range>& supported_apis();

}  // namespace mosaic::kafka

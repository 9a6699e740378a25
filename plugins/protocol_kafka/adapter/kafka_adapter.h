// The Kafka protocol adapter: decodes request frames with the generated
// message code, answers the APIs it implements, and advertises exactly
// those in ApiVersions. So far: ApiVersions and Metadata (this node as the
// only broker and controller; topics arrive with the metadata state
// machine).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "mosaic/adapter/adapter.h"

namespace mosaic::kafka {

struct adapter_config {
  int32_t node_id = 1;
  std::string cluster_id;
};

std::shared_ptr<adapter::protocol_adapter> make_adapter(adapter_config config);

// An implemented API and the versions it is served at.
struct api_range {
  int16_t api_key;
  int16_t min_version;
  int16_t max_version;
  int16_t first_flexible;
};
const std::vector<api_range>& supported_apis();

}  // namespace mosaic::kafka

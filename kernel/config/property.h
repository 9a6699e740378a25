// One config key, whatever it configures (the broker's YAML, a topic, a
// share group): the one shape every table of keys in Mosaic has. What
// `--help`, the README and DescribeConfigs say of a key comes from its row.
#pragma once

#include <cstdint>

namespace mosaic::config {

struct property {
  const char* name = "";
  const char* type = "";           // integer, boolean, string, list... (DescribeConfigs' names for topics)
  const char* default_value = "";  // as documented
  const char* doc = "";
  int64_t min = INT64_MIN;  // an integer's range
  int64_t max = INT64_MAX;
  bool dynamic = false;  // may change at run time, without a restart
};

}  // namespace mosaic::config

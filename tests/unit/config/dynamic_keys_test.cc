// The key table's "dynamic" column says what the broker takes at run time:
// a YAML key is marked dynamic exactly when IncrementalAlterConfigs on a
// BROKER resource accepts it (kernel/broker/topic_config.h).
#include <gtest/gtest.h>

#include <string>

#include "kernel/broker/topic_config.h"
#include "kernel/config/broker_config.h"

namespace mosaic {
namespace {

TEST(broker_config, keys_marked_dynamic_are_those_a_broker_takes_at_run_time) {
  int dynamic = 0;
  for (const auto& k : config::documented_keys()) {
    std::string why;
    const bool taken = broker::dynamic_broker_key(k.name, why) != nullptr;
    EXPECT_EQ(k.dynamic, taken) << k.name << ": " << why;
    dynamic += k.dynamic ? 1 : 0;
  }
  EXPECT_GT(dynamic, 0);
}

}  // namespace
}  // namespace mosaic

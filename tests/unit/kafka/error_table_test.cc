// The one table of Kafka's error codes (sdk/include/mosaic/adapter/errors.h).
#include "mosaic/adapter/errors.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace mosaic::adapter {
namespace {

TEST(error_table, every_code_and_name_is_there_once_and_named_as_kafka_names_it) {
  std::set<int16_t> codes;
  std::set<std::string> names;
  for (const auto& e : error_table) {
    EXPECT_TRUE(codes.insert(e.code).second) << e.code;
    EXPECT_TRUE(names.insert(e.name).second) << e.name;
    EXPECT_EQ(find_error(e.code), &e);
  }
  EXPECT_EQ(error_name(error::not_leader_or_follower), "NOT_LEADER_OR_FOLLOWER");
  EXPECT_EQ(error_name(static_cast<int16_t>(3)), "UNKNOWN_TOPIC_OR_PARTITION");
  EXPECT_EQ(error_name(static_cast<int16_t>(9999)), "error 9999");
  EXPECT_EQ(static_cast<int16_t>(error::share_session_limit_reached), 133);
  // Retriable as Kafka's protocol guide marks them.
  EXPECT_TRUE(retriable(error::not_leader_or_follower));
  EXPECT_TRUE(retriable(error::not_enough_replicas));
  EXPECT_FALSE(retriable(error::transactional_id_authorization_failed));
  EXPECT_FALSE(retriable(error::invalid_config));
}

}  // namespace
}  // namespace mosaic::adapter

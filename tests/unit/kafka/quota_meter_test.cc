// The quota meter's arithmetic (Kafka's: eleven one-second samples, a
// window of at least ten seconds, a wait of (rate - quota) / quota x the
// window, at most eleven seconds) and the sweep that forgets clients gone
// quiet.
#include "plugins/protocol_kafka/adapter/quota_meter.h"

#include <gtest/gtest.h>

#include <string>

namespace mosaic::kafka {
namespace {

TEST(quota_meter, a_client_within_its_quota_waits_nothing_and_one_over_it_waits_what_kafka_says) {
  quota_meter m;
  EXPECT_EQ(m.record("u", "c", quota_meter::produce, 500, 100, 0), 0) << "500 bytes over a 10 s window: 50 B/s";
  // 2,000 bytes in ten seconds against 100 B/s: a rate of 200, a wait of
  // (200 - 100) / 100 x 10 s.
  EXPECT_EQ(m.record("u", "c", quota_meter::produce, 1500, 100, 0), 10000);
  // Far over: at most the eleven seconds the samples span.
  EXPECT_EQ(m.record("u", "c", quota_meter::produce, 1e9, 100, 500), 11000);
  // Another kind and another client id are measured apart.
  EXPECT_EQ(m.record("u", "c", quota_meter::fetch, 500, 100, 500), 0);
  EXPECT_EQ(m.record("u", "d", quota_meter::produce, 500, 100, 500), 0);
  // Eleven seconds later the old samples are out of the window.
  EXPECT_EQ(m.record("u", "c", quota_meter::produce, 0, 100, 12000), 0);
}

TEST(quota_meter, request_time_is_milliseconds_against_ten_per_percent) {
  quota_meter m;
  // 50%: 500 ms a second. 4 s of handler time in a 10 s window is 400 ms/s.
  EXPECT_EQ(m.record("u", "c", quota_meter::request, 4000, 50 * 10.0, 0), 0);
  // 6 s: 600 ms/s, a fifth over: a wait of 2 s.
  EXPECT_EQ(m.record("u", "c", quota_meter::request, 2000, 50 * 10.0, 0), 2000);
}

TEST(quota_meter, clients_gone_quiet_are_forgotten) {
  quota_meter m;
  for (int i = 0; i < 3000; ++i) m.record("u", "client-" + std::to_string(i), quota_meter::produce, 1, 100, 0);
  EXPECT_EQ(m.tracked(), 3000u);
  // Later, one client keeps producing: once the sweep runs, the quiet ones
  // are gone.
  for (int i = 0; i < 5000; ++i) m.record("u", "busy", quota_meter::produce, 1, 1e9, 20000);
  EXPECT_EQ(m.tracked(), 1u);
}

}  // namespace
}  // namespace mosaic::kafka

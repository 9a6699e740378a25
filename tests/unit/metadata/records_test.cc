// The metadata records as bytes and as changes to the image: every record
// survives a round trip, records written before replication still read,
// and the image refuses changes decided on a state that is gone.
#include "kernel/metadata/records.h"

#include <gtest/gtest.h>

#include "kernel/base/bytes.h"
#include "kernel/metadata/image.h"

namespace mosaic::metadata {
namespace {

uuid id_of(uint8_t n) {
  uuid u{};
  u[0] = n;
  u[15] = 1;
  return u;
}

TEST(metadata_records, every_record_survives_a_round_trip) {
  partition_record p{id_of(1), 2, 3, 4, {3, 1, 2, 5}, {3, 1}, {2}, {}, 7, {5}, {2}};
  broker_record b{5, "10.0.0.5", 9092, 42, id_of(9), "rack-a", true, 19092, true};
  b.listeners = {{"PLAINTEXT", "10.0.0.5", 9092}, {"SECURE", "10.0.1.5", 9093}};
  const std::vector<record> in = {cluster_record{"c1"},
                                  topic_record{"t", id_of(1)},
                                  p,
                                  partition_change_record{p},
                                  config_record{2, "t", "retention.ms", std::nullopt},
                                  producer_ids_record{1LL << 40},
                                  b,
                                  broker_fence_record{5, 42, false, false},
                                  remove_topic_record{id_of(1)}};
  auto out = decode(encode(in));
  ASSERT_TRUE(out.ok()) << out.error().message();
  ASSERT_EQ(out->size(), in.size());
  const auto& p2 = std::get<partition_record>((*out)[2]);
  EXPECT_EQ(p2.isr, p.isr);
  EXPECT_EQ(p2.elr, p.elr);
  EXPECT_EQ(p2.partition_epoch, 7);
  EXPECT_EQ(p2.adding, std::vector<int32_t>{5});
  EXPECT_EQ(p2.removing, std::vector<int32_t>{2});
  EXPECT_EQ(std::get<partition_change_record>((*out)[3]).state.replicas, p.replicas);
  const auto& b2 = std::get<broker_record>((*out)[6]);
  EXPECT_EQ(b2.epoch, 42);
  EXPECT_EQ(b2.incarnation, id_of(9));
  EXPECT_EQ(b2.rack, "rack-a");
  EXPECT_TRUE(b2.fenced);
  EXPECT_EQ(b2.replication_port, 19092);
  EXPECT_TRUE(b2.shutting_down);
  EXPECT_EQ(b2.listeners, b.listeners);
  EXPECT_FALSE(std::get<broker_fence_record>((*out)[7]).fenced);
}

TEST(metadata_records, a_broker_record_with_a_negative_listener_count_is_corrupt) {
  std::vector<uint8_t> bytes;
  byte_writer w(bytes);
  w.u8(7), w.u8(3), w.i32(1), w.str("h"), w.i32(9092), w.i64(1), w.id(id_of(1)), w.opt_str(std::nullopt), w.u8(0);
  w.i32(0), w.u8(0), w.i32(-5);
  auto out = decode(bytes);
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.error().message().find("listeners"), std::string::npos) << out.error().message();
}

TEST(metadata_records, version_0_partitions_and_brokers_from_before_replication_still_read) {
  std::vector<uint8_t> bytes;
  byte_writer w(bytes);
  w.u8(3), w.u8(0), w.id(id_of(1)), w.i32(0), w.i32(1), w.i32(0), w.i32(1), w.i32(1);  // partition v0
  w.u8(7), w.u8(0), w.i32(1), w.str("127.0.0.1"), w.i32(9092);                         // broker v0
  auto out = decode(bytes);
  ASSERT_TRUE(out.ok()) << out.error().message();
  const auto& p = std::get<partition_record>((*out)[0]);
  EXPECT_EQ(p.replicas, std::vector<int32_t>{1});
  EXPECT_EQ(p.isr, std::vector<int32_t>{1}) << "a version 0 partition is in sync on its replicas";
  const auto& b = std::get<broker_record>((*out)[1]);
  EXPECT_EQ(b.port, 9092);
  EXPECT_FALSE(b.fenced);
  // A version this build does not know is refused, not guessed.
  bytes[1] = 9;
  auto refused = decode(bytes);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message().find("reads up to 2"), std::string::npos) << refused.error().message();
}

TEST(metadata_image, a_partition_change_applies_only_on_the_state_it_was_decided_from) {
  image img;
  img.apply(topic_record{"t", id_of(1)});
  partition_record p{id_of(1), 0, 1, 0, {1, 2, 3}, {1, 2, 3}, {}, {}, 0, {}, {}};
  img.apply(p);
  partition_record next = p;
  next.isr = {1, 2};
  next.partition_epoch = 1;
  ASSERT_TRUE(img.check({partition_change_record{next}}).ok());
  img.apply(partition_change_record{next});
  EXPECT_EQ(img.find("t")->partitions[0].isr, (std::vector<int32_t>{1, 2}));
  // A second change decided on the old state (epoch 0) lost the race.
  partition_record stale = p;
  stale.leader = 2;
  stale.partition_epoch = 1;
  auto refused = img.check({partition_change_record{stale}});
  EXPECT_EQ(refused.code(), errc::already_exists) << refused.message();
  partition_record gone = next;
  gone.partition = 5;
  gone.partition_epoch = 2;
  EXPECT_EQ(img.check({partition_change_record{gone}}).code(), errc::not_found);
  // Snapshots carry the whole state.
  image copy;
  for (const auto& r : img.to_records()) copy.apply(r);
  EXPECT_EQ(copy.find("t")->partitions[0].isr, (std::vector<int32_t>{1, 2}));
  EXPECT_EQ(copy.find("t")->partitions[0].partition_epoch, 1);
}

TEST(metadata_image, a_registration_must_pass_the_last_ones_epoch) {
  image img;
  broker_record first{1, "h", 9092, 0, id_of(1), std::nullopt, false, 0, false};  // version 0, from before
  img.apply(first);
  broker_record next{1, "h", 9092, 1, id_of(2), "r1", false, 0, false};
  ASSERT_TRUE(img.check({next}).ok());
  img.apply(next);
  broker_record stale{1, "h", 9092, 1, id_of(3), std::nullopt, false, 0, false};
  EXPECT_EQ(img.check({stale}).code(), errc::already_exists);
  EXPECT_TRUE(img.check({broker_record{2, "h", 9093, 1, id_of(4), std::nullopt, false, 0, false}}).ok())
      << "another broker";
}

TEST(metadata_image, fencing_names_one_registration_and_a_later_one_is_untouched) {
  image img;
  img.apply(broker_record{1, "h", 9092, 10, id_of(2), std::nullopt, false, 0, false});
  EXPECT_EQ(img.check({broker_fence_record{1, 9, true, false}}).code(), errc::not_found);
  EXPECT_EQ(img.check({broker_fence_record{2, 10, true, false}}).code(), errc::not_found);
  ASSERT_TRUE(img.check({broker_fence_record{1, 10, true, false}}).ok());
  img.apply(broker_fence_record{1, 10, true, false});
  EXPECT_TRUE(img.brokers().at(1).fenced);
  img.apply(broker_record{1, "h", 9092, 11, id_of(3), std::nullopt, false, 0, false});  // it restarted
  img.apply(broker_fence_record{1, 10, true, false});                                   // late, for the old one
  EXPECT_FALSE(img.brokers().at(1).fenced);
  img.apply(broker_fence_record{1, 11, true, true});  // its controlled shutdown
  EXPECT_TRUE(img.brokers().at(1).shutting_down);
  img.apply(broker_fence_record{1, 11, false, false});
  EXPECT_FALSE(img.brokers().at(1).shutting_down);
}

// Plugin swaps: a record survives a round trip; the image keeps each
// slot's generations in effect (a canary only for its brokers) and what was
// done; a swap, promotion or rollback decided on a slot that changed since
// is refused; a snapshot brings back both, and a rollback after it still
// finds the generation below.
TEST(metadata_image, plugin_swaps_stack_roll_back_and_survive_a_snapshot) {
  plugin_swap_record s1{
      "group.share.policy", "swap", 1, "mosaic.share_policy.backoff", "", "", {{"backoff.initial.ms", "200"}}, {},
      "User:ops",           1000,   ""};
  auto out = decode(encode({s1}));
  ASSERT_TRUE(out.ok()) << out.error().message();
  EXPECT_EQ(std::get<plugin_swap_record>((*out)[0]), s1);
  const auto bytes = encode({s1});
  EXPECT_FALSE(decode(std::span<const uint8_t>(bytes.data(), bytes.size() - 3)).ok()) << "cut short";

  image img;
  ASSERT_TRUE(img.check({s1}).ok());
  img.apply(s1);
  auto again = s1;  // a second swap asked on the same image as the first: refused
  EXPECT_FALSE(img.check({again}).ok());
  plugin_swap_record canary{"group.share.policy", "swap", 2, "test.policy", "/lib/x.so", "ab12", {}, {2},
                            "User:ops",           2000,   ""};
  ASSERT_TRUE(img.check({canary}).ok());
  img.apply(canary);
  const auto& slot = img.plugin_swaps().at("group.share.policy");
  EXPECT_EQ(slot.effective(2)->generation, 2) << "the canary runs on broker 2";
  EXPECT_EQ(slot.effective(1)->generation, 1) << "and nowhere else";
  plugin_swap_record promote = canary;
  promote.action = "promote";
  promote.brokers.clear();
  plugin_swap_record stale_promote = promote;
  stale_promote.generation = 1;
  EXPECT_FALSE(img.check({stale_promote}).ok());
  ASSERT_TRUE(img.check({promote}).ok());
  img.apply(promote);
  EXPECT_EQ(img.plugin_swaps().at("group.share.policy").effective(1)->generation, 2);
  EXPECT_FALSE(img.check({promote}).ok()) << "promoted once";

  // A snapshot: the generations in effect and the history come back.
  auto restored_records = decode(encode(img.to_records()));
  ASSERT_TRUE(restored_records.ok());
  std::vector<uint8_t> direct;
  img.encode_records(direct);
  EXPECT_EQ(direct, encode(img.to_records()));
  image restored;
  for (const auto& r : *restored_records) restored.apply(r);
  const auto& back = restored.plugin_swaps().at("group.share.policy");
  ASSERT_EQ(back.stack.size(), 2u);
  EXPECT_EQ(back.history.size(), 3u);
  EXPECT_EQ(back.history[2].action, "promote");
  EXPECT_EQ(back.last_generation, 2);

  // Rollback: to the generation below (1), then to the YAML's (0), then
  // nothing is left to roll back.
  plugin_swap_record rollback{
      "group.share.policy", "rollback", 1, "mosaic.share_policy.backoff", "", "", {}, {}, "User:ops", 3000,
      "canary: errors"};
  plugin_swap_record wrong = rollback;
  wrong.generation = 0;
  EXPECT_FALSE(restored.check({wrong}).ok());
  ASSERT_TRUE(restored.check({rollback}).ok());
  restored.apply(rollback);
  EXPECT_EQ(restored.plugin_swaps().at("group.share.policy").effective(3)->generation, 1);
  rollback.generation = 0;
  ASSERT_TRUE(restored.check({rollback}).ok());
  restored.apply(rollback);
  EXPECT_EQ(restored.plugin_swaps().at("group.share.policy").effective(3), nullptr);
  EXPECT_FALSE(restored.check({rollback}).ok());
  // The next swap's generation follows the highest ever given.
  plugin_swap_record next = s1;
  next.generation = 3;
  EXPECT_TRUE(restored.check({next}).ok());
  next.generation = 2;
  EXPECT_FALSE(restored.check({next}).ok());
}

}  // namespace
}  // namespace mosaic::metadata

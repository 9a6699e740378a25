// image::changes_since: what a reader that acts after every entry (the
// replica manager, the broker's logs and configs) is told changed, so that
// its work follows the changes and not the size of the cluster.
#include <gtest/gtest.h>

#include <algorithm>

#include "kernel/metadata/image.h"

namespace mosaic::metadata {
namespace {

uuid id_of(uint32_t n) {
  uuid u{};
  u[0] = static_cast<uint8_t>(n);
  u[1] = static_cast<uint8_t>(n >> 8);
  u[2] = static_cast<uint8_t>(n >> 16);
  u[15] = 1;
  return u;
}

void make_topic(image& img, const std::string& name, uint32_t id, int32_t partitions) {
  img.apply(topic_record{name, id_of(id)});
  for (int32_t p = 0; p < partitions; ++p) img.apply(partition_record{id_of(id), p, 1, 0, {1}, {1}, {}, {}, 0, {}, {}});
}

std::vector<size_t> changed_partitions(const image& img, const std::string& topic, uint64_t since) {
  std::vector<size_t> out;
  const auto* t = img.find(topic);
  for (size_t p = 0; t != nullptr && p < t->partitions.size(); ++p)
    if (t->changed_since(p, since)) out.push_back(p);
  return out;
}

bool has(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

TEST(image_changes, from_zero_everything_then_only_what_changed) {
  image img;
  broker_record b;
  b.id = 1;
  b.host = "127.0.0.1";
  b.port = 9092;
  img.apply(b);
  make_topic(img, "a", 1, 3);
  make_topic(img, "b", 2, 2);
  auto first = img.changes_since(0);
  EXPECT_TRUE(first.everything);
  EXPECT_TRUE(first.brokers);
  EXPECT_EQ(first.topics.size(), 2u);
  EXPECT_EQ(first.version, img.version());

  // Nothing since: nothing to do.
  auto none = img.changes_since(first.version);
  EXPECT_FALSE(none.everything || none.brokers || none.broker_configs);
  EXPECT_TRUE(none.topics.empty() && none.removed.empty());

  // One partition of "a" changes: "a" only, and in it partition 1 only.
  partition_record next{id_of(1), 1, 1, 1, {1}, {1}, {}, {}, 1, {}, {}};
  img.apply(partition_change_record{next});
  auto one = img.changes_since(first.version);
  EXPECT_EQ(one.topics, (std::vector<std::string>{"a"}));
  EXPECT_EQ(changed_partitions(img, "a", first.version), (std::vector<size_t>{1}));
  EXPECT_TRUE(changed_partitions(img, "b", first.version).empty());

  // A topic config: every partition of that topic may look different.
  img.apply(config_record{2, "b", "retention.ms", "1000"});
  auto configured = img.changes_since(one.version);
  EXPECT_EQ(configured.topics, (std::vector<std::string>{"b"}));
  EXPECT_EQ(changed_partitions(img, "b", one.version), (std::vector<size_t>{0, 1}));
  EXPECT_FALSE(configured.broker_configs);

  // Broker configs and registrations are flags of their own.
  img.apply(config_record{4, "", "log.retention.ms", "5000"});
  img.apply(broker_fence_record{1, 0, true, false});
  auto flags = img.changes_since(configured.version);
  EXPECT_TRUE(flags.broker_configs);
  EXPECT_TRUE(flags.brokers);
  EXPECT_TRUE(flags.topics.empty());

  // A removal, and the name made again: in both lists, and the new topic's
  // partitions all count as changed.
  img.apply(remove_topic_record{id_of(1)});
  make_topic(img, "a", 3, 2);
  auto again = img.changes_since(flags.version);
  EXPECT_EQ(again.removed, (std::vector<std::string>{"a"}));
  EXPECT_TRUE(has(again.topics, "a"));
  EXPECT_EQ(changed_partitions(img, "a", flags.version), (std::vector<size_t>{0, 1}));
  // Each topic is listed once, however often it changed.
  for (int i = 0; i < 5; ++i) img.apply(config_record{2, "b", "retention.ms", std::to_string(i)});
  EXPECT_EQ(img.changes_since(again.version).topics, (std::vector<std::string>{"b"}));
}

TEST(image_changes, after_a_snapshot_or_too_many_removals_a_reader_reads_everything) {
  image img;
  make_topic(img, "a", 1, 1);
  const uint64_t seen = img.version();
  // A snapshot restored: a fresh image whose versions go on.
  image restored;
  restored.continue_from(img);
  for (const auto& r : img.to_records()) restored.apply(r);
  EXPECT_GT(restored.version(), seen);
  EXPECT_TRUE(restored.changes_since(seen).everything);
  const uint64_t after = restored.version();
  EXPECT_FALSE(restored.changes_since(after).everything);

  // More removals than the image remembers: a reader from before the
  // oldest one it kept reads everything; a later one does not.
  image many;
  make_topic(many, "keep", 1, 1);
  const uint64_t before = many.version();
  for (uint32_t i = 0; i < 70000; ++i) {
    many.apply(topic_record{"t", id_of(1000 + i)});
    many.apply(remove_topic_record{id_of(1000 + i)});
  }
  EXPECT_TRUE(many.changes_since(before).everything);
  const uint64_t late = many.version() - 10;
  auto recent = many.changes_since(late);
  EXPECT_FALSE(recent.everything);
  EXPECT_EQ(recent.removed.size(), 5u);
}

}  // namespace
}  // namespace mosaic::metadata

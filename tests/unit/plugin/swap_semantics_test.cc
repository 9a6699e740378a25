// What a swap means for the categories whose calls outlive a moment (the
// SDK README, "What a swap means"): a dead letter handed to a DLQ handler
// finishes on that generation after a swap, its code still loaded, while
// letters after the swap go to the new one; a codec swap changes batches
// compressed after it, and what the old generation wrote still reads.
#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <vector>

#include "kernel/groups/dlq_handler_slot.h"
#include "kernel/plugin/codecs.h"
#include "kernel/plugin/host.h"

namespace mosaic::plugin {
namespace {

sdk::raw_value scalar(const std::string& name, const std::string& value) {
  sdk::raw_value v;
  v.name = name;
  v.scalar = value;
  return v;
}

// Holds every write until told to finish it.
class held_writer final : public groups::dead_letter_writer {
 public:
  void write(const std::string& topic, int32_t, int32_t, std::optional<std::vector<uint8_t>>,
             std::optional<std::vector<uint8_t>>, int64_t, std::vector<groups::header_value>,
             std::function<void(mosaic_status_t, std::string)> done) override {
    topics.push_back(topic);
    pending.push_back(std::move(done));
  }
  std::vector<std::string> topics;
  std::vector<std::function<void(mosaic_status_t, std::string)>> pending;
};

TEST(swap_semantics, a_dead_letter_in_flight_finishes_on_the_generation_it_was_given_to) {
  plugin_host host({MOSAIC_PLUGIN_DIR}, {});
  ASSERT_TRUE(host.ensure("mosaic.dlq.topic", std::nullopt).ok());
  groups::dlq_handler_slot slot;
  {
    auto first = host.create("mosaic.dlq.topic", std::vector{scalar("max.in.flight", "4")});
    ASSERT_TRUE(first.ok()) << first.error().message();
    ASSERT_TRUE(slot.install(std::move(*first)).ok());
  }
  held_writer writer;
  groups::dead_letter_record letter;
  letter.group = "g";
  letter.topic = "orders";
  letter.dlq_topic = "dlq.orders";
  std::vector<std::string> finished;
  auto enqueue = [&](const std::string& tag) {
    return slot.enqueue(letter, &writer, [&, tag](bool ok, std::string) { finished.push_back(tag + (ok ? "" : "!")); });
  };
  ASSERT_EQ(enqueue("before"), groups::dlq_handler_slot::outcome::taken);
  ASSERT_EQ(writer.pending.size(), 1u);

  // The swap: the slot lets go of the first generation; only the letter in
  // flight holds it now.
  {
    auto second = host.create("mosaic.dlq.topic", std::vector{scalar("max.in.flight", "4")});
    ASSERT_TRUE(second.ok());
    auto gen = slot.install(std::move(*second));
    ASSERT_TRUE(gen.ok());
    EXPECT_EQ(*gen, 2u);
  }
  ASSERT_EQ(enqueue("after"), groups::dlq_handler_slot::outcome::taken);
  uint64_t calls = 0, generation = 0;
  slot.visit([&](const std::string&, const instance&, uint64_t g, const call_meter& m) {
    generation = g;
    calls = m.calls();
  });
  EXPECT_EQ(generation, 2u);
  EXPECT_EQ(calls, 1u) << "the letter after the swap went to the new generation";

  // The first letter's write completes: the old generation's code runs its
  // completion (under ASan, a freed instance would show here).
  writer.pending[0](MOSAIC_OK, "");
  writer.pending[1](MOSAIC_OK, "");
  EXPECT_EQ(finished, (std::vector<std::string>{"before", "after"}));
}

TEST(swap_semantics, a_codec_swap_changes_batches_compressed_after_it_and_old_ones_still_read) {
  plugin_host host({MOSAIC_PLUGIN_DIR}, {});
  ASSERT_TRUE(host.ensure("mosaic.codec.gzip", std::nullopt).ok());
  codec_set codecs;
  auto fast = host.create("mosaic.codec.gzip", std::vector{scalar("level", "1")});
  ASSERT_TRUE(fast.ok()) << fast.error().message();
  ASSERT_TRUE(codecs.install(std::move(*fast)).ok());
  std::vector<uint8_t> sample(256 * 1024);
  for (size_t i = 0; i < sample.size(); ++i)
    sample[i] = static_cast<uint8_t>("orders, invoices, refunds "[i % 26] + i / 4099 % 7);
  byte_buffer before;
  ASSERT_TRUE(codecs.compress(1, sample, before).ok());

  auto best = host.create("mosaic.codec.gzip", std::vector{scalar("level", "9")});
  ASSERT_TRUE(best.ok());
  ASSERT_TRUE(codecs.install(std::move(*best)).ok());
  byte_buffer after;
  ASSERT_TRUE(codecs.compress(1, sample, after).ok());
  EXPECT_LT(after.size(), before.size()) << "the batch after the swap was compressed by the new generation";
  for (const auto* packed : {&before, &after}) {
    byte_buffer back;
    ASSERT_TRUE(codecs.decompress(1, packed->bytes(), back).ok());
    EXPECT_TRUE(std::equal(sample.begin(), sample.end(), back.bytes().begin(), back.bytes().end()));
  }
}

}  // namespace
}  // namespace mosaic::plugin

// Hot swap under load: threads call through a slot while generations from
// two different libraries are swapped in. Run under TSan in the test suite.
#include "kernel/plugin/slot.h"

#include <gtest/gtest.h>

#include <array>
#include <fstream>
#include <sstream>
#include <thread>

#include "kernel/plugin/codecs.h"

namespace mosaic::plugin {
namespace {

using codec_gen_slot = slot<mosaic_codec_vtable_v1>;

sdk::raw_value scalar(const std::string& name, const std::string& value) {
  sdk::raw_value v;
  v.name = name;
  v.scalar = value;
  return v;
}

std::string call(const codec_gen_slot::generation& g, const std::string& input, mosaic_status_t* rc) {
  byte_buffer out;
  char msg[128] = {0};
  mosaic_error_v1 err{msg, sizeof(msg)};
  *rc = g.vt().compress(g.handle, reinterpret_cast<const uint8_t*>(input.data()), input.size(), out.abi(), &err);
  return std::string(out.bytes().begin(), out.bytes().end());
}

bool mapped(const std::string& file_name) {
  std::ifstream maps("/proc/self/maps");
  std::stringstream text;
  text << maps.rdbuf();
  return text.str().find(file_name) != std::string::npos;
}

TEST(slot, swaps_under_concurrent_calls_without_losing_or_tearing_any) {
  plugin_host host({MOSAIC_FIXTURE_DIR}, {});
  ASSERT_TRUE(host.ensure("fixture.codec.tag_a", "fixture_tag_a").ok());
  ASSERT_TRUE(host.ensure("fixture.codec.tag_b", "fixture_tag_b").ok());

  constexpr int swaps = 200;
  // The tag each generation was created with, written before it is published.
  std::array<std::string, swaps + 2> expected;
  std::vector<std::weak_ptr<const codec_gen_slot::generation>> published;
  codec_gen_slot s;
  auto make = [&](int i) {
    const char* factory = i % 2 == 0 ? "fixture.codec.tag_a" : "fixture.codec.tag_b";
    auto inst = host.create(factory, std::vector{scalar("tag", "g" + std::to_string(i))});
    EXPECT_TRUE(inst.ok()) << inst.error().message();
    return std::move(*inst);
  };
  expected[1] = "g1";
  ASSERT_EQ(s.publish(make(1)), 1u);
  published.push_back(s.current());

  std::atomic<bool> stop{false};
  std::atomic<uint64_t> calls{0}, wrong{0};
  std::vector<std::thread> workers;
  for (int t = 0; t < 4; ++t)
    workers.emplace_back([&] {
      while (!stop.load(std::memory_order_relaxed)) {
        auto g = s.current();
        mosaic_status_t rc = MOSAIC_ERR_INTERNAL;
        std::string out = call(*g, "x", &rc);
        // The output must come whole from the generation the caller took.
        if (rc != MOSAIC_OK || out != expected[g->number] + ":x") wrong.fetch_add(1);
        calls.fetch_add(1);
      }
    });
  for (int i = 2; i <= swaps + 1; ++i) {
    auto inst = make(i);
    expected[i] = "g" + std::to_string(i);
    ASSERT_EQ(s.publish(std::move(inst)), static_cast<uint64_t>(i));
    published.push_back(s.current());
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  stop = true;
  for (auto& w : workers) w.join();

  EXPECT_EQ(wrong.load(), 0u);
  EXPECT_GT(calls.load(), 0u);
  // Every call reached a plugin: the plugins' own counters add up to ours.
  auto counters = host.counters().snapshot();
  EXPECT_EQ(counters["fixture.codec.tag_a.calls"] + counters["fixture.codec.tag_b.calls"], calls.load());
  // Every generation but the current one is gone.
  for (size_t i = 0; i + 1 < published.size(); ++i) EXPECT_TRUE(published[i].expired()) << "generation " << i + 1;
  EXPECT_FALSE(published.back().expired());
}

TEST(slot, keeps_a_library_loaded_while_a_generation_uses_it) {
  codec_gen_slot s;
  codec_gen_slot::generation_ptr held;
  {
    plugin_host host({MOSAIC_FIXTURE_DIR}, {});
    ASSERT_TRUE(host.ensure("fixture.codec.tag_b", "fixture_tag_b").ok());
    auto inst = host.create("fixture.codec.tag_b", std::vector{scalar("tag", "old")});
    ASSERT_TRUE(inst.ok());
    s.publish(std::move(*inst));
    held = s.current();
  }  // the host, and its registry of libraries, is gone
  ASSERT_TRUE(mapped("libfixture_tag_b.so"));

  plugin_host other({MOSAIC_FIXTURE_DIR}, {});
  ASSERT_TRUE(other.ensure("fixture.codec.tag_a", "fixture_tag_a").ok());
  auto fresh = other.create("fixture.codec.tag_a", std::vector{scalar("tag", "new")});
  ASSERT_TRUE(fresh.ok());
  s.publish(std::move(*fresh));

  // The swap happened, yet the old generation still works: its code is mapped.
  mosaic_status_t rc = MOSAIC_ERR_INTERNAL;
  EXPECT_EQ(call(*s.current(), "x", &rc), "new:x");
  EXPECT_EQ(call(*held, "x", &rc), "old:x");
  EXPECT_EQ(rc, MOSAIC_OK);
  EXPECT_TRUE(mapped("libfixture_tag_b.so"));
  held.reset();  // the last user lets go: instance destroyed, then the library released
  EXPECT_FALSE(mapped("libfixture_tag_b.so"));
}

TEST(slot, is_empty_until_published_and_after_clear) {
  codec_gen_slot s;
  EXPECT_EQ(s.current(), nullptr);
  plugin_host host({MOSAIC_FIXTURE_DIR}, {});
  ASSERT_TRUE(host.ensure("fixture.codec.tag_a", "fixture_tag_a").ok());
  auto inst = host.create("fixture.codec.tag_a", std::vector{scalar("tag", "t")});
  ASSERT_TRUE(inst.ok());
  s.publish(std::move(*inst));
  auto g = s.current();
  ASSERT_NE(g, nullptr);
  s.clear();
  EXPECT_EQ(s.current(), nullptr);
  mosaic_status_t rc = MOSAIC_ERR_INTERNAL;
  EXPECT_EQ(call(*g, "y", &rc), "t:y");
}

}  // namespace
}  // namespace mosaic::plugin

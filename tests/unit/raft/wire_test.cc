// Raft messages as rpc frames: every message type round-trips, and bytes
// that are not a valid message (cut short, unknown kind or version, extra
// bytes, impossible fields, oversized frames) are refused with a reason.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "kernel/raft/wire.h"
#include "kernel/rpc/frame.h"
#include "kernel/rpc/memory_network.h"

namespace mosaic::raft {
namespace {

std::vector<message> samples() {
  append_request a{7, 10, 6, 9, 42, {}};
  a.entries.push_back(entry{6, 11, entry_type::command, {1, 2, 3}});
  a.entries.push_back(entry{7, 12, entry_type::config, encode_config(configuration{{1, 2}})});
  a.entries.push_back(entry{7, 13, entry_type::noop, {}});
  snapshot_request s{8, snapshot_meta{100, 5, configuration{{1, 2, 3}}}, 64, true, {9, 9, 9}};
  return {
      message{1, 2, vote_request{3, 40, 2, true, false}},
      message{2, 1, vote_response{4, true, true}},
      message{3, 1, vote_request{5, 41, 3, false, true}},
      message{1, 3, a},
      message{3, 1, append_response{7, false, 10, 8, 42}},
      message{3, 1, append_response{7, true, 13, 0, 43}},
      message{1, 2, s},
      message{2, 1, snapshot_response{8, 100, 67, true}},
      message{1, 2, timeout_now{9}},
  };
}

TEST(raft_wire, every_message_round_trips) {
  for (const message& m : samples()) {
    auto bytes = encode(m);
    auto back = decode(bytes);
    ASSERT_TRUE(back) << describe(m) << ": " << back.error().message();
    EXPECT_EQ(*back, m) << describe(m);
  }
}

TEST(raft_wire, a_body_cut_short_is_refused_at_every_length) {
  for (const message& m : samples()) {
    auto bytes = encode(m);
    auto f = rpc::read_frame(bytes);
    ASSERT_TRUE(f);
    for (size_t n = 0; n < f->body.size(); ++n) {
      rpc::frame cut = *f;
      cut.body.resize(n);
      auto r = decode(cut);
      EXPECT_FALSE(r) << describe(m) << " cut to " << n;
    }
  }
}

TEST(raft_wire, unknown_kinds_versions_and_trailing_bytes_are_refused) {
  auto f = rpc::read_frame(encode(message{1, 2, timeout_now{3}}));
  ASSERT_TRUE(f);
  rpc::frame unknown = *f;
  unknown.header.kind = 99;
  EXPECT_EQ(decode(unknown).error().code(), errc::unsupported);
  unknown.header.kind = 0;
  EXPECT_EQ(decode(unknown).error().code(), errc::unsupported);
  rpc::frame newer = *f;
  newer.header.version = 1;
  auto r = decode(newer);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), errc::unsupported);
  EXPECT_NE(r.error().message().find("version 1"), std::string::npos);
  rpc::frame longer = *f;
  longer.body.push_back(0);
  EXPECT_EQ(decode(longer).error().code(), errc::corrupt);
}

TEST(raft_wire, impossible_fields_are_refused) {
  append_request gap{5, 10, 4, 0, 0, {}};
  gap.entries.push_back(entry{4, 12, entry_type::command, {}});  // 11 is missing
  EXPECT_EQ(decode(encode(message{1, 2, gap})).error().code(), errc::corrupt);
  append_request future{5, 10, 4, 0, 0, {}};
  future.entries.push_back(entry{6, 11, entry_type::command, {}});  // newer than the leader's term
  EXPECT_EQ(decode(encode(message{1, 2, future})).error().code(), errc::corrupt);
  EXPECT_EQ(decode(encode(message{1, 2, vote_request{-1, 0, 0, false, false}})).error().code(), errc::corrupt);
  // An entry type that does not exist.
  append_request one{5, 10, 4, 0, 0, {}};
  one.entries.push_back(entry{4, 11, entry_type::command, {}});
  auto bytes = encode(message{1, 2, one});
  // size(4) kind(2) version(2) from(4) to(4) | term prev prev_term commit read (5 x 8) count(4) term index (16) type
  bytes[4 + 12 + 40 + 4 + 16] = 9;
  EXPECT_EQ(decode(bytes).error().code(), errc::corrupt);
  // A config entry whose data is not one configuration.
  append_request bad_config{5, 10, 4, 0, 0, {}};
  bad_config.entries.push_back(entry{4, 11, entry_type::config, {0, 0, 0, 2, 0, 0, 0, 1}});  // two voters, one given
  EXPECT_EQ(decode(encode(message{1, 2, bad_config})).error().code(), errc::corrupt);
  // Flag bits nobody defined.
  auto vote = encode(message{1, 2, vote_request{1, 0, 0, false, false}});
  vote.back() = 0x80;
  EXPECT_EQ(decode(vote).error().code(), errc::corrupt);
}

TEST(rpc_frame, a_stream_is_cut_into_frames_however_it_arrives) {
  std::vector<uint8_t> stream;
  for (const message& m : samples()) encode(m, stream);
  for (size_t step : {1u, 3u, 7u, 64u, 4096u}) {
    rpc::frame_reader r;
    std::vector<message> got;
    for (size_t i = 0; i < stream.size(); i += step) {
      r.feed(std::span<const uint8_t>(stream).subspan(i, std::min(step, stream.size() - i)));
      while (true) {
        auto f = r.next();
        ASSERT_TRUE(f) << f.error().message();
        if (!*f) break;
        auto m = decode(**f);
        ASSERT_TRUE(m);
        got.push_back(*m);
      }
    }
    EXPECT_EQ(got, samples()) << "fed " << step << " bytes at a time";
    EXPECT_EQ(r.buffered(), 0u);
  }
}

TEST(rpc_frame, oversized_and_undersized_frames_are_errors) {
  rpc::frame_reader r(1024);
  std::vector<uint8_t> huge{0, 0, 0x10, 0};  // 4096 bytes announced
  r.feed(huge);
  auto f = r.next();
  ASSERT_FALSE(f);
  EXPECT_EQ(f.error().code(), errc::limit);
  rpc::frame_reader s;
  std::vector<uint8_t> tiny{0, 0, 0, 3, 1, 2, 3};
  s.feed(tiny);
  auto g = s.next();
  ASSERT_FALSE(g);
  EXPECT_EQ(g.error().code(), errc::corrupt);
  std::vector<uint8_t> negative{0xff, 0xff, 0xff, 0xff};
  rpc::frame_reader t;
  t.feed(negative);
  EXPECT_FALSE(t.next());
  // A frame with bytes after it is not one frame.
  auto one = encode(message{1, 2, timeout_now{1}});
  one.push_back(0);
  EXPECT_FALSE(rpc::read_frame(one));
  one.pop_back();
  one.pop_back();
  EXPECT_FALSE(rpc::read_frame(one));
}

TEST(rpc_memory_network, partitions_cuts_and_crashes_stop_frames) {
  rpc::memory_network net(1);
  net.send(0, 1, 2, {1});
  net.partition({{1}, {2, 3}});
  net.send(0, 1, 3, {2});
  net.send(0, 2, 3, {3});
  net.cut(3, 2);
  net.send(0, 3, 2, {4});
  auto due = net.take_due(10);
  // The first frame was sent before the partition but arrives after it.
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].frame, std::vector<uint8_t>{3});
  net.heal();
  net.send(10, 1, 2, {5});
  net.send(10, 2, 1, {6});
  net.forget(2);
  EXPECT_EQ(net.in_flight(), 0u);
}

TEST(rpc_memory_network, faults_drop_duplicate_and_reorder_deterministically) {
  auto run = [](uint64_t seed) {
    rpc::memory_network net(seed);
    net.set_faults(rpc::network_faults{0.2, 0.2, 1, 20});
    for (uint8_t i = 0; i < 200; ++i) net.send(i, 1, 2, {i});
    std::vector<uint8_t> order;
    for (auto& d : net.take_due(1000)) order.push_back(d.frame[0]);
    return order;
  };
  auto a = run(5);
  EXPECT_EQ(a, run(5));
  EXPECT_NE(a, run(6));
  EXPECT_LT(a.size(), 200u * 1.1);
  EXPECT_GT(a.size(), 200u * 0.6);
  EXPECT_FALSE(std::is_sorted(a.begin(), a.end()));  // reordered
  std::set<uint8_t> distinct(a.begin(), a.end());
  EXPECT_LT(distinct.size(), a.size());  // duplicated
}

}  // namespace
}  // namespace mosaic::raft

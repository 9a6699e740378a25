// raft::file_storage: what was synced is there after a reopen, a torn or
// corrupt log tail is cut, snapshots compact the log, and a node on it
// restarts with its state.
#include <gtest/gtest.h>

#include <fstream>

#include "kernel/raft/file_storage.h"
#include "kernel/raft/node.h"
#include "tests/support/temp_dir.h"

namespace mosaic::raft {
namespace {

entry make(term_t t, index_t i, const std::string& s) {
  return entry{t, i, entry_type::command, std::vector<uint8_t>(s.begin(), s.end())};
}

std::unique_ptr<file_storage> open_at(const std::filesystem::path& p) {
  auto s = file_storage::open(p);
  EXPECT_TRUE(s) << s.error().message();
  return s ? std::move(*s) : nullptr;
}

TEST(raft_file_storage, keeps_the_hard_state_entries_and_snapshot_across_a_reopen) {
  testing::temp_dir dir;
  {
    auto s = open_at(dir.path());
    EXPECT_FALSE(s->load().snap);
    s->save_hard_state({3, 2});
    std::vector<entry> es{make(1, 1, "a"), make(2, 2, "bb"), make(3, 3, "")};
    s->append(1, es);
    s->sync();
    ASSERT_TRUE(s->health().ok());
  }
  auto s = open_at(dir.path());
  auto st = s->load();
  EXPECT_EQ(st.hard, (hard_state{3, 2}));
  ASSERT_EQ(st.entries.size(), 3u);
  EXPECT_EQ(st.entries[1], make(2, 2, "bb"));
  EXPECT_EQ(s->torn_bytes(), 0u);
}

TEST(raft_file_storage, an_append_from_inside_the_log_replaces_the_rest) {
  testing::temp_dir dir;
  {
    auto s = open_at(dir.path());
    std::vector<entry> es{make(1, 1, "a"), make(1, 2, "b"), make(1, 3, "c")};
    s->append(1, es);
    std::vector<entry> other{make(2, 2, "B")};
    s->append(2, other);
    s->sync();
  }
  auto st = open_at(dir.path())->load();
  ASSERT_EQ(st.entries.size(), 2u);
  EXPECT_EQ(st.entries[1], make(2, 2, "B"));
  {
    auto s = open_at(dir.path());
    s->append(1, {});
    s->sync();
  }
  EXPECT_TRUE(open_at(dir.path())->load().entries.empty());
}

TEST(raft_file_storage, a_torn_or_corrupt_tail_is_cut_at_the_last_whole_record) {
  testing::temp_dir dir;
  {
    auto s = open_at(dir.path());
    std::vector<entry> es{make(1, 1, "first"), make(1, 2, "second"), make(1, 3, "third")};
    s->append(1, es);
    s->sync();
  }
  const auto log = dir.path() / "log";
  const auto size = std::filesystem::file_size(log);
  std::filesystem::resize_file(log, size - 3);  // the third record torn
  {
    auto s = open_at(dir.path());
    EXPECT_EQ(s->load().entries.size(), 2u);
    EXPECT_GT(s->torn_bytes(), 0u);
    // Appends continue after the cut.
    std::vector<entry> more{make(2, 3, "again")};
    s->append(3, more);
    s->sync();
  }
  auto st = open_at(dir.path())->load();
  ASSERT_EQ(st.entries.size(), 3u);
  EXPECT_EQ(st.entries[2], make(2, 3, "again"));
  // A flipped byte in the second record's data ends the log before it.
  {
    std::fstream f(log, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(8 + 17 + 5 + 8 + 17 + 2);
    f.put('X');
  }
  auto s = open_at(dir.path());
  EXPECT_EQ(s->load().entries.size(), 1u);
  EXPECT_GT(s->torn_bytes(), 0u);
}

TEST(raft_file_storage, a_snapshot_compacts_the_log_behind_it) {
  testing::temp_dir dir;
  {
    auto s = open_at(dir.path());
    std::vector<entry> es;
    for (index_t i = 1; i <= 10; ++i) es.push_back(make(1, i, std::string(100, 'x')));
    s->append(1, es);
    s->sync();
    const auto before = s->log_bytes();
    s->save_snapshot(snapshot{snapshot_meta{7, 1, configuration{{1, 2, 3}}}, {1, 2, 3}}, 6);
    EXPECT_LT(s->log_bytes(), before);
    std::vector<entry> more{make(2, 11, "after")};
    s->append(11, more);
    s->sync();
    ASSERT_TRUE(s->health().ok()) << s->health().message();
  }
  auto st = open_at(dir.path())->load();
  ASSERT_TRUE(st.snap);
  EXPECT_EQ(st.snap->meta, (snapshot_meta{7, 1, configuration{{1, 2, 3}}}));
  EXPECT_EQ(st.snap->data, (std::vector<uint8_t>{1, 2, 3}));
  ASSERT_EQ(st.entries.size(), 5u);  // 7..11: the snapshot's own entries past 6 stay
  EXPECT_EQ(st.entries.front().index, 7);
  EXPECT_EQ(st.entries.back(), make(2, 11, "after"));
  {
    auto s = open_at(dir.path());
    s->save_snapshot(snapshot{snapshot_meta{20, 3, configuration{{1}}}, {}}, INT64_MAX);
  }
  st = open_at(dir.path())->load();
  EXPECT_TRUE(st.entries.empty());
  EXPECT_EQ(st.snap->meta.index, 20);
}

TEST(raft_file_storage, a_corrupt_snapshot_or_quorum_state_stops_the_open) {
  testing::temp_dir dir;
  {
    auto s = open_at(dir.path());
    s->save_hard_state({1, 1});
    s->save_snapshot(snapshot{snapshot_meta{1, 1, configuration{{1}}}, {9, 9}}, 1);
    s->sync();
  }
  {
    std::fstream f(dir.path() / "snapshot", std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(-1, std::ios::end);
    f.put('\x7f');
  }
  auto s = file_storage::open(dir.path());
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code(), errc::corrupt);
  EXPECT_NE(s.error().message().find("snapshot"), std::string::npos);
  std::filesystem::remove(dir.path() / "snapshot");
  std::filesystem::resize_file(dir.path() / "quorum-state", 5);
  auto t = file_storage::open(dir.path());
  ASSERT_FALSE(t);
  EXPECT_NE(t.error().message().find("quorum-state"), std::string::npos);
}

class counter_sm final : public state_machine {
 public:
  void apply(const entry& e) override {
    if (e.type == entry_type::command) ++commands;
  }
  std::vector<uint8_t> take_snapshot() override { return {static_cast<uint8_t>(commands)}; }
  void restore(const snapshot_meta&, std::span<const uint8_t> d) override { commands = d.empty() ? 0 : d[0]; }
  int commands = 0;
};

TEST(raft_file_storage, a_node_on_disk_restarts_with_its_term_log_and_snapshot) {
  testing::temp_dir dir;
  options o;
  o.id = 1;
  o.bootstrap.voters = {1};
  o.snapshot_entries = 8;
  term_t term = 0;
  {
    auto s = open_at(dir.path());
    counter_sm sm;
    node n(o, *s, sm);
    for (int i = 0; i < 40 && !n.is_leader(); ++i) {
      n.tick();
      (void)n.flush();
    }
    ASSERT_TRUE(n.is_leader());
    for (int i = 0; i < 20; ++i) {
      ASSERT_TRUE(n.propose({1}));
      (void)n.flush();
    }
    EXPECT_EQ(sm.commands, 20);
    EXPECT_GT(n.snapshot_info().index, 0);
    term = n.term();
  }
  auto s = open_at(dir.path());
  counter_sm sm;
  node n(o, *s, sm);
  EXPECT_EQ(n.term(), term);
  EXPECT_GE(n.last_index(), 21);
  for (int i = 0; i < 40 && !n.is_leader(); ++i) {
    n.tick();
    (void)n.flush();
  }
  ASSERT_TRUE(n.is_leader());
  EXPECT_GT(n.term(), term);
  EXPECT_EQ(sm.commands, 20);  // the snapshot, then the entries after it, once committed
}

}  // namespace
}  // namespace mosaic::raft

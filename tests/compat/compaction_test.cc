// Log compaction against a real mosaicd with real clients: a million
// updates over ten thousand keys come back as the latest value per key, at
// their offsets, through kcat and python3-confluent-kafka; a kill -9 in the
// middle of a cleaning loses nothing; a keyless record is refused.
#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/compat/single_broker.h"

namespace mosaic::testing {
namespace {

using namespace std::chrono_literals;

constexpr int keys = 10000;
constexpr int tombstoned = 1000;  // keys 0..999 end with a tombstone

// `updates` records "k<i % keys>:v<i>", the last round's first `tombstoned`
// keys with no value (kcat -Z sends an empty value as a tombstone).
void write_updates(const temp_dir& dir, const std::string& file, int updates) {
  std::string text;
  text.reserve(static_cast<size_t>(updates) * 16);
  for (int i = 0; i < updates; ++i) {
    const int k = i % keys;
    const bool last_round = i >= updates - keys;
    text += "k" + std::to_string(k) + ":";
    if (!(last_round && k < tombstoned)) text += "v" + std::to_string(i);
    text += "\n";
  }
  dir.write(file, text);
}

// What a fully compacted topic holds: per key, the offset and value of its
// last update ("" for a tombstone).
std::map<std::string, std::pair<int64_t, std::string>> expected(int updates) {
  std::map<std::string, std::pair<int64_t, std::string>> out;
  for (int i = updates - keys; i < updates; ++i) {
    const int k = i % keys;
    out["k" + std::to_string(k)] = {i, k < tombstoned ? "" : "v" + std::to_string(i)};
  }
  return out;
}

void create_compacted(const broker& b, const std::string& topic) {
  const std::string out =
      run("timeout 30 /usr/bin/python3 -c \"from confluent_kafka.admin import AdminClient, NewTopic; "
          "a = AdminClient({'bootstrap.servers': '" +
          b.bootstrap() + "'}); a.create_topics([NewTopic('" + topic +
          "', 1, 1, config={'cleanup.policy': 'compact', 'segment.bytes': '1048576', 'segment.ms': '2000', "
          "'min.cleanable.dirty.ratio': '0.01'})])['" +
          topic + "'].result(15)\" 2>&1");
  ASSERT_EQ(out, "");
}

// The topic as kcat reads it: key -> (offset, value), -1 size for a null.
std::map<std::string, std::pair<int64_t, std::string>> read_with_kcat(const broker& b, const std::string& topic,
                                                                      size_t& records) {
  std::map<std::string, std::pair<int64_t, std::string>> out;
  auto got = lines(
      run("timeout 120 kcat -C -b " + b.bootstrap() + " -t " + topic + " -o beginning -e -q -f '%o %k %S %s\\n' 2>&1"));
  records = got.size();
  for (const auto& line : got) {
    std::istringstream in(line);
    int64_t offset = 0, size = 0;
    std::string key, value;
    in >> offset >> key >> size;
    if (size > 0) in >> value;
    out[key] = {offset, value};
  }
  return out;
}

// Waits until the cleaner has compacted the whole topic (every update
// but the last per key gone): true when kcat reads exactly one record a key.
bool compacted(const broker& b, const std::string& topic, std::chrono::seconds limit) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    size_t records = 0;
    read_with_kcat(b, topic, records);
    if (records == keys) return true;
    std::this_thread::sleep_for(1s);
  }
  return false;
}

const std::vector<std::string> fast_cleaner = {"log.cleaner.backoff.ms=200"};

TEST(compaction, a_million_updates_over_ten_thousand_keys_compact_to_the_latest_value_of_each_at_its_offset) {
  temp_dir dir;
  broker b(dir, fast_cleaner);
  create_compacted(b, "state");
  constexpr int updates = 1000000;
  write_updates(dir, "updates.txt", updates);
  const auto produced = run_command("timeout 120 kcat -P -b " + b.bootstrap() +
                                    " -t state -K: -Z -X linger.ms=20 -X batch.num.messages=10000 -l " +
                                    (dir / "updates.txt").string() + " 2>&1");
  ASSERT_EQ(produced.code, 0) << produced.out;
  // segment.ms rolls the last segment once the writes stop; then it is all
  // cleanable.
  ASSERT_TRUE(compacted(b, "state", 90s)) << b.proc().err();
  const auto want = expected(updates);
  size_t records = 0;
  EXPECT_EQ(read_with_kcat(b, "state", records), want) << "kcat: the latest value per key, at its offset";
  // python3-confluent-kafka (librdkafka 2.0.2) reads the same.
  const std::string py =
      run("timeout 120 /usr/bin/python3 -c \"\n"
          "from confluent_kafka import Consumer, TopicPartition\n"
          "c = Consumer({'bootstrap.servers': '" +
          b.bootstrap() +
          "', 'group.id': 'py', 'enable.auto.commit': False, 'enable.partition.eof': True})\n"
          "c.assign([TopicPartition('state', 0, 0)])\n"
          "n = 0; bad = 0\n"
          "while True:\n"
          "    m = c.poll(10)\n"
          "    if m is None: break\n"
          "    if m.error(): break\n"
          "    n += 1\n"
          "    k = int(m.key()[1:]); i = m.offset()\n"
          "    want = None if k < " +
          std::to_string(tombstoned) + " else b'v%d' % i\n" + "    if i % " + std::to_string(keys) + " != k or i < " +
          std::to_string(updates - keys) +
          " or m.value() != want: bad += 1\n"
          "print('python: %d records, %d wrong' % (n, bad))\n"
          "\" 2>&1");
  EXPECT_NE(py.find("python: 10000 records, 0 wrong"), std::string::npos) << py;
  // ListOffsets across the gaps: the log still starts at 0 and ends after
  // the last update.
  const std::string offsets = run("timeout 30 kcat -Q -b " + b.bootstrap() + " -t state:0:-1 2>&1");
  EXPECT_NE(offsets.find("offset " + std::to_string(updates)), std::string::npos) << offsets;
}

TEST(compaction, a_kill_9_while_the_cleaner_rewrites_segments_loses_nothing) {
  temp_dir dir;
  constexpr int updates = 300000;
  write_updates(dir, "updates.txt", updates);
  {
    // A slow cleaner (2 MB/s), so that the kill lands in the middle of a pass.
    std::vector<std::string> slow = fast_cleaner;
    slow.push_back("log.cleaner.io.max.bytes.per.second=2000000");
    broker b(dir, slow);
    create_compacted(b, "state");
    const auto produced =
        run_command("timeout 120 kcat -P -b " + b.bootstrap() + " -t state -K: -Z -X linger.ms=20 -l " +
                    (dir / "updates.txt").string() + " 2>&1");
    ASSERT_EQ(produced.code, 0) << produced.out;
    ASSERT_TRUE(b.proc().wait_for_log("cleaning from offset", 60s)) << b.proc().err();
    std::this_thread::sleep_for(1500ms);
    ASSERT_EQ(b.proc().err().find("compacted "), std::string::npos) << "the pass ended before the kill";
    b.proc().signal(SIGKILL);
    b.proc().wait(5s);
  }
  broker again(dir, fast_cleaner);
  ASSERT_TRUE(compacted(again, "state", 90s)) << again.proc().err();
  size_t records = 0;
  EXPECT_EQ(read_with_kcat(again, "state", records), expected(updates));
}

TEST(compaction, a_record_without_a_key_is_refused_by_a_compacted_topic) {
  temp_dir dir;
  broker b(dir);
  create_compacted(b, "keyed");
  const std::string out =
      run("timeout 60 /usr/bin/python3 -c \"\n"
          "from confluent_kafka import Producer\n"
          "p = Producer({'bootstrap.servers': '" +
          b.bootstrap() +
          "', 'retries': 0})\n"
          "errors = []\n"
          "p.produce('keyed', key=b'k', value=b'kept', on_delivery=lambda e, m: errors.append(e))\n"
          "p.flush(10)\n"
          "p.produce('keyed', value=b'no key', on_delivery=lambda e, m: errors.append(e))\n"
          "p.flush(10)\n"
          "print('keyed:', errors[0], 'keyless:', errors[1].name() if errors[1] else None)\n"
          "\" 2>&1");
  EXPECT_NE(out.find("keyed: None keyless: INVALID_RECORD"), std::string::npos) << out;
  size_t records = 0;
  auto got = read_with_kcat(b, "keyed", records);
  EXPECT_EQ(records, 1u) << "nothing of the refused batch was stored";
}

}  // namespace
}  // namespace mosaic::testing

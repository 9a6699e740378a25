// Cluster-wide plugin swaps (kernel/app/cluster_swaps.h) on three real
// mosaicd processes, driven by the `mosaic plugin` commands: refusals that
// change nothing while the old generation serves on (a bad config, the
// wrong category, a library of another ABI, a smoke call that throws or
// crashes), a canary that raises errors rolled back on its own, a swap
// whose new behaviour shows on every broker and survives a restart, a
// rollback; the share policy and the default assignor swapped under load
// from librdkafka 2.15.1's share consumers and KIP-848 consumers, nothing
// lost, nothing accepted twice; and the gates: plugins.hot_swap.enabled and
// ALTER on the cluster.
#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "kernel/log/batch_builder.h"
#include "tests/integration/cluster.h"
#include "tests/support/temp_dir.h"

namespace mosaic::testing {
namespace {

const std::string cli_path = MOSAIC_CLI_PATH;
const std::string faulty_lib = MOSAIC_FIXTURE_DIR "/libfaulty_interceptor.so";

std::string bootstrap_of(cluster& c) {
  std::string b;
  for (int id = 1; id <= 3; ++id) b += (id > 1 ? "," : "") + std::string("127.0.0.1:") + std::to_string(c.port(id));
  return b;
}

command_result plugin_cmd(cluster& c, int id, const std::string& args) {
  return run_command("timeout 90 " + cli_path + " -b 127.0.0.1:" + std::to_string(c.port(id)) + " plugin " + args +
                     " 2>&1");
}

// What `mosaic plugin list --slot SLOT` says each broker runs: broker ->
// "plugin cluster-generation".
std::map<int, std::string> running(cluster& c, const std::string& slot, int asked = 1) {
  std::map<int, std::string> out;
  auto r = plugin_cmd(c, asked, "list --slot " + slot);
  for (const auto& line : lines(r.out)) {
    std::istringstream in(line);
    std::string broker, s, plugin, gen;
    in >> broker >> s >> plugin >> gen;
    if (s == slot) out[std::stoi(broker)] = plugin + " " + gen;
  }
  return out;
}

bool everywhere(cluster& c, const std::string& slot, const std::string& want) {
  auto r = running(c, slot);
  if (r.size() != 3) return false;
  for (const auto& [b, what] : r)
    if (what != want) return false;
  return true;
}

std::string audit_of(cluster& c, int id) {
  std::ifstream in(c.data_dir(id) / "plugin-audit.log");
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// ---- refusals, a canary rolled back, a swap, a restart, a rollback ------

TEST(plugin_swaps, refusals_change_nothing_and_a_canary_that_raises_errors_is_rolled_back) {
  cluster c(false, {"plugins.hot_swap={enabled: true}",
                    "plugins.interceptors=[{name: mosaic.interceptor.header_stamp, prefixes: [''], "
                    "config: {headers: ['x-gen=one']}}]"});
  for (int id = 1; id <= 3; ++id) ASSERT_TRUE(c.ready(id)) << c.node(id).err();
  const std::string stamp = "mosaic.interceptor.header_stamp";
  ASSERT_TRUE(eventually([&] { return everywhere(c, "interceptor.0", stamp + " 0"); }, 10s))
      << plugin_cmd(c, 1, "list").out;

  // Refusals: each says why, exits 1, and nothing changes anywhere.
  struct refusal {
    std::string args, expect;
  };
  const std::vector<refusal> refusals = {
      {"swap group.share.policy mosaic.share_policy.backoff --set nope=1", "INVALID_CONFIG"},
      {"swap group.share.policy mosaic.share_policy.backoff --set backoff.initial.ms=-5", "INVALID_CONFIG"},
      {"swap group.share.policy mosaic.assignor.range", "is a assignor plugin"},
      {"swap assignor.uniform mosaic.assignor.range", "not 'uniform'"},
      {"swap codec.brotli mosaic.codec.zstd", "the codec slots are"},
      {"swap no.such.slot mosaic.assignor.range", "INVALID_REQUEST"},
      {"swap interceptor.0 fixture.x --library " MOSAIC_FIXTURE_DIR "/libfixture_abi_major.so", "ABI"},
      {"swap interceptor.0 test.interceptor.faulty --library " + faulty_lib + " --set fail.every=1",
       "the smoke call failed"},
      {"swap interceptor.0 test.interceptor.faulty --library " + faulty_lib + " --set crash.every=1",
       "crashed in its validation or smoke call (signal"},  // 11; 6 where ASan reports the SIGSEGV and aborts
      {"rollback group.share.policy", "no swap to rollback"},
      {"promote interceptor.0", "no swap to promote"},
  };
  for (const auto& r : refusals) {
    auto out = plugin_cmd(c, 2, r.args);
    EXPECT_EQ(out.code, 1) << r.args << ": " << out.out;
    EXPECT_NE(out.out.find(r.expect), std::string::npos) << r.args << ": " << out.out;
  }
  EXPECT_NE(plugin_cmd(c, 3, "history").out.find("no swaps"), std::string::npos);
  EXPECT_TRUE(everywhere(c, "interceptor.0", stamp + " 0")) << plugin_cmd(c, 1, "list").out;
  EXPECT_TRUE(everywhere(c, "group.share.policy", "mosaic.share_policy.default 0"));
  EXPECT_NE(audit_of(c, 2).find(R"("action":"refuse","cause":"cluster")"), std::string::npos) << audit_of(c, 2);
  EXPECT_NE(audit_of(c, 2).find("crashed in its validation or smoke call"), std::string::npos);

  // A canary that fails every tenth call, on broker 2, while a producer
  // writes to the partition broker 2 leads: rolled back on its own.
  ASSERT_EQ(c.create(1, "load", 1, 3), 0);
  int32_t partition = -1;
  ASSERT_TRUE(eventually(
      [&] {
        if (auto md = c.metadata(2))
          for (const auto& t : md->topics)
            if (t.name == "load")
              for (const auto& p : t.partitions)
                if (p.leader_id == 2) partition = p.partition_index;
        return partition >= 0;
      },
      10s));
  std::atomic<bool> stop{false};
  std::atomic<int> stored{0}, failed{0};
  std::thread producer([&] {
    frame_client fc(c.port(2));
    for (int i = 0; !stop.load(); ++i) {
      log::batch_builder b;
      b.add(std::nullopt, "record " + std::to_string(i));
      auto r = call<kafka::msg::produce_response>(fc, 0, 9, produce_request("load", partition, b.finish()));
      if (!r) break;
      (r->responses.at(0).partition_responses.at(0).error_code == 0 ? stored : failed)++;
      std::this_thread::sleep_for(10ms);
    }
  });
  auto canary = plugin_cmd(c, 1,
                           "swap interceptor.0 test.interceptor.faulty --library " + faulty_lib +
                               " --set fail.every=10 --canary 2 --watch 20 --max-error-rate 0.05");
  // And one that is slow (20 ms a call), watched for its p99 latency.
  auto slow = plugin_cmd(c, 1,
                         "swap interceptor.0 test.interceptor.faulty --library " + faulty_lib +
                             " --set delay.ms=20 --canary 2 --watch 20 --max-p99-ms 10 --min-calls 5");
  stop = true;
  producer.join();
  EXPECT_EQ(slow.code, 1) << slow.out;
  EXPECT_NE(slow.out.find("canary: p99 latency <=25ms"), std::string::npos) << slow.out;
  EXPECT_EQ(canary.code, 1) << canary.out;
  EXPECT_NE(canary.out.find("canary rolled back to generation 0"), std::string::npos) << canary.out;
  EXPECT_GT(failed.load(), 0) << "the canary failed calls";
  EXPECT_GT(stored.load(), failed.load());
  EXPECT_TRUE(eventually([&] { return everywhere(c, "interceptor.0", stamp + " 0"); }, 10s))
      << plugin_cmd(c, 1, "list").out;
  std::string history;  // broker 3 applies a rollback a moment after broker 1 committed it
  EXPECT_TRUE(eventually(
      [&] {
        history = plugin_cmd(c, 3, "history interceptor.0").out;
        return history.find("rollback") != history.rfind("rollback");  // both canaries' rollbacks
      },
      10s));
  EXPECT_NE(history.find("swap     generation 1"), std::string::npos) << history;
  EXPECT_NE(history.find("swap     generation 2"), std::string::npos) << history;
  EXPECT_NE(history.find("canary on 2"), std::string::npos) << history;
  EXPECT_NE(history.find("rollback generation 0"), std::string::npos) << history;
  EXPECT_NE(history.find("reason: canary:"), std::string::npos) << history;
  // Broker 1 never ran it.
  EXPECT_EQ(audit_of(c, 1).find("test.interceptor.faulty\",\"library"), std::string::npos) << audit_of(c, 1);

  // A swap: every broker stamps the new header, at the same generation.
  auto swapped = plugin_cmd(c, 3, "swap interceptor.0 " + stamp + " --set \"headers=[x-gen=two]\"");
  ASSERT_EQ(swapped.code, 0) << swapped.out;
  EXPECT_TRUE(everywhere(c, "interceptor.0", stamp + " 3")) << plugin_cmd(c, 1, "list").out;
  const std::string b = bootstrap_of(c);
  ASSERT_EQ(c.create(1, "stamped", 3, 1), 0);
  ASSERT_TRUE(eventually([&] { return c.topics(1).count("stamped") && c.topics(3).count("stamped"); }, 10s));
  ASSERT_EQ(run_command("echo after | kcat -P -b " + b + " -t stamped -p 0 2>&1").code, 0);
  command_result read;
  auto stamped = [&](const std::string& want) {
    return eventually(
        [&] {
          read = run_command("timeout 30 kcat -C -b " + b + " -t stamped -e -q -f '%s %h\\n' 2>&1");
          return read.out.find(want) != std::string::npos;
        },
        10s);
  };
  EXPECT_TRUE(stamped("after x-gen=two")) << read.out;
  // Who asked is in every broker's audit log, with the offset.
  for (int id = 1; id <= 3; ++id)
    EXPECT_NE(audit_of(c, id).find(R"("principal":"User:ANONYMOUS","cluster_generation":3,"offset":)"),
              std::string::npos)
        << id << ": " << audit_of(c, id);

  // A restart comes back with the cluster's generation.
  c.node(3).signal(SIGTERM);
  ASSERT_TRUE(c.node(3).wait(20s).has_value());
  c.start(3);
  ASSERT_TRUE(c.ready(3)) << c.node(3).err();
  EXPECT_TRUE(eventually([&] { return everywhere(c, "interceptor.0", stamp + " 3"); }, 10s))
      << plugin_cmd(c, 1, "list").out;

  // A rollback: every broker back to its YAML's.
  auto back = plugin_cmd(c, 1, "rollback interceptor.0 --reason 'not today'");
  ASSERT_EQ(back.code, 0) << back.out;
  EXPECT_NE(back.out.find("generation 0"), std::string::npos) << back.out;
  EXPECT_TRUE(everywhere(c, "interceptor.0", stamp + " 0"));
  ASSERT_EQ(run_command("echo later | kcat -P -b " + b + " -t stamped -p 0 2>&1").code, 0);
  EXPECT_TRUE(stamped("later x-gen=one")) << read.out;
}

// ---- under load, with librdkafka 2.15.1 ------------------------------------

std::string read_all(FILE* p) {
  std::string out;
  std::array<char, 4096> buf{};
  while (size_t n = std::fread(buf.data(), 1, buf.size(), p)) out.append(buf.data(), n);
  ::pclose(p);
  return out;
}

TEST(plugin_swaps, under_load_the_share_policy_and_the_default_assignor_swap_without_a_record_lost_or_twice) {
#if !defined(MOSAIC_RDKAFKA_SHARE_CHECK) || !defined(MOSAIC_RDKAFKA_GROUP_CHECK)
  FAIL() << "librdkafka 2.15.1 was not built: run tools/librdkafka";
#else
  cluster c(false, {"plugins.hot_swap={enabled: true}", "group.share.min.record.lock.duration.ms=1000",
                    "group.share.heartbeat.interval.ms=500", "group.consumer.heartbeat.interval.ms=500",
                    "group.initial.rebalance.delay.ms=200", "offsets.topic.num.partitions=3",
                    "share.coordinator.state.topic.num.partitions=3", "broker.session.timeout.ms=1500",
                    "replica.lag.time.max.ms=2000", "replica.fetch.wait.max.ms=200"});
  for (int id = 1; id <= 3; ++id) ASSERT_TRUE(c.ready(id)) << c.node(id).err();
  const std::string b = bootstrap_of(c);
  auto share_check = [&](const std::string& args) {
    return run_command("timeout 120 " + std::string(MOSAIC_RDKAFKA_SHARE_CHECK) + " " + b + " " + args + " 2>&1");
  };
  ASSERT_EQ(c.create(1, "q", 3, 1), 0);
  // Three dead-letter partitions: the kernel appends a letter only to a
  // partition its broker leads, so each broker leads one.
  ASSERT_EQ(c.create(1, "dlq.q", 3, 3), 0);
  const int records = 6000;
  ASSERT_EQ(share_check("produce q " + std::to_string(records)).code, 0);
  for (const char* config : {"share.auto.offset.reset earliest", "errors.deadletterqueue.topic.name dlq.q",
                             "share.record.lock.duration.ms 2000"})
    ASSERT_EQ(share_check(std::string("config sg ") + config).code, 0);

  // Three share consumers accept every record but every tenth (rejected);
  // a third of the way in, the share policy is swapped on every broker.
  temp_dir files;
  const auto ready = files.path() / "ready";
  FILE* work = ::popen(("timeout 240 " + std::string(MOSAIC_RDKAFKA_SHARE_CHECK) + " " + b + " work q sg " +
                        std::to_string(records) + " 10 " + ready.string() + " 2>&1")
                           .c_str(),
                       "r");
  ASSERT_NE(work, nullptr);
  ASSERT_TRUE(eventually([&] { return std::filesystem::exists(ready); }, 60s));
  // (A short backoff: records whose 2 s lock runs out on this busy machine
  // come back soon enough for the workers, who stop after 8 s without one.)
  auto swapped = plugin_cmd(c, 2, "swap group.share.policy mosaic.share_policy.backoff --set backoff.initial.ms=200");
  EXPECT_EQ(swapped.code, 0) << swapped.out;
  const std::string out = read_all(work);
  EXPECT_NE(out.find("CONFIRMED ACCEPTED 5400 REJECTED 600 TWICE 0 AFTER_ACCEPT 0"), std::string::npos)
      << out.substr(0, 4000);
  EXPECT_EQ(out.find("UNCONFIRMED"), std::string::npos) << out.substr(0, 4000);
  EXPECT_TRUE(everywhere(c, "group.share.policy", "mosaic.share_policy.backoff 1")) << plugin_cmd(c, 1, "list").out;
  const auto described =
      run_command("timeout 30 " + cli_path + " -b 127.0.0.1:" + std::to_string(c.port(1)) + " share describe sg 2>&1");
  EXPECT_NE(described.out.find("SHARE POLICY mosaic.share_policy.backoff (generation 1) on brokers 1,2,3"),
            std::string::npos)
      << described.out;

  // KIP-848: three librdkafka consumers of one group read 3000 records
  // through three rebalances; meanwhile the default assignor goes from
  // uniform to range. Every record once; the group's epoch moved and range
  // made its target.
  FILE* group = ::popen(
      ("timeout 150 " + std::string(MOSAIC_RDKAFKA_GROUP_CHECK) + " consumer " + b + " rg-topic 3000 2>&1").c_str(),
      "r");
  ASSERT_NE(group, nullptr);
  // As soon as the group has its first member (the others join at a
  // quarter and at half of the records, each a new target).
  const std::string describe =
      "timeout 10 " + cli_path + " -b 127.0.0.1:" + std::to_string(c.port(1)) + " groups describe rg-topic-group 2>&1";
  EXPECT_TRUE(eventually([&] { return run_command(describe).out.find("MEMBERS      1") != std::string::npos; }, 60s));
  auto assignor = plugin_cmd(c, 1, "swap group.consumer.assignor mosaic.assignor.range");
  EXPECT_EQ(assignor.code, 0) << assignor.out;
  const std::string grouped = read_all(group);
  EXPECT_NE(grouped.find("group(consumer): ok 3000 records"), std::string::npos) << grouped;
  EXPECT_TRUE(everywhere(c, "group.consumer.assignor", "mosaic.assignor.range 1")) << plugin_cmd(c, 1, "list").out;
  const auto after = run_command(describe).out;
  EXPECT_NE(after.find("ASSIGNOR     range"), std::string::npos) << "range did not make the group's target: " << after;

  // A restart of each node brings back both generations.
  for (int id = 1; id <= 3; ++id) {
    c.node(id).signal(SIGTERM);
    ASSERT_TRUE(c.node(id).wait(20s).has_value());
    c.start(id);
    ASSERT_TRUE(c.ready(id)) << c.node(id).err();
  }
  EXPECT_TRUE(eventually([&] { return everywhere(c, "group.share.policy", "mosaic.share_policy.backoff 1"); }, 15s))
      << plugin_cmd(c, 1, "list").out;
  EXPECT_TRUE(everywhere(c, "group.consumer.assignor", "mosaic.assignor.range 1")) << plugin_cmd(c, 1, "list").out;

  // The backoff shows: with a second swap to a 3 s backoff, a consumer that
  // dies holding records has them offered again only after the lock (2 s)
  // and the backoff.
  auto longer = plugin_cmd(c, 3, "swap group.share.policy mosaic.share_policy.backoff --set backoff.initial.ms=3000");
  ASSERT_EQ(longer.code, 0) << longer.out;
  EXPECT_TRUE(everywhere(c, "group.share.policy", "mosaic.share_policy.backoff 2"));
  ASSERT_EQ(c.create(1, "h", 3, 1), 0);
  // After three restarts, the partition settled (a leader and all three in
  // sync) before a consumer is asked to hold its records.
  ASSERT_TRUE(eventually(
      [&] {
        if (auto md = c.metadata(1))
          for (const auto& t : md->topics)
            if (t.name == "h" && !t.partitions.empty())
              return t.partitions[0].leader_id > 0 && t.partitions[0].isr_nodes.size() == 3;
        return false;
      },
      20s));
  ASSERT_EQ(share_check("produce h 50").code, 0);
  ASSERT_EQ(share_check("config hg share.auto.offset.reset earliest").code, 0);
  ASSERT_EQ(share_check("config hg share.record.lock.duration.ms 2000").code, 0);
  process holder(MOSAIC_RDKAFKA_SHARE_CHECK, {b, "hold", "h", "hg", "50"}, files.path());
  ASSERT_TRUE(holder.wait_for_log("HELD", 30s)) << holder.err();
  const auto held_at = clock_type::now();
  holder.signal(SIGKILL);
  holder.wait(5s);
  const auto since = std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - held_at).count();
  const auto min_wait = std::max<int64_t>(0, 2000 + 3000 - since - 500);
  const std::string redelivered = share_check("redeliver h hg 50 " + std::to_string(min_wait)).out;
  EXPECT_NE(redelivered.find("GOT 50 REDELIVERED"), std::string::npos) << redelivered;
  EXPECT_NE(redelivered.find("EARLY 0 TWICE 0"), std::string::npos) << redelivered;
#endif
}

// ---- the gates ------------------------------------------------------------

TEST(plugin_swaps, off_unless_enabled_and_under_acls_only_with_alter_on_the_cluster) {
  temp_dir dir;
  const auto port = free_ports(1)[0];
  const std::string listener =
      "listeners=[{name: PLAINTEXT, host: 127.0.0.1, port: " + std::to_string(port) + ", adapter: kafka}]";
  const std::string cli = "timeout 30 " + cli_path + " -b 127.0.0.1:" + std::to_string(port) + " plugin ";
  {
    process p(MOSAICD_PATH, {"--config", "/dev/null", "--set", "log.dirs=[d1]", "--set", listener}, dir.path());
    ASSERT_TRUE(p.wait_for_log("mosaicd started")) << p.err();
    auto r = run_command(cli + "swap group.share.policy mosaic.share_policy.backoff 2>&1");
    EXPECT_EQ(r.code, 1) << r.out;
    EXPECT_NE(r.out.find("POLICY_VIOLATION: plugin swaps are off on broker"), std::string::npos) << r.out;
    EXPECT_NE(run_command(cli + "list 2>&1").out.find("mosaic.share_policy.default"), std::string::npos);
  }
  process p(MOSAICD_PATH,
            {"--config", "/dev/null", "--set", "log.dirs=[d2]", "--set", listener, "--set", "authorizer=acl", "--set",
             "allow.everyone.if.no.acl.found=false", "--set", "plugins.hot_swap={enabled: true}"},
            dir.path());
  ASSERT_TRUE(p.wait_for_log("mosaicd started")) << p.err();
  auto r = run_command(cli + "swap group.share.policy mosaic.share_policy.backoff 2>&1");
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_NE(r.out.find("CLUSTER_AUTHORIZATION_FAILED: Swapping plugins needs ALTER on the cluster"), std::string::npos)
      << r.out;
  r = run_command(cli + "history 2>&1");
  EXPECT_NE(r.out.find("needs DESCRIBE on the cluster"), std::string::npos) << r.out;
}

// plugins.trust holds for a swapped library as for one loaded at start:
// unsigned, signed by another key, not pinned, or in a world-writable
// folder, it is refused and nothing changes; a signed, pinned library of
// the same plugin id replaces the built-in one in the slot.
TEST(plugin_swaps, a_swapped_library_passes_plugins_trust_or_changes_nothing) {
  temp_dir dir;
  const auto trusted = dir.path() / "trusted", open = dir.path() / "open";
  for (const auto& [folder, mode] : {std::pair{trusted, 0755}, std::pair{open, 0777}}) {
    std::filesystem::create_directories(folder);
    std::filesystem::permissions(folder, std::filesystem::perms(mode));
  }
  const std::string stamp_lib = std::string(MOSAIC_PLUGIN_DIR) + "/libmosaic_interceptor_header_stamp.so";
  for (const auto& to : {trusted / "stamp.so", trusted / "unsigned.so", trusted / "other.so", open / "stamp.so"})
    std::filesystem::copy_file(stamp_lib, to);
  std::filesystem::copy_file(std::string(MOSAIC_PLUGIN_DIR) + "/libmosaic_interceptor_json_schema.so",
                             trusted / "schema.so");
  const std::string cli = cli_path;
  for (const char* key : {"ops", "other"})
    ASSERT_EQ(
        run_command("cd " + dir.path().string() + " && " + cli + " plugin keygen " + key + " >/dev/null 2>&1").code, 0);
  auto sign = [&](const char* key, const std::filesystem::path& lib) {
    return run_command(cli + " plugin sign --key " + (dir.path() / key).string() + ".key " + lib.string() + " 2>&1")
        .code;
  };
  for (const auto& lib : {trusted / "stamp.so", trusted / "schema.so", open / "stamp.so"})
    ASSERT_EQ(sign("ops", lib), 0);
  ASSERT_EQ(sign("other", trusted / "other.so"), 0);
  std::string ops_key;
  std::getline(std::ifstream(dir.path() / "ops.pub"), ops_key);
  std::string digest = run_command(cli + " plugin digest " + stamp_lib).out;
  digest = digest.substr(0, digest.find(' '));
  const auto port = free_ports(1)[0];
  process p(
      MOSAICD_PATH,
      {"--config", "/dev/null", "--set", "log.dirs=[d]", "--set",
       "listeners=[{name: PLAINTEXT, host: 127.0.0.1, port: " + std::to_string(port) + ", adapter: kafka}]", "--set",
       "plugins={hot_swap: {enabled: true}, trust: {folders: [" + trusted.string() + ", " + open.string() +
           "], sha256: [" + digest + "], require_signatures: true, public_keys: ['" + ops_key +
           "']}, interceptors: [{name: mosaic.interceptor.header_stamp, prefixes: [''], config: {headers: "
           "['x-gen=one']}}]}"},
      dir.path());
  ASSERT_TRUE(p.wait_for_log("mosaicd started")) << p.err();
  const std::string swap =
      "timeout 30 " + cli + " -b 127.0.0.1:" + std::to_string(port) + " plugin swap interceptor.0 ";
  const std::vector<std::pair<std::string, std::string>> refused = {
      {"mosaic.interceptor.header_stamp --library " + (trusted / "unsigned.so").string(), "it is not signed"},
      {"mosaic.interceptor.header_stamp --library " + (trusted / "other.so").string(), "not by a trusted key"},
      {"mosaic.interceptor.json_schema --library " + (trusted / "schema.so").string() + " --set schema.file=x.json",
       "is not on plugins.trust.sha256"},
      {"mosaic.interceptor.header_stamp --library " + (open / "stamp.so").string(), "may be written by anyone"},
  };
  for (const auto& [args, why] : refused) {
    auto r = run_command(swap + args + " 2>&1");
    EXPECT_EQ(r.code, 1) << args << ": " << r.out;
    EXPECT_NE(r.out.find("POLICY_VIOLATION"), std::string::npos) << args << ": " << r.out;
    EXPECT_NE(r.out.find(why), std::string::npos) << args << ": " << r.out;
  }
  const std::string base = "timeout 30 " + cli + " -b 127.0.0.1:" + std::to_string(port) + " plugin ";
  EXPECT_NE(run_command(base + "history").out.find("no swaps"), std::string::npos);
  // Signed and pinned: the library replaces the built-in one in the slot.
  auto ok = run_command(swap + "mosaic.interceptor.header_stamp --library " + (trusted / "stamp.so").string() +
                        " --set \"headers=[x-gen=two]\" 2>&1");
  ASSERT_EQ(ok.code, 0) << ok.out;
  EXPECT_NE(ok.out.find((trusted / "stamp.so").string()), std::string::npos) << ok.out;
  EXPECT_NE(run_command(base + "history").out.find("sha256 " + digest), std::string::npos);
  ASSERT_EQ(run_command("echo x | kcat -P -b 127.0.0.1:" + std::to_string(port) + " -t t 2>&1").code, 0);
  auto read = run_command("timeout 30 kcat -C -b 127.0.0.1:" + std::to_string(port) + " -t t -e -q -f '%s %h\\n' 2>&1");
  EXPECT_NE(read.out.find("x x-gen=two"), std::string::npos) << read.out;
  // Back to the YAML's: the built-in library again.
  ASSERT_EQ(run_command(base + "rollback interceptor.0 2>&1").code, 0);
  EXPECT_NE(run_command(base + "list --slot interceptor.0").out.find("builtin:"), std::string::npos);
}

// An authenticator's slot takes its own plugin, with another config or
// library: the swap applies to authentications begun after it.
TEST(plugin_swaps, an_authenticator_swap_applies_to_new_connections) {
  temp_dir dir;
  const auto ports = free_ports(2);
  for (const auto& [file, user] : {std::pair{"a.txt", "alice"}, std::pair{"b.txt", "bob"}}) {
    auto r = run_command("printf '" + std::string(user) + "-secret\\n' | " + cli_path + " user hash-password " + user +
                         " > " + (dir.path() / file).string());
    ASSERT_EQ(r.code, 0) << r.out;
  }
  process p(MOSAICD_PATH,
            {"--config", "/dev/null", "--set", "log.dirs=[d]", "--set",
             "listeners=[{name: PLAINTEXT, host: 127.0.0.1, port: " + std::to_string(ports[0]) +
                 ", adapter: kafka}, {name: SASL, host: 127.0.0.1, port: " + std::to_string(ports[1]) +
                 ", adapter: kafka, security.protocol: SASL_PLAINTEXT}]",
             "--set", "plugins.load=[{name: mosaic.authn.plain, config: {users.file: a.txt}}]", "--set",
             "plugins.hot_swap={enabled: true}"},
            dir.path());
  ASSERT_TRUE(p.wait_for_log("mosaicd started")) << p.err();
  auto login = [&](const std::string& user) {
    return run_command("timeout 20 kcat -L -m 2 -b 127.0.0.1:" + std::to_string(ports[1]) +
                       " -X security.protocol=SASL_PLAINTEXT -X sasl.mechanism=PLAIN -X sasl.username=" + user +
                       " -X sasl.password=" + user + "-secret 2>&1")
               .code == 0;
  };
  EXPECT_TRUE(login("alice"));
  EXPECT_FALSE(login("bob"));
  const std::string cli = "timeout 30 " + cli_path + " -b 127.0.0.1:" + std::to_string(ports[0]) + " plugin ";
  auto other = run_command(cli + "swap authenticator.mosaic.authn.plain mosaic.authn.scram 2>&1");
  EXPECT_EQ(other.code, 1) << other.out;
  EXPECT_NE(other.out.find("SASL mechanisms stay with the plugin that serves them"), std::string::npos) << other.out;
  auto swapped =
      run_command(cli + "swap authenticator.mosaic.authn.plain mosaic.authn.plain --set users.file=b.txt 2>&1");
  ASSERT_EQ(swapped.code, 0) << swapped.out;
  EXPECT_NE(swapped.out.find("users.file=b.txt"), std::string::npos) << swapped.out;
  EXPECT_TRUE(login("bob"));
  EXPECT_FALSE(login("alice"));
  auto back = run_command(cli + "rollback authenticator.mosaic.authn.plain 2>&1");
  ASSERT_EQ(back.code, 0) << back.out;
  EXPECT_TRUE(login("alice"));
}

}  // namespace
}  // namespace mosaic::testing

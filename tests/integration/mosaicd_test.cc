// mosaicd as a user runs it: a real process, in a folder of its own.
#include <gtest/gtest.h>

#include "tests/integration/process.h"
#include "tests/support/ports.h"

namespace mosaic::testing {
namespace {

using namespace std::chrono_literals;

const std::string mosaicd = MOSAICD_PATH;
const std::string single_node = MOSAIC_SOURCE_DIR "/configs/single-node.yaml";
// The single-node config's listener on a port picked at run time.
const std::string any_port = "listeners=[{name: PLAINTEXT, host: 127.0.0.1, port: 0, adapter: kafka}]";

TEST(mosaicd, starts_with_the_single_node_config_and_stops_on_sigterm) {
  temp_dir dir;
  process p(mosaicd, {"--config", single_node, "--set", any_port}, dir.path());
  ASSERT_TRUE(p.wait_for_log("mosaicd started")) << p.err();
  // Data lives relative to where mosaicd was started.
  EXPECT_TRUE(std::filesystem::is_directory(dir / "data"));
  for (const char* codec : {"mosaic.codec.gzip", "mosaic.codec.snappy", "mosaic.codec.lz4", "mosaic.codec.zstd"})
    EXPECT_NE(p.err().find(std::string("plugin ") + codec), std::string::npos) << codec;
  EXPECT_NE(p.err().find("listening on PLAINTEXT 127.0.0.1:"), std::string::npos) << p.err();
  p.signal(SIGTERM);
  ASSERT_EQ(p.wait(5s), 0);
  EXPECT_NE(p.err().find("SIGTERM: stopping"), std::string::npos);
  EXPECT_NE(p.err().find("mosaicd stopped"), std::string::npos);
}

TEST(mosaicd, every_start_registers_a_new_broker_epoch) {
  temp_dir dir;
  for (int start = 1; start <= 2; ++start) {
    process p(mosaicd, {"--config", single_node, "--set", any_port, "--set", "broker.rack=rack-a"}, dir.path());
    ASSERT_TRUE(p.wait_for_log("mosaicd started")) << p.err();
    EXPECT_NE(p.err().find("broker epoch " + std::to_string(start)), std::string::npos) << p.err();
    if (start == 1) {
      p.signal(SIGKILL);  // an unclean stop registers anew all the same
      p.wait(5s);
    } else {
      p.signal(SIGTERM);
      EXPECT_EQ(p.wait(5s), 0);
    }
  }
  process bad(mosaicd, {"--config", single_node, "--set", any_port, "--set", "broker.rack="}, dir.path());
  EXPECT_EQ(bad.wait(5s), 2);
  EXPECT_NE(bad.err().find("broker.rack"), std::string::npos) << bad.err();
}

TEST(mosaicd, stops_on_sigint) {
  temp_dir dir;
  process p(mosaicd, {"--config", single_node, "--set", any_port}, dir.path());
  ASSERT_TRUE(p.wait_for_log("mosaicd started")) << p.err();
  p.signal(SIGINT);
  ASSERT_EQ(p.wait(5s), 0);
  EXPECT_NE(p.err().find("SIGINT: stopping"), std::string::npos);
}

TEST(mosaicd, copies_in_two_folders_keep_apart_and_one_folder_is_locked) {
  temp_dir a, b;
  process first(mosaicd, {"--config", single_node, "--set", any_port}, a.path());
  process second(mosaicd, {"--config", single_node, "--set", any_port}, b.path());
  ASSERT_TRUE(first.wait_for_log("mosaicd started")) << first.err();
  ASSERT_TRUE(second.wait_for_log("mosaicd started")) << second.err();
  process third(mosaicd, {"--config", single_node, "--set", any_port}, a.path());
  ASSERT_EQ(third.wait(5s), 1);
  EXPECT_NE(third.err().find("is in use by another mosaicd"), std::string::npos) << third.err();
  first.signal(SIGTERM);
  second.signal(SIGTERM);
  EXPECT_EQ(first.wait(5s), 0);
  EXPECT_EQ(second.wait(5s), 0);
}

TEST(mosaicd, set_overrides_keys_from_the_command_line) {
  temp_dir dir;
  process p(mosaicd,
            {"--config", single_node, "--set", any_port, "--set", "log.dirs=[elsewhere]", "--set", "log_level=debug",
             "--set", "plugins.load=[{name: mosaic.codec.zstd, config: {level: 7}}]"},
            dir.path());
  ASSERT_TRUE(p.wait_for_log("mosaicd started")) << p.err();
  EXPECT_TRUE(std::filesystem::is_directory(dir / "elsewhere"));
  EXPECT_FALSE(std::filesystem::exists(dir / "data"));
  EXPECT_NE(p.err().find("is codec 4 generation 1: level=7"), std::string::npos) << p.err();
  EXPECT_EQ(p.err().find("mosaic.codec.gzip"), std::string::npos);
  p.signal(SIGTERM);
  EXPECT_EQ(p.wait(5s), 0);
}

TEST(mosaicd, loads_a_shared_library_plugin) {
  temp_dir dir;
  dir.write("node.yaml",
            "plugins:\n"
            "  search_paths: [" MOSAIC_PLUGIN_DIR
            "]\n"
            "  load:\n"
            "    - {name: mosaic.codec.lz4, library: libmosaic_codec_lz4.so}\n");
  process p(mosaicd, {"--config", "node.yaml"}, dir.path());
  ASSERT_TRUE(p.wait_for_log("mosaicd started")) << p.err();
  EXPECT_NE(
      p.err().find("loaded plugin library mosaic-codec-lz4 0.1.0 from " MOSAIC_PLUGIN_DIR "/libmosaic_codec_lz4.so"),
      std::string::npos)
      << p.err();
  p.signal(SIGTERM);
  EXPECT_EQ(p.wait(5s), 0);
}

TEST(mosaicd, refuses_to_start_with_a_bad_plugin_and_says_why) {
  temp_dir dir;
  dir.write("node.yaml",
            "plugins:\n  load:\n    - {name: mosaic.codec.zstd, library: /nonexistent/libzstd_plugin.so}\n");
  process p(mosaicd, {"--config", "node.yaml"}, dir.path());
  ASSERT_EQ(p.wait(5s), 1);
  EXPECT_NE(p.err().find("node.yaml:3:7: plugin library '/nonexistent/libzstd_plugin.so': no such file"),
            std::string::npos)
      << p.err();
}

TEST(mosaicd, a_broker_only_node_without_controllers_to_follow_is_refused) {
  temp_dir dir;
  dir.write("node.yaml", "process.roles: [broker]\n");
  process p(mosaicd, {"--config", "node.yaml", "--set", any_port}, dir.path());
  ASSERT_EQ(p.wait(10s), 2);
  EXPECT_NE(p.err().find("needs controller.quorum.voters"), std::string::npos) << p.err();
}

TEST(mosaicd, a_controller_only_node_runs_the_quorum_and_serves_no_clients) {
  temp_dir dir;
  dir.write("node.yaml", "process.roles: [controller]\n");
  process p(mosaicd, {"--config", "node.yaml"}, dir.path());
  ASSERT_TRUE(p.wait_for_log("mosaicd started")) << p.err();
  EXPECT_NE(p.err().find("controller only: no broker service, no listeners"), std::string::npos) << p.err();
  EXPECT_EQ(p.err().find("listening on"), std::string::npos) << p.err();
  p.signal(SIGTERM);
  EXPECT_EQ(p.wait(10s), 0);
}

TEST(mosaicd, a_voter_without_a_quorum_waits_saying_so_and_stops_on_sigterm) {
  temp_dir dir;
  // Two voters, the other never started: no majority, no metadata. Ports
  // picked at run time (a fixed low one would be bound while this runs,
  // under a test that expects nothing to listen there).
  const auto ports = free_ports(2);
  dir.write("node.yaml", "controller.quorum.voters: [1@127.0.0.1:" + std::to_string(ports[0]) +
                             ", 2@127.0.0.1:" + std::to_string(ports[1]) + "]\n");
  process p(mosaicd, {"--config", "node.yaml", "--set", any_port, "--set", "controller.quorum.election.timeout.ms=50"},
            dir.path());
  EXPECT_TRUE(p.wait_for_log("waiting for the metadata quorum (voters 1,2; leader unknown)", 15s)) << p.err();
  p.signal(SIGTERM);
  EXPECT_EQ(p.wait(5s), 1);
  EXPECT_NE(p.err().find("stopped while waiting for the metadata quorum"), std::string::npos) << p.err();
}

TEST(mosaicd, sighup_hot_swaps_a_changed_plugin_and_keeps_the_rest) {
  temp_dir dir;
  auto config = [&](int level) {
    dir.write("node.yaml",
              "plugins:\n  load:\n    - mosaic.codec.gzip\n    - name: mosaic.codec.zstd\n      config: {level: " +
                  std::to_string(level) + "}\n");
  };
  config(3);
  process p(mosaicd, {"--config", "node.yaml"}, dir.path());
  ASSERT_TRUE(p.wait_for_log("mosaicd started")) << p.err();
  config(9);
  p.signal(SIGHUP);
  ASSERT_TRUE(p.wait_for_log("reload done")) << p.err();
  EXPECT_NE(p.err().find("is codec 4 generation 2: level=9"), std::string::npos) << p.err();
  EXPECT_EQ(p.err().find("is codec 1 generation 2"), std::string::npos) << "gzip did not change";
  // A broken file is refused and the node keeps running on what it has.
  dir.write("node.yaml", "plugins:\n  load:\n    - {name: mosaic.codec.zstd, config: {level: 99}}\n");
  p.signal(SIGHUP);
  ASSERT_TRUE(p.wait_for_log("(the running generation stays)")) << p.err();
  EXPECT_NE(p.err().find("'level': must be between -7 and 22"), std::string::npos) << p.err();
  p.signal(SIGTERM);
  EXPECT_EQ(p.wait(5s), 0);
}

TEST(mosaicd, sighup_hot_swaps_an_assignor_and_a_bad_assignor_list_is_refused) {
  temp_dir dir;
  auto config = [&](const std::string& mode) {
    dir.write("node.yaml",
              "listeners: []\ngroup.consumer.assignors: [uniform, bad]\nplugins:\n  load:\n"
              "    - {name: test.assignor.bad, library: " MOSAIC_FIXTURE_DIR
              "/libbad_assignor.so, "
              "config: {mode: " +
                  mode + "}}\n");
  };
  config("twice");
  process p(mosaicd, {"--config", "node.yaml"}, dir.path());
  ASSERT_TRUE(p.wait_for_log("mosaicd started")) << p.err();
  EXPECT_NE(p.err().find("is assignor 'bad' generation 1: mode=twice"), std::string::npos) << p.err();
  // uniform is named by group.consumer.assignors and loaded as a built-in.
  EXPECT_NE(p.err().find("is assignor 'uniform' generation 1"), std::string::npos) << p.err();
  // A new config for the assignor: a new generation in its slot, which the
  // next rebalance of every group uses.
  config("fail");
  p.signal(SIGHUP);
  ASSERT_TRUE(p.wait_for_log("reload done")) << p.err();
  EXPECT_NE(p.err().find("is assignor 'bad' generation 2: mode=fail"), std::string::npos) << p.err();
  EXPECT_EQ(p.err().find("is assignor 'uniform' generation 2"), std::string::npos) << "uniform did not change";
  p.signal(SIGTERM);
  EXPECT_EQ(p.wait(5s), 0);

  // group.consumer.assignors naming an assignor nobody provides.
  dir.write("bad.yaml", "group.consumer.assignors: [uniform, sticky-rack]\n");
  process bad(mosaicd, {"--config", "bad.yaml"}, dir.path());
  ASSERT_EQ(bad.wait(5s), 1);
  EXPECT_NE(bad.err().find("group.consumer.assignors names 'sticky-rack'"), std::string::npos) << bad.err();
}

TEST(mosaicd, validate_config_accepts_a_good_file) {
  temp_dir dir;
  process p(mosaicd, {"--validate-config", single_node}, dir.path());
  ASSERT_EQ(p.wait(), 0) << p.err();
  EXPECT_NE(p.out().find("config is valid (6 plugins)"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(dir / "data")) << "validation must not touch the data folders";
}

TEST(mosaicd, validate_config_names_file_line_and_key) {
  temp_dir dir;
  dir.write("bad.yaml", "node.id: 1\nlisteners:\n  - {name: A, host: 127.0.0.1, prot: 9092, adapter: kafka}\n");
  process p(mosaicd, {"--validate-config", "bad.yaml"}, dir.path());
  ASSERT_EQ(p.wait(), 2);
  EXPECT_NE(p.err().find("bad.yaml:3:32: key 'listeners.prot': unknown listener key"), std::string::npos) << p.err();
}

TEST(mosaicd, validate_config_checks_plugin_blocks_against_their_fields) {
  temp_dir dir;
  dir.write("bad.yaml", "plugins:\n  load:\n    - name: mosaic.codec.gzip\n      config:\n        levle: 3\n");
  process p(mosaicd, {"--validate-config", "bad.yaml"}, dir.path());
  ASSERT_EQ(p.wait(), 2);
  EXPECT_NE(p.err().find("bad.yaml:5:16: plugin 'mosaic.codec.gzip': unknown config key 'levle' (its keys are: level)"),
            std::string::npos)
      << p.err();
  dir.write("bad2.yaml", "plugins:\n  load:\n    - {name: mosaic.codec.gzip, config: {level: fast}}\n");
  process q(mosaicd, {"--validate-config", "bad2.yaml"}, dir.path());
  ASSERT_EQ(q.wait(), 2);
  EXPECT_NE(q.err().find("config key 'level': expected an integer, got 'fast'"), std::string::npos) << q.err();
}

TEST(mosaicd, lists_builtin_and_shared_plugins_with_their_fields) {
  temp_dir dir;
  process p(mosaicd, {"--list-plugins"}, dir.path());
  ASSERT_EQ(p.wait(), 0) << p.err();
  const std::string out = p.out();
  EXPECT_NE(
      out.find(
          "mosaic.codec.zstd\n  category codec, library mosaic-codec-zstd 0.1.0, ABI 1.0, builtin:mosaic_codec_zstd"),
      std::string::npos)
      << out;
  EXPECT_NE(out.find("ABI 1.0, " MOSAIC_PLUGIN_DIR "/libmosaic_codec_snappy.so"), std::string::npos) << out;
  EXPECT_NE(out.find("config level: an integer [1..9], default 6 reconfigurable"), std::string::npos) << out;
}

TEST(mosaicd, bad_arguments_exit_2_with_usage) {
  temp_dir dir;
  process p(mosaicd, {"--frobnicate"}, dir.path());
  ASSERT_EQ(p.wait(), 2);
  EXPECT_NE(p.err().find("unknown argument '--frobnicate'"), std::string::npos);
  process q(mosaicd, {}, dir.path());
  ASSERT_EQ(q.wait(), 2);
  EXPECT_NE(q.err().find("--config FILE is required"), std::string::npos);
  process h(mosaicd, {"--help"}, dir.path());
  ASSERT_EQ(h.wait(), 0);
  EXPECT_NE(h.out().find("plugins.search_paths"), std::string::npos);
}

}  // namespace
}  // namespace mosaic::testing

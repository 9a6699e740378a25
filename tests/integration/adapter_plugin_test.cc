// Protocol adapters as plugins, with real mosaicd processes: the Kafka
// adapter loaded from libmosaic_protocol_kafka.so and used by kcat and
// librdkafka's own tools, a second adapter of the tests' own on another
// listener of the same broker, and each refusal (another build's adapter,
// a plugin that is not an adapter, an adapter that is nowhere, a bad config
// block) stopping mosaicd with a message that says what to do.
#include <gtest/gtest.h>

#include <string>

#include "tests/integration/process.h"
#include "tests/support/frame_client.h"
#include "tests/support/shell.h"
#include "tests/support/temp_dir.h"

namespace mosaic::testing {
namespace {

using namespace std::chrono_literals;

const std::string mosaicd = MOSAICD_PATH;
const std::string echo_lib = MOSAIC_FIXTURE_DIR "/libecho_adapter.so";
const std::string other_build_lib = MOSAIC_FIXTURE_DIR "/libecho_adapter_other_build.so";

// A node.yaml with these listeners and plugins.load entries.
std::string node_yaml(const std::string& listeners, const std::string& load) {
  return "log.dirs: [data]\n"
         "plugins:\n"
         "  search_paths: [" MOSAIC_PLUGIN_DIR
         "]\n"
         "  load:" +
         (load.empty() ? std::string(" []\n") : "\n" + load) + "listeners:\n" + listeners;
}

const std::string kafka_shared = "    - {name: mosaic.protocol.kafka, library: libmosaic_protocol_kafka.so}\n";

TEST(adapter_plugin, kafka_from_its_shared_library_beside_a_second_adapter_on_one_broker) {
  temp_dir dir;
  dir.write("node.yaml", node_yaml("  - {name: PLAINTEXT, host: 127.0.0.1, port: 0, adapter: kafka}\n"
                                   "  - {name: ECHO, host: 127.0.0.1, port: 0, adapter: com.example.protocol.echo}\n"
                                   "  - {name: METRICS, host: 127.0.0.1, port: 0, adapter: metrics}\n",
                                   kafka_shared + "    - {name: com.example.protocol.echo, library: " + echo_lib +
                                       ", config: {prefix: 'echo:'}}\n"));
  process p(mosaicd, {"--config", "node.yaml"}, dir.path());
  ASSERT_TRUE(p.wait_for_log("mosaicd started")) << p.err();
  EXPECT_NE(p.err().find("loaded plugin library mosaic-protocol-kafka 0.1.0 from " MOSAIC_PLUGIN_DIR
                         "/libmosaic_protocol_kafka.so"),
            std::string::npos)
      << p.err();
  EXPECT_EQ(p.err().find("using built-in plugin library mosaic-protocol-kafka"), std::string::npos) << p.err();
  const std::string bootstrap = "127.0.0.1:" + std::to_string(port_in(p.err(), "PLAINTEXT"));

  // Kafka clients on the loaded adapter: records in, the same records out.
  auto produced = run_command("seq 1 50 | kcat -P -b " + bootstrap + " -t loaded 2>&1");
  ASSERT_EQ(produced.code, 0) << produced.out;
  auto consumed = run_command("kcat -C -b " + bootstrap + " -t loaded -e -q -c 50 2>&1");
  ASSERT_EQ(consumed.code, 0) << consumed.out;
  EXPECT_EQ(lines(consumed.out).size(), 50u) << consumed.out;
  EXPECT_EQ(lines(consumed.out).front(), "1");
  EXPECT_EQ(lines(consumed.out).back(), "50");

  // The second adapter answers on its own listener, with its config.
  frame_client echo(port_in(p.err(), "ECHO"));
  ASSERT_TRUE(echo.connected());
  ASSERT_TRUE(echo.send(std::string("hello, adapter")));
  EXPECT_EQ(echo.receive_text(), "echo:hello, adapter");
  // Its own frame limit holds (4096): the connection closes, the broker runs.
  ASSERT_TRUE(echo.send(std::string(5000, 'x')));
  EXPECT_TRUE(echo.closed_by_server());

  // Its requests are counted under the name it gives them.
  auto scraped =
      run_command("curl -s -m 10 http://127.0.0.1:" + std::to_string(port_in(p.err(), "METRICS")) + "/metrics");
  EXPECT_NE(scraped.out.find("mosaic_request_duration_seconds_count{listener=\"ECHO\",api=\"Echo\",version=\"0\"} 1"),
            std::string::npos)
      << scraped.out.substr(0, 4000);
  auto again = run_command("kcat -C -b " + bootstrap + " -t loaded -e -q -c 50 2>&1 | wc -l");
  EXPECT_EQ(again.out, "50\n");
  p.signal(SIGTERM);
  EXPECT_EQ(p.wait(10s), 0) << p.err();
}

TEST(adapter_plugin, an_adapter_built_another_way_is_refused_naming_both_builds) {
  temp_dir dir;
  dir.write("node.yaml", node_yaml("  - {name: ECHO, host: 127.0.0.1, port: 0, adapter: com.example.protocol.echo}\n",
                                   "    - {name: com.example.protocol.echo, library: " + other_build_lib + "}\n"));
  for (bool validate : {true, false}) {
    process p(mosaicd, {validate ? "--validate-config" : "--config", "node.yaml"}, dir.path());
    const auto code = p.wait(10s);
    ASSERT_TRUE(code.has_value());
    EXPECT_NE(*code, 0);
    EXPECT_NE(p.err().find("a protocol adapter built as [mosaic 0.1.0 adapter-rev 1; g++ 9.9.9; libstdc++ 20190101 "
                           "cxx11-abi=0; C++ 201703L; sanitizer none], but this mosaicd is [mosaic 0.1.0"),
              std::string::npos)
        << p.err();
    EXPECT_NE(p.err().find("rebuild it against this one"), std::string::npos) << p.err();
    EXPECT_EQ(p.err().find("mosaicd started"), std::string::npos) << p.err();
  }
}

TEST(adapter_plugin, a_listener_naming_no_adapter_is_refused_and_says_which) {
  struct refusal {
    std::string listener, load, message;
  };
  const refusal cases[] = {
      {"adapter: mosaic.codec.zstd", "",
       "listener L: adapter 'mosaic.codec.zstd' names mosaic.codec.zstd, which is not a protocol adapter plugin"},
      {"adapter: mqtt", "",
       "listener L: adapter 'mqtt' (mosaic.protocol.mqtt) cannot be loaded: plugin library "
       "'libmosaic_protocol_mqtt.so': no such file in the search paths (" MOSAIC_PLUGIN_DIR ")"},
      {"adapter: com.example.protocol.echo",
       "    - {name: com.example.protocol.echo, library: " + echo_lib + ", config: {prefx: 'x'}}\n", "prefx"},
  };
  for (const auto& c : cases) {
    temp_dir dir;
    dir.write("node.yaml", node_yaml("  - {name: L, host: 127.0.0.1, port: 0, " + c.listener + "}\n", c.load));
    for (bool validate : {true, false}) {
      process p(mosaicd, {validate ? "--validate-config" : "--config", "node.yaml"}, dir.path());
      const auto code = p.wait(10s);
      ASSERT_TRUE(code.has_value()) << c.listener;
      EXPECT_NE(*code, 0) << c.listener;
      EXPECT_NE(p.err().find(c.message), std::string::npos) << p.err();
    }
  }
}

}  // namespace
}  // namespace mosaic::testing

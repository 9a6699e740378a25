// One mosaicd started with configs/single-node.yaml for the real-client
// tests (tests/compat): its own folder, a port picked at run time.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "tests/integration/process.h"
#include "tests/support/shell.h"

namespace mosaic::testing {

inline const std::string mosaicd = MOSAICD_PATH;
inline const std::string single_node = MOSAIC_SOURCE_DIR "/configs/single-node.yaml";
inline const std::string compat_dir = MOSAIC_SOURCE_DIR "/tests/compat";

inline std::string run(const std::string& cmd) { return run_command(cmd).out; }

// mosaicd with the single-node config, in a folder of its own, listening on
// a port picked at run time.
class broker {
 public:
  explicit broker(const temp_dir& dir, std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"--config", single_node, "--set",
                                     "listeners=[{name: PLAINTEXT, host: 127.0.0.1, port: 0, adapter: kafka}]"};
    // MOSAIC_TEST_KAFKA_ADAPTER=shared: the Kafka adapter from
    // libmosaic_protocol_kafka.so, not the copy built into mosaicd (ctest
    // runs part of this suite so; see tests/CMakeLists.txt).
    const char* adapter = std::getenv("MOSAIC_TEST_KAFKA_ADAPTER");
    const bool shared = adapter != nullptr && std::string(adapter) == "shared";
    if (shared)
      args.insert(args.end(), {"--set",
                               "plugins.load=[{name: mosaic.codec.gzip, config: {level: 6}}, mosaic.codec.snappy, "
                               "mosaic.codec.lz4, mosaic.codec.zstd, {name: mosaic.protocol.kafka, library: "
                               "libmosaic_protocol_kafka.so}]"});
    for (auto& e : extra) args.insert(args.end(), {"--set", e});
    p_ = std::make_unique<process>(mosaicd, args, dir.path());
    EXPECT_TRUE(p_->wait_for_log("mosaicd started")) << p_->err();
    if (shared) {
      EXPECT_NE(p_->err().find("loaded plugin library mosaic-protocol-kafka"), std::string::npos) << p_->err();
    }
    // "listening on PLAINTEXT 127.0.0.1:PORT (kafka)"
    const std::string err = p_->err();
    const std::string mark = "listening on PLAINTEXT 127.0.0.1:";
    if (auto at = err.find(mark); at != std::string::npos) {
      const auto digits = err.substr(at + mark.size(), err.find(' ', at + mark.size()) - at - mark.size());
      bootstrap_ = "127.0.0.1:" + digits;
    }
    EXPECT_FALSE(bootstrap_.empty()) << err;
  }
  const std::string& bootstrap() const { return bootstrap_; }
  process& proc() { return *p_; }

 private:
  std::unique_ptr<process> p_;
  std::string bootstrap_;
};

}  // namespace mosaic::testing

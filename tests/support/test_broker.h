// A whole broker in the test's process: a real node (metadata log, broker
// service, partition logs in a temp folder) behind a real Kafka listener on
// a loopback port chosen at run time.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "kernel/app/builtins.h"
#include "kernel/app/node.h"
#include "kernel/base/log.h"
#include "kernel/config/broker_config.h"
#include "tests/support/temp_dir.h"

namespace mosaic::testing {

class test_broker {
 public:
  explicit test_broker(std::vector<std::string> overrides = {}, const temp_dir* reuse = nullptr) {
    const auto& dir = reuse ? reuse->path() : own_.path();
    std::vector<std::string> all = {
        "log.dirs=[" + (dir / "data").string() + "]",
        "listeners=[{name: PLAINTEXT, host: 127.0.0.1, port: 0, adapter: kafka}]",
        "cluster.id=mosaic-test-cluster",
        "log_level=warn",
        "plugins.load=[mosaic.codec.gzip, mosaic.codec.snappy, mosaic.codec.lz4, mosaic.codec.zstd]",
    };
    all.insert(all.end(), overrides.begin(), overrides.end());
    auto cfg = config::parse_broker_config("", "<test>", all, dir);
    if (!cfg) {
      ADD_FAILURE() << cfg.error().message();
      return;
    }
    log::set_level(std::getenv("MOSAIC_TEST_DEBUG") ? log::level::debug : log::level::warn);
    node_ = std::make_unique<app::node>(*cfg, app::builtin_plugins());
    if (auto s = node_->open_data_dirs(); !s) ADD_FAILURE() << s.message();
    if (auto s = node_->load_plugins(); !s) ADD_FAILURE() << s.message();
    if (auto s = node_->start_services(); !s) ADD_FAILURE() << s.message();
    port_ = node_->bound_port("PLAINTEXT");
  }
  ~test_broker() {
    if (node_) (void)node_->shutdown();
  }

  uint16_t port() const { return port_; }
  std::string bootstrap() const { return "127.0.0.1:" + std::to_string(port_); }
  app::node& node() { return *node_; }

 private:
  temp_dir own_{"mosaic_broker"};
  std::unique_ptr<app::node> node_;
  uint16_t port_ = 0;
};

}  // namespace mosaic::testing

// mosaicd with a SASL_PLAINTEXT listener served by mosaic.authn.plain (a
// users file of argon2id hashes made by `mosaic user hash-password`) and by
// mosaic.authn.scram, beside a PLAINTEXT listener: what the SASL and the
// ACL tests start. Needs MOSAIC_CLI_PATH.
#pragma once

#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tests/integration/process.h"
#include "tests/support/shell.h"
#include "tests/support/temp_dir.h"

namespace mosaic::testing {

using namespace std::chrono_literals;

inline const std::string cli = MOSAIC_CLI_PATH;

// "NAME:HASH" for a users file, from the CLI.
inline std::string user_line(const std::string& name, const std::string& password) {
  auto r = run_command("printf '%s\\n' '" + password + "' | " + cli + " user hash-password " + name);
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(r.out.rfind(name + ":$argon2id$", 0), 0u) << r.out;
  return r.out;
}

// mosaicd with a SASL listener and a plaintext one; alice is in the users
// file.
class sasl_broker {
 public:
  // `extra`: --set settings; `more_users`: (name, password) beside alice;
  // `more_plugins`: entries of plugins.load beside the authenticators, as
  // YAML lines ("    - name: ...").
  explicit sasl_broker(const std::vector<std::string>& extra = {},
                       const std::vector<std::pair<std::string, std::string>>& more_users = {},
                       const std::string& more_plugins = {}) {
    users_ = dir_.path() / "users.txt";
    std::ofstream users(users_);
    users << "# test users\n" << user_line("alice", "alice-secret");
    for (const auto& [name, password] : more_users) users << user_line(name, password);
    users.close();
    write_config(more_plugins);
    args_ = {"--config", config_file().string(), "--set", "connection.failed.authentication.delay.ms=300"};
    for (const auto& e : extra) args_.insert(args_.end(), {"--set", e});
    start();
  }
  // Stops mosaicd (SIGTERM) and starts it again on the same data.
  void restart() {
    p_->signal(SIGTERM);
    EXPECT_TRUE(p_->wait(20s));
    p_.reset();
    start();
  }
  // Rewrites the config file (for a SIGHUP) with other plugin entries.
  void write_config(const std::string& more_plugins) const {
    std::ofstream(config_file()) << "node.id: 1\nlog.dirs: [data]\nlisteners:\n"
                                 << "  - {name: SASL, host: 127.0.0.1, port: 0, adapter: kafka,"
                                 << " security.protocol: SASL_PLAINTEXT}\n"
                                 << "  - {name: PLAIN_TEXT, host: 127.0.0.1, port: 0, adapter: kafka}\n"
                                 << "plugins:\n  load:\n    - name: mosaic.authn.plain\n      config: {users.file: "
                                 << users_.string() << "}\n    - mosaic.authn.scram\n"
                                 << more_plugins;
  }
  std::filesystem::path config_file() const { return dir_.path() / "sasl.yaml"; }
  std::string sasl_address() const { return "127.0.0.1:" + std::to_string(sasl_port); }
  std::string plain_address() const { return "127.0.0.1:" + std::to_string(plain_port); }
  void add_user(const std::string& name, const std::string& password) {
    std::ofstream(users_, std::ios::app) << user_line(name, password);
  }
  process& proc() { return *p_; }
  const temp_dir& dir() const { return dir_; }

  uint16_t sasl_port = 0, plain_port = 0;

 private:
  void start() {
    p_ = std::make_unique<process>(MOSAICD_PATH, args_, dir_.path());
    EXPECT_TRUE(p_->wait_for_log("mosaicd started", 20s)) << p_->err();
    sasl_port = port_in(p_->err(), "SASL");
    plain_port = port_in(p_->err(), "PLAIN_TEXT");
    EXPECT_NE(sasl_port, 0) << p_->err();
  }

  temp_dir dir_{"sasl"};
  std::filesystem::path users_;
  std::vector<std::string> args_;
  std::unique_ptr<process> p_;
};

inline std::string kcat_sasl(const std::string& address, const std::string& user, const std::string& password) {
  return "kcat -b " + address +
         " -X security.protocol=SASL_PLAINTEXT -X sasl.mechanism=PLAIN -X sasl.username=" + user +
         " -X sasl.password=" + password;
}

}  // namespace mosaic::testing

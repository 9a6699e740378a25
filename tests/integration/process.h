// Runs a real program for integration tests: in a folder of its own, with
// stdout and stderr captured to files, signals on demand, and a kill if a
// test forgets it. Everything is bounded in time.
#pragma once

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/temp_dir.h"

namespace mosaic::testing {

inline std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class process {
 public:
  process(const std::string& exe, const std::vector<std::string>& args, const std::filesystem::path& cwd)
      : out_(cwd / ("out." + std::to_string(counter()))), err_(cwd / ("err." + std::to_string(counter()++))) {
    pid_ = ::fork();
    if (pid_ == 0) {
      if (::chdir(cwd.c_str()) != 0) ::_exit(126);
      std::FILE* o = std::freopen(out_.c_str(), "w", stdout);
      std::FILE* e = std::freopen(err_.c_str(), "w", stderr);
      if (o == nullptr || e == nullptr) ::_exit(126);
      std::vector<char*> argv;
      argv.push_back(const_cast<char*>(exe.c_str()));
      for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      ::execv(exe.c_str(), argv.data());
      ::_exit(127);
    }
  }
  ~process() {
    if (!exit_code_ && pid_ > 0) {
      ::kill(pid_, SIGKILL);
      int st = 0;
      ::waitpid(pid_, &st, 0);
    }
  }
  process(const process&) = delete;
  process& operator=(const process&) = delete;

  void signal(int sig) const { ::kill(pid_, sig); }

  // The exit code (128+N for a signal), or nullopt if still running after `timeout`.
  std::optional<int> wait(std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!exit_code_) {
      int st = 0;
      pid_t r = ::waitpid(pid_, &st, WNOHANG);
      if (r == pid_) {
        exit_code_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        break;
      }
      if (std::chrono::steady_clock::now() > deadline) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return exit_code_;
  }

  // Waits until stderr contains `text` (or the process ends, or time runs out).
  bool wait_for_log(const std::string& text, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (err().find(text) != std::string::npos) return true;
      if (wait(std::chrono::milliseconds(0))) return err().find(text) != std::string::npos;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  }

  std::string out() const { return slurp(out_); }
  std::string err() const { return slurp(err_); }

 private:
  static int& counter() {
    static int n = 0;
    return n;
  }
  std::filesystem::path out_, err_;
  pid_t pid_ = -1;
  std::optional<int> exit_code_;
};

// The port a listener was bound to, from mosaicd's "listening on NAME
// 127.0.0.1:PORT" line (0 when the log has none).
inline uint16_t port_in(const std::string& log, const std::string& listener) {
  const std::string mark = "listening on " + listener + " 127.0.0.1:";
  const auto at = log.find(mark);
  return at == std::string::npos ? 0 : static_cast<uint16_t>(std::stoi(log.substr(at + mark.size())));
}

}  // namespace mosaic::testing

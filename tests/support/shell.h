// Runs a shell command and collects what it printed (stdout and stderr)
// and how it exited: for tests that drive real client programs.
#pragma once

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

namespace mosaic::testing {

struct command_result {
  int code = -1;    // the exit code; -1 if it did not exit normally
  std::string out;  // stdout and stderr
};

inline command_result run_command(const std::string& cmd) {
  command_result r;
  FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
  if (p == nullptr) return r;
  std::array<char, 4096> buf{};
  while (size_t n = std::fread(buf.data(), 1, buf.size(), p)) r.out.append(buf.data(), n);
  const int status = ::pclose(p);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

// The non-empty lines of a client's output, without its '%' log lines
// (kcat's).
inline std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);)
    if (!l.empty() && l[0] != '%') out.push_back(l);
  return out;
}

}  // namespace mosaic::testing

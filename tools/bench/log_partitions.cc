// How fast and how light a node with many partitions opens: creates N
// partitions with a little data each, then, in a fresh process (so that
// nothing from the creation is still resident), measures the start-up scan
// and then opening every partition, with the resident memory after each.
//   log_partitions [N=10000]
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "kernel/log/batch_builder.h"
#include "kernel/log/log_manager.h"

namespace {

double rss_mib() {
  std::ifstream statm("/proc/self/statm");
  long pages = 0, resident = 0;
  statm >> pages >> resident;
  return static_cast<double>(resident) * static_cast<double>(::sysconf(_SC_PAGESIZE)) / (1 << 20);
}

size_t open_fds() {
  size_t n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) ++n;
  return n;
}

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

int main(int argc, char** argv) {
  using namespace mosaic::log;
  const bool measure = argc > 3 && std::string(argv[3]) == "--measure";
  const int n = argc > 1 ? std::stoi(argv[1]) : 10000;
  std::filesystem::path dir;
  if (argc > 2) {
    dir = argv[2];
  } else {
    std::string tmpl = (std::filesystem::temp_directory_path() / "mosaic_parts_XXXXXX").string();
    dir = ::mkdtemp(tmpl.data());
  }
  log_manager_options opts;
  opts.dirs = {dir};
  opts.background = false;
  if (!measure) {
    {
      auto m = log_manager::open(opts);
      if (!m) return 1;
      batch_builder b(1'764'000'000'000);
      for (int i = 0; i < 10; ++i) b.add("key", std::string(100, 'x'));
      auto batch = b.finish();
      for (int p = 0; p < n; ++p) {
        auto l = (*m)->create("topic" + std::to_string(p / 100), p % 100, {});
        for (int i = 0; i < 3 && l; ++i) (void)(*l)->append(batch, 0);
      }
      (void)(*m)->close_all();
    }
    const std::string count = std::to_string(n), where = dir.string();
    pid_t pid = ::fork();
    if (pid == 0) {
      ::execl("/proc/self/exe", argv[0], count.c_str(), where.c_str(), "--measure", nullptr);
      ::_exit(127);
    }
    int st = 0;
    ::waitpid(pid, &st, 0);
    std::filesystem::remove_all(dir);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
  }
  const double base = rss_mib();
  auto t0 = std::chrono::steady_clock::now();
  auto m = log_manager::open(opts);
  if (!m) return 1;
  const double scan_s = seconds_since(t0);
  const double after_scan = rss_mib();
  t0 = std::chrono::steady_clock::now();
  size_t opened = 0;
  for (int p = 0; p < n; ++p) opened += (*m)->get("topic" + std::to_string(p / 100), p % 100).ok() ? 1 : 0;
  const double open_s = seconds_since(t0);
  const double after_open = rss_mib();
  const size_t fds = open_fds();
  std::printf(
      "{\"partitions\": %d, \"startup_scan_s\": %.3f, \"rss_before_mib\": %.1f, \"rss_after_scan_mib\": %.1f, "
      "\"open_all_s\": %.3f, \"opened\": %zu, \"rss_after_open_all_mib\": %.1f, "
      "\"bytes_per_idle_partition\": %.0f, \"bytes_per_open_partition\": %.0f, \"open_fds\": %zu}\n",
      n, scan_s, base, after_scan, open_s, opened, after_open, (after_scan - base) * (1 << 20) / n,
      (after_open - base) * (1 << 20) / n, fds);
  (void)(*m)->close_all();
  return 0;
}

// Raft commit throughput and latency with three voters on loopback, beside
// the disk's own fsync rate measured in the same run, and leader failover.
//
//   raft_bench [--seconds S] [--bytes B] [--windows 1,16,256,1024] [--failovers N] [--dir D]
//
// Three raft::servers run in this process, each with its own folder under
// D (default: a fresh folder in the current directory, so on the disk the
// data would live on) and its own TCP port on 127.0.0.1. A commit is a
// replicate() call until its entry is applied on the leader: the leader's
// fdatasync, a round trip, and a follower's fdatasync. `window` proposals
// are kept in flight; window 1 is one commit at a time (no batching), which
// cannot beat the fsync rate; larger windows share each fsync (group
// commit). The fsync rate is that of a 100-byte write plus fdatasync, one
// at a time, in the same folder.
//
// Failover: the leader is stopped, and the time until the first commit
// through the new leader is measured (election timeout 1 s, as Kafka's
// default controller.quorum.election.timeout.ms): as a crash looks to the
// others, and as a controlled shutdown that hands leadership over first.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "kernel/base/log.h"
#include "kernel/raft/server.h"

namespace {

using namespace mosaic::raft;
using clock_type = std::chrono::steady_clock;
using namespace std::chrono_literals;

class null_sm final : public state_machine {
 public:
  void apply(const entry&) override {}
  std::vector<uint8_t> take_snapshot() override { return {}; }
  void restore(const snapshot_meta&, std::span<const uint8_t>) override {}
};

double pct(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

struct fsync_figures {
  double per_second = 0;
  double p50_ms = 0;
  double p99_ms = 0;
};

fsync_figures measure_fsync(const std::filesystem::path& dir, double seconds) {
  const auto path = dir / "fsync-probe";
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return {};
  std::vector<double> lat;
  const char buf[100] = {};
  const auto start = clock_type::now();
  while (std::chrono::duration<double>(clock_type::now() - start).count() < seconds) {
    const auto t = clock_type::now();
    if (::write(fd, buf, sizeof buf) != static_cast<ssize_t>(sizeof buf) || ::fdatasync(fd) != 0) break;
    lat.push_back(std::chrono::duration<double, std::milli>(clock_type::now() - t).count());
  }
  const double took = std::chrono::duration<double>(clock_type::now() - start).count();
  ::close(fd);
  std::filesystem::remove(path);
  return {static_cast<double>(lat.size()) / took, pct(lat, 0.5), pct(lat, 0.99)};
}

class cluster {
 public:
  explicit cluster(const std::filesystem::path& dir) {
    for (node_id id = 1; id <= 3; ++id) {
      server_options o;
      o.raft.id = id;
      o.raft.bootstrap.voters = {1, 2, 3};
      o.raft.election_ticks = 20;
      o.raft.heartbeat_ticks = 2;
      o.raft.seed = static_cast<uint64_t>(id) * 7919;
      o.raft.snapshot_entries = 1 << 20;
      o.tick_ms = 50;
      o.dir = dir / ("node-" + std::to_string(id));
      opts_[id] = o;
    }
    // Ports: start each on port 0, then tell everyone where the others are.
    for (node_id id = 1; id <= 3; ++id) start(id);
    for (node_id id = 1; id <= 3; ++id) opts_[id].port = servers_[id]->port();
    for (auto& [id, s] : servers_)
      for (node_id p = 1; p <= 3; ++p)
        if (p != id) s->set_peer(peer_address{p, "127.0.0.1", opts_[p].port});
    for (auto& [id, o] : opts_)
      for (node_id p = 1; p <= 3; ++p) o.peers.push_back(peer_address{p, "127.0.0.1", opts_[p].port});
  }
  void start(node_id id) {
    auto s = server::start(opts_[id], sm_);
    if (!s) {
      std::fprintf(stderr, "raft_bench: %s\n", s.error().message().c_str());
      std::exit(1);
    }
    servers_[id] = std::move(*s);
  }
  void stop(node_id id, bool hand_over) {
    servers_[id]->stop(hand_over);
    servers_.erase(id);
  }
  node_id leader() {
    for (auto& [id, s] : servers_)
      if (s->describe().current == role::leader) return id;
    return no_node;
  }
  node_id wait_leader(std::chrono::milliseconds limit) {
    const auto until = clock_type::now() + limit;
    while (clock_type::now() < until) {
      if (node_id l = leader(); l != no_node) return l;
      std::this_thread::sleep_for(2ms);
    }
    return no_node;
  }
  server& operator[](node_id id) { return *servers_.at(id); }

 private:
  null_sm sm_;
  std::map<node_id, server_options> opts_;
  std::map<node_id, std::unique_ptr<server>> servers_;
};

struct run_figures {
  double commits_per_second = 0;
  double p50_ms = 0;
  double p99_ms = 0;
  uint64_t errors = 0;
};

run_figures measure_commits(server& leader, size_t window, size_t bytes, double seconds) {
  std::mutex mu;
  std::condition_variable cv;
  size_t in_flight = 0;
  std::vector<double> lat;
  uint64_t errors = 0;
  const std::vector<uint8_t> payload(bytes, 0x5a);
  const auto start = clock_type::now();
  const auto until = start + std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(seconds));
  while (clock_type::now() < until) {
    {
      std::unique_lock g(mu);
      cv.wait(g, [&] { return in_flight < window; });
      ++in_flight;
    }
    const auto t = clock_type::now();
    leader.replicate(payload, [&, t](const mosaic::result<index_t>& r) {
      const double ms = std::chrono::duration<double, std::milli>(clock_type::now() - t).count();
      std::lock_guard g(mu);
      if (r) {
        lat.push_back(ms);
      } else {
        ++errors;
      }
      --in_flight;
      cv.notify_one();
    });
  }
  std::unique_lock g(mu);
  cv.wait(g, [&] { return in_flight == 0; });
  const double took = std::chrono::duration<double>(clock_type::now() - start).count();
  return {static_cast<double>(lat.size()) / took, pct(lat, 0.5), pct(lat, 0.99), errors};
}

std::vector<size_t> parse_list(const std::string& s) {
  std::vector<size_t> out;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, ',')) out.push_back(std::stoul(item));
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (std::getenv("RAFT_BENCH_DEBUG")) mosaic::log::set_level(mosaic::log::level::debug);
  double seconds = 3;
  size_t bytes = 100;
  std::vector<size_t> windows{1, 16, 256, 1024};
  int failovers = 3;
  std::filesystem::path dir;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "raft_bench: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--seconds") {
      seconds = std::stod(next());
    } else if (a == "--bytes") {
      bytes = std::stoul(next());
    } else if (a == "--windows") {
      windows = parse_list(next());
    } else if (a == "--failovers") {
      failovers = std::stoi(next());
    } else if (a == "--dir") {
      dir = next();
    } else {
      std::fprintf(stderr,
                   "usage: raft_bench [--seconds S] [--bytes B] [--windows 1,16,256,1024] [--failovers N] [--dir D]\n");
      return 2;
    }
  }
  bool made = false;
  if (dir.empty()) {
    std::string tmpl = (std::filesystem::current_path() / "raft_bench_XXXXXX").string();
    dir = ::mkdtemp(tmpl.data());
    made = true;
  }
  std::filesystem::create_directories(dir);

  const auto disk = measure_fsync(dir, seconds);
  std::printf("disk: 100 B write + fdatasync, one at a time: %.0f/s (p50 %.2f ms, p99 %.2f ms)\n", disk.per_second,
              disk.p50_ms, disk.p99_ms);
  {
    cluster c(dir);
    node_id l = c.wait_leader(10s);
    if (l == no_node) {
      std::fprintf(stderr, "raft_bench: no leader elected\n");
      return 1;
    }
    std::printf("3 voters on loopback, %zu-byte entries, %.0f s per run:\n", bytes, seconds);
    std::printf("%8s %12s %10s %10s %14s\n", "window", "commits/s", "p50 ms", "p99 ms", "x fsync rate");
    for (size_t w : windows) {
      auto f = measure_commits(c[l], w, bytes, seconds);
      std::printf("%8zu %12.0f %10.2f %10.2f %14.1f%s\n", w, f.commits_per_second, f.p50_ms, f.p99_ms,
                  f.commits_per_second / disk.per_second,
                  f.errors ? (" (" + std::to_string(f.errors) + " errors)").c_str() : "");
    }
    for (int i = 0; i < 2 * failovers; ++i) {
      // Odd rounds: a controlled shutdown (leadership handed over first);
      // even rounds: as a crash looks to the others.
      const bool hand_over = i % 2 == 1;
      l = c.wait_leader(10s);
      if (l == no_node) break;
      const auto t = clock_type::now();
      c.stop(l, hand_over);
      node_id next = no_node;
      bool committed = false;
      while (!committed && clock_type::now() - t < 15s) {
        next = c.wait_leader(15s);
        if (next == no_node) break;
        committed = c[next].replicate_wait({1}, 5s).ok();
      }
      const double ms = std::chrono::duration<double, std::milli>(clock_type::now() - t).count();
      std::printf("%s %d: leader %d stopped, node %d committed after %.0f ms\n",
                  hand_over ? "controlled stop" : "crash", i / 2 + 1, l, next, ms);
      c.start(l);
      std::this_thread::sleep_for(1500ms);  // let it rejoin before the next round
    }
  }
  if (made) std::filesystem::remove_all(dir);
  return 0;
}

// The log against the disk it writes to, in one run: raw sequential write()
// and write()+fdatasync() loops beside partition_log appends (no fsync, and
// group-commit fsync from 1, 4 and 16 appenders) and reads. Figures that
// matter are ratios: append MB/s over raw write MB/s, and group-commit
// appends/s over one-fdatasync-per-write appends/s.
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "kernel/log/batch_builder.h"
#include "kernel/log/partition_log.h"

namespace {

using namespace mosaic::log;

const std::filesystem::path& scratch() {
  static const std::filesystem::path dir = [] {
    std::string tmpl = (std::filesystem::temp_directory_path() / "mosaic_log_bench_XXXXXX").string();
    return std::filesystem::path(::mkdtemp(tmpl.data()));
  }();
  return dir;
}

constexpr uint64_t max_file_bytes = 2048ull << 20;  // start over past this, to bound disk use
constexpr uint64_t segment_bytes = 128ull << 20;

// A batch of 1 KiB records filling `bytes`.
std::vector<uint8_t> make_batch(size_t bytes) {
  batch_builder b(1'764'000'000'000);
  std::string value(1000, 'v');
  for (size_t i = 0; i < bytes / 1024; ++i) {
    value.replace(0, 8, std::to_string(10000000 + i));
    b.add("key-" + std::to_string(i), value);
  }
  return b.finish();
}

// Each benchmark starts with nothing dirty in the page cache, so that one's
// write-back does not slow the next.
void settle() { ::sync(); }

// A plain write() loop laid out on disk as the log is: a new file every
// 128 MiB, everything deleted and begun again past 512 MiB.
void raw_write(benchmark::State& state) {
  settle();
  const size_t n = static_cast<size_t>(state.range(0));
  const bool sync = state.range(1) != 0;
  std::vector<uint8_t> buf(n, 'x');
  const auto dir = scratch() / "raw";
  std::filesystem::create_directories(dir);
  int files = 0;
  auto next_file = [&] { return ::open((dir / std::to_string(files++)).c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644); };
  int fd = next_file();
  uint64_t in_file = 0, written = 0;
  for (auto _ : state) {
    if (::write(fd, buf.data(), n) != static_cast<ssize_t>(n)) state.SkipWithError("write failed");
    if (sync) ::fdatasync(fd);
    in_file += n;
    written += n;
    if (in_file >= segment_bytes) {
      ::close(fd);
      state.PauseTiming();
      if (written > max_file_bytes) {
        std::filesystem::remove_all(dir);
        std::filesystem::create_directories(dir);
        written = 0;
      }
      state.ResumeTiming();
      fd = next_file();
      in_file = 0;
    }
  }
  ::close(fd);
  std::filesystem::remove_all(dir);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * n));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

std::unique_ptr<partition_log> fresh_log(const std::string& name) {
  std::filesystem::remove_all(scratch() / name);
  log_config cfg;
  cfg.segment_bytes = segment_bytes;
  auto l = partition_log::open(scratch() / name, cfg);
  return l.ok() ? std::move(*l) : nullptr;
}

void append_no_fsync(benchmark::State& state) {
  settle();
  const size_t n = static_cast<size_t>(state.range(0));
  auto batch = make_batch(n);
  auto l = fresh_log("append");
  uint64_t written = 0;
  for (auto _ : state) {
    auto r = l->append(batch, 0);
    if (!r.ok()) state.SkipWithError("append failed");
    written += batch.size();
    if (written > max_file_bytes) {
      state.PauseTiming();
      l = fresh_log("append");
      written = 0;
      state.ResumeTiming();
    }
  }
  l.reset();
  std::filesystem::remove_all(scratch() / "append");
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * batch.size()));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

// Appenders share one log; each waits for its append to be durable.
std::unique_ptr<partition_log> shared_log;

void append_group_commit(benchmark::State& state) {
  if (state.thread_index() == 0) {
    settle();
    shared_log = fresh_log("group");
  }
  auto batch = make_batch(16 * 1024);
  for (auto _ : state) {
    auto r = shared_log->append(batch, 0);
    if (!r.ok() || !shared_log->wait_durable(r.last_offset).ok()) state.SkipWithError("append failed");
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * batch.size()));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  if (state.thread_index() == 0) {
    state.counters["fsyncs"] = static_cast<double>(shared_log->flush_count());
    shared_log.reset();
    std::filesystem::remove_all(scratch() / "group");
  }
}

// The CPU part of an append: validating one batch (CRC-32C and the record walk).
void validate(benchmark::State& state) {
  auto batch = make_batch(static_cast<size_t>(state.range(0)));
  for (auto _ : state) {
    auto check = validate_batch(batch, SIZE_MAX);
    benchmark::DoNotOptimize(check.error);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * batch.size()));
}

void read_log(benchmark::State& state) {
  const size_t chunk = static_cast<size_t>(state.range(0));
  auto l = fresh_log("read");
  auto batch = make_batch(16 * 1024);
  for (int i = 0; i < 16384; ++i) (void)l->append(batch, 0);  // 256 MiB
  const int64_t leo = l->log_end_offset();
  std::vector<uint8_t> out;
  out.reserve(chunk + batch.size());
  int64_t offset = 0;
  uint64_t bytes = 0;
  for (auto _ : state) {
    auto r = l->read(offset, chunk, leo);
    out.clear();
    if (!r.ok() || !r->copy_to(out).ok()) state.SkipWithError("read failed");
    bytes += out.size();
    offset += static_cast<int64_t>(out.size() / batch.size()) * 16;
    if (offset >= leo) offset = 0;
  }
  l.reset();
  std::filesystem::remove_all(scratch() / "read");
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
}

}  // namespace

// Wall-clock time throughout: waiting for the disk is part of the cost.
// Without fsync both sides write exactly 1 GiB from a clean page cache, so
// that neither meets write-back throttling the other does not.
BENCHMARK(raw_write)->ArgNames({"bytes", "fdatasync"})->Args({16384, 0})->Iterations(65536)->UseRealTime();
BENCHMARK(append_no_fsync)->ArgName("batch")->Arg(16384)->Iterations(65536)->UseRealTime();
BENCHMARK(raw_write)->ArgNames({"bytes", "fdatasync"})->Args({65536, 0})->Iterations(16384)->UseRealTime();
BENCHMARK(append_no_fsync)->ArgName("batch")->Arg(65536)->Iterations(16384)->UseRealTime();
BENCHMARK(validate)->ArgName("batch")->Arg(16384)->Arg(65536);
BENCHMARK(raw_write)->ArgNames({"bytes", "fdatasync"})->Args({16384, 1})->UseRealTime();
BENCHMARK(append_group_commit)->Threads(1)->Threads(4)->Threads(16)->UseRealTime();
BENCHMARK(read_log)->ArgName("max_bytes")->Arg(1 << 20)->UseRealTime();

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  std::error_code ec;
  std::filesystem::remove_all(scratch(), ec);
}

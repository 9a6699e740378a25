// CRC-32C throughput: the hardware instruction against the portable table.
#include <benchmark/benchmark.h>

#include <vector>

#include "kernel/base/crc32c.h"

namespace {

void crc(benchmark::State& state, bool hardware) {
  std::vector<uint8_t> buf(static_cast<size_t>(state.range(0)), 0x5a);
  if (hardware && !mosaic::crc32c::hardware_available()) state.SkipWithError("no SSE 4.2");
  for (auto _ : state) {
    uint32_t c = hardware ? mosaic::crc32c::extend_hardware(0, buf.data(), buf.size())
                          : mosaic::crc32c::extend_portable(0, buf.data(), buf.size());
    benchmark::DoNotOptimize(c);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * buf.size()));
}

}  // namespace

BENCHMARK_CAPTURE(crc, hardware, true)->Arg(16384)->Arg(1 << 20);
BENCHMARK_CAPTURE(crc, portable, false)->Arg(16384)->Arg(1 << 20);
BENCHMARK_MAIN();

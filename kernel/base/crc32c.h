// CRC-32C (Castagnoli), as the Kafka record batch uses. The CPU's crc32
// instruction where it has one (SSE 4.2, checked once at run time), a
// slicing-by-8 table otherwise; both give the same answers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace mosaic::crc32c {

// Extends `crc` (0 to start) over `data`.
uint32_t extend(uint32_t crc, const void* data, size_t n) noexcept;
inline uint32_t value(std::span<const uint8_t> data) noexcept { return extend(0, data.data(), data.size()); }

// The two implementations, for tests and benchmarks.
uint32_t extend_portable(uint32_t crc, const void* data, size_t n) noexcept;
uint32_t extend_hardware(uint32_t crc, const void* data, size_t n) noexcept;  // only where supported
bool hardware_available() noexcept;

}  // namespace mosaic::crc32c

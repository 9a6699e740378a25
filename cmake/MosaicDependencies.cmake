# Every dependency comes from Debian's packages (tools/setup installs them).
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)
find_package(Boost 1.74 REQUIRED)            # header-only parts: DLL (and Asio later)
find_package(yaml-cpp REQUIRED)
find_package(spdlog REQUIRED)
find_package(fmt REQUIRED)
find_package(ZLIB REQUIRED)
pkg_check_modules(ZSTD REQUIRED IMPORTED_TARGET libzstd)
pkg_check_modules(LZ4 REQUIRED IMPORTED_TARGET liblz4)
pkg_check_modules(SNAPPY REQUIRED IMPORTED_TARGET snappy)
pkg_check_modules(SODIUM REQUIRED IMPORTED_TARGET libsodium)
# RE2: KIP-848 regular-expression subscriptions, in the syntax Kafka uses (RE2/J).
pkg_check_modules(RE2 REQUIRED IMPORTED_TARGET re2)
find_package(OpenSSL REQUIRED)
find_package(nlohmann_json 3.9 REQUIRED)  # the OAUTHBEARER plugin's JWTs and JWKS, the codegen's schemas
if(MOSAIC_BUILD_TESTS)
  find_package(GTest REQUIRED)
endif()
if(MOSAIC_BUILD_BENCHMARKS)
  find_package(benchmark REQUIRED)
endif()

# librdkafka 2.15.1, built from source by tools/librdkafka (tools/build runs
# it) into build/deps: the compat tests' C driver and the perf tool link
# against it. Debian's librdkafka is older (no Fetch v16, no KIP-848).
set(MOSAIC_LIBRDKAFKA_PREFIX "${PROJECT_SOURCE_DIR}/build/deps/librdkafka-2.15.1" CACHE PATH "librdkafka 2.15.1")
if(EXISTS "${MOSAIC_LIBRDKAFKA_PREFIX}/include/librdkafka/rdkafka.h")
  add_library(mosaic_rdkafka SHARED IMPORTED)
  set_target_properties(mosaic_rdkafka PROPERTIES
    IMPORTED_LOCATION "${MOSAIC_LIBRDKAFKA_PREFIX}/lib/librdkafka.so"
    INTERFACE_SYSTEM_INCLUDE_DIRECTORIES "${MOSAIC_LIBRDKAFKA_PREFIX}/include"
    INTERFACE_INCLUDE_DIRECTORIES "${MOSAIC_LIBRDKAFKA_PREFIX}/include")
else()
  message(WARNING "librdkafka 2.15.1 is not in ${MOSAIC_LIBRDKAFKA_PREFIX}: run tools/librdkafka; "
                  "the compat tests will fail and mosaic-perf is not built")
endif()

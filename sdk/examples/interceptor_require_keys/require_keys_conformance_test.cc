#include <mosaic/testing/interceptor_conformance.h>

using mosaic::testing::interceptor_case;
using mosaic::testing::interceptor_conformance;

INSTANTIATE_TEST_SUITE_P(require_keys, interceptor_conformance,
                         ::testing::Values(interceptor_case{REQUIRE_KEYS_PLUGIN,
                                                            "com.acme.interceptor.require_keys",
                                                            {},
                                                            {},
                                                            {{"a", "1"}, {"b", std::nullopt}},
                                                            {{"a", "1"}, {std::nullopt, "2"}}},
                                           interceptor_case{REQUIRE_KEYS_PLUGIN,
                                                            "com.acme.interceptor.require_keys",
                                                            {{"max.key.bytes", "4"}},
                                                            {},
                                                            {{"abcd", "1"}},
                                                            {{"abcde", "1"}}}));

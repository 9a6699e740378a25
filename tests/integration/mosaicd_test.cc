#include <gtest/gtest.h>
TEST(mosaicd, placeholder_until_written) { SUCCEED(); }

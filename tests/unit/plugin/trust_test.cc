// plugins.trust (kernel/plugin/trust.h): each rule refusing what it should,
// naming itself, and letting through what it should; the signature's round
// trip; and the host refusing a library before a byte of it runs.
#include "kernel/plugin/trust.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "kernel/plugin/host.h"
#include "tests/support/temp_dir.h"

namespace mosaic::plugin {
namespace {

const std::filesystem::path fixture = std::filesystem::path(MOSAIC_FIXTURE_DIR) / "libfaulty_interceptor.so";

class trust_test : public ::testing::Test {
 protected:
  void SetUp() override {
    lib_ = dir_.path() / "plugins" / "libfaulty_interceptor.so";
    std::filesystem::create_directories(lib_.parent_path());
    ::chmod(lib_.parent_path().c_str(), 0755);
    std::filesystem::copy_file(fixture, lib_);
    ::chmod(lib_.c_str(), 0755);
  }
  std::string refusal(const trust_policy& p) {
    auto s = check_trust(lib_, p);
    EXPECT_FALSE(s.ok()) << "taken";
    return s.message();
  }
  testing::temp_dir dir_;
  std::filesystem::path lib_;
};

TEST_F(trust_test, no_rule_takes_anything) {
  EXPECT_FALSE(trust_policy{}.active());
  EXPECT_TRUE(check_trust(lib_, {}).ok());
}

TEST_F(trust_test, only_from_trusted_folders_that_only_their_owner_writes) {
  trust_policy p;
  p.folders = {dir_.path() / "elsewhere"};
  EXPECT_NE(refusal(p).find("it is not in a trusted folder"), std::string::npos);
  p.folders = {dir_.path() / "plugins"};
  EXPECT_TRUE(check_trust(lib_, p).ok());
  // A symlink from a trusted folder to a library outside is judged by where it points.
  std::filesystem::create_directories(dir_.path() / "trusted");
  std::filesystem::create_symlink(lib_, dir_.path() / "trusted" / "lib.so");
  p.folders = {dir_.path() / "trusted"};
  auto s = check_trust(dir_.path() / "trusted" / "lib.so", p);
  EXPECT_NE(s.message().find("not in a trusted folder"), std::string::npos) << s.message();
  p.folders = {dir_.path() / "plugins"};
  ::chmod(lib_.parent_path().c_str(), 0777);
  EXPECT_NE(refusal(p).find("may be written by anyone (mode 777)"), std::string::npos);
  ::chmod(lib_.parent_path().c_str(), 0775);
  EXPECT_NE(refusal(p).find("may be written by its group"), std::string::npos);
  ::chmod(lib_.parent_path().c_str(), 0755);
  ::chmod(lib_.c_str(), 0757);
  EXPECT_NE(refusal(p).find("the library '"), std::string::npos);
  ::chmod(lib_.c_str(), 0755);
  EXPECT_TRUE(check_trust(lib_, p).ok());
}

TEST_F(trust_test, only_pinned_digests) {
  auto digest = file_sha256(lib_);
  ASSERT_TRUE(digest.ok());
  EXPECT_EQ(digest->size(), 64u);
  trust_policy p;
  p.sha256 = {std::string(64, '0')};
  EXPECT_NE(refusal(p).find("its SHA-256 " + *digest + " is not on plugins.trust.sha256"), std::string::npos);
  p.sha256.insert(*digest);
  EXPECT_TRUE(check_trust(lib_, p).ok());
  std::ofstream(lib_, std::ios::app) << "x";  // a byte more: another library
  EXPECT_NE(refusal(p).find("is not on plugins.trust.sha256"), std::string::npos);
}

TEST_F(trust_test, only_libraries_signed_by_a_trusted_key) {
  const auto ops = make_signing_key(), other = make_signing_key();
  ASSERT_FALSE(ops.public_key.empty());
  trust_policy p;
  p.require_signatures = true;
  p.public_keys = {ops.public_key};
  ASSERT_TRUE(validate_trust(p).ok());
  EXPECT_NE(refusal(p).find("it is not signed (no "), std::string::npos);
  auto by_other = sign_library(lib_, other.secret_key);
  ASSERT_TRUE(by_other.ok());
  std::ofstream(lib_.string() + ".sig") << *by_other << "\n";
  EXPECT_NE(refusal(p).find("not by a trusted key"), std::string::npos);
  std::ofstream(lib_.string() + ".sig") << "this is not base64!\n";
  EXPECT_NE(refusal(p).find("not a base64 Ed25519 signature"), std::string::npos);
  auto good = sign_library(lib_, ops.secret_key);
  ASSERT_TRUE(good.ok());
  std::ofstream(lib_.string() + ".sig") << *good << "\n";
  EXPECT_TRUE(check_trust(lib_, p).ok());
  EXPECT_TRUE(verify_library(lib_, *good, {other.public_key, ops.public_key}).ok());
  // The signature covers the bytes: a changed library is refused.
  std::ofstream(lib_, std::ios::app) << "x";
  EXPECT_NE(refusal(p).find("not by a trusted key"), std::string::npos);
  EXPECT_FALSE(sign_library(lib_, "not a key").ok());
}

TEST_F(trust_test, a_policy_that_cannot_work_is_refused) {
  trust_policy p;
  p.public_keys = {"c2hvcnQ="};
  EXPECT_NE(validate_trust(p).message().find("is not a base64 Ed25519 public key"), std::string::npos);
  p = {};
  p.sha256 = {"ABC"};
  EXPECT_NE(validate_trust(p).message().find("is not a SHA-256 in lowercase hex"), std::string::npos);
  p = {};
  p.require_signatures = true;
  EXPECT_NE(validate_trust(p).message().find("needs plugins.trust.public_keys"), std::string::npos);
  p = {};
  p.folders = {"relative/plugins"};
  EXPECT_NE(validate_trust(p).message().find("is not absolute"), std::string::npos);
}

TEST_F(trust_test, the_host_refuses_before_loading_and_names_the_rule) {
  plugin_host host({lib_.parent_path()}, {});
  trust_policy p;
  p.sha256 = {std::string(64, 'a')};
  host.set_trust(p);
  auto s = host.ensure("test.interceptor.faulty", "faulty_interceptor");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("refused by plugins.trust: its SHA-256"), std::string::npos) << s.message();
  EXPECT_EQ(host.find("test.interceptor.faulty"), nullptr);
  host.set_trust({});
  EXPECT_TRUE(host.ensure("test.interceptor.faulty", "faulty_interceptor").ok());
}

}  // namespace
}  // namespace mosaic::plugin

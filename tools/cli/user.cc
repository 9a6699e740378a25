// mosaic user: credentials for the authenticator plugins.
//
//   mosaic user hash-password [NAME]   reads a password from standard input
//                                      and prints its argon2id hash, as
//                                      mosaic.authn.plain's users.file wants
//                                      it ("NAME:HASH" with a NAME)
//   mosaic user set-password NAME      SCRAM credentials in the cluster's
//   mosaic user list [NAME]...         metadata (AlterUserScramCredentials,
//   mosaic user delete NAME            DescribeUserScramCredentials)
#include <sodium.h>

#include <cstdio>
#include <iostream>
#include <string>

#include "mosaic/sdk/scram.h"
#include "tools/cli/client.h"

namespace mosaic::cli {

namespace {

std::string read_password() {
  std::string password;
  if (!std::getline(std::cin, password) || password.empty())
    usage_error("the password is read from the first line of standard input");
  if (password.back() == '\r') password.pop_back();
  return password;
}

int8_t mechanism_number(const std::string& m) {
  if (const int8_t n = sdk::scram::mechanism_number(m); n != 0) return n;
  usage_error("--mechanism is SCRAM-SHA-256 or SCRAM-SHA-512, got '" + m + "'");
}

int hash_password(args rest) {
  std::string name;
  if (!rest.empty()) name = rest.positional("NAME");
  rest.done();
  if (name.find(':') != std::string::npos) usage_error("a user name cannot hold ':'");
  std::string password = read_password();
  char hash[crypto_pwhash_STRBYTES];
  const int rc = crypto_pwhash_str(hash, password.data(), password.size(), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                                   crypto_pwhash_MEMLIMIT_INTERACTIVE);
  sodium_memzero(password.data(), password.size());
  if (rc != 0) throw cli_error{1, "hashing ran out of memory"};
  if (name.empty())
    std::printf("%s\n", hash);
  else
    std::printf("%s:%s\n", name.c_str(), hash);
  return 0;
}

// The results of an AlterUserScramCredentials: 0 when every user's passed.
int report(const msg::alter_user_scram_credentials_response& resp, const char* done) {
  int code = 0;
  for (const auto& r : resp.results) {
    if (r.error_code != 0) {
      std::fprintf(stderr, "mosaic: user %s: %s%s%s\n", r.user.c_str(), error_name(r.error_code).c_str(),
                   r.error_message ? ": " : "", r.error_message ? r.error_message->c_str() : "");
      code = 1;
    } else {
      std::printf("user %s: %s\n", r.user.c_str(), done);
    }
  }
  return code;
}

int set_password(const std::string& bootstrap, args rest) {
  const std::string name = rest.positional("NAME");
  const auto mechanisms = rest.options("--mechanism", "-m");
  const int32_t iterations =
      static_cast<int32_t>(integer(rest.option("--iterations", "-i").value_or("8192"), "--iterations"));
  rest.done();
  std::string password = read_password();
  msg::alter_user_scram_credentials_request req;
  std::vector<std::vector<uint8_t>> keep;  // the request's bytes point into these
  for (const auto& m : mechanisms.empty() ? std::vector<std::string>{"SCRAM-SHA-256", "SCRAM-SHA-512"} : mechanisms) {
    const int8_t number = mechanism_number(m);
    const auto h = *sdk::scram::hash_of(number);
    std::vector<uint8_t> salt(32);
    randombytes_buf(salt.data(), salt.size());
    keep.push_back(salt);
    keep.push_back(sdk::scram::salted_password(h, password, salt, iterations));
    auto& u = req.upsertions.emplace_back();
    u.name = name;
    u.mechanism = number;
    u.iterations = iterations;
    u.salt = bytes_ref::of(keep[keep.size() - 2]);
    u.salted_password = bytes_ref::of(keep.back());
  }
  sodium_memzero(password.data(), password.size());
  connection c(bootstrap);
  auto resp = c.call<msg::alter_user_scram_credentials_response>(51, 0, req);
  for (auto& k : keep) sodium_memzero(k.data(), k.size());
  return report(resp, "credentials set");
}

int delete_user(const std::string& bootstrap, args rest) {
  const std::string name = rest.positional("NAME");
  const auto mechanisms = rest.options("--mechanism", "-m");
  rest.done();
  connection c(bootstrap);
  msg::alter_user_scram_credentials_request req;
  if (mechanisms.empty()) {
    // Every mechanism the user has.
    msg::describe_user_scram_credentials_request d;
    d.users.emplace().emplace_back().name = name;
    auto found = c.call<msg::describe_user_scram_credentials_response>(50, 0, d);
    for (const auto& r : found.results)
      for (const auto& info : r.credential_infos) req.deletions.push_back({name, info.mechanism, {}});
    if (req.deletions.empty()) throw cli_error{1, "user " + name + " has no SCRAM credentials"};
  } else {
    for (const auto& m : mechanisms) req.deletions.push_back({name, mechanism_number(m), {}});
  }
  return report(c.call<msg::alter_user_scram_credentials_response>(51, 0, req), "deleted");
}

int list_users(const std::string& bootstrap, args rest) {
  msg::describe_user_scram_credentials_request req;
  while (!rest.empty()) {
    if (!req.users) req.users.emplace();
    req.users->emplace_back().name = rest.positional("NAME");
  }
  connection c(bootstrap);
  auto resp = c.call<msg::describe_user_scram_credentials_response>(50, 0, req);
  if (resp.error_code != 0) refused(resp.error_code, "", resp.error_message);
  int code = 0;
  std::printf("%-32s %s\n", "USER", "MECHANISMS (ITERATIONS)");
  for (const auto& r : resp.results) {
    if (r.error_code != 0) {
      std::fprintf(stderr, "mosaic: user %s: %s\n", r.user.c_str(), error_name(r.error_code).c_str());
      code = 1;
      continue;
    }
    std::string mechanisms;
    for (const auto& info : r.credential_infos)
      mechanisms += (mechanisms.empty() ? "" : ", ") + std::string(sdk::scram::mechanism_name(info.mechanism)) + " (" +
                    std::to_string(info.iterations) + ")";
    std::printf("%-32s %s\n", r.user.c_str(), mechanisms.c_str());
  }
  return code;
}

}  // namespace

int user_command(const std::string& bootstrap, const std::string& verb, args rest) {
  if (sodium_init() < 0) throw cli_error{1, "libsodium could not start"};
  if (verb == "hash-password") return hash_password(std::move(rest));
  if (verb == "set-password") return set_password(bootstrap, std::move(rest));
  if (verb == "list") return list_users(bootstrap, std::move(rest));
  if (verb == "delete") return delete_user(bootstrap, std::move(rest));
  usage_error("unknown user subcommand '" + verb + "' (hash-password, set-password, list, delete)");
}

}  // namespace mosaic::cli

// mosaic user: credentials for the authenticator plugins.
//
//   mosaic user hash-password [NAME]   reads a password from standard input
//                                      (its first line) and prints its
//                                      argon2id hash, as mosaic.authn.plain's
//                                      users.file wants it ("NAME:HASH" with
//                                      a NAME)
#include <sodium.h>

#include <cstdio>
#include <iostream>
#include <string>

#include "tools/cli/client.h"

namespace mosaic::cli {

int user_command(const std::string& verb, args rest) {
  if (verb != "hash-password") usage_error("unknown user subcommand '" + verb + "' (hash-password)");
  std::string name;
  if (!rest.empty()) name = rest.positional("NAME");
  rest.done();
  if (name.find(':') != std::string::npos) usage_error("a user name cannot hold ':'");
  if (sodium_init() < 0) throw cli_error{1, "libsodium could not start"};
  std::string password;
  if (!std::getline(std::cin, password) || password.empty())
    usage_error("hash-password reads the password from the first line of standard input");
  if (!password.empty() && password.back() == '\r') password.pop_back();
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

}  // namespace mosaic::cli

// mosaic plugin keygen|sign|digest|verify: the operator's side of
// plugins.trust (kernel/plugin/trust.h). Local commands: no broker.
#include <sys/stat.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "kernel/plugin/trust.h"
#include "tools/cli/client.h"

namespace mosaic::cli {

namespace {

std::string read_line(const std::string& file, const char* what) {
  std::ifstream in(file);
  if (!in) throw cli_error{2, std::string("cannot read the ") + what + " '" + file + "'"};
  std::string line;
  std::getline(in, line);
  return line;
}

void write_file(const std::string& file, const std::string& text, mode_t mode) {
  {
    std::ofstream out(file, std::ios::trunc);
    if (!out) throw cli_error{1, "cannot write '" + file + "'"};
    out << text << "\n";
  }
  ::chmod(file.c_str(), mode);
}

}  // namespace

int plugin_command(const std::string& verb, args a) {
  if (verb == "keygen") {
    const std::string prefix = a.positional("a file name (NAME makes NAME.key and NAME.pub)");
    a.done();
    const auto k = plugin::make_signing_key();
    if (k.public_key.empty()) throw cli_error{1, "libsodium could not start"};
    write_file(prefix + ".key", k.secret_key, 0600);
    write_file(prefix + ".pub", k.public_key, 0644);
    std::printf("%s\n", k.public_key.c_str());
    std::fprintf(stderr,
                 "mosaic: the secret key is in %s.key (keep it where only signers read it); put the line "
                 "above in plugins.trust.public_keys\n",
                 prefix.c_str());
    return 0;
  }
  if (verb == "sign") {
    const auto key_file = a.option("--key", "-k");
    if (!key_file) usage_error("plugin sign needs --key NAME.key");
    std::vector<std::string> libs;
    while (!a.empty()) libs.push_back(a.positional("a library"));
    if (libs.empty()) usage_error("plugin sign needs a library");
    const std::string secret = read_line(*key_file, "secret key");
    for (const auto& lib : libs) {
      auto sig = plugin::sign_library(lib, secret);
      if (!sig) throw cli_error{1, lib + ": " + sig.error().message()};
      write_file(lib + ".sig", *sig, 0644);
      std::printf("signed %s (%s.sig)\n", lib.c_str(), lib.c_str());
    }
    return 0;
  }
  if (verb == "digest") {
    std::vector<std::string> libs;
    while (!a.empty()) libs.push_back(a.positional("a library"));
    if (libs.empty()) usage_error("plugin digest needs a library");
    for (const auto& lib : libs) {
      auto d = plugin::file_sha256(lib);
      if (!d) throw cli_error{1, d.error().message()};
      std::printf("%s  %s\n", d->c_str(), lib.c_str());
    }
    return 0;
  }
  if (verb == "verify") {
    std::vector<std::string> keys;
    for (const auto& k : a.options("--public-key", "-P"))
      keys.push_back(std::ifstream(k) ? read_line(k, "public key") : k);  // a file, else the key itself
    if (keys.empty()) usage_error("plugin verify needs --public-key KEY|FILE.pub");
    const std::string lib = a.positional("a library");
    a.done();
    if (!std::ifstream(lib + ".sig")) throw cli_error{1, lib + ": it is not signed (no " + lib + ".sig)"};
    const std::string sig = read_line(lib + ".sig", "signature");
    if (auto s = plugin::verify_library(lib, sig, keys); !s.ok()) throw cli_error{1, lib + ": " + s.message()};
    std::printf("%s: signed by a trusted key\n", lib.c_str());
    return 0;
  }
  usage_error("plugin has keygen, sign, digest and verify, not '" + verb + "'");
}

}  // namespace mosaic::cli

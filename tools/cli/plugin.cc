// mosaic plugin keygen|sign|digest|verify: the operator's side of
// plugins.trust (kernel/plugin/trust.h); local commands, no broker.
// mosaic plugin list|history|swap|promote|rollback: the cluster's plugin
// swaps (kernel/app/cluster_swaps.h), through MosaicPlugins, Mosaic's own
// request on the Kafka listener (its SASL, TLS and ACLs apply: changes need
// ALTER on the cluster).
#include <sys/stat.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <string>
#include <thread>

#include "kernel/plugin/library.h"
#include "kernel/plugin/manifest.h"
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

namespace {

constexpr int16_t plugins_key = 10000;

enum : int8_t { op_list = 0, op_history = 1, op_swap = 2, op_promote = 3, op_rollback = 4 };

msg::mosaic_plugins_response ask(connection& c, const msg::mosaic_plugins_request& req) {
  return c.call<msg::mosaic_plugins_response>(plugins_key, 0, req);
}

void check(const msg::mosaic_plugins_response& r) {
  if (r.error_code == 0) return;
  throw cli_error{1, error_name(r.error_code) + ": " + r.error_message.value_or("refused") + " (broker " +
                         std::to_string(r.broker_id) + ")"};
}

// Every broker's state of `slot` (all slots if empty).
struct broker_slot {
  int32_t broker;
  msg::mosaic_plugins_response_slot_state state;
};
std::vector<broker_slot> slots_everywhere(connection& boot, const std::string& slot) {
  std::vector<broker_slot> out;
  msg::mosaic_plugins_request req;
  req.operation = op_list;
  for (auto& [id, c] : every_broker(boot)) {
    auto r = ask(*c, req);
    check(r);
    for (auto& s : r.slots)
      if (slot.empty() || s.slot == slot) out.push_back({id, s});
  }
  return out;
}

std::string utc(int64_t ms) {
  const std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  ::gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// A p99 bound in words: "<=50us", "<=2.5ms", "-" (not timed).
std::string latency_text(int64_t us) {
  if (us < 0) return "-";
  char buf[32];
  if (us < 1000)
    std::snprintf(buf, sizeof buf, "<=%lldus", static_cast<long long>(us));
  else
    std::snprintf(buf, sizeof buf, "<=%gms", static_cast<double>(us) / 1000.0);
  return buf;
}

void print_slots(const std::vector<broker_slot>& all) {
  std::printf("%-7s %-26s %-36s %-8s %-6s %10s %8s %9s  %s\n", "BROKER", "SLOT", "PLUGIN", "CLUSTER", "LOCAL", "CALLS",
              "ERRORS", "P99", "LIBRARY");
  for (const auto& [broker, s] : all) {
    std::printf("%-7d %-26s %-36s %-8s %-6lld %10lld %8lld %9s  %s\n", broker, s.slot.c_str(), s.plugin.c_str(),
                (std::to_string(s.cluster_generation) + (s.canary ? "*" : "")).c_str(),
                static_cast<long long>(s.local_generation), static_cast<long long>(s.calls),
                static_cast<long long>(s.errors), latency_text(s.p99_micros).c_str(), s.library.c_str());
    if (!s.config.empty()) std::printf("        config: %s\n", s.config.c_str());
    if (s.problem) std::printf("        PROBLEM: %s\n", s.problem->c_str());
  }
}

// Waits until every broker (or `only`) runs `generation` of `slot`, for up
// to 15 s; prints what each runs. False if one did not, or has a problem.
bool wait_for(connection& boot, const std::string& slot, int64_t generation, std::optional<int32_t> only = {}) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  std::vector<broker_slot> seen;
  auto done = [&] {
    for (const auto& [id, c] : every_broker(boot)) {
      if (only && id != *only) continue;
      bool runs = false;
      for (const auto& [b, s] : seen)
        if (b == id && s.cluster_generation == generation && !s.problem && (only || !s.canary)) runs = true;
      if (!runs) return false;
    }
    return true;
  };
  for (;;) {
    seen = slots_everywhere(boot, slot);
    if (done() || std::chrono::steady_clock::now() >= until) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  print_slots(seen);
  return done();
}

int change_command(connection& boot, int8_t op, const msg::mosaic_plugins_request& req, const char* what) {
  auto r = ask(boot, req);
  check(r);
  if (req.validate_only) {
    std::printf("slot %s: %s would give generation %lld (validated by broker %d; nothing changed)\n", req.slot.c_str(),
                what, static_cast<long long>(r.generation), r.broker_id);
    return 0;
  }
  std::printf("slot %s: %s committed: generation %lld%s\n", req.slot.c_str(), what,
              static_cast<long long>(r.generation),
              op == op_rollback && r.generation == 0 ? " (each broker's YAML)" : "");
  if (!wait_for(boot, req.slot, r.generation, req.brokers.empty() ? std::nullopt : std::optional(req.brokers[0]))) {
    std::fprintf(stderr, "mosaic: not every broker runs generation %lld of %s (see above)\n",
                 static_cast<long long>(r.generation), req.slot.c_str());
    return 1;
  }
  return 0;
}

// A canary: the swap on one broker, its calls watched; promoted to every
// broker when it passes, rolled back when it does not.
int canary_command(connection& boot, msg::mosaic_plugins_request req, double watch_s, double max_error_rate,
                   int64_t min_calls, std::optional<double> max_p99_ms) {
  const int32_t broker = req.brokers.at(0);
  auto r = ask(boot, req);
  check(r);
  const int64_t generation = r.generation;
  std::printf("slot %s: generation %lld committed as a canary on broker %d; watching it for %.0f s\n", req.slot.c_str(),
              static_cast<long long>(generation), broker, watch_s);
  auto roll_back = [&](const std::string& why) {
    msg::mosaic_plugins_request back;
    back.operation = op_rollback;
    back.slot = req.slot;
    back.generation = generation;
    back.reason = why;
    auto b = ask(boot, back);
    check(b);
    std::printf("slot %s: canary rolled back to generation %lld: %s\n", req.slot.c_str(),
                static_cast<long long>(b.generation), why.c_str());
    (void)wait_for(boot, req.slot, b.generation);
    return 1;
  };
  const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(watch_s);
  int64_t calls = 0, errors = 0, p99_us = -1;
  bool running = false;
  for (;;) {
    for (const auto& [b, s] : slots_everywhere(boot, req.slot)) {
      if (b != broker) continue;
      if (s.problem) return roll_back("broker " + std::to_string(broker) + " could not run it: " + *s.problem);
      running = s.cluster_generation == generation;
      if (running) {
        calls = s.calls;
        errors = s.errors;
        p99_us = s.p99_micros;
      }
    }
    if (running && calls > 0 && calls >= min_calls &&
        static_cast<double>(errors) > max_error_rate * static_cast<double>(calls))
      return roll_back("canary: " + std::to_string(errors) + " errors in " + std::to_string(calls) +
                       " calls on broker " + std::to_string(broker) + " (over " + std::to_string(max_error_rate) + ")");
    if (running && max_p99_ms && calls > 0 && calls >= min_calls && p99_us > *max_p99_ms * 1000.0)
      return roll_back("canary: p99 latency " + latency_text(p99_us) + " over " + std::to_string(calls) +
                       " calls on broker " + std::to_string(broker) + " (--max-p99-ms " + std::to_string(*max_p99_ms) +
                       ")");
    if (std::chrono::steady_clock::now() >= until) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  if (!running) return roll_back("broker " + std::to_string(broker) + " did not put it in service in the watch time");
  if (calls < min_calls)
    return roll_back("canary: only " + std::to_string(calls) + " calls on broker " + std::to_string(broker) +
                     " in the watch time (--min-calls " + std::to_string(min_calls) + ")");
  std::printf("canary on broker %d passed: %lld errors in %lld calls, p99 %s; promoting it to every broker\n", broker,
              static_cast<long long>(errors), static_cast<long long>(calls), latency_text(p99_us).c_str());
  msg::mosaic_plugins_request up;
  up.operation = op_promote;
  up.slot = req.slot;
  up.generation = generation;
  return change_command(boot, op_promote, up, "promote");
}

}  // namespace

std::string slot_summary(connection& boot, const std::string& slot) {
  std::map<std::string, std::string> by_state;  // "plugin (generation N)" -> brokers
  try {
    for (const auto& [b, s] : slots_everywhere(boot, slot)) {
      auto& brokers = by_state[s.plugin + " (generation " + std::to_string(s.cluster_generation) +
                               (s.canary ? ", a canary" : "") + ")"];
      brokers += (brokers.empty() ? "" : ",") + std::to_string(b);
    }
  } catch (const cli_error&) {
    return "";
  }
  std::string out;
  for (const auto& [state, brokers] : by_state)
    out += (out.empty() ? "" : "; ") + state + " on broker" + (brokers.find(',') != std::string::npos ? "s " : " ") +
           brokers;
  return out;
}

int plugin_cluster_command(const std::string& bootstrap, const std::string& verb, args a) {
  connection boot(bootstrap);
  if (verb == "list") {
    const auto slot = a.option("--slot");
    a.done();
    print_slots(slots_everywhere(boot, slot.value_or("")));
    return 0;
  }
  if (verb == "history") {
    msg::mosaic_plugins_request req;
    req.operation = op_history;
    if (!a.empty()) req.slot = a.positional("a slot");
    a.done();
    auto r = ask(boot, req);
    check(r);
    if (r.history.empty()) std::printf("no swaps%s%s\n", req.slot.empty() ? "" : " of ", req.slot.c_str());
    for (const auto& h : r.history) {
      std::string brokers;
      for (int32_t b : h.brokers) brokers += (brokers.empty() ? "" : ",") + std::to_string(b);
      std::printf("%s  %-24s %-8s generation %-3lld %s%s%s  by %s%s%s%s%s\n", utc(h.time_ms).c_str(), h.slot.c_str(),
                  h.action.c_str(), static_cast<long long>(h.generation),
                  h.plugin.empty() ? "(the YAML's)" : h.plugin.c_str(), h.config.empty() ? "" : " {",
                  h.config.empty() ? "" : (h.config + "}").c_str(), h.principal.c_str(),
                  brokers.empty() ? "" : "  canary on ", brokers.c_str(),
                  h.reason.empty() ? "" : "  reason: ", h.reason.c_str());
      if (!h.sha256.empty()) std::printf("%22s library %s sha256 %s\n", "", h.library.c_str(), h.sha256.c_str());
    }
    return 0;
  }
  if (verb == "swap") {
    msg::mosaic_plugins_request req;
    req.operation = op_swap;
    req.generation = -1;
    req.library = a.option("--library", "-l");
    for (const auto& kv : a.options("--set", "-s")) {
      auto [k, v] = key_value(kv, "--set");
      req.config.push_back({k, v, {}});
    }
    const auto canary = a.option("--canary");
    const double watch = std::stod(a.option("--watch").value_or("30"));
    const double rate = std::stod(a.option("--max-error-rate").value_or("0.01"));
    const int64_t min_calls = integer(a.option("--min-calls").value_or("1"), "--min-calls");
    std::optional<double> max_p99_ms;
    if (auto v = a.option("--max-p99-ms")) max_p99_ms = std::stod(*v);
    req.validate_only = a.flag("--validate-only");
    req.slot = a.positional("a slot (group.share.policy, assignor.NAME, codec.NAME, interceptor.N, ...)");
    req.plugin = a.positional("the plugin id to swap in");
    a.done();
    if (canary) {
      req.brokers.push_back(static_cast<int32_t>(integer(*canary, "--canary")));
      if (req.validate_only) return change_command(boot, op_swap, req, "swap");
      return canary_command(boot, req, watch, rate, min_calls, max_p99_ms);
    }
    return change_command(boot, op_swap, req, "swap");
  }
  if (verb == "promote" || verb == "rollback") {
    msg::mosaic_plugins_request req;
    req.operation = verb == "promote" ? op_promote : op_rollback;
    req.generation = integer(a.option("--generation").value_or("-1"), "--generation");
    req.reason = a.option("--reason");
    req.slot = a.positional("a slot");
    a.done();
    return change_command(boot, req.operation, req, verb.c_str());
  }
  usage_error("plugin has list, history, swap, promote, rollback, inspect, keygen, sign, digest and verify, not '" +
              verb + "'");
}

int plugin_command(const std::string& verb, args a) {
  if (verb == "inspect") {
    std::vector<std::string> keys;
    for (const auto& k : a.options("--public-key", "-P"))
      keys.push_back(std::ifstream(k) ? read_line(k, "public key") : k);
    std::vector<std::string> libs;
    while (!a.empty()) libs.push_back(a.positional("a library"));
    if (libs.empty()) usage_error("plugin inspect needs a library");
    static const char* const types[] = {"?", "boolean", "integer", "number", "string", "list"};
    int failed = 0;
    for (const auto& lib : libs) {
      auto ms = plugin::read_manifests(lib);
      if (!ms) {
        std::fprintf(stderr, "mosaic: %s\n", ms.error().message().c_str());
        failed = 1;
        continue;
      }
      auto digest = plugin::file_sha256(lib);
      for (const auto& m : *ms) {
        std::printf("%s: library %s %s, ABI %s\n", lib.c_str(), m.library.c_str(), m.version.c_str(), m.abi.c_str());
        if (digest) std::printf("  sha256 %s\n", digest->c_str());
        if (!std::ifstream(lib + ".sig")) {
          std::printf("  not signed (no %s.sig)\n", lib.c_str());
        } else if (!keys.empty()) {
          auto s = plugin::verify_library(lib, read_line(lib + ".sig", "signature"), keys);
          std::printf("  signature: %s\n", s.ok() ? "by a trusted key" : s.message().c_str());
        } else {
          std::printf("  signed (%s.sig; --public-key checks by whom)\n", lib.c_str());
        }
        for (const auto& f : m.factories) {
          std::printf("  %s  (%s)%s%s\n", f.id.c_str(), plugin::category_name(f.category),
                      f.description.empty() ? "" : ": ", f.description.c_str());
          for (const auto& c : f.fields) {
            std::string range;
            if (c.type == MOSAIC_CONFIG_INT && (c.min != INT64_MIN || c.max != INT64_MAX))
              range = " [" + std::to_string(c.min) + ", " + std::to_string(c.max) + "]";
            std::printf("    %-28s %-8s %s%s%s%s  %s\n", c.name.c_str(), types[c.type >= 1 && c.type <= 5 ? c.type : 0],
                        (c.flags & MOSAIC_CONFIG_REQUIRED) != 0 ? "required" : ("default " + c.default_value).c_str(),
                        range.c_str(), (c.flags & MOSAIC_CONFIG_SECRET) != 0 ? " secret" : "", "",
                        c.description.c_str());
          }
        }
      }
    }
    return failed;
  }
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
  usage_error("plugin has list, history, swap, promote, rollback, inspect, keygen, sign, digest and verify, not '" +
              verb + "'");
}

}  // namespace mosaic::cli

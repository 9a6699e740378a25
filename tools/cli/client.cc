#include "tools/cli/client.h"

#include "plugins/protocol_kafka/protocol/blocking_tls.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "mosaic/adapter/errors.h"
#include "mosaic/sdk/scram.h"
#include "plugins/protocol_kafka/protocol/mosaic_tags.h"

namespace mosaic::cli {

[[noreturn]] void usage_error(const std::string& what) { throw cli_error{2, what + " (see --help)"}; }

std::string error_name(int16_t code) { return mosaic::adapter::error_name(code); }

[[noreturn]] void refused(int16_t code, const std::string& topic, const std::optional<std::string>& message) {
  if (code == 3) throw cli_error{1, "topic '" + topic + "' does not exist"};
  if (code == 36) throw cli_error{1, "topic '" + topic + "' already exists"};
  throw cli_error{1, (message && !message->empty() ? *message : error_name(code)) + " (" + error_name(code) + ")"};
}

int64_t integer(const std::string& s, const std::string& what) {
  try {
    size_t used = 0;
    int64_t v = std::stoll(s, &used);
    if (used == s.size()) return v;
  } catch (const std::exception&) {
  }
  usage_error(what + " wants a number, got '" + s + "'");
}

std::pair<std::string, std::string> key_value(const std::string& s, const std::string& what) {
  const auto eq = s.find('=');
  if (eq == std::string::npos || eq == 0) usage_error(what + " wants KEY=VALUE, got '" + s + "'");
  return {s.substr(0, eq), s.substr(eq + 1)};
}

msg::metadata_response metadata(connection& c, std::optional<std::vector<std::string>> topics) {
  msg::metadata_request req;
  req.allow_auto_topic_creation = false;
  if (topics) {
    req.topics.emplace();
    for (auto& t : *topics) req.topics->emplace_back().name = t;
  }
  return c.call<msg::metadata_response>(3, 12, req);
}

std::vector<int32_t> partitions_of(connection& c, const std::string& topic) {
  auto md = metadata(c, std::vector<std::string>{topic});
  if (md.topics.empty() || md.topics[0].error_code != 0)
    refused(md.topics.empty() ? int16_t{3} : md.topics[0].error_code, topic, std::nullopt);
  std::vector<int32_t> out;
  for (const auto& p : md.topics[0].partitions) out.push_back(p.partition_index);
  std::sort(out.begin(), out.end());
  return out;
}

client_security& security_settings() {
  static client_security settings;
  return settings;
}

void load_command_config(const std::string& path) {
  std::ifstream in(path);
  if (!in) usage_error("--command-config: cannot read '" + path + "'");
  client_security& s = security_settings();
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const auto start = line.find_first_not_of(" \t");
    if (start == std::string::npos || line[start] == '#' || line[start] == '!') continue;
    const auto eq = line.find('=');
    if (eq == std::string::npos) usage_error(path + ":" + std::to_string(n) + ": expected KEY=VALUE");
    auto trim = [](std::string t) {
      t.erase(0, t.find_first_not_of(" \t"));
      t.erase(t.find_last_not_of(" \t") + 1);
      return t;
    };
    const std::string key = trim(line.substr(0, eq));
    const std::string value = trim(line.substr(eq + 1));
    if (key == "security.protocol") {
      if (value != "PLAINTEXT" && value != "SASL_PLAINTEXT" && value != "SSL" && value != "SASL_SSL")
        usage_error(path + ":" + std::to_string(n) +
                    ": security.protocol must be PLAINTEXT, SASL_PLAINTEXT, SSL or SASL_SSL");
      s.protocol = value;
    } else if (key == "ssl.truststore.location" || key == "ssl.ca.location") {
      s.ca_file = value;
    } else if (key == "ssl.keystore.location" || key == "ssl.certificate.location") {
      s.cert_file = value;
    } else if (key == "ssl.key.location") {
      s.key_file = value;
    } else if (key == "ssl.key.password") {
      s.key_password = value;
    } else if (key == "ssl.endpoint.identification.algorithm") {
      if (value != "https" && !value.empty())
        usage_error(path + ":" + std::to_string(n) + ": ssl.endpoint.identification.algorithm is https or empty");
      s.check_host = value == "https";
    } else if (key == "sasl.mechanism" || key == "sasl.mechanisms") {
      if (value != "PLAIN" && value != "SCRAM-SHA-256" && value != "SCRAM-SHA-512")
        usage_error(path + ":" + std::to_string(n) + ": sasl.mechanism is PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512");
      s.mechanism = value;
    } else if (key == "sasl.username") {
      s.username = value;
    } else if (key == "sasl.password") {
      s.password = value;
    } else {
      usage_error(path + ":" + std::to_string(n) + ": unknown key '" + key +
                  "' (security.protocol, sasl.mechanism, sasl.username, sasl.password, ssl.truststore.location, "
                  "ssl.keystore.location, ssl.key.location, ssl.key.password, ssl.endpoint.identification.algorithm)");
    }
  }
  if (s.sasl() && (s.username.empty() || s.password.empty()))
    usage_error(path + ": SASL needs sasl.username and sasl.password");
}

void connection::start_tls(const std::string& host) {
  const client_security& s = security_settings();
  kafka::tls_client_options o;
  o.ca_file = s.ca_file;
  o.cert_file = s.cert_file;
  o.key_file = s.key_file;
  o.key_password = s.key_password;
  if (s.check_host) o.server_name = host;
  if (!kafka::start_tls(client_, o)) throw cli_error{3, client_.error()};
}

void connection::authenticate() {
  const client_security& s = security_settings();
  msg::sasl_handshake_request hs;
  hs.mechanism = s.mechanism;
  // SaslHandshake is not flexible: header v1, and its own decoding here.
  std::vector<uint8_t> out;
  mosaic::kafka::writer w(out);
  mosaic::kafka::write_request_header(w, 17, 1, 1, ++correlation_, "mosaic-cli");
  hs.encode(w, 1);
  if (!client_.send(out)) throw cli_error{3, "the broker closed the connection"};
  auto answer = client_.receive(30000);
  if (!answer) throw cli_error{3, "the broker closed the connection during the SASL handshake"};
  {
    mosaic::kafka::reader r(*answer);
    msg::response_header rh;
    rh.decode(r, 0);
    msg::sasl_handshake_response resp;
    resp.decode(r, 1);
    if (resp.error_code != 0) {
      std::string offered;
      for (const auto& m : resp.mechanisms) offered += (offered.empty() ? "" : ", ") + m;
      throw cli_error{1, "the broker refused SASL mechanism " + s.mechanism + " (" + error_name(resp.error_code) +
                             "; it offers: " + (offered.empty() ? "none" : offered) + ")"};
    }
  }
  auto step = [&](const std::string& token) {
    msg::sasl_authenticate_request auth;
    auth.auth_bytes = bytes_ref::of({reinterpret_cast<const uint8_t*>(token.data()), token.size()});
    std::vector<uint8_t> raw;
    auto resp = call<msg::sasl_authenticate_response>(36, 2, auth, &raw);
    if (resp.error_code != 0)
      throw cli_error{1, resp.error_message.value_or("authentication failed: " + error_name(resp.error_code))};
    const auto b = resp.auth_bytes.span();
    return std::string(b.begin(), b.end());
  };
  if (s.mechanism == "PLAIN") {
    std::string token;
    token.push_back('\0');
    token += s.username;
    token.push_back('\0');
    token += s.password;
    step(token);
    return;
  }
  // SCRAM (RFC 5802): the server's signature is checked too, so a broker
  // that does not hold the credential cannot pass for one that does.
  if (sodium_init() < 0) throw cli_error{1, "libsodium could not start"};
  const auto h = *sdk::scram::hash_of(sdk::scram::mechanism_number(s.mechanism));
  std::array<uint8_t, 18> random{};
  randombytes_buf(random.data(), random.size());
  const std::string nonce = sdk::scram::base64(random);
  std::string user;
  for (char ch : s.username) user += ch == ',' ? "=2C" : ch == '=' ? "=3D" : std::string(1, ch);
  const std::string first_bare = "n=" + user + ",r=" + nonce;
  const std::string server_first = step("n,," + first_bare);
  const auto parsed = sdk::scram::parse_server_first(server_first);
  if (!parsed || parsed->nonce.rfind(nonce, 0) != 0) throw cli_error{1, "the broker's SCRAM answer is malformed"};
  const auto salted = sdk::scram::salted_password(h, s.password, parsed->salt, parsed->iterations);
  const auto final_message = sdk::scram::finish(h, salted, first_bare, server_first, parsed->nonce);
  if (step(final_message.message) != final_message.expected_server_final)
    throw cli_error{1, "the broker's SCRAM signature is wrong"};
}

connection& pooled(const std::string& address) {
  static std::map<std::string, std::unique_ptr<connection>> open;
  auto& conn = open[address];
  if (!conn) conn = std::make_unique<connection>(address);
  return *conn;
}

coordinator_ref coordinator_of(connection& boot, const std::string& group) {
  msg::find_coordinator_request req;
  req.key = group;
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  for (;;) {
    auto resp = boot.call<msg::find_coordinator_response>(10, 3, req);
    if (resp.error_code == 0) {
      coordinator_ref out;
      out.node = resp.node_id;
      out.address = resp.host + ":" + std::to_string(resp.port);
      out.conn = &pooled(out.address);
      return out;
    }
    // COORDINATOR_LOAD_IN_PROGRESS, COORDINATOR_NOT_AVAILABLE, NOT_COORDINATOR:
    // it is moving; anything else is an answer.
    const bool moving = resp.error_code == 14 || resp.error_code == 15 || resp.error_code == 16;
    if (!moving || std::chrono::steady_clock::now() >= until) refused(resp.error_code, group, resp.error_message);
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

std::map<int32_t, connection*> every_broker(connection& boot) {
  std::map<int32_t, connection*> out;
  for (const auto& b : metadata(boot, std::vector<std::string>{}).brokers)
    out[b.node_id] = &pooled(b.host + ":" + std::to_string(b.port));
  return out;
}

int64_t list_offset(connection& c, const std::string& topic, int32_t partition, int64_t timestamp) {
  msg::list_offsets_request req;
  req.replica_id = -1;
  auto& t = req.topics.emplace_back();
  t.name = topic;
  auto& p = t.partitions.emplace_back();
  p.partition_index = partition;
  p.timestamp = timestamp;
  auto resp = c.call<msg::list_offsets_response>(2, 7, req);
  auto r = resp.topics.at(0).partitions.at(0);
  if (r.error_code == 6) {
    leaders l(c, topic);
    r = l.of(partition).call<msg::list_offsets_response>(2, 7, req).topics.at(0).partitions.at(0);
  }
  if (r.error_code != 0) refused(r.error_code, topic, std::nullopt);
  return r.offset;
}

std::optional<double> dirty_ratio(connection& c, const std::string& topic, int32_t partition) {
  msg::describe_log_dirs_request req;
  auto& t = req.topics.emplace();
  t.emplace_back().topic = topic;
  t.back().partitions = {partition};
  auto resp = c.call<msg::describe_log_dirs_response>(35, 4, req);
  for (const auto& dir : resp.results)
    for (const auto& rt : dir.topics)
      for (const auto& rp : rt.partitions)
        if (rt.name == topic && rp.partition_index == partition)
          return mosaic::kafka::float64_tag_value(rp.unknown_tags, mosaic::kafka::dirty_ratio_tag);
  return std::nullopt;
}

std::vector<int32_t> reset_partitions(connection& c, const std::string& topic, const std::optional<std::string>& only) {
  if (only) return {static_cast<int32_t>(integer(*only, "--partition"))};
  return partitions_of(c, topic);
}

int64_t reset_target(connection& c, const std::string& topic, int32_t partition, const std::string& to) {
  if (to == "earliest") return list_offset(c, topic, partition, -2);
  if (to == "latest") return list_offset(c, topic, partition, -1);
  return integer(to, "--to");
}

std::string ids(const std::vector<int32_t>& v) {
  if (v.empty()) return "-";
  std::string s;
  for (int32_t id : v) s += (s.empty() ? "" : ",") + std::to_string(id);
  return s;
}

// Every partition of the named topics (all topics when none), with
// replicas, ISR and ELR (DescribeTopicPartitions, page by page).
std::vector<msg::describe_topic_partitions_response_describe_topic_partitions_response_partition> describe_partitions(
    connection& c, const std::vector<std::string>& topics, std::vector<std::string>* names) {
  std::vector<msg::describe_topic_partitions_response_describe_topic_partitions_response_partition> out;
  msg::describe_topic_partitions_request req;
  for (const auto& t : topics) req.topics.emplace_back().name = t;
  for (;;) {
    auto resp = c.call<msg::describe_topic_partitions_response>(75, 0, req);
    for (const auto& t : resp.topics) {
      if (t.error_code != 0) refused(t.error_code, t.name.value_or(""), std::nullopt);
      for (const auto& p : t.partitions) {
        out.push_back(p);
        if (names) names->push_back(t.name.value_or(""));
      }
    }
    if (!resp.next_cursor) break;
    req.cursor.emplace();
    req.cursor->topic_name = resp.next_cursor->topic_name;
    req.cursor->partition_index = resp.next_cursor->partition_index;
  }
  return out;
}

}  // namespace mosaic::cli

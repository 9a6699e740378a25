#include "kernel/app/client_telemetry.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <functional>
#include <set>

namespace mosaic::app {

namespace {

std::string uuid_text(const std::array<uint8_t, 16>& id) {
  std::string s;
  for (size_t i = 0; i < id.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) s += '-';
    s += fmt::format("{:02x}", id[i]);
  }
  return s;
}

// An attribute's key as a Prometheus label name: letters, digits and
// underscores, not starting with a digit ("node.id" -> "node_id").
std::string label_name(const std::string& key) {
  std::string out;
  for (char c : key) out += (std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_') ? c : '_';
  if (out.empty() || std::isdigit(static_cast<unsigned char>(out[0])) != 0) out.insert(out.begin(), '_');
  if (out.rfind("__", 0) == 0) out.insert(out.begin(), 'a');  // "__" starts Prometheus' reserved names
  return out;
}

}  // namespace

client_telemetry::client_telemetry(const config::server_settings& s)
    : max_clients_(static_cast<size_t>(s.telemetry_max_clients)) {
  for (const auto& m : s.telemetry_metrics) sub_.metrics.push_back(m == "*" ? std::string() : m);
  // KIP-714: one empty string asks for every metric.
  if (std::find(sub_.metrics.begin(), sub_.metrics.end(), std::string()) != sub_.metrics.end())
    sub_.metrics = {std::string()};
  sub_.push_interval_ms = static_cast<int32_t>(s.telemetry_push_interval_ms);
  sub_.max_bytes = static_cast<int32_t>(std::min<int64_t>(s.telemetry_max_bytes, INT32_MAX));
  // The id changes with what is asked, so a client holding an old one is
  // told UNKNOWN_SUBSCRIPTION_ID and asks again.
  std::string all = std::to_string(sub_.push_interval_ms) + "|" + std::to_string(sub_.max_bytes);
  for (const auto& m : sub_.metrics) all += "|" + m;
  sub_.id = static_cast<int32_t>(std::hash<std::string>{}(all)&0x7fffffff);
}

void client_telemetry::expire_locked(clock::time_point now) {
  const auto silent = std::chrono::milliseconds(int64_t{3} * sub_.push_interval_ms);
  std::erase_if(clients_, [&](const auto& kv) { return now - kv.second.last_push > silent; });
}

void client_telemetry::push(adapter::telemetry_push p) {
  const auto now = clock::now();
  const std::string id = uuid_text(p.client_instance_id);
  std::lock_guard g(mu_);
  ++pushes_;
  if (p.terminating) {
    clients_.erase(id);
    return;
  }
  expire_locked(now);
  if (!clients_.contains(id) && clients_.size() >= max_clients_) {
    auto oldest = std::min_element(clients_.begin(), clients_.end(), [](const auto& a, const auto& b) {
      return a.second.last_push < b.second.last_push;
    });
    if (oldest != clients_.end()) clients_.erase(oldest);
  }
  auto& c = clients_[id];
  c.client_id = std::move(p.client_id);
  c.principal = std::move(p.principal);
  c.points = std::move(p.points);
  c.last_push = now;
}

size_t client_telemetry::clients() {
  std::lock_guard g(mu_);
  expire_locked(clock::now());
  return clients_.size();
}

void client_telemetry::write(metrics::exposition& e) {
  std::map<std::string, client> copy;
  uint64_t pushes = 0;
  {
    std::lock_guard g(mu_);
    expire_locked(clock::now());
    copy = clients_;
    pushes = pushes_;
  }
  e.family("mosaic_client_telemetry_pushes_total", "counter", "Telemetry pushes taken from clients (KIP-714).");
  e.sample("mosaic_client_telemetry_pushes_total", {}, pushes);
  e.family("mosaic_client_telemetry_clients", "gauge", "Client instances whose pushed metrics this broker keeps.");
  e.sample("mosaic_client_telemetry_clients", {}, static_cast<uint64_t>(copy.size()));
  e.family("mosaic_client_telemetry", "gauge",
           "Metrics clients pushed (KIP-714): the latest value of each, by client instance, client id and metric "
           "name, with the point's attributes as labels (dots as underscores).");
  std::string line;
  for (const auto& [id, c] : copy)
    for (const auto& p : c.points) {
      // The labels are built by hand here: their names come from the client.
      line = "mosaic_client_telemetry{client_instance_id=\"" + id + "\",client_id=\"";
      metrics::exposition::append_escaped(line, c.client_id);
      line += "\",metric=\"";
      metrics::exposition::append_escaped(line, p.name);
      line += '"';
      std::set<std::string> used = {"client_instance_id", "client_id", "metric"};
      for (const auto& [k, v] : p.attributes) {
        const std::string name = label_name(k);
        if (!used.insert(name).second) continue;  // a label appears once
        line += "," + name + "=\"";
        metrics::exposition::append_escaped(line, v);
        line += '"';
      }
      line += "} ";
      e.raw(line, p.value);
    }
}

}  // namespace mosaic::app

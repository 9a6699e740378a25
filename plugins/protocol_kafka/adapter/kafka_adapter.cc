#include "plugins/protocol_kafka/adapter/kafka_adapter.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <utility>

#include "api_names.h"
#include "plugins/protocol_kafka/adapter/connection.h"

namespace mosaic::kafka {

namespace {

constexpr int16_t unsupported_version = 35;

const api_handler* find_handler(int16_t key) {
  const auto& all = api_handlers();
  auto it =
      std::lower_bound(all.begin(), all.end(), key, [](const api_handler& h, int16_t k) { return h.api_key < k; });
  return it != all.end() && it->api_key == key ? &*it : nullptr;
}

uint64_t next_hold_id() {
  static std::atomic<uint64_t> last{0};
  return ++last;
}

}  // namespace

void connection::on_frame(std::vector<uint8_t> frame, const std::shared_ptr<adapter::responder>& reply) {
  // Responses go back in request order: a heartbeat the coordinator holds
  // must not keep this request's answer waiting.
  if (held_heartbeat_ != 0) state_->groups->release_heartbeat(std::exchange(held_heartbeat_, 0));
  try {
    if (state_->security.sasl() && expects_raw_token()) return sasl_raw_token(std::move(frame), reply);
    reader peek(frame);
    request_context rc;
    rc.key = peek.integer<int16_t>();
    rc.version = peek.integer<int16_t>();
    rc.correlation = peek.integer<int32_t>();
    rc.reply = reply;
    // Before authentication only SASL requests are served (sasl_api.cc).
    if (!admits(rc.key)) return rc.reply->close();
    const api_handler* api = find_handler(rc.key);
    if (api == nullptr || !serves(rc.key)) return rc.reply->close();  // an API this broker does not serve
    if (rc.version < api->min_version || rc.version > api->max_version) {
      // The ApiVersions rule: answer in version 0 with the error and our
      // ranges, so the client can pick a version it shares with us.
      if (rc.key == msg::api_versions_request_api_key) {
        rc.version = 0;
        reply->describe(rc.key, 0);
        msg::api_versions_response resp;
        resp.error_code = unsupported_version;
        fill_versions(resp);
        return rc.send(resp);
      }
      return rc.reply->close();
    }
    reply->describe(rc.key, rc.version);
    rc.flexible = rc.version >= api->first_flexible;
    auto buf = std::make_shared<std::vector<uint8_t>>(std::move(frame));
    reader r(*buf);
    msg::request_header header;
    header.decode(r, rc.flexible ? 2 : 1);
    if (header.client_id) rc.client_id = *header.client_id;
    rc.user = principal_.name;
    rc.listener = peer_.listener;
    // request_percentage (Kafka's request quota): the time this thread
    // spends answering is charged to the client; one already over its
    // quota is told so in the response and muted for that long.
    // The SASL exchange is not charged (Kafka exempts it too).
    if (rc.key != msg::sasl_handshake_request_api_key && rc.key != msg::sasl_authenticate_request_api_key)
      rc.quotas = state_->broker->quotas_for(rc.user, rc.client_id);
    rc.throttle_ms = static_cast<int32_t>(state_->throttle_for(rc, quota_meter::request, 0));
    const auto began = std::chrono::steady_clock::now();
    api->answer(*this, rc, r, buf);
    if (rc.quotas.request_percentage) {
      const double spent = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - began).count();
      rc.reply->throttle(std::max<int64_t>(rc.throttle_ms, state_->throttle_for(rc, quota_meter::request, spent)));
    }
  } catch (const decode_error&) {
    reply->close();  // a malformed request: Kafka closes the connection too
  }
}

uint64_t connection::hold_heartbeat() {
  if (state_->groups == nullptr) return 0;
  return held_heartbeat_ = next_hold_id();
}

const std::vector<api_handler>& api_handlers() {
  static const std::vector<api_handler> all = [] {
    std::vector<api_handler> rows;
    for (auto family : {cluster_apis, data_apis, admin_apis, group_apis, share_apis, sasl_apis, acl_apis, quota_apis,
                        telemetry_apis, plugin_apis}) {
      auto more = family();
      rows.insert(rows.end(), more.begin(), more.end());
    }
    std::sort(rows.begin(), rows.end(), [](const auto& x, const auto& y) { return x.api_key < y.api_key; });
    return rows;
  }();
  return all;
}

const std::vector<api_range>& supported_apis() {
  static const std::vector<api_range> ranges = [] {
    std::vector<api_range> out;
    for (const auto& h : api_handlers()) out.push_back({h.api_key, h.min_version, h.max_version, h.first_flexible});
    return out;
  }();
  return ranges;
}

namespace {

class session final : public adapter::session {
 public:
  explicit session(std::shared_ptr<connection> h) : h_(std::move(h)) {}
  void on_frame(std::vector<uint8_t> frame, std::shared_ptr<adapter::responder> reply) override {
    h_->on_frame(std::move(frame), reply);
  }
  size_t max_frame_bytes() const override { return h_->max_frame_bytes(); }

 private:
  std::shared_ptr<connection> h_;
};

class kafka_adapter final : public adapter::protocol_adapter {
 public:
  explicit kafka_adapter(const adapter::adapter_context& c)
      : admin_(std::make_unique<admin_worker>(
            1,
            [](const std::exception& e) {
              std::fprintf(stderr, "kafka adapter: an administrative task failed (%s)\n", e.what());
            })),
        state_(std::make_shared<shared_state>()) {
    state_->broker = c.service;
    state_->groups = c.groups;
    state_->shares = c.shares;
    state_->telemetry = c.telemetry;
    state_->plugin_swaps = c.plugin_swaps;
    state_->admin = admin_.get();
    state_->security = c.security;
    state_->log_to = c.log;
    if (c.security.sasl()) {
      auth_ = std::make_unique<sdk::task_queue>(1, [log = c.log](const std::exception& e) {
        if (log)
          log(adapter::log_level::error, std::string("kafka adapter: an authentication step failed: ") + e.what());
      });
      delays_ = std::make_unique<sdk::delay_queue>();
      state_->auth = auth_.get();
      state_->delays = delays_.get();
    }
  }
  ~kafka_adapter() override {
    // Authentications under way finish (their answers may be dropped)
    // before the queues they use go.
    if (auth_) auth_->stop();
    if (delays_) delays_->stop();
  }
  kafka_adapter(const kafka_adapter&) = delete;
  kafka_adapter& operator=(const kafka_adapter&) = delete;
  std::unique_ptr<adapter::session> open_session(const adapter::peer& p) override {
    return std::make_unique<session>(std::make_shared<connection>(state_, p));
  }
  const char* request_name(int16_t kind) const override { return msg::api_name(kind); }
  adapter::adapter_stats stats() const override {
    return {state_->auth_successes.load(std::memory_order_relaxed),
            state_->auth_failures.load(std::memory_order_relaxed)};
  }

 private:
  std::unique_ptr<admin_worker> admin_;  // joined (after its queue drains) when the adapter goes
  std::unique_ptr<sdk::task_queue> auth_;
  std::unique_ptr<sdk::delay_queue> delays_;
  std::shared_ptr<shared_state> state_;
};

}  // namespace

std::shared_ptr<adapter::protocol_adapter> make_adapter(const adapter::adapter_context& context) {
  return std::make_shared<kafka_adapter>(context);
}

}  // namespace mosaic::kafka

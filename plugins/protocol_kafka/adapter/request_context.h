// One Kafka request being answered, with what is needed to write its
// response from any thread: shared by the adapter's handlers.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "kafka_messages.h"
#include "mosaic/adapter/adapter.h"
#include "mosaic/adapter/broker.h"

namespace mosaic::kafka {

// One request being answered: enough to write its response from any thread.
struct request_context {
  int16_t key = 0;
  int16_t version = 0;
  int32_t correlation = 0;
  bool flexible = false;
  std::string client_id;
  std::shared_ptr<adapter::responder> reply;

  template <class Response>
  void send(const Response& resp) const {
    std::vector<uint8_t> out;
    writer w(out);
    write_header(w);
    resp.encode(w, version);
    reply->respond(std::move(out));
  }

  void write_header(writer& w) const {
    msg::response_header rh;
    rh.correlation_id = correlation;
    // ApiVersions responses always use header v0 (KIP-511).
    rh.encode(w, flexible && key != msg::api_versions_request_api_key ? 1 : 0);
  }

  // The same, for a response whose records fields are spliced file ranges:
  // `files[id]` are the ranges of the field encoded with splice id `id`.
  template <class Response>
  void send_spliced(const Response& resp, std::vector<std::vector<adapter::file_range>>& files) const {
    adapter::response out;
    std::vector<std::pair<size_t, int32_t>> splices;
    writer w(out.bytes);
    w.note_splices(&splices);
    write_header(w);
    resp.encode(w, version);
    for (const auto& [at, id] : splices)
      for (auto& range : files[static_cast<size_t>(id)]) out.files.push_back({at, std::move(range)});
    reply->respond(std::move(out));
  }
};

}  // namespace mosaic::kafka

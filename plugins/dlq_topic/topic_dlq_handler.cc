// The dead-letter handler of KIP-1191: each letter becomes a record in the
// group's dead-letter topic, written through the broker's own produce path,
// with headers that say where it came from and why:
//
//   __dlq.errors.topic, __dlq.errors.partition, __dlq.errors.offset,
//   __dlq.errors.group, __dlq.errors.delivery.count, __dlq.errors.message
//
// and, when the group sets errors.deadletterqueue.copy.record.enable, the
// original record's key, value and timestamp. It never blocks: at most
// `max.in.flight` letters are being written at once, and a letter over
// that bound is refused (the broker keeps it ARCHIVING and offers it
// again). A letter is never written to the topic it came from.
#include <atomic>
#include <string>

#include "mosaic/sdk/dlq_handler.h"

namespace {

namespace sdk = mosaic::sdk;

class topic_dlq_handler : public sdk::dlq_handler<topic_dlq_handler> {
 public:
  static constexpr const char* name = "mosaic.dlq.topic";
  static constexpr const char* description = "dead letters to the group's dead-letter topic, with KIP-1191 headers";
  static constexpr sdk::field config_fields[] = {
      sdk::int_field("max.in.flight", "1024", "letters being written at once; more wait ARCHIVING", 1, 1000000)};

  topic_dlq_handler(const sdk::config& cfg, sdk::host host)
      : max_in_flight_(cfg.get_int("max.in.flight", 1024)),
        written_(host.counter("dlq_records_written_total", "dead letters written to a dead-letter topic")) {}

  bool enqueue(const sdk::dead_letter& d, const sdk::dlq_writer& writer, sdk::dlq_done done) {
    if (d.dlq_topic.empty() || d.dlq_topic == d.topic) {
      done(MOSAIC_ERR_INVALID_ARGUMENT, "a record is never dead-lettered into its own topic");
      return true;
    }
    if (in_flight_.fetch_add(1) >= max_in_flight_) {
      in_flight_.fetch_sub(1);
      return false;
    }
    const char* why =
        d.cause == MOSAIC_SHARE_CAUSE_REJECT ? "record rejected by the consumer" : "delivery count limit reached";
    const std::vector<sdk::record_header> headers = {
        {"__dlq.errors.topic", std::string(d.topic)},
        {"__dlq.errors.partition", std::to_string(d.partition)},
        {"__dlq.errors.offset", std::to_string(d.offset)},
        {"__dlq.errors.group", std::string(d.group_id)},
        {"__dlq.errors.delivery.count", std::to_string(d.delivery_count)},
        {"__dlq.errors.message", why},
    };
    auto* pending = new letter{this, done};
    const bool copy = d.copy_record && d.has_record;
    writer.write(std::string(d.dlq_topic), -1, copy ? d.key : std::nullopt, copy ? d.value : std::nullopt,
                 copy ? d.timestamp : -1, headers, &letter::written, pending);
    return true;
  }

 private:
  struct letter {
    topic_dlq_handler* self;
    sdk::dlq_done done;
    static void written(void* ctx, mosaic_status_t status, const char* message) {
      auto* l = static_cast<letter*>(ctx);
      l->self->in_flight_.fetch_sub(1);
      if (status == MOSAIC_OK) l->self->written_.add();
      l->done(status, message);
      delete l;
    }
  };

  int64_t max_in_flight_;
  std::atomic<int64_t> in_flight_{0};
  sdk::counter written_;
};

}  // namespace

MOSAIC_PLUGIN("mosaic-dlq-topic", "0.1.0", topic_dlq_handler)

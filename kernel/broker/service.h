// The broker service: the kernel's side of the API protocol adapters call
// (sdk/include/mosaic/adapter/broker.h). It checks administrative requests
// and turns them into metadata records; it appends produced batches to the
// partition logs and serves fetches, holding a fetch that has too little
// data until appends bring enough or its wait runs out.
//
// Threading: calls come from network threads. Appends run on the caller's
// thread unless the topic's flush policy may fsync, which runs on an I/O
// thread (num.io.threads), as do acks=all waits for the disk. Waiting
// fetches are kept by one thread that re-reads them when their partitions
// get appends and answers them at their deadline.
//
// Durability (ARCHITECTURE.md rule 4): with one replica, acks=1 and
// acks=all answer once the batches are written to the segment (the page
// cache); the disk is waited for when the topic's flush.messages says so
// (flush.messages=1: every acknowledged record is on disk). A partition
// with more replicas is produced through the replica manager
// (kernel/replication): acks=all is refused with NOT_ENOUGH_REPLICAS while
// the ISR is below min.insync.replicas, and answered once the high
// watermark passes the batch, i.e. once every ISR member has it.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <thread>
#include <vector>

#include "kernel/base/status.h"
#include "kernel/config/broker_config.h"
#include "kernel/log/cleaner.h"
#include "kernel/log/log_manager.h"
#include "kernel/metadata/metadata_log.h"
#include "kernel/plugin/codecs.h"
#include "kernel/plugin/interceptors.h"
#include "kernel/replication/controller.h"
#include "kernel/replication/replica_manager.h"
#include "mosaic/adapter/broker.h"
#include "mosaic/sdk/task_queue.h"

namespace mosaic::broker {

// The kernel's own logs: partitions beside the topics' that are not topics
// (never listed, and their names refused to CreateTopics).
inline constexpr const char* metadata_log_name = "__cluster_metadata";
inline constexpr const char* group_log_name = "__consumer_offsets";  // the group coordinator's topic (internal)
inline constexpr const char* share_state_topic_name =
    "__share_group_state";  // the share coordinator's topic (internal)
inline constexpr const char* share_log_name =
    "__share_groups";  // share-group records of earlier versions (this broker's)
// The metadata quorum's folder in the first log dir (raft::file_storage;
// not a partition, so the log manager passes it by).
inline constexpr const char* quorum_dir_name = "__cluster_metadata-quorum";

// The codec plugins as the log's cleaner and checks call them
// (kernel/log/cleaner.h): by Kafka's codec id, into a vector.
log::codec_hooks codec_hooks_of(const plugin::codec_set& codecs);

class service final : public adapter::broker {
 public:
  // Creates the cluster id record on first start, then opens the partition
  // logs of every topic in the image. `codecs` recompress batches for
  // topics whose compression.type names a codec.
  static result<std::unique_ptr<service>> start(const config::broker_config& cfg, log::log_manager* logs,
                                                metadata::metadata_store* store, const plugin::codec_set* codecs);
  ~service() override;
  service(const service&) = delete;
  service& operator=(const service&) = delete;
  // Hands leadership of its partitions to other replicas and fences this
  // broker (KRaft's controlled shutdown), when other brokers are live.
  void controlled_shutdown();
  // Answers waiting fetches and joins the service's threads.
  void stop();

  int32_t node_id() const override { return cfg_.node_id; }
  std::string cluster_id() const override;
  std::vector<adapter::broker_endpoint> brokers() const override;
  int32_t controller_id() const override;
  adapter::quorum_description describe_quorum() const override;
  // Registers this start of the broker (after the listeners are bound):
  // where clients reach it, its rack, and a broker epoch one past the last
  // registration's (the image keeps it).
  status register_broker(const std::vector<metadata::broker_listener>& listeners);
  std::vector<adapter::topic_info> topics() const override;
  std::vector<adapter::topic_info> topics_page(const std::string& from, int32_t first_partition,
                                               size_t partition_limit) const override;
  std::optional<adapter::topic_info> find_topic(const std::string& name) const override;
  std::vector<uint8_t> encode_records(const std::vector<adapter::plain_record>& records) const override;
  adapter::outcome decode_records(std::span<const uint8_t> batches,
                                  std::vector<adapter::plain_record>& out) const override;
  std::optional<adapter::topic_info> find_topic(const adapter::uuid& id) const override;
  bool auto_create_topics() const override { return cfg_.server.auto_create_topics; }

  adapter::outcome create_topic(const adapter::new_topic& t, bool validate_only, adapter::topic_info* created) override;
  adapter::outcome delete_topic(const std::string& name) override;
  adapter::outcome create_partitions(const std::string& name, int32_t count,
                                     const std::vector<std::vector<int32_t>>& assignments, bool validate_only) override;
  adapter::outcome elect_leader(const std::string& topic, int32_t partition, bool unclean) override;
  adapter::outcome reassign(const std::string& topic, int32_t partition,
                            const std::optional<std::vector<int32_t>>& target) override;
  adapter::outcome describe_configs(adapter::resource_type type, const std::string& name,
                                    const std::vector<std::string>& names,
                                    std::vector<adapter::config_value>& out) const override;
  adapter::outcome alter_configs(adapter::resource_type type, const std::string& name,
                                 const std::vector<adapter::config_change>& changes, bool incremental,
                                 bool validate_only) override;

  void produce(const std::string& topic, int32_t partition, std::span<uint8_t> records, int16_t acks,
               int32_t timeout_ms, std::shared_ptr<const void> owner, const adapter::produce_origin& origin,
               std::function<void(adapter::produce_result)> done) override;
  void fetch(adapter::fetch_request req, std::function<void(std::vector<adapter::fetched_partition>)> done) override;
  adapter::offset_lookup list_offset(const std::string& topic, int32_t partition, int64_t timestamp) override;
  epoch_end offset_for_leader_epoch(const std::string& topic, int32_t partition, int32_t current_leader_epoch,
                                    int32_t leader_epoch) override;
  adapter::outcome init_producer_id(producer_identity& identity) override;
  records_deleted delete_records(const std::string& topic, int32_t partition, int64_t offset) override;
  adapter::outcome describe_producers(const std::string& topic, int32_t partition,
                                      std::vector<producer_view>& out) override;
  std::vector<log_dir_usage> describe_log_dirs() const override;
  std::vector<scram_user> scram_users() const override;
  adapter::outcome upsert_scram_credential(const std::string& user, int8_t mechanism, int32_t iterations,
                                           std::span<const uint8_t> salt,
                                           std::span<const uint8_t> salted_password) override;
  adapter::outcome delete_scram_credential(const std::string& user, int8_t mechanism) override;
  std::vector<adapter::outcome> create_acls(const std::vector<acl_binding>& bindings) override;
  std::vector<acl_binding> describe_acls(const acl_filter& filter) const override;
  std::vector<std::pair<adapter::outcome, std::vector<acl_binding>>> delete_acls(
      const std::vector<acl_filter>& filters) override;
  adapter::outcome describe_client_quotas(const std::vector<quota_match>& components, bool strict,
                                          std::vector<quota_entry>& out) const override;
  adapter::outcome alter_client_quota(const quota_entity& entity, const std::vector<quota_change>& changes,
                                      bool validate_only) override;
  client_quotas quotas_for(const std::string& user, const std::string& client_id) const override;
  // When the ACLs last changed (the metadata image's version then).
  uint64_t acls_version() const;

  // ---- the kernel's own partitions (the group coordinator's) ----
  // The internal topic `name`, made first if there is none: `factor`
  // replicas at most, fewer when fewer brokers are registered. An error
  // (to retry) when it cannot be made now.
  result<adapter::topic_info> ensure_internal_topic(const std::string& name, int32_t partitions, int32_t factor,
                                                    const std::map<std::string, std::string>& configs);
  // The partitions of `topic` this broker leads now and their leader
  // epochs: for a replicated one, once its replica has taken the epoch up.
  std::map<int32_t, int32_t> led_partitions(const std::string& topic) const;
  // `changed` is called after every metadata change (on the replication
  // thread; it must not block). An empty one stops the calls: once this
  // returns, the previous one is not running.
  void on_leadership(const void* owner, std::function<void()> changed);
  // This broker's copy of a partition, start to end, in chunks.
  status scan_partition(const std::string& topic, int32_t partition,
                        const std::function<bool(std::span<const uint8_t>)>& chunk) const;
  // Share groups' configs, kept in the metadata (ConfigRecords of resource
  // type GROUP), so every broker applies them at the same offset.
  std::map<std::string, std::string> group_configs(const std::string& group) const;
  // Sets (a value) or removes (nullopt) each named config; waits for the
  // quorum. An error when it cannot be proposed now.
  status set_group_configs(const std::string& group,
                           const std::vector<std::pair<std::string, std::optional<std::string>>>& changes);
  // Moves whenever any config changes (for caches).
  uint64_t config_version() const;
  // Runs `fn` on the current metadata image, under the store's lock: keep
  // it short (a cache built once per image version, say).
  void with_image(const std::function<void(const metadata::image&)>& fn) const {
    store_->read([&](const metadata::image& i) {
      fn(i);
      return 0;
    });
  }
  // Frames of the kernel's own between brokers, on the replication port
  // (replica_manager::serve and send); with no replication port (a node
  // without a replica manager) nothing is sent and nothing arrives.
  void serve_frames(int16_t first, int16_t last, replication::replica_manager::frame_handler handler);
  void send_frame(int32_t to, int16_t kind, std::vector<uint8_t> body);
  // The record interceptors clients' produces pass through (set once,
  // before the listeners open; the set itself swaps its entries).
  void set_interceptors(const plugin::interceptor_set* set) noexcept { interceptors_ = set; }
  // A produce of the kernel's own (acks=all): internal topics allowed, and
  // with `leader_epoch` >= 0 only while this broker leads at that epoch.
  void produce_internal(const std::string& topic, int32_t partition, std::span<uint8_t> records, int32_t timeout_ms,
                        std::shared_ptr<const void> owner, int32_t leader_epoch,
                        std::function<void(adapter::produce_result)> done);

 private:
  service(const config::broker_config& cfg, log::log_manager* logs, metadata::metadata_store* store,
          const plugin::codec_set* codecs);
  struct partition_ref {
    log::partition_log* log = nullptr;
    int32_t leader_epoch = 0;
    int64_t min_insync = 1;
    int target_codec = -1;  // compression.type: -1 keeps the producer's
    size_t replicas = 1;
    adapter::error code = adapter::error::none;
  };
  partition_ref find_partition(const std::string& topic, int32_t partition);
  adapter::outcome make_topic(const adapter::new_topic& t, bool validate_only, adapter::topic_info* created);
  void produce_at(const std::string& topic, int32_t partition, std::span<uint8_t> records, int16_t acks,
                  int32_t timeout_ms, std::shared_ptr<const void> owner, int32_t leader_epoch,
                  std::function<void(adapter::produce_result)> done, const adapter::produce_origin* origin = nullptr);
  void leadership_may_have_moved();
  // Appends as leader; `end` gets the offset after the batch. A partition
  // with one replica moves its high watermark here.
  adapter::produce_result append(const partition_ref& p, const std::string& topic, int32_t partition,
                                 std::span<uint8_t> records, int64_t* end = nullptr);
  void produce_replicated(const partition_ref& p, const std::string& topic, int32_t partition,
                          std::span<uint8_t> records, int16_t acks, int32_t timeout_ms, int32_t expected_epoch,
                          std::function<void(adapter::produce_result)> done);
  // Brokers that may take new replicas: the unfenced ones and this one.
  struct placement {
    std::vector<replication::broker_place> live;
    std::set<int32_t> registered;
    replication::broker_view view;
  };
  placement live_brokers() const;
  std::optional<std::string> check_assignment(const std::vector<std::vector<int32_t>>& assignment,
                                              const placement& brokers) const;
  replication::controller_settings controller_settings() const;
  // An operator's change to one partition (an election, a reassignment):
  // decided on the latest image, proposed, decided again if the partition
  // changed meanwhile; `done` is logged once it applies.
  adapter::outcome decide_partition(const std::function<replication::decision(const metadata::image&)>& decide,
                                    const std::string& done);
  // Waits until this node's image holds everything the quorum committed
  // before the call (Raft's read index), so that an administrative change
  // is checked against the latest state, as the active controller would.
  status catch_up() const;
  std::optional<adapter::produce_result> keyless(std::span<const uint8_t> records, const std::string& topic,
                                                 int32_t partition) const;
  // Rewrites every batch whose codec is not `codec` into `out`; an error
  // result if a batch is bad or a codec is missing.
  // Runs the topic's record interceptors over each batch of `records`: a
  // refusal, or nothing with `records` (and `owner`) replaced when an
  // interceptor added headers.
  std::optional<adapter::produce_result> intercept(const plugin::interceptor_set::chain& chain,
                                                   const std::string& topic, int32_t partition,
                                                   std::span<uint8_t>& records, std::shared_ptr<const void>& owner,
                                                   const adapter::produce_origin& origin, size_t max_batch) const;
  // The records section of batch `b`, decompressed into `plain` when the
  // batch is compressed; a refusal when it cannot be (no codec loaded, or
  // `what`, the batch as messages name it, does not decompress).
  adapter::outcome records_of(const log::batch_view& b, plugin::byte_buffer& plain, std::span<const uint8_t>& body,
                              const std::string& what) const;
  std::optional<adapter::produce_result> recompress(std::span<const uint8_t> records, int codec, size_t max_batch,
                                                    std::vector<uint8_t>& out) const;
  // Whether this broker holds the partition's one replica and leads it.
  bool alone_here(const metadata::partition_record& p) const;
  // The log config of a partition this broker holds alone and leads, or
  // nullopt (the log manager's resolver).
  std::optional<log::log_manager::holding> held_alone(const std::string& topic, int32_t partition) const;
  // After every metadata change: removed topics' logs go, and the
  // partitions that changed and have a log entry here are declared again.
  void open_assigned_logs();
  // ---- configs (service_configs.cc) ----
  // The topic defaults now: the YAML's under the dynamic broker configs.
  std::map<std::string, std::string> current_defaults() const;
  log::log_config log_config_of(const std::map<std::string, std::string>& overrides) const;
  // After a metadata change: when configs changed (here or on another
  // broker), new defaults and every open log's settings.
  void refresh_configs();
  adapter::outcome alter_broker_configs(const std::string& name, const std::vector<adapter::config_change>& changes,
                                        bool incremental, bool validate_only);
  void describe_broker_configs(const std::string& name, const std::function<bool(const std::string&)>& wanted,
                               std::vector<adapter::config_value>& out) const;
  // A proposal that failed, in Kafka's words: `raced` when the metadata
  // refused it at its turn (another writer got there first).
  static adapter::outcome refused(const status& s, adapter::error raced, const std::string& raced_message);
  std::vector<adapter::fetched_partition> read_all(const adapter::fetch_request& req, size_t& bytes);
  void run_io(std::function<void()> task);
  void purgatory_loop();
  void appended(const std::string& topic, int32_t partition);

  const config::broker_config& cfg_;
  log::log_manager* logs_;
  metadata::metadata_store* store_;
  const plugin::codec_set* codecs_;
  const plugin::interceptor_set* interceptors_ = nullptr;
  log::codec_hooks codec_hooks_;  // the same codecs, as kernel/log calls them
  mutable std::mutex defaults_mu_;
  std::map<std::string, std::string> defaults_;  // by topic key
  std::mutex configs_mu_;                        // one refresh_configs at a time
  uint64_t configs_seen_ = 0;                    // the image version refresh_configs last read
  std::mutex assigned_mu_;                       // one open_assigned_logs at a time
  uint64_t assigned_seen_ = 0;                   // the image version open_assigned_logs last read
  std::mutex admin_mu_;                          // one administrative change at a time
  std::mutex producer_ids_mu_;
  int64_t next_producer_id_ = 0;  // the block being handed out: [next, end)
  int64_t producer_id_block_end_ = 0;
  // Shared by appends and reads, exclusive while partition logs are
  // created or removed (a log pointer stays valid while it is held).
  mutable std::shared_mutex logs_mu_;

  std::unique_ptr<sdk::task_queue> io_;  // num.io.threads workers

  struct waiting_fetch {
    adapter::fetch_request req;
    std::function<void(std::vector<adapter::fetched_partition>)> done;
    std::chrono::steady_clock::time_point deadline;
    std::set<std::pair<std::string, int32_t>> partitions;
  };
  std::mutex fetch_mu_;
  std::condition_variable fetch_cv_;
  std::list<waiting_fetch> waiting_;
  std::set<std::pair<std::string, int32_t>> dirty_;
  std::atomic<size_t> waiting_count_{0};
  std::thread purgatory_;
  bool stopping_ = false;
  std::atomic<uint32_t> next_placement_{0};  // rotates new partitions' leaders over the brokers
  std::unique_ptr<replication::replica_manager> replicas_;
  std::mutex leadership_mu_;
  std::map<const void*, std::function<void()>> leadership_listeners_;
};

}  // namespace mosaic::broker

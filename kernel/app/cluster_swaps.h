// Cluster-wide plugin swaps: `mosaic plugin swap|promote|rollback` as
// records of the metadata log (metadata::plugin_swap_record), which every
// broker applies at the same offset, and finds again in the image when it
// restarts or joins.
//
// A change is asked of any broker (MosaicPlugins, through its Kafka
// listener). That broker validates it first, in a child process, so that a
// library that crashes or hangs costs nothing but the child: plugins.trust,
// the ABI, the category and the slot, the config against the plugin's
// declared fields, and a smoke call of the category (see `smoke` in the
// .cc). Only then is the record committed. Each broker then makes the
// instance itself and publishes it in the slot; a broker that cannot (its
// own plugins.trust refuses the library, the library is not there, the
// file differs from the digest the swap was checked with) keeps what it
// ran, logs and audits why, and `mosaic plugin list` shows it.
//
// Slots: group.share.policy, group.share.dlq.handler, assignor.<name> (the
// plugin serving that name), group.consumer.assignor (the default assignor
// of consumer groups whose members name none: any assignor plugin),
// codec.<gzip|snappy|lz4|zstd>, interceptor.<index>, authenticator.<plugin
// id> (the same plugin, another config or library). Generation 0 of a
// slot is the broker's own YAML (as started, or as the last SIGHUP read);
// while the cluster runs another generation in a slot, a SIGHUP leaves the
// slot alone.
//
// Threading: the metadata log's thread only wakes the worker, which makes
// and publishes instances (under the node's plugin lock, shared with
// SIGHUP). `slots`, `history` and `change` run on adapters' admin threads.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "kernel/base/status.h"
#include "kernel/config/broker_config.h"
#include "kernel/metadata/metadata_log.h"
#include "mosaic/adapter/broker.h"

namespace mosaic::plugin {
class instance;
}

namespace mosaic::app {

class node;

// What a slot name means: the plugin category it holds and its argument
// (an assignor's name, a codec id, an interceptor's index).
struct swap_slot {
  int32_t category = 0;
  std::string name;               // assignor name
  bool default_assignor = false;  // group.consumer.assignor: any assignor, made the default
  int32_t codec_id = 0;
  size_t index = 0;  // interceptor
};
result<swap_slot> parse_swap_slot(const std::string& slot);

class cluster_swaps final : public adapter::plugin_admin {
 public:
  cluster_swaps(node& n, metadata::metadata_store* store);
  ~cluster_swaps() override;
  cluster_swaps(const cluster_swaps&) = delete;
  cluster_swaps& operator=(const cluster_swaps&) = delete;

  // Applies what the image holds for this broker (a restart comes back
  // with the cluster's generations), then follows every entry.
  void start();
  void stop();
  // The YAML that generation 0 of each slot comes from (at start, and after
  // each SIGHUP).
  void set_yaml(const config::broker_config& cfg);
  // Whether the cluster runs a generation other than 0 in `slot` here.
  bool owns(const std::string& slot) const;
  // After a SIGHUP republished the interceptors: the cluster's generations
  // of theirs go back on top.
  void reapply(const std::string& slot_prefix);

  std::vector<adapter::plugin_slot_state> slots() override;
  std::vector<adapter::plugin_swap_event> history(const std::string& slot) override;
  adapter::plugin_change_result change(const adapter::plugin_change& c) override;

 private:
  void run();
  void apply_all();
  // Makes and publishes what `r` says in `slot` (null: the YAML's).
  status apply(const std::string& slot, const metadata::plugin_swap_record* r, int64_t offset);
  // The YAML's entry for a slot (generation 0), or not_found.
  result<config::plugin_entry> yaml_entry(const std::string& slot, const swap_slot& s) const;
  // The plugin loaded (replacing another library of its id), checked
  // against the slot (category, assignor name, codec id, authenticator id)
  // and made: for a validation and for every broker's apply.
  result<std::shared_ptr<plugin::instance>> make(const std::string& slot, const swap_slot& s,
                                                 const config::plugin_entry& e);
  // make, then the category's smoke call (in the child of `validate`, and
  // nowhere else).
  status make_and_smoke(const std::string& slot, const swap_slot& s, const config::plugin_entry& e,
                        std::string& sha256);
  // Runs make_and_smoke in a child process: the refusal, or the library's
  // SHA-256.
  result<std::string> validate(const std::string& slot, const swap_slot& s, const config::plugin_entry& e);

  node& n_;
  metadata::metadata_store* store_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  bool dirty_ = false;
  std::thread worker_;
  config::broker_config yaml_;  // under mu_
  struct applied {
    int64_t generation = 0;  // the cluster's generation running here (0: the YAML's)
    bool canary = false;
    std::string problem;  // why the cluster's generation does not run here
  };
  std::map<std::string, applied> applied_;  // by slot, under mu_
};

}  // namespace mosaic::app

// The assignors the group coordinator can use, one hot-swappable slot per
// assignor name ("uniform", "range"): a swap publishes a new generation and
// the next rebalance uses it.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "kernel/base/status.h"
#include "kernel/plugin/slot.h"
#include "mosaic/abi/assignor.h"
#include "mosaic/sdk/assignor_host.h"

namespace mosaic::plugin {

using assignor_slot = slot<mosaic_assignor_vtable_v1>;

class assignor_set {
 public:
  // Publishes an assignor instance in the slot of its name (a swap if the
  // slot had one). Returns the generation number.
  result<uint64_t> install(std::shared_ptr<instance> inst);
  bool has(const std::string& name) const;
  // The generation the named assignor's slot runs now (0: none).
  uint64_t generation(const std::string& name) const;
  // The default assignor of consumer groups whose members name none, as a
  // cluster swap of slot "group.consumer.assignor" set it ("": the first
  // of group.consumer.assignors).
  void set_default(std::string name);
  std::string default_name() const;
  std::vector<std::string> names() const;
  // Runs the named assignor on `in`; the answer is checked (see
  // sdk::call_assignor; `shared` for a share group). The plugin id that
  // served the call is in `served_by`.
  result<sdk::assignor_outcome> run(const std::string& name, const sdk::assignor_input& in,
                                    std::string* served_by = nullptr, bool shared = false) const;
  // Each assignor's calls, as slot "assignor.<name>".
  void visit(const meter_visitor& fn) const;

 private:
  mutable std::mutex mu_;  // guards the map; the slots guard themselves
  std::map<std::string, std::unique_ptr<assignor_slot>> slots_;
  std::string default_;
};

}  // namespace mosaic::plugin

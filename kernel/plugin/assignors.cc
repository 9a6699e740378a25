#include "kernel/plugin/assignors.h"

namespace mosaic::plugin {

result<uint64_t> assignor_set::install(std::shared_ptr<instance> inst) {
  if (inst->factory().category != MOSAIC_CATEGORY_ASSIGNOR)
    return status(errc::invalid_argument, std::string("'") + inst->factory().name + "' is not an assignor");
  const std::string name = static_cast<const mosaic_assignor_vtable_v1*>(inst->vtable())->assignor_name;
  assignor_slot* s = nullptr;
  {
    std::lock_guard g(mu_);
    auto& p = slots_[name];
    if (!p) p = std::make_unique<assignor_slot>();
    s = p.get();
  }
  return s->publish(std::move(inst));
}

bool assignor_set::has(const std::string& name) const {
  std::lock_guard g(mu_);
  auto it = slots_.find(name);
  return it != slots_.end() && it->second->current() != nullptr;
}

uint64_t assignor_set::generation(const std::string& name) const {
  std::lock_guard g(mu_);
  auto it = slots_.find(name);
  if (it == slots_.end()) return 0;
  auto gen = it->second->current();
  return gen ? gen->number : 0;
}

void assignor_set::set_default(std::string name) {
  std::lock_guard g(mu_);
  default_ = std::move(name);
}

std::string assignor_set::default_name() const {
  std::lock_guard g(mu_);
  return default_;
}

std::vector<std::string> assignor_set::names() const {
  std::lock_guard g(mu_);
  std::vector<std::string> out;
  for (const auto& [name, s] : slots_)
    if (s->current()) out.push_back(name);
  return out;
}

result<sdk::assignor_outcome> assignor_set::run(const std::string& name, const sdk::assignor_input& in,
                                                std::string* served_by, bool shared) const {
  assignor_slot::generation_ptr gen;
  {
    std::lock_guard g(mu_);
    auto it = slots_.find(name);
    if (it != slots_.end()) gen = it->second->current();
  }
  if (!gen) return status(errc::not_found, "no assignor named '" + name + "' is loaded");
  if (served_by != nullptr) *served_by = gen->inst->factory().name;
  const auto began = call_meter::start();
  auto out = sdk::call_assignor(gen->vt(), gen->handle, in, shared);
  gen->meter.done(began, out.ok());
  return out;
}

void assignor_set::visit(const meter_visitor& fn) const {
  std::vector<std::pair<std::string, const assignor_slot*>> all;
  {
    std::lock_guard g(mu_);
    for (const auto& [name, s] : slots_) all.emplace_back(name, s.get());
  }
  for (const auto& [name, s] : all) s->visit("assignor." + name, fn);
}

}  // namespace mosaic::plugin

#include "kernel/plugin/interceptors.h"

#include <algorithm>

namespace mosaic::plugin {

std::vector<uint64_t> interceptor_set::set(std::vector<entry> entries) {
  std::shared_ptr<const list> before;
  {
    std::lock_guard g(mu_);
    before = list_;
  }
  auto next = std::make_shared<list>();
  std::vector<uint64_t> generations;
  for (size_t i = 0; i < entries.size(); ++i) {
    auto& e = entries[i];
    auto p = std::make_shared<placed>();
    p->topics = std::move(e.topics);
    p->prefixes = std::move(e.prefixes);
    p->plugin = e.inst->factory().name;
    if (i < before->size() && (*before)[i]->plugin == p->plugin)
      p->slot = (*before)[i]->slot;  // the same plugin in the same place: its next generation
    else
      p->slot = std::make_shared<interceptor_slot>();
    generations.push_back(p->slot->publish(std::move(e.inst)));
    next->push_back(std::move(p));
  }
  const bool any = !next->empty();
  {
    std::lock_guard g(mu_);
    list_ = std::move(next);
  }
  any_.store(any, std::memory_order_release);
  return generations;
}

result<uint64_t> interceptor_set::swap(size_t index, std::shared_ptr<instance> inst) {
  std::shared_ptr<const list> l;
  {
    std::lock_guard g(mu_);
    l = list_;
  }
  if (index >= l->size())
    return status(errc::not_found, "there is no interceptor " + std::to_string(index) + " (plugins.interceptors has " +
                                       std::to_string(l->size()) + ")");
  return (*l)[index]->slot->publish(std::move(inst));
}

interceptor_set::chain interceptor_set::chain_for(std::string_view topic) const {
  chain c;
  if (!any()) return c;
  std::shared_ptr<const list> l;
  {
    std::lock_guard g(mu_);
    l = list_;
  }
  for (size_t i = 0; i < l->size(); ++i) {
    const placed& p = *(*l)[i];
    const bool named = std::find(p.topics.begin(), p.topics.end(), topic) != p.topics.end();
    const bool prefixed = std::any_of(p.prefixes.begin(), p.prefixes.end(),
                                      [&](const std::string& pre) { return topic.substr(0, pre.size()) == pre; });
    if (!named && !prefixed) continue;
    auto gen = p.slot->current();
    if (!gen) continue;
    c.reads_records = c.reads_records || (gen->vt().flags & MOSAIC_INTERCEPTOR_READS_RECORDS) != 0;
    c.links.push_back(link{std::move(gen), i});
  }
  return c;
}

size_t interceptor_set::size() const {
  std::lock_guard g(mu_);
  return list_->size();
}

void interceptor_set::visit(const meter_visitor& fn) const {
  std::shared_ptr<const list> l;
  {
    std::lock_guard g(mu_);
    l = list_;
  }
  for (size_t i = 0; i < l->size(); ++i) (*l)[i]->slot->visit("interceptor." + std::to_string(i), fn);
}

}  // namespace mosaic::plugin

// A small thread-safe pool of expensive per-call objects (compression
// contexts, say), so that a shared plugin instance can serve concurrent
// callers without allocating a context per call. Holds at most `max_idle`
// idle objects; more concurrent users each get a fresh one that is freed
// afterwards.
#pragma once

#include <cstddef>
#include <mutex>
#include <new>
#include <vector>

namespace mosaic::sdk {

template <class T>
class object_pool {
 public:
  using create_fn = T* (*)();
  using destroy_fn = void (*)(T*);

  class lease {
   public:
    lease(object_pool* pool, T* obj) : pool_(pool), obj_(obj) {}
    lease(const lease&) = delete;
    lease& operator=(const lease&) = delete;
    ~lease() {
      if (obj_ != nullptr) pool_->release(obj_);
    }
    T* get() const noexcept { return obj_; }
    // Drops the object instead of returning it (after an error left it in
    // an unknown state).
    void discard() noexcept {
      pool_->destroy_(obj_);
      obj_ = nullptr;
    }

   private:
    object_pool* pool_;
    T* obj_;
  };

  object_pool(create_fn create, destroy_fn destroy, size_t max_idle = 16)
      : create_(create), destroy_(destroy), max_idle_(max_idle) {
    idle_.reserve(max_idle);  // so that release never allocates
  }
  object_pool(const object_pool&) = delete;
  object_pool& operator=(const object_pool&) = delete;
  ~object_pool() {
    for (T* obj : idle_) destroy_(obj);
  }

  lease acquire() {
    {
      std::lock_guard lock(mu_);
      if (!idle_.empty()) {
        T* obj = idle_.back();
        idle_.pop_back();
        return lease(this, obj);
      }
    }
    T* obj = create_();
    if (obj == nullptr) throw std::bad_alloc();
    return lease(this, obj);
  }

 private:
  void release(T* obj) {
    {
      std::lock_guard lock(mu_);
      if (idle_.size() < max_idle_) {
        idle_.push_back(obj);
        return;
      }
    }
    destroy_(obj);
  }

  create_fn create_;
  destroy_fn destroy_;
  size_t max_idle_;
  std::mutex mu_;
  std::vector<T*> idle_;
};

}  // namespace mosaic::sdk

#pragma once
// Cooperative stop and pause for long work. The worker calls checkpoint() between batches:
// it blocks while paused and throws Cancelled once a stop was requested. Any thread (a signal
// handler through requestStop's lock-free path, the GUI) may request.
#include <atomic>
#include <condition_variable>
#include <mutex>

#include "common/errors.h"

namespace rr::core {

class RunControl {
 public:
  // Async-signal-safe: only touches an atomic flag (the waiter polls it while paused).
  void requestStop() { m_stop.store(true); }
  bool stopRequested() const { return m_stop.load(); }

  void setPaused(bool paused) {
    {
      std::lock_guard<std::mutex> lock(m_mutex);
      m_paused = paused;
    }
    m_cv.notify_all();
  }
  bool paused() const {
    std::lock_guard<std::mutex> lock(m_mutex);
    return m_paused;
  }

  void checkpoint() {
    std::unique_lock<std::mutex> lock(m_mutex);
    while (m_paused && !m_stop.load()) m_cv.wait_for(lock, std::chrono::milliseconds(100));
    lock.unlock();
    if (m_stop.load()) throw Cancelled();
  }

 private:
  std::atomic<bool> m_stop{false};
  mutable std::mutex m_mutex;
  std::condition_variable m_cv;
  bool m_paused = false;
};

}  // namespace rr::core

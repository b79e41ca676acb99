// Shared helpers of the C++ wrapper's tests: a deadline wait, a recorder of lines
// and events, and a check that a pid has been reaped.
#ifndef PROCMON_CPP_TESTS_HELPERS_HPP
#define PROCMON_CPP_TESTS_HELPERS_HPP

#include <procmon.hpp>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <sys/types.h>

namespace helpers {

using namespace std::chrono_literals;

// Polls `done` until it holds or the deadline passes; returns its last value.
template <class Pred>
bool wait_for(Pred&& done, std::chrono::milliseconds timeout = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return done();
    std::this_thread::sleep_for(2ms);
  }
  return true;
}

// True once `pid` is gone for good: exited and reaped (a zombie still answers kill).
inline bool reaped(std::int32_t pid) { return kill(pid, 0) == -1 && errno == ESRCH; }

struct Line {
  std::string name;
  procmonpp::Stream stream;
  std::string text;
};

// procmonpp::Event with its name copied, so it outlives the callback.
struct Event {
  procmonpp::EventKind kind;
  std::string name;
  std::int32_t pid, exit_code, signal, error;
  double uptime, delay;
  std::uint32_t flags;
};

// Records every line and event of a monitor; create it before the Monitor so it
// outlives the monitor's last callback.
class Recorder {
 public:
  void attach(procmonpp::Monitor& monitor) {
    monitor.on_line([this](std::string_view name, procmonpp::Stream stream, std::string_view text) {
      std::lock_guard<std::mutex> lock(mutex_);
      lines_.push_back({std::string(name), stream, std::string(text)});
    });
    monitor.on_event([this](const procmonpp::Event& e) {
      std::lock_guard<std::mutex> lock(mutex_);
      events_.push_back({e.kind, std::string(e.name), e.pid, e.exit_code, e.signal, e.error,
                         e.uptime.count(), e.delay.count(), e.flags});
    });
  }

  std::vector<Line> lines(const std::string& name) const {
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<Line> out;
    for (const Line& l : lines_)
      if (l.name == name) out.push_back(l);
    return out;
  }

  std::vector<Event> events(const std::string& name, procmonpp::EventKind kind) const {
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<Event> out;
    for (const Event& e : events_)
      if (e.name == name && e.kind == kind) out.push_back(e);
    return out;
  }

  std::size_t count(const std::string& name, procmonpp::EventKind kind) const {
    return events(name, kind).size();
  }

 private:
  mutable std::mutex mutex_;
  std::vector<Line> lines_;
  std::vector<Event> events_;
};

// A monitor with quick settings: restarts after 50 ms, KILL after 2 s.
inline procmonpp::Monitor quick_monitor() {
  procmonpp::Monitor monitor;
  monitor.set_min_restart_delay(50ms);
  monitor.set_kill_time(2s);
  return monitor;
}

// argv running a shell script.
inline std::vector<std::string> sh(std::string script) { return {"sh", "-c", std::move(script)}; }

}  // namespace helpers

#endif  // PROCMON_CPP_TESTS_HELPERS_HPP

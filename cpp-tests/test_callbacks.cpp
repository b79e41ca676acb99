// Callbacks: calling back into the API, replacing a callback (from inside itself and
// from another thread), exceptions thrown by a callback, destroying the monitor
// from inside its own callback.
#include "helpers.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <stdexcept>

using namespace helpers;
using procmonpp::EventKind;

namespace {

// Sets a flag when destroyed. Captured through a shared_ptr by a callback and by
// nothing else, it tells when the std::function holding it was destroyed.
struct Sentinel {
  explicit Sentinel(std::atomic<bool>& flag) : destroyed(flag) {}
  Sentinel(const Sentinel&) = delete;
  Sentinel& operator=(const Sentinel&) = delete;
  ~Sentinel() { destroyed = true; }
  std::atomic<bool>& destroyed;
};

}  // namespace

TEST(Callbacks, CanCallBackIntoTheApi) {
  struct Seen {
    std::atomic<bool> done{false};
    std::int32_t event_pid = 0, api_pid = 0;
    procmonpp::State state = procmonpp::State::stopped;
    std::string description;
    std::error_code missing;
  } seen;
  procmonpp::Monitor monitor = quick_monitor();
  monitor.on_event([&](const procmonpp::Event& e) {
    if (e.kind != EventKind::started || seen.done) return;
    seen.event_pid = e.pid;
    seen.api_pid = monitor.pid(std::string(e.name));
    seen.state = monitor.info(std::string(e.name)).state;
    seen.description = monitor.describe();
    monitor.pid("nobody", seen.missing);
    monitor.add_process("guest", sh("exec sleep 60"));  // spawns from the callback thread
    seen.done = true;
  });
  monitor.add_process("host", sh("exec sleep 60"));
  ASSERT_TRUE(wait_for([&] { return seen.done.load(); }));
  EXPECT_GT(seen.event_pid, 0);
  EXPECT_EQ(seen.api_pid, seen.event_pid);
  EXPECT_EQ(seen.state, procmonpp::State::running);
  EXPECT_EQ(seen.description, "<ProcessMonitor 'host': ['sh', '-c', 'exec sleep 60']>");
  EXPECT_EQ(seen.missing, procmonpp::errc::not_found);
  EXPECT_GT(monitor.pid("guest"), 0);
}

TEST(Callbacks, ReplacingItselfFromInsideDefersDestruction) {
  std::mutex mutex;
  std::vector<std::string> first_saw, second_saw;
  std::atomic<bool> alive_after_replacing{false}, destroyed{false};

  procmonpp::Monitor monitor = quick_monitor();
  procmonpp::LineHandler second = [&](std::string_view, procmonpp::Stream, std::string_view line) {
    std::lock_guard<std::mutex> lock(mutex);
    second_saw.emplace_back(line);
  };
  monitor.on_line([&, second, sentinel = std::make_shared<Sentinel>(destroyed)](
                      std::string_view, procmonpp::Stream, std::string_view line) {
    monitor.on_line(second);  // replaces the function running right now
    // This very function (and the sentinel it holds) must still be alive here.
    alive_after_replacing = !sentinel->destroyed;
    std::lock_guard<std::mutex> lock(mutex);
    first_saw.emplace_back(line);
  });
  monitor.add_process("talker", sh("echo 1; echo 2; echo 3; exec sleep 60"));
  ASSERT_TRUE(wait_for([&] {
    std::lock_guard<std::mutex> lock(mutex);
    return second_saw.size() == 2;
  }));
  std::lock_guard<std::mutex> lock(mutex);
  EXPECT_EQ(first_saw, std::vector<std::string>{"1"});
  EXPECT_EQ(second_saw, (std::vector<std::string>{"2", "3"}));
  EXPECT_TRUE(alive_after_replacing);
  EXPECT_TRUE(destroyed);  // ... and destroyed once it had returned
}

TEST(Callbacks, ReplacingFromOutsideWaitsForTheCallInProgress) {
  std::atomic<bool> entered{false}, finished{false}, saw_itself_destroyed{false};
  std::atomic<bool> destroyed{false};
  procmonpp::Monitor monitor = quick_monitor();
  monitor.on_line([&, sentinel = std::make_shared<Sentinel>(destroyed)](
                      std::string_view, procmonpp::Stream, std::string_view) {
    if (entered.exchange(true)) return;
    // Stay inside long enough for the setter below to reach its wait; the test
    // does not rely on the timing, only the chance of catching a bug does.
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    saw_itself_destroyed = sentinel->destroyed.load();
    finished = true;
  });
  monitor.add_process("talker", sh("echo 1; exec sleep 60"));
  ASSERT_TRUE(wait_for([&] { return entered.load(); }));
  monitor.on_line({});  // clears it: waits for the call in progress, then destroys it
  EXPECT_TRUE(finished);
  EXPECT_FALSE(saw_itself_destroyed);
  EXPECT_TRUE(destroyed);
}

TEST(Callbacks, ExceptionsAreCaughtAndKept) {
  std::atomic<int> calls{0};
  procmonpp::Monitor monitor = quick_monitor();
  monitor.on_line([&](std::string_view, procmonpp::Stream, std::string_view line) {
    ++calls;
    throw std::runtime_error("bad line " + std::string(line));
  });
  monitor.on_event([](const procmonpp::Event& e) {
    if (e.kind == EventKind::started) throw 42;  // not even a std::exception
  });
  monitor.add_process("thrower", sh("echo a; echo b; echo c; exec sleep 60"));
  // Still called after throwing: STARTED and the three lines each threw once.
  ASSERT_TRUE(wait_for([&] { return calls == 3 && monitor.callback_exception_count() == 4u; }));
  std::exception_ptr first = monitor.take_callback_exception();
  ASSERT_NE(first, nullptr);
  EXPECT_THROW(std::rethrow_exception(first), int);  // STARTED came first
  EXPECT_EQ(monitor.take_callback_exception(), nullptr);  // taken
  EXPECT_GT(monitor.pid("thrower"), 0);  // the monitor works on

  monitor.stop_process("thrower");  // STARTED of the next run throws again
  ASSERT_TRUE(wait_for([&] { return monitor.callback_exception_count() >= 5u; }));
  EXPECT_NE(monitor.take_callback_exception(), nullptr);
}

TEST(Callbacks, DestroyingTheMonitorFromItsOwnCallback) {
  auto monitor = std::make_unique<procmonpp::Monitor>(quick_monitor());
  std::atomic<std::int32_t> pid{0};
  std::atomic<bool> destroyed{false};
  std::unique_ptr<procmonpp::Monitor>* owner = &monitor;
  monitor->on_line([owner, &pid, &destroyed](std::string_view, procmonpp::Stream, std::string_view) {
    if (destroyed) return;
    pid = (*owner)->pid("child");
    owner->reset();  // does not block; the monitor is freed after this call
    destroyed = true;
  });
  monitor->add_process("child", sh("echo go; exec sleep 60"));
  ASSERT_TRUE(wait_for([&] { return destroyed.load(); }));
  EXPECT_GT(pid.load(), 0);
  EXPECT_TRUE(wait_for([&] { return reaped(pid); })) << pid;
}

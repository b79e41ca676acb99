// Restarts with backoff, stop and remove, the service, the destructor and moves.
#include "helpers.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

using namespace helpers;
using procmonpp::EventKind;

namespace {

// True once `pid` is gone or a zombie: for a grandchild, which its reaper (not us)
// collects whenever it likes.
bool dead(std::int32_t pid) {
  if (reaped(pid)) return true;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string all((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  const auto paren = all.rfind(')');
  return paren == std::string::npos || all.compare(paren + 1, 3, " Z ") == 0;
}

}  // namespace

TEST(Restart, InstantDeathsBackOffDoubling) {
  Recorder rec;
  procmonpp::Monitor monitor = quick_monitor();  // min restart delay 50 ms
  monitor.set_max_restart_delay(std::chrono::seconds(10));
  rec.attach(monitor);
  monitor.add_process("crasher", sh("exit 3"));
  ASSERT_TRUE(wait_for([&] { return rec.count("crasher", EventKind::restart_scheduled) >= 4; }));
  monitor.remove_process("crasher");

  const auto scheduled = rec.events("crasher", EventKind::restart_scheduled);
  EXPECT_NEAR(scheduled[0].delay, 0.05, 1e-9);
  for (std::size_t i = 1; i < 4; ++i) EXPECT_NEAR(scheduled[i].delay, 2 * scheduled[i - 1].delay, 1e-9);
  const auto exits = rec.events("crasher", EventKind::exited);
  ASSERT_GE(exits.size(), 4u);
  for (const auto& e : exits) {
    EXPECT_EQ(e.exit_code, 3);
    EXPECT_EQ(e.signal, 0);
  }
  EXPECT_GE(rec.count("crasher", EventKind::started), 4u);
}

TEST(Restart, StopProcessTermsAndRestartsIt) {
  Recorder rec;
  procmonpp::Monitor monitor = quick_monitor();
  rec.attach(monitor);
  monitor.add_process("sleeper", sh("exec sleep 60"));
  const std::int32_t first = monitor.pid("sleeper");
  ASSERT_GT(first, 0);
  monitor.stop_process("sleeper");
  ASSERT_TRUE(wait_for([&] { return rec.count("sleeper", EventKind::started) == 2; }));
  const auto exits = rec.events("sleeper", EventKind::exited);
  ASSERT_EQ(exits.size(), 1u);
  EXPECT_EQ(exits[0].pid, first);
  EXPECT_EQ(exits[0].signal, SIGTERM);
  EXPECT_EQ(exits[0].exit_code, -1);
  EXPECT_TRUE(reaped(first));
  const std::int32_t second = rec.events("sleeper", EventKind::started)[1].pid;
  EXPECT_NE(second, first);
  EXPECT_EQ(monitor.pid("sleeper"), second);
  EXPECT_EQ(monitor.info("sleeper").starts, 2u);
  EXPECT_EQ(monitor.info("sleeper").last_signal, SIGTERM);
}

TEST(Remove, StopsForgetsAndAllowsAddingAgain) {
  Recorder rec;
  procmonpp::Monitor monitor = quick_monitor();
  rec.attach(monitor);
  monitor.add_process("temp", sh("exec sleep 60"));
  const std::int32_t pid = monitor.pid("temp");
  monitor.remove_process("temp");
  std::error_code ec;
  monitor.pid("temp", ec);
  EXPECT_EQ(ec, procmonpp::errc::not_found);
  EXPECT_EQ(monitor.describe(), "<ProcessMonitor >");  // the seed's repr, exactly
  ASSERT_TRUE(wait_for([&] { return rec.count("temp", EventKind::exited) == 1; }));
  EXPECT_TRUE(reaped(pid));

  monitor.add_process("temp", sh("exec sleep 60"));  // the name is free again
  EXPECT_GT(monitor.pid("temp"), 0);
  EXPECT_NE(monitor.pid("temp"), pid);
}

TEST(Service, StopAndStart) {
  Recorder rec;
  procmonpp::Monitor monitor = quick_monitor();
  rec.attach(monitor);
  monitor.add_process("a", sh("exec sleep 60"));
  monitor.stop();
  ASSERT_TRUE(wait_for([&] { return rec.count("a", EventKind::exited) == 1; }));
  ASSERT_TRUE(wait_for([&] { return monitor.info("a").state == procmonpp::State::stopped; }));
  monitor.add_process("b", sh("exec sleep 60"));  // registered, not spawned
  EXPECT_EQ(monitor.pid("b"), 0);
  EXPECT_EQ(rec.count("a", EventKind::started), 1u);
  monitor.start();
  EXPECT_GT(monitor.pid("a"), 0);
  EXPECT_GT(monitor.pid("b"), 0);
  monitor.restart_all();
  ASSERT_TRUE(wait_for([&] {
    return rec.count("a", EventKind::started) == 3 && rec.count("b", EventKind::started) == 2;
  }));
}

TEST(Destructor, LeavesNoChildBehind) {
  Recorder rec;
  std::vector<std::int32_t> pids;
  std::int32_t grandchild = 0;
  {
    procmonpp::Monitor monitor = quick_monitor();
    monitor.set_kill_time(std::chrono::milliseconds(300));
    rec.attach(monitor);
    monitor.add_process("plain", sh("exec sleep 60"));
    monitor.add_process("loop", sh("while :; do sleep 1; done"));
    // Ignores TERM, and so does its own child: only KILL of the group ends both.
    procmonpp::ProcessOptions group;
    group.stop_process_group = true;
    monitor.add_process("stubborn", sh("trap '' TERM; sleep 60 & echo $!; wait"), group);
    ASSERT_TRUE(wait_for([&] { return rec.lines("stubborn").size() == 1; }));
    grandchild = std::stoi(rec.lines("stubborn")[0].text);
    for (const char* name : {"plain", "loop", "stubborn"}) pids.push_back(monitor.pid(name));
    for (std::int32_t pid : pids) ASSERT_GT(pid, 0);
  }  // ~Monitor: TERM, KILL after 300 ms, reap
  for (std::int32_t pid : pids) EXPECT_TRUE(reaped(pid)) << pid;
  EXPECT_EQ(rec.count("stubborn", EventKind::killed), 1u);
  EXPECT_EQ(rec.events("stubborn", EventKind::exited).at(0).signal, SIGKILL);
  EXPECT_TRUE(wait_for([&] { return dead(grandchild); })) << grandchild;
}

TEST(Move, MovedFromIsInertAndMovedToWorks) {
  Recorder rec;
  procmonpp::Monitor a = quick_monitor();
  rec.attach(a);
  a.add_process("x", sh("exec sleep 60"));
  const std::int32_t px = a.pid("x");

  procmonpp::Monitor b(std::move(a));
  EXPECT_FALSE(a.valid());  // NOLINT: inspecting the moved-from object is the point
  EXPECT_TRUE(b.valid());
  EXPECT_EQ(a.native_handle(), nullptr);
  EXPECT_EQ(b.pid("x"), px);

  // Every operation of the moved-from monitor fails cleanly.
  std::error_code ec;
  a.add_process("y", sh("true"), ec);
  EXPECT_EQ(ec, procmonpp::errc::invalid);
  EXPECT_EQ(a.pid("x", ec), 0);
  EXPECT_EQ(ec, procmonpp::errc::invalid);
  EXPECT_THROW(a.stop_process("x"), procmonpp::Error);
  EXPECT_THROW(a.describe(), procmonpp::Error);
  EXPECT_THROW(a.on_line({}), procmonpp::Error);
  EXPECT_THROW(a.set_threshold(std::chrono::seconds(1)), procmonpp::Error);
  EXPECT_EQ(a.take_callback_exception(), nullptr);

  // The callbacks moved along: b's events still reach the recorder.
  b.stop_process("x");
  ASSERT_TRUE(wait_for([&] { return rec.count("x", EventKind::started) == 2; }));

  // Move-assigning onto a live monitor frees it: its child is reaped at once.
  procmonpp::Monitor c = quick_monitor();
  c.add_process("y", sh("exec sleep 60"));
  const std::int32_t py = c.pid("y");
  c = std::move(b);
  EXPECT_TRUE(reaped(py));
  EXPECT_FALSE(b.valid());  // NOLINT
  EXPECT_GT(c.pid("x"), 0);
  a = std::move(c);  // back into the first one
  EXPECT_GT(a.pid("x"), 0);
  EXPECT_FALSE(c.valid());  // NOLINT
}  // a frees the monitor once; b and c are empty: no double free

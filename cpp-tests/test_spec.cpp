// procmonpp::Spec and Monitor::add / signal_process: 0.2's per-process settings
// from C++, on real processes.
#include "helpers.hpp"

#include <gtest/gtest.h>

#include <sys/resource.h>

using namespace helpers;
using procmonpp::EventKind;
using procmonpp::Restart;

TEST(Spec, StopSignalAndOnFailureLeaveTheProcessStopped) {
  Recorder rec;
  procmonpp::Monitor monitor = quick_monitor();
  rec.attach(monitor);
  monitor.add("int", procmonpp::Spec(sh("trap 'exit 0' INT; echo ready; while :; do sleep 0.05; done"))
                         .stop_signal(SIGINT)
                         .restart(Restart::on_failure)
                         .env_var("GREETING", "hi"));
  ASSERT_TRUE(wait_for([&] { return !rec.lines("int").empty(); }));
  monitor.stop_process("int");
  ASSERT_TRUE(wait_for([&] { return rec.count("int", EventKind::exited) == 1; }));
  const auto exited = rec.events("int", EventKind::exited)[0];
  EXPECT_EQ(exited.exit_code, 0);
  EXPECT_EQ(exited.flags, procmonpp::exit_flags::expected | procmonpp::exit_flags::requested);
  ASSERT_TRUE(wait_for([&] { return monitor.info("int").state == procmonpp::State::stopped; }));
}

TEST(Spec, SignalProcessReachesTheChild) {
  Recorder rec;
  procmonpp::Monitor monitor = quick_monitor();
  rec.attach(monitor);
  monitor.add("hup", procmonpp::Spec(sh("trap 'echo hup' HUP; echo ready; while :; do sleep 0.05; done")));
  ASSERT_TRUE(wait_for([&] { return rec.lines("hup").size() == 1; }));
  monitor.signal_process("hup", SIGHUP);
  ASSERT_TRUE(wait_for([&] { return rec.lines("hup").size() == 2; }));
  EXPECT_EQ(rec.lines("hup")[1].text, "hup");
  std::error_code ec;
  monitor.signal_process("nobody", SIGHUP, false, ec);
  EXPECT_EQ(ec, procmonpp::errc::not_found);
}

TEST(Spec, StartLimitGivesUp) {
  Recorder rec;
  procmonpp::Monitor monitor = quick_monitor();
  rec.attach(monitor);
  monitor.add("flaky", procmonpp::Spec(sh("exit 1"))
                           .restart_delays(std::chrono::seconds(0), std::chrono::seconds(0))
                           .start_limit(2, std::chrono::seconds(60)));
  ASSERT_TRUE(wait_for([&] { return rec.count("flaky", EventKind::gave_up) == 1; }));
  EXPECT_EQ(monitor.info("flaky").state, procmonpp::State::failed);
  EXPECT_EQ(rec.count("flaky", EventKind::started), 2u);
}

TEST(Spec, ContainmentStopsTheWholeUnit) {
  Recorder rec;
  procmonpp::Monitor monitor = quick_monitor();
  std::vector<std::optional<procmonpp::Containment>> modes;
  std::mutex mu;
  monitor.on_event([&](const procmonpp::Event& e) {
    std::lock_guard<std::mutex> lock(mu);
    if (e.kind == EventKind::started) modes.push_back(e.containment);
  });
  monitor.add("family", procmonpp::Spec(sh("sleep 1000 & echo $!; wait"))
                            .containment(procmonpp::Containment::group));
  ASSERT_TRUE(wait_for([&] { std::lock_guard<std::mutex> l(mu); return modes.size() == 1; }));
  EXPECT_EQ(modes[0], procmonpp::Containment::group);
  monitor.stop();
  ASSERT_TRUE(wait_for([&] { return monitor.info("family").state == procmonpp::State::stopped; }));
  try {
    monitor.set_cgroup_root("relative/path");
    FAIL() << "no exception";
  } catch (const procmonpp::Error& e) {
    EXPECT_NE(std::string(e.what()).find("absolute"), std::string::npos) << e.what();
  }
}

TEST(Spec, BadValuesThrowNamingTheSetting) {
  procmonpp::Spec spec(sh("true"));
  try {
    spec.stop_signal(SIGKILL);
    FAIL() << "no exception";
  } catch (const procmonpp::Error& e) {
    EXPECT_EQ(e.code(), procmonpp::errc::invalid);
    EXPECT_NE(std::string(e.what()).find("SIGKILL"), std::string::npos) << e.what();
  }
  EXPECT_THROW(spec.restart(static_cast<Restart>(7)), procmonpp::Error);
  EXPECT_THROW(spec.restart_delays(std::chrono::seconds(2), std::chrono::seconds(1)), procmonpp::Error);
  EXPECT_THROW(spec.rlimit(RLIMIT_NOFILE, 2, 1), procmonpp::Error);
  EXPECT_THROW(spec.env_var("A=B", "x"), procmonpp::Error);
  EXPECT_THROW(procmonpp::Spec(std::vector<std::string>{}), procmonpp::Error);
  spec.rlimit(RLIMIT_NOFILE, 64, 64).success_exit_codes({0, 3}).kill_time(std::chrono::seconds(1));
}

TEST(Spec, AddManyStartsEveryChildByTheTimeItReturns) {
  Recorder rec;
  procmonpp::Monitor monitor = quick_monitor();
  rec.attach(monitor);
  procmonpp::Spec sleeper({"/bin/sleep", "60"});
  sleeper.containment(procmonpp::Containment::none);
  procmonpp::Spec other({"/bin/sleep", "61"});
  std::vector<std::string> names;
  for (int i = 0; i < 20; i++) names.push_back("s" + std::to_string(i));
  monitor.add_many(names, sleeper);
  monitor.add_many({{"x", other}, {"y", sleeper}});
  monitor.add_many(std::vector<procmonpp::Monitor::Entry>{});  // nothing
  names.push_back("x");
  names.push_back("y");
  for (const auto& name : names) {
    const auto info = monitor.info(name);
    EXPECT_EQ(info.state, procmonpp::State::running) << name;
    EXPECT_GT(info.pid, 0) << name;
  }
  for (const auto& name : names)
    ASSERT_TRUE(wait_for([&] { return rec.count(name, EventKind::started) == 1; })) << name;
}

TEST(Spec, AddManyIsAllOrNothing) {
  procmonpp::Monitor monitor = quick_monitor();
  procmonpp::Spec spec({"/bin/sleep", "60"});
  monitor.add("web", spec);
  try {
    monitor.add_many({"a", "b", "web"}, spec);
    FAIL() << "no exception";
  } catch (const procmonpp::Error& e) {
    EXPECT_EQ(e.code(), procmonpp::errc::exists);
    EXPECT_NE(std::string(e.what()).find("names[2]"), std::string::npos) << e.what();
  }
  std::error_code ec;
  monitor.add_many({"c", "c"}, spec, ec);
  EXPECT_EQ(ec, procmonpp::errc::exists);
  monitor.add_many({"d", std::string("e\0f", 3)}, spec, ec);
  EXPECT_EQ(ec, procmonpp::errc::invalid);
  EXPECT_NE(procmonpp::last_error().find("names[1]"), std::string::npos) << procmonpp::last_error();
  for (const char* name : {"a", "b", "c", "d"}) {
    monitor.pid(name, ec);
    EXPECT_EQ(ec, procmonpp::errc::not_found) << name;
  }
}

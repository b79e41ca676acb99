// procmonpp::Spec::readiness / watchdog / after, Monitor::report_unhealthy,
// EventKind::ready and State::starting, on real processes.
#include "helpers.hpp"

#include <gtest/gtest.h>

using namespace helpers;
using procmonpp::EventKind;
using procmonpp::Readiness;
using procmonpp::State;

TEST(Readiness, NotifyFdStartsAfterAndWatchdogRestarts) {
  Recorder rec;
  procmonpp::Monitor monitor = quick_monitor();
  rec.attach(monitor);
  // The api waits for the db: STARTING with pid 0.
  monitor.add("api", procmonpp::Spec(sh("while :; do sleep 0.05; done")).after({"db"}));
  EXPECT_EQ(monitor.info("api").state, State::starting);
  EXPECT_EQ(monitor.info("api").pid, 0);
  // The db is ready on its first line to fd 4, pings twice, then goes silent.
  monitor.add("db", procmonpp::Spec(sh("sleep 0.2; echo >&4; sleep 0.1; echo >&4; echo >&4; "
                                       "while :; do sleep 0.05; done"))
                        .readiness(Readiness::notify_fd, "4")
                        .watchdog(std::chrono::milliseconds(500)));
  ASSERT_TRUE(wait_for([&] { return rec.count("api", EventKind::ready) == 1; }));
  EXPECT_EQ(rec.count("db", EventKind::ready), 1u);
  // The db misses its watchdog: stopped, flagged, restarted.
  ASSERT_TRUE(wait_for([&] { return rec.count("db", EventKind::started) == 2; }));
  const auto exited = rec.events("db", EventKind::exited)[0];
  EXPECT_EQ(exited.flags & procmonpp::exit_flags::watchdog, procmonpp::exit_flags::watchdog);
  EXPECT_EQ(monitor.info("api").state, State::running);
}

TEST(Readiness, ReportUnhealthyAndBadValues) {
  Recorder rec;
  procmonpp::Monitor monitor = quick_monitor();
  rec.attach(monitor);
  monitor.add("w", procmonpp::Spec(sh("while :; do sleep 0.05; done")));
  ASSERT_TRUE(wait_for([&] { return rec.count("w", EventKind::ready) == 1; }));
  monitor.report_unhealthy("w");
  ASSERT_TRUE(wait_for([&] { return rec.count("w", EventKind::started) == 2; }));
  std::error_code ec;
  monitor.report_unhealthy("nobody", ec);
  EXPECT_EQ(ec, procmonpp::errc::not_found);

  procmonpp::Spec spec(sh("true"));
  EXPECT_THROW(spec.readiness(Readiness::notify_fd, "1"), procmonpp::Error);
  EXPECT_THROW(spec.readiness(Readiness::line, ""), procmonpp::Error);
  try {
    spec.readiness(Readiness::notify_fd, "abc");
    FAIL() << "no exception";
  } catch (const procmonpp::Error& e) {
    EXPECT_EQ(e.code(), procmonpp::errc::invalid);
    EXPECT_NE(std::string(e.what()).find("NOTIFY_FD"), std::string::npos) << e.what();
  }
  spec.watchdog(std::chrono::seconds(1));  // refused at add: on_start cannot ping
  EXPECT_THROW(monitor.add("x", spec), procmonpp::Error);
}

// Output lines and the basics: version, describe, info.
#include "helpers.hpp"

#include <gtest/gtest.h>

using namespace helpers;
using procmonpp::EventKind;

TEST(Version, MatchesTheHeader) { EXPECT_EQ(procmonpp::version(), PROCMON_VERSION_STRING); }

TEST(Output, LinesArriveInOrderOnTheirStream) {
  Recorder rec;
  procmonpp::Monitor monitor = quick_monitor();
  rec.attach(monitor);
  monitor.add_process("counter", sh("i=1; while [ $i -le 500 ]; do echo line$i; i=$((i+1)); done;"
                                    " echo oops >&2; exec sleep 60"));
  ASSERT_TRUE(wait_for([&] { return rec.lines("counter").size() >= 501; }));
  std::vector<std::string> out, err;
  for (const Line& l : rec.lines("counter"))
    (l.stream == procmonpp::Stream::out ? out : err).push_back(l.text);
  ASSERT_EQ(out.size(), 500u);
  for (int i = 1; i <= 500; ++i) ASSERT_EQ(out[i - 1], "line" + std::to_string(i));
  ASSERT_EQ(err.size(), 1u);
  EXPECT_EQ(err[0], "oops");
}

TEST(Output, LinesWithNulBytesAreKeptWhole) {
  Recorder rec;
  procmonpp::Monitor monitor = quick_monitor();
  rec.attach(monitor);
  monitor.add_process("nul", sh("printf 'a\\000b\\n'; exec sleep 60"));
  ASSERT_TRUE(wait_for([&] { return rec.lines("nul").size() == 1; }));
  EXPECT_EQ(rec.lines("nul")[0].text, std::string("a\0b", 3));
}

TEST(Info, DescribesARunningProcess) {
  Recorder rec;
  procmonpp::Monitor monitor = quick_monitor();
  rec.attach(monitor);
  monitor.add_process("sleeper", sh("exec sleep 60"));
  const procmonpp::ProcessInfo info = monitor.info("sleeper");
  EXPECT_EQ(info.state, procmonpp::State::running);
  EXPECT_GT(info.pid, 0);
  EXPECT_EQ(info.pid, monitor.pid("sleeper"));
  EXPECT_EQ(info.starts, 1u);
  EXPECT_EQ(info.last_exit_code, -1);
  EXPECT_EQ(info.last_signal, 0);
  EXPECT_DOUBLE_EQ(info.restart_delay.count(), 0.05);
  EXPECT_EQ(monitor.describe(), "<ProcessMonitor 'sleeper': ['sh', '-c', 'exec sleep 60']>");
  ASSERT_TRUE(wait_for([&] { return rec.count("sleeper", EventKind::started) == 1; }));
  EXPECT_EQ(rec.events("sleeper", EventKind::started)[0].pid, info.pid);
}

TEST(Options, EnvCwdAndProcessGroupAreApplied) {
  Recorder rec;
  procmonpp::Monitor monitor = quick_monitor();
  rec.attach(monitor);
  procmonpp::ProcessOptions options;
  options.env = std::vector<std::string>{"GREETING=hi", "PATH=/usr/bin:/bin"};
  options.cwd = "/tmp";
  options.stop_process_group = true;
  monitor.add_process("env", sh("echo \"$GREETING $(pwd)\"; exec sleep 60"), options);
  ASSERT_TRUE(wait_for([&] { return rec.lines("env").size() == 1; }));
  EXPECT_EQ(rec.lines("env")[0].text, "hi /tmp");
}

// Errors in both styles: procmonpp::Error exceptions and std::error_code overloads.
#include "helpers.hpp"

#include <gtest/gtest.h>

#include <cstring>

using namespace helpers;
using procmonpp::errc;

namespace {

// Runs `f`, expecting a procmonpp::Error with `code` and a detail in what().
template <class F>
void expect_error(errc code, F&& f) {
  try {
    f();
    ADD_FAILURE() << "no exception; expected " << make_error_code(code).message();
  } catch (const procmonpp::Error& e) {
    EXPECT_EQ(e.code(), code) << e.what();
    EXPECT_STREQ(e.code().category().name(), "procmon");
    // what() is "<detail>: <strerror>", so longer than the strerror text alone.
    EXPECT_GT(std::strlen(e.what()), e.code().message().size() + 2) << e.what();
  }
}

// Checks a non-throwing call's result: the code, its category and a detail.
void expect_code(const std::error_code& ec, errc code) {
  EXPECT_EQ(ec, code) << ec.message();
  EXPECT_EQ(&ec.category(), &procmonpp::category());
  EXPECT_FALSE(ec.message().empty());
  EXPECT_FALSE(procmonpp::last_error().empty());
}

}  // namespace

TEST(Errors, ThrowingStyle) {
  procmonpp::Monitor monitor = quick_monitor();
  monitor.add_process("one", sh("exec sleep 60"));
  expect_error(errc::exists, [&] { monitor.add_process("one", sh("exec sleep 60")); });
  expect_error(errc::invalid, [&] { monitor.add_process("two", {}); });
  expect_error(errc::invalid, [&] { monitor.add_process("", sh("true")); });
  expect_error(errc::invalid, [&] { monitor.add_process(std::string("a\0b", 3), sh("true")); });
  expect_error(errc::not_found, [&] { monitor.stop_process("nobody"); });
  expect_error(errc::not_found, [&] { monitor.remove_process("nobody"); });
  expect_error(errc::not_found, [&] { monitor.start_process("nobody"); });
  expect_error(errc::not_found, [&] { monitor.pid("nobody"); });
  expect_error(errc::not_found, [&] { monitor.info("nobody"); });
  expect_error(errc::invalid, [&] { monitor.set_threshold(std::chrono::seconds(-1)); });
  procmonpp::ProcessOptions bad_env;
  bad_env.env = std::vector<std::string>{"NO_EQUALS_SIGN"};
  expect_error(errc::invalid, [&] { monitor.add_process("three", sh("true"), bad_env); });
  // Nothing of the failed calls was registered.
  EXPECT_EQ(monitor.describe(), "<ProcessMonitor 'one': ['sh', '-c', 'exec sleep 60']>");
}

TEST(Errors, NonThrowingStyle) {
  procmonpp::Monitor monitor = quick_monitor();
  std::error_code ec = make_error_code(errc::internal);
  monitor.add_process("one", sh("exec sleep 60"), ec);
  EXPECT_FALSE(ec) << ec.message();  // success clears it

  monitor.add_process("one", sh("exec sleep 60"), ec);
  expect_code(ec, errc::exists);
  monitor.add_process("two", {}, ec);
  expect_code(ec, errc::invalid);
  monitor.stop_process("nobody", ec);
  expect_code(ec, errc::not_found);
  monitor.remove_process("nobody", ec);
  expect_code(ec, errc::not_found);
  monitor.start_process("nobody", ec);
  expect_code(ec, errc::not_found);
  EXPECT_EQ(monitor.pid("nobody", ec), 0);
  expect_code(ec, errc::not_found);
  EXPECT_EQ(monitor.info("nobody", ec).pid, 0);
  expect_code(ec, errc::not_found);

  const std::int32_t pid = monitor.pid("one", ec);
  EXPECT_FALSE(ec);
  EXPECT_GT(pid, 0);
  monitor.start_process("one", ec);  // already running: a no-op
  EXPECT_FALSE(ec);
  EXPECT_EQ(monitor.pid("one"), pid);
}

TEST(Errors, CodesCompareWithTheEnum) {
  const std::error_code ec = procmonpp::errc::not_found;
  EXPECT_EQ(ec, procmonpp::errc::not_found);
  EXPECT_NE(ec, procmonpp::errc::exists);
  EXPECT_EQ(ec.value(), PROCMON_ERR_NOT_FOUND);
  EXPECT_EQ(ec.message(), procmon_strerror(PROCMON_ERR_NOT_FOUND));
}

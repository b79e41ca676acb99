// The shortest complete C++ program that supervises a process and prints its lines.
// Build: c++ -std=c++17 hello.cpp $(pkg-config --cflags --libs procmon)
#include <procmon.hpp>

#include <future>
#include <iostream>

int main() try {
  std::promise<void> two_lines;
  int lines = 0;  // touched by the callback thread only
  procmonpp::Monitor monitor;  // already running
  monitor.on_line([&](std::string_view name, procmonpp::Stream, std::string_view line) {
    std::cout << '[' << name << "] " << line << std::endl;
    if (++lines == 2) two_lines.set_value();
  });
  monitor.add_process("greeter", {"sh", "-c", "echo hello; echo world; exec sleep 60"});
  two_lines.get_future().wait();  // it would be restarted if it exited
  return 0;  // ~Monitor: TERM, KILL after the kill time, reap, join
} catch (const procmonpp::Error& e) {
  std::cerr << e.what() << '\n';
  return 1;
}

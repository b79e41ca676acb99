# Runs the C++ example and checks its standard output exactly:
#   cmake -DHELLO=<path of procmon_cpp_hello> -P check_hello.cmake
execute_process(COMMAND "${HELLO}" OUTPUT_VARIABLE out RESULT_VARIABLE rc TIMEOUT 50)
set(expected "[greeter] hello\n[greeter] world\n")
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "procmon_cpp_hello exited with ${rc}")
endif()
if(NOT out STREQUAL expected)
  message(FATAL_ERROR "unexpected output:\n---\n${out}---\nexpected:\n---\n${expected}---")
endif()

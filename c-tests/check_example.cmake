# Runs an example program and checks its standard output exactly:
#   cmake -DPROGRAM=<path> -DEXPECTED=<text> -P check_example.cmake
execute_process(COMMAND "${PROGRAM}" OUTPUT_VARIABLE out RESULT_VARIABLE rc TIMEOUT 50)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${PROGRAM} exited with ${rc}")
endif()
if(NOT out STREQUAL EXPECTED)
  message(FATAL_ERROR "unexpected output:\n---\n${out}---\nexpected:\n---\n${EXPECTED}---")
endif()

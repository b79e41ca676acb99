/* The test binary: `procmon_ctest test <name>` runs one test (CTest runs each in
 * its own process, with a timeout); `procmon_ctest child <mode> [arg]` is a child
 * fixture (fixtures.c); `procmon_ctest list` prints every test. The tests are
 * listed once, in tests.def, which CMake reads too. */
#include "task.h"

#include <stdio.h>
#include <string.h>

#define TEST(name) void test_##name(void);
#include "tests.def"
#undef TEST

static const struct {
  const char *name;
  void (*run)(void);
} tests[] = {
#define TEST(name) {#name, test_##name},
#include "tests.def"
#undef TEST
};

int main(int argc, char **argv) {
  size_t n = sizeof tests / sizeof tests[0];
  if (argc >= 3 && !strcmp(argv[1], "child")) return fixture_main(argc, argv);
  if (argc == 2 && !strcmp(argv[1], "list")) {
    for (size_t i = 0; i < n; i++) puts(tests[i].name);
    return 0;
  }
  if (argc == 3 && !strcmp(argv[1], "test")) {
    for (size_t i = 0; i < n; i++) {
      if (!strcmp(tests[i].name, argv[2])) {
        tests[i].run();
        printf("ok %s\n", tests[i].name);
        return 0;
      }
    }
    fprintf(stderr, "no test named '%s'\n", argv[2]);
    return 2;
  }
  fprintf(stderr, "usage: %s test NAME | list | child MODE [ARG]\n", argv[0]);
  return 2;
}

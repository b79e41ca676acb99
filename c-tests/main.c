/* The test binary: `procmon_ctest test <name>` runs one test (CTest runs each in
 * its own process, with a timeout); `procmon_ctest child <mode> [args]` is a child
 * fixture (fixtures.c); `procmon_ctest list` prints every test, and
 * `procmon_ctest check-list <names>` fails unless they are exactly its tests, in
 * order (CMake passes the list it made the CTest tests from). The tests are
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

static const size_t ntests = sizeof tests / sizeof tests[0];

static int check_list(int n, char **names) {
  int bad = 0;
  for (size_t i = 0; i < ntests || i < (size_t)n; i++) {
    const char *mine = i < ntests ? tests[i].name : "(none)";
    const char *theirs = i < (size_t)n ? names[i] : "(none)";
    if (strcmp(mine, theirs)) {
      fprintf(stderr, "test %zu: the binary has %s, CMake has %s\n", i + 1, mine, theirs);
      bad = 1;
    }
  }
  if (!bad) printf("ok: %zu tests in both lists\n", ntests);
  return bad;
}

int main(int argc, char **argv) {
  if (argc >= 3 && !strcmp(argv[1], "child")) return fixture_main(argc, argv);
  if (argc == 2 && !strcmp(argv[1], "list")) {
    for (size_t i = 0; i < ntests; i++) puts(tests[i].name);
    return 0;
  }
  if (argc >= 2 && !strcmp(argv[1], "check-list")) return check_list(argc - 2, argv + 2);
  if (argc == 3 && !strcmp(argv[1], "test")) {
    for (size_t i = 0; i < ntests; i++) {
      if (!strcmp(tests[i].name, argv[2])) {
        tests[i].run();
        printf("ok %s\n", tests[i].name);
        return 0;
      }
    }
    fprintf(stderr, "no test named '%s'\n", argv[2]);
    return 2;
  }
  fprintf(stderr, "usage: %s test NAME | list | check-list NAME... | child MODE [ARG...]\n",
          argv[0]);
  return 2;
}

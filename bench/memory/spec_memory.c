/* Memory per idle child (the larger RSS growth after the adds and after 5 s idle) at N
 * children: mode 0 procmon_add_process, 1 procmon_add with one default spec reused,
 * 2 one spec with containment NONE, 3 a new default spec per add.
 * Build: cc spec_memory.c -Iinclude -Ltarget/release -lprocmon -Wl,-rpath,$PWD/target/release
 * Run: ./a.out 1000 MODE */
#include <procmon.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
static long rss_kib(void) { FILE *f = fopen("/proc/self/status", "r"); char l[256]; long v = 0; while (fgets(l, sizeof l, f)) if (!strncmp(l, "VmRSS:", 6)) v = atol(l + 6); fclose(f); return v; }
int main(int argc, char **argv) {
  int n = atoi(argv[1]); int mode = atoi(argv[2]); /* 0 add_process, 1 procmon_add default spec, 2 spec NONE */
  procmon_t *pm = procmon_new();
  const char *a[] = {"/bin/sleep", "1000", NULL};
  procmon_spec_t *spec = procmon_spec_new(a);
  if (mode == 2) procmon_spec_set_containment(spec, PROCMON_CONTAIN_NONE);
  char name[32];
  /* warm up */
  for (int i = 0; i < 10; i++) { snprintf(name, sizeof name, "w%d", i); if (mode) procmon_add(pm, name, spec); else procmon_add_process(pm, name, a, NULL); }
  sleep(1);
  long before = rss_kib();
  for (int i = 0; i < n; i++) { snprintf(name, sizeof name, "p%d", i); int rc; if (mode == 3) { procmon_spec_t *s = procmon_spec_new(a); rc = procmon_add(pm, name, s); procmon_spec_free(s); } else rc = mode ? procmon_add(pm, name, spec) : procmon_add_process(pm, name, a, NULL); if (rc) { printf("rc %d %s\n", rc, procmon_last_error()); return 1; } }
  long after = rss_kib();
  sleep(5);
  long idle = rss_kib();
  long growth = after - before > idle - before ? after - before : idle - before;
  printf("mode %d n %d: %.2f KiB per child\n", mode, n, (double)growth / n);
  procmon_free(pm);
  return 0;
}

/*
 * What the bench's C load generators share (echo-load.c, tls-load.c, and
 * echo-load-udp.h through echo-load.c): clocks, a process's and CPUs' CPU
 * time, the measured window's edges, the 256-periodic message pattern, and
 * latency percentiles. Each program is a single file compiled with
 * `cc -O2 -Wall`, so these are static inline (no unused-function warning
 * where one is not called).
 */
#ifndef IOMUX_BENCH_LOAD_COMMON_H
#define IOMUX_BENCH_LOAD_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static inline uint64_t clock_ns(clockid_t id) {
  struct timespec ts;
  clock_gettime(id, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline uint64_t now_ns(void) { return clock_ns(CLOCK_MONOTONIC); }

static inline uint64_t self_cpu_ns(void) { return clock_ns(CLOCK_PROCESS_CPUTIME_ID); }

/* utime + stime of a process in microseconds, or -1. */
static inline double proc_cpu_us(int pid) {
  if (pid <= 0) return -1;
  char path[64], buf[2048];
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  FILE *f = fopen(path, "r");
  if (f == NULL) return -1;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  char *p = strrchr(buf, ')');
  if (p == NULL || p[1] == 0) return -1;
  p += 2; /* field 3 (state) starts here */
  unsigned long long utime = 0, stime = 0;
  for (int field = 3; field <= 15 && *p; field++) {
    char *end;
    if (field == 14) utime = strtoull(p, &end, 10);
    else if (field == 15) stime = strtoull(p, &end, 10);
    else {
      end = strchr(p, ' ');
      if (end == NULL) return -1;
    }
    p = end + 1;
  }
  return (double)(utime + stime) * 1e6 / (double)sysconf(_SC_CLK_TCK);
}

/* Busy (user+nice+system+irq+softirq) and steal time, in microseconds, summed over the CPUs in mask. */
static inline void cpus_time_us(const int *mask, int nmask, double *busy, double *steal) {
  *busy = *steal = 0;
  if (nmask == 0) return;
  FILE *f = fopen("/proc/stat", "r");
  if (f == NULL) return;
  char line[512];
  double tick_us = 1e6 / (double)sysconf(_SC_CLK_TCK);
  while (fgets(line, sizeof line, f) != NULL) {
    int cpu;
    unsigned long long u, ni, sy, id, io, irq, sirq, st;
    if (sscanf(line, "cpu%d %llu %llu %llu %llu %llu %llu %llu %llu", &cpu, &u, &ni, &sy, &id, &io, &irq, &sirq, &st) != 9)
      continue;
    for (int i = 0; i < nmask; i++) {
      if (mask[i] != cpu) continue;
      *busy += (double)(u + ni + sy + irq + sirq) * tick_us;
      *steal += (double)st * tick_us;
    }
  }
  fclose(f);
}

/* One edge of the measured window: the clock, this process's CPU time, the
 * server's (-1 without one) and the busy and steal time of the CPUs given. */
struct window_edge {
  uint64_t ns, self_cpu_ns;
  double server_cpu_us, busy_us, steal_us;
};

/* The clock is read innermost at both edges: last when the window opens... */
static inline void window_open(struct window_edge *e, int server_pid, const int *cpus, int ncpus) {
  e->server_cpu_us = proc_cpu_us(server_pid);
  e->self_cpu_ns = self_cpu_ns();
  cpus_time_us(cpus, ncpus, &e->busy_us, &e->steal_us);
  e->ns = now_ns();
}

/* ...and first when it closes. */
static inline void window_close(struct window_edge *e, int server_pid, const int *cpus, int ncpus) {
  e->ns = now_ns();
  e->self_cpu_ns = self_cpu_ns();
  e->server_cpu_us = proc_cpu_us(server_pid);
  cpus_time_us(cpus, ncpus, &e->busy_us, &e->steal_us);
}

/* The server's CPU time between two edges in microseconds, or -1. */
static inline double window_server_cpu_us(const struct window_edge *a, const struct window_edge *b) {
  return a->server_cpu_us >= 0 && b->server_cpu_us >= 0 ? b->server_cpu_us - a->server_cpu_us : -1;
}

/* Fills n bytes: pattern[j] = j*7 ^ 0x5a (mod 256), 256-periodic. */
static inline void fill_pattern(unsigned char *pattern, size_t n) {
  for (size_t j = 0; j < n; j++) pattern[j] = (unsigned char)((j * 7u) ^ 0x5au);
}

/* Where message `msg` of connection `index` starts in the pattern: a byte
 * echoed to the wrong connection, out of order, twice or stale differs. */
static inline size_t pattern_offset(int index, uint64_t msg) {
  return ((size_t)index * 131u + (size_t)msg * 29u + 1u) & 255u;
}

static inline int cmp_u32(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return x < y ? -1 : x > y;
}

/* Appends a latency in ns (capped at UINT32_MAX) to a growing array; -1 when out of memory. */
static inline int lat_push(uint32_t **lat, size_t *n, size_t *cap, uint64_t ns) {
  if (*n == *cap) {
    uint32_t *grown = realloc(*lat, *cap * 2 * sizeof **lat);
    if (grown == NULL) return -1;
    *lat = grown;
    *cap *= 2;
  }
  (*lat)[(*n)++] = ns > UINT32_MAX ? UINT32_MAX : (uint32_t)ns;
  return 0;
}

/* p50 and p99 in microseconds of n latencies in ns (sorts them); 0 when n is 0. */
static inline void latency_percentiles(uint32_t *lat, size_t n, double *p50, double *p99) {
  *p50 = *p99 = 0;
  if (n == 0) return;
  qsort(lat, n, sizeof *lat, cmp_u32);
  *p50 = lat[(size_t)(0.50 * (double)(n - 1))] / 1e3;
  *p99 = lat[(size_t)(0.99 * (double)(n - 1))] / 1e3;
}

/* Prints `,"error":"TEXT"` with the characters JSON would need escaped left out. */
static inline void print_error_field(const char *text) {
  printf(",\"error\":\"");
  for (const char *q = text; *q; q++)
    if (*q != '"' && *q != '\\' && (unsigned char)*q >= 32) putchar(*q);
  printf("\"");
}

#endif

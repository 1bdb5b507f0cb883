/*
 * Bench-only echo load generator for bench/src/echo.bench.ts (TCP) and
 * bench/src/dgram.bench.ts (UDP, Unix stream sockets).
 *
 *   echo-load --port P [--host 127.0.0.1] [--conns 64] [--size 64]
 *             [--warmup 0.5] [--duration 1.5] [--server-pid PID] [--cpus 0,1]
 *             [--unix PATH] [--udp] [--udp-timeout-ms 200]
 *
 * --unix PATH: the same stream ping-pong over a Unix-domain socket at PATH
 * (instead of TCP to host:port). --udp: UDP, see echo-load-udp.h.
 *
 * Connecting: the connections are opened one at a time, and each one does a
 * first (verified) echo, blocking, before the next is opened; so the load
 * starts once the server has accepted and served every connection. (Node's
 * `net` server accepts only one connection per event-loop iteration, so a
 * burst of connections made while it is busy can wait for seconds before it
 * even reads them; the figures here are for the steady state.)
 *
 * Load: one thread, epoll. Every connection plays ping-pong: send one
 * message of --size bytes, wait for the complete echo, verify every byte,
 * send the next. Each connection's messages come from a 256-periodic byte
 * pattern at an offset that depends on the connection and the message
 * number, so a byte echoed to the wrong connection, out of order, twice or
 * stale fails the check. Latency is send-to-last-byte, timed with
 * CLOCK_MONOTONIC.
 *
 * The first --warmup seconds are not counted. In the --duration seconds
 * after that it counts completed messages and their latencies, its own CPU
 * time (CLOCK_PROCESS_CPUTIME_ID) and, with --server-pid, the server
 * process's CPU time (utime + stime of /proc/PID/stat: all its threads),
 * all read exactly at the window's edges; with --cpus, also the busy and
 * steal time of those CPUs (/proc/stat), so that CPU time taken by other
 * processes in the window can be told apart.
 *
 * Messages still waiting for their echo when the window closes count as
 * latency samples with their age at that moment (a lower bound), so a
 * server cannot hide connections it leaves waiting; conn_min/conn_max
 * (messages per connection in the window), stalled (connections with none)
 * and max_inflight_us show how fair it was.
 *
 * Prints one JSON line on stdout:
 *   {"rps":..,"p50_us":..,"p99_us":..,"messages":..,"errors":..,
 *    "server_cpu_us":..,"load_cpu_us":..,"cpus_busy_us":..,"cpus_steal_us":..,
 *    "connect_ms":..,"conn_min":..,"conn_max":..,"stalled":..,
 *    "max_inflight_us":..,"seconds":..,"conns":..,"size":..}
 * plus "error" (the first error's text) when errors > 0.
 * Exits 0 when there were no errors, 1 otherwise.
 *
 * Build: cc -O2 -o bench/build/echo-load bench/native/echo-load.c
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <sys/un.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "load-common.h"

#define MAX_EVENTS 1024
#define CONNECT_ECHO_TIMEOUT_S 10 /* for each connection's first echo */

struct conn {
  int fd;
  int index;
  int alive;
  uint64_t msg;       /* number of the message in flight */
  size_t start;       /* its offset into the pattern */
  size_t sent, recvd; /* bytes of it sent / echoed so far */
  uint64_t t_send;    /* when its first byte was sent (ns) */
  uint64_t done;      /* messages completed in the measured window */
};

static unsigned char *pattern; /* size + 256 bytes, pattern[j] = j*7 ^ 0x5a (mod 256) */
static unsigned char *scratch; /* size bytes */
static size_t size = 64;
static long errors = 0;
static int live = 0; /* connections still open */
static char first_error[256] = "";

static void fail(struct conn *c, const char *what) {
  errors++;
  if (first_error[0] == 0) {
    snprintf(first_error, sizeof first_error, "conn %d msg %llu: %s", c->index, (unsigned long long)c->msg, what);
  }
  if (c->alive) {
    close(c->fd);
    c->alive = 0;
    live--;
  }
}

/* Sends the rest of the current message; 0 if it is all sent, 1 if EPOLLOUT is needed, -1 on error. */
static int send_rest(struct conn *c) {
  while (c->sent < size) {
    ssize_t n = send(c->fd, pattern + c->start + c->sent, size - c->sent, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return 1;
      fail(c, strerror(errno));
      return -1;
    }
    c->sent += (size_t)n;
  }
  return 0;
}

/* Starts message c->msg; returns -1 if the connection failed. */
static int start_message(int ep, struct conn *c, uint64_t t) {
  c->start = pattern_offset(c->index, c->msg);
  c->sent = c->recvd = 0;
  c->t_send = t;
  int r = send_rest(c);
  if (r == 1 && ep >= 0) {
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.ptr = c};
    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
  }
  return r < 0 ? -1 : 0;
}

/* Reads once and verifies; 1 when the echo of the message is complete, 0 if
 * not yet (or EAGAIN), -1 if the connection failed. */
static int read_echo(struct conn *c) {
  ssize_t got = recv(c->fd, scratch, size - c->recvd, 0);
  if (got < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return 0;
    fail(c, strerror(errno));
    return -1;
  }
  if (got == 0) {
    fail(c, "server closed the connection");
    return -1;
  }
  if (c->recvd + (size_t)got > c->sent) {
    fail(c, "echo of bytes not sent yet");
    return -1;
  }
  if (memcmp(scratch, pattern + c->start + c->recvd, (size_t)got) != 0) {
    fail(c, "echoed bytes differ from the bytes sent");
    return -1;
  }
  c->recvd += (size_t)got;
  return c->recvd == size;
}

#include "echo-load-udp.h"

static void usage(const char *argv0) {
  fprintf(stderr,
          "usage: %s --port P [--host H] [--conns N] [--size BYTES] [--warmup S] [--duration S] [--server-pid PID] "
          "[--cpus 0,1] [--unix PATH] [--udp] [--udp-timeout-ms MS]\n",
          argv0);
  exit(2);
}

int main(int argc, char **argv) {
  const char *host = "127.0.0.1";
  const char *unix_path = NULL;
  int udp = 0, udp_timeout_ms = 200;
  int port = 0, nconns = 64, server_pid = 0;
  int cpus[64], ncpus = 0; /* CPUs whose /proc/stat time is reported */
  double warmup = 0.5, duration = 1.5;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--udp") == 0) {
      udp = 1;
      continue;
    }
    if (i + 1 >= argc) usage(argv[0]);
    const char *a = argv[i], *v = argv[++i];
    if (strcmp(a, "--host") == 0) host = v;
    else if (strcmp(a, "--unix") == 0) unix_path = v;
    else if (strcmp(a, "--udp-timeout-ms") == 0) udp_timeout_ms = atoi(v);
    else if (strcmp(a, "--port") == 0) port = atoi(v);
    else if (strcmp(a, "--conns") == 0) nconns = atoi(v);
    else if (strcmp(a, "--size") == 0) size = (size_t)atol(v);
    else if (strcmp(a, "--warmup") == 0) warmup = atof(v);
    else if (strcmp(a, "--duration") == 0) duration = atof(v);
    else if (strcmp(a, "--server-pid") == 0) server_pid = atoi(v);
    else if (strcmp(a, "--cpus") == 0) {
      for (const char *q = v; *q && ncpus < 64;) {
        cpus[ncpus++] = atoi(q);
        q = strchr(q, ',');
        if (q == NULL) break;
        q++;
      }
    } else usage(argv[0]);
  }
  if ((unix_path == NULL && port <= 0) || (unix_path != NULL && udp) || nconns <= 0 || size == 0 || duration <= 0 ||
      warmup < 0 || udp_timeout_ms <= 0)
    usage(argv[0]);
  signal(SIGPIPE, SIG_IGN);

  pattern = malloc(size + 256);
  scratch = malloc(size);
  if (pattern == NULL || scratch == NULL) return 1;
  fill_pattern(pattern, size + 256);

  struct sockaddr_in addr;
  memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  addr.sin_port = htons((uint16_t)port);
  if (unix_path == NULL && inet_pton(AF_INET, host, &addr.sin_addr) != 1) {
    fprintf(stderr, "bad IPv4 host %s\n", host);
    return 2;
  }
  if (udp) {
    struct udp_opts o = {&addr, nconns, warmup, duration, server_pid, cpus, ncpus, udp_timeout_ms};
    return udp_main(&o);
  }
  struct sockaddr_un uaddr;
  memset(&uaddr, 0, sizeof uaddr);
  uaddr.sun_family = AF_UNIX;
  if (unix_path != NULL) {
    if (strlen(unix_path) >= sizeof uaddr.sun_path) {
      fprintf(stderr, "--unix path too long\n");
      return 2;
    }
    strcpy(uaddr.sun_path, unix_path);
  }
  struct sockaddr *peer = unix_path != NULL ? (struct sockaddr *)&uaddr : (struct sockaddr *)&addr;
  socklen_t peer_len = unix_path != NULL ? (socklen_t)sizeof uaddr : (socklen_t)sizeof addr;

  /* Connect, one connection and its first echo at a time (blocking sockets
   * with a receive timeout), then switch each to non-blocking. */
  int ep = epoll_create1(EPOLL_CLOEXEC);
  struct conn *conns = calloc((size_t)nconns, sizeof *conns);
  int one = 1;
  uint64_t t_connect = now_ns();
  for (int i = 0; i < nconns; i++) {
    struct conn *c = &conns[i];
    c->index = i;
    c->fd = socket(peer->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c->fd < 0) {
      perror("socket");
      return 1;
    }
    if (connect(c->fd, peer, peer_len) < 0) {
      fprintf(stderr, "connect %d: %s\n", i, strerror(errno));
      return 1;
    }
    c->alive = 1;
    live++;
    if (unix_path == NULL) setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct timeval tv = {.tv_sec = CONNECT_ECHO_TIMEOUT_S, .tv_usec = 0};
    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (start_message(-1, c, now_ns()) < 0) continue;
    int r;
    for (;;) {
      errno = 0;
      r = read_echo(c);
      if (r != 0) break;
      if (errno == EAGAIN || errno == EWOULDBLOCK) { /* SO_RCVTIMEO expired */
        fail(c, "no echo of the first message within the timeout");
        r = -1;
        break;
      }
    }
    if (r < 0) continue;
    c->msg++;
    struct timeval no_timeout = {0, 0};
    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &no_timeout, sizeof no_timeout);
    fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) < 0) {
      perror("epoll_ctl");
      return 1;
    }
  }
  double connect_ms = (double)(now_ns() - t_connect) / 1e6;

  size_t lat_cap = 1 << 20, lat_n = 0;
  uint32_t *lat = malloc(lat_cap * sizeof *lat);
  uint64_t t0 = now_ns();
  uint64_t t_measure = t0 + (uint64_t)(warmup * 1e9);
  uint64_t t_end = t_measure + (uint64_t)(duration * 1e9);
  int measuring = 0;
  uint64_t messages = 0;
  struct window_edge w0 = {0}, w1 = {0};

  for (int i = 0; i < nconns; i++)
    if (conns[i].alive) start_message(ep, &conns[i], now_ns());

  struct epoll_event events[MAX_EVENTS];
  for (;;) {
    uint64_t t = now_ns();
    if (!measuring && t >= t_measure) {
      window_open(&w0, server_pid, cpus, ncpus);
      measuring = 1;
    }
    if (measuring && t >= t_end) break;
    if (live == 0) break;
    uint64_t until = measuring ? t_end : t_measure;
    int timeout_ms = (int)((until - t) / 1000000u) + 1;
    int n = epoll_wait(ep, events, MAX_EVENTS, timeout_ms);
    if (n < 0) {
      if (errno == EINTR) continue;
      perror("epoll_wait");
      return 1;
    }
    for (int k = 0; k < n; k++) {
      struct conn *c = events[k].data.ptr;
      if (!c->alive) continue;
      uint32_t e = events[k].events;
      if ((e & EPOLLOUT) && c->sent < size) {
        int r = send_rest(c);
        if (r < 0) continue;
        if (r == 0) {
          struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
          epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
        }
      }
      if (!(e & (EPOLLIN | EPOLLERR | EPOLLHUP))) continue;
      if (read_echo(c) <= 0) continue;
      uint64_t done = now_ns();
      if (measuring) {
        messages++;
        c->done++;
        if (lat_push(&lat, &lat_n, &lat_cap, done - c->t_send) < 0) return 1;
      }
      c->msg++;
      start_message(ep, c, done);
    }
  }
  window_close(&w1, server_pid, cpus, ncpus);
  if (!measuring) w0 = w1;

  /* Messages still in flight at the end count with their age so far (a lower
   * bound of their latency). Per-connection counts show fairness. */
  uint64_t cmin = UINT64_MAX, cmax = 0, stalled = 0;
  double max_wait_us = 0;
  for (int i = 0; i < nconns; i++) {
    struct conn *c = &conns[i];
    if (c->done < cmin) cmin = c->done;
    if (c->done > cmax) cmax = c->done;
    if (c->done == 0) stalled++;
    if (!c->alive || !measuring) continue;
    uint64_t age = w1.ns - c->t_send;
    if ((double)age / 1e3 > max_wait_us) max_wait_us = (double)age / 1e3;
    if (lat_push(&lat, &lat_n, &lat_cap, age) < 0) return 1;
  }
  for (int i = 0; i < nconns; i++)
    if (conns[i].alive) close(conns[i].fd);

  double seconds = (double)(w1.ns - w0.ns) / 1e9;
  double p50, p99;
  latency_percentiles(lat, lat_n, &p50, &p99);
  printf("{\"rps\":%.1f,\"p50_us\":%.1f,\"p99_us\":%.1f,\"messages\":%llu,\"errors\":%ld,"
         "\"server_cpu_us\":%.0f,\"load_cpu_us\":%.0f,\"cpus_busy_us\":%.0f,\"cpus_steal_us\":%.0f,"
         "\"connect_ms\":%.1f,\"conn_min\":%llu,\"conn_max\":%llu,\"stalled\":%llu,\"max_inflight_us\":%.0f,"
         "\"seconds\":%.4f,\"conns\":%d,\"size\":%zu",
         seconds > 0 ? (double)messages / seconds : 0, p50, p99, (unsigned long long)messages, errors,
         window_server_cpu_us(&w0, &w1), (double)(w1.self_cpu_ns - w0.self_cpu_ns) / 1e3, w1.busy_us - w0.busy_us,
         w1.steal_us - w0.steal_us, connect_ms,
         (unsigned long long)(cmin == UINT64_MAX ? 0 : cmin), (unsigned long long)cmax, (unsigned long long)stalled,
         max_wait_us, seconds, nconns, size);
  if (errors > 0) print_error_field(first_error);
  printf("}\n");
  return errors > 0 ? 1 : 0;
}

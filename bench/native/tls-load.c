/*
 * Bench-only TLS echo load generator for bench/src/tls.bench.ts: the TLS
 * twin of echo-load.c, on the system's OpenSSL (libssl).
 *
 *   tls-load --port P --ca CA.pem [--host 127.0.0.1] [--servername localhost]
 *            [--conns 64] [--size 64] [--warmup 1] [--duration 2]
 *            [--server-pid PID]
 *
 * Connecting: one connection at a time, blocking with 10 s timeouts: TCP
 * connect, the TLS 1.3 handshake (the server's certificate verified against
 * --ca, its name against --servername), then a first verified echo; only
 * then the next connection. The whole phase is bounded by 60 s.
 *
 * Load: one thread, epoll (level-triggered), non-blocking sockets. Every
 * connection plays ping-pong: SSL_write one --size message, SSL_read until
 * its whole echo is back, verify every byte, send the next. The messages
 * come from echo-load.c's 256-periodic pattern at an offset that depends on
 * the connection and the message number, so a byte echoed to the wrong
 * connection, out of order, twice or stale fails the check; plaintext left
 * over once a message is complete (bytes never sent) fails too.
 *
 * The first --warmup seconds are not counted; in the --duration seconds
 * after that it counts completed messages and their latencies, its own CPU
 * time (CLOCK_PROCESS_CPUTIME_ID) and, with --server-pid, the server's
 * (utime + stime of /proc/PID/stat), all read at the window's edges. Then
 * it sends nothing more, and every echo still in flight must come back
 * whole within 5 s (so a server cannot drop a message unseen), with no
 * byte after it.
 *
 * Prints one JSON line on stdout, echo-load's fields where they apply:
 *   {"rps":..,"p50_us":..,"p99_us":..,"messages":..,"errors":..,
 *    "server_cpu_us":..,"load_cpu_us":..,"connect_ms":..,"conn_min":..,
 *    "conn_max":..,"stalled":..,"seconds":..,"conns":..,"size":..,
 *    "cipher":".."}
 * plus "error" (the first error) when errors > 0; every error is also an
 * `ERROR ...` line on stderr (the first 20). Exits 0 without errors, else
 * 1 (2 on bad usage); SIGALRM ends it past every deadline.
 *
 * Build: cc -O2 -o bench/build/tls-load bench/native/tls-load.c -lssl -lcrypto
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
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

#define MAX_EVENTS 256
#define IO_TIMEOUT_S 10      /* each blocking step while connecting */
#define CONNECT_PHASE_S 60   /* all connections and their first echoes */
#define MAX_ERROR_LINES 20
#define DRAIN_S 5            /* for the echoes in flight at the window's end */
#define DRAIN_TEXT "5 s"

struct conn {
  int fd, index, alive;
  int want_out, ev_out; /* a write waits for room; EPOLLOUT is registered */
  int idle;             /* after the window: its last echo is back */
  SSL *ssl;
  uint64_t msg;    /* number of the message in flight */
  size_t start;    /* its offset into the pattern */
  int sent;        /* whether SSL_write took it (all of it) */
  size_t recvd;    /* bytes of its echo so far */
  uint64_t t_send; /* ns */
  uint64_t done;   /* messages completed in the window */
};

static unsigned char *pattern, *scratch;
static size_t size = 64;
static long errors = 0;
static int live = 0;
static char first_error[256] = "";

static void report(int index, uint64_t msg, const char *what) {
  char line[256];
  unsigned long e = ERR_get_error();
  char ssl_err[160] = "";
  if (e != 0) ERR_error_string_n(e, ssl_err, sizeof ssl_err);
  ERR_clear_error();
  snprintf(line, sizeof line, "conn %d msg %llu: %s%s%s", index, (unsigned long long)msg, what, e ? ": " : "", ssl_err);
  if (first_error[0] == 0) snprintf(first_error, sizeof first_error, "%s", line);
  if (++errors <= MAX_ERROR_LINES) fprintf(stderr, "ERROR %s\n", line);
}

static void fail(struct conn *c, const char *what) {
  report(c->index, c->msg, what);
  if (c->alive) {
    SSL_free(c->ssl);
    close(c->fd);
    c->alive = 0;
    live--;
  }
}

/* What an SSL_read/SSL_write result means: 0 retry later, -1 failed (and reported). */
static int ssl_wait(struct conn *c, int ret, const char *op) {
  int e = SSL_get_error(c->ssl, ret);
  if (e == SSL_ERROR_WANT_READ) return 0;
  if (e == SSL_ERROR_WANT_WRITE) {
    c->want_out = 1;
    return 0;
  }
  char what[96];
  if (e == SSL_ERROR_ZERO_RETURN) snprintf(what, sizeof what, "%s: the server closed the TLS session", op);
  else if (e == SSL_ERROR_SYSCALL && errno == 0) snprintf(what, sizeof what, "%s: the server closed the connection", op);
  else if (e == SSL_ERROR_SYSCALL) snprintf(what, sizeof what, "%s: %s", op, strerror(errno));
  else snprintf(what, sizeof what, "%s failed (SSL error %d)", op, e);
  fail(c, what);
  return -1;
}

/* Writes the message in flight if not yet taken; -1 if the connection failed. */
static int send_msg(struct conn *c) {
  if (c->sent) return 0;
  c->want_out = 0;
  errno = 0;
  int n = SSL_write(c->ssl, pattern + c->start, (int)size);
  if (n <= 0) return ssl_wait(c, n, "SSL_write");
  if ((size_t)n != size) {
    fail(c, "SSL_write took part of the message");
    return -1;
  }
  c->sent = 1;
  return 0;
}

static void start_message(struct conn *c, uint64_t t) {
  c->start = pattern_offset(c->index, c->msg);
  c->sent = 0;
  c->recvd = 0;
  c->t_send = t;
  send_msg(c);
}

/* Reads what is there and verifies it: 1 once the echo is complete, 0 not
 * yet, -1 if the connection failed. */
static int read_echo(struct conn *c) {
  while (c->recvd < size) {
    /* No ERR_clear_error() here (it shows in profiles): any error ends the run and report() clears the queue. */
    errno = 0;
    int n = SSL_read(c->ssl, scratch, (int)(size - c->recvd));
    if (n <= 0) return ssl_wait(c, n, "SSL_read");
    if (!c->sent) {
      fail(c, "echo of bytes not sent yet");
      return -1;
    }
    if (memcmp(scratch, pattern + c->start + c->recvd, (size_t)n) != 0) {
      fail(c, "echoed bytes differ from the bytes sent");
      return -1;
    }
    c->recvd += (size_t)n;
  }
  if (SSL_has_pending(c->ssl)) { /* plaintext or (read-ahead) ciphertext beyond the echo */
    fail(c, "more bytes echoed than sent");
    return -1;
  }
  return 1;
}

/* Opens connection i: TCP, handshake, first echo, all blocking with timeouts. */
static int open_conn(struct conn *c, SSL_CTX *ctx, const struct sockaddr_in *addr, const char *servername) {
  c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (c->fd < 0) return report(c->index, 0, strerror(errno)), -1;
  struct timeval tv = {.tv_sec = IO_TIMEOUT_S, .tv_usec = 0};
  int one = 1;
  setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (connect(c->fd, (const struct sockaddr *)addr, sizeof *addr) < 0) {
    char what[96];
    snprintf(what, sizeof what, "connect: %s", strerror(errno));
    close(c->fd);
    return report(c->index, 0, what), -1;
  }
  c->ssl = SSL_new(ctx);
  if (c->ssl == NULL || !SSL_set_fd(c->ssl, c->fd) || !SSL_set_tlsext_host_name(c->ssl, servername) ||
      !SSL_set1_host(c->ssl, servername)) {
    if (c->ssl != NULL) SSL_free(c->ssl);
    close(c->fd);
    return report(c->index, 0, "SSL_new/SSL_set_fd/SSL_set1_host failed"), -1;
  }
  c->alive = 1;
  live++;
  ERR_clear_error();
  errno = 0;
  int r = SSL_connect(c->ssl);
  if (r != 1) {
    int e = SSL_get_error(c->ssl, r);
    long v = SSL_get_verify_result(c->ssl);
    char what[160];
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
      snprintf(what, sizeof what, "handshake: no answer within %d s", IO_TIMEOUT_S);
    else if (v != X509_V_OK) snprintf(what, sizeof what, "handshake: certificate: %s", X509_verify_cert_error_string(v));
    else if (e == SSL_ERROR_SYSCALL && (errno == EAGAIN || errno == EWOULDBLOCK))
      snprintf(what, sizeof what, "handshake: no answer within %d s", IO_TIMEOUT_S);
    else snprintf(what, sizeof what, "handshake failed (SSL error %d, %s)", e, errno ? strerror(errno) : "no errno");
    return fail(c, what), -1;
  }
  if (SSL_get_verify_result(c->ssl) != X509_V_OK || SSL_version(c->ssl) != TLS1_3_VERSION)
    return fail(c, "handshake: certificate not verified or not TLS 1.3"), -1;
  start_message(c, now_ns());
  int got = c->alive && c->sent ? read_echo(c) : -1;
  if (got == 0) fail(c, "no complete echo of the first message within the timeout");
  if (got != 1) return -1;
  c->msg++;
  fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
  return 0;
}

/* EPOLLOUT only while a write waits for room in the socket. */
static void sync_events(int ep, struct conn *c) {
  if (!c->alive || c->want_out == c->ev_out) return;
  struct epoll_event ev = {.events = EPOLLIN | (c->want_out ? EPOLLOUT : 0), .data.ptr = c};
  if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) < 0) fail(c, "epoll_ctl");
  c->ev_out = c->want_out;
}

static void on_alarm(int sig) {
  (void)sig;
  static const char m[] = "ERROR tls-load: past its deadline, giving up\n";
  ssize_t w = write(2, m, sizeof m - 1);
  (void)w;
  _exit(1);
}

static void usage(const char *argv0) {
  fprintf(stderr, "usage: %s --port P --ca CA.pem [--host H] [--servername NAME] [--conns N] [--size BYTES] "
                  "[--warmup S] [--duration S] [--server-pid PID]\n", argv0);
  exit(2);
}

int main(int argc, char **argv) {
  const char *host = "127.0.0.1", *ca = NULL, *servername = "localhost";
  int port = 0, nconns = 64, server_pid = 0;
  double warmup = 1, duration = 2;
  for (int i = 1; i < argc; i++) {
    if (i + 1 >= argc) usage(argv[0]);
    const char *a = argv[i], *v = argv[++i];
    if (strcmp(a, "--host") == 0) host = v;
    else if (strcmp(a, "--ca") == 0) ca = v;
    else if (strcmp(a, "--servername") == 0) servername = v;
    else if (strcmp(a, "--port") == 0) port = atoi(v);
    else if (strcmp(a, "--conns") == 0) nconns = atoi(v);
    else if (strcmp(a, "--size") == 0) size = (size_t)atol(v);
    else if (strcmp(a, "--warmup") == 0) warmup = atof(v);
    else if (strcmp(a, "--duration") == 0) duration = atof(v);
    else if (strcmp(a, "--server-pid") == 0) server_pid = atoi(v);
    else usage(argv[0]);
  }
  if (port <= 0 || port > 65535 || ca == NULL || nconns <= 0 || nconns > 10000 || size == 0 || size > 16384 ||
      !(duration > 0 && duration <= 600) || !(warmup >= 0 && warmup <= 600))
    usage(argv[0]);
  signal(SIGPIPE, SIG_IGN);
  signal(SIGALRM, on_alarm);
  alarm((unsigned)(CONNECT_PHASE_S + warmup + duration + DRAIN_S + 15));

  pattern = malloc(size + 256);
  scratch = malloc(size);
  struct conn *conns = calloc((size_t)nconns, sizeof *conns);
  size_t lat_cap = 1 << 20, lat_n = 0;
  uint32_t *lat = malloc(lat_cap * sizeof *lat);
  if (pattern == NULL || scratch == NULL || conns == NULL || lat == NULL) return fprintf(stderr, "ERROR out of memory\n"), 1;
  fill_pattern(pattern, size + 256);

  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  if (inet_pton(AF_INET, host, &addr.sin_addr) != 1) return fprintf(stderr, "ERROR bad IPv4 host %s\n", host), 2;
  SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
  if (ctx == NULL || !SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) ||
      SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1) {
    fprintf(stderr, "ERROR cannot set up TLS with the CA %s\n", ca);
    return 1;
  }
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_read_ahead(ctx, 1); /* one read() per record, not header then body */

  int ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) return perror("ERROR epoll_create1"), 1;
  uint64_t t_connect = now_ns();
  for (int i = 0; i < nconns; i++) {
    conns[i].index = i;
    if (errors > 0) break; /* the first failure ends the run */
    if (now_ns() - t_connect > (uint64_t)CONNECT_PHASE_S * 1000000000u) {
      report(i, 0, "connecting took longer than the connect phase's bound");
      break;
    }
    if (open_conn(&conns[i], ctx, &addr, servername) < 0) continue;
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &conns[i]};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, conns[i].fd, &ev) < 0) fail(&conns[i], "epoll_ctl");
  }
  double connect_ms = (double)(now_ns() - t_connect) / 1e6;
  const char *cipher = live > 0 ? SSL_get_cipher_name(conns[0].ssl) : "";

  uint64_t t_measure = now_ns() + (uint64_t)(warmup * 1e9), t_end = t_measure + (uint64_t)(duration * 1e9);
  int measuring = 0, draining = 0, inflight = 0;
  uint64_t messages = 0, t_drained = 0;
  struct window_edge w0 = {0}, w1 = {0};
  for (int i = 0; i < nconns; i++) {
    if (!conns[i].alive) continue;
    start_message(&conns[i], now_ns());
    sync_events(ep, &conns[i]);
  }
  struct epoll_event events[MAX_EVENTS];
  /* Bounded: it leaves DRAIN_S after t_end at the latest (or at the first error). */
  while (live > 0 && errors == 0) {
    uint64_t t = now_ns();
    if (!measuring && t >= t_measure) {
      window_open(&w0, server_pid, NULL, 0);
      measuring = 1;
    }
    if (measuring && !draining && t >= t_end) { /* the window's end; then every echo in flight must come back */
      window_close(&w1, server_pid, NULL, 0);
      draining = 1;
      inflight = live;
      t_drained = w1.ns + (uint64_t)DRAIN_S * 1000000000u;
    }
    if (draining && (inflight == 0 || t >= t_drained)) break;
    uint64_t until = draining ? t_drained : measuring ? t_end : t_measure;
    int n = epoll_wait(ep, events, MAX_EVENTS, (int)((until - t) / 1000000u) + 1);
    if (n < 0 && errno != EINTR) return perror("ERROR epoll_wait"), 1;
    for (int k = 0; k < n; k++) {
      struct conn *c = events[k].data.ptr;
      if (!c->alive) continue;
      if (c->idle) { /* its last echo is back: anything more was never sent */
        int r = SSL_read(c->ssl, scratch, 1);
        if (r > 0) fail(c, "bytes echoed after the last message's echo");
        else ssl_wait(c, r, "SSL_read");
        continue;
      }
      if (!c->sent && send_msg(c) < 0) continue;
      if (read_echo(c) == 1) {
        uint64_t done = now_ns();
        if (measuring && !draining) {
          messages++;
          c->done++;
          if (lat_push(&lat, &lat_n, &lat_cap, done - c->t_send) < 0) return 1;
        }
        if (draining) {
          c->idle = 1;
          inflight--;
        } else {
          c->msg++;
          start_message(c, done);
        }
      }
      sync_events(ep, c);
    }
  }
  if (!draining) window_close(&w1, server_pid, NULL, 0); /* it stopped early, at an error */
  if (!measuring) w0 = w1;
  for (int i = 0; i < nconns && errors == 0; i++)
    if (conns[i].alive && !conns[i].idle) fail(&conns[i], "no complete echo within " DRAIN_TEXT " after the window");

  uint64_t cmin = UINT64_MAX, cmax = 0, stalled = 0;
  for (int i = 0; i < nconns; i++) {
    struct conn *c = &conns[i];
    if (c->done < cmin) cmin = c->done;
    if (c->done > cmax) cmax = c->done;
    if (c->done == 0) stalled++;
    if (c->alive) SSL_free(c->ssl), close(c->fd);
  }
  double seconds = (double)(w1.ns - w0.ns) / 1e9, p50, p99;
  latency_percentiles(lat, lat_n, &p50, &p99);
  if (errors == 0 && stalled > 0) {
    char what[96];
    snprintf(what, sizeof what, "%llu connections without a complete echo in the window", (unsigned long long)stalled);
    report(-1, 0, what);
  }
  printf("{\"rps\":%.1f,\"p50_us\":%.1f,\"p99_us\":%.1f,\"messages\":%llu,\"errors\":%ld,"
         "\"server_cpu_us\":%.0f,\"load_cpu_us\":%.0f,\"connect_ms\":%.1f,\"conn_min\":%llu,\"conn_max\":%llu,"
         "\"stalled\":%llu,\"seconds\":%.4f,\"conns\":%d,\"size\":%zu,\"cipher\":\"%s\"",
         seconds > 0 ? (double)messages / seconds : 0, p50, p99, (unsigned long long)messages, errors,
         window_server_cpu_us(&w0, &w1), (double)(w1.self_cpu_ns - w0.self_cpu_ns) / 1e3, connect_ms,
         (unsigned long long)(cmin == UINT64_MAX ? 0 : cmin), (unsigned long long)cmax, (unsigned long long)stalled,
         seconds, nconns, size, cipher);
  if (errors > 0) print_error_field(first_error);
  printf("}\n");
  SSL_CTX_free(ctx);
  return errors > 0 ? 1 : 0;
}

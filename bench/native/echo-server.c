/*
 * Bench-only plain C TCP echo server: the practical limit the iomux echo
 * servers are compared against in bench/src/echo.bench.ts.
 *
 *   echo-server [--host 127.0.0.1] [--port 0]
 *
 * One thread, epoll (level-triggered), non-blocking sockets, accept4(),
 * TCP_NODELAY on every connection (as asyncio and iomux's loop do). Each
 * connection reads up to 64 KiB and sends it straight back; whatever send()
 * does not take is kept in a per-connection pending buffer, and the
 * connection stops reading (EPOLLOUT only) until that buffer is flushed.
 *
 * Prints `listening on HOST:PORT (backend c-epoll)` once listening and exits
 * 0 on SIGTERM or SIGINT.
 *
 * Build: cc -O2 -o bench/build/echo-server bench/native/echo-server.c
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUF_SIZE 65536
#define MAX_EVENTS 1024

struct conn {
  int fd;
  char *pending; /* bytes send() has not taken yet, or NULL */
  size_t pending_off, pending_len;
};

static volatile sig_atomic_t stopping = 0;

static void on_signal(int sig) {
  (void)sig;
  stopping = 1;
}

static void die(const char *what) {
  perror(what);
  exit(1);
}

static void conn_close(int ep, struct conn *c) {
  epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
  close(c->fd);
  free(c->pending);
  free(c);
}

static int set_events(int ep, struct conn *c, uint32_t events) {
  struct epoll_event ev = {.events = events, .data.ptr = c};
  return epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
}

/* Sends what is pending; returns -1 on a fatal error, 1 when all is sent, 0 if some is left. */
static int flush_pending(struct conn *c) {
  while (c->pending_off < c->pending_len) {
    ssize_t n = send(c->fd, c->pending + c->pending_off, c->pending_len - c->pending_off, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
      return -1;
    }
    c->pending_off += (size_t)n;
  }
  free(c->pending);
  c->pending = NULL;
  c->pending_off = c->pending_len = 0;
  return 1;
}

int main(int argc, char **argv) {
  const char *host = "127.0.0.1";
  int port = 0;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--host") == 0 && i + 1 < argc) host = argv[++i];
    else if (strcmp(argv[i], "--port") == 0 && i + 1 < argc) port = atoi(argv[++i]);
    else {
      fprintf(stderr, "usage: %s [--host H] [--port P]\n", argv[0]);
      return 2;
    }
  }

  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal; /* no SA_RESTART: epoll_wait returns EINTR */
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);

  int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (lfd < 0) die("socket");
  int one = 1;
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in addr;
  memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  addr.sin_port = htons((uint16_t)port);
  if (inet_pton(AF_INET, host, &addr.sin_addr) != 1) {
    fprintf(stderr, "bad IPv4 host %s\n", host);
    return 2;
  }
  if (bind(lfd, (struct sockaddr *)&addr, sizeof addr) < 0) die("bind");
  if (listen(lfd, 1024) < 0) die("listen");
  socklen_t alen = sizeof addr;
  if (getsockname(lfd, (struct sockaddr *)&addr, &alen) < 0) die("getsockname");

  int ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) die("epoll_create1");
  struct epoll_event lev = {.events = EPOLLIN, .data.ptr = NULL};
  if (epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &lev) < 0) die("epoll_ctl listen");

  printf("listening on %s:%d (backend c-epoll)\n", host, ntohs(addr.sin_port));
  fflush(stdout);

  static char buf[BUF_SIZE];
  struct epoll_event events[MAX_EVENTS];
  while (!stopping) {
    int n = epoll_wait(ep, events, MAX_EVENTS, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      die("epoll_wait");
    }
    for (int i = 0; i < n; i++) {
      struct conn *c = events[i].data.ptr;
      if (c == NULL) { /* the listening socket */
        for (;;) {
          int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
          if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED) continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK) perror("accept4");
            break;
          }
          setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          struct conn *nc = calloc(1, sizeof *nc);
          if (nc == NULL) die("calloc");
          nc->fd = fd;
          struct epoll_event ev = {.events = EPOLLIN, .data.ptr = nc};
          if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) die("epoll_ctl add");
        }
        continue;
      }
      uint32_t e = events[i].events;
      if (c->pending != NULL) { /* waiting for EPOLLOUT */
        if (e & (EPOLLOUT | EPOLLERR | EPOLLHUP)) {
          int r = flush_pending(c);
          if (r < 0) conn_close(ep, c);
          else if (r > 0 && set_events(ep, c, EPOLLIN) < 0) conn_close(ep, c);
        }
        continue;
      }
      if (!(e & (EPOLLIN | EPOLLERR | EPOLLHUP))) continue;
      ssize_t got = recv(c->fd, buf, sizeof buf, 0);
      if (got < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) continue;
        conn_close(ep, c);
        continue;
      }
      if (got == 0) { /* EOF */
        conn_close(ep, c);
        continue;
      }
      size_t off = 0;
      while (off < (size_t)got) {
        ssize_t s = send(c->fd, buf + off, (size_t)got - off, MSG_NOSIGNAL);
        if (s < 0) {
          if (errno == EINTR) continue;
          break;
        }
        off += (size_t)s;
      }
      if (off < (size_t)got) {
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
          conn_close(ep, c);
          continue;
        }
        c->pending_len = (size_t)got - off;
        c->pending = malloc(c->pending_len);
        if (c->pending == NULL) die("malloc");
        memcpy(c->pending, buf + off, c->pending_len);
        c->pending_off = 0;
        if (set_events(ep, c, EPOLLOUT) < 0) conn_close(ep, c);
      }
    }
  }
  close(ep);
  close(lfd);
  printf("stopped\n");
  return 0;
}

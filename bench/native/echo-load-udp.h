/*
 * echo-load's --udp mode (included by echo-load.c, which owns the pattern;
 * the clocks, the /proc readers and the latency array are load-common.h's).
 *
 * --conns UDP sockets, each connect()ed to host:port so it only takes the
 * server's datagrams. Every socket plays ping-pong: it sends one datagram of
 * --size bytes (at least 12) and waits for its echo; a datagram whose echo
 * has not come back within --udp-timeout-ms is counted as lost and the
 * socket sends the next one, so losses never stall the load. A datagram
 * starts with its socket's index (4 bytes) and its number (8 bytes), then
 * the same 256-periodic pattern as TCP: an echo of an earlier datagram (one
 * already counted lost) is counted as late and ignored; an echo that is
 * truncated, of another socket, or with a changed byte is an error.
 *
 * Before the load, each socket gets a first echo, blocking (up to 5 tries
 * of 1 s each). Prints the TCP mode's JSON line plus "lost" (datagrams lost
 * in the measured window), "late" and "udp_timeout_ms".
 */
#define UDP_HEADER 12

struct udp_opts {
  const struct sockaddr_in *addr;
  int nconns;
  double warmup, duration;
  int server_pid;
  const int *cpus;
  int ncpus;
  int timeout_ms;
};

struct uconn {
  int fd, index, alive;
  uint64_t msg, t_send, deadline, done;
};

static unsigned char *udp_out; /* size bytes: the datagram being sent */

static void udp_fail(struct uconn *c, const char *what) {
  errors++;
  if (first_error[0] == 0) snprintf(first_error, sizeof first_error, "socket %d datagram %llu: %s", c->index, (unsigned long long)c->msg, what);
  if (c->alive) {
    close(c->fd);
    c->alive = 0;
    live--;
  }
}

/* Sends datagram c->msg; a full send buffer counts as a loss later (its deadline passes). */
static void udp_send(struct uconn *c, uint64_t t, int timeout_ms) {
  memcpy(udp_out, pattern + pattern_offset(c->index, c->msg), size);
  uint32_t idx = (uint32_t)c->index;
  memcpy(udp_out, &idx, 4);
  memcpy(udp_out + 4, &c->msg, 8);
  c->t_send = t;
  c->deadline = t + (uint64_t)timeout_ms * 1000000u;
  for (;;) {
    ssize_t n = send(c->fd, udp_out, size, 0);
    if (n == (ssize_t)size) return;
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)) return;
    udp_fail(c, n < 0 ? strerror(errno) : "short send");
    return;
  }
}

/* Reads every queued datagram; 1 if the echo of c->msg came, 0 if not, -1 on error. */
static int udp_read(struct uconn *c, uint64_t *late) {
  int complete = 0;
  for (;;) {
    ssize_t got = recv(c->fd, scratch, size + 1, MSG_TRUNC);
    if (got < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return complete;
      udp_fail(c, strerror(errno));
      return -1;
    }
    if ((size_t)got != size) {
      udp_fail(c, "echo of another length than the datagram sent");
      return -1;
    }
    uint32_t idx;
    uint64_t msg;
    memcpy(&idx, scratch, 4);
    memcpy(&msg, scratch + 4, 8);
    if (idx != (uint32_t)c->index || msg > c->msg) {
      udp_fail(c, "echo of a datagram this socket did not send");
      return -1;
    }
    if (memcmp(scratch + UDP_HEADER, pattern + pattern_offset(c->index, msg) + UDP_HEADER, size - UDP_HEADER) != 0) {
      udp_fail(c, "echoed bytes differ from the bytes sent");
      return -1;
    }
    if (msg < c->msg || complete) (*late)++;
    else complete = 1;
  }
}

static int udp_main(const struct udp_opts *o) {
  if (size < UDP_HEADER || size > 65507) {
    fprintf(stderr, "--udp needs --size from %d to 65507\n", UDP_HEADER);
    return 2;
  }
  int nconns = o->nconns;
  udp_out = malloc(size);
  free(scratch);
  scratch = malloc(size + 1);
  struct uconn *conns = calloc((size_t)nconns, sizeof *conns);
  if (udp_out == NULL || scratch == NULL || conns == NULL) return 1;
  int ep = epoll_create1(EPOLL_CLOEXEC);
  uint64_t late = 0, lost = 0;
  uint64_t t_connect = now_ns();
  for (int i = 0; i < nconns; i++) {
    struct uconn *c = &conns[i];
    c->index = i;
    c->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (c->fd < 0 || connect(c->fd, (const struct sockaddr *)o->addr, sizeof *o->addr) < 0) {
      fprintf(stderr, "socket %d: %s\n", i, strerror(errno));
      return 1;
    }
    c->alive = 1;
    live++;
    struct timeval tv = {.tv_sec = 1, .tv_usec = 0};
    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    int r = 0;
    for (int attempt = 0; attempt < 5 && r == 0 && c->alive; attempt++) {
      udp_send(c, now_ns(), 1000);
      errno = 0;
      ssize_t got = recv(c->fd, scratch, size + 1, MSG_TRUNC | MSG_PEEK);
      if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) continue;
      if (got < 0) {
        udp_fail(c, strerror(errno));
        break;
      }
      fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
      r = udp_read(c, &late);
      fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) & ~O_NONBLOCK);
    }
    if (!c->alive) continue;
    if (r != 1) {
      udp_fail(c, "no echo of the first datagram in 5 tries of 1 s");
      continue;
    }
    c->msg++;
    fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
    epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
  }
  double connect_ms = (double)(now_ns() - t_connect) / 1e6;
  late = 0;

  size_t lat_cap = 1 << 20, lat_n = 0;
  uint32_t *lat = malloc(lat_cap * sizeof *lat);
  uint64_t t0 = now_ns();
  uint64_t t_measure = t0 + (uint64_t)(o->warmup * 1e9);
  uint64_t t_end = t_measure + (uint64_t)(o->duration * 1e9);
  uint64_t scan_every = (uint64_t)o->timeout_ms * 1000000u / 20u + 1u, next_scan = t0 + scan_every;
  int measuring = 0;
  uint64_t messages = 0;
  struct window_edge w0 = {0}, w1 = {0};
  for (int i = 0; i < nconns; i++)
    if (conns[i].alive) udp_send(&conns[i], now_ns(), o->timeout_ms);

  struct epoll_event events[MAX_EVENTS];
  for (;;) {
    uint64_t t = now_ns();
    if (!measuring && t >= t_measure) {
      window_open(&w0, o->server_pid, o->cpus, o->ncpus);
      measuring = 1;
    }
    if ((measuring && t >= t_end) || live == 0) break;
    if (t >= next_scan) { /* datagrams past their deadline are lost: send the next */
      for (int i = 0; i < nconns; i++) {
        struct uconn *c = &conns[i];
        if (!c->alive || t < c->deadline) continue;
        if (measuring) lost++;
        c->msg++;
        udp_send(c, t, o->timeout_ms);
      }
      next_scan = t + scan_every;
    }
    uint64_t until = measuring ? t_end : t_measure;
    if (next_scan < until) until = next_scan;
    int n = epoll_wait(ep, events, MAX_EVENTS, (int)((until - t) / 1000000u) + 1);
    if (n < 0) {
      if (errno == EINTR) continue;
      perror("epoll_wait");
      return 1;
    }
    for (int k = 0; k < n; k++) {
      struct uconn *c = events[k].data.ptr;
      if (!c->alive || udp_read(c, &late) <= 0) continue;
      uint64_t done = now_ns();
      if (measuring) {
        messages++;
        c->done++;
        if (lat_push(&lat, &lat_n, &lat_cap, done - c->t_send) < 0) return 1;
      }
      c->msg++;
      udp_send(c, done, o->timeout_ms);
    }
  }
  window_close(&w1, o->server_pid, o->cpus, o->ncpus);
  if (!measuring) w0 = w1;

  /* As for TCP: datagrams in flight at the end count with their age so far. */
  uint64_t cmin = UINT64_MAX, cmax = 0, stalled = 0;
  double max_wait_us = 0;
  for (int i = 0; i < nconns; i++) {
    struct uconn *c = &conns[i];
    if (c->done < cmin) cmin = c->done;
    if (c->done > cmax) cmax = c->done;
    if (c->done == 0) stalled++;
    if (!c->alive || !measuring) continue;
    close(c->fd);
    uint64_t age = w1.ns - c->t_send;
    if ((double)age / 1e3 > max_wait_us) max_wait_us = (double)age / 1e3;
    if (lat_push(&lat, &lat_n, &lat_cap, age) < 0) return 1;
  }

  double seconds = (double)(w1.ns - w0.ns) / 1e9;
  double p50, p99;
  latency_percentiles(lat, lat_n, &p50, &p99);
  printf("{\"rps\":%.1f,\"p50_us\":%.1f,\"p99_us\":%.1f,\"messages\":%llu,\"errors\":%ld,"
         "\"server_cpu_us\":%.0f,\"load_cpu_us\":%.0f,\"cpus_busy_us\":%.0f,\"cpus_steal_us\":%.0f,"
         "\"connect_ms\":%.1f,\"conn_min\":%llu,\"conn_max\":%llu,\"stalled\":%llu,\"max_inflight_us\":%.0f,"
         "\"seconds\":%.4f,\"conns\":%d,\"size\":%zu,\"lost\":%llu,\"late\":%llu,\"udp_timeout_ms\":%d",
         seconds > 0 ? (double)messages / seconds : 0, p50, p99, (unsigned long long)messages, errors,
         window_server_cpu_us(&w0, &w1), (double)(w1.self_cpu_ns - w0.self_cpu_ns) / 1e3, w1.busy_us - w0.busy_us,
         w1.steal_us - w0.steal_us, connect_ms,
         (unsigned long long)(cmin == UINT64_MAX ? 0 : cmin), (unsigned long long)cmax, (unsigned long long)stalled,
         max_wait_us, seconds, nconns, size, (unsigned long long)lost, (unsigned long long)late, o->timeout_ms);
  if (errors > 0) print_error_field(first_error);
  printf("}\n");
  return errors > 0 ? 1 : 0;
}

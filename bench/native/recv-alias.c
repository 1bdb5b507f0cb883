/*
 * Bench-only: what the page offset of a receive buffer costs recv().
 *
 *   cc -O2 -o bench/build/recv-alias bench/native/recv-alias.c
 *   taskset -c 1 bench/build/recv-alias [SIZE] [ITERATIONS]
 *
 * One loopback TCP connection in one process: send SIZE bytes (default 4096)
 * from a page-aligned buffer, then recv them into a buffer that starts at a
 * given offset into a 4 KiB page, ITERATIONS times (default 100000) per
 * offset, twice over. Prints the mean recv() time per offset.
 *
 * Why: the kernel copies from page-aligned data, and a destination a few
 * bytes past a 4 KiB boundary puts every store just ahead of the next load
 * in the low 12 address bits ("4K aliasing"), which slows the copy on x86.
 * A plain 256 KiB allocation (an mmap'd malloc chunk) starts 16 bytes into
 * a page; packages/loop/src/transports.ts places its receive buffer half a
 * page in for that reason. Here: 4 KiB recv() about 1.5-2 us slower at
 * offset 16 than at 256-4000; 64 B recv() the same at every offset.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void die(const char *what) {
  perror(what);
  exit(1);
}

int main(int argc, char **argv) {
  int size = argc > 1 ? atoi(argv[1]) : 4096;
  int iters = argc > 2 ? atoi(argv[2]) : 100000;
  if (size <= 0 || size > 65536 || iters <= 0) {
    fprintf(stderr, "usage: %s [SIZE 1..65536] [ITERATIONS]\n", argv[0]);
    return 2;
  }
  int ls = socket(AF_INET, SOCK_STREAM, 0);
  if (ls < 0) die("socket");
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t alen = sizeof a;
  if (bind(ls, (struct sockaddr *)&a, sizeof a) < 0 || listen(ls, 1) < 0) die("bind/listen");
  if (getsockname(ls, (struct sockaddr *)&a, &alen) < 0) die("getsockname");
  int c = socket(AF_INET, SOCK_STREAM, 0);
  if (c < 0 || connect(c, (struct sockaddr *)&a, sizeof a) < 0) die("connect");
  int s = accept(ls, NULL, NULL);
  if (s < 0) die("accept");
  int one = 1;
  setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);

  char *src = aligned_alloc(4096, 65536);
  char *raw = aligned_alloc(4096, 65536 + 8192);
  if (src == NULL || raw == NULL) die("aligned_alloc");
  memset(src, 7, 65536);
  memset(raw, 1, 65536 + 8192);
  static const int offsets[] = {0, 16, 64, 256, 1024, 2048, 4000};
  const int n_offsets = (int)(sizeof offsets / sizeof offsets[0]);
  for (int round = 0; round < 2; round++) {
    for (int k = 0; k < n_offsets; k++) {
      char *dst = raw + offsets[k];
      double in_recv = 0;
      for (int i = 0; i < iters; i++) {
        if (send(c, src, (size_t)size, 0) != size) die("send");
        double t = now();
        for (int got = 0; got < size;) {
          ssize_t n = recv(s, dst + got, (size_t)(size - got), 0);
          if (n <= 0) die("recv");
          got += (int)n;
        }
        in_recv += now() - t;
      }
      printf("round %d  %d B  receive buffer at page offset %4d: recv %6.0f ns\n", round + 1, size, offsets[k],
             in_recv / iters * 1e9);
    }
  }
  close(c);
  close(s);
  close(ls);
  free(src);
  free(raw);
  return 0;
}

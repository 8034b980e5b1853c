/*
 * Raw C baselines for the memshare benchmarks (Linux). Compiled by
 * bench/c_baseline.ts into a temporary directory at bench time.
 *
 *   baseline pair BATCHES N LOCKFILE
 *       uncontended flock(LOCK_EX|LOCK_NB) + flock(LOCK_UN), ns per pair per batch
 *   baseline handoff ROUNDS WARMUP LOCKFILE
 *       two forked processes ping-pong a blocking flock; same protocol as
 *       bench/handoff.ts (holder keeps the lock 1-8 ms after the waiter
 *       announced itself, stamps CLOCK_MONOTONIC, unlocks); ns per hand-off
 *   baseline contended NPROC DURATION_MS LOCKFILE
 *       NPROC forked processes loop flock(EX); counter++; flock(UN) on a
 *       shared anonymous mapping until the common end time
 *
 * Each prints one JSON object on stdout.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void sleep_ns(double ns) {
  if (ns <= 0) return;
  struct timespec ts = {(time_t)(ns / 1e9), (long)((uint64_t)ns % 1000000000)};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

static void die(const char *what) {
  perror(what);
  exit(2);
}

static int open_lock(const char *path) {
  int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) die("open");
  return fd;
}

static void lock_ex(int fd) {
  while (flock(fd, LOCK_EX) != 0)
    if (errno != EINTR) die("flock LOCK_EX");
}

static void unlock(int fd) {
  if (flock(fd, LOCK_UN) != 0) die("flock LOCK_UN");
}

static void *shared_anon(size_t size) {
  void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                 -1, 0);
  if (p == MAP_FAILED) die("mmap");
  return p;
}

static void wait_for(atomic_int *word, int value) {
  while (atomic_load(word) < value) sleep_ns(50e3);
}

static void print_samples(const double *xs, int n) {
  printf("{\"samples\":[");
  for (int i = 0; i < n; i++) printf("%s%.1f", i ? "," : "", xs[i]);
  printf("]}\n");
}

static int pair(int batches, int n, const char *path) {
  int fd = open_lock(path);
  double *samples = calloc(batches, sizeof(double));
  for (int b = -1; b < batches; b++) { /* batch -1 warms up */
    double start = now_ns();
    for (int i = 0; i < n; i++) {
      if (flock(fd, LOCK_EX | LOCK_NB) != 0) die("flock LOCK_EX|LOCK_NB");
      unlock(fd);
    }
    if (b >= 0) samples[b] = (now_ns() - start) / n;
  }
  print_samples(samples, batches);
  return 0;
}

/* The same hold time as holdMs() in bench/handoff.ts, in ns. */
static double hold_ns(int r) {
  uint32_t h = (uint32_t)r * 2654435761u;
  return (1.0 + (double)(h % 7000) / 1000.0) * 1e6;
}

struct handoff_block {
  atomic_int go, waiting, acquired;
  double stamp;
  double results[];
};

static void participate(struct handoff_block *b, int side, int rounds,
                        const char *path) {
  int fd = open_lock(path); /* own open file description per process */
  int holding = 0;
  if (side == 0) {
    lock_ex(fd);
    holding = 1;
    atomic_store(&b->go, 1);
  } else {
    wait_for(&b->go, 1);
  }
  for (int r = 1; r <= rounds; r++) {
    if (side == (r % 2 == 1 ? 0 : 1)) {
      wait_for(&b->waiting, r);
      sleep_ns(hold_ns(r));
      b->stamp = now_ns();
      unlock(fd);
      holding = 0;
      wait_for(&b->acquired, r);
    } else {
      atomic_store(&b->waiting, r);
      lock_ex(fd);
      double now = now_ns();
      holding = 1;
      b->results[r] = now - b->stamp;
      atomic_store(&b->acquired, r);
    }
  }
  if (holding) unlock(fd);
  close(fd);
}

static int handoff(int rounds, int warmup, const char *path) {
  int total = rounds + warmup;
  struct handoff_block *b =
      shared_anon(sizeof *b + sizeof(double) * (size_t)(total + 1));
  pid_t child = fork();
  if (child < 0) die("fork");
  if (child == 0) {
    participate(b, 1, total, path);
    _exit(0);
  }
  participate(b, 0, total, path);
  int status;
  waitpid(child, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return 1;
  print_samples(b->results + warmup + 1, rounds);
  return 0;
}

#define MAX_PROCS 64

struct contended_block {
  atomic_int ready, go;
  double start, end;
  volatile uint32_t counter;
  double counts[MAX_PROCS];
  double last[MAX_PROCS];
};

static int contended(int procs, double duration_ms, const char *path) {
  if (procs < 1 || procs > MAX_PROCS) return 1;
  struct contended_block *b = shared_anon(sizeof *b);
  pid_t pids[MAX_PROCS];
  for (int i = 0; i < procs; i++) {
    pids[i] = fork();
    if (pids[i] < 0) die("fork");
    if (pids[i] == 0) {
      int fd = open_lock(path);
      atomic_fetch_add(&b->ready, 1);
      wait_for(&b->go, 1);
      sleep_ns(b->start - now_ns());
      double mine = 0, end = b->end;
      while (now_ns() < end) {
        lock_ex(fd);
        b->counter = b->counter + 1;
        unlock(fd);
        mine++;
      }
      b->counts[i] = mine;
      b->last[i] = now_ns();
      _exit(0);
    }
  }
  while (atomic_load(&b->ready) < procs) sleep_ns(1e6);
  b->start = now_ns() + 30e6;
  b->end = b->start + duration_ms * 1e6;
  atomic_store(&b->go, 1);
  for (int i = 0; i < procs; i++) {
    int status;
    waitpid(pids[i], &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return 1;
  }
  double last = 0;
  printf("{\"counter\":%u,\"counts\":[", b->counter);
  for (int i = 0; i < procs; i++) {
    printf("%s%.0f", i ? "," : "", b->counts[i]);
    if (b->last[i] > last) last = b->last[i];
  }
  printf("],\"seconds\":%.6f}\n", (last - b->start) / 1e9);
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 5 && strcmp(argv[1], "pair") == 0)
    return pair(atoi(argv[2]), atoi(argv[3]), argv[4]);
  if (argc == 5 && strcmp(argv[1], "handoff") == 0)
    return handoff(atoi(argv[2]), atoi(argv[3]), argv[4]);
  if (argc == 5 && strcmp(argv[1], "contended") == 0)
    return contended(atoi(argv[2]), atof(argv[3]), argv[4]);
  fprintf(stderr, "usage: see the comment at the top of baseline.c\n");
  return 64;
}

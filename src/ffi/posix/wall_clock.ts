/**
 * The wall clock the lock stamps each acquisition with (`holderSince`, and
 * how long ago the lock-file path was checked). It is read on every
 * acquire, so it should cost as little as the OS allows: on Linux the
 * coarse real-time clock (the kernel's last tick, read from the vDSO
 * without a system call) costs a third of `Date.now()` in Deno and Bun,
 * at the price of a tick's resolution (1–10 ms, typically 4).
 *
 * @module
 */

import type { Libc } from "./libc.ts";

/** `CLOCK_REALTIME_COARSE` (include/uapi/linux/time.h; every architecture). */
const CLOCK_REALTIME_COARSE = 5;

/** A function returning the wall-clock time in ms since the epoch. */
export type WallClock = () => number;

/** Linux: the coarse real-time clock through libc; elsewhere `Date.now`. */
export function wallClock(libc: Libc, os: string): WallClock {
  if (os !== "linux") return Date.now;
  // struct timespec { i64 tv_sec; i64 tv_nsec } as little-endian 32-bit halves
  // (x86_64 and aarch64): no BigInt on the hot path.
  const ts = new Int32Array(4);
  if (libc.clock_gettime(CLOCK_REALTIME_COARSE, ts) !== 0) return Date.now;
  return () => {
    libc.clock_gettime(CLOCK_REALTIME_COARSE, ts);
    return ((ts[1] * 4294967296 + (ts[0] >>> 0)) * 1000) +
      Math.floor(ts[2] / 1e6);
  };
}

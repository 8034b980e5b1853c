/**
 * The POSIX platform's waits: a waiter sleeps in the kernel on the wake
 * word in the mapping (Linux futex, macOS os_sync/ulock) until a releaser
 * wakes it; where the OS has neither, waiting for a lock polls.
 *
 * @module
 */

import type { Libc } from "./libc.ts";
import type { PosixConstants } from "./constants.ts";
import type { PosixMapping } from "./mapping.ts";
import type { LockWait, Mapping, Platform } from "../platform.ts";
import { linuxFutex } from "../linux/futex.ts";
import { darwinAddressWaits } from "../darwin/address_waits.ts";
import { timedWaits } from "../timed_waits.ts";

/** Builds the wait members; `sleep` blocks the thread (a wait without a word). */
export function posixWaits(
  libc: Libc,
  c: PosixConstants,
  sleep: (ms: number) => void,
): Pick<
  Platform,
  "wakeups" | "wake" | "waitSync" | "waitAny" | "interruptWait"
> {
  // Kernel wake-ups where the OS has them; else waiting for a lock polls.
  const futex = linuxFutex(libc, c) ?? darwinAddressWaits(libc, c);
  const address = (w: LockWait): number =>
    (w.mapping as PosixMapping).address + w.offset;
  return futex === undefined ? timedWaits(sleep) : {
    wakeups: true,
    wake: (mapping: Mapping, offset: number) =>
      futex.wake((mapping as PosixMapping).address + offset),
    waitSync(wait: LockWait, ms: number) {
      if (wait.mapping === null) sleep(ms);
      else futex.waitSync(address(wait), wait.expected, ms);
    },
    waitAny: (waits: readonly LockWait[], ms: number) =>
      futex.waitAny(
        waits.filter((w) => w.mapping !== null).map((w) => ({
          address: address(w),
          expected: w.expected,
        })),
        ms,
      ),
    interruptWait: () => futex.interrupt(),
  };
}

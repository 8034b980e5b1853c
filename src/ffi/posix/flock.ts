/**
 * The lock itself: `flock(2)` on the lock file — the lock other `flock`
 * clients (Python's filelock, flock(1)) take — tried, waited for on the
 * main thread, and released.
 *
 * @module
 */

import type { Libc } from "./libc.ts";
import type { PosixErrors } from "./os_errors.ts";
import type { PosixConstants } from "./constants.ts";
import type { Platform } from "../platform.ts";
import { runtime } from "../runtime/runtime.ts";

/** What flock(2) itself can fail with, by name (the same on Linux and macOS). */
const FLOCK_ERRORS = new Set([
  "EWOULDBLOCK",
  "EAGAIN",
  "EINTR",
  "EBADF",
  "EINVAL",
  "ENOLCK",
  "ENOMEM",
  "EOPNOTSUPP",
]);

/** Builds `tryLock`, `lock` (main thread only) and `unlock` over flock. */
export function posixFlock(
  libc: Libc,
  c: PosixConstants,
  { E, names, error, fail }: PosixErrors,
): Pick<Platform, "tryLock" | "lock" | "unlock"> {
  const lockExclusive = c.LOCK_EX | c.LOCK_NB;
  const lockShared = c.LOCK_SH | c.LOCK_NB;

  /**
   * Whether a failed `flock` that left errno `e` is worth asking again (the
   * `attempt`th time). flock(2) fails only with the errors in
   * `FLOCK_ERRORS`; any other value was not the call's (a
   * stress run under Deno once read ENOENT), so the call is made again, a
   * few times, before it is reported.
   */
  const retryFlock = (e: number, attempt: number): boolean =>
    !FLOCK_ERRORS.has(names[e] ?? "") && attempt <= 3;

  return {
    tryLock(fd, shared) {
      const op = shared === true ? lockShared : lockExclusive;
      for (let unlikely = 0;;) {
        if (libc.flock(fd, op) === 0) return true;
        const e = libc.errno();
        if (e === E.EAGAIN) return false;
        if (e !== E.EINTR && !retryFlock(e, ++unlikely)) {
          throw error("flock", e);
        }
      }
    },
    lock: runtime.mainThread
      ? (fd) => {
        for (let unlikely = 0; libc.flock(fd, c.LOCK_EX) !== 0;) {
          const e = libc.errno();
          if (e !== E.EINTR && !retryFlock(e, ++unlikely)) {
            throw error("flock", e);
          }
        }
      }
      : undefined,
    unlock(fd) {
      if (libc.flock(fd, c.LOCK_UN) !== 0) fail("flock");
    },
  };
}

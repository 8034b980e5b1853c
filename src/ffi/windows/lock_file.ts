/**
 * The lock itself: `LockFileEx` on byte 0 (length 1) of the lock file — the
 * range Python's filelock locks — tried and released. There is no blocking
 * `lock`: a blocked call could wait on this realm's own lock probes.
 *
 * @module
 */

import type { Kernel32 } from "./kernel32.ts";
import type { WindowsErrors } from "./errors.ts";
import type { WindowsWaits } from "./waits.ts";
import {
  ERROR,
  LOCKFILE_EXCLUSIVE_LOCK,
  LOCKFILE_FAIL_IMMEDIATELY,
  OVERLAPPED,
} from "./constants.ts";
import type { Platform } from "../platform.ts";

/** Builds `tryLock` and `unlock`; `waits` lets go of its probes' grants first. */
export function windowsLockFile(
  k: Kernel32,
  { error, fail }: WindowsErrors,
  waits: Pick<WindowsWaits, "releaseGranted">,
): Pick<Platform, "tryLock" | "unlock"> {
  // Lock calls always use offset 0, so their OVERLAPPED stays all zero (the
  // kernel writes only its Internal fields).
  const lockOverlapped = new Uint8Array(OVERLAPPED.size);
  const count = new Uint8Array(4);
  return {
    tryLock(handle, shared) {
      // A probe of ours granted by a release must not make us fail.
      waits.releaseGranted();
      const flags = shared === true
        ? LOCKFILE_FAIL_IMMEDIATELY
        : LOCKFILE_FAIL_IMMEDIATELY | LOCKFILE_EXCLUSIVE_LOCK;
      if (k.LockFileEx(handle, flags, 0, 1, 0, lockOverlapped) !== 0) {
        return true;
      }
      let e = k.GetLastError();
      if (e === ERROR.IO_PENDING) {
        // Only a handle opened FILE_FLAG_OVERLAPPED pends (ours never are);
        // with FAIL_IMMEDIATELY the answer is already decided: fetch it.
        if (k.GetOverlappedResult(handle, lockOverlapped, count, 1) !== 0) {
          return true;
        }
        e = k.GetLastError();
      }
      if (e === ERROR.LOCK_VIOLATION) return false;
      throw error("LockFileEx", e);
    },
    unlock(handle) {
      if (k.UnlockFileEx(handle, 0, 1, 0, lockOverlapped) === 0) {
        fail("UnlockFileEx");
      }
    },
  };
}

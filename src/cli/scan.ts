/**
 * One look at a lock directory: every lock in it and its state, read
 * without taking, probing or mapping any lock.
 *
 * @module
 */

import type { Platform } from "../ffi/platform.ts";
import { checkDirectory } from "./directory.ts";
import { findLocks } from "./find.ts";
import { inspectLock, type LockStatus, type Observer } from "./inspect.ts";
import { readProcLocks } from "./proc_locks.ts";
import { groupSemaphores } from "./semaphores.ts";

/** The result of one look at a directory. */
export interface Scan {
  /** The directory looked at. */
  readonly dir: string;
  /** When (ms since the epoch). */
  readonly at: number;
  /** Whether the directory exists (a default directory may not yet). */
  readonly exists: boolean;
  /** The locks, sorted by name. */
  readonly locks: readonly LockStatus[];
  /** Whether holders without a memshare header (flock(1), filelock) can be seen: Linux only. */
  readonly flocksVisible: boolean;
}

/**
 * Checks `dir` (see `checkDirectory`; a missing one is an error unless
 * `missingOk`) and reports every lock in it.
 */
export function scanDirectory(
  dir: string,
  platform: Platform,
  missingOk = false,
): Scan {
  const exists = checkDirectory(dir, platform.uid(), missingOk);
  const flocks = readProcLocks(platform);
  const at = Date.now();
  if (!exists) {
    return { dir, at, exists, locks: [], flocksVisible: flocks !== null };
  }
  const observer: Observer = {
    processAlive: (pid) => platform.processAlive(pid),
    identify(path) {
      try {
        const status = platform.statPath(path);
        return status?.kind === "file" ? status.id : null;
      } catch {
        return null; // Unreadable: its flock holders stay unseen, nothing worse.
      }
    },
    flocks,
  };
  const locks: LockStatus[] = [];
  for (const files of findLocks(dir)) {
    const status = inspectLock(files, observer);
    if (status !== null) locks.push(status);
  }
  return {
    dir,
    at,
    exists,
    locks: groupSemaphores(locks),
    flocksVisible: flocks !== null,
  };
}

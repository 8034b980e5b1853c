/**
 * Claiming the header after the OS lock was taken.
 *
 * The OS lock alone excludes every holder that locked the same lock-file
 * inode. The header's holder word covers the rest — a lock file deleted or
 * replaced while in use, where two processes can each hold an OS lock on a
 * different inode. Claiming is one compare-and-swap of the holder word from
 * 0 to our pid; the lock-file identity kept next to it is compared without
 * a system call, and only a mismatch or a non-free word looks closer.
 *
 * @module
 */

import type { Platform } from "../../ffi/platform.ts";
import type { Header } from "./header.ts";
import type { SharedFiles } from "./shared_files.ts";

/** The OS lock is ours and so is the header; `recovered` if its last holder died holding it. */
export interface Claimed {
  /** Whether the previous holder died without releasing. */
  readonly recovered: boolean;
}

/** A live process holds the lock through another inode of a replaced lock file: wait. */
export const BUSY = "busy";
/** Our lock-file handle no longer names the file at the path: reopen and retry. */
export const STALE = "stale";

/** Result of a claim. */
export type ClaimResult = Claimed | typeof BUSY | typeof STALE;

const FRESH: Claimed = Object.freeze({ recovered: false });
const RECOVERED: Claimed = Object.freeze({ recovered: true });

/**
 * Claims `header` for `pid`, with the OS lock held on `files.lockHandle`.
 * With `verify`, first checks that the lock file at the path is still the
 * one locked (a client that does not use the header, such as flock(1), may
 * hold a new file there). On BUSY or STALE the header is left as found and
 * the caller unlocks.
 */
export function claimHeader(
  header: Header,
  files: SharedFiles,
  pid: number,
  platform: Platform,
  verify: boolean,
): ClaimResult {
  if (verify && !files.lockPathIsOurs()) return STALE;
  const previous = header.swapHolder(0, pid);
  if (previous === 0) {
    if (header.lockIdIs(files.lockId)) return FRESH;
    // Another lock-file inode was used last: is ours still the one at the path?
    if (!files.lockPathIsOurs()) {
      header.swapHolder(pid, 0);
      return STALE;
    }
    header.recordLockId(files.lockId);
    return FRESH;
  }
  // The word says held although we hold the OS lock: its holder died, or it
  // holds another inode of a lock file that was replaced.
  if (!files.lockPathIsOurs()) return STALE;
  const holderUsedOurInode = header.lockIdIs(files.lockId);
  if (
    !holderUsedOurInode &&
    (previous === pid || platform.processAlive(previous))
  ) {
    return BUSY;
  }
  if (header.swapHolder(previous, pid) !== previous) return BUSY;
  header.recordLockId(files.lockId);
  header.recoveries = header.recoveries + 1;
  return RECOVERED;
}

/**
 * What `MemoryShareLock.info()` reports, and its assembly from the lock's
 * header state.
 *
 * @module
 */

import type { LocalState } from "../engine/local/local_engine.ts";

/** What `info()` reports. */
export interface LockInfo {
  /** The data file. */
  path: string;
  /** The lock file. */
  lockPath: string;
  /** This instance's region length in bytes. */
  length: number;
  /** The tag in the header (the last opener's), else this instance's. */
  tagName: string;
  /** Whether anyone holds the lock now (this realm or another process). */
  locked: boolean;
  /** The holder's pid when a memshare process holds it (`null` when free or held by a non-memshare client such as flock(1)). */
  holderPid: number | null;
  /** Since when the holder has held it. */
  holderSince: Date | null;
  /** How many times memshare processes have taken the lock. */
  acquisitions: number;
  /** How many times a holder found the previous one dead. */
  recoveries: number;
  /** How many memshare processes hold the lock shared now (up to 27 are named). */
  readers: number;
  /** Their pids (this process's too, while it holds shared). */
  readerPids: number[];
}

/**
 * The lock's info from its instance fields and the header `state`: the
 * header's tag wins over the instance's.
 *
 * @example
 * ```ts ignore
 * const info = lockInfo(lock, engine.state(front.holding));
 * ```
 */
export function lockInfo(
  lock: Pick<LockInfo, "path" | "lockPath" | "length" | "tagName">,
  state: LocalState,
): LockInfo {
  return {
    path: lock.path,
    lockPath: lock.lockPath,
    length: lock.length,
    tagName: state.tag ?? lock.tagName,
    locked: state.locked,
    holderPid: state.holderPid,
    holderSince: state.holderSince,
    acquisitions: state.acquisitions,
    recoveries: state.recoveries,
    readers: state.readerPids.length,
    readerPids: state.readerPids,
  };
}

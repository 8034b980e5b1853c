/**
 * What `MemoryShareSemaphore.info()` reports, and its assembly from the
 * slots' headers.
 *
 * @module
 */

import type { LocalState } from "../engine/local/local_state.ts";

/** One slot in `SemaphoreInfo`. */
export interface SlotInfo {
  /** The slot number. */
  slot: number;
  /** The slot's data file (its lock file is `path + ".lock"`). */
  path: string;
  /** Whether anyone holds the slot now (this realm or another process). */
  locked: boolean;
  /** The holder's pid when a memshare process holds it. */
  holderPid: number | null;
  /** Since when the holder has held it. */
  holderSince: Date | null;
  /** How many times memshare processes have taken this slot. */
  acquisitions: number;
  /** How many times a holder of this slot found the previous one dead. */
  recoveries: number;
}

/** What `MemoryShareSemaphore.info()` reports. */
export interface SemaphoreInfo {
  /** The meta file, which records the slot count. */
  path: string;
  /** Its lock file. */
  lockPath: string;
  /** How many slots. */
  slots: number;
  /** Bytes per slot this instance maps. */
  length: number;
  /** This instance's tag. */
  tagName: string;
  /** How many slots are held now, by anyone. */
  held: number;
  /** Acquisitions of all slots by memshare processes. */
  acquisitions: number;
  /** Recoveries of all slots. */
  recoveries: number;
  /** Each slot's state, by slot number. */
  slotInfo: SlotInfo[];
}

/**
 * The semaphore's info from each slot's state (`slotState(k)`, read in slot
 * order) and data file: per-slot rows and their totals.
 *
 * @example
 * ```ts ignore
 * const info = semaphoreInfo(sem, slotPaths, (k) => engine.slotState(k));
 * ```
 */
export function semaphoreInfo(
  semaphore: Pick<
    SemaphoreInfo,
    "path" | "lockPath" | "slots" | "length" | "tagName"
  >,
  slotPaths: readonly string[],
  slotState: (slot: number) => LocalState,
): SemaphoreInfo {
  const slotInfo: SlotInfo[] = [];
  let held = 0, acquisitions = 0, recoveries = 0;
  for (let k = 0; k < semaphore.slots; k++) {
    const state = slotState(k);
    if (state.locked) held++;
    acquisitions += state.acquisitions;
    recoveries += state.recoveries;
    slotInfo.push({
      slot: k,
      path: slotPaths[k],
      locked: state.locked,
      holderPid: state.holderPid,
      holderSince: state.holderSince,
      acquisitions: state.acquisitions,
      recoveries: state.recoveries,
    });
  }
  return {
    path: semaphore.path,
    lockPath: semaphore.lockPath,
    slots: semaphore.slots,
    length: semaphore.length,
    tagName: semaphore.tagName,
    held,
    acquisitions,
    recoveries,
    slotInfo,
  };
}

/**
 * The starting gate: a lock the driver holds while the bots start up. Each
 * bot waits on it, then reads the run's schedule from its shared memory, so
 * all bots begin together however long their runtime took to start.
 *
 * Memory: 0 f64 start, 8 f64 stop (ms since the epoch).
 *
 * @module
 */

import { MemoryShareLock } from "../mod.ts";

/** When the bots start and stop, ms since the epoch. */
export interface Schedule {
  /** Start of the run. */
  readonly start: number;
  /** No bot begins an action after this. */
  readonly stop: number;
}

/** The gate lock in `dir`. */
export function openGate(dir: string): MemoryShareLock {
  return new MemoryShareLock("gate", {
    length: 16,
    tagName: "starting gate",
    dir,
  });
}

/** Writes the schedule (the driver, holding the gate). */
export function writeSchedule(memory: Uint8Array, schedule: Schedule): void {
  const v = new DataView(memory.buffer, memory.byteOffset, 16);
  v.setFloat64(0, schedule.start, true);
  v.setFloat64(8, schedule.stop, true);
}

/** Reads the schedule (a bot, passing the gate). */
export function readSchedule(memory: Uint8Array): Schedule {
  const v = new DataView(memory.buffer, memory.byteOffset, 16);
  return { start: v.getFloat64(0, true), stop: v.getFloat64(8, true) };
}

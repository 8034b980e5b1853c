/**
 * How long a critical section holds the lock and where it yields: mostly
 * 0–MAX ms (MAX = `--max-hold`, default 5), sometimes 2–12 × MAX, and
 * sometimes a pause between the counter write and the done count, so that
 * kills land in every phase.
 *
 * @module
 */

import { between, chance } from "./random.ts";

/** Timing of one critical section, in ms. */
export interface Pace {
  /** Between reading the counter and writing it back (0: still yields once). */
  readonly hold: number;
  /** Between writing the counter and counting the section done (0: no yield). */
  readonly gap: number;
}

/** A random pace: hold 0–`max` ms mostly, 2–12 × `max` one time in twenty. */
export function randomPace(max: number): Pace {
  const hold = chance(0.15)
    ? 0
    : chance(0.06)
    ? between(2 * max, 12 * max)
    : between(0, max);
  return { hold, gap: chance(0.25) ? between(0, Math.min(3, max)) : 0 };
}

/** Resolves after `ms` (a macrotask: other tasks of the process run meanwhile). */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

const blocker = new Int32Array(new SharedArrayBuffer(4));

/** Blocks the thread for `ms`, for critical sections entered synchronously. */
export function blockingSleep(ms: number): void {
  if (ms > 0) Atomics.wait(blocker, 0, 0, ms);
}

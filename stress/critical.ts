/**
 * The critical section every stress holder runs, and its checks. On entry
 * the owner word must be 0 — unless the guard is `recovered`, when it may
 * still name the holder that died inside; then the dead holder's slot is
 * marked (the driver checks it was one it killed) and, if it died between
 * writing the counter and counting its section done, its count is
 * completed, so the counter stays exactly the sum of the done counts.
 * On exit the owner word must still be ours.
 *
 * @module
 */

import {
  COUNTER,
  DONE,
  FIRST_WORKER_SLOT,
  OWNER,
  OWNER_PID,
  RECOVERED_FROM,
  RECOVERIES,
  REPAIRED,
  totalDone,
} from "./layout.ts";
import { blockingSleep, type Pace, sleep } from "./pace.ts";

/** Who runs the critical section. */
export interface Holder {
  /** Its slot (see layout.ts). */
  readonly slot: number;
  /** Its process id. */
  readonly pid: number;
}

/**
 * What a recovering holder does first: counts the recovery, marks the dead
 * holder's slot, completes its increment if it died half-way. Returns
 * problems found.
 */
export function recover(words: Uint32Array): string[] {
  words[RECOVERIES]++;
  const owner = words[OWNER];
  if (owner >= FIRST_WORKER_SLOT) words[RECOVERED_FROM + owner] = 1;
  const counter = words[COUNTER];
  const done = totalDone(words);
  if (counter === done) return [];
  if (counter === done + 1 && owner >= FIRST_WORKER_SLOT) {
    // Died after writing the counter, before counting the section done.
    words[DONE + owner]++;
    words[REPAIRED]++;
    return [];
  }
  return [
    `on recovery the counter is ${counter} but ${done} sections are done (owner word ${owner})`,
  ];
}

/** Entry checks and the owner mark; returns problems found. */
function enter(words: Uint32Array, me: Holder, recovered: boolean): string[] {
  const problems = recovered ? recover(words) : [];
  const owner = words[OWNER];
  if (owner !== 0 && (!recovered || owner < FIRST_WORKER_SLOT)) {
    problems.push(
      `slot ${me.slot} entered while slot ${owner} (pid ${
        words[OWNER_PID]
      }) was inside${recovered ? " (recovered guard)" : ""}`,
    );
  }
  // Pid first: whoever sees our slot in OWNER sees our pid too.
  words[OWNER_PID] = me.pid;
  words[OWNER] = me.slot;
  return problems;
}

/** Exit check and clearing the owner mark; returns problems found. */
function leave(words: Uint32Array, me: Holder): string[] {
  const owner = words[OWNER];
  if (owner !== me.slot) {
    return [
      `slot ${owner} (pid ${words[OWNER_PID]}) replaced slot ${me.slot} inside`,
    ];
  }
  words[OWNER] = 0;
  return [];
}

/** The critical section with asynchronous holds; returns problems found. */
export async function criticalSection(
  words: Uint32Array,
  me: Holder,
  recovered: boolean,
  pace: Pace,
): Promise<string[]> {
  const problems = enter(words, me, recovered);
  const value = words[COUNTER];
  await sleep(pace.hold);
  words[COUNTER] = value + 1;
  if (pace.gap > 0) await sleep(pace.gap);
  words[DONE + me.slot]++;
  problems.push(...leave(words, me));
  return problems;
}

/** The same, blocking the thread instead of yielding (for sync acquires). */
export function criticalSectionSync(
  words: Uint32Array,
  me: Holder,
  recovered: boolean,
  pace: Pace,
): string[] {
  const problems = enter(words, me, recovered);
  const value = words[COUNTER];
  blockingSleep(pace.hold);
  words[COUNTER] = value + 1;
  blockingSleep(pace.gap);
  words[DONE + me.slot]++;
  problems.push(...leave(words, me));
  return problems;
}

/**
 * The demo's timeline: one aligned line per turn, printed in the order the
 * turns began. Bots report a turn when it ends (a nested turn before the one
 * around it), so lines wait in a short buffer and leave it sorted.
 *
 * @module
 */

import type { DeskLock } from "./desk.ts";

/** How long a line waits for earlier-starting turns still being reported, ms. */
const SETTLE_MS = 300;

/** One turn as the timeline shows it. */
export interface TurnRow {
  /** When the lock was taken, ms since the epoch. */
  readonly at: number;
  /** Bot name. */
  readonly bot: string;
  /** Runtime running the bot. */
  readonly runtime: string;
  /** Which lock. */
  readonly lock: DeskLock;
  /** How long the acquire waited, ms. */
  readonly waited: number;
  /** How long the lock was held, ms. */
  readonly held: number;
  /** What the bot did. */
  readonly did: string;
}

/** The heading line of the timeline. */
export function timelineHeading(): string {
  return row("time", "bot", "runtime", "lock", "waited", "held", "what it did");
}

/** A turn's line, its time relative to `t0`. */
export function turnLine(turn: TurnRow, t0: number): string {
  return row(
    `${((turn.at - t0) / 1000).toFixed(3)}s`,
    turn.bot,
    turn.runtime,
    turn.lock,
    `${turn.waited.toFixed(1)} ms`,
    `${Math.round(turn.held)} ms`,
    turn.did,
  );
}

function row(
  time: string,
  bot: string,
  runtime: string,
  lock: string,
  waited: string,
  held: string,
  did: string,
): string {
  return `  ${time.padStart(7)}  ${bot.padEnd(5)}  ${runtime.padEnd(7)}  ${
    lock.padEnd(9)
  }  ${waited.padStart(8)}  ${held.padStart(6)}  ${did}`;
}

/** Lines keyed by time, printed in time order once nothing earlier can still arrive. */
export class Timeline {
  #pending: { at: number; text: string }[] = [];
  readonly #print: (text: string) => void;

  /** Prints through `print`. */
  constructor(print: (text: string) => void) {
    this.#print = print;
  }

  /** Queues `text` at time `at` (ms since the epoch). */
  add(at: number, text: string): void {
    this.#pending.push({ at, text });
  }

  /** Prints what began more than the settle time before `now`; everything when `all`. */
  flush(now: number, all = false): void {
    const cutoff = all ? Infinity : now - SETTLE_MS;
    this.#pending.sort((a, b) => a.at - b.at);
    let n = 0;
    while (n < this.#pending.length && this.#pending[n].at <= cutoff) n++;
    for (const line of this.#pending.splice(0, n)) this.#print(line.text);
  }
}

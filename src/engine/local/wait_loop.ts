/**
 * The realm's one OS-level sleeper. Every lock of the realm that has queued
 * acquires joins the loop; the loop makes a single `platform.waitAny` over
 * all their wake words at a time, and after each wake-up (or slice) lets
 * each lock try again. So however many tasks and locks wait, one thread
 * sleeps in the kernel — Deno's FFI pool, shared with file I/O, is never
 * starved.
 *
 * @module
 */

import type { LockWait, Platform } from "../../ffi/platform.ts";

/** A lock of this realm waiting for its OS lock. */
export interface Sleeper {
  /** What it sleeps on, as read before its last failed attempt (`null`: not waiting). */
  readonly word: LockWait | null;
  /** Tries again; leaves the loop (`WaitLoop.remove`) once it no longer waits. */
  retry(): void;
  /** Longest sleep it wants between retries (ms); default `SLICE_MS`. The loop takes the shortest. */
  readonly slice?: number;
}

/**
 * Longest kernel sleep before every waiter retries. memshare releasers wake
 * sleepers at once; the slice bounds the delay after a release by a client
 * that does not (flock(1), Python), and how long a finished script is kept
 * alive by a sleep in flight.
 */
export const SLICE_MS = 10;

/**
 * How much later than its slice an off-thread sleep may return before the
 * waiters retry without it: Deno runs it on the FFI pool, where other
 * blocking calls may be queued ahead of it, and a Bun Worker may be missing
 * from a bundle.
 */
const LATE_MS = 5;

/** Delay before poll number `attempt` where there are no wake-ups: 1, 1, 2, 2, 4, 4, … ms. */
export function pollDelay(attempt: number): number {
  return 1 << Math.min(attempt >> 1, 2);
}

/** The loop; one per realm and platform (`waitLoop`). */
export class WaitLoop {
  readonly #platform: Platform;
  readonly #sleepers = new Set<Sleeper>();
  #running = false;
  #attempt = 0;
  /** Whether an off-thread sleep has not returned yet; no second one starts meanwhile. */
  #sleeping = false;
  /** Ends the current pass's wait early (set while a pass waits). */
  #awake: (() => void) | null = null;

  /** A loop over `platform`'s waits. */
  constructor(platform: Platform) {
    this.#platform = platform;
  }

  /** Joins `sleeper`; an in-flight sleep is cut short so its word is included. */
  add(sleeper: Sleeper): void {
    if (this.#sleepers.has(sleeper)) return;
    this.#sleepers.add(sleeper);
    this.#attempt = 0;
    if (this.#running) this.#platform.interruptWait();
    else void this.#run();
  }

  /** Leaves; when nobody is left, an in-flight sleep is cut short. */
  remove(sleeper: Sleeper): void {
    if (!this.#sleepers.delete(sleeper)) return;
    if (this.#sleepers.size === 0 && this.#running) {
      this.#platform.interruptWait();
    }
  }

  async #run(): Promise<void> {
    this.#running = true;
    try {
      while (this.#sleepers.size > 0) {
        const ms = this.#platform.wakeups
          ? this.#slice()
          : pollDelay(this.#attempt++);
        if (!this.#sleeping) this.#sleep(ms);
        // Until the sleep returns or its slice is well over, whichever is
        // first: a late sleep never holds the waiters up.
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, ms + LATE_MS);
          this.#awake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.#awake = null;
        for (const sleeper of [...this.#sleepers]) sleeper.retry();
      }
    } finally {
      this.#running = false;
    }
  }

  /** The shortest slice any sleeper wants. */
  #slice(): number {
    let ms = Infinity;
    for (const sleeper of this.#sleepers) {
      ms = Math.min(ms, sleeper.slice ?? SLICE_MS);
    }
    return ms;
  }

  /** Starts the one off-thread sleep over every sleeper's word. */
  #sleep(ms: number): void {
    const words: LockWait[] = [];
    for (const sleeper of this.#sleepers) {
      if (sleeper.word !== null) words.push(sleeper.word);
    }
    let sleep: Promise<void>;
    try {
      sleep = this.#platform.waitAny(words, ms);
    } catch (error) {
      sleep = Promise.reject(error);
    }
    this.#sleeping = true;
    const done = () => {
      this.#sleeping = false;
      this.#awake?.();
    };
    // A failed sleep still takes its slice: never a busy loop.
    sleep.then(done, () => setTimeout(done, ms));
  }
}

const loops = new WeakMap<Platform, WaitLoop>();

/** The realm's loop for `platform`. */
export function waitLoop(platform: Platform): WaitLoop {
  let loop = loops.get(platform);
  if (loop === undefined) loops.set(platform, loop = new WaitLoop(platform));
  return loop;
}

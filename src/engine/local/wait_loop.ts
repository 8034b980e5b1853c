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
  /** Whether a pass is under way (its sleep in flight or its deadline ahead). */
  #running = false;
  #attempt = 0;
  /** Whether an off-thread sleep has not returned yet; no second one starts meanwhile. */
  #sleeping = false;
  /** When (a `performance.now()`) the current pass ends at the latest; 0: no pass under way. */
  #deadline = 0;
  /**
   * The one timer that ends a pass whose sleep is late. It is left armed
   * when a wake-up ends the pass (clearing a timer cost Deno ≈ 33 µs of a
   * hand-off right after the wake, before the waiter's retry); when it
   * fires early for a later pass it re-arms for the rest.
   */
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** When the armed timer fires (0: none armed). */
  #timerAt = 0;
  readonly #fire = () => {
    this.#timerAt = 0;
    if (this.#deadline === 0) return; // the pass ended by a wake-up
    const left = this.#deadline - performance.now();
    if (left > 0) this.#arm(this.#deadline, left);
    else this.#passEnded();
  };
  readonly #slept = () => {
    this.#sleeping = false;
    this.#passEnded();
  };

  /** A loop over `platform`'s waits. */
  constructor(platform: Platform) {
    this.#platform = platform;
  }

  /** Joins `sleeper`; an in-flight sleep is cut short so its word is included. */
  add(sleeper: Sleeper): void {
    if (this.#sleepers.has(sleeper)) return;
    this.#sleepers.add(sleeper);
    this.#attempt = 0;
    if (!this.#running) this.#pass();
    else if (this.#sleeping) this.#platform.interruptWait();
  }

  /** Leaves; when nobody is left, an in-flight sleep is cut short. */
  remove(sleeper: Sleeper): void {
    if (!this.#sleepers.delete(sleeper)) return;
    // A waiter granted right after the sleep returned (the usual hand-off)
    // leaves no sleep to interrupt: no system call then.
    if (this.#sleepers.size === 0 && this.#sleeping) {
      this.#platform.interruptWait();
    }
  }

  /**
   * Starts a pass: the off-thread sleep (unless the last one is still in
   * flight) and a timer of its slice plus a grace, whichever ends first ends
   * the pass — a late sleep never holds the waiters up. Callbacks, not
   * `await`s: a wake-up reaches the waiters' retries in one step.
   */
  #pass(): void {
    if (this.#sleepers.size === 0) {
      this.#running = false;
      return;
    }
    this.#running = true;
    const ms = this.#platform.wakeups
      ? this.#slice()
      : pollDelay(this.#attempt++);
    if (!this.#sleeping) this.#sleep(ms);
    this.#deadline = performance.now() + ms + LATE_MS;
    // An armed timer that fires by then re-arms itself for the rest.
    if (this.#timerAt === 0 || this.#timerAt > this.#deadline) {
      if (this.#timerAt !== 0) clearTimeout(this.#timer);
      this.#arm(this.#deadline, ms + LATE_MS);
    }
  }

  #arm(at: number, ms: number): void {
    this.#timerAt = at;
    this.#timer = setTimeout(this.#fire, ms);
  }

  /** The sleep returned or the pass's timer fired: every waiter retries, then the next pass. */
  #passEnded(): void {
    if (this.#deadline === 0) return; // a late sleep between passes
    this.#deadline = 0;
    try {
      for (const sleeper of [...this.#sleepers]) sleeper.retry();
    } finally {
      this.#pass();
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
    // A failed sleep still takes its slice: never a busy loop.
    sleep.then(this.#slept, () => setTimeout(this.#slept, ms));
  }
}

const loops = new WeakMap<Platform, WaitLoop>();

/** The realm's loop for `platform`. */
export function waitLoop(platform: Platform): WaitLoop {
  let loop = loops.get(platform);
  if (loop === undefined) loops.set(platform, loop = new WaitLoop(platform));
  return loop;
}

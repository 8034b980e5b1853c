/**
 * Condition waits of the local engine: a holder whose predicate is false
 * lets go of the lock and sleeps until another holder has ended a turn.
 *
 * A turn ends at every memshare release after which the bytes may differ:
 * while the header counts condition waiters, the releaser bumps the
 * header's turns word and wakes each of them on it (with none counted it
 * touches nothing: a waiter counts itself while it still holds, before it
 * reads its mark, so no turn after a mark can miss it). A waiter whose
 * predicate stayed false lets go without a bump (it only read), so two
 * waiters never wake each other in a loop. A client that does not use the
 * header (flock(1), Python's FileLock) bumps nothing: while a waiter
 * sleeps it probes the lock file once a slice, and a hold by such a client
 * (the lock held, no memshare holder named) counts as a turn once it ends.
 * Slices grow from 10 ms to 250 ms while the lock stays free, and are 10 ms
 * while such a client holds it: its release is noticed within 10 ms, the
 * start of its hold within 250 ms (10 ms right after the waiter let go,
 * when a client queued behind it gets in); a hold shorter than the slice
 * may go unnoticed until the next memshare turn.
 *
 * @module
 */

import type { LockWait, Platform } from "../../ffi/platform.ts";
import { CONDITION_WAITERS_WORD, type Header, TURNS_WORD } from "./header.ts";
import type { SharedFiles } from "./shared_files.ts";
import { type Sleeper, SLICE_MS, waitLoop } from "./wait_loop.ts";

const TURNS_OFFSET = TURNS_WORD * 4;
/** In the condition waiters word: the count of sleepers (low bits)… */
const COUNT = 0x3fffffff;
/** …and the wake-pending bit: set by the releaser that woke them, cleared by each sleeper before it looks again. */
const PENDING = 0x40000000;
/**
 * Most wake calls one release makes (the platforms wake one sleeper per
 * call); more sleeping processes notice the turn within a slice.
 */
const MOST_WAKES = 32;
/**
 * Longest slice between probes while the lock stays free: slices double
 * from `SLICE_MS` up to this, and drop back to `SLICE_MS` while a client
 * that does not use the header holds the lock. A waiting process so wakes
 * about 5 times a second, not 100 (each off-thread sleep costs the runtime
 * CPU time: ~1 ms on a busy machine).
 */
const LONGEST_SLICE_MS = 250;

/**
 * Ends a turn: bumps the turns word and wakes the condition waiters —
 * once per round of sleeps, like `wakeWaiters`: a count left behind by a
 * killed sleeper costs one round of wake calls, not a call per release.
 * Called by the holder. With no condition waiter counted nothing is
 * bumped: a waiter counts itself while it still holds (`countWaiter`),
 * before it reads its mark, so every turn after a mark sees the count.
 */
export function endTurn(
  header: Header,
  files: SharedFiles,
  platform: Platform,
): void {
  const words = header.words;
  // A plain read: every count that matters was made under the lock we hold.
  if ((words[CONDITION_WAITERS_WORD] & COUNT) === 0) return;
  Atomics.add(words, TURNS_WORD, 1);
  const state = Atomics.load(words, CONDITION_WAITERS_WORD);
  if ((state & COUNT) === 0 || (state & PENDING) !== 0) return;
  const before = Atomics.or(words, CONDITION_WAITERS_WORD, PENDING);
  if ((before & PENDING) !== 0) return;
  const sleepers = Math.min(before & COUNT, MOST_WAKES);
  for (let i = 0; i < sleepers; i++) {
    platform.wake(files.mapping!, TURNS_OFFSET);
  }
}

/** Counts a condition waiter in the header; call while holding, before reading the mark. */
export function countWaiter(header: Header): void {
  Atomics.add(header.words, CONDITION_WAITERS_WORD, 1);
}

/**
 * For a condition wait, while holding: counts the waiter (unless
 * `counted` already) and returns the turns word, the mark it sleeps past.
 */
export function markTurnWait(header: Header, counted: boolean): number {
  if (!counted) countWaiter(header);
  return Atomics.load(header.words, TURNS_WORD);
}

/** Takes back a `countWaiter` whose wait never began. */
export function uncountWaiter(header: Header): void {
  Atomics.sub(header.words, CONDITION_WAITERS_WORD, 1);
}

/**
 * One sleeping condition waiter: counted in the header while it sleeps,
 * woken by a turn's end, or by a slice's probe seeing that a client that
 * does not use the header held the lock and let it go.
 */
export class TurnWait implements Sleeper {
  /** What the realm's wait loop sleeps on (`null`: slices only). */
  word: LockWait | null;
  readonly #files: SharedFiles;
  readonly #platform: Platform;
  readonly #mark: number;
  /** Whether this realm holds the lock in any way now (then no probe). */
  readonly #held: () => boolean;
  #woken: (() => void) | null = null;
  #counted = false;
  /** A client that does not use the header was seen holding the lock. */
  #sawForeign = false;
  /** Current slice between probes (see `LONGEST_SLICE_MS`). */
  slice: number = SLICE_MS;

  /** Waiting for a turn to end after `mark`; `counted`: `countWaiter` was called for it (the wait then uncounts it). */
  constructor(
    files: SharedFiles,
    platform: Platform,
    mark: number,
    held: () => boolean,
    counted: boolean,
  ) {
    this.#files = files;
    this.#platform = platform;
    this.#mark = mark;
    this.#held = held;
    // Windows wakes its waiters through the lock file, which is free while
    // the condition waits: there the turns word is read once a slice.
    this.word = platform.os === "windows" ? null : {
      lockPath: files.lockPath,
      mapping: files.mapping,
      offset: TURNS_OFFSET,
      expected: mark,
    };
    if (!counted) countWaiter(files.header!);
    this.#counted = true;
  }

  /**
   * Whether a turn has ended since the mark (or a foreign hold ended).
   * Re-arms the wake first: a turn that ends after this wakes us.
   */
  turned(): boolean {
    const words = this.#files.header!.words;
    Atomics.and(words, CONDITION_WAITERS_WORD, ~PENDING);
    if (Atomics.load(words, TURNS_WORD) !== this.#mark) return true;
    return this.#probe();
  }

  /** Sleeps in the realm's wait loop; `woken` is called once a turn ended. */
  start(woken: () => void): void {
    this.#woken = woken;
    if (this.turned()) return this.#fire();
    waitLoop(this.#platform).add(this);
  }

  /** Blocks the thread until a turn ended or `ms` pass; whether one did. */
  sleepSync(ms: number): boolean {
    const start = performance.now();
    for (;;) {
      if (this.turned()) return true;
      const left = ms - (performance.now() - start);
      if (left <= 0) return false;
      const slice = Math.min(this.slice, left);
      if (this.word === null) this.#platform.sleep(slice);
      else this.#platform.waitSync(this.word, slice);
    }
  }

  /** Leaves the wait loop and the header's count. Idempotent. */
  stop(): void {
    this.#woken = null;
    waitLoop(this.#platform).remove(this);
    if (this.#counted) {
      this.#counted = false;
      uncountWaiter(this.#files.header!);
    }
  }

  /** Called by the wait loop after each wake-up or slice. */
  retry(): void {
    if (this.#woken !== null && this.turned()) this.#fire();
  }

  #fire(): void {
    const woken = this.#woken;
    this.stop();
    woken?.();
  }

  /**
   * A look at the OS lock (shared, for an instant) while this realm holds
   * nothing: held with no memshare holder named is a foreign client; free
   * after that is the end of its turn.
   */
  #probe(): boolean {
    if (this.#held()) return false;
    const files = this.#files;
    const platform = this.#platform;
    if (!platform.tryLock(files.lockHandle, true)) {
      if (files.header!.holder === 0) {
        this.#sawForeign = true;
        this.slice = SLICE_MS;
      }
      return false;
    }
    platform.unlock(files.lockHandle);
    this.slice = Math.min(this.slice * 2, LONGEST_SLICE_MS);
    return this.#sawForeign;
  }
}

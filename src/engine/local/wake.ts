/**
 * Wake-ups between processes through the header: a waiting process counts
 * itself in the header's waiter word and sleeps on the wake word; a releaser
 * that sees other waiters bumps the wake word and wakes them. A releaser
 * that sees none makes no system call, and neither does one whose wake-up
 * the sleepers have not yet acted on (the wake-pending flag): a process that
 * releases and re-takes the lock in a loop wakes the others once per round,
 * not once per release.
 *
 * @module
 */

import type { LockWait, Platform } from "../../ffi/platform.ts";
import {
  type Header,
  WAITERS_WORD,
  WAKE_PENDING_WORD,
  WAKE_WORD,
} from "./header.ts";
import type { SharedFiles } from "./shared_files.ts";
import { type Sleeper, waitLoop } from "./wait_loop.ts";

const WAKE_OFFSET = WAKE_WORD * 4;

/**
 * One lock's waiting, in this realm: its count in the header, the wake
 * sequence read before each attempt, and (for async waits) its place in the
 * realm's wait loop.
 */
export class Waiting implements Sleeper {
  /** What to sleep on after a failed attempt (`null` until prepared). */
  word: LockWait | null = null;
  readonly #files: SharedFiles;
  readonly #platform: Platform;
  readonly #retry: () => void;
  #counted: Header | null = null;
  #inLoop = false;

  /** Waiting for the lock behind `files`; `retry` is called after each async sleep. */
  constructor(files: SharedFiles, platform: Platform, retry: () => void) {
    this.#files = files;
    this.#platform = platform;
    this.#retry = retry;
  }

  /** Whether this realm is counted as a waiter in the header. */
  get counted(): boolean {
    return this.#counted !== null;
  }

  /**
   * Call before each attempt while waiting: counts us in the header (so a
   * releaser wakes us) and reads the wake sequence, so a release between
   * this and a failed attempt is not missed.
   */
  prepare(): void {
    const header = this.#files.header ?? this.#files.mapIfReady();
    if (header === null) {
      this.word = {
        lockPath: this.#files.lockPath,
        mapping: null,
        offset: WAKE_OFFSET,
        expected: 0,
      };
      return;
    }
    if (this.#counted === null) {
      Atomics.add(header.words, WAITERS_WORD, 1);
      this.#counted = header;
    }
    // Re-arm before reading the sequence: a release after this wakes us.
    Atomics.store(header.words, WAKE_PENDING_WORD, 0);
    this.word = {
      lockPath: this.#files.lockPath,
      mapping: this.#files.mapping!,
      offset: WAKE_OFFSET,
      expected: Atomics.load(header.words, WAKE_WORD),
    };
  }

  /** After a failed attempt (async path): sleep in the realm's wait loop until woken. */
  join(): void {
    if (this.#inLoop) return;
    this.#inLoop = true;
    waitLoop(this.#platform).add(this);
  }

  /** Blocks the thread until woken or `ms` pass (the sync path). */
  sleep(ms: number): void {
    if (this.word === null) this.#platform.sleep(ms);
    else this.#platform.waitSync(this.word, ms);
  }

  /**
   * No longer waiting: uncounts us and leaves the loop. `took` says whether
   * we leave holding the lock; if not, a wake-up that may have been meant
   * for us is passed on to another waiter (releasers wake only one).
   */
  stop(took: boolean): void {
    if (this.#inLoop) {
      this.#inLoop = false;
      waitLoop(this.#platform).remove(this);
    }
    const header = this.#counted;
    if (header !== null) {
      this.#counted = null;
      const words = header.words;
      if (
        !took && Atomics.load(words, WAKE_PENDING_WORD) === 1 &&
        Atomics.load(words, WAITERS_WORD) > 1
      ) {
        Atomics.add(words, WAKE_WORD, 1);
        this.#platform.wake(this.#files.mapping!, WAKE_OFFSET);
      } else {
        // Let the next release wake the rest.
        Atomics.store(words, WAKE_PENDING_WORD, 0);
      }
      Atomics.sub(words, WAITERS_WORD, 1);
    }
    this.word = null;
  }

  /** Called by the wait loop. */
  retry(): void {
    this.#retry();
  }
}

/**
 * After a release: wakes another process's waiter, if the header counts any
 * besides this realm (`selfCounted`). No system call when nobody waits, nor
 * while an earlier wake-up has not been acted on.
 */
export function wakeWaiters(
  files: SharedFiles,
  platform: Platform,
  selfCounted: boolean,
): void {
  const words = files.header!.words;
  if (
    Atomics.load(words, WAITERS_WORD) > (selfCounted ? 1 : 0) &&
    Atomics.compareExchange(words, WAKE_PENDING_WORD, 0, 1) === 0
  ) {
    Atomics.add(words, WAKE_WORD, 1);
    platform.wake(files.mapping!, WAKE_OFFSET);
  }
}

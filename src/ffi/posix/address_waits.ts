/**
 * What a kernel wait-on-address facility offers the POSIX platform: sleep
 * while a 32-bit word of shared memory holds a value, until another thread
 * or process wakes it. Linux's futex (`futex.ts`) and macOS's
 * `os_sync_wait_on_address` / `__ulock_wait` (`darwin_address_waits.ts`)
 * both implement it.
 *
 * @module
 */

import type { SleepWord } from "../linux/futex_wait_args.ts";

/** Wait-on-address operations the platform offers. */
export interface AddressWaits {
  /** Wakes one sleeper on the word at `address`. */
  wake(address: number): void;
  /** Sleeps while the word at `address` equals `expected`, at most `ms`. Blocks the thread. */
  waitSync(address: number, expected: number, ms: number): void;
  /** Resolves when a word changes or is woken, after `ms`, or on `interrupt()`. One call at a time. */
  waitAny(words: readonly SleepWord[], ms: number): Promise<void>;
  /** Makes an in-flight `waitAny` return now. */
  interrupt(): void;
}

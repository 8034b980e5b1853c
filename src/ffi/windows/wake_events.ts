/**
 * The Windows wake-up for systems that never complete a waiting
 * `LockFileEx` (Wine 10 accepts the request and drops it): a named
 * manual-reset event per wake word, which memshare releasers set after
 * bumping the word. It wakes only for memshare releasers, like the Linux
 * futex; releases by other clients are seen at the wait loop's slice.
 *
 * A waiter resets the event before it compares the word, so a release
 * after the comparison leaves the event set for its wait. Another waiter's
 * reset in between can swallow that one wake-up; the slice bounds the delay.
 *
 * @module
 */

import type { Kernel32 } from "./kernel32.ts";
import type { LockWait, Mapping } from "../platform.ts";
import { runtime } from "../runtime/runtime.ts";
import { wide } from "./utf16.ts";
import { EVENT_MODIFY_STATE } from "./constants.ts";

/** The event name of the wake word at `offset` of `mapping` (the same in every process), or `null` if unknown. */
export type WakeName = (mapping: Mapping, offset: number) => string | null;

/** Named wake events: opened by waiters, set by releasers. */
export class WakeEvents {
  readonly #k: Pick<
    Kernel32,
    "CreateEventW" | "OpenEventW" | "SetEvent" | "ResetEvent" | "CloseHandle"
  >;
  readonly #name: WakeName;

  /** Events named by `name`. */
  constructor(k: Kernel32, name: WakeName) {
    this.#k = k;
    this.#name = name;
  }

  /**
   * The reset event to wait on for `wait` (close it after), `moved` when the
   * word no longer holds `expected` (no need to wait), or `null` when there
   * is no event (no mapping yet).
   */
  open(wait: LockWait): number | "moved" | null {
    if (wait.mapping === null) return null;
    const name = this.#name(wait.mapping, wait.offset);
    if (name === null) return null;
    const text = wide(name);
    const event = this.#k.CreateEventW(null, 1, 0, runtime.addressOf(text));
    if (event === 0) return null;
    this.#k.ResetEvent(event);
    if (wordMoved(wait)) {
      this.#k.CloseHandle(event);
      return "moved";
    }
    return event;
  }

  /** Sets the event of the word at `offset` of `mapping`, if anyone has it open. */
  signal(mapping: Mapping, offset: number): void {
    const name = this.#name(mapping, offset);
    if (name === null) return;
    const event = this.#k.OpenEventW(EVENT_MODIFY_STATE, 0, wide(name));
    if (event === 0) return; // nobody waits on it
    this.#k.SetEvent(event);
    this.#k.CloseHandle(event);
  }
}

/** Whether the wake word of `wait` no longer holds `expected` (false without a mapping). */
export function wordMoved(wait: LockWait): boolean {
  if (wait.mapping === null) return false;
  const word = new Int32Array(wait.mapping.buffer(wait.offset, 4));
  const value = Atomics.load(word, 0);
  // Detached at once: a view must not outlive an unmap.
  (word.buffer as ArrayBuffer).transfer(0);
  return value !== wait.expected;
}

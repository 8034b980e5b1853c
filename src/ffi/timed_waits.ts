/**
 * The wait functions of a platform without kernel wake-ups (Linux without a
 * usable futex, macOS before 10.12): every "sleep until woken" is a timed
 * sleep, so the lock layer polls.
 *
 * @module
 */

import type { Platform } from "./platform.ts";

/** The Platform's wait members as timed sleeps; `sleep` blocks the thread. */
export function timedWaits(
  sleep: (ms: number) => void,
): Pick<
  Platform,
  "wakeups" | "wake" | "waitSync" | "waitAny" | "interruptWait"
> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let wakeNow: (() => void) | undefined;
  return {
    wakeups: false,
    wake() {},
    waitSync(wait, ms) {
      // Like a futex: no sleep when the word already moved on.
      if (wait.mapping !== null) {
        const word = new Int32Array(wait.mapping.buffer(wait.offset, 4));
        const moved = Atomics.load(word, 0) !== wait.expected;
        (word.buffer as ArrayBuffer).transfer(0);
        if (moved) return;
      }
      sleep(ms);
    },
    waitAny(_waits, ms) {
      return new Promise<void>((resolve) => {
        wakeNow = () => {
          clearTimeout(timer);
          wakeNow = undefined;
          resolve();
        };
        timer = setTimeout(wakeNow, ms);
      });
    },
    interruptWait() {
      wakeNow?.();
    },
  };
}

/**
 * Windows wake-ups: a waiter sleeps in the kernel until the lock it wants is
 * released — by anyone — instead of polling.
 *
 * Each waiting lock gets a probe (`windows_lock_probe.ts`): a pending
 * `LockFileEx` on a second handle of its lock file, whose event is set when
 * the lock comes free. The realm's one asynchronous wait is a
 * `WaitForMultipleObjects` over those events and an interrupt event, made
 * off the JavaScript thread (`windows_wait_thread.ts`). Before it resolves,
 * every probe is settled — cancelled, or let go of when it was granted —
 * so the lock layer's retries find the lock as others left it.
 *
 * Where the system never completes such a request (Wine 10), the first
 * probe shows it, and from then on waits use named events that memshare
 * releasers set (`windows_wake_events.ts`).
 *
 * @module
 */

import type { Kernel32 } from "./kernel32.ts";
import { LockProbe } from "./lock_probe.ts";
import type { LockWait, Platform } from "../platform.ts";
import { wide } from "./utf16.ts";
import {
  LONGEST_WAIT_MS,
  MAXIMUM_WAIT_OBJECTS,
  OVERLAPPED,
} from "./constants.ts";
import { WakeEvents, type WakeName, wordMoved } from "./wake_events.ts";
import { type WaitAnyHandle, waitOffThread } from "./wait_thread.ts";

/** The Platform's wait members, and what `tryLock` must call first. */
export interface WindowsWaits extends
  Pick<
    Platform,
    "wakeups" | "wake" | "waitSync" | "waitAny" | "interruptWait"
  > {
  /**
   * Lets go of every lock the in-flight wait's probes were granted, so that
   * this thread's own attempts do not fail on them. Reads memory only when
   * nothing was granted.
   */
  releaseGranted(): void;
}

/**
 * Whether this system completes a waiting `LockFileEx` (so waits wake on any
 * release): `undefined` until a probe has had to wait. For tests and
 * diagnostics.
 */
export function lockWaitsComplete(): boolean | undefined {
  return completes;
}

let completes: boolean | undefined;

/**
 * Back-off after the lock looked free to a probe but the retry found it
 * taken (another waiter's probe, granted by the same release, still holds
 * it): 0, 0, 1, 1, 2, 2, 4 ms, so such rounds never spin the thread.
 */
function backOff(streak: number): number {
  return streak < 2 ? 0 : 1 << Math.min((streak >> 1) - 1, 2);
}

/** A wait's `ms` as a finite DWORD. */
function dword(ms: number): number {
  return Math.min(LONGEST_WAIT_MS, Math.max(0, Math.ceil(ms)));
}

/** The waits over kernel32 `k`; `name` names wake events, `sleep` blocks the thread. */
export function windowsWaits(
  k: Kernel32,
  name: WakeName,
  sleep: (ms: number) => void,
): WindowsWaits {
  const wakeEvents = new WakeEvents(k, name);
  const newEvent = (): number => {
    const event = k.CreateEventW(null, 1, 0, 0);
    if (event === 0) throw new Error(`CreateEventW: error ${k.GetLastError()}`);
    return event;
  };
  const newProbe = (): LockProbe =>
    new LockProbe(
      k,
      newEvent(),
      new Uint8Array(new ArrayBuffer(OVERLAPPED.size)),
    );
  const interrupt = newEvent();
  /** Probes by slot, reused across waits (created on first use). */
  const probes: LockProbe[] = [];
  let syncProbe: LockProbe | undefined;
  /** Probes that may still be written by a request: kept referenced forever. */
  const retired: LockProbe[] = [];
  /** The in-flight wait's pending probes. */
  const armed: LockProbe[] = [];
  let waitThread: WaitAnyHandle | undefined;
  let inFlight = false;
  let streak = 0;
  let syncStreak = 0;

  /** `probe` if it can be reused, else a new one (the old one is kept referenced). */
  function usable(probe: LockProbe | undefined): LockProbe {
    if (probe?.reusable === true) return probe;
    if (probe !== undefined) retired.push(probe);
    return newProbe();
  }

  /**
   * Arms a wait for each of `waits` (at most 63 with the interrupt event;
   * the rest wait for the slice) and adds its handle; true when one is free
   * already, so there is nothing to wait for.
   */
  function arm(
    waits: readonly LockWait[],
    handles: number[],
    events: number[],
  ): boolean {
    const seen = new Set<string>();
    for (const wait of waits) {
      if (handles.length === MAXIMUM_WAIT_OBJECTS) break;
      if (seen.has(wait.lockPath)) continue;
      seen.add(wait.lockPath);
      // Released since the lock layer's last attempt: no need to wait.
      if (wordMoved(wait)) return true;
      if (completes !== false) {
        const probe = probes[armed.length] = usable(probes[armed.length]);
        const start = probe.arm(wide(wait.lockPath));
        if (start === "free") return true;
        if (start === "pending") {
          completes = true;
          armed.push(probe);
          handles.push(probe.event);
          continue;
        }
        // Untracked: from now on, wake events. Failed: a wake event now.
        if (start === "untracked") completes = false;
      }
      const event = wakeEvents.open(wait);
      if (event === "moved") return true;
      if (event !== null) {
        events.push(event);
        handles.push(event);
      }
    }
    return false;
  }

  function releaseGranted(): void {
    for (const probe of armed) if (probe.completed) probe.settle();
  }

  return {
    wakeups: true,
    wake(mapping, offset) {
      // Probes were woken by the release itself; this is for waits on the
      // word (Wine, or a lock file that did not open): one OpenEventW,
      // which fails when nobody has the event open.
      wakeEvents.signal(mapping, offset);
    },
    waitSync(wait, ms) {
      releaseGranted(); // else this thread could wait on its own probe
      if (wordMoved(wait)) return;
      if (completes !== false) {
        syncProbe = usable(syncProbe);
        const start = syncProbe.arm(wide(wait.lockPath));
        if (start === "pending") {
          completes = true;
          syncStreak = 0;
          k.WaitForSingleObject(syncProbe.event, dword(ms));
          syncProbe.settle();
          return;
        }
        if (start === "free") {
          const pause = Math.min(ms, backOff(syncStreak++));
          if (pause > 0) sleep(pause);
          return;
        }
        if (start === "untracked") completes = false;
      }
      const event = wakeEvents.open(wait);
      if (event === "moved") return;
      if (event === null) return sleep(ms);
      k.WaitForSingleObject(event, dword(ms));
      k.CloseHandle(event);
    },
    async waitAny(waits, ms) {
      k.ResetEvent(interrupt);
      inFlight = true;
      const handles = [interrupt];
      const events: number[] = [];
      try {
        const free = arm(waits, handles, events);
        if (free) ms = Math.min(ms, backOff(streak++));
        else streak = 0;
        // Even with nothing to wait for, through the thread: a realm whose
        // retries keep failing must still let its event loop run.
        waitThread ??= waitOffThread();
        await waitThread(handles, dword(ms));
      } finally {
        for (const probe of armed) probe.settle();
        armed.length = 0;
        for (const event of events) k.CloseHandle(event);
        inFlight = false;
      }
    },
    interruptWait() {
      if (inFlight) k.SetEvent(interrupt);
    },
    releaseGranted,
  };
}

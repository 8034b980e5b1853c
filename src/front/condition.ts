/**
 * Condition waits: `guard.waitUntil(predicate)` and `waitUntilSync` — wait,
 * holding the lock at every look, until the shared bytes satisfy a
 * predicate. As a condition variable with its mutex: between looks the
 * lock is let go (no release hooks: the turn is not over), the waiter
 * sleeps until another holder has had a turn, takes the lock back first
 * come, first served with the realm's other tasks, and looks again. It
 * returns holding the lock, also when it fails (timeout, abort).
 *
 * @module
 */

import { LockClosedError } from "../errors.ts";
import { markReleased, ownerOf, type ShareGuardBase } from "./guard.ts";
import { type AcquireOptions, acquireTimeout, checkSignal } from "./options.ts";

/** What a condition wait needs from the front of the lock it holds. */
export interface ConditionOwner {
  /** The lock's default timeout (ms, `Infinity` = forever). */
  readonly timeout: number;
  /**
   * Lets go of the lock `guard` holds without ending its turn: views
   * detached, no hooks. `changed`: its holder may have written (the first
   * time). `sync`: the thread is about to block (the realm's queue is not
   * served meanwhile). Returns the mark to wait past. Throws
   * `LockClosedError` once the lock is closing (still holding).
   */
  suspend(guard: ShareGuardBase, changed: boolean, sync: boolean): number;
  /** Calls `woken` once another holder's turn ended after `mark`; returns a stop function. */
  waitForTurn(mark: number, woken: () => void): () => void;
  /** Blocks until such a turn or `ms` pass; whether one came. */
  waitForTurnSync(mark: number, ms: number): boolean;
  /** Takes the lock back for `guard`, behind the realm's queued tasks (no timeout). */
  resume(guard: ShareGuardBase): Promise<unknown>;
  /** Takes the lock back for `guard`, blocking the thread. */
  resumeSync(guard: ShareGuardBase): void;
  /** Calls `closing` when the lock's `close()` begins; returns a function that forgets it. */
  onClose(closing: () => void): () => void;
  /** The error of a wait that timed out after `timeout` ms. */
  timeoutError(timeout: number): Error;
  /** What errors name. */
  readonly target: string;
}

/** The longest delay `setTimeout` honours. */
const MAX_TIMER_MS = 2 ** 31 - 1;

function conditionOf(guard: ShareGuardBase, method: string): ConditionOwner {
  const condition = ownerOf(guard).condition;
  if (condition === undefined) {
    throw new TypeError(
      `${method}() needs an exclusive hold of a MemoryShareLock (not a shared hold, not another engine's guard)`,
    );
  }
  if (guard.released) {
    throw new TypeError(`${method}() on a released guard`);
  }
  return condition;
}

function checkPredicate(predicate: unknown, method: string): void {
  if (typeof predicate !== "function") {
    throw new TypeError(
      `${method}(predicate): predicate must be a function (memory) => boolean`,
    );
  }
}

function holds(
  predicate: (memory: Uint8Array) => unknown,
  guard: ShareGuardBase,
  method: string,
): boolean {
  const result = predicate(guard.memory);
  if (
    result !== null && typeof result === "object" &&
    typeof (result as PromiseLike<unknown>).then === "function"
  ) {
    throw new TypeError(
      `${method}(predicate): the predicate returned a promise; it must answer at once (it runs holding the lock)`,
    );
  }
  return Boolean(result);
}

/** See `LockGuard.waitUntil`. */
export async function waitUntil(
  guard: ShareGuardBase,
  predicate: (memory: Uint8Array) => boolean,
  options?: AcquireOptions,
): Promise<void> {
  const condition = conditionOf(guard, "waitUntil");
  checkPredicate(predicate, "waitUntil");
  const timeout = acquireTimeout(options, condition.timeout, "waitUntil");
  const signal = checkSignal(options?.signal);
  signal?.throwIfAborted();
  if (holds(predicate, guard, "waitUntil")) return;
  if (timeout === 0) throw condition.timeoutError(0);
  const deadline = performance.now() + timeout;
  for (let changed = true;; changed = false) {
    const mark = condition.suspend(guard, changed, false);
    const outcome = await sleep(condition, mark, deadline, timeout, signal);
    if (outcome.closed) {
      markReleased(guard);
      throw outcome.error;
    }
    try {
      await condition.resume(guard);
    } catch (error) {
      // Closed while queued to take it back: nothing is held.
      markReleased(guard);
      throw error;
    }
    if (outcome.error !== undefined) throw outcome.error;
    if (holds(predicate, guard, "waitUntil")) return;
    if (performance.now() >= deadline) throw condition.timeoutError(timeout);
  }
}

/** See `LockGuard.waitUntilSync`. */
export function waitUntilSync(
  guard: ShareGuardBase,
  predicate: (memory: Uint8Array) => boolean,
  options?: { timeout?: number },
): void {
  const condition = conditionOf(guard, "waitUntilSync");
  checkPredicate(predicate, "waitUntilSync");
  const timeout = acquireTimeout(options, condition.timeout, "waitUntilSync");
  if (holds(predicate, guard, "waitUntilSync")) return;
  const deadline = performance.now() + timeout;
  for (let changed = true;; changed = false) {
    const left = deadline - performance.now();
    if (left <= 0) throw condition.timeoutError(timeout);
    const mark = condition.suspend(guard, changed, true);
    const turned = condition.waitForTurnSync(mark, left);
    condition.resumeSync(guard);
    if (!turned) throw condition.timeoutError(timeout);
    if (holds(predicate, guard, "waitUntilSync")) return;
  }
}

interface Outcome {
  /** Why the wait ended early (timeout, abort, close); `undefined`: a turn. */
  readonly error?: unknown;
  /** The lock is closing: do not take it back. */
  readonly closed?: boolean;
}

/** Sleeps until a turn ends after `mark`, the deadline, an abort or `close()`. */
function sleep(
  condition: ConditionOwner,
  mark: number,
  deadline: number,
  timeout: number,
  signal: AbortSignal | undefined,
): Promise<Outcome> {
  return new Promise<Outcome>((resolve) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    // Set below; `finish` may run before they are (a turn already ended).
    const undo: { stopWaiting?: () => void; forgetClose?: () => void } = {};
    let done = false;
    const finish = (outcome: Outcome) => {
      if (done) return;
      done = true;
      if (timer !== undefined) clearTimeout(timer);
      signal?.removeEventListener("abort", abort);
      undo.stopWaiting?.();
      undo.forgetClose?.();
      resolve(outcome);
    };
    const abort = () => finish({ error: signal!.reason });
    undo.forgetClose = condition.onClose(() =>
      finish({ error: new LockClosedError(condition.target), closed: true })
    );
    undo.stopWaiting = condition.waitForTurn(mark, () => finish({}));
    if (done) return undo.stopWaiting(); // the turn had already ended
    if (deadline !== Infinity) {
      const arm = () => {
        const left = deadline - performance.now();
        if (left <= 0) {
          return finish({ error: condition.timeoutError(timeout) });
        }
        timer = setTimeout(arm, Math.min(left, MAX_TIMER_MS));
      };
      arm();
    }
    if (signal?.aborted) return abort();
    signal?.addEventListener("abort", abort, { once: true });
  });
}

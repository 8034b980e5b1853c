/**
 * The one shape of every lock and guard, whatever the engine: code written
 * against `ShareLock` and `ShareGuard` (and the `@locked` decorator) takes a
 * `MemoryShareLock` on one machine or a lock on a server alike.
 *
 * @module
 */

import type { AcquireOptions } from "./options.ts";

/**
 * A held lock of any engine. Engine-specific guards add more: the local
 * lock's exclusive `LockGuard` adds `releaseSync()`, `waitUntil()` /
 * `waitUntilSync()` (condition waits) and `discard()` (atomic commit);
 * semaphore slots and `RedisShareGuard` have no `waitUntil`, and on a shared
 * hold (also a `LockGuard`) it throws a `TypeError`.
 *
 * @example
 * ```ts ignore
 * async function click(lock: ShareLock): Promise<void> {
 *   await using guard: ShareGuard = await lock.acquire({ timeout: 5_000 });
 *   guard.memory[0]++;
 *   await mouse.click({ fence: guard.token });
 * }
 * ```
 */
export interface ShareGuard extends AsyncDisposable {
  /** The shared bytes, valid while held; reads as empty after release. */
  readonly memory: Uint8Array;
  /** Whether the previous holder died (or lost its lease) holding the lock. */
  readonly recovered: boolean;
  /** Fencing token: strictly increases with every acquisition of the lock, by anyone. */
  readonly token: number;
  /** Whether this guard has been released. */
  readonly released: boolean;
  /** Releases the lock (release hooks awaited). Idempotent. */
  release(): Promise<void>;
}

/** A hook of any lock: runs with the shared memory right after acquire or right before release. */
export type ShareHook<L = ShareLock> = (
  memory: Uint8Array,
  lock: L,
) => void | Promise<void>;

/**
 * The asynchronous surface every lock class shares.
 *
 * @example
 * ```ts ignore
 * async function bump(lock: ShareLock): Promise<number> {
 *   return await lock.run((memory) => ++memory[0], { timeout: 1_000 });
 * }
 * ```
 */
export interface ShareLock<G extends ShareGuard = ShareGuard>
  extends AsyncDisposable {
  /** Waits for the lock (FIFO in this realm); rejects on timeout or abort, never leaving it held. */
  acquire(options?: AcquireOptions): Promise<G>;
  /** Runs `fn(memory, guard)` holding the lock; releases when it settles. */
  run<T>(
    fn: (memory: Uint8Array, guard: G) => T | Promise<T>,
    options?: AcquireOptions,
  ): Promise<T>;
  /** A version of `fn` that runs holding the lock. */
  wrap<A extends unknown[], T>(
    fn: (...args: A) => T | Promise<T>,
    options?: AcquireOptions,
  ): (...args: A) => Promise<T>;
  /** Adds an acquire hook; returns a function that removes it. */
  addAcquireHook(hook: ShareHook): () => void;
  /** Adds a release hook; returns a function that removes it. */
  addReleaseHook(hook: ShareHook): () => void;
  /** Rejects this realm's waiters, waits for its holder, lets go of every resource. */
  close(): Promise<void>;
}

/**
 * `MemoryShareLock`: a named cross-process lock with a shared memory region,
 * one instance per data file in a realm.
 *
 * @module
 */

import { currentPlatform } from "../ffi/current.ts";
import type { Claim } from "../engine/engine.ts";
import { LocalEngine } from "../engine/local/local_engine.ts";
import { LockFront } from "../front/lock_front.ts";
import { LockGuard } from "../front/guard.ts";
import {
  type AcquireOptions,
  acquireTimeout,
  checkHook,
  checkOptionKeys,
} from "../front/options.ts";
import { Registry } from "../front/registry.ts";
import type { ShareLock } from "../front/share_lock.ts";
import { addHook, wrapWith } from "../front/wrap.ts";
import { type LockInfo, lockInfo } from "./memory_lock_info.ts";
import {
  checkLockAgrees,
  checkLockOptions,
  type Hook,
  type MemoryShareLockOptions,
} from "./memory_lock_options.ts";

export type { Hook, MemoryShareLockOptions } from "./memory_lock_options.ts";
export type { LockInfo } from "./memory_lock_info.ts";

/** Made on first construction: whether paths ignore case depends on the OS. */
let registry: Registry<MemoryShareLock> | undefined;

/**
 * A named lock shared by processes, with a small shared memory region handed
 * from holder to holder.
 *
 * Files: `DIR/NAME` (a 256-byte header, then `length` bytes — twice with `atomic` — memory-mapped)
 * and `DIR/NAME.lock` (an exclusive `flock`; interoperates with Python's
 * `filelock.FileLock` and `flock(1)` on the same path).
 *
 * @example
 * ```ts ignore
 * import { MemoryShareLock } from "@memshare/lock";
 *
 * const mouse = new MemoryShareLock("mouse_move", { length: 10 });
 * {
 *   await using guard = await mouse.acquire({ timeout: 5_000 });
 *   guard.memory[0]++; // only one process at a time gets here
 * }
 * ```
 */
export class MemoryShareLock implements ShareLock<LockGuard>, AsyncDisposable {
  /** The data file (absolute). */
  readonly path!: string;
  /** The lock file: `path + ".lock"`. */
  readonly lockPath!: string;
  /** Bytes of shared memory this instance maps. */
  readonly length!: number;
  /** The description written to the header. */
  readonly tagName!: string;
  /** Default acquire timeout in ms (`Infinity` = forever). */
  readonly timeout!: number;
  /** Permission bits of created files. */
  readonly mode!: number;
  /** Whether the region is published whole at release (`atomic` option). */
  readonly atomic!: boolean;

  readonly #engine!: LocalEngine;
  readonly #front!: LockFront<Claim, LockGuard, MemoryShareLock>;
  readonly #onAcquire: Hook | undefined;
  readonly #onRelease: Hook | undefined;

  // Fields marked `!` are set below the early return of an existing instance.

  /**
   * Describes the lock and validates every option; opens no file. Returns
   * the existing instance for the same data file in this realm, after
   * checking that the options given agree with it.
   */
  constructor(name: string, options: MemoryShareLockOptions) {
    checkOptionKeys(options);
    const platform = currentPlatform();
    const checked = checkLockOptions(name, options, platform);
    const { paths, length, tagName, timeout, mode, atomic } = checked;
    const { onAcquire, onRelease } = checked;

    registry ??= new Registry(platform.os === "windows");
    const existing = registry.get(paths.path);
    if (existing !== undefined) {
      checkLockAgrees(
        existing.path,
        {
          length: existing.length,
          tagName: existing.tagName,
          timeout: existing.timeout,
          mode: existing.mode,
          atomic: existing.atomic,
          onAcquire: existing.#onAcquire,
          onRelease: existing.#onRelease,
        },
        options,
        checked,
      );
      return existing;
    }

    this.path = paths.path;
    this.lockPath = paths.lockPath;
    this.length = length;
    this.tagName = tagName;
    this.timeout = timeout;
    this.mode = mode;
    this.atomic = atomic;
    this.#engine = new LocalEngine(
      platform,
      paths,
      length,
      mode,
      tagName,
      atomic,
    );
    this.#front = new LockFront(this.#engine, {
      lock: this as MemoryShareLock,
      timeout,
      makeGuard: (claim, owner) =>
        new LockGuard(claim.recovered, claim.token, owner),
      onClosed: () => registry!.delete(this.path, this),
    });
    this.#onAcquire = onAcquire;
    this.#onRelease = onRelease;
    if (onAcquire !== undefined) this.#front.acquireHooks.push(onAcquire);
    if (onRelease !== undefined) this.#front.releaseHooks.push(onRelease);
    registry.set(this.path, this);
  }

  /**
   * Waits for the lock without busy-spinning and returns its guard. Rejects
   * with `LockTimeoutError` after `timeout` ms, or with `signal.reason` when
   * aborted; a rejected acquire never leaves the lock held. Waiters in one
   * realm are served first come, first served.
   *
   * @example
   * ```ts ignore
   * await using guard = await lock.acquire({ timeout: 1_000 });
   * ```
   */
  acquire(options?: AcquireOptions): Promise<LockGuard> {
    return this.#front.acquire(options);
  }

  /**
   * Acquires, then waits holding the lock until `predicate(memory)` is true
   * (`guard.waitUntil`); one `timeout` covers both. Resolves holding the
   * lock with the predicate true; on timeout or abort rejects holding
   * nothing.
   *
   * @example
   * ```ts ignore
   * await using guard = await windowLock.acquireWhen((memory) => memory[0] === MAIL, { timeout: 10_000 });
   * ```
   */
  async acquireWhen(
    predicate: (memory: Uint8Array) => boolean,
    options?: AcquireOptions,
  ): Promise<LockGuard> {
    const start = performance.now();
    const timeout = acquireTimeout(options, this.timeout, "acquireWhen");
    const guard = await this.#front.acquire(options);
    try {
      const left = timeout - (performance.now() - start);
      await guard.waitUntil(predicate, {
        timeout: Math.max(0, left),
        signal: options?.signal,
      });
    } catch (error) {
      await guard.release();
      throw error;
    }
    return guard;
  }

  /**
   * Blocks the thread until the lock is taken (for synchronous scripts).
   * Throws `LockHeldError` at once if this realm already holds it, and
   * `LockTimeoutError` after `timeout` ms. Hooks must be synchronous.
   * Without a timeout, on the main thread, it queues in the kernel's own
   * `flock`, so any release hands the lock over at once.
   *
   * @example
   * ```ts ignore
   * using guard = lock.acquireSync({ timeout: 2_000 });
   * guard.memory[0]++;
   * ```
   */
  acquireSync(options?: { timeout?: number }): LockGuard {
    return this.#front.acquireSync(options);
  }

  /**
   * One attempt: the guard, or `null` when the lock is busy or other tasks
   * of this realm are already waiting for it. Hooks must be synchronous.
   *
   * @example
   * ```ts ignore
   * const guard = lock.tryAcquire();
   * if (guard !== null) guard.releaseSync();
   * ```
   */
  tryAcquire(): LockGuard | null {
    return this.#front.tryAcquire();
  }

  /**
   * A shared hold: any number of shared holders at once — processes,
   * Workers, tasks — while no one holds the lock itself. `guard.memory` is
   * the holder's own copy of the shared bytes, taken at first use: what it
   * writes never reaches the region. New shared holds wait behind a waiting
   * exclusive acquire, so writers are not starved. Hooks do not run.
   *
   * @example
   * ```ts ignore
   * await using reader = await lock.acquireShared({ timeout: 1_000 });
   * console.log(reader.memory[0]);
   * ```
   */
  acquireShared(options?: AcquireOptions): Promise<LockGuard> {
    return this.#front.acquireShared(options);
  }

  /**
   * Blocks the thread until a shared hold is had (see `acquireShared`).
   * Throws `LockHeldError` if this realm holds the lock exclusively.
   *
   * @example
   * ```ts ignore
   * using reader = lock.acquireSharedSync({ timeout: 1_000 });
   * ```
   */
  acquireSharedSync(options?: { timeout?: number }): LockGuard {
    return this.#front.acquireSharedSync(options);
  }

  /**
   * One attempt at a shared hold: the guard, or `null` when a writer holds
   * or waits, or this realm's tasks already wait.
   *
   * @example
   * ```ts ignore
   * const reader = lock.tryAcquireShared();
   * reader?.releaseSync();
   * ```
   */
  tryAcquireShared(): LockGuard | null {
    return this.#front.tryAcquireShared();
  }

  /**
   * Runs `fn(memory, guard)` holding the lock; releases when it returns or
   * throws, and returns its result.
   *
   * @example
   * ```ts ignore
   * const count = await lock.run((memory) => ++memory[0]);
   * ```
   */
  async run<T>(
    fn: (memory: Uint8Array, guard: LockGuard) => T | Promise<T>,
    options?: AcquireOptions,
  ): Promise<T> {
    await using guard = await this.#front.acquire(options);
    try {
      return await fn(guard.memory, guard);
    } catch (error) {
      // A turn that failed halfway publishes nothing, as if killed there.
      if (this.atomic && !guard.released) guard.discard();
      throw error;
    }
  }

  /**
   * Returns a version of `fn` that runs holding the lock.
   *
   * @example
   * ```ts ignore
   * const click = lock.wrap(async (x: number, y: number) => await bot.click(x, y));
   * await click(10, 20);
   * ```
   */
  wrap<A extends unknown[], T>(
    fn: (...args: A) => T | Promise<T>,
    options?: AcquireOptions,
  ): (...args: A) => Promise<T> {
    return wrapWith(this, fn, options);
  }

  /**
   * Adds a hook run after the constructor's `onAcquire`; returns a function that removes it.
   *
   * @example
   * ```ts ignore
   * const remove = lock.addAcquireHook((memory) => console.log(memory[0]));
   * ```
   */
  addAcquireHook(hook: Hook): () => void {
    return addHook(
      this.#front.acquireHooks,
      checkHook(hook, "addAcquireHook(hook): hook") as Hook,
    );
  }

  /**
   * Adds a hook run after the constructor's `onRelease`; returns a function that removes it.
   *
   * @example
   * ```ts ignore
   * const remove = lock.addReleaseHook((memory) => memory[0]++);
   * ```
   */
  addReleaseHook(hook: Hook): () => void {
    return addHook(
      this.#front.releaseHooks,
      checkHook(hook, "addReleaseHook(hook): hook") as Hook,
    );
  }

  /**
   * Whether anyone holds the lock itself (exclusively) now: this realm,
   * another memshare process, or another client of the lock file (flock(1),
   * Python filelock). Shared holders do not count: `info().readers` does.
   * Probes with a shared lock for an instant when needed.
   *
   * @example
   * ```ts ignore
   * if (!lock.isLocked()) console.log("free");
   * ```
   */
  isLocked(): boolean {
    this.#front.assertOpen();
    return this.#front.holding || this.#engine.isLocked();
  }

  /**
   * A snapshot of the lock's state, read from the header.
   *
   * @example
   * ```ts ignore
   * const { locked, holderPid } = lock.info();
   * ```
   */
  info(): LockInfo {
    this.#front.assertOpen();
    return lockInfo(this, this.#engine.state(this.#front.holding));
  }

  /**
   * Rejects this realm's queued waiters with `LockClosedError`, waits for
   * this realm's holder to release, then unmaps and closes the files. A new
   * `MemoryShareLock` for the same file may be made afterwards.
   *
   * @example
   * ```ts ignore
   * await lock.close();
   * ```
   */
  close(): Promise<void> {
    return this.#front.close();
  }

  /** `await using lock = new MemoryShareLock(…)` closes it at scope end. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

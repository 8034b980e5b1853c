/**
 * `MemoryShareLock`: a named cross-process lock with a shared memory region,
 * one instance per data file in a realm.
 *
 * @module
 */

import { currentPlatform } from "../ffi/current.ts";
import type { Claim } from "../engine/engine.ts";
import { LocalEngine } from "../engine/local/local_engine.ts";
import { resolvePaths } from "../engine/local/paths.ts";
import { LockFront } from "../front/lock_front.ts";
import { LockGuard } from "../front/guard.ts";
import {
  type AcquireOptions,
  acquireTimeout,
  checkAtomic,
  checkHook,
  checkLength,
  checkMode,
  checkOptionKeys,
  checkTagName,
  checkTimeout,
} from "../front/options.ts";
import { Registry } from "../front/registry.ts";
import type { ShareLock } from "../front/share_lock.ts";
import { addHook, wrapWith } from "../front/wrap.ts";

/** A hook: runs with the shared memory right after acquire or right before release. */
export type Hook = (
  memory: Uint8Array,
  lock: MemoryShareLock,
) => void | Promise<void>;

/** Options of `new MemoryShareLock(name, options)`. */
export interface MemoryShareLockOptions {
  /** Bytes of shared memory: an integer from 1 to 2**30. */
  length: number;
  /** A description kept in the header and shown by `info()`. Default: the name. */
  tagName?: string;
  /** Where relative names live. Default: `$XDG_RUNTIME_DIR/memshare`, else `/tmp/memshare-<uid>` (macOS `$TMPDIR/memshare`, Windows `%TEMP%\memshare`). */
  dir?: string;
  /** Default acquire timeout in ms: -1 or `Infinity` waits forever (the default), 0 tries once. */
  timeout?: number;
  /** Permission bits of files memshare creates. Default `0o600`. */
  mode?: number;
  /** Runs right after the lock is taken. */
  onAcquire?: Hook;
  /** Runs right before the lock is released. */
  onRelease?: Hook;
  /**
   * Atomic commit: the region is kept twice in the data file; `guard.memory`
   * is a working copy, published whole at release with one atomic store, so
   * a holder killed at any moment leaves the last published bytes whole.
   * Fixed at the file's creation, like its length: every process must agree.
   * Default `false`.
   */
  atomic?: boolean;
}

/** What `info()` reports. */
export interface LockInfo {
  /** The data file. */
  path: string;
  /** The lock file. */
  lockPath: string;
  /** This instance's region length in bytes. */
  length: number;
  /** The tag in the header (the last opener's), else this instance's. */
  tagName: string;
  /** Whether anyone holds the lock now (this realm or another process). */
  locked: boolean;
  /** The holder's pid when a memshare process holds it (`null` when free or held by a non-memshare client such as flock(1)). */
  holderPid: number | null;
  /** Since when the holder has held it. */
  holderSince: Date | null;
  /** How many times memshare processes have taken the lock. */
  acquisitions: number;
  /** How many times a holder found the previous one dead. */
  recoveries: number;
  /** How many memshare processes hold the lock shared now (up to 27 are named). */
  readers: number;
  /** Their pids (this process's too, while it holds shared). */
  readerPids: number[];
}

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
    const paths = resolvePaths(
      name,
      options.dir,
      platform.path,
      () => platform.cwd(),
      () => platform.defaultDirectory(),
    );
    const length = checkLength(options.length);
    const tagName = options.tagName === undefined
      ? name
      : checkTagName(options.tagName);
    const timeout = options.timeout === undefined
      ? Infinity
      : checkTimeout(options.timeout, `MemoryShareLock option "timeout"`);
    const mode = options.mode === undefined ? 0o600 : checkMode(options.mode);
    const atomic = checkAtomic(options.atomic);
    const onAcquire = checkHook(
      options.onAcquire,
      `MemoryShareLock option "onAcquire"`,
    ) as Hook | undefined;
    const onRelease = checkHook(
      options.onRelease,
      `MemoryShareLock option "onRelease"`,
    ) as Hook | undefined;

    registry ??= new Registry(platform.os === "windows");
    const existing = registry.get(paths.path);
    if (existing !== undefined) {
      existing.#checkAgrees(options, {
        length,
        tagName,
        timeout,
        mode,
        atomic,
      });
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
    const state = this.#engine.state(this.#front.holding);
    return {
      path: this.path,
      lockPath: this.lockPath,
      length: this.length,
      tagName: state.tag ?? this.tagName,
      locked: state.locked,
      holderPid: state.holderPid,
      holderSince: state.holderSince,
      acquisitions: state.acquisitions,
      recoveries: state.recoveries,
      readers: state.readerPids.length,
      readerPids: state.readerPids,
    };
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

  #checkAgrees(
    given: MemoryShareLockOptions,
    resolved: {
      length: number;
      tagName: string;
      timeout: number;
      mode: number;
      atomic: boolean;
    },
  ): void {
    const conflicts: string[] = [];
    const compare = (option: string, mine: unknown, theirs: unknown) => {
      if (mine !== theirs) {
        conflicts.push(
          `${option} (${show(theirs)} here, ${
            show(mine)
          } in the existing instance)`,
        );
      }
    };
    compare("length", this.length, resolved.length);
    if (given.tagName !== undefined) {
      compare("tagName", this.tagName, resolved.tagName);
    }
    if (given.timeout !== undefined) {
      compare("timeout", this.timeout, resolved.timeout);
    }
    if (given.mode !== undefined) compare("mode", this.mode, resolved.mode);
    compare("atomic", this.atomic, resolved.atomic);
    if (given.onAcquire !== undefined) {
      compare("onAcquire", this.#onAcquire, given.onAcquire);
    }
    if (given.onRelease !== undefined) {
      compare("onRelease", this.#onRelease, given.onRelease);
    }
    if (conflicts.length > 0) {
      throw new TypeError(
        `MemoryShareLock for ${this.path} already exists in this realm with other options: ${
          conflicts.join("; ")
        }. Use the same options, or close() the existing one first`,
      );
    }
  }
}

function show(value: unknown): string {
  if (typeof value === "function") {
    return `function ${value.name || "(anonymous)"}`;
  }
  if (value === undefined) return "none";
  return typeof value === "string" ? JSON.stringify(value) : String(value);
}

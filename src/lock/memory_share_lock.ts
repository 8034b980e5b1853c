/**
 * `MemoryShareLock`: a named cross-process lock with a shared memory region,
 * one instance per data file in a realm.
 *
 * @module
 */

import { currentPlatform } from "../ffi/current.ts";
import type { Platform } from "../ffi/platform.ts";
import { BUSY, type Claimed, claimHeader, STALE } from "./claim.ts";
import { LockClosedError, LockHeldError, LockTimeoutError } from "./errors.ts";
import { type GuardOwner, LockGuard, markReleased } from "./guard.ts";
import {
  runAcquireHooks,
  runAcquireHooksSync,
  runReleaseHooks,
  runReleaseHooksSync,
} from "./hooks.ts";
import {
  type AcquireOptions,
  checkAcquireKeys,
  checkHook,
  checkLength,
  checkMode,
  checkOptionKeys,
  checkSignal,
  checkTagName,
  checkTimeout,
  resolvePaths,
} from "./options.ts";
import { Registry } from "./registry.ts";
import { SharedFiles } from "./shared_files.ts";
import { type Waiter, WaitQueue } from "./wait_queue.ts";
import { pollDelay, SLICE_MS } from "./wait_loop.ts";
import { Waiting, wakeWaiters } from "./wake.ts";

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
}

/** Made on first construction: whether paths ignore case depends on the OS. */
let registry: Registry<MemoryShareLock> | undefined;

/**
 * How often an acquire checks that the lock file at the path is still the
 * one it has open. A lock file deleted and recreated by a client that does
 * not use the header — a tmp cleaner, then Python's filelock — is noticed
 * within this long, without a system call on every acquire. (memshare
 * newcomers on a recreated file are kept out by the header at once.)
 */
const VERIFY_INTERVAL_MS = 100;

const ASYNC_OPTION_NAMES = ["timeout", "signal"] as const;
const SYNC_OPTION_NAMES = ["timeout"] as const;

/**
 * A named lock shared by processes, with a small shared memory region handed
 * from holder to holder.
 *
 * Files: `DIR/NAME` (a 128-byte header, then `length` bytes, memory-mapped)
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
export class MemoryShareLock implements AsyncDisposable {
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

  readonly #platform!: Platform;
  readonly #files!: SharedFiles;
  readonly #pid!: number;
  readonly #onAcquire: Hook | undefined;
  readonly #onRelease: Hook | undefined;
  readonly #acquireHooks: Hook[] = [];
  readonly #releaseHooks: Hook[] = [];
  readonly #queue: WaitQueue<LockGuard> = new WaitQueue();
  readonly #owner!: GuardOwner;
  readonly #waiting!: Waiting;
  #guard: LockGuard | null = null;
  #closing: Promise<void> | null = null;
  #closed = false;
  #claimedAt = 0;
  #idle: (() => void)[] = [];

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
    const onAcquire = checkHook(
      options.onAcquire,
      `MemoryShareLock option "onAcquire"`,
    ) as
      | Hook
      | undefined;
    const onRelease = checkHook(
      options.onRelease,
      `MemoryShareLock option "onRelease"`,
    ) as
      | Hook
      | undefined;

    registry ??= new Registry(platform.os === "windows");
    const existing = registry.get(paths.path);
    if (existing !== undefined) {
      existing.#checkAgrees(options, { length, tagName, timeout, mode });
      return existing;
    }

    this.path = paths.path;
    this.lockPath = paths.lockPath;
    this.length = length;
    this.tagName = tagName;
    this.timeout = timeout;
    this.mode = mode;
    this.#platform = platform;
    this.#pid = platform.pid();
    this.#files = new SharedFiles(platform, paths, length, mode, tagName);
    this.#onAcquire = onAcquire;
    this.#onRelease = onRelease;
    if (onAcquire !== undefined) this.#acquireHooks.push(onAcquire);
    if (onRelease !== undefined) this.#releaseHooks.push(onRelease);
    this.#owner = {
      release: (guard, sync) => this.#release(guard, sync),
      region: () => this.#files.region(),
    };
    this.#waiting = new Waiting(this.#files, platform, () => this.#pump());
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
    // Not `async`: the uncontended path returns a settled promise without
    // the extra promise steps an async function adds (measured in bench/).
    try {
      const timeout = this.#timeoutOf(options);
      let signal: AbortSignal | undefined;
      if (options !== undefined) {
        signal = checkSignal(options.signal);
        signal?.throwIfAborted();
      }
      this.#assertOpen();
      if (this.#guard === null && this.#queue.length === 0) {
        const claimed = this.#tryClaim();
        if (claimed !== null) {
          return this.#acquireHooks.length === 0
            ? Promise.resolve(this.#begin(claimed))
            : this.#enter(claimed);
        }
      }
      if (timeout === 0) throw this.#timeoutError(0);
      return new Promise<LockGuard>((resolve, reject) => {
        const waiter = this.#queue.add(
          resolve,
          reject,
          timeout,
          signal,
          () => this.#timeoutError(timeout),
        );
        waiter.onLeave = () => this.#queueChanged();
        this.#pump();
      });
    } catch (error) {
      return Promise.reject(error);
    }
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
    const timeout = this.#timeoutOf(options, true);
    this.#assertOpen();
    if (this.#guard !== null) {
      throw new LockHeldError(this.path, "acquireSync()");
    }
    // One try never jumps ahead of this realm's queued tasks (as tryAcquire).
    if (timeout === 0 && this.#queue.length > 0) {
      throw this.#timeoutError(0);
    }
    // No deadline to keep: queue in the kernel like a blocking flock(1), so
    // any release hands over at once — a non-memshare client's too.
    const block = timeout === Infinity && this.#platform.lock !== undefined;
    const claimed = this.#tryClaim(block);
    if (claimed !== null) return this.#enterSync(claimed);
    // Busy; or, blocking, BUSY: a holder on another inode of a replaced lock file.
    if (timeout === 0) throw this.#timeoutError(0);
    const start = performance.now();
    const waiting = new Waiting(this.#files, this.#platform, () => {});
    try {
      for (let attempt = 0;; attempt++) {
        waiting.prepare();
        const claimed = this.#tryClaim();
        if (claimed !== null) {
          waiting.stop(true);
          return this.#enterSync(claimed);
        }
        const left = timeout - (performance.now() - start);
        if (left <= 0) throw this.#timeoutError(timeout);
        const slice = this.#platform.wakeups && waiting.word !== null
          ? SLICE_MS
          : pollDelay(attempt);
        waiting.sleep(Math.min(slice, left));
      }
    } finally {
      waiting.stop(false);
    }
  }

  /**
   * One attempt: the guard, or `null` when the lock is busy or other tasks
   * of this realm are already waiting for it. Hooks must be synchronous.
   */
  tryAcquire(): LockGuard | null {
    this.#assertOpen();
    if (this.#guard !== null || this.#queue.length > 0) return null;
    const claimed = this.#tryClaim();
    return claimed === null ? null : this.#enterSync(claimed);
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
    await using guard = await this.acquire(options);
    return await fn(guard.memory, guard);
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
    const run = (call: () => T | Promise<T>) => this.run(call, options);
    // A function, not an arrow: a wrapped method keeps its `this`.
    return function (this: unknown, ...args: A): Promise<T> {
      return run(() => fn.apply(this, args));
    };
  }

  /** Adds a hook run after the constructor's `onAcquire`; returns a function that removes it. */
  addAcquireHook(hook: Hook): () => void {
    return addHook(
      this.#acquireHooks,
      checkHook(hook, "addAcquireHook(hook): hook") as Hook,
    );
  }

  /** Adds a hook run after the constructor's `onRelease`; returns a function that removes it. */
  addReleaseHook(hook: Hook): () => void {
    return addHook(
      this.#releaseHooks,
      checkHook(hook, "addReleaseHook(hook): hook") as Hook,
    );
  }

  /**
   * Whether anyone holds the lock now: this realm, another memshare
   * process, or another client of the lock file (flock(1), Python
   * filelock). Probes with a shared lock for an instant when needed.
   */
  isLocked(): boolean {
    this.#assertOpen();
    if (this.#guard !== null) return true;
    const files = this.#files;
    if (!files.openLock(false)) return false;
    if (!this.#platform.tryLock(files.lockHandle, true)) return true;
    this.#platform.unlock(files.lockHandle);
    return false;
  }

  /** A snapshot of the lock's state, read from the header. */
  info(): LockInfo {
    this.#assertOpen();
    const header = this.#files.readHeader();
    const locked = this.isLocked();
    const holder = locked ? this.#liveHolder(header?.holder ?? 0) : 0;
    return {
      path: this.path,
      lockPath: this.lockPath,
      length: this.length,
      tagName: header?.tag || this.tagName,
      locked,
      holderPid: holder === 0 ? null : holder,
      holderSince: holder === 0 ? null : new Date(header!.since),
      acquisitions: header?.acquisitions ?? 0,
      recoveries: header?.recoveries ?? 0,
    };
  }

  /**
   * Rejects this realm's queued waiters with `LockClosedError`, waits for
   * this realm's holder to release, then unmaps and closes the files. A new
   * `MemoryShareLock` for the same file may be made afterwards.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  /** `await using lock = new MemoryShareLock(…)` closes it at scope end. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #close(): Promise<void> {
    this.#queue.rejectAll(new LockClosedError(this.path));
    this.#waiting.stop(false);
    while (this.#guard !== null) {
      await new Promise<void>((resolve) => this.#idle.push(resolve));
    }
    this.#closed = true;
    this.#files.close();
    registry!.delete(this.path, this);
  }

  #assertOpen(): void {
    if (this.#closing !== null) throw new LockClosedError(this.path);
  }

  #timeoutOf(
    options: { timeout?: number } | undefined,
    sync = false,
  ): number {
    if (options === undefined) return this.timeout;
    if (options === null || typeof options !== "object") {
      throw new TypeError(
        "acquire options must be an object, e.g. { timeout: 1000 }",
      );
    }
    checkAcquireKeys(
      options,
      sync ? SYNC_OPTION_NAMES : ASYNC_OPTION_NAMES,
      sync ? "acquireSync" : "acquire",
    );
    return options.timeout === undefined
      ? this.timeout
      : checkTimeout(options.timeout, `acquire option "timeout"`);
  }

  /**
   * One attempt at the OS lock and the header; `null` when busy. With
   * `block`, waits in the kernel for the OS lock (`platform.lock`) first.
   */
  #tryClaim(block = false): Claimed | null {
    const files = this.#files;
    const platform = this.#platform;
    if (files.lockHandle < 0) files.openLock(true);
    for (let attempt = 0;; attempt++) {
      if (block) platform.lock!(files.lockHandle);
      else if (!platform.tryLock(files.lockHandle)) return null;
      const now = platform.now();
      let result;
      try {
        result = claimHeader(
          files.mapData(),
          files,
          this.#pid,
          platform,
          attempt > 0 || now - files.verifiedAt >= VERIFY_INTERVAL_MS,
        );
      } catch (error) {
        platform.unlock(files.lockHandle);
        throw error;
      }
      if (typeof result !== "string") {
        this.#claimedAt = now;
        return result;
      }
      platform.unlock(files.lockHandle);
      if (result === BUSY || attempt >= 8) return null;
      if (result === STALE) files.reopenLock();
    }
  }

  /** Records the claim in the header and makes the guard. */
  #begin(claimed: Claimed): LockGuard {
    const header = this.#files.header!;
    header.since = this.#claimedAt;
    header.acquisitions = header.acquisitions + 1;
    const guard = new LockGuard(claimed.recovered, this.#owner);
    this.#guard = guard;
    return guard;
  }

  async #enter(claimed: Claimed): Promise<LockGuard> {
    const guard = this.#begin(claimed);
    if (this.#acquireHooks.length === 0) return guard;
    try {
      await runAcquireHooks([...this.#acquireHooks], guard.memory, this);
    } catch (error) {
      this.#unlock(guard);
      throw error;
    }
    return guard;
  }

  #enterSync(claimed: Claimed): LockGuard {
    const guard = this.#begin(claimed);
    if (this.#acquireHooks.length === 0) return guard;
    try {
      runAcquireHooksSync([...this.#acquireHooks], guard.memory, this);
    } catch (error) {
      this.#unlock(guard);
      throw error;
    }
    return guard;
  }

  #release(guard: LockGuard, sync: boolean): void | Promise<void> {
    if (guard !== this.#guard) return;
    const hooks = this.#releaseHooks;
    if (hooks.length === 0) return this.#unlock(guard);
    if (sync) {
      const error = runReleaseHooksSync([...hooks], guard.memory, this);
      this.#unlock(guard);
      if (error !== undefined) throw error;
      return;
    }
    return runReleaseHooks([...hooks], guard.memory, this).then((error) => {
      this.#unlock(guard);
      if (error !== undefined) throw error;
    });
  }

  /** Header free → OS unlock → wake waiters → next in the queue → detach the guard's view. */
  #unlock(guard: LockGuard): void {
    const files = this.#files;
    try {
      files.header!.clearHolder();
      this.#platform.unlock(files.lockHandle);
      wakeWaiters(files, this.#platform, this.#waiting.counted);
    } finally {
      this.#guard = null;
      // Detaches every view the guard handed out, without copying.
      if (markReleased(guard)) this.#files.retireRegion();
      if (this.#idle.length > 0) {
        for (const resolve of this.#idle.splice(0)) resolve();
      }
      if (this.#queue.length > 0) this.#pump();
    }
  }

  /**
   * Gives the lock to the head of the queue if the OS lock can be had now;
   * else leaves the lock in the realm's wait loop, which calls back here.
   */
  #pump(): void {
    if (this.#guard !== null || this.#queue.length === 0 || this.#closed) {
      this.#waiting.stop(this.#guard !== null);
      return;
    }
    let claimed: Claimed | null;
    try {
      this.#waiting.prepare();
      claimed = this.#tryClaim();
    } catch (error) {
      this.#queue.shift()!.fail(error);
      queueMicrotask(() => this.#pump());
      return;
    }
    if (claimed === null) {
      this.#waiting.join();
      return;
    }
    this.#waiting.stop(true);
    const waiter: Waiter<LockGuard> = this.#queue.shift()!;
    if (this.#acquireHooks.length === 0) {
      waiter.succeed(this.#begin(claimed));
      return;
    }
    this.#enter(claimed).then(
      (guard) => waiter.succeed(guard),
      (error) => waiter.fail(error),
    );
  }

  #queueChanged(): void {
    if (this.#queue.length === 0) this.#waiting.stop(false);
  }

  #timeoutError(timeout: number): LockTimeoutError {
    let header = null;
    try {
      header = this.#files.readHeader();
    } catch {
      // The error is about the timeout; a header we cannot read only loses the holder's name.
    }
    const holder = this.#liveHolder(header?.holder ?? 0);
    return new LockTimeoutError(
      this.path,
      timeout,
      holder === 0 ? null : holder,
      holder === 0 ? null : new Date(header!.since),
      header?.tag,
    );
  }

  /**
   * The header's holder if that process lives: a dead one's pid stays in the
   * header until the next memshare holder recovers, while a non-memshare
   * client (flock(1), Python) may hold the lock meanwhile.
   */
  #liveHolder(pid: number): number {
    return pid !== 0 && (pid === this.#pid || this.#platform.processAlive(pid))
      ? pid
      : 0;
  }

  #checkAgrees(
    given: MemoryShareLockOptions,
    resolved: {
      length: number;
      tagName: string;
      timeout: number;
      mode: number;
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

function addHook(hooks: Hook[], hook: Hook): () => void {
  hooks.push(hook);
  return () => {
    const at = hooks.indexOf(hook);
    if (at >= 0) hooks.splice(at, 1);
  };
}

function show(value: unknown): string {
  if (typeof value === "function") {
    return `function ${value.name || "(anonymous)"}`;
  }
  if (value === undefined) return "none";
  return typeof value === "string" ? JSON.stringify(value) : String(value);
}

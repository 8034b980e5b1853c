/**
 * The front every public lock class stands on: option checks of an
 * acquire, the realm's first-come-first-served queue with its timeouts and
 * aborts, hooks, guards and `close`, over an engine whose inside it does not
 * know (see `src/engine/engine.ts`).
 *
 * @module
 */

import type {
  Claim,
  Engine,
  SyncEngine,
  WaitCallbacks,
} from "../engine/engine.ts";
import { LockClosedError, LockHeldError } from "../errors.ts";
import { type GuardOwner, markReleased, type ShareGuardBase } from "./guard.ts";
import {
  runAcquireHooks,
  runAcquireHooksSync,
  runReleaseHooks,
  runReleaseHooksSync,
  type StoredHook,
} from "./hooks.ts";
import {
  type AcquireOptions,
  checkAcquireKeys,
  checkSignal,
  checkTimeout,
} from "./options.ts";
import { type Waiter, WaitQueue } from "./wait_queue.ts";

const ASYNC_OPTION_NAMES = ["timeout", "signal"] as const;
const SYNC_OPTION_NAMES = ["timeout"] as const;

/** How a front makes its guards and names itself. */
export interface FrontSettings<C extends Claim, G extends ShareGuardBase, L> {
  /** The public lock, passed to hooks. */
  readonly lock: L;
  /** Default acquire timeout in ms (`Infinity` = forever). */
  readonly timeout: number;
  /** Makes the guard for a claim. */
  readonly makeGuard: (claim: C, owner: GuardOwner) => G;
  /** Called once the front and its engine are closed (e.g. leave the registry). */
  readonly onClosed: () => void;
}

/**
 * The realm side of one lock: queue, hooks, guards, close. `G` is the guard
 * class, `L` the public lock class hooks receive.
 *
 * @example
 * ```ts ignore
 * const front = new LockFront(engine, { lock, timeout: Infinity, makeGuard, onClosed });
 * const guard = await front.acquire({ timeout: 1_000 });
 * ```
 */
export class LockFront<C extends Claim, G extends ShareGuardBase, L> {
  /** Hooks run after each acquire, in order. */
  readonly acquireHooks: StoredHook<L>[] = [];
  /** Hooks run before each release, in order. */
  readonly releaseHooks: StoredHook<L>[] = [];
  readonly #engine: Engine<C>;
  readonly #sync: SyncEngine<C> | null;
  readonly #settings: FrontSettings<C, G, L>;
  readonly #queue: WaitQueue<G> = new WaitQueue();
  readonly #owner: GuardOwner;
  readonly #callbacks: WaitCallbacks<C>;
  #guard: G | null = null;
  #claim: C | null = null;
  #closing: Promise<void> | null = null;
  #closed = false;
  #idle: (() => void)[] = [];

  /** A front over `engine`; a `SyncEngine` also serves the synchronous methods. */
  constructor(engine: Engine<C>, settings: FrontSettings<C, G, L>) {
    this.#engine = engine;
    this.#sync = "tryClaim" in engine ? engine as SyncEngine<C> : null;
    this.#settings = settings;
    this.#owner = {
      release: (guard, sync) => this.#release(guard, sync),
      region: () => this.#engine.region(),
    };
    this.#callbacks = {
      granted: (claim) => this.#granted(claim),
      failed: (error) => this.#failed(error),
    };
  }

  /** Whether this realm holds the lock now. */
  get holding(): boolean {
    return this.#guard !== null;
  }

  /** Throws `LockClosedError` once `close()` was called. */
  assertOpen(): void {
    if (this.#closing !== null) throw new LockClosedError(this.#engine.target);
  }

  /** See `ShareLock.acquire`. */
  acquire(options?: AcquireOptions): Promise<G> {
    // Not `async`: the uncontended path returns a settled promise without
    // the extra promise steps an async function adds (measured in bench/).
    try {
      const timeout = this.#timeoutOf(options);
      let signal: AbortSignal | undefined;
      if (options !== undefined) {
        signal = checkSignal(options.signal);
        signal?.throwIfAborted();
      }
      this.assertOpen();
      const sync = this.#sync;
      if (sync !== null && this.#guard === null && this.#queue.length === 0) {
        const claim = sync.tryClaim();
        if (claim !== null) {
          return this.acquireHooks.length === 0
            ? Promise.resolve(this.#begin(claim))
            : this.#enter(claim);
        }
        if (timeout === 0) throw sync.timeoutError(0);
      }
      return new Promise<G>((resolve, reject) => {
        const waiter = this.#queue.add(
          resolve,
          reject,
          timeout,
          signal,
          () => this.#engine.timeoutError(timeout),
        );
        waiter.onLeave = () => this.#queueChanged();
        this.#pump();
      });
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Blocks the thread until the lock is taken (synchronous engines only). */
  acquireSync(options?: { timeout?: number }): G {
    const sync = this.#syncEngine();
    const timeout = this.#timeoutOf(options, true);
    this.assertOpen();
    if (this.#guard !== null) {
      throw new LockHeldError(sync.target, "acquireSync()");
    }
    // One try never jumps ahead of this realm's queued tasks (as tryAcquire).
    if (timeout === 0 && this.#queue.length > 0) throw sync.timeoutError(0);
    const claim = timeout === 0 ? sync.tryClaim() : sync.claimSync(timeout);
    if (claim === null) throw sync.timeoutError(timeout);
    return this.#enterSync(claim);
  }

  /** One attempt: the guard, or `null` when busy or this realm's tasks already wait. */
  tryAcquire(): G | null {
    const sync = this.#syncEngine();
    this.assertOpen();
    if (this.#guard !== null || this.#queue.length > 0) return null;
    const claim = sync.tryClaim();
    return claim === null ? null : this.#enterSync(claim);
  }

  /** See `ShareLock.close`. */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#queue.rejectAll(new LockClosedError(this.#engine.target));
    this.#engine.stopWaiting();
    while (this.#guard !== null) {
      await new Promise<void>((resolve) => this.#idle.push(resolve));
    }
    this.#closed = true;
    await this.#engine.close();
    this.#settings.onClosed();
  }

  #syncEngine(): SyncEngine<C> {
    if (this.#sync === null) {
      throw new TypeError(
        `${this.#engine.target} has no synchronous acquire; use await acquire()`,
      );
    }
    return this.#sync;
  }

  #timeoutOf(options: { timeout?: number } | undefined, sync = false): number {
    if (options === undefined) return this.#settings.timeout;
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
      ? this.#settings.timeout
      : checkTimeout(options.timeout, `acquire option "timeout"`);
  }

  /** Makes the guard of a fresh claim. */
  #begin(claim: C): G {
    const guard = this.#settings.makeGuard(claim, this.#owner);
    this.#guard = guard;
    this.#claim = claim;
    return guard;
  }

  async #enter(claim: C): Promise<G> {
    const guard = this.#begin(claim);
    if (this.acquireHooks.length === 0) return guard;
    try {
      await runAcquireHooks(
        [...this.acquireHooks],
        guard.memory,
        this.#settings.lock,
      );
    } catch (error) {
      await this.#unlock(guard);
      throw error;
    }
    return guard;
  }

  #enterSync(claim: C): G {
    const guard = this.#begin(claim);
    if (this.acquireHooks.length === 0) return guard;
    try {
      runAcquireHooksSync(
        [...this.acquireHooks],
        guard.memory,
        this.#settings.lock,
      );
    } catch (error) {
      this.#unlock(guard);
      throw error;
    }
    return guard;
  }

  #release(guard: ShareGuardBase, sync: boolean): void | Promise<void> {
    if (guard !== this.#guard) return;
    const hooks = this.releaseHooks;
    const lock = this.#settings.lock;
    if (hooks.length === 0) return this.#unlock(guard);
    if (sync) {
      const error = runReleaseHooksSync([...hooks], guard.memory, lock);
      this.#unlock(guard);
      if (error !== undefined) throw error;
      return;
    }
    return runReleaseHooks([...hooks], guard.memory, lock).then(
      async (error) => {
        await this.#unlock(guard);
        if (error !== undefined) throw error;
      },
    );
  }

  /**
   * Detaches the guard's views, lets the engine release, then serves the
   * next task. An asynchronous engine's release keeps the realm's turn
   * until the release is done.
   */
  #unlock(guard: G | ShareGuardBase): void | Promise<void> {
    // Detaches every view the guard handed out, without copying.
    if (markReleased(guard)) this.#engine.retireRegion();
    let pending: void | Promise<void>;
    try {
      pending = this.#engine.release(this.#claim!);
    } catch (error) {
      this.#released();
      throw error;
    }
    if (pending === undefined) {
      this.#released();
      return;
    }
    return pending.then(
      () => this.#released(),
      (error) => {
        this.#released();
        throw error;
      },
    );
  }

  #released(): void {
    this.#guard = null;
    this.#claim = null;
    if (this.#idle.length > 0) {
      for (const resolve of this.#idle.splice(0)) resolve();
    }
    if (this.#queue.length > 0) this.#pump();
  }

  /** Asks the engine for the lock for the head of the queue (one wait at a time). */
  #pump(): void {
    if (this.#guard !== null || this.#queue.length === 0 || this.#closed) {
      return;
    }
    this.#engine.wait(this.#callbacks);
  }

  #granted(claim: C): void {
    if (this.#guard !== null) {
      throw new Error(`${this.#engine.target}: a grant while held (a bug)`);
    }
    const waiter: Waiter<G> | undefined = this.#queue.shift();
    if (waiter === undefined || this.#closed) {
      // The tasks that wanted it left (timeout, abort, close) as it came.
      void Promise.resolve(this.#engine.release(claim)).catch(() => {});
      return;
    }
    if (this.acquireHooks.length === 0) {
      waiter.succeed(this.#begin(claim));
      return;
    }
    this.#enter(claim).then(
      (guard) => waiter.succeed(guard),
      (error) => waiter.fail(error),
    );
  }

  #failed(error: unknown): void {
    this.#queue.shift()?.fail(error);
    queueMicrotask(() => this.#pump());
  }

  #queueChanged(): void {
    if (this.#queue.length === 0) this.#engine.stopWaiting();
  }
}

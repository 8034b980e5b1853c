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
  SharedEngine,
  SyncEngine,
} from "../engine/engine.ts";
import { LockClosedError, LockHeldError } from "../errors.ts";
import { engineKinds, needShared, needSync } from "./engine_kinds.ts";
import { frontOwner, type FrontSettings } from "./front_guards.ts";
import {
  type GuardOwner,
  resumeGuard,
  sharedOwner,
  type ShareGuardBase,
  suspendGuard,
} from "./guard.ts";
import {
  enterWithHooks,
  enterWithHooksSync,
  releaseWithHooks,
  type StoredHook,
} from "./hooks.ts";
import { type AcquireOptions, acquireTimeout, checkSignal } from "./options.ts";
import { QueuePump } from "./queue_pump.ts";
import { releaseClaim, releaseSyncClaim } from "./release_claim.ts";
import type { Waiter } from "./wait_queue.ts";

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
  readonly #shared: SharedEngine<C> | null;
  readonly #settings: FrontSettings<C, G, L>;
  readonly #queue: QueuePump<C, G>;
  readonly #owner: GuardOwner;
  #guard: G | null = null;
  #claim: C | null = null;
  /** Shared holds this realm has now. */
  #readers = 0;
  #closing: Promise<void> | null = null;
  /** Condition waits of this realm's guards, told when `close()` begins. */
  readonly #closeListeners = new Set<() => void>();
  #closed = false;
  #idle: (() => void)[] = [];
  /** `#released`, made once (not a closure per release: measured in bench/ab.ts). */
  readonly #afterRelease = (): void => this.#released();

  /** A front over `engine`; a `SyncEngine` also serves the synchronous methods. */
  constructor(engine: Engine<C>, settings: FrontSettings<C, G, L>) {
    this.#engine = engine;
    const kinds = engineKinds(engine);
    const { sync, shared } = kinds;
    this.#sync = sync;
    this.#shared = shared;
    this.#settings = settings;
    this.#owner = frontOwner(engine, kinds, {
      timeout: settings.timeout,
      release: (guard, sync) => this.#release(guard, sync),
      holds: (guard) => guard === this.#guard,
      letGo: (guard, suspend, sync) => this.#letGo(guard, suspend, sync),
      takeBack: (guard) =>
        this.#request({ timeout: Infinity }, false, guard as G),
      takeBackSync: (guard) => {
        this.assertOpen();
        this.#begin(this.#syncEngine().claimSync(Infinity)!, guard as G);
      },
      closeListeners: this.#closeListeners,
    });
    this.#queue = new QueuePump(engine, shared, {
      holding: () => this.#guard !== null,
      readers: () => this.#readers,
      closed: () => this.#closed,
      grant: (claim, waiter, shared) => this.#grant(claim, waiter, shared),
    });
  }

  /** Whether this realm holds the lock (exclusively) now. */
  get holding(): boolean {
    return this.#guard !== null;
  }

  /** How many shared holds this realm has now. */
  get readers(): number {
    return this.#readers;
  }

  /** Throws `LockClosedError` once `close()` was called. */
  assertOpen(): void {
    if (this.#closing !== null) throw new LockClosedError(this.#engine.target);
  }

  /** See `ShareLock.acquire`. */
  acquire(options?: AcquireOptions): Promise<G> {
    // The common call — no options, free, nobody queued — skips the option
    // checks and the queue's bookkeeping (Bun async pair −5 %, bench/ab.ts).
    if (
      options === undefined && this.#guard === null && this.#readers === 0 &&
      this.#closing === null && this.#sync !== null &&
      this.#queue.length === 0
    ) {
      try {
        const claim = this.#sync.tryClaim();
        if (claim !== null) {
          return this.acquireHooks.length === 0
            ? Promise.resolve(this.#begin(claim))
            : this.#enter(claim);
        }
      } catch (error) {
        return Promise.reject(error);
      }
    }
    return this.#request(options, false);
  }

  /**
   * A shared hold (shared engines only): many at once, none with a writer.
   * New shared holds queue behind a waiting writer, in this realm and — the
   * engine sees to it — in others.
   */
  acquireShared(options?: AcquireOptions): Promise<G> {
    return this.#request(options, true);
  }

  /** Blocks the thread until the lock is taken (synchronous engines only). */
  acquireSync(options?: { timeout?: number }): G {
    return this.#requestSync(options, false);
  }

  /** Blocks the thread until a shared hold is had (shared engines only). */
  acquireSharedSync(options?: { timeout?: number }): G {
    return this.#requestSync(options, true);
  }

  /** One attempt: the guard, or `null` when busy or this realm's tasks already wait. */
  tryAcquire(): G | null {
    return this.#tryOnce(false);
  }

  /** One attempt at a shared hold; `null` when a writer holds or waits, or this realm's tasks already wait. */
  tryAcquireShared(): G | null {
    return this.#tryOnce(true);
  }

  /** `resumes`: a condition wait's guard taking the lock back (no timeout, no hooks). */
  #request(
    options: AcquireOptions | undefined,
    shared: boolean,
    resumes?: G,
  ): Promise<G> {
    // Not `async`: the uncontended path returns a settled promise without
    // the extra promise steps an async function adds (measured in bench/).
    try {
      if (shared) this.#sharedEngine();
      const timeout = acquireTimeout(
        options,
        this.#settings.timeout,
        shared ? "acquireShared" : "acquire",
      );
      let signal: AbortSignal | undefined;
      if (options !== undefined) {
        signal = checkSignal(options.signal);
        signal?.throwIfAborted();
      }
      this.assertOpen();
      if (this.#guard === null && this.#queue.length === 0) {
        const claim = this.#tryNow(shared);
        if (claim !== null && claim !== undefined) {
          if (shared) return Promise.resolve(this.#beginShared(claim));
          return this.acquireHooks.length === 0 || resumes !== undefined
            ? Promise.resolve(this.#begin(claim, resumes))
            : this.#enter(claim);
        }
      }
      // One try: busy now, or this realm holds it or its queued tasks come
      // first. An engine without a synchronous side makes its one try
      // through the queue, so this realm's later tasks wait behind it.
      const once = timeout === 0 && this.#sync === null &&
        this.#guard === null && this.#readers === 0 &&
        this.#queue.length === 0;
      if (timeout === 0 && !once) throw this.#engine.timeoutError(0);
      return this.#queue.wait({
        // The engine answers a one try itself.
        timeout: once ? Infinity : timeout,
        signal,
        timeoutError: () => this.#engine.timeoutError(timeout),
        shared,
        resumes,
        once,
      });
    } catch (error) {
      return Promise.reject(error);
    }
  }

  #requestSync(options: { timeout?: number } | undefined, shared: boolean): G {
    const method = shared ? "acquireSharedSync" : "acquireSync";
    const sync = this.#syncEngine();
    if (shared) this.#sharedEngine();
    const timeout = acquireTimeout(options, this.#settings.timeout, method);
    this.assertOpen();
    if (this.#guard !== null) {
      throw new LockHeldError(sync.target, `${method}()`);
    }
    if (!shared && this.#readers > 0) {
      throw new LockHeldError(
        sync.target,
        "acquireSync() while this realm holds it shared",
      );
    }
    // One try never jumps ahead of this realm's queued tasks (as tryAcquire).
    if (timeout === 0 && this.#queue.length > 0) throw sync.timeoutError(0);
    // A wait for this realm's queued tasks must not take the lock under us
    // (through our own handle, it would succeed): it starts again once we
    // release.
    this.#queue.stop();
    const claim = timeout === 0
      ? this.#tryNow(shared)
      : shared
      ? this.#shared!.claimSharedSync(timeout)
      : sync.claimSync(timeout);
    if (claim === null || claim === undefined) {
      throw sync.timeoutError(timeout);
    }
    return shared ? this.#beginShared(claim) : this.#enterSync(claim);
  }

  #tryOnce(shared: boolean): G | null {
    this.#syncEngine();
    if (shared) this.#sharedEngine();
    this.assertOpen();
    if (this.#guard !== null || this.#queue.length > 0) return null;
    const claim = this.#tryNow(shared);
    if (claim === null || claim === undefined) return null;
    return shared ? this.#beginShared(claim) : this.#enterSync(claim);
  }

  /**
   * One attempt through the engine without yielding: the claim, `null`
   * when busy, `undefined` when the engine has no such attempt (it is
   * asked through `wait`).
   */
  #tryNow(shared: boolean): C | null | undefined {
    if (shared) return this.#shared!.tryClaimShared();
    if (this.#sync === null) return undefined;
    // This realm's readers keep the lock from its own writers too.
    return this.#readers === 0 ? this.#sync.tryClaim() : null;
  }

  /** See `ShareLock.close`. */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#queue.rejectAll(new LockClosedError(this.#engine.target));
    for (const closing of [...this.#closeListeners]) closing();
    this.#queue.halt();
    while (this.#guard !== null || this.#readers > 0) {
      await new Promise<void>((resolve) => this.#idle.push(resolve));
    }
    this.#closed = true;
    await this.#engine.close();
    this.#settings.onClosed();
  }

  #syncEngine(): SyncEngine<C> {
    return needSync(this.#sync, this.#engine.target);
  }

  #sharedEngine(): SharedEngine<C> {
    return needShared(this.#shared, this.#engine.target);
  }

  /** Makes the guard of a fresh claim (or gives a condition wait's guard its new hold). */
  #begin(claim: C, resumes?: G): G {
    const guard = resumes ?? this.#settings.makeGuard(claim, this.#owner);
    if (resumes !== undefined) resumeGuard(resumes, claim);
    this.#guard = guard;
    this.#claim = claim;
    return guard;
  }

  /** Makes a shared guard: its memory is its own copy (see `sharedOwner`). */
  #beginShared(claim: C): G {
    this.#readers++;
    return this.#settings.makeGuard(
      claim,
      sharedOwner(() => this.#engine.region(), () => {
        this.#readers--;
        try {
          this.#shared!.releaseShared(claim);
        } finally {
          this.#released();
        }
      }),
    );
  }

  /** A condition wait lets go without ending the turn (no hooks); the queue moves on unless `sync`. */
  #letGo(
    guard: ShareGuardBase,
    suspend: (claim: C) => number,
    sync: boolean,
  ): number {
    if (guard !== this.#guard) {
      throw new TypeError("waitUntil() while this guard does not hold");
    }
    this.assertOpen();
    if (suspendGuard(guard)) this.#engine.retireRegion();
    const mark = suspend(this.#claim!);
    this.#guard = this.#claim = null;
    if (!sync) this.#released();
    return mark;
  }

  #enter(claim: C): Promise<G> {
    const guard = this.#begin(claim);
    return enterWithHooks(
      guard,
      this.acquireHooks,
      this.#settings.lock,
      () => this.#unlock(guard),
    );
  }

  #enterSync(claim: C): G {
    const guard = this.#begin(claim);
    if (this.acquireHooks.length === 0) return guard;
    return enterWithHooksSync(
      guard,
      this.acquireHooks,
      this.#settings.lock,
      () => this.#unlock(guard),
    );
  }

  #release(guard: ShareGuardBase, sync: boolean): void | Promise<void> {
    if (guard !== this.#guard) return;
    if (this.releaseHooks.length === 0) return this.#unlock(guard);
    return releaseWithHooks(
      guard.memory,
      this.releaseHooks,
      this.#settings.lock,
      sync,
      () => this.#unlock(guard),
    );
  }

  /** Ends the turn at the engine, then serves the next task (see `releaseClaim`). */
  #unlock(guard: G | ShareGuardBase): void | Promise<void> {
    const sync = this.#sync, claim = this.#claim!, after = this.#afterRelease;
    return sync !== null
      ? releaseSyncClaim(sync, claim, guard, after)
      : releaseClaim(this.#engine, claim, guard, after);
  }

  #released(): void {
    this.#guard = null;
    this.#claim = null;
    if (this.#idle.length > 0 && this.#readers === 0) {
      for (const resolve of this.#idle.splice(0)) resolve();
    }
    if (this.#queue.length > 0) this.#queue.pump();
  }

  /** Gives a grant to the waiter that headed the queue. */
  #grant(claim: C, waiter: Waiter<G>, shared: boolean): void {
    if (shared) {
      waiter.succeed(this.#beginShared(claim));
      return;
    }
    if (this.acquireHooks.length === 0 || waiter.resumes !== undefined) {
      waiter.succeed(this.#begin(claim, waiter.resumes));
      return;
    }
    this.#enter(claim).then(
      (guard) => waiter.succeed(guard),
      (error) => waiter.fail(error),
    );
  }
}

/**
 * The front of a semaphore: what `LockFront` is for a lock, for an engine
 * of several slots — the realm's first-come-first-served queue with its
 * timeouts and aborts, hooks, guards and `close` — except that a realm may
 * hold as many slots at once as there are (one per task), so
 * `Promise.all(jobs.map((job) => sem.run(job)))` runs `slots` jobs at a
 * time, not one.
 *
 * @module
 */

import type { WaitCallbacks } from "../engine/engine.ts";
import type { SlotClaim, SlotEngine } from "../engine/slot_engine.ts";
import { LockClosedError, LockHeldError } from "../errors.ts";
import { type GuardOwner, markReleased, type ShareGuardBase } from "./guard.ts";
import {
  enterWithHooks,
  enterWithHooksSync,
  releaseWithHooks,
  type StoredHook,
} from "./hooks.ts";
import { type AcquireOptions, acquireTimeout, checkSignal } from "./options.ts";
import { WaitQueue } from "./wait_queue.ts";

/** How a semaphore front makes its guards. */
export interface SemaphoreFrontSettings<G extends ShareGuardBase, L> {
  /** The public semaphore, passed to hooks. */
  readonly lock: L;
  /** Default acquire timeout in ms (`Infinity` = forever). */
  readonly timeout: number;
  /** Makes the guard for a claim of a slot. */
  readonly makeGuard: (claim: SlotClaim, owner: GuardOwner) => G;
  /** Called once the front and its engine are closed. */
  readonly onClosed: () => void;
}

/**
 * The realm side of one semaphore.
 *
 * @example
 * ```ts ignore
 * const front = new SemaphoreFront(engine, { lock, timeout: Infinity, makeGuard, onClosed });
 * const guard = await front.acquire({ timeout: 1_000 });
 * ```
 */
export class SemaphoreFront<G extends ShareGuardBase, L> {
  /** Hooks run after each acquire, in order. */
  readonly acquireHooks: StoredHook<L>[] = [];
  /** Hooks run before each release, in order. */
  readonly releaseHooks: StoredHook<L>[] = [];
  readonly #engine: SlotEngine;
  readonly #settings: SemaphoreFrontSettings<G, L>;
  readonly #queue: WaitQueue<G> = new WaitQueue();
  readonly #owners: GuardOwner[] = [];
  readonly #callbacks: WaitCallbacks<SlotClaim>;
  /** This realm's guards and the slot each holds. */
  readonly #held = new Map<ShareGuardBase, SlotClaim>();
  #closing: Promise<void> | null = null;
  #closed = false;
  #idle: (() => void)[] = [];

  /** A front over `engine`. */
  constructor(engine: SlotEngine, settings: SemaphoreFrontSettings<G, L>) {
    this.#engine = engine;
    this.#settings = settings;
    for (let slot = 0; slot < engine.slots; slot++) {
      this.#owners.push({
        release: (guard, sync) => this.#release(guard, sync),
        region: () => engine.region(slot),
      });
    }
    this.#callbacks = {
      granted: (claim) => this.#granted(claim),
      failed: (error) => this.#failed(error),
    };
  }

  /** How many slots this realm holds now. */
  get holding(): number {
    return this.#held.size;
  }

  /** Throws `LockClosedError` once `close()` was called. */
  assertOpen(): void {
    if (this.#closing !== null) throw new LockClosedError(this.#engine.target);
  }

  /** See `ShareLock.acquire`. */
  acquire(options?: AcquireOptions): Promise<G> {
    try {
      const timeout = acquireTimeout(
        options,
        this.#settings.timeout,
        "acquire",
      );
      let signal: AbortSignal | undefined;
      if (options !== undefined) {
        signal = checkSignal(options.signal);
        signal?.throwIfAborted();
      }
      this.assertOpen();
      const engine = this.#engine;
      if (this.#queue.length === 0 && this.#held.size < engine.slots) {
        const claim = engine.tryClaim();
        if (claim !== null) {
          return this.acquireHooks.length === 0
            ? Promise.resolve(this.#begin(claim))
            : this.#enter(claim);
        }
        if (timeout === 0) throw engine.timeoutError(0);
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

  /** Blocks the thread until a slot is taken. */
  acquireSync(options?: { timeout?: number }): G {
    const engine = this.#engine;
    const timeout = acquireTimeout(
      options,
      this.#settings.timeout,
      "acquireSync",
    );
    this.assertOpen();
    if (this.#held.size === engine.slots) {
      throw new LockHeldError(
        engine.target,
        `acquireSync() with all ${engine.slots} slots held here`,
      );
    }
    if (timeout === 0 && this.#queue.length > 0) {
      throw engine.timeoutError(0);
    }
    const claim = timeout === 0 ? engine.tryClaim() : engine.claimSync(timeout);
    if (claim === null) throw engine.timeoutError(timeout);
    return this.#enterSync(claim);
  }

  /** One attempt: a guard, or `null` when every slot is busy or this realm's tasks already wait. */
  tryAcquire(): G | null {
    this.assertOpen();
    if (this.#queue.length > 0 || this.#held.size === this.#engine.slots) {
      return null;
    }
    const claim = this.#engine.tryClaim();
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
    while (this.#held.size > 0) {
      await new Promise<void>((resolve) => this.#idle.push(resolve));
    }
    this.#closed = true;
    try {
      this.#engine.close();
    } finally {
      this.#settings.onClosed();
    }
  }

  #begin(claim: SlotClaim): G {
    const guard = this.#settings.makeGuard(claim, this.#owners[claim.slot]);
    this.#held.set(guard, claim);
    return guard;
  }

  #enter(claim: SlotClaim): Promise<G> {
    const guard = this.#begin(claim);
    return enterWithHooks(
      guard,
      this.acquireHooks,
      this.#settings.lock,
      () => this.#unlock(guard),
    );
  }

  #enterSync(claim: SlotClaim): G {
    const guard = this.#begin(claim);
    return enterWithHooksSync(
      guard,
      this.acquireHooks,
      this.#settings.lock,
      () => this.#unlock(guard),
    );
  }

  #release(guard: ShareGuardBase, sync: boolean): void | Promise<void> {
    if (!this.#held.has(guard)) return;
    if (this.releaseHooks.length === 0) return this.#unlock(guard);
    return releaseWithHooks(
      guard.memory,
      this.releaseHooks,
      this.#settings.lock,
      sync,
      () => this.#unlock(guard),
    );
  }

  /** Detaches the guard's views, releases its slot, then serves the next task. */
  #unlock(guard: ShareGuardBase): void {
    const claim = this.#held.get(guard);
    if (claim === undefined) return;
    const engine = this.#engine;
    if (markReleased(guard)) engine.retireRegion(claim.slot);
    this.#held.delete(guard);
    try {
      engine.release(claim);
    } finally {
      if (this.#held.size === 0 && this.#idle.length > 0) {
        for (const resolve of this.#idle.splice(0)) resolve();
      }
      if (this.#queue.length > 0) this.#pump();
    }
  }

  /** Asks the engine for one more slot for the head of the queue (one wait at a time). */
  #pump(): void {
    if (
      this.#queue.length === 0 || this.#closed ||
      this.#held.size >= this.#engine.slots
    ) {
      return;
    }
    this.#engine.wait(this.#callbacks);
  }

  #granted(claim: SlotClaim): void {
    const waiter = this.#queue.shift();
    if (waiter === undefined || this.#closed) {
      // The tasks that wanted it left (timeout, abort, close) as it came.
      this.#engine.release(claim);
      return;
    }
    if (this.acquireHooks.length === 0) waiter.succeed(this.#begin(claim));
    else {
      this.#enter(claim).then(
        (guard) => waiter.succeed(guard),
        (error) => waiter.fail(error),
      );
    }
    // More tasks queued: wait for another slot (not from inside this grant).
    if (this.#queue.length > 0) queueMicrotask(() => this.#pump());
  }

  #failed(error: unknown): void {
    this.#queue.shift()?.fail(error);
    queueMicrotask(() => this.#pump());
  }

  #queueChanged(): void {
    if (this.#queue.length === 0) this.#engine.stopWaiting();
  }
}

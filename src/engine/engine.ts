/**
 * The seam between the front (public lock classes, the realm's queue,
 * hooks, guards, `close`) and an engine (what actually excludes holders:
 * files + `flock` + `mmap` on one machine, a Redis server for a fleet).
 *
 * The front serves its realm's tasks first come, first served and asks the
 * engine for the lock on behalf of the whole realm: at most one engine wait
 * is in flight per lock, for whichever task is at the head of the queue when
 * the lock arrives. Timeouts and aborts are the front's; an engine never
 * sees them, so a grant that races a task's timeout simply goes to the next
 * task, or back to the engine when none is left.
 *
 * An engine imports nothing of the front but this file.
 *
 * @module
 */

/**
 * What an engine hands the front when the lock is taken. The front reads
 * the fields at once: an engine may reuse one object for every claim.
 */
export interface Claim {
  /** Whether the previous holder died (or lost its lease) holding the lock. */
  readonly recovered: boolean;
  /** The fencing token: strictly increases with every acquisition, by anyone. */
  readonly token: number;
}

/** How an engine answers a wait: exactly one of the two, once per `wait`. */
export interface WaitCallbacks<C extends Claim> {
  /** The lock is now held for this realm. */
  granted(claim: C): void;
  /** Waiting failed (the engine holds nothing for it). */
  failed(error: unknown): void;
}

/**
 * What every engine gives the front.
 *
 * @example
 * ```ts ignore
 * engine.wait({ granted: (claim) => use(claim), failed: (e) => fail(e) });
 * ```
 */
export interface Engine<C extends Claim = Claim> {
  /** What errors name: the data file's path, or the server and lock name. */
  readonly target: string;
  /**
   * Waits for the lock for this realm and calls back once. May call
   * `granted` before returning (the lock was free). Calling it again while
   * a wait is in flight does nothing. With `once` (asked only of engines
   * without a synchronous side, for `acquire({ timeout: 0 })`): one attempt
   * that never queues; busy → `failed(timeoutError(0))`.
   */
  wait(callbacks: WaitCallbacks<C>, once?: boolean): void;
  /**
   * This realm no longer wants the lock. A grant that races this still
   * arrives through `granted`; the front then releases it.
   */
  stopWaiting(): void;
  /**
   * Releases the lock held by `claim`. Synchronous engines return nothing;
   * an asynchronous one resolves once released, or rejects (e.g. the lease
   * was lost), having let go of the lock either way.
   */
  release(claim: C): void | Promise<void>;
  /** The buffer guards view the shared bytes through, while the lock is held. */
  region(): ArrayBuffer;
  /** Detaches every view of the current region buffer (after a release). */
  retireRegion(): void;
  /** The error for a wait that timed out after `timeout` ms, naming the holder when known. */
  timeoutError(timeout: number): Error;
  /** Lets go of every resource; only called with the lock not held and no wait in flight. */
  close(): void | Promise<void>;
}

/**
 * An engine that can also take and release the lock without yielding to
 * the event loop (the local one): behind `tryAcquire`, `acquireSync` and
 * `releaseSync`, and behind `acquire()`'s settled fast path.
 *
 * @example
 * ```ts ignore
 * const claim = engine.tryClaim();
 * if (claim !== null) engine.release(claim);
 * ```
 */
export interface SyncEngine<C extends Claim = Claim> extends Engine<C> {
  /** One attempt now: the claim, or `null` when another holder has it. */
  tryClaim(): C | null;
  /**
   * Blocks the thread until the lock is taken or `timeout` ms (finite,
   * > 0, or `Infinity`) pass; `null` on timeout.
   */
  claimSync(timeout: number): C | null;
  /** Releases synchronously. */
  release(claim: C): void;
}

/**
 * An engine that can also hand out shared holds (readers): many at once,
 * none while an exclusive holder has the lock. A realm's shared holds are
 * one hold to the engine's peers; the engine counts them.
 *
 * @example
 * ```ts ignore
 * const claim = engine.tryClaimShared();
 * if (claim !== null) engine.releaseShared(claim);
 * ```
 */
export interface SharedEngine<C extends Claim = Claim> {
  /** One attempt at a shared hold: the claim, or `null` when a writer holds or waits. */
  tryClaimShared(): C | null;
  /** Blocks until a shared hold is had or `timeout` ms pass; `null` on timeout. */
  claimSharedSync(timeout: number): C | null;
  /** As `Engine.wait`, for a shared hold; `stopWaiting` ends either kind. */
  waitShared(callbacks: WaitCallbacks<C>): void;
  /** Ends one shared hold of this realm. */
  releaseShared(claim: C): void;
}

/**
 * An engine that can serve condition waits (`guard.waitUntil`): let go of
 * the lock between two looks at the bytes without ending the holder's turn
 * for the front (no release hooks), and sleep until another holder has had
 * a turn. The local engine is one.
 *
 * @example
 * ```ts ignore
 * const mark = engine.suspend(claim, true);
 * const stop = engine.waitForTurn(mark, () => retake());
 * ```
 */
export interface ConditionEngine<C extends Claim = Claim> {
  /**
   * Releases the lock held by `claim` for a condition wait. `changed`:
   * whether the holder may have changed the bytes since it took the lock
   * (then it ends a turn and wakes other condition waiters; a waiter whose
   * predicate stayed false passes `false`, so waiters never wake each
   * other in a loop). Returns the mark to wait past.
   */
  suspend(claim: C, changed: boolean): number;
  /**
   * Calls `woken` once, after another holder has ended a turn since `mark`
   * (or a client that does not take part in turns has held the lock and
   * let it go). Returns a function that stops waiting (`woken` is then
   * never called).
   */
  waitForTurn(mark: number, woken: () => void): () => void;
  /** Blocks the thread until such a turn or `ms` pass; whether one came. */
  waitForTurnSync(mark: number, ms: number): boolean;
}

/**
 * An engine whose lock may keep its bytes twice and publish them whole at
 * release (atomic commit): the holder works on a copy, `discard` drops it.
 *
 * @example
 * ```ts ignore
 * if (engine.atomic) engine.discard();
 * ```
 */
export interface AtomicEngine {
  /** Whether this lock was made with atomic commit. */
  readonly atomic: boolean;
  /** While held: makes the working copy the published bytes again. */
  discard(): void;
}

/**
 * What more than `Engine` an engine offers the front: synchronous claims,
 * shared holds, condition waits, atomic commit — found by the methods it
 * has, and the errors for asking one that has not.
 *
 * @module
 */

import type {
  AtomicEngine,
  Claim,
  ConditionEngine,
  Engine,
  SharedEngine,
  SyncEngine,
} from "../engine/engine.ts";

/** The optional faces of one engine (`null`: it has not). */
export interface EngineKinds<C extends Claim> {
  /** Claims without yielding (`tryAcquire`, `acquireSync`). */
  readonly sync: SyncEngine<C> | null;
  /** Shared holds. */
  readonly shared: SharedEngine<C> | null;
  /** Condition waits (`waitUntil`). */
  readonly condition: ConditionEngine<C> | null;
  /** Atomic commit (`discard`), when the lock was made with it. */
  readonly atomic: AtomicEngine | null;
}

/** The faces `engine` has. */
export function engineKinds<C extends Claim>(
  engine: Engine<C>,
): EngineKinds<C> {
  const any = engine as unknown as Record<string, unknown>;
  return {
    sync: "tryClaim" in any ? engine as SyncEngine<C> : null,
    shared: "tryClaimShared" in any
      ? engine as unknown as SharedEngine<C>
      : null,
    condition: "suspend" in any
      ? engine as unknown as ConditionEngine<C>
      : null,
    atomic: "discard" in any && (engine as unknown as AtomicEngine).atomic
      ? engine as unknown as AtomicEngine
      : null,
  };
}

/** `sync`, or the `TypeError` for an engine without synchronous claims. */
export function needSync<C extends Claim>(
  sync: SyncEngine<C> | null,
  target: string,
): SyncEngine<C> {
  if (sync === null) {
    throw new TypeError(
      `${target} has no synchronous acquire; use await acquire()`,
    );
  }
  return sync;
}

/** `shared`, or the `TypeError` for an engine without shared holds. */
export function needShared<C extends Claim>(
  shared: SharedEngine<C> | null,
  target: string,
): SharedEngine<C> {
  if (shared === null) throw new TypeError(`${target} has no shared holds`);
  return shared;
}

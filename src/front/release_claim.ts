/**
 * The end of a turn at the engine: detach the guard's views, let the engine
 * release, then hand the realm's turn on — after an asynchronous engine's
 * release is done, whether it succeeded or not.
 *
 * @module
 */

import type { Claim, Engine, SyncEngine } from "../engine/engine.ts";
import { markReleased, type ShareGuardBase } from "./guard.ts";

/**
 * Detaches every view `guard` handed out (without copying), releases
 * `claim` through `engine`, then calls `released` once the release is done
 * or failed; an engine's release error is rethrown (or rejected) after.
 *
 * @example
 * ```ts ignore
 * await releaseClaim(engine, claim, guard, () => front.nextTask());
 * ```
 */
export function releaseClaim<C extends Claim>(
  engine: Engine<C>,
  claim: C,
  guard: ShareGuardBase,
  released: () => void,
): void | Promise<void> {
  if (markReleased(guard)) engine.retireRegion();
  let pending: void | Promise<void>;
  try {
    pending = engine.release(claim);
  } catch (error) {
    released();
    throw error;
  }
  if (pending === undefined) {
    released();
    return;
  }
  return pending.then(
    () => released(),
    (error) => {
      released();
      throw error;
    },
  );
}

/**
 * `releaseClaim` for an engine whose release is synchronous: the same steps
 * without the checks for a promise (every local release takes this path;
 * measured in bench/ab.ts).
 *
 * @example
 * ```ts ignore
 * releaseSyncClaim(engine, claim, guard, () => front.nextTask());
 * ```
 */
export function releaseSyncClaim<C extends Claim>(
  engine: SyncEngine<C>,
  claim: C,
  guard: ShareGuardBase,
  released: () => void,
): void {
  if (markReleased(guard)) engine.retireRegion();
  try {
    engine.release(claim);
  } finally {
    released();
  }
}

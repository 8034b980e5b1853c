/**
 * The `ConditionOwner` a front hands its exclusive guards when its engine
 * serves condition waits: the engine's turn waits, and the front's way of
 * letting go of the lock and taking it back for a waiting guard.
 *
 * @module
 */

import type { Claim, ConditionEngine, Engine } from "../engine/engine.ts";
import type { ConditionOwner } from "./condition.ts";
import type { ShareGuardBase } from "./guard.ts";

/** What the front does for a condition wait. */
export interface FrontHold<C extends Claim> {
  /** The lock's default timeout (ms). */
  readonly timeout: number;
  /** Lets go of `guard`'s hold through `suspend` (no hooks); see `ConditionOwner.suspend`. */
  letGo(
    guard: ShareGuardBase,
    suspend: (claim: C) => number,
    sync: boolean,
  ): number;
  /** Takes the lock back for `guard`, behind the realm's queue. */
  takeBack(guard: ShareGuardBase): Promise<unknown>;
  /** Takes the lock back for `guard`, blocking the thread. */
  takeBackSync(guard: ShareGuardBase): void;
  /** Called when `close()` begins. */
  readonly closeListeners: Set<() => void>;
}

/** The condition side of a front over `engine`. */
export function conditionOwner<C extends Claim>(
  engine: Engine<C>,
  condition: ConditionEngine<C>,
  front: FrontHold<C>,
): ConditionOwner {
  return {
    timeout: front.timeout,
    target: engine.target,
    suspend: (guard, changed, sync) =>
      front.letGo(guard, (claim) => condition.suspend(claim, changed), sync),
    waitForTurn: (mark, woken) => condition.waitForTurn(mark, woken),
    waitForTurnSync: (mark, ms) => condition.waitForTurnSync(mark, ms),
    resume: (guard) => front.takeBack(guard),
    resumeSync: (guard) => front.takeBackSync(guard),
    onClose: (closing) => {
      front.closeListeners.add(closing);
      return () => front.closeListeners.delete(closing);
    },
    timeoutError: (timeout) => engine.timeoutError(timeout),
  };
}

/**
 * How a front makes its guards (`FrontSettings`), and the `GuardOwner` it
 * hands its exclusive guards: how a guard releases, reads the region,
 * discards an atomic turn and waits on a condition — each only where the
 * engine offers it.
 *
 * @module
 */

import type { Claim, Engine } from "../engine/engine.ts";
import { conditionOwner, type FrontHold } from "./condition_owner.ts";
import type { EngineKinds } from "./engine_kinds.ts";
import type { GuardOwner, ShareGuardBase } from "./guard.ts";

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

/** What the front does for its guards, besides the condition side. */
export interface FrontGuards<C extends Claim> extends FrontHold<C> {
  /** Ends `guard`'s turn (hooks, engine, next task); see `GuardOwner.release`. */
  release(guard: ShareGuardBase, sync: boolean): void | Promise<void>;
  /** Whether `guard` is the realm's current exclusive holder. */
  holds(guard: ShareGuardBase): boolean;
}

/**
 * The owner of the exclusive guards of a front over `engine`.
 *
 * @example
 * ```ts ignore
 * const owner = frontOwner(engine, engineKinds(engine), frontGuards);
 * const guard = new LockGuard(claim.recovered, claim.token, owner);
 * ```
 */
export function frontOwner<C extends Claim>(
  engine: Engine<C>,
  kinds: EngineKinds<C>,
  front: FrontGuards<C>,
): GuardOwner {
  const { atomic, condition } = kinds;
  return {
    release: (guard, sync) => front.release(guard, sync),
    region: () => engine.region(),
    discard: atomic === null ? undefined : (guard) => {
      if (!front.holds(guard)) throw new TypeError("discard() after release");
      atomic.discard();
    },
    condition: condition === null
      ? undefined
      : conditionOwner(engine, condition, front),
  };
}

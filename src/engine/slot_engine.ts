/**
 * The seam for engines with several holders at once: a semaphore of N
 * slots, each slot excluding its holders as one lock does. Unlike `Engine`,
 * a realm may hold several claims at a time (one per slot), so the region
 * and its retirement are asked for per slot.
 *
 * An engine imports nothing of the front but this file and `engine.ts`.
 *
 * @module
 */

import type { Claim, WaitCallbacks } from "./engine.ts";

/** A claim of one slot. */
export interface SlotClaim extends Claim {
  /** The slot taken: 0 .. slots - 1. */
  readonly slot: number;
}

/**
 * What a slot engine gives the front. `wait` asks for one more slot for
 * this realm (at most one wait in flight); the slots this realm holds are
 * never waited for or claimed again until released.
 *
 * @example
 * ```ts ignore
 * const claim = engine.tryClaim();
 * if (claim !== null) engine.release(claim);
 * ```
 */
export interface SlotEngine<C extends SlotClaim = SlotClaim> {
  /** What errors name: the semaphore's meta file. */
  readonly target: string;
  /** How many slots there are. */
  readonly slots: number;
  /** One attempt now at any slot this realm does not hold: a claim, or `null`. */
  tryClaim(): C | null;
  /** Blocks the thread until a slot is taken or `timeout` ms pass; `null` on timeout. */
  claimSync(timeout: number): C | null;
  /** Waits for a slot for this realm and calls back once; may call `granted` before returning. */
  wait(callbacks: WaitCallbacks<C>): void;
  /** This realm no longer wants another slot. */
  stopWaiting(): void;
  /** Releases the slot held by `claim`. */
  release(claim: C): void;
  /** The buffer guards of `slot` view its bytes through, while it is held. */
  region(slot: number): ArrayBuffer;
  /** Detaches every view of `slot`'s current region buffer (after a release). */
  retireRegion(slot: number): void;
  /** The error for a wait that timed out after `timeout` ms. */
  timeoutError(timeout: number): Error;
  /** Lets go of every resource; only called with no slot held and no wait in flight. */
  close(): void;
}

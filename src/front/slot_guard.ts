/**
 * The guard of a semaphore's slot.
 *
 * @module
 */

import { type GuardOwner, LockGuard } from "./guard.ts";

/**
 * A held slot of a `MemoryShareSemaphore`: a `LockGuard` over that slot's
 * own bytes, plus which slot it is. Release it with `release()`,
 * `releaseSync()`, `using` or `await using`; every form is idempotent.
 *
 * @example
 * ```ts ignore
 * await using seat = await profiles.acquire();
 * console.log(`profile ${seat.slot}`, seat.memory[0]);
 * ```
 */
export class SlotGuard extends LockGuard {
  /** The slot held: 0 .. slots - 1. Its bytes (`memory`) pass from holder to holder of this slot. */
  readonly slot: number;

  /** Made by the semaphore; not meant to be constructed directly. */
  constructor(
    recovered: boolean,
    token: number,
    owner: GuardOwner,
    slot: number,
  ) {
    super(recovered, token, owner);
    this.slot = slot;
  }
}

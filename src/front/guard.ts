/**
 * The guards an acquire returns: proof of holding the lock, the shared
 * memory, the fencing token, and the way to release (explicitly or by
 * `using` / `await using`).
 *
 * @module
 */

import { type ConditionOwner, waitUntil, waitUntilSync } from "./condition.ts";
import type { AcquireOptions } from "./options.ts";

/** What a guard needs from the lock that made it. */
export interface GuardOwner {
  /** Releases the lock held by `guard` (hooks first); sync or async. */
  release(guard: ShareGuardBase, sync: boolean): void | Promise<void>;
  /** The buffer over the shared bytes that guards view now. */
  region(): ArrayBuffer;
  /** Condition waits, where the engine serves them and the hold is exclusive. */
  condition?: ConditionOwner;
  /** Reverts the working copy to the published bytes (atomic locks only). */
  discard?(guard: ShareGuardBase): void;
}

/**
 * What a guard knows of its hold. Each guard class keeps it in one private
 * field and hands it to the shared methods through `[STATE]`: the guard
 * base has no fields of its own, because constructing a subclass of a
 * class with fields costs an acquire 30–40 ns more in Deno (V8 cannot then
 * skip the base constructor; measured in bench/ab.ts).
 */
export interface GuardState {
  recovered: boolean;
  token: number;
  readonly owner: GuardOwner;
  view: Uint8Array | null;
  released: boolean;
  /** Let go of by a condition wait that has not taken the lock back yet. */
  suspended: boolean;
  releasing: Promise<void> | null;
}

/** The key of a guard's state getter; not exported from the package. */
export const STATE: unique symbol = Symbol("memshare guard state");

/**
 * A fresh guard's state.
 *
 * @example
 * ```ts ignore
 * this.#state = guardState(claim.recovered, claim.token, owner);
 * ```
 */
export function guardState(
  recovered: boolean,
  token: number,
  owner: GuardOwner,
): GuardState {
  return {
    recovered,
    token,
    owner,
    view: null,
    released: false,
    suspended: false,
    releasing: null,
  };
}

/**
 * Marks `guard` suspended by a condition wait (its memory reads as empty);
 * returns whether its memory was viewed (then the owner detaches the region).
 */
export function suspendGuard(guard: ShareGuardBase): boolean {
  const state = guard[STATE];
  const viewed = state.view !== null;
  state.view = null;
  state.suspended = true;
  return viewed;
}

/** Gives a suspended guard its new hold: the token and recovered flag of `claim`. */
export function resumeGuard(
  guard: ShareGuardBase,
  claim: { readonly recovered: boolean; readonly token: number },
): void {
  const state = guard[STATE];
  state.suspended = false;
  state.token = claim.token;
  state.recovered = claim.recovered;
}

/** The owner a guard was made by (for the condition and atomic helpers). */
export function ownerOf(guard: ShareGuardBase): GuardOwner {
  return guard[STATE].owner;
}

/**
 * Marks `guard` released; returns whether its memory was viewed (then the
 * owner must detach the region buffer).
 */
export function markReleased(guard: ShareGuardBase): boolean {
  const state = guard[STATE];
  state.released = true;
  state.suspended = false;
  return state.view !== null;
}

/** One settled promise for every release without async work (saves an allocation per release). */
const SETTLED: Promise<void> = Promise.resolve();

/**
 * What every guard has, whatever the engine: the memory, whether the last
 * holder died holding the lock, the fencing token, and an async release.
 *
 * @example
 * ```ts ignore
 * await using guard = await lock.acquire();
 * await api.call({ fence: guard.token });
 * ```
 */
export abstract class ShareGuardBase implements AsyncDisposable {
  /**
   * This guard's state: the lock's, not the user's.
   *
   * @internal
   */
  abstract get [STATE](): GuardState;

  /**
   * Whether the previous holder died (or lost its lease) holding the lock;
   * its data is still there. After a condition wait: of the current hold.
   */
  get recovered(): boolean {
    return this[STATE].recovered;
  }

  /**
   * The fencing token: strictly increases with every acquisition of this
   * lock, by anyone. Hand it to the resource you guard so it can refuse a
   * holder whose turn is over. A condition wait takes the lock again: the
   * token is then the new hold's.
   */
  get token(): number {
    return this[STATE].token;
  }

  /**
   * The shared bytes: a zero-copy view, valid while the lock is held. On
   * release its buffer is detached, so a kept reference reads as empty
   * instead of touching shared memory without the lock. (Likewise while a
   * condition wait has let go of the lock: get `memory` again after it.)
   */
  get memory(): Uint8Array {
    const state = this[STATE];
    if (state.suspended) return new Uint8Array(0);
    if (state.view === null) {
      state.view = state.released
        ? new Uint8Array(0)
        : new Uint8Array(state.owner.region());
    }
    return state.view;
  }

  /** Whether this guard has been released. */
  get released(): boolean {
    return this[STATE].released;
  }

  /** Releases the lock, running release hooks (awaited). Idempotent. */
  release(): Promise<void> {
    const state = this[STATE];
    if (state.releasing !== null) return state.releasing;
    if (state.released) return SETTLED;
    try {
      const done = state.owner.release(this, false);
      state.releasing = done === undefined ? SETTLED : done;
    } catch (error) {
      state.releasing = Promise.reject(error);
    }
    return state.releasing;
  }

  /** `await using`: releases, awaiting release hooks. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.release();
  }

  /** Releases now through the owner (the synchronous guards' path). */
  protected releaseNow(): void {
    const state = this[STATE];
    if (state.released || state.releasing !== null) return;
    state.owner.release(this, true);
  }
}

/**
 * A held local lock (`MemoryShareLock`). Release it with `release()`,
 * `releaseSync()`, `using` or `await using`; every form is idempotent.
 *
 * @example
 * ```ts ignore
 * using guard = lock.acquireSync();
 * guard.memory[0]++;
 * ```
 */
export class LockGuard extends ShareGuardBase implements Disposable {
  readonly #state: GuardState;

  /** Made by the lock; not meant to be constructed directly. */
  constructor(recovered: boolean, token: number, owner: GuardOwner) {
    super();
    this.#state = guardState(recovered, token, owner);
  }

  /**
   * This guard's state: the lock's, not the user's.
   *
   * @internal
   */
  get [STATE](): GuardState {
    return this.#state;
  }

  /**
   * Waits, holding the lock whenever it looks, until `predicate(memory)` is
   * true, and resolves holding the lock with it true. While it is false the
   * lock is let go (release hooks do not run: the turn is not over), and
   * taken back — first come, first served with this realm's other tasks —
   * after another holder has had a turn. Rejects with `LockTimeoutError`
   * after `timeout` ms (default: the lock's), or with `signal.reason`, and
   * then **still holds the lock**, so `using` / `await using` releases it as
   * usual. `token` and `recovered` then describe the new hold; get
   * `memory` again (views taken before were detached). The predicate must
   * only read. Exclusive holds of a `MemoryShareLock` only (not shared
   * holds, not `RedisShareLock` guards).
   *
   * @example
   * ```ts ignore
   * await using guard = await windowLock.acquire();
   * await guard.waitUntil((memory) => memory[0] === MAIL, { timeout: 10_000 });
   * ```
   */
  waitUntil(
    predicate: (memory: Uint8Array) => boolean,
    options?: AcquireOptions,
  ): Promise<void> {
    return waitUntil(this, predicate, options);
  }

  /**
   * `waitUntil` that blocks the thread (for `acquireSync` users): returns
   * holding the lock with the predicate true; throws `LockTimeoutError`
   * still holding it.
   *
   * @example
   * ```ts ignore
   * using guard = lock.acquireSync();
   * guard.waitUntilSync((memory) => memory[0] !== 0, { timeout: 5_000 });
   * ```
   */
  waitUntilSync(
    predicate: (memory: Uint8Array) => boolean,
    options?: { timeout?: number },
  ): void {
    waitUntilSync(this, predicate, options);
  }

  /**
   * Atomic locks (`{ atomic: true }`): drops this turn's changes so far —
   * `memory` holds the published bytes again, and nothing written before
   * the call is published. What is written after it is published at
   * release. A `TypeError` on a lock without `atomic`.
   *
   * @example
   * ```ts ignore
   * if (!valid(guard.memory)) guard.discard();
   * ```
   */
  discard(): void {
    const owner = ownerOf(this);
    if (owner.discard === undefined) {
      throw new TypeError(
        "discard() needs an exclusive hold of a lock made with { atomic: true }",
      );
    }
    owner.discard(this);
  }

  /** Releases the lock now; release hooks must be synchronous. Idempotent. */
  releaseSync(): void {
    this.releaseNow();
  }

  /** `using`: releases synchronously. */
  [Symbol.dispose](): void {
    this.releaseNow();
  }
}

/**
 * The owner of a shared guard. Its memory is its own copy of the region,
 * taken at first use: what a shared holder writes never reaches the region,
 * and (unlike a read-only mapping) a write cannot crash the process. On
 * release the copy is detached like an exclusive guard's view, then
 * `release` lets go of the shared hold.
 */
export function sharedOwner(
  region: () => ArrayBuffer,
  release: () => void,
): GuardOwner {
  let copy: ArrayBuffer | null = null;
  return {
    region: () => (copy ??= region().slice(0)),
    release: (guard) => {
      if (markReleased(guard) && copy !== null) copy.transfer(0);
      release();
    },
  };
}

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
 * Marks `guard` suspended by a condition wait (its memory reads as empty);
 * returns whether its memory was viewed (then the owner detaches the region).
 */
export let suspendGuard: (guard: ShareGuardBase) => boolean;
/** Gives a suspended guard its new hold: the token and recovered flag of `claim`. */
export let resumeGuard: (
  guard: ShareGuardBase,
  claim: { readonly recovered: boolean; readonly token: number },
) => void;
/** The owner a guard was made by (for the condition and atomic helpers). */
export let ownerOf: (guard: ShareGuardBase) => GuardOwner;

/**
 * Marks `guard` released; returns whether its memory was viewed (then the
 * owner must detach the region buffer). Kept off the class so users cannot
 * call it.
 */
export let markReleased: (guard: ShareGuardBase) => boolean;

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
export class ShareGuardBase implements AsyncDisposable {
  #recovered: boolean;
  #token: number;
  #owner: GuardOwner;
  #view: Uint8Array | null = null;
  #released = false;
  /** Let go of by a condition wait that has not taken the lock back yet. */
  #suspended = false;
  #releasing: Promise<void> | null = null;

  /** Made by the lock; not meant to be constructed directly. */
  constructor(recovered: boolean, token: number, owner: GuardOwner) {
    this.#recovered = recovered;
    this.#token = token;
    this.#owner = owner;
  }

  /**
   * Whether the previous holder died (or lost its lease) holding the lock;
   * its data is still there. After a condition wait: of the current hold.
   */
  get recovered(): boolean {
    return this.#recovered;
  }

  /**
   * The fencing token: strictly increases with every acquisition of this
   * lock, by anyone. Hand it to the resource you guard so it can refuse a
   * holder whose turn is over. A condition wait takes the lock again: the
   * token is then the new hold's.
   */
  get token(): number {
    return this.#token;
  }

  /**
   * The shared bytes: a zero-copy view, valid while the lock is held. On
   * release its buffer is detached, so a kept reference reads as empty
   * instead of touching shared memory without the lock. (Likewise while a
   * condition wait has let go of the lock: get `memory` again after it.)
   */
  get memory(): Uint8Array {
    if (this.#suspended) return new Uint8Array(0);
    if (this.#view === null) {
      this.#view = this.#released
        ? new Uint8Array(0)
        : new Uint8Array(this.#owner.region());
    }
    return this.#view;
  }

  /** Whether this guard has been released. */
  get released(): boolean {
    return this.#released;
  }

  /** Releases the lock, running release hooks (awaited). Idempotent. */
  release(): Promise<void> {
    if (this.#releasing !== null) return this.#releasing;
    if (this.#released) return SETTLED;
    try {
      const done = this.#owner.release(this, false);
      this.#releasing = done === undefined ? SETTLED : done;
    } catch (error) {
      this.#releasing = Promise.reject(error);
    }
    return this.#releasing;
  }

  /** `await using`: releases, awaiting release hooks. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.release();
  }

  /** Releases now through the owner (the synchronous guards' path). */
  protected releaseNow(): void {
    if (this.#released || this.#releasing !== null) return;
    this.#owner.release(this, true);
  }

  static {
    markReleased = (guard) => {
      guard.#released = true;
      guard.#suspended = false;
      return guard.#view !== null;
    };
    suspendGuard = (guard) => {
      const viewed = guard.#view !== null;
      guard.#view = null;
      guard.#suspended = true;
      return viewed;
    };
    resumeGuard = (guard, claim) => {
      guard.#suspended = false;
      guard.#token = claim.token;
      guard.#recovered = claim.recovered;
    };
    ownerOf = (guard) => guard.#owner;
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

/**
 * The guards an acquire returns: proof of holding the lock, the shared
 * memory, the fencing token, and the way to release (explicitly or by
 * `using` / `await using`).
 *
 * @module
 */

/** What a guard needs from the lock that made it. */
export interface GuardOwner {
  /** Releases the lock held by `guard` (hooks first); sync or async. */
  release(guard: ShareGuardBase, sync: boolean): void | Promise<void>;
  /** The buffer over the shared bytes that guards view now. */
  region(): ArrayBuffer;
}

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
  /** Whether the previous holder died (or lost its lease) holding the lock; its data is still there. */
  readonly recovered: boolean;
  /**
   * The fencing token: strictly increases with every acquisition of this
   * lock, by anyone. Hand it to the resource you guard so it can refuse a
   * holder whose turn is over.
   */
  readonly token: number;
  #owner: GuardOwner;
  #view: Uint8Array | null = null;
  #released = false;
  #releasing: Promise<void> | null = null;

  /** Made by the lock; not meant to be constructed directly. */
  constructor(recovered: boolean, token: number, owner: GuardOwner) {
    this.recovered = recovered;
    this.token = token;
    this.#owner = owner;
  }

  /**
   * The shared bytes: a zero-copy view, valid while the lock is held. On
   * release its buffer is detached, so a kept reference reads as empty
   * instead of touching shared memory without the lock.
   */
  get memory(): Uint8Array {
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
      return guard.#view !== null;
    };
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
  /** Releases the lock now; release hooks must be synchronous. Idempotent. */
  releaseSync(): void {
    this.releaseNow();
  }

  /** `using`: releases synchronously. */
  [Symbol.dispose](): void {
    this.releaseNow();
  }
}

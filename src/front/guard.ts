/**
 * The guard an acquire returns: proof of holding the lock, the shared
 * memory, and the way to release (explicitly or by `using`).
 *
 * @module
 */

/** What a guard needs from the lock that made it. */
export interface GuardOwner {
  /** Releases the lock held by `guard` (hooks first); sync or async. */
  release(guard: LockGuard, sync: boolean): void | Promise<void>;
  /** The zero-copy buffer over the user region that guards view now. */
  region(): ArrayBuffer;
}

/**
 * Marks `guard` released; returns whether its memory was viewed (then the
 * owner must detach the region buffer). Kept off the class so users cannot
 * call it.
 */
export let markReleased: (guard: LockGuard) => boolean;

/** One settled promise for every release without async work (saves an allocation per release). */
const SETTLED: Promise<void> = Promise.resolve();

/**
 * Held lock. Release it with `release()`, `releaseSync()`, `using` or
 * `await using`; every form is idempotent.
 *
 * @example
 * ```ts ignore
 * await using guard = await lock.acquire();
 * guard.memory[0]++;
 * ```
 */
export class LockGuard implements Disposable, AsyncDisposable {
  /** Whether the previous holder died holding the lock (its data is still there). */
  readonly recovered: boolean;
  #owner: GuardOwner;
  #view: Uint8Array | null = null;
  #released = false;
  #releasing: Promise<void> | null = null;

  /** Made by `MemoryShareLock`; not meant to be constructed directly. */
  constructor(recovered: boolean, owner: GuardOwner) {
    this.recovered = recovered;
    this.#owner = owner;
  }

  /**
   * The shared region: a zero-copy view, valid while the lock is held. On
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

  /** Releases the lock now; release hooks must be synchronous. Idempotent. */
  releaseSync(): void {
    if (this.#released || this.#releasing !== null) return;
    this.#owner.release(this, true);
  }

  /** `using`: releases synchronously. */
  [Symbol.dispose](): void {
    this.releaseSync();
  }

  /** `await using`: releases, awaiting release hooks. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.release();
  }

  static {
    markReleased = (guard) => {
      guard.#released = true;
      return guard.#view !== null;
    };
  }
}

/**
 * Running acquire and release hooks, synchronously or awaited.
 *
 * Acquire hooks stop at the first throw (the caller then releases the lock
 * and rejects). Release hooks all run even if one throws, so every hook gets
 * its chance to clean up; the first error is returned for rethrowing once
 * the lock is released.
 *
 * @module
 */

/** A hook as stored: called with the memory and the lock. */
export type StoredHook<L> = (memory: Uint8Array, lock: L) => unknown;

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value !== null &&
    (typeof value === "object" || typeof value === "function") &&
    typeof (value as PromiseLike<unknown>).then === "function";
}

function promiseInSyncPath(kind: string): TypeError {
  return new TypeError(
    `${
      kind === "acquire" ? "an" : "a"
    } ${kind} hook returned a promise, but this acquire/release is synchronous (acquireSync, tryAcquire, releaseSync, using); use acquire()/release()/await using with async hooks`,
  );
}

/** Runs acquire hooks in order, synchronously; throws the first error. */
export function runAcquireHooksSync<L>(
  hooks: readonly StoredHook<L>[],
  memory: Uint8Array,
  lock: L,
): void {
  for (const hook of hooks) {
    const result = hook(memory, lock);
    if (isThenable(result)) {
      Promise.resolve(result).catch(() => {});
      throw promiseInSyncPath("acquire");
    }
  }
}

/** Runs acquire hooks in order, awaiting each; rejects with the first error. */
export async function runAcquireHooks<L>(
  hooks: readonly StoredHook<L>[],
  memory: Uint8Array,
  lock: L,
): Promise<void> {
  for (const hook of hooks) {
    const result = hook(memory, lock);
    if (isThenable(result)) await result;
  }
}

/** Runs every release hook synchronously; returns the first error, if any. */
export function runReleaseHooksSync<L>(
  hooks: readonly StoredHook<L>[],
  memory: Uint8Array,
  lock: L,
): unknown {
  let first: unknown;
  let failed = false;
  for (const hook of hooks) {
    try {
      const result = hook(memory, lock);
      if (isThenable(result)) {
        Promise.resolve(result).catch(() => {});
        throw promiseInSyncPath("release");
      }
    } catch (error) {
      if (!failed) [first, failed] = [error, true];
    }
  }
  return failed
    ? (first ?? new Error("a release hook threw undefined"))
    : undefined;
}

/** Runs every release hook, awaiting each; resolves to the first error, if any. */
export async function runReleaseHooks<L>(
  hooks: readonly StoredHook<L>[],
  memory: Uint8Array,
  lock: L,
): Promise<unknown> {
  let first: unknown;
  let failed = false;
  for (const hook of hooks) {
    try {
      const result = hook(memory, lock);
      if (isThenable(result)) await result;
    } catch (error) {
      if (!failed) [first, failed] = [error, true];
    }
  }
  return failed
    ? (first ?? new Error("a release hook threw undefined"))
    : undefined;
}

/**
 * After a take: runs the acquire hooks (awaited) with the guard's memory;
 * if one throws, lets the lock go through `unlock` and rejects with it.
 *
 * @example
 * ```ts ignore
 * const guard = await enterWithHooks(guard, hooks, lock, () => unlock(guard));
 * ```
 */
export async function enterWithHooks<G extends { memory: Uint8Array }, L>(
  guard: G,
  hooks: readonly StoredHook<L>[],
  lock: L,
  unlock: () => void | Promise<void>,
): Promise<G> {
  if (hooks.length === 0) return guard;
  try {
    await runAcquireHooks([...hooks], guard.memory, lock);
  } catch (error) {
    await unlock();
    throw error;
  }
  return guard;
}

/**
 * `enterWithHooks` for the synchronous paths: hooks must not return promises.
 *
 * @example
 * ```ts ignore
 * return enterWithHooksSync(guard, hooks, lock, () => unlock(guard));
 * ```
 */
export function enterWithHooksSync<G extends { memory: Uint8Array }, L>(
  guard: G,
  hooks: readonly StoredHook<L>[],
  lock: L,
  unlock: () => void | Promise<void>,
): G {
  if (hooks.length === 0) return guard;
  try {
    runAcquireHooksSync([...hooks], guard.memory, lock);
  } catch (error) {
    void unlock();
    throw error;
  }
  return guard;
}

/**
 * Before a release: runs every release hook (awaited unless `sync`), then
 * `unlock`; the first hook error is rethrown once the lock is released.
 *
 * @example
 * ```ts ignore
 * return releaseWithHooks(guard.memory, hooks, lock, false, () => unlock(guard));
 * ```
 */
export function releaseWithHooks<L>(
  memory: Uint8Array,
  hooks: readonly StoredHook<L>[],
  lock: L,
  sync: boolean,
  unlock: () => void | Promise<void>,
): void | Promise<void> {
  if (sync) {
    const error = runReleaseHooksSync([...hooks], memory, lock);
    void unlock();
    if (error !== undefined) throw error;
    return;
  }
  return runReleaseHooks([...hooks], memory, lock).then(async (error) => {
    await unlock();
    if (error !== undefined) throw error;
  });
}

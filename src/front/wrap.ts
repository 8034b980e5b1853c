/**
 * The small methods every public lock class has alike: `wrap` and the
 * add-a-hook functions.
 *
 * @module
 */

import type { AcquireOptions } from "./options.ts";

/** What `wrapWith` needs of a lock. */
export interface Runs {
  /** Runs `fn` holding the lock. */
  run<R>(fn: () => R | Promise<R>, options?: AcquireOptions): Promise<R>;
}

/**
 * `lock.wrap(fn)`: a version of `fn` that runs holding `lock`. A function,
 * not an arrow, so a wrapped method keeps its `this`.
 *
 * @example
 * ```ts ignore
 * const click = wrapWith(lock, (x: number) => bot.click(x));
 * ```
 */
export function wrapWith<A extends unknown[], T>(
  lock: Runs,
  fn: (...args: A) => T | Promise<T>,
  options?: AcquireOptions,
): (...args: A) => Promise<T> {
  return function (this: unknown, ...args: A): Promise<T> {
    return lock.run(() => fn.apply(this, args), options);
  };
}

/**
 * Appends `hook` to `hooks`; returns a function that removes it.
 *
 * @example
 * ```ts ignore
 * const remove = addHook(front.acquireHooks, hook);
 * ```
 */
export function addHook<H>(hooks: H[], hook: H): () => void {
  hooks.push(hook);
  return () => {
    const at = hooks.indexOf(hook);
    if (at >= 0) hooks.splice(at, 1);
  };
}

/**
 * `locked(lock)`: a standard (TC39) method decorator that runs the method
 * holding the lock.
 *
 * @module
 */

import type { AcquireOptions } from "./options.ts";
import type { ShareLock } from "./share_lock.ts";

/**
 * A method decorator: every call of the decorated async method runs holding
 * `lock` (released when it settles).
 *
 * @example
 * ```ts ignore
 * const mouse = new MemoryShareLock("mouse", { length: 8 });
 * class Bot {
 *   @locked(mouse)
 *   async drag(x: number, y: number): Promise<void> {
 *     // only one bot drags at a time
 *   }
 * }
 * ```
 */
export function locked(
  lock: ShareLock,
  options?: AcquireOptions,
): <This, A extends unknown[], T>(
  method: (this: This, ...args: A) => Promise<T>,
  context: ClassMethodDecoratorContext<This>,
) => (this: This, ...args: A) => Promise<T> {
  return <This, A extends unknown[], T>(
    method: (this: This, ...args: A) => Promise<T>,
    context: ClassMethodDecoratorContext<This>,
  ) => {
    if (context.kind !== "method") {
      throw new TypeError(`@locked decorates methods, not ${context.kind}s`);
    }
    return function (this: This, ...args: A): Promise<T> {
      return lock.run(() => method.apply(this, args), options);
    };
  };
}

/**
 * memshare for fleets: the same lock across machines, kept on a Redis
 * server, with a few shared bytes handed from holder to holder, fencing
 * tokens, and leases renewed while the holder's process lives. Loads the
 * `@redis/client` package (the core, `@memshare/lock`, loads nothing);
 * Deno needs `--allow-net` (and `--allow-sys=hostname` to name the
 * holder's host; without it, the address the server sees).
 *
 * @example
 * ```ts ignore
 * import { RedisShareLock } from "@memshare/lock/redis";
 *
 * const account = new RedisShareLock("crm_account", {
 *   length: 64,
 *   redis: "redis://127.0.0.1:6379",
 * });
 * await account.run(async (memory, guard) => {
 *   await crm.update({ fence: guard.token, signal: guard.signal });
 * });
 * await account.close();
 * ```
 *
 * @module
 */

export {
  type RedisHook,
  RedisShareGuard,
  RedisShareLock,
  type RedisShareLockOptions,
} from "./src/lock/redis_share_lock.ts";
export type { RedisHolder, RedisLockInfo } from "./src/engine/redis/types.ts";
export {
  LockLostError,
  RedisConnectionError,
} from "./src/engine/redis/errors.ts";
export { RedisLockTimeoutError } from "./src/engine/redis/timeout_error.ts";
export type {
  ShareGuard,
  ShareHook,
  ShareLock,
} from "./src/front/share_lock.ts";
export type { AcquireOptions } from "./src/front/options.ts";
export type { ShareGuardBase } from "./src/front/guard.ts";
export { locked } from "./src/front/locked.ts";
export { LockClosedError, LockTimeoutError } from "./src/errors.ts";

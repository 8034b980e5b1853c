/**
 * One lock's state as the server keeps it, for `RedisEngine.info()` and
 * the status CLI: read by a script, which takes no lock and changes
 * nothing.
 *
 * @module
 */

import type { RedisHub } from "./connection.ts";
import { type LockKeys, SCRIPTS } from "./scripts.ts";
import { parseHolder, type RedisLockInfo } from "./types.ts";

/**
 * The state of the lock with `keys` on `hub`'s server; rejects after
 * `stepTimeout` ms.
 *
 * @example
 * ```ts ignore
 * const info = await readLockInfo(RedisHub.use(url), lockKeys("crm"), 5_000);
 * console.log(info.locked, info.holder?.host, info.waiting, info.token);
 * ```
 */
export async function readLockInfo(
  hub: RedisHub,
  keys: LockKeys,
  stepTimeout: number,
): Promise<RedisLockInfo> {
  await hub.ready();
  const reply = await hub.run(SCRIPTS.info, keys.keys, [
    keys.mailboxPrefix,
  ], stepTimeout);
  if (!Array.isArray(reply)) throw new Error("bad info reply");
  const holder = parseHolder(reply[1]);
  return {
    locked: reply[0] === 1,
    holder,
    waiting: Number(reply[2]),
    acquisitions: Number(reply[3]),
    recoveries: Number(reply[4]),
    token: Number(reply[5]),
  };
}

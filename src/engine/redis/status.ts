/**
 * What the status CLI shows for a Redis server: every memshare lock kept
 * there, with its holder, waiters and token. Reads only; never takes a lock.
 *
 * @module
 */

import { RedisHub, text } from "./connection.ts";
import { RedisConnectionError } from "./errors.ts";
import { readLockInfo } from "./lock_info.ts";
import { lockKeys } from "./scripts.ts";
import type { RedisLockInfo } from "./types.ts";
import type { RedisUrl } from "./url.ts";

/** One lock on the server, by name. */
export interface RedisLockStatus extends RedisLockInfo {
  /** The lock's name. */
  readonly name: string;
}

const STATE_KEY = /^memshare:\{(.+)\}:state$/;

/**
 * Every memshare lock on the server at `url` (found by `SCAN`, at most
 * `limit`), sorted by name, each with its state.
 *
 * @example
 * ```ts ignore
 * for (const lock of await listRedisLocks(parseRedisUrl("redis://127.0.0.1:6379"))) {
 *   console.log(lock.name, lock.holder?.host, lock.waiting, lock.token);
 * }
 * ```
 */
export async function listRedisLocks(
  url: RedisUrl,
  limit = 10_000,
): Promise<RedisLockStatus[]> {
  const hub = RedisHub.use(url);
  try {
    await hub.ready();
    if (hub.isCluster) {
      throw new RedisConnectionError(
        url.masked,
        "listing the locks of a Redis Cluster is not supported yet",
      );
    }
    const names: string[] = [];
    let cursor = "0";
    do {
      const reply = await hub.command([
        "SCAN",
        cursor,
        "MATCH",
        "memshare:{*}:state",
        "COUNT",
        "1000",
      ], 10_000);
      if (!Array.isArray(reply) || !Array.isArray(reply[1])) break;
      cursor = text(reply[0]);
      for (const key of reply[1]) {
        const name = STATE_KEY.exec(text(key))?.[1];
        if (name !== undefined) names.push(name);
      }
    } while (cursor !== "0" && names.length < limit);
    names.sort();
    const result: RedisLockStatus[] = [];
    for (const name of names.slice(0, limit)) {
      const info = await readLockInfo(hub, lockKeys(name), 10_000);
      result.push({ name, ...info });
    }
    return result;
  } finally {
    await hub.unuse();
  }
}

/**
 * Keeps this realm's connection to `url` open between listings (what
 * `watch --redis` does, instead of connecting once per frame); returns the
 * function that lets it go.
 */
export function keepRedisConnection(url: RedisUrl): () => Promise<void> {
  const hub = RedisHub.use(url);
  let kept = true;
  return async () => {
    if (!kept) return;
    kept = false;
    await hub.unuse();
  };
}

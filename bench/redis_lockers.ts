/**
 * The locks the Redis benchmarks compare, behind one shape: memshare's
 * `RedisShareLock`, `redis-semaphore`'s `Mutex` and
 * `@sesamecare-oss/redlock` (both on ioredis, with their default retry
 * timing), and the raw floor (`SET NX PX` + compare-and-delete, retried at
 * once: unfair and spinning, the cheapest a lock can be).
 *
 * @module
 */

import { createClient } from "@redis/client";
import { Redis } from "ioredis";
import { Mutex } from "redis-semaphore";
import { Redlock } from "@sesamecare-oss/redlock";
import { RedisShareLock } from "../redis.ts";

/** Which lock. */
export type LockerKind = "memshare" | "raw" | "redis-semaphore" | "redlock";

/** Every kind, in table order. */
export const LOCKER_KINDS: readonly LockerKind[] = [
  "raw",
  "memshare",
  "redis-semaphore",
  "redlock",
];

/** One lock, one process. */
export interface Locker {
  /** Takes the lock; resolves to its release. */
  acquire(): Promise<() => Promise<void>>;
  /** Closes connections. */
  close(): Promise<void>;
}

const CAD =
  "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0";

/** A connected locker of `kind` on lock `name` at `url`, with `length` shared bytes (memshare). */
export async function makeLocker(
  kind: LockerKind,
  url: string,
  name: string,
  length = 64,
): Promise<Locker> {
  if (kind === "memshare") {
    const lock = new RedisShareLock(name, { length, redis: url });
    await lock.info();
    return {
      acquire: async () => {
        const guard = await lock.acquire();
        guard.memory[0]++;
        return () => guard.release();
      },
      close: () => lock.close(),
    };
  }
  if (kind === "raw") {
    const c = createClient({ url });
    await c.connect();
    const sha = String(await c.sendCommand(["SCRIPT", "LOAD", CAD]));
    const me = crypto.randomUUID();
    const key = `raw:${name}`;
    return {
      acquire: async () => {
        while (
          await c.sendCommand(["SET", key, me, "NX", "PX", "10000"]) === null
        );
        return async () => {
          await c.sendCommand(["EVALSHA", sha, "1", key, me]);
        };
      },
      close: () => c.close(),
    };
  }
  const u = new URL(url);
  const io = new Redis(Number(u.port), u.hostname, { lazyConnect: true });
  await io.connect();
  if (kind === "redis-semaphore") {
    return {
      acquire: async () => {
        const mutex = new Mutex(io, `sem:${name}`, {
          acquireTimeout: 60_000,
        });
        await mutex.acquire();
        return () => mutex.release();
      },
      close: () => Promise.resolve(io.disconnect()),
    };
  }
  const redlock = new Redlock([io], { retryCount: -1 });
  return {
    acquire: async () => {
      const lock = await redlock.acquire([`redlock:${name}`], 10_000);
      return async () => void await lock.release();
    },
    close: () => Promise.resolve(io.disconnect()),
  };
}

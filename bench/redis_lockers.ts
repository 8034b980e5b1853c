/**
 * The locks the Redis benchmarks compare, behind one shape: memshare's
 * `RedisShareLock`, `redis-semaphore`'s `Mutex` and
 * `@sesamecare-oss/redlock` (both on ioredis, with their default retry
 * timing), the raw floor (`SET NX PX` + compare-and-delete, retried at
 * once: unfair and spinning, the cheapest a lock can be), and `fenced`: the
 * least script pair with this library's guarantees, from the same plain
 * client (a lower bound for any design, not a lock to use).
 *
 * @module
 */

import { createClient } from "@redis/client";
import { Buffer } from "node:buffer";
import { Redis } from "ioredis";
import { Mutex } from "redis-semaphore";
import { Redlock } from "@sesamecare-oss/redlock";
import { RedisShareLock } from "../redis.ts";

/** Which lock (`fenced`: uncontended rows only, see {@link FENCED_ACQUIRE}). */
export type LockerKind =
  | "memshare"
  | "raw"
  | "fenced"
  | "redis-semaphore"
  | "redlock";

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

/**
 * The least a lock with this contract's guarantees can ask of the server:
 * a fencing token (`INCR`), a lease decided by the server's clock
 * (`TIME`), the shared bytes returned with the grant; no queue, no holder
 * details, no counters. KEYS: state, fence, data; ARGV: id, lease ms.
 */
export const FENCED_ACQUIRE = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local o = redis.call('HMGET', KEYS[1], 'owner', 'exp')
if o[1] and tonumber(o[2]) > now then return 0 end
local token = redis.call('INCR', KEYS[2])
redis.call('HSET', KEYS[1], 'owner', ARGV[1], 'token', token,
  'exp', string.format('%d', now + tonumber(ARGV[2])))
return {1, token, redis.call('GET', KEYS[3]) or ''}`;

/**
 * Its release: the bytes are written back only while owner, token and
 * lease (server time) are still the caller's. KEYS: state, data; ARGV: id,
 * token, bytes.
 */
export const FENCED_RELEASE = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local h = redis.call('HMGET', KEYS[1], 'owner', 'token', 'exp')
if h[1] == ARGV[1] and h[2] == ARGV[2] and tonumber(h[3]) > now then
  redis.call('SETRANGE', KEYS[2], 0, ARGV[3])
  redis.call('HDEL', KEYS[1], 'owner', 'token', 'exp')
  return 1
end
return 0`;

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
  if (kind === "fenced") {
    const c = createClient({ url });
    await c.connect();
    const load = async (source: string) =>
      String(await c.sendCommand(["SCRIPT", "LOAD", source]));
    const acquireSha = await load(FENCED_ACQUIRE);
    const releaseSha = await load(FENCED_RELEASE);
    const [state, fence, data] = ["state", "fence", "data"].map((k) =>
      `fenced:{${name}}:${k}`
    );
    const me = crypto.randomUUID();
    const bytes = new Uint8Array(length);
    return {
      acquire: async () => {
        let reply: unknown;
        while (
          (reply = await c.sendCommand([
            "EVALSHA",
            acquireSha,
            "3",
            state,
            fence,
            data,
            me,
            "10000",
          ]) as unknown) === 0
        );
        const token = String((reply as unknown[])[1]);
        bytes[0]++;
        return async () => {
          const released: unknown = await c.sendCommand([
            "EVALSHA",
            releaseSha,
            "2",
            state,
            data,
            me,
            token,
            Buffer.from(bytes.buffer) as unknown as string,
          ]);
          if (released !== 1) throw new Error("fenced: lease lost");
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

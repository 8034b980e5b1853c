/**
 * The Redis engine when its server dies and comes back: with
 * `appendonly yes` + `appendfsync always` tokens never go back; without
 * persistence they start again (the documented behaviour); clients
 * reconnect on their own; a waiter gets a clear error naming the server,
 * and no acquire waits past its timeout.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { RedisEngine } from "../src/engine/redis/redis_engine.ts";
import type { RedisClaim } from "../src/engine/redis/types.ts";
import { RedisConnectionError } from "../src/engine/redis/errors.ts";
import { parseRedisUrl } from "../src/engine/redis/url.ts";
import { LockTimeoutError, RedisShareLock } from "../redis.ts";
import { sleep } from "./helpers.ts";
import { haveRedisServer, startRedis } from "./redis_server.ts";

const skip = haveRedisServer()
  ? false
  : "redis-server is not installed (scripts/test-setup.sh installs it)";
const SLOW = { timeout: 120_000 };

function engine(url: string, name: string): RedisEngine {
  return new RedisEngine({
    name,
    url: parseRedisUrl(url),
    length: 8,
    lease: 2_000,
    tagName: "restart",
    heartbeat: 200,
  });
}

function take(e: RedisEngine, ms = 20_000): Promise<RedisClaim> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      e.stopWaiting();
      reject(new Error(`no grant of ${e.target} in ${ms} ms`));
    }, ms);
    e.wait({
      granted: (claim) => {
        clearTimeout(timer);
        resolve(claim);
      },
      failed: (error) => {
        clearTimeout(timer);
        reject(error);
      },
    });
  });
}

async function put(e: RedisEngine, claim: RedisClaim): Promise<void> {
  e.retireRegion();
  await e.release(claim);
}

/** Takes the lock until the client has reconnected (bounded). */
async function takeAfterRestart(e: RedisEngine): Promise<RedisClaim> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      return await take(e, 10_000);
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await sleep(100);
    }
  }
}

describe("Redis server restarts", { skip }, () => {
  for (const persistent of [true, false]) {
    test(
      `${
        persistent ? "appendonly" : "no persistence"
      }: a waiter fails clearly, clients reconnect, tokens ${
        persistent ? "never go back" : "start again"
      }`,
      SLOW,
      async () => {
        let server = await startRedis({ appendonly: persistent });
        const a = engine(server.url, "restart");
        const b = engine(server.url, "restart");
        try {
          let last = 0;
          for (let i = 0; i < 3; i++) {
            const claim = await take(a);
            assert.ok(claim.token > last);
            last = claim.token;
            new Uint8Array(a.region())[0] = claim.token;
            await put(a, claim);
          }
          const held = await take(a);
          last = held.token;
          const waiting = take(b, 20_000);
          await sleep(300);
          await server.kill();
          const started = Date.now();
          const error = await waiting.then(
            () => assert.fail("granted with the server dead"),
            (e) => e,
          );
          assert.ok(error instanceof RedisConnectionError, String(error));
          assert.match(error.message, /redis:\/\/127\.0\.0\.1:\d+/);
          assert.ok(Date.now() - started < 8_000, "the waiter learned it soon");
          await assert.rejects(put(a, held));
          await sleep(2_100); // the lease runs out locally
          assert.equal(held.signal.aborted, true);
          server = await server.restart();
          const again = await takeAfterRestart(a);
          if (persistent) {
            assert.ok(again.token > last, `token ${again.token} after ${last}`);
            assert.equal(again.recovered, true); // `held` never released
            assert.equal(new Uint8Array(a.region())[0], 3);
          } else {
            assert.equal(
              again.token,
              1,
              "a server without persistence forgets",
            );
            assert.equal(new Uint8Array(a.region())[0], 0);
          }
          await put(a, again);
          const other = await take(b);
          assert.ok(other.token > again.token);
          await put(b, other);
        } finally {
          await a.close();
          await b.close();
          await server.stop();
        }
      },
    );
  }

  test(
    "no acquire waits past its timeout with the server down",
    SLOW,
    async () => {
      const server = await startRedis();
      const lock = new RedisShareLock("down", {
        length: 4,
        redis: server.url,
        lease: 1_000,
      });
      try {
        const guard = await lock.acquire();
        await server.kill();
        const started = Date.now();
        const other = assert.rejects(
          lock.acquire({ timeout: 1_000 }),
          LockTimeoutError,
        );
        await assert.rejects(guard.release(), RedisConnectionError);
        assert.equal(guard.signal.aborted, true);
        await other;
        assert.ok(Date.now() - started < 3_000, `${Date.now() - started} ms`);
        const third = lock.acquire({ timeout: 800 });
        const t = Date.now();
        await assert.rejects(
          third,
          (e: Error) =>
            e instanceof LockTimeoutError || e instanceof RedisConnectionError,
        );
        assert.ok(Date.now() - t < 3_000, `${Date.now() - t} ms`);
      } finally {
        await lock.close();
        await server.stop();
      }
    },
  );
});

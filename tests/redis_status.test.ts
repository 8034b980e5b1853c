/**
 * The status listing of a Redis server (what `status --redis URL` shows):
 * every lock with holder, waiters and token, password never shown; it
 * takes no lock.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import process from "node:process";
import { listRedisLocks } from "../src/engine/redis/status.ts";
import { parseRedisUrl } from "../src/engine/redis/url.ts";
import { RedisShareLock } from "../redis.ts";
import { sleep } from "./helpers.ts";
import { haveRedisServer, startRedis } from "./redis_server.ts";

const skip = haveRedisServer()
  ? false
  : "redis-server is not installed (scripts/test-setup.sh installs it)";

describe("status of a Redis server", { skip }, () => {
  test("lists each lock with holder, waiters, token; takes none", async () => {
    const server = await startRedis({ password: "pw-secret" });
    const url = `redis://:pw-secret@127.0.0.1:${server.port}`;
    const a = new RedisShareLock("alpha", {
      length: 4,
      redis: url,
      tagName: "A",
    });
    const b = new RedisShareLock("beta", { length: 4, redis: url });
    const other = new RedisShareLock("alpha", { length: 4, redis: `${url}/0` });
    try {
      await b.run(() => {});
      const guard = await a.acquire();
      const waiting = other.acquire();
      await sleep(300);
      const list = await listRedisLocks(parseRedisUrl(url));
      assert.deepEqual(list.map((l) => l.name), ["alpha", "beta"]);
      const [alpha, beta] = list;
      assert.equal(alpha.locked, true);
      assert.equal(alpha.holder?.pid, process.pid);
      assert.equal(alpha.holder?.tag, "A");
      assert.equal(alpha.waiting, 1);
      assert.equal(alpha.token, 1);
      assert.equal(beta.locked, false);
      assert.equal(beta.holder, null);
      assert.equal(beta.acquisitions, 1);
      assert.doesNotMatch(JSON.stringify(list), /pw-secret/);
      await guard.release();
      await (await waiting).release();
    } finally {
      await a.close();
      await b.close();
      await other.close();
      await server.stop();
    }
  });
});

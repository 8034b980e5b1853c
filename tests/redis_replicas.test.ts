/**
 * `replicas: n`: after a grant and after a write-back the lock `WAIT`s for
 * n replicas, and fails closed when they do not confirm: against a local
 * master with one replica.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  LockLostError,
  RedisConnectionError,
  RedisShareLock,
} from "../redis.ts";
import { sleep } from "./helpers.ts";
import { haveRedisServer, redisCli, startRedis } from "./redis_server.ts";

const skip = haveRedisServer()
  ? false
  : "redis-server is not installed (scripts/test-setup.sh installs it)";

describe("replicas", { skip }, () => {
  test("replicas: 1 with one replica works; replicas: 2 fails closed", {
    timeout: 60_000,
  }, async () => {
    const master = await startRedis();
    const replica = await startRedis({ replicaOf: master.port });
    const one = new RedisShareLock("replicated", {
      length: 4,
      redis: master.url,
      lease: 2_000,
      replicas: 1,
    });
    const two = new RedisShareLock("replicated2", {
      length: 4,
      redis: master.url,
      lease: 2_000,
      replicas: 2,
    });
    try {
      const deadline = Date.now() + 20_000;
      while (
        !redisCli(replica.port, ["INFO", "replication"]).includes(
          "master_link_status:up",
        )
      ) {
        assert.ok(Date.now() < deadline, "the replica never synced");
        await sleep(50);
      }
      await one.run((memory) => void (memory[0] = 9));
      const copy = redisCli(replica.port, [
        "GETRANGE",
        "memshare:{replicated}:data",
        "0",
        "0",
      ]);
      assert.equal(
        copy.replace(/\n$/, ""),
        "\t",
        "the write-back reached the replica",
      );
      const started = Date.now();
      await assert.rejects(two.acquire({ timeout: 10_000 }), (error: Error) => {
        assert.ok(error instanceof RedisConnectionError, String(error));
        assert.match(error.message, /only 1 of 2 replicas/);
        return true;
      });
      assert.ok(Date.now() - started < 5_000);
      assert.equal((await two.info()).locked, false, "no grant left behind");
      // A write-back the replica cannot confirm: the replica goes away.
      const guard = await one.acquire();
      await replica.kill();
      await assert.rejects(guard.release(), LockLostError);
    } finally {
      await one.close();
      await two.close();
      await replica.stop();
      await master.stop();
    }
  });
});

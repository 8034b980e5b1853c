/**
 * The Redis engine on a three-master local Redis Cluster: the client finds
 * the cluster from one node's URL; each lock's keys live in one slot;
 * Deno and Bun children exclude each other with an exact counter across
 * locks in different slots; waiters across slots are granted.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { RedisShareLock } from "../redis.ts";
import {
  type Child,
  fixture,
  READY_MS,
  runtimeCommand,
  start,
} from "./helpers.ts";
import {
  haveRedisServer,
  redisCli,
  startRedisCluster,
} from "./redis_server.ts";

const skip = haveRedisServer()
  ? false
  : "redis-server is not installed (scripts/test-setup.sh installs it)";

describe("Redis Cluster", { skip }, () => {
  test("exclusion across processes and slots on three masters", {
    timeout: 180_000,
  }, async () => {
    const cluster = await startRedisCluster(3);
    const children: Child[] = [];
    // Slots 5042, 6518, 13198: one lock on each master.
    const names = ["c-alpha", "c-gamma", "c-delta"];
    const locks = names.map((name) =>
      new RedisShareLock(name, { length: 16, redis: cluster.url })
    );
    try {
      const n = 30;
      for (const name of names) {
        for (const runtime of ["deno", "bun"] as const) {
          const [command, argv] = runtimeCommand(
            runtime,
            fixture("redis_child.ts"),
            ["counter", cluster.url, name, String(n)],
            ["--allow-net"],
          );
          children.push(start(command, argv));
        }
      }
      for (const c of children) {
        const timer = setTimeout(() => c.process.kill("SIGKILL"), READY_MS * 2);
        const { code } = await c.exited;
        clearTimeout(timer);
        assert.equal(code, 0, `${c.stdout()} ${c.stderr()}`);
      }
      for (const lock of locks) {
        const count = await lock.run((memory) =>
          new DataView(memory.buffer, memory.byteOffset).getUint32(0, true)
        );
        assert.equal(count, 2 * n);
        const info = await lock.info();
        assert.equal(info.token, 2 * n + 1);
      }
      for (const node of cluster.nodes) {
        assert.ok(
          Number(redisCli(node.port, ["DBSIZE"]).trim()) > 0,
          `node ${node.port} holds a lock`,
        );
      }
      // Waiters on several slots at once from one realm.
      const held = await Promise.all(locks.map((l) => l.acquire()));
      const waits = locks.map((l) => l.run((m) => ++m[4], { timeout: 10_000 }));
      await new Promise((resolve) => setTimeout(resolve, 200));
      for (const guard of held) await guard.release();
      assert.deepEqual(await Promise.all(waits), [1, 1, 1]);
    } finally {
      for (const c of children) {
        if (c.process.exitCode === null) c.process.kill("SIGKILL");
      }
      await Promise.all(locks.map((l) => l.close()));
      await cluster.stop();
    }
  });
});

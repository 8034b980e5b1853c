/**
 * Many waits, few connections: 500 pending acquires over 50 locks in one
 * process wait on one blocking connection (one `BLPOP` over every
 * mailbox), and the process's other I/O stays prompt meanwhile.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { RedisShareLock } from "../redis.ts";
import { sleep } from "./helpers.ts";
import { haveRedisServer, redisCli, startRedis } from "./redis_server.ts";

const skip = haveRedisServer()
  ? false
  : "redis-server is not installed (scripts/test-setup.sh installs it)";

describe("many waits", { skip }, () => {
  test("500 pending acquires over 50 locks: one blocking connection", {
    timeout: 120_000,
  }, async () => {
    const server = await startRedis();
    const LOCKS = 50;
    const EACH = 10;
    // Two spellings of one server: two instances per name and two sets of
    // connections in this realm, as two processes would have.
    const holders = Array.from(
      { length: LOCKS },
      (_, i) =>
        new RedisShareLock(`many${i}`, { length: 4, redis: `${server.url}/0` }),
    );
    const waiters = Array.from(
      { length: LOCKS },
      (_, i) =>
        new RedisShareLock(`many${i}`, { length: 4, redis: server.url }),
    );
    try {
      const guards = await Promise.all(holders.map((l) => l.acquire()));
      const done: Promise<number>[] = [];
      for (const lock of waiters) {
        for (let j = 0; j < EACH; j++) {
          done.push(lock.run((memory) => ++memory[0], { timeout: 60_000 }));
        }
      }
      await sleep(500);
      const clients = redisCli(server.port, ["CLIENT", "LIST"]);
      const blocking = clients.split("\n").filter((line) =>
        / cmd=blpop /.test(line)
      );
      assert.equal(blocking.length, 1, clients);
      const connections = clients.split("\n").filter((line) =>
        / cmd=/.test(line)
      ).length;
      assert.ok(connections <= 4, `${connections} connections:\n${clients}`);
      // Other I/O stays prompt: timers fire on time, a command answers at once.
      const lags: number[] = [];
      for (let i = 0; i < 20; i++) {
        const t = performance.now();
        await sleep(5);
        lags.push(performance.now() - t - 5);
      }
      lags.sort((a, b) => a - b);
      assert.ok(lags[10] < 50, `timer lag p50 ${lags[10]} ms`);
      const t = performance.now();
      await waiters[0].info();
      assert.ok(performance.now() - t < 1_000, "info() answered promptly");
      await Promise.all(guards.map((g) => g.release()));
      const results = await Promise.all(done);
      assert.equal(results.length, LOCKS * EACH);
      for (let i = 0; i < LOCKS; i++) {
        assert.deepEqual(
          results.slice(i * EACH, (i + 1) * EACH),
          Array.from({ length: EACH }, (_, j) => j + 1),
        );
      }
    } finally {
      await Promise.all([...holders, ...waiters].map((l) => l.close()));
      await server.stop();
    }
  });
});

/**
 * `RedisShareLock` (the "./redis" entry) against a throwaway
 * `redis-server`: the `ShareLock` surface (acquire, run, wrap, hooks with
 * the memory, close), guards with token and signal, one instance per
 * (server, name), timeouts naming the holder, `timeout: 0` (one try), the
 * option table.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import process from "node:process";
import {
  LockClosedError,
  LockTimeoutError,
  RedisLockTimeoutError,
  RedisShareGuard,
  RedisShareLock,
} from "../redis.ts";
import {
  type Child,
  fixture,
  RUNTIME,
  runtimeBinary,
  runtimeCommand,
  sleep,
  start,
} from "./helpers.ts";
import { haveRedisServer, startRedis } from "./redis_server.ts";

const skip = haveRedisServer()
  ? false
  : "redis-server is not installed (scripts/test-setup.sh installs it)";

describe("RedisShareLock", { skip }, () => {
  test("acquire, memory, token, signal, info, run, wrap, hooks", async () => {
    const server = await startRedis();
    const seen: number[] = [];
    const lock = new RedisShareLock("surface", {
      length: 8,
      redis: server.url,
      tagName: "surface test",
      onAcquire: (memory) => void seen.push(memory[0]),
    });
    try {
      assert.equal(
        new RedisShareLock("surface", { length: 8, redis: server.url }),
        lock,
      );
      {
        await using guard = await lock.acquire({ timeout: 5_000 });
        assert.ok(guard instanceof RedisShareGuard);
        assert.equal(guard.token, 1);
        assert.equal(guard.recovered, false);
        assert.equal(guard.signal.aborted, false);
        guard.memory[0] = 41;
        const info = await lock.info();
        assert.equal(info.locked, true);
        assert.equal(info.holder?.pid, process.pid);
        assert.equal(info.holder?.tag, "surface test");
      }
      const n = await lock.run((memory) => ++memory[0]);
      assert.equal(n, 42);
      const double = lock.wrap(async (by: number) => {
        assert.equal((await lock.info()).holder?.pid, process.pid);
        return by * 2;
      });
      assert.equal(await double(21), 42);
      const remove = lock.addReleaseHook((memory) => void (memory[2] = 7));
      await lock.run(() => {});
      remove();
      const last = await lock.run((memory) => [...memory.slice(0, 3)]);
      assert.deepEqual(last, [42, 0, 7]);
      assert.deepEqual(seen.slice(0, 2), [0, 41]);
      const info = await lock.info();
      assert.equal(info.locked, false);
      assert.ok(info.token >= 5);
    } finally {
      await lock.close();
      await server.stop();
    }
  });

  test("FIFO in a realm; a timeout names the holder's host and pid", async () => {
    const server = await startRedis();
    const lock = new RedisShareLock("fifo", { length: 4, redis: server.url });
    try {
      const order: number[] = [];
      const first = await lock.acquire();
      const tasks = [1, 2, 3].map((i) =>
        lock.run(() => void order.push(i), { timeout: 10_000 })
      );
      await sleep(50);
      await first.release();
      await Promise.all(tasks);
      assert.deepEqual(order, [1, 2, 3]);
      const held = await lock.acquire();
      const error = await lock.acquire({ timeout: 1_500 }).then(
        () => assert.fail("acquired"),
        (e) => e,
      );
      assert.ok(error instanceof LockTimeoutError, String(error));
      assert.match(error.message, /timed out after 1500 ms/);
      assert.match(error.message, new RegExp(`pid ${process.pid} on `));
      await held.release();
      // A rejected acquire left nothing held or queued.
      const info = await lock.info();
      assert.equal(info.locked, false);
      assert.equal(info.waiting, 0);
    } finally {
      await lock.close();
      await server.stop();
    }
  });

  test("close rejects waiters; an abort leaves nothing held", async () => {
    const server = await startRedis();
    const lock = new RedisShareLock("closing", {
      length: 4,
      redis: server.url,
    });
    const guard = await lock.acquire();
    const controller = new AbortController();
    const aborted = lock.acquire({ signal: controller.signal });
    controller.abort(new Error("stop"));
    await assert.rejects(aborted, /stop/);
    const waiting = lock.acquire();
    const closing = lock.close();
    await assert.rejects(waiting, LockClosedError);
    await guard.release();
    await closing;
    const again = new RedisShareLock("closing", {
      length: 4,
      redis: server.url,
    });
    assert.notEqual(again, lock);
    assert.equal((await again.info()).locked, false);
    await again.close();
    await server.stop();
  });

  /** Settles `promise` with its error (fails if it resolves), and how long that took. */
  async function rejection(
    promise: Promise<unknown>,
  ): Promise<{ error: unknown; ms: number }> {
    const started = performance.now();
    const error = await promise.then(
      () => assert.fail("acquired"),
      (e) => e,
    );
    return { error, ms: performance.now() - started };
  }

  test("timeout 0: a free lock is taken, with hooks; busy rejects quickly, queueing nothing", async () => {
    const server = await startRedis();
    const hooked: number[] = [];
    const lock = new RedisShareLock("zero", {
      length: 4,
      redis: server.url,
      onAcquire: (memory) => void hooked.push(memory[0]),
    });
    // Other instances for the same lock on the same server (the registry
    // keys them apart by the URL's path): other clients.
    const other = new RedisShareLock("zero", {
      length: 4,
      redis: `${server.url}/0`,
    });
    const third = new RedisShareLock("zero", {
      length: 4,
      redis: `${server.url}/`,
    });
    try {
      assert.notEqual(other, lock);
      assert.notEqual(third, lock);
      {
        await using guard = await lock.acquire({ timeout: 0 });
        assert.equal(guard.token, 1);
        assert.deepEqual(hooked, [0]);
        guard.memory[0] = 9;
        assert.equal(guard.memory[0], 9);
        // Held by another client: busy, at once, and nothing queued.
        const busy = await rejection(other.acquire({ timeout: 0 }));
        assert.ok(
          busy.error instanceof RedisLockTimeoutError,
          String(busy.error),
        );
        assert.ok(busy.error instanceof LockTimeoutError);
        assert.match(
          (busy.error as Error).message,
          /busy|timed out after 0 ms/,
        );
        assert.ok(busy.ms < 2_000, `took ${busy.ms} ms`);
        assert.equal((await other.info()).waiting, 0);
      }
      // The one try left nothing behind: the next client gets it at once.
      {
        const started = performance.now();
        await using guard = await third.acquire({ timeout: 5_000 });
        assert.ok(performance.now() - started < 1_500);
        assert.equal(guard.token, 2);
        assert.equal(guard.memory[0], 9);
        // While it holds, this realm's one try fails and the next waiter
        // queued behind it proceeds once the lock is free.
        const once = lock.acquire({ timeout: 0 });
        const next = lock.acquire({ timeout: 10_000 });
        const busy = await rejection(once);
        assert.ok(
          busy.error instanceof RedisLockTimeoutError,
          String(busy.error),
        );
        assert.ok(busy.ms < 2_000, `took ${busy.ms} ms`);
        await guard.release();
        await using taken = await next;
        assert.equal(taken.token, 3);
      }
      // An aborted one try hands the engine wait to the task queued behind
      // it, which waits as long as it asked.
      {
        await using held = await other.acquire({ timeout: 5_000 });
        const controller = new AbortController();
        const once = lock.acquire({ timeout: 0, signal: controller.signal });
        const next = lock.acquire({ timeout: 10_000 });
        controller.abort(new Error("stop"));
        await assert.rejects(once, /stop/);
        await sleep(300);
        await held.release();
        await using taken = await next;
        assert.equal(taken.token, 5);
      }
      assert.deepEqual(hooked, [0, 9, 9]);
      const info = await lock.info();
      assert.equal(info.locked, false);
      assert.equal(info.waiting, 0);
    } finally {
      await lock.close();
      await other.close();
      await third.close();
      await server.stop();
    }
  });

  test("timeout 0 right after an aborted acquire (its attempt still in flight): busy, queueing nothing", async () => {
    const server = await startRedis();
    const lock = new RedisShareLock("zero-after-abort", {
      length: 4,
      redis: server.url,
    });
    const other = new RedisShareLock("zero-after-abort", {
      length: 4,
      redis: `${server.url}/0`,
    });
    const held = await other.acquire({ timeout: 5_000 });
    try {
      await lock.info(); // connected: the attempt below is the script in flight
      const controller = new AbortController();
      const aborted = lock.acquire({ signal: controller.signal });
      controller.abort(new Error("stop"));
      const once = lock.acquire({ timeout: 0 });
      await assert.rejects(aborted, /stop/);
      const outcome = await Promise.race([
        rejection(once),
        sleep(2_000).then(() => null),
      ]);
      assert.ok(outcome !== null, "the one try still waits after 2 s");
      assert.ok(
        outcome.error instanceof RedisLockTimeoutError,
        String(outcome.error),
      );
      assert.equal((outcome.error as RedisLockTimeoutError).timeout, 0);
      assert.equal((await lock.info()).waiting, 0);
      await held.release();
      await sleep(200);
      const info = await lock.info();
      assert.equal(info.locked, false);
      assert.equal(info.waiting, 0);
      await using guard = await lock.acquire({ timeout: 0 });
      assert.equal(guard.token, 2);
    } finally {
      await lock.close();
      await held.release().catch(() => {}); // no-op once released
      await other.close();
      await server.stop();
    }
  });

  test("timeout 0 while this realm holds or queues: rejects at once; tasks behind a one try wait for it", async () => {
    const server = await startRedis();
    const lock = new RedisShareLock("zero-here", {
      length: 4,
      redis: server.url,
    });
    try {
      // A one try in flight: this realm's next tasks queue behind it.
      const first = lock.acquire({ timeout: 0 });
      const zero = await rejection(lock.acquire({ timeout: 0 }));
      assert.ok(
        zero.error instanceof RedisLockTimeoutError,
        String(zero.error),
      );
      const second = lock.acquire({ timeout: 10_000 });
      const guard = await first;
      assert.equal(guard.token, 1);
      // Held in this realm: at once, without asking the server.
      const held = await rejection(lock.acquire({ timeout: 0 }));
      assert.ok(
        held.error instanceof RedisLockTimeoutError,
        String(held.error),
      );
      assert.ok(held.ms < 500, `took ${held.ms} ms`);
      await guard.release();
      const next = await second;
      assert.equal(next.token, 2);
      await next.release();
      const info = await lock.info();
      assert.equal(info.locked, false);
      assert.equal(info.waiting, 0);
    } finally {
      await lock.close();
      await server.stop();
    }
  });

  test(
    "timeout 0 while another process holds: rejects quickly, queueing nothing",
    {
      timeout: 60_000,
    },
    async () => {
      const server = await startRedis();
      const lock = new RedisShareLock("zero-process", {
        length: 16,
        redis: server.url,
      });
      const [command, argv] = runtimeCommand(
        RUNTIME,
        fixture("redis_child.ts"),
        ["hold", server.url, "zero-process", "10000", "7"],
        ["--allow-net"],
      );
      const holder: Child = start(command, argv);
      try {
        await holder.waitFor("held", 30_000);
        const busy = await rejection(lock.acquire({ timeout: 0 }));
        assert.ok(
          busy.error instanceof RedisLockTimeoutError,
          String(busy.error),
        );
        assert.ok(busy.ms < 2_000, `took ${busy.ms} ms`);
        assert.equal((await lock.info()).waiting, 0);
        holder.process.stdin!.write("release\n");
        await holder.waitFor("release=ok", 10_000);
        const started = performance.now();
        await using guard = await lock.acquire({ timeout: 5_000 });
        assert.ok(performance.now() - started < 1_500);
        assert.equal(guard.memory[0], 7);
      } finally {
        if (holder.process.exitCode === null) holder.process.kill("SIGKILL");
        await holder.exited;
        await lock.close();
        await server.stop();
      }
    },
  );

  test("option table: each bad option a clear error", () => {
    const redis = "redis://127.0.0.1:1";
    const cases: [string, unknown, RegExp][] = [
      ["a{b}", { length: 1, redis }, /must not contain "\{", "\}"/],
      ["", { length: 1, redis }, /non-empty string/],
      ["n", null, /options must be an object/],
      [
        "n",
        { length: 0, redis },
        /"length" must be an integer from 1 to 1048576/,
      ],
      ["n", { length: 2 ** 20 + 1, redis }, /"length"/],
      ["n", { length: 1.5, redis }, /"length"/],
      ["n", { length: "8", redis }, /"length" must be a number/],
      ["n", { length: 1 }, /option "redis" must be a Redis URL/],
      ["n", { length: 1, redis: "garbage" }, /not a URL/],
      ["n", { length: 1, redis: "http://h:1" }, /redis:\/\/ or rediss:\/\//],
      [
        "n",
        { length: 1, redis, lease: 0 },
        /"lease" must be an integer from 1000/,
      ],
      ["n", { length: 1, redis, lease: -5 }, /"lease"/],
      ["n", { length: 1, redis, lease: 999 }, /"lease"/],
      ["n", { length: 1, redis, replicas: -1 }, /"replicas"/],
      ["n", { length: 1, redis, timeout: -2 }, /timeout/],
      ["n", { length: 1, redis, onAcquire: 1 }, /onAcquire/],
      ["n", { length: 1, redis, dir: "/tmp" }, /unknown option "dir"/],
    ];
    for (const [name, options, message] of cases) {
      assert.throws(
        () =>
          new RedisShareLock(
            name,
            options as { length: number; redis: string },
          ),
        message,
        `${name} ${JSON.stringify(options)}`,
      );
    }
    assert.throws(
      () =>
        new RedisShareLock("n", {
          length: 1,
          redis: "ftp://user:hunter2@h:1",
        }),
      (error: Error) => !error.message.includes("hunter2"),
    );
  });

  test("a second instance with other options is refused", async () => {
    const server = await startRedis();
    const lock = new RedisShareLock("twice", { length: 4, redis: server.url });
    try {
      assert.throws(
        () => new RedisShareLock("twice", { length: 5, redis: server.url }),
        /already exists in this realm with other options: length/,
      );
    } finally {
      await lock.close();
      await server.stop();
    }
  });

  test(
    "the ./redis entry needs only --allow-net under Deno (and runs under Bun)",
    {
      timeout: 120_000,
    },
    async () => {
      const server = await startRedis();
      try {
        let expected = 1;
        for (const runtime of ["deno", "bun"] as const) {
          const argv = runtime === "deno"
            ? ["run", "--quiet", "--no-check", "--no-prompt", "--allow-net"]
            : [];
          const child = start(runtimeBinary(runtime), [
            ...argv,
            fixture("redis_entry.ts"),
            server.url,
          ]);
          const { code } = await child.exited;
          assert.equal(
            code,
            0,
            `${runtime}: ${child.stdout()} ${child.stderr()}`,
          );
          assert.equal(
            child.stdout().trim(),
            `ok ${expected} ${expected} ${expected} true`,
          );
          expected++;
        }
      } finally {
        await server.stop();
      }
    },
  );
});

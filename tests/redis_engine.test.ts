/**
 * The Redis engine through the `Engine` interface, against a real
 * `redis-server` each test starts on loopback: the grant and the bytes,
 * hand-off, tokens, info, URLs and credentials; across real Deno and Bun
 * child processes: exclusion with an exact counter, FIFO order, a SIGKILLed
 * holder, a SIGSTOPped holder past its lease, killed waiters.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import process from "node:process";
import { RedisEngine } from "../src/engine/redis/redis_engine.ts";
import type { RedisClaim } from "../src/engine/redis/types.ts";
import {
  LockLostError,
  RedisConnectionError,
} from "../src/engine/redis/errors.ts";
import { parseRedisUrl } from "../src/engine/redis/url.ts";
import { LockTimeoutError } from "../src/errors.ts";
import {
  type Child,
  fixture,
  READY_MS,
  reap,
  runtimeCommand,
  sleep,
  start,
} from "./helpers.ts";
import {
  freePort,
  haveRedisServer,
  redisCli,
  startRedis,
} from "./redis_server.ts";

const skip = haveRedisServer()
  ? false
  : "redis-server is not installed (scripts/test-setup.sh installs it)";
const RUNTIMES = ["deno", "bun"] as const;
const SLOW = { timeout: 120_000 };

function engine(
  url: string,
  name: string,
  options: { lease?: number; length?: number; heartbeat?: number } = {},
): RedisEngine {
  return new RedisEngine({
    name,
    url: parseRedisUrl(url),
    length: options.length ?? 16,
    lease: options.lease ?? 10_000,
    tagName: "test",
    heartbeat: options.heartbeat ?? 200,
  });
}

/** One wait of `e`, as a promise (rejects after `ms`, leaving the wait). */
function take(e: RedisEngine, ms = 30_000): Promise<RedisClaim> {
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

function child(
  runtime: "deno" | "bun",
  args: string[],
): Child {
  const [command, argv] = runtimeCommand(
    runtime,
    fixture("redis_child.ts"),
    args,
    ["--allow-net"],
  );
  return start(command, argv);
}

/** Polls `info()` until `check` holds (bounded by `ms`). */
async function until(
  e: RedisEngine,
  check: (info: Awaited<ReturnType<RedisEngine["info"]>>) => boolean,
  ms = 20_000,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (check(await e.info())) return;
    await sleep(20);
  }
  throw new Error(
    `condition not met in ${ms} ms: ${JSON.stringify(await e.info())}`,
  );
}

describe("Redis engine, one process", { skip }, () => {
  test("grant, bytes, hand-off, tokens, info", async () => {
    const server = await startRedis();
    const a = engine(server.url, "basic");
    const b = engine(server.url, "basic");
    try {
      const first = await take(a);
      assert.equal(first.token, 1);
      assert.equal(first.recovered, false);
      assert.equal(first.signal.aborted, false);
      assert.equal(a.region().byteLength, 16);
      new Uint8Array(a.region()).set([7, 8, 9]);
      const waiting = take(b);
      await until(a, (info) => info.waiting === 1);
      const info = await a.info();
      assert.equal(info.locked, true);
      assert.equal(info.holder?.pid, process.pid);
      assert.equal(info.holder?.tag, "test");
      assert.ok(info.holder!.leaseLeftMs > 5_000);
      assert.equal(info.token, 1);
      await put(a, first);
      const second = await waiting;
      assert.equal(second.token, 2);
      assert.deepEqual([...new Uint8Array(b.region()).slice(0, 4)], [
        7,
        8,
        9,
        0,
      ]);
      await put(b, second);
      const after = await b.info();
      assert.equal(after.locked, false);
      assert.equal(after.holder, null);
      assert.equal(after.acquisitions, 2);
      assert.equal(after.recoveries, 0);
    } finally {
      await a.close();
      await b.close();
      await server.stop();
    }
  });

  test("a waiter that stops waiting passes on a grant that raced in", async () => {
    const server = await startRedis();
    const a = engine(server.url, "race");
    const b = engine(server.url, "race");
    const c = engine(server.url, "race");
    try {
      const held = await take(a);
      let bGot: RedisClaim | null = null;
      b.wait({ granted: (claim) => (bGot = claim), failed: () => {} });
      await until(a, (info) => info.waiting === 1);
      const cWaits = take(c);
      await until(a, (info) => info.waiting === 2);
      await put(a, held); // grants b …
      b.stopWaiting(); // … which leaves at once
      await sleep(100);
      // The grant reached b before it left: b releases it, as the front does.
      if (bGot !== null) await put(b, bGot);
      const got = await cWaits;
      assert.ok(got.token >= 2);
      await put(c, got);
      assert.equal((await c.info()).locked, false);
    } finally {
      await a.close();
      await b.close();
      await c.close();
      await server.stop();
    }
  });

  test("one try (wait with once): the lock when free, else busy, never queued", async () => {
    const server = await startRedis();
    const a = engine(server.url, "once");
    const b = engine(server.url, "once");
    const tryOnce = (e: RedisEngine) =>
      new Promise<RedisClaim>((resolve, reject) =>
        e.wait({ granted: resolve, failed: reject }, true)
      );
    try {
      const first = await tryOnce(a);
      assert.equal(first.token, 1);
      const error = await tryOnce(b).then(
        () => assert.fail("granted while held"),
        (e) => e,
      );
      assert.ok(error instanceof LockTimeoutError, String(error));
      assert.match(error.message, /is busy \(held by pid/);
      assert.equal((await b.info()).waiting, 0);
      await put(a, first);
      const second = await tryOnce(b);
      assert.equal(second.token, 2);
      await put(b, second);
    } finally {
      await a.close();
      await b.close();
      await server.stop();
    }
  });

  /** How a wait ended, once it did (`null`: still waiting). */
  function watchWait(e: RedisEngine, once = false): {
    readonly ended: () => { claim?: RedisClaim; error?: unknown } | null;
    readonly done: Promise<void>;
  } {
    let ended: { claim?: RedisClaim; error?: unknown } | null = null;
    let finish = () => {};
    const done = new Promise<void>((resolve) => (finish = resolve));
    e.wait({
      granted: (claim) => {
        ended = { claim };
        finish();
      },
      failed: (error) => {
        ended = { error };
        finish();
      },
    }, once);
    return { ended: () => ended, done };
  }

  test("an ordinary wait joining a one try in flight queues for real", async () => {
    const server = await startRedis();
    const a = engine(server.url, "once-then-wait");
    const b = engine(server.url, "once-then-wait");
    try {
      const held = await take(a);
      await b.info(); // connected: the attempt below is the script in flight
      const first = watchWait(b, true);
      b.stopWaiting();
      const second = watchWait(b); // joins the one try still in flight
      for (let i = 0; i < 100 && second.ended() === null; i++) {
        if ((await a.info()).waiting === 1) break;
        await sleep(20);
      }
      await sleep(200);
      assert.equal(first.ended(), null);
      assert.equal(
        second.ended(),
        null,
        `the ordinary wait ended: ${String(second.ended()?.error)}`,
      );
      await put(a, held);
      await Promise.race([second.done, sleep(5_000)]);
      const got = second.ended()?.claim;
      assert.ok(got !== undefined, `not granted: ${String(second.ended())}`);
      assert.equal(got.token, 2);
      assert.equal(first.ended(), null);
      await put(b, got);
      const info = await b.info();
      assert.equal(info.locked, false);
      assert.equal(info.waiting, 0);
    } finally {
      await a.close();
      await b.close();
      await server.stop();
    }
  });

  test("a one try joining an ordinary wait in flight leaves the queue and fails busy", async () => {
    const server = await startRedis();
    const a = engine(server.url, "wait-then-once");
    const b = engine(server.url, "wait-then-once");
    try {
      const held = await take(a);
      await b.info(); // connected: the attempt below is the script in flight
      const first = watchWait(b);
      b.stopWaiting();
      const started = performance.now();
      const second = watchWait(b, true); // joins the wait still in flight
      await Promise.race([second.done, sleep(3_000)]);
      const error = second.ended()?.error;
      assert.ok(
        error instanceof LockTimeoutError,
        `the one try did not fail busy: ${String(second.ended())}`,
      );
      assert.equal(error.timeout, 0);
      assert.ok(performance.now() - started < 2_000);
      assert.equal((await b.info()).waiting, 0);
      await put(a, held);
      await sleep(200);
      // Nothing of b's was left queued: the lock stays free.
      assert.equal(first.ended(), null);
      const info = await a.info();
      assert.equal(info.locked, false);
      assert.equal(info.waiting, 0);
    } finally {
      await a.close();
      await b.close();
      await server.stop();
    }
  });

  test("timeoutError names the holder's host, pid and tag", async () => {
    const server = await startRedis();
    const a = engine(server.url, "named");
    const b = engine(server.url, "named");
    try {
      const held = await take(a);
      b.wait({ granted: () => {}, failed: () => {} });
      await sleep(500); // a heartbeat tells b who holds it
      const error = b.timeoutError(100);
      b.stopWaiting();
      assert.ok(error instanceof LockTimeoutError);
      assert.equal(error.name, "LockTimeoutError");
      assert.match(error.message, /timed out after 100 ms/);
      assert.match(
        error.message,
        new RegExp(`pid ${process.pid} on \\S+ "test"`),
      );
      assert.match(error.message, /named on redis:\/\/127\.0\.0\.1:/);
      await put(a, held);
    } finally {
      await a.close();
      await b.close();
      await server.stop();
    }
  });

  test("a lease that runs out: the signal aborts, release rejects, bytes kept", async () => {
    const server = await startRedis();
    const a = engine(server.url, "lapse", { lease: 1_000 });
    const b = engine(server.url, "lapse", { lease: 1_000 });
    try {
      const first = await take(a);
      new Uint8Array(a.region())[0] = 1;
      await put(a, first);
      const held = await take(a);
      new Uint8Array(a.region())[0] = 99;
      // Expire it on the server behind the watchdog's back.
      redisCli(server.port, ["HSET", "memshare:{lapse}:state", "exp", "1"]);
      const next = await take(b, 5_000);
      assert.equal(next.recovered, true);
      assert.ok(next.token > held.token);
      assert.equal(new Uint8Array(b.region())[0], 1);
      await assert.rejects(put(a, held), LockLostError);
      assert.equal(held.signal.aborted, true);
      assert.ok(held.signal.reason instanceof LockLostError);
      new Uint8Array(b.region())[0] = 2;
      await put(b, next);
      const info = await b.info();
      assert.equal(info.recoveries, 1);
    } finally {
      await a.close();
      await b.close();
      await server.stop();
    }
  });

  test("the watchdog renews the lease: held past it, the signal stays, the bytes go on", async () => {
    const server = await startRedis();
    const a = engine(server.url, "renewed", { lease: 1_000 });
    const b = engine(server.url, "renewed", { lease: 1_000 });
    try {
      const held = await take(a);
      new Uint8Array(a.region())[0] = 7;
      const next = take(b, 10_000); // queued behind a
      await sleep(2_500); // two and a half leases
      assert.equal(held.signal.aborted, false);
      const info = await a.info();
      assert.equal(info.locked, true);
      assert.equal(info.token, held.token);
      assert.ok(info.holder!.leaseLeftMs > 0);
      await put(a, held);
      const claim = await next;
      assert.equal(claim.recovered, false);
      assert.equal(claim.token, held.token + 1);
      assert.equal(new Uint8Array(b.region())[0], 7);
      await put(b, claim);
    } finally {
      await a.close();
      await b.close();
      await server.stop();
    }
  });
});

describe("Redis engine, lost mail and dead waiters", { skip }, () => {
  test("more dead waiters than one script drops: a newcomer does not jump the live waiter behind them", async () => {
    const server = await startRedis();
    const a = engine(server.url, "deadhead");
    const b = engine(server.url, "deadhead");
    const c = engine(server.url, "deadhead");
    try {
      const held = await take(a);
      // 20005 ids with no wait record (dead) at the head of the queue: a
      // script drops at most 10000, so a's release and then c's acquire
      // each stop at that cap, with 5 still in front of b.
      redisCli(server.port, [
        "EVAL",
        "for i = 1, 20005 do redis.call('RPUSH', KEYS[1], 'dead' .. i) end",
        "1",
        "memshare:{deadhead}:queue",
      ]);
      const order: string[] = [];
      const served = (e: RedisEngine, name: string) =>
        take(e).then(async (claim) => {
          order.push(name);
          await put(e, claim);
          return claim.token;
        });
      const bServed = served(b, "b");
      await until(a, (info) => info.waiting === 1);
      await put(a, held); // the lock is free, b still queued behind 10005 dead
      const cServed = served(c, "c");
      const [bToken, cToken] = await Promise.all([bServed, cServed]);
      assert.deepEqual(order, ["b", "c"]);
      assert.ok(bToken < cToken, `b ${bToken}, c ${cToken}`);
    } finally {
      await a.close();
      await b.close();
      await c.close();
      await server.stop();
    }
  });

  test("a grant whose mail was lost is claimed within two heartbeats", async () => {
    const server = await startRedis();
    const a = engine(server.url, "lostmail");
    const b = engine(server.url, "lostmail");
    try {
      const held = await take(a);
      new Uint8Array(a.region())[0] = 3;
      const waiting = take(b, 10_000);
      await until(a, (info) => info.waiting === 1);
      // Grant b behind the engine's back, without mail (as if the reply of
      // its BLPOP was lost with the connection).
      redisCli(server.port, [
        "EVAL",
        `local id = redis.call('LPOP', KEYS[2])
        redis.call('HDEL', KEYS[3], id)
        local t = redis.call('INCR', KEYS[4])
        redis.call('HSET', KEYS[1], 'owner', id, 'token', t, 'exp', '99999999999999', 'grec', 1)
        return t`,
        "4",
        "memshare:{lostmail}:state",
        "memshare:{lostmail}:queue",
        "memshare:{lostmail}:wait",
        "memshare:{lostmail}:fence",
      ]);
      const started = Date.now();
      const got = await waiting;
      assert.ok(
        Date.now() - started < 3_000, // two heartbeats of 200 ms, with room for a loaded machine
        `${Date.now() - started} ms`,
      );
      assert.equal(got.token, held.token + 1);
      assert.equal(got.recovered, true);
      await assert.rejects(put(a, held), LockLostError);
      await put(b, got);
      assert.equal((await b.info()).locked, false);
    } finally {
      await a.close();
      await b.close();
      await server.stop();
    }
  });
});

describe("Redis URLs and credentials", { skip }, () => {
  test("bad URLs are refused, naming the option, password masked", () => {
    for (
      const bad of ["", "http://x", "redis://", "not a url", "redis://h:1/x"]
    ) {
      assert.throws(() => parseRedisUrl(bad), TypeError, bad);
    }
    assert.throws(
      () => parseRedisUrl(42),
      /option "redis" must be a Redis URL/,
    );
    try {
      parseRedisUrl("http://u:hunter2@h:1");
      assert.fail("accepted");
    } catch (error) {
      assert.doesNotMatch((error as Error).message, /hunter2/);
      assert.match((error as Error).message, /\*\*\*/);
    }
    const url = parseRedisUrl("rediss://user:hunter2@example.com:6380/2");
    assert.equal(url.tls, true);
    assert.equal(url.masked, "rediss://user:***@example.com:6380/2");
  });

  test("an unreachable server: a RedisConnectionError naming it, no hang", async () => {
    const port = await freePort();
    const e = engine(`redis://u:hunter2@127.0.0.1:${port}`, "nobody");
    try {
      const started = Date.now();
      const error = await take(e, 20_000).then(
        () => assert.fail("granted"),
        (error) => error,
      );
      assert.ok(error instanceof RedisConnectionError, String(error));
      assert.match(
        error.message,
        new RegExp(`redis://u:\\*\\*\\*@127\\.0\\.0\\.1:${port}`),
      );
      assert.doesNotMatch(error.message, /hunter2/);
      assert.doesNotMatch(
        String((error.cause as Error | undefined)?.message ?? ""),
        /hunter2/,
      );
      assert.ok(Date.now() - started < 10_000);
      await assert.rejects(e.info(), RedisConnectionError);
    } finally {
      await e.close();
    }
  });

  test(
    "a server that stops answering: the step fails after its timeout, no hang",
    { timeout: 30_000 },
    async () => {
      const server = await startRedis();
      const e = engine(server.url, "frozen");
      let stopped = false;
      try {
        await e.release(await take(e)); // connected
        process.kill(server.process.pid!, "SIGSTOP");
        stopped = true;
        const started = Date.now();
        const error = await take(e, 20_000).then(
          () => assert.fail("granted"),
          (error) => error,
        );
        assert.ok(error instanceof RedisConnectionError, String(error));
        assert.match(error.message, /EVALSHA failed: no reply within 5000 ms/);
        assert.ok(Date.now() - started < 10_000);
      } finally {
        if (stopped) process.kill(server.process.pid!, "SIGCONT");
        await e.close();
        await server.stop();
      }
    },
  );

  test("ACL user: right password works, wrong one is refused and masked", async () => {
    const server = await startRedis({
      password: "rootpw",
      user: { name: "fleet", password: "s3cret" },
    });
    const good = engine(`redis://fleet:s3cret@127.0.0.1:${server.port}`, "acl");
    const bad = engine(`redis://fleet:wrong99@127.0.0.1:${server.port}`, "acl");
    const none = engine(server.url, "acl");
    try {
      const claim = await take(good);
      assert.equal(claim.token, 1);
      await put(good, claim);
      for (const e of [bad, none]) {
        const error = await take(e, 10_000).then(
          () => assert.fail("granted"),
          (error) => error,
        );
        assert.ok(error instanceof RedisConnectionError, String(error));
        assert.doesNotMatch(error.message, /wrong99|s3cret|rootpw/);
      }
      assert.match(bad.target, /fleet:\*\*\*@/);
    } finally {
      await good.close();
      await bad.close();
      await none.close();
      await server.stop();
    }
  });
});

async function lastLine(c: Child, ms = READY_MS): Promise<string> {
  const timer = setTimeout(() => c.process.kill("SIGKILL"), ms);
  const { code } = await c.exited;
  clearTimeout(timer);
  assert.equal(code, 0, `child failed: ${c.stdout()} ${c.stderr()}`);
  return c.stdout().trim().split("\n").at(-1)!;
}

describe("Redis engine across processes", { skip }, () => {
  test(
    "Deno and Bun children exclude each other: exact counter, tokens",
    SLOW,
    async () => {
      const server = await startRedis();
      const e = engine(server.url, "counter");
      const children: Child[] = [];
      try {
        const n = 50;
        for (const runtime of [...RUNTIMES, ...RUNTIMES]) {
          children.push(
            child(runtime, ["counter", server.url, "counter", String(n)]),
          );
        }
        for (const c of children) assert.match(await lastLine(c), /^done \d+$/);
        const claim = await take(e);
        assert.equal(new DataView(e.region()).getUint32(0, true), 4 * n);
        assert.equal(claim.token, 4 * n + 1);
        await put(e, claim);
      } finally {
        await reap(children);
        await e.close();
        await server.stop();
      }
    },
  );

  test("FIFO across processes", SLOW, async () => {
    const server = await startRedis();
    const e = engine(server.url, "fifo");
    const children: Child[] = [];
    try {
      const held = await take(e);
      for (let i = 1; i <= 6; i++) {
        const runtime = RUNTIMES[i % 2];
        children.push(child(runtime, ["order", server.url, "fifo", String(i)]));
        await until(e, (info) => info.waiting === i, READY_MS);
      }
      await put(e, held);
      for (const c of children) assert.match(await lastLine(c), /^got \d+$/);
      const again = await take(e);
      assert.deepEqual(
        [...new Uint8Array(e.region()).slice(0, 7)],
        [6, 1, 2, 3, 4, 5, 6],
      );
      await put(e, again);
    } finally {
      await reap(children);
      await e.close();
      await server.stop();
    }
  });

  for (const runtime of RUNTIMES) {
    test(
      `a SIGKILLed ${runtime} holder: the next gets it within lease + margin, recovered`,
      SLOW,
      async () => {
        const server = await startRedis();
        const e = engine(server.url, "killed", { lease: 1_000 });
        const children: Child[] = [];
        try {
          const first = await take(e);
          new Uint8Array(e.region())[0] = 5;
          await put(e, first);
          const holder = child(runtime, [
            "hold",
            server.url,
            "killed",
            "1000",
            "77",
          ]);
          children.push(holder);
          await holder.waitFor("held");
          const [, token] = holder.stdout().trim().split(" ");
          holder.process.kill("SIGKILL");
          await holder.exited;
          const started = Date.now();
          const next = await take(e, 10_000);
          const waited = Date.now() - started;
          assert.ok(waited < 1_000 + 2_000, `waited ${waited} ms`); // lease + margin
          assert.equal(next.recovered, true);
          assert.ok(next.token > Number(token));
          assert.equal(
            new Uint8Array(e.region())[0],
            5,
            "the bytes as last written back",
          );
          await put(e, next);
        } finally {
          await reap(children);
          await e.close();
          await server.stop();
        }
      },
    );

    test(
      `a SIGSTOPped ${runtime} holder past its lease loses it for good`,
      SLOW,
      async () => {
        const server = await startRedis();
        const e = engine(server.url, "stopped", { lease: 1_000 });
        const children: Child[] = [];
        try {
          const holder = child(runtime, [
            "hold",
            server.url,
            "stopped",
            "1000",
            "77",
          ]);
          children.push(holder);
          await holder.waitFor("held");
          const pid = holder.process.pid!;
          process.kill(pid, "SIGSTOP");
          const next = await take(e, 10_000);
          assert.equal(next.recovered, true);
          new Uint8Array(e.region())[0] = 42;
          await put(e, next);
          process.kill(pid, "SIGCONT");
          await sleep(300); // its timers run: the watchdog learns the lease is gone
          holder.process.stdin!.write("release\n");
          assert.equal(
            await lastLine(holder),
            "aborted=true release=LockLostError",
          );
          const check = await take(e);
          assert.equal(
            new Uint8Array(e.region())[0],
            42,
            "the new holder's bytes",
          );
          await put(e, check);
        } finally {
          await reap(children);
          await e.close();
          await server.stop();
        }
      },
    );
  }

  test("killed waiters are skipped within a heartbeat", SLOW, async () => {
    const server = await startRedis();
    const e = engine(server.url, "skipped");
    const late = engine(server.url, "skipped");
    const children: Child[] = [];
    try {
      const held = await take(e);
      for (const runtime of RUNTIMES) {
        const c = child(runtime, ["wait", server.url, "skipped", "10000"]);
        children.push(c);
        await c.waitFor("waiting");
      }
      await until(e, (info) => info.waiting === 2, READY_MS);
      const lateWait = take(late, 20_000);
      await until(e, (info) => info.waiting === 3);
      for (const c of children) c.process.kill("SIGKILL");
      await Promise.all(children.map((c) => c.exited));
      await sleep(3 * 200 + 100); // three missed heartbeats of 200 ms
      const started = Date.now();
      await put(e, held);
      const got = await lateWait;
      assert.ok(
        Date.now() - started < 2_000, // no wait for the dead ones' lease
        "granted to the live waiter at once",
      );
      assert.equal(got.recovered, false);
      await put(late, got);
    } finally {
      await reap(children);
      await e.close();
      await late.close();
      await server.stop();
    }
  });
});

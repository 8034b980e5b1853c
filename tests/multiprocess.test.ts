/**
 * Exclusion across real processes: Deno and Bun children contend for one
 * lock at the same time; a control run without the lock shows that the same
 * workload does lose updates, so the locked run's exact count means
 * something. Also: an in-process acquire times out against a child holder,
 * naming it, and gets the lock once the child releases.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { LockTimeoutError, MemoryShareLock } from "../mod.ts";
import { currentPlatform } from "../src/ffi/current.ts";
import {
  type Child,
  EMULATED,
  reap,
  sleep,
  startFixture,
  tempDir,
} from "./helpers.ts";

const RUNTIMES = ["deno", "bun"] as const;
/** Increments per child: enough that unlocked children overlap many times. */
const ITERATIONS = 100;
const LENGTH = 16;

const u32 = (memory: Uint8Array, at = 0) =>
  new DataView(memory.buffer, memory.byteOffset).getUint32(at, true);
const setU32 = (memory: Uint8Array, value: number, at = 0) =>
  new DataView(memory.buffer, memory.byteOffset).setUint32(at, value, true);

/** Waits for a child to exit 0 (within `ms`) and returns its last stdout line parsed as JSON. */
async function result<T>(child: Child, ms = 20_000): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`child did not exit within ${ms} ms`)),
      ms,
    );
  });
  try {
    const { code, signal } = await Promise.race([child.exited, timedOut]);
    assert.equal(
      code,
      0,
      `child exited ${code ?? signal}; stderr: ${child.stderr()}`,
    );
  } finally {
    clearTimeout(timer);
  }
  return JSON.parse(child.stdout().trim().split("\n").at(-1)!) as T;
}

interface CounterResult {
  pid: number;
  runtime: string;
  reads: number[];
  tokens: number[];
}

/** Two Deno and two Bun counter children, all printing `ready` before they return. */
async function startCounters(
  mode: "lock" | "nolock",
  name: string,
  dir: string,
  children: Child[],
): Promise<void> {
  for (const runtime of [...RUNTIMES, ...RUNTIMES]) {
    children.push(
      startFixture(runtime, "counter.ts", [
        mode,
        name,
        dir,
        String(ITERATIONS),
      ]),
    );
  }
  await Promise.all(children.map((child) => child.waitFor("ready")));
}

describe("exclusion across processes", () => {
  test("2 Deno + 2 Bun children incrementing under the lock lose no update", {
    timeout: EMULATED ? 300_000 : 60_000,
  }, async () => {
    const dir = tempDir();
    const lock = new MemoryShareLock("counter", {
      length: LENGTH,
      dir: dir.path,
    });
    const children: Child[] = [];
    let gate: Awaited<ReturnType<typeof lock.acquire>> | undefined;
    try {
      // Holding the lock while the children start makes them all begin
      // together: each queues on acquire() once ready.
      gate = await lock.acquire();
      setU32(gate.memory, 0);
      await startCounters("lock", "counter", dir.path, children);
      await sleep(50);
      await gate.release();

      const results = await Promise.all(
        children.map((child) => result<CounterResult>(child)),
      );
      const total = ITERATIONS * children.length;
      const final = await lock.acquire({ timeout: 5_000 });
      assert.equal(u32(final.memory), total);
      await final.release();

      // Stronger than the final count: every value 0..total-1 was read by
      // exactly one increment, so no two holders ever overlapped.
      const owner = new Map<number, number>();
      for (const { pid, reads } of results) {
        for (const value of reads) {
          assert.ok(!owner.has(value), `value ${value} read twice`);
          owner.set(value, pid);
        }
      }
      assert.deepEqual(
        [...owner.keys()].sort((a, b) => a - b),
        Array.from({ length: total }, (_, i) => i),
      );
      // Fencing tokens: the holder that read a larger counter value (came
      // later) has a larger token, whatever its process or runtime.
      const tokenAt = new Map<number, number>();
      for (const { reads, tokens } of results) {
        assert.equal(tokens.length, reads.length);
        reads.forEach((value, i) => tokenAt.set(value, tokens[i]));
      }
      for (let value = 1; value < total; value++) {
        assert.ok(
          tokenAt.get(value)! > tokenAt.get(value - 1)!,
          `token ${tokenAt.get(value)} after ${tokenAt.get(value - 1)}`,
        );
      }
      assert.ok(final.token > tokenAt.get(total - 1)!);
      assert.deepEqual(
        results.map((r) => r.runtime).sort(),
        ["bun", "bun", "deno", "deno"],
      );
      // The children really ran at the same time (else exclusion was not
      // tested): the holder changed more often than once per child.
      let switches = 0;
      for (let value = 1; value < total; value++) {
        if (owner.get(value) !== owner.get(value - 1)) switches++;
      }
      assert.ok(
        switches > children.length - 1,
        `the children never interleaved (${switches} hand-offs)`,
      );
    } finally {
      await reap(children);
      // close() waits for held guards: a failure before the gate's release must not hang here.
      await gate?.release().catch(() => {});
      await lock.close();
      dir.remove();
    }
  });

  test("control: the same children without the lock lose updates", {
    timeout: EMULATED ? 300_000 : 60_000,
  }, async () => {
    const dir = tempDir();
    const lock = new MemoryShareLock("counter", {
      length: LENGTH,
      dir: dir.path,
    });
    const children: Child[] = [];
    try {
      // Create the data file (header + region) so the children can map it.
      const setup = lock.acquireSync();
      setU32(setup.memory, 0);
      setU32(setup.memory, 0, 4);
      setup.releaseSync();
      await startCounters("nolock", "counter", dir.path, children);
      const go = lock.acquireSync();
      setU32(go.memory, 1, 4);
      go.releaseSync();

      const results = await Promise.all(
        children.map((child) => result<CounterResult>(child)),
      );
      const total = ITERATIONS * children.length;
      const final = lock.acquireSync();
      const counted = u32(final.memory);
      final.releaseSync();
      assert.equal(
        results.reduce((n, r) => n + r.reads.length, 0),
        total,
        "every child did all its increments",
      );
      assert.ok(
        counted < total,
        `without the lock no update was lost (${counted} of ${total}): the workload does not race, so the locked test proves nothing`,
      );
    } finally {
      await reap(children);
      await lock.close();
      dir.remove();
    }
  });
});

describe("an in-process acquire against a child holder", () => {
  for (const runtime of RUNTIMES) {
    test(
      `times out naming the ${runtime} holder, then gets the lock once it releases`,
      {
        timeout: 30_000,
      },
      async () => {
        const dir = tempDir();
        const lock = new MemoryShareLock("held", {
          length: LENGTH,
          dir: dir.path,
        });
        const children: Child[] = [];
        try {
          const holder = startFixture(runtime, "holder.ts", ["held", dir.path]);
          children.push(holder);
          await holder.waitFor('"held":true');
          const held = JSON.parse(holder.stdout()) as { pid: number };
          assert.equal(held.pid, holder.process.pid);

          assert.equal(lock.tryAcquire(), null);
          const started = performance.now();
          const error = await lock.acquire({ timeout: 200 }).then(
            () => assert.fail("acquire succeeded while a child held the lock"),
            (e: unknown) => e,
          );
          const waited = performance.now() - started;
          assert.ok(error instanceof LockTimeoutError, String(error));
          assert.equal(error.holderPid, holder.process.pid);
          assert.equal(error.timeout, 200);
          assert.equal(error.path, lock.path);
          assert.ok(error.holderSince instanceof Date);
          assert.ok(
            Math.abs(Date.now() - error.holderSince.getTime()) < 60_000,
            `holderSince ${error.holderSince.toISOString()} is not about now`,
          );
          assert.match(error.message, new RegExp(`pid ${holder.process.pid}`));
          // Wide margins: it waited for the timeout, and not for ever.
          assert.ok(waited >= 150, `gave up after only ${waited} ms`);
          assert.ok(waited < 10_000, `took ${waited} ms to time out`);
          const info = lock.info();
          assert.equal(info.locked, true);
          assert.equal(info.holderPid, holder.process.pid);

          // A waiter queued now must not get the lock until the child releases.
          let settled = false;
          const waiting = lock.acquire({ timeout: 15_000 }).finally(() => {
            settled = true;
          });
          await sleep(100);
          assert.equal(settled, false, "got the lock while the child held it");
          holder.process.stdin!.write("release\n");
          const guard = await waiting;
          assert.equal(guard.recovered, false);
          assert.equal(lock.info().holderPid, currentPlatform().pid());
          await guard.release();
          holder.process.stdin!.end();
          assert.equal((await holder.exited).code, 0, holder.stderr());
        } finally {
          await reap(children);
          await lock.close();
          dir.remove();
        }
      },
    );
  }
});

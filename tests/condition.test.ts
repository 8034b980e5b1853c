/**
 * Condition waits: `guard.waitUntil`, `waitUntilSync`, `lock.acquireWhen`.
 * The lock is let go while the predicate is false and taken back after
 * another holder's turn; they return holding the lock, also on timeout and
 * abort; waiters wake across processes and runtimes through the header,
 * notice a release by Python or flock(1), use next to no CPU, and a
 * waiter that dies blocks nobody.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import {
  LockClosedError,
  LockTimeoutError,
  type MemoryShareLock,
} from "../mod.ts";
import {
  type Child,
  EMULATED,
  posixOnly,
  READY_MS,
  RUNTIME,
  sleep,
  startFixture,
  WINDOWS,
} from "./helpers.ts";
import { freshLock, outsideHolder } from "./lock_helpers.ts";

const RUNTIMES = ["deno", "bun"] as const;
const PYTHON = "/usr/bin/python3";
const FLOCK = "/usr/bin/flock";
const CHILD_MS = EMULATED ? 300_000 : 60_000;

const u32 = (memory: Uint8Array) =>
  new DataView(memory.buffer, memory.byteOffset).getUint32(0, true);
const setU32 = (memory: Uint8Array, value: number) =>
  new DataView(memory.buffer, memory.byteOffset).setUint32(0, value, true);
const now = () => performance.timeOrigin + performance.now();

async function set(lock: MemoryShareLock, value: number): Promise<void> {
  await lock.run((memory) => setU32(memory, value));
}

async function result<T>(child: Child): Promise<T> {
  const { code, signal } = await child.exited;
  assert.equal(code, 0, `child exited ${code ?? signal}: ${child.stderr()}`);
  return JSON.parse(child.stdout().trim().split("\n").at(-1)!);
}

describe("condition waits in one realm", () => {
  test("waitUntil lets go while false, lets this realm's queued tasks in first, and resolves holding the lock with the predicate true", async () => {
    const { lock, dispose } = freshLock({ length: 8 });
    try {
      const guard = await lock.acquire();
      const first = guard.token;
      const view = guard.memory;
      const order: string[] = [];
      const waiting = guard.waitUntil((memory) => {
        order.push(`look ${u32(memory)}`);
        return u32(memory) === 2;
      }).then(() => order.push("done"));
      assert.equal(view.length, 0, "views taken before are detached");
      assert.equal(guard.memory.length, 0, "no memory while let go");
      // Queued tasks take their turns; each changes the bytes.
      await set(lock, 1);
      await set(lock, 2);
      await waiting;
      // It looked first, then after the turn(s) it saw, and last at 2.
      assert.equal(order[0], "look 0");
      assert.deepEqual(order.slice(-2), ["look 2", "done"]);
      assert.equal(u32(guard.memory), 2);
      assert.ok(guard.token > first, "the token is the new hold's");
      assert.equal(guard.token, lock.info().acquisitions);
      assert.equal(lock.isLocked(), true);
      assert.equal(lock.tryAcquire(), null);
      await guard.release();
      assert.equal(lock.isLocked(), false);
    } finally {
      await dispose();
    }
  });

  test("a true predicate returns at once without letting go; waitUntilSync and acquireWhen", async () => {
    const { lock, dispose } = freshLock({ length: 8 });
    try {
      await set(lock, 5);
      {
        await using guard = await lock.acquire();
        const token = guard.token;
        await guard.waitUntil((memory) => u32(memory) === 5);
        assert.equal(guard.token, token);
      }
      {
        using guard = lock.acquireSync();
        guard.waitUntilSync((memory) => u32(memory) === 5);
        assert.throws(
          () => guard.waitUntilSync(() => false, { timeout: 20 }),
          LockTimeoutError,
        );
        assert.equal(lock.isLocked(), true, "still held after the timeout");
        assert.equal(u32(guard.memory), 5);
      }
      const guard = await lock.acquireWhen((memory) => u32(memory) === 5);
      assert.equal(u32(guard.memory), 5);
      await guard.release();
      const later = lock.acquireWhen((memory) => u32(memory) === 6, {
        timeout: 5_000,
      });
      await sleep(20);
      await set(lock, 6);
      const six = await later;
      assert.equal(u32(six.memory), 6);
      await six.release();
      const start = performance.now();
      await assert.rejects(
        lock.acquireWhen(() => false, { timeout: 60 }),
        LockTimeoutError,
      );
      assert.ok(performance.now() - start < 2_000);
      assert.equal(
        lock.isLocked(),
        false,
        "acquireWhen rejects holding nothing",
      );
    } finally {
      await dispose();
    }
  });

  test("timeout and abort reject with the lock still held; await using releases it", async () => {
    const { lock, dispose } = freshLock({ length: 8 });
    try {
      let other = 0;
      {
        await using guard = await lock.acquire();
        const token = guard.token;
        const pending = guard.waitUntil(() => false, { timeout: 80 });
        // Another task gets in while the guard waits.
        const task = lock.run(() => other++);
        await assert.rejects(pending, LockTimeoutError);
        await task;
        assert.equal(other, 1);
        assert.equal(lock.isLocked(), true);
        assert.equal(guard.released, false);
        assert.ok(guard.token > token);
        assert.equal(lock.tryAcquire(), null);
        const controller = new AbortController();
        const reason = new Error("stop");
        setTimeout(() => controller.abort(reason), 30);
        await assert.rejects(
          guard.waitUntil(() => false, { signal: controller.signal }),
          (error) => error === reason,
        );
        assert.equal(lock.isLocked(), true);
        await assert.rejects(
          guard.waitUntil(() => false, { signal: controller.signal }),
          (error) => error === reason,
          "an aborted signal rejects at once",
        );
        await assert.rejects(
          guard.waitUntil(() => false, { timeout: 0 }),
          LockTimeoutError,
        );
      }
      assert.equal(lock.isLocked(), false);
    } finally {
      await dispose();
    }
  });

  test("two waiters whose predicates stay false do not wake each other, and both wake for the change", async () => {
    const { lock, dispose } = freshLock({ length: 8 });
    try {
      const looks = [0, 0];
      const waiter = async (i: number) => {
        await using guard = await lock.acquire();
        await guard.waitUntil((memory) => {
          looks[i]++;
          return u32(memory) === 9;
        });
        return u32(guard.memory);
      };
      const both = [waiter(0), waiter(1)];
      await sleep(50);
      const before = lock.info().acquisitions;
      const settled = [...looks];
      await sleep(300);
      assert.ok(
        lock.info().acquisitions - before <= 2,
        `waiters kept taking the lock: ${lock.info().acquisitions - before}`,
      );
      assert.ok(looks[0] - settled[0] <= 1 && looks[1] - settled[1] <= 1);
      await set(lock, 9);
      assert.deepEqual(await Promise.all(both), [9, 9]);
    } finally {
      await dispose();
    }
  });

  test("hooks: release hooks do not run when a wait lets go, acquire hooks not when it takes back", async () => {
    const calls: string[] = [];
    const { lock, dispose } = freshLock({
      length: 8,
      onAcquire: () => void calls.push("acquire"),
      onRelease: () => void calls.push("release"),
    });
    try {
      const guard = await lock.acquire();
      const waiting = guard.waitUntil((memory) => u32(memory) === 1);
      await sleep(10);
      calls.push("set");
      await set(lock, 1);
      await waiting;
      await guard.release();
      assert.deepEqual(calls, [
        "acquire",
        "set",
        "acquire",
        "release",
        "release",
      ]);
    } finally {
      await dispose();
    }
  });

  test("misuse: shared holds, released guards, bad predicates; a throwing predicate leaves the lock held; close() ends a wait holding nothing", async () => {
    const { lock, dispose } = freshLock({ length: 8 });
    try {
      const reader = await lock.acquireShared();
      await assert.rejects(
        reader.waitUntil(() => true),
        /exclusive hold of a MemoryShareLock/,
      );
      assert.throws(() => reader.discard(), TypeError);
      await reader.release();
      const guard = await lock.acquire();
      await assert.rejects(
        guard.waitUntil(42 as unknown as () => boolean),
        TypeError,
      );
      await assert.rejects(
        guard.waitUntil(
          (() => Promise.resolve(true)) as unknown as () => boolean,
        ),
        /returned a promise/,
      );
      await assert.rejects(
        guard.waitUntil(() => true, { timout: 5 } as never),
        /unknown option "timout"/,
      );
      const boom = new Error("boom");
      let calls = 0;
      const throwing = guard.waitUntil(() => {
        if (++calls === 2) throw boom;
        return false;
      });
      await set(lock, 3);
      await assert.rejects(throwing, (error) => error === boom);
      assert.equal(lock.isLocked(), true);
      assert.equal(guard.released, false);
      await guard.release();
      await assert.rejects(guard.waitUntil(() => true), /released guard/);

      const waiting = await lock.acquire();
      const ended = waiting.waitUntil(() => false);
      await sleep(20);
      const closing = lock.close();
      await assert.rejects(ended, LockClosedError);
      await closing;
      assert.equal(waiting.released, true);
      assert.equal(waiting.memory.length, 0);
    } finally {
      await dispose();
    }
  });

  test(
    "a client that does not use the header (another open file of the lock file) is noticed when it lets go",
    {
      ...posixOnly("a second flock handle in one process"),
      // A hold the waiter missed would leave it waiting for a turn forever.
      timeout: EMULATED ? 120_000 : 30_000,
    },
    async () => {
      const { lock, dispose } = freshLock({ length: 8 });
      try {
        let flag = false;
        const guard = await lock.acquire();
        const waiting = guard.waitUntil(() => flag);
        await sleep(5);
        const outside = outsideHolder(lock.lockPath);
        flag = true;
        // The waiter probes once a slice, and slices grow to 250 ms while
        // the lock stays free: a hold is seen within 250 ms of its start
        // (a shorter one may go unnoticed until the next memshare turn).
        // Under qemu a slice's timer may fire far later than asked.
        await sleep(EMULATED ? 3_000 : 400);
        const released = now();
        outside.close();
        await waiting;
        const late = now() - released;
        assert.ok(
          late < (EMULATED ? 2_000 : 200),
          `noticed ${late.toFixed(1)} ms after the release`,
        );
        await guard.release();
      } finally {
        await dispose();
      }
    },
  );
});

describe("condition waits across processes", {
  skip: WINDOWS
    ? "children with piped stdio make Deno under Wine panic (see scripts/test-windows.sh)"
    : false,
}, () => {
  for (const runtime of RUNTIMES) {
    test(`${RUNTIME} wakes a ${runtime} waiter (async and sync) and a ${runtime} setter wakes a ${RUNTIME} waiter`, async () => {
      const { lock, dir, dispose } = freshLock({ length: 16 });
      const name = lock.path.split(/[\\/]/).at(-1)!;
      try {
        for (const role of ["wait", "waitsync"]) {
          await set(lock, 0);
          const child = startFixture(runtime, "condition_child.ts", [
            role,
            name,
            dir,
            "7",
          ]);
          await child.waitFor("waiting", READY_MS);
          // Taking the lock proves the child let go while it waits.
          const guard = await lock.acquire({ timeout: CHILD_MS });
          setU32(guard.memory, 7);
          const released = now();
          await guard.release();
          const woke = await result<
            { value: number; token: number; before: number; at: number }
          >(child);
          assert.equal(woke.value, 7);
          assert.ok(woke.token > guard.token, "the child took the lock back");
          const late = woke.at - released;
          assert.ok(
            EMULATED || late < 500,
            `${role}: woke ${late.toFixed(1)} ms after the release`,
          );
        }
        await set(lock, 0);
        const guard = await lock.acquire();
        const waiting = guard.waitUntil((memory) => u32(memory) === 8, {
          timeout: CHILD_MS,
        });
        const setter = startFixture(runtime, "condition_child.ts", [
          "set",
          name,
          dir,
          "8",
        ]);
        const set8 = await result<{ at: number }>(setter);
        await waiting;
        const late = now() - set8.at;
        assert.equal(u32(guard.memory), 8);
        assert.ok(EMULATED || late < 500, `woke ${late.toFixed(1)} ms late`);
        await guard.release();
      } finally {
        await dispose();
      }
    });
  }

  test("a deno and a bun process hand the turn back and forth 300 times each through waitUntil", async () => {
    const { lock, dir, dispose } = freshLock({ length: 16 });
    const name = lock.path.split(/[\\/]/).at(-1)!;
    try {
      const rounds = EMULATED ? 30 : 300;
      const children = RUNTIMES.map((runtime, parity) =>
        startFixture(runtime, "condition_child.ts", [
          "pingpong",
          name,
          dir,
          `${parity}:${rounds}`,
        ])
      );
      const done = await Promise.all(
        children.map((child) => result<{ ms: number }>(child)),
      );
      assert.equal(await lock.run((memory) => u32(memory)), 2 * rounds);
      console.log(
        `ping-pong: ${rounds} turns each, ${
          done.map((d) => d.ms.toFixed(0)).join(" / ")
        } ms (deno / bun)`,
      );
    } finally {
      await dispose();
    }
  });

  for (const runtime of RUNTIMES) {
    test(`a ${runtime} process waiting 2 s uses next to no CPU, and returns holding the lock`, async () => {
      const { lock, dir, dispose } = freshLock({ length: 16 });
      const name = lock.path.split(/[\\/]/).at(-1)!;
      try {
        const child = startFixture(runtime, "condition_child.ts", [
          "idle",
          name,
          dir,
          "0",
        ]);
        const idle = await result<
          { cpuMs: number; ms: number; error: string; held: boolean }
        >(child);
        assert.equal(idle.error, "LockTimeoutError");
        assert.equal(idle.held, true);
        assert.ok(idle.ms >= 1_990);
        console.log(
          `${runtime} condition waiter: ${idle.cpuMs.toFixed(1)} ms CPU over ${
            idle.ms.toFixed(0)
          } ms`,
        );
        assert.ok(
          EMULATED || idle.cpuMs < 100,
          `${idle.cpuMs} ms of CPU while waiting 2 s`,
        );
      } finally {
        await dispose();
      }
    });
  }

  test("a waiter killed while it waits blocks nobody", async () => {
    const { lock, dir, dispose } = freshLock({ length: 16 });
    const name = lock.path.split(/[\\/]/).at(-1)!;
    try {
      const child = startFixture(RUNTIME, "condition_child.ts", [
        "wait",
        name,
        dir,
        "99",
      ]);
      await child.waitFor("waiting", READY_MS);
      // Taking the lock proves the child let go while it waits; it is
      // killed while we hold, so it cannot be holding. (Killed after our
      // release, it could be: the release wakes it to check its predicate
      // under the lock, and it then died holding, 1 run in 5 or so.)
      const guard = await lock.acquire({ timeout: CHILD_MS });
      try {
        child.process.kill("SIGKILL");
        // Polled, not only awaited: Deno under qemu once saw no more to do
        // while waiting for this child's 'close' ("Promise resolution is
        // still pending but the event loop has already resolved"). Not
        // `signalCode`: Deno sets it in kill(), before the child is gone.
        const deadline = Date.now() + CHILD_MS;
        while (!child.hasExited()) {
          assert.ok(Date.now() < deadline, "the killed waiter never exited");
          await sleep(20);
        }
      } finally {
        // The turn ends with the dead waiter still counted in the header.
        await guard.release();
      }
      {
        // Released however the checks go: a guard left held would keep
        // close() waiting and hide the failure behind a hang.
        using again = lock.tryAcquire();
        assert.ok(again !== null, "the lock is free");
        assert.equal(again.recovered, false, "the waiter held nothing");
      }
      // Releases after it stay cheap and work.
      for (let i = 0; i < 100; i++) lock.tryAcquire()!.releaseSync();
    } finally {
      await dispose();
    }
  });

  test("a release by Python's fcntl.flock is noticed within a slice", {
    ...posixOnly("fcntl.flock"),
    skip: !existsSync(PYTHON) && "no python3",
  }, async () => {
    const { lock, dispose } = freshLock({ length: 16 });
    try {
      const guard = await lock.acquire();
      // Python queues for the lock behind us, then writes 7 through its
      // own mapping of the data file and holds on for 50 ms.
      const python = spawn(PYTHON, [
        "-c",
        `
import fcntl, mmap, os, sys, time
lock = os.open(sys.argv[1], os.O_RDWR)
data = os.open(sys.argv[2], os.O_RDWR)
print("queued", flush=True)
fcntl.flock(lock, fcntl.LOCK_EX)
region = mmap.mmap(data, 0)
region[256] = 7
time.sleep(0.05)
print(repr(time.time() * 1000), flush=True)
fcntl.flock(lock, fcntl.LOCK_UN)
`,
        lock.lockPath,
        lock.path,
      ], { stdio: ["ignore", "pipe", "inherit"] });
      let out = "";
      const exited = new Promise((resolve) => python.on("exit", resolve));
      python.stdout!.on("data", (d) => out += d);
      while (!out.includes("queued")) await sleep(5);
      await sleep(50);
      await guard.waitUntil((memory) => memory[0] === 7, { timeout: 10_000 });
      const at = Date.now();
      await exited;
      const released = Number(out.trim().split("\n").at(-1));
      assert.ok(at - released < 100, `noticed ${at - released} ms late`);
      await guard.release();
    } finally {
      await dispose();
    }
  });

  test("a release by flock(1) is noticed within a slice", {
    ...posixOnly("flock(1)"),
    skip: !existsSync(FLOCK) && "no flock(1)",
  }, async () => {
    const { lock, dispose } = freshLock({ length: 16 });
    try {
      const guard = await lock.acquire();
      const flock = spawn(FLOCK, [
        lock.lockPath,
        "sh",
        "-c",
        `printf '\\007' | dd of='${lock.path}' bs=1 seek=256 conv=notrunc status=none; sleep 0.05; date +%s%3N`,
      ], { stdio: ["ignore", "pipe", "inherit"] });
      let out = "";
      const exited = new Promise((resolve) => flock.on("exit", resolve));
      flock.stdout!.on("data", (d) => out += d);
      await sleep(100); // flock(1) is queued in the kernel behind us
      await guard.waitUntil((memory) => memory[0] === 7, { timeout: 10_000 });
      const at = Date.now();
      await exited;
      const released = Number(out.trim());
      assert.ok(at - released < 150, `noticed ${at - released} ms late`);
      await guard.release();
    } finally {
      await dispose();
    }
  });
});

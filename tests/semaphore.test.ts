/**
 * `MemoryShareSemaphore`: at most `slots` holders across real Deno and Bun
 * processes (a per-slot in-use word and an exact count of holders), a
 * killed holder frees its slot, FIFO in a realm with several slots held at
 * once, timeouts and aborts, the slot count fixed on disk, bad input,
 * hooks, `using`, `info()`, and no leaks over 10k cycles.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  LockClosedError,
  LockHeldError,
  LockTimeoutError,
  MemoryShareLock,
  MemoryShareSemaphore,
  type MemoryShareSemaphoreOptions,
  type ShareLock,
  type SlotGuard,
} from "../mod.ts";
import { HEADER_SIZE } from "../src/engine/local/header.ts";
import { currentPlatform } from "../src/ffi/current.ts";
import { type Snapshot, snapshot } from "./leak_probe.ts";
import {
  type Child,
  fixture,
  reap,
  ROOT,
  run,
  RUNTIME,
  runtimeCommand,
  sleep,
  start,
  startFixture,
  tempDir,
  WINDOWS,
} from "./helpers.ts";
import { outsideHolder } from "./lock_helpers.ts";

const LENGTH = 16;
let counter = 0;

/** A semaphore in a fresh temporary directory; `dispose` closes it and removes the directory. */
function freshSemaphore(
  options: Partial<MemoryShareSemaphoreOptions> = {},
): { sem: MemoryShareSemaphore; dir: string; dispose: () => Promise<void> } {
  const dir = tempDir();
  const sem = new MemoryShareSemaphore(`sem${++counter}`, {
    slots: 3,
    length: LENGTH,
    dir: dir.path,
    ...options,
  });
  return {
    sem,
    dir: dir.path,
    dispose: async () => {
      await sem.close();
      dir.remove();
    },
  };
}

const u32 = (memory: Uint8Array, at = 0) =>
  new DataView(memory.buffer, memory.byteOffset).getUint32(at, true);

/** The last stdout line of a child that exited 0, parsed. */
async function result<T>(child: Child): Promise<T> {
  const { code, signal } = await child.exited;
  assert.equal(code, 0, `child exited ${code ?? signal}: ${child.stderr()}`);
  return JSON.parse(child.stdout().trim().split("\n").at(-1)!) as T;
}

/** The first JSON line a child printed. */
function firstJson<T>(child: Child): T {
  const line = child.stdout().split("\n").find((l) => l.startsWith("{"));
  return JSON.parse(line!) as T;
}

describe("slots across processes", {
  skip: WINDOWS
    ? "children with piped stdio make Deno under Wine panic (see scripts/test-windows.sh)"
    : false,
}, () => {
  test(
    "3 slots, 3 Deno + 3 Bun children: never more than 3 holders, no slot shared",
    {
      timeout: 120_000,
    },
    async () => {
      const dir = tempDir();
      const children: Child[] = [];
      const ITERATIONS = 60;
      const SLOTS = 3;
      try {
        for (const runtime of ["deno", "bun", "deno", "bun", "deno", "bun"]) {
          children.push(
            startFixture(runtime as "deno" | "bun", "semaphore_child.ts", [
              "contend",
              "pool",
              dir.path,
              String(SLOTS),
              String(ITERATIONS),
            ]),
          );
        }
        await Promise.all(children.map((child) => child.waitFor("ready")));
        for (const child of children) child.process.stdin!.write("go\n");
        const results = await Promise.all(
          children.map((child) =>
            result<{ violations: number; maxSeen: number; slots: number[] }>(
              child,
            )
          ),
        );
        for (const r of results) assert.equal(r.violations, 0);
        // The count of holders, kept exact under its own lock.
        const count = readFileSync(join(dir.path, "pool-count"))
          .subarray(HEADER_SIZE);
        assert.equal(u32(count, 0), 0, "holders left counted");
        assert.equal(u32(count, 8), 0, "more than 3 holders at once");
        const highest = u32(count, 4);
        assert.ok(highest <= SLOTS, `${highest} holders at once`);
        assert.ok(highest >= 2, `slots never overlapped (at most ${highest})`);
        // Every use was counted in the slot's own bytes: exactly one per acquire.
        let uses = 0;
        for (let k = 0; k < SLOTS; k++) {
          const bytes = readFileSync(join(dir.path, `pool.slot${k}`))
            .subarray(HEADER_SIZE);
          assert.equal(u32(bytes, 0), 0, `slot ${k} left in use`);
          uses += u32(bytes, 4);
          const byChildren = results.reduce((sum, r) => sum + r.slots[k], 0);
          assert.equal(u32(bytes, 4), byChildren, `slot ${k}'s uses`);
        }
        assert.equal(uses, children.length * ITERATIONS);
        assert.equal(
          readFileSync(join(dir.path, "pool-count")).length,
          HEADER_SIZE + 16,
        );
      } finally {
        await reap(children);
        dir.remove();
      }
    },
  );

  for (const runtime of ["deno", "bun"] as const) {
    test(
      `a killed ${runtime} holder frees its slot; the next holder sees recovered`,
      {
        timeout: 60_000,
      },
      async () => {
        const dir = tempDir();
        const children: Child[] = [];
        const sem = new MemoryShareSemaphore("seats", {
          slots: 2,
          length: LENGTH,
          dir: dir.path,
        });
        try {
          const holder = startFixture(runtime, "semaphore_child.ts", [
            "hold",
            "seats",
            dir.path,
            "2",
            "2",
          ]);
          children.push(holder);
          await holder.waitFor('"held"');
          const held = firstJson<{ held: number[]; pid: number }>(holder);
          assert.deepEqual([...held.held].sort(), [0, 1]);
          assert.equal(held.pid, holder.process.pid);
          assert.equal(sem.tryAcquire(), null);
          const info = sem.info();
          assert.equal(info.held, 2);
          assert.deepEqual(
            info.slotInfo.map((slot) => slot.holderPid),
            [holder.process.pid, holder.process.pid],
          );
          assert.ok(info.slotInfo[0].holderSince instanceof Date);

          // One slot released by the holder: a waiter gets that one.
          const waiting = sem.acquire({ timeout: 10_000 });
          holder.process.stdin!.write("release\n");
          const first = await waiting;
          assert.equal(first.slot, held.held[0]);
          assert.equal(first.recovered, false);

          // The holder killed with the other slot held: it is free at once.
          const second = sem.acquire({ timeout: 10_000 });
          holder.process.kill("SIGKILL");
          const seat = await second;
          assert.equal(seat.slot, held.held[1]);
          assert.equal(seat.recovered, true);
          assert.equal(sem.info().slotInfo[seat.slot].recoveries, 1);
          await seat.release();
          await first.release();
        } finally {
          await reap(children);
          await sem.close();
          dir.remove();
        }
      },
    );
  }

  test("a process asking for another slot count is refused, naming both", {
    timeout: 30_000,
  }, async () => {
    const dir = tempDir();
    const children: Child[] = [];
    try {
      const holder = startFixture(RUNTIME, "semaphore_child.ts", [
        "hold",
        "fixed",
        dir.path,
        "3",
        "1",
      ]);
      children.push(holder);
      await holder.waitFor('"held"');
      const sem = new MemoryShareSemaphore("fixed", {
        slots: 4,
        length: LENGTH,
        dir: dir.path,
      });
      for (
        const attempt of [
          () => sem.acquire(),
          () => Promise.resolve().then(() => sem.tryAcquire()),
          () => Promise.resolve().then(() => sem.acquireSync({ timeout: 10 })),
        ]
      ) {
        await assert.rejects(attempt(), (error: Error) => {
          assert.ok(error instanceof RangeError);
          assert.match(error.message, /created with 3 slots/);
          assert.match(error.message, /asks for 4/);
          return true;
        });
      }
      await sem.close();
      // The right count works alongside the child.
      const right = new MemoryShareSemaphore("fixed", {
        slots: 3,
        length: LENGTH,
        dir: dir.path,
      });
      const seat = right.tryAcquire();
      assert.ok(seat !== null);
      seat.releaseSync();
      await right.close();
    } finally {
      await reap(children);
      dir.remove();
    }
  });
});

describe("slots in one realm", () => {
  test("a realm holds up to `slots` slots at once; each slot has its own bytes", async () => {
    const { sem, dispose } = freshSemaphore({ slots: 3 });
    try {
      const seats = [sem.tryAcquire()!, sem.tryAcquire()!, sem.tryAcquire()!];
      assert.deepEqual(seats.map((s) => s.slot).sort(), [0, 1, 2]);
      assert.equal(sem.tryAcquire(), null);
      for (const seat of seats) seat.memory[0] = 10 + seat.slot;
      const tokens = seats.map((s) => s.token);
      assert.equal(new Set(tokens).size, 3);
      for (const seat of seats) seat.releaseSync();
      assert.equal(seats[0].memory.length, 0, "a released guard's view");
      for (let round = 0; round < 6; round++) {
        const seat = sem.acquireSync();
        assert.equal(seat.memory[0], 10 + seat.slot);
        assert.ok(seat.token > Math.max(...tokens));
        tokens.push(seat.token);
        seat.releaseSync();
      }
      // Tokens strictly increase across the slots.
      assert.deepEqual(
        tokens.slice(3),
        [...tokens.slice(3)].sort((a, b) => a - b),
      );
    } finally {
      await dispose();
    }
  });

  test("tasks of a realm run `slots` at a time, first come first served", async () => {
    const { sem, dispose } = freshSemaphore({ slots: 2 });
    try {
      let running = 0;
      let most = 0;
      const started: number[] = [];
      await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          sem.run(async (_memory, seat) => {
            started.push(i);
            running++;
            most = Math.max(most, running);
            assert.ok(seat.slot === 0 || seat.slot === 1);
            await sleep(5);
            running--;
          })),
      );
      assert.equal(most, 2);
      assert.deepEqual(started, [0, 1, 2, 3, 4, 5, 6, 7]);

      // With every slot held, queued acquires are served in order as slots free up.
      const a = await sem.acquire();
      const b = await sem.acquire();
      const order: number[] = [];
      const queued = [0, 1, 2, 3].map((i) =>
        sem.acquire({ timeout: 5_000 }).then((seat) => {
          order.push(i);
          return seat;
        })
      );
      assert.equal(sem.tryAcquire(), null, "tryAcquire never jumps the queue");
      await a.release();
      const first = await queued[0];
      await b.release();
      const second = await queued[1];
      assert.deepEqual(order, [0, 1]);
      await first.release();
      await second.release();
      for (const seat of await Promise.all(queued.slice(2))) {
        await seat.release();
      }
      assert.deepEqual(order, [0, 1, 2, 3]);
    } finally {
      await dispose();
    }
  });

  test("one instance per semaphore; conflicting options refused", async () => {
    const { sem, dir, dispose } = freshSemaphore({ slots: 2 });
    try {
      const name = sem.path.slice(dir.length + 1);
      const again = new MemoryShareSemaphore(name, {
        slots: 2,
        length: LENGTH,
        dir,
      });
      assert.equal(again, sem);
      assert.throws(
        () => new MemoryShareSemaphore(name, { slots: 3, length: LENGTH, dir }),
        /slots \(3 here, 2 in the existing instance\)/,
      );
    } finally {
      await dispose();
    }
  });

  test("it is a ShareLock: code typed ShareLock takes a slot", async () => {
    const { sem, dispose } = freshSemaphore({ slots: 2 });
    try {
      const bump = (lock: ShareLock) => lock.run((memory) => ++memory[1]);
      assert.equal(await bump(sem), 1);
      const wrapped = sem.wrap((x: number) => x * 2);
      assert.equal(await wrapped(21), 42);
    } finally {
      await dispose();
    }
  });
});

describe("timeouts, aborts, busy", () => {
  test("every slot held elsewhere: timeout, abort, try, sync, then a release wakes a waiter", async () => {
    const { sem, dispose } = freshSemaphore({ slots: 2 });
    const outside = [0, 1].map((k) =>
      outsideHolder(`${sem.path}.slot${k}.lock`)
    );
    try {
      assert.equal(sem.tryAcquire(), null);
      await assert.rejects(sem.acquire({ timeout: 0 }), LockTimeoutError);
      const started = performance.now();
      await assert.rejects(sem.acquire({ timeout: 50 }), (error: Error) => {
        assert.ok(error instanceof LockTimeoutError);
        assert.match(error.message, /timed out after 50 ms waiting for a slot/);
        assert.match(error.message, /all 2 slots/);
        return true;
      });
      assert.ok(performance.now() - started >= 45);
      assert.throws(() => sem.acquireSync({ timeout: 30 }), LockTimeoutError);
      const controller = new AbortController();
      const reason = new Error("stop");
      const aborted = sem.acquire({ signal: controller.signal });
      setTimeout(() => controller.abort(reason), 10);
      await assert.rejects(aborted, (error) => error === reason);

      // A waiter is woken by an outside release of either slot.
      const waiting = sem.acquire({ timeout: 5_000 });
      await sleep(20);
      outside[1].release();
      const seat = await waiting;
      assert.equal(seat.slot, 1);
      // The rejected acquires left nothing held or queued.
      assert.equal(sem.tryAcquire(), null);
      await seat.release();
      const again = sem.tryAcquire();
      assert.equal(again?.slot, 1);
      again!.releaseSync();

      // acquireSync waits across slots too: released from a timer? No —
      // it blocks the thread; release from outside before it starts a slice.
      outside[0].release();
      const sync = sem.acquireSync({ timeout: 1_000 });
      assert.ok(sync.slot === 0 || sync.slot === 1);
      sync.releaseSync();
    } finally {
      for (const o of outside) o.close();
      await dispose();
    }
  });

  test("acquireSync with every slot held in this realm throws LockHeldError", async () => {
    const { sem, dispose } = freshSemaphore({ slots: 2 });
    try {
      const a = sem.acquireSync();
      const b = sem.acquireSync({ timeout: 1_000 });
      assert.throws(() => sem.acquireSync(), LockHeldError);
      b.releaseSync();
      a.releaseSync();
    } finally {
      await dispose();
    }
  });

  test("acquireSync and an async acquire of the same realm do not share a slot", async () => {
    const { sem, dispose } = freshSemaphore({ slots: 2 });
    const outside = [0, 1].map((k) =>
      outsideHolder(`${sem.path}.slot${k}.lock`)
    );
    try {
      const waiting = sem.acquire({ timeout: 5_000 });
      await sleep(15); // the async wait is in flight on both slots
      outside[0].release();
      const sync = sem.acquireSync({ timeout: 1_000 });
      assert.equal(sync.slot, 0);
      await sleep(30); // the async wait must not take slot 0 again
      outside[1].release();
      const seat = await waiting;
      assert.equal(seat.slot, 1);
      sync.releaseSync();
      await seat.release();
    } finally {
      for (const o of outside) o.close();
      await dispose();
    }
  });

  test("close() rejects queued waiters and waits for holders", async () => {
    const { sem, dispose } = freshSemaphore({ slots: 1 });
    try {
      const seat = await sem.acquire();
      const queued = sem.acquire();
      const closing = sem.close();
      await assert.rejects(queued, LockClosedError);
      let closed = false;
      closing.then(() => (closed = true));
      await sleep(10);
      assert.equal(closed, false);
      await seat.release();
      await closing;
      assert.throws(() => sem.tryAcquire(), LockClosedError);
    } finally {
      await dispose();
    }
  });
});

describe("hooks, using, info", () => {
  test("hooks get the slot's memory and the semaphore; using releases", async () => {
    const seen: string[] = [];
    const { sem, dispose } = freshSemaphore({
      slots: 2,
      onAcquire: (memory, lock) => {
        assert.ok(lock instanceof MemoryShareSemaphore);
        memory[2]++;
        seen.push("acquire");
      },
      onRelease: () => {
        seen.push("release");
      },
    });
    try {
      const remove = sem.addReleaseHook((memory) => {
        memory[3]++;
      });
      const uses = [0, 0];
      {
        using seat: SlotGuard = sem.acquireSync();
        assert.equal(seat.memory[2], ++uses[seat.slot]);
      }
      {
        await using seat = await sem.acquire();
        assert.equal(seat.memory[2], ++uses[seat.slot]);
      }
      const seat = sem.tryAcquire()!;
      assert.equal(seat.memory[2], ++uses[seat.slot]);
      assert.equal(seat.memory[3], uses[seat.slot] - 1);
      seat.releaseSync();
      remove();
      assert.deepEqual(seen, [
        "acquire",
        "release",
        "acquire",
        "release",
        "acquire",
        "release",
      ]);
    } finally {
      await dispose();
    }
  });

  test("info() names this process as each slot's holder", async () => {
    const { sem, dispose } = freshSemaphore({ slots: 3 });
    try {
      const before = sem.info();
      assert.equal(before.held, 0);
      assert.equal(before.slots, 3);
      assert.equal(before.slotInfo.length, 3);
      const a = sem.acquireSync();
      const b = sem.acquireSync();
      const info = sem.info();
      assert.equal(info.held, 2);
      assert.equal(info.acquisitions, 2);
      const pid = currentPlatform().pid();
      for (const seat of [a, b]) {
        const slot = info.slotInfo[seat.slot];
        assert.equal(slot.locked, true);
        assert.equal(slot.holderPid, pid);
        assert.ok(Date.now() - slot.holderSince!.getTime() < 5_000);
        assert.equal(slot.path, `${sem.path}.slot${seat.slot}`);
      }
      a.releaseSync();
      b.releaseSync();
      assert.equal(sem.info().held, 0);
    } finally {
      await dispose();
    }
  });
});

describe("bad input", () => {
  const dir = "/tmp";
  for (
    const [slots, kind] of [
      [0, RangeError],
      [-1, RangeError],
      [1.5, RangeError],
      [NaN, RangeError],
      [1025, RangeError],
      [Infinity, RangeError],
      ["3", TypeError],
      [undefined, TypeError],
      [null, TypeError],
    ] as const
  ) {
    test(`slots: ${String(slots)} is refused (${kind.name})`, () => {
      assert.throws(
        () =>
          new MemoryShareSemaphore("bad", {
            slots: slots as number,
            length: 1,
            dir,
          }),
        (error: Error) => {
          assert.ok(error instanceof kind);
          assert.match(error.message, /MemoryShareSemaphore option "slots"/);
          return true;
        },
      );
    });
  }

  test("1024 slots are accepted; other options are checked and named", async () => {
    const sem = new MemoryShareSemaphore("many", {
      slots: 1024,
      length: 1,
      dir,
    });
    assert.equal(sem.slots, 1024);
    await sem.close();
    assert.throws(
      () => new MemoryShareSemaphore("bad", { slots: 2, length: 0, dir }),
      /MemoryShareSemaphore option "length"/,
    );
    assert.throws(
      () =>
        new MemoryShareSemaphore("bad", {
          slots: 2,
          length: 1,
          dir,
          slot: 2,
        } as unknown as MemoryShareSemaphoreOptions),
      /unknown option "slot"/,
    );
    assert.throws(
      () => new MemoryShareSemaphore("", { slots: 2, length: 1, dir }),
      /MemoryShareSemaphore name must not be empty/,
    );
    assert.throws(
      () =>
        new MemoryShareSemaphore(
          "bad",
          null as unknown as MemoryShareSemaphoreOptions,
        ),
      TypeError,
    );
  });

  test("a MemoryShareLock's file is not taken for a semaphore's", async () => {
    const tmp = tempDir();
    try {
      const lock = new MemoryShareLock("plain", { length: 16, dir: tmp.path });
      await lock.run((memory) => memory.fill(7));
      await lock.close();
      const sem = new MemoryShareSemaphore("plain", {
        slots: 2,
        length: 1,
        dir: tmp.path,
      });
      assert.throws(
        () => sem.tryAcquire(),
        /not a MemoryShareSemaphore's file/,
      );
      await sem.close();
    } finally {
      tmp.remove();
    }
  });
});

describe(`no leaks (${RUNTIME})`, {
  skip: process.platform !== "linux" && "reads /proc",
}, () => {
  test("10,000 slot cycles of every kind leave fds and mappings flat", {
    timeout: 120_000,
  }, async () => {
    const dir = tempDir();
    const [command, argv] = runtimeCommand(
      RUNTIME,
      fixture("semaphore_child.ts"),
      ["leaks", "cycles", dir.path, "2", "10000", "1000"],
      ["--v8-flags=--expose-gc"],
    );
    const child = start(command, argv);
    const readings: Record<string, Snapshot> = {};
    try {
      for (const label of ["before", "after", "closed"]) {
        await child.waitFor(`measure ${label}`, 90_000);
        readings[label] = snapshot(child.process.pid!, dir.path);
        child.process.stdin!.write("ok\n");
      }
      child.process.stdin!.end();
      const report = await result<{ gc: boolean; ms: number; uses: number }>(
        child,
      );
      const { before, after, closed } = readings;
      console.log(
        `${RUNTIME} semaphore cycles: ${
          JSON.stringify({ before, after, closed, ...report })
        }`,
      );
      assert.ok(report.gc);
      assert.equal(after.fds, before.fds, "open fds changed");
      assert.equal(after.maps, before.maps, "mappings under the dir changed");
      assert.ok(after.rss - before.rss < 64 << 20, "RSS grew over 64 MiB");
      // Meta + two slots mapped; their 3 × 3 fds closed by close().
      assert.equal(before.maps, 3);
      assert.equal(closed.maps, 0, "close() left a mapping");
      assert.equal(closed.fds, before.fds - 9, "close() left an fd");
    } finally {
      if (child.process.exitCode === null) child.process.kill("SIGKILL");
      await child.exited;
      dir.remove();
    }
  });
});

describe("the status CLI", {
  skip: WINDOWS
    ? "children with piped stdio make Deno under Wine panic (see scripts/test-windows.sh)"
    : false,
}, () => {
  test("groups a semaphore's slots under it and names each slot's holder", {
    timeout: 60_000,
  }, async () => {
    const dir = tempDir();
    const children: Child[] = [];
    try {
      const holder = startFixture(RUNTIME, "semaphore_child.ts", [
        "hold",
        "profiles",
        dir.path,
        "3",
        "2",
      ]);
      children.push(holder);
      await holder.waitFor('"held"');
      const { held } = firstJson<{ held: number[] }>(holder);
      const [command, argv] = runtimeCommand(
        RUNTIME,
        join(ROOT, "cli.ts"),
        ["status", "--json", "--dir", dir.path],
        ["--allow-read"],
      );
      const out = await run(command, argv);
      assert.equal(out.code, 0, out.stderr);
      const rows = JSON.parse(out.stdout) as {
        name: string;
        locked: boolean;
        holderPid: number | null;
        semaphore?: { slots: number; held: number };
        slotOf?: string;
        slot?: number;
      }[];
      assert.deepEqual(rows[0].name, "profiles");
      assert.deepEqual(rows[0].semaphore, { slots: 3, held: 2 });
      const slots = rows.filter((row) => row.slotOf === "profiles");
      assert.deepEqual(slots.map((row) => row.slot), [...held].sort());
      for (const row of slots) {
        assert.equal(row.locked, true);
        assert.equal(row.holderPid, holder.process.pid);
      }
      const table = await run(
        command,
        argv.filter((arg) => arg !== "--json"),
      );
      assert.match(table.stdout, /semaphore: 2 of 3 slots held/);
      assert.match(table.stdout, /\n {4}profiles\.slot\d/);
    } finally {
      await reap(children);
      dir.remove();
    }
  });
});

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { closeSync, openSync, symlinkSync, writeSync } from "node:fs";
import { join } from "node:path";
import {
  LockClosedError,
  LockFileError,
  LockHeldError,
  LockTimeoutError,
  MemoryShareLock,
  type ShareGuard,
  type ShareLock,
} from "../mod.ts";
import { locked } from "../mod.ts";
import { sleep } from "./helpers.ts";
import {
  closeWithin,
  freshLock,
  outsideCanLock,
  outsideHolder,
} from "./lock_helpers.ts";

const u32 = (memory: Uint8Array, at = 0) =>
  new DataView(memory.buffer, memory.byteOffset).getUint32(at, true);
const setU32 = (memory: Uint8Array, value: number, at = 0) =>
  new DataView(memory.buffer, memory.byteOffset).setUint32(at, value, true);

describe("acquire and release", () => {
  test("guard.token strictly increases with every acquisition, by any path, and survives close", async () => {
    const { lock, dispose } = freshLock({ length: 8 });
    try {
      const tokens: number[] = [];
      for (let i = 0; i < 3; i++) {
        const guard = await lock.acquire();
        tokens.push(guard.token);
        await guard.release();
      }
      const sync = lock.acquireSync();
      tokens.push(sync.token);
      sync.releaseSync();
      const tried = lock.tryAcquire()!;
      tokens.push(tried.token);
      tried.releaseSync();
      // A queued acquire gets the next token too.
      const held = await lock.acquire();
      const queued = lock.acquire();
      tokens.push(held.token);
      await held.release();
      const next = await queued;
      tokens.push(next.token);
      await next.release();
      assert.deepEqual(tokens, [1, 2, 3, 4, 5, 6, 7]);
      assert.equal(lock.info().acquisitions, 7);
      const { path, length } = lock;
      await lock.close();
      // The count lives in the header: a new instance continues it.
      const again = new MemoryShareLock(path, { length });
      const guard = again.acquireSync();
      assert.equal(guard.token, 8);
      guard.releaseSync();
      await again.close();
    } finally {
      await dispose();
    }
  });

  test("a MemoryShareLock is a ShareLock: code written for any engine takes it", async () => {
    const { lock, dispose } = freshLock({ length: 4 });
    try {
      const bump = async (any: ShareLock): Promise<number> => {
        await using guard: ShareGuard = await any.acquire({ timeout: 1_000 });
        return ++guard.memory[0];
      };
      assert.equal(await bump(lock), 1);
      assert.equal(await bump(lock), 2);
      const seen: number[] = [];
      const shared: ShareLock = lock;
      const remove = shared.addAcquireHook((memory) => {
        seen.push(memory[0]);
      });
      class Bot {
        @locked(shared)
        click(): Promise<number> {
          return Promise.resolve(lock.isLocked() ? 1 : 0);
        }
      }
      assert.equal(await new Bot().click(), 1);
      remove();
      assert.deepEqual(seen, [2]);
    } finally {
      await dispose();
    }
  });

  test("a guard holds the lock until released, and the memory persists between holders", async () => {
    const { lock, dispose } = freshLock({ length: 16 });
    try {
      const guard = await lock.acquire();
      assert.equal(guard.recovered, false);
      assert.equal(guard.memory.length, 16);
      assert.equal(lock.isLocked(), true);
      assert.equal(outsideCanLock(lock.lockPath), false);
      guard.memory.set([1, 2, 3]);
      await guard.release();
      assert.equal(guard.released, true);
      assert.equal(lock.isLocked(), false);
      assert.equal(outsideCanLock(lock.lockPath), true);

      const next = lock.acquireSync();
      assert.deepEqual([...next.memory.subarray(0, 4)], [1, 2, 3, 0]);
      next.releaseSync();
    } finally {
      await dispose();
    }
  });

  test("after release the memory view is detached: it reads empty and writes go nowhere", async () => {
    const { lock, dispose } = freshLock({ length: 8 });
    try {
      const guard = await lock.acquire();
      const kept = guard.memory;
      kept[0] = 7;
      await guard.release();
      assert.equal(kept.length, 0);
      assert.equal(kept.buffer.byteLength, 0);
      kept[0] = 99; // ignored on a detached view, never reaches shared memory
      assert.equal(guard.memory.length, 0);

      const late = await lock.acquire();
      await late.release();
      // A guard whose memory was never touched yields an empty view after release.
      assert.equal(late.memory.length, 0);

      const again = lock.acquireSync();
      assert.equal(again.memory[0], 7);
      again.releaseSync();
    } finally {
      await dispose();
    }
  });

  test("release, releaseSync and dispose are idempotent", async () => {
    const { lock, dispose } = freshLock();
    try {
      const guard = await lock.acquire();
      const first = guard.release();
      assert.equal(guard.release(), first);
      await first;
      guard.releaseSync();
      guard[Symbol.dispose]();
      await guard[Symbol.asyncDispose]();
      // The stale guard must not release a later holder's lock.
      const later = lock.acquireSync();
      await guard.release();
      assert.equal(lock.isLocked(), true);
      later.releaseSync();
    } finally {
      await dispose();
    }
  });

  test("using and await using release at scope end", async () => {
    const { lock, dispose } = freshLock();
    try {
      {
        using guard = lock.acquireSync();
        assert.equal(guard.released, false);
        assert.equal(lock.isLocked(), true);
      }
      assert.equal(lock.isLocked(), false);
      {
        await using guard = await lock.acquire();
        assert.equal(guard.released, false);
      }
      assert.equal(lock.isLocked(), false);
    } finally {
      await dispose();
    }
  });
});

describe("in-realm waiting", () => {
  test("async tasks are excluded from each other: a read-yield-write counter is exact", async () => {
    const { lock, dispose } = freshLock({ length: 4 });
    try {
      const tasks = Array.from({ length: 20 }, async () => {
        for (let i = 0; i < 10; i++) {
          await lock.run(async (memory) => {
            const seen = u32(memory);
            await sleep(0);
            setU32(memory, seen + 1);
          });
        }
      });
      await Promise.all(tasks);
      assert.equal(await lock.run((memory) => u32(memory)), 200);
    } finally {
      await dispose();
    }
  });

  test("waiters are served first come, first served", async () => {
    const { lock, dispose } = freshLock();
    try {
      const first = await lock.acquire();
      const order: number[] = [];
      const waits = [0, 1, 2, 3, 4].map((n) =>
        lock.acquire().then(async (guard) => {
          order.push(n);
          await sleep(1);
          await guard.release();
        })
      );
      await sleep(5);
      await first.release();
      await Promise.all(waits);
      assert.deepEqual(order, [0, 1, 2, 3, 4]);
    } finally {
      await dispose();
    }
  });

  test("acquireSync while a task of this realm waits: the task's wait never takes the lock under it", async () => {
    const { lock, dispose } = freshLock();
    const outside = outsideHolder(lock.lockPath);
    try {
      const queued = lock.acquire({ timeout: 5_000 });
      await sleep(20); // the task sleeps in the realm's wait loop
      outside.release();
      const guard = lock.acquireSync({ timeout: 1_000 });
      guard.memory[0] = 7;
      await sleep(50); // the wait loop wakes and retries while we hold
      assert.equal(lock.info().recoveries, 0, "the lock was re-taken under us");
      guard.releaseSync();
      const next = await queued;
      assert.equal(next.memory[0], 7);
      assert.equal(next.recovered, false);
      await next.release();
    } finally {
      outside.close();
      await dispose();
    }
  });

  test("tryAcquire and timeout 0 (async or sync) never jump ahead of queued tasks", async () => {
    const { lock, dispose } = freshLock();
    const outside = outsideHolder(lock.lockPath);
    try {
      const queued = lock.acquire();
      await sleep(5);
      outside.release();
      // The OS lock is free now, but a task of this realm is queued first.
      assert.equal(lock.tryAcquire(), null);
      await assert.rejects(lock.acquire({ timeout: 0 }), LockTimeoutError);
      assert.throws(() => lock.acquireSync({ timeout: 0 }), LockTimeoutError);
      const guard = await queued;
      await guard.release();
      const mine = lock.tryAcquire();
      assert.notEqual(mine, null);
      mine!.releaseSync();
    } finally {
      outside.close();
      await dispose();
    }
  });

  test("a waiter gets the lock soon after an outside holder releases (polling, no busy spin)", async () => {
    const { lock, dispose } = freshLock();
    const outside = outsideHolder(lock.lockPath);
    try {
      const waiting = lock.acquire({ timeout: 10_000 });
      await sleep(50);
      const released = performance.now();
      outside.release();
      const guard = await waiting;
      const handoff = performance.now() - released;
      await guard.release();
      assert.ok(handoff < 1_000, `hand-off took ${handoff} ms`);
    } finally {
      outside.close();
      await dispose();
    }
  });
});

describe("timeouts and aborts", () => {
  test("acquire times out with the path, timeout and the holder's pid", async () => {
    const { lock, dispose } = freshLock({ tagName: "mouse move lock" });
    try {
      const held = await lock.acquire();
      const start = performance.now();
      const error = await lock.acquire({ timeout: 100 }).catch((e) => e);
      const waited = performance.now() - start;
      assert.ok(error instanceof LockTimeoutError, String(error));
      assert.equal(error.name, "LockTimeoutError");
      assert.equal(error.path, lock.path);
      assert.equal(error.timeout, 100);
      assert.equal(error.holderPid, process.pid);
      assert.ok(error.holderSince instanceof Date);
      assert.match(error.message, /100 ms/);
      assert.match(error.message, new RegExp(`pid ${process.pid}`));
      assert.match(error.message, /mouse move lock/);
      assert.ok(waited >= 90 && waited < 5_000, `waited ${waited} ms`);
      await held.release();
    } finally {
      await dispose();
    }
  });

  test("an unknown acquire option is a TypeError naming it, not ignored", async () => {
    const { lock, dispose } = freshLock();
    try {
      const bad = (key: string, hint?: RegExp) => (e: unknown) =>
        e instanceof TypeError && e.message.includes(`"${key}"`) &&
        (hint === undefined || hint.test(e.message));
      // A misspelt timeout would otherwise wait for ever.
      await assert.rejects(
        lock.acquire({ timout: 5 } as never),
        bad("timout", /known options: timeout, signal/),
      );
      await assert.rejects(
        lock.acquire({ blocking: false } as never),
        bad("blocking", /timeout: 0/),
      );
      assert.throws(
        () => lock.acquireSync({ signal: AbortSignal.abort() } as never),
        bad("signal", /acquire\(\{ signal \}\)/),
      );
      assert.throws(
        () => lock.acquireSync({ timout: 5 } as never),
        bad("timout", /known options: timeout$/),
      );
      // Names on Object.prototype are not hints.
      await assert.rejects(
        lock.acquire({ constructor: 5 } as never),
        (e: unknown) => bad("constructor")(e) && !/native code/.test(String(e)),
      );
      assert.equal(lock.isLocked(), false);
    } finally {
      await dispose();
    }
  });

  test("timeouts beyond what a timer holds (2**31 ms and more) still wait", async () => {
    const { lock, dispose } = freshLock();
    try {
      const held = await lock.acquire();
      const controller = new AbortController();
      const outcomes: string[] = [];
      const waits = [2 ** 31 - 1, 2 ** 31 + 10, 1e300].map((timeout) =>
        lock.acquire({ timeout, signal: controller.signal }).then(
          () => outcomes.push(`${timeout}: acquired`),
          (e: unknown) =>
            outcomes.push(`${timeout}: ${e === "stop" ? "aborted" : e}`),
        )
      );
      // A timer given more than 2**31 - 1 ms fires after 1 ms instead.
      await sleep(300);
      assert.deepEqual(outcomes, []);
      controller.abort("stop");
      await Promise.all(waits);
      assert.deepEqual(outcomes.sort(), [
        "1e+300: aborted",
        "2147483647: aborted",
        "2147483658: aborted",
      ]);
      await held.release();
    } finally {
      await dispose();
    }
  });

  test("timeout 0 is one try; the lock's default timeout applies when none is given", async () => {
    const { lock, dispose } = freshLock({ timeout: 50 });
    const outside = outsideHolder(lock.lockPath);
    try {
      const start = performance.now();
      await assert.rejects(
        lock.acquire({ timeout: 0 }),
        (e: unknown) =>
          e instanceof LockTimeoutError && e.timeout === 0 &&
          /busy/.test(e.message),
      );
      assert.ok(performance.now() - start < 1_000);
      await assert.rejects(
        lock.acquire(),
        (e: unknown) => e instanceof LockTimeoutError && e.timeout === 50,
      );
      assert.throws(
        () => lock.acquireSync(),
        (e: unknown) => e instanceof LockTimeoutError && e.timeout === 50,
      );
      assert.equal(lock.tryAcquire(), null);
    } finally {
      outside.close();
      await dispose();
    }
  });

  test("an abort rejects with signal.reason; an aborted signal rejects at once", async () => {
    const { lock, dispose } = freshLock();
    const outside = outsideHolder(lock.lockPath);
    try {
      const controller = new AbortController();
      const reason = new Error("bot stopped");
      const waiting = lock.acquire({ signal: controller.signal });
      await sleep(20);
      controller.abort(reason);
      await assert.rejects(waiting, (e: unknown) => e === reason);
      await assert.rejects(
        lock.acquire({ signal: controller.signal }),
        (e: unknown) => e === reason,
      );
      await assert.rejects(
        lock.acquire({ signal: AbortSignal.timeout(30) }),
        (e: unknown) => e instanceof Error && e.name === "TimeoutError",
      );
    } finally {
      outside.close();
      await dispose();
    }
  });

  test("rejected acquires never leave the lock held", async () => {
    const { lock, dispose } = freshLock();
    const outside = outsideHolder(lock.lockPath);
    try {
      const controller = new AbortController();
      const attempts = [
        lock.acquire({ timeout: 0 }),
        lock.acquire({ timeout: 30 }),
        lock.acquire({ timeout: 60 }),
        lock.acquire({ signal: controller.signal }),
      ];
      setTimeout(() => controller.abort(), 40);
      const results = await Promise.allSettled(attempts);
      assert.deepEqual(results.map((r) => r.status), [
        "rejected",
        "rejected",
        "rejected",
        "rejected",
      ]);
      outside.release();
      await sleep(20);
      assert.equal(lock.isLocked(), false);
      assert.equal(outsideCanLock(lock.lockPath), true);
      const guard = await lock.acquire({ timeout: 0 });
      await guard.release();
    } finally {
      outside.close();
      await dispose();
    }
  });

  test("a waiter that times out lets the next one in the queue proceed", async () => {
    const { lock, dispose } = freshLock();
    try {
      const held = await lock.acquire();
      const short = lock.acquire({ timeout: 20 });
      const long = lock.acquire({ timeout: 5_000 });
      await assert.rejects(short, LockTimeoutError);
      await held.release();
      const guard = await long;
      await guard.release();
    } finally {
      await dispose();
    }
  });
});

describe("synchronous acquire", () => {
  test("acquireSync throws LockHeldError when this realm already holds the lock", async () => {
    const { lock, dispose } = freshLock();
    try {
      const guard = await lock.acquire();
      assert.throws(
        () => lock.acquireSync(),
        (e: unknown) => e instanceof LockHeldError && e.path === lock.path,
      );
      assert.equal(lock.tryAcquire(), null);
      await guard.release();
    } finally {
      await dispose();
    }
  });

  test("acquireSync times out against an outside holder", async () => {
    const { lock, dispose } = freshLock();
    const outside = outsideHolder(lock.lockPath);
    try {
      const start = performance.now();
      assert.throws(() => lock.acquireSync({ timeout: 60 }), LockTimeoutError);
      const waited = performance.now() - start;
      assert.ok(waited >= 50 && waited < 5_000, `waited ${waited} ms`);
    } finally {
      outside.close();
      await dispose();
    }
  });
});

describe("run, wrap and the decorator", () => {
  test("run returns fn's result and releases when fn throws", async () => {
    const { lock, dispose } = freshLock();
    try {
      assert.equal(
        await lock.run((memory, guard) =>
          memory.length + Number(guard.recovered)
        ),
        64,
      );
      const boom = new Error("boom");
      await assert.rejects(
        lock.run(() => {
          throw boom;
        }),
        (e: unknown) => e === boom,
      );
      assert.equal(lock.isLocked(), false);
    } finally {
      await dispose();
    }
  });

  test("wrap keeps the this of a wrapped method", async () => {
    const { lock, dispose } = freshLock();
    try {
      const bot = {
        clicks: 0,
        click(n: number) {
          this.clicks += n;
          return this.clicks;
        },
      };
      const locked = { ...bot, click: lock.wrap(bot.click) };
      assert.equal(await locked.click(2), 2);
      assert.equal(await lock.wrap(bot.click).call(bot, 3), 3);
    } finally {
      await dispose();
    }
  });

  test("wrap passes arguments through and holds the lock during the call", async () => {
    const { lock, dispose } = freshLock();
    try {
      const add = lock.wrap(async (a: number, b: number) => {
        assert.equal(lock.isLocked(), true);
        await sleep(1);
        return a + b;
      });
      assert.deepEqual(await Promise.all([add(1, 2), add(3, 4)]), [3, 7]);
      assert.equal(lock.isLocked(), false);
    } finally {
      await dispose();
    }
  });

  test("@locked runs each call of a method holding the lock, one at a time", async () => {
    const { lock, dispose } = freshLock();
    try {
      let inside = 0;
      let most = 0;
      class Bot {
        constructor(readonly name: string) {}
        @locked(lock)
        async click(n: number): Promise<string> {
          inside++;
          most = Math.max(most, inside);
          await sleep(2);
          inside--;
          return `${this.name}:${n}`;
        }
      }
      const bot = new Bot("b");
      const results = await Promise.all([1, 2, 3].map((n) => bot.click(n)));
      assert.deepEqual(results, ["b:1", "b:2", "b:3"]);
      assert.equal(most, 1);
    } finally {
      await dispose();
    }
  });
});

describe("state queries", () => {
  test("info reports the files, holder, counters and tag", async () => {
    const { lock, dispose } = freshLock({
      length: 10,
      tagName: "window focus",
    });
    try {
      const before = lock.info();
      assert.equal(before.locked, false);
      assert.equal(before.holderPid, null);
      assert.equal(before.acquisitions, 0);
      assert.equal(before.length, 10);
      assert.equal(before.path, lock.path);
      assert.equal(before.lockPath, lock.path + ".lock");

      const t0 = Date.now();
      const guard = await lock.acquire();
      const during = lock.info();
      assert.equal(during.locked, true);
      assert.equal(during.holderPid, process.pid);
      // The stamp comes from a coarse clock: it may lag by a tick (≤ 10 ms).
      const since = during.holderSince!.getTime();
      assert.ok(since >= t0 - 20 && since <= Date.now(), `since ${since}`);
      assert.equal(during.acquisitions, 1);
      assert.equal(during.tagName, "window focus");
      await guard.release();
      const after = lock.info();
      assert.equal(after.locked, false);
      assert.equal(after.holderPid, null);
      assert.equal(after.recoveries, 0);
    } finally {
      await dispose();
    }
  });

  test("isLocked sees an outside holder without taking the lock", async () => {
    const { lock, dispose } = freshLock();
    const outside = outsideHolder(lock.lockPath);
    try {
      assert.equal(lock.isLocked(), true);
      assert.equal(lock.info().locked, true);
      assert.equal(lock.info().holderPid, null);
      outside.release();
      assert.equal(lock.isLocked(), false);
    } finally {
      outside.close();
      await dispose();
    }
  });

  test("a dead holder's pid left in the header is not named while another client holds the lock", async () => {
    const { lock, dispose } = freshLock();
    try {
      await lock.run(() => {});
      // A memshare holder that died (its pid stays in the header until the
      // next memshare holder recovers), then flock(1) or Python took the lock.
      const dead = spawnSync(process.execPath, ["--version"]).pid!;
      const fd = openSync(lock.path, "r+");
      const word = new Uint8Array(4);
      new DataView(word.buffer).setInt32(0, dead, true);
      writeSync(fd, word, 0, 4, 12); // the holder word (src/engine/local/header.ts)
      closeSync(fd);
      const outside = outsideHolder(lock.lockPath);
      try {
        const info = lock.info();
        assert.equal(info.locked, true);
        assert.equal(info.holderPid, null);
        assert.equal(info.holderSince, null);
        const error = await lock.acquire({ timeout: 30 }).catch((e) => e);
        assert.ok(error instanceof LockTimeoutError, String(error));
        assert.equal(error.holderPid, null);
        assert.doesNotMatch(error.message, new RegExp(`pid ${dead}`));
      } finally {
        outside.close();
      }
      // The next memshare holder recovers the dead one's turn.
      assert.equal(await lock.run((_, guard) => guard.recovered), true);
    } finally {
      await dispose();
    }
  });
});

describe("singleton and close", () => {
  test("the same file gives the same instance; a conflicting option throws", async () => {
    const { lock, dir, dispose } = freshLock({ length: 32 });
    try {
      const name = lock.path.slice(dir.length + 1);
      const same = new MemoryShareLock(name, { length: 32, dir });
      assert.equal(same, lock);
      assert.equal(new MemoryShareLock(lock.path, { length: 32 }), lock);
      assert.throws(
        () => new MemoryShareLock(name, { length: 33, dir }),
        (e: unknown) => e instanceof TypeError && /length/.test(e.message),
      );
      assert.throws(
        () =>
          new MemoryShareLock(name, { length: 32, dir, onAcquire: () => {} }),
        (e: unknown) => e instanceof TypeError && /onAcquire/.test(e.message),
      );
      assert.throws(
        () => new MemoryShareLock(name, { length: 32, dir, timeout: 5 }),
        /timeout/,
      );
    } finally {
      await dispose();
    }
  });

  test(
    "the same file by another path (a symlinked directory) is refused at once, not waited on",
    {
      skip: process.platform === "win32" &&
        "symlinks need privileges on Windows",
    },
    async () => {
      const { lock, dir, dispose } = freshLock({ length: 8 });
      const alias = join(dir, "alias");
      symlinkSync(".", alias);
      const name = lock.path.slice(dir.length + 1);
      const other = new MemoryShareLock(name, { length: 8, dir: alias });
      try {
        assert.notEqual(other, lock); // the path differs; the file does not
        const guard = await lock.acquire();
        const isAlias = (e: unknown) =>
          e instanceof LockFileError && e.code === "EALIAS" &&
          e.path === other.lockPath && e.message.includes(lock.lockPath);
        // Without the check this blocks the thread in flock for ever.
        assert.throws(() => other.acquireSync(), isAlias);
        await assert.rejects(other.acquire(), isAlias);
        await guard.release();
        await lock.close();
        // Once the first instance is closed, the other path is usable.
        assert.equal(await other.run((memory) => memory.length), 8);
      } finally {
        await other.close();
        await dispose();
      }
    },
  );

  test("close rejects queued waiters, waits for the holder, and frees the name", async () => {
    const { lock, dir, dispose } = freshLock();
    try {
      const holder = await lock.acquire();
      const waiter = lock.acquire();
      let closed = false;
      const closing = lock.close().then(() => (closed = true));
      await assert.rejects(
        waiter,
        (e: unknown) => e instanceof LockClosedError && e.path === lock.path,
      );
      await assert.rejects(lock.acquire(), LockClosedError);
      assert.throws(() => lock.tryAcquire(), LockClosedError);
      await sleep(10);
      assert.equal(closed, false);
      holder.memory[0] = 5;
      await holder.release();
      await closing;
      assert.equal(lock.close(), lock.close());

      const name = lock.path.slice(dir.length + 1);
      const reopened = new MemoryShareLock(name, { length: 64, dir });
      assert.notEqual(reopened, lock);
      assert.equal(await reopened.run((memory) => memory[0]), 5);
      await reopened.close();
    } finally {
      await dispose();
    }
  });

  test("await using closes the lock", async () => {
    const { lock, dispose } = freshLock();
    try {
      {
        await using l = lock;
        await l.run(() => {});
      }
      await assert.rejects(lock.acquire(), LockClosedError);
    } finally {
      await dispose();
    }
  });
});

test("the tests' dispose names a guard left held instead of waiting for it forever", async () => {
  const { lock, dispose } = freshLock();
  const guard = lock.tryAcquire()!;
  try {
    // close() waits for the guard (its contract): the helper says so.
    await assert.rejects(
      closeWithin(lock, 200),
      /still waits after 200 ms: a guard of this test is still held/,
    );
  } finally {
    guard.releaseSync();
  }
  // The same close() then ends, and dispose goes through.
  await dispose();
  assert.throws(() => lock.tryAcquire(), /closed/i);
});

/**
 * Shared holds (readers): many at once, never with a writer, across tasks,
 * processes and runtimes; writers are not starved by a stream of readers;
 * a reader's writes never reach the region; flock(1) -s and Python's
 * FileLock on the same lock file; a killed reader frees its share.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import {
  type LockGuard,
  LockHeldError,
  LockTimeoutError,
  MemoryShareLock,
} from "../mod.ts";
import { currentPlatform } from "../src/ffi/current.ts";
import {
  type Child,
  EMULATED,
  posixOnly,
  READY_MS,
  reap,
  run,
  sleep,
  start,
  startFixture,
  tempDir,
  WINDOWS,
} from "./helpers.ts";
import { freshLock, outsideCanLock } from "./lock_helpers.ts";

const FLOCK = "/usr/bin/flock";
const PYTHON = "/usr/bin/python3";
// Control words, as tests/fixtures/reader_writer.ts writes them (1: writers in).
const [READERS, MOST, VIOLATIONS, STOP, STREAMED] = [0, 2, 3, 4, 5];
const CHILD_MS = EMULATED ? 300_000 : 60_000;

const u32 = (memory: Uint8Array, at = 0) =>
  new DataView(memory.buffer, memory.byteOffset).getUint32(at, true);

/** A control file the children count themselves in (see fixtures/reader_writer.ts), mapped here too. */
function controlFile(dir: string): {
  path: string;
  words: Int32Array;
  close: () => void;
} {
  const path = join(dir, "control");
  writeFileSync(path, new Uint8Array(64), { mode: 0o600 });
  const platform = currentPlatform();
  const fd = platform.openFile(path, false, 0o600);
  const mapping = platform.map(fd, 64);
  const words = new Int32Array(mapping.buffer(0, 64));
  return {
    path,
    words,
    close() {
      (words.buffer as ArrayBuffer).transfer(0);
      platform.unmap(mapping);
      platform.close(fd);
    },
  };
}

async function finished(child: Child): Promise<{ holds: number }> {
  const { code, signal } = await child.exited;
  assert.equal(code, 0, `child exited ${code ?? signal}: ${child.stderr()}`);
  return JSON.parse(child.stdout().trim().split("\n").at(-1)!);
}

async function until(check: () => boolean, ms: number, what: string) {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

describe("shared holds in one realm", () => {
  test("readers overlap, a writer waits for all of them, and a reader's writes never reach the region", async () => {
    const { lock, dispose } = freshLock({ length: 8 });
    try {
      await lock.run((memory) => memory.set([1, 2, 3]));
      const a = await lock.acquireShared();
      const b = lock.acquireSharedSync({ timeout: 1_000 });
      assert.deepEqual([...a.memory.subarray(0, 3)], [1, 2, 3]);
      a.memory[0] = 99; // its own copy
      assert.equal(b.memory[0], 1);
      assert.equal(lock.isLocked(), false, "readers are not the lock's holder");
      assert.equal(lock.tryAcquire(), null);
      assert.equal(outsideCanLock(lock.lockPath), false);
      const info = lock.info();
      assert.equal(info.readers, 1);
      assert.deepEqual(info.readerPids, [process.pid]);
      assert.equal(info.locked, false);

      let wrote = false;
      const writer = lock.acquire().then((guard) => {
        wrote = true;
        return guard;
      });
      await a.release();
      await sleep(30);
      assert.equal(wrote, false, "the writer went in while a reader held");
      b.releaseSync();
      const guard = await writer;
      assert.equal(
        a.memory.length,
        0,
        "a released reader's memory is detached",
      );
      assert.deepEqual([...guard.memory.subarray(0, 3)], [1, 2, 3]);
      await guard.release();
      assert.equal(lock.info().readers, 0);
      assert.deepEqual(lock.info().readerPids, []);
    } finally {
      await dispose();
    }
  });

  test("a queued writer goes before readers that come after it", async () => {
    const { lock, dispose } = freshLock({ length: 8 });
    try {
      const order: string[] = [];
      const first = await lock.acquireShared();
      const writer = lock.acquire().then(async (guard) => {
        order.push("writer");
        await sleep(20);
        await guard.release();
      });
      assert.equal(lock.tryAcquireShared(), null, "a reader jumped the writer");
      const late = lock.acquireShared().then(async (guard) => {
        order.push("late reader");
        await guard.release();
      });
      await sleep(20);
      assert.deepEqual(order, []);
      await first.release();
      await Promise.all([writer, late]);
      assert.deepEqual(order, ["writer", "late reader"]);
    } finally {
      await dispose();
    }
  });

  test("timeouts, aborts and misuse: shared waits leave nothing held", async () => {
    const { lock, dispose } = freshLock({ length: 8 });
    try {
      const held = await lock.acquire();
      await assert.rejects(
        lock.acquireShared({ timeout: 30 }),
        LockTimeoutError,
      );
      const controller = new AbortController();
      const aborted = lock.acquireShared({ signal: controller.signal });
      controller.abort(new Error("stop"));
      await assert.rejects(aborted, /stop/);
      assert.throws(() => lock.acquireSharedSync(), LockHeldError);
      assert.equal(lock.tryAcquireShared(), null);
      await held.release();
      const reader = lock.tryAcquireShared()!;
      assert.throws(() => lock.acquireSync(), LockHeldError);
      assert.throws(
        // @ts-expect-error: a misspelt option
        () => lock.acquireSharedSync({ timout: 5 }),
        /timout/,
      );
      await assert.rejects(
        // @ts-expect-error: a Python option name
        lock.acquireShared({ blocking: false }),
        TypeError,
      );
      reader.releaseSync();
      reader.releaseSync(); // idempotent
      const guard = lock.tryAcquire();
      assert.ok(guard !== null, "a failed shared wait left something held");
      guard.releaseSync();
    } finally {
      await dispose();
    }
  });

  test("close waits for readers", async () => {
    const { lock, dispose } = freshLock({ length: 8 });
    const reader = await lock.acquireShared();
    let closed = false;
    const closing = lock.close().then(() => (closed = true));
    await sleep(20);
    assert.equal(closed, false);
    await reader.release();
    await closing;
    assert.equal(closed, true);
    await dispose();
  });
});

describe("shared holds across processes", {
  skip: WINDOWS
    ? "children with piped stdio make Deno under Wine panic (see scripts/test-windows.sh)"
    : false,
}, () => {
  test(
    "Deno and Bun readers overlap; writers never overlap anyone; no update is lost",
    {
      timeout: CHILD_MS,
    },
    async () => {
      const dir = tempDir();
      const control = controlFile(dir.path);
      const children: Child[] = [];
      const lock = new MemoryShareLock("rw", { length: 16, dir: dir.path });
      // Held while the children start, so they all begin together (under
      // qemu they come up seconds apart and readers would never meet).
      let gate: LockGuard | null = lock.acquireSync();
      try {
        const spawn = (
          runtime: "deno" | "bun",
          role: string,
          n: number,
          hold: number,
          api: string,
        ) =>
          children.push(
            startFixture(runtime, "reader_writer.ts", [
              role,
              "rw",
              dir.path,
              control.path,
              String(n),
              String(hold),
              api,
            ]),
          );
        spawn("deno", "reader", 40, 3, "async");
        spawn("bun", "reader", 40, 3, "async");
        spawn("deno", "reader", 40, 3, "sync");
        spawn("bun", "reader", 40, 3, "sync");
        spawn("deno", "writer", 30, 1, "async");
        spawn("bun", "writer", 30, 1, "sync");
        await Promise.all(children.map((child) => child.waitFor("ready")));
        await sleep(EMULATED ? 3_000 : 200);
        gate.releaseSync();
        gate = null;
        const results = await Promise.all(children.map(finished));
        assert.deepEqual(results.map((r) => r.holds), [40, 40, 40, 40, 30, 30]);
        assert.equal(Atomics.load(control.words, VIOLATIONS), 0);
        assert.ok(
          Atomics.load(control.words, MOST) >= 2,
          `readers never overlapped (most at once: ${
            Atomics.load(control.words, MOST)
          })`,
        );
        const guard = lock.acquireSync({ timeout: 5_000 });
        assert.equal(u32(guard.memory), 60);
        assert.notEqual(
          guard.memory[8],
          0xee,
          "a reader's write reached the region",
        );
        guard.releaseSync();
      } finally {
        gate?.releaseSync();
        await reap(children);
        await lock.close();
        control.close();
        dir.remove();
      }
    },
  );

  test(
    "a writer is served while readers keep coming; Python's FileLock (no header) is starved: the control",
    {
      ...posixOnly("Python filelock is the POSIX control"),
      timeout: CHILD_MS,
    },
    async () => {
      const dir = tempDir();
      const control = controlFile(dir.path);
      const children: Child[] = [];
      const lock = new MemoryShareLock("stream", { length: 16, dir: dir.path });
      try {
        lock.acquireSync().releaseSync(); // files exist for Python
        // Holds of 60 ms from four streamers overlap with room to spare even
        // when each turn costs milliseconds (under qemu): with 20 ms holds
        // from three, Python once found a moment with no reader there.
        for (const runtime of ["deno", "bun", "deno", "bun"] as const) {
          children.push(
            startFixture(runtime, "reader_writer.ts", [
              "stream",
              "stream",
              dir.path,
              control.path,
              "0",
              "60",
              "async",
            ]),
          );
        }
        await until(
          () => Atomics.load(control.words, STREAMED) >= 15,
          READY_MS,
          "the readers to stream",
        );
        // The control: a writer that does not use the header waits for a
        // moment when no reader holds, which a stream of readers never leaves.
        // Not under qemu: there a reader's turn between holds can take
        // longer than the overlap, and Python once got in (the memshare
        // writer's part below still runs there).
        if (!EMULATED) {
          const python = await run(PYTHON, [
            "-c",
            "import sys, filelock\ntry:\n    filelock.FileLock(sys.argv[1]).acquire(timeout=1)\nexcept filelock.Timeout:\n    sys.exit(3)\n",
            lock.lockPath,
          ]);
          assert.equal(python.code, 3, `python got the lock: ${python.stderr}`);
        }
        // memshare's writer marks itself waiting; new readers queue behind it.
        const started = Date.now();
        const guard = await lock.acquire({ timeout: 10_000 });
        const waited = Date.now() - started;
        assert.equal(Atomics.load(control.words, READERS), 0);
        await guard.release();
        assert.ok(waited < 5_000, `the writer waited ${waited} ms`);
        Atomics.store(control.words, STOP, 1);
        await Promise.all(children.map(finished));
        assert.equal(Atomics.load(control.words, VIOLATIONS), 0);
      } finally {
        Atomics.store(control.words, STOP, 1);
        await reap(children);
        await lock.close();
        control.close();
        dir.remove();
      }
    },
  );

  test(
    "a reader killed while holding frees its share, sets no recovered, and leaves the list",
    {
      ...posixOnly("SIGKILL"),
      timeout: CHILD_MS,
    },
    async () => {
      const dir = tempDir();
      const control = controlFile(dir.path);
      const lock = new MemoryShareLock("killed", { length: 16, dir: dir.path });
      const children: Child[] = [];
      try {
        const child = startFixture("bun", "reader_writer.ts", [
          "reader",
          "killed",
          dir.path,
          control.path,
          "1",
          "600000",
          "async",
        ]);
        children.push(child);
        await until(
          () => Atomics.load(control.words, READERS) === 1,
          READY_MS,
          "the reader to hold",
        );
        const info = lock.info();
        assert.equal(info.readers, 1);
        assert.deepEqual(info.readerPids, [child.process.pid]);
        await assert.rejects(lock.acquire({ timeout: 50 }), LockTimeoutError);
        child.process.kill("SIGKILL");
        await child.exited;
        const guard = await lock.acquire({ timeout: 5_000 });
        assert.equal(guard.recovered, false);
        await guard.release();
        assert.equal(lock.info().readers, 0);
      } finally {
        await reap(children);
        await lock.close();
        control.close();
        dir.remove();
      }
    },
  );

  test(
    "info() names a memshare holder as soon as it holds (never locked with no holder)",
    {
      timeout: CHILD_MS,
    },
    async () => {
      const dir = tempDir();
      const control = controlFile(dir.path);
      const lock = new MemoryShareLock("named", { length: 16, dir: dir.path });
      const children: Child[] = [];
      try {
        lock.acquireSync().releaseSync();
        for (const runtime of ["deno", "bun"] as const) {
          children.push(
            startFixture(runtime, "reader_writer.ts", [
              "writer",
              "named",
              dir.path,
              control.path,
              "400",
              "0",
              "sync",
            ]),
          );
        }
        const pids = children.map((child) => child.process.pid);
        let lockedSeen = 0;
        let unnamed = 0;
        const deadline = Date.now() + 30_000;
        while (
          children.some((child) => child.process.exitCode === null) &&
          Date.now() < deadline
        ) {
          const info = lock.info();
          if (info.locked) {
            lockedSeen++;
            if (info.holderPid === null) unnamed++;
            else assert.ok(pids.includes(info.holderPid), `${info.holderPid}`);
          }
          await sleep(0);
        }
        await Promise.all(children.map(finished));
        assert.ok(lockedSeen > 0, "info() never saw the lock held");
        // info() looks again for up to 50 ms while the lock is held and
        // nobody is named. Under qemu a holder can be descheduled longer
        // than that between its flock and naming itself (seen: 1 look in
        // a few hundred), so there a rare miss is allowed; natively none.
        const allowed = EMULATED ? Math.floor(lockedSeen / 50) : 0;
        assert.ok(
          unnamed <= allowed,
          `${unnamed} of ${lockedSeen} looks named nobody (allowed: ${allowed})`,
        );
      } finally {
        await reap(children);
        await lock.close();
        control.close();
        dir.remove();
      }
    },
  );
});

describe("shared holds and other clients of the lock file", {
  ...posixOnly("flock(1) and Python"),
}, () => {
  test("a `flock -s` holder coexists with readers and keeps writers out", {
    timeout: 30_000,
  }, async () => {
    const { lock, dispose } = freshLock({ length: 8 });
    const children: Child[] = [];
    try {
      lock.acquireSync().releaseSync();
      const holder = start(FLOCK, [
        "-s",
        "-o",
        lock.lockPath,
        "sh",
        "-c",
        "echo locked; exec cat",
      ]);
      children.push(holder);
      await holder.waitFor("locked");
      const reader = await lock.acquireShared({ timeout: 1_000 });
      await reader.release();
      await assert.rejects(lock.acquire({ timeout: 100 }), LockTimeoutError);
      holder.process.stdin!.end();
      await holder.exited;
      const guard = await lock.acquire({ timeout: 2_000 });
      // While we read, `flock -x -n` (an exclusive outsider) is refused.
      await guard.release();
      const shared = await lock.acquireShared();
      const outsider = await run(FLOCK, ["-x", "-n", lock.lockPath, "true"]);
      assert.notEqual(outsider.code, 0, "flock -x got in beside a reader");
      const sharer = await run(FLOCK, ["-s", "-n", lock.lockPath, "true"]);
      assert.equal(sharer.code, 0, "flock -s was kept out by a reader");
      await shared.release();
    } finally {
      await reap(children);
      await dispose();
    }
  });

  test("Python's FileLock excludes readers, and readers exclude it", {
    timeout: 30_000,
  }, async () => {
    const { lock, dispose } = freshLock({ length: 8 });
    const children: Child[] = [];
    try {
      lock.acquireSync().releaseSync();
      const holder = start(PYTHON, [
        "-c",
        'import sys, filelock\nlock = filelock.FileLock(sys.argv[1])\nlock.acquire(timeout=10)\nprint("held", flush=True)\nsys.stdin.read()\n',
        lock.lockPath,
      ]);
      children.push(holder);
      await holder.waitFor("held");
      assert.equal(lock.tryAcquireShared(), null);
      await assert.rejects(
        lock.acquireShared({ timeout: 100 }),
        LockTimeoutError,
      );
      holder.process.stdin!.end();
      await holder.exited;
      const reader = await lock.acquireShared({ timeout: 2_000 });
      const python = await run(PYTHON, [
        "-c",
        "import sys, filelock\ntry:\n    filelock.FileLock(sys.argv[1]).acquire(timeout=0.2)\nexcept filelock.Timeout:\n    sys.exit(3)\n",
        lock.lockPath,
      ]);
      assert.equal(
        python.code,
        3,
        `python got in beside a reader: ${python.stderr}`,
      );
      await reader.release();
    } finally {
      await reap(children);
      await dispose();
    }
  });
});

/**
 * Outside clients of the same lock file (`NAME.lock`): `flock(1)` and
 * Python's `filelock.FileLock`, the module memshare replaces. Each must
 * exclude us and be excluded by us, in both directions, and Python's habit
 * of truncating the lock file must not touch our data (it lives in the
 * separate data file).
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, statSync } from "node:fs";
import { LockTimeoutError, MemoryShareLock } from "../mod.ts";
import { currentPlatform } from "../src/ffi/current.ts";
import { HEADER_SIZE } from "../src/engine/local/header.ts";
import { type Child, reap, run, sleep, start, tempDir } from "./helpers.ts";

const FLOCK = "/usr/bin/flock";
/** Debian's python with python3-filelock; `python3` on PATH may be a pyenv without it. */
const PYTHON = "/usr/bin/python3";
const LENGTH = 16;

/**
 * Holds `FileLock(argv[1])` until stdin says otherwise: `release` releases
 * (and keeps running), `exit` exits at once without releasing (the OS must
 * drop the lock), end of stdin exits normally.
 */
const PYTHON_HOLDER = `
import os, sys, filelock
lock = filelock.FileLock(sys.argv[1])
lock.acquire(timeout=10)
print("held", flush=True)
for line in sys.stdin:
    command = line.strip()
    if command == "release":
        lock.release()
        print("released", flush=True)
    elif command == "exit":
        os._exit(0)
`;

/** One try at `FileLock(argv[1])` with a 0.2 s timeout: exit 0 = got it, 3 = Timeout. */
const PYTHON_TRY = `
import sys, filelock
try:
    filelock.FileLock(sys.argv[1]).acquire(timeout=0.2)
except filelock.Timeout:
    sys.exit(3)
`;

/** A lock in a fresh directory whose files already exist (one acquire/release done). */
function preparedLock(): {
  lock: MemoryShareLock;
  dispose: () => Promise<void>;
} {
  const dir = tempDir();
  const lock = new MemoryShareLock("shared", { length: LENGTH, dir: dir.path });
  lock.acquireSync().releaseSync();
  return {
    lock,
    dispose: async () => {
      await lock.close();
      dir.remove();
    },
  };
}

/** Asserts that we cannot take `lock` now: tryAcquire gives null, acquire times out. */
async function assertExcluded(lock: MemoryShareLock): Promise<void> {
  assert.equal(lock.tryAcquire(), null);
  const error = await lock.acquire({ timeout: 200 }).then(
    () =>
      assert.fail("acquire succeeded while an outside client held the lock"),
    (e: unknown) => e,
  );
  assert.ok(error instanceof LockTimeoutError, String(error));
  // An outside client writes no header: the holder is unknown, not stale.
  assert.equal(error.holderPid, null);
  const info = lock.info();
  assert.equal(info.locked, true);
  assert.equal(info.holderPid, null);
  assert.equal(lock.isLocked(), true);
}

describe("flock(1) on the same lock file", () => {
  /** Fails the test with a clear message when flock(1) is missing. */
  function requireFlock(): void {
    assert.ok(existsSync(FLOCK), `${FLOCK} is missing: install util-linux`);
  }

  test("a flock(1) holder excludes us until it is killed", {
    timeout: 30_000,
  }, async () => {
    requireFlock();
    const { lock, dispose } = preparedLock();
    const children: Child[] = [];
    try {
      // -o: the command does not inherit the locked fd (by default it
      // does, and killing flock alone would leave `sleep`/`cat` holding the
      // lock). The command prints once flock holds the lock.
      const holder = start(FLOCK, [
        "-o",
        lock.lockPath,
        "sh",
        "-c",
        "echo locked; exec cat",
      ]);
      children.push(holder);
      await holder.waitFor("locked");
      await assertExcluded(lock);

      holder.process.kill("SIGKILL");
      const guard = await lock.acquire({ timeout: 5_000 });
      assert.equal(guard.recovered, false);
      // `cat` (flock's command) exits when its stdin closes.
      holder.process.stdin!.end();
      await holder.exited;
      await guard.release();
    } finally {
      await reap(children);
      await dispose();
    }
  });

  test("while we hold the lock `flock -n` fails; after release it succeeds", {
    timeout: 30_000,
  }, async () => {
    requireFlock();
    const { lock, dispose } = preparedLock();
    try {
      const guard = await lock.acquire();
      const busy = await run(FLOCK, ["-n", lock.lockPath, "true"]);
      assert.notEqual(busy.code, 0, "flock -n got the lock we hold");
      assert.equal(busy.signal, null);
      // A blocking flock(1) with a timeout gives up too (exit 1 by default).
      const timed = await run(FLOCK, ["-w", "0.2", lock.lockPath, "true"]);
      assert.equal(timed.code, 1);
      await guard.release();

      const free = await run(FLOCK, ["-n", lock.lockPath, "true"]);
      assert.equal(free.code, 0, free.stderr);
    } finally {
      await dispose();
    }
  });
});

describe("Python filelock.FileLock on the same lock file", () => {
  /** Fails the test with a clear message when Debian's python3-filelock is missing. */
  async function requireFilelock(): Promise<void> {
    assert.ok(
      existsSync(PYTHON),
      `${PYTHON} is missing: install python3 and python3-filelock`,
    );
    const probe = await run(PYTHON, ["-c", "import filelock"]);
    assert.equal(
      probe.code,
      0,
      `${PYTHON} cannot import filelock (install Debian's python3-filelock; CI does): ${probe.stderr}`,
    );
  }

  test(
    "a Python holder excludes us; when it releases, we get the lock and our data is intact",
    {
      timeout: 30_000,
    },
    async () => {
      await requireFilelock();
      const { lock, dispose } = preparedLock();
      const children: Child[] = [];
      try {
        const mine = lock.acquireSync();
        mine.memory.set([1, 2, 3, 4, 5, 6, 7, 8]);
        mine.releaseSync();

        const holder = start(PYTHON, ["-c", PYTHON_HOLDER, lock.lockPath]);
        children.push(holder);
        await holder.waitFor("held");
        await assertExcluded(lock);

        // A waiter queued now gets the lock as soon as Python lets go.
        let settled = false;
        const waiting = lock.acquire({ timeout: 15_000 }).finally(() => {
          settled = true;
        });
        await sleep(100);
        assert.equal(settled, false, "got the lock while Python held it");
        holder.process.stdin!.write("release\n");
        const guard = await waiting;
        assert.equal(guard.recovered, false);
        // Python truncated the lock file (O_TRUNC); the data file is untouched.
        assert.deepEqual([...guard.memory.subarray(0, 8)], [
          1,
          2,
          3,
          4,
          5,
          6,
          7,
          8,
        ]);
        assert.equal(statSync(lock.lockPath).size, 0);
        assert.equal(statSync(lock.path).size, HEADER_SIZE + LENGTH);
        await guard.release();
        holder.process.stdin!.end();
        assert.equal((await holder.exited).code, 0, holder.stderr());
      } finally {
        await reap(children);
        await dispose();
      }
    },
  );

  test("a Python holder that exits without releasing frees the lock", {
    timeout: 30_000,
  }, async () => {
    await requireFilelock();
    const { lock, dispose } = preparedLock();
    const children: Child[] = [];
    try {
      const holder = start(PYTHON, ["-c", PYTHON_HOLDER, lock.lockPath]);
      children.push(holder);
      await holder.waitFor("held");
      assert.equal(lock.tryAcquire(), null);
      holder.process.stdin!.write("exit\n");
      assert.equal((await holder.exited).code, 0, holder.stderr());
      const guard = lock.tryAcquire();
      assert.ok(guard !== null, "the lock is still held after Python exited");
      // Python never wrote a header: this is not a memshare recovery.
      assert.equal(guard.recovered, false);
      guard.releaseSync();
    } finally {
      await reap(children);
      await dispose();
    }
  });

  test(
    "while we hold the lock Python's acquire times out; after release it succeeds",
    {
      timeout: 30_000,
    },
    async () => {
      await requireFilelock();
      const { lock, dispose } = preparedLock();
      try {
        const guard = await lock.acquire();
        guard.memory.set([9, 8, 7, 6]);
        const busy = await run(PYTHON, ["-c", PYTHON_TRY, lock.lockPath]);
        assert.equal(busy.code, 3, `python: ${busy.stderr}`);
        // Python's failed attempt truncated and closed the lock file: we
        // still hold the lock, and our data is where we left it.
        assert.equal(lock.info().holderPid, currentPlatform().pid());
        const still = await run(FLOCK, ["-n", lock.lockPath, "true"]);
        assert.notEqual(still.code, 0, "the lock was lost when Python gave up");
        assert.deepEqual([...guard.memory.subarray(0, 4)], [9, 8, 7, 6]);
        await guard.release();

        const free = await run(PYTHON, ["-c", PYTHON_TRY, lock.lockPath]);
        assert.equal(free.code, 0, `python: ${free.stderr}`);
        const again = lock.tryAcquire();
        assert.ok(again !== null);
        assert.deepEqual([...again.memory.subarray(0, 4)], [9, 8, 7, 6]);
        again.releaseSync();
      } finally {
        await dispose();
      }
    },
  );
});

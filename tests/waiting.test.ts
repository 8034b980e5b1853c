/**
 * Waiting at scale: one OS-level sleeper per realm however many tasks and
 * locks wait (Deno's FFI pool is shared with file I/O and has ~32 threads),
 * and a wait in flight never keeps a finished script alive.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync, rmSync, statSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { MemoryShareLock } from "../mod.ts";
import { currentPlatform } from "../src/ffi/current.ts";
import type { Platform } from "../src/ffi/platform.ts";
import {
  WAITERS_WORD,
  WAKE_PENDING_WORD,
  WAKE_WORD,
} from "../src/engine/local/header.ts";
import { resolvePaths } from "../src/engine/local/paths.ts";
import { SharedFiles } from "../src/engine/local/shared_files.ts";
import { WaitLoop } from "../src/engine/local/wait_loop.ts";
import { Waiting } from "../src/engine/local/wake.ts";
import {
  fixture,
  posixOnly,
  run,
  RUNTIME,
  runtimeBinary,
  runtimeCommand,
  sleep,
  start,
  startFixture,
  tempDir,
} from "./helpers.ts";
import { outsideCanLock, outsideHolder } from "./lock_helpers.ts";

test("500 pending acquires on 50 held locks: one sleeper, and file I/O stays prompt", async () => {
  const platform = currentPlatform();
  const dir = tempDir();
  const locks = Array.from(
    { length: 50 },
    (_, i) => new MemoryShareLock(`l${i}`, { length: 8, dir: dir.path }),
  );
  const holders: ReturnType<typeof outsideHolder>[] = [];
  const waitAny = platform.waitAny;
  let inFlight = 0;
  let most = 0;
  let sleeps = 0;
  (platform as { waitAny: typeof waitAny }).waitAny = async (waits, ms) => {
    inFlight++;
    sleeps++;
    most = Math.max(most, inFlight);
    try {
      await waitAny.call(platform, waits, ms);
    } finally {
      inFlight--;
    }
  };
  try {
    for (const lock of locks) await lock.run(() => {}); // create the files: waits use wake words
    for (const lock of locks) holders.push(outsideHolder(lock.lockPath));
    const pending = locks.flatMap((lock) =>
      Array.from({ length: 10 }, () => lock.run((memory) => void memory[0]++))
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
    const start = performance.now();
    await readFile(join(dir.path, "l0"));
    const read = performance.now() - start;
    assert.ok(read < 1_000, `an unrelated file read took ${read} ms`);
    assert.equal(most, 1, "at most one OS-level wait in flight in this realm");
    assert.ok(sleeps >= 1, "the waiters sleep in the kernel");
    for (const holder of holders) holder.release();
    await Promise.all(pending);
    for (const lock of locks) {
      assert.equal(await lock.run((memory) => memory[0]), 10);
    }
  } finally {
    (platform as { waitAny: typeof waitAny }).waitAny = waitAny;
    for (const holder of holders) holder.close();
    for (const lock of locks) await lock.close();
    dir.remove();
  }
});

test(
  "a script whose wait timed out exits at once, not after a sleep in flight",
  posixOnly("uses flock(1)"),
  async () => {
    const dir = tempDir();
    try {
      const lock = new MemoryShareLock("busy", { length: 8, dir: dir.path });
      await lock.run(() => {}); // the data file exists: the child sleeps on the wake word
      await lock.close();
      const holder = runtimeCommand(RUNTIME, fixture("attempt.ts"), [
        "busy",
        dir.path,
        "200",
      ]);
      const flock = await import("node:child_process").then((cp) =>
        cp.spawn("flock", ["-o", join(dir.path, "busy.lock"), "cat"], {
          stdio: ["pipe", "ignore", "ignore"],
        })
      );
      try {
        await new Promise((resolve) => setTimeout(resolve, 200));
        const start = performance.now();
        const result = await run(...holder);
        const took = performance.now() - start;
        assert.equal(
          JSON.parse(result.stdout.trim()).error,
          "LockTimeoutError",
          result.stdout + result.stderr,
        );
        // Start-up (well under 2 s here) + the 200 ms timeout + at most one 10 ms slice.
        assert.ok(took < 5_000, `the child took ${took} ms`);
      } finally {
        flock.stdin!.end(); // cat ends, flock exits and its lock goes
        flock.kill();
      }
    } finally {
      dir.remove();
    }
  },
);

/** Whether /proc/locks lists `pid` blocked ("->") on an exclusive flock of inode `ino`. */
function blockedInFlock(pid: number, ino: number): boolean {
  return readFileSync("/proc/locks", "utf8").split("\n").some((line) => {
    const m = /->\s+FLOCK\s+\S+\s+WRITE\s+(\d+)\s+[0-9a-f]+:[0-9a-f]+:(\d+)\s/
      .exec(line);
    return m !== null && Number(m[1]) === pid && Number(m[2]) === ino;
  });
}

/** Waits (up to 20 s) until `pid` is blocked in flock on inode `ino`. */
async function untilBlockedInFlock(pid: number, ino: number): Promise<void> {
  const deadline = performance.now() + 20_000;
  while (!blockedInFlock(pid, ino)) {
    assert.ok(
      performance.now() < deadline,
      `pid ${pid} never blocked in flock on inode ${ino}: ${
        readFileSync("/proc/locks")
      }`,
    );
    await sleep(20);
  }
}

const NEEDS_PROC_LOCKS = {
  skip: existsSync("/proc/locks") ? false : "needs Linux /proc/locks",
};

test(
  "acquireSync without a deadline queues in the kernel's flock; an outside release hands over",
  NEEDS_PROC_LOCKS,
  async () => {
    const dir = tempDir();
    try {
      const lock = new MemoryShareLock("queued", { length: 16, dir: dir.path });
      await lock.run(() => {});
      await lock.close();
      const lockPath = join(dir.path, "queued.lock");
      const holder = outsideHolder(lockPath);
      const child = startFixture(RUNTIME, "acquire_sync.ts", [
        "queued",
        dir.path,
      ]);
      try {
        await child.waitFor("waiting");
        await untilBlockedInFlock(child.process.pid!, statSync(lockPath).ino);
        holder.release();
        await child.waitFor("acquired", 20_000);
        assert.equal((await child.exited).code, 0, child.stderr());
        const check = new MemoryShareLock("queued", {
          length: 16,
          dir: dir.path,
        });
        assert.equal(await check.run((memory) => memory[0]), 1);
        await check.close();
      } finally {
        holder.close();
        child.process.kill();
      }
    } finally {
      dir.remove();
    }
  },
);

test(
  "queued in flock on a lock file that is then replaced, acquireSync moves to the new file and waits for its holder",
  NEEDS_PROC_LOCKS,
  async () => {
    const dir = tempDir();
    try {
      const lock = new MemoryShareLock("moved", { length: 16, dir: dir.path });
      await lock.run(() => {});
      await lock.close();
      const lockPath = join(dir.path, "moved.lock");
      const oldHolder = outsideHolder(lockPath);
      const child = startFixture(RUNTIME, "acquire_sync.ts", [
        "moved",
        dir.path,
      ]);
      let newHolder: ReturnType<typeof outsideHolder> | undefined;
      try {
        await child.waitFor("waiting");
        const oldIno = statSync(lockPath).ino;
        await untilBlockedInFlock(child.process.pid!, oldIno);
        // A tmp cleaner deletes the lock file; Python's filelock makes a new
        // one and holds it. Then the old holder leaves.
        rmSync(lockPath);
        newHolder = outsideHolder(lockPath);
        const newIno = statSync(lockPath).ino;
        await sleep(150); // past the 100 ms path-check interval
        oldHolder.release();
        // Handed the old file, the child must see it is no longer the one at
        // the path, and queue on the new one instead of entering.
        await untilBlockedInFlock(child.process.pid!, newIno);
        await sleep(200);
        assert.ok(
          !child.stdout().includes("acquired"),
          "entered while the new lock file was held",
        );
        newHolder.release();
        await child.waitFor("acquired", 20_000);
        assert.equal((await child.exited).code, 0, child.stderr());
      } finally {
        oldHolder.close();
        newHolder?.close();
        child.process.kill();
      }
    } finally {
      dir.remove();
    }
  },
);

test("a waiter leaving without the lock passes a pending wake-up on; one that took it does not", () => {
  const dir = tempDir();
  const real = currentPlatform();
  let wakes = 0;
  const platform: Platform = {
    ...real,
    wake(mapping, offset) {
      wakes++;
      real.wake(mapping, offset);
    },
  };
  const paths = resolvePaths(
    "passon",
    dir.path,
    real.path,
    () => real.cwd(),
    () => real.defaultDirectory(),
  );
  const files = new SharedFiles(platform, paths, 8, 0o600, "passon");
  try {
    files.openLock(true);
    assert.equal(platform.tryLock(files.lockHandle), true);
    const words = files.mapData().words;
    platform.unlock(files.lockHandle);

    const leave = (took: boolean, othersWaiting: number) => {
      Atomics.store(words, WAITERS_WORD, othersWaiting);
      const waiting = new Waiting(files, platform, () => {});
      waiting.prepare(); // counts us, re-arms the pending flag
      // A releaser saw waiters and woke one — perhaps us.
      Atomics.store(words, WAKE_PENDING_WORD, 1);
      const sequence = Atomics.load(words, WAKE_WORD);
      wakes = 0;
      waiting.stop(took);
      return {
        wakes,
        bumped: Atomics.load(words, WAKE_WORD) !== sequence,
        pending: Atomics.load(words, WAKE_PENDING_WORD),
        waiters: Atomics.load(words, WAITERS_WORD),
      };
    };
    // Timed out or aborted with another process waiting: it gets the wake.
    assert.deepEqual(leave(false, 1), {
      wakes: 1,
      bumped: true,
      pending: 1,
      waiters: 1,
    });
    // Took the lock: waking another would only make it fail; re-arm instead.
    assert.deepEqual(leave(true, 1), {
      wakes: 0,
      bumped: false,
      pending: 0,
      waiters: 1,
    });
    // Nobody else waits: nothing to pass on.
    assert.deepEqual(leave(false, 0), {
      wakes: 0,
      bumped: false,
      pending: 0,
      waiters: 0,
    });
  } finally {
    files.close();
    dir.remove();
  }
});

test(
  "a Worker terminated while waiting in acquireSync never takes the lock",
  {
    // Measured: Deno's terminate() does not stop a Worker whose JavaScript
    // keeps calling FFI functions (a loop of FFI usleep() calls runs on), so
    // there no wait in a Worker, polling or blocking, can be cut short.
    skip: RUNTIME === "deno" &&
      "Deno cannot terminate a Worker that is calling FFI functions",
  },
  async () => {
    const dir = tempDir();
    try {
      const lock = new MemoryShareLock("worker", { length: 16, dir: dir.path });
      await lock.run(() => {});
      await lock.close();
      const lockPath = join(dir.path, "worker.lock");
      const holder = outsideHolder(lockPath);
      try {
        const worker = new Worker(
          new URL("./fixtures/worker_acquire_sync.ts", import.meta.url).href,
          { type: "module" },
        );
        const messages: string[] = [];
        const waiting = new Promise<void>((resolve) => {
          worker.onmessage = ({ data }) => {
            messages.push(data);
            if (data === "waiting") resolve();
          };
        });
        worker.postMessage({ name: "worker", dir: dir.path });
        await waiting;
        await sleep(300); // well inside acquireSync()
        worker.terminate();
        holder.release();
        await sleep(500);
        // Blocked in the kernel's flock, it would have been handed the lock
        // with no JavaScript left to release it.
        assert.ok(
          outsideCanLock(lockPath),
          "the terminated Worker holds the lock",
        );
        assert.deepEqual(messages, ["waiting"]);
      } finally {
        holder.close();
      }
    } finally {
      dir.remove();
    }
  },
);

/**
 * Runs a wait loop for `ms` with one sleeper over a platform whose sleep is
 * `waitAny`; counts the sleeper's retries and the sleeps started.
 */
async function loopWith(
  waitAny: () => Promise<void>,
  ms: number,
): Promise<{ retries: number; sleeps: number; afterwards: number }> {
  let sleeps = 0;
  const platform: Platform = {
    ...currentPlatform(),
    wakeups: true,
    waitAny() {
      sleeps++;
      return waitAny();
    },
    interruptWait() {},
  };
  const loop = new WaitLoop(platform);
  let retries = 0;
  const sleeper = { word: null, retry: () => void retries++ };
  loop.add(sleeper);
  await sleep(ms);
  loop.remove(sleeper);
  const left = retries;
  await sleep(100);
  return { retries: left, sleeps, afterwards: retries - left };
}

test("waiters retry every slice even when the off-thread sleep never returns (busy FFI pool, Worker missing from a bundle)", async () => {
  const { retries, sleeps, afterwards } = await loopWith(
    () => new Promise<void>(() => {}), // queued behind other calls for ever
    300,
  );
  // One retry per slice (10 ms) plus the grace: ~20 in 300 ms; before, none.
  assert.ok(retries >= 8, `${retries} retries in 300 ms`);
  assert.equal(sleeps, 1, "no second sleep while the first is in flight");
  assert.ok(afterwards <= 1, "the loop stops when nobody waits");
});

test("a sleep that fails, or throws at once (its Worker cannot start), still takes its slice: no busy loop", async () => {
  for (
    const waitAny of [
      () => Promise.reject(new Error("broken")),
      () => {
        throw new Error("no Worker");
      },
    ]
  ) {
    const { retries, sleeps } = await loopWith(waitAny, 200);
    assert.ok(retries >= 5 && retries <= 40, `${retries} retries in 200 ms`);
    assert.ok(sleeps <= retries + 1, `${sleeps} sleeps`);
  }
});

test(
  "a Bun bundle, which does not carry the wait Worker's file, still gets the lock soon after the release",
  {
    skip: (RUNTIME !== "bun" || process.platform === "win32") &&
      "bun build, Linux/macOS",
  },
  async () => {
    const dir = tempDir();
    try {
      const bundle = join(dir.path, "attempt.js");
      const built = await run(runtimeBinary("bun"), [
        "build",
        fixture("attempt.ts"),
        "--target",
        "bun",
        "--outfile",
        bundle,
      ]);
      assert.equal(built.code, 0, built.stderr);
      const lockPath = join(dir.path, "bundled.lock");
      const outside = outsideHolder(lockPath);
      try {
        const child = start(runtimeBinary("bun"), [
          bundle,
          "bundled",
          dir.path,
          "20000",
        ]);
        await sleep(500); // the child is waiting, its Worker has failed
        const released = performance.now();
        outside.release();
        await child.exited;
        const took = performance.now() - released;
        const out = JSON.parse(child.stdout().trim());
        assert.equal(out.acquired, true, child.stdout() + child.stderr());
        // Without the bound on each sleep it waited out its whole timeout.
        assert.ok(took < 5_000, `took ${took} ms after the release`);
        assert.match(child.stderr(), /memshare: the wait Worker .* failed/);
      } finally {
        outside.close();
      }
    } finally {
      dir.remove();
    }
  },
);

/**
 * Waiting at scale: one OS-level sleeper per realm however many tasks and
 * locks wait (Deno's FFI pool is shared with file I/O and has ~32 threads),
 * and a wait in flight never keeps a finished script alive.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { MemoryShareLock } from "../mod.ts";
import { currentPlatform } from "../src/ffi/current.ts";
import {
  fixture,
  posixOnly,
  run,
  RUNTIME,
  runtimeCommand,
  tempDir,
} from "./helpers.ts";
import { outsideHolder } from "./lock_helpers.ts";

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

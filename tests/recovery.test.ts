/**
 * A holder that dies holding the lock (SIGKILL: no chance to clean up)
 * frees it at once, and the next holder is told so (`recovered`) and finds
 * the dead holder's data intact. A normal release is not a recovery.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { MemoryShareLock } from "../mod.ts";
import { type Child, reap, startFixture, tempDir } from "./helpers.ts";

const RUNTIMES = ["deno", "bun"] as const;
const LENGTH = 16;
/** What the child writes before it dies. */
const BYTES = [0xde, 0xad, 0xbe, 0xef, 0x01, 0x02, 0x03, 0x04];
const HEX = BYTES.map((b) => b.toString(16).padStart(2, "0")).join("");

/**
 * Starts a holder child that writes `BYTES` under the lock and then holds
 * it until told to release on stdin (or killed); resolves once it holds it.
 */
async function startHolder(
  runtime: "deno" | "bun",
  dir: string,
  children: Child[],
): Promise<Child> {
  const child = startFixture(runtime, "holder.ts", ["doomed", dir, HEX]);
  children.push(child);
  await child.waitFor('"held":true');
  const held = JSON.parse(child.stdout()) as { pid: number };
  assert.equal(held.pid, child.process.pid);
  return child;
}

/** SIGKILLs `child` and waits until it is gone (its fds closed by the kernel). */
async function kill(child: Child): Promise<void> {
  child.process.kill("SIGKILL");
  const { signal } = await child.exited;
  assert.equal(signal, "SIGKILL");
}

for (const runtime of RUNTIMES) {
  describe(`a ${runtime} holder killed while holding the lock`, () => {
    test(
      "frees it at once; the next holder sees recovered and the dead holder's bytes",
      {
        timeout: 30_000,
      },
      async () => {
        const dir = tempDir();
        const lock = new MemoryShareLock("doomed", {
          length: LENGTH,
          dir: dir.path,
        });
        const children: Child[] = [];
        try {
          const child = await startHolder(runtime, dir.path, children);
          assert.equal(lock.tryAcquire(), null, "the child holds the lock");
          const before = lock.info();
          assert.equal(before.holderPid, child.process.pid);
          assert.equal(before.recoveries, 0);

          await kill(child);
          // The OS lock died with the process although the header still
          // names it: nobody holds the lock now.
          assert.equal(lock.isLocked(), false);
          assert.equal(lock.info().holderPid, null);

          const guard = await lock.acquire({ timeout: 0 });
          assert.equal(guard.recovered, true);
          assert.deepEqual([...guard.memory.subarray(0, BYTES.length)], BYTES);
          const during = lock.info();
          assert.equal(during.recoveries, 1);
          assert.equal(during.acquisitions, before.acquisitions + 1);
          await guard.release();

          // A normal release is not a recovery.
          const next = lock.tryAcquire();
          assert.ok(next !== null);
          assert.equal(next.recovered, false);
          assert.deepEqual([...next.memory.subarray(0, BYTES.length)], BYTES);
          next.releaseSync();
          assert.equal(lock.info().recoveries, 1);
        } finally {
          await reap(children);
          await lock.close();
          dir.remove();
        }
      },
    );

    test(
      "a waiter already queued gets the lock, recovered, when the holder is killed",
      {
        timeout: 30_000,
      },
      async () => {
        const dir = tempDir();
        const lock = new MemoryShareLock("doomed", {
          length: LENGTH,
          dir: dir.path,
        });
        const children: Child[] = [];
        try {
          const child = await startHolder(runtime, dir.path, children);
          let settled = false;
          const waiting = lock.acquire({ timeout: 20_000 }).finally(() => {
            settled = true;
          });
          await new Promise((resolve) => setTimeout(resolve, 50));
          assert.equal(settled, false, "got the lock while the child held it");

          await kill(child);
          const guard = await waiting;
          assert.equal(guard.recovered, true);
          assert.deepEqual([...guard.memory.subarray(0, BYTES.length)], BYTES);
          assert.equal(lock.info().recoveries, 1);
          await guard.release();
        } finally {
          await reap(children);
          await lock.close();
          dir.remove();
        }
      },
    );

    test(
      "a child that releases normally leaves recovered false for the next holder",
      {
        timeout: 30_000,
      },
      async () => {
        const dir = tempDir();
        const lock = new MemoryShareLock("doomed", {
          length: LENGTH,
          dir: dir.path,
        });
        const children: Child[] = [];
        try {
          const child = await startHolder(runtime, dir.path, children);
          child.process.stdin!.write("release\n");
          await child.waitFor("released");
          const guard = lock.tryAcquire();
          assert.ok(guard !== null, "the child released the lock");
          assert.equal(guard.recovered, false);
          assert.deepEqual([...guard.memory.subarray(0, BYTES.length)], BYTES);
          assert.equal(lock.info().recoveries, 0);
          guard.releaseSync();
          child.process.stdin!.end();
          assert.equal((await child.exited).code, 0, child.stderr());
        } finally {
          await reap(children);
          await lock.close();
          dir.remove();
        }
      },
    );
  });
}

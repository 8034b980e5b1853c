import { test } from "node:test";
import assert from "node:assert/strict";
import type { MemoryShareLock } from "../mod.ts";
import { sleep } from "./helpers.ts";
import { freshLock, outsideCanLock } from "./lock_helpers.ts";

test("hooks run in order: constructor's first, then added ones; removers remove", async () => {
  const calls: string[] = [];
  const { lock, dispose } = freshLock({
    onAcquire: () => void calls.push("ctor-acquire"),
    onRelease: () => void calls.push("ctor-release"),
  });
  try {
    const removeA = lock.addAcquireHook(() => void calls.push("acquire-a"));
    lock.addAcquireHook(() => void calls.push("acquire-b"));
    lock.addReleaseHook(() => void calls.push("release-a"));
    const removeB = lock.addReleaseHook(() => void calls.push("release-b"));
    await lock.run(() => void calls.push("body"));
    assert.deepEqual(calls, [
      "ctor-acquire",
      "acquire-a",
      "acquire-b",
      "body",
      "ctor-release",
      "release-a",
      "release-b",
    ]);
    removeA();
    removeB();
    removeB(); // a second call is harmless
    calls.length = 0;
    lock.acquireSync().releaseSync();
    assert.deepEqual(calls, [
      "ctor-acquire",
      "acquire-b",
      "ctor-release",
      "release-a",
    ]);
  } finally {
    await dispose();
  }
});

test("hooks get the shared memory and the lock, while it is held", async () => {
  let seenLock: MemoryShareLock | undefined;
  let heldInHook = false;
  let releasedValue = -1;
  const { lock, dispose } = freshLock({
    length: 4,
    onAcquire: (memory, l) => {
      seenLock = l;
      heldInHook = l.isLocked();
      memory[0] = 42; // e.g. stamp the turn owner
    },
    onRelease: (memory) => {
      releasedValue = memory[1];
      memory[2] = 9;
    },
  });
  try {
    const guard = await lock.acquire();
    assert.equal(seenLock, lock);
    assert.equal(heldInHook, true);
    assert.equal(guard.memory[0], 42);
    guard.memory[1] = 7;
    await guard.release();
    assert.equal(releasedValue, 7);
    assert.equal(await lock.run((memory) => memory[2]), 9);
  } finally {
    await dispose();
  }
});

test("async hooks are awaited by acquire() and release()", async () => {
  const order: string[] = [];
  const { lock, dispose } = freshLock({
    onAcquire: async (memory) => {
      await sleep(5);
      memory[0] = 1;
      order.push("acquired");
    },
    onRelease: async () => {
      await sleep(5);
      order.push("released-hook");
    },
  });
  try {
    const guard = await lock.acquire();
    assert.equal(guard.memory[0], 1);
    await guard.release();
    order.push("after-release");
    assert.deepEqual(order, ["acquired", "released-hook", "after-release"]);
    assert.equal(lock.isLocked(), false);
  } finally {
    await dispose();
  }
});

test("a throwing acquire hook releases the lock and rejects with its error", async () => {
  const boom = new Error("acquire hook failed");
  let releaseHookRan = false;
  const { lock, dispose } = freshLock({
    onRelease: () => void (releaseHookRan = true),
  });
  try {
    const remove = lock.addAcquireHook(() => {
      throw boom;
    });
    await assert.rejects(lock.acquire(), (e: unknown) => e === boom);
    assert.throws(() => lock.acquireSync(), (e: unknown) => e === boom);
    assert.throws(() => lock.tryAcquire(), (e: unknown) => e === boom);
    assert.equal(lock.isLocked(), false);
    assert.equal(outsideCanLock(lock.lockPath), true);
    // The acquire never completed, so its release hooks do not run.
    assert.equal(releaseHookRan, false);
    remove();
    await lock.run(() => {});
    assert.equal(releaseHookRan, true);
  } finally {
    await dispose();
  }
});

test("a throwing release hook still releases, the other hooks still run, and its error is rethrown", async () => {
  const boom = new Error("release hook failed");
  let laterRan = 0;
  const { lock, dispose } = freshLock({
    onRelease: () => {
      throw boom;
    },
  });
  try {
    lock.addReleaseHook(() => void laterRan++);
    const guard = await lock.acquire();
    await assert.rejects(guard.release(), (e: unknown) => e === boom);
    assert.equal(guard.released, true);
    assert.equal(lock.isLocked(), false);
    const sync = lock.acquireSync();
    assert.throws(() => sync.releaseSync(), (e: unknown) => e === boom);
    assert.equal(lock.isLocked(), false);
    assert.equal(laterRan, 2);
    await assert.rejects(lock.run(() => "value"), (e: unknown) => e === boom);
    assert.equal(lock.isLocked(), false);
  } finally {
    await dispose();
  }
});

test("on synchronous paths a hook returning a promise is a TypeError, and the lock is released", async () => {
  const { lock, dispose } = freshLock();
  try {
    const removeAcquire = lock.addAcquireHook(async () => {});
    assert.throws(() => lock.acquireSync(), TypeError);
    assert.equal(lock.isLocked(), false);
    assert.throws(() => lock.tryAcquire(), /returned a promise/);
    assert.equal(lock.isLocked(), false);
    // The async path accepts it.
    await lock.run(() => {});
    removeAcquire();

    lock.addReleaseHook(async () => {});
    const guard = lock.acquireSync();
    assert.throws(() => guard.releaseSync(), TypeError);
    assert.equal(guard.released, true);
    assert.equal(lock.isLocked(), false);
    assert.equal(outsideCanLock(lock.lockPath), true);
  } finally {
    await dispose();
  }
});

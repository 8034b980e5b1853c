import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { MemoryShareLock } from "../mod.ts";
import { tempDir } from "./helpers.ts";

test("acquire options are validated too", async () => {
  const dir = tempDir();
  const lock = new MemoryShareLock("x", { length: 1, dir: dir.path });
  try {
    await assert.rejects(
      lock.acquire({ timeout: -5 }),
      /acquire option "timeout"/,
    );
    await assert.rejects(
      lock.acquire({ signal: {} as AbortSignal }),
      /acquire option "signal" must be an AbortSignal/,
    );
    assert.throws(() => lock.acquireSync({ timeout: NaN }), TypeError);
    assert.equal(lock.isLocked(), false);
  } finally {
    await lock.close();
    dir.remove();
  }
});

test("the constructor touches no file", async () => {
  const dir = tempDir();
  try {
    const lock = new MemoryShareLock("sub/name", {
      length: 3,
      dir: join(dir.path),
    });
    assert.deepEqual(readdirSync(dir.path), []);
    assert.equal(lock.path, join(dir.path, "sub", "name"));
    assert.equal(lock.lockPath, join(dir.path, "sub", "name.lock"));
    await lock.close();
  } finally {
    dir.remove();
  }
});

test("an absolute name is used as given; a relative dir resolves against the cwd", async () => {
  const dir = tempDir();
  try {
    const absolute = new MemoryShareLock(join(dir.path, "abs"), { length: 1 });
    assert.equal(absolute.path, join(dir.path, "abs"));
    await absolute.run(() => {});
    assert.ok(existsSync(join(dir.path, "abs.lock")));
    await absolute.close();

    const relative = new MemoryShareLock("rel", {
      length: 1,
      dir: "some/where",
    });
    assert.equal(relative.path, join(process.cwd(), "some", "where", "rel"));
    await relative.close();
  } finally {
    dir.remove();
  }
});

test("timeout -1 and Infinity both mean forever", async () => {
  const dir = tempDir();
  try {
    const a = new MemoryShareLock("a", {
      length: 1,
      dir: dir.path,
      timeout: -1,
    });
    const b = new MemoryShareLock("b", {
      length: 1,
      dir: dir.path,
      timeout: Infinity,
    });
    assert.equal(a.timeout, Infinity);
    assert.equal(b.timeout, Infinity);
    await a.close();
    await b.close();
  } finally {
    dir.remove();
  }
});

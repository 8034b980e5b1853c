import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { MemoryShareLock, type MemoryShareLockOptions } from "../mod.ts";
import { tempDir } from "./helpers.ts";

type Case = [
  label: string,
  name: unknown,
  options: unknown,
  error: typeof TypeError | typeof RangeError,
  message: RegExp,
];

const cases: Case[] = [
  ["name not a string", 42, { length: 1 }, TypeError, /name must be a string/],
  ["empty name", "", { length: 1 }, RangeError, /name must not be empty/],
  [
    "NUL in name",
    "a\0b",
    { length: 1 },
    RangeError,
    /name must not contain a NUL/,
  ],
  [
    "'..' in name",
    "../escape",
    { length: 1 },
    RangeError,
    /must stay inside dir/,
  ],
  [
    "'..' inside name",
    "a/../../b",
    { length: 1 },
    RangeError,
    /must stay inside dir/,
  ],
  [
    "name naming a directory",
    "sub/",
    { length: 1 },
    RangeError,
    /must name a file/,
  ],
  ["name '.'", ".", { length: 1 }, RangeError, /must name a file/],
  ["options missing", "x", undefined, TypeError, /options must be an object/],
  ["options null", "x", null, TypeError, /options must be an object/],
  ["length missing", "x", {}, TypeError, /"length" must be a number/],
  [
    "length a string",
    "x",
    { length: "10" },
    TypeError,
    /"length" must be a number/,
  ],
  [
    "length 0",
    "x",
    { length: 0 },
    RangeError,
    /"length" must be an integer from 1/,
  ],
  ["length fractional", "x", { length: 1.5 }, RangeError, /"length"/],
  ["length too big", "x", { length: 2 ** 30 + 1 }, RangeError, /"length"/],
  ["length NaN", "x", { length: NaN }, RangeError, /"length"/],
  [
    "timeout negative",
    "x",
    { length: 1, timeout: -2 },
    RangeError,
    /"timeout" must be >= 0/,
  ],
  [
    "timeout NaN",
    "x",
    { length: 1, timeout: NaN },
    TypeError,
    /"timeout" must be a number/,
  ],
  [
    "timeout a string",
    "x",
    { length: 1, timeout: "5" },
    TypeError,
    /"timeout"/,
  ],
  [
    "mode without owner write",
    "x",
    { length: 1, mode: 0o400 },
    RangeError,
    /"mode"/,
  ],
  [
    "mode with setuid bits",
    "x",
    { length: 1, mode: 0o4600 },
    RangeError,
    /"mode"/,
  ],
  ["mode fractional", "x", { length: 1, mode: 1.5 }, TypeError, /"mode"/],
  [
    "tagName a number",
    "x",
    { length: 1, tagName: 5 },
    TypeError,
    /"tagName" must be a string/,
  ],
  [
    "onAcquire not a function",
    "x",
    { length: 1, onAcquire: "f" },
    TypeError,
    /"onAcquire"/,
  ],
  [
    "onRelease not a function",
    "x",
    { length: 1, onRelease: 1 },
    TypeError,
    /"onRelease"/,
  ],
  [
    "dir a number",
    "x",
    { length: 1, dir: 5 },
    TypeError,
    /"dir" must be a string/,
  ],
  [
    "dir empty",
    "x",
    { length: 1, dir: "" },
    RangeError,
    /"dir" must not be empty/,
  ],
  [
    "dir with NUL",
    "x",
    { length: 1, dir: "/tmp/\0" },
    RangeError,
    /"dir" must not contain a NUL/,
  ],
  [
    "Python's tag_name",
    "x",
    { length: 1, tag_name: "t" },
    TypeError,
    /unknown option "tag_name" \(did you mean tagName\?\)/,
  ],
  [
    "a typo",
    "x",
    { length: 1, timout: 5 },
    TypeError,
    /unknown option "timout"/,
  ],
];

for (const [label, name, options, error, message] of cases) {
  test(`bad input: ${label} → ${error.name}`, () => {
    const dir = tempDir();
    try {
      const withDir =
        options !== null && typeof options === "object" && !("dir" in options)
          ? { dir: dir.path, ...options }
          : options;
      assert.throws(
        () =>
          new MemoryShareLock(
            name as string,
            withDir as MemoryShareLockOptions,
          ),
        (e: unknown) =>
          e instanceof error && message.test((e as Error).message),
      );
      assert.deepEqual(readdirSync(dir.path), [], "nothing may be created");
    } finally {
      dir.remove();
    }
  });
}

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

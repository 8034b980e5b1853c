/**
 * The bad-input matrix: every bad name, option, directory or file at the
 * path gives its exact error class and a message naming the option or path;
 * nothing is created outside `dir`, nothing is truncated, and no lock is left
 * held.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import {
  chmodSync,
  chownSync,
  linkSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import {
  LockFileError,
  MemoryShareLock,
  type MemoryShareLockOptions,
} from "../mod.ts";
import { otherUserCommand, run, RUNTIME, tempDir, WINDOWS } from "./helpers.ts";
import { outsideCanLock } from "./lock_helpers.ts";

type ErrorClass = typeof TypeError | typeof RangeError | typeof LockFileError;

/** A case where the constructor refuses: nothing may be created at all. */
type OptionCase = [
  label: string,
  name: unknown,
  options: unknown,
  error: ErrorClass,
  message: RegExp,
];

const optionCases: OptionCase[] = [
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
    "name escaping dir with '..'",
    "../escape",
    { length: 1 },
    RangeError,
    /"\.\.\/escape" must stay inside dir/,
  ],
  [
    "name escaping dir deeper",
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
    /"sub\/" must name a file/,
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
  ["length fractional", "x", { length: 1.5 }, RangeError, /"length".*1\.5/],
  [
    "length over 1 GiB",
    "x",
    { length: 2 ** 30 + 1 },
    RangeError,
    /"length".*1073741825/,
  ],
  ["length NaN", "x", { length: NaN }, RangeError, /"length"/],
  [
    "timeout below -1",
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
    /"mode".*0o400/,
  ],
  [
    "mode with setuid bits",
    "x",
    { length: 1, mode: 0o4600 },
    RangeError,
    /"mode".*0o4600/,
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
    "an unknown option",
    "x",
    { length: 1, timout: 5 },
    TypeError,
    /unknown option "timout"/,
  ],
];

for (const [label, name, options, error, message] of optionCases) {
  test(`bad option: ${label} → ${error.name}`, () => {
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

/** A case refused at first use: `setup` plants something in `dir` (and maybe `outside`). */
interface PathCase {
  label: string;
  /** Lock options other than `length` (default: `{ dir }`). */
  options?: (dir: string) => Partial<MemoryShareLockOptions>;
  setup: (dir: string, outside: string) => void;
  code: RegExp;
  /** The path the message must name. */
  names: (dir: string) => string;
  skip?: string | false;
}

const rootOnly = process.getuid?.() !== 0 && "needs root";
const posixOnly = WINDOWS && "POSIX only";
const NAME = "target";

const pathCases: PathCase[] = [
  {
    label: "dir missing",
    options: (dir) => ({ dir: join(dir, "missing") }),
    setup: () => {},
    code: /^ENOENT$/,
    names: (dir) => join(dir, "missing"),
  },
  {
    label: "dir is a file",
    options: (dir) => ({ dir: join(dir, "file") }),
    setup: (dir) => writeFileSync(join(dir, "file"), "keep"),
    code: /^ENOTDIR$/,
    names: (dir) => join(dir, "file"),
  },
  {
    label: "dir world-writable without the sticky bit",
    options: (dir) => ({ dir: join(dir, "open") }),
    setup: (dir) => {
      mkdirSync(join(dir, "open"));
      chmodSync(join(dir, "open"), 0o777);
    },
    code: /^EPERM$/,
    names: (dir) => join(dir, "open"),
    skip: posixOnly,
  },
  {
    label: "dir owned by another user",
    options: (dir) => ({ dir: join(dir, "theirs") }),
    setup: (dir) => {
      mkdirSync(join(dir, "theirs"), { mode: 0o755 });
      chownSync(join(dir, "theirs"), 65534, 65534);
    },
    code: /^EFOREIGN$/,
    names: (dir) => join(dir, "theirs"),
    skip: posixOnly || rootOnly,
  },
  {
    label: "dir not writable (a read-only filesystem)",
    options: (dir) => ({ dir: join(dir, "ro") }),
    setup: (dir) => {
      mkdirSync(join(dir, "ro"));
      execFileSync("mount", [
        "-t",
        "tmpfs",
        "-o",
        "ro,size=64k",
        "tmpfs",
        join(dir, "ro"),
      ]);
    },
    code: /^EROFS$/,
    names: (dir) => join(dir, "ro"),
    skip: posixOnly || rootOnly,
  },
  {
    label: "data path is a directory",
    setup: (dir) => mkdirSync(join(dir, NAME)),
    code: /^(EISDIR|ENOTREG)$/,
    names: (dir) => join(dir, NAME),
  },
  {
    label: "lock path is a directory",
    setup: (dir) => mkdirSync(join(dir, `${NAME}.lock`)),
    code: /^(EISDIR|ENOTREG)$/,
    names: (dir) => join(dir, `${NAME}.lock`),
  },
  {
    label: "data path is a FIFO",
    setup: (dir) => execFileSync("mkfifo", [join(dir, NAME)]),
    code: /^(ENOTREG|ENXIO)$/,
    names: (dir) => join(dir, NAME),
    skip: posixOnly,
  },
  {
    label: "data path is a symlink to a file elsewhere",
    setup: (dir, outside) => {
      writeFileSync(join(outside, "precious"), "do not touch");
      symlinkSync(join(outside, "precious"), join(dir, NAME));
    },
    code: /^ELOOP$/,
    names: (dir) => join(dir, NAME),
    skip: posixOnly,
  },
  {
    label: "lock path is a dangling symlink to a path elsewhere",
    setup: (dir, outside) =>
      symlinkSync(join(outside, "would-be-created"), join(dir, `${NAME}.lock`)),
    code: /^ELOOP$/,
    names: (dir) => join(dir, `${NAME}.lock`),
    skip: posixOnly,
  },
  {
    label: "data path is a hard link to a file elsewhere",
    setup: (dir, outside) => {
      writeFileSync(join(outside, "elsewhere"), "x".repeat(300));
      linkSync(join(outside, "elsewhere"), join(dir, NAME));
    },
    code: /^EHARDLINK$/,
    names: (dir) => join(dir, NAME),
    skip: posixOnly,
  },
  {
    label: "data file that is not memshare's",
    setup: (dir) =>
      writeFileSync(
        join(dir, NAME),
        "#!/bin/sh\necho somebody's script\n".repeat(10),
      ),
    code: /^EHEADER$/,
    names: (dir) => join(dir, NAME),
  },
  {
    label: "data file from a newer layout",
    setup: (dir) => {
      const header = Buffer.alloc(200);
      header.write("MSHL", 0, "latin1");
      header.writeUInt16LE(99, 4);
      header.writeUInt16LE(128, 6);
      writeFileSync(join(dir, NAME), header);
    },
    code: /^EHEADER$/,
    names: (dir) => join(dir, NAME),
  },
];

/** Sizes and contents of every file under `root`, to prove nothing changed. */
function snapshot(root: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir)) {
      const path = join(dir, entry);
      const status = lstatSync(path);
      if (status.isDirectory()) walk(path);
      else if (status.isFile()) {
        out.set(path, readFileSync(path).toString("base64"));
      } else out.set(path, status.isSymbolicLink() ? "symlink" : "other");
    }
  };
  walk(root);
  return out;
}

function isRegularFile(path: string): boolean {
  try {
    return lstatSync(path).isFile();
  } catch {
    return false;
  }
}

for (const c of pathCases) {
  test(`bad path: ${c.label} → LockFileError ${c.code.source}`, {
    skip: c.skip ?? false,
  }, async () => {
    const dir = tempDir();
    const outside = tempDir();
    try {
      c.setup(dir.path, outside.path);
      const before = snapshot(dir.path);
      const outsideBefore = snapshot(outside.path);
      const lock = new MemoryShareLock(NAME, {
        length: 64,
        dir: dir.path,
        ...c.options?.(dir.path),
      });
      try {
        const error = await lock.acquire({ timeout: 0 }).catch((e) => e);
        assert.ok(
          error instanceof LockFileError,
          `expected LockFileError, got ${error}`,
        );
        assert.match(error.code, c.code);
        assert.ok(error.message.includes(c.names(dir.path)), error.message);
        assert.ok(error.path.startsWith(dir.path), error.path);
        assert.throws(() => lock.acquireSync({ timeout: 0 }), LockFileError);
        // A query afterwards may see less, but never reads past the refusal.
        let queried: unknown = null;
        try {
          lock.info();
        } catch (e) {
          queried = e;
        }
        if (queried !== null) {
          assert.ok(queried instanceof LockFileError, String(queried));
          assert.match(queried.code, c.code, queried.message);
        }
        if (isRegularFile(lock.lockPath)) {
          assert.equal(
            outsideCanLock(lock.lockPath),
            true,
            "no lock is left held",
          );
        }
      } finally {
        await lock.close();
      }
      // Nothing outside dir was created or changed; inside, at most the lock file appeared.
      assert.deepEqual(snapshot(outside.path), outsideBefore);
      const after = snapshot(dir.path);
      for (const [path, content] of before) {
        assert.equal(after.get(path), content, `${path} changed`);
      }
      for (const path of after.keys()) {
        assert.ok(
          before.has(path) || path === lock.lockPath,
          `created ${path}`,
        );
      }
    } finally {
      if (c.label.includes("read-only")) {
        execFileSync("umount", [join(dir.path, "ro")]);
      }
      dir.remove();
      outside.remove();
    }
  });
}

test(
  "bad path: root is refused a data file another user owns (they could truncate it under root's mapping)",
  { skip: posixOnly || rootOnly },
  async () => {
    const dir = tempDir();
    try {
      chmodSync(dir.path, 0o1777);
      const path = join(dir.path, NAME);
      writeFileSync(path, "");
      chownSync(path, 65534, 65534);
      const lock = new MemoryShareLock(NAME, { length: 8, dir: dir.path });
      try {
        await assert.rejects(
          lock.acquire({ timeout: 0 }),
          (e: unknown) =>
            e instanceof LockFileError && e.code === "EFOREIGN" &&
            e.path === path && e.message.includes("uid 65534"),
        );
        assert.equal(lock.isLocked(), false, "no lock left held");
      } finally {
        await lock.close();
      }
      assert.equal(statSync(path).size, 0, "nothing written to their file");
    } finally {
      dir.remove();
    }
  },
);

test(
  "bad path: a data file owned by another user → LockFileError EFOREIGN (run as nobody)",
  {
    skip: posixOnly || rootOnly,
  },
  async () => {
    const dir = tempDir();
    const home = tempDir();
    let removeCopy = () => {};
    try {
      chmodSync(dir.path, 0o1777);
      writeFileSync(join(dir.path, NAME), "");
      chmodSync(join(dir.path, NAME), 0o666); // writable by anyone, but root's
      chownSync(home.path, 65534, 65534);
      // The fixture and runtime run from a copy: the checkout may be in a
      // folder nobody cannot enter.
      const copy = otherUserCommand(RUNTIME, "attempt.ts", [
        NAME,
        dir.path,
        "0",
      ]);
      removeCopy = copy.remove;
      const result = await run("setpriv", [
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        copy.command,
        ...copy.argv,
      ], {
        HOME: home.path,
        DENO_DIR: join(home.path, "deno"),
        TMPDIR: home.path,
        XDG_CACHE_HOME: home.path,
      });
      assert.equal(result.code, 0, result.stderr);
      const out = JSON.parse(result.stdout.trim());
      assert.equal(out.error, "LockFileError", result.stdout);
      assert.equal(out.code, "EFOREIGN");
      assert.ok(out.message.includes(join(dir.path, NAME)), out.message);
      assert.equal(
        statSync(join(dir.path, NAME)).size,
        0,
        "nothing written to their file",
      );
    } finally {
      dir.remove();
      home.remove();
      removeCopy();
    }
  },
);

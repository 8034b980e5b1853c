import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  chmodSync,
  chownSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { LockFileError, LockTimeoutError, MemoryShareLock } from "../mod.ts";
import { HEADER_SIZE } from "../src/engine/local/header.ts";
import {
  run,
  runtimeCommand,
  sleep,
  startFixture,
  tempDir,
} from "./helpers.ts";
import { fixture, posixOnly, RUNTIME, WINDOWS } from "./helpers.ts";
import { freshLock, outsideCanLock, outsideHolder } from "./lock_helpers.ts";

const mode = (path: string) => statSync(path).mode & 0o7777;

describe("files on disk", () => {
  test("NAME and NAME.lock are created 0600 (or the mode option), the data file sized header + length", async () => {
    const { lock, dispose } = freshLock({ length: 10 });
    const custom = freshLock({ length: 3, mode: 0o640 });
    try {
      await lock.run(() => {});
      if (!WINDOWS) {
        assert.equal(mode(lock.path), 0o600);
        assert.equal(mode(lock.lockPath), 0o600);
      }
      assert.equal(statSync(lock.path).size, HEADER_SIZE + 10);
      assert.equal(
        statSync(lock.lockPath).size,
        0,
        "nothing is stored in the lock file",
      );
      assert.equal(readFileSync(lock.path).subarray(0, 4).toString(), "MSHL");
      await custom.lock.run(() => {});
      if (!WINDOWS) {
        assert.equal(mode(custom.lock.path), 0o640);
        assert.equal(mode(custom.lock.lockPath), 0o640);
      }
    } finally {
      await dispose();
      await custom.dispose();
    }
  });

  test("an existing data file is never truncated; a shorter one is extended with its data kept", async () => {
    const { lock, dir, dispose } = freshLock({ length: 100 });
    try {
      await lock.run((memory) => memory.fill(7));
      await lock.close();
      const small = new MemoryShareLock(lock.path, { length: 10 });
      assert.equal(await small.run((memory) => memory.length), 10);
      assert.equal(statSync(lock.path).size, HEADER_SIZE + 100);
      await small.close();

      const big = new MemoryShareLock(lock.path, { length: 300 });
      const bytes = await big.run((memory) => [...memory]);
      assert.equal(statSync(lock.path).size, HEADER_SIZE + 300);
      assert.deepEqual(bytes.slice(0, 100), new Array(100).fill(7));
      assert.deepEqual(bytes.slice(100), new Array(200).fill(0));
      assert.equal(big.info().length, 300);
      await big.close();
      assert.ok(dir.length > 0);
    } finally {
      await dispose();
    }
  });

  test(
    "a name of 250 bytes works: NAME and NAME.lock (255) are created, no temporary file is left",
    posixOnly("Windows paths are limited to 260 characters in all"),
    async () => {
      const d = tempDir();
      const name = "n".repeat(250);
      const lock = new MemoryShareLock(name, { length: 8, dir: d.path });
      try {
        await lock.run((memory) => void memory.fill(1));
        assert.equal(lock.path, join(d.path, name));
        assert.equal(lock.lockPath, join(d.path, `${name}.lock`));
        assert.equal(statSync(lock.path).nlink, 1);
        assert.deepEqual(readdirSync(d.path).sort(), [name, `${name}.lock`]);
      } finally {
        await lock.close();
        d.remove();
      }
    },
  );
});

describe("refused data files", () => {
  test("a data file of the older 128-byte layout is named as such and left intact", async () => {
    const d = tempDir();
    const lock = new MemoryShareLock("old", { length: 8, dir: d.path });
    try {
      await lock.run(() => {});
      await lock.close();
      // What memshare 0.1 wrote: layout 1, a 128-byte header, then the region.
      const bytes = readFileSync(lock.path).subarray(0, 128 + 8);
      bytes.writeUInt16LE(1, 4);
      bytes.writeUInt16LE(128, 6);
      writeFileSync(lock.path, bytes);
      const again = new MemoryShareLock("old", { length: 8, dir: d.path });
      await assert.rejects(
        again.acquire(),
        (e: unknown) =>
          e instanceof LockFileError && e.code === "EHEADER" &&
          /older memshare \(layout 1, a 128-byte header/.test(e.message) &&
          e.message.includes(lock.path),
      );
      assert.deepEqual(readFileSync(lock.path), bytes);
      await again.close();
    } finally {
      d.remove();
    }
  });

  test("a header from a newer layout version is reported as such", async () => {
    const d = tempDir();
    const lock = new MemoryShareLock("target", { length: 8, dir: d.path });
    try {
      await lock.run(() => {});
      await lock.close();
      const bytes = readFileSync(lock.path);
      bytes.writeUInt16LE(99, 4);
      writeFileSync(lock.path, bytes);
      const again = new MemoryShareLock("target", { length: 8, dir: d.path });
      await assert.rejects(
        again.acquire(),
        (e: unknown) =>
          e instanceof LockFileError && e.code === "EHEADER" &&
          /newer memshare \(layout 99/.test(e.message),
      );
      assert.throws(() => again.info(), /newer memshare/);
      assert.deepEqual(readFileSync(lock.path), bytes);
      await again.close();
    } finally {
      d.remove();
    }
  });
});

describe("the default directory", () => {
  // The default directory comes from XDG_RUNTIME_DIR read through the OS, so a
  // child process with its own environment exercises it.
  async function attempt(runtimeDir: string): Promise<Record<string, string>> {
    const result = await run(
      ...runtimeCommand(RUNTIME, fixture("attempt.ts"), ["bot", "-", "0"]),
      {
        XDG_RUNTIME_DIR: runtimeDir,
      },
    );
    assert.equal(result.code, 0, result.stderr);
    return JSON.parse(result.stdout.trim());
  }

  test(
    "is created 0700 under $XDG_RUNTIME_DIR",
    posixOnly("XDG_RUNTIME_DIR and POSIX modes"),
    async () => {
      const d = tempDir();
      try {
        const out = await attempt(d.path);
        assert.equal(out.path, join(d.path, "memshare", "bot"));
        assert.equal(mode(join(d.path, "memshare")), 0o700);
        assert.equal(mode(join(d.path, "memshare", "bot")), 0o600);
      } finally {
        d.remove();
      }
    },
  );

  test(
    "is refused when group- or world-writable",
    posixOnly("POSIX modes"),
    async () => {
      const d = tempDir();
      try {
        mkdirSync(join(d.path, "memshare"));
        chmodSync(join(d.path, "memshare"), 0o777);
        const out = await attempt(d.path);
        assert.equal(out.error, "LockFileError");
        assert.match(out.message, /world-writable/);
        assert.match(out.message, new RegExp(join(d.path, "memshare")));
      } finally {
        d.remove();
      }
    },
  );

  test("is refused when owned by another user", {
    skip: WINDOWS
      ? "POSIX only: uids"
      : process.getuid?.() !== 0 && "needs root to chown",
  }, async () => {
    const d = tempDir();
    try {
      mkdirSync(join(d.path, "memshare"), { mode: 0o700 });
      chownSync(join(d.path, "memshare"), 65534, 65534);
      const out = await attempt(d.path);
      assert.equal(out.error, "LockFileError");
      assert.equal(out.code, "EFOREIGN");
      assert.match(out.message, /belongs to uid 65534/);
    } finally {
      d.remove();
    }
  });

  test(
    "a symlink in place of the default directory is refused",
    posixOnly("symlinks and XDG_RUNTIME_DIR"),
    async () => {
      const d = tempDir();
      const elsewhere = tempDir();
      try {
        symlinkSync(elsewhere.path, join(d.path, "memshare"));
        const out = await attempt(d.path);
        assert.equal(out.error, "LockFileError");
        assert.match(out.message, /not a directory/);
      } finally {
        d.remove();
        elsewhere.remove();
      }
    },
  );
});

describe("age-based cleaners", () => {
  const tmpfiles = process.platform === "linux" &&
    spawnSync("systemd-tmpfiles", ["--version"]).status === 0;

  test(
    "systemd-tmpfiles skips the directory of an open lock, and cleans it once closed",
    { skip: !tmpfiles && "needs systemd-tmpfiles (Linux)" },
    async () => {
      const d = tempDir();
      try {
        // As /tmp is configured on many distributions ("q /tmp 1777 root root
        // 10d"), with an age of one second.
        const lockDir = join(d.path, "bots");
        mkdirSync(lockDir, { mode: 0o700 });
        const config = join(d.path, "age.conf");
        writeFileSync(config, `e ${d.path} - - - 1s\n`);
        const clean = () => {
          const result = spawnSync("systemd-tmpfiles", ["--clean", config], {
            encoding: "utf8",
          });
          assert.equal(result.status, 0, result.stderr);
        };
        const lock = new MemoryShareLock("window", { length: 8, dir: lockDir });
        try {
          await lock.run((memory) => {
            memory[0] = 42;
          });
          await sleep(1500); // older than the age by every timestamp
          clean();
          assert.equal(readFileSync(lock.path)[HEADER_SIZE], 42);
          assert.equal(statSync(lock.lockPath).isFile(), true);
          assert.equal(await lock.run((memory) => memory[0]), 42);
        } finally {
          await lock.close();
        }
        // The control: the same files, no longer open, are aged out.
        await sleep(1500);
        clean();
        assert.throws(() => statSync(lock.path), { code: "ENOENT" });
        assert.throws(() => statSync(lock.lockPath), { code: "ENOENT" });
      } finally {
        d.remove();
      }
    },
  );

  test(
    "a lock directory deleted and recreated is held again (and the default one recreated)",
    posixOnly("Windows has no directory locks"),
    async () => {
      const d = tempDir();
      try {
        const lockDir = join(d.path, "bots");
        mkdirSync(lockDir, { mode: 0o700 });
        const cleanerCanLock = () =>
          spawnSync("flock", ["-n", "-x", lockDir, "true"]).status === 0;
        const lock = new MemoryShareLock("window", { length: 8, dir: lockDir });
        try {
          await lock.run(() => {});
          assert.equal(cleanerCanLock(), false);
          rmSync(lockDir, { recursive: true });
          mkdirSync(lockDir, { mode: 0o700 });
          assert.equal(cleanerCanLock(), true, "the new directory is unheld");
          await sleep(150); // past the interval at which the path is re-checked
          await lock.run(() => {});
          assert.equal(statSync(lock.lockPath).isFile(), true);
          assert.equal(cleanerCanLock(), false, "the new directory is held");
        } finally {
          await lock.close();
        }
        assert.equal(cleanerCanLock(), true);
      } finally {
        d.remove();
      }
    },
  );
});

describe("a lock file deleted or replaced while in use", () => {
  test(
    "a newcomer on the new lock file waits while the holder still holds the old one",
    posixOnly(
      "an open lock file is not unlinked the same way on Windows (delete pending)",
    ),
    async () => {
      const { lock, dir, dispose } = freshLock({ length: 16 });
      try {
        const guard = await lock.acquire();
        unlinkSync(lock.lockPath);
        const name = lock.path.slice(dir.length + 1);
        // The newcomer creates a new lock file and gets its OS lock at once;
        // only the header tells it the lock is held.
        const blocked = startFixture(RUNTIME, "attempt.ts", [name, dir, "300"]);
        const first = JSON.parse(
          (await blocked.exited, blocked.stdout().trim()),
        );
        assert.equal(
          first.error,
          "LockTimeoutError",
          blocked.stdout() + blocked.stderr(),
        );
        await guard.release();
        const later = startFixture(RUNTIME, "attempt.ts", [name, dir, "2000"]);
        await later.exited;
        assert.equal(
          JSON.parse(later.stdout().trim()).acquired,
          true,
          later.stdout(),
        );
      } finally {
        await dispose();
      }
    },
  );

  test(
    "after the lock file is replaced, a client holding the new file excludes us",
    posixOnly(
      "an open lock file is not unlinked the same way on Windows (delete pending)",
    ),
    async () => {
      const { lock, dispose } = freshLock();
      try {
        await lock.run(() => {});
        rmSync(lock.lockPath);
        const outside = outsideHolder(lock.lockPath); // e.g. Python's filelock on the new file
        try {
          // An uncontended acquire checks the path at most every 100 ms (the
          // cost of a stat on the hot path); let that interval pass.
          await sleep(150);
          await assert.rejects(
            lock.acquire({ timeout: 150 }),
            LockTimeoutError,
          );
          assert.equal(lock.tryAcquire(), null);
          outside.release();
          const guard = lock.tryAcquire();
          assert.notEqual(guard, null);
          assert.equal(
            outsideCanLock(lock.lockPath),
            false,
            "we now lock the file at the path",
          );
          guard!.releaseSync();
        } finally {
          outside.close();
        }
      } finally {
        await dispose();
      }
    },
  );
});

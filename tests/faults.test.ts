import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import { LockFileError, MemoryShareLock } from "../mod.ts";
import {
  fixture,
  posixOnly,
  run,
  RUNTIME,
  runtimeCommand,
  start,
  tempDir,
} from "./helpers.ts";
import { outsideCanLock } from "./lock_helpers.ts";
import { HEADER_SIZE } from "../src/engine/local/header.ts";

describe("misuse never crashes the process", () => {
  async function misuse(scenario: string): Promise<string> {
    const dir = tempDir();
    try {
      const result = await run(
        ...runtimeCommand(RUNTIME, fixture("misuse.ts"), [scenario, dir.path]),
      );
      assert.equal(
        result.signal,
        null,
        `killed by ${result.signal}: ${result.stderr}`,
      );
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /done/);
      return result.stdout;
    } finally {
      dir.remove();
    }
  }

  test("memory kept past release reads empty; writes go nowhere", async () => {
    const out = await misuse("after-release");
    assert.match(out, /fill: TypeError/);
    assert.match(out, /length 0 0/);
    assert.match(out, /first byte 1/);
  });

  test("memory kept past close() is detached before the unmap", async () => {
    assert.match(await misuse("after-close"), /after close 0 0 0/);
  });

  test("a guard dropped without release keeps the lock, and the process exits normally", async () => {
    assert.match(await misuse("dropped"), /still held true true/);
  });

  test("close() while tasks wait rejects them and exits normally", async () => {
    assert.match(
      await misuse("close-while-waiting"),
      /waiters \[ ?true, true ?\]/,
    );
  });
});

test(
  "lock descriptors are close-on-exec: a child started while holding does not keep the lock",
  posixOnly("/proc and fds"),
  async () => {
    const dir = tempDir();
    let grandchild = 0;
    try {
      // Deno's spawn passes on every descriptor not marked close-on-exec
      // (Bun's closes them itself), so a Deno holder is what proves the flag.
      const [command, argv] = runtimeCommand(
        "deno",
        fixture("spawn_holder.ts"),
        [dir.path],
        [
          "--allow-run",
          "--allow-env",
        ],
      );
      const holder = start(command, argv);
      try {
        await holder.waitFor("child ");
        grandchild = Number(/child (\d+)/.exec(holder.stdout())![1]);
        const lockPath = join(dir.path, "cloexec.lock");
        const inherited = readdirSync(`/proc/${grandchild}/fd`).map((fd) => {
          try {
            return readlinkSync(`/proc/${grandchild}/fd/${fd}`);
          } catch {
            return "";
          }
        });
        assert.ok(
          !inherited.includes(lockPath),
          `the child inherited ${lockPath}`,
        );
        assert.ok(
          !inherited.includes(join(dir.path, "cloexec")),
          "the child inherited the data file",
        );
        assert.equal(outsideCanLock(lockPath), false);
      } finally {
        holder.process.kill("SIGKILL");
        await holder.exited;
      }
      // The holder is dead; its child lives on and must not hold the lock.
      process.kill(grandchild, 0);
      const lock = new MemoryShareLock("cloexec", { length: 8, dir: dir.path });
      const guard = await lock.acquire({ timeout: 0 });
      assert.equal(guard.recovered, true);
      await guard.release();
      await lock.close();
    } finally {
      if (grandchild > 0) {
        try {
          process.kill(grandchild, "SIGKILL");
        } catch {
          // already gone
        }
      }
      dir.remove();
    }
  },
);

test("a full filesystem is reported up front, not as a later SIGBUS", {
  skip: process.platform !== "linux" || process.getuid?.() !== 0
    ? "needs root on Linux to mount a small tmpfs"
    : false,
}, async () => {
  const dir = tempDir();
  const mountPoint = join(dir.path, "small");
  mkdirSync(mountPoint);
  try {
    execFileSync("mount", [
      "-t",
      "tmpfs",
      "-o",
      "size=64k",
      "tmpfs",
      mountPoint,
    ]);
  } catch (error) {
    dir.remove();
    throw new Error(`could not mount a tmpfs: ${error}`);
  }
  try {
    const big = new MemoryShareLock("big", {
      length: 1 << 20,
      dir: mountPoint,
    });
    const error = await big.acquire({ timeout: 0 }).catch((e) => e);
    assert.ok(error instanceof LockFileError, String(error));
    assert.equal(error.code, "ENOSPC");
    assert.match(error.message, /no space left/);
    assert.ok(
      error.message.includes(
        `extending it to ${HEADER_SIZE + (1 << 20)} bytes`,
      ),
      error.message,
    );
    assert.equal(
      outsideCanLock(big.lockPath),
      true,
      "a failed acquire leaves the lock free",
    );
    await big.close();

    const small = new MemoryShareLock("small", {
      length: 1024,
      dir: mountPoint,
    });
    await small.run((memory) => memory.fill(7)); // every page is reserved: no SIGBUS
    await small.close();
  } finally {
    execFileSync("umount", [mountPoint]);
    dir.remove();
  }
});
